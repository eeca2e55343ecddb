-- Alerts. A repeat within the throttle window re-sends the same alert id with a higher count;
-- ReplacingMergeTree(count) keeps the newest, and readers take LIMIT 1 BY id ordered by count.
CREATE TABLE IF NOT EXISTS alerts
(
    id          String,
    host        LowCardinality(String),
    ts          DateTime64(9, 'UTC'),
    last_ts     DateTime64(9, 'UTC'),
    rule_id     LowCardinality(String),
    severity    LowCardinality(String),
    severity_n  UInt8,
    source      LowCardinality(String),
    title       String,
    reason      String,
    pid         UInt32,
    comm        String,
    exe         String,
    count       UInt32,
    alert       String CODEC(ZSTD(3)),
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(count)
PARTITION BY toYYYYMM(ts)
ORDER BY (host, ts, id)
TTL toDateTime(ts) + INTERVAL 180 DAY
