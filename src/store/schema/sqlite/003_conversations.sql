-- 003: contacts, conversations, messages, labels, teams, canned responses, attachments; agent
-- availability; message search.

ALTER TABLE users ADD COLUMN availability TEXT NOT NULL DEFAULT 'online'
    CHECK (availability IN ('online', 'away', 'offline'));

-- Visitors are contacts too: visitor_id is the secret a widget keeps in localStorage.
CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    name          TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    phone         TEXT    NOT NULL DEFAULT '',
    attributes    TEXT    NOT NULL DEFAULT '{}',
    visitor_id    TEXT UNIQUE,
    prechat       TEXT    NOT NULL DEFAULT '{}',
    last_page_url TEXT    NOT NULL DEFAULT '',
    last_seen_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX contacts_account ON contacts(account_id, id);

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE INDEX teams_account ON teams(account_id, id);

CREATE TABLE conversations (
    id                    INTEGER PRIMARY KEY,
    account_id            INTEGER NOT NULL REFERENCES accounts(id),
    inbox_id              INTEGER NOT NULL REFERENCES inboxes(id),
    contact_id            INTEGER NOT NULL REFERENCES contacts(id),
    status                TEXT    NOT NULL DEFAULT 'open'
                          CHECK (status IN ('open', 'pending', 'snoozed', 'resolved')),
    snoozed_until         INTEGER,
    assignee_id           INTEGER REFERENCES users(id),
    team_id               INTEGER REFERENCES teams(id),
    priority              TEXT    NOT NULL DEFAULT 'none'
                          CHECK (priority IN ('none', 'low', 'medium', 'high', 'urgent')),
    last_message_id       INTEGER,
    last_activity_at      INTEGER NOT NULL,
    waiting_since         INTEGER,
    first_reply_at        INTEGER,
    agent_last_read_id    INTEGER NOT NULL DEFAULT 0,
    contact_last_read_id  INTEGER NOT NULL DEFAULT 0,
    page_url              TEXT    NOT NULL DEFAULT '',
    prechat               TEXT    NOT NULL DEFAULT '{}',
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX conversations_list ON conversations(account_id, status, last_activity_at);
CREATE INDEX conversations_contact ON conversations(contact_id, inbox_id, id);
CREATE INDEX conversations_snoozed ON conversations(status, snoozed_until);

CREATE TABLE conversation_labels (
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    label            TEXT    NOT NULL,
    PRIMARY KEY (conversation_id, label)
);
CREATE INDEX conversation_labels_label ON conversation_labels(account_id, label);

-- sender_type: contact | user | bot | system. (sender_type, sender_id, client_id) makes a retried send
-- return the first message instead of storing it twice.
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    sender_type      TEXT    NOT NULL CHECK (sender_type IN ('contact', 'user', 'bot', 'system')),
    sender_id        INTEGER NOT NULL DEFAULT 0,
    content          TEXT    NOT NULL,
    private          INTEGER NOT NULL DEFAULT 0,
    client_id        TEXT,
    attachments      TEXT    NOT NULL DEFAULT '[]',
    created_at       INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE INDEX messages_account ON messages(account_id, id);
CREATE UNIQUE INDEX messages_client_id ON messages(account_id, sender_type, sender_id, client_id)
    WHERE client_id IS NOT NULL;

-- Message search: trigram full text (works for Chinese from 3 characters; shorter queries scan).
CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id',
                                             tokenize='trigram');
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;

CREATE TABLE canned_responses (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    short_code  TEXT    NOT NULL,
    content     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (account_id, short_code)
);

-- Files live in data-dir/attachments/<sha[0:2]>/<sha>, once per content; rows are per upload.
CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    sha256        TEXT    NOT NULL,
    filename      TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    uploader_type TEXT    NOT NULL,
    uploader_id   INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX attachments_account ON attachments(account_id, id);

-- A visitor's events are those of their own conversations: contact_id scopes them.
ALTER TABLE events ADD COLUMN contact_id INTEGER;
CREATE INDEX events_contact ON events(account_id, contact_id, seq) WHERE contact_id IS NOT NULL;

-- Server-wide secrets (the visitor-token signing key).
CREATE TABLE server_secrets (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
