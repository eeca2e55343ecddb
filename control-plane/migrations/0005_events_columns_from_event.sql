-- Every column of `events` beside `event` is what the event's JSON says (through `parsed`, 0004), as
-- the control plane used to compute it before each insert. An insert may still name the columns
-- itself (bench/seed.mjs does); its values win over these.
-- ts: the event's nanoseconds since the epoch; one past Int64 (a 20-digit value the schema lets
-- through) takes the time of the insert instead of failing it.
ALTER TABLE events
    MODIFY COLUMN id           DEFAULT tupleElement(parsed, 'id'),
    MODIFY COLUMN host         DEFAULT tupleElement(parsed, 'host'),
    MODIFY COLUMN ts           DEFAULT ifNull(fromUnixTimestamp64Nano(toInt64OrNull(tupleElement(parsed, 'ts')), 'UTC'), now64(9, 'UTC')),
    MODIFY COLUMN kind         DEFAULT tupleElement(parsed, 'kind'),
    MODIFY COLUMN pid          DEFAULT tupleElement(tupleElement(parsed, 'proc'), 'pid'),
    MODIFY COLUMN ppid         DEFAULT tupleElement(tupleElement(parsed, 'proc'), 'ppid'),
    MODIFY COLUMN uid          DEFAULT tupleElement(tupleElement(parsed, 'proc'), 'uid'),
    MODIFY COLUMN comm         DEFAULT tupleElement(tupleElement(parsed, 'proc'), 'comm'),
    MODIFY COLUMN exe          DEFAULT if(tupleElement(parsed, 'kind') = 'exec', tupleElement(tupleElement(parsed, 'exec'), 'filename'), tupleElement(tupleElement(parsed, 'proc'), 'exe')),
    MODIFY COLUMN argv         DEFAULT if(tupleElement(parsed, 'kind') = 'exec', tupleElement(tupleElement(parsed, 'exec'), 'argv'), tupleElement(tupleElement(parsed, 'proc'), 'argv')),
    MODIFY COLUMN container_id DEFAULT ifNull(tupleElement(tupleElement(parsed, 'proc'), 'containerId'), ''),
    MODIFY COLUMN job          DEFAULT ifNull(tupleElement(tupleElement(parsed, 'proc'), 'job'), ''),
    MODIFY COLUMN daddr        DEFAULT tupleElement(tupleElement(parsed, 'connect'), 'daddr'),
    MODIFY COLUMN dport        DEFAULT tupleElement(tupleElement(parsed, 'connect'), 'dport'),
    MODIFY COLUMN gpu_device   DEFAULT tupleElement(tupleElement(parsed, 'gpu'), 'device'),
    MODIFY COLUMN gpu_ioctl    DEFAULT tupleElement(tupleElement(parsed, 'gpu'), 'name'),
    MODIFY COLUMN gpu_class    DEFAULT ifNull(tupleElement(tupleElement(parsed, 'gpu'), 'rmClass'), 0),
    MODIFY COLUMN event_count  DEFAULT multiIf(tupleElement(parsed, 'kind') = 'connect', tupleElement(tupleElement(parsed, 'connect'), 'count'), tupleElement(parsed, 'kind') = 'gpu', tupleElement(tupleElement(parsed, 'gpu'), 'count'), 1)
