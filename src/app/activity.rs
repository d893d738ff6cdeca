//! The inbox's side of tracking, as state: the activity pane (recent opens and clicks across
//! tracked mail, newest first; opening it reads the bell's notifications), the timeline in the
//! Tracked filter (see [`super::timeline`]), a pending jump from the pane to a mail, and their
//! messages and effects. The poller's reports become one [`ActivityMsg::Polled`] (see
//! `msg::poller_msgs`); `update::activity` then asks for the marks, the bell, an open timeline and
//! an open pane again, and `runtime::activity` reads them off the UI loop.

use super::timeline::TimelineView;
use super::view::RowMarks;
use crate::store::{ActivityEvent, MessageTimeline};
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
        marks: HashMap<String, RowMarks>,
    },
}
