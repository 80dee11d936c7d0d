-- 007: the knowledge base and the bot. Help-center categories and articles (Markdown, zh or en,
-- draft or published), FAQ entries, intents, the per-account trained model, the bot's settings per
-- inbox, and what the bot and the sentiment classifier learned about conversations and messages.

CREATE TABLE kb_categories (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    locale       TEXT    NOT NULL DEFAULT 'zh' CHECK (locale IN ('zh', 'en')),
    position     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX kb_categories_account ON kb_categories(account_id, locale, position);

CREATE TABLE kb_articles (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    category_id   INTEGER REFERENCES kb_categories(id),
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL DEFAULT '',
    locale        TEXT    NOT NULL DEFAULT 'zh' CHECK (locale IN ('zh', 'en')),
    status        TEXT    NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    author_id     INTEGER NOT NULL DEFAULT 0,
    views         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    published_at  INTEGER
);
CREATE INDEX kb_articles_account ON kb_articles(account_id, status, locale, updated_at);
CREATE INDEX kb_articles_category ON kb_articles(category_id);

-- An FAQ entry: the question, other ways customers ask it (JSON array), and the answer.
CREATE TABLE faqs (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    question    TEXT    NOT NULL,
    phrasings   TEXT    NOT NULL DEFAULT '[]',
    answer      TEXT    NOT NULL,
    locale      TEXT    NOT NULL DEFAULT 'zh' CHECK (locale IN ('zh', 'en')),
    enabled     INTEGER NOT NULL DEFAULT 1,
    hits        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX faqs_account ON faqs(account_id, id);

-- An intent: a name, example utterances (JSON array), and what the bot does when it recognises it:
-- answer (with `answer`), route (hand over to team_id and/or skill_id), or collect (ask for
-- `fields`, a JSON array of {name, label}, then hand over).
CREATE TABLE intents (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT    NOT NULL,
    examples    TEXT    NOT NULL DEFAULT '[]',
    action      TEXT    NOT NULL DEFAULT 'answer' CHECK (action IN ('answer', 'route', 'collect')),
    answer      TEXT    NOT NULL DEFAULT '',
    team_id     INTEGER,
    skill_id    INTEGER,
    fields      TEXT    NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX intents_name ON intents(account_id, name);

-- The account's trained model (one row per account, replaced on each training): the blob of
-- nlp_model_save, and what the admin sees about it.
CREATE TABLE bot_models (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts(id),
    version      INTEGER NOT NULL,
    blob         BLOB,
    examples     INTEGER NOT NULL DEFAULT 0,
    classes      INTEGER NOT NULL DEFAULT 0,
    cv_accuracy  REAL,
    train_ms     INTEGER NOT NULL DEFAULT 0,
    trained_at   INTEGER NOT NULL
);

ALTER TABLE inboxes ADD COLUMN bot TEXT NOT NULL DEFAULT '{}';

-- bot_state: NULL (the bot never took part), 'active' (the bot is answering; the conversation is
-- pending, so routing leaves it), 'collecting' (asking for details), 'handed_off'.
ALTER TABLE conversations ADD COLUMN bot_state TEXT;
ALTER TABLE conversations ADD COLUMN bot_data TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations ADD COLUMN sentiment REAL;          -- of the last customer message, -1..1

ALTER TABLE messages ADD COLUMN sentiment REAL;               -- customer messages only
ALTER TABLE messages ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}'; -- bot buttons and the like
