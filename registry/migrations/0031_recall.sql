-- 0031: reminder/recall (package recall's pages; the registry owns the
-- table). A clinic's contact with a family about the children it recalls:
-- one row per child of the family contacted, so that the next run shows
-- how many times a child was reminded since the last dose.
CREATE TABLE recall_contacts (
    id           bigserial PRIMARY KEY,
    patient_id   bigint NOT NULL REFERENCES patients(id),
    org_id       bigint NOT NULL,
    method       text NOT NULL CHECK (method IN ('phone', 'letter', 'text', 'email')),
    contacted_on date NOT NULL,
    recorded_by  text NOT NULL CHECK (recorded_by <> ''),
    note         text NOT NULL DEFAULT '',
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recall_contacts_patient ON recall_contacts (patient_id, org_id, contacted_on);
