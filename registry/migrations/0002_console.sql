-- 0002: what the operations console needs.

-- The answer each message got: its ERR rows in compact form
-- (immz.Summary: severity:HL7 0357:CDC 0533:position, e.g. E:101:5:RXA-17),
-- the distinct HL7 0357 codes among them for search, and the ACK itself.
-- replaced_at: a rejected message replaced by a later one under the same
-- facility and MSH-10 (a corrected resend, or an operator's resend after a
-- configuration change).
ALTER TABLE source_reports
    ADD COLUMN issues      text[] NOT NULL DEFAULT '{}',
    ADD COLUMN err_codes   text[] NOT NULL DEFAULT '{}',
    ADD COLUMN ack         bytea,
    ADD COLUMN replaced_at timestamptz;
-- Only messages with ERR rows are indexed; queries say err_codes <> '{}'.
CREATE INDEX source_reports_err_codes ON source_reports USING gin (err_codes) WHERE err_codes <> '{}';

-- Finding a patient's messages by name (and birth date) from the console.
CREATE INDEX patients_family_birth ON patients (lower(family_name), birth_date);

-- Per-facility settings operators change in the console (NULL: the
-- server's configuration).
CREATE TABLE facility_settings (
    facility        text PRIMARY KEY,
    processing_ids  text[],           -- accepted MSH-11 values
    warnings_as_ae  boolean,          -- AE rather than AA for warnings only
    note            text NOT NULL DEFAULT '',
    updated_by      text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Operators' actions on messages (resend), for the message's audit trail.
CREATE INDEX audit_log_report ON audit_log (report_id, at) WHERE report_id IS NOT NULL;

DROP VIEW message_store;
CREATE VIEW message_store AS
SELECT id, facility, control_id, message_type, kind, ack_code, transport,
       received_at, stored_at, patient_id, match_outcome, err_codes, issues,
       replaced_at, octet_length(raw) AS size
FROM source_reports;
