-- The outbox's read-only face for reports (PostgreSQL twin). SQLite's comparisons are 0/1
-- integers and NULL when a side is NULL; these columns are the same integers, so the reports'
-- SUMs and filters read alike on both backends.
CREATE VIEW message_outcomes AS
SELECT id AS message_id,
       CAST(CAST(state = 'sent' AS INTEGER) AS BIGINT) AS sent,
       CAST(CAST(delivery_status IN ('delivered', 'read') AS INTEGER) AS BIGINT) AS delivered,
       CAST(CAST(state = 'failed' OR delivery_status = 'failed' AS INTEGER) AS BIGINT) AS failed,
       sent_at
FROM outbox;
