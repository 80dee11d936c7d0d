-- 009: the bot's guided flows (流程机器人): steps with buttons, collected fields, handoffs and ends,
-- defined in the console (model/flow.h has the steps' JSON). A flow starts from an intent (action
-- 'flow' with flow_id) or from a button under an inbox's greeting (inboxes.bot.greeting_flows). While
-- a conversation is in a flow, bot_state is 'collecting' and bot_data holds its place:
-- {"flow_id", "flow", "step", "values", "tries", "intent"}.

CREATE TABLE bot_flows (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    name          TEXT    NOT NULL,
    button_label  TEXT    NOT NULL DEFAULT '', -- under the greeting ('' shows the name)
    enabled       INTEGER NOT NULL DEFAULT 1,
    steps         TEXT    NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX bot_flows_name ON bot_flows(account_id, name);

-- intents.action gains 'flow' (SQLite cannot change a CHECK in place: the table is copied).
CREATE TABLE intents_new (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    name        TEXT    NOT NULL,
    examples    TEXT    NOT NULL DEFAULT '[]',
    action      TEXT    NOT NULL DEFAULT 'answer'
                CHECK (action IN ('answer', 'route', 'collect', 'flow')),
    answer      TEXT    NOT NULL DEFAULT '',
    team_id     INTEGER,
    skill_id    INTEGER,
    fields      TEXT    NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    flow_id     INTEGER REFERENCES bot_flows(id)
);
INSERT INTO intents_new (id, account_id, name, examples, action, answer, team_id, skill_id, fields,
                         created_at, updated_at)
    SELECT id, account_id, name, examples, action, answer, team_id, skill_id, fields, created_at,
           updated_at FROM intents;
DROP TABLE intents;
ALTER TABLE intents_new RENAME TO intents;
CREATE UNIQUE INDEX intents_name ON intents(account_id, name);
CREATE INDEX intents_flow ON intents(flow_id);
