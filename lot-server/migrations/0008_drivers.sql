-- Drivers: free spaces, corrected by an operator's count; public receipts.
-- Portable SQL (SQLite and PostgreSQL).

-- An operator counted the vehicles of a class inside and set the figure:
-- `offset_count` is what they counted minus what the lot counted then, and
-- the latest row of a class applies until the next.
CREATE TABLE occupancy_adjustments (
    adjustment_id TEXT PRIMARY KEY,
    lot TEXT NOT NULL,
    class TEXT NOT NULL,
    counted BIGINT NOT NULL,            -- open stays of the class at the time
    inside BIGINT NOT NULL,             -- what the operator counted
    offset_count BIGINT NOT NULL,
    note TEXT NOT NULL,
    by_user TEXT NOT NULL,              -- the operator's display name
    at_ms BIGINT NOT NULL
);
CREATE INDEX occupancy_adjustments_latest ON occupancy_adjustments (lot, class, at_ms);

-- Open stays by class: counted for every availability answer.
CREATE INDEX sessions_open_by_class ON sessions (state, class);

-- Each invoice's public receipt: the SHA-256 (hex) of its key; the key
-- itself is never stored.
ALTER TABLE invoices ADD COLUMN receipt_hash TEXT;
CREATE UNIQUE INDEX invoices_by_receipt ON invoices (receipt_hash);

-- Keys the server makes for itself when configuration gives none (the
-- receipts' key), shared by every instance on the database.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
