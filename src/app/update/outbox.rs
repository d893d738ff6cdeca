//! The Outbox view's update step: its keys, the y / n questions, and the runtime's answers.

use crate::app::action::Action;
use crate::app::compose::Composer;
use crate::app::input::InputKey;
use crate::app::msg::{Effect, Msg};
use crate::app::outbox_view::{
    Asking, Changed, OutboxChange, OutboxEffect, OutboxMsg, OutboxView, Question,
};
use crate::app::state::App;
use crate::mail::outbox::state;

impl App {
    /// Handles `msg` while the Outbox view is open (and the key that opens it).
    pub(super) fn outbox_update(&mut self, msg: Msg) -> Result<Vec<Effect>, Box<Msg>> {
        match msg {
            Msg::Action(Action::Outbox) if self.compose.is_none() && self.outbox.is_none() => {
                self.outbox = Some(OutboxView::default());
                Ok(vec![Effect::Outbox(OutboxEffect::Load)])
            }
            Msg::Outbox(OutboxMsg::Loaded(result)) => {
                match (result, self.outbox.as_mut()) {
                    (Ok(lines), Some(v)) => v.set_lines(lines),
                    (Err(e), _) => self.status = Some(format!("outbox: {e}")),
                    _ => {}
                }
                Ok(Vec::new())
            }
            Msg::Outbox(OutboxMsg::Stale) => Ok(match &self.outbox {
                Some(_) => vec![Effect::Outbox(OutboxEffect::Load)],
                None => Vec::new(),
            }),
            Msg::Outbox(OutboxMsg::Changed(Err(e))) => {
                self.status = Some(format!("outbox: {e}"));
                Ok(match &self.outbox {
                    Some(_) => vec![Effect::Outbox(OutboxEffect::Load)],
                    None => Vec::new(),
                })
            }
            Msg::Outbox(OutboxMsg::Changed(Ok(changed))) => Ok(self.on_outbox_changed(*changed)),
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
            fx.push(Effect::Outbox(OutboxEffect::Flush { account }));
        }
        if let Some(open) = changed.compose {
            if self.compose.is_some() {
                // Never replace a mail being written; the edited one waits in the drafts.
                self.status = Some(format!(
                    "{:?} is back in the drafts; finish this mail first, then E resumes it",
                    open.draft.subject
                ));
            } else {
                self.compose = Some(Composer::new(*open, self.now));
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
            vec![Effect::Outbox(OutboxEffect::Change {
                id: l.id,
                account: l.account.clone(),
                change,
            })]
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
                    vec![Effect::Outbox(OutboxEffect::Flush {
                        account: l.account.clone(),
                    })]
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
        vec![Effect::Outbox(OutboxEffect::Change {
            id: asking.id,
            account: asking.account,
            change,
        })]
    }
}
