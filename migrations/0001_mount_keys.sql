-- Mount keys: what a WebDAV client uses as its password. Only a keyed hash is kept.
CREATE TABLE mount_keys (
    id           TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('school', 'crisis_cell')),
    rne          TEXT,
    label        TEXT NOT NULL DEFAULT '',
    key_hash     BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
);
CREATE INDEX mount_keys_account ON mount_keys (account);
