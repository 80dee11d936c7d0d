-- 004: team membership (teams themselves came with 003), for assignment and routing.

CREATE TABLE team_members (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    team_id     INTEGER NOT NULL REFERENCES teams(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(account_id, user_id);
