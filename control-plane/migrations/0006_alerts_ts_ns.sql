-- An alert's times as the control plane has them: nanoseconds since the epoch, decimal text (an
-- event's ts, which the schema allows up to 20 digits). Not stored (EPHEMERAL): ts and last_ts are
-- derived from them (0007), so no value the schema accepts can fail an alerts insert, which is retried
-- until it succeeds and holds up every alert queued behind it.
ALTER TABLE alerts
    ADD COLUMN IF NOT EXISTS ts_ns String EPHEMERAL '',
    ADD COLUMN IF NOT EXISTS last_ts_ns String EPHEMERAL ''
