-- id: site.exec-burst
-- title: One process started more than 200 programs in a minute
-- severity: medium
-- interval: 1m
-- mitre: T1059
-- author: Vigil examples
--
-- A SQL detection runs on its interval against the event store (read-only). Each row is an alert;
-- `host` is required, `pid`, `comm`, `exe`, `reason` and `evidence` (event ids) are used if present.
SELECT
    host,
    ppid AS pid,
    count() AS n,
    concat('process ', toString(ppid), ' started ', toString(n), ' programs in the last minute') AS reason,
    groupArray(5)(id) AS evidence
FROM events
WHERE kind = 'exec' AND ts > now64(9) - INTERVAL 1 MINUTE
GROUP BY host, ppid
HAVING n > 200
