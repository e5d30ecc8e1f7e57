-- Each lane's last open whose vehicle has not yet crossed the loop: the
-- same credential read again there opens again after a restart, with no
-- second event (the first open may never have reached the barrier).
CREATE TABLE last_open (
    gate TEXT PRIMARY KEY,
    credential TEXT NOT NULL,   -- the EPC, the QR text (a ticket), or the plate
    at_ms INTEGER NOT NULL
);
