-- 0035: the files of a finished report run beyond its figures (package
-- reports; the registry owns the table): the drill-down (the children
-- behind the figures and why each is not up to date), a reminder/recall
-- run's list, letters and labels. A file's rows of children who opted out
-- or are protected are marked in its "restricted" column, and are shown
-- with their names only to program staff.
CREATE TABLE report_run_files (
    run_id       bigint NOT NULL REFERENCES report_runs(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (name ~ '^[a-z0-9-]+\.(csv|pdf)$'),
    content_type text NOT NULL,
    body         bytea NOT NULL,
    PRIMARY KEY (run_id, name)
);
