//! A cheap question the reader asks for every message it opens: was this mail sent tracked
//! from this cache? Only then is the full tracking report (which reads the outbox) built.

use super::{Result, Store};

impl Store {
    /// Whether an outbox entry with this Message-ID (angle brackets optional) carries a
    /// tracking record.
    pub fn sent_tracked(&self, message_id: &str) -> Result<bool> {
        let bare = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM outbox WHERE tracking IS NOT NULL
                 AND message_id IN (?1, ?2))",
            [bare.to_string(), format!("<{bare}>")],
            |r| r.get(0),
        )?)
    }
}
