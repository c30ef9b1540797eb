-- $1 watch name, $2 pairs of row images ({"new": …, "old": …}, as for column-values): whether
-- the watch's `when` holds for each, in order.
SELECT pair, passes FROM pgbridge.wal_row_conditions($1, $2::json)
