SELECT (SELECT count(*) FROM pgbridge.outbox) AS outbox, (SELECT count(*) FROM pgbridge.parked) AS parked
