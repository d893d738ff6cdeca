//! Queries for mail that lives only in the cache (accounts without IMAP, e.g. the demo's): which
//! UID comes next in a folder and whether a Message-ID is already filed there.

use super::{Result, Store};
use rusqlite::params;

impl Store {
    /// How many messages in folder `folder_id` carry `message_id` (angle brackets optional).
    pub fn count_message_id_in_folder(&self, folder_id: i64, message_id: &str) -> Result<usize> {
        let bare = crate::message_id::bare(message_id);
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM messages WHERE folder_id = ?1 AND message_id = ?2",
            params![folder_id, format!("<{bare}>")],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The UID for a new local message: past both the largest stored UID and the folder's
    /// `uidnext`, so a UID is never reused even after its message was deleted.
    pub fn next_local_uid(&self, folder_id: i64) -> Result<u32> {
        let uidnext: Option<u32> = self.conn.query_row(
            "SELECT uidnext FROM folders WHERE id = ?1",
            [folder_id],
            |r| r.get(0),
        )?;
        let max = self.max_uid(folder_id)?;
        Ok(uidnext.unwrap_or(1).max(max.saturating_add(1)))
    }
}
