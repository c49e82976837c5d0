-- 0056: a facility's onboarding status (package facility). A facility in
-- 'test' status has its messages validated, answered, kept in the message
-- store and reported on, but not written to the registry; 'production'
-- (also every facility without a row) is written. Every change is kept.
CREATE TABLE facility_status (
    facility   text PRIMARY KEY,
    status     text NOT NULL CHECK (status IN ('test', 'production')),
    note       text NOT NULL DEFAULT '',
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE facility_status_changes (
    id          bigserial PRIMARY KEY,
    facility    text NOT NULL,
    from_status text NOT NULL,
    to_status   text NOT NULL,
    note        text NOT NULL DEFAULT '',
    changed_by  text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX facility_status_changes_facility ON facility_status_changes (facility, changed_at DESC);
