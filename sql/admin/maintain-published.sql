-- Creates the coming days' partitions of pgbridge.published and drops expired ones; see
-- pgbridge.maintain_published in sql/005-published-upkeep.sql.
SELECT pgbridge.maintain_published()
