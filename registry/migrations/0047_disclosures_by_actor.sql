-- The patients a facility was sent (QBP answers) found without reading the
-- whole audit log: the facility's automatic Group (Bulk Data) and the
-- relation of an organization to a patient (registry.Relations).
CREATE INDEX audit_log_disclose_actor ON audit_log (actor, patient_id) WHERE action = 'disclose';
