-- 005: a conversation keeps its agents' unread count, so sending a message does not count the
-- conversation's messages again (the count grew with every unread message).

ALTER TABLE conversations ADD COLUMN unread_count INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET unread_count = (
    SELECT COUNT(*) FROM messages x WHERE x.conversation_id = conversations.id
    AND x.id > conversations.agent_last_read_id AND x.sender_type = 'contact');
