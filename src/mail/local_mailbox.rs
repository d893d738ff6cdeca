//! Mail that lives only in the local cache, for accounts without an IMAP server (the demo's):
//! files a raw message into one of the account's folders the way sync stores fetched mail —
//! parsed by [`parse_message`], stored by [`Store::put_message`] under the folder's next UID, in
//! one IMMEDIATE transaction so two writers (the demo's SMTP receiver and the outbox) never
//! pick the same UID.

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
}
