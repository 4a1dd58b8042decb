-- The reactivation campaign: one batch per clinic day, the patients staged in it (with what
-- they looked like when chosen), whether each is in the control group, the message that went
-- to them, and whether they came back.
CREATE TABLE campaign_batches (
    id           INTEGER PRIMARY KEY,
    -- The clinic-local day the batch was selected; one batch per day.
    batch_day    TEXT    NOT NULL UNIQUE,
    selected_at  TEXT    NOT NULL,
    -- How the holdout was drawn: the share asked for and the random seed used.
    holdout_share REAL   NOT NULL,
    seed         INTEGER NOT NULL,
    -- How many lapsed patients were looked at, and why the others were left out.
    considered   INTEGER NOT NULL,
    skipped      TEXT    NOT NULL DEFAULT '{}'
);

CREATE TABLE campaign_patients (
    id                INTEGER PRIMARY KEY,
    batch_id          INTEGER NOT NULL REFERENCES campaign_batches (id),
    patient_id        INTEGER NOT NULL,
    name_ar           TEXT    NOT NULL,
    name_en           TEXT,
    -- E.164
    mobile            TEXT    NOT NULL,
    last_visit        TEXT    NOT NULL,
    last_doctor_id    INTEGER,
    last_doctor_name  TEXT,
    lifetime_halalas  INTEGER NOT NULL,
    -- 1: the control group, never messaged.
    holdout           INTEGER NOT NULL,
    -- staged -> queued (message made) | excluded (opted out before queueing); holdout rows
    -- go staged -> held (their would-be contact time recorded).
    state             TEXT    NOT NULL DEFAULT 'staged'
        CHECK (state IN ('staged', 'queued', 'excluded', 'held')),
    message_id        INTEGER REFERENCES outbox (id),
    -- Holdout: when they would have been contacted (the queue run). Messaged: the outbox's
    -- sent_at is the contact time.
    held_at           TEXT,
    -- Conversion: the first appointment booked after the contact within the window.
    converted_at      TEXT,
    conversion_appointment_id INTEGER,
    conversion_date   TEXT,
    conversion_doctor_id INTEGER,
    conversion_doctor_name TEXT,
    revenue_since_halalas INTEGER,
    tracked_at        TEXT,
    UNIQUE (batch_id, patient_id)
);

CREATE INDEX campaign_patients_patient ON campaign_patients (patient_id);
CREATE INDEX campaign_patients_mobile ON campaign_patients (mobile);
CREATE INDEX campaign_patients_state ON campaign_patients (state);
