//! The store and desktop side of follow-ups: setting a reminder when a mail enters the outbox
//! (and remembering the choice as the account's default), settling one when the user follows up,
//! the Follow up filter's snooze and done, and the reminder round that whichever tidings process
//! runs — the TUI or `tidings watch` — performs: find replies in mail cached before reply
//! detection existed (once), then claim the reminders that came due and notify each once,
//! through the store's claim and throttle like opens are (see `tracking::client::poller`).

use crate::app::followups::{FollowUpEffect, FollowUpMsg, RemindChoice, SnoozeUntil};
use crate::app::msg::Msg;
use crate::config::{Config, NotificationsConfig};
use crate::mail::compose::Draft;
use crate::notify::{self, DesktopNotification};
use crate::store::{NewReminder, RemindIf, Reminder, Store, StoreError};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How often a running process looks for reminders that came due.
pub const REMIND_EVERY: Duration = Duration::from_secs(30);

fn remind_key(account: &str) -> String {
    format!("followups.remind.{account}")
}

/// The reminder a new mail from `account` starts with in the composer: the last choice made
/// (`None`: off, also before the first).
pub fn remind_default(store: &Store, account: &str) -> Option<RemindChoice> {
    match store.kv_get(&remind_key(account)) {
        Ok(v) => v.and_then(|v| serde_json::from_str(&v).ok()),
        Err(e) => {
            tracing::warn!(error = %e, "reading the remembered reminder choice");
            None
        }
    }
}

/// Sets the reminder of `draft` (just queued) to come due `after` from now, unless someone
/// answers (or, for [`RemindIf::NoOpen`], opens) first.
pub fn set_reminder(
    store: &Store,
    draft: &Draft,
    after: chrono::Duration,
    condition: RemindIf,
    send_at: Option<i64>,
) -> Result<i64, StoreError> {
    // Mail sent later is waited on from when it goes, not from when it was scheduled.
    let now = send_at.unwrap_or_else(|| crate::clock::now().timestamp());
    let due_at = now.saturating_add(after.num_seconds());
    let mut recipients: Vec<String> = draft
        .to
        .iter()
        .chain(&draft.cc)
        .chain(&draft.bcc)
        .map(|m| crate::address::normalize_email(&m.email))
        .collect();
    recipients.dedup();
    store.add_reminder(&NewReminder {
        account: draft.account.clone(),
        message_id: draft.message_id.clone(),
        subject: draft.subject.clone(),
        to: draft
            .to
            .iter()
            .map(|m| m.display())
            .collect::<Vec<_>>()
            .join(", "),
        recipients,
        sent_at: now,
        due_at,
        condition,
    })?;
    Ok(due_at)
}

/// What the composer does with its reminder choice when the mail is queued: sets the reminder
/// (if any), remembers the choice as the account's default, and settles the reminder of the
/// mail this one follows up on.
pub fn on_queued(
    store: &Store,
    draft: &Draft,
    choice: Option<RemindChoice>,
    send_at: Option<i64>,
) -> Result<(), StoreError> {
    if let Some(c) = choice {
        set_reminder(
            store,
            draft,
            chrono::Duration::days(i64::from(c.days)),
            c.condition.into(),
            send_at,
        )?;
    }
    let json = serde_json::to_string(&choice).unwrap_or_else(|_| "null".into());
    store.kv_set(&remind_key(&draft.account), &json)?;
    settle_followed_up(store, draft)
}

/// A mail that answers one of the user's reminded mails (a follow-up written from the Follow up
/// filter, or any reply in that thread) is the follow-up: that reminder is done.
pub fn settle_followed_up(store: &Store, draft: &Draft) -> Result<(), StoreError> {
    for id in draft.in_reply_to.iter().chain(&draft.references) {
        if store.finish_reminder(id)? {
            tracing::info!(message_id = %id, "reminder done: the user followed up");
        }
    }
    Ok(())
}

/// The Follow up filter's changes, on the writer.
pub fn perform(store: &Store, effect: FollowUpEffect) -> Vec<Msg> {
    let (done, what) = match &effect {
        FollowUpEffect::Snooze { message_id, until } => {
            let now = crate::clock::now();
            let until = match until {
                SnoozeUntil::Days(d) => now + chrono::Duration::days(*d),
                SnoozeUntil::Typed(text) => match crate::clock::parse_time(text, now) {
                    Ok(t) => t,
                    Err(e) => {
                        return vec![Msg::FollowUps(FollowUpMsg::Changed(Err(e.to_string())))]
                    }
                },
            };
            (
                store.snooze_reminder(message_id, until.timestamp()),
                format!("reminder moved to {}", crate::clock::format_local(until)),
            )
        }
        FollowUpEffect::Done { message_id } => {
            (store.finish_reminder(message_id), "reminder done".into())
        }
    };
    vec![Msg::FollowUps(FollowUpMsg::Changed(match done {
        Ok(true) => Ok(what),
        Ok(false) => Err("that mail has no reminder".into()),
        Err(e) => Err(e.to_string()),
    }))]
}

/// Sets the reply and reminder marks of the listed rows: the user's sent mail someone answered
/// ("replied by Dana, 2 h after sending") and when an open reminder comes due. Two small reads
/// whatever the length of the list; a failure leaves the marks empty.
pub fn mark_followups(store: &Store, rows: &mut [crate::app::view::Row]) {
    let now = crate::clock::now().timestamp();
    let reminders = store.reminders(now).unwrap_or_default();
    let replied = store.replied_message_ids().unwrap_or_default();
    for r in rows.iter_mut() {
        let Some(id) = r.msg.message_id.as_deref() else {
            continue;
        };
        if replied.contains(id) {
            if let Ok(Some(reply)) = store.first_reply(id) {
                let sent_at = store
                    .sent_mail(id)
                    .ok()
                    .flatten()
                    .and_then(|m| m.sent_at)
                    .unwrap_or(r.msg.date);
                r.marks.replied = Some(crate::app::followups::replied_label(&reply, sent_at));
            }
        }
        r.marks.due_at = reminders
            .iter()
            .find(|x| x.message_id == id && x.account == r.msg.account && x.state.is_open())
            .map(|x| x.due_at);
    }
}

/// The desktop text of a due reminder: who has not answered, and what.
fn reminder_text(r: &Reminder, now: i64) -> DesktopNotification {
    let first = crate::address::parse_address_list(&r.to)
        .into_iter()
        .next()
        .map(|a| if a.name.is_empty() { a.email } else { a.name })
        .unwrap_or_else(|| "your recipients".into());
    let others = crate::address::parse_address_list(&r.to)
        .len()
        .saturating_sub(1);
    let who = if others > 0 {
        format!("{first} +{others}")
    } else {
        first
    };
    let summary = match r.condition {
        RemindIf::NoReply => format!("Follow up: no reply from {who}"),
        RemindIf::NoOpen => format!("Follow up: {who} has not opened"),
    };
    let body = format!(
        "{} — sent {} ago",
        r.subject,
        super::super::followups::span(now - r.sent_at)
    );
    DesktopNotification {
        summary: crate::sanitize::sanitize_line(&summary),
        body: crate::sanitize::sanitize_line(&body),
    }
}

/// Claims the reminders due at `now` and returns their notifications, committed: another process
/// on the data dir will not notify them again. The shared throttle (key per mail) keeps a
/// reminder snoozed and due again within the open window from notifying twice in a row.
pub fn claim_due(
    store: &mut Store,
    n: &NotificationsConfig,
    now: i64,
) -> Result<Vec<DesktopNotification>, StoreError> {
    store.claim_due_reminders(now, |store, r| {
        let key = format!("reminder|{}", r.message_id);
        if !store.throttle_pass(&key, now, n.open_throttle_seconds)? {
            return Ok(None);
        }
        Ok::<_, StoreError>(Some(reminder_text(r, now)))
    })
}

/// One round in `db`: replies in mail cached before detection existed (once per data dir), then
/// the due reminders, shown on the desktop when `[notifications] desktop` is on. Returns the
/// notifications this process claimed.
pub async fn remind_round(
    config: &Config,
    db: &Path,
) -> Result<Vec<DesktopNotification>, StoreError> {
    let texts = {
        let mut store = Store::open(db)?;
        let own = |account: &str| -> Vec<String> {
            config
                .accounts
                .get(account)
                .map(|a| vec![a.email.clone()])
                .unwrap_or_default()
        };
        crate::mail::replies::backfill(&store, &own)?;
        claim_due(
            &mut store,
            &config.notifications,
            crate::clock::now().timestamp(),
        )?
    };
    if config.notifications.desktop {
        for t in &texts {
            notify::show_desktop(t).await;
        }
    }
    Ok(texts)
}

/// A background task running [`remind_round`] every [`REMIND_EVERY`] until stopped.
pub struct RemindHandle {
    stop: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<()>,
}

impl RemindHandle {
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

/// Starts the reminder rounds; each notification claimed is sent on `out`.
pub fn spawn_reminders(
    config: Config,
    db: PathBuf,
    out: mpsc::UnboundedSender<DesktopNotification>,
) -> RemindHandle {
    let (stop, mut shutdown) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            match remind_round(&config, &db).await {
                Ok(texts) => {
                    for t in texts {
                        if out.send(t).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reminder round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(REMIND_EVERY) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() || out.is_closed() {
                return;
            }
        }
    });
    RemindHandle { stop, task }
}

/// The TUI's reminder rounds: a due reminder shows in the status line and refreshes the
/// Follow up filter.
pub fn start_in_app(config: &Config, db: PathBuf, tx: mpsc::UnboundedSender<Msg>) {
    let (ntx, mut nrx) = mpsc::unbounded_channel();
    let handle = spawn_reminders(config.clone(), db, ntx);
    tokio::spawn(async move {
        while let Some(n) = nrx.recv().await {
            let msg = Msg::FollowUps(FollowUpMsg::Due {
                summary: n.summary,
                body: n.body,
            });
            if tx.send(msg).is_err() {
                handle.stop();
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::compose::{Mailbox, Sender};

    #[test]
    fn a_queued_follow_up_settles_the_reminder_it_answers() {
        let store = Store::open_in_memory().unwrap();
        let sender = Sender {
            account: "work".into(),
            from: Mailbox::new(Some("Me"), "me@example.com"),
            signature: None,
        };
        let mut first = Draft::new(&sender);
        first.to = vec![Mailbox::new(Some("Dana"), "dana@acme.test")];
        first.subject = "Proposal".into();
        let choice = RemindChoice {
            days: 3,
            condition: crate::app::followups::RemindChoiceIf::NoReply,
        };
        on_queued(&store, &first, Some(choice), None).unwrap();
        assert_eq!(remind_default(&store, "work"), Some(choice));
        let now = crate::clock::now().timestamp();
        let r = store
            .reminder(None, &first.message_id, now)
            .unwrap()
            .unwrap();
        assert!(r.due_at >= now + 3 * 86_400 - 5);
        let text = reminder_text(&r, r.due_at);
        assert_eq!(text.summary, "Follow up: no reply from Dana");
        assert_eq!(text.body, "Proposal — sent 3 d ago");
        let mut again = Draft::new(&sender);
        again.in_reply_to = Some(first.message_id.clone());
        on_queued(&store, &again, None, None).unwrap();
        assert_eq!(remind_default(&store, "work"), None);
        let r = store
            .reminder(None, &first.message_id, now)
            .unwrap()
            .unwrap();
        assert_eq!(r.state, crate::store::ReminderState::Done);
    }
}
