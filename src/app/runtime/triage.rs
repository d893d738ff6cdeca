//! Where triage changes go: the [`TriageBackend`] the runtime's writer hands them to, and the
//! mail engine's implementation of it.

use crate::app::view::Change;
use crate::mail::{local_mailbox, ops};
use crate::store::Store;

/// Where triage changes go: the local store at once, and the server (now or queued). `op`
/// identifies a change so that it can be undone later.
pub trait TriageBackend: Send + Sync {
    fn apply(&self, store: &Store, op: u64, ids: &[i64], change: &Change) -> Result<(), String>;
    /// Takes back change `of` (the inverse of `apply`).
    fn undo(&self, store: &Store, of: u64) -> Result<(), String>;
}

/// Triage through the mail engine: `mail::ops::queue` changes the cache at once and queues the
/// change in `pending_ops`; the account's sync watcher (poked through `after_queue`) replays the
/// queue to the server and rolls back what the server refuses.
pub struct OpsBackend {
    undos: std::sync::Mutex<std::collections::HashMap<u64, Vec<Undo>>>,
    after_queue: Box<dyn Fn() + Send + Sync>,
    /// Accounts without an IMAP server: their changes apply to the local folders for good
    /// (`mail::local_mailbox`) instead of waiting in a queue no server will ever take.
    local_accounts: std::collections::HashSet<String>,
}

/// How to take back one part of a change: queued for a server, or done locally.
enum Undo {
    Queued(ops::Undo),
    Local(local_mailbox::LocalUndo),
}

impl OpsBackend {
    /// `after_queue` runs after every queued change (e.g. `WatcherHandle::sync_now` for each account).
    pub fn new(after_queue: Box<dyn Fn() + Send + Sync>) -> OpsBackend {
        OpsBackend {
            undos: Default::default(),
            after_queue,
            local_accounts: Default::default(),
        }
    }

    /// Marks `accounts` as having no server (no `[imap]`): their mail is triaged locally.
    pub fn with_local_accounts(mut self, accounts: impl IntoIterator<Item = String>) -> Self {
        self.local_accounts.extend(accounts);
        self
    }

    /// Queues only: for demo data and tests, where no server is behind the cache.
    pub fn local_only() -> OpsBackend {
        OpsBackend::new(Box::new(|| {}))
    }
}

impl Default for OpsBackend {
    fn default() -> Self {
        OpsBackend::local_only()
    }
}

fn ops_action(change: &Change) -> ops::Action {
    match change {
        Change::Seen(v) => ops::Action::Seen(*v),
        Change::Flagged(v) => ops::Action::Flagged(*v),
        Change::Archive => ops::Action::Archive,
        Change::Delete => ops::Action::Delete,
        Change::Move(f) => ops::Action::Move(f.clone()),
    }
}

impl TriageBackend for OpsBackend {
    fn apply(&self, store: &Store, op: u64, ids: &[i64], change: &Change) -> Result<(), String> {
        let action = ops_action(change);
        let mut local = Vec::new();
        let mut queued = Vec::new();
        for id in ids {
            let account = store.message_ref(*id).map_err(|e| e.to_string())?.account;
            if self.local_accounts.contains(&account) {
                local.push(*id);
            } else {
                queued.push(*id);
            }
        }
        let mut undo = Vec::new();
        if !local.is_empty() {
            let done = local_mailbox::apply(store, &local, &action).map_err(|e| e.to_string())?;
            undo.push(Undo::Local(done));
        }
        if !queued.is_empty() {
            let q = ops::queue(store, &queued, &action).map_err(|e| e.to_string())?;
            undo.push(Undo::Queued(q));
            (self.after_queue)();
        }
        if let Ok(mut undos) = self.undos.lock() {
            undos.insert(op, undo);
        }
        Ok(())
    }

    fn undo(&self, store: &Store, of: u64) -> Result<(), String> {
        let undo = self
            .undos
            .lock()
            .map_err(|_| "undo state is unavailable".to_string())?
            .remove(&of)
            .ok_or("nothing to undo for that change")?;
        for part in &undo {
            match part {
                Undo::Queued(q) => {
                    ops::queue_undo(store, q).map_err(|e| e.to_string())?;
                    (self.after_queue)();
                }
                Undo::Local(l) => local_mailbox::undo(store, l).map_err(|e| e.to_string())?,
            }
        }
        Ok(())
    }
}
