-- Initial schema: tenants and their API keys, campaigns with kept counts, contacts,
-- call attempts and the stored event log that SSE replays from.

CREATE TABLE tenants (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    max_concurrent_calls  INTEGER NOT NULL CHECK (max_concurrent_calls >= 1),
    max_calls_per_second  REAL NOT NULL CHECK (max_calls_per_second > 0),
    created_at            TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    prefix      TEXT NOT NULL,              -- first characters, shown to operators
    key_hash    TEXT NOT NULL UNIQUE,       -- sha256 of the whole key; the key itself is never stored
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE campaigns (
    pk                    INTEGER PRIMARY KEY,
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
CREATE INDEX campaigns_tenant ON campaigns (tenant_id, pk);
CREATE INDEX campaigns_status ON campaigns (status);

CREATE TABLE contacts (
    id                INTEGER PRIMARY KEY,
    campaign_pk       INTEGER NOT NULL REFERENCES campaigns(pk) ON DELETE CASCADE,
    row_number        INTEGER NOT NULL,           -- line of the CSV (the header is row 1)
    phone_number      TEXT NOT NULL,              -- E.164
    custom_fields     TEXT NOT NULL,              -- JSON array, in the order of campaigns.custom_field_names
    status            TEXT NOT NULL DEFAULT 'pending',
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   REAL NOT NULL DEFAULT 0,    -- unix time; retries wait for it
    last_outcome      TEXT,
    hangup_cause      INTEGER,
    hangup_cause_txt  TEXT,
    sip_code          TEXT,
    talk_seconds      REAL,
    updated_at        TEXT
);
CREATE UNIQUE INDEX contacts_number ON contacts (campaign_pk, phone_number);
CREATE INDEX contacts_campaign ON contacts (campaign_pk);
CREATE INDEX contacts_status ON contacts (campaign_pk, status, next_attempt_at);

CREATE TABLE attempts (
    id              TEXT PRIMARY KEY,             -- AMI ActionID and ChannelId
    contact_id      INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    campaign_pk     INTEGER NOT NULL,
    number          INTEGER NOT NULL,             -- 1 for the first attempt
    status          TEXT NOT NULL,                -- sending, originated, connected, ended
    created_at      REAL NOT NULL,
    answered_at     REAL,
    ended_at        REAL,
    outcome         TEXT,
    hangup_cause    INTEGER,
    UNIQUE (contact_id, number)
);
CREATE INDEX attempts_open ON attempts (status) WHERE status != 'ended';

CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_pk  INTEGER NOT NULL REFERENCES campaigns(pk) ON DELETE CASCADE,
    type         TEXT NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX events_campaign ON events (campaign_pk, id);
