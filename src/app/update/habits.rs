//! Reading habits from mutt: Space pages the reader and at the end of a message goes on to the
//! next one; `]` (next unread) at the bottom wraps around to the first unread above; `F`, `<`, `>`
//! say so when the terminal is too narrow for them.

use crate::app::action::Action;
use crate::app::msg::Effect;
use crate::app::state::App;
use crate::app::view::{FolderEntry, Pane, Row};

impl App {
    /// Space in the reader: a page down, or the next message when the end is already shown.
    pub(super) fn page_or_next(&mut self) -> Vec<Effect> {
        let at_end = match (&self.reader, self.heights.reader_end) {
            (Some(r), Some((id, last))) => r.id == id && r.content.is_some() && r.scroll >= last,
            _ => false,
        };
        if !at_end {
            let fx = self.step(self.page(false));
            // As the reader draws it: no further than the last page.
            if let (Some(r), Some((id, last))) = (&mut self.reader, self.heights.reader_end) {
                if r.id == id {
                    r.scroll = r.scroll.min(last);
                }
            }
            return fx;
        }
        let fx = self.reader_step(1);
        if !fx.is_empty() {
            return fx;
        }
        // Search results span folders: their end is not the folder's, and Space stays in them.
        if self.list.search.is_some() {
            self.status = Some("end of the search results".into());
            return Vec::new();
        }
        let here = self.reader.as_ref().map(|r| r.id);
        if here.is_some() && self.end_of_folder == here {
            self.end_of_folder = None;
            return self.next_unread_folder();
        }
        self.end_of_folder = here;
        self.status =
            Some("end of folder — press Space again for the next folder with unread mail".into());
        Vec::new()
    }

    /// The next folder after this one (in the folder pane's order, round to the top) with
    /// unread mail, opened as Enter in the folder pane would, then its first unread message in
    /// the reader once the rows are in (see `read_on_in`), as mutt's pager does. Trash, Junk and an "All Mail"
    /// that holds copies of the rest are passed over, as mutt's mailboxes list leaves them out.
    fn next_unread_folder(&mut self) -> Vec<Effect> {
        let folders = &self.list.folders;
        let here = self.list.current.as_ref().and_then(|(account, name)| {
            folders
                .iter()
                .position(|f| &f.account == account && &f.name == name)
        });
        let start = here.map_or(0, |i| i + 1);
        let skipped = |f: &FolderEntry| matches!(f.role.as_deref(), Some("trash" | "junk" | "all"));
        let next = (0..folders.len())
            .map(|k| (start + k) % folders.len())
            .find(|&i| Some(i) != here && folders[i].unread > 0 && !skipped(&folders[i]));
        let Some(i) = next else {
            self.status = Some("end of folder — no other folder has unread mail".into());
            return Vec::new();
        };
        let f = &folders[i];
        let note = format!(
            "{}: {} unread",
            crate::mail::mailbox_name::display(&f.name),
            f.unread
        );
        self.list.folder_cursor = i;
        self.focus = Pane::Folders;
        let fx = self.open();
        self.read_on = self.list.loading.then_some(self.list.generation);
        self.status = Some(note);
        fx
    }

    /// Rows of list load `generation` are in: when Space went on to this folder, its first
    /// unread message opens in the reader. Rows come top first, so the wait goes on until one
    /// is unread or the load is complete.
    pub(super) fn read_on_in(&mut self, generation: u64) -> Vec<Effect> {
        if self.read_on != Some(generation) || generation != self.list.generation {
            return Vec::new();
        }
        let Some(i) = self.list.rows.iter().position(Row::any_unread) else {
            if !self.list.loading {
                self.read_on = None;
            }
            return Vec::new();
        };
        self.read_on = None;
        let id = self.cursor_to_unread(i);
        self.open_message(id)
    }

    /// `F`, `<`, `>` on a terminal that shows one pane at a time: nothing changes (a full-screen
    /// reader or a split set now would surprise at the next resize), and the note says why.
    pub(super) fn no_room_for_panes(&mut self, a: Action) {
        let Some(columns) = self.heights.narrow else {
            return;
        };
        // Short: on a narrow terminal the status bar has half a line for it.
        self.status = Some(if a == Action::ReaderFullscreen {
            format!("full screen already at {columns} columns")
        } else {
            format!("no room for the list at {columns} columns")
        });
    }

    /// No unread mail below the cursor: the first above it, with mutt's note, or none at all.
    pub(super) fn next_unread_from_top(&mut self) -> Vec<Effect> {
        let above = self.list.cursor.min(self.list.rows.len());
        let Some(i) = self.list.rows[..above].iter().position(Row::any_unread) else {
            self.status = Some("no unread message".into());
            return Vec::new();
        };
        self.status = Some("search wrapped to top".into());
        self.go_to_unread(i)
    }

    /// Selects unread row `i` (opening it in the reader when that is open).
    pub(super) fn go_to_unread(&mut self, i: usize) -> Vec<Effect> {
        let id = self.cursor_to_unread(i);
        if self.reader.is_some() {
            return self.open_message(id);
        }
        Vec::new()
    }

    /// Puts the cursor on unread row `i`, or inside a collapsed conversation on its unread
    /// message (the conversation opens up); the message's id.
    fn cursor_to_unread(&mut self, i: usize) -> i64 {
        self.list.expand_at(i);
        let i = self.list.rows[i..]
            .iter()
            .position(|r| !r.msg.seen)
            .map_or(i, |j| i + j);
        self.list.cursor = i;
        self.list.rows[i].msg.id
    }
}

#[cfg(test)]
mod tests {
    use crate::app::action::Action;
    use crate::app::msg::{Effect, Msg};
    use crate::app::state::App;
    use crate::app::view::Row;

    /// Rows 1, 2, … unread as `unread` says.
    fn rows(unread: &[bool]) -> Vec<Row> {
        unread
            .iter()
            .enumerate()
            .map(|(i, &u)| {
                let mut r = Row::new(crate::app::view::test_summary(
                    i as i64 + 1,
                    i as i64 + 1,
                    "m",
                ));
                r.msg.seen = !u;
                r
            })
            .collect()
    }

    fn app_with(unread: &[bool]) -> App {
        let mut app = App::new(false);
        app.list.current = Some(("w".into(), "INBOX".into()));
        app.list.generation = 1;
        app.update(Msg::MessagesLoaded {
            generation: 1,
            rows: Ok(rows(unread)),
            complete: true,
        });
        app
    }

    #[test]
    fn next_unread_at_the_bottom_wraps_to_the_first_unread_above() {
        let mut app = app_with(&[false, true, false, false]);
        app.list.cursor = 3;
        app.update(Msg::Action(Action::NextUnread));
        assert_eq!(app.list.cursor, 1);
        assert_eq!(app.status.as_deref(), Some("search wrapped to top"));
        let mut app = app_with(&[false, false, false]);
        app.list.cursor = 2;
        app.update(Msg::Action(Action::NextUnread));
        assert_eq!(app.list.cursor, 2);
        assert_eq!(app.status.as_deref(), Some("no unread message"));
    }

    #[test]
    fn space_at_the_end_of_a_message_opens_the_next_one() {
        let mut app = app_with(&[false, false]);
        app.update(Msg::Action(Action::Open));
        let id = app.reader.as_ref().map(|r| r.id).unwrap();
        app.reader.as_mut().unwrap().content = Some(Default::default());
        // Ten lines more than the pane shows: Space pages first.
        app.heights.reader_end = Some((id, 10));
        app.update(Msg::Action(Action::Select));
        assert_eq!(
            app.reader.as_ref().map(|r| (r.id, r.scroll)),
            Some((id, 10))
        );
        let fx = app.update(Msg::Action(Action::Select));
        let next = app.list.rows[1].msg.id;
        assert_eq!(app.reader.as_ref().map(|r| r.id), Some(next));
        assert!(fx
            .iter()
            .any(|e| matches!(e, Effect::LoadMessage { id } if *id == next)));
        // The new message is not drawn yet: Space pages it rather than skipping it.
        app.reader.as_mut().unwrap().content = Some(Default::default());
        app.update(Msg::Action(Action::Select));
        assert_eq!(app.reader.as_ref().map(|r| r.id), Some(next));
    }

    #[test]
    fn space_at_the_end_of_the_folder_says_so_then_goes_to_the_next_folder_with_unread_mail() {
        use crate::app::view::{FolderEntry, Pane};
        let folder = |name: &str, role: Option<&str>, unread| FolderEntry {
            account: "w".into(),
            name: name.into(),
            role: role.map(str::to_string),
            total: 9,
            unread,
        };
        let mut app = app_with(&[false, false]);
        app.list.folders = vec![
            folder("Archive", Some("archive"), 2),
            folder("INBOX", None, 0),
            folder("Trash", Some("trash"), 4),
            folder("Lists", None, 0),
        ];
        app.list.cursor = 1;
        app.update(Msg::Action(Action::Open));
        let id = app.reader.as_ref().map(|r| r.id).unwrap();
        app.reader.as_mut().unwrap().content = Some(Default::default());
        app.heights.reader_end = Some((id, 0));
        assert!(app.update(Msg::Action(Action::Select)).is_empty());
        assert_eq!(
            app.status.as_deref(),
            Some("end of folder — press Space again for the next folder with unread mail")
        );
        // Another key in between: Space says it again rather than leaving.
        app.update(Msg::Action(Action::Down));
        app.update(Msg::Action(Action::Select));
        assert_eq!(app.list.current, Some(("w".into(), "INBOX".into())));
        assert!(app
            .status
            .as_deref()
            .unwrap_or_default()
            .starts_with("end of folder"));
        // Space, Space: past Trash and round to the top, where the unread mail is.
        let fx = app.update(Msg::Action(Action::Select));
        assert_eq!(app.list.current, Some(("w".into(), "Archive".into())));
        assert_eq!(app.focus, Pane::List);
        assert!(fx.iter().any(|e| matches!(e, Effect::LoadMessages { .. })));
        assert_eq!(app.status.as_deref(), Some("Archive: 2 unread"));
        // Its rows in: the first unread opens in the reader, so the next Space reads on.
        let generation = app.list.generation;
        let fx = app.update(Msg::MessagesLoaded {
            generation,
            rows: Ok(rows(&[false, true, true])),
            complete: true,
        });
        assert_eq!(app.list.cursor, 1);
        assert_eq!(app.focus, Pane::Reader);
        assert_eq!(app.reader.as_ref().map(|r| r.id), Some(2));
        assert!(fx
            .iter()
            .any(|e| matches!(e, Effect::LoadMessage { id: 2 })));
        assert!(app.list.marked.is_empty());
        // Not when another key came before the rows: the list is where the user went.
        app.read_on = Some(generation + 1);
        app.list.generation = generation + 1;
        app.reader = None;
        app.update(Msg::Action(Action::Down));
        app.update(Msg::MessagesLoaded {
            generation: generation + 1,
            rows: Ok(rows(&[true])),
            complete: true,
        });
        assert!(app.reader.is_none());
    }

    #[test]
    fn space_at_the_end_of_search_results_stays_in_them() {
        let mut app = app_with(&[false]);
        app.list.folders = vec![crate::app::view::FolderEntry {
            account: "w".into(),
            name: "Archive".into(),
            role: None,
            total: 9,
            unread: 3,
        }];
        app.list.search = Some("from:dana".into());
        app.update(Msg::Action(Action::Open));
        app.reader.as_mut().unwrap().content = Some(Default::default());
        app.heights.reader_end = Some((1, 0));
        for _ in 0..2 {
            assert!(app.update(Msg::Action(Action::Select)).is_empty());
            assert_eq!(app.status.as_deref(), Some("end of the search results"));
        }
        assert_eq!(app.list.current, Some(("w".into(), "INBOX".into())));
        assert_eq!(app.list.search.as_deref(), Some("from:dana"));
    }
}
