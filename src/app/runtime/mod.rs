//! Runs [`Effect`]s off the UI loop and reports back as [`Msg`]s: reads on tokio's blocking pool
//! (each with its own `Store`), writes on one worker thread so they reach the store in the order the
//! user made them, network lookups as tokio tasks. Server-side triage goes through a
//! [`TriageBackend`]. One file per feature holds the work itself; this one only dispatches.

pub mod activity;
pub mod compose;
pub mod followups;
pub mod list;
pub mod outbox;
pub mod people;
pub mod reader;
pub mod schedule;
pub mod snooze;
pub mod triage;

pub use compose::queue_draft;
pub use list::{load_configured_folders, load_folders, FIRST_PAGE, SEARCH_LIMIT};
pub use reader::reader_content;
pub use triage::{OpsBackend, TriageBackend};

use crate::app::activity::ActivityEffect;
use crate::app::compose::ComposeEffect;
use crate::app::contact::{PeopleEffect, PeopleMsg};
use crate::app::msg::{Effect, Msg};
use crate::app::outbox_view::{OutboxEffect, OutboxMsg};
use crate::config::Config;
use crate::mail::drafts::Autosaver;
use crate::mail::outbox::{Backoff, OutboxEvent, OutboxWorker, Outcome};
use crate::mail::sync::SyncEvent;
use crate::store::Store;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

pub struct Runtime {
    db: PathBuf,
    tx: UnboundedSender<Msg>,
    writes: std::sync::mpsc::Sender<WriterJob>,
    writer: Option<std::thread::JoinHandle<()>>,
    config: Arc<Config>,
    /// Sends queued mail in the background; `None` when no account has SMTP.
    outbox: Option<OutboxWorker>,
    /// The config file, named in the errors of a body downloaded on demand.
    config_path: PathBuf,
    /// Brings snoozed messages back at their time.
    snoozes: Option<snooze::Returner>,
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
            sort,
        } => list::load_messages(store, generation, query, list::ListView { threads, sort }),
        Effect::SelectMatching {
            generation,
            query,
            pattern,
            select,
        } => vec![list::select_matching(
            store, generation, &query, pattern, select,
        )],
        Effect::LoadMessage { id } => vec![reader::load_message(store, id)],
        // Called directly (tests), the download runs here; the runtime runs it as a task.
        Effect::FetchBody { id } => vec![reader::fetch_body(
            store,
            config,
            Path::new("the config file"),
            id,
        )],
        Effect::Triage { op, ids, change } => finished(op, backend.apply(store, op, &ids, &change)),
        Effect::Undo { op, of } => finished(op, backend.undo(store, of)),
        Effect::SaveAttachment { id, index, path } => {
            let src = reader::AttachmentSource {
                store,
                config,
                config_path: Path::new("the config file"),
            };
            vec![match reader::save_attachment(&src, id, index, &path) {
                Ok(n) => Msg::Notice(format!("saved {} ({n} bytes)", path.display())),
                Err(e) => Msg::Error(format!("saving {}: {e}", path.display())),
            }]
        }
        Effect::Compose(
            e @ (ComposeEffect::Autosave { .. }
            | ComposeEffect::DiscardDraft { .. }
            | ComposeEffect::DraftToServer { .. }
            | ComposeEffect::QueueDraft { .. }),
        ) => compose::perform_write(store, config, savers, e),
        Effect::Compose(e) => compose::perform_read(store, config, Path::new("the config file"), e),
        Effect::Outbox(OutboxEffect::Load) => {
            vec![Msg::Outbox(OutboxMsg::Loaded(outbox::load(store)))]
        }
        Effect::Outbox(OutboxEffect::Change { id, change, .. }) => {
            vec![Msg::Outbox(OutboxMsg::Changed(
                outbox::perform_change(
                    store.path(),
                    config,
                    id,
                    change,
                    crate::clock::now().timestamp(),
                )
                .map(Box::new),
            ))]
        }
        Effect::People(PeopleEffect::Lookup {
            target,
            refresh,
            config,
        }) => {
            // Called directly (tests), the lookup runs on the tokio runtime the caller entered.
            let report = match tokio::runtime::Handle::try_current() {
                Ok(rt) => rt.block_on(people::lookup_report(
                    store.path().to_path_buf(),
                    config,
                    target.clone(),
                    refresh,
                )),
                Err(e) => Err(format!("a Superdata lookup needs the tokio runtime: {e}")),
            };
            vec![Msg::People(PeopleMsg::LookedUp { target, report })]
        }
        Effect::People(e) => people::perform(store, e)
            .map(Msg::People)
            .into_iter()
            .collect(),
        Effect::Activity(e) => activity::perform(store, e),
        Effect::Snooze { ids, until } => snooze::perform(store, config, &ids, until),
        Effect::FollowUp(e) => followups::perform(store, e),
        Effect::OpenAttachment { .. }
        | Effect::OpenUrl { .. }
        | Effect::Copy { .. }
        | Effect::Outbox(OutboxEffect::Flush { .. })
        | Effect::Ui(_)
        | Effect::Quit => Vec::new(),
    }
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
            config_path: PathBuf::from("the config file"),
            snoozes: None,
        }
    }

    /// Names the config file in the errors the runtime reports (a login that failed while
    /// downloading a message, say).
    pub fn config_file(mut self, path: &Path) -> Runtime {
        self.config_path = path.to_path_buf();
        self
    }

    /// Gives the runtime the accounts (for the composer) and starts the outbox worker when an
    /// account can send. Call from inside the tokio runtime.
    pub fn with_config(mut self, config: &Config) -> Runtime {
        self.config = Arc::new(config.clone());
        // Queueing a draft applies [tracking] (consent, opt-out link): the writer needs it too.
        let _ = self.writes.send(WriterJob::Config(self.config.clone()));
        if !config.accounts.is_empty() {
            self.snoozes = Some(snooze::Returner::spawn(
                config.clone(),
                self.db.clone(),
                self.tx.clone(),
            ));
        }
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
            let local_sent = outbox::local_sent_folders(config);
            tokio::spawn(async move {
                while let Some(ev) = erx.recv().await {
                    let sent = matches!(&ev, OutboxEvent::Flushed(rs)
                        if rs.iter().any(|r| r.outcome == Outcome::Sent));
                    if tx.send(outbox::outbox_msg(ev)).is_err()
                        || tx.send(Msg::Outbox(OutboxMsg::Stale)).is_err()
                    {
                        break;
                    }
                    // The outbox files these accounts' Sent copies in the store itself: show them.
                    for (account, folder) in local_sent.iter().filter(|_| sent) {
                        let _ = tx.send(Msg::Sync(SyncEvent::FolderChanged {
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
        if let Some(s) = self.snoozes.take() {
            s.stop();
        }
    }

    /// Starts `effect`; never blocks.
    pub fn run(&self, effect: Effect) {
        match effect {
            // The UI loop takes these before they reach the runtime.
            Effect::Quit | Effect::Ui(_) => {}
            Effect::Compose(ComposeEffect::ExternalEditor { .. }) => {}
            Effect::Outbox(OutboxEffect::Flush { account }) => {
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
                        people::lookup_report(db, config, target.clone(), refresh).await;
                    let _ = tx.send(Msg::People(PeopleMsg::LookedUp { target, report }));
                });
            }
            Effect::Triage { .. }
            | Effect::Undo { .. }
            | Effect::Compose(
                ComposeEffect::Autosave { .. }
                | ComposeEffect::DiscardDraft { .. }
                | ComposeEffect::DraftToServer { .. }
                | ComposeEffect::QueueDraft { .. },
            )
            // Gathering contacts writes too: on the one writer, so it never races a triage
            // change for SQLite's write lock.
            | Effect::People(
                PeopleEffect::SetTracking { .. }
                | PeopleEffect::Forget { .. }
                | PeopleEffect::RefreshContacts,
            )
            // Marks notifications read.
            | Effect::Activity(ActivityEffect::ReadFeed)
            | Effect::FollowUp(_) => {
                if self.writes.send(WriterJob::Effect(effect)).is_err() {
                    let _ = self.tx.send(Msg::Error(
                        "the store writer stopped; restart tidings".into(),
                    ));
                }
            }
            Effect::FetchBody { id } => {
                // Its own blocking task and IMAP connection: ahead of the background sync,
                // never on the UI loop.
                let config = self.config.clone();
                let path = self.config_path.clone();
                self.read(move |store, tx| {
                    let _ = tx.send(reader::fetch_body(store, &config, &path, id));
                });
            }
            Effect::OpenUrl { url } => {
                let tx = self.tx.clone();
                let opener = self.config.ui.opener.clone();
                tokio::spawn(async move {
                    let _ = tx.send(reader::open_url(opener.as_deref(), &url).await);
                });
            }
            Effect::Copy { text } => {
                let tx = self.tx.clone();
                let osc52 = self.config.ui.osc52;
                tokio::spawn(async move {
                    let _ = tx.send(reader::copy(&text, osc52).await);
                });
            }
            Effect::OpenAttachment { id, index } => {
                let db = self.db.clone();
                let tx = self.tx.clone();
                let config = self.config.clone();
                let config_path = self.config_path.clone();
                tokio::spawn(async move {
                    let file = tokio::task::spawn_blocking(move || {
                        let store = Store::open(&db).map_err(|e| e.to_string())?;
                        let src = reader::AttachmentSource {
                            store: &store,
                            config: &config,
                            config_path: &config_path,
                        };
                        reader::attachment_to_temp(&src, id, index)
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r);
                    let msg = match file {
                        Ok(path) => reader::open_with_system(&path).await,
                        Err(e) => Msg::Error(format!("opening attachment: {e}")),
                    };
                    let _ = tx.send(msg);
                });
            }
            Effect::LoadMessages {
                generation,
                query,
                threads,
                sort,
            } => {
                // Streams: the first page goes out before the whole folder is read.
                self.read(move |store, tx| {
                    let view = list::ListView { threads, sort };
                    for m in list::load_messages_streaming(store, generation, query, view, tx) {
                        let _ = tx.send(m);
                    }
                })
            }
            Effect::Compose(e @ ComposeEffect::Open(_)) => {
                // May download the source's body: the config file names the account in errors.
                let config = self.config.clone();
                let path = self.config_path.clone();
                self.read(move |store, tx| {
                    for m in compose::perform_read(store, &config, &path, e) {
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
