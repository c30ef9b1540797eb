-- $1 backfill id, $2 the planner's fresh estimate of the rows it reads in all (for progress).
UPDATE pgbridge.backfill SET rows_estimate = $2 WHERE id = $1
