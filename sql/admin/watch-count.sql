-- How many watches are installed, whatever their capture.
SELECT count(*)::int AS watches FROM pgbridge.watch
