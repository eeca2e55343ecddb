-- When the control plane received the heartbeat, by its own clock: what decides a sensor's newest
-- heartbeat after a restart and how long it has been silent (a sensor's clock may be wrong, or a
-- heartbeat forged: one claiming next year kept a killed sensor from ever being reported silent).
-- Rows stored before this read their ts.
ALTER TABLE sensor_heartbeats ADD COLUMN IF NOT EXISTS received_at DateTime64(3, 'UTC') DEFAULT ts
