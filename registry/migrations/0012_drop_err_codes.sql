-- 0012: source_reports.err_codes (the distinct HL7 0357 codes of issues)
-- served a GIN index that message_errors (0010) replaced; it was derived
-- state the worker computed on every insert for nobody.
DROP VIEW message_store;
ALTER TABLE source_reports DROP COLUMN err_codes;
CREATE VIEW message_store AS
SELECT id, facility, control_id, message_type, kind, ack_code, transport,
       received_at, stored_at, patient_id, match_outcome, issues,
       replaced_at, octet_length(raw) AS size
FROM source_reports;
