//! PostgreSQL backend for several tracker instances sharing one database. Hits are batched per
//! instance by two writer tasks (group commit): tokens resolve through an in-memory cache of what
//! never changes once registered; what can change (opt-outs, the owner's API token, the links,
//! the trap link followed) is guessed from the last read and checked by the very statement that
//! inserts a batch's opens, so a batch of opens is one statement and one commit. A batch with
//! clicks is one transaction that reads that state first.
//!
//! Cursors are commit-ordered, not id-ordered: instances take ids from one sequence but commit
//! in any order, so "id > cursor" paging could skip an event whose smaller id commits after a
//! page with larger ids was served. Each event stores the id of the transaction that wrote it
//! (`tx`, from `pg_current_xact_id()`), and a page only returns events whose transaction is older
//! than the oldest transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`). Every
//! such transaction has finished, so no event can later appear below the cursor `(tx, id)`.
//! The price: an event becomes visible once every transaction that started before its own has
//! ended — milliseconds normally, longer if some other client keeps a transaction open.

use super::*;
use crate::tracking::token::{hash_api_token, new_api_token};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};
use tokio_postgres::NoTls;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_tracker",
        "CREATE TABLE users (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE messages (
        id BIGSERIAL PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id),
        message_id TEXT NOT NULL,
        sent_at TIMESTAMPTZ NOT NULL,
        registered_at TIMESTAMPTZ NOT NULL,
        UNIQUE (user_id, message_id)
    );
    CREATE TABLE recipients (
        id BIGSERIAL PRIMARY KEY,
        message_pk BIGINT NOT NULL REFERENCES messages(id),
        address TEXT NOT NULL,
        token TEXT NOT NULL UNIQUE
    );
    CREATE TABLE links (
        id BIGSERIAL PRIMARY KEY,
        recipient_id BIGINT NOT NULL REFERENCES recipients(id),
        token TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL
    );
    CREATE INDEX links_recipient ON links (recipient_id);
    CREATE TABLE events (
        id BIGSERIAL PRIMARY KEY,
        tx BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
        user_id BIGINT NOT NULL,
        message_pk BIGINT NOT NULL,
        recipient_id BIGINT NOT NULL,
        link_id BIGINT,
        kind TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        user_agent TEXT NOT NULL,
        ip TEXT,
        classification TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX events_user_tx ON events (user_id, tx, id);
    CREATE INDEX events_at ON events (at);
    CREATE INDEX events_clicks ON events (recipient_id, at) WHERE kind = 'click';
    CREATE TABLE optouts (
        user_id BIGINT NOT NULL,
        address TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (user_id, address)
    );",
    ),
    // A user removed without purge keeps its rows (its messages reference it) but not its token.
    (
        "0002_user_removal",
        "ALTER TABLE users ADD COLUMN removed_at TIMESTAMPTZ;",
    ),
    // Verdicts with a confidence and the client named; the ids an event re-marked automated;
    // each copy's hidden trap link.
    (
        "0003_verdicts",
        "ALTER TABLE events ADD COLUMN confidence TEXT NOT NULL DEFAULT 'likely';
         ALTER TABLE events ADD COLUMN client TEXT NOT NULL DEFAULT '';
         ALTER TABLE events ADD COLUMN reclassified TEXT NOT NULL DEFAULT '';
         ALTER TABLE links ADD COLUMN trap BOOLEAN NOT NULL DEFAULT false;
         CREATE INDEX events_recipient ON events (recipient_id, at);",
    ),
    // "Did this visitor follow the copy's trap link?" goes from the trap link to its clicks:
    // through the recipient's events it read every open of the copy, once per hit.
    (
        "0004_events_by_link",
        "CREATE INDEX events_link ON events (link_id) WHERE link_id IS NOT NULL;",
    ),
];

/// Any constant works; it only has to be the same for every instance migrating at once.
const MIGRATION_LOCK: i64 = 0x7469_6469_6e67;
/// Serializes registrations across instances (see [`register`]).
const REGISTRATION_LOCK: i64 = 0x7469_6469_6e68;
/// Concurrent batch writers per instance: while one batch waits for PostgreSQL's WAL flush, the
/// next is collected and sent. Fewer writers make larger batches, and a batch costs PostgreSQL
/// about the same whatever its size. Measured at -c64 on the 2-core bench machine with one
/// statement per batch of opens: 1 writer 28.7 k opens/s, 2 27.2–29.6 k, 3 24.7–25.0 k,
/// 4 22.7 k, 8 18.1 k; at -c256, 2 writers 42.6 k, 3 34.4 k, 8 34.6 k. Two rather than one, so
/// that a slow batch (a click's transaction, a trap check) does not hold up every hit.
const WRITERS: usize = 2;

pub struct PostgresDb {
    pool: Pool,
    writer: mpsc::Sender<HitJob>,
}

/// A connection that failed is PostgreSQL's error (shown with its causes: refused, password
/// authentication failed, no such database), not the pool's.
fn pool_err(e: deadpool_postgres::PoolError) -> DbError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => DbError::Postgres(e),
        other => DbError::Pool(crate::sanitize::error_line(&other)),
    }
}

/// Connections for everything but hits: registrations, the events API, opt-outs, `/readyz`.
const OTHER_CONNECTIONS: usize = 8;

/// Adds `-c NAME=VALUE` to the settings every session of `config` starts with.
fn add_session_setting(config: &mut tokio_postgres::Config, setting: &str) {
    let options = format!("{} -c {setting}", config.get_options().unwrap_or_default());
    config.options(options.trim_start());
}

fn build_pool(config: tokio_postgres::Config, size: usize) -> Result<Pool> {
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(std::time::Duration::from_secs(10)))
        .create_timeout(Some(std::time::Duration::from_secs(10)))
        .build()
        .map_err(|e| DbError::Pool(crate::sanitize::error_line(&e)))
}

impl PostgresDb {
    /// Connects (the password from the URL or, without one, see [`super::password`]) and
    /// runs the migrations.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<PostgresDb> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|_| DbError::BadUrl("postgres URL (not shown)".into()))?;
        super::password::fill_password(&mut config, options.password_file.as_deref())?;
        if options.durability == Durability::Process {
            add_session_setting(&mut config, "synchronous_commit=off");
        }
        let pool = build_pool(config.clone(), OTHER_CONNECTIONS)?;
        migrate(&pool).await?;
        // The hit statements run thousands of times a second with parameters that do not change
        // their best plan; left to itself PostgreSQL kept planning them afresh (custom plans)
        // each time, about half of its CPU per hit.
        add_session_setting(&mut config, "plan_cache_mode=force_generic_plan");
        let hits_pool = build_pool(config, WRITERS)?;
        let (tx, rx) = mpsc::channel::<HitJob>(MAX_BATCH * 8);
        let rx = Arc::new(Mutex::new(rx));
        let caches = Arc::new(WriterCaches {
            targets: std::sync::Mutex::new(TargetCache::new()),
            states: std::sync::Mutex::new(StateCache::new()),
        });
        for _ in 0..WRITERS {
            tokio::spawn(writer_loop(hits_pool.clone(), rx.clone(), caches.clone()));
        }
        Ok(PostgresDb { pool, writer: tx })
    }
}

async fn migrate(pool: &Pool) -> Result<()> {
    let mut client = pool.get().await.map_err(pool_err)?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS tracker_migrations (name TEXT PRIMARY KEY)")
        .await?;
    let applied: Vec<String> = tx
        .query("SELECT name FROM tracker_migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(unknown) = applied
        .iter()
        .find(|a| !MIGRATIONS.iter().any(|(n, _)| n == a))
    {
        return Err(DbError::TooNew(unknown.clone()));
    }
    for (name, sql) in MIGRATIONS {
        if !applied.iter().any(|a| a == name) {
            tx.batch_execute(sql).await?;
            tx.execute("INSERT INTO tracker_migrations (name) VALUES ($1)", &[name])
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Caches shared by an instance's writers.
struct WriterCaches {
    targets: std::sync::Mutex<TargetCache>,
    states: std::sync::Mutex<StateCache>,
}

async fn writer_loop(
    pool: Pool,
    rx: Arc<Mutex<mpsc::Receiver<HitJob>>>,
    caches: Arc<WriterCaches>,
) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            fill_batch(first, &mut rx)
        };
        let result = record_batch(&pool, &caches, &batch).await;
        answer_batch(batch, result);
    }
}

/// The columns of a token's target that never change once registered (rows of `recipients`,
/// `links` and `messages` are only inserted, or deleted with their user by a purge, which the
/// state check notices), so other instances cannot make them stale.
const OPEN_TARGET_SQL: &str =
    "SELECT r.id, r.message_pk, m.user_id, m.sent_at, NULL::bigint, NULL::text, false
     FROM recipients r JOIN messages m ON m.id = r.message_pk WHERE r.token = $1";
const CLICK_TARGET_SQL: &str =
    "SELECT r.id, r.message_pk, m.user_id, m.sent_at, l.id, l.url, l.trap
     FROM links l JOIN recipients r ON r.id = l.recipient_id
     JOIN messages m ON m.id = r.message_pk WHERE l.token = $1";

/// What may change under a cached target (another instance records an opt-out, a user's API
/// token rotated or the user removed, links added by a later registration, the trap link hit,
/// the rows purged with their user), for the recipients in `$1`, as [`RecipientState`]'s
/// columns. A purged recipient has no row. A macro so [`CHECKED_INSERT_OPENS_SQL`] can embed it.
macro_rules! recipient_state_sql {
    () => {
        "SELECT r.id, u.token_hash, u.removed_at IS NOT NULL AS removed,
            EXISTS (SELECT 1 FROM optouts o
                    WHERE o.user_id = m.user_id AND o.address = lower(r.address)) AS opted_out,
            (SELECT count(*) FROM links l WHERE l.recipient_id = r.id AND NOT l.trap) AS links,
            EXISTS (SELECT 1 FROM links l JOIN events e ON e.link_id = l.id
                    WHERE l.recipient_id = r.id AND l.trap) AS trap_hit
         FROM recipients r JOIN messages m ON m.id = r.message_pk JOIN users u ON u.id = m.user_id
         WHERE r.id = ANY($1)"
    };
}
const RECIPIENT_STATE_SQL: &str = recipient_state_sql!();

/// A batch of opens in one statement and one round trip, decided on the recipients' last known
/// state: the statement reads their state again (in the snapshot it inserts in), inserts only
/// the opens of recipients whose state is still the one passed in (`$1`–`$6`, one entry per
/// recipient), and returns the state it read. Opens of a recipient whose state moved are
/// decided again on the state returned. Reading the state in a statement of its own before
/// every insert cost a third of PostgreSQL's CPU per open.
const CHECKED_INSERT_OPENS_SQL: &str = concat!(
    "WITH st AS MATERIALIZED (",
    recipient_state_sql!(),
    "), unchanged AS (
        SELECT st.id FROM st
        JOIN unnest($1::bigint[], $2::text[], $3::bool[], $4::bool[], $5::bigint[], $6::bool[])
             AS a (id, token_hash, removed, opted_out, links, trap_hit)
          ON a.id = st.id AND a.token_hash = st.token_hash AND a.removed = st.removed
         AND a.opted_out = st.opted_out AND a.links = st.links AND a.trap_hit = st.trap_hit
     ), inserted AS (
        INSERT INTO events (user_id, message_pk, recipient_id, kind, at, user_agent, ip,
                            classification, reason, confidence, client)
        SELECT u, m, r, 'open', a, ua, ip, c, why, conf, cl
        FROM unnest($7::bigint[], $8::bigint[], $9::bigint[], $10::timestamptz[], $11::text[],
                    $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
             AS t (u, m, r, a, ua, ip, c, why, conf, cl)
        WHERE t.r IN (SELECT id FROM unchanged)
     )
     SELECT id, token_hash, removed, opted_out, links, trap_hit FROM st"
);

/// A batch's opens after a fresh state read in the same transaction (batches with clicks).
const INSERT_OPENS_SQL: &str = "INSERT INTO events (user_id, message_pk, recipient_id, kind, at,
                            user_agent, ip, classification, reason, confidence, client)
     SELECT u, m, r, 'open', a, ua, ip, c, why, conf, cl
     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
          AS t (u, m, r, a, ua, ip, c, why, conf, cl)";

/// The part of a target that can change after registration, as [`RECIPIENT_STATE_SQL`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RecipientState {
    owner_token_hash: String,
    owner_removed: bool,
    opted_out: bool,
    links: i64,
    /// Somebody followed the copy's trap link (whether it was this visitor is asked per hit).
    trap_hit: bool,
}

impl RecipientState {
    fn from_row(row: &tokio_postgres::Row) -> (i64, RecipientState) {
        (
            row.get(0),
            RecipientState {
                owner_token_hash: row.get(1),
                owner_removed: row.get(2),
                opted_out: row.get(3),
                links: row.get(4),
                trap_hit: row.get(5),
            },
        )
    }

    fn apply(&self, target: &mut Target) {
        target.owner_token_hash.clone_from(&self.owner_token_hash);
        target.owner_removed = self.owner_removed;
        target.opted_out = self.opted_out;
        target.links_total = usize::try_from(self.links).unwrap_or(0);
    }
}

/// Each recipient's last state read, the guess a batch of opens is decided on. Never trusted
/// on its own: [`CHECKED_INSERT_OPENS_SQL`] checks it where it inserts, so a stale entry costs a
/// second statement, never a wrong event.
struct StateCache {
    states: std::collections::HashMap<i64, RecipientState>,
}

const STATE_CACHE_MAX: usize = 100_000;

impl StateCache {
    fn new() -> Self {
        StateCache {
            states: std::collections::HashMap::new(),
        }
    }

    fn get(&self, recipient_id: i64) -> Option<RecipientState> {
        self.states.get(&recipient_id).cloned()
    }

    /// Stores what was read for `ids`; an id without a row is gone (purged).
    fn store(&mut self, ids: &[i64], read: &std::collections::HashMap<i64, RecipientState>) {
        for id in ids {
            match read.get(id) {
                Some(state) => {
                    if self.states.len() >= STATE_CACHE_MAX && !self.states.contains_key(id) {
                        self.states.clear();
                    }
                    self.states.insert(*id, state.clone());
                }
                None => {
                    self.states.remove(id);
                }
            }
        }
    }
}

/// Column arrays for the opens of a batch.
#[derive(Default)]
struct OpenRows {
    user_id: Vec<i64>,
    message_pk: Vec<i64>,
    recipient_id: Vec<i64>,
    at: Vec<DateTime<Utc>>,
    user_agent: Vec<String>,
    ip: Vec<Option<String>>,
    classification: Vec<&'static str>,
    reason: Vec<String>,
    confidence: Vec<&'static str>,
    client: Vec<String>,
}

impl OpenRows {
    fn push(&mut self, hit: &Hit, target: &Target, event: NewEvent) {
        self.user_id.push(target.user_id);
        self.message_pk.push(target.message_pk);
        self.recipient_id.push(target.recipient_id);
        self.at.push(hit.at);
        self.user_agent.push(clip_user_agent(&hit.user_agent));
        self.ip.push(hit.stored_ip.clone());
        self.classification.push(event.classification.as_str());
        self.reason.push(event.reason);
        self.confidence.push(event.confidence.as_str());
        self.client.push(event.client);
    }

    fn is_empty(&self) -> bool {
        self.user_id.is_empty()
    }

    /// The column arrays, in the order both INSERTs' `unnest(…)` take them.
    fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 10] {
        [
            &self.user_id,
            &self.message_pk,
            &self.recipient_id,
            &self.at,
            &self.user_agent,
            &self.ip,
            &self.classification,
            &self.reason,
            &self.confidence,
            &self.client,
        ]
    }
}

async fn record_batch(
    pool: &Pool,
    caches: &WriterCaches,
    batch: &[HitJob],
) -> Result<Vec<HitOutcome>> {
    let mut client = pool.get().await.map_err(pool_err)?;
    // Clicks read earlier clicks (the burst rule), so they need a transaction. A batch of opens
    // needs one statement that commits on its own.
    if batch.iter().any(|job| job.hit.kind == EventKind::Click) {
        let tx = client.transaction().await?;
        let outcomes = record_in_transaction(&tx, caches, batch).await?;
        tx.commit().await?;
        Ok(outcomes)
    } else {
        record_opens(&client, caches, batch).await
    }
}

/// Each hit's target, from the cache or the database; `None` for an unknown token.
async fn resolve_targets(
    db: &impl GenericClient,
    cache: &std::sync::Mutex<TargetCache>,
    batch: &[HitJob],
) -> Result<Vec<Option<Target>>> {
    let mut targets = Vec::with_capacity(batch.len());
    for job in batch {
        let (kind, token) = (job.hit.kind, job.hit.token.as_str());
        let cached = cache.lock().ok().and_then(|mut c| c.get(kind, token));
        let target = match cached {
            Some(t) => Some(t),
            None => {
                let found = lookup(db, kind, token).await?;
                if let (Some(t), Ok(mut c)) = (&found, cache.lock()) {
                    c.put(kind, token, t);
                }
                found
            }
        };
        targets.push(target);
    }
    Ok(targets)
}

/// The distinct recipients of the known targets, sorted.
fn recipient_ids<'a>(targets: impl Iterator<Item = &'a Option<Target>>) -> Vec<i64> {
    let mut ids: Vec<i64> = targets.flatten().map(|t| t.recipient_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Reads the state of `ids` (a purged recipient has none) and remembers it.
async fn read_states(
    db: &impl GenericClient,
    cache: &std::sync::Mutex<StateCache>,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, RecipientState>> {
    let mut read = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(read);
    }
    let stmt = db.prepare_cached(RECIPIENT_STATE_SQL).await?;
    for row in db.query(&stmt, &[&ids]).await? {
        let (id, state) = RecipientState::from_row(&row);
        read.insert(id, state);
    }
    if let Ok(mut c) = cache.lock() {
        c.store(ids, &read);
    }
    Ok(read)
}

/// Decides a hit of a batch on its target's state: the outcome, and for an open to record the
/// event to insert.
async fn decide_hit(
    db: &impl GenericClient,
    hit: &Hit,
    target: &mut Target,
    state: &RecipientState,
) -> Result<Option<NewEvent>> {
    let visitor_hit_trap = apply_state(db, hit, target, state).await?;
    Ok(decide(
        hit,
        target,
        Facts {
            visitor_hit_trap,
            ..Facts::default()
        },
    ))
}

/// Fills `target` with `state`; true when this hit's visitor followed the copy's trap link.
async fn apply_state(
    db: &impl GenericClient,
    hit: &Hit,
    target: &mut Target,
    state: &RecipientState,
) -> Result<bool> {
    state.apply(target);
    // Only a recipient whose trap was hit costs the query that asks whether it was this visitor.
    Ok(state.trap_hit && visitor_hit_trap(db, hit, target).await?)
}

/// A batch of opens only: decided on each recipient's last known state and inserted, with that
/// state checked, by one statement ([`CHECKED_INSERT_OPENS_SQL`]). A recipient whose state
/// moved is decided again on the state the statement read, a few times at most; after that its
/// opens go in on a state read just before, as a batch with clicks does.
async fn record_opens(
    db: &impl GenericClient,
    caches: &WriterCaches,
    batch: &[HitJob],
) -> Result<Vec<HitOutcome>> {
    const CHECKED_ATTEMPTS: usize = 3;
    let mut targets = resolve_targets(db, &caches.targets, batch).await?;
    let mut outcomes: Vec<HitOutcome> = batch.iter().map(|_| HitOutcome::unknown()).collect();
    // Hits still to decide: those of a known token whose recipient's state has not been confirmed.
    let mut pending: Vec<usize> = (0..batch.len()).filter(|&i| targets[i].is_some()).collect();
    let mut guesses: std::collections::HashMap<i64, RecipientState> = {
        let ids = recipient_ids(targets.iter());
        let mut known = std::collections::HashMap::new();
        let mut missing = Vec::new();
        if let Ok(c) = caches.states.lock() {
            for id in &ids {
                match c.get(*id) {
                    Some(state) => {
                        known.insert(*id, state);
                    }
                    None => missing.push(*id),
                }
            }
        } else {
            missing = ids;
        }
        known.extend(read_states(db, &caches.states, &missing).await?);
        known
    };
    for attempt in 0..=CHECKED_ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        let ids = recipient_ids(pending.iter().map(|&i| &targets[i]));
        let checked = attempt < CHECKED_ATTEMPTS;
        if !checked {
            guesses = read_states(db, &caches.states, &ids).await?;
        }
        let mut rows = OpenRows::default();
        let mut decided = Vec::with_capacity(pending.len());
        for &i in &pending {
            let Some(target) = targets[i].as_mut() else {
                continue;
            };
            // A recipient gone since (purged with its user) is unknown.
            let Some(state) = guesses.get(&target.recipient_id) else {
                decided.push((i, false));
                continue;
            };
            let event = decide_hit(db, &batch[i].hit, target, state).await?;
            let recorded = event.is_some();
            if let Some(event) = event {
                rows.push(&batch[i].hit, target, event);
            }
            decided.push((i, recorded));
        }
        if !checked {
            if !rows.is_empty() {
                insert_opens(db, &rows).await?;
            }
            settle(&mut outcomes, &targets, &decided, &guesses, |_| true);
            break;
        }
        let assumed: Vec<(i64, &RecipientState)> = ids
            .iter()
            .filter_map(|id| guesses.get(id).map(|s| (*id, s)))
            .collect();
        let read = checked_insert_opens(db, &assumed, &rows).await?;
        if let Ok(mut c) = caches.states.lock() {
            c.store(&ids, &read);
        }
        let moved = |id: i64| guesses.get(&id) != read.get(&id);
        settle(&mut outcomes, &targets, &decided, &guesses, |id| !moved(id));
        pending.retain(|&i| targets[i].as_ref().is_some_and(|t| moved(t.recipient_id)));
        guesses = read;
    }
    Ok(outcomes)
}

/// Fills the outcomes of the decided hits whose recipient passes `final_`.
fn settle(
    outcomes: &mut [HitOutcome],
    targets: &[Option<Target>],
    decided: &[(usize, bool)],
    states: &std::collections::HashMap<i64, RecipientState>,
    final_: impl Fn(i64) -> bool,
) {
    for &(i, recorded) in decided {
        let Some(target) = &targets[i] else { continue };
        if !final_(target.recipient_id) {
            continue;
        }
        outcomes[i] = if states.contains_key(&target.recipient_id) {
            HitOutcome {
                known: true,
                recorded,
                url: target.url.clone(),
            }
        } else {
            HitOutcome::unknown()
        };
    }
}

/// Runs [`CHECKED_INSERT_OPENS_SQL`]: `rows` go in for the recipients whose state is still the
/// one `assumed`; returns the state read for every recipient of `assumed`.
async fn checked_insert_opens(
    db: &impl GenericClient,
    assumed: &[(i64, &RecipientState)],
    rows: &OpenRows,
) -> Result<std::collections::HashMap<i64, RecipientState>> {
    let ids: Vec<i64> = assumed.iter().map(|(id, _)| *id).collect();
    let hashes: Vec<&str> = assumed
        .iter()
        .map(|(_, s)| s.owner_token_hash.as_str())
        .collect();
    let removed: Vec<bool> = assumed.iter().map(|(_, s)| s.owner_removed).collect();
    let opted_out: Vec<bool> = assumed.iter().map(|(_, s)| s.opted_out).collect();
    let links: Vec<i64> = assumed.iter().map(|(_, s)| s.links).collect();
    let trap_hit: Vec<bool> = assumed.iter().map(|(_, s)| s.trap_hit).collect();
    let stmt = db.prepare_cached(CHECKED_INSERT_OPENS_SQL).await?;
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        vec![&ids, &hashes, &removed, &opted_out, &links, &trap_hit];
    params.extend(rows.params());
    let read = db.query(&stmt, &params).await?;
    Ok(read.iter().map(RecipientState::from_row).collect())
}

async fn insert_opens(db: &impl GenericClient, rows: &OpenRows) -> Result<()> {
    let stmt = db.prepare_cached(INSERT_OPENS_SQL).await?;
    db.execute(&stmt, &rows.params()).await?;
    Ok(())
}

/// A batch with clicks, in one transaction: the state read first, then each hit in order.
async fn record_in_transaction(
    db: &impl GenericClient,
    caches: &WriterCaches,
    batch: &[HitJob],
) -> Result<Vec<HitOutcome>> {
    let targets = resolve_targets(db, &caches.targets, batch).await?;
    let ids = recipient_ids(targets.iter());
    let state = read_states(db, &caches.states, &ids).await?;
    let mut opens = OpenRows::default();
    let mut outcomes = Vec::with_capacity(batch.len());
    for (job, target) in batch.iter().zip(targets) {
        let hit = &job.hit;
        let Some(mut target) = target else {
            outcomes.push(HitOutcome::unknown());
            continue;
        };
        let Some(state) = state.get(&target.recipient_id) else {
            outcomes.push(HitOutcome::unknown());
            continue;
        };
        let recorded = match hit.kind {
            EventKind::Open => match decide_hit(db, hit, &mut target, state).await? {
                Some(event) => {
                    opens.push(hit, &target, event);
                    true
                }
                None => false,
            },
            // Clicks go in one by one, in order: the burst rule counts the clicks before them.
            EventKind::Click => {
                let visitor_hit_trap = apply_state(db, hit, &mut target, state).await?;
                record_click(db, hit, &target, visitor_hit_trap).await?
            }
        };
        outcomes.push(HitOutcome {
            known: true,
            recorded,
            url: target.url,
        });
    }
    if !opens.is_empty() {
        insert_opens(db, &opens).await?;
    }
    Ok(outcomes)
}

/// The immutable part of a token's target; the rest is filled per batch.
async fn lookup(
    client: &impl GenericClient,
    kind: EventKind,
    token: &str,
) -> Result<Option<Target>> {
    let sql = match kind {
        EventKind::Open => OPEN_TARGET_SQL,
        EventKind::Click => CLICK_TARGET_SQL,
    };
    let stmt = client.prepare_cached(sql).await?;
    let Some(row) = client.query_opt(&stmt, &[&token]).await? else {
        return Ok(None);
    };
    Ok(Some(Target {
        recipient_id: row.get(0),
        message_pk: row.get(1),
        user_id: row.get(2),
        sent_at: row.get(3),
        link_id: row.get(4),
        url: row.get(5),
        owner_token_hash: String::new(),
        owner_removed: false,
        opted_out: false,
        links_total: 0,
        trap: row.get(6),
    }))
}

/// Whether this recipient's trap link was hit from the hit's stored address and agent.
async fn visitor_hit_trap(client: &impl GenericClient, hit: &Hit, target: &Target) -> Result<bool> {
    let stmt = client
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM links l JOIN events e ON e.link_id = l.id
                            WHERE l.recipient_id = $1 AND l.trap
                              AND e.ip IS NOT DISTINCT FROM $2 AND e.user_agent = $3)",
        )
        .await?;
    Ok(client
        .query_one(
            &stmt,
            &[
                &target.recipient_id,
                &hit.stored_ip,
                &clip_user_agent(&hit.user_agent),
            ],
        )
        .await?
        .get(0))
}

/// Classifies and inserts one click; true when it was recorded.
async fn record_click(
    client: &impl GenericClient,
    hit: &Hit,
    target: &Target,
    visitor_hit_trap: bool,
) -> Result<bool> {
    let cutoff = burst_cutoff(hit.at);
    let mut facts = Facts {
        visitor_hit_trap,
        ..Facts::default()
    };
    if let Some(link_id) = target.link_id {
        let stmt = client
            .prepare_cached(
                "SELECT (SELECT count(DISTINCT e.link_id) FROM events e
                         JOIN links l ON l.id = e.link_id
                         WHERE e.recipient_id = $1 AND e.kind = 'click' AND e.at >= $2
                           AND e.link_id <> $3 AND NOT l.trap),
                        EXISTS (SELECT 1 FROM events WHERE recipient_id = $1 AND kind = 'open'
                                AND classification <> 'automated')",
            )
            .await?;
        let row = client
            .query_one(&stmt, &[&target.recipient_id, &cutoff, &link_id])
            .await?;
        facts.clicked_in_burst = row.get::<_, i64>(0) as usize + 1;
        facts.opened_before = row.get(1);
    }
    let Some(event) = decide(hit, target, facts) else {
        return Ok(false);
    };
    let ua = clip_user_agent(&hit.user_agent);
    // Re-marked before the insert, so the new event is not among them.
    let reclassified: Vec<i64> = match event.reclassify {
        None => Vec::new(),
        Some(Reclassify::Sweep) => client
            .query(
                "UPDATE events SET classification = 'automated', confidence = $3, reason = $4
                 WHERE recipient_id = $1 AND kind = 'click' AND at >= $2
                   AND (classification <> 'automated' OR reason <> $4)
                 RETURNING id",
                &[
                    &target.recipient_id,
                    &cutoff,
                    &event.confidence.as_str(),
                    &event.reason,
                ],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
        Some(Reclassify::Trap) => client
            .query(
                "UPDATE events SET classification = 'automated', confidence = 'certain', reason = $4
                 WHERE recipient_id = $1 AND classification <> 'automated'
                   AND ip IS NOT DISTINCT FROM $2 AND user_agent = $3
                 RETURNING id",
                &[&target.recipient_id, &hit.stored_ip, &ua, &event.reason],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    };
    let stmt = client
        .prepare_cached(
            "INSERT INTO events (user_id, message_pk, recipient_id, link_id, kind, at, user_agent,
                                 ip, classification, reason, confidence, client, reclassified)
             VALUES ($1, $2, $3, $4, 'click', $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .await?;
    client
        .execute(
            &stmt,
            &[
                &target.user_id,
                &target.message_pk,
                &target.recipient_id,
                &target.link_id,
                &hit.at,
                &ua,
                &hit.stored_ip,
                &event.classification.as_str(),
                &event.reason,
                &event.confidence.as_str(),
                &event.client,
                &join_ids(&reclassified),
            ],
        )
        .await?;
    Ok(true)
}

async fn register(pool: &Pool, user_id: i64, reg: &Registration) -> Result<()> {
    let mut client = pool.get().await.map_err(pool_err)?;
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO messages (user_id, message_id, sent_at, registered_at)
         VALUES ($1, $2, $3, now()) ON CONFLICT (user_id, message_id) DO NOTHING",
        &[&user_id, &reg.message_id, &reg.sent_at],
    )
    .await?;
    // Registrations take turns (they are rare), so the check that a token is not already the
    // other kind's (pixel vs link) cannot race another instance's registration.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REGISTRATION_LOCK])
        .await?;
    let message_pk: i64 = tx
        .query_one(
            "SELECT id FROM messages WHERE user_id = $1 AND message_id = $2",
            &[&user_id, &reg.message_id],
        )
        .await?
        .get(0);
    for rcpt in &reg.recipients {
        // One token names one thing: a pixel token that is some link's token would let whoever
        // registered the link decide where the other's pixel URL leads.
        let is_link: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM links WHERE token = $1)",
                &[&rcpt.token],
            )
            .await?
            .get(0);
        if is_link {
            return Err(DbError::TokenConflict(rcpt.token.clone()));
        }
        // ON CONFLICT keeps a concurrent registration of the same tokens from failing.
        tx.execute(
            "INSERT INTO recipients (message_pk, address, token) VALUES ($1, $2, $3)
             ON CONFLICT (token) DO NOTHING",
            &[&message_pk, &rcpt.address, &rcpt.token],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT id, message_pk FROM recipients WHERE token = $1",
                &[&rcpt.token],
            )
            .await?;
        let (recipient_id, owner): (i64, i64) = (row.get(0), row.get(1));
        if owner != message_pk {
            return Err(DbError::TokenConflict(rcpt.token.clone()));
        }
        for link in &rcpt.links {
            let is_recipient: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM recipients WHERE token = $1)",
                    &[&link.token],
                )
                .await?
                .get(0);
            if is_recipient {
                return Err(DbError::TokenConflict(link.token.clone()));
            }
            tx.execute(
                "INSERT INTO links (recipient_id, token, url, trap) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (token) DO NOTHING",
                &[&recipient_id, &link.token, &link.url, &link.trap],
            )
            .await?;
            let owner: i64 = tx
                .query_one(
                    "SELECT recipient_id FROM links WHERE token = $1",
                    &[&link.token],
                )
                .await?
                .get(0);
            if owner != recipient_id {
                return Err(DbError::TokenConflict(link.token.clone()));
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The user's id and whether it was removed; the row stays locked until the transaction ends,
/// so a rotation and a removal of the same user do not interleave.
async fn find_user(client: &impl GenericClient, name: &str) -> Result<(i64, bool)> {
    let row = client
        .query_opt(
            "SELECT id, removed_at IS NOT NULL FROM users WHERE name = $1 FOR UPDATE",
            &[&name],
        )
        .await?
        .ok_or_else(|| DbError::NoSuchUser(name.to_string()))?;
    Ok((row.get(0), row.get(1)))
}

fn parse_cursor(after: Option<&str>) -> Result<(i64, i64)> {
    let Some(a) = after.filter(|a| !a.is_empty()) else {
        return Ok((0, 0));
    };
    let bad = || DbError::BadCursor(a.to_string());
    let (tx, id) = a.split_once('.').ok_or_else(bad)?;
    let tx: i64 = tx.parse().map_err(|_| bad())?;
    let id: i64 = id.parse().map_err(|_| bad())?;
    if tx < 0 || id < 0 {
        return Err(bad());
    }
    Ok((tx, id))
}

impl TrackerDb for PostgresDb {
    fn add_user(&self, name: &str) -> BoxFuture<'_, Result<String>> {
        let name = name.to_string();
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_err)?;
            let token = new_api_token();
            let inserted = client
                .execute(
                    "INSERT INTO users (name, token_hash, created_at) VALUES ($1, $2, now())
                     ON CONFLICT (name) DO NOTHING",
                    &[&name, &hash_api_token(&token)],
                )
                .await?;
            if inserted == 0 {
                return Err(DbError::UserExists(name));
            }
            Ok(token)
        })
    }

    fn list_users(&self) -> BoxFuture<'_, Result<Vec<UserInfo>>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_err)?;
            let rows = client
                .query(
                    "SELECT u.name, u.created_at, u.removed_at IS NOT NULL,
                            (SELECT count(*) FROM messages m WHERE m.user_id = u.id)
                     FROM users u ORDER BY u.name",
                    &[],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| UserInfo {
                    name: r.get(0),
                    created_at: r.get(1),
                    removed: r.get(2),
                    messages: r.get::<_, i64>(3) as u64,
                })
                .collect())
        })
    }

    fn rotate_user(&self, name: &str) -> BoxFuture<'_, Result<String>> {
        let name = name.to_string();
        Box::pin(async move {
            let mut client = self.pool.get().await.map_err(pool_err)?;
            let tx = client.transaction().await?;
            let (id, removed) = find_user(&tx, &name).await?;
            if removed {
                return Err(DbError::UserRemoved(name));
            }
            let token = new_api_token();
            tx.execute(
                "UPDATE users SET token_hash = $2 WHERE id = $1",
                &[&id, &hash_api_token(&token)],
            )
            .await?;
            tx.commit().await?;
            Ok(token)
        })
    }

    fn remove_user(&self, name: &str, purge: bool) -> BoxFuture<'_, Result<Removal>> {
        let name = name.to_string();
        Box::pin(async move {
            let mut client = self.pool.get().await.map_err(pool_err)?;
            let tx = client.transaction().await?;
            let (id, _) = find_user(&tx, &name).await?;
            let row = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM messages WHERE user_id = $1),
                            (SELECT count(*) FROM events WHERE user_id = $1)",
                    &[&id],
                )
                .await?;
            let (messages, events): (i64, i64) = (row.get(0), row.get(1));
            if purge {
                for sql in [
                    "DELETE FROM events WHERE user_id = $1",
                    "DELETE FROM links WHERE recipient_id IN (SELECT r.id FROM recipients r
                         JOIN messages m ON m.id = r.message_pk WHERE m.user_id = $1)",
                    "DELETE FROM recipients WHERE message_pk IN
                         (SELECT id FROM messages WHERE user_id = $1)",
                    "DELETE FROM messages WHERE user_id = $1",
                    "DELETE FROM optouts WHERE user_id = $1",
                    "DELETE FROM users WHERE id = $1",
                ] {
                    tx.execute(sql, &[&id]).await?;
                }
            } else {
                // The hash is replaced too: no SHA-256 of any token can equal it.
                tx.execute(
                    "UPDATE users SET removed_at = coalesce(removed_at, now()),
                                      token_hash = 'removed:' || id WHERE id = $1",
                    &[&id],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(Removal {
                messages: messages as u64,
                events: events as u64,
                purged: purge,
            })
        })
    }

    fn user_by_token_hash(&self, token_hash: &str) -> BoxFuture<'_, Result<Option<i64>>> {
        let hash = token_hash.to_string();
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_err)?;
            let stmt = client
                .prepare_cached("SELECT id FROM users WHERE token_hash = $1 AND removed_at IS NULL")
                .await?;
            Ok(client.query_opt(&stmt, &[&hash]).await?.map(|r| r.get(0)))
        })
    }

    fn register(&self, user_id: i64, reg: Registration) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { register(&self.pool, user_id, &reg).await })
    }

    fn record(&self, hit: Hit) -> BoxFuture<'_, Result<HitOutcome>> {
        Box::pin(submit(&self.writer, hit))
    }

    fn events(
        &self,
        user_id: i64,
        after: Option<String>,
        limit: u32,
    ) -> BoxFuture<'_, Result<EventPage>> {
        Box::pin(async move {
            let (after_tx, after_id) = parse_cursor(after.as_deref())?;
            let client = self.pool.get().await.map_err(pool_err)?;
            let stmt = client
                .prepare_cached(
                    "SELECT e.tx, e.id, e.kind, m.message_id, r.address, l.url, e.at,
                            e.user_agent, e.ip, e.classification, e.reason, e.confidence,
                            e.client, e.reclassified
                     FROM events e
                     JOIN messages m ON m.id = e.message_pk
                     JOIN recipients r ON r.id = e.recipient_id
                     LEFT JOIN links l ON l.id = e.link_id
                     WHERE e.user_id = $1 AND (e.tx, e.id) > ($2, $3)
                       AND e.tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
                     ORDER BY e.tx, e.id LIMIT $4",
                )
                .await?;
            let limit = i64::from(limit.min(MAX_PAGE));
            let rows = client
                .query(&stmt, &[&user_id, &after_tx, &after_id, &limit])
                .await?;
            let mut cursor = (after_tx, after_id);
            let mut events = Vec::with_capacity(rows.len());
            for row in rows {
                cursor = (row.get(0), row.get(1));
                events.push(Event::try_from(EventRow {
                    id: row.get(1),
                    kind: row.get(2),
                    message_id: row.get(3),
                    recipient: row.get(4),
                    url: row.get(5),
                    at: row.get(6),
                    user_agent: row.get(7),
                    ip: row.get(8),
                    classification: row.get(9),
                    reason: row.get(10),
                    confidence: row.get(11),
                    client: row.get(12),
                    reclassified: row.get(13),
                })?);
            }
            Ok(EventPage {
                events,
                cursor: format!("{}.{}", cursor.0, cursor.1),
            })
        })
    }

    fn opt_out(&self, token: String) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_err)?;
            let Some(row) = client
                .query_opt(
                    "SELECT m.user_id, r.address FROM recipients r
                     JOIN messages m ON m.id = r.message_pk WHERE r.token = $1",
                    &[&token],
                )
                .await?
            else {
                return Ok(None);
            };
            let (user_id, address): (i64, String) = (row.get(0), row.get(1));
            client
                .execute(
                    "INSERT INTO optouts (user_id, address, at) VALUES ($1, lower($2), now())
                     ON CONFLICT DO NOTHING",
                    &[&user_id, &address],
                )
                .await?;
            Ok(Some(address))
        })
    }

    fn optouts(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<OptOut>>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_err)?;
            let rows = client
                .query(
                    "SELECT address, at FROM optouts WHERE user_id = $1 ORDER BY at, address",
                    &[&user_id],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| OptOut {
                    address: r.get(0),
                    at: r.get(1),
                })
                .collect())
        })
    }

    fn purge_before(&self, cutoff: DateTime<Utc>) -> BoxFuture<'_, Result<u64>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_err)?;
            Ok(client
                .execute("DELETE FROM events WHERE at < $1", &[&cutoff])
                .await?)
        })
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats>> {
        Box::pin(async move {
            let client = self.pool.get().await.map_err(pool_err)?;
            let row = client
                .query_one(
                    "SELECT (SELECT count(*) FROM users WHERE removed_at IS NULL),
                            (SELECT count(*) FROM users WHERE removed_at IS NOT NULL),
                            (SELECT count(*) FROM messages),
                            (SELECT count(*) FROM events WHERE kind = 'open'),
                            (SELECT count(*) FROM events WHERE kind = 'click')",
                    &[],
                )
                .await?;
            Ok(Stats {
                users: row.get::<_, i64>(0) as u64,
                removed_users: row.get::<_, i64>(1) as u64,
                messages: row.get::<_, i64>(2) as u64,
                opens: row.get::<_, i64>(3) as u64,
                clicks: row.get::<_, i64>(4) as u64,
            })
        })
    }

    fn check_writable(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(check_writable(&self.pool))
    }
}

/// A connection from the pool (a fresh one if the server went away since), then an insert that
/// is rolled back: it fails as a hit would on a server that is down, read-only (a standby, or
/// `default_transaction_read_only`), out of connections, or that revoked our right to write.
async fn check_writable(pool: &Pool) -> Result<()> {
    let mut client = pool.get().await.map_err(pool_err)?;
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO tracker_migrations (name) VALUES ('readiness-probe') ON CONFLICT DO NOTHING",
        &[],
    )
    .await?;
    tx.rollback().await?;
    Ok(())
}
