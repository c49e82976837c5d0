-- 0030: coverage reports (package coverage).
--
-- A clinic marks a child "moved or gone elsewhere" (MOGE): the child is
-- then no longer attributed to that clinic for coverage (attribution falls
-- to the next clinic that reported the child most recently, or to none).
-- One row per (patient, facility) while the mark stands, with who set it
-- and when; unmarking deletes the row (both are in the audit log).
CREATE TABLE coverage_moge (
    patient_id bigint NOT NULL,
    facility   text NOT NULL,
    marked_by  text NOT NULL,
    marked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, facility)
);

-- Cohorts are ranges of birth dates over the patients not merged away.
CREATE INDEX patients_birth_date ON patients (birth_date, id) WHERE merged_into IS NULL;
