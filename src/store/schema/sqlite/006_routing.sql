-- 006: routing. Agents' capacity, languages, region and skills (per account membership); per-inbox
-- capacity overrides; an inbox's routing settings; rules; the assignment history and the router's
-- explained decisions.

ALTER TABLE account_users ADD COLUMN capacity INTEGER;          -- NULL: no limit
ALTER TABLE account_users ADD COLUMN languages TEXT NOT NULL DEFAULT '[]';
ALTER TABLE account_users ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE account_users ADD COLUMN last_assigned_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE skills (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX skills_name ON skills(account_id, name);

CREATE TABLE user_skills (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    skill_id    INTEGER NOT NULL REFERENCES skills(id),
    level       INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
    PRIMARY KEY (user_id, skill_id)
);
CREATE INDEX user_skills_account ON user_skills(account_id, user_id);

ALTER TABLE inbox_members ADD COLUMN capacity INTEGER;           -- NULL: the agent's own capacity
ALTER TABLE inboxes ADD COLUMN routing TEXT NOT NULL DEFAULT '{}';

-- What routing learned about a conversation: the skill a rule asked for, the language, the intent
-- (the bot fills it), the rule that matched, and when the router last gave it to someone.
ALTER TABLE conversations ADD COLUMN skill_id INTEGER;
ALTER TABLE conversations ADD COLUMN skill_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN intent TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN assigned_at INTEGER;
ALTER TABLE conversations ADD COLUMN resolved_at INTEGER;
ALTER TABLE conversations ADD COLUMN rule_id INTEGER;            -- the routing rule that matched
ALTER TABLE conversations ADD COLUMN prepared_at INTEGER;        -- rules applied (once)
CREATE INDEX conversations_waiting ON conversations(account_id, status, assignee_id);

CREATE TABLE routing_rules (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    inbox_id    INTEGER REFERENCES inboxes(id),                  -- NULL: every inbox
    name        TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    match       TEXT    NOT NULL DEFAULT 'all' CHECK (match IN ('all', 'any')),
    conditions  TEXT    NOT NULL,
    team_id     INTEGER REFERENCES teams(id),
    skill_id    INTEGER REFERENCES skills(id),
    min_level   INTEGER NOT NULL DEFAULT 1,
    priority    TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX routing_rules_account ON routing_rules(account_id, position);

-- Every change of assignee or team, with who did it and why.
CREATE TABLE conversation_assignments (
    id                    INTEGER PRIMARY KEY,
    account_id            INTEGER NOT NULL REFERENCES accounts(id),
    conversation_id       INTEGER NOT NULL REFERENCES conversations(id),
    assignee_id           INTEGER,
    team_id               INTEGER,
    previous_assignee_id  INTEGER,
    actor_type            TEXT    NOT NULL CHECK (actor_type IN ('router', 'user')),
    actor_id              INTEGER,
    reason                TEXT    NOT NULL,
    note                  TEXT    NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL
);
CREATE INDEX conversation_assignments_conv ON conversation_assignments(conversation_id, id);
CREATE INDEX conversation_assignments_time ON conversation_assignments(account_id, created_at);

-- The router's decisions with their candidates and score terms (JSON), for "why this agent?".
CREATE TABLE routing_decisions (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id),
    kind             TEXT    NOT NULL,
    strategy         TEXT    NOT NULL,
    chosen_user_id   INTEGER,
    rule_id          INTEGER,
    reason           TEXT    NOT NULL,
    candidates       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX routing_decisions_conv ON routing_decisions(conversation_id, id);
