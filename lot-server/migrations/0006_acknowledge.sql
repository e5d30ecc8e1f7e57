-- An operator acknowledges an exception ("seen, on it") before resolving it.
ALTER TABLE exceptions ADD COLUMN acknowledged_by TEXT;
ALTER TABLE exceptions ADD COLUMN acknowledged_ms BIGINT;
