//! The Outbox view: mail waiting or refused, with attempts and the last error, and what a user
//! can do about each — retry, edit in the composer, cancel back to the drafts, say whether an
//! unconfirmed mail arrived, send a tracked mail untracked. The rows are read off the UI loop;
//! every change goes through the outbox library (`mail::outbox::Outbox`, under its lock) on the
//! runtime's blocking pool, so a mail the worker is sending can never be edited or sent twice.

use super::compose::{self, ComposeOpen};
use super::state::{App, ComposeKind, Effect, InputKey, Msg};
use super::Action;
use crate::config::Config;
use crate::mail::compose::Draft;
use crate::mail::outbox::{delivery, state, Outbox};
use crate::store::Store;
use crate::tracking::client::send::{self as send_tracking, TrackingChoice, TrackingRecord};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxLine {
    pub id: i64,
    pub account: String,
    pub state: String,
    pub subject: String,
    pub to: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Unix seconds of the next automatic attempt (meaningful while `queued`).
    pub next_attempt_at: i64,
    /// Queued or refused with no copy possibly delivered: it can go back to the composer.
    pub editable: bool,
    /// Tracked, not yet planned (so no tracked copy exists): it can still go out untracked.
    pub untrackable: bool,
    /// Goes out with tracking (not switched off by the user).
    pub tracked: bool,
}

/// A question the view waits on (y / n), about mail `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// An unconfirmed mail: did it arrive? A wrong answer sends it twice or never.
    Arrived,
    /// Cancel sending: back to the drafts.
    Cancel,
    /// Send without tracking.
    Untrack,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asking {
    pub question: Question,
    pub id: i64,
    pub account: String,
    pub subject: String,
}

#[derive(Debug, Clone, Default)]
pub struct OutboxView {
    pub lines: Vec<OutboxLine>,
    pub cursor: usize,
    pub asking: Option<Asking>,
}

/// What the user decided about one outbox mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxChange {
    /// Send a refused or unconfirmed mail again.
    Retry,
    /// An unconfirmed mail did arrive: count it as sent.
    Confirm,
    /// Back to the drafts and into the composer.
    Edit,
    /// Back to the drafts only.
    Cancel,
    /// Send it without tracking.
    Untrack,
}

/// The result of an [`OutboxChange`].
#[derive(Debug, Clone)]
pub struct Changed {
    pub notice: String,
    pub lines: Vec<OutboxLine>,
    /// The account whose mail should be tried now.
    pub wake: Option<String>,
    /// The mail to edit (for [`OutboxChange::Edit`]).
    pub compose: Option<Box<ComposeOpen>>,
}

fn tracking_record(json: Option<&str>) -> Option<TrackingRecord> {
    json.and_then(|j| TrackingRecord::parse(j).ok())
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
    rows.into_iter()
        .map(|r| {
            let draft: Option<Draft> = serde_json::from_str(&r.draft_json).ok();
            let deliveries = store.outbox_deliveries(r.id).map_err(|e| e.to_string())?;
            // The library's rule for edit (`Outbox::edit`): nothing that may have been accepted.
            let maybe_delivered = deliveries.iter().any(|d| {
                [delivery::DATA, delivery::DELIVERED, delivery::UNCONFIRMED]
                    .contains(&d.state.as_str())
            });
            let record = tracking_record(r.tracking.as_deref());
            let tracked = record.as_ref().is_some_and(|t| t.sent_untracked.is_none());
            Ok(OutboxLine {
                editable: (r.state == state::QUEUED || r.state == state::FAILED)
                    && !maybe_delivered,
                untrackable: tracked && deliveries.is_empty() && r.state == state::QUEUED,
                tracked,
                id: r.id,
                account: r.account,
                state: r.state,
                subject: draft
                    .as_ref()
                    .map(|d| crate::sanitize::sanitize_line(&d.subject))
                    .unwrap_or_default(),
                to: draft.map(|d| d.recipients().join(", ")).unwrap_or_default(),
                attempts: r.attempts,
                last_error: r.last_error.map(|e| crate::sanitize::sanitize_line(&e)),
                next_attempt_at: r.next_attempt_at,
            })
        })
        .collect()
}

/// Carries out `change` on mail `id` through the outbox library (blocking: it waits for the
/// outbox lock while the worker sends). Opens its own store at `db`.
pub fn perform_change(
    db: &std::path::Path,
    config: &Config,
    id: i64,
    change: OutboxChange,
    now: i64,
) -> Result<Changed, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut store = Store::open(db).map_err(|e| err(&e))?;
    let entry = store
        .outbox_entry(id)
        .map_err(|e| err(&e))?
        .ok_or_else(|| format!("mail #{id} is no longer in the outbox"))?;
    let subject = serde_json::from_str::<Draft>(&entry.draft_json)
        .map(|d| crate::sanitize::sanitize_line(&d.subject))
        .unwrap_or_default();
    let mut ob = Outbox::new(config.clone(), &store);
    let mut wake = None;
    let mut open = None;
    let notice = match change {
        OutboxChange::Retry => {
            ob.retry(&mut store, id, now).map_err(|e| err(&e))?;
            wake = Some(entry.account.clone());
            format!("sending {subject:?} again…")
        }
        OutboxChange::Confirm => {
            ob.confirm(&mut store, id, now).map_err(|e| err(&e))?;
            format!("{subject:?} counted as sent; it will not be sent again")
        }
        OutboxChange::Edit => {
            // Read before the entry leaves the outbox: the toggles come back as they were.
            let tracking = tracking_record(entry.tracking.as_deref())
                .map(|r| TrackingChoice {
                    opens: r.opens,
                    links: r.links,
                })
                .unwrap_or_default();
            let (_, draft) = ob.edit(&mut store, id, now).map_err(|e| err(&e))?;
            let mut accounts = compose::senders(config);
            if !accounts.iter().any(|(a, _)| *a == draft.account) {
                accounts.insert(0, (draft.account.clone(), draft.from.clone()));
            }
            open = Some(Box::new(ComposeOpen {
                kind: ComposeKind::New,
                draft,
                accounts,
                resumed: true,
                tracking,
            }));
            format!("editing {subject:?}: it left the outbox and is a draft again — sending replaces it")
        }
        OutboxChange::Cancel => {
            ob.edit(&mut store, id, now).map_err(|e| err(&e))?;
            format!("{subject:?} will not be sent: it is back in the drafts (E resumes it)")
        }
        OutboxChange::Untrack => {
            let marked =
                send_tracking::mark_untracked(&store, id, "the user chose to send it untracked")
                    .map_err(|e| err(&e))?;
            if !marked {
                return Err(format!(
                    "{subject:?} is not a tracked mail waiting for the tracker (untracked, or its \
                     tracked copies are already made)"
                ));
            }
            wake = Some(entry.account.clone());
            format!("warning: NOT TRACKED: {subject:?} goes out without tracking")
        }
    };
    Ok(Changed {
        notice,
        lines: load(&store)?,
        wake,
        compose: open,
    })
}

impl App {
    /// True while the Outbox view waits for a y / n answer (keys arrive as text then).
    pub fn outbox_asking(&self) -> bool {
        self.compose.is_none() && self.outbox.as_ref().is_some_and(|v| v.asking.is_some())
    }

    /// Handles `msg` while the Outbox view is open (and the key that opens it).
    pub(super) fn outbox_update(&mut self, msg: Msg) -> Result<Vec<Effect>, Box<Msg>> {
        match msg {
            Msg::Action(Action::Outbox) if self.compose.is_none() && self.outbox.is_none() => {
                self.outbox = Some(OutboxView::default());
                Ok(vec![Effect::LoadOutbox])
            }
            Msg::OutboxLoaded(result) => {
                match (result, self.outbox.as_mut()) {
                    (Ok(lines), Some(v)) => v.set_lines(lines),
                    (Err(e), _) => self.status = Some(format!("outbox: {e}")),
                    _ => {}
                }
                Ok(Vec::new())
            }
            Msg::OutboxStale => Ok(match &self.outbox {
                Some(_) => vec![Effect::LoadOutbox],
                None => Vec::new(),
            }),
            Msg::OutboxChanged(Err(e)) => {
                self.status = Some(format!("outbox: {e}"));
                Ok(match &self.outbox {
                    Some(_) => vec![Effect::LoadOutbox],
                    None => Vec::new(),
                })
            }
            Msg::OutboxChanged(Ok(changed)) => Ok(self.on_outbox_changed(*changed)),
            Msg::Input(k) if self.outbox_asking() => Ok(self.outbox_answer(k)),
            Msg::Action(a) if self.outbox.is_some() && self.compose.is_none() => {
                if a == Action::Quit {
                    return Err(Box::new(Msg::Action(a)));
                }
                Ok(self.outbox_action(a))
            }
            other => Err(Box::new(other)),
        }
    }

    fn on_outbox_changed(&mut self, changed: Changed) -> Vec<Effect> {
        if let Some(v) = self.outbox.as_mut() {
            v.set_lines(changed.lines);
        }
        self.status = Some(changed.notice);
        let mut fx = Vec::new();
        if let Some(account) = changed.wake {
            fx.push(Effect::FlushOutbox { account });
        }
        if let Some(open) = changed.compose {
            if self.compose.is_some() {
                // Never replace a mail being written; the edited one waits in the drafts.
                self.status = Some(format!(
                    "{:?} is back in the drafts; finish this mail first, then E resumes it",
                    open.draft.subject
                ));
            } else {
                self.compose = Some(compose::Composer::new(*open, self.now));
            }
        }
        fx
    }

    fn outbox_action(&mut self, a: Action) -> Vec<Effect> {
        let Some(v) = self.outbox.as_mut() else {
            return Vec::new();
        };
        if v.asking.is_some() {
            return Vec::new();
        }
        let last = v.lines.len().saturating_sub(1);
        match a {
            Action::Down => v.cursor = (v.cursor + 1).min(last),
            Action::Up => v.cursor = v.cursor.saturating_sub(1),
            Action::Top => v.cursor = 0,
            Action::Bottom => v.cursor = last,
            Action::Back | Action::Outbox => self.outbox = None,
            _ => {}
        }
        let Some(v) = self.outbox.as_mut() else {
            return Vec::new();
        };
        let Some(l) = v.lines.get(v.cursor).cloned() else {
            return Vec::new();
        };
        let change = |change| {
            vec![Effect::ChangeOutbox {
                id: l.id,
                account: l.account.clone(),
                change,
            }]
        };
        let mut ask = |question| {
            v.asking = Some(Asking {
                question,
                id: l.id,
                account: l.account.clone(),
                subject: l.subject.clone(),
            });
            Vec::new()
        };
        let (state, subject) = (l.state.as_str(), &l.subject);
        let refused = |what: &str| match state {
            state::SENDING => format!("cannot {what}: {subject:?} is being sent right now"),
            state::UNCONFIRMED => format!(
                "cannot {what}: {subject:?} may already have arrived; say first whether it did"
            ),
            _ => format!("cannot {what}: {subject:?} is {state}"),
        };
        match a {
            Action::RetrySend => match state {
                state::UNCONFIRMED => ask(Question::Arrived),
                state::FAILED => change(OutboxChange::Retry),
                state::QUEUED => {
                    self.status = Some(format!("trying {subject:?} now…"));
                    vec![Effect::FlushOutbox {
                        account: l.account.clone(),
                    }]
                }
                _ => {
                    self.status = Some(refused("retry"));
                    Vec::new()
                }
            },
            Action::OutboxEdit | Action::Open if l.editable => change(OutboxChange::Edit),
            Action::OutboxEdit | Action::Open => {
                self.status = Some(refused("edit"));
                Vec::new()
            }
            Action::Delete if l.editable => ask(Question::Cancel),
            Action::Delete => {
                self.status = Some(refused("cancel"));
                Vec::new()
            }
            Action::OutboxConfirm if state == state::UNCONFIRMED => ask(Question::Arrived),
            Action::OutboxConfirm => {
                self.status = Some(format!(
                    "{subject:?} is {state}: only an unconfirmed mail needs confirming"
                ));
                Vec::new()
            }
            Action::OutboxUntrack if l.untrackable => ask(Question::Untrack),
            Action::OutboxUntrack => {
                self.status = Some(format!(
                    "{subject:?} is not a tracked mail waiting to be sent"
                ));
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn outbox_answer(&mut self, key: InputKey) -> Vec<Effect> {
        let Some(v) = self.outbox.as_mut() else {
            return Vec::new();
        };
        let Some(asking) = v.asking.take() else {
            return Vec::new();
        };
        let change = match (&asking.question, key) {
            (Question::Arrived, InputKey::Char('y')) => OutboxChange::Confirm,
            (Question::Arrived, InputKey::Char('n')) => OutboxChange::Retry,
            (Question::Cancel, InputKey::Char('y')) => OutboxChange::Cancel,
            (Question::Untrack, InputKey::Char('y')) => OutboxChange::Untrack,
            (_, InputKey::Esc | InputKey::Char('n' | 'q')) => {
                self.status = Some("nothing changed".into());
                return Vec::new();
            }
            _ => {
                // Only a clear answer counts.
                v.asking = Some(asking);
                return Vec::new();
            }
        };
        vec![Effect::ChangeOutbox {
            id: asking.id,
            account: asking.account,
            change,
        }]
    }
}

impl OutboxView {
    fn set_lines(&mut self, lines: Vec<OutboxLine>) {
        // The cursor stays on the same mail when others come and go.
        let at = self.lines.get(self.cursor).map(|l| l.id);
        self.cursor = at
            .and_then(|id| lines.iter().position(|l| l.id == id))
            .unwrap_or(self.cursor)
            .min(lines.len().saturating_sub(1));
        self.lines = lines;
    }
}
