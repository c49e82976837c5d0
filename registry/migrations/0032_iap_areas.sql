-- 0032: the state's Immunization Action Plan (IAP) areas (package
-- compliancy's outreach lists; the registry owns the table). The program
-- maps each town (as addresses spell it, compared case-insensitively) to
-- the IAP area whose coordinator follows up its late children.
CREATE TABLE iap_areas (
    town       text PRIMARY KEY CHECK (town <> '' AND town = lower(town)),
    area       text NOT NULL CHECK (area <> ''),
    updated_by text NOT NULL CHECK (updated_by <> ''),
    updated_at timestamptz NOT NULL DEFAULT now()
);
