//! The local cache: one SQLite file (WAL) holding accounts, folders, messages, bodies, attachments
//! metadata and a full-text index. Every task opens its own [`Store`]; WAL lets readers run while the
//! sync engine writes. Nothing here does network I/O.

mod activity;
mod contacts;
mod drafts;
mod forget_account;
mod identities;
mod local_mail;
mod messages;
mod outbox;
mod reminders;
mod replies;
mod schema;
mod search;
#[cfg(test)]
mod search_tests;
mod snoozes;
mod superdata;
mod sync;
mod tracked_mail;
mod tracking_events;

pub use activity::*;
pub use contacts::*;
pub use drafts::*;
pub use forget_account::*;
pub use messages::*;
pub use outbox::*;
pub use reminders::*;
pub use replies::*;
pub use search::*;
pub use snoozes::*;
pub use superdata::*;
pub use sync::*;
pub use tracked_mail::*;
pub use tracking_events::*;

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: the database was written by a newer tidings (migration {migration:?}); upgrade tidings")]
    TooNew { path: PathBuf, migration: String },
    #[error("no message with id {0}")]
    NoSuchMessage(i64),
    /// The envelope is stored, the body not yet (see `[sync] bodies`): fetch it from the server.
    #[error("message {0} has not been downloaded yet")]
    BodyNotCached(i64),
    #[error("no folder {0:?}")]
    NoSuchFolder(String),
    #[error("no account {0:?} in the cache (run `tidings sync` first)")]
    NoSuchAccount(String),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub struct Store {
    pub conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        // All of the user's mail is in this file: 0600 in a 0700 dir, and SQLite gives the WAL
        // and SHM files the database's mode, so they are private too.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = crate::private_files::create_private_dir(dir);
        }
        let _ = crate::private_files::precreate_private_file(path);
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        // Switching a fresh file to WAL needs it to itself, and SQLite answers "database is
        // locked" at once, without the busy handler, when another connection (the UI and the
        // sync watchers start together on a first run) is creating the schema: wait for it.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match conn.execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA temp_store = MEMORY;",
            ) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                done => break done.map_err(open_err)?,
            }
        }
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        // The sync watchers, the UI's writer and the CLI write to one file from several
        // connections. A DEFERRED transaction that reads first and then writes fails at once with
        // SQLITE_BUSY when another connection committed meanwhile; IMMEDIATE takes the write lock
        // up front, where busy_timeout makes it wait its turn instead.
        store
            .conn
            .set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        search::register_functions(&store.conn).map_err(open_err)?;
        store.migrate()?;
        Ok(store)
    }

    /// An in-memory store, for unit tests and benchmarks.
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        search::register_functions(&conn)?;
        let mut store = Store {
            conn,
            path: PathBuf::from(":memory:"),
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn applied_migrations(conn: &Connection) -> Result<Vec<String>> {
        let mut st = conn.prepare("SELECT name FROM schema_migrations")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Applies the migrations this database lacks. Several processes may open a fresh database at
    /// once (a script running `tidings` in parallel), so the check and the changes happen under one
    /// IMMEDIATE transaction: the second opener waits for the first, then finds nothing to do.
    fn migrate(&mut self) -> Result<()> {
        let known: Vec<&str> = schema::MIGRATIONS.iter().map(|(n, _)| *n).collect();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL DEFAULT (strftime('%s','now')))",
        )?;
        let applied = Self::applied_migrations(&tx)?;
        if let Some(unknown) = applied.iter().find(|a| !known.contains(&a.as_str())) {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                migration: unknown.clone(),
            });
        }
        for (name, sql) in schema::MIGRATIONS {
            if applied.iter().any(|a| a == name) {
                continue;
            }
            tx.execute_batch(sql)?;
            tx.execute("INSERT INTO schema_migrations(name) VALUES (?1)", [name])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs `work` in one IMMEDIATE transaction on this connection: another process wanting
    /// to write waits for it. Committed when `work` succeeds, rolled back when it fails.
    pub(crate) fn in_immediate<T, E: From<StoreError>>(
        &mut self,
        what: &str,
        work: impl FnOnce(&Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(StoreError::from)?;
        match work(self) {
            Ok(t) => {
                self.conn
                    .execute_batch("COMMIT")
                    .map_err(StoreError::from)?;
                Ok(t)
            }
            Err(e) => {
                if let Err(rollback) = self.conn.execute_batch("ROLLBACK") {
                    tracing::warn!(error = %rollback, "rollback of a {what} failed");
                }
                Err(e)
            }
        }
    }

    pub fn kv_get(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn kv_set(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO kv(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_opens_of_a_fresh_database_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let p = path.clone();
                std::thread::spawn(move || Store::open(&p).map(|_| ()))
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        let s = Store::open(&path).unwrap();
        let n: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n as usize, schema::MIGRATIONS.len());
    }
}
