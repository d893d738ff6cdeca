//! Where triage changes go: the [`TriageBackend`] the runtime's writer hands them to, and the
//! mail engine's implementation of it.

use crate::app::view::Change;
use crate::mail::ops;
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
    undos: std::sync::Mutex<std::collections::HashMap<u64, ops::Undo>>,
    after_queue: Box<dyn Fn() + Send + Sync>,
}

impl OpsBackend {
    /// `after_queue` runs after every queued change (e.g. `WatcherHandle::sync_now` for each account).
    pub fn new(after_queue: Box<dyn Fn() + Send + Sync>) -> OpsBackend {
        OpsBackend {
            undos: Default::default(),
            after_queue,
        }
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
        let undo = ops::queue(store, ids, &ops_action(change)).map_err(|e| e.to_string())?;
        if let Ok(mut undos) = self.undos.lock() {
            undos.insert(op, undo);
        }
        (self.after_queue)();
        Ok(())
    }

    fn undo(&self, store: &Store, of: u64) -> Result<(), String> {
        let undo = self
            .undos
            .lock()
            .map_err(|_| "undo state is unavailable".to_string())?
            .remove(&of)
            .ok_or("nothing to undo for that change")?;
        ops::queue_undo(store, &undo).map_err(|e| e.to_string())?;
        (self.after_queue)();
        Ok(())
    }
}
