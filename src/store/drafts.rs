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

impl Store {
    /// Addresses for the composer's To/Cc/Bcc completion: senders of stored mail whose address
    /// or name starts with `prefix` (case-insensitive), most frequent first, each address once
    /// with its most recent name. Mail in Junk is not a correspondent's: its senders are never
    /// offered (a mistyped prefix would otherwise put a spammer in To).
    pub fn address_suggestions(&self, prefix: &str, limit: u32) -> Result<Vec<(String, String)>> {
        let escaped = prefix
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("{escaped}%");
        let mut st = self.conn.prepare_cached(
            "SELECT (SELECT m2.from_name FROM messages m2 JOIN folders f2 ON f2.id = m2.folder_id
                     WHERE lower(m2.from_addr) = lower(m.from_addr)
                       AND (f2.role IS NULL OR f2.role != 'junk')
                     ORDER BY m2.date DESC LIMIT 1),
                    lower(m.from_addr), COUNT(*) AS n
             FROM messages m JOIN folders f ON f.id = m.folder_id
             WHERE (f.role IS NULL OR f.role != 'junk')
               AND m.from_addr != '' AND (lower(m.from_addr) LIKE ?1 ESCAPE '\\'
                   OR lower(m.from_name) LIKE ?1 ESCAPE '\\'
                   OR lower(m.from_name) LIKE '% ' || ?1 ESCAPE '\\')
             GROUP BY lower(m.from_addr) ORDER BY n DESC, 2 LIMIT ?2",
        )?;
        let rows = st.query_map(params![pattern, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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

    #[test]
    fn suggestions_match_address_or_any_name_word_most_frequent_first() {
        let s = Store::open_in_memory().unwrap();
        let acc = s.ensure_account("work", "me@x", None).unwrap();
        let f = s
            .upsert_folder(acc, "INBOX", None, Some("inbox"), true)
            .unwrap();
        let senders = [
            ("Dana Lee", "dana@acme.test"),
            ("Dana Lee", "Dana@acme.test"),
            ("Bob Dane", "bob@acme.test"),
            ("100% Carol", "carol@x.test"),
        ];
        for (uid, (name, addr)) in senders.iter().enumerate() {
            let m = crate::store::NewMessage {
                uid: uid as u32 + 1,
                from_name: name.to_string(),
                from_addr: addr.to_string(),
                date: uid as i64,
                ..Default::default()
            };
            s.put_message(f, &m).unwrap();
        }
        let got = s.address_suggestions("dan", 10).unwrap();
        assert_eq!(
            got,
            vec![
                ("Dana Lee".to_string(), "dana@acme.test".to_string()),
                ("Bob Dane".to_string(), "bob@acme.test".to_string()),
            ]
        );
        assert_eq!(s.address_suggestions("100%", 10).unwrap().len(), 1);
        // Senders of mail in Junk are not offered.
        let junk = s
            .upsert_folder(acc, "Junk", None, Some("junk"), true)
            .unwrap();
        let spam = crate::store::NewMessage {
            uid: 1,
            from_name: "Dana Offers".into(),
            from_addr: "dana.offers@offshore.test".into(),
            date: 99,
            ..Default::default()
        };
        s.put_message(junk, &spam).unwrap();
        let got = s.address_suggestions("dan", 10).unwrap();
        assert!(
            got.iter().all(|(_, a)| a != "dana.offers@offshore.test"),
            "{got:?}"
        );
        assert_eq!(got.len(), 2);
        assert!(
            s.address_suggestions("%", 10).unwrap().is_empty(),
            "% is literal"
        );
    }
}
