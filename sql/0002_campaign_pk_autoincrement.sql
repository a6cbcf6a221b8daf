-- Campaign pks are never reused (AUTOINCREMENT): a pk freed by a delete was handed to the
-- next campaign created, and anything still holding the old pk (a stream, the dialler)
-- would have seen the newcomer's events. The table is rebuilt the way SQLite documents
-- (create, copy, drop, rename); the migration runner turns foreign keys off around it and
-- checks them before it commits.

CREATE TABLE campaigns_new (
    pk                    INTEGER PRIMARY KEY AUTOINCREMENT,
    id                    TEXT NOT NULL UNIQUE,   -- public id
    tenant_id             INTEGER NOT NULL REFERENCES tenants(id),
    name                  TEXT NOT NULL,
    status                TEXT NOT NULL,          -- importing (invisible), draft, scheduled, running, paused, stopped, completed
    agent_id              TEXT NOT NULL,
    phone_number_id       TEXT NOT NULL,
    max_concurrent_calls  INTEGER NOT NULL,
    retries_per_contact   INTEGER NOT NULL,
    retry_delay_seconds   INTEGER NOT NULL,
    max_calls_per_second  REAL,
    ring_timeout_seconds  INTEGER NOT NULL,
    timezone              TEXT NOT NULL,
    window_start          TEXT,                   -- HH:MM, local to timezone
    window_end            TEXT,
    scheduled_at          TEXT,
    created_at            TEXT NOT NULL,
    started_at            TEXT,
    completed_at          TEXT,
    created_by            TEXT NOT NULL,
    custom_field_names    TEXT NOT NULL DEFAULT '[]',
    duplicates            INTEGER NOT NULL DEFAULT 0,
    n_total               INTEGER NOT NULL DEFAULT 0,
    n_pending             INTEGER NOT NULL DEFAULT 0,
    n_originated          INTEGER NOT NULL DEFAULT 0,
    n_connected           INTEGER NOT NULL DEFAULT 0,
    n_completed           INTEGER NOT NULL DEFAULT 0,
    n_failed              INTEGER NOT NULL DEFAULT 0,
    n_cancelled           INTEGER NOT NULL DEFAULT 0,
    n_attempts            INTEGER NOT NULL DEFAULT 0,   -- Originates sent
    n_answered            INTEGER NOT NULL DEFAULT 0,   -- attempts answered
    talk_seconds_total    REAL NOT NULL DEFAULT 0
);

INSERT INTO campaigns_new (pk, id, tenant_id, name, status, agent_id, phone_number_id, max_concurrent_calls, retries_per_contact, retry_delay_seconds, max_calls_per_second, ring_timeout_seconds, timezone, window_start, window_end, scheduled_at, created_at, started_at, completed_at, created_by, custom_field_names, duplicates, n_total, n_pending, n_originated, n_connected, n_completed, n_failed, n_cancelled, n_attempts, n_answered, talk_seconds_total)
    SELECT pk, id, tenant_id, name, status, agent_id, phone_number_id, max_concurrent_calls, retries_per_contact, retry_delay_seconds, max_calls_per_second, ring_timeout_seconds, timezone, window_start, window_end, scheduled_at, created_at, started_at, completed_at, created_by, custom_field_names, duplicates, n_total, n_pending, n_originated, n_connected, n_completed, n_failed, n_cancelled, n_attempts, n_answered, talk_seconds_total FROM campaigns;

DROP TABLE campaigns;
ALTER TABLE campaigns_new RENAME TO campaigns;
CREATE INDEX campaigns_tenant ON campaigns (tenant_id, pk);
CREATE INDEX campaigns_status ON campaigns (status);
