-- The indexes a PMS has on the contract tables (created after a bulk load, which is faster).
CREATE INDEX appointment_app_dt ON appointment (app_dt);
CREATE INDEX appointment_pt_id ON appointment (pt_id);
-- A patient's appointment history in date order (the reactivation campaign's last visit and
-- booking-ahead checks read only this index).
CREATE INDEX appointment_pt_id_app_dt ON appointment (pt_id, app_dt, app_status);
CREATE INDEX appointment_doc_id ON appointment (doc_id);
CREATE INDEX invoice_h_inv_dt ON invoice_h (inv_dt);
CREATE INDEX invoice_h_pt_id ON invoice_h (pt_id);
CREATE INDEX invoice_h_doc_id ON invoice_h (doc_id);
CREATE INDEX receipts_rcpt_dt ON receipts (rcpt_dt);
CREATE INDEX receipts_pt_id ON receipts (pt_id);
CREATE INDEX receipts_doc_id ON receipts (doc_id);
