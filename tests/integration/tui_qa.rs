//! Cases users of other terminal mail clients run into from outside: tiny and changing terminal
//! sizes, every overlay, keys pressed at the edges. Each test guards a bug found that way.

use crate::tui_snapshots::Harness;

/// Every pane and overlay, opened and drawn at terminal sizes down to a corner of a screen.
#[test]
fn every_overlay_draws_at_tiny_sizes_without_panicking() {
    let sequences: &[&[&str]] = &[
        &["w"],
        &["b"],
        &["?"],
        &["m"],
        &["/"],
        &[":", "Tab"],
        &["i"],
        &["C"],
        &["4", "Enter"],
        &["Enter"],
        &["c"],
    ];
    for keys in sequences {
        let mut h = Harness::new(120, 30);
        for &(w, hgt) in &[(20, 5), (3, 2), (1, 1), (40, 12)] {
            h.resize(w, hgt);
            h.screen();
            h.press(keys);
            h.screen();
            h.resize(w, hgt);
            h.screen();
        }
    }
}

/// Scrolling the help past its end stops at the last binding: the overlay never goes blank and
/// one `k` scrolls back at once.
#[test]
fn help_scroll_stops_at_the_last_binding() {
    let mut h = Harness::new(100, 20);
    h.press(&["?"]);
    for _ in 0..200 {
        h.press(&["j"]);
    }
    let bottom = h.screen();
    // The help ends with the search language, after the bindings.
    let last = tidings::app::SEARCH_SYNTAX.last().unwrap().1;
    assert!(bottom.contains(last), "{bottom}");
    h.press(&["k"]);
    let up = h.screen();
    assert_ne!(up, bottom, "one k scrolls back");
    assert!(!up.contains(last), "{up}");
}

/// On a 40-column terminal the subject keeps more room than the sender: it is what tells
/// messages apart.
#[test]
fn a_narrow_list_gives_the_subject_more_room_than_the_sender() {
    let mut h = Harness::new(40, 12);
    let screen = h.screen();
    let subject: String = h.app.list.rows[0].msg.subject.chars().take(10).collect();
    assert!(screen.contains(&subject), "{subject:?} in\n{screen}");
}

/// Paging down a contact pane stops at its end: the pane never goes blank, and paging up once
/// brings back the top.
#[test]
fn contact_pane_scroll_stops_at_its_end() {
    let mut h = Harness::new(120, 30);
    h.press(&["i"]);
    let top = h.screen();
    let first = top
        .lines()
        .nth(1)
        .unwrap()
        .trim_matches(|c| c == '│' || c == ' ')
        .to_string();
    assert!(!first.is_empty(), "{top}");
    h.press(&["PageDown", "PageDown", "PageDown", "PageDown", "PageDown"]);
    let bottom = h.screen();
    assert!(
        bottom.contains(" back"),
        "the hint at the end stays in view:\n{bottom}"
    );
    h.press(&["PageUp"]);
    assert!(h.screen().contains(&first), "{}", h.screen());
}

/// Esc, h and Left go back but never quit: pressing Esc once too often (leaving a search, say)
/// or Left in the list keeps the app open, as in aerc and meli. `q` still quits from the list.
#[test]
fn esc_h_and_left_never_quit_only_q_does() {
    let mut h = Harness::new(120, 30);
    h.press(&["/"]);
    h.type_text("proposal");
    h.press(&["Enter", "Esc", "Esc", "Esc", "h", "Left"]);
    assert!(!h.app.quit, "{}", h.screen());
    assert!(h.app.list.search.is_none(), "Esc left the search");
    h.press(&["Enter", "q"]);
    assert!(
        h.app.reader.is_none() && !h.app.quit,
        "q closes the reader first"
    );
    h.press(&["q"]);
    assert!(h.app.quit, "q quits from the list");
}

/// On a narrow terminal the status bar keeps what just happened (and how to undo it) in view,
/// dropping the help hint and counters first.
#[test]
fn a_narrow_status_bar_keeps_the_latest_message_in_view() {
    let mut h = Harness::new(40, 12);
    h.press(&["a"]);
    let screen = h.screen();
    let bar = screen.lines().nth(11).unwrap();
    assert!(bar.contains("archived (z to undo)"), "{bar:?}");
}

/// The contacts list counts in words that agree: "1 msg", "3 msgs".
#[test]
fn contacts_list_counts_agree_with_their_number() {
    let mut h = Harness::new(140, 30);
    h.press(&["C"]);
    let screen = h.screen();
    assert!(!screen.contains(" 1 msgs"), "{screen}");
    assert!(
        screen.contains(" 1 msg ") && screen.contains(" 3 msgs"),
        "{screen}"
    );
}

/// Saving an attachment to a path ending in `/` puts it in that folder under its own name, as
/// mutt does, instead of failing with "Is a directory".
#[test]
fn saving_an_attachment_to_a_folder_keeps_its_name() {
    let mut h = Harness::new(120, 30);
    let dir = tempfile::tempdir().unwrap();
    h.press(&["/"]);
    h.type_text("proposal");
    h.press(&["Enter", "G", "Enter"]);
    let name = h
        .app
        .reader
        .as_ref()
        .unwrap()
        .content
        .as_ref()
        .unwrap()
        .attachments[0]
        .filename
        .clone();
    h.press(&["s", "C-u"]);
    h.type_text(&format!("{}/", dir.path().display()));
    h.press(&["Enter"]);
    assert!(dir.path().join(&name).is_file(), "{}", h.screen());
}

/// A long query or error never pushes out what says where you are: the list keeps its position
/// and filter, the bar its folder; what is cut ends in "…".
#[test]
fn long_titles_and_errors_are_cut_and_keep_the_position_and_folder() {
    let mut h = Harness::new(40, 16);
    h.press(&["/"]);
    h.type_text("subject:proposal");
    h.press(&["Enter"]);
    let screen = h.screen();
    let title = screen.lines().next().unwrap_or_default();
    assert!(
        title.contains("search “subject:propos…” — All (1/3)"),
        "{screen}"
    );
    // Narrower, with the markers taking the room: the query shows as cut, never as empty.
    h.press(&["v", "j", "v"]);
    h.resize(30, 16);
    let screen = h.screen();
    let title = screen.lines().next().unwrap_or_default();
    assert!(title.contains("search “…”"), "{screen}");
    h.press(&["v", "k", "v"]);
    h.resize(40, 16);
    let long = format!(
        "imap.example.com: {}",
        "the server said no and then ".repeat(8)
    );
    h.send(tidings::app::Msg::Error(long));
    let screen = h.screen();
    let bar = screen.lines().last().unwrap_or_default();
    assert!(
        bar.starts_with(" INBOX │ error: imap.example.com"),
        "{screen}"
    );
    assert!(bar.trim_end().ends_with('…'), "{bar:?}");
}

/// The links list is as wide as a long link needs (up to 90 % of the screen), so it can be read
/// before it is opened; a longer one keeps its start and end.
#[test]
fn the_links_list_is_wide_enough_to_read_a_long_link() {
    use tidings::app::{Mode, Picker, PickerPurpose};
    let mut h = Harness::new(120, 20);
    let long =
        "https://tracker.example.com/c/0123456789abcdef/https%3A%2F%2Facme.test%2Fq3-plan.pdf";
    let longer = format!(
        "https://cdn.example.com/{}/end-of-the-link.zip",
        "x".repeat(200)
    );
    let items = vec![format!("[1] {long}"), format!("[2] {longer}")];
    h.app.mode = Mode::Picker(Picker {
        purpose: PickerPurpose::Link {
            urls: vec![long.to_string(), longer.clone()],
        },
        title: "Links (2): Enter opens, C-y copies".into(),
        matches: vec![0, 1],
        items,
        input: Default::default(),
        cursor: 0,
    });
    let screen = h.screen();
    assert!(screen.contains(long), "{screen}");
    let row = screen
        .lines()
        .find(|l| l.contains("[2] "))
        .unwrap_or_default();
    assert!(row.contains("https://cdn.example.com/xxx"), "{row}");
    assert!(
        row.contains("xxx…xxx") && row.contains("xxx/end-of-the-link.zip│"),
        "{row}"
    );
    // 90 % of 120 columns at most, inside the frame.
    let inside = row.split('│').nth(2).unwrap_or_default();
    let width = inside.chars().count() + 2;
    assert!(width > 100 && width <= 108, "{width}: {row}");
}
