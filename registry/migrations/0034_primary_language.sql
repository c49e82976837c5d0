-- 0034: the patient's primary language (PID-15, HL7 table 0296 / ISO
-- 639 code: "spa", "eng"), kept from VXUs and data entry; a later report
-- that sends one replaces it, one that sends none keeps it. Reminder/recall
-- prints a family's letter in Spanish when it says Spanish.
ALTER TABLE patients ADD COLUMN primary_language text NOT NULL DEFAULT '';
