//! The folder pane and the message list, read from the store: folders with their counts, and
//! the rows of a folder, a filter or a search with their tracking marks, a first page at once.

use crate::app::msg::Msg;
use crate::app::threads;
use crate::app::view::{FolderEntry, Row, RowMarks};
use crate::config::Config;
use crate::store::{ListQuery, Store};
use std::collections::HashMap;
use tokio::sync::mpsc::UnboundedSender;

/// First rows sent for a folder, so the first frame never waits for a large folder to load.
pub const FIRST_PAGE: u64 = 200;
/// Searches show at most this many results (newest first).
pub const SEARCH_LIMIT: u64 = 2000;

/// Every folder of every cached account with its counts.
/// [`load_folders`] without the folders of cached accounts the config no longer names (renamed
/// or removed: `tidings sync` names them and `tidings forget-account` removes them). A config
/// with no accounts (the demo before its servers start, test harnesses) hides nothing.
pub fn load_configured_folders(store: &Store, config: &Config) -> Result<Vec<FolderEntry>, String> {
    // Hidden accounts are skipped before their folders are counted, not after.
    load_folders_of(store, |account| {
        config.accounts.is_empty() || config.accounts.contains_key(account)
    })
}

pub fn load_folders(store: &Store) -> Result<Vec<FolderEntry>, String> {
    load_folders_of(store, |_| true)
}

/// The selectable folders, with their counts, of the cached accounts `shown` keeps.
fn load_folders_of(
    store: &Store,
    shown: impl Fn(&str) -> bool,
) -> Result<Vec<FolderEntry>, String> {
    let mut out = Vec::new();
    let accounts = store.account_names().map_err(|e| e.to_string())?;
    for account in accounts.into_iter().filter(|a| shown(a)) {
        let id = store.account_id(&account).map_err(|e| e.to_string())?;
        let mut folders = store.folders(id).map_err(|e| e.to_string())?;
        // By the name shown, not the wire name: "Архив" is "&BBAEQARFBDgEMg-" on the wire.
        folders.sort_by_cached_key(|f| {
            (
                f.role.as_deref() != Some("inbox"),
                crate::mail::mailbox_name::display(&f.name).to_lowercase(),
            )
        });
        for f in folders {
            if !f.selectable {
                continue;
            }
            let (total, unread) = store.count_messages(f.id).map_err(|e| e.to_string())?;
            out.push(FolderEntry {
                account: account.clone(),
                name: f.name,
                role: f.role,
                total,
                unread,
            });
        }
    }
    Ok(out)
}

pub(super) fn load_messages(
    store: &Store,
    generation: u64,
    q: ListQuery,
    threads: bool,
) -> Vec<Msg> {
    let mut out = Vec::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    out.extend(load_messages_streaming(store, generation, q, threads, &tx));
    drop(tx);
    let mut streamed = Vec::new();
    while let Ok(m) = rx.try_recv() {
        streamed.push(m);
    }
    streamed.extend(out);
    streamed
}

/// Up to this many rows are marked by looking up their own Message-IDs (the first page: fast
/// whatever the number of events); longer lists read the account's marks in one pass.
const MARK_BY_ID_ROWS: usize = 1000;

/// Sets the opened/clicked marks of tracked rows from the tracking store. A failure leaves the
/// marks empty: the list still shows.
fn mark_tracked(store: &Store, rows: &mut [Row]) {
    let mut ids_by_account: HashMap<String, Vec<&str>> = HashMap::new();
    for r in rows.iter() {
        if let Some(id) = r.msg.message_id.as_deref() {
            ids_by_account
                .entry(r.msg.account.clone())
                .or_default()
                .push(id);
        }
    }
    let by_id = rows.len() <= MARK_BY_ID_ROWS;
    let marks: HashMap<String, HashMap<String, crate::store::TrackingMark>> = ids_by_account
        .into_iter()
        .map(|(account, ids)| {
            let marks = if by_id {
                store.tracking_marks_of(&account, &ids)
            } else {
                store.tracking_marks(&account)
            };
            (account, marks.unwrap_or_default())
        })
        .collect();
    for r in rows.iter_mut() {
        let found = r
            .msg
            .message_id
            .as_deref()
            .and_then(|id| marks.get(&r.msg.account)?.get(id));
        if let Some(m) = found {
            r.marks = RowMarks::from(m);
        }
    }
    super::followups::mark_followups(store, rows);
}

/// A first page at once (sent on `early`), then the whole folder (returned), so a huge folder
/// shows immediately.
pub(super) fn load_messages_streaming(
    store: &Store,
    generation: u64,
    mut q: ListQuery,
    threads: bool,
    early: &UnboundedSender<Msg>,
) -> Vec<Msg> {
    let rows_of = |q: &ListQuery| {
        store
            .list_messages(q)
            .map(|msgs| {
                let mut rows: Vec<Row> = msgs.into_iter().map(Row::new).collect();
                mark_tracked(store, &mut rows);
                threads::arrange(&mut rows, threads);
                rows
            })
            .map_err(|e| e.to_string())
    };
    if let Some(search) = &q.search {
        q.limit = Some(SEARCH_LIMIT);
        // What the search could not use is said at once, not taken as "no results".
        let problems = crate::store::SearchQuery::parse(search).problems;
        if !problems.is_empty() {
            let _ = early.send(Msg::Notice(format!("search: {}", problems.join("; "))));
        }
    } else {
        let first = ListQuery {
            limit: Some(FIRST_PAGE),
            ..q.clone()
        };
        let rows = rows_of(&first);
        let done = !matches!(&rows, Ok(r) if r.len() as u64 == FIRST_PAGE);
        let msg = Msg::MessagesLoaded {
            generation,
            rows,
            complete: done,
        };
        if done {
            return vec![msg];
        }
        let _ = early.send(msg);
    }
    let rows = rows_of(&q);
    if q.search.is_some() {
        // Said while bodies are still downloading, so an empty result is not taken as final.
        let missing = store.count_without_body(q.account.as_deref()).unwrap_or(0);
        if let Some(note) = crate::mail::bodies::search_coverage_note(missing) {
            let _ = early.send(Msg::Notice(format!("search: {note}")));
        }
    }
    vec![Msg::MessagesLoaded {
        generation,
        rows,
        complete: true,
    }]
}
