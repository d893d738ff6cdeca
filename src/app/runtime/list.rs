//! The folder pane and the message list, read from the store: folders with their counts, and
//! the rows of a folder, a filter or a search with their tracking marks, a first page at once.

use crate::app::msg::Msg;
use crate::app::sort::{self, ListSort};
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

/// How the rows of a list are arranged: as conversations or flat, in which order.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListView {
    pub threads: bool,
    pub sort: ListSort,
}

pub(super) fn load_messages(
    store: &Store,
    generation: u64,
    q: ListQuery,
    view: ListView,
) -> Vec<Msg> {
    let mut out = Vec::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    out.extend(load_messages_streaming(store, generation, q, view, &tx));
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
/// shows immediately. In an order other than newest first there is no first page: the newest
/// messages sorted by subject would pass for the top of the folder sorted by subject, and the
/// rows would change under the cursor when the rest arrives; the list says it is sorting instead.
pub(super) fn load_messages_streaming(
    store: &Store,
    generation: u64,
    mut q: ListQuery,
    view: ListView,
    early: &UnboundedSender<Msg>,
) -> Vec<Msg> {
    let rows_of = |q: &ListQuery| {
        store
            .list_messages(q)
            .map(|msgs| {
                let mut rows: Vec<Row> = msgs.into_iter().map(Row::new).collect();
                mark_tracked(store, &mut rows);
                sort::arrange(&mut rows, view.threads, view.sort);
                rows
            })
            .map_err(|e| e.to_string())
    };
    if let Some(search) = &q.search {
        q.limit = Some(SEARCH_LIMIT);
        // What the search could not use is said at once, not taken as "no results".
        let problems = crate::store::SearchQuery::parse(search).problems;
        if !problems.is_empty() {
            let _ = early.send(Msg::QueryNote {
                generation,
                text: format!("search: {}", problems.join("; ")),
            });
        }
    } else if view.sort.is_default() {
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
            let _ = early.send(Msg::QueryNote {
                generation,
                text: format!("search: {note}"),
            });
        }
    }
    vec![Msg::MessagesLoaded {
        generation,
        rows,
        complete: true,
    }]
}

/// The ids of list `query`'s messages matching `pattern`, for selecting them. A pattern the
/// search language cannot fully use selects nothing: its note says why, as the search's does.
pub(super) fn select_matching(
    store: &Store,
    generation: u64,
    query: &ListQuery,
    pattern: String,
    select: bool,
) -> Msg {
    let problems = crate::store::SearchQuery::parse(&pattern).problems;
    let ids = if problems.is_empty() {
        let q = ListQuery {
            search: Some(pattern.clone()),
            limit: None,
            offset: 0,
            ..query.clone()
        };
        store.list_message_ids(&q).map_err(|e| e.to_string())
    } else {
        Err(format!("search: {}", problems.join("; ")))
    };
    Msg::Matched {
        generation,
        pattern,
        select,
        ids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::sort::SortKey;
    use crate::store::NewMessage;

    fn msg(uid: u32, from: &str, subject: &str, size: u64) -> NewMessage {
        NewMessage {
            uid,
            message_id: Some(format!("<{uid}@test>")),
            from_name: from.into(),
            from_addr: format!("{}@acme.test", from.to_lowercase()),
            subject: subject.into(),
            date: 1_700_000_000 + uid as i64,
            size,
            body_text: format!("body of {subject}"),
            raw: b"Subject: x\r\n\r\nbody".to_vec(),
            ..Default::default()
        }
    }

    /// INBOX: Dana's 1 and 3, Sam's 2; Archive: Dana's 4.
    fn store() -> Store {
        let s = Store::open_in_memory().unwrap();
        let a = s.ensure_account("w", "me@example.com", None).unwrap();
        let inbox = s
            .upsert_folder(a, "INBOX", None, Some("inbox"), true)
            .unwrap();
        let archive = s
            .upsert_folder(a, "Archive", None, Some("archive"), true)
            .unwrap();
        s.put_message(inbox, &msg(1, "Dana", "Re: budget", 300))
            .unwrap();
        s.put_message(inbox, &msg(2, "Sam", "agenda", 9000))
            .unwrap();
        s.put_message(inbox, &msg(3, "Dana", "Fwd: Contract", 20))
            .unwrap();
        s.put_message(archive, &msg(4, "Dana", "old", 5)).unwrap();
        s
    }

    fn inbox() -> ListQuery {
        ListQuery {
            account: Some("w".into()),
            folder: Some("INBOX".into()),
            ..Default::default()
        }
    }

    fn uids(msgs: &[Msg]) -> Vec<Vec<u32>> {
        msgs.iter()
            .filter_map(|m| match m {
                Msg::MessagesLoaded { rows: Ok(rows), .. } => {
                    Some(rows.iter().map(|r| r.msg.uid).collect())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_list_loads_in_the_chosen_order_with_sizes_from_the_store() {
        let s = store();
        let view = |key| ListView {
            threads: false,
            sort: ListSort {
                key,
                reverse: false,
            },
        };
        let by = |key| uids(&load_messages(&s, 1, inbox(), view(key)));
        assert_eq!(by(SortKey::Date), vec![vec![3, 2, 1]]);
        assert_eq!(by(SortKey::Subject), vec![vec![2, 1, 3]]);
        assert_eq!(by(SortKey::Size), vec![vec![2, 1, 3]]);
        assert_eq!(by(SortKey::From), vec![vec![3, 1, 2]]);
    }

    #[test]
    fn select_matching_finds_the_pattern_in_the_listed_folder_only() {
        let s = store();
        let ids_of = |pattern: &str| match select_matching(&s, 7, &inbox(), pattern.into(), true) {
            Msg::Matched {
                generation: 7,
                ids,
                select: true,
                ..
            } => ids,
            other => panic!("{other:?}"),
        };
        let uid_of = |id: i64| {
            s.list_messages(&ListQuery::default())
                .unwrap()
                .into_iter()
                .find(|m| m.id == id)
                .map(|m| m.uid)
        };
        let mut found: Vec<_> = ids_of("from:dana")
            .unwrap()
            .into_iter()
            .filter_map(uid_of)
            .collect();
        found.sort();
        assert_eq!(found, vec![1, 3], "Dana's mail in Archive is not listed");
        assert_eq!(ids_of("from:nobody").unwrap(), Vec::<i64>::new());
        let bad = ids_of("is:whatever").unwrap_err();
        assert!(bad.starts_with("search: "), "{bad}");
    }
}
