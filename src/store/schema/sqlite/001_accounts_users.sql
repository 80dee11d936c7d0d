-- 001: tenants, people, logins and the audit trail.
-- Times are integer milliseconds since the Unix epoch (UTC). Every tenant row carries account_id.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    slug        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    last_login_at  INTEGER
);

CREATE TABLE account_users (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX account_users_user ON account_users(user_id);

-- Login sessions (browser cookie or Bearer). Only a SHA-256 of the token is stored.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    ip          TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Long-lived tokens for integrations, scoped to one account.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_account ON api_tokens(account_id);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    actor_id     INTEGER,
    action       TEXT    NOT NULL,
    target_type  TEXT,
    target_id    INTEGER,
    ip           TEXT,
    data         TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX audit_log_account ON audit_log(account_id, id);

-- Per-account event sequence: UPDATE ... RETURNING inside the writing transaction gives gap-free seq
-- numbers on both back ends (the row lock serialises writers across nodes on PostgreSQL).
CREATE TABLE account_seq (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts(id),
    seq         INTEGER NOT NULL
);
