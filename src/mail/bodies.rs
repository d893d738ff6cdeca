//! Message bodies. The sync stores envelopes first (`sync`); bodies follow in the background,
//! newest first, as far as `[sync] bodies` asks ([`sync_bodies`]), and a message opened or shown
//! before its body arrived is fetched at once on a connection of its own ([`fetch_body_now`]),
//! so it never waits behind the background work. Each body joins the search index as it is
//! stored.

use super::account::{MailAccount, SyncError, SyncEvent};
use super::fetch::{pipelined, plan_chunks};
use super::mailbox_name;
use super::parse::parse_message;
use crate::config::{BodyPolicy, Config};
use crate::store::{Flags, Folder, Store, StoreError};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What a body phase did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodiesDone {
    pub stored: u64,
    /// It reached its deadline with bodies left to fetch.
    pub pending: bool,
}

/// Downloads the bodies `account.sync.bodies` asks for in `folders` (in that order, each newest
/// first) that are not cached yet, until `deadline` if one is given. A folder whose UIDVALIDITY
/// changed since its envelopes were stored is left for the next sync, which resets it.
pub fn sync_bodies(
    conn: &mut super::imap::Connection,
    account: &MailAccount,
    store: &Store,
    folders: &[Folder],
    on_event: &mut dyn FnMut(SyncEvent),
    stop: &AtomicBool,
    deadline: Option<Instant>,
) -> Result<BodiesDone, SyncError> {
    let mut out = BodiesDone::default();
    if account.sync.bodies == BodyPolicy::OnDemand {
        return Ok(out);
    }
    let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
    for folder in folders {
        if stop.load(Ordering::Relaxed) {
            return Err(SyncError::Stopped);
        }
        if out_of_time() {
            // Whether anything is left is known only by looking; say so, the next pass looks.
            out.pending = true;
            return Ok(out);
        }
        // With "recent", messages whose Date is far older than the window are not even asked
        // about: a resync after every new mail must not EXAMINE and SEARCH every folder of a
        // ten-year mailbox. The server's INTERNALDATE decides below; a year of slack lets a
        // misdated or late-imported message through.
        let since = match account.sync.bodies {
            BodyPolicy::Recent => {
                chrono::Utc::now().timestamp() - (i64::from(account.sync.body_days) + 365) * 86_400
            }
            BodyPolicy::All | BodyPolicy::OnDemand => i64::MIN,
        };
        let missing = store.uids_without_body(folder.id, since)?;
        if missing.is_empty() {
            continue;
        }
        let shown = mailbox_name::display(&folder.name).into_owned();
        // Read-only: nothing here changes the folder, and EXAMINE cannot set \Seen.
        let mb = conn
            .session
            .examine(&folder.name)
            .map_err(conn.err(format!("EXAMINE {shown}")))?;
        if mb.uid_validity.is_none() || mb.uid_validity != folder.uidvalidity {
            continue;
        }
        let wanted: Vec<(u32, u64)> = match account.sync.bodies {
            BodyPolicy::Recent => {
                let since =
                    chrono::Utc::now() - chrono::Duration::days(i64::from(account.sync.body_days));
                // SINCE compares the server's INTERNALDATE (arrival), which a sender cannot fake
                // the way a Date header can.
                let recent: HashSet<u32> = conn
                    .session
                    .uid_search(format!("SINCE {}", since.format("%d-%b-%Y")))
                    .map_err(conn.err(format!("UID SEARCH SINCE in {shown}")))?;
                missing
                    .into_iter()
                    .filter(|(uid, _)| recent.contains(uid))
                    .collect()
            }
            BodyPolicy::All | BodyPolicy::OnDemand => missing,
        };
        if wanted.is_empty() {
            continue;
        }
        let total = wanted.len() as u64;
        let mut done = 0u64;
        let progress = |done| SyncEvent::BodyProgress {
            account: account.name.clone(),
            folder: shown.clone(),
            done,
            total,
        };
        on_event(progress(done));
        let chunks = plan_chunks(wanted, account.sync.chunk_size);
        let result = pipelined(
            conn,
            &chunks,
            &format!("UID FETCH bodies in {shown}"),
            // Only copied out on the fetching thread; parsed here, so the link is not idle
            // while MIME is decoded.
            |session, set| {
                Ok(session
                    .uid_fetch(set, "(UID BODY.PEEK[])")?
                    .iter()
                    .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
                    .collect())
            },
            || stop.load(Ordering::Relaxed) || out_of_time(),
            |batch: Vec<(u32, Vec<u8>)>| {
                let count = batch.len() as u64;
                let txn = store.conn.unchecked_transaction()?;
                for (uid, raw) in batch {
                    // Expunged locally since the list was made: nothing to attach it to.
                    if let Some(id) = store.message_row(folder.id, uid)? {
                        let m = parse_message(uid, raw, Flags::default(), None);
                        store.put_body(id, &m)?;
                    }
                }
                txn.commit()?;
                done += count;
                on_event(progress(done));
                Ok(())
            },
        );
        out.stored += done;
        if done > 0 {
            // Previews and attachment marks arrived with the bodies.
            on_event(SyncEvent::FolderChanged {
                account: account.name.clone(),
                folder: folder.name.clone(),
            });
        }
        match result {
            Err(SyncError::Stopped) if !stop.load(Ordering::Relaxed) => {
                out.pending = true;
                return Ok(out);
            }
            other => other?,
        }
    }
    Ok(out)
}

/// Fetches the body of stored message `id` now, on a connection of its own, stores it (search
/// index included) and returns the raw bytes. For a message opened in the reader or shown by
/// `tidings show` before the background sync reached it.
pub fn fetch_body_now(
    config: &Config,
    config_path: &Path,
    store: &Store,
    id: i64,
) -> Result<Vec<u8>, SyncError> {
    let (account_name, folder, uidvalidity, uid) = store.message_location(id)?;
    let account = MailAccount::new(config, config_path, &account_name).map_err(|e| {
        SyncError::Invalid(format!(
            "message {id} has not been downloaded and cannot be: {e}"
        ))
    })?;
    let shown = mailbox_name::display(&folder).into_owned();
    let mut conn = account.connect()?;
    let mb = conn
        .session
        .examine(&folder)
        .map_err(conn.err(format!("EXAMINE {shown}")))?;
    if mb.uid_validity.is_none() || mb.uid_validity != uidvalidity {
        conn.logout();
        return Err(SyncError::Invalid(format!(
            "{shown} was renumbered on the server since the last sync; run `tidings sync` and open the message again"
        )));
    }
    let raw = conn
        .session
        .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
        .map_err(conn.err(format!("UID FETCH {uid} in {shown}")))?
        .iter()
        .find(|f| f.uid == Some(uid))
        .and_then(|f| f.body().map(<[u8]>::to_vec));
    conn.logout();
    let Some(raw) = raw else {
        return Err(SyncError::Invalid(format!(
            "message {id} is no longer in {shown} on the server"
        )));
    };
    let m = parse_message(uid, raw, Flags::default(), None);
    store.put_body(id, &m)?;
    Ok(m.raw)
}

/// The raw message `id`: from the cache, or fetched from the server when only its envelope is
/// cached. What the reader, `tidings show` and attachment saving use.
pub fn raw_message_or_fetch(
    config: &Config,
    config_path: &Path,
    store: &Store,
    id: i64,
) -> Result<Vec<u8>, SyncError> {
    match store.raw_message(id) {
        Err(StoreError::BodyNotCached(_)) => fetch_body_now(config, config_path, store, id),
        other => Ok(other?),
    }
}

/// What a search says when it cannot cover everything: `not_downloaded` messages (see
/// [`Store::count_without_body`]) are matched by sender, recipients and subject only.
pub fn search_coverage_note(not_downloaded: u64) -> Option<String> {
    (not_downloaded > 0).then(|| {
        format!(
            "{not_downloaded} message{} not yet downloaded {} searched by headers only",
            if not_downloaded == 1 { "" } else { "s" },
            if not_downloaded == 1 { "is" } else { "are" }
        )
    })
}
