-- 0021: failed sign-ins, wrong authenticator codes and account requests,
-- for the throttle every iisd shares (package accounts owns the table):
-- kind is 'password', 'code' or 'request'; rows older than the throttle's
-- windows are purged by housekeeping.
CREATE TABLE signin_failures (
    kind     text NOT NULL,
    username text NOT NULL,  -- lower-cased as typed (it may name nobody); '' for requests
    addr     text NOT NULL,
    at       timestamptz NOT NULL
);
CREATE INDEX signin_failures_user ON signin_failures (kind, username, at);
