-- Many processes on one database (design notes: scale-out). Each process is an instance with a
-- heartbeat; what it holds names it, so that a dead instance's work is known to be abandoned.
CREATE TABLE instances (
    id           TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    version      TEXT    NOT NULL,
    started_at   TEXT    NOT NULL,
    heartbeat_at TEXT    NOT NULL
);

-- The instance that claimed a message: only its death makes a `sending` row `uncertain`, and
-- only it records the message `sent`.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
CREATE INDEX outbox_sending ON outbox (claimed_by) WHERE state = 'sending';

-- One row per cron job and tick: the instance that claimed it runs it, once. A run not
-- finished whose instance is alive refuses the job's next tick.
CREATE TABLE cron_runs (
    job          TEXT    NOT NULL,
    tick         TEXT    NOT NULL,
    instance     TEXT    NOT NULL,
    started_at   TEXT    NOT NULL,
    finished_at  TEXT,
    outcome      TEXT,
    PRIMARY KEY (job, tick)
);
CREATE INDEX cron_runs_unfinished ON cron_runs (job) WHERE finished_at IS NULL;

-- The sign-in limiter's memory (admin::limiter): each reserved attempt is a row in each of the
-- three lists it counts in (the pair of username and address, the address, the username), so
-- that every process sharing the database counts the same attempts.
CREATE TABLE sign_in_failures (
    id       INTEGER PRIMARY KEY,
    list     TEXT    NOT NULL CHECK (list IN ('pair', 'address', 'username')),
    key      TEXT    NOT NULL,
    attempt  TEXT    NOT NULL,
    at       TEXT    NOT NULL
);
CREATE INDEX sign_in_failures_key ON sign_in_failures (list, key, at);
CREATE INDEX sign_in_failures_at ON sign_in_failures (at);
