//! The tracker's storage: users, registered messages with their recipient and link tokens, events
//! and opt-outs, behind one trait with two backends — SQLite (embedded default, WAL, its own file)
//! and PostgreSQL (the team deployment: several tracker instances sharing one database).
//!
//! Both backends commit a pixel or link hit before [`TrackerDb::record`] returns, batching hits
//! that arrive together into one transaction (group commit), so a crash loses no answered event.

pub mod backup;
pub mod password;
pub mod postgres;
pub mod sqlite;

use super::classify::{
    classify, is_sweep, sweep_reason, Classification, Confidence, EventKind, History,
    RequestVerdict, CLICK_BURST_SECONDS,
};
pub use crate::tracking::wire::*;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// With its whole cause chain ("connection refused", "password authentication failed", "database
    /// … does not exist"): tokio-postgres' own text is only "error connecting to server".
    #[error("postgres: {}", crate::sanitize::error_line(.0))]
    Postgres(tokio_postgres::Error),
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("bad database URL {0:?}: expected sqlite:PATH or postgres://…")]
    BadUrl(String),
    #[error("the database was written by a newer tidings (migration {0:?}); upgrade tidings")]
    TooNew(String),
    #[error("a user named {0:?} exists already")]
    UserExists(String),
    #[error("no tracker user named {0:?}")]
    NoSuchUser(String),
    #[error("tracker user {0:?} was removed")]
    UserRemoved(String),
    #[error("token {0} is registered to another message or user")]
    TokenConflict(String),
    #[error("invalid cursor {0:?}")]
    BadCursor(String),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("{0}")]
    Other(String),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Postgres(e)
    }
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// A request for a pixel or a link, as the server saw it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub kind: EventKind,
    pub token: String,
    pub user_agent: String,
    /// The client's full address, used for classification only.
    pub client_ip: Option<IpAddr>,
    /// What is stored: the address truncated to the configured prefix.
    pub stored_ip: Option<String>,
    pub at: DateTime<Utc>,
    /// SHA-256 of an API token the request carried, if any: the sender's own opens are not counted.
    pub sender_token_hash: Option<String>,
    pub scanner_window_seconds: i64,
    /// [`classify::request_verdict`](super::classify::request_verdict) for this request,
    /// computed by the caller so the single database writer does not have to.
    pub request: RequestVerdict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitOutcome {
    /// The token names a registered recipient (pixel) or link (click).
    pub known: bool,
    /// An event was committed.
    pub recorded: bool,
    /// Where a link redirects (clicks on known tokens only).
    pub url: Option<String>,
}

impl HitOutcome {
    pub fn unknown() -> Self {
        HitOutcome {
            known: false,
            recorded: false,
            url: None,
        }
    }
}

/// An event row as both backends read it, before its text columns are checked.
pub(crate) struct EventRow {
    pub id: i64,
    pub kind: String,
    pub message_id: String,
    pub recipient: String,
    pub url: Option<String>,
    pub at: DateTime<Utc>,
    pub user_agent: String,
    pub ip: Option<String>,
    pub classification: String,
    pub reason: String,
    pub confidence: String,
    pub client: String,
    /// Ids separated by commas (see [`Event::reclassified`]).
    pub reclassified: String,
}

impl TryFrom<EventRow> for Event {
    type Error = DbError;

    fn try_from(r: EventRow) -> Result<Event> {
        Ok(Event {
            id: r.id,
            kind: EventKind::parse(&r.kind)
                .ok_or_else(|| DbError::Other(format!("bad event kind {:?}", r.kind)))?,
            message_id: r.message_id,
            recipient: r.recipient,
            url: r.url,
            at: r.at,
            user_agent: r.user_agent,
            ip: r.ip,
            classification: Classification::parse(&r.classification).ok_or_else(|| {
                DbError::Other(format!("bad classification {:?}", r.classification))
            })?,
            reason: r.reason,
            confidence: Confidence::parse(&r.confidence).unwrap_or_default(),
            client: r.client,
            reclassified: r
                .reclassified
                .split(',')
                .filter_map(|id| id.trim().parse().ok())
                .collect(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Stats {
    /// Users whose token works: removed users (kept until purged) are not counted here.
    pub users: u64,
    /// Users removed without `--purge`: their messages and events are still counted below.
    #[serde(default)]
    pub removed_users: u64,
    pub messages: u64,
    pub opens: u64,
    pub clicks: u64,
}

/// A tracker user as `tidings tracker user list` shows it: never its token or the token's hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Messages registered with its token (kept after a removal without purge).
    pub messages: u64,
    /// Removed without purge: its token no longer works and nobody can read its data.
    pub removed: bool,
}

/// What [`TrackerDb::remove_user`] did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Removal {
    /// Messages and events of the user: deleted with `purge`, otherwise kept (unreadable).
    pub messages: u64,
    pub events: u64,
    pub purged: bool,
}

/// What a recipient or link token resolves to.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub user_id: i64,
    pub message_pk: i64,
    pub recipient_id: i64,
    pub link_id: Option<i64>,
    pub url: Option<String>,
    pub sent_at: DateTime<Utc>,
    pub owner_token_hash: String,
    /// The owner was removed (without purge): its links still answer, nothing is recorded.
    pub owner_removed: bool,
    pub opted_out: bool,
    /// Distinct links this recipient's copy has, its hidden trap link not counted.
    pub links_total: usize,
    /// The token is this copy's hidden trap link.
    pub trap: bool,
}

/// Recently resolved tokens, so a hot pixel costs one insert and no join. Entries live
/// [`TARGET_TTL`]; a local opt-out clears the cache at once (through the generation counter),
/// one on another instance is seen within the TTL. Keyed per kind by the token itself, so a
/// lookup allocates nothing.
pub(crate) struct TargetCache {
    opens: std::collections::HashMap<String, (Target, std::time::Instant)>,
    clicks: std::collections::HashMap<String, (Target, std::time::Instant)>,
    generation: u64,
}

pub(crate) const TARGET_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const TARGET_CACHE_MAX: usize = 100_000;

impl TargetCache {
    pub fn new() -> Self {
        TargetCache {
            opens: std::collections::HashMap::new(),
            clicks: std::collections::HashMap::new(),
            generation: 0,
        }
    }

    /// Drops everything when the generation (bumped by whatever may change a cached target:
    /// opt-outs, users rotated or removed) moved since the last call.
    pub fn sync_generation(&mut self, generation: u64) {
        if generation != self.generation {
            self.opens.clear();
            self.clicks.clear();
            self.generation = generation;
        }
    }

    fn map(
        &mut self,
        kind: EventKind,
    ) -> &mut std::collections::HashMap<String, (Target, std::time::Instant)> {
        match kind {
            EventKind::Open => &mut self.opens,
            EventKind::Click => &mut self.clicks,
        }
    }

    pub fn get(&mut self, kind: EventKind, token: &str) -> Option<Target> {
        let (target, at) = self.map(kind).get(token)?;
        (at.elapsed() < TARGET_TTL).then(|| target.clone())
    }

    pub fn put(&mut self, kind: EventKind, token: &str, target: &Target) {
        let map = self.map(kind);
        if map.len() >= TARGET_CACHE_MAX {
            map.clear();
        }
        map.insert(
            token.to_string(),
            (target.clone(), std::time::Instant::now()),
        );
    }
}

/// A classified event ready to insert.
pub(crate) struct NewEvent {
    pub classification: Classification,
    pub confidence: Confidence,
    pub reason: String,
    pub client: String,
    /// Earlier events this one shows to be automated, to re-mark with its reason.
    pub reclassify: Option<Reclassify>,
}

/// Which earlier events of the recipient a new event re-marks as automated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reclassify {
    /// A sweep: the recipient's clicks since the burst cutoff.
    Sweep,
    /// The trap link: the same visitor's events (same stored address and agent). Not the rest
    /// of the burst: a person who opened seconds before a scanner walked the mail stays a person.
    Trap,
}

/// What the database found about a hit's recipient before deciding.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    /// Distinct links clicked within [`CLICK_BURST_SECONDS`] before, this one included.
    pub clicked_in_burst: usize,
    /// A not-automated open of this recipient came before.
    pub opened_before: bool,
    /// This recipient's trap link was hit from the same stored address and agent.
    pub visitor_hit_trap: bool,
}

/// Decides whether and how a hit on a known target is recorded.
pub(crate) fn decide(hit: &Hit, target: &Target, facts: Facts) -> Option<NewEvent> {
    if target.opted_out || target.owner_removed {
        return None;
    }
    if hit
        .sender_token_hash
        .as_deref()
        .is_some_and(|h| h == target.owner_token_hash)
    {
        return None;
    }
    let history = History {
        at: hit.at,
        sent_at: target.sent_at,
        scanner_window_seconds: hit.scanner_window_seconds,
        links_total: target.links_total,
        links_clicked_in_burst: facts.clicked_in_burst,
        opened_before: facts.opened_before,
        trap: target.trap,
        visitor_hit_trap: facts.visitor_hit_trap,
    };
    let verdict = classify(hit.kind, &hit.request, &history);
    let reclassify = if target.trap {
        Some(Reclassify::Trap)
    } else if hit.kind == EventKind::Click
        && verdict.classification == Classification::Automated
        && is_sweep(&history)
        && verdict.reason == sweep_reason(&history)
    {
        Some(Reclassify::Sweep)
    } else {
        None
    };
    let client = if target.trap && hit.request.client.is_empty() {
        "Link scanner".to_string()
    } else {
        hit.request.client.clone()
    };
    Some(NewEvent {
        classification: verdict.classification,
        confidence: verdict.confidence,
        reason: verdict.reason,
        client,
        reclassify,
    })
}

/// The `reclassified` column: ids separated by commas.
pub(crate) fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

pub(crate) fn burst_cutoff(at: DateTime<Utc>) -> DateTime<Utc> {
    at - chrono::Duration::seconds(CLICK_BURST_SECONDS)
}

/// The storage the tracker server and the CLI use. Object-safe so the server holds a
/// `Arc<dyn TrackerDb>` whatever the backend.
pub trait TrackerDb: Send + Sync {
    /// Creates a user and returns its API token (only the hash is stored).
    fn add_user(&self, name: &str) -> BoxFuture<'_, Result<String>>;
    /// Every user, removed ones included, by name.
    fn list_users(&self) -> BoxFuture<'_, Result<Vec<UserInfo>>>;
    /// Gives the user a new API token and returns it; the old one stops working at once.
    fn rotate_user(&self, name: &str) -> BoxFuture<'_, Result<String>>;
    /// Revokes the user's token. With `purge` its messages, recipients, links, events and
    /// opt-outs are deleted along with the user; without, they are kept but nobody can read them.
    fn remove_user(&self, name: &str, purge: bool) -> BoxFuture<'_, Result<Removal>>;
    /// The user (not removed) whose API token hashes to `token_hash`.
    fn user_by_token_hash(&self, token_hash: &str) -> BoxFuture<'_, Result<Option<i64>>>;
    /// Registers a sent message; registering the same tokens again is a no-op.
    fn register(&self, user_id: i64, reg: Registration) -> BoxFuture<'_, Result<()>>;
    /// Resolves, classifies and commits one hit (batched with others arriving at the same time).
    fn record(&self, hit: Hit) -> BoxFuture<'_, Result<HitOutcome>>;
    /// The user's events after `after` (a cursor from an earlier page), oldest first.
    fn events(
        &self,
        user_id: i64,
        after: Option<String>,
        limit: u32,
    ) -> BoxFuture<'_, Result<EventPage>>;
    /// Marks the recipient behind `token` "never" for the message's user; returns the address.
    fn opt_out(&self, token: String) -> BoxFuture<'_, Result<Option<String>>>;
    fn optouts(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<OptOut>>>;
    /// Deletes events older than `cutoff`; returns how many.
    fn purge_before(&self, cutoff: DateTime<Utc>) -> BoxFuture<'_, Result<u64>>;
    fn stats(&self) -> BoxFuture<'_, Result<Stats>>;
    /// Whether a hit could be recorded right now: the write path is exercised (the write lock
    /// taken, or a write made and rolled back) without committing anything. `/readyz` asks it.
    fn check_writable(&self) -> BoxFuture<'_, Result<()>>;
}

/// When a recorded hit counts as safe, and so may be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// On stable storage: SQLite's WAL is fsynced, PostgreSQL commits with
    /// `synchronous_commit = on`. Survives a kill -9, a crash of the machine and a power cut.
    #[default]
    Fsync,
    /// Handed to the operating system (SQLite: written to the WAL, not yet fsynced) or to the
    /// database server (PostgreSQL: `synchronous_commit = off`). Survives a kill -9 of the
    /// tracker; a crash of the machine (or, for PostgreSQL, of the database server) can lose the
    /// last moments of events that were answered.
    Process,
}

/// Opens the database named by `url` with the safe [`Durability::Fsync`].
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn TrackerDb>> {
    open_with(url, Durability::Fsync).await
}

/// Opens the database named by `url`: `sqlite:PATH` or `postgres://…` / `postgresql://…`.
pub async fn open_with(url: &str, durability: Durability) -> Result<std::sync::Arc<dyn TrackerDb>> {
    open_with_options(
        url,
        &ConnectOptions {
            durability,
            ..ConnectOptions::default()
        },
    )
    .await
}

/// How to open a tracker database beyond its URL.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub durability: Durability,
    /// PostgreSQL: a file whose first line is the password, used when the URL has none (before
    /// `PGPASSWORD` and `~/.pgpass`; see [`password`]).
    pub password_file: Option<std::path::PathBuf>,
}

/// [`open_with`] with every option.
pub async fn open_with_options(
    url: &str,
    options: &ConnectOptions,
) -> Result<std::sync::Arc<dyn TrackerDb>> {
    if let Some(path) = sqlite_path(url) {
        if options.password_file.is_some() {
            return Err(DbError::Other(
                "a database password file is for PostgreSQL; an SQLite tracker has no password"
                    .into(),
            ));
        }
        let path = path.ok_or_else(|| DbError::BadUrl(url.to_string()))?;
        let db = sqlite::SqliteDb::open(path, options.durability)?;
        Ok(std::sync::Arc::new(db))
    } else if is_postgres_url(url) {
        let db = postgres::PostgresDb::connect(url, options).await?;
        Ok(std::sync::Arc::new(db))
    } else {
        Err(DbError::BadUrl(redacted_scheme(url)))
    }
}

/// `Some(Some(path))` for `sqlite:PATH` (or `sqlite://PATH`), `Some(None)` for an empty path,
/// `None` for any other scheme.
pub fn sqlite_path(url: &str) -> Option<Option<&std::path::Path>> {
    let path = url.strip_prefix("sqlite:")?;
    let path = path.strip_prefix("//").unwrap_or(path);
    Some((!path.is_empty()).then(|| std::path::Path::new(path)))
}

pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// What a log line or an error may show of a database URL: an SQLite path whole, a PostgreSQL
/// URL as `postgres://USER@HOST:PORT/DB` — never a password, wherever it was written.
pub fn describe_url(url: &str) -> String {
    if sqlite_path(url).is_some() {
        return url.to_string();
    }
    if !is_postgres_url(url) {
        return redacted_scheme(url);
    }
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "postgres://… (unparsable, not shown)".into();
    };
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().or(config.get_user()).unwrap_or("")
    )
}

/// A URL of an unknown scheme is shown as its scheme only: a mistyped `postgress://u:pw@…`
/// must not put the password in an error message.
fn redacted_scheme(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, _)) if scheme.len() <= 20 => format!("{scheme}:… (rest not shown)"),
        _ => "(not shown)".into(),
    }
}

/// Most hits committed in one transaction.
pub(crate) const MAX_BATCH: usize = 512;

/// A hit waiting for the group-commit writer, with where to send its outcome once committed.
pub(crate) struct HitJob {
    pub hit: Hit,
    pub reply: tokio::sync::oneshot::Sender<Result<HitOutcome>>,
}

/// Hands a hit to the writer and waits until its batch is committed.
pub(crate) async fn submit(
    writer: &tokio::sync::mpsc::Sender<HitJob>,
    hit: Hit,
) -> Result<HitOutcome> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    writer
        .send(HitJob { hit, reply })
        .await
        .map_err(|_| DbError::WriterGone)?;
    answer.await.map_err(|_| DbError::WriterGone)?
}

/// `first` plus whatever else is already queued, up to [`MAX_BATCH`].
pub(crate) fn fill_batch(
    first: HitJob,
    rx: &mut tokio::sync::mpsc::Receiver<HitJob>,
) -> Vec<HitJob> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// Answers every hit of a batch once its transaction has committed (or failed).
pub(crate) fn answer_batch(batch: Vec<HitJob>, result: Result<Vec<HitOutcome>>) {
    match result {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(e) => {
            tracing::error!("tracker: committing {} hits failed: {e}", batch.len());
            let message = e.to_string();
            for job in batch {
                let _ = job.reply.send(Err(DbError::Other(message.clone())));
            }
        }
    }
}

pub(crate) fn clip_user_agent(ua: &str) -> String {
    let mut end = ua.len().min(MAX_USER_AGENT);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    ua[..end].to_string()
}
