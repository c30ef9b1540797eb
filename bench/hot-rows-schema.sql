-- The coalescing phase's table: 10 rows updated over and over. `version` counts each row's
-- updates (the order check reads it back), `sent_at` is the writer's clock as in bench.items.
DROP TABLE IF EXISTS bench.hot_rows;
CREATE TABLE bench.hot_rows (
  id      integer PRIMARY KEY,
  version bigint  NOT NULL,
  sent_at bigint  NOT NULL
);
INSERT INTO bench.hot_rows (id, version, sent_at) SELECT id, 0, 0 FROM generate_series(1, 10) AS id;
