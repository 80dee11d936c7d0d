-- 002: inboxes (the channels conversations arrive through) and the event log.

CREATE TABLE inboxes (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    name             TEXT    NOT NULL,
    channel          TEXT    NOT NULL CHECK (channel IN ('web', 'api')),
    widget_token     TEXT    NOT NULL UNIQUE,
    greeting         TEXT    NOT NULL DEFAULT '',
    offline_message  TEXT    NOT NULL DEFAULT '',
    widget_color     TEXT    NOT NULL DEFAULT '#1f6feb',
    widget_title     TEXT    NOT NULL DEFAULT '',
    prechat_fields   TEXT    NOT NULL DEFAULT '[]',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    deleted_at       INTEGER
);
CREATE INDEX inboxes_account ON inboxes(account_id, id);

CREATE TABLE inbox_members (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    inbox_id    INTEGER NOT NULL REFERENCES inboxes(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (inbox_id, user_id)
);
CREATE INDEX inbox_members_user ON inbox_members(account_id, user_id);

-- The event spine: every committed change, in order, per account. seq is gap-free per account
-- (account_seq is bumped in the same transaction). inbox_id scopes agents (members of the inbox; admins
-- and supervisors see all); conversation_id scopes visitors; private events are never shown to visitors.
CREATE TABLE events (
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    seq              INTEGER NOT NULL,
    type             TEXT    NOT NULL,
    inbox_id         INTEGER,
    conversation_id  INTEGER,
    private          INTEGER NOT NULL DEFAULT 0,
    data             TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (account_id, seq)
);
