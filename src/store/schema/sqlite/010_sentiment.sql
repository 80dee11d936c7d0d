-- 010: agents' corrections of customer messages' sentiment. A correction sets the message's score
-- (-1, 0 or 1) and trains the account's sentiment model (src/event/on_senti.c); model_score keeps
-- the score the message had before, so taking the correction back restores it.

CREATE TABLE sentiment_labels (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    message_id   INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    label        TEXT    NOT NULL CHECK (label IN ('negative', 'neutral', 'positive')),
    model_score  REAL,
    user_id      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, message_id)
);
-- the newest corrections first, when an account's model gathers them
CREATE INDEX sentiment_labels_recent ON sentiment_labels(account_id, created_at);
