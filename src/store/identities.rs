//! Who an account sends as, from the accounts table: the composer's fallback for accounts that
//! live only in the store (the demo's).

use super::{Result, Store};
use rusqlite::OptionalExtension;

impl Store {
    /// (email, display name) of account `name`, if the store knows it.
    pub fn account_identity(&self, name: &str) -> Result<Option<(String, Option<String>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT email, display_name FROM accounts WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}
