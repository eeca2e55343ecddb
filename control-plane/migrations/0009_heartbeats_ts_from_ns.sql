-- ts from the nanosecond text of 0008; one past Int64 takes the time of the insert (the heartbeat's
-- JSON keeps the original).
ALTER TABLE sensor_heartbeats
    MODIFY COLUMN ts DEFAULT ifNull(fromUnixTimestamp64Nano(toInt64OrNull(ts_ns), 'UTC'), now64(9, 'UTC'))
