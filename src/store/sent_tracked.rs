//! The tracking record of one sent mail, looked up by Message-ID: the reader asks for it for
//! every message it opens, so it reads one indexed row, not the whole outbox.

use super::{Result, Store};
use rusqlite::OptionalExtension;

/// What the tracking report needs of an outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentTracking {
    /// The tracking record (JSON).
    pub tracking: String,
    /// The entry's state (`sent` once every copy was accepted).
    pub state: String,
    pub envelope_from: String,
}

impl Store {
    /// The tracking record of the outbox entry with this Message-ID (angle brackets optional);
    /// None when there is no such entry or it was sent untracked.
    pub fn sent_tracking(&self, message_id: &str) -> Result<Option<SentTracking>> {
        let bare = crate::message_id::bare(message_id);
        Ok(self
            .conn
            .query_row(
                "SELECT tracking, state, envelope_from FROM outbox
                 WHERE tracking IS NOT NULL AND message_id IN (?1, ?2)",
                [bare.to_string(), format!("<{bare}>")],
                |r| {
                    Ok(SentTracking {
                        tracking: r.get(0)?,
                        state: r.get(1)?,
                        envelope_from: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }
}
