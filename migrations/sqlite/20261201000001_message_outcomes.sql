-- The outbox's read-only face for reports that join messages (the campaign report and its
-- conversion tracking): each message's outcome as booleans, so that the outbox's states are
-- spelled in one place (the outbox module and this view) and nowhere else.
CREATE VIEW message_outcomes AS
SELECT id AS message_id,
       state = 'sent' AS sent,
       delivery_status IN ('delivered', 'read') AS delivered,
       (state = 'failed' OR delivery_status = 'failed') AS failed,
       sent_at
FROM outbox;
