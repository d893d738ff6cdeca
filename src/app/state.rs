//! The whole app state, held in memory: [`App`] with the message list ([`ListState`]), the
//! reader, prompts, the status line, triage in flight ([`TriageState`]) and the open views.
//! Frames are drawn from this alone; nothing here touches disk or network. The update step that
//! changes it is in `update/`.

use super::activity::TrackingUi;
use super::compose::Composer;
use super::contact::{ContactView, PeopleView};
use super::outbox_view::OutboxView;
use super::sort::ListSort;
use super::view::{Filter, FolderEntry, Mode, Pane, Reader, Row, SyncState, Undoable};
use crate::store::{ListFilter, ListQuery, MessageSummary};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The folders and the message list: what is listed, how, and where the cursor is.
#[derive(Debug, Clone)]
pub struct ListState {
    pub folders: Vec<FolderEntry>,
    pub folder_cursor: usize,
    /// (account, folder) the list shows.
    pub current: Option<(String, String)>,
    pub filter: Filter,
    pub threads: bool,
    /// The order of the rows; kept for the session, across folders.
    pub sort: ListSort,
    /// The order the rows shown are in: `sort` once a list asked for in it has arrived.
    pub arranged: ListSort,
    /// The message the cursor stays on through a re-sort, until the whole list has arrived (a
    /// first page newest first may not hold it).
    pub follow: Option<i64>,
    /// Which conversations the thread view shows collapsed, by thread root.
    pub folds: super::collapse::Folds,
    /// The applied search, if any (across the account's folders).
    pub search: Option<String>,
    /// The message selected when the search began: leaving the search returns to it.
    pub before_search: Option<i64>,
    pub rows: Vec<Row>,
    pub cursor: usize,
    /// First visible row; kept by the list pane so the cursor stays in view.
    pub offset: usize,
    pub marked: HashSet<i64>,
    pub loading: bool,
    /// Bumped by every reload: answers for an older one are dropped.
    pub generation: u64,
}

impl ListState {
    /// What the list title says of the order: nothing for newest first, "sorted by from", and
    /// "sorting by from…" until the list asked for in a new order has arrived (the rows shown
    /// are still in the old one).
    pub fn sort_note(&self) -> Option<String> {
        if self.arranged != self.sort && self.loading {
            return Some(format!("sorting by {}…", self.sort.key.name()));
        }
        self.sort.label()
    }
}

/// Triage changes: what can be undone, what the runtime has not confirmed yet, and the next
/// operation number.
#[derive(Debug, Clone)]
pub struct TriageState {
    pub undo: Vec<Undoable>,
    pub inflight: HashMap<u64, Undoable>,
    pub next_op: u64,
}

/// Rows the list and reader panes had at the last frame, for paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaneHeights {
    pub list: usize,
    pub reader: usize,
    /// The message drawn in the reader and the last scroll position that shows more of it: at
    /// that position Space goes on to the next message, as in mutt.
    pub reader_end: Option<(i64, u16)>,
    /// The columns when the terminal was too narrow for panes side by side at the last frame:
    /// one pane at a time, so the full-screen reader and the split mean nothing.
    pub narrow: Option<u16>,
}

pub struct App {
    pub focus: Pane,
    pub mode: Mode,
    pub list: ListState,
    pub reader: Option<Reader>,
    pub status: Option<String>,
    pub last_error: Option<String>,
    /// Every message and error shown, and when each went up (see `update::status`).
    pub log: super::status::MessageLog,
    pub sync: BTreeMap<String, SyncState>,
    /// Unread in-app notifications (the tracking events feature fills it).
    pub bell: u32,
    pub triage: TriageState,
    pub heights: PaneHeights,
    /// Local time offset for dates, and "now", so tests are reproducible.
    pub utc_offset_secs: i32,
    pub now: i64,
    pub quit: bool,
    /// Set while a `BackOrQuit` (q) is handled as Back: only it quits from the list.
    pub back_may_quit: bool,
    /// Space was pressed at the end of the folder's last message (this one): the next Space
    /// goes to the next folder with unread mail, as mutt's `next-unread-mailbox`.
    pub end_of_folder: Option<i64>,
    /// The list load (its generation) of the folder Space went on to: when its rows arrive,
    /// the first unread message opens in the reader, so that Space keeps reading.
    pub read_on: Option<u64>,
    /// The open composer, if any; it takes the whole main area.
    pub compose: Option<Composer>,
    /// Saved drafts found at start, newest first: (id, subject).
    pub drafts_found: Vec<(i64, String)>,
    /// The Outbox view, when open.
    pub outbox: Option<OutboxView>,
    /// Contacts list / contact / organization panes, stacked over the inbox (top = last).
    pub people: Vec<PeopleView>,
    /// `[superdata]`: the panes' Superdata section and lookups use it.
    pub superdata: crate::config::SuperdataConfig,
    /// The timeline, the activity pane and a pending jump to a mail (see `app::activity`).
    pub tracking: TrackingUi,
    /// The reader takes the whole main area.
    pub reader_full: bool,
    /// The reader shows every header of the message, as received.
    pub all_headers: bool,
    /// The list's share of the width beside the reader, in percent.
    pub list_percent: u16,
    /// Lines run on the `:` command line, oldest first (bounded, see `app::command`).
    pub command_history: Vec<String>,
    /// Tab's cycle through the completions of the `/` or `V` query, while Tab is pressed.
    pub query_cycle: Option<crate::app::view::Cycle>,
    /// The themes `:theme` can switch to, and the one in use.
    pub themes: Vec<String>,
    pub theme: String,
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
        let sent_by_me = matches!(self.list.filter, Filter::Tracked | Filter::FollowUp)
            || self.list.folders.iter().any(|f| {
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
            list: ListState {
                folders: Vec::new(),
                folder_cursor: 0,
                current: None,
                filter: Filter::All,
                threads,
                sort: ListSort::default(),
                arranged: ListSort::default(),
                follow: None,
                folds: Default::default(),
                search: None,
                before_search: None,
                rows: Vec::new(),
                cursor: 0,
                offset: 0,
                marked: HashSet::new(),
                loading: true,
                generation: 0,
            },
            reader: None,
            status: None,
            last_error: None,
            log: Default::default(),
            sync: BTreeMap::new(),
            bell: 0,
            triage: TriageState {
                undo: Vec::new(),
                inflight: HashMap::new(),
                next_op: 1,
            },
            heights: PaneHeights {
                list: 20,
                reader: 20,
                reader_end: None,
                narrow: None,
            },
            utc_offset_secs: 0,
            now: 0,
            quit: false,
            back_may_quit: false,
            end_of_folder: None,
            read_on: None,
            compose: None,
            drafts_found: Vec::new(),
            outbox: None,
            people: Vec::new(),
            superdata: crate::config::SuperdataConfig::default(),
            tracking: Default::default(),
            reader_full: false,
            all_headers: false,
            list_percent: 45,
            command_history: Vec::new(),
            query_cycle: None,
            themes: Vec::new(),
            theme: "default".into(),
        }
    }

    pub fn current_account(&self) -> Option<&str> {
        self.list.current.as_ref().map(|(a, _)| a.as_str())
    }

    pub fn current_folder_entry(&self) -> Option<&FolderEntry> {
        let (acc, name) = self.list.current.as_ref()?;
        self.list
            .folders
            .iter()
            .find(|f| &f.account == acc && &f.name == name)
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.list.rows.get(self.list.cursor)
    }

    /// The list query for what is shown now; `None` when nothing can be listed (no folder yet).
    /// The Tracked filter lists the account's tracked mail across its folders.
    pub fn list_query(&self) -> Option<ListQuery> {
        let (account, folder) = self.list.current.clone()?;
        let filter = match self.list.filter {
            Filter::All => ListFilter::All,
            Filter::Unread => ListFilter::Unread,
            Filter::Flagged => ListFilter::Flagged,
            Filter::Tracked => ListFilter::Tracked,
            Filter::FollowUp => ListFilter::FollowUp,
        };
        Some(ListQuery {
            account: Some(account),
            folder: if self.list.search.is_some()
                || matches!(filter, ListFilter::Tracked | ListFilter::FollowUp)
            {
                None
            } else {
                Some(folder)
            },
            filter,
            search: self.list.search.clone(),
            limit: None,
            offset: 0,
        })
    }

    /// True while a y/n question of a people view waits for its answer.
    pub fn people_confirming(&self) -> bool {
        matches!(
            self.people.last(),
            Some(PeopleView::Contact(ContactView {
                confirm_forget: true,
                ..
            }))
        )
    }

    /// True while the Outbox view waits for a y / n answer (keys arrive as text then).
    pub fn outbox_asking(&self) -> bool {
        self.compose.is_none() && self.outbox.as_ref().is_some_and(|v| v.asking.is_some())
    }
}
