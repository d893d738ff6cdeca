//! Sorting the list and selecting by pattern, as the update step sees them: the effects asked
//! for, the answers taken, the cursor and the selection.

use super::tests::app_with_rows;
use crate::app::action::Action;
use crate::app::input::InputKey;
use crate::app::msg::{Effect, Msg};
use crate::app::sort::{ListSort, SortKey};
use crate::app::state::App;
use crate::app::view::{Mode, PickerPurpose, Row};

fn load_effect(fx: &[Effect]) -> (u64, ListSort) {
    match fx {
        [Effect::LoadMessages {
            generation, sort, ..
        }] => (*generation, *sort),
        other => panic!("expected a reload: {other:?}"),
    }
}

const BY_FROM: ListSort = ListSort {
    key: SortKey::From,
    reverse: false,
};

#[test]
fn sort_by_reloads_in_the_new_order_and_says_so() {
    let mut app = app_with_rows(3);
    let fx = app.update(Msg::SortBy {
        key: SortKey::From,
        reverse: false,
    });
    let (generation, sort) = load_effect(&fx);
    assert_eq!(sort, BY_FROM);
    assert_eq!(generation, app.list.generation);
    assert_eq!(app.list.sort, BY_FROM);
    assert_eq!(app.status.as_deref(), Some("sorted by from"));
    assert!(app.list.loading);
    // The rows stay while the sorted list is read: same folder, same messages.
    assert_eq!(app.list.rows.len(), 3);
    let fx = app.update(Msg::SortBy {
        key: SortKey::From,
        reverse: false,
    });
    assert!(fx.is_empty(), "the same order again reads nothing: {fx:?}");
    assert_eq!(app.status.as_deref(), Some("already sorted by from"));
}

#[test]
fn the_sort_stays_across_folders_and_filters() {
    let mut app = app_with_rows(3);
    app.update(Msg::SortBy {
        key: SortKey::Size,
        reverse: true,
    });
    let fx = app.update(Msg::Action(Action::FilterUnread));
    let (_, sort) = load_effect(&fx);
    assert_eq!(
        sort,
        ListSort {
            key: SortKey::Size,
            reverse: true
        }
    );
    // Another list in another order: its rows are not shown as this one's until it is read.
    assert!(app.list.rows.is_empty());
}

#[test]
fn the_cursor_stays_on_its_message_when_the_sorted_rows_arrive() {
    let mut app = app_with_rows(5);
    app.update(Msg::Action(Action::Down));
    app.update(Msg::Action(Action::Down));
    assert_eq!(app.selected_row().map(|r| r.msg.id), Some(3));
    let fx = app.update(Msg::SortBy {
        key: SortKey::Subject,
        reverse: true,
    });
    let (generation, _) = load_effect(&fx);
    let rows: Vec<Row> = [5, 3, 1, 4, 2]
        .into_iter()
        .map(|id| Row::new(crate::app::view::test_summary(id, id, "x")))
        .collect();
    app.update(Msg::MessagesLoaded {
        generation,
        rows: Ok(rows),
        complete: true,
    });
    assert_eq!(app.list.cursor, 1);
    assert_eq!(app.selected_row().map(|r| r.msg.id), Some(3));
    assert!(!app.list.loading);
}

#[test]
fn back_to_newest_first_the_cursor_finds_its_message_past_the_first_page() {
    let mut app = app_with_rows(5);
    app.update(Msg::SortBy {
        key: SortKey::Size,
        reverse: false,
    });
    let rows = |ids: &[i64]| -> Vec<Row> {
        ids.iter()
            .map(|&id| Row::new(crate::app::view::test_summary(id, id, "x")))
            .collect()
    };
    app.update(Msg::MessagesLoaded {
        generation: app.list.generation,
        rows: Ok(rows(&[1, 2, 3, 4, 5])),
        complete: true,
    });
    // The oldest message, at the top in size order.
    assert_eq!(app.selected_row().map(|r| r.msg.id), Some(1));
    let fx = app.update(Msg::SortBy {
        key: SortKey::Date,
        reverse: false,
    });
    let (generation, _) = load_effect(&fx);
    assert_eq!(app.list.sort_note().as_deref(), Some("sorting by date…"));
    // A first page of the newest two, then all.
    app.update(Msg::MessagesLoaded {
        generation,
        rows: Ok(rows(&[5, 4])),
        complete: false,
    });
    assert_eq!(app.list.sort_note(), None);
    app.update(Msg::MessagesLoaded {
        generation,
        rows: Ok(rows(&[5, 4, 3, 2, 1])),
        complete: true,
    });
    assert_eq!(app.selected_row().map(|r| r.msg.id), Some(1));
}

#[test]
fn the_sort_key_opens_a_picker_and_pressed_again_reverses() {
    let mut app = app_with_rows(2);
    app.update(Msg::Action(Action::Sort));
    let Mode::Picker(p) = &app.mode else {
        panic!("{:?}", app.mode);
    };
    assert_eq!(p.purpose, PickerPurpose::Sort);
    assert_eq!(p.items, SortKey::NAMES);
    assert_eq!(p.cursor, 0, "on the current key");
    // Typing filters as in any picker: "fr" then Enter sorts by from.
    app.update(Msg::Input(InputKey::Char('f')));
    app.update(Msg::Input(InputKey::Char('r')));
    let fx = app.update(Msg::Input(InputKey::Enter));
    assert_eq!(load_effect(&fx).1, BY_FROM);
    assert!(matches!(app.mode, Mode::Normal));
    // The key twice: the same key, reversed.
    app.update(Msg::Action(Action::Sort));
    assert!(
        matches!(&app.mode, Mode::Picker(p) if p.cursor == 1),
        "on from"
    );
    let fx = app.update(Msg::Action(Action::Sort));
    assert_eq!(
        load_effect(&fx).1,
        ListSort {
            key: SortKey::From,
            reverse: true
        }
    );
    assert_eq!(app.status.as_deref(), Some("sorted by from, reversed"));
    assert!(matches!(app.mode, Mode::Normal));
    // Enter on the current key reverses it too, back to from's own order.
    app.update(Msg::Action(Action::Sort));
    let fx = app.update(Msg::Input(InputKey::Enter));
    assert_eq!(load_effect(&fx).1, BY_FROM);
    // Over the help screen the key only closes it, as any other key does.
    app.update(Msg::Action(Action::Help));
    assert!(app.update(Msg::Action(Action::Sort)).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
}

fn matched(app: &mut App, ids: Result<Vec<i64>, String>, select: bool) {
    let generation = app.list.generation;
    app.update(Msg::Matched {
        generation,
        pattern: "from:dana".into(),
        select,
        ids,
    });
}

#[test]
fn select_matching_asks_the_store_within_the_list_and_selects_what_is_listed() {
    let mut app = app_with_rows(4);
    let fx = app.update(Msg::SelectMatching {
        query: " from:dana ".into(),
        select: true,
    });
    let [Effect::SelectMatching {
        generation,
        query,
        pattern,
        select: true,
    }] = fx.as_slice()
    else {
        panic!("{fx:?}");
    };
    assert_eq!(*generation, app.list.generation);
    assert_eq!(pattern, "from:dana");
    assert_eq!(query.folder.as_deref(), Some("INBOX"));
    assert_eq!(query.account.as_deref(), Some("w"));
    // 9 is not listed here (another folder, a row moved away): never selected.
    matched(&mut app, Ok(vec![2, 4, 9]), true);
    let mut sel: Vec<i64> = app.list.marked.iter().copied().collect();
    sel.sort();
    assert_eq!(sel, vec![2, 4]);
    assert_eq!(app.status.as_deref(), Some("2 selected"));
    matched(&mut app, Ok(vec![4]), false);
    assert_eq!(app.list.marked.len(), 1);
    assert_eq!(app.status.as_deref(), Some("1 unselected"));
    matched(&mut app, Ok(vec![9]), true);
    assert_eq!(app.status.as_deref(), Some("no message matched"));
    assert_eq!(app.list.marked.len(), 1);
    app.update(Msg::SelectMatching {
        query: String::new(),
        select: false,
    });
    assert!(app.list.marked.is_empty(), "empty unselect clears all");
}

#[test]
fn a_bad_pattern_or_a_stale_answer_selects_nothing() {
    let mut app = app_with_rows(3);
    app.update(Msg::SelectMatching {
        query: "is:x".into(),
        select: true,
    });
    assert!(app.status.is_some(), "selecting …");
    matched(
        &mut app,
        Err("search: is:x: use unread, read, …".into()),
        true,
    );
    assert!(app.list.marked.is_empty());
    assert_eq!(app.status, None, "the error replaces the progress note");
    assert!(app
        .last_error
        .as_deref()
        .unwrap_or("")
        .starts_with("search:"));
    let stale = app.list.generation;
    app.update(Msg::Action(Action::FilterUnread));
    app.update(Msg::Matched {
        generation: stale,
        pattern: "x".into(),
        select: true,
        ids: Ok(vec![1]),
    });
    assert!(app.list.marked.is_empty());
}

#[test]
fn v_prompts_for_a_pattern_and_enter_selects_by_it() {
    let mut app = app_with_rows(2);
    app.update(Msg::Action(Action::SelectPattern));
    assert!(matches!(app.mode, Mode::SelectPrompt { .. }));
    for c in "is:unread".chars() {
        assert!(app.update(Msg::Input(InputKey::Char(c))).is_empty());
    }
    // A key typed into the prompt never reaches the list.
    assert!(app.list.marked.is_empty());
    let fx = app.update(Msg::Input(InputKey::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::SelectMatching { pattern, .. }] if pattern == "is:unread"),
        "{fx:?}"
    );
    assert!(matches!(app.mode, Mode::Normal));
    app.update(Msg::Action(Action::SelectPattern));
    assert!(app.update(Msg::Input(InputKey::Esc)).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn bulk_actions_take_a_selection_made_by_pattern_and_undo_them_as_one() {
    let mut app = app_with_rows(4);
    matched(&mut app, Ok(vec![2, 4]), true);
    let fx = app.update(Msg::Action(Action::ToggleFlag));
    let [Effect::Triage { ids, change, .. }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    let mut ids = ids.clone();
    ids.sort();
    assert_eq!(ids, vec![2, 4]);
    assert_eq!(*change, crate::app::view::Change::Flagged(true));
    let flagged = |app: &App| -> Vec<i64> {
        let mut f: Vec<i64> = app
            .list
            .rows
            .iter()
            .filter(|r| r.msg.flagged)
            .map(|r| r.msg.id)
            .collect();
        f.sort();
        f
    };
    assert_eq!(flagged(&app), vec![2, 4]);
    assert!(matches!(
        app.update(Msg::Action(Action::Undo)).as_slice(),
        [Effect::Undo { .. }]
    ));
    assert!(flagged(&app).is_empty());
    matched(&mut app, Ok(vec![1, 3]), true);
    let fx = app.update(Msg::Action(Action::Archive));
    assert!(matches!(fx.as_slice(), [Effect::Triage { ids, .. }] if ids.len() == 2));
    assert_eq!(app.list.rows.len(), 2);
    app.update(Msg::Action(Action::Undo));
    let mut back: Vec<i64> = app.list.rows.iter().map(|r| r.msg.id).collect();
    back.sort();
    assert_eq!(back, vec![1, 2, 3, 4]);
}
