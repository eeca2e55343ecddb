-- Response orders and their results (the audit: who ordered what, when, and what the sensor did).
-- An order is written when it is sent (version 0) and again with its result or no-answer (version 1);
-- ReplacingMergeTree(version) keeps the latter, and readers also take LIMIT 1 BY order_id.
-- ts_ns: the order's issue time, nanoseconds as decimal text (not stored; ts derives from it).
CREATE TABLE IF NOT EXISTS responses
(
    order_id     String,
    host         LowCardinality(String),
    ts_ns        String EPHEMERAL '',
    ts           DateTime64(9, 'UTC') DEFAULT ifNull(fromUnixTimestamp64Nano(toInt64OrNull(ts_ns), 'UTC'), now64(9, 'UTC')),
    action       LowCardinality(String),
    pid          UInt32,
    requested_by String,
    incident_id  String,
    alert_id     String,
    dry_run      UInt8,
    outcome      LowCardinality(String),
    version      UInt8,
    record       String CODEC(ZSTD(3)),
    inserted_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (host, ts, order_id)
TTL toDateTime(ts) + INTERVAL 365 DAY
