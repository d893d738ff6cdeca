//! Follow-ups as the app holds them: the composer's "remind me if no reply in N days" choice,
//! the Follow up filter's actions (snooze the reminder, done) and their effects, and the words
//! the panes use for a reply ("replied by Dana, 2 h after sending") and a reminder ("due 2 d
//! ago"). The update step is `update::followups`; the store work `runtime::followups`.

use crate::store::{RemindIf, Reminder, ReminderState, Reply};
use serde::{Deserialize, Serialize};

/// The reminder chosen for a mail in the composer: remind after `days` when `condition` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemindChoice {
    pub days: u32,
    #[serde(default = "no_reply")]
    pub condition: RemindChoiceIf,
}

/// [`RemindIf`] as the remembered default spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RemindChoiceIf {
    #[default]
    NoReply,
    NoOpen,
}

fn no_reply() -> RemindChoiceIf {
    RemindChoiceIf::NoReply
}

impl From<RemindChoiceIf> for RemindIf {
    fn from(c: RemindChoiceIf) -> RemindIf {
        match c {
            RemindChoiceIf::NoReply => RemindIf::NoReply,
            RemindChoiceIf::NoOpen => RemindIf::NoOpen,
        }
    }
}

/// The steps the composer's toggle walks through: off, then these many days, then off again.
pub const REMIND_DAYS: [u32; 6] = [1, 2, 3, 5, 7, 14];

/// The composer toggle's next choice after `current`.
pub fn next_remind(current: Option<RemindChoice>) -> Option<RemindChoice> {
    let condition = current.map(|c| c.condition).unwrap_or_default();
    let next_days = match current {
        None => Some(REMIND_DAYS[0]),
        Some(c) => REMIND_DAYS.iter().copied().find(|d| *d > c.days),
    };
    next_days.map(|days| RemindChoice { days, condition })
}

/// The composer's header line for the choice: "in 3 days if no reply" or "off".
pub fn remind_label(choice: Option<RemindChoice>) -> String {
    match choice {
        None => "off".into(),
        Some(c) => format!(
            "in {} day{} if no {}",
            c.days,
            if c.days == 1 { "" } else { "s" },
            match c.condition {
                RemindChoiceIf::NoReply => "reply",
                RemindChoiceIf::NoOpen => "open",
            }
        ),
    }
}

/// A span of seconds as people say it: "45 min", "2 h", "3 d".
pub fn span(seconds: i64) -> String {
    let s = seconds.abs();
    if s < 60 * 60 {
        format!("{} min", (s / 60).max(1))
    } else if s < 48 * 60 * 60 {
        format!("{} h", s / 3600)
    } else {
        format!("{} d", s / 86_400)
    }
}

/// "replied by Dana, 2 h after sending".
pub fn replied_label(reply: &Reply, sent_at: i64) -> String {
    format!(
        "replied by {}, {} after sending",
        reply.who(),
        span(reply.replied_at - sent_at)
    )
}

/// What the Follow up list and `tidings followups` say about a reminder at `now`.
pub fn reminder_label(r: &Reminder, now: i64) -> String {
    match r.state {
        ReminderState::Due => format!("due {} ago", span(now - r.due_at)),
        ReminderState::Pending => format!("due in {}", span(r.due_at - now)),
        ReminderState::Replied => match &r.reply {
            Some(reply) => replied_label(reply, r.sent_at),
            None => "replied".into(),
        },
        ReminderState::Opened => "opened".into(),
        ReminderState::Done => "done".into(),
    }
}

/// The snooze choices of the Follow up filter, in the picker's order: (label, days).
pub const SNOOZE_CHOICES: [(&str, i64); 2] = [("+1 day", 1), ("+3 days", 3)];

/// Follow-up news for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpMsg {
    /// A reminder came due and this process claimed it (its desktop text).
    Due { summary: String, body: String },
    /// A snooze or done was stored (the status text), or failed.
    Changed(Result<String, String>),
}

/// Where a snoozed reminder goes: days from now, or a time as the user typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnoozeUntil {
    Days(i64),
    Typed(String),
}

/// What the Follow up filter asks of the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpEffect {
    /// Moves the reminder of `message_id` to a later time (read by the runtime from the clock).
    Snooze {
        message_id: String,
        until: SnoozeUntil,
    },
    /// The user is done with the reminder of `message_id`.
    Done { message_id: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toggle_walks_the_days_then_off() {
        let mut c = None;
        let mut seen = Vec::new();
        for _ in 0..7 {
            c = next_remind(c);
            seen.push(remind_label(c));
        }
        assert_eq!(seen[0], "in 1 day if no reply");
        assert_eq!(seen[2], "in 3 days if no reply");
        assert_eq!(seen[6], "off");
    }

    #[test]
    fn a_reply_reads_as_who_and_how_soon() {
        let r = Reply {
            account: "w".into(),
            sent_message_id: "<a@x>".into(),
            reply_message_id: "<b@x>".into(),
            replied_by: "dana@acme.test".into(),
            replied_by_name: "Dana".into(),
            replied_at: 1000 + 2 * 3600 + 100,
        };
        assert_eq!(
            replied_label(&r, 1000),
            "replied by Dana, 2 h after sending"
        );
        assert_eq!(span(3 * 86_400 + 5), "3 d");
        assert_eq!(span(30), "1 min");
    }
}
