-- 012: a person's name as each account knows them, and memberships waiting to be accepted.
-- An account's admin names (and renames) its people for that account only: one login can belong to
-- several accounts, and no account may change what another shows. An admin who adds an e-mail
-- that already has a Parley login invites that person (pending = 1): the membership counts once
-- they accept it, and until then the account knows them only by the name and e-mail it gave.
ALTER TABLE account_users ADD COLUMN name TEXT;
UPDATE account_users SET name = (SELECT u.name FROM users u WHERE u.id = account_users.user_id);
ALTER TABLE account_users ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_users ADD COLUMN invited_by INTEGER;
