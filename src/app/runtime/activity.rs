//! The tracking views' effects: a mail's timeline, the activity feed (which marks the bell's
//! notifications read, so it runs on the writer), fresh list marks and the bell's count.

use crate::app::activity::{ActivityEffect, ActivityMsg};
use crate::app::msg::Msg;
use crate::app::timeline::{sanitize_event, sanitize_timeline};
use crate::app::view::RowMarks;
use crate::store::{Store, ACTIVITY_LIMIT, TIMELINE_LIMIT};

fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Runs one store-side tracking effect (a read, except [`ActivityEffect::ReadFeed`], which also
/// marks notifications read and so goes to the runtime's writer).
pub fn perform(store: &Store, effect: ActivityEffect) -> Vec<Msg> {
    let msg = match effect {
        ActivityEffect::LoadTimeline {
            account,
            message_id,
        } => {
            let result = store
                .message_timeline(&account, &message_id, TIMELINE_LIMIT)
                .map(|mut t| {
                    sanitize_timeline(&mut t);
                    t
                })
                .map_err(|e| e.to_string());
            ActivityMsg::TimelineLoaded {
                account,
                message_id,
                result,
            }
        }
        ActivityEffect::ReadFeed => match store.read_activity_feed(ACTIVITY_LIMIT) {
            Ok((mut rows, unread)) => {
                rows.iter_mut().for_each(sanitize_event);
                ActivityMsg::FeedLoaded {
                    result: Ok(rows),
                    unread: count(unread),
                }
            }
            Err(e) => ActivityMsg::FeedLoaded {
                result: Err(e.to_string()),
                unread: store.unread_notification_count().map(count).unwrap_or(0),
            },
        },
        ActivityEffect::LoadMarks { accounts } => {
            return accounts
                .into_iter()
                .filter_map(|account| match store.tracking_marks(&account) {
                    Ok(marks) => Some(Msg::Activity(ActivityMsg::Marks {
                        marks: marks
                            .into_iter()
                            .map(|(id, m)| (id, RowMarks::from(&m)))
                            .collect(),
                        account,
                    })),
                    Err(e) => {
                        tracing::warn!(error = %e, "reading tracking marks");
                        None
                    }
                })
                .collect();
        }
        ActivityEffect::LoadBell => {
            return match store.unread_notification_count() {
                Ok(n) => vec![Msg::Notifications { unread: count(n) }],
                Err(e) => vec![Msg::Error(format!("notifications: {e}"))],
            }
        }
    };
    vec![Msg::Activity(msg)]
}
