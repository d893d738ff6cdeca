//! Accounts, folders and messages: the queries the sync engine, the CLI and the UI share.

use super::{Result, Store, StoreError};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Folder {
    pub id: i64,
    pub account_id: i64,
    /// The server's wire name (modified UTF-7, `Entw&APw-rfe`): the folder's identity here and in
    /// every command; `mail::mailbox_name::display` gives what people read.
    pub name: String,
    pub delimiter: Option<String>,
    pub role: Option<String>,
    pub selectable: bool,
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    pub highestmodseq: Option<u64>,
}

/// The server's flags on one message, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Flags {
    pub seen: bool,
    pub flagged: bool,
    pub answered: bool,
    pub draft: bool,
    pub deleted: bool,
    /// Other flags and keywords, space separated, sorted.
    pub keywords: String,
}

/// A message as the sync engine hands it to the store: headers already decoded and sanitized.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub uid: u32,
    pub modseq: Option<u64>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub from_name: String,
    pub from_addr: String,
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub date: i64,
    pub size: u64,
    pub flags: Flags,
    pub attachments: Vec<AttachmentMeta>,
    pub preview: String,
    /// Text for the search index (bounded by the parser).
    pub body_text: String,
    /// Set where the account's folders are views over the same messages (an `\All` folder):
    /// rows with the same key share one stored body (see [`Store::put_envelope`]).
    pub body_key: Option<String>,
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub part: u32,
    pub filename: String,
    pub mime_type: String,
    pub size: u64,
}

/// One line of a message list: everything but the body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MessageSummary {
    pub id: i64,
    pub account: String,
    pub folder: String,
    pub uid: u32,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub thread_root: Option<String>,
    pub from_name: String,
    pub from_addr: String,
    pub to: String,
    pub cc: String,
    pub subject: String,
    /// Unix seconds.
    pub date: i64,
    pub seen: bool,
    pub flagged: bool,
    pub answered: bool,
    pub draft: bool,
    pub has_attachments: bool,
    pub preview: String,
    /// Bytes, as the server reported the message (RFC822.SIZE).
    pub size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListFilter {
    #[default]
    All,
    Unread,
    Flagged,
    /// Mail sent with tracking (see store::tracking), newest counted activity first.
    Tracked,
    /// Sent mail with a reminder nothing settled yet (see store::reminders), due first.
    FollowUp,
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub account: Option<String>,
    /// Folder name; `None` = every folder.
    pub folder: Option<String>,
    pub filter: ListFilter,
    /// A search in the language of [`super::SearchQuery`] (words, phrases, `from:`, `is:`…).
    pub search: Option<String>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// A message `m` (in folder `f`) with no body cached: not its own, nor a copy's that shares its
/// body key in the same account.
const WITHOUT_BODY: &str = "NOT EXISTS (SELECT 1 FROM bodies b WHERE b.message_id = m.id)
    AND (m.body_key IS NULL OR NOT EXISTS (SELECT 1 FROM messages s
        JOIN bodies sb ON sb.message_id = s.id JOIN folders sf ON sf.id = s.folder_id
        WHERE s.body_key = m.body_key AND sf.account_id = f.account_id))";

const SUMMARY_COLUMNS: &str =
    "m.id, a.name, f.name, m.uid, m.message_id, m.in_reply_to, m.thread_root,
    m.from_name, m.from_addr, m.to_addrs, m.cc_addrs, m.subject, m.date, m.seen, m.flagged,
    m.answered, m.draft, m.has_attachments, m.preview, m.size";

fn summary_from_row(r: &Row<'_>) -> rusqlite::Result<MessageSummary> {
    Ok(MessageSummary {
        id: r.get(0)?,
        account: r.get(1)?,
        folder: r.get(2)?,
        uid: r.get(3)?,
        message_id: r.get(4)?,
        in_reply_to: r.get(5)?,
        thread_root: r.get(6)?,
        from_name: r.get(7)?,
        from_addr: r.get(8)?,
        to: r.get(9)?,
        cc: r.get(10)?,
        subject: r.get(11)?,
        date: r.get(12)?,
        seen: r.get(13)?,
        flagged: r.get(14)?,
        answered: r.get(15)?,
        draft: r.get(16)?,
        has_attachments: r.get(17)?,
        preview: r.get(18)?,
        size: r.get::<_, i64>(19)?.max(0) as u64,
    })
}

/// The `FROM … WHERE …` of a listing: `q`'s account, folder, filter and search, of the accounts
/// in `among` (None: all); its parameters are pushed on `args`.
fn listing_from_where(
    q: &ListQuery,
    among: Option<&[String]>,
    args: &mut Vec<Box<dyn rusqlite::ToSql>>,
) -> String {
    let mut sql = String::from(
        "FROM messages m JOIN folders f ON f.id = m.folder_id
     JOIN accounts a ON a.id = f.account_id WHERE m.deleted = 0",
    );
    if let Some(names) = among {
        // A list of strings always serializes.
        args.push(Box::new(serde_json::to_string(names).unwrap_or_default()));
        sql.push_str(&format!(
            " AND a.name IN (SELECT value FROM json_each(?{}))",
            args.len()
        ));
    }
    if let Some(acc) = &q.account {
        args.push(Box::new(acc.clone()));
        sql.push_str(&format!(" AND a.name = ?{}", args.len()));
    }
    if let Some(folder) = &q.folder {
        args.push(Box::new(folder.clone()));
        sql.push_str(&format!(" AND f.name = ?{}", args.len()));
    }
    match q.filter {
        ListFilter::All => {}
        ListFilter::Unread => sql.push_str(" AND m.seen = 0"),
        ListFilter::Flagged => sql.push_str(" AND m.flagged = 1"),
        ListFilter::Tracked => sql.push_str(super::tracking_events::TRACKED_MESSAGES_SQL),
        ListFilter::FollowUp => sql.push_str(super::reminders::FOLLOWUP_MESSAGES_SQL),
    }
    if let Some(search) = q.search.as_deref() {
        let parsed = super::SearchQuery::parse(search);
        if q.folder.is_none() && !parsed.names_a_folder() {
            sql.push_str(ACROSS_FOLDERS_SQL);
        }
        sql.push_str(&parsed.to_sql(&super::Clock::local(), args));
    }
    sql
}

/// A search across folders, as Gmail and notmuch do it: Trash and Junk are left out (a
/// `folder:` term, or searching in one folder, brings them back), and a message an `\All`
/// folder (Gmail's All Mail) holds beside another copy shows once, as that other copy.
pub(super) const ACROSS_FOLDERS_SQL: &str =
    " AND (f.role IS NULL OR f.role NOT IN ('trash', 'junk'))
    AND NOT (f.role = 'all' AND m.body_key IS NOT NULL AND EXISTS (
        SELECT 1 FROM messages s JOIN folders sf ON sf.id = s.folder_id
        WHERE s.body_key = m.body_key AND s.deleted = 0 AND sf.account_id = f.account_id
          AND sf.id <> f.id AND (sf.role IS NULL OR sf.role NOT IN ('trash', 'junk', 'all'))))";

fn folder_from_row(r: &Row<'_>) -> rusqlite::Result<Folder> {
    Ok(Folder {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        delimiter: r.get(3)?,
        role: r.get(4)?,
        selectable: r.get(5)?,
        uidvalidity: r.get(6)?,
        uidnext: r.get(7)?,
        highestmodseq: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
    })
}

const FOLDER_COLUMNS: &str =
    "id, account_id, name, delimiter, role, selectable, uidvalidity, uidnext, highestmodseq";

impl Store {
    pub fn ensure_account(
        &self,
        name: &str,
        email: &str,
        display_name: Option<&str>,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO accounts(name, email, display_name) VALUES (?1, ?2, ?3)
             ON CONFLICT(name) DO UPDATE SET email = excluded.email, display_name = excluded.display_name",
            params![name, email, display_name],
        )?;
        self.account_id(name)
    }

    pub fn account_id(&self, name: &str) -> Result<i64> {
        self.conn
            .query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| StoreError::NoSuchAccount(name.to_string()))
    }

    pub fn account_names(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT name FROM accounts ORDER BY name")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a mailbox seen in LIST; keeps its sync state if it was known.
    pub fn upsert_folder(
        &self,
        account_id: i64,
        name: &str,
        delimiter: Option<&str>,
        role: Option<&str>,
        selectable: bool,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO folders(account_id, name, delimiter, role, selectable) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(account_id, name) DO UPDATE SET delimiter = excluded.delimiter,
                 role = excluded.role, selectable = excluded.selectable",
            params![account_id, name, delimiter, role, selectable],
        )?;
        Ok(self.conn.query_row(
            "SELECT id FROM folders WHERE account_id = ?1 AND name = ?2",
            params![account_id, name],
            |r| r.get(0),
        )?)
    }

    /// Removes folders the server no longer lists (their messages go with them).
    pub fn remove_folders_except(&self, account_id: i64, keep: &[String]) -> Result<usize> {
        let folders = self.folders(account_id)?;
        let mut removed = 0;
        for f in folders.iter().filter(|f| !keep.contains(&f.name)) {
            self.delete_folder_messages(f.id)?;
            self.conn
                .execute("DELETE FROM folders WHERE id = ?1", [f.id])?;
            removed += 1;
        }
        Ok(removed)
    }

    pub fn folders(&self, account_id: i64) -> Result<Vec<Folder>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {FOLDER_COLUMNS} FROM folders WHERE account_id = ?1
             ORDER BY CASE role WHEN 'inbox' THEN 0 ELSE 1 END, name"
        ))?;
        let rows = st.query_map([account_id], folder_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn folder(&self, account_id: i64, name: &str) -> Result<Folder> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {FOLDER_COLUMNS} FROM folders WHERE account_id = ?1 AND name = ?2"
                ),
                params![account_id, name],
                folder_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NoSuchFolder(name.to_string()))
    }

    pub fn folder_by_role(&self, account_id: i64, role: &str) -> Result<Option<Folder>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {FOLDER_COLUMNS} FROM folders WHERE account_id = ?1 AND role = ?2"
                ),
                params![account_id, role],
                folder_from_row,
            )
            .optional()?)
    }

    pub fn set_folder_state(
        &self,
        folder_id: i64,
        uidvalidity: Option<u32>,
        uidnext: Option<u32>,
        highestmodseq: Option<u64>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE folders SET uidvalidity = ?2, uidnext = ?3, highestmodseq = ?4,
                 last_sync = strftime('%s','now') WHERE id = ?1",
            params![
                folder_id,
                uidvalidity,
                uidnext,
                highestmodseq.map(|v| v as i64)
            ],
        )?;
        Ok(())
    }

    /// Forgets every message of a folder (used when UIDVALIDITY changes).
    pub fn delete_folder_messages(&self, folder_id: i64) -> Result<usize> {
        self.conn.execute(
            "DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE folder_id = ?1)",
            [folder_id],
        )?;
        Ok(self
            .conn
            .execute("DELETE FROM messages WHERE folder_id = ?1", [folder_id])?)
    }

    /// Inserts or replaces the message at (folder, uid), with its body, attachments and index entry.
    /// Call inside a transaction when storing many.
    pub fn put_message(&self, folder_id: i64, m: &NewMessage) -> Result<i64> {
        let id = self
            .insert_row(folder_id, m, true)?
            .ok_or_else(|| StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))?;
        self.store_body_parts(id, m)?;
        Ok(id)
    }

    /// The `messages` row of `m`: replaced when `replace`, else left alone if one is there
    /// (then None).
    fn insert_row(&self, folder_id: i64, m: &NewMessage, replace: bool) -> Result<Option<i64>> {
        let thread_root = m
            .references
            .first()
            .cloned()
            .or_else(|| m.in_reply_to.clone())
            .or_else(|| m.message_id.clone());
        let on_conflict = if replace {
            "DO UPDATE SET modseq = excluded.modseq,
                 message_id = excluded.message_id, in_reply_to = excluded.in_reply_to,
                 refs = excluded.refs, thread_root = excluded.thread_root,
                 from_name = excluded.from_name, from_addr = excluded.from_addr,
                 to_addrs = excluded.to_addrs, cc_addrs = excluded.cc_addrs,
                 subject = excluded.subject, date = excluded.date, size = excluded.size,
                 seen = excluded.seen, flagged = excluded.flagged, answered = excluded.answered,
                 draft = excluded.draft, deleted = excluded.deleted, keywords = excluded.keywords,
                 has_attachments = excluded.has_attachments, preview = excluded.preview,
                 body_key = excluded.body_key"
        } else {
            "DO NOTHING"
        };
        let mut st = self.conn.prepare_cached(&format!(
            "INSERT INTO messages(folder_id, uid, modseq, message_id, in_reply_to, refs, thread_root,
                 from_name, from_addr, to_addrs, cc_addrs, subject, date, size, seen, flagged, answered,
                 draft, deleted, keywords, has_attachments, preview, body_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?23)
             ON CONFLICT(folder_id, uid) {on_conflict}
             RETURNING id"
        ))?;
        Ok(st
            .query_row(
                params![
                    folder_id,
                    m.uid,
                    m.modseq.map(|v| v as i64),
                    m.message_id,
                    m.in_reply_to,
                    m.references.join(" "),
                    thread_root,
                    m.from_name,
                    m.from_addr,
                    m.to,
                    m.cc,
                    m.subject,
                    m.date,
                    m.size as i64,
                    m.flags.seen,
                    m.flags.flagged,
                    m.flags.answered,
                    m.flags.draft,
                    m.flags.deleted,
                    m.flags.keywords,
                    !m.attachments.is_empty(),
                    m.preview,
                    m.body_key,
                ],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Stores a message's envelope (headers, size, flags) without its body, which
    /// [`Store::put_body`] adds later. A row already at (folder, uid) is left as it is, body and
    /// all: the sync asks only for UIDs it does not hold, so a clash is a replay of the same data.
    /// Returns the row's id when it was inserted.
    pub fn put_envelope(&self, folder_id: i64, m: &NewMessage) -> Result<Option<i64>> {
        let id = self.insert_row(folder_id, m, false)?;
        if let Some(id) = id {
            // Searchable by its headers at once; the body joins the index when it arrives.
            self.index_message(id, m)?;
            if let Some(shared) = self.shared_body_row(id)? {
                // Another copy's body is already here: the list shows its preview at once.
                self.conn
                    .prepare_cached(
                        "UPDATE messages SET (preview, has_attachments) =
                             (SELECT preview, has_attachments FROM messages WHERE id = ?2)
                         WHERE id = ?1",
                    )?
                    .execute(params![id, shared])?;
            }
        }
        Ok(id)
    }

    /// Another row of the same account with message `id`'s body key whose body is stored.
    fn shared_body_row(&self, id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT s.id FROM messages m JOIN folders f ON f.id = m.folder_id
                     JOIN messages s ON s.body_key = m.body_key AND s.id != m.id
                     JOIN folders sf ON sf.id = s.folder_id AND sf.account_id = f.account_id
                     JOIN bodies b ON b.message_id = s.id
                 WHERE m.id = ?1 AND m.body_key IS NOT NULL LIMIT 1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    /// Whether a folder of the account other than `except` holds a message with a body key:
    /// only then can a folder's messages be copies of stored ones.
    pub fn account_has_body_keys(&self, account_id: i64, except: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM messages m JOIN folders f ON f.id = m.folder_id
                     WHERE f.account_id = ?1 AND f.id != ?2 AND m.body_key IS NOT NULL)",
            )?
            .query_row(params![account_id, except], |r| r.get(0))?)
    }

    /// Which of `keys` a stored message of the account carries as its body key.
    pub fn known_body_keys(
        &self,
        account_id: i64,
        keys: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let mut st = self.conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM messages m JOIN folders f ON f.id = m.folder_id
                 WHERE m.body_key = ?1 AND f.account_id = ?2)",
        )?;
        let mut known = std::collections::HashSet::new();
        for k in keys {
            if st.query_row(params![k, account_id], |r| r.get::<_, bool>(0))? {
                known.insert(k.clone());
            }
        }
        Ok(known)
    }

    /// Stores message `uid` of folder `folder_id` as a copy of a message of the same account
    /// already stored under `body_key` (another Gmail label of it): its envelope is copied, its
    /// flags are its own, and it shares that message's body. None when no such message is
    /// stored (any more), or when (folder, uid) already is.
    pub fn put_copy(
        &self,
        folder_id: i64,
        uid: u32,
        body_key: &str,
        flags: &Flags,
        modseq: Option<u64>,
    ) -> Result<Option<i64>> {
        let id: Option<i64> = self
            .conn
            .prepare_cached(
                "INSERT INTO messages(folder_id, uid, modseq, message_id, in_reply_to, refs,
                     thread_root, from_name, from_addr, to_addrs, cc_addrs, subject, date, size,
                     seen, flagged, answered, draft, deleted, keywords, has_attachments, preview,
                     body_key)
                 SELECT ?1, ?2, ?3, s.message_id, s.in_reply_to, s.refs, s.thread_root,
                     s.from_name, s.from_addr, s.to_addrs, s.cc_addrs, s.subject, s.date, s.size,
                     ?4, ?5, ?6, ?7, ?8, ?9, s.has_attachments, s.preview, s.body_key
                 FROM messages s JOIN folders sf ON sf.id = s.folder_id
                 WHERE s.body_key = ?10 AND sf.account_id =
                     (SELECT account_id FROM folders WHERE id = ?1)
                 ORDER BY s.id LIMIT 1
                 ON CONFLICT(folder_id, uid) DO NOTHING
                 RETURNING id",
            )?
            .query_row(
                params![
                    folder_id,
                    uid,
                    modseq.map(|v| v as i64),
                    flags.seen,
                    flags.flagged,
                    flags.answered,
                    flags.draft,
                    flags.deleted,
                    flags.keywords,
                    body_key,
                ],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = id {
            // Found by its headers in this folder too; its body's words are the shared copy's,
            // which search reaches through the key.
            self.conn
                .prepare_cached(
                    "INSERT INTO messages_fts(rowid, sender, recipients, subject, body)
                     SELECT id, tidings_index_text(from_name || ' ' || from_addr),
                         tidings_index_text(to_addrs || ' ' || cc_addrs),
                         tidings_index_text(subject), '' FROM messages WHERE id = ?1",
                )?
                .execute([id])?;
        }
        Ok(id)
    }

    /// A second connection to this database, read-only, for a thread that looks things up while
    /// this one writes (WAL lets it read what is committed). None for an in-memory store.
    pub fn reader(&self) -> Result<Option<Store>> {
        if self.path.as_os_str() == ":memory:" {
            return Ok(None);
        }
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Some(Store {
            conn,
            path: self.path.clone(),
        }))
    }

    /// Adds the body of a message whose envelope is stored: the raw bytes, attachments, preview
    /// and the body's words in the search index. `m` is the whole message parsed.
    pub fn put_body(&self, id: i64, m: &NewMessage) -> Result<()> {
        // The copies that share this body (same key, same account) show its preview too.
        self.conn
            .prepare_cached(
                "UPDATE messages SET preview = ?2, has_attachments = ?3 WHERE id = ?1
                     OR (body_key = (SELECT body_key FROM messages WHERE id = ?1)
                         AND folder_id IN (SELECT id FROM folders WHERE account_id =
                             (SELECT f.account_id FROM messages x JOIN folders f
                                  ON f.id = x.folder_id WHERE x.id = ?1)))",
            )?
            .execute(params![id, m.preview, !m.attachments.is_empty()])?;
        self.store_body_parts(id, m)
    }

    fn store_body_parts(&self, id: i64, m: &NewMessage) -> Result<()> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO bodies(message_id, raw) VALUES (?1, ?2)")?
            .execute(params![id, m.raw])?;
        self.conn
            .prepare_cached("DELETE FROM attachments WHERE message_id = ?1")?
            .execute([id])?;
        let mut att = self.conn.prepare_cached(
            "INSERT INTO attachments(message_id, part, filename, mime_type, size) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for a in &m.attachments {
            att.execute(params![id, a.part, a.filename, a.mime_type, a.size as i64])?;
        }
        self.index_message(id, m)
    }

    /// (Re)writes message `id`'s search entry from `m`'s headers and body text.
    fn index_message(&self, id: i64, m: &NewMessage) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM messages_fts WHERE rowid = ?1")?
            .execute([id])?;
        let sender = format!("{} {}", m.from_name, m.from_addr);
        let recipients = format!("{} {}", m.to, m.cc);
        self.conn
            .prepare_cached(
                "INSERT INTO messages_fts(rowid, sender, recipients, subject, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                id,
                super::index_text(&sender),
                super::index_text(&recipients),
                super::index_text(&m.subject),
                super::index_text(&m.body_text)
            ])?;
        Ok(())
    }

    /// (UID, size on the server) of a folder's messages dated `since` or later (unix seconds)
    /// whose body is not cached (neither their own nor a shared copy's), newest (highest UID)
    /// first.
    pub fn uids_without_body(&self, folder_id: i64, since: i64) -> Result<Vec<(u32, u64)>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT m.uid, m.size FROM messages m JOIN folders f ON f.id = m.folder_id
             WHERE m.folder_id = ?1 AND m.date >= ?2 AND {WITHOUT_BODY}
             ORDER BY m.uid DESC"
        ))?;
        let rows = st.query_map(params![folder_id, since], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many listed messages (of `account`, or of every account) have no cached body, so
    /// search matches them by their headers only.
    pub fn count_without_body(&self, account: Option<&str>) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            &format!(
                "SELECT COUNT(*) FROM messages m JOIN folders f ON f.id = m.folder_id
                     JOIN accounts a ON a.id = f.account_id
                 WHERE m.deleted = 0 AND (?1 IS NULL OR a.name = ?1) AND {WITHOUT_BODY}"
            ),
            [account],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Where message `id` lives on the server: (account name, folder wire name, folder
    /// UIDVALIDITY as cached, UID) — what fetching its body needs.
    pub fn message_location(&self, id: i64) -> Result<(String, String, Option<u32>, u32)> {
        self.conn
            .query_row(
                "SELECT a.name, f.name, f.uidvalidity, m.uid FROM messages m
                     JOIN folders f ON f.id = m.folder_id JOIN accounts a ON a.id = f.account_id
                 WHERE m.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?
            .ok_or(StoreError::NoSuchMessage(id))
    }

    /// The row id of (folder, uid), if stored.
    pub fn message_row(&self, folder_id: i64, uid: u32) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM messages WHERE folder_id = ?1 AND uid = ?2")?
            .query_row(params![folder_id, uid], |r| r.get(0))
            .optional()?)
    }

    /// Removes messages by UID (expunged on the server).
    pub fn delete_uids(&self, folder_id: i64, uids: &[u32]) -> Result<usize> {
        let mut find = self
            .conn
            .prepare_cached("SELECT id FROM messages WHERE folder_id = ?1 AND uid = ?2")?;
        let mut n = 0;
        for uid in uids {
            if let Some(id) = find
                .query_row(params![folder_id, uid], |r| r.get::<_, i64>(0))
                .optional()?
            {
                self.delete_message_row(id)?;
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn delete_message_row(&self, id: i64) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM messages_fts WHERE rowid = ?1")?
            .execute([id])?;
        self.conn
            .prepare_cached("DELETE FROM messages WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// Every (uid, flags, pending) in a folder, by UID — what a resync compares against the server.
    pub fn folder_uids(&self, folder_id: i64) -> Result<Vec<(u32, Flags, bool)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT uid, seen, flagged, answered, draft, deleted, keywords, pending
             FROM messages WHERE folder_id = ?1 ORDER BY uid",
        )?;
        let rows = st.query_map([folder_id], |r| {
            Ok((
                r.get(0)?,
                Flags {
                    seen: r.get(1)?,
                    flagged: r.get(2)?,
                    answered: r.get(3)?,
                    draft: r.get(4)?,
                    deleted: r.get(5)?,
                    keywords: r.get(6)?,
                },
                r.get(7)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn max_uid(&self, folder_id: i64) -> Result<u32> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(uid), 0) FROM messages WHERE folder_id = ?1",
            [folder_id],
            |r| r.get(0),
        )?)
    }

    /// Applies the server's flags to a stored message, unless a local change is still pending.
    pub fn set_flags_from_server(
        &self,
        folder_id: i64,
        uid: u32,
        f: &Flags,
        modseq: Option<u64>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE messages SET seen = ?3, flagged = ?4, answered = ?5, draft = ?6, deleted = ?7,
                     keywords = ?8, modseq = COALESCE(?9, modseq)
                 WHERE folder_id = ?1 AND uid = ?2 AND pending = 0",
            )?
            .execute(params![
                folder_id,
                uid,
                f.seen,
                f.flagged,
                f.answered,
                f.draft,
                f.deleted,
                f.keywords,
                modseq.map(|v| v as i64)
            ])?;
        Ok(())
    }

    pub fn message(&self, id: i64) -> Result<MessageSummary> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {SUMMARY_COLUMNS} FROM messages m JOIN folders f ON f.id = m.folder_id
                     JOIN accounts a ON a.id = f.account_id WHERE m.id = ?1"
                ),
                [id],
                summary_from_row,
            )
            .optional()?
            .ok_or(StoreError::NoSuchMessage(id))
    }

    /// The message's raw bytes; [`StoreError::BodyNotCached`] when only its envelope is stored.
    pub fn raw_message(&self, id: i64) -> Result<Vec<u8>> {
        let found: Option<Option<Vec<u8>>> = self
            .conn
            .query_row(
                "SELECT b.raw FROM messages m LEFT JOIN bodies b ON b.message_id = m.id
                 WHERE m.id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        match found {
            Some(Some(raw)) => Ok(raw),
            Some(None) => match self.shared_body_row(id)? {
                Some(copy) => self.raw_message(copy),
                None => Err(StoreError::BodyNotCached(id)),
            },
            None => Err(StoreError::NoSuchMessage(id)),
        }
    }

    pub fn attachments(&self, id: i64) -> Result<Vec<AttachmentMeta>> {
        let mut st = self.conn.prepare_cached(
            "SELECT part, filename, mime_type, size FROM attachments WHERE message_id = ?1 ORDER BY part",
        )?;
        let rows = st.query_map([id], |r| {
            Ok(AttachmentMeta {
                part: r.get(0)?,
                filename: r.get(1)?,
                mime_type: r.get(2)?,
                size: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Messages matching `q`, newest first.
    pub fn list_messages(&self, q: &ListQuery) -> Result<Vec<MessageSummary>> {
        self.list_messages_among(q, None)
    }

    /// [`Store::list_messages`] of the accounts in `among` only (None: every cached account).
    pub fn list_messages_among(
        &self,
        q: &ListQuery,
        among: Option<&[String]>,
    ) -> Result<Vec<MessageSummary>> {
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        let mut sql = format!(
            "SELECT {SUMMARY_COLUMNS} {}",
            listing_from_where(q, among, &mut args)
        );
        if q.filter == ListFilter::Tracked {
            sql.push_str(super::tracking_events::TRACKED_ORDER_SQL);
        } else if q.filter == ListFilter::FollowUp {
            sql.push_str(super::reminders::FOLLOWUP_ORDER_SQL);
        } else {
            // The LIMIT and OFFSET pushed next are the following two parameters.
            sql = super::snoozes::returned_on_top(&sql, args.len() + 1);
        }
        args.push(Box::new(q.limit.map(|l| l as i64).unwrap_or(-1)));
        sql.push_str(&format!(" LIMIT ?{}", args.len()));
        args.push(Box::new(q.offset as i64));
        sql.push_str(&format!(" OFFSET ?{}", args.len()));
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter()), summary_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The ids of the messages [`Store::list_messages`] would list for `q`, in no order and
    /// without its limit: what a pattern matches, read without building a summary per row.
    pub fn list_message_ids(&self, q: &ListQuery) -> Result<Vec<i64>> {
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        let sql = format!("SELECT m.id {}", listing_from_where(q, None, &mut args));
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sets flags on a message locally (the caller reaches the server, or queues a pending op).
    pub fn set_local_flags(
        &self,
        id: i64,
        seen: Option<bool>,
        flagged: Option<bool>,
        pending: bool,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE messages SET seen = COALESCE(?2, seen), flagged = COALESCE(?3, flagged),
                 pending = ?4 WHERE id = ?1",
            params![id, seen, flagged, pending],
        )?;
        Ok(())
    }

    pub fn count_messages(&self, folder_id: i64) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(seen = 0), 0) FROM messages WHERE folder_id = ?1 AND deleted = 0",
            [folder_id],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(uid: u32, subject: &str) -> NewMessage {
        NewMessage {
            uid,
            message_id: Some(format!("<{uid}@test>")),
            from_name: "Dana Lee".into(),
            from_addr: "dana@acme.test".into(),
            to: "me@example.com".into(),
            subject: subject.into(),
            date: 1_700_000_000 + uid as i64,
            body_text: format!("body of {subject}"),
            raw: b"Subject: x\r\n\r\nbody".to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn a_copy_takes_the_stored_envelope_keeps_its_own_flags_and_shares_the_body() {
        let s = Store::open_in_memory().unwrap();
        let a = s.ensure_account("g", "me@example.com", None).unwrap();
        let inbox = s
            .upsert_folder(a, "INBOX", None, Some("inbox"), true)
            .unwrap();
        let all = s
            .upsert_folder(a, "All Mail", None, Some("all"), true)
            .unwrap();
        let other = s.ensure_account("h", "me@example.com", None).unwrap();
        let elsewhere = s.upsert_folder(other, "INBOX", None, None, true).unwrap();
        let mut m = msg(7, "Proposal for Q3");
        m.body_key = Some("gm:42".into());
        s.put_message(inbox, &m).unwrap();
        assert!(s.account_has_body_keys(a, all).unwrap());
        assert!(!s.account_has_body_keys(a, inbox).unwrap());
        let keys = ["gm:42".to_string(), "gm:43".to_string()];
        assert_eq!(
            s.known_body_keys(a, &keys).unwrap(),
            std::collections::HashSet::from(["gm:42".to_string()])
        );
        assert!(s.known_body_keys(other, &keys).unwrap().is_empty());
        let flagged = Flags {
            flagged: true,
            ..Default::default()
        };
        let id = s.put_copy(all, 100, "gm:42", &flagged, Some(9)).unwrap();
        let id = id.expect("copied");
        let copy = s.message(id).unwrap();
        assert_eq!((copy.uid, copy.subject.as_str()), (100, "Proposal for Q3"));
        assert!(copy.flagged && !copy.seen);
        assert_eq!(s.raw_message(id).unwrap(), m.raw);
        // Found by its headers and by its body's words; across folders once, as its INBOX copy
        // (All Mail holds every message a second time), and in All Mail when asked there.
        for word in ["propos", "body"] {
            let search = |q: &str, folder: Option<&str>| found_in(&s, q, folder);
            assert_eq!(search(word, None), ["INBOX"], "{word}");
            assert_eq!(search(word, Some("All Mail")), ["All Mail"], "{word}");
            let both = search(&format!("{word} (folder:inbox OR folder:all)"), None);
            assert_eq!(both, ["All Mail", "INBOX"], "{word}");
        }
        // Twice is once; a key not stored in this account is no copy.
        assert_eq!(s.put_copy(all, 100, "gm:42", &flagged, None).unwrap(), None);
        assert_eq!(s.put_copy(all, 101, "gm:43", &flagged, None).unwrap(), None);
        assert_eq!(
            s.put_copy(elsewhere, 1, "gm:42", &flagged, None).unwrap(),
            None
        );
        assert!(
            s.reader().unwrap().is_none(),
            "no second connection to memory"
        );
    }

    /// The folders (sorted) of the messages search `q` finds, within `folder` if given.
    fn found_in(s: &Store, q: &str, folder: Option<&str>) -> Vec<String> {
        let mut found: Vec<String> = s
            .list_messages(&ListQuery {
                search: Some(q.into()),
                folder: folder.map(str::to_string),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|m| m.folder)
            .collect();
        found.sort();
        found
    }

    #[test]
    fn a_search_across_folders_leaves_out_trash_and_junk_unless_a_folder_is_named() {
        let s = Store::open_in_memory().unwrap();
        let a = s.ensure_account("work", "me@example.com", None).unwrap();
        for (uid, (name, role)) in [
            ("INBOX", Some("inbox")),
            ("Trash", Some("trash")),
            ("Spam", Some("junk")),
            ("Projects", None),
        ]
        .into_iter()
        .enumerate()
        {
            let f = s.upsert_folder(a, name, Some("/"), role, true).unwrap();
            s.put_message(f, &msg(uid as u32 + 1, "Invoice 12"))
                .unwrap();
        }
        let folders = |q: &str, folder: Option<&str>| found_in(&s, q, folder);
        assert_eq!(folders("invoice", None), ["INBOX", "Projects"]);
        assert_eq!(folders("invoice folder:trash", None), ["Trash"]);
        assert_eq!(folders("invoice in:spam", None), ["Spam"]);
        assert_eq!(
            folders("invoice -folder:projects", None),
            ["INBOX", "Spam", "Trash"]
        );
        assert_eq!(folders("invoice", Some("Trash")), ["Trash"]);
        // Listing (no search) is not affected.
        assert_eq!(s.list_messages(&ListQuery::default()).unwrap().len(), 4);
    }

    #[test]
    fn same_uid_twice_is_one_message_and_search_finds_it_once() {
        let s = Store::open_in_memory().unwrap();
        let a = s.ensure_account("work", "me@example.com", None).unwrap();
        let f = s
            .upsert_folder(a, "INBOX", Some("/"), Some("inbox"), true)
            .unwrap();
        s.put_message(f, &msg(1, "Proposal for Q3")).unwrap();
        s.put_message(f, &msg(1, "Proposal for Q3")).unwrap();
        s.put_message(f, &msg(2, "Lunch")).unwrap();
        let all = s.list_messages(&ListQuery::default()).unwrap();
        assert_eq!(all.len(), 2);
        let hits = s
            .list_messages(&ListQuery {
                search: Some("propos".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].subject, "Proposal for Q3");
        // FTS syntax in user input is harmless.
        let odd = s
            .list_messages(&ListQuery {
                search: Some("\"AND OR ( NEAR*".into()),
                ..Default::default()
            })
            .unwrap();
        assert!(odd.is_empty());
        s.delete_uids(f, &[1]).unwrap();
        let hits = s
            .list_messages(&ListQuery {
                search: Some("proposal".into()),
                ..Default::default()
            })
            .unwrap();
        assert!(hits.is_empty());
    }

    #[test]
    fn the_tracked_list_shows_a_mail_sent_to_oneself_once_as_its_sent_copy() {
        let mut s = Store::open_in_memory().unwrap();
        s.record_tracked_message(&crate::store::TrackedMessageRecord::q3_for_tests(
            "<q3@acme.test>",
            &[("dana@acme.test", "Dana Lee")],
        ))
        .unwrap();
        let a = s.ensure_account("work", "me@acme.test", None).unwrap();
        let inbox = s
            .upsert_folder(a, "INBOX", Some("/"), Some("inbox"), true)
            .unwrap();
        let sent = s
            .upsert_folder(a, "Sent", Some("/"), Some("sent"), true)
            .unwrap();
        let copy = |uid| NewMessage {
            uid,
            message_id: Some("<q3@acme.test>".into()),
            from_addr: "me@acme.test".into(),
            to: "me@acme.test, dana@acme.test".into(),
            subject: "Proposal for Q3".into(),
            date: 1000,
            ..Default::default()
        };
        // The INBOX copy arrives first (lower id), as the self-addressed copy does.
        s.put_message(inbox, &copy(1)).unwrap();
        let sent_id = s.put_message(sent, &copy(1)).unwrap();
        let listed = s
            .list_messages(&ListQuery {
                account: Some("work".into()),
                filter: ListFilter::Tracked,
                ..Default::default()
            })
            .unwrap();
        let ids: Vec<i64> = listed.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![sent_id]);
    }
}
