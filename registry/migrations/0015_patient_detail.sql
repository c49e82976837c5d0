-- 0015: the patient facts an answer gives that had no column: PID-10 race,
-- PID-22 ethnicity (the latest report's, encoded by the registry as JSON),
-- PID-30 death indicator; and each guardian as reported (NK1 name,
-- relationship, addresses and phones, JSON), the latest report's.
ALTER TABLE patients
    ADD COLUMN races           text NOT NULL DEFAULT '',
    ADD COLUMN ethnicities     text NOT NULL DEFAULT '',
    ADD COLUMN death_indicator text NOT NULL DEFAULT '';
ALTER TABLE patient_guardians ADD COLUMN detail text NOT NULL DEFAULT '';
