//! Drafts: the composer's autosaved state, one row per Message-ID. Stored as JSON the mail layer
//! (`mail::compose::Draft`) owns, so the store never needs to know the draft's shape.

use super::{Result, Store};
use rusqlite::{params, OptionalExtension, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRow {
    pub id: i64,
    pub account: String,
    pub message_id: String,
    pub json: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Folder the last server copy went to, and the `updated_at` of that copy.
    pub server_folder: Option<String>,
    pub server_saved_at: Option<i64>,
}

const DRAFT_COLUMNS: &str =
    "id, account, message_id, draft, created_at, updated_at, server_folder, server_saved_at";

fn draft_from_row(r: &Row<'_>) -> rusqlite::Result<DraftRow> {
    Ok(DraftRow {
        id: r.get(0)?,
        account: r.get(1)?,
        message_id: r.get(2)?,
        json: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        server_folder: r.get(6)?,
        server_saved_at: r.get(7)?,
    })
}

impl Store {
    /// Inserts or replaces the draft with this Message-ID; returns its id (stable across saves).
    pub fn save_draft(&self, account: &str, message_id: &str, json: &str, now: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "INSERT INTO drafts(account, message_id, draft, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(message_id) DO UPDATE SET account = excluded.account,
                 draft = excluded.draft, updated_at = excluded.updated_at
             RETURNING id",
            params![account, message_id, json, now],
            |r| r.get(0),
        )?)
    }

    pub fn draft(&self, id: i64) -> Result<Option<DraftRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = ?1"),
                [id],
                draft_from_row,
            )
            .optional()?)
    }

    pub fn draft_by_message_id(&self, message_id: &str) -> Result<Option<DraftRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE message_id = ?1"),
                [message_id],
                draft_from_row,
            )
            .optional()?)
    }

    /// Drafts, most recently edited first; `account` narrows to one account.
    pub fn drafts(&self, account: Option<&str>) -> Result<Vec<DraftRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts WHERE ?1 IS NULL OR account = ?1
             ORDER BY updated_at DESC, id DESC"
        ))?;
        let rows = st.query_map([account], draft_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Returns whether a draft was deleted.
    pub fn delete_draft(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM drafts WHERE id = ?1", [id])?
            > 0)
    }

    /// Records that the version saved at `version` (its `updated_at`) is on the server in `folder`.
    pub fn mark_draft_on_server(&self, id: i64, folder: &str, version: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE drafts SET server_folder = ?2, server_saved_at = ?3 WHERE id = ?1",
            params![id, folder, version],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saving_twice_keeps_one_row_and_the_newest_text() {
        let s = Store::open_in_memory().unwrap();
        let a = s.save_draft("work", "<x@y>", "{\"v\":1}", 10).unwrap();
        let b = s.save_draft("work", "<x@y>", "{\"v\":2}", 20).unwrap();
        assert_eq!(a, b);
        let row = s.draft(a).unwrap().unwrap();
        assert_eq!(
            (row.json.as_str(), row.created_at, row.updated_at),
            ("{\"v\":2}", 10, 20)
        );
        assert_eq!(s.drafts(Some("work")).unwrap().len(), 1);
        assert!(s.drafts(Some("home")).unwrap().is_empty());
        assert!(s.delete_draft(a).unwrap());
        assert!(s.draft(a).unwrap().is_none());
    }
}
