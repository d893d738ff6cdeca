//! Habits a new user brings from mutt and meli, on the whole app drawn at the sizes people use:
//! the composer through resizes and at small heights.

use crate::tui_snapshots::Harness;

#[test]
fn the_composer_survives_a_resize_and_keeps_a_body_row_on_a_short_terminal() {
    let mut h = Harness::new(120, 35);
    h.press(&["c"]);
    h.type_text("sam@globex.test");
    h.press(&["Tab", "Tab", "Tab"]);
    h.type_text("Numbers");
    h.press(&["Tab"]);
    h.type_text("Quarterly numbers attached, see the third column please");
    // At 80 columns the hint line still says how to leave.
    h.resize(80, 24);
    let screen = h.screen();
    assert!(screen.contains("Esc leave"), "{screen}");
    // A narrow moment scrolls the body sideways; back at full size it shows from column one.
    h.resize(30, 8);
    h.screen();
    h.resize(120, 35);
    let screen = h.screen();
    assert!(
        screen.contains("Quarterly numbers attached"),
        "the body is shown from its start again:\n{screen}"
    );
    h.type_text("!");
    assert!(h.screen().contains("third column please!"));
    // 12 rows: the body keeps a row of text under its title.
    h.resize(80, 12);
    let screen = h.screen();
    let lines: Vec<&str> = screen.lines().collect();
    let title = lines
        .iter()
        .position(|l| l.contains(" Body "))
        .unwrap_or_else(|| panic!("no body title:\n{screen}"));
    assert!(
        lines[title + 1].contains("column please!"),
        "a row of text under the title:\n{screen}"
    );
    // 8 rows: header rows give way, the focused field stays on screen.
    h.resize(80, 8);
    h.press(&["Tab", "Tab", "Tab", "Tab"]);
    let screen = h.screen();
    assert!(screen.contains("Subject: Numbers"), "{screen}");
    assert!(screen.contains(" Body "), "{screen}");
}

#[test]
fn an_unbound_key_in_the_list_or_reader_says_so_but_not_in_a_text_input() {
    let mut h = Harness::new(120, 20);
    h.press(&["Q"]);
    assert_eq!(
        h.app.status.as_deref(),
        Some("key Q is not bound (? for help)")
    );
    h.press(&["Enter", "C-g"]);
    assert!(
        h.screen().contains("key C-g is not bound"),
        "{}",
        h.screen()
    );
    // Typed into the search line, Q is text.
    h.press(&["Esc", "/", "Q"]);
    assert!(
        !h.app.status.as_deref().unwrap_or("").contains("not bound"),
        "{:?}",
        h.app.status
    );
}

#[test]
fn full_screen_and_split_keys_at_80_columns_say_there_is_no_room_and_change_nothing() {
    let mut h = Harness::new(80, 24);
    h.press(&["Enter"]);
    let split = h.app.list_percent;
    h.press(&["F"]);
    assert!(
        h.screen().contains("full screen already at 80 columns"),
        "{}",
        h.screen()
    );
    h.press(&[">"]);
    assert!(h.screen().contains("no room for the list at 80 columns"));
    assert_eq!(h.app.list_percent, split);
    // Wider again: the list is beside the reader, as before F was pressed.
    h.resize(120, 24);
    let screen = h.screen();
    assert!(screen.contains("INBOX — All"), "{screen}");
    // Where there is room, F still takes the reader full screen.
    h.press(&["F"]);
    assert!(!h.screen().contains("INBOX — All"), "{}", h.screen());
}
