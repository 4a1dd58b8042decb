-- The do-not-contact list: numbers (E.164) that Nabd never messages, on any path.
-- Checked at send time; a row is restored (not deleted) so the history stays auditable.
CREATE TABLE do_not_contact (
    id          INTEGER PRIMARY KEY,
    mobile      TEXT    NOT NULL,
    reason      TEXT,
    source      TEXT    NOT NULL DEFAULT 'admin',
    added_at    TEXT    NOT NULL,
    restored_at TEXT
);

-- At most one active entry per number.
CREATE UNIQUE INDEX do_not_contact_active_mobile
    ON do_not_contact (mobile) WHERE restored_at IS NULL;
