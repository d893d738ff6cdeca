//! The SQLite schema as a list of named migrations, applied in list order; the table
//! `schema_migrations` records which names have run. A migration is never edited once released —
//! add a new one at the end, named after the feature it serves (names let features developed in
//! parallel each add their own without renumbering).

pub const MIGRATIONS: &[(&str, &str)] = &[
    // Accounts, folders, messages, bodies, attachments, search index, queued server operations.
    (
        "0001_mail",
        r#"
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    display_name  TEXT
);

-- One row per IMAP mailbox. uidvalidity/uidnext/highestmodseq are the server's values as of the
-- last completed sync step; a NULL uidvalidity means "never synced".
CREATE TABLE folders (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    delimiter      TEXT,
    role           TEXT,            -- inbox | sent | drafts | trash | archive | junk
    selectable     INTEGER NOT NULL DEFAULT 1,
    uidvalidity    INTEGER,
    uidnext        INTEGER,
    highestmodseq  INTEGER,
    last_sync      INTEGER,         -- unix seconds of the last completed sync
    UNIQUE (account_id, name)
);

-- Keyed by (folder, uid) as on the server: a re-fetch of the same UID replaces, never duplicates.
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    folder_id        INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid              INTEGER NOT NULL,
    modseq           INTEGER,
    message_id       TEXT,
    in_reply_to      TEXT,
    refs             TEXT,            -- References, space separated
    thread_root      TEXT,            -- first of References, or in_reply_to, or message_id
    from_name        TEXT NOT NULL DEFAULT '',
    from_addr        TEXT NOT NULL DEFAULT '',
    to_addrs         TEXT NOT NULL DEFAULT '',   -- "Name <a@b>, c@d" as display text
    cc_addrs         TEXT NOT NULL DEFAULT '',
    subject          TEXT NOT NULL DEFAULT '',
    date             INTEGER NOT NULL DEFAULT 0, -- unix seconds (Date header, else INTERNALDATE)
    size             INTEGER NOT NULL DEFAULT 0,
    seen             INTEGER NOT NULL DEFAULT 0,
    flagged          INTEGER NOT NULL DEFAULT 0,
    answered         INTEGER NOT NULL DEFAULT 0,
    draft            INTEGER NOT NULL DEFAULT 0,
    deleted          INTEGER NOT NULL DEFAULT 0,
    keywords         TEXT NOT NULL DEFAULT '',   -- other flags/keywords, space separated
    has_attachments  INTEGER NOT NULL DEFAULT 0,
    preview          TEXT NOT NULL DEFAULT '',
    -- Set when a local change (flag/move/delete) waits to reach the server; sync must not
    -- overwrite these columns with the server's older view until the operation is done.
    pending          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (folder_id, uid)
);
CREATE INDEX messages_by_date ON messages(folder_id, date DESC);
CREATE INDEX messages_by_msgid ON messages(message_id);
CREATE INDEX messages_by_thread ON messages(thread_root);

CREATE TABLE bodies (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    raw         BLOB NOT NULL
);

CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    part        INTEGER NOT NULL,     -- mail-parser part index
    filename    TEXT NOT NULL DEFAULT '',
    mime_type   TEXT NOT NULL DEFAULT 'application/octet-stream',
    size        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_by_message ON attachments(message_id);

-- Contentless: the text lives in messages/bodies; rowid = messages.id.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    sender, recipients, subject, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Local changes waiting for the server (flags, moves), replayed in id order by the sync engine.
CREATE TABLE pending_ops (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    folder      TEXT NOT NULL,        -- source folder name
    uid         INTEGER NOT NULL,
    uidvalidity INTEGER NOT NULL,
    kind        TEXT NOT NULL,        -- flag | move
    arg         TEXT NOT NULL,        -- "+\Seen", "-\Flagged" | destination folder
    created_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);

-- Small persistent settings (e.g. last tracking choices), keyed by name.
CREATE TABLE kv (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
"#,
    ),
    // The operation queue remembers which local row an op changed and its value before, so a
    // permanent failure can roll the row back.
    (
        "0002_sync_ops",
        r#"
ALTER TABLE pending_ops ADD COLUMN message_row INTEGER;
ALTER TABLE pending_ops ADD COLUMN prev_value INTEGER;
CREATE INDEX pending_ops_by_row ON pending_ops(message_row);
"#,
    ),
    // Contacts and organizations derived from mail, the user's tracking preference per contact,
    // and the Superdata cache (one row per subject and source, with the date of the fetch).
    (
        "0003_contacts",
        r#"
-- An organization is keyed by the domain of the first contact added to it; that domain is the one
-- Superdata looks up. Free-mail domains never get a row.
CREATE TABLE organizations (
    id             INTEGER PRIMARY KEY,
    domain         TEXT NOT NULL UNIQUE,
    first_contact  TEXT NOT NULL,     -- address of the contact that created it
    created_at     INTEGER NOT NULL
);

-- One row per address (lower-cased). Counts and dates are recomputed from contact_messages; the
-- tracking preference is the user's and survives recomputation.
CREATE TABLE contacts (
    email            TEXT PRIMARY KEY,
    display_name     TEXT NOT NULL DEFAULT '',
    domain           TEXT NOT NULL,
    organization_id  INTEGER REFERENCES organizations(id) ON DELETE SET NULL,
    non_human        INTEGER NOT NULL DEFAULT 0,
    first_contact    INTEGER,          -- unix seconds
    last_contact     INTEGER,
    sent_count       INTEGER NOT NULL DEFAULT 0,   -- messages from the user to them
    received_count   INTEGER NOT NULL DEFAULT 0,   -- messages from them
    message_count    INTEGER NOT NULL DEFAULT 0,   -- all messages they appear in
    tracking         TEXT CHECK (tracking IN ('allow', 'never')),
    created_at       INTEGER NOT NULL
);
CREATE INDEX contacts_by_org ON contacts(organization_id);
CREATE INDEX contacts_by_last ON contacts(last_contact DESC);

-- Which address appears in which message, and how. Deleting a message deletes its links, and the
-- trigger below marks the address for recomputation, so counts stay right after expunges/moves.
CREATE TABLE contact_messages (
    email       TEXT NOT NULL,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    direction   TEXT NOT NULL,      -- sent | received | cc
    name        TEXT NOT NULL DEFAULT '',
    date        INTEGER NOT NULL,
    msgid       TEXT,               -- Message-ID header: copies in two folders count once
    PRIMARY KEY (email, message_id, direction)
) WITHOUT ROWID;
CREATE INDEX contact_messages_by_message ON contact_messages(message_id);

-- Messages already read for contacts.
CREATE TABLE contacts_scanned (
    message_id  INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE
);

-- Addresses whose counts must be recomputed: filled by the refresh for new links, and by this
-- trigger when links go with deleted messages.
CREATE TABLE contacts_dirty (email TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TRIGGER contact_messages_removed AFTER DELETE ON contact_messages BEGIN
    INSERT OR IGNORE INTO contacts_dirty(email) VALUES (old.email);
END;

-- subject: an address (gravatar) or a domain (homepage, rdap, mx).
CREATE TABLE superdata_cache (
    subject     TEXT NOT NULL,
    source      TEXT NOT NULL,      -- gravatar | homepage | rdap | mx
    fetched_at  INTEGER NOT NULL,
    url         TEXT NOT NULL,
    status      TEXT NOT NULL,      -- ok | not_found | error
    data        TEXT,               -- JSON, when status = ok
    error       TEXT,
    demo        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, source)
) WITHOUT ROWID;
"#,
    ),
    // Drafts (autosaved composer state) and the outbox: mails committed before their first SMTP
    // attempt, one delivery row per SMTP transaction so per-recipient copies (tracking) each go
    // out exactly once. See docs/sending.md for the state machine.
    (
        "0004_outbox",
        r#"
CREATE TABLE drafts (
    id               INTEGER PRIMARY KEY,
    account          TEXT NOT NULL,
    message_id       TEXT NOT NULL UNIQUE,
    draft            TEXT NOT NULL,          -- JSON of mail::compose::Draft
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    server_folder    TEXT,                   -- where the last copy was APPENDed (Drafts)
    server_saved_at  INTEGER                 -- updated_at of the version on the server
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    account          TEXT NOT NULL,
    message_id       TEXT NOT NULL UNIQUE,   -- fixed at creation: one mail, one Message-ID
    draft            TEXT NOT NULL,          -- JSON Draft as composed, for edit-and-retry
    date             INTEGER NOT NULL,       -- the Date header, fixed at creation
    raw              BLOB NOT NULL,          -- the bytes sent over SMTP (no Bcc header)
    sent_copy        BLOB NOT NULL,          -- the bytes filed in Sent (with Bcc, never tracked)
    envelope_from    TEXT NOT NULL,
    state            TEXT NOT NULL,          -- queued | sending | sent | failed | unconfirmed
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    next_attempt_at  INTEGER NOT NULL,
    sent_at          INTEGER,
    filed            TEXT NOT NULL DEFAULT 'pending', -- Sent copy: pending | done | skipped | failed
    filed_error      TEXT,
    tracking         TEXT                    -- JSON owned by the tracking feature; NULL = untracked
);
CREATE INDEX outbox_by_state ON outbox(state, next_attempt_at);

-- One SMTP transaction of an outbox mail: its envelope recipients and, for per-recipient
-- copies, its own bytes. state: pending | data | delivered | failed | unconfirmed, where
-- `data` is written (and committed) right before the DATA command.
CREATE TABLE outbox_deliveries (
    id            INTEGER PRIMARY KEY,
    outbox_id     INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    recipients    TEXT NOT NULL,             -- JSON array of addresses (RCPT TO)
    raw           BLOB,                      -- NULL = outbox.raw
    state         TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    updated_at    INTEGER NOT NULL,
    delivered_at  INTEGER
);
CREATE INDEX outbox_deliveries_by_outbox ON outbox_deliveries(outbox_id);
"#,
    ),
    // Client-side tracking: what this user sent tracked, the events fetched from the tracker (keyed
    // by the server's event id so a re-fetch never counts twice), the poll cursor, and the in-app
    // notification list.
    (
        "0005_tracking_client",
        r#"
CREATE TABLE tracked_messages (
    account      TEXT NOT NULL,
    message_id   TEXT NOT NULL,     -- Message-ID header, with <>
    subject      TEXT NOT NULL DEFAULT '',
    sent_at      INTEGER NOT NULL,  -- unix seconds
    track_opens  INTEGER NOT NULL,
    track_links  INTEGER NOT NULL,
    PRIMARY KEY (account, message_id)
) WITHOUT ROWID;

CREATE TABLE tracked_recipients (
    account     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    address     TEXT NOT NULL,      -- lower case
    name        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, message_id, address),
    FOREIGN KEY (account, message_id) REFERENCES tracked_messages(account, message_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX tracked_recipients_by_address ON tracked_recipients(address);

CREATE TABLE tracking_events (
    account         TEXT NOT NULL,
    event_id        INTEGER NOT NULL,   -- the tracker's id: unique per tracker user
    kind            TEXT NOT NULL,      -- open | click
    message_id      TEXT NOT NULL,      -- with <>
    recipient       TEXT NOT NULL,      -- lower case
    url             TEXT,
    at              INTEGER NOT NULL,
    user_agent      TEXT NOT NULL DEFAULT '',
    classification  TEXT NOT NULL,      -- human | proxy | automated
    reason          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, event_id)
) WITHOUT ROWID;
CREATE INDEX tracking_events_by_message ON tracking_events(account, message_id, at);
CREATE INDEX tracking_events_by_recipient ON tracking_events(recipient, at);

CREATE TABLE tracking_cursors (
    account     TEXT PRIMARY KEY,
    cursor      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,      -- open | click
    summary     TEXT NOT NULL,
    body        TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    read        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_unread ON notifications(read, id);
"#,
    ),
    // Notifications shared by every poller on one data dir (the TUI's and `tidings watch`, across
    // restarts): each stored event waits as "pending" until exactly one poller claims it under an
    // IMMEDIATE transaction, and the throttle's last-notified times live here instead of in memory.
    // Events stored before this migration count as handled, so an upgrade notifies nothing old.
    (
        "0006_notification_claims",
        r#"
ALTER TABLE tracking_events ADD COLUMN notify_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX tracking_events_pending ON tracking_events(at, event_id) WHERE notify_pending = 1;
CREATE INDEX tracking_events_by_event ON tracking_events(event_id);

CREATE TABLE notification_throttle (
    key      TEXT PRIMARY KEY,      -- open|<message-id>|<recipient> or click|<message-id>
    last_at  INTEGER NOT NULL       -- unix seconds of the event that last notified
) WITHOUT ROWID;

ALTER TABLE notifications ADD COLUMN event_id INTEGER;
CREATE UNIQUE INDEX notifications_by_event ON notifications(account, event_id)
    WHERE event_id IS NOT NULL;
"#,
    ),
    // The activity pane reads the newest events across all tracked mail, and marks each as new
    // when an unread notification stands for it.
    (
        "0007_activity_feed",
        r#"
CREATE INDEX tracking_events_by_time ON tracking_events(at, event_id);
CREATE INDEX notifications_by_message ON notifications(message_id, kind, at);
"#,
    ),
    (
        "0008_tracked_copy_urls",
        r#"
-- Each tracked recipient's own URLs, kept with the client-side tracked mail so the reader can
-- show them for any tracked mail it knows, whether or not its outbox row is still there.
CREATE TABLE tracked_copy_urls (
    account      TEXT NOT NULL,
    message_id   TEXT NOT NULL,     -- with <>
    address      TEXT NOT NULL,     -- lower case
    pixel_url    TEXT,
    opt_out_url  TEXT,
    links        TEXT NOT NULL DEFAULT '[]',  -- JSON [{"tracked_url": .., "target": ..}]
    PRIMARY KEY (account, message_id, address),
    FOREIGN KEY (account, message_id) REFERENCES tracked_messages(account, message_id) ON DELETE CASCADE
) WITHOUT ROWID;
"#,
    ),
    // Envelopes before bodies: on a server whose folders are views over one store of messages
    // (Gmail's All Mail, INBOX and labels; an `\All` folder anywhere), the copies of a message
    // share one key, and its body is downloaded and stored once for all of them.
    (
        "0009_shared_bodies",
        r#"
-- "<Message-ID> <RFC822.SIZE>" where the account has an \All folder, else NULL (not shared).
ALTER TABLE messages ADD COLUMN body_key TEXT;
CREATE INDEX messages_by_body_key ON messages(body_key) WHERE body_key IS NOT NULL;
"#,
    ),
    // Every event's verdict confidence (certain / likely) and the client the tracker named
    // ("Outlook on Windows", "Gmail (image proxy)"); older events read as "likely" and unnamed.
    // And which opens repeat one seconds before, so opens are counted once per reading.
    (
        "0010_event_verdicts",
        r#"
ALTER TABLE tracking_events ADD COLUMN confidence TEXT NOT NULL DEFAULT 'likely';
ALTER TABLE tracking_events ADD COLUMN client TEXT NOT NULL DEFAULT '';
-- 1: a person's open seconds after their last from the same client: the same reading, shown
-- in the timeline, counted and notified once.
ALTER TABLE tracking_events ADD COLUMN repeat INTEGER NOT NULL DEFAULT 0;
"#,
    ),
    // Follow-ups: who answered the mail the user sent (real replies only: automatic answers are
    // never stored), and the reminders "nudge me if nobody answered in N days". A reminder's
    // state (replied, opened, due) is derived from these rows and the events, never stored, so it
    // cannot go stale; `notified_at` is the claim that makes a due reminder notify once across
    // every process on the data dir.
    (
        "0011_replies_reminders",
        r#"
CREATE TABLE replies (
    account           TEXT NOT NULL,    -- the account the reply arrived in
    sent_message_id   TEXT NOT NULL,    -- the user's mail that was answered, with <>
    reply_message_id  TEXT NOT NULL,    -- with <>
    replied_by        TEXT NOT NULL,    -- lower case
    replied_by_name   TEXT NOT NULL DEFAULT '',
    replied_at        INTEGER NOT NULL, -- unix seconds (the reply's Date)
    PRIMARY KEY (sent_message_id, reply_message_id)
) WITHOUT ROWID;

CREATE TABLE reminders (
    account      TEXT NOT NULL,
    message_id   TEXT NOT NULL,         -- with <>
    subject      TEXT NOT NULL DEFAULT '',
    to_addrs     TEXT NOT NULL DEFAULT '',   -- as addressed, for display
    recipients   TEXT NOT NULL DEFAULT '',   -- lower-case addresses, space separated
    sent_at      INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    condition    TEXT NOT NULL DEFAULT 'no-reply',  -- no-reply | no-open
    done         INTEGER NOT NULL DEFAULT 0,
    notified_at  INTEGER,
    PRIMARY KEY (account, message_id)
) WITHOUT ROWID;
CREATE INDEX reminders_by_message ON reminders(message_id);
CREATE INDEX reminders_waiting ON reminders(due_at) WHERE done = 0 AND notified_at IS NULL;
-- The answers to a sent mail that reached the cache before it did (a first sync takes INBOX
-- before Sent): found by what they answer.
CREATE INDEX messages_by_in_reply_to ON messages(in_reply_to) WHERE in_reply_to IS NOT NULL;
"#,
    ),
    // Scheduling (docs/scheduling.md): an outbox mail may wait for a chosen time (`send_at`; the
    // outbox never attempts it before), and a snoozed message waits in the Snoozed folder for its
    // time. Each snooze is returned by whichever process claims it first (the TUI or `tidings
    // watch`), in an IMMEDIATE transaction: `claimed_at` is set by the claimer and a claim older
    // than a few minutes belongs to a process that died.
    (
        "0012_scheduling",
        r#"
ALTER TABLE outbox ADD COLUMN send_at INTEGER;   -- unix seconds; NULL = as soon as possible

CREATE TABLE snoozes (
    id           INTEGER PRIMARY KEY,
    account      TEXT NOT NULL,
    message_id   TEXT NOT NULL,      -- Message-ID header, with <>; how the mail is found again
    subject      TEXT NOT NULL DEFAULT '',
    from_folder  TEXT NOT NULL,      -- wire name of the folder it returns to
    folder       TEXT NOT NULL,      -- wire name of the folder it waits in
    until        INTEGER NOT NULL,   -- unix seconds
    state        TEXT NOT NULL,      -- waiting | returning | returned | cancelled
    created_at   INTEGER NOT NULL,
    claimed_at   INTEGER,
    claimed_by   TEXT,
    returned_at  INTEGER,
    last_error   TEXT
);
CREATE INDEX snoozes_due ON snoozes(state, until);
CREATE INDEX snoozes_by_message ON snoozes(message_id, account);
"#,
    ),
    // Searches span folders, newest first: read in date order and stop at the result limit,
    // instead of sorting every match (100,000 matches: 550 ms before, 15 ms after).
    (
        "0017_search_by_date",
        r#"
CREATE INDEX messages_by_date_all ON messages(date DESC, id DESC);
"#,
    ),
    (
        // The index is given text through `tidings_index_text` (search.rs): CJK runs as pairs of
        // characters, Greek accents and ё folded, emoji kept. The index holds no text to re-read
        // (contentless), but its own terms are that text, folded: the messages with a term the
        // function changes are re-indexed from their terms, in order. The instances are read in
        // one pass, and only when such a message exists.
        "0018_search_cjk_pairs",
        r#"
CREATE VIRTUAL TABLE temp.fts_terms_0018 USING fts5vocab(main, messages_fts, row);
CREATE VIRTUAL TABLE temp.fts_instances_0018 USING fts5vocab(main, messages_fts, instance);
CREATE TEMP TABLE changed_terms_0018 AS
    SELECT term FROM temp.fts_terms_0018 WHERE trim(tidings_index_text(term)) <> term;
CREATE TEMP TABLE reindexed_0018 AS
    SELECT DISTINCT doc AS id FROM temp.fts_instances_0018
    WHERE term IN (SELECT term FROM temp.changed_terms_0018)
      AND doc IN (SELECT id FROM messages);
CREATE TEMP TABLE reindexed_text_0018 AS
    SELECT doc, col, group_concat(tidings_index_text(term), ' ' ORDER BY "offset") AS text
    FROM (SELECT DISTINCT doc, col, "offset", term FROM temp.fts_instances_0018
          WHERE (SELECT count(*) FROM temp.reindexed_0018) > 0
            AND doc IN (SELECT id FROM temp.reindexed_0018))
    GROUP BY doc, col;
DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM temp.reindexed_0018);
INSERT INTO messages_fts(rowid, sender, recipients, subject, body)
    SELECT r.id,
        coalesce(max(CASE t.col WHEN 'sender' THEN t.text END), ''),
        coalesce(max(CASE t.col WHEN 'recipients' THEN t.text END), ''),
        coalesce(max(CASE t.col WHEN 'subject' THEN t.text END), ''),
        coalesce(max(CASE t.col WHEN 'body' THEN t.text END), '')
    FROM temp.reindexed_0018 r LEFT JOIN temp.reindexed_text_0018 t ON t.doc = r.id
    GROUP BY r.id;
DROP TABLE temp.reindexed_text_0018;
DROP TABLE temp.reindexed_0018;
DROP TABLE temp.changed_terms_0018;
DROP TABLE temp.fts_instances_0018;
DROP TABLE temp.fts_terms_0018;
"#,
    ),
];
