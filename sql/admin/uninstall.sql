-- Dropping the schema drops every capture function and, with them, their triggers.
DROP SCHEMA IF EXISTS pgbridge CASCADE
