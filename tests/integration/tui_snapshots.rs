//! Whole-app snapshots: the real app, keymap and panes drawn on ratatui's TestBackend, driven by key
//! sequences through triage on a seeded cache. Effects run synchronously against the store, so the
//! screens are reproducible.

use crate::support::mailbox::{seed, NOW};
use crossterm::event::KeyEvent;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::VecDeque;
use tidings::app::runtime::{perform, OpsBackend};
use tidings::app::{App, Effect, Msg};
use tidings::store::{ListQuery, Store};
use tidings::ui::{keymap::parse_key, keymap::Keymap, theme::Theme, Ui};

pub struct Harness {
    pub _dir: tempfile::TempDir,
    pub store: Store,
    pub app: App,
    backend: OpsBackend,
    ui: Ui,
    term: Terminal<TestBackend>,
}

impl Harness {
    pub fn new(width: u16, height: u16) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = seed(&dir.path().join("cache.sqlite3"), "work");
        Harness::on_store(dir, store, width, height)
    }

    /// The app on a store filled elsewhere (synced from a server, say), kept alive by `dir`.
    pub fn on_store(dir: tempfile::TempDir, store: Store, width: u16, height: u16) -> Harness {
        let mut app = App::new(false);
        app.now = NOW;
        let mut h = Harness {
            _dir: dir,
            store,
            app,
            backend: OpsBackend::local_only(),
            ui: Ui::new(Theme::default(), Keymap::default(), true),
            term: Terminal::new(TestBackend::new(width, height)).unwrap(),
        };
        let start = h.app.start();
        h.run(start);
        h
    }

    fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            for m in perform(&self.store, &self.backend, e) {
                queue.extend(self.app.update(m));
            }
        }
    }

    pub fn send(&mut self, msg: Msg) {
        let fx = self.app.update(msg);
        self.run(fx);
    }

    /// Presses keys, written as the config spells them (`j`, `Enter`, `C-c`, `Space`).
    pub fn press(&mut self, keys: &[&str]) {
        for k in keys {
            let key = parse_key(k).unwrap();
            let ev = KeyEvent::new(key.code, key.mods);
            // Draw first, as the real loop does: panes learn their heights and offsets.
            self.screen();
            if let Some(m) = self.ui.key(&self.app, &ev) {
                self.send(m);
            }
        }
    }

    pub fn type_text(&mut self, text: &str) {
        for k in typed_keys(text) {
            self.press(&[&k]);
        }
    }

    /// The terminal changes size, as a resize of the window does.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.term.backend_mut().resize(width, height);
        self.term
            .resize(ratatui::layout::Rect::new(0, 0, width, height))
            .unwrap();
    }

    pub fn screen(&mut self) -> String {
        self.term.draw(|f| self.ui.draw(f, &mut self.app)).unwrap();
        buffer_text(self.term.backend().buffer())
    }

    /// Where the one queued move is going.
    pub fn queued_move(&self) -> String {
        self.store
            .conn
            .query_row("SELECT arg FROM pending_ops WHERE kind = 'move'", [], |r| {
                r.get(0)
            })
            .unwrap()
    }

    pub fn inbox_subjects(&self) -> Vec<String> {
        self.store
            .list_messages(&ListQuery {
                folder: Some("INBOX".into()),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|m| m.subject)
            .collect()
    }
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $value);
        })
    };
}
pub(crate) use snap;

#[test]
fn startup_shows_folders_and_the_inbox_newest_first() {
    let mut h = Harness::new(120, 16);
    snap!("startup_wide", h.screen());
}

#[test]
fn enter_opens_the_reader_and_marks_the_message_read() {
    let mut h = Harness::new(140, 24);
    h.press(&["j", "j", "Enter"]);
    let screen = h.screen();
    snap!("reader_open", screen);
    let m = h
        .store
        .list_messages(&ListQuery::default())
        .unwrap()
        .into_iter()
        .find(|m| m.subject == "Proposal for Q3")
        .unwrap();
    assert!(m.seen, "opening marks read in the store");
}

#[test]
fn archive_removes_at_once_queues_for_the_server_and_undo_brings_it_back() {
    let mut h = Harness::new(120, 16);
    h.press(&["a"]);
    snap!("after_archive", h.screen());
    let replies = |h: &Harness| {
        h.inbox_subjects()
            .iter()
            .filter(|s| *s == "Re: Proposal for Q3")
            .count()
    };
    assert_eq!(replies(&h), 1);
    let queued = h.queued_move();
    assert_eq!(queued, "Archive");
    h.press(&["z"]);
    assert_eq!(h.app.list.rows[0].msg.subject, "Re: Proposal for Q3");
    assert_eq!(replies(&h), 2);
    let left: i64 = h
        .store
        .conn
        .query_row(
            "SELECT COUNT(*) FROM pending_ops WHERE kind = 'move'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "undo takes back the queued move");
}

#[test]
fn flag_read_and_multi_select_delete_act_together() {
    let mut h = Harness::new(120, 16);
    h.press(&["!", "u"]);
    let first = &h.app.list.rows[0].msg;
    assert!(first.flagged && first.seen);
    h.press(&["j", "v", "Space", "d"]);
    snap!("after_bulk_delete", h.screen());
    let inbox = h.inbox_subjects();
    assert_eq!(inbox.len(), 6);
    let stored = h.store.list_messages(&ListQuery::default()).unwrap();
    let top = stored
        .iter()
        .find(|m| m.subject == "Re: Proposal for Q3" && m.from_addr == "dana@acme.test")
        .unwrap();
    assert!(top.flagged && top.seen, "flag and read reached the store");
}

#[test]
fn a_failed_change_rolls_back_visibly_with_the_reason() {
    let mut h = Harness::new(120, 16);
    h.store
        .conn
        .execute("UPDATE folders SET role = NULL WHERE role = 'trash'", [])
        .unwrap();
    h.press(&["d"]);
    snap!("rollback", h.screen());
    assert_eq!(h.app.list.rows.len(), 8);
    assert!(h
        .app
        .last_error
        .as_deref()
        .unwrap()
        .contains("has no Trash folder"));
}

#[test]
fn search_shows_results_as_you_type() {
    let mut h = Harness::new(120, 16);
    h.press(&["/"]);
    h.type_text("invo");
    snap!("search_typing", h.screen());
    h.press(&["Enter"]);
    assert_eq!(h.app.list.rows.len(), 1);
    h.press(&["q"]);
    assert_eq!(h.app.list.rows.len(), 8, "q leaves the search");
}

#[test]
fn search_language_spans_folders_names_them_and_n_walks_the_results() {
    let mut h = Harness::new(120, 16);
    h.press(&["/"]);
    h.type_text("from:dana");
    h.press(&["Enter"]);
    let subjects = |h: &Harness| -> Vec<String> {
        h.app
            .list
            .rows
            .iter()
            .map(|r| r.msg.subject.clone())
            .collect()
    };
    assert_eq!(
        subjects(&h),
        [
            "Re: Proposal for Q3",
            "Proposal for Q3",
            "Acme kickoff notes"
        ]
    );
    snap!("search_language", h.screen());
    h.press(&["n", "n"]);
    assert_eq!(h.app.list.cursor, 2);
    h.press(&["N"]);
    assert_eq!(h.app.list.cursor, 1);
    // Narrowed, negated, and a bad term said in the status line rather than failing.
    h.press(&["/"]);
    h.type_text(" -is:read is:purple");
    h.press(&["Enter"]);
    assert_eq!(subjects(&h), ["Re: Proposal for Q3", "Proposal for Q3"]);
    assert!(h.screen().contains("is:purple"), "{}", h.screen());
}

#[test]
fn move_picker_filters_folders_fuzzily() {
    let mut h = Harness::new(120, 16);
    h.press(&["m"]);
    h.type_text("pac");
    snap!("move_picker", h.screen());
    h.press(&["Enter"]);
    assert_eq!(h.inbox_subjects().len(), 7);
    let queued = h.queued_move();
    assert_eq!(queued, "Projects/Acme");
}

#[test]
fn a_narrow_terminal_shows_one_pane_at_a_time() {
    let mut h = Harness::new(80, 24);
    snap!("narrow_list", h.screen());
    h.press(&["G", "k", "Enter"]);
    snap!("narrow_reader", h.screen());
    h.press(&["q"]);
    assert!(h.app.reader.is_none());
}

#[test]
fn hostile_headers_and_body_render_without_escape_sequences() {
    let mut h = Harness::new(100, 24);
    h.press(&["/"]);
    h.type_text("urgent");
    h.press(&["Enter", "Enter"]);
    let screen = h.screen();
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
        "{screen:?}"
    );
    snap!("hostile_reader", screen);
}

#[test]
fn help_lists_every_binding() {
    let mut h = Harness::new(100, 120);
    h.press(&["?"]);
    let screen = h.screen();
    for a in tidings::app::Action::ALL {
        assert!(screen.contains(a.help()), "help lacks {a:?}");
    }
    for (syntax, what) in tidings::app::SEARCH_SYNTAX {
        assert!(
            screen.contains(syntax) && screen.contains(what),
            "help lacks {syntax}"
        );
    }
    snap!("help", screen);
}

#[test]
fn tracked_filter_explains_itself_and_threads_group_conversations() {
    let mut h = Harness::new(120, 16);
    h.press(&["4"]);
    snap!("tracked_empty", h.screen());
    h.press(&["1", "t"]);
    snap!("threads", h.screen());
}

#[test]
fn mouse_click_selects_and_wheel_scrolls() {
    let mut h = Harness::new(120, 16);
    h.screen();
    h.send(Msg::Click {
        pane: tidings::app::Pane::List,
        row: 3,
    });
    assert_eq!(h.app.list.cursor, 3);
    h.send(Msg::Click {
        pane: tidings::app::Pane::List,
        row: 3,
    });
    assert!(h.app.reader.is_some(), "a second click opens");
}

#[test]
fn tracking_marks_and_the_bell_show_what_the_tracking_feature_reports() {
    let mut h = Harness::new(120, 8);
    let id = h.app.list.rows[1].msg.id;
    h.send(Msg::Marks(vec![(
        id,
        tidings::app::RowMarks {
            tracked: true,
            opens: 2,
            clicks: 1,
            last_open: None,
            ..Default::default()
        },
    )]));
    h.send(Msg::Notifications { unread: 3 });
    snap!("tracking_marks", h.screen());
}

#[test]
fn undo_puts_a_flag_back_in_the_store() {
    let mut h = Harness::new(120, 8);
    let id = h.app.list.rows[0].msg.id;
    h.press(&["!"]);
    assert!(h.store.message(id).unwrap().flagged);
    h.press(&["z"]);
    assert!(!h.app.list.rows[0].msg.flagged);
    assert!(!h.store.message(id).unwrap().flagged);
}

#[test]
fn tracked_filter_shows_opens_clicks_and_the_last_open() {
    use tidings::store::{TrackedMessageRecord, TrackedRecipient};
    use tidings::tracking::server::classify::{Classification, EventKind};
    use tidings::tracking::server::db::Event;
    let mut h = Harness::new(140, 16);
    h.store
        .record_tracked_message(&TrackedMessageRecord {
            account: "work".into(),
            message_id: "<inv@initech.test>".into(),
            subject: "Invoice 2026-114 is ready".into(),
            sent_at: NOW - 3600,
            track_opens: true,
            track_links: true,
            recipients: vec![TrackedRecipient {
                address: "billing@initech.test".into(),
                name: "Billing".into(),
            }],
        })
        .unwrap();
    let event = |id: i64, kind: EventKind, minutes_ago: i64, classification| Event {
        id,
        kind,
        message_id: "<inv@initech.test>".into(),
        recipient: "billing@initech.test".into(),
        url: (kind == EventKind::Click).then(|| "https://initech.test/pay".into()),
        at: chrono::DateTime::from_timestamp(NOW - minutes_ago * 60, 0).unwrap(),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
        ip: None,
        classification,
        reason: String::new(),
        confidence: Default::default(),
        client: String::new(),
        reclassified: Vec::new(),
    };
    h.store
        .store_events_and_cursor(
            "work",
            &[
                event(1, EventKind::Open, 50, Classification::Human),
                event(2, EventKind::Open, 20, Classification::Human),
                event(3, EventKind::Click, 19, Classification::Human),
                // A scanner's open is kept for the timeline but never counted.
                event(4, EventKind::Open, 5, Classification::Automated),
            ],
            "4",
        )
        .unwrap();
    h.press(&["4"]);
    let screen = h.screen();
    assert!(
        screen.contains("Invoice 2026-114 is ready — 2 opens · 1 click · last open"),
        "{screen}"
    );
}

#[test]
fn sent_mail_names_its_first_recipient_in_the_list_and_received_mail_its_sender() {
    use tidings::mail::sync::SyncEvent;
    let mut h = Harness::new(120, 30);
    let acc = h.store.account_id("work").unwrap();
    let sent = h
        .store
        .upsert_folder(acc, "Sent", Some("/"), Some("sent"), true)
        .unwrap();
    let raw = b"From: Me <me@example.com>\r\nTo: \"Lee, Dana\" <dana@acme.test>, sam@globex.test\r\n\
Subject: Offer\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\nMessage-ID: <o1@example.com>\r\n\r\nHi\r\n";
    let parsed = tidings::mail::parse::parse_message(1, raw.to_vec(), Default::default(), None);
    h.store.put_message(sent, &parsed).unwrap();
    h.send(Msg::Sync(SyncEvent::FolderChanged {
        account: "work".into(),
        folder: "Sent".into(),
    }));
    let list = |folder: &str| {
        h.store
            .list_messages(&ListQuery {
                account: Some("work".into()),
                folder: Some(folder.into()),
                filter: tidings::store::ListFilter::All,
                search: None,
                limit: None,
                offset: 0,
            })
            .unwrap()
    };
    let (sent_rows, inbox_rows) = (list("Sent"), list("INBOX"));
    assert_eq!(h.app.correspondent(&sent_rows[0]), "To Lee, Dana +1");
    let dana = inbox_rows
        .iter()
        .find(|m| m.subject == "Proposal for Q3")
        .unwrap();
    assert_eq!(h.app.correspondent(dana), "Dana Lee");
}

/// The keys, as the config spells them, that type `text`.
pub fn typed_keys(text: &str) -> Vec<String> {
    text.chars()
        .map(|c| {
            if c == ' ' {
                "Space".to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A drawn buffer as text, one line per row, trailing spaces cut; a wide character's
/// continuation cells are skipped so the text reads as on screen.
pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn the_reader_goes_full_screen_and_the_split_moves() {
    let mut h = Harness::new(120, 16);
    h.press(&["Enter"]);
    let list_width = |screen: &str| {
        let top = screen.lines().next().unwrap_or("").to_string();
        top.split(['┐', '┬'])
            .find(|s| s.contains("INBOX — All"))
            .map(|s| s.chars().count())
            .unwrap_or(0)
    };
    let before = list_width(&h.screen());
    h.press(&[">", ">"]);
    assert!(list_width(&h.screen()) > before, "{}", h.screen());
    h.press(&["<", "<", "<", "<"]);
    assert!(list_width(&h.screen()) < before, "{}", h.screen());
    h.press(&["F"]);
    let screen = h.screen();
    assert!(
        !screen.contains("Folders") && !screen.contains("INBOX — All"),
        "{screen}"
    );
    assert!(screen.contains("Re: Proposal for Q3"), "{screen}");
    // Tab back to the list shows the panes; F again leaves full screen for good.
    h.press(&["Tab"]);
    assert!(h.screen().contains("INBOX — All"));
    h.press(&["Enter", "F"]);
    assert!(h.screen().contains("Folders"));
}

#[test]
fn h_shows_every_header_of_the_message() {
    let mut h = Harness::new(140, 30);
    h.press(&["Enter"]);
    assert!(!h.screen().contains("Message-ID:"));
    h.press(&["H"]);
    let screen = h.screen();
    assert!(
        screen.contains("Message-ID: <p3@acme.test>") && screen.contains("In-Reply-To:"),
        "{screen}"
    );
    h.press(&["H"]);
    assert!(!h.screen().contains("Message-ID:"));
}

#[test]
fn sorted_by_size_the_list_shows_each_size_and_wide_lists_always_do() {
    use tidings::app::sort::SortKey;
    let size_column = |screen: &str| {
        let row = screen.lines().nth(1).unwrap_or("").to_string();
        row.split_whitespace()
            .rev()
            .nth(1)
            .is_some_and(|w| w.ends_with('B') && w[..w.len() - 1].parse::<u32>().is_ok())
    };
    let mut h = Harness::new(100, 14);
    assert!(!size_column(&h.screen()), "{}", h.screen());
    h.send(Msg::SortBy {
        key: SortKey::Size,
        reverse: false,
    });
    let screen = h.screen();
    assert!(screen.contains("sorted by size"), "{screen}");
    assert!(size_column(&screen), "{screen}");
    // Back to newest first on a wide terminal: the column stays, as there is room for it.
    h.send(Msg::SortBy {
        key: SortKey::Date,
        reverse: false,
    });
    h.resize(160, 14);
    assert!(size_column(&h.screen()), "{}", h.screen());
}

#[test]
fn the_list_shows_the_rows_scrolled_away_when_the_terminal_grows_back() {
    let mut h = Harness::new(120, 35);
    h.screen();
    h.resize(24, 5);
    h.press(&["j", "j"]);
    h.screen();
    assert!(h.app.list.offset > 0, "a small pane scrolls to the cursor");
    h.resize(120, 35);
    let screen = h.screen();
    assert_eq!(h.app.list.cursor, 2);
    assert_eq!(h.app.list.offset, 0, "{screen}");
    let first = h.inbox_subjects().remove(0);
    assert!(screen.contains(&first[..first.len().min(20)]), "{screen}");
}

#[test]
fn the_message_log_reaches_its_newest_entry_when_older_ones_wrap() {
    let mut h = Harness::new(60, 14);
    h.send(Msg::Notice(format!(
        "a long note {}",
        "that wraps ".repeat(12)
    )));
    for i in 1..=12 {
        h.send(Msg::Notice(format!("note {i}")));
    }
    h.press(&["I"]);
    assert!(h.screen().contains("note 12"), "opens at the end");
    h.press(&["g"]);
    assert!(!h.screen().contains("note 12"));
    h.press(&["G"]);
    assert!(h.screen().contains("note 12"), "G reaches the end");
    h.press(&[
        "g", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j", "j",
    ]);
    assert!(h.screen().contains("note 12"), "j reaches it too");
}
