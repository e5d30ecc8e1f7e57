-- Gate events as received (idempotent by event id), the parking sessions
-- they build, and the exceptions and alarms an operator must see.
-- Portable SQL: the same file runs on SQLite and PostgreSQL. Instants are
-- Unix milliseconds (BIGINT), money is whole đồng (BIGINT).

CREATE TABLE gate_events (
    event_id TEXT PRIMARY KEY,
    lot TEXT NOT NULL,
    gate TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    list_version BIGINT NOT NULL,
    tariff_version TEXT,
    payload TEXT NOT NULL,
    received_ms BIGINT NOT NULL
);
CREATE INDEX gate_events_lot_at ON gate_events (lot, at_ms);

CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY,
    lot TEXT NOT NULL,
    credential_key TEXT NOT NULL,       -- tag:EPC, ticket:LOT:SERIAL, plate:COMPACT
    credential TEXT NOT NULL,           -- the Credential as JSON
    class TEXT NOT NULL,
    plate TEXT,
    entry_event TEXT,
    entry_gate TEXT,
    entered_ms BIGINT,
    exit_event TEXT,
    exit_gate TEXT,
    exited_ms BIGINT,
    duration_s BIGINT,
    fee_vnd BIGINT,
    tariff_version TEXT,
    settlement TEXT,                    -- account | transfer | pass | free | unpaid
    settlement_detail TEXT,             -- the Settlement as JSON
    state TEXT NOT NULL                 -- open | closed
);
CREATE INDEX sessions_open ON sessions (lot, credential_key, state);
CREATE INDEX sessions_exited ON sessions (lot, exited_ms);

CREATE TABLE exceptions (
    exception_id TEXT PRIMARY KEY,      -- the event that raised it, plus a kind suffix
    lot TEXT NOT NULL,
    gate TEXT NOT NULL,
    kind TEXT NOT NULL,                 -- exit_without_entry | double_entry | manual_open | alarm | denied
    detail TEXT NOT NULL,
    event_id TEXT NOT NULL,
    session_id TEXT,
    at_ms BIGINT NOT NULL,
    state TEXT NOT NULL,                -- open | acknowledged | resolved
    resolved_by TEXT,
    resolved_ms BIGINT
);
CREATE INDEX exceptions_state ON exceptions (lot, state, at_ms);
