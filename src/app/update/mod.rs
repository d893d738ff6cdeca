//! The pure state transition: `App::update(msg) -> effects`. No I/O happens here; the runtime runs
//! the returned effects and feeds their results back as messages. Triage is optimistic: the rows
//! change at once, and a failure reported later puts them back with the reason. This file holds
//! the dispatch, the list, the reader, prompts and triage; each feature's step is a file beside it.

mod activity;
mod command;
mod compose;
#[cfg(test)]
mod compose_tests;
mod folds;
#[cfg(test)]
mod folds_tests;
mod followups;
mod habits;
mod outbox;
mod people;
mod schedule;
mod snooze;
mod sorting;
#[cfg(test)]
mod sorting_tests;
mod status;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timeline_tests;
mod triage;
#[cfg(test)]
mod triage_tests;

use crate::app::action::Action;
use crate::app::compose::ComposeEffect;
use crate::app::contact::PeopleEffect;
use crate::app::fuzzy;
use crate::app::input::{expand_home, InputKey, LineInput};
use crate::app::msg::{Effect, Msg};
use crate::app::state::App;
use crate::app::tracking_urls::ReaderContent;
use crate::app::view::{
    Change, ComposeKind, ComposeRequest, Filter, FolderEntry, Mode, Pane, Picker, PickerPurpose,
    Reader, Revert, Row, RowMarks, SyncState, Undoable,
};
use crate::mail::sync::SyncEvent;
use std::path::PathBuf;

impl App {
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        // q is Back in every view; only at the top of the list does it quit. Esc, h and Left
        // never quit, so one Esc too many keeps the app open.
        let (msg, may_quit) = match msg {
            Msg::Action(Action::BackOrQuit) => (Msg::Action(Action::Back), true),
            m => (m, false),
        };
        self.back_may_quit = may_quit;
        // Only Space right after Space at the end of a folder goes on to the next folder.
        if matches!(&msg, Msg::Input(_)) || matches!(&msg, Msg::Action(a) if *a != Action::Select) {
            self.end_of_folder = None;
        }
        // Another key before the next folder's rows arrive: it is where the user goes instead.
        if matches!(&msg, Msg::Input(_) | Msg::Action(_) | Msg::Click { .. }) {
            self.read_on = None;
        }
        self.status_before(&msg);
        let before = (self.status.clone(), self.last_error.clone());
        let fx = self.update_views(msg);
        self.status_after(before);
        self.back_may_quit = false;
        fx
    }

    fn update_views(&mut self, msg: Msg) -> Vec<Effect> {
        // The terminal's mouse mode is the UI's: it switches over any view, help included.
        if let Msg::Action(Action::ToggleMouse) = msg {
            return vec![Effect::Ui(crate::app::msg::UiEffect::ToggleMouse)];
        }
        // While the command line is open every key is its text, whatever view is below.
        let msg = match self.command_update(msg) {
            Ok(effects) => return effects,
            Err(msg) => *msg,
        };
        let msg = match self.compose_update(msg) {
            Ok(effects) => return effects,
            Err(msg) => *msg,
        };
        let msg = match self.outbox_update(msg) {
            Ok(effects) => return effects,
            Err(msg) => *msg,
        };
        let msg = match self.activity_update(msg) {
            Ok(effects) => return effects,
            Err(msg) => *msg,
        };
        let msg = match self.followups_update(msg) {
            Ok(effects) => return effects,
            Err(msg) => *msg,
        };
        let msg = match self.sorting_update(msg) {
            Ok(effects) => return effects,
            Err(msg) => *msg,
        };
        match msg {
            Msg::Action(a) => self.on_action(a),
            Msg::Input(k) => self.on_input(k),
            Msg::Click { pane, row } => self.on_click(pane, row),
            Msg::Scroll { pane, lines } => {
                self.scroll(pane, lines);
                Vec::new()
            }
            Msg::FoldersLoaded(Ok(folders)) => self.on_folders(folders),
            Msg::FoldersLoaded(Err(e)) | Msg::Error(e) => {
                self.last_error = Some(e);
                Vec::new()
            }
            Msg::MessagesLoaded {
                generation,
                rows,
                complete,
            } => {
                let mut fx = self.on_messages(generation, rows, complete);
                self.follow_jump();
                fx.extend(self.read_on_in(generation));
                fx
            }
            Msg::BodyNotCached { id } => match &mut self.reader {
                Some(r) if r.id == id => {
                    r.downloading = true;
                    vec![Effect::FetchBody { id }]
                }
                _ => Vec::new(),
            },
            Msg::MessageLoaded { id, content } => {
                if let Some(r) = self.reader.as_mut().filter(|r| r.id == id) {
                    r.downloading = false;
                }
                match (&mut self.reader, content) {
                    (Some(r), Ok(c)) if r.id == id => r.content = Some(c),
                    (Some(r), Err(e)) if r.id == id => {
                        r.content = Some(ReaderContent::unreadable(&e));
                        self.last_error = Some(e);
                    }
                    _ => {}
                }
                Vec::new()
            }
            Msg::OpFinished { op, result } => self.on_op_finished(op, result),
            Msg::Sync(s) => self.on_sync(s),
            Msg::Marks(marks) => {
                let by_id: std::collections::HashMap<i64, RowMarks> = marks.into_iter().collect();
                self.list.for_each_row_mut(|r| {
                    if let Some(m) = by_id.get(&r.msg.id) {
                        r.marks.set_tracking(m);
                    }
                });
                Vec::new()
            }
            Msg::Notifications { unread } => {
                self.bell = unread;
                Vec::new()
            }
            Msg::Snoozed(result) => self.on_snoozed(result),
            Msg::Notice(text) => {
                self.status = Some(text);
                Vec::new()
            }
            Msg::QueryNote { generation, text } => {
                if generation == self.list.generation {
                    self.status = Some(text);
                }
                Vec::new()
            }
            Msg::People(m) => self.on_people_msg(m),
            // Composer answers that arrive after it closed.
            _ => Vec::new(),
        }
    }

    /// The first effects to run at start.
    pub fn start(&mut self) -> Vec<Effect> {
        // Contacts are gathered from the cache in the background; the panes read them.
        vec![
            Effect::LoadFolders,
            Effect::Compose(ComposeEffect::FindDrafts),
            Effect::People(PeopleEffect::RefreshContacts),
        ]
    }

    fn on_action(&mut self, a: Action) -> Vec<Effect> {
        if a == Action::CopyLink {
            return self.copy_link();
        }
        // The sort key again in its picker reverses the order.
        if a == Action::Sort
            && matches!(&self.mode, Mode::Picker(p) if p.purpose == PickerPurpose::Sort)
        {
            return self.sort_action();
        }
        if let Mode::Help { scroll } | Mode::Log { scroll } = &mut self.mode {
            match a {
                Action::Down => *scroll = scroll.saturating_add(1),
                Action::Up => *scroll = scroll.saturating_sub(1),
                Action::PageDown => *scroll = scroll.saturating_add(10),
                Action::PageUp => *scroll = scroll.saturating_sub(10),
                // The end as drawn (wrapped) is only known when drawing, which clamps to it.
                Action::Bottom => *scroll = u16::MAX,
                Action::Top => *scroll = 0,
                Action::Quit => return self.quit(),
                _ => self.mode = Mode::Normal,
            }
            return Vec::new();
        }
        self.status = None;
        if let Some(fx) = self.on_people_action(a) {
            return fx;
        }
        match a {
            Action::Quit => self.quit(),
            Action::ContactInfo => self.open_contact_of_message(),
            Action::Contacts => self.open_contacts(),
            Action::Organization
            | Action::SmartDataSearch
            | Action::RefreshData
            | Action::TrackingPreference
            | Action::ForgetContact => {
                self.status = Some("open a contact first (i on a message, C for contacts)".into());
                Vec::new()
            }
            Action::Help => {
                self.mode = Mode::Help { scroll: 0 };
                Vec::new()
            }
            Action::MessageLog => {
                self.toggle_log();
                Vec::new()
            }
            Action::Down => self.step(1),
            Action::Up => self.step(-1),
            Action::PageDown => self.step(self.page(self.focus != Pane::Reader)),
            Action::PageUp => self.step(-self.page(self.focus != Pane::Reader)),
            // Space pages the reader, as in mutt and less; at the end it goes to the next message.
            Action::Select if self.focus == Pane::Reader && self.reader.is_some() => {
                self.page_or_next()
            }
            Action::NextUnread => self.next_unread(),
            Action::Top => self.step(i64::MIN / 2),
            Action::Bottom => self.step(i64::MAX / 2),
            Action::Open => self.open(),
            Action::Back | Action::BackOrQuit => self.back(),
            Action::NextPane => {
                self.cycle_pane(1);
                Vec::new()
            }
            Action::PrevPane => {
                self.cycle_pane(-1);
                Vec::new()
            }
            Action::NextMessage => self.reader_step(1),
            Action::PrevMessage => self.reader_step(-1),
            Action::Select => {
                // A collapsed row is its whole conversation: every message in it is selected,
                // or unselected when all of them were.
                if let Some(ids) = self.selected_row().map(|r| r.ids().collect::<Vec<_>>()) {
                    if ids.iter().all(|id| self.list.marked.contains(id)) {
                        ids.iter().for_each(|id| {
                            self.list.marked.remove(id);
                        });
                    } else {
                        self.list.marked.extend(ids);
                    }
                    self.step(1);
                }
                Vec::new()
            }
            Action::ToggleRead => self.toggle_read(),
            Action::ToggleFlag => self.toggle_flag(),
            Action::Archive => self.move_targets(Change::Archive, "archived"),
            Action::Delete => self.delete_targets(),
            Action::Move => self.open_move_picker(),
            Action::Snooze => self.open_snooze_picker(),
            Action::Undo => self.undo(),
            Action::Compose => self.compose(ComposeKind::New),
            Action::Reply => self.compose(ComposeKind::Reply),
            Action::ReplyAll => self.compose(ComposeKind::ReplyAll),
            Action::Forward => self.compose(ComposeKind::Forward),
            // Composer keys; the composer handles them while it is open.
            Action::Send
            | Action::EditExternal
            | Action::Attach
            | Action::RemoveAttachment
            | Action::ToggleTrackOpens
            | Action::ToggleTrackLinks
            | Action::SaveDraft
            | Action::SendLater
            | Action::InsertTemplate
            | Action::DiscardDraft
            | Action::ResumeDraft
            | Action::Outbox
            | Action::RetrySend
            | Action::OutboxEdit
            | Action::OutboxConfirm
            | Action::OutboxUntrack
            | Action::Activity => Vec::new(),
            Action::Search => {
                if self.list.search.is_none() {
                    self.list.before_search = self.selected_row().map(|r| r.msg.id);
                }
                self.mode = Mode::Search {
                    input: self.list.search.clone().unwrap_or_default().into(),
                };
                Vec::new()
            }
            Action::Links => self.open_links(),
            Action::SelectPattern => self.open_select_prompt(),
            Action::Sort => self.sort_action(),
            // Asked of the UI in `update_views`, over any view.
            Action::ToggleMouse => Vec::new(),
            // Opened in `command_update` where it can be.
            Action::CommandLine => Vec::new(),
            Action::MarkAllRead => {
                let ids: Vec<i64> = self
                    .list
                    .all_rows()
                    .filter(|r| !r.msg.seen)
                    .map(|r| r.msg.id)
                    .collect();
                if ids.is_empty() {
                    self.status = Some("nothing unread here".into());
                    return Vec::new();
                }
                self.set_flags_locally(&ids, Change::Seen(true), "marked read")
                    .into_iter()
                    .collect()
            }
            Action::AllHeaders => {
                self.all_headers = !self.all_headers;
                Vec::new()
            }
            Action::ReaderFullscreen | Action::ShrinkList | Action::GrowList
                if self.heights.narrow.is_some() =>
            {
                self.no_room_for_panes(a);
                Vec::new()
            }
            Action::ReaderFullscreen => {
                if self.reader.is_some() {
                    self.reader_full = !self.reader_full;
                    self.focus = Pane::Reader;
                } else {
                    self.status = Some("open a message first".into());
                }
                Vec::new()
            }
            Action::ShrinkList | Action::GrowList => {
                let step: i32 = if a == Action::GrowList { 5 } else { -5 };
                self.list_percent = (self.list_percent as i32 + step).clamp(20, 80) as u16;
                self.reader_full = false;
                Vec::new()
            }
            Action::CopyLink => Vec::new(),
            Action::SaveAttachment => self.attachment_action(true),
            Action::OpenAttachment => self.attachment_action(false),
            Action::FilterAll => self.set_filter(Filter::All),
            Action::FilterUnread => self.set_filter(Filter::Unread),
            Action::FilterFlagged => self.set_filter(Filter::Flagged),
            Action::FilterTracked => self.set_filter(Filter::Tracked),
            // Handled in `followups_update`.
            Action::FilterFollowUp
            | Action::FollowUpSnooze
            | Action::FollowUpDone
            | Action::ToggleRemind => Vec::new(),
            Action::CollapseThread => self.fold_key(false),
            Action::CollapseAll => self.fold_key(true),
            Action::ToggleThreads => {
                self.list.threads = !self.list.threads;
                self.status = Some(if self.list.threads {
                    "conversation view".into()
                } else {
                    "flat view".into()
                });
                self.reload(false)
            }
        }
    }

    fn quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        vec![Effect::Quit]
    }

    fn page(&self, list: bool) -> i64 {
        let h = if list {
            self.heights.list
        } else {
            self.heights.reader
        };
        h.saturating_sub(1).max(1) as i64
    }

    /// Moves the cursor of the focused pane by `delta` (clamped).
    fn step(&mut self, delta: i64) -> Vec<Effect> {
        match self.focus {
            Pane::Folders => {
                self.list.folder_cursor =
                    clamp_add(self.list.folder_cursor, delta, self.list.folders.len());
            }
            Pane::List => {
                self.list.cursor = clamp_add(self.list.cursor, delta, self.list.rows.len());
            }
            Pane::Reader => {
                if let Some(r) = &mut self.reader {
                    let d = delta.clamp(-10_000, 10_000) as i32;
                    r.scroll = (r.scroll as i32 + d).clamp(0, u16::MAX as i32) as u16;
                }
            }
        }
        Vec::new()
    }

    fn scroll(&mut self, pane: Pane, lines: i32) {
        match pane {
            Pane::Reader => {
                if let Some(r) = &mut self.reader {
                    r.scroll = (r.scroll as i32 + lines).clamp(0, u16::MAX as i32) as u16;
                }
            }
            Pane::List => {
                let max = self.list.rows.len().saturating_sub(1);
                self.list.offset =
                    (self.list.offset as i64 + lines as i64).clamp(0, max as i64) as usize;
                let visible_end = self.list.offset + self.heights.list.saturating_sub(1);
                self.list.cursor = self
                    .list
                    .cursor
                    .clamp(self.list.offset, visible_end.min(max));
            }
            Pane::Folders => {
                self.list.folder_cursor = clamp_add(
                    self.list.folder_cursor,
                    lines as i64,
                    self.list.folders.len(),
                )
            }
        }
    }

    fn on_click(&mut self, pane: Pane, row: usize) -> Vec<Effect> {
        if !matches!(self.mode, Mode::Normal) {
            return Vec::new();
        }
        self.focus = pane;
        match pane {
            Pane::Folders if row < self.list.folders.len() => {
                self.list.folder_cursor = row;
                self.open()
            }
            Pane::List if self.list.offset + row < self.list.rows.len() => {
                let idx = self.list.offset + row;
                if self.list.cursor == idx {
                    return self.open();
                }
                self.list.cursor = idx;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn cycle_pane(&mut self, dir: i32) {
        let mut panes = vec![Pane::Folders, Pane::List];
        if self.reader.is_some() || self.tracking.timeline.is_some() {
            panes.push(Pane::Reader);
        }
        let i = panes.iter().position(|p| *p == self.focus).unwrap_or(1) as i32;
        let n = panes.len() as i32;
        self.focus = panes[((i + dir).rem_euclid(n)) as usize];
    }

    fn open(&mut self) -> Vec<Effect> {
        match self.focus {
            Pane::Folders => {
                let Some(f) = self.list.folders.get(self.list.folder_cursor) else {
                    return Vec::new();
                };
                self.list.current = Some((f.account.clone(), f.name.clone()));
                self.list.search = None;
                self.focus = Pane::List;
                self.reader = None;
                self.tracking.timeline = None;
                self.reload(true)
            }
            // In the Tracked filter Enter shows the mail's timeline; from there, the mail.
            Pane::List if self.list.filter == Filter::Tracked => self.open_timeline_of_selected(),
            // Enter on a collapsed conversation opens it up, as in aerc.
            Pane::List if self.selected_row().is_some_and(|r| !r.folded.is_empty()) => {
                self.fold_key(false)
            }
            Pane::List | Pane::Reader => {
                let Some(row) = self.selected_row() else {
                    return Vec::new();
                };
                let id = row.msg.id;
                self.open_message(id)
            }
        }
    }

    /// Opens message `id` in the reader (from a contact's recent conversation).
    fn open_message_by_id(&mut self, id: i64) -> Vec<Effect> {
        if let Some(i) = self.list.reveal(id) {
            self.list.cursor = i;
        }
        self.open_message(id)
    }

    fn open_message(&mut self, id: i64) -> Vec<Effect> {
        self.tracking.timeline = None;
        self.tracking.return_to = None;
        self.reader = Some(Reader {
            id,
            content: None,
            downloading: false,
            scroll: 0,
        });
        self.focus = Pane::Reader;
        let mut fx = vec![Effect::LoadMessage { id }];
        let unseen = self
            .list
            .rows
            .iter()
            .find(|r| r.msg.id == id)
            .is_some_and(|r| !r.msg.seen);
        if unseen {
            // Reading marks read, optimistically, but it is not a triage step to undo, nor news
            // for the status bar (it hid "1 message deleted (z to undo)" when a delete in the
            // reader opened the next message).
            let status = self.status.take();
            let op = self.set_flags_locally(&[id], Change::Seen(true), "read");
            self.triage.undo.pop();
            self.status = status;
            if let Some(e) = op {
                fx.push(e);
            }
        }
        fx
    }

    fn back(&mut self) -> Vec<Effect> {
        if self.reader.is_some() && self.focus == Pane::Reader {
            self.reader = None;
            self.focus = Pane::List;
            return Vec::new();
        }
        if !self.list.marked.is_empty() {
            self.list.marked.clear();
            return Vec::new();
        }
        if self.list.search.is_some() {
            return self.leave_search();
        }
        if self.focus == Pane::Folders {
            self.focus = Pane::List;
            return Vec::new();
        }
        if self.reader.is_some() {
            self.reader = None;
            return Vec::new();
        }
        if self.back_may_quit {
            return self.quit();
        }
        Vec::new()
    }

    /// Back to the folder's list, on the message selected before the search (as mutt and aerc
    /// keep your place).
    fn leave_search(&mut self) -> Vec<Effect> {
        self.list.search = None;
        let fx = self.reload(true);
        self.list.follow = self.list.before_search.take();
        fx
    }

    fn reader_step(&mut self, delta: i64) -> Vec<Effect> {
        let Some(reader) = &self.reader else {
            return self.step(delta);
        };
        let id = reader.id;
        let idx = self
            .list
            .rows
            .iter()
            .position(|r| r.msg.id == id)
            .unwrap_or(self.list.cursor);
        let next = clamp_add(idx, delta, self.list.rows.len());
        if next == idx {
            return Vec::new();
        }
        self.list.cursor = next;
        let id = self.list.rows[next].msg.id;
        self.open_message(id)
    }

    /// The first unread row below the cursor: selected, and opened when the reader is open.
    fn next_unread(&mut self) -> Vec<Effect> {
        let from = self.list.cursor + 1;
        let Some(i) = self.list.rows[from.min(self.list.rows.len())..]
            .iter()
            .position(Row::any_unread)
            .map(|i| i + from)
        else {
            return self.next_unread_from_top();
        };
        self.go_to_unread(i)
    }

    fn set_filter(&mut self, f: Filter) -> Vec<Effect> {
        self.list.filter = f;
        self.reload(true)
    }

    /// Asks for the list again; `reset` puts the cursor on top (a new folder/filter/search).
    pub fn reload(&mut self, reset: bool) -> Vec<Effect> {
        self.list.generation += 1;
        if reset {
            self.list.cursor = 0;
            self.list.offset = 0;
            self.list.marked.clear();
            self.list.follow = None;
        }
        match self.list_query() {
            Some(query) => {
                self.list.loading = true;
                // Another folder in a sort other than newest first: the old rows would pass for
                // the new folder's while it is read whole (see `runtime::list`). Search results
                // stay while the next query runs, as they do in any order.
                if reset && !self.list.sort.is_default() && self.list.search.is_none() {
                    self.list.rows.clear();
                }
                vec![Effect::LoadMessages {
                    generation: self.list.generation,
                    query,
                    threads: self.list.threads,
                    sort: self.list.sort,
                }]
            }
            None => {
                self.list.loading = false;
                self.list.rows.clear();
                Vec::new()
            }
        }
    }

    fn on_folders(&mut self, folders: Vec<FolderEntry>) -> Vec<Effect> {
        let keep = self.list.current.clone();
        self.list.folders = folders;
        let still_there = keep.as_ref().is_some_and(|(a, n)| {
            self.list
                .folders
                .iter()
                .any(|f| &f.account == a && &f.name == n)
        });
        if still_there {
            if let Some((a, n)) = &keep {
                if let Some(i) = self
                    .list
                    .folders
                    .iter()
                    .position(|f| &f.account == a && &f.name == n)
                {
                    self.list.folder_cursor = i;
                }
            }
            return Vec::new();
        }
        let first = self
            .list
            .folders
            .iter()
            .position(|f| {
                f.role.as_deref() == Some("inbox") || f.name.eq_ignore_ascii_case("INBOX")
            })
            .or(if self.list.folders.is_empty() {
                None
            } else {
                Some(0)
            });
        match first {
            Some(i) => {
                self.list.folder_cursor = i;
                let f = &self.list.folders[i];
                self.list.current = Some((f.account.clone(), f.name.clone()));
                self.reload(true)
            }
            None => {
                self.list.loading = false;
                Vec::new()
            }
        }
    }

    fn on_messages(
        &mut self,
        generation: u64,
        rows: Result<Vec<Row>, String>,
        complete: bool,
    ) -> Vec<Effect> {
        if generation != self.list.generation {
            return Vec::new(); // a newer folder/search/filter replaced this one
        }
        match rows {
            Ok(rows) => {
                let id = self
                    .list
                    .follow
                    .or_else(|| self.selected_row().map(|r| r.msg.id));
                let marks: std::collections::HashMap<i64, RowMarks> = self
                    .list
                    .all_rows()
                    .filter(|r| r.marks != RowMarks::default())
                    .map(|r| (r.msg.id, r.marks.clone()))
                    .collect();
                self.list.rows = rows;
                // Marks read with the rows are fresher than those held; others are kept.
                for r in &mut self.list.rows {
                    if let Some(mk) = marks.get(&r.msg.id).filter(|_| !r.marks.tracked) {
                        r.marks.set_tracking(mk);
                    }
                }
                // Rows hidden by an optimistic move still in flight stay hidden.
                let hidden: std::collections::HashSet<i64> = self
                    .triage
                    .inflight
                    .values()
                    .filter_map(|u| match &u.revert {
                        Revert::Moved { rows, .. } => Some(rows.iter().map(|(_, r)| r.msg.id)),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                if !hidden.is_empty() {
                    self.list.rows.retain(|r| !hidden.contains(&r.msg.id));
                    self.list.rehead();
                }
                if self.list.threads {
                    crate::app::collapse::apply(&mut self.list.rows, &self.list.folds);
                }
                self.cursor_to(id);
                self.list.arranged = self.list.sort;
                if complete {
                    self.list.loading = false;
                    self.list.follow = None;
                }
            }
            Err(e) => {
                self.list.loading = false;
                self.last_error = Some(e);
            }
        }
        Vec::new()
    }

    fn cursor_to(&mut self, id: Option<i64>) {
        if let Some(i) = id.and_then(|id| self.list.position_of(id)) {
            self.list.cursor = i;
        }
        self.list.cursor = self.list.cursor.min(self.list.rows.len().saturating_sub(1));
    }

    /// The messages a triage key acts on: the selection, else the one under the cursor (or open).
    /// A collapsed conversation under the cursor counts as all its messages.
    pub(super) fn targets(&self) -> Vec<i64> {
        if !self.list.marked.is_empty() {
            // Exactly the messages selected, inside collapsed conversations too (selecting a
            // collapsed row selects each of its messages).
            let marked = &self.list.marked;
            return self
                .list
                .all_rows()
                .map(|r| r.msg.id)
                .filter(|id| marked.contains(id))
                .collect();
        }
        if self.focus == Pane::Reader {
            if let Some(r) = &self.reader {
                return vec![r.id];
            }
        }
        self.selected_row()
            .map(|r| r.ids().collect())
            .unwrap_or_default()
    }

    fn toggle_read(&mut self) -> Vec<Effect> {
        self.toggle(|m| m.seen, Change::Seen, ["marked read", "marked unread"])
    }

    fn toggle_flag(&mut self) -> Vec<Effect> {
        self.toggle(|m| m.flagged, Change::Flagged, ["flagged", "unflagged"])
    }

    /// Sets a flag on the targets, or clears it when every target has it already.
    fn toggle(
        &mut self,
        has: impl Fn(&crate::store::MessageSummary) -> bool,
        change: impl Fn(bool) -> Change,
        labels: [&str; 2],
    ) -> Vec<Effect> {
        let ids = self.targets();
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        let all = self
            .list
            .all_rows()
            .filter(|r| wanted.contains(&r.msg.id))
            .all(|r| has(&r.msg));
        let fx = self.set_flags_locally(&ids, change(!all), labels[all as usize]);
        self.list.marked.clear();
        fx.into_iter().collect()
    }

    /// Changes flags in the rows now, records how to undo, and returns the effect for the store
    /// and server.
    fn set_flags_locally(&mut self, ids: &[i64], change: Change, label: &str) -> Option<Effect> {
        let (seen, flagged) = match change {
            Change::Seen(v) => (Some(v), None),
            Change::Flagged(v) => (None, Some(v)),
            _ => (None, None),
        };
        if ids.is_empty() {
            return None;
        }
        let mut before = Vec::new();
        let mut flipped = Vec::new();
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        self.list.for_each_row_mut(|r| {
            if !wanted.contains(&r.msg.id) {
                return;
            }
            before.push((r.msg.id, r.msg.seen, r.msg.flagged));
            if let Some(s) = seen {
                if r.msg.seen != s {
                    flipped.push((folder_key(&r.msg), if s { -1 } else { 1 }));
                }
                r.msg.seen = s;
            }
            if let Some(f) = flagged {
                r.msg.flagged = f;
            }
        });
        self.adjust_unread(flipped);
        let op = self.new_op();
        let u = Undoable {
            op,
            label: format!("{} {}", count_label(ids.len()), label),
            revert: Revert::Flags { before },
        };
        self.status = Some(u.label.clone());
        self.triage.inflight.insert(op, u.clone());
        self.triage.undo.push(u);
        Some(Effect::Triage {
            op,
            ids: ids.to_vec(),
            change,
        })
    }

    /// Shifts the unread count of each message's own folder (a search lists several folders)
    /// by its delta, until the store's counts arrive after the change (`on_op_finished`).
    fn adjust_unread(&mut self, changes: Vec<(FolderKey, i64)>) {
        let mut deltas: std::collections::HashMap<FolderKey, i64> = Default::default();
        for (key, d) in changes {
            *deltas.entry(key).or_default() += d;
        }
        for f in &mut self.list.folders {
            if let Some(d) = deltas.get(&(f.account.clone(), f.name.clone())) {
                f.unread = (f.unread as i64 + d).max(0) as u64;
            }
        }
    }

    fn new_op(&mut self) -> u64 {
        let op = self.triage.next_op;
        self.triage.next_op += 1;
        op
    }

    fn move_targets(&mut self, dest: Change, label: &str) -> Vec<Effect> {
        let ids = self.targets();
        self.move_ids(ids, dest, label)
    }

    pub(super) fn move_ids(&mut self, ids: Vec<i64>, dest: Change, label: &str) -> Vec<Effect> {
        let Some((account, folder)) = self.list.current.clone() else {
            return Vec::new();
        };
        if ids.is_empty() {
            return Vec::new();
        }
        if let Change::Move(f) = &dest {
            if *f == folder && self.list.search.is_none() {
                self.status = Some(format!("already in {f}"));
                return Vec::new();
            }
        }
        let reader_id = self.reader.as_ref().map(|r| r.id);
        let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
        self.list.unfold_partial(&wanted);
        let mut removed = Vec::new();
        let mut kept = Vec::with_capacity(self.list.rows.len());
        for (i, r) in std::mem::take(&mut self.list.rows).into_iter().enumerate() {
            if wanted.contains(&r.msg.id) {
                removed.push((i, r));
            } else {
                kept.push(r);
            }
        }
        self.list.rows = kept;
        self.adjust_unread(unread_of(removed.iter().map(|(_, r)| r), -1));
        self.list.rehead();
        self.list.marked.clear();
        self.list.cursor = self.list.cursor.min(self.list.rows.len().saturating_sub(1));
        let op = self.new_op();
        let u = Undoable {
            op,
            label: format!("{} {}", count_label(ids.len()), label),
            revert: Revert::Moved {
                account: account.clone(),
                folder,
                rows: removed,
            },
        };
        self.status = Some(format!("{} (z to undo)", u.label));
        self.triage.inflight.insert(op, u.clone());
        self.triage.undo.push(u);
        let mut fx = vec![Effect::Triage {
            op,
            ids: ids.clone(),
            change: dest,
        }];
        // Reading on: the reader moves to the message that took the removed one's place.
        if reader_id.is_some_and(|r| ids.contains(&r)) {
            self.reader = None;
            if self.focus == Pane::Reader {
                match self.selected_row().map(|r| r.msg.id) {
                    Some(next) => fx.extend(self.open_message(next)),
                    None => self.focus = Pane::List,
                }
            }
        }
        fx
    }

    fn undo(&mut self) -> Vec<Effect> {
        let Some(u) = self.triage.undo.pop() else {
            self.status = Some("nothing to undo".into());
            return Vec::new();
        };
        self.triage.inflight.remove(&u.op);
        let op = self.new_op();
        self.status = Some(format!("undone: {}", u.label));
        self.revert_locally(u.revert);
        let mut fx = vec![Effect::Undo { op, of: u.op }];
        // A change made while reading moved the reader on; its undo puts the cursor back on the
        // message it took, and the reader goes back with it.
        let back = self.selected_row().map(|r| r.msg.id);
        if let (Some(shown), Some(back)) = (self.reader.as_ref().map(|r| r.id), back) {
            if shown != back && self.focus == Pane::Reader {
                fx.extend(self.open_message(back));
            }
        }
        fx
    }

    /// Puts the list back as it was before a change (for an undo, or a change the server refused).
    fn revert_locally(&mut self, revert: Revert) {
        match revert {
            Revert::Flags { before } => self.apply_flag_revert(&before),
            Revert::Moved {
                account,
                folder,
                rows,
            } => self.restore_rows(&account, &folder, rows),
        }
    }

    fn apply_flag_revert(&mut self, before: &[(i64, bool, bool)]) {
        let mut flipped = Vec::new();
        let before: std::collections::HashMap<i64, (bool, bool)> =
            before.iter().map(|&(id, s, f)| (id, (s, f))).collect();
        self.list.for_each_row_mut(|r| {
            if let Some(&(seen, flagged)) = before.get(&r.msg.id) {
                if r.msg.seen != seen {
                    flipped.push((folder_key(&r.msg), if seen { -1 } else { 1 }));
                }
                r.msg.seen = seen;
                r.msg.flagged = flagged;
            }
        });
        self.adjust_unread(flipped);
    }

    fn restore_rows(&mut self, account: &str, folder: &str, rows: Vec<(usize, Row)>) {
        let here = self
            .list
            .current
            .as_ref()
            .is_some_and(|(a, f)| a == account && (f == folder || self.list.search.is_some()));
        if !here {
            return;
        }
        let first = rows.first().map(|(i, _)| *i);
        self.adjust_unread(unread_of(rows.iter().map(|(_, r)| r), 1));
        for (i, r) in rows {
            let at = i.min(self.list.rows.len());
            self.list.rows.insert(at, r);
        }
        if let Some(i) = first {
            self.list.cursor = i.min(self.list.rows.len().saturating_sub(1));
        }
        // A message put back into a conversation collapsed since goes back inside it.
        if self.list.threads {
            self.list.refold();
        }
        self.list.rehead();
    }

    /// Every change, undo and rollback ends with the folder counts read from the store: only it
    /// knows what a move added to Archive or Junk, or an undo gave back to a folder not shown.
    fn on_op_finished(&mut self, op: u64, result: Result<(), String>) -> Vec<Effect> {
        let mut fx = vec![Effect::LoadFolders];
        let Some(u) = self.triage.inflight.remove(&op) else {
            if let Err(e) = result {
                // An undo that did not take: show the store's truth again.
                self.last_error = Some(format!("undo failed: {e}"));
                fx.extend(self.reload(false));
            } else if !self.list.loading && self.list.current.is_some() {
                // An undo of a change made in another folder (or search) brings mail back to, or
                // takes it from, the list shown: it is read again.
                fx.extend(self.reload(false));
            }
            return fx;
        };
        let Err(reason) = result else {
            return fx;
        };
        // The change did not take: put it back where the user can see it, and say why.
        self.triage.undo.retain(|x| x.op != op);
        self.revert_locally(u.revert);
        self.status = None;
        self.last_error = Some(format!("{} failed, rolled back: {reason}", u.label));
        fx
    }

    fn open_move_picker(&mut self) -> Vec<Effect> {
        let ids = self.targets();
        if ids.is_empty() {
            return Vec::new();
        }
        let Some(account) = self.current_account().map(str::to_string) else {
            return Vec::new();
        };
        let items: Vec<String> = self
            .list
            .folders
            .iter()
            .filter(|f| f.account == account)
            // As the folder pane shows them; a move resolves shown names back to wire names.
            .map(|f| crate::mail::mailbox_name::display(&f.name).into_owned())
            .collect();
        self.mode = Mode::Picker(Picker {
            title: format!("Move {} to", count_label(ids.len())),
            purpose: PickerPurpose::Move { ids },
            matches: (0..items.len()).collect(),
            items,
            input: LineInput::default(),
            cursor: 0,
        });
        Vec::new()
    }

    /// The file name of attachment `index` of the message open in the reader.
    fn attachment_filename(&self, id: i64, index: usize) -> Option<String> {
        let content = self
            .reader
            .as_ref()
            .filter(|r| r.id == id)?
            .content
            .as_ref()?;
        let a = content.attachments.iter().find(|a| a.index == index)?;
        Some(a.filename.clone())
    }

    fn attachment_action(&mut self, save: bool) -> Vec<Effect> {
        let Some(reader) = &self.reader else {
            self.status = Some("open a message to use its attachments".into());
            return Vec::new();
        };
        let Some(content) = &reader.content else {
            return Vec::new();
        };
        let id = reader.id;
        if content.attachments.is_empty() {
            self.status = Some("this message has no attachments".into());
            return Vec::new();
        }
        if content.attachments.len() == 1 {
            let a = &content.attachments[0];
            return self.pick_attachment(id, a.index, &a.filename.clone(), save);
        }
        let items: Vec<String> = content
            .attachments
            .iter()
            .map(|a| format!("{} ({})", a.filename, a.mime_type))
            .collect();
        self.mode = Mode::Picker(Picker {
            title: if save {
                "Save attachment".into()
            } else {
                "Open attachment".into()
            },
            purpose: if save {
                PickerPurpose::SaveAttachment { id }
            } else {
                PickerPurpose::OpenAttachment { id }
            },
            matches: (0..items.len()).collect(),
            items,
            input: LineInput::default(),
            cursor: 0,
        });
        Vec::new()
    }

    /// The links of the message in the reader, numbered, in a picker (typing filters them).
    fn open_links(&mut self) -> Vec<Effect> {
        let Some(content) = self.reader.as_ref().and_then(|r| r.content.as_ref()) else {
            self.status = Some("open a message to list its links".into());
            return Vec::new();
        };
        let links = crate::app::links::message_links(content);
        if links.is_empty() {
            self.status = Some("this message has no links".into());
            return Vec::new();
        }
        let items: Vec<String> = links
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let via = if l.tracked {
                    "  (via your tracker)"
                } else {
                    ""
                };
                format!("[{}] {}{via}", i + 1, l.target)
            })
            .collect();
        self.mode = Mode::Picker(Picker {
            title: format!("Links ({}): Enter opens, C-y copies", links.len()),
            purpose: PickerPurpose::Link {
                urls: links.into_iter().map(|l| l.target).collect(),
            },
            matches: (0..items.len()).collect(),
            items,
            input: LineInput::default(),
            cursor: 0,
        });
        Vec::new()
    }

    /// Copies the link selected in the links list; the list stays open.
    fn copy_link(&mut self) -> Vec<Effect> {
        let Mode::Picker(p) = &self.mode else {
            return Vec::new();
        };
        let PickerPurpose::Link { urls } = &p.purpose else {
            return Vec::new();
        };
        let Some(url) = p.matches.get(p.cursor).and_then(|&i| urls.get(i)) else {
            return Vec::new();
        };
        // What the bar says comes with the outcome: the copy may find no clipboard.
        vec![Effect::Copy { text: url.clone() }]
    }

    fn pick_attachment(
        &mut self,
        id: i64,
        index: usize,
        filename: &str,
        save: bool,
    ) -> Vec<Effect> {
        if save {
            let dir = default_download_dir();
            self.mode = Mode::SavePrompt {
                id,
                index,
                input: dir
                    .join(safe_file_name(filename))
                    .display()
                    .to_string()
                    .into(),
            };
            Vec::new()
        } else {
            self.mode = Mode::Normal;
            self.status = Some(format!("opening {filename}…"));
            vec![Effect::OpenAttachment { id, index }]
        }
    }

    fn compose(&mut self, kind: ComposeKind) -> Vec<Effect> {
        let source = match kind {
            ComposeKind::New => None,
            _ => match self.targets().first() {
                Some(id) => Some(*id),
                None => {
                    self.status = Some("select a message first".into());
                    return Vec::new();
                }
            },
        };
        vec![Effect::Compose(ComposeEffect::Open(ComposeRequest {
            kind,
            account: self.current_account().map(str::to_string),
            source,
        }))]
    }

    fn on_input(&mut self, key: InputKey) -> Vec<Effect> {
        if self.people_confirming() {
            return self.on_people_input(key);
        }
        let tab = matches!(key, InputKey::Tab | InputKey::BackTab);
        if !tab {
            self.query_cycle = None;
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            // The command line takes its keys in `command_update`.
            Mode::Normal | Mode::Help { .. } | Mode::Log { .. } | Mode::Command(_) => Vec::new(),
            Mode::ConfirmDelete { ids, .. } => self.on_confirm_delete(ids, key),
            Mode::SelectPrompt { input } => self.on_select_prompt(input, key),
            Mode::Search { mut input } => match key {
                InputKey::Esc => {
                    self.drop_query_note();
                    if self.list.search.is_some() {
                        self.leave_search()
                    } else {
                        Vec::new()
                    }
                }
                InputKey::Enter | InputKey::Down => Vec::new(),
                InputKey::Up => {
                    self.mode = Mode::Search { input };
                    Vec::new()
                }
                _ => {
                    let before = input.to_string();
                    if tab {
                        self.tab_query(&mut input, key == InputKey::Tab);
                    } else {
                        input.edit(key);
                    }
                    if *input == *before {
                        self.mode = Mode::Search { input };
                        return Vec::new();
                    }
                    self.drop_query_note();
                    let q = input.trim().to_string();
                    self.list.search = (!q.is_empty()).then_some(q);
                    self.mode = Mode::Search { input };
                    self.reload(true)
                }
            },
            Mode::SavePrompt {
                id,
                index,
                mut input,
            } => match key {
                InputKey::Esc => Vec::new(),
                InputKey::Enter => {
                    let mut path = expand_home(input.trim());
                    // A folder (`…/`): the file goes in it under its own name, as in mutt.
                    if input.trim().ends_with('/') {
                        if let Some(name) = self.attachment_filename(id, index) {
                            path.push(safe_file_name(&name));
                        }
                    }
                    self.status = Some(format!("saving to {}…", path.display()));
                    vec![Effect::SaveAttachment { id, index, path }]
                }
                _ => {
                    input.edit(key);
                    self.mode = Mode::SavePrompt { id, index, input };
                    Vec::new()
                }
            },
            Mode::Picker(mut p) => match key {
                InputKey::Esc => Vec::new(),
                InputKey::Enter if matches!(p.purpose, PickerPurpose::Snooze { .. }) => {
                    let PickerPurpose::Snooze { ids } = p.purpose.clone() else {
                        return Vec::new();
                    };
                    self.pick_snooze(p, ids)
                }
                InputKey::Enter => {
                    let Some(&item) = p.matches.get(p.cursor) else {
                        self.mode = Mode::Picker(p);
                        return Vec::new();
                    };
                    match p.purpose {
                        PickerPurpose::Move { ids } => {
                            let dest = p.items[item].clone();
                            let label = format!("moved to {dest}");
                            self.move_ids(ids, Change::Move(dest), &label)
                        }
                        // Handled above, with the typed text.
                        PickerPurpose::Snooze { .. } => Vec::new(),
                        // Chosen in `followups_update`, which sees the picker first.
                        PickerPurpose::SnoozeReminder { .. } => Vec::new(),
                        PickerPurpose::Sort => self.pick_sort(item),
                        PickerPurpose::Link { urls } => {
                            let url = urls[item].clone();
                            self.status = Some(format!("opening {url}"));
                            vec![Effect::OpenUrl { url }]
                        }
                        PickerPurpose::SaveAttachment { id }
                        | PickerPurpose::OpenAttachment { id } => {
                            let save = matches!(p.purpose, PickerPurpose::SaveAttachment { .. });
                            let att = self
                                .reader
                                .as_ref()
                                .and_then(|r| r.content.as_ref())
                                .and_then(|c| c.attachments.get(item))
                                .map(|a| (a.index, a.filename.clone()));
                            match att {
                                Some((index, name)) => self.pick_attachment(id, index, &name, save),
                                None => Vec::new(),
                            }
                        }
                    }
                }
                InputKey::Up | InputKey::BackTab => {
                    p.cursor = p.cursor.saturating_sub(1);
                    self.mode = Mode::Picker(p);
                    Vec::new()
                }
                InputKey::Down | InputKey::Tab => {
                    p.cursor = (p.cursor + 1).min(p.matches.len().saturating_sub(1));
                    self.mode = Mode::Picker(p);
                    Vec::new()
                }
                _ => {
                    let before = p.input.to_string();
                    p.input.edit(key);
                    if *p.input == *before {
                        self.mode = Mode::Picker(p);
                        return Vec::new();
                    }
                    p.matches = fuzzy::filter(&p.input, &p.items);
                    p.cursor = 0;
                    self.mode = Mode::Picker(p);
                    Vec::new()
                }
            },
        }
    }

    fn on_sync(&mut self, s: SyncEvent) -> Vec<Effect> {
        let bodies = matches!(s, SyncEvent::BodyProgress { .. });
        match s {
            SyncEvent::Progress {
                account,
                folder,
                done,
                total,
            }
            | SyncEvent::BodyProgress {
                account,
                folder,
                done,
                total,
            } => {
                self.sync.insert(
                    account,
                    SyncState {
                        folder,
                        bodies,
                        done,
                        total,
                        running: true,
                    },
                );
                Vec::new()
            }
            SyncEvent::FolderChanged { account, folder } => {
                let mut fx = vec![Effect::LoadFolders];
                let shown = self.list.current.as_ref().is_some_and(|(a, f)| {
                    *a == account && (*f == folder || self.list.search.is_some())
                });
                if shown {
                    fx.extend(self.reload(false));
                }
                fx
            }
            SyncEvent::Finished { account } => {
                if let Some(st) = self.sync.get_mut(&account) {
                    st.running = false;
                }
                vec![
                    Effect::LoadFolders,
                    Effect::People(PeopleEffect::RefreshContacts),
                ]
            }
            SyncEvent::OpRolledBack {
                account, reason, ..
            } => {
                self.last_error = Some(format!(
                    "{account}: the server refused a change, rolled back: {reason}"
                ));
                let mut fx = vec![Effect::LoadFolders];
                fx.extend(self.reload(false));
                fx
            }
            SyncEvent::Error { account, message } => {
                if let Some(st) = self.sync.get_mut(&account) {
                    st.running = false;
                }
                self.last_error = Some(format!("{account}: {message}"));
                Vec::new()
            }
        }
    }
}

/// A folder's identity in the folder pane: (account, folder name).
type FolderKey = (String, String);

fn folder_key(m: &crate::store::MessageSummary) -> FolderKey {
    (m.account.clone(), m.folder.clone())
}

/// The folder of each unread message of `rows` (those folded into them too) with `sign`, for
/// `adjust_unread`.
fn unread_of<'r>(rows: impl Iterator<Item = &'r Row>, sign: i64) -> Vec<(FolderKey, i64)> {
    rows.flat_map(|r| std::iter::once(r).chain(&r.folded))
        .map(|r| &r.msg)
        .filter(|m| !m.seen)
        .map(|m| (folder_key(m), sign))
        .collect()
}

fn clamp_add(i: usize, delta: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (i as i64).saturating_add(delta).clamp(0, len as i64 - 1) as usize
}

pub(super) fn count_label(n: usize) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

fn default_download_dir() -> PathBuf {
    directories::UserDirs::new()
        .and_then(|u| u.download_dir().map(|d| d.to_path_buf()))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("Downloads")))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A file name from a mail must not climb out of the chosen directory.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}
