-- 0014: what a report said beyond the columns consolidation reads, so that
-- a query answers each fact as the sender gave it and the forecast sees
-- every observation.

-- detail: the RXA group's other fields (amount, units, route, site,
-- administering provider, facility, lot expiry, VIS, funding and
-- eligibility, refusal reasons, immunity, contraindications, reactions,
-- other OBX) encoded by the registry (JSON); '' for rows stored before.
ALTER TABLE source_vaccinations ADD COLUMN detail text NOT NULL DEFAULT '';
-- Refusals, doses not given and 998 records are answered to queries with
-- the patient's doses: found without scanning every source row.
CREATE INDEX source_vaccinations_not_event ON source_vaccinations (patient_id) WHERE consolidation = 'not_event';

-- Patient-level OBX (before the first ORC): evidence of immunity,
-- contraindications, indications. One row per observation and report;
-- moved with the report's doses by a merge or an unmerge.
CREATE TABLE patient_observations (
    patient_id bigint NOT NULL,
    report_id  bigint NOT NULL,
    seq        int NOT NULL,
    detail     text NOT NULL, -- the observation, encoded by the registry (JSON)
    PRIMARY KEY (report_id, seq)
);
CREATE INDEX patient_observations_patient ON patient_observations (patient_id);

-- NK1-5 as sent: the use and equipment codes of the guardian's phone.
ALTER TABLE patient_guardians
    ADD COLUMN phone_use       text NOT NULL DEFAULT '',
    ADD COLUMN phone_equipment text NOT NULL DEFAULT '';

-- When a name or address variant was first reported: an answer gives,
-- of variants differing only in letter case, the latest one.
ALTER TABLE patient_names ADD COLUMN reported_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE patient_addresses ADD COLUMN reported_at timestamptz NOT NULL DEFAULT now();
