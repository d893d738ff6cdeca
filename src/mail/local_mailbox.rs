//! Mail that lives only in the local cache, for accounts without an IMAP server (the demo's):
//! files a raw message into one of the account's folders the way sync stores fetched mail —
//! parsed by [`parse_message`], stored by [`Store::put_message`] under the folder's next UID, in
//! one IMMEDIATE transaction so two writers (the demo's SMTP receiver and the outbox) never
//! pick the same UID. Triage on such mail ([`apply`]) changes the folders at once and for good:
//! there is no server to queue it for, so a queued change would wait forever.

use super::account::SyncError;
use super::ops::{self, ServerChange};
use super::parse::parse_message;
use crate::store::{Flags, Store, StoreError};

/// Where a local message goes: the account's folder with this SPECIAL-USE role, created under
/// `default_name` when the account has none yet.
#[derive(Debug, Clone, Copy)]
pub struct LocalFolder<'a> {
    pub account: &'a str,
    pub role: &'a str,
    pub default_name: &'a str,
}

impl LocalFolder<'_> {
    /// (folder id, name, uidvalidity), creating the folder when missing.
    fn find_or_create(&self, store: &Store) -> Result<(i64, String, u32), StoreError> {
        let account = store.account_id(self.account)?;
        if let Some(f) = store.folder_by_role(account, self.role)? {
            return Ok((f.id, f.name, f.uidvalidity.unwrap_or(1)));
        }
        let id =
            store.upsert_folder(account, self.default_name, Some("/"), Some(self.role), true)?;
        Ok((id, self.default_name.to_string(), 1))
    }
}

/// A message filed by [`deliver`] or [`file_once`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    /// The folder's name (what the UI reloads).
    pub folder: String,
    /// The stored message's id; None when [`file_once`] found it already there.
    pub id: Option<i64>,
}

/// Stores `raw` as a new message in `folder` (unread unless `seen`), dated `date` (unix seconds)
/// when the message has no usable Date header. Every call adds a message: a mail delivered twice
/// shows twice, as it would on a server.
pub fn deliver(
    store: &Store,
    folder: LocalFolder<'_>,
    raw: Vec<u8>,
    seen: bool,
    date: i64,
) -> Result<Filed, StoreError> {
    file(store, folder, raw, seen, date, None)
}

/// Like [`deliver`], but only when no message with `message_id` is in the folder yet — for the
/// Sent copy, whose filing is retried after a crash and must not show twice.
pub fn file_once(
    store: &Store,
    folder: LocalFolder<'_>,
    raw: Vec<u8>,
    message_id: &str,
    date: i64,
) -> Result<Filed, StoreError> {
    file(store, folder, raw, true, date, Some(message_id))
}

fn file(
    store: &Store,
    folder: LocalFolder<'_>,
    raw: Vec<u8>,
    seen: bool,
    date: i64,
    unless_present: Option<&str>,
) -> Result<Filed, StoreError> {
    let tx = store.conn.unchecked_transaction()?;
    let (folder_id, name, uidvalidity) = folder.find_or_create(store)?;
    if let Some(mid) = unless_present {
        if store.count_message_id_in_folder(folder_id, mid)? > 0 {
            return Ok(Filed {
                folder: name,
                id: None,
            });
        }
    }
    let uid = store.next_local_uid(folder_id)?;
    let flags = Flags {
        seen,
        ..Flags::default()
    };
    let id = store.put_message(folder_id, &parse_message(uid, raw, flags, Some(date)))?;
    store.set_folder_state(
        folder_id,
        Some(uidvalidity),
        Some(uid.saturating_add(1)),
        None,
    )?;
    tx.commit()?;
    Ok(Filed {
        folder: name,
        id: Some(id),
    })
}

/// How to take back an [`apply`] on local mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalUndo {
    /// (message, seen, flagged) before.
    flags: Vec<(i64, bool, bool)>,
    /// (message, folder it came from).
    moved: Vec<(i64, i64)>,
    /// Messages deleted from Trash: gone, nothing to take back.
    erased: usize,
}

impl LocalUndo {
    /// Whether the change removed mail for good (a delete in Trash), so no undo can work.
    pub fn is_permanent(&self) -> bool {
        self.erased > 0
    }
}

/// Applies a triage action to local messages `ids` at once: flags set, moves done (the message
/// takes the destination's next UID), a delete in Trash erases. Nothing is queued.
pub fn apply(store: &Store, ids: &[i64], action: &ops::Action) -> Result<LocalUndo, SyncError> {
    let tx = store.conn.unchecked_transaction()?;
    let mut undo = LocalUndo {
        flags: Vec::new(),
        moved: Vec::new(),
        erased: 0,
    };
    for id in ids {
        let m = store.message_ref(*id)?;
        match ops::resolve(store, &m, action)? {
            None => {}
            Some(ServerChange::Flag { add, flag }) => {
                undo.flags.push((m.id, m.seen, m.flagged));
                let (seen, flagged) = if flag == "\\Seen" {
                    (Some(add), None)
                } else {
                    (None, Some(add))
                };
                store.set_local_flags(m.id, seen, flagged, false)?;
            }
            Some(ServerChange::Move { dest }) => {
                let to = store
                    .folders(m.account_id)?
                    .into_iter()
                    .find(|f| f.name == dest)
                    .ok_or_else(|| SyncError::Invalid(format!("no folder {dest:?}")))?;
                store.move_local_message(m.id, to.id)?;
                undo.moved.push((m.id, m.folder_id));
            }
            Some(ServerChange::Expunge) => {
                store.delete_message_row(m.id)?;
                undo.erased += 1;
            }
        }
    }
    tx.commit()?;
    Ok(undo)
}

/// Takes back an [`apply`]: flags as they were, moved mail back in its folder.
pub fn undo(store: &Store, undo: &LocalUndo) -> Result<(), SyncError> {
    if undo.is_permanent() {
        return Err(SyncError::Invalid(
            "a message deleted from Trash is gone for good; it cannot be undone".into(),
        ));
    }
    let tx = store.conn.unchecked_transaction()?;
    for (id, seen, flagged) in &undo.flags {
        store.set_local_flags(*id, Some(*seen), Some(*flagged), false)?;
    }
    for (id, from) in &undo.moved {
        store.move_local_message(*id, *from)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ListQuery;

    fn mail(id: &str) -> Vec<u8> {
        format!(
            "From: a@x.test\r\nTo: b@y.test\r\nSubject: hi {id}\r\nMessage-ID: <{id}>\r\n\
             Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nbody\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn delivers_with_fresh_uids_and_files_a_sent_copy_once() {
        let store = Store::open_in_memory().unwrap();
        store.ensure_account("demo", "b@y.test", None).unwrap();
        let inbox = LocalFolder {
            account: "demo",
            role: "inbox",
            default_name: "INBOX",
        };
        let a = deliver(&store, inbox, mail("1@x"), false, 0).unwrap();
        let b = deliver(&store, inbox, mail("1@x"), false, 0).unwrap();
        assert_eq!(a.folder, "INBOX");
        assert_ne!(a.id, b.id);
        let listed = |folder: &str| {
            store
                .list_messages(&ListQuery {
                    folder: Some(folder.into()),
                    ..Default::default()
                })
                .unwrap()
        };
        let rows = listed("INBOX");
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|m| !m.seen));
        let mut uids: Vec<u32> = rows.iter().map(|m| m.uid).collect();
        uids.sort();
        assert_eq!(uids, vec![1, 2]);

        let sent = LocalFolder {
            account: "demo",
            role: "sent",
            default_name: "Sent",
        };
        assert!(file_once(&store, sent, mail("2@x"), "<2@x>", 0)
            .unwrap()
            .id
            .is_some());
        assert_eq!(
            file_once(&store, sent, mail("2@x"), "2@x", 0).unwrap().id,
            None
        );
        let rows = listed("Sent");
        assert_eq!(rows.len(), 1);
        assert!(rows[0].seen);
    }

    #[test]
    fn local_triage_moves_and_flags_at_once_for_good_and_undoes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.sqlite3");
        let store = Store::open(&db).unwrap();
        store.ensure_account("demo", "b@y.test", None).unwrap();
        let folder = |role, name| LocalFolder {
            account: "demo",
            role,
            default_name: name,
        };
        let a = deliver(&store, folder("inbox", "INBOX"), mail("a@x"), false, 0)
            .unwrap()
            .id
            .unwrap();
        let b = deliver(&store, folder("inbox", "INBOX"), mail("b@x"), false, 0)
            .unwrap()
            .id
            .unwrap();
        // The destinations exist (the demo makes them all).
        deliver(&store, folder("archive", "Archive"), mail("old@x"), true, 0).unwrap();
        deliver(&store, folder("trash", "Trash"), mail("t@x"), true, 0).unwrap();
        let listed = |store: &Store, f: &str| -> Vec<String> {
            store
                .list_messages(&ListQuery {
                    folder: Some(f.into()),
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .map(|m| m.message_id.unwrap_or_default())
                .collect()
        };
        let archived = apply(&store, &[a], &ops::Action::Archive).unwrap();
        apply(&store, &[b], &ops::Action::Flagged(true)).unwrap();
        assert!(!archived.is_permanent());
        assert_eq!(listed(&store, "INBOX"), ["<b@x>"]);
        assert_eq!(listed(&store, "Archive").len(), 2);
        assert_eq!(
            store
                .pending_ops(store.account_id("demo").unwrap())
                .unwrap(),
            []
        );
        // A restart finds the folders as they were left.
        drop(store);
        let store = Store::open(&db).unwrap();
        assert_eq!(listed(&store, "INBOX"), ["<b@x>"]);
        assert!(store.message_ref(b).unwrap().flagged);
        assert!(listed(&store, "Archive").contains(&"<a@x>".to_string()));
        undo(&store, &archived).unwrap();
        assert_eq!(listed(&store, "INBOX").len(), 2);

        // Delete goes to Trash, and from Trash for good, which cannot be undone.
        apply(&store, &[a], &ops::Action::Delete).unwrap();
        assert!(listed(&store, "Trash").contains(&"<a@x>".to_string()));
        let erased = apply(&store, &[a], &ops::Action::Delete).unwrap();
        assert!(erased.is_permanent());
        assert!(!listed(&store, "Trash").contains(&"<a@x>".to_string()));
        assert!(undo(&store, &erased).is_err());
    }
}
