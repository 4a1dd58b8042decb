-- Manual broadcasts: a message and a reviewed list of numbers, kept as a draft until an admin
-- confirms it. Confirming queues one outbox message per valid number (batch 'broadcast:<id>'),
-- so progress and cancelling are read from and done in the outbox.
CREATE TABLE broadcasts (
    id           INTEGER PRIMARY KEY,
    body         TEXT    NOT NULL,
    -- ar or en
    language     TEXT    NOT NULL,
    -- draft -> sending -> (done, derived from the outbox) ; draft | sending -> cancelled
    state        TEXT    NOT NULL DEFAULT 'draft'
        CHECK (state IN ('draft', 'sending', 'cancelled')),
    created_by   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    sent_by      TEXT,
    sent_at      TEXT,
    cancelled_by TEXT,
    cancelled_at TEXT
);

-- Every line of the reviewed list, with its verdict.
CREATE TABLE broadcast_entries (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    -- The entry's position in the list, then the line (or CSV row) it came from.
    position     INTEGER NOT NULL,
    line         INTEGER NOT NULL,
    input        TEXT    NOT NULL,
    -- E.164, when the input is a mobile.
    mobile       TEXT,
    verdict      TEXT    NOT NULL CHECK (verdict IN ('valid', 'invalid', 'duplicate', 'excluded')),
    -- invalid: the reason code; duplicate: the line it first appeared on.
    reason       TEXT,
    PRIMARY KEY (broadcast_id, position)
);
CREATE INDEX broadcast_entries_verdict ON broadcast_entries (broadcast_id, verdict);
