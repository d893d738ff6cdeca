//! Removing one account's cache: what `tidings forget-account` deletes when an account was
//! renamed or removed from the config, so its mail no longer shows twice next to the new one.
//! Drafts are the user's own writing, not cache, and are kept.

use super::{Result, Store};
use rusqlite::params;

/// What stands in the way of forgetting an account: work not yet done on the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnfinishedWork {
    /// Outbox mail not yet sent (queued, sending, failed or unconfirmed).
    pub unsent: u64,
    /// Flag changes and moves queued for the server.
    pub queued_ops: u64,
}

impl UnfinishedWork {
    pub fn is_empty(&self) -> bool {
        self.unsent == 0 && self.queued_ops == 0
    }
}

/// What [`Store::forget_account`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForgottenAccount {
    pub messages: u64,
    pub outbox: u64,
    pub tracked: u64,
}

impl Store {
    /// Cached accounts whose name is not in `configured`, in name order.
    pub fn accounts_not_in(&self, configured: &[String]) -> Result<Vec<String>> {
        Ok(self
            .account_names()?
            .into_iter()
            .filter(|n| !configured.contains(n))
            .collect())
    }

    /// Unsent outbox mail and queued server changes of account `name`.
    pub fn unfinished_work(&self, name: &str) -> Result<UnfinishedWork> {
        let unsent: i64 = self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE account = ?1 AND state != ?2",
            params![name, super::outbox_state::SENT],
            |r| r.get(0),
        )?;
        let queued_ops: i64 = self.conn.query_row(
            "SELECT count(*) FROM pending_ops p JOIN accounts a ON a.id = p.account_id
             WHERE a.name = ?1",
            [name],
            |r| r.get(0),
        )?;
        Ok(UnfinishedWork {
            unsent: unsent as u64,
            queued_ops: queued_ops as u64,
        })
    }

    /// Deletes account `name`'s cached mail (folders, messages, bodies, queued ops — by
    /// cascade, which also takes its mail out of the contact counts), its outbox, and its
    /// client-side tracking state, in one transaction. The caller checks
    /// [`Store::unfinished_work`] first. Returns None when no such account is cached.
    pub fn forget_account(&mut self, name: &str) -> Result<Option<ForgottenAccount>> {
        let tx = self.conn.transaction()?;
        let messages: i64 = tx.query_row(
            "SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id
             JOIN accounts a ON a.id = f.account_id WHERE a.name = ?1",
            [name],
            |r| r.get(0),
        )?;
        if tx.execute("DELETE FROM accounts WHERE name = ?1", [name])? == 0 {
            return Ok(None);
        }
        let outbox = tx.execute("DELETE FROM outbox WHERE account = ?1", [name])?;
        let tracked = tx.execute("DELETE FROM tracked_messages WHERE account = ?1", [name])?;
        for table in ["tracking_events", "tracking_cursors", "notifications"] {
            tx.execute(&format!("DELETE FROM {table} WHERE account = ?1"), [name])?;
        }
        tx.commit()?;
        Ok(Some(ForgottenAccount {
            messages: messages as u64,
            outbox: outbox as u64,
            tracked: tracked as u64,
        }))
    }
}
