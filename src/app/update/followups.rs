//! The Follow up filter's update step: the filter itself, snoozing a reminder (+1 day, +3 days,
//! or a time typed into the picker), done, and the news that a reminder came due.

use crate::app::action::Action;
use crate::app::followups::{FollowUpEffect, FollowUpMsg, SnoozeUntil, SNOOZE_CHOICES};
use crate::app::input::{InputKey, LineInput};
use crate::app::msg::{Effect, Msg};
use crate::app::state::App;
use crate::app::view::{Filter, Mode, Picker, PickerPurpose};

impl App {
    /// Handles the follow-up messages and keys; everything else goes on (`Err`).
    pub(super) fn followups_update(&mut self, msg: Msg) -> Result<Vec<Effect>, Box<Msg>> {
        match msg {
            Msg::FollowUps(m) => Ok(self.on_followup_msg(m)),
            Msg::Input(InputKey::Enter) if self.snooze_picker_open() => Ok(self.snooze_chosen()),
            Msg::Action(_) if self.compose.is_some() || !matches!(self.mode, Mode::Normal) => {
                Err(Box::new(msg))
            }
            Msg::Action(Action::FilterFollowUp) => {
                self.list.filter = Filter::FollowUp;
                // The timeline belongs to the Tracked filter.
                self.tracking.timeline = None;
                self.status =
                    Some("follow up: due first; reply, snooze or done (? lists the keys)".into());
                Ok(self.reload(true))
            }
            Msg::Action(a @ (Action::FollowUpSnooze | Action::FollowUpDone)) => {
                Ok(self.followup_action(a))
            }
            other => Err(Box::new(other)),
        }
    }

    fn snooze_picker_open(&self) -> bool {
        matches!(
            &self.mode,
            Mode::Picker(Picker {
                purpose: PickerPurpose::SnoozeReminder { .. },
                ..
            })
        )
    }

    fn on_followup_msg(&mut self, m: FollowUpMsg) -> Vec<Effect> {
        match m {
            FollowUpMsg::Due { summary, body } => {
                self.status = Some(format!("{summary} — {body}"));
                if self.list.filter == Filter::FollowUp {
                    self.reload(false)
                } else {
                    Vec::new()
                }
            }
            FollowUpMsg::Changed(Ok(text)) => {
                self.status = Some(text);
                self.reload(false)
            }
            FollowUpMsg::Changed(Err(e)) => {
                self.last_error = Some(e);
                self.reload(false)
            }
        }
    }

    /// The sent mail under the cursor, when the Follow up filter lists it.
    fn selected_followup(&self) -> Option<String> {
        if self.list.filter != Filter::FollowUp {
            return None;
        }
        self.selected_row()?.msg.message_id.clone()
    }

    fn followup_action(&mut self, a: Action) -> Vec<Effect> {
        let Some(message_id) = self.selected_followup() else {
            self.status = Some("in the Follow up filter (5), on a mail with a reminder".into());
            return Vec::new();
        };
        if a == Action::FollowUpDone {
            // Out of the list at once (only this mail: the rest of a collapsed conversation
            // stays listed); the store follows on the writer.
            let cursor = self.list.cursor;
            self.list.expand_at(cursor);
            if cursor < self.list.rows.len() {
                self.list.rows.remove(cursor);
                self.list.cursor = cursor.min(self.list.rows.len().saturating_sub(1));
            }
            return vec![Effect::FollowUp(FollowUpEffect::Done { message_id })];
        }
        let items: Vec<String> = SNOOZE_CHOICES
            .iter()
            .map(|(label, _)| label.to_string())
            .collect();
        self.mode = Mode::Picker(Picker {
            title: "Snooze the reminder (or type a date: 2026-12-10 09:00, tomorrow, in 2h)".into(),
            purpose: PickerPurpose::SnoozeReminder { message_id },
            matches: (0..items.len()).collect(),
            items,
            input: LineInput::default(),
            cursor: 0,
        });
        Vec::new()
    }

    /// Enter in the snooze picker: the highlighted choice, else the typed time.
    fn snooze_chosen(&mut self) -> Vec<Effect> {
        let Mode::Picker(p) = std::mem::replace(&mut self.mode, Mode::Normal) else {
            return Vec::new();
        };
        let PickerPurpose::SnoozeReminder { message_id } = p.purpose else {
            return Vec::new();
        };
        let until = match p.matches.get(p.cursor) {
            Some(&i) => SnoozeUntil::Days(SNOOZE_CHOICES[i].1),
            None if !p.input.trim().is_empty() => SnoozeUntil::Typed(p.input.trim().to_string()),
            None => return Vec::new(),
        };
        vec![Effect::FollowUp(FollowUpEffect::Snooze {
            message_id,
            until,
        })]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::view::{test_summary, Row};

    fn follow_up_app() -> App {
        let mut app = App::new(false);
        app.list.current = Some(("w".into(), "INBOX".into()));
        app.update(Msg::Action(Action::FilterFollowUp));
        app.list.rows = vec![
            Row::new(test_summary(1, 100, "Proposal")),
            Row::new(test_summary(2, 90, "Pricing")),
        ];
        app
    }

    #[test]
    fn done_takes_the_mail_off_the_list() {
        let mut app = follow_up_app();
        assert_eq!(app.list.filter, Filter::FollowUp);
        let fx = app.update(Msg::Action(Action::FollowUpDone));
        assert!(matches!(
            fx.as_slice(),
            [Effect::FollowUp(FollowUpEffect::Done { message_id })] if message_id == "<1@test>"
        ));
        assert_eq!(app.list.rows.len(), 1);
    }

    #[test]
    fn snooze_offers_days_and_takes_a_typed_time() {
        let mut app = follow_up_app();
        app.update(Msg::Action(Action::FollowUpSnooze));
        app.update(Msg::Input(InputKey::Down));
        let fx = app.update(Msg::Input(InputKey::Enter));
        assert!(matches!(
            fx.as_slice(),
            [Effect::FollowUp(FollowUpEffect::Snooze {
                until: SnoozeUntil::Days(3),
                ..
            })]
        ));
        app.update(Msg::Action(Action::FollowUpSnooze));
        for c in "friday 9:00".chars() {
            app.update(Msg::Input(InputKey::Char(c)));
        }
        let fx = app.update(Msg::Input(InputKey::Enter));
        assert!(matches!(
            fx.as_slice(),
            [Effect::FollowUp(FollowUpEffect::Snooze { until: SnoozeUntil::Typed(t), .. })]
                if t == "friday 9:00"
        ));
    }

    #[test]
    fn outside_the_follow_up_filter_snooze_explains_itself() {
        let mut app = App::new(false);
        let fx = app.update(Msg::Action(Action::FollowUpDone));
        assert!(fx.is_empty());
        assert!(app.status.as_deref().unwrap_or("").contains("Follow up"));
    }
}
