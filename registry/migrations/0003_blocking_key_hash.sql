-- 0003: blocking keys stored as 64-bit hashes, with a version.
--
-- The candidate query probes patient_blocking_keys for every key of every
-- report; with text keys its index was as large as the patients' match
-- records (about 390 MB at 1M patients) and its probes missed the buffer
-- cache. A key is now the first eight bytes of its MD5 as a bigint
-- (registry.blockingKeyHash computes the same in Go): index entries of two
-- bigints. A hash shared by two different keys only adds a candidate for
-- the matcher to score.
CREATE FUNCTION blocking_key_hash(key text) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT ('x' || left(md5(key), 16))::bit(64)::bigint $$;

-- The table is rebuilt from the text keys, each (hash, patient) once. It
-- has no foreign key to patients: it is a derived index (rebuilt from the
-- patients' match records when the version below changes), patients are
-- never deleted, and the candidate query joins patients anyway; the
-- reference check cost a lookup and a row lock on the patient for each of
-- the seven to ten keys of every stored report.
CREATE TABLE patient_blocking_keys_hashed (
    key        bigint NOT NULL,
    patient_id bigint NOT NULL
);
INSERT INTO patient_blocking_keys_hashed (key, patient_id)
SELECT DISTINCT blocking_key_hash(key), patient_id FROM patient_blocking_keys;
DROP TABLE patient_blocking_keys;
ALTER TABLE patient_blocking_keys_hashed RENAME TO patient_blocking_keys;
ALTER TABLE patient_blocking_keys ADD CONSTRAINT patient_blocking_keys_pkey PRIMARY KEY (key, patient_id);
ANALYZE patient_blocking_keys;

-- The version of the stored keys: the storage format and a fingerprint of
-- match.BlockingKeys (registry.BlockingKeysVersion). registry.Open
-- rebuilds the keys from the patients' match records when the version it
-- computes differs, so a change of the matcher's keys reaches the stored
-- ones without anyone having to remember it. The keys converted above are
-- those of the matcher as of this migration.
CREATE TABLE blocking_keys_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO blocking_keys_version (version) VALUES ('md5-64/462b1c4038cb31dc');
