-- 0055: the facilities' data quality reports (package quality).
--
-- Every stored message is analysed once, off the ingest path, by
-- quality.Store.Analyse: which detections its ACK reported (immz.Summary
-- entries, with the MQE code as a fifth part when the validator gives one),
-- what was sent at their positions, and how complete its doses are. The
-- triggers below only note which messages are new or replaced
-- (quality_pending); the analyser writes one quality_messages row per
-- message and one quality_findings row per detection, and statement
-- triggers on those keep per-day sums (quality_days,
-- quality_day_detections), so that a report over a period reads one row
-- per day and detection however many messages the facility sent.

-- Messages stored or replaced since they were last analysed.
CREATE TABLE quality_pending (report_id bigint PRIMARY KEY);

CREATE FUNCTION quality_note_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO quality_pending (report_id) SELECT id FROM quality_new_reports ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- One statement per batch of stored messages, not one per row.
CREATE TRIGGER source_reports_quality_insert AFTER INSERT ON source_reports
    REFERENCING NEW TABLE AS quality_new_reports
    FOR EACH STATEMENT EXECUTE FUNCTION quality_note_inserted();

CREATE FUNCTION quality_note_replaced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO quality_pending (report_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
-- A rejected message replaced by its corrected resend (same facility and
-- MSH-10) keeps its row: analysed again.
CREATE TRIGGER source_reports_quality_replace AFTER UPDATE OF issues, ack_code, raw ON source_reports
    FOR EACH ROW WHEN (OLD.issues IS DISTINCT FROM NEW.issues OR OLD.ack_code IS DISTINCT FROM NEW.ack_code
        OR OLD.replaced_at IS DISTINCT FROM NEW.replaced_at)
    EXECUTE FUNCTION quality_note_replaced();

-- One row per analysed message. day is the day received (server time
-- zone). Dose counts: doses given (RXA-20 CP, not a delete), of which
-- administered (RXA-9 00) and historical; of the administered ones, how
-- many carry a lot (RXA-15), a manufacturer (RXA-17), a VIS (OBX 69764-9
-- or 29768-9/29769-7), a funding eligibility (OBX 64994-7) and a funding
-- source (OBX 30963-3).
CREATE TABLE quality_messages (
    report_id    bigint PRIMARY KEY,
    facility     text NOT NULL,
    day          date NOT NULL,
    received_at  timestamptz NOT NULL,
    control_id   text NOT NULL,
    kind         text NOT NULL,
    ack_code     text NOT NULL,
    has_error    boolean NOT NULL,
    has_warning  boolean NOT NULL,
    doses        int NOT NULL DEFAULT 0,
    administered int NOT NULL DEFAULT 0,
    historical   int NOT NULL DEFAULT 0,
    lot          int NOT NULL DEFAULT 0,
    mvx          int NOT NULL DEFAULT 0,
    vis          int NOT NULL DEFAULT 0,
    eligibility  int NOT NULL DEFAULT 0,
    funding      int NOT NULL DEFAULT 0
);

-- One row per message and detection: the MQE code (MQE0087) when the ACK
-- gave one, else HL7 0357 code, CDC 0533 code and position (103:5:RXA-17).
-- sent: the values at the positions, as sent (escaped HL7), " | " between
-- occurrences; '' for the patient's identifying segments.
CREATE TABLE quality_findings (
    report_id  bigint NOT NULL,
    detection  text NOT NULL,
    severity   text NOT NULL,
    facility   text NOT NULL,
    day        date NOT NULL,
    positions  text[] NOT NULL,
    sent       text NOT NULL DEFAULT '',
    PRIMARY KEY (report_id, detection, severity)
);
CREATE INDEX quality_findings_examples ON quality_findings (facility, detection, severity, day DESC, report_id DESC);

-- Per facility and day: the sums of quality_messages.
CREATE TABLE quality_days (
    facility     text NOT NULL,
    day          date NOT NULL,
    messages     int NOT NULL,
    vxu          int NOT NULL,
    rejected     int NOT NULL,
    with_errors  int NOT NULL,
    with_warnings int NOT NULL,
    doses        int NOT NULL,
    administered int NOT NULL,
    historical   int NOT NULL,
    lot          int NOT NULL,
    mvx          int NOT NULL,
    vis          int NOT NULL,
    eligibility  int NOT NULL,
    funding      int NOT NULL,
    PRIMARY KEY (facility, day)
);

-- Per facility, day, detection and severity: how many messages had it
-- (position '') and had it at each position.
CREATE TABLE quality_day_detections (
    facility  text NOT NULL,
    day       date NOT NULL,
    detection text NOT NULL,
    severity  text NOT NULL,
    position  text NOT NULL,
    messages  int NOT NULL,
    PRIMARY KEY (facility, day, detection, severity, position)
);

CREATE FUNCTION quality_days_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO quality_days AS d (facility, day, messages, vxu, rejected, with_errors, with_warnings,
        doses, administered, historical, lot, mvx, vis, eligibility, funding)
    SELECT facility, day, count(*), count(*) FILTER (WHERE kind = 'vxu'), count(*) FILTER (WHERE kind = 'rejected'),
        count(*) FILTER (WHERE has_error), count(*) FILTER (WHERE has_warning),
        sum(doses), sum(administered), sum(historical), sum(lot), sum(mvx), sum(vis), sum(eligibility), sum(funding)
    FROM quality_added GROUP BY facility, day
    ORDER BY facility, day -- one lock order for analysers running at once
    ON CONFLICT (facility, day) DO UPDATE SET messages = d.messages + EXCLUDED.messages,
        vxu = d.vxu + EXCLUDED.vxu, rejected = d.rejected + EXCLUDED.rejected,
        with_errors = d.with_errors + EXCLUDED.with_errors, with_warnings = d.with_warnings + EXCLUDED.with_warnings,
        doses = d.doses + EXCLUDED.doses, administered = d.administered + EXCLUDED.administered,
        historical = d.historical + EXCLUDED.historical, lot = d.lot + EXCLUDED.lot, mvx = d.mvx + EXCLUDED.mvx,
        vis = d.vis + EXCLUDED.vis, eligibility = d.eligibility + EXCLUDED.eligibility, funding = d.funding + EXCLUDED.funding;
    RETURN NULL;
END
$$;
CREATE TRIGGER quality_messages_add AFTER INSERT ON quality_messages
    REFERENCING NEW TABLE AS quality_added FOR EACH STATEMENT EXECUTE FUNCTION quality_days_add();

CREATE FUNCTION quality_days_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE quality_days d SET messages = d.messages - o.messages, vxu = d.vxu - o.vxu, rejected = d.rejected - o.rejected,
        with_errors = d.with_errors - o.with_errors, with_warnings = d.with_warnings - o.with_warnings,
        doses = d.doses - o.doses, administered = d.administered - o.administered, historical = d.historical - o.historical,
        lot = d.lot - o.lot, mvx = d.mvx - o.mvx, vis = d.vis - o.vis, eligibility = d.eligibility - o.eligibility,
        funding = d.funding - o.funding
    FROM (SELECT facility, day, count(*) AS messages, count(*) FILTER (WHERE kind = 'vxu') AS vxu,
            count(*) FILTER (WHERE kind = 'rejected') AS rejected,
            count(*) FILTER (WHERE has_error) AS with_errors, count(*) FILTER (WHERE has_warning) AS with_warnings,
            sum(doses) AS doses, sum(administered) AS administered, sum(historical) AS historical, sum(lot) AS lot,
            sum(mvx) AS mvx, sum(vis) AS vis, sum(eligibility) AS eligibility, sum(funding) AS funding
          FROM quality_removed GROUP BY facility, day) o
    WHERE d.facility = o.facility AND d.day = o.day;
    DELETE FROM quality_days d USING (SELECT DISTINCT facility, day FROM quality_removed) o
    WHERE d.facility = o.facility AND d.day = o.day AND d.messages = 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER quality_messages_remove AFTER DELETE ON quality_messages
    REFERENCING OLD TABLE AS quality_removed FOR EACH STATEMENT EXECUTE FUNCTION quality_days_remove();

CREATE FUNCTION quality_detections_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO quality_day_detections AS d (facility, day, detection, severity, position, messages)
    SELECT f.facility, f.day, f.detection, f.severity, p, count(*)
    FROM quality_added f CROSS JOIN LATERAL unnest(array_append(f.positions, '')) AS p
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (facility, day, detection, severity, position) DO UPDATE SET messages = d.messages + EXCLUDED.messages;
    RETURN NULL;
END
$$;
CREATE TRIGGER quality_findings_add AFTER INSERT ON quality_findings
    REFERENCING NEW TABLE AS quality_added FOR EACH STATEMENT EXECUTE FUNCTION quality_detections_add();

CREATE FUNCTION quality_detections_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE quality_day_detections d SET messages = d.messages - o.n
    FROM (SELECT f.facility, f.day, f.detection, f.severity, p AS position, count(*) AS n
          FROM quality_removed f CROSS JOIN LATERAL unnest(array_append(f.positions, '')) AS p
          GROUP BY 1, 2, 3, 4, 5) o
    WHERE d.facility = o.facility AND d.day = o.day AND d.detection = o.detection AND d.severity = o.severity
        AND d.position = o.position;
    DELETE FROM quality_day_detections WHERE messages <= 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER quality_findings_remove AFTER DELETE ON quality_findings
    REFERENCING OLD TABLE AS quality_removed FOR EACH STATEMENT EXECUTE FUNCTION quality_detections_remove();

-- Messages stored before: analysed by the first analyser that runs.
INSERT INTO quality_pending (report_id) SELECT id FROM source_reports;
