-- Times are Unix milliseconds (INTEGER) so the schema reads the same in
-- every SQL backend.
CREATE TABLE replays (
    namespace  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, id)
);
CREATE INDEX replays_expires_at ON replays (expires_at);

CREATE TABLE tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    token_type TEXT    NOT NULL,
    data       BLOB    NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);
CREATE INDEX tokens_client_id ON tokens (client_id);

CREATE TABLE revocations (
    jti        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revocations_expires_at ON revocations (expires_at);

CREATE TABLE cache (
    key        TEXT    NOT NULL PRIMARY KEY,
    value      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX cache_expires_at ON cache (expires_at);

CREATE TABLE clients (
    id         TEXT    NOT NULL PRIMARY KEY,
    data       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
