//! The tracking views' update step: the poller's news, the activity pane's keys, and the timeline
//! in the Tracked filter.

use crate::app::action::Action;
use crate::app::activity::{ActivityEffect, ActivityMsg, ActivityView};
use crate::app::msg::{Effect, Msg};
use crate::app::state::App;
use crate::app::timeline::TimelineView;
use crate::app::view::{Filter, Mode, Pane};

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
            // Before the timeline's own keys: with the timeline focused, another filter must
            // close it too, or it stays beside a list that no longer holds its mail.
            Msg::Action(a @ (Action::FilterAll | Action::FilterUnread | Action::FilterFlagged)) => {
                // The timeline belongs to the Tracked filter.
                self.close_timeline();
                self.tracking.return_to = None;
                Err(Box::new(Msg::Action(a)))
            }
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
                // Events may have arrived while the mail was open: read the timeline again.
                Ok(self
                    .tracking
                    .timeline
                    .iter()
                    .map(|t| {
                        Effect::Activity(ActivityEffect::LoadTimeline {
                            account: t.account.clone(),
                            message_id: t.message_id.clone(),
                        })
                    })
                    .collect())
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
                for r in self
                    .list
                    .rows
                    .iter_mut()
                    .filter(|r| r.msg.account == account)
                {
                    if let Some(m) = r.msg.message_id.as_deref().and_then(|id| marks.get(id)) {
                        r.marks.set_tracking(m);
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
        if self.list.filter == Filter::Tracked {
            // Newest activity first: the order may change, and the cursor follows its mail.
            fx.extend(self.reload(false));
        } else {
            let mut accounts: Vec<String> = Vec::new();
            for r in &self.list.rows {
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
                .list
                .folders
                .iter()
                .filter(|f| f.account == account)
                .min_by_key(|f| f.role.as_deref() != Some("inbox"))
                .map(|f| f.name.clone());
            match folder {
                Some(f) => self.list.current = Some((account.to_string(), f)),
                None => {
                    self.status = Some(format!("account {account} has no folders cached"));
                    return Vec::new();
                }
            }
        }
        self.list.search = None;
        self.list.filter = Filter::Tracked;
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
        let is = |r: &crate::app::view::Row| {
            &r.msg.account == account && r.msg.message_id.as_deref() == Some(message_id.as_str())
        };
        if let Some(i) = self
            .list
            .rows
            .iter()
            .position(|r| is(r) || r.folded.iter().any(is))
        {
            // Inside a collapsed conversation: it opens up on the mail.
            self.list.expand_at(i);
            self.list.cursor = self.list.rows.iter().position(is).unwrap_or(i);
        }
        if !self.list.loading {
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
        let page = self.heights.reader.saturating_sub(1).max(1) as i64;
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
                let next = (self.list.cursor as i64 + d).clamp(0, self.list.rows.len() as i64 - 1);
                if next >= 0 && next as usize != self.list.cursor {
                    self.list.cursor = next as usize;
                    return Ok(self.open_timeline_of_selected());
                }
            }
            Action::Open => {
                // The mail itself, from its cached copy in the list.
                let Some(t) = &self.tracking.timeline else {
                    return Ok(Vec::new());
                };
                let row = self.list.all_rows().find(|r| {
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
