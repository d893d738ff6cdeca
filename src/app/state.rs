//! What the screen shows, held in memory: folders, the loaded message rows, the reader, prompts, the
//! status line. Frames are drawn from this alone; nothing here touches disk or network.

use super::action::Action;
use crate::store::{ListFilter, ListQuery, MessageSummary};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

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
}

impl Filter {
    pub fn label(self) -> &'static str {
        match self {
            Filter::All => "All",
            Filter::Unread => "Unread",
            Filter::Flagged => "Flagged",
            Filter::Tracked => "Tracked",
        }
    }
}

/// Opened / clicked marks of a tracked sent message. The tracking feature sets them; until then
/// they stay empty and the list draws them dim.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackingMarks {
    pub tracked: bool,
    pub opens: u32,
    pub clicks: u32,
    /// Unix seconds of the last counted open, shown in the Tracked filter.
    pub last_open: Option<i64>,
}

/// One line of the message list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub msg: MessageSummary,
    pub marks: TrackingMarks,
    /// Indent in the thread view (0 = first message of its conversation).
    pub depth: u8,
}

impl Row {
    pub fn new(msg: MessageSummary) -> Row {
        Row {
            msg,
            marks: TrackingMarks::default(),
            depth: 0,
        }
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

/// A message as the reader shows it: sanitized headers, text and attachments.
pub use super::tracking_urls::{ReaderContent, TrackingLine, TrackingUrls};
pub type AttachmentView = crate::mail::render::RenderedAttachment;

#[derive(Debug, Clone)]
pub struct Reader {
    pub id: i64,
    /// `None` while the message loads off the UI thread.
    pub content: Option<ReaderContent>,
    pub scroll: u16,
}

/// What a folder/attachment picker is choosing for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickerPurpose {
    Move { ids: Vec<i64> },
    SaveAttachment { id: i64 },
    OpenAttachment { id: i64 },
}

#[derive(Debug, Clone)]
pub struct Picker {
    pub purpose: PickerPurpose,
    pub title: String,
    pub items: Vec<String>,
    pub input: String,
    /// Indices into `items` matching `input`, best first.
    pub matches: Vec<usize>,
    pub cursor: usize,
}

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Help {
        scroll: u16,
    },
    Search {
        input: String,
    },
    Picker(Picker),
    SavePrompt {
        id: i64,
        index: usize,
        input: String,
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
    },
    LoadMessage {
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
    Compose(ComposeRequest),
    /// Saves the composer's draft (only if changed; `flush` ignores the interval).
    Autosave {
        draft: Box<crate::mail::compose::Draft>,
        now: i64,
        flush: bool,
    },
    DiscardDraft {
        message_id: String,
    },
    /// Commits the draft to the outbox; answered by `Queued`.
    QueueDraft {
        draft: Box<crate::mail::compose::Draft>,
        /// "Track opens" / "track links" as set in the composer.
        tracking: crate::tracking::client::send::TrackingChoice,
        now: i64,
    },
    /// Wakes the outbox worker for mail just queued from `account`.
    FlushOutbox {
        account: String,
    },
    Suggest {
        prefix: String,
    },
    AttachFile {
        path: PathBuf,
    },
    CompletePath {
        input: String,
    },
    /// Runs `$VISUAL`/`$EDITOR` on the body with the terminal handed over (the event loop does
    /// it); answered by `ExternalEdited`.
    ExternalEditor {
        body: String,
    },
    FindDrafts,
    /// Reopens the newest saved draft.
    ResumeDraft,
    LoadOutbox,
    /// Changes outbox mail `id` as the user decided (retry, edit, cancel, confirm, untrack);
    /// answered by `OutboxChanged`.
    ChangeOutbox {
        id: i64,
        account: String,
        change: super::outbox_view::OutboxChange,
    },
    /// After the local save queued before it: finds the draft's row, answered by `DraftStored`.
    DraftToServer {
        message_id: String,
    },
    /// APPENDs stored draft `id` to the server's Drafts (network); answered by `DraftUploaded`.
    UploadDraft {
        id: i64,
    },
    /// Discards stored draft `id` and its copy in the server's Drafts (network, server first);
    /// answered by `ServerDraftDiscarded`.
    DiscardServerDraft {
        id: i64,
    },
    /// Contacts, organizations and Superdata (see `app::contact`).
    People(super::contact::PeopleEffect),
    /// The tracking views: timeline, activity feed, marks, bell (see `app::activity`).
    Activity(super::activity::ActivityEffect),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKey {
    Char(char),
    Backspace,
    /// Empties the input (C-u).
    Clear,
    Enter,
    Esc,
    Up,
    Down,
    Tab,
}

/// What the sync watchers report; the status bar shows it and the lists reload on it.
pub use crate::mail::sync::SyncEvent as SyncUpdate;

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
    OpFinished {
        op: u64,
        result: Result<(), String>,
    },
    Sync(SyncUpdate),
    /// Tracking marks for listed messages (from the tracking feature), by message id.
    Marks(Vec<(i64, TrackingMarks)>),
    /// The count of unread in-app notifications, for the bell.
    Notifications {
        unread: u32,
    },
    Notice(String),
    Error(String),
    /// The clock (every few seconds): autosave runs from it.
    Tick(i64),
    ComposeReady(Result<Box<super::compose::ComposeOpen>, String>),
    /// The body as the editing widget holds it.
    ComposeBody(String),
    ExternalEdited(Result<String, String>),
    Suggestions {
        prefix: String,
        list: Vec<String>,
    },
    Attached(Result<Box<crate::mail::compose::Attachment>, String>),
    PathCompleted {
        input: String,
        completed: String,
    },
    /// The draft is in the outbox (its account), or why not.
    Queued(Result<String, String>),
    /// Saved drafts at start: (id, subject), newest first.
    DraftsFound(Vec<(i64, String)>),
    OutboxLoaded(Result<Vec<super::outbox_view::OutboxLine>, String>),
    /// The outbox worker settled mail: the Outbox view reloads.
    OutboxStale,
    OutboxChanged(Result<Box<super::outbox_view::Changed>, String>),
    /// The draft is saved locally as row `id` (then it goes to the server).
    DraftStored {
        id: i64,
    },
    /// The server copy of a draft: what to tell the user, or why it failed.
    DraftUploaded(Result<String, String>),
    /// A discarded draft has a server copy: it goes from there first, then from here.
    DraftOnServer {
        id: i64,
    },
    ServerDraftDiscarded(Result<(), String>),
    /// Answers for the contact and organization panes.
    People(super::contact::PeopleMsg),
    /// Tracking: the poller's news and the tracking views' answers.
    Activity(super::activity::ActivityMsg),
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
    pub done: u64,
    pub total: u64,
    pub running: bool,
}

pub struct App {
    pub focus: Pane,
    pub mode: Mode,
    pub folders: Vec<FolderEntry>,
    pub folder_cursor: usize,
    /// (account, folder) the list shows.
    pub current: Option<(String, String)>,
    pub filter: Filter,
    pub threads: bool,
    /// The applied search, if any (across the account's folders).
    pub search: Option<String>,
    pub rows: Vec<Row>,
    pub cursor: usize,
    /// First visible row; kept by the list pane so the cursor stays in view.
    pub offset: usize,
    pub marked: HashSet<i64>,
    pub loading: bool,
    pub generation: u64,
    pub reader: Option<Reader>,
    pub status: Option<String>,
    pub last_error: Option<String>,
    pub sync: BTreeMap<String, SyncState>,
    /// Unread in-app notifications (the tracking events feature fills it).
    pub bell: u32,
    pub undo: Vec<Undoable>,
    pub inflight: HashMap<u64, Undoable>,
    pub next_op: u64,
    /// Rows the list and reader panes had at the last frame, for paging.
    pub list_height: usize,
    pub reader_height: usize,
    /// Local time offset for dates, and "now", so tests are reproducible.
    pub utc_offset_secs: i32,
    pub now: i64,
    pub quit: bool,
    /// Set while a `BackOrQuit` (q) is handled as Back: only it quits from the list.
    pub back_may_quit: bool,
    /// The open composer, if any; it takes the whole main area.
    pub compose: Option<super::compose::Composer>,
    /// Saved drafts found at start, newest first: (id, subject).
    pub drafts_found: Vec<(i64, String)>,
    /// The Outbox view, when open.
    pub outbox: Option<super::outbox_view::OutboxView>,
    /// Contacts list / contact / organization panes, stacked over the inbox (top = last).
    pub people: Vec<super::contact::PeopleView>,
    /// `[superdata]`: the panes' Superdata section and lookups use it.
    pub superdata: crate::config::SuperdataConfig,
    /// The timeline, the activity pane and a pending jump to a mail (see `app::activity`).
    pub tracking: super::activity::TrackingUi,
}

impl Default for App {
    fn default() -> Self {
        App::new(false)
    }
}

impl App {
    /// Who a list row names: the sender, or — for mail the user sent (Sent, Drafts, the Tracked
    /// filter) — "To" and its first recipient, as mutt's `%F` does; a Sent folder full of the
    /// user's own name says nothing.
    pub fn correspondent(&self, m: &MessageSummary) -> String {
        let sent_by_me = self.filter == Filter::Tracked
            || self.folders.iter().any(|f| {
                f.account == m.account
                    && f.name == m.folder
                    && matches!(f.role.as_deref(), Some("sent" | "drafts"))
            });
        if sent_by_me {
            if let Some(first) = crate::mail::compose::Mailbox::parse_list(&m.to)
                .ok()
                .and_then(|list| {
                    let n = list.len();
                    list.into_iter().next().map(|b| (b, n))
                })
            {
                let (b, n) = first;
                let who = b.name.unwrap_or(b.email);
                return if n > 1 {
                    format!("To {who} +{}", n - 1)
                } else {
                    format!("To {who}")
                };
            }
        }
        if m.from_name.is_empty() {
            m.from_addr.clone()
        } else {
            m.from_name.clone()
        }
    }

    pub fn new(threads: bool) -> App {
        App {
            focus: Pane::List,
            mode: Mode::Normal,
            folders: Vec::new(),
            folder_cursor: 0,
            current: None,
            filter: Filter::All,
            threads,
            search: None,
            rows: Vec::new(),
            cursor: 0,
            offset: 0,
            marked: HashSet::new(),
            loading: true,
            generation: 0,
            reader: None,
            status: None,
            last_error: None,
            sync: BTreeMap::new(),
            bell: 0,
            undo: Vec::new(),
            inflight: HashMap::new(),
            next_op: 1,
            list_height: 20,
            reader_height: 20,
            utc_offset_secs: 0,
            now: 0,
            quit: false,
            back_may_quit: false,
            compose: None,
            drafts_found: Vec::new(),
            outbox: None,
            people: Vec::new(),
            superdata: crate::config::SuperdataConfig::default(),
            tracking: Default::default(),
        }
    }

    pub fn current_account(&self) -> Option<&str> {
        self.current.as_ref().map(|(a, _)| a.as_str())
    }

    pub fn current_folder_entry(&self) -> Option<&FolderEntry> {
        let (acc, name) = self.current.as_ref()?;
        self.folders
            .iter()
            .find(|f| &f.account == acc && &f.name == name)
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.cursor)
    }

    /// The list query for what is shown now; `None` when nothing can be listed (no folder yet).
    /// The Tracked filter lists the account's tracked mail across its folders.
    pub fn list_query(&self) -> Option<ListQuery> {
        let (account, folder) = self.current.clone()?;
        let filter = match self.filter {
            Filter::All => ListFilter::All,
            Filter::Unread => ListFilter::Unread,
            Filter::Flagged => ListFilter::Flagged,
            Filter::Tracked => ListFilter::Tracked,
        };
        Some(ListQuery {
            account: Some(account),
            folder: if self.search.is_some() || filter == ListFilter::Tracked {
                None
            } else {
                Some(folder)
            },
            filter,
            search: self.search.clone(),
            limit: None,
            offset: 0,
        })
    }
}
