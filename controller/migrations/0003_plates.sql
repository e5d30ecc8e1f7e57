-- "Xe ra đúng xe vào": the plate each vehicle inside came in with, and
-- the entry plate of each ticket still out, for the exit's plate check.
ALTER TABLE inside ADD COLUMN plate TEXT;   -- NULL: no plate was read

CREATE TABLE ticket_plates (
    serial INTEGER PRIMARY KEY,
    plate TEXT NOT NULL
);
