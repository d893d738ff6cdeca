//! `tidings tracker backup`: a consistent copy of a live SQLite tracker database through SQLite's
//! online backup API, taken while the tracker keeps recording. PostgreSQL trackers are backed up
//! with `pg_dump` (docs/tracking.md).

use super::{DbError, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// What a finished backup holds, read back from the copy itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub users: u64,
    pub messages: u64,
    pub events: u64,
}

/// Copies the database at `source` to `out`. The copy is one self-contained file (rollback
/// journal mode, no `-wal` beside it), checked with `PRAGMA quick_check`, synced, and only then
/// renamed to `out`, so `out` is either the previous file or a complete backup.
pub fn backup_sqlite(source: &Path, out: &Path) -> Result<BackupSummary> {
    let fail = |what: &str, e: &dyn std::fmt::Display| DbError::Other(format!("{what}: {e}"));
    if !source.is_file() {
        return Err(DbError::Other(format!(
            "{}: no such database file",
            source.display()
        )));
    }
    // Read-only: a backup must never be what changes or migrates the live database.
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(Duration::from_secs(10))?;
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".tidings-tracker-backup-")
        .tempfile_in(dir)
        .map_err(|e| fail(&dir.display().to_string(), &e))?;
    {
        let mut dst = Connection::open(temp.path())?;
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        // All pages in one step: the step reads one snapshot of the source, and in WAL mode the
        // tracker keeps committing meanwhile. Copying in small steps instead would restart the
        // copy after every commit of the tracker, never finishing under steady traffic.
        loop {
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                // Another connection holds a lock we need (a checkpoint truncating the WAL):
                // wait a moment and go on.
                rusqlite::backup::StepResult::Busy | rusqlite::backup::StepResult::Locked => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                rusqlite::backup::StepResult::More => {}
                _ => {}
            }
        }
        drop(backup);
        dst.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
        let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(DbError::Other(format!(
                "the copy failed its integrity check: {check}"
            )));
        }
    }
    temp.as_file()
        .sync_all()
        .map_err(|e| fail(&temp.path().display().to_string(), &e))?;
    temp.persist(out)
        .map_err(|e| fail(&out.display().to_string(), &e.error))?;
    summarize(out)
}

fn summarize(path: &Path) -> Result<BackupSummary> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let count = |table: &str| -> Result<u64> {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(BackupSummary {
        users: count("users")?,
        messages: count("messages")?,
        events: count("events")?,
    })
}
