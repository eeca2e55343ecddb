-- As events' ts (0010): an alert's ts decides its monthly partition and its 180-day TTL, so it is the
-- time the alert carries (its event's) only from 179 days ago to a day ahead, else the time of the
-- insert (the alert's JSON keeps the original). Otherwise an alert for an event claiming "0" was
-- dropped as it was written, and alerts spread over more than 100 months failed their insert, which
-- the alert sink retries until it succeeds: alert storage stopped for every host.
ALTER TABLE alerts
    MODIFY COLUMN ts DEFAULT if(
        ifNull(fromUnixTimestamp64Nano(toInt64OrNull(ts_ns), 'UTC')
               BETWEEN now64(9, 'UTC') - INTERVAL 179 DAY AND now64(9, 'UTC') + INTERVAL 1 DAY, 0),
        fromUnixTimestamp64Nano(toInt64OrNull(ts_ns), 'UTC'),
        now64(9, 'UTC'))
