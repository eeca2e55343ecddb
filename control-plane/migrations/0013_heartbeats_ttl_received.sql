-- Heartbeats are kept a week from their receipt (0012), not from the time they claim: one claiming
-- an old time was dropped as it was written.
ALTER TABLE sensor_heartbeats MODIFY TTL toDateTime(received_at) + INTERVAL 7 DAY
