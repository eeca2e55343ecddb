-- Last heartbeats of each sensor: `vigil status` reads the newest per host.
CREATE TABLE IF NOT EXISTS sensor_heartbeats
(
    host       LowCardinality(String),
    ts         DateTime64(9, 'UTC'),
    heartbeat  String
)
ENGINE = MergeTree
ORDER BY (host, ts)
TTL toDateTime(ts) + INTERVAL 7 DAY
