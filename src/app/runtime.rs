//! Runs [`Effect`]s off the UI loop and reports back as [`Msg`]s: reads on tokio's blocking pool
//! (each with its own `Store`), writes on one worker thread so they reach the store in the order the
//! user made them. Server-side triage goes through a [`TriageBackend`].

use super::compose;
use super::contact::{PeopleEffect, PeopleMsg};
use super::state::*;
use crate::config::Config;
use crate::mail::drafts::Autosaver;
use crate::mail::ops;
use crate::mail::outbox::{Backoff, OutboxEvent, OutboxWorker, Outcome};
use crate::store::{ListQuery, Store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// First rows sent for a folder, so the first frame never waits for a large folder to load.
pub const FIRST_PAGE: u64 = 200;
/// Searches show at most this many results (newest first).
pub const SEARCH_LIMIT: u64 = 2000;

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

pub struct Runtime {
    db: PathBuf,
    tx: UnboundedSender<Msg>,
    writes: std::sync::mpsc::Sender<WriterJob>,
    writer: Option<std::thread::JoinHandle<()>>,
    config: Arc<Config>,
    /// Sends queued mail in the background; `None` when no account has SMTP.
    outbox: Option<OutboxWorker>,
}

/// Runs one store-side effect to completion on the calling thread and returns its answers. The
/// runtime calls it off the UI loop; tests call it directly for a deterministic app.
pub fn perform(store: &Store, backend: &dyn TriageBackend, effect: Effect) -> Vec<Msg> {
    perform_with(
        store,
        backend,
        &Config::default(),
        &mut HashMap::new(),
        effect,
    )
}

/// [`perform`] with the config (accounts, for the composer) and the draft autosavers.
pub fn perform_with(
    store: &Store,
    backend: &dyn TriageBackend,
    config: &Config,
    savers: &mut HashMap<String, Autosaver>,
    effect: Effect,
) -> Vec<Msg> {
    match effect {
        Effect::LoadFolders => vec![Msg::FoldersLoaded(load_configured_folders(store, config))],
        Effect::LoadMessages {
            generation,
            query,
            threads,
        } => load_messages(store, generation, query, threads),
        Effect::LoadMessage { id } => vec![Msg::MessageLoaded {
            id,
            content: reader_content(store, id),
        }],
        Effect::Triage { op, ids, change } => finished(op, backend.apply(store, op, &ids, &change)),
        Effect::Undo { op, of } => finished(op, backend.undo(store, of)),
        Effect::SaveAttachment { id, index, path } => {
            vec![match save_attachment(store, id, index, &path) {
                Ok(n) => Msg::Notice(format!("saved {} ({n} bytes)", path.display())),
                Err(e) => Msg::Error(format!("saving {}: {e}", path.display())),
            }]
        }
        e @ (Effect::Compose(_)
        | Effect::Suggest { .. }
        | Effect::AttachFile { .. }
        | Effect::CompletePath { .. }
        | Effect::FindDrafts
        | Effect::UploadDraft { .. }
        | Effect::DiscardServerDraft { .. }
        | Effect::ResumeDraft) => compose::perform_read(store, config, e),
        Effect::LoadOutbox => vec![Msg::OutboxLoaded(super::outbox_view::load(store))],
        Effect::ChangeOutbox { id, change, .. } => vec![Msg::OutboxChanged(
            super::outbox_view::perform_change(
                store.path(),
                config,
                id,
                change,
                chrono::Utc::now().timestamp(),
            )
            .map(Box::new),
        )],
        e @ (Effect::Autosave { .. }
        | Effect::DiscardDraft { .. }
        | Effect::DraftToServer { .. }
        | Effect::QueueDraft { .. }) => compose::perform_write(store, config, savers, e),
        Effect::People(e) => vec![Msg::People(super::contact::perform_people(store, e))],
        Effect::Activity(e) => super::activity::perform(store, e),
        Effect::OpenAttachment { .. }
        | Effect::ExternalEditor { .. }
        | Effect::FlushOutbox { .. }
        | Effect::Quit => Vec::new(),
    }
}

/// An outbox report as the status bar says it.
fn outbox_msg(ev: OutboxEvent) -> Msg {
    match ev {
        OutboxEvent::Error(e) => Msg::Error(format!("outbox: {e}")),
        OutboxEvent::Flushed(results) => {
            let parts: Vec<String> = results
                .iter()
                .map(|r| {
                    let mail = if r.subject.is_empty() {
                        r.message_id.clone()
                    } else {
                        format!("{:?}", r.subject)
                    };
                    match &r.outcome {
                        Outcome::Sent => format!("sent {mail}"),
                        Outcome::Queued(why) => format!("will retry {mail}: {why}"),
                        Outcome::Failed(why) => format!("refused {mail}: {why}"),
                        Outcome::Unconfirmed(why) => format!("unconfirmed {mail}: {why}"),
                    }
                })
                .collect();
            Msg::Notice(parts.join("; "))
        }
    }
}

/// (account, Sent folder) of the accounts without IMAP, whose Sent copies the outbox files in
/// the store (the demo's).
fn local_sent_folders(config: &Config) -> Vec<(String, String)> {
    use crate::mail::filing::{target, Role};
    config
        .accounts
        .iter()
        .filter(|(_, a)| a.imap.is_none())
        .map(|(name, a)| {
            let sent = target(name, a, None, Role::Sent).known;
            (name.clone(), sent.unwrap_or_else(|| "Sent".into()))
        })
        .collect()
}

fn finished(op: u64, result: Result<(), String>) -> Vec<Msg> {
    if let Err(e) = &result {
        tracing::warn!(op, error = %e, "triage change failed");
    }
    vec![Msg::OpFinished { op, result }]
}

impl Runtime {
    /// Starts the write worker. `db` is the cache file; results arrive on `tx`.
    pub fn new(db: &Path, tx: UnboundedSender<Msg>, backend: Arc<dyn TriageBackend>) -> Runtime {
        let (writes, queue) = std::sync::mpsc::channel::<WriterJob>();
        let db_w = db.to_path_buf();
        let tx_w = tx.clone();
        let writer = std::thread::Builder::new()
            .name("tidings-writes".into())
            .spawn(move || write_worker(&db_w, queue, tx_w, backend))
            .ok();
        Runtime {
            db: db.to_path_buf(),
            tx,
            writes,
            writer,
            config: Arc::new(Config::default()),
            outbox: None,
        }
    }

    /// Gives the runtime the accounts (for the composer) and starts the outbox worker when an
    /// account can send. Call from inside the tokio runtime.
    pub fn with_config(mut self, config: &Config) -> Runtime {
        self.config = Arc::new(config.clone());
        // Queueing a draft applies [tracking] (consent, opt-out link): the writer needs it too.
        let _ = self.writes.send(WriterJob::Config(self.config.clone()));
        if config.accounts.values().any(|a| a.smtp.is_some()) {
            let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
            // The tracked planner: tracked mail is registered with the tracker and sent as one
            // copy per recipient; untracked mail goes out as before.
            self.outbox = Some(OutboxWorker::spawn_with_planner(
                config.clone(),
                self.db.clone(),
                Backoff::default(),
                std::time::Duration::from_secs(60),
                etx,
                crate::tracking::client::send::planner_for,
            ));
            let tx = self.tx.clone();
            let local_sent = local_sent_folders(config);
            tokio::spawn(async move {
                while let Some(ev) = erx.recv().await {
                    let sent = matches!(&ev, OutboxEvent::Flushed(rs)
                        if rs.iter().any(|r| r.outcome == Outcome::Sent));
                    if tx.send(outbox_msg(ev)).is_err() || tx.send(Msg::OutboxStale).is_err() {
                        break;
                    }
                    // The outbox files these accounts' Sent copies in the store itself: show them.
                    for (account, folder) in local_sent.iter().filter(|_| sent) {
                        let _ = tx.send(Msg::Sync(SyncUpdate::FolderChanged {
                            account: account.clone(),
                            folder: folder.clone(),
                        }));
                    }
                }
            });
        }
        self
    }

    /// Waits for the queued writes (the exit autosave among them) and stops the outbox worker.
    pub fn finish(mut self) {
        let (dead, _) = std::sync::mpsc::channel();
        drop(std::mem::replace(&mut self.writes, dead));
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
        if let Some(w) = self.outbox.take() {
            w.stop();
        }
    }

    /// Starts `effect`; never blocks.
    pub fn run(&self, effect: Effect) {
        match effect {
            Effect::Quit => {}
            Effect::ExternalEditor { .. } => {}
            Effect::FlushOutbox { account } => {
                let smtp = self
                    .config
                    .accounts
                    .get(&account)
                    .is_some_and(|a| a.smtp.is_some());
                let msg = match &self.outbox {
                    Some(w) if smtp => {
                        w.flush_now();
                        Msg::Notice("queued in the outbox; sending…".into())
                    }
                    _ => Msg::Notice(format!(
                        "account {account} has no SMTP server: the mail waits in the outbox — \
                         `tidings outbox` lists it"
                    )),
                };
                let _ = self.tx.send(msg);
            }
            Effect::People(PeopleEffect::Lookup {
                target,
                refresh,
                config,
            }) => {
                // Network work: a tokio task, never the UI loop or a blocking-pool thread.
                let db = self.db.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let report =
                        super::contact::lookup_report(db, config, target.clone(), refresh).await;
                    let _ = tx.send(Msg::People(PeopleMsg::LookedUp { target, report }));
                });
            }
            Effect::Triage { .. }
            | Effect::Undo { .. }
            | Effect::Autosave { .. }
            | Effect::DiscardDraft { .. }
            | Effect::DraftToServer { .. }
            | Effect::QueueDraft { .. }
            // Gathering contacts writes too: on the one writer, so it never races a triage
            // change for SQLite's write lock.
            | Effect::People(
                PeopleEffect::SetTracking { .. }
                | PeopleEffect::Forget { .. }
                | PeopleEffect::RefreshContacts,
            )
            // Marks notifications read.
            | Effect::Activity(super::activity::ActivityEffect::ReadFeed) => {
                if self.writes.send(WriterJob::Effect(effect)).is_err() {
                    let _ = self.tx.send(Msg::Error(
                        "the store writer stopped; restart tidings".into(),
                    ));
                }
            }
            Effect::OpenAttachment { id, index } => {
                let db = self.db.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let file = tokio::task::spawn_blocking(move || {
                        let store = Store::open(&db).map_err(|e| e.to_string())?;
                        attachment_to_temp(&store, id, index)
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                    let msg = match file {
                        Ok(path) => open_with_system(&path).await,
                        Err(e) => Msg::Error(format!("opening attachment: {e}")),
                    };
                    let _ = tx.send(msg);
                });
            }
            Effect::LoadMessages {
                generation,
                query,
                threads,
            } => {
                // Streams: the first page goes out before the whole folder is read.
                self.read(move |store, tx| {
                    for m in load_messages_streaming(store, generation, query, threads, tx) {
                        let _ = tx.send(m);
                    }
                })
            }
            other => {
                let config = self.config.clone();
                self.read(move |store, tx| {
                    let backend = OpsBackend::local_only();
                    for m in perform_with(store, &backend, &config, &mut HashMap::new(), other) {
                        let _ = tx.send(m);
                    }
                })
            }
        }
    }

    fn read(&self, job: impl FnOnce(&Store, &UnboundedSender<Msg>) + Send + 'static) {
        let db = self.db.clone();
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || match Store::open(&db) {
            Ok(store) => job(&store, &tx),
            Err(e) => {
                let _ = tx.send(Msg::Error(e.to_string()));
            }
        });
    }
}

/// What the writer thread is given, in order.
enum WriterJob {
    Config(Arc<Config>),
    Effect(Effect),
}

fn write_worker(
    db: &Path,
    queue: std::sync::mpsc::Receiver<WriterJob>,
    tx: UnboundedSender<Msg>,
    backend: Arc<dyn TriageBackend>,
) {
    let store = match Store::open(db) {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(Msg::Error(e.to_string()));
            return;
        }
    };
    let mut config = Arc::new(Config::default());
    let mut savers = HashMap::new();
    for job in queue {
        let effect = match job {
            WriterJob::Config(c) => {
                config = c;
                continue;
            }
            WriterJob::Effect(e) => e,
        };
        for m in perform_with(&store, backend.as_ref(), &config, &mut savers, effect) {
            let _ = tx.send(m);
        }
    }
}

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
                super::folder_display_name(&f.name).to_lowercase(),
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

fn load_messages(store: &Store, generation: u64, q: ListQuery, threads: bool) -> Vec<Msg> {
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
            r.marks = marks_of(m);
        }
    }
}

/// A tracked mail's marks as the list shows them.
pub(super) fn marks_of(m: &crate::store::TrackingMark) -> super::TrackingMarks {
    super::TrackingMarks {
        tracked: true,
        opens: u32::try_from(m.opens).unwrap_or(u32::MAX),
        clicks: u32::try_from(m.clicks).unwrap_or(u32::MAX),
        last_open: m.last_open,
    }
}

/// A first page at once (sent on `early`), then the whole folder (returned), so a huge folder
/// shows immediately.
fn load_messages_streaming(
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
                super::threads::arrange(&mut rows, threads);
                rows
            })
            .map_err(|e| e.to_string())
    };
    if q.search.is_some() {
        q.limit = Some(SEARCH_LIMIT);
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
    vec![Msg::MessagesLoaded {
        generation,
        rows,
        complete: true,
    }]
}

/// The reader's view of message `id`, rendered by `mail::render` (sanitized, HTML as text).
pub use super::tracking_urls::reader_content;

fn attachment_bytes(store: &Store, id: i64, index: usize) -> Result<(String, Vec<u8>), String> {
    let raw = store.raw_message(id).map_err(|e| e.to_string())?;
    crate::mail::render::attachment_bytes(&raw, index)
        .ok_or_else(|| format!("no attachment {}", index + 1))
}

fn save_attachment(store: &Store, id: i64, index: usize, path: &Path) -> Result<usize, String> {
    let (_, bytes) = attachment_bytes(store, id, index)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(path, &bytes).map_err(|e| e.to_string())?;
    Ok(bytes.len())
}

fn attachment_to_temp(store: &Store, id: i64, index: usize) -> Result<PathBuf, String> {
    let (name, bytes) = attachment_bytes(store, id, index)?;
    let dir = std::env::temp_dir().join(format!("tidings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(name);
    std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
    Ok(path)
}

/// xdg-open with its output kept off the terminal the TUI draws on.
async fn open_with_system(path: &Path) -> Msg {
    let child = tokio::process::Command::new("xdg-open")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut c) => match c.wait().await {
            Ok(s) if s.success() => Msg::Notice(format!("opened {}", path.display())),
            Ok(s) => Msg::Error(format!("xdg-open {} exited with {s}", path.display())),
            Err(e) => Msg::Error(format!("xdg-open: {e}")),
        },
        Err(e) => Msg::Error(format!("cannot run xdg-open: {e}")),
    }
}
