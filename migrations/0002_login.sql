-- Staged login: agents (personal id, PIN, TOTP token), the embedded password store of school
-- accounts, login/portal sessions and the lockout counters. No secret is kept in clear: PINs
-- and passwords as argon2id PHC strings, TOTP secrets sealed under a key derived from the
-- server key, session ids as SHA-256.
CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    pin_hash       TEXT NOT NULL,
    totp_sealed    BLOB NOT NULL,
    totp_digits    INTEGER NOT NULL DEFAULT 6,
    totp_period    INTEGER NOT NULL DEFAULT 30,
    totp_algorithm TEXT NOT NULL DEFAULT 'SHA1'
                   CHECK (totp_algorithm IN ('SHA1', 'SHA256', 'SHA512')),
    -- Highest TOTP time step ever accepted: a code of this step or earlier is a replay.
    last_step      INTEGER NOT NULL DEFAULT -1,
    created_at     INTEGER NOT NULL
);

CREATE TABLE account_passwords (
    account       TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash      BLOB PRIMARY KEY,
    csrf         TEXT NOT NULL,
    -- 0: nothing passed; 1: personal id + passcode; 2: second code; 3: logged in.
    stage        INTEGER NOT NULL DEFAULT 0,
    agent        TEXT,
    stage1_step  INTEGER,
    stage1_at    INTEGER,
    failures     INTEGER NOT NULL DEFAULT 0,
    account      TEXT,
    role         TEXT,
    rne          TEXT,
    helpdesk     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed attempts per key (`agent:<id>`, `account:<name>`, `ip:<address>`) in a window.
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0
);
