-- The controller's local journal: gate events until the lot server
-- acknowledges them, the lot state they imply, and the last good lists
-- and tariff, so the controller starts deciding without the network.

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- journal order
    event_id TEXT NOT NULL UNIQUE,
    gate TEXT NOT NULL,
    payload BLOB NOT NULL,                   -- the GateEvent as published (JSON)
    decided_ms INTEGER NOT NULL,             -- when the decision was made
    journaled_ms INTEGER NOT NULL            -- when this row was committed
);

CREATE TABLE inside (
    epc TEXT PRIMARY KEY,
    entered_ms INTEGER NOT NULL,
    class TEXT NOT NULL
);

CREATE TABLE used_tickets (
    serial INTEGER PRIMARY KEY,
    used_ms INTEGER NOT NULL
);

-- next_ticket_serial, and seq:{gate} for each gate's last event number.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- The last snapshot of the lists, then the deltas applied on top of it.
CREATE TABLE lists (
    version INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('snapshot', 'delta')),
    payload BLOB NOT NULL
);

CREATE TABLE tariff (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    payload BLOB NOT NULL
);
