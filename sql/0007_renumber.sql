-- Numbers stored before they were read exactly as libphonenumber reads them (issue 12)
-- are read again once, at the daemon's next start (gateway.store.renumber). A row here is
-- a one-off step still to do; `position` is how far it got, committed with each batch of
-- its work, so a kill mid-way resumes there. The row goes when its step is done.
CREATE TABLE upgrade_steps (
    name      TEXT PRIMARY KEY,
    position  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
INSERT INTO upgrade_steps (name) VALUES ('renumber dnc'), ('renumber contacts');
