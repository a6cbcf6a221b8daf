-- One row that /readyz rewrites (at most once a second): a real write to the database
-- file, so a full disk or a read-only file turns readiness red.
CREATE TABLE health_probe (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at  TEXT NOT NULL
);
