-- Lane photos: the snapshot a lane's camera took at a gate event (an
-- entry, an exit, a vehicle held for staff), keyed by the event. The
-- image is either a file under [photos] dir (`file`, relative to it) or,
-- for a small setup, kept here as base64 (`image_b64`). Deleted after
-- [retention] photos_days.
-- Portable SQL (SQLite and PostgreSQL).
CREATE TABLE photos (
    event_id TEXT PRIMARY KEY,
    gate TEXT NOT NULL,
    taken_ms BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    file TEXT,
    image_b64 TEXT
);
CREATE INDEX photos_taken ON photos (taken_ms);
