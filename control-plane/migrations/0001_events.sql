-- Events, one row per event id. The full v1 event is kept as JSON in `event` (what the API returns);
-- the columns beside it are what filters and SQL users reach for. Duplicates of an id (at-least-once
-- delivery) share the sorting key, so ReplacingMergeTree folds them; readers also use LIMIT 1 BY id.
CREATE TABLE IF NOT EXISTS events
(
    id           String,
    host         LowCardinality(String),
    ts           DateTime64(9, 'UTC'),
    kind         LowCardinality(String),
    pid          UInt32,
    ppid         UInt32,
    uid          UInt32,
    comm         LowCardinality(String),
    exe          String,
    argv         Array(String),
    container_id String,
    job          String,
    daddr        String,
    dport        UInt16,
    gpu_device   LowCardinality(String),
    gpu_ioctl    LowCardinality(String),
    gpu_class    UInt32,
    event_count  UInt32,
    event        String CODEC(ZSTD(3)),
    inserted_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (host, kind, ts, id)
TTL toDateTime(ts) + INTERVAL 30 DAY
