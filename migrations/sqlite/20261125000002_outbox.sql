-- The outbox: every outgoing message is a row here before any provider sees it (design notes §4).
-- Instants are UTC text in one sortable form (2026-01-05T09:00:00.000Z).
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    -- reminder, feedback, campaign, broadcast, manual
    kind                TEXT    NOT NULL
        CHECK (kind IN ('reminder', 'feedback', 'campaign', 'broadcast', 'manual')),
    -- E.164, with its "+"
    recipient           TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    -- The message's language (en, ar) and, for the WhatsApp Cloud API, the approved template's
    -- name and its body parameters (a JSON array of strings, in the template's order).
    language            TEXT    NOT NULL,
    template            TEXT,
    params              TEXT    NOT NULL DEFAULT '[]',
    -- At most one message per key, ever (reminder:<appointment id>, feedback:<appointment id>...).
    idempotency_key     TEXT    NOT NULL UNIQUE,
    -- Not sent before this instant; not sent at all after expires_at (a reminder once the
    -- appointment has started).
    not_before          TEXT    NOT NULL,
    expires_at          TEXT,
    -- The clinic-local day the message is meant for: the per-patient contact budget counts them.
    clinic_day          TEXT    NOT NULL,
    -- queued -> sending -> sent | failed | uncertain; queued -> skipped | cancelled
    state               TEXT    NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'uncertain', 'skipped', 'cancelled')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    -- Why it failed, was skipped or was cancelled (a stable code, then detail).
    error               TEXT,
    provider            TEXT,
    provider_message_id TEXT,
    -- The provider's latest delivery report: sent, delivered, read, failed.
    delivery_status     TEXT,
    delivery_error      TEXT,
    -- A broadcast or campaign run this message belongs to.
    batch               TEXT,
    created_at          TEXT    NOT NULL,
    claimed_at          TEXT,
    sent_at             TEXT,
    updated_at          TEXT    NOT NULL
);

CREATE INDEX outbox_due ON outbox (state, not_before);
CREATE INDEX outbox_recipient_day ON outbox (recipient, clinic_day);
CREATE INDEX outbox_batch ON outbox (batch) WHERE batch IS NOT NULL;
CREATE UNIQUE INDEX outbox_provider_message ON outbox (provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- Every delivery report received, once each (providers repeat and reorder them).
CREATE TABLE delivery_events (
    id                  INTEGER PRIMARY KEY,
    provider_message_id TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    error_code          INTEGER,
    error_title         TEXT,
    reported_at         TEXT    NOT NULL,
    received_at         TEXT    NOT NULL,
    UNIQUE (provider_message_id, status)
);

-- Messages patients sent to the clinic's WhatsApp number (they open the reply window and
-- carry opt-outs).
CREATE TABLE inbound_messages (
    id                  INTEGER PRIMARY KEY,
    provider_message_id TEXT    NOT NULL UNIQUE,
    sender              TEXT    NOT NULL,
    body                TEXT    NOT NULL,
    sent_at             TEXT    NOT NULL,
    received_at         TEXT    NOT NULL
);
CREATE INDEX inbound_messages_sender ON inbound_messages (sender, sent_at);

-- An exclusion applies to every message (all) or only to marketing (campaign and broadcast):
-- WhatsApp's error 131050 means the patient stopped marketing messages only.
ALTER TABLE do_not_contact ADD COLUMN scope TEXT NOT NULL DEFAULT 'all'
    CHECK (scope IN ('all', 'marketing'));
DROP INDEX do_not_contact_active_mobile;
CREATE UNIQUE INDEX do_not_contact_active_mobile_scope
    ON do_not_contact (mobile, scope) WHERE restored_at IS NULL;
