//! The Outbox view's effects and the outbox worker's reports: the lines read from the store, a
//! user's change carried out through the outbox library (under its lock, so a mail the worker is
//! sending is never edited or sent twice), and what the worker says, as the status bar says it.

use super::compose::senders;
use crate::app::compose::ComposeOpen;
use crate::app::msg::Msg;
use crate::app::outbox_view::{Changed, OutboxChange, OutboxLine};
use crate::app::view::ComposeKind;
use crate::config::Config;
use crate::mail::compose::Draft;
use crate::mail::outbox::{delivery, state, Outbox, OutboxEvent, Outcome};
use crate::store::Store;
use crate::tracking::client::send::{self as send_tracking, TrackingChoice, TrackingRecord};

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
                send_at: r.send_at,
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
            let remind = super::followups::remind_default(&store, &draft.account);
            let mut accounts = senders(config);
            if !accounts.iter().any(|(a, _)| *a == draft.account) {
                accounts.insert(0, (draft.account.clone(), draft.from.clone()));
            }
            open = Some(Box::new(ComposeOpen {
                kind: ComposeKind::New,
                draft,
                accounts,
                resumed: true,
                tracking,
                remind,
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

/// An outbox report as the status bar says it.
pub(super) fn outbox_msg(ev: OutboxEvent) -> Msg {
    match ev {
        OutboxEvent::Error(e) => Msg::Error(format!("outbox: {e}")),
        OutboxEvent::Flushed(results) => {
            let parts: Vec<String> = results
                .iter()
                .map(|r| {
                    // Named by its subject and who it is for; the Message-ID only when
                    // there is neither.
                    let mail = match (r.subject.is_empty(), r.to.is_empty()) {
                        (false, false) => format!("{:?} to {}", r.subject, r.to),
                        (false, true) => format!("{:?}", r.subject),
                        (true, false) => format!("to {}", r.to),
                        (true, true) => r.message_id.clone(),
                    };
                    match &r.outcome {
                        Outcome::Sent => format!("sent {mail}"),
                        Outcome::Queued(why) => format!("will retry {mail}: {why}"),
                        Outcome::Failed(why) => format!("refused {mail}: {why}"),
                        Outcome::Unconfirmed(why) => format!("unconfirmed {mail}: {why}"),
                    }
                })
                .collect();
            Msg::Notice(parts.join("; "))
        }
    }
}

/// (account, Sent folder) of the accounts without IMAP, whose Sent copies the outbox files in
/// the store (the demo's).
pub(super) fn local_sent_folders(config: &Config) -> Vec<(String, String)> {
    use crate::mail::filing::{target, Role};
    config
        .accounts
        .iter()
        .filter(|(_, a)| a.imap.is_none())
        .map(|(name, a)| {
            let sent = target(name, a, None, Role::Sent).known;
            (name.clone(), sent.unwrap_or_else(|| "Sent".into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::outbox_msg;
    use crate::app::msg::Msg;
    use crate::mail::outbox::{FlushResult, OutboxEvent, Outcome};

    fn sent(subject: &str, to: &str) -> String {
        let r = FlushResult {
            id: 1,
            message_id: "<a1@x.test>".into(),
            subject: subject.into(),
            to: to.into(),
            outcome: Outcome::Sent,
            filing_error: None,
        };
        match outbox_msg(OutboxEvent::Flushed(vec![r])) {
            Msg::Notice(n) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_sent_mail_is_named_by_subject_and_recipient_never_by_message_id() {
        assert_eq!(
            sent("Numbers", "Sam Rivera"),
            "sent \"Numbers\" to Sam Rivera"
        );
        assert_eq!(sent("", "Sam Rivera"), "sent to Sam Rivera");
        assert_eq!(sent("", ""), "sent <a1@x.test>");
    }
}
