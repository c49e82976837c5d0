-- 0020: accounts for the people's pages (package accounts owns these tables).
--
-- Organizations are the state program, clinics (linked to the facility
-- identity they report under: MSH-4, the SOAP account's facility, the
-- client certificate's CN) and schools. Users belong to one organization
-- and have one role. A clinic has at most one primary and one backup
-- vaccine coordinator among its enabled users.
CREATE TABLE organizations (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('program', 'clinic', 'school')),
    name        text NOT NULL CHECK (name <> ''),
    town        text NOT NULL DEFAULT '',
    facility_id text CHECK (facility_id IS NULL OR (kind = 'clinic' AND facility_id <> '')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, name)
);
CREATE UNIQUE INDEX organizations_facility ON organizations (facility_id) WHERE facility_id IS NOT NULL;

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    username        text NOT NULL CHECK (username <> ''),
    full_name       text NOT NULL,
    email           text NOT NULL,
    phone           text NOT NULL DEFAULT '',
    org_id          bigint NOT NULL REFERENCES organizations(id),
    role            text NOT NULL CHECK (role IN ('program_admin', 'program_staff', 'clinic_user',
                        'vaccine_coordinator', 'school_nurse', 'integration_engineer')),
    -- primary or backup, for vaccine coordinators only.
    coordinator     text CHECK (coordinator IN ('primary', 'backup')),
    password_hash   text NOT NULL DEFAULT '',   -- empty: not set yet (a set-password link is out)
    must_change_pw  boolean NOT NULL DEFAULT false,
    totp_secret     text NOT NULL DEFAULT '',   -- base32; set at enrolment
    totp_enabled    boolean NOT NULL DEFAULT false,
    totp_last_step  bigint NOT NULL DEFAULT 0,  -- last accepted time step: a code is used once
    disabled_at     timestamptz,
    disabled_reason text NOT NULL DEFAULT '',
    last_sign_in    timestamptz,
    prev_sign_in    timestamptz,                -- the one before, shown to the user
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'vaccine_coordinator') = (coordinator IS NOT NULL))
);
CREATE UNIQUE INDEX users_username ON users (lower(username));
CREATE UNIQUE INDEX users_coordinator ON users (org_id, coordinator)
    WHERE coordinator IS NOT NULL AND disabled_at IS NULL;

-- Account requests from the public form, decided by program staff.
CREATE TABLE account_requests (
    id              bigserial PRIMARY KEY,
    full_name       text NOT NULL CHECK (full_name <> ''),
    email           text NOT NULL CHECK (email <> ''),
    phone           text NOT NULL DEFAULT '',
    org_id          bigint NOT NULL REFERENCES organizations(id),
    role            text NOT NULL,
    coordinator     text CHECK (coordinator IN ('primary', 'backup')),
    reason          text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
    decided_by      bigint REFERENCES users(id),
    decided_at      timestamptz,
    decision_reason text NOT NULL DEFAULT '',
    user_id         bigint REFERENCES users(id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_requests_pending ON account_requests (created_at) WHERE status = 'pending';

-- Signed-in sessions: only a SHA-256 of the cookie's token is stored.
CREATE TABLE user_sessions (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf       text NOT NULL,
    totp_ok    boolean NOT NULL DEFAULT false, -- the second factor was given
    client     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL          -- absolute end, whatever the activity
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

-- One-time links (set a password after approval, reset a forgotten one):
-- only a SHA-256 of the token is stored; used once, then void.
CREATE TABLE user_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('set-password', 'reset-password')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX user_tokens_user ON user_tokens (user_id);

-- Messages to people, sent by the SMTP sender (or read on the outbox page
-- when no mail server is configured).
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    to_addr         text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';
