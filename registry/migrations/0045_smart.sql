-- SMART Backend Services (package smart): registered FHIR clients, the
-- client assertions' jtis seen (refused if replayed until they expire),
-- and the access tokens issued (stored as SHA-256 hashes).
CREATE TABLE smart_clients (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    facility    text NOT NULL DEFAULT '',   -- MSH-4 it acts for; '' = statewide
    scopes      text NOT NULL,              -- space-separated SMART v2 scopes
    jwks        text NOT NULL DEFAULT '',   -- inline JWK Set (JSON)
    jwks_url    text NOT NULL DEFAULT '',
    enabled     boolean NOT NULL DEFAULT true,
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (jwks <> '' OR jwks_url <> '')
);

CREATE TABLE smart_jtis (
    client_id  text NOT NULL,
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX smart_jtis_expires ON smart_jtis (expires_at);

CREATE TABLE smart_tokens (
    hash       bytea PRIMARY KEY,
    client_id  text NOT NULL REFERENCES smart_clients (id) ON DELETE CASCADE,
    scopes     text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX smart_tokens_expires ON smart_tokens (expires_at);
