//! The inbox's side of tracking: the activity pane (recent opens and clicks across tracked mail,
//! newest first; opening it reads the bell's notifications), the timeline in the Tracked filter
//! (see [`super::timeline`]), and live updates — the poller's reports become one
//! [`ActivityMsg::Polled`], after which the marks, the bell, an open timeline and an open pane are
//! read again off the UI loop.

use super::state::{App, Effect, Filter, Mode, Msg, Pane, TrackingMarks};
use super::timeline::{sanitize_event, sanitize_timeline, TimelineView};
use super::Action;
use crate::store::{ActivityEvent, MessageTimeline, Store, ACTIVITY_LIMIT, TIMELINE_LIMIT};
use crate::tracking::client::poller::PollerEvent;
use std::collections::HashMap;

/// What the tracking views hold besides the list.
#[derive(Debug, Clone, Default)]
pub struct TrackingUi {
    /// The timeline shown in the reader's place (Enter in the Tracked filter).
    pub timeline: Option<TimelineView>,
    /// The activity pane, when open.
    pub activity: Option<ActivityView>,
    /// (account, Message-ID) the list cursor goes to when the Tracked list arrives: a jump from
    /// the activity pane.
    pub jump: Option<(String, String)>,
    /// The timeline a mail was opened from, and that mail's id: Back in its reader returns there.
    pub return_to: Option<(i64, TimelineView)>,
}

/// The activity pane: the newest events, their text made terminal-safe.
#[derive(Debug, Clone, Default)]
pub struct ActivityView {
    pub rows: Vec<ActivityEvent>,
    pub cursor: usize,
    /// First row drawn; the pane keeps the cursor in view.
    pub offset: usize,
    pub loading: bool,
    /// Rows the pane had at the last frame, for paging.
    pub height: usize,
}

impl ActivityView {
    /// How many rows were unread (behind a notification) when the pane was opened.
    pub fn new_count(&self) -> usize {
        self.rows.iter().filter(|r| r.unread).count()
    }
}

/// Store work for the tracking views; the runtime runs it off the UI loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivityEffect {
    LoadTimeline {
        account: String,
        message_id: String,
    },
    /// The activity feed for the open pane; the notifications it shows are marked read.
    ReadFeed,
    /// Fresh marks for the rows of these accounts.
    LoadMarks {
        accounts: Vec<String>,
    },
    /// The bell's count.
    LoadBell,
}

#[derive(Debug, Clone)]
pub enum ActivityMsg {
    /// The poller stored events and added notifications (its reports since the last message).
    Polled {
        new_events: usize,
        notifications: usize,
    },
    TimelineLoaded {
        account: String,
        message_id: String,
        result: Result<MessageTimeline, String>,
    },
    FeedLoaded {
        result: Result<Vec<ActivityEvent>, String>,
        /// The bell's count after the feed was read.
        unread: u32,
    },
    /// Marks of `account`'s tracked mail by Message-ID (with brackets).
    Marks {
        account: String,
        marks: HashMap<String, TrackingMarks>,
    },
}

/// The poller's reports as app messages: every report that says new data reached the store folds
/// into one `Polled` (so a burst of events costs one refresh); state changes that need the user's
/// attention become a notice.
pub fn poller_msgs(events: impl IntoIterator<Item = PollerEvent>) -> Vec<Msg> {
    use crate::tracking::client::poller::PollerState;
    let (mut new_events, mut notifications) = (0, 0);
    let mut out = Vec::new();
    for ev in events {
        match ev {
            PollerEvent::NewEvents { count } => new_events += count,
            PollerEvent::Notification(_) => notifications += 1,
            PollerEvent::StateChanged(s) => match s.state {
                PollerState::Unreachable | PollerState::Failing => {
                    out.push(Msg::Notice(s.describe()))
                }
                PollerState::Starting | PollerState::CaughtUp { .. } => {}
            },
        }
    }
    if new_events > 0 || notifications > 0 {
        out.push(Msg::Activity(ActivityMsg::Polled {
            new_events,
            notifications,
        }));
    }
    out
}

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
                            .map(|(id, m)| (id, super::runtime::marks_of(&m)))
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

impl App {
    /// Handles the tracking messages, the activity pane's keys while it is open, and the
    /// timeline's keys while it has the focus. Everything else goes on (`Err`).
    pub(super) fn activity_update(&mut self, msg: Msg) -> Result<Vec<Effect>, Box<Msg>> {
        match msg {
            Msg::Activity(m) => Ok(self.on_activity_msg(m)),
            Msg::Action(_) if self.compose.is_some() || !matches!(self.mode, Mode::Normal) => {
                Err(Box::new(msg))
            }
            Msg::Action(Action::Activity) => Ok(self.toggle_activity()),
            Msg::Action(a) if self.tracking.activity.is_some() => self.activity_key(a),
            Msg::Action(a) if self.timeline_focused() => self.timeline_key(a),
            Msg::Action(Action::Back)
                if self.focus == Pane::Reader
                    && self.people.is_empty()
                    && matches!(
                        (&self.reader, &self.tracking.return_to),
                        (Some(r), Some((id, _))) if r.id == *id
                    ) =>
            {
                self.reader = None;
                self.tracking.timeline = self.tracking.return_to.take().map(|(_, t)| t);
                Ok(Vec::new())
            }
            Msg::Action(a @ (Action::FilterAll | Action::FilterUnread | Action::FilterFlagged)) => {
                // The timeline belongs to the Tracked filter.
                self.close_timeline();
                Err(Box::new(Msg::Action(a)))
            }
            Msg::Action(Action::Back)
                if self.tracking.timeline.is_some() && self.focus == Pane::List =>
            {
                self.close_timeline();
                Ok(Vec::new())
            }
            Msg::Scroll {
                pane: Pane::Reader,
                lines,
            } if self.reader.is_none() && self.tracking.timeline.is_some() => {
                self.scroll_timeline(lines as i64);
                Ok(Vec::new())
            }
            other => Err(Box::new(other)),
        }
    }

    fn timeline_focused(&self) -> bool {
        self.tracking.timeline.is_some()
            && self.reader.is_none()
            && self.focus == Pane::Reader
            && self.people.is_empty()
    }

    fn on_activity_msg(&mut self, m: ActivityMsg) -> Vec<Effect> {
        match m {
            ActivityMsg::Polled { .. } => self.on_polled(),
            ActivityMsg::TimelineLoaded {
                account,
                message_id,
                result,
            } => {
                if let Some(t) = self.tracking.timeline.as_mut() {
                    if t.account == account && t.message_id == message_id {
                        t.data = Some(result);
                    }
                }
                Vec::new()
            }
            ActivityMsg::FeedLoaded { result, unread } => {
                self.bell = unread;
                match (result, self.tracking.activity.as_mut()) {
                    (Ok(rows), Some(v)) => {
                        // The cursor stays on the event it was on as new ones arrive on top.
                        let on = v
                            .rows
                            .get(v.cursor)
                            .map(|r| (r.account.clone(), r.event_id));
                        v.rows = rows;
                        v.cursor = on
                            .and_then(|(a, id)| {
                                v.rows
                                    .iter()
                                    .position(|r| r.account == a && r.event_id == id)
                            })
                            .unwrap_or(0);
                        v.loading = false;
                    }
                    (Err(e), v) => {
                        if let Some(v) = v {
                            v.loading = false;
                        }
                        self.last_error = Some(format!("activity: {e}"));
                    }
                    (Ok(_), None) => {}
                }
                Vec::new()
            }
            ActivityMsg::Marks { account, marks } => {
                for r in self.rows.iter_mut().filter(|r| r.msg.account == account) {
                    if let Some(m) = r.msg.message_id.as_deref().and_then(|id| marks.get(id)) {
                        r.marks = *m;
                    }
                }
                Vec::new()
            }
        }
    }

    /// New events are in the store: read again what shows them.
    fn on_polled(&mut self) -> Vec<Effect> {
        let mut fx = vec![Effect::Activity(if self.tracking.activity.is_some() {
            ActivityEffect::ReadFeed
        } else {
            ActivityEffect::LoadBell
        })];
        if let Some(t) = &self.tracking.timeline {
            fx.push(Effect::Activity(ActivityEffect::LoadTimeline {
                account: t.account.clone(),
                message_id: t.message_id.clone(),
            }));
        }
        if self.filter == Filter::Tracked {
            // Newest activity first: the order may change, and the cursor follows its mail.
            fx.extend(self.reload(false));
        } else {
            let mut accounts: Vec<String> = Vec::new();
            for r in &self.rows {
                if !accounts.contains(&r.msg.account) {
                    accounts.push(r.msg.account.clone());
                }
            }
            if !accounts.is_empty() {
                fx.push(Effect::Activity(ActivityEffect::LoadMarks { accounts }));
            }
        }
        fx
    }

    fn toggle_activity(&mut self) -> Vec<Effect> {
        if self.tracking.activity.take().is_some() {
            return Vec::new();
        }
        self.tracking.activity = Some(ActivityView {
            loading: true,
            ..Default::default()
        });
        vec![Effect::Activity(ActivityEffect::ReadFeed)]
    }

    fn activity_key(&mut self, a: Action) -> Result<Vec<Effect>, Box<Msg>> {
        let Some(v) = self.tracking.activity.as_mut() else {
            return Err(Box::new(Msg::Action(a)));
        };
        let page = v.height.saturating_sub(1).max(1) as i64;
        let step = |v: &mut ActivityView, d: i64| {
            let last = v.rows.len().saturating_sub(1) as i64;
            v.cursor = (v.cursor as i64).saturating_add(d).clamp(0, last.max(0)) as usize;
        };
        match a {
            Action::Down => step(v, 1),
            Action::Up => step(v, -1),
            Action::PageDown => step(v, page),
            Action::PageUp => step(v, -page),
            Action::Top => step(v, i64::MIN / 2),
            Action::Bottom => step(v, i64::MAX / 2),
            Action::Back => self.tracking.activity = None,
            Action::Open => {
                let Some(e) = v.rows.get(v.cursor).cloned() else {
                    return Ok(Vec::new());
                };
                return Ok(self.jump_to(&e.account, &e.message_id, &e.subject));
            }
            Action::Quit | Action::Help => return Err(Box::new(Msg::Action(a))),
            _ => {}
        }
        Ok(Vec::new())
    }

    /// From the activity pane to the mail: the Tracked filter of its account, the cursor on it
    /// (once the list is read) and its timeline open.
    fn jump_to(&mut self, account: &str, message_id: &str, subject: &str) -> Vec<Effect> {
        self.tracking.activity = None;
        self.people.clear();
        if self.current_account() != Some(account) {
            let folder = self
                .folders
                .iter()
                .filter(|f| f.account == account)
                .min_by_key(|f| f.role.as_deref() != Some("inbox"))
                .map(|f| f.name.clone());
            match folder {
                Some(f) => self.current = Some((account.to_string(), f)),
                None => {
                    self.status = Some(format!("account {account} has no folders cached"));
                    return Vec::new();
                }
            }
        }
        self.search = None;
        self.filter = Filter::Tracked;
        self.tracking.jump = Some((account.to_string(), message_id.to_string()));
        let mut fx = self.reload(true);
        fx.extend(self.open_timeline(account, message_id, subject));
        fx
    }

    /// After the list changed: a pending jump puts the cursor on its mail; it is done once the
    /// whole list has arrived.
    pub(super) fn follow_jump(&mut self) {
        let Some((account, message_id)) = &self.tracking.jump else {
            return;
        };
        if let Some(i) = self.rows.iter().position(|r| {
            &r.msg.account == account && r.msg.message_id.as_deref() == Some(message_id.as_str())
        }) {
            self.cursor = i;
        }
        if !self.loading {
            self.tracking.jump = None;
        }
    }

    /// Enter in the Tracked filter: the selected mail's timeline in the reader's place.
    pub(super) fn open_timeline_of_selected(&mut self) -> Vec<Effect> {
        let Some(row) = self.selected_row() else {
            return Vec::new();
        };
        let Some(message_id) = row.msg.message_id.clone() else {
            self.status = Some("this mail has no Message-ID: no timeline".into());
            return Vec::new();
        };
        let (account, subject) = (row.msg.account.clone(), row.msg.subject.clone());
        self.open_timeline(&account, &message_id, &subject)
    }

    fn open_timeline(&mut self, account: &str, message_id: &str, subject: &str) -> Vec<Effect> {
        let view = TimelineView::new(account, message_id, subject);
        let effect = Effect::Activity(ActivityEffect::LoadTimeline {
            account: view.account.clone(),
            message_id: view.message_id.clone(),
        });
        self.tracking.timeline = Some(view);
        self.reader = None;
        self.focus = Pane::Reader;
        vec![effect]
    }

    fn close_timeline(&mut self) {
        if self.tracking.timeline.take().is_some() && self.focus == Pane::Reader {
            self.focus = Pane::List;
        }
    }

    fn scroll_timeline(&mut self, lines: i64) {
        if let Some(t) = self.tracking.timeline.as_mut() {
            t.scroll =
                (t.scroll as i64 + lines.clamp(-10_000, 10_000)).clamp(0, u16::MAX as i64) as u16;
        }
    }

    fn timeline_key(&mut self, a: Action) -> Result<Vec<Effect>, Box<Msg>> {
        let page = self.reader_height.saturating_sub(1).max(1) as i64;
        match a {
            Action::Down => self.scroll_timeline(1),
            Action::Up => self.scroll_timeline(-1),
            Action::PageDown => self.scroll_timeline(page),
            Action::PageUp => self.scroll_timeline(-page),
            Action::Top => self.scroll_timeline(i64::MIN / 2),
            Action::Bottom => self.scroll_timeline(i64::MAX / 2),
            Action::Back => self.close_timeline(),
            Action::NextMessage | Action::PrevMessage => {
                let d: i64 = if a == Action::NextMessage { 1 } else { -1 };
                let next = (self.cursor as i64 + d).clamp(0, self.rows.len() as i64 - 1);
                if next >= 0 && next as usize != self.cursor {
                    self.cursor = next as usize;
                    return Ok(self.open_timeline_of_selected());
                }
            }
            Action::Open => {
                // The mail itself, from its cached copy in the list.
                let Some(t) = &self.tracking.timeline else {
                    return Ok(Vec::new());
                };
                let row = self.rows.iter().find(|r| {
                    r.msg.account == t.account
                        && r.msg.message_id.as_deref() == Some(t.message_id.as_str())
                });
                return Ok(match row.map(|r| r.msg.id) {
                    Some(id) => {
                        let from = self.tracking.timeline.clone();
                        let fx = self.open_message_by_id(id);
                        self.tracking.return_to = from.map(|t| (id, t));
                        fx
                    }
                    None => {
                        self.status = Some("no copy of this mail is cached".into());
                        Vec::new()
                    }
                });
            }
            other => return Err(Box::new(Msg::Action(other))),
        }
        Ok(Vec::new())
    }
}
