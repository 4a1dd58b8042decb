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
