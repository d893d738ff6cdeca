//! The Superdata cache: one row per (subject, source) with the date of the fetch. The meaning of
//! the JSON in `data` belongs to `crate::superdata`; here it is only stored and returned.

use super::{Result, Store};
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperdataRow {
    /// An address (Gravatar) or a domain (homepage, RDAP, MX).
    pub subject: String,
    pub source: String,
    /// Unix seconds.
    pub fetched_at: i64,
    pub url: String,
    /// `ok` | `not_found` | `error`.
    pub status: String,
    pub data: Option<String>,
    pub error: Option<String>,
    pub demo: bool,
}

impl Store {
    pub fn superdata_get(&self, subject: &str, source: &str) -> Result<Option<SuperdataRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT subject, source, fetched_at, url, status, data, error, demo
                 FROM superdata_cache WHERE subject = ?1 AND source = ?2",
            )?
            .query_row(params![subject, source], |r| {
                Ok(SuperdataRow {
                    subject: r.get(0)?,
                    source: r.get(1)?,
                    fetched_at: r.get(2)?,
                    url: r.get(3)?,
                    status: r.get(4)?,
                    data: r.get(5)?,
                    error: r.get(6)?,
                    demo: r.get(7)?,
                })
            })
            .optional()?)
    }

    /// Stores a fetch, replacing the previous one of the same subject and source.
    pub fn superdata_put(&self, row: &SuperdataRow) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO superdata_cache
                 (subject, source, fetched_at, url, status, data, error, demo)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                row.subject,
                row.source,
                row.fetched_at,
                row.url,
                row.status,
                row.data,
                row.error,
                row.demo
            ])?;
        Ok(())
    }
}
