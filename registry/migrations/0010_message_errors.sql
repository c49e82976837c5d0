-- 0010: the ERR rows of stored messages, one row per message, HL7 0357 code
-- and severity, kept by a trigger on source_reports so that every write path
-- maintains them. The console searches messages by ERR code and groups the
-- errors by facility, code and position from this narrow table instead of
-- the wide source_reports rows. (Numbered 0010 to leave 0003-0009 to other
-- work in flight; migrations apply by version whatever the gaps.)
CREATE TABLE message_errors (
    report_id   bigint NOT NULL REFERENCES source_reports(id) ON DELETE CASCADE,
    code        text NOT NULL,      -- HL7 table 0357
    severity    text NOT NULL,      -- E, W, I
    facility    text NOT NULL,
    received_at timestamptz NOT NULL,
    ack_code    text NOT NULL,
    positions   text[] NOT NULL,    -- CDC 0533 code:position, e.g. 6:RXA-17
    PRIMARY KEY (report_id, code, severity)
);
CREATE INDEX message_errors_code ON message_errors (code, received_at DESC, report_id DESC);
CREATE INDEX message_errors_facility_code ON message_errors (facility, code, received_at DESC, report_id DESC);
CREATE INDEX message_errors_received ON message_errors (received_at DESC);

CREATE FUNCTION source_reports_errors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM message_errors WHERE report_id = OLD.id;
    END IF;
    INSERT INTO message_errors (report_id, code, severity, facility, received_at, ack_code, positions)
    SELECT NEW.id, split_part(i, ':', 2), left(i, 1), NEW.facility, NEW.received_at, NEW.ack_code,
           array_agg(DISTINCT split_part(i, ':', 3) || ':' || split_part(i, ':', 4))
    FROM unnest(NEW.issues) AS i
    GROUP BY 2, 3;
    RETURN NULL;
END
$$;
CREATE TRIGGER source_reports_errors_insert AFTER INSERT ON source_reports
    FOR EACH ROW WHEN (NEW.issues <> '{}') EXECUTE FUNCTION source_reports_errors();
CREATE TRIGGER source_reports_errors_update AFTER UPDATE OF issues, ack_code ON source_reports
    FOR EACH ROW WHEN (OLD.issues IS DISTINCT FROM NEW.issues OR OLD.ack_code IS DISTINCT FROM NEW.ack_code)
    EXECUTE FUNCTION source_reports_errors();

INSERT INTO message_errors (report_id, code, severity, facility, received_at, ack_code, positions)
SELECT r.id, split_part(i, ':', 2), left(i, 1), r.facility, r.received_at, r.ack_code,
       array_agg(DISTINCT split_part(i, ':', 3) || ':' || split_part(i, ':', 4))
FROM source_reports r CROSS JOIN LATERAL unnest(r.issues) AS i
WHERE r.issues <> '{}'
GROUP BY r.id, 2, 3;

-- message_errors serves the searches the GIN index did.
DROP INDEX source_reports_err_codes;
