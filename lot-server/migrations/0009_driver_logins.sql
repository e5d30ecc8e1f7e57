-- Drivers sign in to their own data with their phone number and a PIN set
-- at the registration desk, or with a one-time link the desk prints.
-- Portable SQL (SQLite and PostgreSQL).

-- One sign-in per owner: the phone number in one form (0 and 9 or 10
-- digits) and the PIN's Argon2id hash; the PIN itself is shown once.
CREATE TABLE driver_logins (
    owner_id TEXT PRIMARY KEY,
    phone_key TEXT NOT NULL UNIQUE,
    pin_hash TEXT NOT NULL,
    pin_set_ms BIGINT NOT NULL
);

-- One-time sign-in links: the SHA-256 of the link's random key, used once
-- before it expires.
CREATE TABLE driver_links (
    link_hash TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT
);

-- A signed-in driver's session sits beside people's, naming the owner.
ALTER TABLE login_sessions ADD COLUMN owner_id TEXT;
CREATE INDEX login_sessions_by_owner ON login_sessions (owner_id);

-- Notices sent outside the app, each once.
CREATE TABLE driver_notices (
    owner_id TEXT NOT NULL,
    notice_key TEXT NOT NULL,
    sent_ms BIGINT NOT NULL,
    PRIMARY KEY (owner_id, notice_key)
);
