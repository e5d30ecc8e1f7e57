-- The tamper-evident journal (parking_core::chain): records chained by
-- SHA-256, the chain's head, and the signed daily seals.

CREATE TABLE journal_records (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- One row: the lot whose genesis starts the chain, and where it got to.
-- Every writer locks it first, so appends are serialised.
CREATE TABLE journal_head (
    id INTEGER PRIMARY KEY,
    lot TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);

CREATE TABLE journal_seals (
    day TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL,
    totals TEXT NOT NULL,
    signature TEXT NOT NULL,
    public_key TEXT NOT NULL,
    sealed_ms BIGINT NOT NULL
);
