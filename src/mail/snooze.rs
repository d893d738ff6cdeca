//! Snoozing received mail: the message moves to a `Snoozed` folder on the server (created when
//! missing, so other clients see it out of the way too) and comes back to the folder it came from,
//! unread, when its time comes. The return is done by whichever tidings process runs (the TUI or
//! `tidings watch`): each due snooze is claimed in SQLite first ([`Store::claim_due_snoozes`]), so
//! it comes back once however many run. The message is found again by its Message-ID, which makes
//! a return idempotent: one interrupted after the MOVE finds nothing left to move. Accounts
//! without IMAP (the demo) snooze in the local cache. See docs/scheduling.md.

use super::filing::{self, FilingError};
use super::imap::{self as imapconn, Connection, ImapError};
use super::mailbox_name;
use crate::config::{Config, ServerConfig};
use crate::store::{NewSnooze, SnoozeRow, Store, StoreError};

/// A return that failed (server down, folder gone) is tried again after this many seconds.
const RETRY_SECS: i64 = 60;

/// The folder snoozed mail waits in, at the top level (or under INBOX on servers that keep
/// every folder there).
pub const SNOOZED_FOLDER: &str = "Snoozed";

#[derive(Debug, thiserror::Error)]
pub enum SnoozeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Filing(#[from] FilingError),
    #[error("message {0} has no Message-ID, so it could not be found again: it cannot be snoozed")]
    NoMessageId(i64),
    #[error("account {0:?} is in the cache but not in the config")]
    UnknownAccount(String),
    #[error("message {0} is not snoozed")]
    NotSnoozed(i64),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = SnoozeError> = std::result::Result<T, E>;

impl From<ImapError> for SnoozeError {
    fn from(e: ImapError) -> Self {
        SnoozeError::Filing(FilingError::Imap(e))
    }
}

/// Which process holds a claim, for the logs and for a stale claim's takeover.
pub fn claimer() -> String {
    format!("pid {}", std::process::id())
}

/// Puts message `id` (a cache id, as `tidings list` shows it) away until `until` (unix seconds).
/// On an IMAP account the message is moved on the server first; the cache follows.
pub fn snooze(config: &Config, store: &Store, id: i64, until: i64, now: i64) -> Result<SnoozeRow> {
    let m = store.message_ref(id)?;
    let message_id = m.message_id.clone().ok_or(SnoozeError::NoMessageId(id))?;
    let summary = store.message(id)?;
    let acc = config
        .accounts
        .get(&m.account)
        .ok_or_else(|| SnoozeError::UnknownAccount(m.account.clone()))?;
    let subject = crate::sanitize::sanitize_line(&summary.subject);
    fn new<'a>(
        m: &'a crate::store::MessageRef,
        ids: (&'a str, &'a str),
        folders: (&'a str, &'a str),
        until: i64,
        now: i64,
    ) -> NewSnooze<'a> {
        NewSnooze {
            account: &m.account,
            message_id: ids.0,
            subject: ids.1,
            from_folder: folders.0,
            folder: folders.1,
            until,
            now,
        }
    }
    let ids = (message_id.as_str(), subject.as_str());
    if let Some(w) = store.waiting_snooze(&m.account, &message_id)? {
        if w.folder == m.folder {
            // Snoozing it again from the Snoozed folder changes the time of the waiting snooze.
            return stored(
                store,
                store.snooze_insert(&new(&m, ids, (&w.from_folder, &w.folder), until, now))?,
            );
        }
    }
    match &acc.imap {
        Some(imap) => {
            let (from, uid, validity) = (m.folder.clone(), m.uid, m.uidvalidity);
            let mid = message_id.clone();
            let folder = filing::with_connection(imap, "snoozing a message", 0, move |conn| {
                let folder = ensure_snoozed_folder(conn)?;
                if folder != from {
                    move_out(conn, &from, validity, uid, &folder, &mid)?;
                }
                Ok(folder)
            })?;
            if folder == m.folder {
                // Already in Snoozed (filed there by hand or by another client): it will come
                // back to INBOX.
                return stored(
                    store,
                    store.snooze_insert(&new(&m, ids, ("INBOX", &folder), until, now))?,
                );
            }
            // Recorded only once the server holds it in Snoozed: a failed move leaves nothing
            // waiting that would "return" a message that never left.
            let sid = store.snooze_insert(&new(&m, ids, (&m.folder, &folder), until, now))?;
            store.delete_message_row(id)?;
            stored(store, sid)
        }
        None => {
            let from = if m.folder == SNOOZED_FOLDER {
                "INBOX"
            } else {
                let folder_id =
                    store.upsert_folder(m.account_id, SNOOZED_FOLDER, Some("/"), None, true)?;
                store.snooze_move_local(id, folder_id, false)?;
                &m.folder
            };
            stored(
                store,
                store.snooze_insert(&new(&m, ids, (from, SNOOZED_FOLDER), until, now))?,
            )
        }
    }
}

fn stored(store: &Store, sid: i64) -> Result<SnoozeRow> {
    store
        .snooze(sid)?
        .ok_or_else(|| SnoozeError::Invalid(format!("snooze {sid} vanished")))
}

/// The wire name of the Snoozed folder on this connection, created when missing.
fn ensure_snoozed_folder(conn: &mut Connection) -> Result<String, ImapError> {
    let listed = |conn: &mut Connection, pattern: &str| -> Result<Option<String>, ImapError> {
        let names = conn
            .session
            .list(Some(""), Some(pattern))
            .map_err(conn.err(format!("LIST {pattern:?}")))?;
        Ok(names.iter().next().map(|n| n.name().to_string()))
    };
    if let Some(name) = listed(conn, SNOOZED_FOLDER)? {
        return Ok(name);
    }
    // Servers whose personal namespace is under INBOX (Courier, some Dovecot setups) refuse a
    // top-level folder; there it is INBOX.Snoozed (with the server's delimiter).
    let delimiter = conn
        .session
        .list(Some(""), Some("INBOX"))
        .ok()
        .and_then(|n| {
            n.iter()
                .next()
                .and_then(|n| n.delimiter().map(str::to_string))
        })
        .unwrap_or_else(|| "/".into());
    let nested = format!("INBOX{delimiter}{SNOOZED_FOLDER}");
    if let Some(name) = listed(conn, &nested)? {
        return Ok(name);
    }
    match conn.session.create(SNOOZED_FOLDER) {
        Ok(()) => Ok(SNOOZED_FOLDER.to_string()),
        Err(top) => {
            tracing::info!("CREATE {SNOOZED_FOLDER}: {top}; trying {nested}");
            conn.session
                .create(&nested)
                .map_err(conn.err(format!("CREATE {nested:?}")))?;
            Ok(nested)
        }
    }
}

/// Moves `uid` of `from` (checked against `uidvalidity`) to `dest`.
fn move_out(
    conn: &mut Connection,
    from: &str,
    uidvalidity: Option<u32>,
    uid: u32,
    dest: &str,
    message_id: &str,
) -> Result<(), FilingError> {
    let shown = mailbox_name::display(from).into_owned();
    let mb = conn
        .session
        .select(from)
        .map_err(conn.err(format!("SELECT {shown:?}")))?;
    let uids = if uidvalidity.is_some() && mb.uid_validity != uidvalidity {
        // The folder was reset since the last sync: the UID means nothing, the Message-ID does.
        filing::open_and_search(conn, from, &filing::message_id_query(message_id)?, true)?
    } else {
        vec![uid]
    };
    move_uids(conn, &uids, from, dest)?;
    Ok(())
}

/// MOVE when offered, else COPY + `\Deleted` + expunge, of `uids` of the selected `from`.
fn move_uids(conn: &mut Connection, uids: &[u32], from: &str, dest: &str) -> Result<(), ImapError> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = imapconn::uid_set(uids);
    let shown = format!(
        "{} → {}",
        mailbox_name::display(from),
        mailbox_name::display(dest)
    );
    if conn.caps.mv {
        return conn
            .session
            .uid_mv(&set, dest)
            .map_err(conn.err(format!("UID MOVE {shown}")));
    }
    let quoted = imapconn::quote(dest).ok_or_else(|| ImapError::Connect {
        addr: conn.addr.clone(),
        reason: format!("folder name {dest:?} holds a line break"),
        config: "the config file".into(),
    })?;
    conn.session
        .uid_copy(&set, quoted)
        .map_err(conn.err(format!("UID COPY {shown}")))?;
    filing::remove(conn, uids, from)
}

/// What one return did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    pub snooze: SnoozeRow,
    /// The message was back (or gone) already: nothing moved.
    pub already_back: bool,
}

/// One round: claims every due snooze and returns each; an error leaves that snooze waiting
/// (with its reason) for the next round, and the others still go.
pub fn return_due(
    config: &Config,
    store: &mut Store,
    now: i64,
) -> Result<Vec<std::result::Result<Returned, (SnoozeRow, String)>>> {
    let claimed = store.claim_due_snoozes(now, &claimer())?;
    let mut out = Vec::new();
    for row in claimed {
        match return_one(config, store, &row, now) {
            Ok(already_back) => out.push(Ok(Returned {
                snooze: row,
                already_back,
            })),
            Err(e) => {
                let why = crate::sanitize::sanitize_line(&e.to_string());
                tracing::warn!(snooze = row.id, "could not return a snoozed message: {why}");
                store.snooze_retry_later(row.id, &why, now + RETRY_SECS)?;
                out.push(Err((row, why)));
            }
        }
    }
    Ok(out)
}

/// Brings message `id` (a cache id in the Snoozed folder, or the message it was snoozed from)
/// back now, whatever its time.
pub fn unsnooze(config: &Config, store: &mut Store, id: i64, now: i64) -> Result<Returned> {
    let m = store.message_ref(id)?;
    let message_id = m.message_id.ok_or(SnoozeError::NoMessageId(id))?;
    let waiting = store
        .waiting_snooze(&m.account, &message_id)?
        .ok_or(SnoozeError::NotSnoozed(id))?;
    let row = store
        .claim_snooze(waiting.id, now, &claimer())?
        .ok_or(SnoozeError::NotSnoozed(id))?;
    match return_one(config, store, &row, now) {
        Ok(already_back) => Ok(Returned {
            snooze: row,
            already_back,
        }),
        Err(e) => {
            let why = crate::sanitize::sanitize_line(&e.to_string());
            store.snooze_retry_later(row.id, &why, now + RETRY_SECS)?;
            Err(e)
        }
    }
}

/// Moves a claimed snooze's message back, unread; true when there was nothing left to move.
fn return_one(config: &Config, store: &Store, row: &SnoozeRow, now: i64) -> Result<bool> {
    let acc = config
        .accounts
        .get(&row.account)
        .ok_or_else(|| SnoozeError::UnknownAccount(row.account.clone()))?;
    let already_back = match &acc.imap {
        Some(imap) => return_on_server(imap, row)?,
        None => {
            let account_id = store.account_id(&row.account)?;
            let to = store.folder(account_id, &row.from_folder)?;
            let copies = store.cached_copies(&row.account, &row.folder, &row.message_id)?;
            for c in &copies {
                store.snooze_move_local(*c, to.id, true)?;
            }
            copies.is_empty()
        }
    };
    if acc.imap.is_some() {
        // The copy cached from the Snoozed folder is gone there; the next sync of the folder it
        // returned to brings it with its new UID.
        for c in store.cached_copies(&row.account, &row.folder, &row.message_id)? {
            store.delete_message_row(c)?;
        }
    }
    store.snooze_returned(row.id, now)?;
    tracing::info!(snooze = row.id, already_back, "snoozed message returned");
    Ok(already_back)
}

fn return_on_server(imap: &ServerConfig, row: &SnoozeRow) -> Result<bool> {
    let query = filing::message_id_query(&row.message_id)?;
    let (folder, back_to) = (row.folder.clone(), row.from_folder.clone());
    Ok(filing::with_connection(
        imap,
        "returning a snoozed message",
        0,
        move |conn| {
            let uids = match filing::open_and_search(conn, &folder, &query, true) {
                Ok(u) => u,
                // The Snoozed folder is gone (deleted by the user): nothing to bring back.
                Err(e) if e.is_refusal() => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            if uids.is_empty() {
                return Ok(true);
            }
            let set = imapconn::uid_set(&uids);
            conn.session
                .uid_store(&set, "-FLAGS.SILENT (\\Seen)")
                .map_err(conn.err("UID STORE -\\Seen in Snoozed"))?;
            match move_uids(conn, &uids, &folder, &back_to) {
                // The folder it came from is gone (renamed, deleted): INBOX, not nowhere.
                Err(e) if e.is_refusal() && !back_to.eq_ignore_ascii_case("INBOX") => {
                    tracing::warn!("returning a snoozed message to INBOX instead: {e}");
                    move_uids(conn, &uids, &folder, "INBOX")?;
                }
                other => other?,
            }
            Ok(false)
        },
    )?)
}

/// When the next snooze is due, if any (for a loop that sleeps until then).
pub fn next_due(store: &Store) -> Result<Option<i64>> {
    Ok(store.next_snooze_due()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::local_mailbox::{deliver, LocalFolder};
    use crate::store::ListQuery;

    fn mail(id: &str, date: &str) -> Vec<u8> {
        format!(
            "From: a@x.test\r\nTo: me@x.test\r\nSubject: {id}\r\nMessage-ID: <{id}@x.test>\r\n\
             Date: {date}\r\n\r\nbody\r\n"
        )
        .into_bytes()
    }

    fn subjects(store: &Store, folder: &str) -> Vec<(String, bool)> {
        store
            .list_messages(&ListQuery {
                folder: Some(folder.into()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|m| (m.subject, m.seen))
            .collect()
    }

    #[test]
    fn an_account_without_imap_snoozes_in_the_cache_and_the_message_comes_back_once_on_top() {
        let config: Config = toml::from_str("[accounts.demo]\nemail = \"me@x.test\"\n").unwrap();
        let mut store = Store::open_in_memory().unwrap();
        store.ensure_account("demo", "me@x.test", None).unwrap();
        let inbox = LocalFolder {
            account: "demo",
            role: "inbox",
            default_name: "INBOX",
        };
        let old = deliver(
            &store,
            inbox,
            mail("old", "Tue, 1 Dec 2026 10:00:00 +0000"),
            true,
            0,
        )
        .unwrap()
        .id
        .unwrap();
        deliver(
            &store,
            inbox,
            mail("new", "Wed, 2 Dec 2026 10:00:00 +0000"),
            true,
            0,
        )
        .unwrap();

        let row = snooze(&config, &store, old, 2_000_000_000, 1_800_000_000).unwrap();
        assert_eq!(
            (row.folder.as_str(), row.from_folder.as_str()),
            ("Snoozed", "INBOX")
        );
        assert_eq!(subjects(&store, "INBOX"), [("new".to_string(), true)]);
        assert_eq!(subjects(&store, "Snoozed").len(), 1);

        assert!(return_due(&config, &mut store, 1_999_999_999)
            .unwrap()
            .is_empty());
        let back = return_due(&config, &mut store, 2_000_000_000).unwrap();
        assert_eq!(back.len(), 1);
        assert!(return_due(&config, &mut store, 2_000_000_100)
            .unwrap()
            .is_empty());
        assert_eq!(
            subjects(&store, "INBOX"),
            [("old".to_string(), false), ("new".to_string(), true)],
            "back unread, above the newer message"
        );
        assert!(subjects(&store, "Snoozed").is_empty());
        let page = |offset| {
            store
                .list_messages(&ListQuery {
                    folder: Some("INBOX".into()),
                    limit: Some(1),
                    offset,
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .map(|m| m.subject)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            (page(0), page(1), page(2)),
            (vec!["old".to_string()], vec!["new".to_string()], vec![])
        );
    }
}
