//! The `:` command line in a real terminal (tmux, on the demo's mailbox): completion, a move
//! that reaches the store, a theme switched live, the one-line errors, sorting, and a selection
//! by pattern archived in bulk. One session for all.

use crate::support::tmux::Tmux;
use crate::tui_snapshots::{snap, Harness};
use crate::tui_tmux::{folder, wait_until};
use tidings::store::ListQuery;

/// The screen with its colours (SGR sequences), to see a theme change.
fn coloured(t: &Tmux) -> String {
    t.tmux(&["capture-pane", "-p", "-e"])
}

#[test]
fn tmux_command_line_moves_switches_theme_and_names_mistakes() {
    let t = Tmux::demo("cmdline");
    t.wait_for("INBOX — All");
    let store = t.store();
    let inbox_before = folder(&store, "INBOX");
    let archive_before = folder(&store, "Archive").len();

    // `:mo<Tab> Arc<Tab><Enter>`: completed to `:move Archive`, the top message moves.
    t.keys(&[":"]);
    t.wait_for("Tab complete");
    t.type_text("mo");
    t.keys(&["Tab"]);
    t.wait_for(":move ▏");
    t.type_text(" Arc");
    t.keys(&["Tab"]);
    t.wait_for(":move Archive▏");
    t.keys(&["Enter"]);
    t.wait_for("moved to Archive");
    wait_until("the message reaches Archive", || {
        folder(&store, "Archive").len() == archive_before + 1
    });
    let inbox_after = folder(&store, "INBOX");
    let moved = inbox_before
        .iter()
        .find(|m| !inbox_after.iter().any(|a| a.id == m.id))
        .expect("one message left INBOX");
    assert_eq!(inbox_after.len(), inbox_before.len() - 1);

    // `:cf Archive` opens the folder; the moved message is there.
    t.keys(&[":"]);
    t.type_text("cf Archive");
    t.keys(&["Enter"]);
    t.wait_for("Archive — All");
    t.wait_for(&moved.subject);

    // `:theme light` changes the colours at once (its background is #fafafa).
    let light_bg = "48;2;250;250;250";
    assert!(!coloured(&t).contains(light_bg));
    t.keys(&[":"]);
    t.type_text("theme li");
    t.keys(&["Tab", "Enter"]);
    t.wait_for("theme light");
    wait_until("the light theme's background is drawn", || {
        coloured(&t).contains(light_bg)
    });

    // Mistakes are one line, and nothing else happens.
    t.keys(&[":"]);
    t.type_text("theme neon");
    t.keys(&["Enter"]);
    t.wait_for("no theme \"neon\"");
    assert!(
        coloured(&t).contains(light_bg),
        "a bad name keeps the theme"
    );
    t.keys(&[":"]);
    t.type_text("arhcive");
    t.keys(&["Enter"]);
    t.wait_for("unknown command :arhcive — did you mean :archive?");
    assert_eq!(folder(&store, "Archive").len(), archive_before + 1);

    // Up brings back the last line run; Esc leaves without running it.
    t.keys(&[":", "Up"]);
    t.wait_for(":arhcive▏");
    t.keys(&["Up"]);
    t.wait_for(":theme neon▏");
    t.keys(&["Escape"]);
    wait_until("Esc closes the line", || {
        !t.screen().contains("Tab complete")
    });
    assert_eq!(folder(&store, "INBOX").len(), inbox_after.len());

    // `:account demo` is back in INBOX; `:sort subject` puts the first subject (Re: aside) on top.
    t.keys(&[":"]);
    t.type_text("account demo");
    t.keys(&["Enter"]);
    t.wait_for("INBOX — All");
    t.keys(&[":"]);
    t.type_text("sort subject");
    t.keys(&["Enter"]);
    let screen = t.wait_for(", sorted by subject)");
    let first_key = inbox_after
        .iter()
        .map(|m| tidings::app::sort::subject_key(&m.subject))
        .min()
        .unwrap();
    let top_row = screen.lines().nth(1).unwrap_or_default().to_lowercase();
    assert!(
        inbox_after.iter().any(|m| {
            let s: String = m.subject.to_lowercase().chars().take(12).collect();
            tidings::app::sort::subject_key(&m.subject) == first_key && top_row.contains(&s)
        }),
        "the top row is not the first subject ({first_key}):\n{screen}"
    );

    // `:select from:dana` selects Dana's mail in the list; `a` archives it all at once.
    let danas: Vec<i64> = store
        .list_messages(&ListQuery {
            folder: Some("INBOX".into()),
            search: Some("from:dana".into()),
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert!(danas.len() > 1, "the demo has several mails from Dana");
    t.keys(&[":"]);
    t.type_text("select from:dana");
    t.keys(&["Enter"]);
    t.wait_for(&format!("{} selected", danas.len()));
    t.keys(&["a"]);
    t.wait_for(&format!("{} messages archived", danas.len()));
    wait_until("Dana's mail leaves INBOX for Archive", || {
        let inbox = folder(&store, "INBOX");
        inbox.len() == inbox_after.len() - danas.len()
            && !inbox.iter().any(|m| danas.contains(&m.id))
    });
}

/// Tab with several candidates lists them above the bar, each with what it does, the one on the
/// line highlighted; a folder's candidates stand alone.
#[test]
fn completions_show_above_the_bar() {
    let mut h = Harness::new(100, 16);
    h.press(&[":", "r", "e", "p", "Tab", "Tab"]);
    snap!("command_line_completions", h.screen());
    h.press(&["Esc", ":"]);
    h.type_text("cf ");
    h.press(&["Tab"]);
    let screen = h.screen();
    assert!(screen.contains(" :cf INBOX▏"), "{screen}");
    assert!(screen.contains("│ Projects/Acme"), "{screen}");
}

#[test]
fn prompts_edit_at_the_cursor_and_tab_completes_the_search() {
    let mut h = Harness::new(100, 16);
    h.press(&[":"]);
    h.type_text("foo");
    h.press(&["Left"]);
    h.type_text("Z");
    assert!(h.screen().contains(" :foZ▏o"), "{}", h.screen());
    h.press(&["C-a", "Delete", "C-f", "C-k"]);
    assert!(h.screen().contains(" :o▏ "), "{}", h.screen());
    h.press(&["Esc", "/"]);
    h.type_text("is:u");
    h.press(&["Tab"]);
    assert!(h.screen().contains(" / is:unread▏"), "{}", h.screen());
    // Typed before the query's first word, then Tab: nothing after the cursor is lost.
    h.press(&["C-u", "C-k"]);
    h.type_text("from:dana has:attachment");
    h.press(&["C-a"]);
    h.type_text("is:unr");
    h.press(&["Tab"]);
    assert!(
        h.screen()
            .contains(" / is:unread▏ from:dana has:attachment"),
        "{}",
        h.screen()
    );
}
