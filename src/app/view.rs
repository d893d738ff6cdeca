//! The plain data the screen is drawn from: panes, filters, list rows and their tracking marks,
//! folders, the reader, prompts and pickers, and the triage vocabulary (what changed, how to put it
//! back). No behaviour beyond small accessors; every other app file builds on these.

use super::input::LineInput;
use super::tracking_urls::ReaderContent;
pub use crate::store::MessageSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Folders,
    List,
    Reader,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    All,
    Unread,
    Flagged,
    /// Sent mail with tracking on, across the account's folders, newest activity first.
    Tracked,
    /// Sent mail with a reminder nothing settled yet, across the account's folders, due first.
    FollowUp,
}

impl Filter {
    pub fn label(self) -> &'static str {
        match self {
            Filter::All => "All",
            Filter::Unread => "Unread",
            Filter::Flagged => "Flagged",
            Filter::Tracked => "Tracked",
            Filter::FollowUp => "Follow up",
        }
    }
}

/// Opened / clicked marks of a tracked sent message as its list row shows them (the store's
/// [`crate::store::TrackingMark`] is the count they are read from). Empty until the tracking
/// feature sets them; the list draws them dim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowMarks {
    pub tracked: bool,
    pub opens: u32,
    pub clicks: u32,
    /// Unix seconds of the last counted open, shown in the Tracked filter.
    pub last_open: Option<i64>,
    /// "replied by Dana, 2 h after sending", for the user's sent mail someone answered.
    pub replied: Option<String>,
    /// Unix seconds the mail's open reminder comes (came) due, for the Follow up filter.
    pub due_at: Option<i64>,
}

impl From<&crate::store::TrackingMark> for RowMarks {
    fn from(m: &crate::store::TrackingMark) -> RowMarks {
        RowMarks {
            tracked: true,
            opens: u32::try_from(m.opens).unwrap_or(u32::MAX),
            clicks: u32::try_from(m.clicks).unwrap_or(u32::MAX),
            last_open: m.last_open,
            replied: None,
            due_at: None,
        }
    }
}

impl RowMarks {
    /// Takes the tracking counts of `m`, keeping the reply and reminder marks: a refresh of the
    /// opens after a poll does not know about replies.
    pub fn set_tracking(&mut self, m: &RowMarks) {
        self.tracked = m.tracked;
        self.opens = m.opens;
        self.clicks = m.clicks;
        self.last_open = m.last_open;
    }
}

/// One line of the message list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub msg: MessageSummary,
    pub marks: RowMarks,
    /// Indent in the thread view (0 = first message of its conversation).
    pub depth: u8,
    /// The rest of its conversation while the thread is collapsed into this row (`collapse`).
    pub folded: Vec<Row>,
}

impl Row {
    pub fn new(msg: MessageSummary) -> Row {
        Row {
            msg,
            marks: RowMarks::default(),
            depth: 0,
            folded: Vec::new(),
        }
    }

    /// This message's id and those folded into it.
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        std::iter::once(self.msg.id).chain(self.folded.iter().map(|r| r.msg.id))
    }

    /// Whether this message, or one folded into it, is unread.
    pub fn any_unread(&self) -> bool {
        !self.msg.seen || self.folded.iter().any(|r| !r.msg.seen)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEntry {
    pub account: String,
    pub name: String,
    pub role: Option<String>,
    pub total: u64,
    pub unread: u64,
}

pub type AttachmentView = crate::mail::render::RenderedAttachment;

#[derive(Debug, Clone)]
pub struct Reader {
    pub id: i64,
    /// `None` while the message loads off the UI thread.
    pub content: Option<ReaderContent>,
    /// Its body is being downloaded from the server (it was not cached yet).
    pub downloading: bool,
    pub scroll: u16,
}

/// What a folder/attachment picker is choosing for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerPurpose {
    Move {
        ids: Vec<i64>,
    },
    SaveAttachment {
        id: i64,
    },
    OpenAttachment {
        id: i64,
    },
    /// Until a chosen or typed time (`update::snooze`).
    Snooze {
        ids: Vec<i64>,
    },
    /// Where to move the reminder of a sent mail (Message-ID).
    SnoozeReminder {
        message_id: String,
    },
    /// The reader's links (targets, as listed).
    Link {
        urls: Vec<String>,
    },
    /// The list's sort key (items are `SortKey::NAMES`).
    Sort,
}

#[derive(Debug, Clone)]
pub struct Picker {
    pub purpose: PickerPurpose,
    pub title: String,
    pub items: Vec<String>,
    pub input: LineInput,
    /// Indices into `items` matching `input`, best first.
    pub matches: Vec<usize>,
    pub cursor: usize,
}

/// Completions of a command line: the line is `prefix` followed by one of `items`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completions {
    pub prefix: String,
    pub items: Vec<String>,
}

/// Tab cycling: the completions of the line as it was typed, and which one is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub completions: Completions,
    pub index: usize,
    /// What followed the cursor, kept after each candidate.
    pub suffix: String,
}

/// The `:` command line being typed: its text, Tab's cycle, and where Up/Down are in the
/// history. Edited by `app::command`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub input: LineInput,
    pub cycle: Option<Cycle>,
    /// Index into the history while walking it; the line typed before is kept in `typed`.
    pub history_at: Option<usize>,
    pub typed: String,
}

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Help {
        scroll: u16,
    },
    /// The message log: what the status bar said, errors included, newest last.
    Log {
        scroll: u16,
    },
    Search {
        input: LineInput,
    },
    /// The `:` command line (see `app::command`).
    Command(CommandLine),
    Picker(Picker),
    SavePrompt {
        id: i64,
        index: usize,
        input: LineInput,
    },
    /// A search-language pattern whose matches in the list get selected (`V`).
    SelectPrompt {
        input: LineInput,
    },
    /// Delete asks first when it would erase for good (messages already in Trash): `y` deletes,
    /// any other key keeps them. `in_trash` of the `ids` are erased, the others go to Trash.
    ConfirmDelete {
        ids: Vec<i64>,
        in_trash: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeKind {
    New,
    Reply,
    ReplyAll,
    Forward,
    /// A draft from the server's Drafts folder, opened for editing with its own Message-ID.
    Recall,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeRequest {
    pub kind: ComposeKind,
    pub account: Option<String>,
    /// The message replied to or forwarded.
    pub source: Option<i64>,
}

/// A triage change, in the terms the mail engine takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Seen(bool),
    Flagged(bool),
    /// To the account's Archive-role folder.
    Archive,
    /// To the account's Trash-role folder.
    Delete,
    /// To the named folder of the message's account.
    Move(String),
}
/// How to put things back: for undo, and for rolling back a failed optimistic change.
#[derive(Debug, Clone)]
pub enum Revert {
    Flags {
        before: Vec<(i64, bool, bool)>,
    },
    Moved {
        account: String,
        folder: String,
        /// Removed rows with the list index each had.
        rows: Vec<(usize, Row)>,
    },
}

#[derive(Debug, Clone)]
pub struct Undoable {
    pub op: u64,
    pub label: String,
    pub revert: Revert,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub folder: String,
    /// What `done`/`total` count: bodies (true) or envelopes.
    pub bodies: bool,
    pub done: u64,
    pub total: u64,
    pub running: bool,
}

/// A plain summary for unit tests of the app layer.
#[cfg(test)]
pub(crate) fn test_summary(id: i64, date: i64, subject: &str) -> crate::store::MessageSummary {
    crate::store::MessageSummary {
        id,
        account: "w".into(),
        folder: "INBOX".into(),
        uid: id as u32,
        message_id: Some(format!("<{id}@test>")),
        in_reply_to: None,
        thread_root: None,
        from_name: "A".into(),
        from_addr: "a@x.test".into(),
        to: String::new(),
        cc: String::new(),
        subject: subject.into(),
        date,
        seen: false,
        flagged: false,
        answered: false,
        draft: false,
        has_attachments: false,
        preview: String::new(),
        size: 0,
    }
}
