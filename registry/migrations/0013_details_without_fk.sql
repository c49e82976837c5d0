-- 0013: the write path's per-row tables without foreign keys.
--
-- Every row of these tables is written by the registry's own write paths
-- (ApplyBulk, Merge, Unmerge) for a patient that the same transaction
-- created or holds locked (FOR UPDATE), and, for source_vaccinations, for a
-- report the same transaction stored; patients and source reports are
-- never deleted. Each reference check was a lookup and a row lock (FOR KEY
-- SHARE) per inserted row: about sixteen per stored VXU (one per detail
-- row, two per dose, one for the report's patient). Dropping them took
-- PostgreSQL's CPU per 10,000 VXUs at 1M patients from 5.4-6.3 s to
-- 4.9-5.3 s (BenchmarkWorker, three alternating runs each).
-- TestNoOrphanRows checks that the write paths leave no row pointing
-- nowhere. patient_links and match_reviews (rare rows) keep theirs.
ALTER TABLE patient_identifiers DROP CONSTRAINT patient_identifiers_patient_id_fkey;
ALTER TABLE patient_names DROP CONSTRAINT patient_names_patient_id_fkey;
ALTER TABLE patient_addresses DROP CONSTRAINT patient_addresses_patient_id_fkey;
ALTER TABLE patient_phones DROP CONSTRAINT patient_phones_patient_id_fkey;
ALTER TABLE patient_guardians DROP CONSTRAINT patient_guardians_patient_id_fkey;
ALTER TABLE source_reports DROP CONSTRAINT source_reports_patient_id_fkey;
ALTER TABLE source_vaccinations DROP CONSTRAINT source_vaccinations_report_id_fkey;
ALTER TABLE source_vaccinations DROP CONSTRAINT source_vaccinations_patient_id_fkey;
