-- The broker's users: one per node (controller, reader bridge, lane
-- devices, viewer, lot server), each with its kind, its lot and gates
-- (what its topic grant is built from) and its secret's salted SHA-512 in
-- Mosquitto's password-file form ($6$salt$hash). The secret itself is
-- written once, to the node's secret file or the terminal.
-- Portable SQL (SQLite and PostgreSQL).
CREATE TABLE broker_nodes (
    node TEXT PRIMARY KEY,
    lot_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    gates TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
