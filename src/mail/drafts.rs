//! Drafts as the composer uses them: typed save/load over the store's drafts table, an
//! [`Autosaver`] that writes only when something changed (every few seconds and on exit), and
//! saving a copy to the server's Drafts folder (replacing the previous copy).

use super::compose::Draft;
use super::filing::{self, FilingError, Role};
use crate::config::Config;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("draft {0} cannot be read: {1}")]
    Corrupt(i64, String),
    #[error("no draft {0}")]
    NoSuchDraft(i64),
    #[error("account {0:?} is not in the config")]
    NoSuchAccount(String),
    #[error("account {0:?} has no IMAP server; the draft is kept in the local drafts only")]
    NoServer(String),
    #[error(transparent)]
    Filing(#[from] FilingError),
    #[error(transparent)]
    Compose(#[from] super::compose::ComposeError),
}

/// A stored draft with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDraft {
    pub id: i64,
    pub draft: Draft,
    pub updated_at: i64,
    /// True when the server's Drafts folder has this exact version.
    pub on_server: bool,
}

fn to_json(draft: &Draft) -> String {
    // A Draft is plain data (strings, vectors, bytes as base64): serializing cannot fail.
    serde_json::to_string(draft).unwrap_or_default()
}

/// Saves (inserts or replaces, keyed by Message-ID) and returns the draft's id.
pub fn save(store: &Store, draft: &Draft, now: i64) -> Result<i64, DraftError> {
    Ok(store.save_draft(&draft.account, &draft.message_id, &to_json(draft), now)?)
}

pub fn load(store: &Store, id: i64) -> Result<SavedDraft, DraftError> {
    let row = store.draft(id)?.ok_or(DraftError::NoSuchDraft(id))?;
    let draft =
        serde_json::from_str(&row.json).map_err(|e| DraftError::Corrupt(id, e.to_string()))?;
    Ok(SavedDraft {
        id,
        draft,
        updated_at: row.updated_at,
        on_server: row.server_saved_at == Some(row.updated_at),
    })
}

/// Every stored draft (of one account, or all), most recent first. Unreadable rows are skipped
/// with a log line rather than hiding every other draft.
pub fn list(store: &Store, account: Option<&str>) -> Result<Vec<SavedDraft>, DraftError> {
    let mut out = Vec::new();
    for row in store.drafts(account)? {
        match serde_json::from_str(&row.json) {
            Ok(draft) => out.push(SavedDraft {
                id: row.id,
                draft,
                updated_at: row.updated_at,
                on_server: row.server_saved_at == Some(row.updated_at),
            }),
            Err(e) => tracing::warn!(id = row.id, "skipping unreadable draft: {e}"),
        }
    }
    Ok(out)
}

/// Forgets a draft locally (the user discarded it, or it was sent).
pub fn discard(store: &Store, id: i64) -> Result<bool, DraftError> {
    Ok(store.delete_draft(id)?)
}

/// Discards a draft here and, when it was ever saved to the server, its copies in that Drafts
/// folder. The server goes first: if it cannot be reached the draft stays, so the user can try
/// again rather than be left with an orphan on the server. Blocking; run it off the UI thread.
pub fn discard_everywhere(config: &Config, store: &Store, id: i64) -> Result<bool, DraftError> {
    let Some(row) = store.draft(id)? else {
        return Ok(false);
    };
    if let Some(folder) = &row.server_folder {
        let acc = config
            .accounts
            .get(&row.account)
            .ok_or_else(|| DraftError::NoSuchAccount(row.account.clone()))?;
        let imap = acc
            .imap
            .as_ref()
            .ok_or_else(|| DraftError::NoServer(row.account.clone()))?;
        filing::delete_message_id(imap, folder, &row.message_id)?;
    }
    discard(store, id)
}

/// Saves a draft being edited at most every `interval_seconds`, and only when it changed since
/// the last save. The composer calls [`Autosaver::tick`] on its timer and [`Autosaver::flush`]
/// when it closes or the app exits.
#[derive(Debug, Clone)]
pub struct Autosaver {
    interval_seconds: i64,
    last_json: Option<String>,
    last_save_at: Option<i64>,
}

impl Autosaver {
    pub fn new(interval_seconds: i64) -> Autosaver {
        Autosaver {
            interval_seconds,
            last_json: None,
            last_save_at: None,
        }
    }

    /// For a draft reopened from the store: it counts as saved as it is.
    pub fn resumed(interval_seconds: i64, draft: &Draft, saved_at: i64) -> Autosaver {
        Autosaver {
            interval_seconds,
            last_json: Some(to_json(draft)),
            last_save_at: Some(saved_at),
        }
    }

    /// Saves when the interval has passed and the draft changed; returns the id when it saved.
    pub fn tick(
        &mut self,
        store: &Store,
        draft: &Draft,
        now: i64,
    ) -> Result<Option<i64>, DraftError> {
        if self
            .last_save_at
            .is_some_and(|t| now - t < self.interval_seconds)
        {
            return Ok(None);
        }
        self.flush(store, draft, now)
    }

    /// Saves now if the draft changed (a blank new draft is not worth a row).
    pub fn flush(
        &mut self,
        store: &Store,
        draft: &Draft,
        now: i64,
    ) -> Result<Option<i64>, DraftError> {
        let json = to_json(draft);
        if self.last_json.as_deref() == Some(json.as_str())
            || (self.last_json.is_none() && draft.is_blank())
        {
            return Ok(None);
        }
        let id = store.save_draft(&draft.account, &draft.message_id, &json, now)?;
        self.last_json = Some(json);
        self.last_save_at = Some(now);
        Ok(Some(id))
    }
}

/// APPENDs the stored version of draft `id` to the account's Drafts folder and removes the
/// older server copies of it (same Message-ID). Blocking; run it off the UI thread.
pub fn save_to_server(config: &Config, store: &Store, id: i64) -> Result<String, DraftError> {
    let saved = load(store, id)?;
    let acc = config
        .accounts
        .get(&saved.draft.account)
        .ok_or_else(|| DraftError::NoSuchAccount(saved.draft.account.clone()))?;
    let Some(imap) = &acc.imap else {
        return Err(DraftError::NoServer(saved.draft.account.clone()));
    };
    let drafts = filing::target(&saved.draft.account, acc, Some(store), Role::Drafts);
    let raw = saved.draft.build(saved.updated_at, true)?;
    let folder = filing::save_draft(imap, &drafts, &saved.draft.message_id, raw)?;
    store.mark_draft_on_server(id, &folder, saved.updated_at)?;
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::compose::{Mailbox, Sender};

    fn sender() -> Sender {
        Sender {
            account: "work".into(),
            from: Mailbox::new(None, "me@example.com"),
            signature: None,
        }
    }

    #[test]
    fn autosave_writes_only_changes_and_respects_the_interval() {
        let store = Store::open_in_memory().unwrap();
        let mut d = Draft::new(&sender());
        let mut saver = Autosaver::new(5);
        assert_eq!(
            saver.tick(&store, &d, 100).unwrap(),
            None,
            "blank is not saved"
        );
        d.subject = "Hello".into();
        let id = saver.tick(&store, &d, 101).unwrap().expect("saved");
        d.body = "typing".into();
        assert_eq!(saver.tick(&store, &d, 103).unwrap(), None, "too soon");
        assert_eq!(saver.tick(&store, &d, 106).unwrap(), Some(id));
        assert_eq!(saver.tick(&store, &d, 200).unwrap(), None, "unchanged");
        d.body = "typing more".into();
        assert_eq!(
            saver.flush(&store, &d, 201).unwrap(),
            Some(id),
            "exit saves at once"
        );
        let back = load(&store, id).unwrap();
        assert_eq!(back.draft, d);
        assert_eq!(back.updated_at, 201);
        assert!(!back.on_server);
        assert_eq!(list(&store, Some("work")).unwrap().len(), 1);
        assert!(discard(&store, id).unwrap());
        assert!(list(&store, None).unwrap().is_empty());
    }
}
