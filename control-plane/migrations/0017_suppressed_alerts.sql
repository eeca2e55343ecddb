-- Alerts a suppression of vigil.yaml held back: kept apart from raised ones (`vigil alerts
-- --suppressed`), with the suppression that matched (its index in the file's list, rule and reason).
-- Columns and times as `alerts` after 0011 (EPHEMERAL nanosecond text, ts clamped into retention).
CREATE TABLE IF NOT EXISTS suppressed_alerts
(
    id                 String,
    host               LowCardinality(String),
    ts_ns              String EPHEMERAL '',
    last_ts_ns         String EPHEMERAL '',
    ts                 DateTime64(9, 'UTC') DEFAULT if(
        ifNull(fromUnixTimestamp64Nano(toInt64OrNull(ts_ns), 'UTC')
               BETWEEN now64(9, 'UTC') - INTERVAL 179 DAY AND now64(9, 'UTC') + INTERVAL 1 DAY, 0),
        fromUnixTimestamp64Nano(toInt64OrNull(ts_ns), 'UTC'),
        now64(9, 'UTC')),
    last_ts            DateTime64(9, 'UTC') DEFAULT ifNull(fromUnixTimestamp64Nano(toInt64OrNull(last_ts_ns), 'UTC'), ts),
    rule_id            LowCardinality(String),
    severity           LowCardinality(String),
    severity_n         UInt8,
    source             LowCardinality(String),
    title              String,
    reason             String,
    pid                UInt32,
    comm               String,
    exe                String,
    count              UInt32,
    alert              String CODEC(ZSTD(3)),
    suppression_index  UInt32,
    suppression_rule   String,
    suppression_reason String,
    inserted_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(count)
PARTITION BY toYYYYMM(ts)
ORDER BY (host, ts, id)
TTL toDateTime(ts) + INTERVAL 180 DAY
