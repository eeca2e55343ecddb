-- ts and last_ts from the nanosecond text of 0006; one past Int64 takes the time of the insert
-- (the alert's JSON in `alert` keeps the original).
ALTER TABLE alerts
    MODIFY COLUMN ts      DEFAULT ifNull(fromUnixTimestamp64Nano(toInt64OrNull(ts_ns), 'UTC'), now64(9, 'UTC')),
    MODIFY COLUMN last_ts DEFAULT ifNull(fromUnixTimestamp64Nano(toInt64OrNull(last_ts_ns), 'UTC'), ts)
