-- no-transaction
-- Two-way conversations (design notes §5).
--
-- The outbox gains the kind `reply` (a staff answer from the inbox) and explicit columns for
-- what a message is about: the campaign patient and the broadcast, beside the appointment.
-- SQLite cannot change a CHECK in place, so the table is rebuilt. That needs foreign keys off
-- (campaign_patients points at outbox rows), which SQLite only allows outside a transaction:
-- hence `no-transaction` above and the explicit BEGIN/COMMIT below.
PRAGMA foreign_keys = OFF;

BEGIN;

DROP VIEW message_outcomes;

CREATE TABLE outbox_rebuilt (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL
        CHECK (kind IN ('reminder', 'feedback', 'campaign', 'broadcast', 'manual', 'reply')),
    recipient           TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    language            TEXT    NOT NULL,
    template            TEXT,
    params              TEXT    NOT NULL DEFAULT '[]',
    idempotency_key     TEXT    NOT NULL UNIQUE,
    not_before          TEXT    NOT NULL,
    expires_at          TEXT,
    clinic_day          TEXT    NOT NULL,
    state               TEXT    NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'uncertain', 'skipped', 'cancelled')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    error               TEXT,
    provider            TEXT,
    provider_message_id TEXT,
    delivery_status     TEXT,
    delivery_error      TEXT,
    batch               TEXT,
    created_at          TEXT    NOT NULL,
    claimed_at          TEXT,
    sent_at             TEXT,
    updated_at          TEXT    NOT NULL,
    appointment_id      INTEGER,
    touch               TEXT,
    -- The campaign patient (campaign_patients.id) or the broadcast (broadcasts.id) it is for.
    campaign_patient_id INTEGER,
    broadcast_id        INTEGER
);

INSERT INTO outbox_rebuilt (id, kind, recipient, body, language, template, params,
    idempotency_key, not_before, expires_at, clinic_day, state, attempts, error, provider,
    provider_message_id, delivery_status, delivery_error, batch, created_at, claimed_at, sent_at,
    updated_at, appointment_id, touch, campaign_patient_id, broadcast_id)
SELECT o.id, o.kind, o.recipient, o.body, o.language, o.template, o.params,
    o.idempotency_key, o.not_before, o.expires_at, o.clinic_day, o.state, o.attempts, o.error,
    o.provider, o.provider_message_id, o.delivery_status, o.delivery_error, o.batch, o.created_at,
    o.claimed_at, o.sent_at, o.updated_at, o.appointment_id, o.touch,
    (SELECT p.id FROM campaign_patients p WHERE p.message_id = o.id),
    CASE WHEN o.batch LIKE 'broadcast:%' THEN CAST(substr(o.batch, 11) AS INTEGER) END
FROM outbox o;

DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;

CREATE INDEX outbox_due ON outbox (state, not_before);
CREATE INDEX outbox_recipient_day ON outbox (recipient, clinic_day);
CREATE INDEX outbox_batch ON outbox (batch) WHERE batch IS NOT NULL;
CREATE UNIQUE INDEX outbox_provider_message ON outbox (provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX outbox_appointment ON outbox (appointment_id) WHERE appointment_id IS NOT NULL;
-- The latest message to a number (a reply without a quote answers it).
CREATE INDEX outbox_recipient_sent ON outbox (recipient, sent_at) WHERE sent_at IS NOT NULL;

CREATE VIEW message_outcomes AS
SELECT id AS message_id,
       state = 'sent' AS sent,
       delivery_status IN ('delivered', 'read') AS delivered,
       (state = 'failed' OR delivery_status = 'failed') AS failed,
       sent_at
FROM outbox;

-- Inbound messages: their type (text, button, interactive, image, audio, ...), which message
-- they quote (the provider's id), which outbox message they answer (linked on arrival), the
-- intent read from them, the provider that delivered them, and whether the sender's number is
-- valid (an invalid one is kept as received, never dropped).
ALTER TABLE inbound_messages ADD COLUMN type TEXT NOT NULL DEFAULT 'text';
ALTER TABLE inbound_messages ADD COLUMN context_id TEXT;
ALTER TABLE inbound_messages ADD COLUMN answers_id INTEGER;
-- Copied from the answered message when it is linked: its kind and appointment.
ALTER TABLE inbound_messages ADD COLUMN answers_kind TEXT;
ALTER TABLE inbound_messages ADD COLUMN appointment_id INTEGER;
ALTER TABLE inbound_messages ADD COLUMN intent TEXT NOT NULL DEFAULT 'other'
    CHECK (intent IN ('confirm', 'cancel', 'reschedule', 'book', 'stop', 'question', 'other'));
ALTER TABLE inbound_messages ADD COLUMN provider TEXT NOT NULL DEFAULT 'cloud-api';
ALTER TABLE inbound_messages ADD COLUMN sender_valid INTEGER NOT NULL DEFAULT 1;
CREATE INDEX inbound_messages_answers ON inbound_messages (answers_id) WHERE answers_id IS NOT NULL;
CREATE INDEX inbound_messages_appointment ON inbound_messages (appointment_id, sent_at)
    WHERE appointment_id IS NOT NULL;

-- One conversation per number: the patient's name (looked up once, when it starts), the last
-- message each way, the intent that needs acting on, and what admins did with it. Handled and
-- opened belong to the conversation, for all admins.
CREATE TABLE conversations (
    mobile          TEXT    PRIMARY KEY,
    patient_id      INTEGER,
    -- The PMS's names ('' once looked up and not found; NULL until a look-up succeeds).
    patient_name    TEXT,
    patient_name_en TEXT,
    started_at      TEXT    NOT NULL,
    -- The newest message either way, and the newest from the patient (the reply window).
    last_at         TEXT    NOT NULL,
    last_inbound_at TEXT,
    -- The patient's newest message: its intent and text (a placeholder for media).
    last_intent     TEXT,
    last_text       TEXT    NOT NULL DEFAULT '',
    -- The newest intent someone must act on (cancel, reschedule, book, question) since the
    -- conversation was last handled, and when the patient last confirmed.
    pending_intent  TEXT,
    confirmed_at    TEXT,
    -- Inbound messages since an admin last opened it.
    unread          INTEGER NOT NULL DEFAULT 0,
    -- Set when an admin marks it handled; a new inbound message clears it.
    handled_at      TEXT,
    handled_by      TEXT,
    -- When an admin last opened the thread: unread counts inbound messages after it.
    opened_at       TEXT
);
CREATE INDEX conversations_last ON conversations (last_at DESC);

-- Replies that arrived before conversations existed start theirs, unread, so that nobody's
-- earlier answer stays unseen. (Their intent is not guessed afresh: they show as they came.)
INSERT INTO conversations (mobile, started_at, last_at, last_inbound_at, last_intent, last_text, unread)
SELECT i.sender, MIN(i.sent_at), MAX(i.sent_at), MAX(i.sent_at), 'other',
       (SELECT j.body FROM inbound_messages j WHERE j.sender = i.sender ORDER BY j.sent_at DESC LIMIT 1),
       COUNT(*)
FROM inbound_messages i
GROUP BY i.sender;

-- For reports that join messages: each outbox message's replies with their intent.
CREATE VIEW message_replies AS
SELECT answers_id AS message_id, intent, received_at
FROM inbound_messages
WHERE answers_id IS NOT NULL;

COMMIT;

PRAGMA foreign_keys = ON;
