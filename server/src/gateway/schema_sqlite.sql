-- The clinic data contract (design notes §2) as SQLite tables, with the indexes a PMS has.
-- Dates are ISO text: `date` columns 'YYYY-MM-DD', `datetime` columns 'YYYY-MM-DD HH:MM:SS',
-- times 'HH:MM:SS'; money is REAL with two decimals.
CREATE TABLE doctor (
    id     INTEGER PRIMARY KEY,
    name_a TEXT,
    name_e TEXT
);

CREATE TABLE patient (
    id       INTEGER PRIMARY KEY,
    name_a   TEXT,
    name_e   TEXT,
    mobile   TEXT,
    trans_dt TEXT
);

CREATE TABLE appointment (
    id         INTEGER PRIMARY KEY,
    pt_id      INTEGER,
    pt_name    TEXT,
    mobile     TEXT,
    doc_id     INTEGER,
    doc_nm     TEXT,
    app_dt     TEXT,
    from_tm    TEXT,
    to_tm      TEXT,
    app_status INTEGER,
    trans_dt   TEXT
);

CREATE TABLE invoice_h (
    id     INTEGER PRIMARY KEY,
    inv_dt TEXT,
    cash   REAL,
    span   REAL,
    pt_id  INTEGER,
    doc_id INTEGER
);

CREATE TABLE receipts (
    id      INTEGER PRIMARY KEY,
    rcpt_dt TEXT,
    amount  REAL,
    pt_id   INTEGER,
    doc_id  INTEGER
);

CREATE INDEX appointment_app_dt ON appointment (app_dt);
CREATE INDEX appointment_pt_id ON appointment (pt_id);
CREATE INDEX appointment_doc_id ON appointment (doc_id);
CREATE INDEX invoice_h_inv_dt ON invoice_h (inv_dt);
CREATE INDEX invoice_h_pt_id ON invoice_h (pt_id);
CREATE INDEX invoice_h_doc_id ON invoice_h (doc_id);
CREATE INDEX receipts_rcpt_dt ON receipts (rcpt_dt);
CREATE INDEX receipts_pt_id ON receipts (pt_id);
CREATE INDEX receipts_doc_id ON receipts (doc_id);
