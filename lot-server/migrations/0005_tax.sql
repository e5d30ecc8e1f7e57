-- Tax: every sale (a settled stay, a pass or free exit, a top-up), the
-- e-invoices issued for them with gap-free numbers per series, and the
-- journal's outbox. Portable SQL (SQLite and PostgreSQL).

-- One row per sale, written in the transaction that books it. Revenue
-- reports read this table alone: `day` is the local date of the sale, and
-- the report index covers every column a report sums.
CREATE TABLE sales (
    sale_id TEXT PRIMARY KEY,           -- the ledger entry that booked it (debit:…, settle:…, apply:…) or exit:{event}
    lot TEXT NOT NULL,
    kind TEXT NOT NULL,                 -- stay | topup
    day TEXT NOT NULL,                  -- local date, YYYY-MM-DD
    class TEXT NOT NULL,                -- vehicle class; '-' for a top-up
    channel TEXT NOT NULL,              -- account | transfer | pass | free | manual
    invoice TEXT NOT NULL,              -- due | issued | none
    at_ms BIGINT NOT NULL,
    reference TEXT NOT NULL,            -- payment code, account or credential
    entered_ms BIGINT,
    exited_ms BIGINT,
    vat_bp BIGINT NOT NULL,
    net_vnd BIGINT NOT NULL,
    vat_vnd BIGINT NOT NULL,
    total_vnd BIGINT NOT NULL
);
CREATE INDEX sales_report ON sales (lot, kind, day, class, channel, invoice, vat_bp, net_vnd, vat_vnd, total_vnd);
CREATE INDEX sales_invoice ON sales (invoice, at_ms);

-- The last number issued in each series (KHHDon): taken and raised in the
-- transaction that issues, so numbers have no gaps.
CREATE TABLE invoice_series (
    series TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);

-- Issued invoices, and their delivery through the invoice sink.
CREATE TABLE invoices (
    series TEXT NOT NULL,
    number BIGINT NOT NULL,
    sale_id TEXT NOT NULL UNIQUE,
    lot TEXT NOT NULL,
    issued_ms BIGINT NOT NULL,
    lookup_code TEXT NOT NULL,
    net_vnd BIGINT NOT NULL,
    vat_vnd BIGINT NOT NULL,
    total_vnd BIGINT NOT NULL,
    xml TEXT NOT NULL,
    delivery TEXT NOT NULL,             -- queued | delivered
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    last_error TEXT,
    delivered_ms BIGINT,
    PRIMARY KEY (series, number)
);
CREATE INDEX invoices_queue ON invoices (delivery, next_attempt_ms);

-- What waits to be chained into the journal: written in the transaction of
-- what it records (so nothing is lost), chained in order by the journal
-- task within a second (so hot paths never wait on the chain's head).
CREATE TABLE journal_outbox (
    key TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX journal_outbox_order ON journal_outbox (at_ms, key);

-- Exits by settlement for the reconciliation, from an index alone.
CREATE INDEX sessions_settled ON sessions (lot, exited_ms, settlement, fee_vnd);
