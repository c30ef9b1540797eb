-- Tables for `npm start`: the classic demo (a users table whose sign-ups and plan changes
-- trigger emails) plus orders for a webhook.
CREATE TABLE IF NOT EXISTS users (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL,
  email      text NOT NULL UNIQUE,
  plan       text NOT NULL DEFAULT 'free',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS orders (
  id         bigserial PRIMARY KEY,
  user_id    bigint REFERENCES users (id),
  total      numeric(12, 2) NOT NULL,
  status     text NOT NULL DEFAULT 'new',
  card_token text
);
