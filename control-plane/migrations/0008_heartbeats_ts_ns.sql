-- A heartbeat's time as the sensor sent it: nanoseconds since the epoch, decimal text (up to 20
-- digits by the schema). Not stored (EPHEMERAL): ts is derived from it (0009), as for events
-- (0004-0005) and alerts (0006-0007), so ClickHouse's own reading of a date-time text (which takes
-- "1" for this year's first of January and refuses "0") never decides it.
ALTER TABLE sensor_heartbeats ADD COLUMN IF NOT EXISTS ts_ns String EPHEMERAL ''
