-- 008: messages are added to the search index after their commit, not inside it.
--
-- The trigram index cost 55-110 us of the writer's time per message, inside the transaction every
-- acknowledgement waits for (docs/performance.md). Now the writer indexes in the background while
-- no job waits (msg_index_fn in src/api/conv.c, store_opts.background), and fts_state.indexed_to
-- says how far it got: searches match the index up to there and scan the few messages after it.
-- The index is always derived data: a crash loses at most work that is redone.
DROP TRIGGER messages_fts_ai;
DROP TRIGGER messages_fts_ad;

CREATE TABLE fts_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_to INTEGER NOT NULL
);
INSERT INTO fts_state (id, indexed_to) VALUES (1, COALESCE((SELECT MAX(id) FROM messages), 0));

-- Only an indexed message is in the index to be removed.
CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages
WHEN old.id <= (SELECT indexed_to FROM fts_state) BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
