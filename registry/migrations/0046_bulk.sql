-- Bulk Data (package bulk): the Groups clients manage, their members, the
-- $export jobs (claimed once across replicas) and their NDJSON output,
-- kept in chunks so that any replica serves any file.
CREATE TABLE fhir_groups (
    id         text PRIMARY KEY,
    client_id  text NOT NULL,   -- the client that manages it
    facility   text NOT NULL DEFAULT '',
    name       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fhir_groups_client ON fhir_groups (client_id);

CREATE TABLE fhir_group_members (
    group_id   text NOT NULL REFERENCES fhir_groups (id) ON DELETE CASCADE,
    patient_id bigint NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, patient_id)
);

CREATE TABLE bulk_exports (
    id           text PRIMARY KEY,
    client_id    text NOT NULL,
    grant_json   jsonb NOT NULL,      -- the grant the export runs under
    group_id     text NOT NULL,
    types        text[] NOT NULL,
    since        timestamptz,
    request_url  text NOT NULL,
    status       text NOT NULL DEFAULT 'queued', -- queued, running, complete, failed, cancelled
    progress     text NOT NULL DEFAULT '',
    error        text NOT NULL DEFAULT '',
    claimed_by   text NOT NULL DEFAULT '',
    heartbeat    timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    transaction_time timestamptz,
    finished_at  timestamptz,
    expires_at   timestamptz
);
CREATE INDEX bulk_exports_pending ON bulk_exports (created_at) WHERE status IN ('queued', 'running');

CREATE TABLE bulk_export_chunks (
    export_id text NOT NULL REFERENCES bulk_exports (id) ON DELETE CASCADE,
    type      text NOT NULL,
    seq       int NOT NULL,
    lines     int NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (export_id, type, seq)
);
-- The chunks are written once and read once or twice: lz4 compresses them
-- several times faster than the default pglz (where the server has it).
DO $$ BEGIN
    ALTER TABLE bulk_export_chunks ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN OTHERS THEN NULL;
END $$;
