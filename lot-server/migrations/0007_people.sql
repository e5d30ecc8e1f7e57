-- People who sign in to the dashboard: a username, a display name, a role
-- and an Argon2id password hash; server-side sessions kept as the SHA-256
-- of their random id; failed sign-ins, for the lockout.

CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,      -- lower case: a-z, 0-9, '.', '_', '-'
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,                 -- admin | operator | tax_officer
    password_hash TEXT NOT NULL,        -- Argon2id, PHC string
    created_ms BIGINT NOT NULL,
    password_set_ms BIGINT NOT NULL,
    disabled_ms BIGINT
);

-- A signed-in browser: a person's (user_id) or a machine token's
-- (token_id). Ends at expires_ms, or idle_ms after last_seen_ms, or when
-- revoked (logout, the user disabled or given a new password).
CREATE TABLE login_sessions (
    session_hash TEXT PRIMARY KEY,
    user_id TEXT,
    token_id TEXT,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX login_sessions_by_user ON login_sessions (user_id);

CREATE TABLE login_failures (
    username TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX login_failures_by_name ON login_failures (username, at_ms);
