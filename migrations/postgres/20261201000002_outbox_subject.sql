-- What a message is about (PostgreSQL twin; see migrations/sqlite).
ALTER TABLE outbox ADD COLUMN appointment_id BIGINT;
ALTER TABLE outbox ADD COLUMN touch TEXT;
CREATE INDEX outbox_appointment ON outbox (appointment_id) WHERE appointment_id IS NOT NULL;
