-- The registry (owners, accounts, vehicles, tags, monthly passes), the
-- lists derived from it for the controllers, versioned, and the API tokens.
-- Portable SQL, as 0001. States are TEXT so both databases read them alike.

CREATE TABLE owners (
    owner_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- Argon2id of the citizen ID number, PHC string with its own random
    -- salt. The number itself is never stored.
    id_hash TEXT NOT NULL,
    phone TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES owners (owner_id),
    balance_vnd BIGINT NOT NULL,
    -- How far below zero the balance may go (0: strictly prepaid).
    credit_limit_vnd BIGINT NOT NULL,
    state TEXT NOT NULL,                -- active | blocked
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE vehicles (
    vehicle_id TEXT PRIMARY KEY,
    plate TEXT NOT NULL UNIQUE,         -- compact form: 29A12345
    class TEXT NOT NULL,
    owner_id TEXT REFERENCES owners (owner_id),
    account_id TEXT REFERENCES accounts (account_id),
    state TEXT NOT NULL,                -- active | stolen
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX vehicles_account ON vehicles (account_id);

CREATE TABLE tags (
    epc TEXT PRIMARY KEY,               -- upper-case hex
    tid TEXT,                           -- bound at registration; another TID is a clone
    vehicle_id TEXT NOT NULL REFERENCES vehicles (vehicle_id),
    state TEXT NOT NULL,                -- active | suspended | stolen | cloned
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX tags_vehicle ON tags (vehicle_id);

CREATE TABLE passes (
    pass_id TEXT PRIMARY KEY,
    vehicle_id TEXT NOT NULL REFERENCES vehicles (vehicle_id),
    valid_from TEXT NOT NULL,           -- YYYY-MM-DD, local date, inclusive
    valid_until TEXT NOT NULL,          -- YYYY-MM-DD, inclusive
    price_vnd BIGINT NOT NULL,
    state TEXT NOT NULL,                -- active | cancelled
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX passes_vehicle ON passes (vehicle_id);

-- What the controllers hold, derived from the registry. `key` is
-- tag:EPC, deny:epc:EPC, deny:plate:PLATE, deny:account:ID or pass:ID;
-- `entry` the wire entry as JSON, NULL once removed (a tombstone, so a
-- delta can say so). `version` is the lists version that last changed it.
CREATE TABLE list_entries (
    entry_key TEXT PRIMARY KEY,
    entry TEXT,
    version BIGINT NOT NULL
);
CREATE INDEX list_entries_version ON list_entries (version);

-- One row: the last lists version handed out. Every registry change takes
-- the next one first, which also serialises registry writers.
CREATE TABLE lists_meta (
    id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO lists_meta (id, version) VALUES (1, 0);

CREATE TABLE api_tokens (
    token_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,    -- SHA-256 (hex) of the token; the token is shown once
    role TEXT NOT NULL,                 -- admin | operator | tax_officer
    label TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);

-- What an operator wrote when closing an exception.
ALTER TABLE exceptions ADD COLUMN resolution TEXT;
-- sessions.plate holds the compact form (29A12345), as vehicles.plate.
