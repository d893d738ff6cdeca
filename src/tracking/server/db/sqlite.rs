//! SQLite backend: one file in WAL mode with `synchronous = FULL`. A single writer thread owns
//! the connection that records hits and commits each batch in one transaction (group commit);
//! everything else (registration, reads, opt-outs, purges) uses a second connection.
//!
//! Durability: the writer commits each batch with `synchronous = NORMAL` (the WAL is written,
//! not yet synced), then — with [`Durability::Fsync`], the default — `fdatasync`s the WAL file
//! and only then answers the batch's requests. Hits that arrive during that commit and fsync wait
//! in the queue and form the next batch, so the batch grows with the load and one fsync covers
//! all of it. (A variant that fsynced on a second thread while the writer recorded the next
//! batch measured no faster on a shared 2-core machine, and cost a thread hop per batch.) With
//! [`Durability::Process`] a batch is answered once its commit has written the WAL: that survives
//! a kill -9 of the tracker, not a crash of the machine.
//!
//! Checkpoints are the writer's, once a second, after it has answered a batch (they sync the WAL
//! before copying it, so nothing escapes the rule). Run by another connection while the writer
//! commits, a checkpoint never catches up with the WAL's end, so SQLite never starts the WAL
//! over: under steady load it grew without bound (86 MB for 50 k opens), and every frame written
//! past its old end cost the kernel a page to zero and the fsync a metadata update.
//!
//! Event ids come from `AUTOINCREMENT` and only the writer thread inserts events, so ids are
//! handed out in commit order and never reused after a purge: the id is a safe cursor.

use super::*;
use crate::tracking::token::{hash_api_token, new_api_token};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_tracker",
        "CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        message_id TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        UNIQUE (user_id, message_id)
    );
    CREATE TABLE recipients (
        id INTEGER PRIMARY KEY,
        message_pk INTEGER NOT NULL REFERENCES messages(id),
        address TEXT NOT NULL,
        token TEXT NOT NULL UNIQUE
    );
    CREATE TABLE links (
        id INTEGER PRIMARY KEY,
        recipient_id INTEGER NOT NULL REFERENCES recipients(id),
        token TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL
    );
    CREATE INDEX links_recipient ON links (recipient_id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        message_pk INTEGER NOT NULL,
        recipient_id INTEGER NOT NULL,
        link_id INTEGER,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        ip TEXT,
        classification TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX events_user ON events (user_id, id);
    CREATE INDEX events_at ON events (at);
    CREATE INDEX events_clicks ON events (recipient_id, at) WHERE kind = 'click';
    CREATE TABLE optouts (
        user_id INTEGER NOT NULL,
        address TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (user_id, address)
    );",
    ),
    // A user removed without purge keeps its rows (its messages reference it) but not its token.
    (
        "0002_user_removal",
        "ALTER TABLE users ADD COLUMN removed_at TEXT;",
    ),
    // Verdicts with a confidence and the client named; the ids an event re-marked automated;
    // each copy's hidden trap link.
    (
        "0003_verdicts",
        "ALTER TABLE events ADD COLUMN confidence TEXT NOT NULL DEFAULT 'likely';
         ALTER TABLE events ADD COLUMN client TEXT NOT NULL DEFAULT '';
         ALTER TABLE events ADD COLUMN reclassified TEXT NOT NULL DEFAULT '';
         ALTER TABLE links ADD COLUMN trap INTEGER NOT NULL DEFAULT 0;
         CREATE INDEX events_recipient ON events (recipient_id, at);",
    ),
    // "Did this visitor follow the copy's trap link?" goes from the trap link to its clicks:
    // through the recipient's events it read every open of the copy, once per hit.
    (
        "0004_events_by_link",
        "CREATE INDEX events_link ON events (link_id) WHERE link_id IS NOT NULL;",
    ),
];

/// Fixed-width UTC so that text order is time order.
fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| DbError::Other(format!("bad time {s:?} in the database: {e}")))
}

pub struct SqliteDb {
    writer: mpsc::Sender<HitJob>,
    conn: Arc<Mutex<Connection>>,
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // FULL: the WAL is synced at every commit, so an answered event survives power loss too.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS tracker_migrations (name TEXT PRIMARY KEY)")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: Vec<String> = {
        let mut stmt = tx.prepare("SELECT name FROM tracker_migrations")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    if let Some(unknown) = applied
        .iter()
        .find(|a| !MIGRATIONS.iter().any(|(n, _)| n == a))
    {
        return Err(DbError::TooNew(unknown.clone()));
    }
    for (name, sql) in MIGRATIONS {
        if !applied.iter().any(|a| a == name) {
            tx.execute_batch(sql)?;
            tx.execute("INSERT INTO tracker_migrations (name) VALUES (?1)", [name])?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl SqliteDb {
    pub fn open(path: &Path, durability: Durability) -> Result<SqliteDb> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_files::create_private_dir(dir)
                .map_err(|e| DbError::Other(format!("{}: {e}", dir.display())))?;
        }
        // Who opened which mail is private: 0600, and SQLite gives the WAL and SHM that mode.
        crate::private_files::precreate_private_file(path)
            .map_err(|e| DbError::Other(format!("{}: {e}", path.display())))?;
        let mut conn = connect(path)?;
        migrate(&mut conn)?;
        let writer_conn = connect(path)?;
        // The writer checkpoints when it chooses (see `writer_loop`), never inside a commit.
        writer_conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;")?;
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        let wal = std::fs::File::open(&wal_path).map_err(|e| {
            DbError::Other(format!(
                "{}: {e}",
                std::path::Path::new(&wal_path).display()
            ))
        })?;
        let (tx, rx) = mpsc::channel::<HitJob>(MAX_BATCH * 8);
        let spawn_err = |e| DbError::Other(format!("cannot start a tracker thread: {e}"));
        let syncing = match durability {
            Durability::Fsync => Syncing::Fsync(wal),
            Durability::Process => Syncing::Written,
        };
        std::thread::Builder::new()
            .name("tracker-sqlite-writer".into())
            .spawn(move || writer_loop(writer_conn, rx, syncing))
            .map_err(spawn_err)?;
        Ok(SqliteDb {
            writer: tx,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'_, Result<T>> {
        let conn = self.conn.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut guard = conn
                    .lock()
                    .map_err(|_| DbError::Other("sqlite connection poisoned".into()))?;
                f(&mut guard)
            })
            .await
            .map_err(|e| DbError::Other(format!("sqlite task failed: {e}")))?
        })
    }
}

/// How the writer makes a committed batch safe before its requests are answered.
enum Syncing {
    /// [`Durability::Fsync`]: fsync the WAL right after the commit.
    Fsync(std::fs::File),
    /// [`Durability::Process`]: the commit wrote the WAL to the OS; answer at once.
    Written,
}

/// How often the writer copies the WAL into the database. Each checkpoint lets the next commit
/// start the WAL over, so the WAL holds about this long of hits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

fn writer_loop(mut conn: Connection, mut rx: mpsc::Receiver<HitJob>, syncing: Syncing) {
    let mut cache = TargetCache::new();
    let mut last_checkpoint = std::time::Instant::now();
    while let Some(first) = rx.blocking_recv() {
        let batch = fill_batch(first, &mut rx);
        let result = record_batch(&mut conn, &batch, &mut cache);
        match &syncing {
            Syncing::Fsync(wal) => {
                let result = result.and_then(|outcomes| {
                    wal.sync_data()
                        .map_err(|e| DbError::Other(format!("syncing the WAL failed: {e}")))?;
                    Ok(outcomes)
                });
                answer_batch(batch, result);
            }
            Syncing::Written => answer_batch(batch, result),
        }
        // After answering, so no answered request waits for it; the hits that queue meanwhile
        // form the next batch. Passive: a reader on the other connection is never waited for.
        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!("tracker: WAL checkpoint failed: {e}");
            }
            last_checkpoint = std::time::Instant::now();
        }
    }
}

fn record_batch(
    conn: &mut Connection,
    batch: &[HitJob],
    cache: &mut TargetCache,
) -> Result<Vec<HitOutcome>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Any commit by another connection — an opt-out, a registration, or a user rotated or removed
    // by `tidings tracker user` in another process — moves `data_version`, and then the cached
    // targets may be stale. Read inside the write transaction, so nothing commits in between.
    let version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    cache.sync_generation(version as u64);
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        outcomes.push(record_one(&tx, &job.hit, cache)?);
    }
    tx.commit()?;
    Ok(outcomes)
}

const TARGET_COLUMNS: &str = "r.id, r.message_pk, m.user_id, m.sent_at, u.token_hash,
    u.removed_at IS NOT NULL,
    EXISTS (SELECT 1 FROM optouts o WHERE o.user_id = m.user_id AND o.address = lower(r.address)),
    (SELECT count(*) FROM links l2 WHERE l2.recipient_id = r.id AND l2.trap = 0)";

fn lookup(conn: &Connection, kind: EventKind, token: &str) -> Result<Option<Target>> {
    let sql = match kind {
        EventKind::Open => format!(
            "SELECT {TARGET_COLUMNS}, NULL, NULL, 0 FROM recipients r
             JOIN messages m ON m.id = r.message_pk JOIN users u ON u.id = m.user_id
             WHERE r.token = ?1"
        ),
        EventKind::Click => format!(
            "SELECT {TARGET_COLUMNS}, l.id, l.url, l.trap FROM links l
             JOIN recipients r ON r.id = l.recipient_id
             JOIN messages m ON m.id = r.message_pk JOIN users u ON u.id = m.user_id
             WHERE l.token = ?1"
        ),
    };
    let row = conn
        .prepare_cached(&sql)?
        .query_row([token], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, bool>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, Option<i64>>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, bool>(10)?,
            ))
        })
        .optional()?;
    let Some((
        recipient_id,
        message_pk,
        user_id,
        sent_at,
        hash,
        removed,
        opted_out,
        links,
        link_id,
        url,
        trap,
    )) = row
    else {
        return Ok(None);
    };
    Ok(Some(Target {
        user_id,
        message_pk,
        recipient_id,
        link_id,
        url,
        sent_at: parse_time(&sent_at)?,
        owner_token_hash: hash,
        owner_removed: removed,
        opted_out,
        links_total: links as usize,
        trap,
    }))
}

fn record_one(conn: &Connection, hit: &Hit, cache: &mut TargetCache) -> Result<HitOutcome> {
    let target = match cache.get(hit.kind, &hit.token) {
        Some(t) => t,
        None => match lookup(conn, hit.kind, &hit.token)? {
            Some(t) => {
                cache.put(hit.kind, &hit.token, &t);
                t
            }
            None => return Ok(HitOutcome::unknown()),
        },
    };
    let cutoff = fmt_time(burst_cutoff(hit.at));
    let ua = clip_user_agent(&hit.user_agent);
    let mut facts = Facts::default();
    if let Some(link_id) = target.link_id {
        let others: i64 = conn
            .prepare_cached(
                "SELECT count(DISTINCT e.link_id) FROM events e JOIN links l ON l.id = e.link_id
                 WHERE e.recipient_id = ?1 AND e.kind = 'click' AND e.at >= ?2
                   AND e.link_id != ?3 AND l.trap = 0",
            )?
            .query_row(params![target.recipient_id, cutoff, link_id], |r| r.get(0))?;
        facts.clicked_in_burst = others as usize + 1;
        facts.opened_before = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM events WHERE recipient_id = ?1 AND kind = 'open'
                                AND classification != 'automated')",
            )?
            .query_row([target.recipient_id], |r| r.get(0))?;
    }
    facts.visitor_hit_trap = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM links l JOIN events e INDEXED BY events_link
                                ON e.link_id = l.id
                            WHERE l.recipient_id = ?1 AND l.trap = 1
                              AND e.ip IS ?2 AND e.user_agent = ?3)",
        )?
        .query_row(params![target.recipient_id, hit.stored_ip, ua], |r| {
            r.get(0)
        })?;
    let Some(event) = decide(hit, &target, facts) else {
        return Ok(HitOutcome {
            known: true,
            recorded: false,
            url: target.url,
        });
    };
    // Re-marked before the insert, so the new event is not among them.
    let reclassified: Vec<i64> = match event.reclassify {
        None => Vec::new(),
        Some(Reclassify::Sweep) => conn
            .prepare_cached(
                "UPDATE events SET classification = 'automated', confidence = ?3, reason = ?4
                 WHERE recipient_id = ?1 AND kind = 'click' AND at >= ?2
                   AND (classification != 'automated' OR reason != ?4)
                 RETURNING id",
            )?
            .query_map(
                params![
                    target.recipient_id,
                    cutoff,
                    event.confidence.as_str(),
                    event.reason
                ],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?,
        Some(Reclassify::Trap) => conn
            .prepare_cached(
                "UPDATE events SET classification = 'automated', confidence = 'certain', reason = ?4
                 WHERE recipient_id = ?1 AND classification != 'automated'
                   AND ip IS ?2 AND user_agent = ?3
                 RETURNING id",
            )?
            .query_map(
                params![target.recipient_id, hit.stored_ip, ua, event.reason],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?,
    };
    conn.prepare_cached(
        "INSERT INTO events (user_id, message_pk, recipient_id, link_id, kind, at, user_agent, ip,
                             classification, reason, confidence, client, reclassified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        target.user_id,
        target.message_pk,
        target.recipient_id,
        target.link_id,
        hit.kind.as_str(),
        fmt_time(hit.at),
        ua,
        hit.stored_ip,
        event.classification.as_str(),
        event.reason,
        event.confidence.as_str(),
        event.client,
        join_ids(&reclassified),
    ])?;
    Ok(HitOutcome {
        known: true,
        recorded: true,
        url: target.url,
    })
}

fn register(conn: &mut Connection, user_id: i64, reg: &Registration) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO messages (user_id, message_id, sent_at, registered_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, message_id) DO NOTHING",
        params![
            user_id,
            reg.message_id,
            fmt_time(reg.sent_at),
            fmt_time(Utc::now())
        ],
    )?;
    let message_pk: i64 = tx.query_row(
        "SELECT id FROM messages WHERE user_id = ?1 AND message_id = ?2",
        params![user_id, reg.message_id],
        |r| r.get(0),
    )?;
    for rcpt in &reg.recipients {
        let existing: Option<(i64, i64)> = tx
            .query_row(
                "SELECT id, message_pk FROM recipients WHERE token = ?1",
                [&rcpt.token],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let recipient_id = match existing {
            Some((id, pk)) if pk == message_pk => id,
            Some(_) => return Err(DbError::TokenConflict(rcpt.token.clone())),
            // One token names one thing: a pixel token that is some link's token would let
            // whoever registered the link decide where the other's pixel URL leads.
            None if token_is_link(&tx, &rcpt.token)? => {
                return Err(DbError::TokenConflict(rcpt.token.clone()))
            }
            None => {
                tx.execute(
                    "INSERT INTO recipients (message_pk, address, token) VALUES (?1, ?2, ?3)",
                    params![message_pk, rcpt.address, rcpt.token],
                )?;
                tx.last_insert_rowid()
            }
        };
        for link in &rcpt.links {
            let owner: Option<i64> = tx
                .query_row(
                    "SELECT recipient_id FROM links WHERE token = ?1",
                    [&link.token],
                    |r| r.get(0),
                )
                .optional()?;
            match owner {
                Some(id) if id == recipient_id => {}
                Some(_) => return Err(DbError::TokenConflict(link.token.clone())),
                None if token_is_recipient(&tx, &link.token)? => {
                    return Err(DbError::TokenConflict(link.token.clone()))
                }
                None => {
                    tx.execute(
                        "INSERT INTO links (recipient_id, token, url, trap) VALUES (?1, ?2, ?3, ?4)",
                        params![recipient_id, link.token, link.url, link.trap],
                    )?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(())
}

fn token_is_link(conn: &Connection, token: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM links WHERE token = ?1)")?
        .query_row([token], |r| r.get(0))?)
}

fn token_is_recipient(conn: &Connection, token: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM recipients WHERE token = ?1)")?
        .query_row([token], |r| r.get(0))?)
}

/// The user's id and whether it was removed.
fn find_user(conn: &Connection, name: &str) -> Result<(i64, bool)> {
    conn.query_row(
        "SELECT id, removed_at IS NOT NULL FROM users WHERE name = ?1",
        [name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| DbError::NoSuchUser(name.to_string()))
}

fn events_page(
    conn: &Connection,
    user_id: i64,
    after: Option<String>,
    limit: u32,
) -> Result<EventPage> {
    let after_id: i64 = match after.as_deref().filter(|a| !a.is_empty()) {
        None => 0,
        Some(a) => a
            .parse()
            .ok()
            .filter(|&n: &i64| n >= 0)
            .ok_or_else(|| DbError::BadCursor(a.to_string()))?,
    };
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.kind, m.message_id, r.address, l.url, e.at, e.user_agent, e.ip,
                e.classification, e.reason, e.confidence, e.client, e.reclassified
         FROM events e
         JOIN messages m ON m.id = e.message_pk
         JOIN recipients r ON r.id = e.recipient_id
         LEFT JOIN links l ON l.id = e.link_id
         WHERE e.user_id = ?1 AND e.id > ?2
         ORDER BY e.id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![user_id, after_id, limit.min(MAX_PAGE)], |r| {
        Ok((
            EventRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                message_id: r.get(2)?,
                recipient: r.get(3)?,
                url: r.get(4)?,
                at: Utc::now(),
                user_agent: r.get(6)?,
                ip: r.get(7)?,
                classification: r.get(8)?,
                reason: r.get(9)?,
                confidence: r.get(10)?,
                client: r.get(11)?,
                reclassified: r.get(12)?,
            },
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (mut event, at) = row?;
        event.at = parse_time(&at)?;
        events.push(Event::try_from(event)?);
    }
    let cursor = events.last().map_or(after_id, |e| e.id).to_string();
    Ok(EventPage { events, cursor })
}

impl TrackerDb for SqliteDb {
    fn add_user(&self, name: &str) -> BoxFuture<'_, Result<String>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            let token = new_api_token();
            let inserted = conn.execute(
                "INSERT INTO users (name, token_hash, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
                params![name, hash_api_token(&token), fmt_time(Utc::now())],
            )?;
            if inserted == 0 {
                return Err(DbError::UserExists(name));
            }
            Ok(token)
        })
    }

    fn list_users(&self) -> BoxFuture<'_, Result<Vec<UserInfo>>> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT u.name, u.created_at, u.removed_at IS NOT NULL,
                        (SELECT count(*) FROM messages m WHERE m.user_id = u.id)
                 FROM users u ORDER BY u.name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            let mut users = Vec::new();
            for row in rows {
                let (name, created_at, removed, messages) = row?;
                users.push(UserInfo {
                    name,
                    created_at: parse_time(&created_at)?,
                    messages: messages as u64,
                    removed,
                });
            }
            Ok(users)
        })
    }

    fn rotate_user(&self, name: &str) -> BoxFuture<'_, Result<String>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (id, removed) = find_user(&tx, &name)?;
            if removed {
                return Err(DbError::UserRemoved(name));
            }
            let token = new_api_token();
            tx.execute(
                "UPDATE users SET token_hash = ?2 WHERE id = ?1",
                params![id, hash_api_token(&token)],
            )?;
            tx.commit()?;
            Ok(token)
        })
    }

    fn remove_user(&self, name: &str, purge: bool) -> BoxFuture<'_, Result<Removal>> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (id, _) = find_user(&tx, &name)?;
            let (messages, events): (i64, i64) = tx.query_row(
                "SELECT (SELECT count(*) FROM messages WHERE user_id = ?1),
                        (SELECT count(*) FROM events WHERE user_id = ?1)",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if purge {
                tx.execute_batch(&format!(
                    "DELETE FROM events WHERE user_id = {id};
                     DELETE FROM links WHERE recipient_id IN (SELECT r.id FROM recipients r
                         JOIN messages m ON m.id = r.message_pk WHERE m.user_id = {id});
                     DELETE FROM recipients WHERE message_pk IN
                         (SELECT id FROM messages WHERE user_id = {id});
                     DELETE FROM messages WHERE user_id = {id};
                     DELETE FROM optouts WHERE user_id = {id};
                     DELETE FROM users WHERE id = {id};"
                ))?;
            } else {
                // The hash is replaced too: no SHA-256 of any token can equal it.
                tx.execute(
                    "UPDATE users SET removed_at = coalesce(removed_at, ?2),
                                      token_hash = 'removed:' || id WHERE id = ?1",
                    params![id, fmt_time(Utc::now())],
                )?;
            }
            tx.commit()?;
            Ok(Removal {
                messages: messages as u64,
                events: events as u64,
                purged: purge,
            })
        })
    }

    fn user_by_token_hash(&self, token_hash: &str) -> BoxFuture<'_, Result<Option<i64>>> {
        let hash = token_hash.to_string();
        self.with_conn(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT id FROM users WHERE token_hash = ?1 AND removed_at IS NULL",
                )?
                .query_row([hash], |r| r.get(0))
                .optional()?)
        })
    }

    fn register(&self, user_id: i64, reg: Registration) -> BoxFuture<'_, Result<()>> {
        self.with_conn(move |conn| register(conn, user_id, &reg))
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
        self.with_conn(move |conn| events_page(conn, user_id, after, limit))
    }

    fn opt_out(&self, token: String) -> BoxFuture<'_, Result<Option<String>>> {
        self.with_conn(move |conn| {
            let found: Option<(i64, String)> = conn
                .query_row(
                    "SELECT m.user_id, r.address FROM recipients r
                     JOIN messages m ON m.id = r.message_pk WHERE r.token = ?1",
                    [&token],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((user_id, address)) = found else {
                return Ok(None);
            };
            conn.execute(
                "INSERT INTO optouts (user_id, address, at) VALUES (?1, lower(?2), ?3)
                 ON CONFLICT DO NOTHING",
                params![user_id, address, fmt_time(Utc::now())],
            )?;
            Ok(Some(address))
        })
    }

    fn optouts(&self, user_id: i64) -> BoxFuture<'_, Result<Vec<OptOut>>> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT address, at FROM optouts WHERE user_id = ?1 ORDER BY at, address",
            )?;
            let rows = stmt.query_map([user_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (address, at) = row?;
                out.push(OptOut {
                    address,
                    at: parse_time(&at)?,
                });
            }
            Ok(out)
        })
    }

    fn purge_before(&self, cutoff: DateTime<Utc>) -> BoxFuture<'_, Result<u64>> {
        self.with_conn(move |conn| {
            Ok(conn.execute("DELETE FROM events WHERE at < ?1", [fmt_time(cutoff)])? as u64)
        })
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats>> {
        self.with_conn(move |conn| {
            Ok(conn.query_row(
                "SELECT (SELECT count(*) FROM users WHERE removed_at IS NULL),
                        (SELECT count(*) FROM users WHERE removed_at IS NOT NULL),
                        (SELECT count(*) FROM messages),
                        (SELECT count(*) FROM events WHERE kind = 'open'),
                        (SELECT count(*) FROM events WHERE kind = 'click')",
                [],
                |r| {
                    Ok(Stats {
                        users: r.get::<_, i64>(0)? as u64,
                        removed_users: r.get::<_, i64>(1)? as u64,
                        messages: r.get::<_, i64>(2)? as u64,
                        opens: r.get::<_, i64>(3)? as u64,
                        clicks: r.get::<_, i64>(4)? as u64,
                    })
                },
            )?)
        })
    }

    fn check_writable(&self) -> BoxFuture<'_, Result<()>> {
        let writer_gone = self.writer.is_closed();
        self.with_conn(move |conn| check_writable(conn, writer_gone))
    }
}

/// Writes a row and rolls it back: that fails as a hit's commit would on a file that is
/// read-only (permissions, a read-only mount — taking the write lock alone still succeeds there in
/// WAL mode) or locked by another process beyond the busy timeout. A stopped writer thread fails
/// too.
fn check_writable(conn: &mut Connection, writer_gone: bool) -> Result<()> {
    if writer_gone {
        return Err(DbError::WriterGone);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT OR IGNORE INTO tracker_migrations (name) VALUES ('readiness-probe')",
        [],
    )?;
    tx.rollback()?;
    Ok(())
}
