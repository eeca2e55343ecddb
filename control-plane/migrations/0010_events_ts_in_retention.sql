-- ts, and with it the row's daily partition and its 30-day TTL, is the time the event claims only
-- when that lies within what the table keeps: from 29 days ago (the TTL's 30 less a day, so no row is
-- stored only to expire at once) to a day ahead. Any other claim takes the time of the insert; the
-- event's JSON in `event` keeps what it claimed, and the control plane counts it (`retimed`).
-- Taken as claimed, a time older than the TTL (a host clock reset to 1970, a hostile "0") was dropped
-- by the TTL as the row was written, silently; and one batch whose events claimed more than 100
-- different days failed every insert (max_partitions_per_insert_block), retried without end, holding
-- up every host's events behind it. Now an insert touches at most 31 partitions.
ALTER TABLE events
    MODIFY COLUMN ts DEFAULT if(
        ifNull(fromUnixTimestamp64Nano(toInt64OrNull(tupleElement(parsed, 'ts')), 'UTC')
               BETWEEN now64(9, 'UTC') - INTERVAL 29 DAY AND now64(9, 'UTC') + INTERVAL 1 DAY, 0),
        fromUnixTimestamp64Nano(toInt64OrNull(tupleElement(parsed, 'ts')), 'UTC'),
        now64(9, 'UTC'))
