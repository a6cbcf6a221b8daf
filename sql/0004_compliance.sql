-- Lawful dialling: do-not-call lists, each contact's time zones, opt-out, retries by
-- outcome, and the trail of every dial decision.

-- Do-not-call numbers (E.164). tenant_id 0 is the host-wide list the operator keeps,
-- which applies to every tenant; no tenant has id 0 (ids start at 1). Keyed by number
-- first: the dial-time check is one probe, `phone_number = ? AND tenant_id IN (0, ?)`.
CREATE TABLE dnc_numbers (
    phone_number  TEXT NOT NULL,
    tenant_id     INTEGER NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    PRIMARY KEY (phone_number, tenant_id)
) WITHOUT ROWID;
CREATE INDEX dnc_numbers_tenant ON dnc_numbers (tenant_id, phone_number);

-- The distinct zone lists of a campaign's contacts (JSON array of arrays of IANA names);
-- a contact names its list by index (contacts.zone_set; NULL: the campaign's own
-- timezone). NULL here: a campaign from before this migration, whose contacts' zones the
-- daemon works out once at its next start (gateway.store.upgrade).
ALTER TABLE campaigns ADD COLUMN zone_sets TEXT;
ALTER TABLE campaigns ADD COLUMN retry_on TEXT NOT NULL DEFAULT 'busy,no_answer,congestion,failed';
ALTER TABLE campaigns ADD COLUMN n_dnc INTEGER NOT NULL DEFAULT 0;  -- refused at upload
ALTER TABLE contacts ADD COLUMN zone_set INTEGER;
-- The dispatcher defers a closed zone list's due contacts, and counts who waits, by this.
CREATE INDEX contacts_zone ON contacts (campaign_pk, status, zone_set, next_attempt_at);
ALTER TABLE contacts ADD COLUMN opted_out INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN sip_code TEXT;
ALTER TABLE attempts ADD COLUMN talk_seconds REAL;

-- Why each contact was dialled, deferred, skipped, retried or not: oldest first.
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    time        TEXT NOT NULL,
    decision    TEXT NOT NULL,  -- dialled, deferred_window, skipped_dnc, retry_scheduled, not_retried, cancelled
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX decisions_contact ON decisions (contact_id, id);
