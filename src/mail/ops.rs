//! Local changes to mail — flag, move, archive, delete — reaching the server, two ways:
//!
//! * [`apply_now`] (the CLI): the server first, then the store; if the server refuses, the store is
//!   left unchanged and the error says why.
//! * [`queue`] (the TUI): the store changes at once (rows marked `pending`, moved rows hidden) and a
//!   `pending_ops` row is queued; [`replay_pending`] (run at the start of every sync and by the
//!   watcher after `sync_now`) pushes the queue to the server. A refusal rolls the local change
//!   back and is reported as [`SyncEvent::OpRolledBack`]; a network error keeps the op queued.
//!   [`queue`] returns an [`Undo`] for the TUI's `z`, applied with [`queue_undo`].
//!
//! Moves use MOVE when offered, else COPY + `\Deleted` + UID EXPUNGE. A moved message is removed
//! from the source locally; the next sync of the destination brings it with its new UID.
//! Folders are named by their wire names (modified UTF-7) in queued ops and on the server; a
//! destination a person typed is looked up as shown or as on the wire (`mailbox_name::find`).

use super::account::{MailAccount, SyncError, SyncEvent};
use super::imap::{self as imapconn, Connection, ImapError};
use super::mailbox_name::{self, FindError};
use crate::store::{Folder, MessageRef, NewOp, PendingOp, Store, StoreError};
use std::collections::BTreeMap;

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Seen(bool),
    Flagged(bool),
    /// To the named folder of the message's account.
    Move(String),
    /// To the account's Archive-role folder.
    Archive,
    /// To the Trash-role folder; in Trash already: `\Deleted` and expunge.
    Delete,
}

/// A change as the server sees it, for one folder's UIDs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ServerChange {
    Flag { add: bool, flag: &'static str },
    Move { dest: String },
    Expunge,
}

fn flag_name(action: &Action) -> Option<(&'static str, bool)> {
    match action {
        Action::Seen(v) => Some(("\\Seen", *v)),
        Action::Flagged(v) => Some(("\\Flagged", *v)),
        _ => None,
    }
}

/// Works out what `action` means for one message: the server change, or an error the user can
/// act on (no Archive folder, unknown folder…). `None` means nothing to do (already there).
pub(crate) fn resolve(
    store: &Store,
    msg: &MessageRef,
    action: &Action,
) -> Result<Option<ServerChange>, SyncError> {
    if let Some((flag, add)) = flag_name(action) {
        return Ok(Some(ServerChange::Flag { add, flag }));
    }
    let dest = match action {
        Action::Move(name) => find_folder(store, msg, name)?,
        // With no Archive folder but an \All one (Gmail), archiving takes the message out of
        // INBOX into All Mail — on Gmail that removes the INBOX label.
        Action::Archive => match store.folder_by_role(msg.account_id, "archive")? {
            Some(f) => Some(f),
            None => store.folder_by_role(msg.account_id, "all")?,
        }
        .ok_or_else(|| {
            SyncError::Invalid(format!(
                "account {} has no Archive folder (set [accounts.{}.folders] archive = \"NAME\")",
                msg.account, msg.account
            ))
        })?,
        Action::Delete => {
            if msg.folder_role.as_deref() == Some("trash") {
                return Ok(Some(ServerChange::Expunge));
            }
            store
                .folder_by_role(msg.account_id, "trash")?
                .ok_or_else(|| {
                    SyncError::Invalid(format!(
                        "account {} has no Trash folder (set [accounts.{}.folders] trash = \"NAME\")",
                        msg.account, msg.account
                    ))
                })?
        }
        Action::Seen(_) | Action::Flagged(_) => unreachable!("handled above"),
    };
    if dest.id == msg.folder_id {
        return Ok(None);
    }
    Ok(Some(ServerChange::Move { dest: dest.name }))
}

/// The folder of the message's account a person named, as shown ("Архив") or by its wire name.
fn find_folder(store: &Store, msg: &MessageRef, name: &str) -> Result<Folder, SyncError> {
    let folders = store.folders(msg.account_id)?;
    match mailbox_name::find(&folders, name) {
        Ok(f) => Ok(f.clone()),
        Err(FindError::NotFound) => {
            let known: Vec<String> = folders
                .iter()
                .map(|f| mailbox_name::display(&f.name).into_owned())
                .collect();
            Err(SyncError::Invalid(format!(
                "no folder {name:?} in account {} (known: {})",
                msg.account,
                known.join(", ")
            )))
        }
        Err(FindError::Ambiguous(wire)) => Err(SyncError::Invalid(format!(
            "{name:?} names several folders in account {}; give the server's name: {}",
            msg.account,
            wire.join(", ")
        ))),
    }
}

/// Runs one change on the server for `uids` of `folder` (a wire name, as is `dest` in a
/// move), checking the folder is still the generation (`uidvalidity`) the UIDs belong to.
fn run_on_server(
    conn: &mut Connection,
    folder: &str,
    uidvalidity: Option<u32>,
    uids: &[u32],
    change: &ServerChange,
) -> Result<(), SyncError> {
    let wire = folder;
    let folder = mailbox_name::display(wire);
    let mb = conn
        .session
        .select(wire)
        .map_err(conn.err(format!("SELECT {folder}")))?;
    if uidvalidity.is_some() && mb.uid_validity != uidvalidity {
        return Err(SyncError::Invalid(format!(
            "{folder} was reset on the server since the last sync; run `tidings sync` and try again"
        )));
    }
    let set = imapconn::uid_set(uids);
    let s = &mut conn.session;
    let addr = conn.addr.clone();
    let wrap = |context: String| {
        let addr = addr.clone();
        move |source| ImapError::Protocol {
            addr,
            context,
            source: Box::new(source),
        }
    };
    match change {
        ServerChange::Flag { add, flag } => {
            let q = format!("{}FLAGS.SILENT ({flag})", if *add { "+" } else { "-" });
            s.uid_store(&set, q)
                .map_err(wrap(format!("UID STORE in {folder}")))?;
        }
        ServerChange::Move { dest: dest_wire } => {
            let dest = mailbox_name::display(dest_wire);
            if conn.caps.mv {
                s.uid_mv(&set, dest_wire)
                    .map_err(wrap(format!("UID MOVE {folder} → {dest}")))?;
            } else {
                // Unlike uid_mv, the imap crate sends uid_copy's mailbox as given: quote it.
                let quoted = imapconn::quote(dest_wire).ok_or_else(|| {
                    SyncError::Invalid(format!("folder name {dest:?} holds a line break"))
                })?;
                s.uid_copy(&set, quoted)
                    .map_err(wrap(format!("UID COPY {folder} → {dest}")))?;
                s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                    .map_err(wrap(format!("UID STORE in {folder}")))?;
                expunge(s, conn.caps.uidplus, &set)
                    .map_err(wrap(format!("EXPUNGE in {folder}")))?;
            }
        }
        ServerChange::Expunge => {
            s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                .map_err(wrap(format!("UID STORE in {folder}")))?;
            expunge(s, conn.caps.uidplus, &set).map_err(wrap(format!("EXPUNGE in {folder}")))?;
        }
    }
    Ok(())
}

fn expunge(s: &mut imapconn::Session, uidplus: bool, set: &str) -> imap::Result<()> {
    if uidplus {
        s.uid_expunge(set).map(|_| ())
    } else {
        // Without UIDPLUS only a plain EXPUNGE exists; it also removes other \Deleted messages,
        // which is what the user asked of those too.
        s.expunge().map(|_| ())
    }
}

/// Messages of one account by (folder, what the server must do).
type FolderGroups = BTreeMap<(String, Option<ServerChange>), Vec<MessageRef>>;

/// What [`apply_now`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub changed: usize,
    pub unchanged: usize,
}

/// The CLI's path: changes the server, then the store. Messages may belong to several accounts
/// and folders; each account gets one connection. Stops at the first server error, leaving the
/// store as it was for the messages not done.
pub fn apply_now(
    accounts: &[MailAccount],
    store: &Store,
    ids: &[i64],
    action: &Action,
) -> Result<ApplyReport, SyncError> {
    let mut groups: BTreeMap<String, FolderGroups> = BTreeMap::new();
    for id in ids {
        let m = store.message_ref(*id)?;
        let change = resolve(store, &m, action)?;
        groups
            .entry(m.account.clone())
            .or_default()
            .entry((m.folder.clone(), change))
            .or_default()
            .push(m);
    }
    let mut report = ApplyReport::default();
    for (account_name, by_folder) in groups {
        let account = accounts
            .iter()
            .find(|a| a.name == account_name)
            .ok_or_else(|| {
                SyncError::Invalid(format!(
                    "account {account_name:?} is in the cache but not in the config"
                ))
            })?;
        let mut conn: Option<Connection> = None;
        for ((folder, change), msgs) in by_folder {
            let Some(change) = change else {
                report.unchanged += msgs.len();
                continue;
            };
            if conn.is_none() {
                conn = Some(account.connect()?);
            }
            let Some(c) = conn.as_mut() else { continue };
            let mut uids: Vec<u32> = msgs.iter().map(|m| m.uid).collect();
            uids.sort_unstable();
            run_on_server(c, &folder, msgs[0].uidvalidity, &uids, &change)?;
            let tx = store.conn.unchecked_transaction()?;
            for m in &msgs {
                match &change {
                    ServerChange::Flag { add, flag } => {
                        let (seen, flagged) = if *flag == "\\Seen" {
                            (Some(*add), None)
                        } else {
                            (None, Some(*add))
                        };
                        store.set_local_flags(m.id, seen, flagged, m.pending)?;
                    }
                    ServerChange::Move { .. } | ServerChange::Expunge => {
                        store.delete_message_row(m.id)?;
                    }
                }
            }
            tx.commit()?;
            report.changed += msgs.len();
        }
        if let Some(c) = conn {
            c.logout();
        }
    }
    Ok(report)
}

/// How to take back one queued action (the TUI's `z`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undo {
    items: Vec<UndoItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum UndoItem {
    Flag {
        row: i64,
        action: Action,
    },
    Moved {
        row: i64,
        op_id: i64,
        account_id: i64,
        from: String,
        to: String,
        message_id: Option<String>,
    },
    Expunged,
}

/// The TUI's path: changes the store at once and queues the change for [`replay_pending`].
/// Returns how to undo it.
pub fn queue(store: &Store, ids: &[i64], action: &Action) -> Result<Undo, SyncError> {
    let tx = store.conn.unchecked_transaction()?;
    let mut items = Vec::new();
    for id in ids {
        let m = store.message_ref(*id)?;
        let Some(change) = resolve(store, &m, action)? else {
            continue;
        };
        let uidvalidity = m.uidvalidity.unwrap_or(0);
        match &change {
            ServerChange::Flag { add, flag } => {
                let is_seen = *flag == "\\Seen";
                let prev = if is_seen { m.seen } else { m.flagged };
                let arg = format!("{}{flag}", if *add { "+" } else { "-" });
                store.queue_op(&NewOp {
                    account_id: m.account_id,
                    folder: &m.folder,
                    uid: m.uid,
                    uidvalidity,
                    kind: "flag",
                    arg: &arg,
                    message_row: Some(m.id),
                    prev_value: Some(i64::from(prev)),
                })?;
                let (seen, flagged) = if is_seen {
                    (Some(*add), None)
                } else {
                    (None, Some(*add))
                };
                store.set_local_flags(m.id, seen, flagged, true)?;
                let back = if is_seen {
                    Action::Seen(prev)
                } else {
                    Action::Flagged(prev)
                };
                items.push(UndoItem::Flag {
                    row: m.id,
                    action: back,
                });
            }
            ServerChange::Move { dest } => {
                let op_id = store.queue_op(&NewOp {
                    account_id: m.account_id,
                    folder: &m.folder,
                    uid: m.uid,
                    uidvalidity,
                    kind: "move",
                    arg: dest,
                    message_row: Some(m.id),
                    prev_value: Some(i64::from(m.deleted)),
                })?;
                store.set_hidden(m.id, true, true)?;
                items.push(UndoItem::Moved {
                    row: m.id,
                    op_id,
                    account_id: m.account_id,
                    from: m.folder.clone(),
                    to: dest.clone(),
                    message_id: m.message_id.clone(),
                });
            }
            ServerChange::Expunge => {
                store.queue_op(&NewOp {
                    account_id: m.account_id,
                    folder: &m.folder,
                    uid: m.uid,
                    uidvalidity,
                    kind: "expunge",
                    arg: "",
                    message_row: Some(m.id),
                    prev_value: Some(i64::from(m.deleted)),
                })?;
                store.set_hidden(m.id, true, true)?;
                items.push(UndoItem::Expunged);
            }
        }
    }
    tx.commit()?;
    Ok(Undo { items })
}

/// Takes back a queued action: flags are set back (queued like any change); a move not yet on
/// the server is cancelled locally, one already done is queued to move back, found in the
/// destination by Message-ID. A delete from Trash cannot be undone.
pub fn queue_undo(store: &Store, undo: &Undo) -> Result<(), SyncError> {
    if undo.items.iter().any(|i| matches!(i, UndoItem::Expunged)) {
        return Err(SyncError::Invalid(
            "a message deleted from Trash is gone for good; it cannot be undone".into(),
        ));
    }
    for item in &undo.items {
        match item {
            UndoItem::Flag { row, action } => {
                // The row may be gone (moved since); then there is nothing left to undo.
                match store.message_ref(*row) {
                    Ok(_) => {
                        queue(store, &[*row], action)?;
                    }
                    Err(StoreError::NoSuchMessage(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            UndoItem::Moved {
                row,
                op_id,
                account_id,
                from,
                to,
                message_id,
            } => {
                if store.cancel_op(*op_id)?.is_some() {
                    store.set_hidden(*row, false, false)?;
                    // Other ops may still wait on the row.
                    store.conn.execute(
                        "UPDATE messages SET pending = 1 WHERE id = ?1
                             AND EXISTS (SELECT 1 FROM pending_ops WHERE message_row = ?1)",
                        [row],
                    )?;
                    continue;
                }
                let Some(mid) = message_id else {
                    return Err(SyncError::Invalid(
                        "the message has no Message-ID, so it cannot be found to move it back"
                            .into(),
                    ));
                };
                store.queue_op(&NewOp {
                    account_id: *account_id,
                    folder: to,
                    uid: 0,
                    uidvalidity: 0,
                    kind: "move_msgid",
                    arg: &format!("{from}\n{mid}"),
                    message_row: None,
                    prev_value: None,
                })?;
            }
            UndoItem::Expunged => {}
        }
    }
    Ok(())
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub done: u64,
    pub rolled_back: u64,
}

/// Pushes queued ops to the server in order. A refusal (NO/BAD, a reset folder, a message no
/// longer found) rolls the op back locally and reports it; a network error stops the replay and
/// leaves the rest queued for the next attempt.
pub fn replay_pending(
    conn: &mut Connection,
    store: &Store,
    account: &MailAccount,
    on_event: &mut dyn FnMut(SyncEvent),
) -> Result<ReplayReport, SyncError> {
    let account_id = account.ensure_in_store(store)?;
    let mut report = ReplayReport::default();
    for op in store.pending_ops(account_id)? {
        let result = replay_one(conn, &op);
        match result {
            Ok(()) => {
                match op.kind.as_str() {
                    "move" | "expunge" => {
                        if let Some(row) = op.message_row {
                            store.delete_message_row(row)?;
                        }
                    }
                    _ => {}
                }
                store.finish_op(&op)?;
                report.done += 1;
            }
            Err(e) if is_permanent(&e) => {
                let reason = e.to_string();
                tracing::warn!(op = op.id, kind = %op.kind, "rolled back: {reason}");
                rollback(store, &op)?;
                report.rolled_back += 1;
                on_event(SyncEvent::OpRolledBack {
                    account: account.name.clone(),
                    message_row: op.message_row,
                    reason,
                });
            }
            Err(e) => {
                store.op_failed_transiently(op.id, &e.to_string())?;
                return Err(e);
            }
        }
    }
    Ok(report)
}

fn is_permanent(e: &SyncError) -> bool {
    match e {
        SyncError::Imap(i) => i.is_refusal(),
        SyncError::Invalid(_) => true,
        SyncError::Store(_) | SyncError::Sql(_) | SyncError::Stopped => false,
    }
}

fn replay_one(conn: &mut Connection, op: &PendingOp) -> Result<(), SyncError> {
    let uidvalidity = (op.uidvalidity != 0).then_some(op.uidvalidity);
    match op.kind.as_str() {
        "flag" => {
            let (add, name) = op.arg.split_at(1);
            let flag = match name {
                "\\Seen" => "\\Seen",
                "\\Flagged" => "\\Flagged",
                other => {
                    return Err(SyncError::Invalid(format!("unknown queued flag {other:?}")));
                }
            };
            let change = ServerChange::Flag {
                add: add == "+",
                flag,
            };
            run_on_server(conn, &op.folder, uidvalidity, &[op.uid], &change)
        }
        "move" => run_on_server(
            conn,
            &op.folder,
            uidvalidity,
            &[op.uid],
            &ServerChange::Move {
                dest: op.arg.clone(),
            },
        ),
        "expunge" => run_on_server(
            conn,
            &op.folder,
            uidvalidity,
            &[op.uid],
            &ServerChange::Expunge,
        ),
        "move_msgid" => {
            let Some((back_to, mid)) = op.arg.split_once('\n') else {
                return Err(SyncError::Invalid("malformed queued undo".into()));
            };
            let shown = mailbox_name::display(&op.folder).into_owned();
            conn.session
                .select(&op.folder)
                .map_err(conn.err(format!("SELECT {shown}")))?;
            let quoted = imapconn::quote(mid)
                .ok_or_else(|| SyncError::Invalid("Message-ID holds a line break".into()))?;
            let mut uids: Vec<u32> = conn
                .session
                .uid_search(format!("HEADER Message-ID {quoted}"))
                .map_err(conn.err(format!("UID SEARCH in {shown}")))?
                .into_iter()
                .collect();
            if uids.is_empty() {
                return Err(SyncError::Invalid(format!(
                    "cannot undo: {mid} is no longer in {shown}"
                )));
            }
            uids.sort_unstable();
            run_on_server(
                conn,
                &op.folder,
                None,
                &uids,
                &ServerChange::Move {
                    dest: back_to.to_string(),
                },
            )
        }
        other => Err(SyncError::Invalid(format!("unknown queued op {other:?}"))),
    }
}

/// Puts the row back as it was before the op and forgets the op.
fn rollback(store: &Store, op: &PendingOp) -> Result<(), StoreError> {
    if let (Some(row), Some(prev)) = (op.message_row, op.prev_value) {
        let prev = prev != 0;
        match op.kind.as_str() {
            "flag" if op.arg.ends_with("\\Seen") => {
                store.set_local_flags(row, Some(prev), None, true)?
            }
            "flag" => store.set_local_flags(row, None, Some(prev), true)?,
            "move" | "expunge" => store.set_hidden(row, prev, true)?,
            _ => {}
        }
    }
    store.finish_op(op)
}
