-- 0001: the registry's first schema.

-- Patients: one row per person the registry knows. Demographics hold the
-- latest reported values; every reported variant stays in the child tables
-- and in source_reports. match_record is the matcher's view of the patient
-- (every name, identifier, phone and address reported), kept as JSON so a
-- candidate is scored without joining seven tables (bytea: PostgreSQL never
-- looks inside, so it is not parsed on every write).
CREATE TABLE patients (
    id                   bigserial PRIMARY KEY,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    family_name          text NOT NULL DEFAULT '',
    given_name           text NOT NULL DEFAULT '',
    middle_name          text NOT NULL DEFAULT '',
    suffix               text NOT NULL DEFAULT '',
    birth_date           date,
    sex                  text NOT NULL DEFAULT '',
    multiple_birth       text NOT NULL DEFAULT '',
    birth_order          int NOT NULL DEFAULT 0,
    mother_maiden_family text NOT NULL DEFAULT '',
    mother_maiden_given  text NOT NULL DEFAULT '',
    death_date           date,
    -- Opt-out / protection (PD1-12, -13), publicity (PD1-11, -18), registry
    -- status (PD1-16, -17).
    protection           text NOT NULL DEFAULT '',
    protection_date      date,
    publicity_code       text NOT NULL DEFAULT '',
    publicity_date       date,
    registry_status      text NOT NULL DEFAULT '',
    registry_status_date date,
    -- A patient merged into another keeps its row, pointing to the survivor.
    merged_into          bigint REFERENCES patients(id),
    match_record         bytea NOT NULL DEFAULT '\x7b7d'::bytea
);

CREATE TABLE patient_identifiers (
    patient_id bigint NOT NULL REFERENCES patients(id),
    value      text NOT NULL,
    authority  text NOT NULL DEFAULT '',
    type       text NOT NULL DEFAULT '',
    PRIMARY KEY (value, authority, type, patient_id)
);
CREATE INDEX patient_identifiers_patient ON patient_identifiers (patient_id);

CREATE TABLE patient_names (
    patient_id bigint NOT NULL REFERENCES patients(id),
    family     text NOT NULL DEFAULT '',
    given      text NOT NULL DEFAULT '',
    middle     text NOT NULL DEFAULT '',
    suffix     text NOT NULL DEFAULT '',
    type       text NOT NULL DEFAULT '',
    PRIMARY KEY (patient_id, family, given, middle, suffix, type)
);

CREATE TABLE patient_addresses (
    patient_id bigint NOT NULL REFERENCES patients(id),
    street     text NOT NULL DEFAULT '',
    other      text NOT NULL DEFAULT '',
    city       text NOT NULL DEFAULT '',
    state      text NOT NULL DEFAULT '',
    zip        text NOT NULL DEFAULT '',
    country    text NOT NULL DEFAULT '',
    county     text NOT NULL DEFAULT '',
    type       text NOT NULL DEFAULT '',
    PRIMARY KEY (patient_id, street, other, city, state, zip, country, county, type)
);

CREATE TABLE patient_phones (
    patient_id bigint NOT NULL REFERENCES patients(id),
    number     text NOT NULL DEFAULT '', -- area code and local number, digits
    email      text NOT NULL DEFAULT '',
    use        text NOT NULL DEFAULT '',
    equipment  text NOT NULL DEFAULT '',
    PRIMARY KEY (patient_id, number, email, use, equipment)
);

-- Guardians and next of kin (NK1).
CREATE TABLE patient_guardians (
    patient_id   bigint NOT NULL REFERENCES patients(id),
    family       text NOT NULL DEFAULT '',
    given        text NOT NULL DEFAULT '',
    relationship text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    PRIMARY KEY (patient_id, family, given, relationship, phone)
);

-- Blocking keys (match.BlockingKeys of every report linked to the patient):
-- candidates for a new report are the patients sharing one of its keys.
CREATE TABLE patient_blocking_keys (
    key        text NOT NULL,
    patient_id bigint NOT NULL REFERENCES patients(id),
    PRIMARY KEY (key, patient_id)
);

-- Every received message, accepted or rejected, as queued by ingest.
CREATE TABLE source_reports (
    id           bigserial PRIMARY KEY,
    facility     text NOT NULL,
    control_id   text NOT NULL,
    message_type text NOT NULL DEFAULT '',
    kind         text NOT NULL,          -- vxu or rejected
    ack_code     text NOT NULL DEFAULT '',
    transport    text NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL,
    message_time timestamptz,            -- MSH-7
    stored_at    timestamptz NOT NULL DEFAULT now(),
    stream_seq   bigint,                 -- JetStream sequence, for operators
    patient_id   bigint REFERENCES patients(id),
    match_outcome text NOT NULL DEFAULT '', -- identifier, match, possible, new
    raw          bytea NOT NULL,
    UNIQUE (facility, control_id)
) WITH (fillfactor = 85);
-- patient_id and match_outcome are set by an UPDATE once the patient is
-- known; neither is indexed and the pages keep free space, so that update
-- is a heap-only tuple update that touches no index. A patient's reports
-- are found through source_vaccinations (patient_id, report_id) or
-- audit_log.
CREATE INDEX source_reports_received ON source_reports (received_at DESC);
CREATE INDEX source_reports_facility_received ON source_reports (facility, received_at DESC);
CREATE INDEX source_reports_control_id ON source_reports (control_id);
CREATE INDEX source_reports_ack ON source_reports (ack_code, received_at DESC) WHERE ack_code <> 'AA';

-- Consolidated vaccination events: one per dose the patient received,
-- recomputed from source_vaccinations on every write (registry/consolidate).
-- An event's id is the id of the source_vaccinations row that won it.
CREATE TABLE vaccination_events (
    id             bigint PRIMARY KEY,
    patient_id     bigint NOT NULL REFERENCES patients(id),
    vaccine_groups text[] NOT NULL,
    cvx            text NOT NULL,
    administered_on date NOT NULL,
    lot            text NOT NULL DEFAULT '',
    mvx            text NOT NULL DEFAULT '',
    historical     boolean NOT NULL,
    source_count   int NOT NULL
);
CREATE INDEX vaccination_events_patient ON vaccination_events (patient_id, administered_on);

-- One row per accepted RXA group of a stored VXU.
CREATE TABLE source_vaccinations (
    id                bigserial PRIMARY KEY,
    report_id         bigint NOT NULL REFERENCES source_reports(id),
    patient_id        bigint NOT NULL REFERENCES patients(id),
    facility          text NOT NULL,
    control_id        text NOT NULL,
    position          int NOT NULL,
    message_time      timestamptz,
    received_at       timestamptz NOT NULL,
    filler_order      text NOT NULL DEFAULT '', -- ORC-3 value^namespace
    cvx               text NOT NULL DEFAULT '',
    ndc               text NOT NULL DEFAULT '',
    administered_on   date,
    lot               text NOT NULL DEFAULT '',
    mvx               text NOT NULL DEFAULT '',
    historical        boolean NOT NULL DEFAULT false,
    action            text NOT NULL DEFAULT 'A',
    completion_status text NOT NULL DEFAULT 'CP',
    refusal_reasons   text[] NOT NULL DEFAULT '{}',
    event_id          bigint, -- vaccination_events.id (no foreign key: events are rebuilt on every write)
    -- superseded: replaced by an update or removed by a delete; not_event:
    -- refusal, not administered or 998; duplicate: folded into an event
    -- another report won; winner: carries its event.
    consolidation     text NOT NULL DEFAULT '',
    UNIQUE (facility, control_id, position)
);
CREATE INDEX source_vaccinations_patient ON source_vaccinations (patient_id, report_id);

-- Links between patient records: merges (the loser points to the
-- survivor) and unmerges, with who decided.
CREATE TABLE patient_links (
    id          bigserial PRIMARY KEY,
    survivor_id bigint NOT NULL REFERENCES patients(id),
    merged_id   bigint NOT NULL REFERENCES patients(id),
    kind        text NOT NULL, -- merge, unmerge
    decided_by  text NOT NULL,
    decided_at  timestamptz NOT NULL DEFAULT now()
);

-- Possible matches waiting for a person: never merged automatically.
CREATE TABLE match_reviews (
    id           bigserial PRIMARY KEY,
    patient_id   bigint NOT NULL REFERENCES patients(id), -- the new record
    candidate_id bigint NOT NULL REFERENCES patients(id), -- the existing one
    report_id    bigint REFERENCES source_reports(id),
    score        double precision NOT NULL,
    reason       text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'open', -- open, linked, distinct
    created_at   timestamptz NOT NULL DEFAULT now(),
    decided_by   text,
    decided_at   timestamptz,
    UNIQUE (patient_id, candidate_id)
);
CREATE INDEX match_reviews_open ON match_reviews (created_at) WHERE status = 'open';

-- Who did what to which patient, when.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    patient_id bigint,
    report_id  bigint,
    detail     text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_patient ON audit_log (patient_id, at);

-- The operators' message store: every received message, accepted or not.
CREATE VIEW message_store AS
SELECT id, facility, control_id, message_type, kind, ack_code, transport,
       received_at, stored_at, patient_id, match_outcome, octet_length(raw) AS size
FROM source_reports;
