-- The severity a facility gives an AIRA MQE detection (package facility,
-- severity.go): E error, W warning, I information, A accept (silent). A
-- detection without a row keeps its default (hl7/immz Detections).
CREATE TABLE facility_severities (
    facility    text NOT NULL,
    detection   text NOT NULL CHECK (detection ~ '^MQE[0-9]{4}$'),
    severity    char(1) NOT NULL CHECK (severity IN ('E', 'W', 'I', 'A')),
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility, detection)
);
