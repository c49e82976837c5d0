-- 0033: runs of population reports (package reports; the registry owns
-- the table). A run is started on demand or by a schedule; a scheduled
-- run's (schedule, slot) is unique so that one replica runs each slot.
CREATE TABLE report_runs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind <> ''),
    params       jsonb NOT NULL DEFAULT '{}',
    facility     text NOT NULL DEFAULT '', -- the clinic the run covers ('' beyond one clinic)
    data_version bigint NOT NULL DEFAULT 0, -- max(source_reports.id) at start
    data_at      timestamptz,               -- that report's received time
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress     int NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    requested_by text NOT NULL CHECK (requested_by <> ''),
    schedule     text,
    slot         timestamptz,
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    result_csv   bytea,
    summary      jsonb,
    error        text NOT NULL DEFAULT '',
    UNIQUE (schedule, slot)
);
CREATE INDEX report_runs_facility ON report_runs (facility, id DESC);
