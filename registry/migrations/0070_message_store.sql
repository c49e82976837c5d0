-- 0070: the raw message store, partitioned by received time so that it can
-- be pruned by dropping whole partitions.
--
-- source_reports keeps, forever, the narrow row of every received message:
-- its identity (id), facility, MSH-10, type, kind, ACK code, transport,
-- times, the compact ERR summary (issues), the patient and the match
-- outcome, and a SHA-256 digest of the raw bytes (raw_digest), which tells a
-- redelivery from a corrected resend after the bytes are gone. Every dose's
-- provenance (source_vaccinations.report_id -> source_reports) is therefore
-- independent of the raw store.
--
-- The bulky part moves out:
--   message_bodies  the raw message and the ACK (or a query's answer);
--   message_errors  the ERR rows the console searches by code.
-- Both are partitioned by RANGE (received_at) into periods (a month by
-- default), each period by LIST (kind) into vxu, rejected, query and other
-- (the DEFAULT leaf), so that each kind is kept for its own retention: a
-- prune drops the leaves whose whole period is older than the kind's
-- horizon (registry.(*Store).MaintainMessageStore). A DEFAULT partition
-- per table catches rows whose period has no partition yet (rows carried
-- over by this migration, clocks far off); the maintenance moves them into
-- their period's partition when it creates it.
--
-- No foreign keys: a body or an ERR row is written in the same statement
-- (or by the trigger) as its report, and reports are never deleted.

CREATE TABLE message_store_pruned (
    kind   text PRIMARY KEY,           -- vxu, rejected, query, other
    before timestamptz NOT NULL        -- bodies and ERR rows received earlier are gone
);

-- message_store_horizon is the time before which kind's bodies and ERR
-- rows are pruned ('-infinity' if none is): a write for an earlier time
-- (a rejected report replaced long after it was received) keeps the
-- report's row and stores no body.
CREATE FUNCTION message_store_horizon(k text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(before), '-infinity') FROM message_store_pruned
    WHERE kind = CASE WHEN k IN ('vxu', 'rejected', 'query') THEN k ELSE 'other' END
$$;

CREATE TABLE message_bodies (
    report_id   bigint NOT NULL,       -- source_reports.id
    received_at timestamptz NOT NULL,  -- source_reports.received_at
    kind        text NOT NULL,         -- source_reports.kind
    raw         bytea NOT NULL,
    ack         bytea
) PARTITION BY RANGE (received_at);
-- A report's body is found by (report_id, received_at, kind): the time and
-- kind select one leaf, report_id the row in it.
CREATE INDEX message_bodies_report ON message_bodies (report_id);
CREATE TABLE message_bodies_default PARTITION OF message_bodies DEFAULT;

-- The ERR rows, as 0010 made them, with the message's kind.
ALTER TABLE message_errors RENAME TO message_errors_0010;
CREATE TABLE message_errors (
    report_id   bigint NOT NULL,
    code        text NOT NULL,      -- HL7 table 0357
    severity    text NOT NULL,      -- E, W, I
    facility    text NOT NULL,
    received_at timestamptz NOT NULL,
    ack_code    text NOT NULL,
    positions   text[] NOT NULL,    -- CDC 0533 code:position, e.g. 6:RXA-17
    kind        text NOT NULL
) PARTITION BY RANGE (received_at);
CREATE TABLE message_errors_default PARTITION OF message_errors DEFAULT;
CREATE INDEX message_errors_by_report ON message_errors (report_id);
CREATE INDEX message_errors_by_code ON message_errors (code, received_at DESC, report_id DESC);
CREATE INDEX message_errors_by_facility_code ON message_errors (facility, code, received_at DESC, report_id DESC);
CREATE INDEX message_errors_by_received ON message_errors (received_at DESC);

INSERT INTO message_errors (report_id, code, severity, facility, received_at, ack_code, positions, kind)
SELECT e.report_id, e.code, e.severity, e.facility, e.received_at, e.ack_code, e.positions, r.kind
FROM message_errors_0010 e JOIN source_reports r ON r.id = e.report_id;
DROP TABLE message_errors_0010;

DROP TRIGGER source_reports_errors_insert ON source_reports;
DROP TRIGGER source_reports_errors_update ON source_reports;
CREATE OR REPLACE FUNCTION source_reports_errors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM message_errors
        WHERE report_id = OLD.id AND received_at = OLD.received_at AND kind = OLD.kind;
    END IF;
    IF NEW.received_at < message_store_horizon(NEW.kind) THEN
        RETURN NULL;
    END IF;
    INSERT INTO message_errors (report_id, code, severity, facility, received_at, ack_code, positions, kind)
    SELECT NEW.id, split_part(i, ':', 2), left(i, 1), NEW.facility, NEW.received_at, NEW.ack_code,
           array_agg(DISTINCT split_part(i, ':', 3) || ':' || split_part(i, ':', 4)), NEW.kind
    FROM unnest(NEW.issues) AS i
    GROUP BY 2, 3;
    RETURN NULL;
END
$$;
CREATE TRIGGER source_reports_errors_insert AFTER INSERT ON source_reports
    FOR EACH ROW WHEN (NEW.issues <> '{}') EXECUTE FUNCTION source_reports_errors();
CREATE TRIGGER source_reports_errors_update AFTER UPDATE OF issues, ack_code, kind ON source_reports
    FOR EACH ROW WHEN (OLD.issues IS DISTINCT FROM NEW.issues OR OLD.ack_code IS DISTINCT FROM NEW.ack_code
        OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION source_reports_errors();

-- Carry the bodies over, then empty the columns (the UPDATE writes row
-- versions without them; VACUUM reuses the old versions' space, VACUUM
-- FULL returns it to the system) and drop them.
INSERT INTO message_bodies (report_id, received_at, kind, raw, ack)
SELECT id, received_at, kind, raw, ack FROM source_reports;
DROP VIEW message_store;
ALTER TABLE source_reports ADD COLUMN raw_digest bytea;
-- 0055's trigger for the quality reports named raw among its columns: it
-- names the digest instead (a replaced message changes it).
DROP TRIGGER source_reports_quality_replace ON source_reports;
CREATE TRIGGER source_reports_quality_replace AFTER UPDATE OF issues, ack_code, raw_digest, replaced_at ON source_reports
    FOR EACH ROW WHEN (OLD.issues IS DISTINCT FROM NEW.issues OR OLD.ack_code IS DISTINCT FROM NEW.ack_code
        OR OLD.replaced_at IS DISTINCT FROM NEW.replaced_at)
    EXECUTE FUNCTION quality_note_replaced();
ALTER TABLE source_reports ALTER COLUMN raw DROP NOT NULL;
UPDATE source_reports SET raw_digest = sha256(raw), raw = NULL, ack = NULL;
ALTER TABLE source_reports ALTER COLUMN raw_digest SET NOT NULL;
ALTER TABLE source_reports DROP COLUMN raw, DROP COLUMN ack;

CREATE VIEW message_store AS
SELECT r.id, r.facility, r.control_id, r.message_type, r.kind, r.ack_code, r.transport,
       r.received_at, r.stored_at, r.patient_id, r.match_outcome, r.issues,
       r.replaced_at, octet_length(b.raw) AS size, b.raw IS NULL AS pruned
FROM source_reports r
LEFT JOIN message_bodies b ON b.report_id = r.id AND b.received_at = r.received_at AND b.kind = r.kind;
