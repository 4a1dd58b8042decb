-- What a message is about, in columns of its own rather than inside its idempotency key: the
-- appointment a reminder or feedback request concerns (read again just before it is sent), and
-- which reminder touch it is (`day_before`, `same_day`).
ALTER TABLE outbox ADD COLUMN appointment_id INTEGER;
ALTER TABLE outbox ADD COLUMN touch TEXT;
CREATE INDEX outbox_appointment ON outbox (appointment_id) WHERE appointment_id IS NOT NULL;
