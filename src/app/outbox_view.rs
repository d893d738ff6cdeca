//! The Outbox view: mail waiting or refused, with attempts and the last error, and a retry key.
//! The rows are read off the UI loop; a retry resets the mail in the store and wakes the worker.

use super::state::{App, Effect, Msg};
use super::Action;
use crate::mail::compose::Draft;
use crate::mail::outbox::state;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxLine {
    pub id: i64,
    pub account: String,
    pub state: String,
    pub subject: String,
    pub to: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct OutboxView {
    pub lines: Vec<OutboxLine>,
    pub cursor: usize,
}

/// Every mail not yet sent, oldest first.
pub fn load(store: &Store) -> Result<Vec<OutboxLine>, String> {
    let rows = store
        .outbox_entries(&[
            state::QUEUED,
            state::SENDING,
            state::FAILED,
            state::UNCONFIRMED,
        ])
        .map_err(|e| e.to_string())?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let draft: Option<Draft> = serde_json::from_str(&r.draft_json).ok();
            OutboxLine {
                id: r.id,
                account: r.account,
                state: r.state,
                subject: draft
                    .as_ref()
                    .map(|d| d.subject.clone())
                    .unwrap_or_default(),
                to: draft.map(|d| d.recipients().join(", ")).unwrap_or_default(),
                attempts: r.attempts,
                last_error: r
                    .last_error
                    .map(|e| crate::mail::sanitize::sanitize_line(&e)),
            }
        })
        .collect())
}

impl App {
    /// Handles `msg` while the Outbox view is open (and the key that opens it).
    pub(super) fn outbox_update(&mut self, msg: Msg) -> Result<Vec<Effect>, Box<Msg>> {
        match msg {
            Msg::Action(Action::Outbox) if self.compose.is_none() => {
                self.outbox = Some(OutboxView::default());
                Ok(vec![Effect::LoadOutbox])
            }
            Msg::OutboxLoaded(result) => {
                match (result, self.outbox.as_mut()) {
                    (Ok(lines), Some(v)) => {
                        v.cursor = v.cursor.min(lines.len().saturating_sub(1));
                        v.lines = lines;
                    }
                    (Err(e), _) => self.status = Some(format!("outbox: {e}")),
                    _ => {}
                }
                Ok(Vec::new())
            }
            Msg::Action(a) if self.outbox.is_some() && self.compose.is_none() => {
                let Some(v) = self.outbox.as_mut() else {
                    return Ok(Vec::new());
                };
                Ok(match a {
                    Action::Down => {
                        v.cursor = (v.cursor + 1).min(v.lines.len().saturating_sub(1));
                        Vec::new()
                    }
                    Action::Up => {
                        v.cursor = v.cursor.saturating_sub(1);
                        Vec::new()
                    }
                    Action::RetrySend => match v.lines.get(v.cursor) {
                        Some(l) => {
                            self.status = Some(format!("retrying {:?}…", l.subject));
                            vec![Effect::RetryOutbox {
                                id: l.id,
                                account: l.account.clone(),
                            }]
                        }
                        None => Vec::new(),
                    },
                    Action::Back | Action::Outbox => {
                        self.outbox = None;
                        Vec::new()
                    }
                    Action::Quit => return Err(Box::new(Msg::Action(a))),
                    _ => Vec::new(),
                })
            }
            other => Err(Box::new(other)),
        }
    }
}
