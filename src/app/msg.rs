//! What flows through the pure update: [`Msg`] in (user intents and the runtime's answers) and
//! [`Effect`] out (work for the runtime). Each feature's messages and effects are one nested enum
//! defined beside its state (`compose`, `outbox_view`, `contact`, `activity`).

use super::action::Action;
use super::activity::{ActivityEffect, ActivityMsg};
use super::compose::{ComposeEffect, ComposeMsg};
use super::contact::{PeopleEffect, PeopleMsg};
use super::followups::{FollowUpEffect, FollowUpMsg};
use super::input::InputKey;
use super::outbox_view::{OutboxEffect, OutboxMsg};
use super::sort::{ListSort, SortKey};
use super::tracking_urls::ReaderContent;
use super::view::{Change, FolderEntry, Pane, Row, RowMarks};
use crate::mail::sync::SyncEvent;
use crate::store::ListQuery;
use crate::tracking::client::poller::{PollerEvent, PollerState};
use std::path::PathBuf;

/// Work for the runtime: it runs each off the UI loop and answers with a [`Msg`].
#[derive(Debug, Clone)]
pub enum Effect {
    LoadFolders,
    /// Lists messages; `threads` arranges them as conversations (off the UI loop, as that sorts
    /// the whole folder).
    LoadMessages {
        generation: u64,
        query: ListQuery,
        threads: bool,
        /// The order rows are arranged in (see `app::sort`).
        sort: ListSort,
    },
    /// Finds which messages of list `generation` match `pattern` (the search language) within
    /// `query` (the list's account, folder and filter); answered by `Matched`.
    SelectMatching {
        generation: u64,
        query: ListQuery,
        pattern: String,
        select: bool,
    },
    LoadMessage {
        id: i64,
    },
    /// Downloads the body of message `id` (opened before the sync reached it) ahead of the
    /// background work; answered by `MessageLoaded`.
    FetchBody {
        id: i64,
    },
    /// Changes the store at once and gets the change to the server (now or queued); answered
    /// by `OpFinished { op }`.
    Triage {
        op: u64,
        ids: Vec<i64>,
        change: Change,
    },
    /// Takes back triage operation `of`; answered by `OpFinished { op }`.
    Undo {
        op: u64,
        of: u64,
    },
    SaveAttachment {
        id: i64,
        index: usize,
        path: PathBuf,
    },
    OpenAttachment {
        id: i64,
        index: usize,
    },
    /// Opens a link with `[ui] opener` or the system's opener.
    OpenUrl {
        url: String,
    },
    /// Puts text on the clipboard (a clipboard tool, or OSC 52 when `[ui] osc52` asks for it).
    Copy {
        text: String,
    },
    /// The composer's drafts, suggestions and files (see `app::compose`).
    Compose(ComposeEffect),
    /// The Outbox view and the outbox worker (see `app::outbox_view`).
    Outbox(OutboxEffect),
    /// Contacts, organizations and Superdata (see `app::contact`).
    People(PeopleEffect),
    /// The tracking views: timeline, activity feed, marks, bell (see `app::activity`).
    Activity(ActivityEffect),
    /// Moves messages to the Snoozed folder until `until` (unix seconds); answered by `Snoozed`.
    Snooze {
        ids: Vec<i64>,
        until: i64,
    },
    /// The Follow up filter's snooze and done (see `app::followups`).
    FollowUp(FollowUpEffect),
    /// The terminal front end's own state; the UI loop runs it, not the runtime.
    Ui(UiEffect),
    Quit,
}

/// What only the terminal front end can change: its look and the terminal's modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiEffect {
    /// Wear theme `name` from now on; answered by `Msg::ThemeSet`.
    Theme(String),
    /// Mouse capture on / off (off: the terminal selects text).
    ToggleMouse,
}

/// Everything that can change the state: user intents and the runtime's answers.
#[derive(Debug, Clone)]
pub enum Msg {
    Action(Action),
    Input(InputKey),
    /// A click on the `row`-th visible line of a pane.
    Click {
        pane: Pane,
        row: usize,
    },
    Scroll {
        pane: Pane,
        lines: i32,
    },
    FoldersLoaded(Result<Vec<FolderEntry>, String>),
    MessagesLoaded {
        generation: u64,
        rows: Result<Vec<Row>, String>,
        complete: bool,
    },
    MessageLoaded {
        id: i64,
        content: Result<ReaderContent, String>,
    },
    /// Message `id` has only its envelope cached: its body must come from the server.
    BodyNotCached {
        id: i64,
    },
    OpFinished {
        op: u64,
        result: Result<(), String>,
    },
    /// What the sync watchers report; the status bar shows it and the lists reload on it.
    Sync(SyncEvent),
    /// Tracking marks for listed messages (from the tracking feature), by message id.
    Marks(Vec<(i64, RowMarks)>),
    /// The count of unread in-app notifications, for the bell.
    Notifications {
        unread: u32,
    },
    /// Orders the list by `key` (reversed if asked) for the rest of the session; the list
    /// reloads in that order with the cursor kept on its message.
    SortBy {
        key: SortKey,
        reverse: bool,
    },
    /// Selects (`select`) or unselects the listed messages matching `query` in the search
    /// language, as `v` does one by one; an empty query with `select: false` unselects all.
    SelectMatching {
        query: String,
        select: bool,
    },
    /// The runtime's answer to `Effect::SelectMatching`: the ids matching `pattern` in list
    /// `generation`, or why none could be (a query the search language cannot use, a store error).
    Matched {
        generation: u64,
        pattern: String,
        select: bool,
        ids: Result<Vec<i64>, String>,
    },
    Notice(String),
    /// What the bar says about the search of list load `generation` ("search: …"); it arrives
    /// apart from the rows, so one about a query typed over since is dropped.
    QueryNote {
        generation: u64,
        text: String,
    },
    Error(String),
    /// The clock (every few seconds): autosave runs from it.
    Tick(i64),
    /// The composer's answers and its editing widget's text.
    Compose(ComposeMsg),
    /// Answers for the Outbox view.
    Outbox(OutboxMsg),
    /// Answers for the contact and organization panes.
    People(PeopleMsg),
    /// Tracking: the poller's news and the tracking views' answers.
    Activity(ActivityMsg),
    /// What a snooze came to, for the status line.
    Snoozed(Result<String, String>),
    /// Reminders that came due, and the Follow up filter's answers.
    FollowUps(FollowUpMsg),
    /// The theme the UI switched to (its name), or why it could not.
    ThemeSet(Result<String, String>),
}

/// The poller's reports as app messages: every report that says new data reached the store folds
/// into one `Polled` (so a burst of events costs one refresh); state changes that need the user's
/// attention become a notice.
pub fn poller_msgs(events: impl IntoIterator<Item = PollerEvent>) -> Vec<Msg> {
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
