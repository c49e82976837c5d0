-- 0011: what a merge needs to be undone. At merge time the link keeps the
-- source reports that moved to the survivor, the merged patient's own rows
-- (identifiers, names, addresses, phones, guardians, blocking keys) and
-- match record, the rows the merge added to the survivor, and the survivor's
-- match record before the merge. An unmerge puts all of it back and
-- reconsolidates both patients. (Numbered 0011 to leave room to work in flight.)
ALTER TABLE patient_links
    ADD COLUMN moved_reports bigint[],
    ADD COLUMN undo          jsonb,
    ADD COLUMN undone_at     timestamptz,
    ADD COLUMN undone_by     text;
