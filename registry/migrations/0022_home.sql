-- 0022: what the Immunization Home needs (package home's pages; the
-- registry owns these tables).

-- Opt-out recorded on the people's pages: a parent's signed form. While
-- opted_out is true the patient is not disclosed to queries (as PD1-12
-- protection is) nor listed in searches except to program staff.
ALTER TABLE patients ADD COLUMN opted_out boolean NOT NULL DEFAULT false;

-- The history of opt-outs and their reversals: who recorded each, when,
-- the date the parent signed and the signed form's reference.
CREATE TABLE patient_opt_outs (
    id          bigserial PRIMARY KEY,
    patient_id  bigint NOT NULL REFERENCES patients(id),
    kind        text NOT NULL CHECK (kind IN ('opt-out', 'reversal')),
    signed_on   date NOT NULL,
    form_ref    text NOT NULL CHECK (form_ref <> ''),
    recorded_by text NOT NULL CHECK (recorded_by <> ''),
    org_id      bigint NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patient_opt_outs_patient ON patient_opt_outs (patient_id, recorded_at);

-- A user found a patient outside the clinic's relationships by exact name
-- and birth date and recorded why (a child transferring in, a school
-- certificate): from then on the organization may open that record.
CREATE TABLE patient_searches (
    id          bigserial PRIMARY KEY,
    patient_id  bigint NOT NULL REFERENCES patients(id),
    org_id      bigint NOT NULL,
    user_name   text NOT NULL,
    reason      text NOT NULL CHECK (reason <> ''),
    searched_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patient_searches_patient ON patient_searches (patient_id, org_id);
