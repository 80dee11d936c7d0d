-- 011: an attachment is downloaded with a random token made at upload (its capability), no longer
-- with the SHA-256 of its content: a hash is found by hashing guesses (a short text file, a known
-- logo) and is the same for the same bytes in every account. Files stay named by their hash on disk.
--
-- The token is kept as it is, not hashed like session tokens: the URL that carries it is part of
-- each message (messages.attachments) and of the event log that clients replay, which is what the
-- clients render, so a hash here would protect no copy that matters. Whoever reads the database
-- reads the messages themselves.
ALTER TABLE attachments ADD COLUMN token TEXT NOT NULL DEFAULT '';
UPDATE attachments SET token = lower(hex(randomblob(32)));

-- Messages written before this carry `?k=<sha256>` URLs and a `sha256` field: give them the new
-- URL (the old one stops working) and drop the hash. An attachment row that is gone keeps no URL.
UPDATE messages SET attachments = (
    SELECT json_group_array(json(x.v)) FROM (
        SELECT json_set(json_remove(e.value, '$.sha256'), '$.url',
                        CASE WHEN a.id IS NULL THEN NULL
                             ELSE '/api/v1/attachments/' || a.id || '?t=' || a.token END) AS v
        FROM json_each(messages.attachments) e
        LEFT JOIN attachments a ON a.id = json_extract(e.value, '$.id')
        ORDER BY e.key) x)
WHERE json_valid(attachments) AND json_array_length(attachments) > 0;

-- The same in the event log, replayed to clients that reconnect with `since`.
UPDATE events SET data = json_set(data, '$.message.attachments', json((
    SELECT json_group_array(json(x.v)) FROM (
        SELECT json_set(json_remove(e.value, '$.sha256'), '$.url',
                        CASE WHEN a.id IS NULL THEN NULL
                             ELSE '/api/v1/attachments/' || a.id || '?t=' || a.token END) AS v
        FROM json_each(events.data, '$.message.attachments') e
        LEFT JOIN attachments a ON a.id = json_extract(e.value, '$.id')
        ORDER BY e.key) x)))
WHERE type IN ('message.created', 'message.updated') AND json_valid(data)
  AND json_array_length(data, '$.message.attachments') > 0;
