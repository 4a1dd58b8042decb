-- Two-way conversations (PostgreSQL twin; see migrations/sqlite for what each column means).
-- PostgreSQL changes a CHECK in place, so the outbox is altered, not rebuilt.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind
    CHECK (kind IN ('reminder', 'feedback', 'campaign', 'broadcast', 'manual', 'reply'));
ALTER TABLE outbox ADD COLUMN campaign_patient_id BIGINT;
ALTER TABLE outbox ADD COLUMN broadcast_id BIGINT;
UPDATE outbox o SET campaign_patient_id = p.id FROM campaign_patients p WHERE p.message_id = o.id;
UPDATE outbox SET broadcast_id = CAST(substr(batch, 11) AS BIGINT) WHERE batch LIKE 'broadcast:%';
CREATE INDEX outbox_recipient_sent ON outbox (recipient, sent_at) WHERE sent_at IS NOT NULL;

ALTER TABLE inbound_messages ADD COLUMN type TEXT NOT NULL DEFAULT 'text';
ALTER TABLE inbound_messages ADD COLUMN context_id TEXT;
ALTER TABLE inbound_messages ADD COLUMN answers_id BIGINT;
ALTER TABLE inbound_messages ADD COLUMN answers_kind TEXT;
ALTER TABLE inbound_messages ADD COLUMN appointment_id BIGINT;
ALTER TABLE inbound_messages ADD COLUMN intent TEXT NOT NULL DEFAULT 'other'
    CHECK (intent IN ('confirm', 'cancel', 'reschedule', 'book', 'stop', 'question', 'other'));
ALTER TABLE inbound_messages ADD COLUMN provider TEXT NOT NULL DEFAULT 'cloud-api';
ALTER TABLE inbound_messages ADD COLUMN sender_valid BIGINT NOT NULL DEFAULT 1;
CREATE INDEX inbound_messages_answers ON inbound_messages (answers_id) WHERE answers_id IS NOT NULL;
CREATE INDEX inbound_messages_appointment ON inbound_messages (appointment_id, sent_at)
    WHERE appointment_id IS NOT NULL;

CREATE TABLE conversations (
    mobile          TEXT    PRIMARY KEY,
    patient_id      BIGINT,
    patient_name    TEXT,
    patient_name_en TEXT,
    started_at      TEXT    NOT NULL,
    last_at         TEXT    NOT NULL,
    last_inbound_at TEXT,
    last_intent     TEXT,
    last_text       TEXT    NOT NULL DEFAULT '',
    pending_intent  TEXT,
    confirmed_at    TEXT,
    unread          BIGINT  NOT NULL DEFAULT 0,
    handled_at      TEXT,
    handled_by      TEXT,
    opened_at       TEXT
);
CREATE INDEX conversations_last ON conversations (last_at DESC);

INSERT INTO conversations (mobile, started_at, last_at, last_inbound_at, last_intent, last_text, unread)
SELECT i.sender, MIN(i.sent_at), MAX(i.sent_at), MAX(i.sent_at), 'other',
       (SELECT j.body FROM inbound_messages j WHERE j.sender = i.sender ORDER BY j.sent_at DESC LIMIT 1),
       COUNT(*)
FROM inbound_messages i
GROUP BY i.sender;

CREATE VIEW message_replies AS
SELECT answers_id AS message_id, intent, received_at
FROM inbound_messages
WHERE answers_id IS NOT NULL;
