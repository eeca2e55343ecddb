-- Incidents. Each change of an incident inserts its new version; ReplacingMergeTree(version) keeps the
-- newest per id, and readers use FINAL so that a filter applies to that version only.
CREATE TABLE IF NOT EXISTS incidents
(
    id          String,
    version     UInt32,
    host        LowCardinality(String),
    job         String,
    status      LowCardinality(String),
    severity    LowCardinality(String),
    severity_n  UInt8,
    title       String,
    first_ts_ns UInt64,
    last_ts_ns  UInt64,
    rules       Array(String),
    incident    String CODEC(ZSTD(3)),
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (host, id)
TTL toDateTime(intDiv(last_ts_ns, 1000000000)) + INTERVAL 180 DAY
