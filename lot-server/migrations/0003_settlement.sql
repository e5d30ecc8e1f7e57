-- Settlement: what exit lanes asked to be paid, the bank transfers that
-- pay it, and the double-entry ledger every money movement is posted to.
-- Portable SQL (SQLite and PostgreSQL); money is whole đồng, instants are
-- Unix milliseconds.

-- One per payment code an exit lane showed. `paid_vnd` is what transfers
-- have applied to the fee; the stay is settled (revenue posted) when it
-- reaches the fee.
CREATE TABLE payment_requests (
    payment_code TEXT PRIMARY KEY,
    lot TEXT NOT NULL,
    gate TEXT NOT NULL,                 -- the exit lane that asked last
    event_id TEXT NOT NULL,             -- its payment_requested event
    credential_key TEXT NOT NULL,
    class TEXT NOT NULL,
    entered_ms BIGINT NOT NULL,
    fee_vnd BIGINT NOT NULL,
    tariff_version TEXT NOT NULL,
    account_id TEXT,                    -- the tag's account: where an overpayment goes
    requested_ms BIGINT NOT NULL,
    paid_vnd BIGINT NOT NULL,
    state TEXT NOT NULL,                -- owed | paid
    settled_ms BIGINT
);
CREATE INDEX payment_requests_state ON payment_requests (lot, state, requested_ms);

-- Every incoming transfer notified or polled, once per provider id.
CREATE TABLE transfers (
    transfer_id TEXT PRIMARY KEY,       -- provider:provider's id
    provider TEXT NOT NULL,             -- sepay | casso | manual
    provider_tx TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    memo TEXT NOT NULL,
    bank_account TEXT,
    reference TEXT,
    transferred_ms BIGINT NOT NULL,     -- the bank's time
    received_ms BIGINT NOT NULL,
    payment_code TEXT,                  -- the code the memo carried, if any
    target TEXT,                        -- stay:CODE | account:ID | refund; NULL while unresolved
    applied_vnd BIGINT NOT NULL,        -- to a stay's fee or an account's balance
    credited_vnd BIGINT NOT NULL,       -- an overpayment credited to the driver's account
    refund_vnd BIGINT NOT NULL,         -- queued for refund
    refund_paid_ms BIGINT,              -- when the refund went out
    state TEXT NOT NULL,                -- matched | held | suspense | resolved
    note TEXT,
    resolved_by TEXT,
    resolved_ms BIGINT
);
CREATE INDEX transfers_code ON transfers (payment_code, state);
CREATE INDEX transfers_state ON transfers (state, received_ms);

-- Double entry: the lines of one entry sum to zero. Debits are positive,
-- credits negative. Accounts: bank, driver:ID, stay_deposits,
-- revenue:CLASS, vat_payable, suspense, refunds.
CREATE TABLE ledger_postings (
    entry_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    at_ms BIGINT NOT NULL,
    account TEXT NOT NULL,
    amount_vnd BIGINT NOT NULL,
    memo TEXT NOT NULL,
    PRIMARY KEY (entry_id, line)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account, at_ms);

-- The payment code a driver puts in a transfer's memo to top up.
ALTER TABLE accounts ADD COLUMN topup_code TEXT;
CREATE UNIQUE INDEX accounts_topup_code ON accounts (topup_code);

-- Where the reconciliation poller got to, per provider.
CREATE TABLE provider_cursors (
    provider TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    polled_ms BIGINT NOT NULL
);
