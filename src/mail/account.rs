//! One IMAP account as the sync engine and the mail operations see it ([`MailAccount`]), and
//! what both report in: [`SyncEvent`] while they work, [`SyncError`] when they fail. Apart from
//! `sync` and `ops` so that neither has to import the other.

use super::imap::{self as imapconn, Connection, ImapError};
use crate::config::{AccountConfig, Config, SyncConfig};
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};

/// Errors of the sync engine and of mail operations (`ops`).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error("local cache: {0}")]
    Store(#[from] StoreError),
    #[error("local cache: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("stopped")]
    Stopped,
}

impl SyncError {
    /// True when only the user can fix it by signing in again (`tidings account login NAME`).
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, SyncError::Imap(ImapError::OAuth2(e)) if e.needs_sign_in())
    }
}

/// What the engine reports while it works. `account` is the config's account name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// `done` of `total` new envelopes of `folder` (newest first) are stored. Only shown, so `folder` is the
    /// name people read (decoded); elsewhere `folder` is the wire name, the folder's identity.
    Progress {
        account: String,
        folder: String,
        done: u64,
        total: u64,
    },
    /// `done` of `total` bodies of `folder` (the name people read) are stored: the background
    /// downloads that follow the envelopes (`[sync] bodies`).
    BodyProgress {
        account: String,
        folder: String,
        done: u64,
        total: u64,
    },
    /// The folder's messages or flags changed locally: reload what shows it.
    FolderChanged {
        account: String,
        folder: String,
    },
    /// A sync finished (the watcher sends one after each).
    Finished {
        account: String,
    },
    Error {
        account: String,
        message: String,
    },
    /// A queued local change was refused by the server and has been rolled back locally.
    OpRolledBack {
        account: String,
        message_row: Option<i64>,
        reason: String,
    },
}

/// Everything the engine needs about one account, owned so it can move to a thread.
#[derive(Debug, Clone)]
pub struct MailAccount {
    pub name: String,
    pub config: AccountConfig,
    /// The config file, named in error messages ("check password_command in …").
    pub config_path: PathBuf,
    pub sync: SyncConfig,
}

impl MailAccount {
    pub fn new(config: &Config, config_path: &Path, name: &str) -> Result<MailAccount, String> {
        let (name, acc) = config.account(Some(name))?;
        if acc.imap.is_none() {
            return Err(format!(
                "account {name:?} has no [imap] section: nothing to sync"
            ));
        }
        Ok(MailAccount {
            name: name.to_string(),
            config: acc.clone(),
            config_path: config_path.to_path_buf(),
            sync: config.sync.clone(),
        })
    }

    /// Every configured account, in name order.
    pub fn all(config: &Config, config_path: &Path) -> Vec<MailAccount> {
        config
            .accounts
            .keys()
            .filter_map(|n| MailAccount::new(config, config_path, n).ok())
            .collect()
    }

    pub fn connect(&self) -> Result<Connection, ImapError> {
        // `new` refuses accounts without [imap], so this is only reached with one.
        match &self.config.imap {
            Some(imap) => imapconn::connect(imap, &self.config_path),
            None => Err(ImapError::Connect {
                addr: format!("account {:?}", self.name),
                reason: "it has no [imap] section".into(),
                config: self.config_path.clone(),
            }),
        }
    }

    pub fn ensure_in_store(&self, store: &Store) -> Result<i64, StoreError> {
        store.ensure_account(
            &self.name,
            &self.config.email,
            self.config.display_name.as_deref(),
        )
    }
}
