//! Collapsed conversations: one row, triage on the whole thread, undo, and a reload that keeps
//! both the fold and the cursor's conversation.

use crate::app::action::Action;
use crate::app::msg::{Effect, Msg};
use crate::app::state::App;
use crate::app::view::{Change, FolderEntry, Row};

fn row(id: i64, date: i64, root: &str) -> Row {
    let mut m = crate::app::view::test_summary(id, date, root);
    m.thread_root = Some(root.into());
    m.seen = id != 3;
    Row::new(m)
}

/// Loads the messages `spec` names ("1x 2y": message 1 in thread x…), message n dated 10·n.
fn load(app: &mut App, spec: &str) {
    let mut rows: Vec<Row> = spec
        .split_whitespace()
        .map(|m| {
            let (id, root) = m.split_at(m.len() - 1);
            let id: i64 = id.parse().unwrap();
            row(id, id * 10, root)
        })
        .collect();
    crate::app::threads::arrange(&mut rows, true);
    let generation = app.list.generation;
    app.update(Msg::MessagesLoaded {
        generation,
        rows: Ok(rows),
        complete: true,
    });
}

/// Thread "x" (1, 3, 4) is the newest; "y" (2) below it.
fn threaded() -> App {
    let mut app = App::new(true);
    app.update(Msg::FoldersLoaded(Ok(vec![FolderEntry {
        account: "w".into(),
        name: "INBOX".into(),
        role: Some("inbox".into()),
        total: 4,
        unread: 1,
    }])));
    load(&mut app, "1x 2y 3x 4x");
    app
}

fn shown(app: &App) -> Vec<(i64, usize)> {
    app.list
        .rows
        .iter()
        .map(|r| (r.msg.id, r.folded.len()))
        .collect()
}

#[test]
fn a_collapsed_conversation_is_one_row_and_enter_opens_it_up() {
    let mut app = threaded();
    app.list.cursor = 2; // message 4, inside thread x
    app.update(Msg::Action(Action::CollapseThread));
    assert_eq!(shown(&app), vec![(1, 2), (2, 0)]);
    assert_eq!(app.list.cursor, 0, "the cursor stays on its conversation");
    assert!(app.list.rows[0].any_unread(), "3 is unread inside the fold");
    let fx = app.update(Msg::Action(Action::Open));
    assert!(fx.is_empty(), "Enter expands, it opens no message: {fx:?}");
    assert_eq!(shown(&app), vec![(1, 0), (3, 0), (4, 0), (2, 0)]);
    // A one-message conversation has nothing to fold.
    app.list.cursor = 3;
    app.update(Msg::Action(Action::CollapseThread));
    assert_eq!(app.list.rows.len(), 4);
}

#[test]
fn triage_on_a_collapsed_row_takes_the_whole_thread_and_undo_restores_it() {
    let mut app = threaded();
    app.update(Msg::Action(Action::CollapseThread));
    let fx = app.update(Msg::Action(Action::Archive));
    let Some(Effect::Triage { ids, change, .. }) = fx.first() else {
        panic!("{fx:?}");
    };
    assert_eq!((ids.clone(), change), (vec![1, 3, 4], &Change::Archive));
    assert_eq!(shown(&app), vec![(2, 0)]);
    assert_eq!(
        app.list.folders[0].unread, 0,
        "the fold's unread message left too"
    );
    app.update(Msg::Action(Action::Undo));
    assert_eq!(shown(&app), vec![(1, 2), (2, 0)]);
    assert_eq!(app.list.folders[0].unread, 1);
    // Read / unread on the fold: every message of it.
    let fx = app.update(Msg::Action(Action::ToggleRead));
    assert!(
        matches!(fx.as_slice(), [Effect::Triage { ids, change: Change::Seen(true), .. }] if ids == &vec![1, 3, 4]),
        "{fx:?}"
    );
    assert!(!app.list.rows[0].any_unread());
}

#[test]
fn new_mail_keeps_the_fold_and_the_cursor_on_its_conversation() {
    let mut app = threaded();
    app.list.cursor = 3; // thread y
    app.update(Msg::Action(Action::Up));
    app.update(Msg::Action(Action::CollapseThread)); // x, from its last message
    app.update(Msg::Action(Action::Down));
    assert_eq!(app.list.rows[app.list.cursor].msg.id, 2);
    // A reply in y moves y to the top; x stays collapsed under it.
    load(&mut app, "1x 2y 3x 4x 5y");
    assert_eq!(shown(&app), vec![(2, 0), (5, 0), (1, 2)]);
    assert_eq!(app.list.rows[app.list.cursor].msg.id, 2);
    // On the fold, a new message in it keeps the cursor there.
    app.list.cursor = 2;
    load(&mut app, "1x 2y 3x 4x 5y 6x");
    assert_eq!(shown(&app), vec![(1, 3), (2, 0), (5, 0)]);
    assert_eq!(app.list.cursor, 0);
}

#[test]
fn collapse_all_folds_threads_that_arrive_later_and_expands_back() {
    let mut app = threaded();
    app.update(Msg::Action(Action::CollapseAll));
    assert_eq!(shown(&app), vec![(1, 2), (2, 0)]);
    load(&mut app, "1x 2y 3x 4x 7z 8z");
    assert_eq!(shown(&app), vec![(7, 1), (1, 2), (2, 0)]);
    app.update(Msg::Action(Action::CollapseAll));
    assert_eq!(app.list.rows.len(), 6);
    // Without the thread view nothing folds.
    app.update(Msg::Action(Action::ToggleThreads));
    app.update(Msg::Action(Action::CollapseAll));
    assert!(app.status.as_deref().unwrap_or("").contains("thread view"));
}

#[test]
fn archiving_the_open_message_of_a_collapsed_thread_leaves_the_rest_listed() {
    let mut app = threaded();
    app.update(Msg::Action(Action::CollapseThread));
    app.reader = Some(crate::app::view::Reader {
        id: 3,
        content: None,
        downloading: false,
        scroll: 0,
    });
    app.focus = crate::app::view::Pane::Reader;
    app.update(Msg::Action(Action::Archive));
    let ids: Vec<i64> = app.list.all_rows().map(|r| r.msg.id).collect();
    assert_eq!(ids, vec![1, 4, 2]);
}

#[test]
fn next_unread_opens_up_a_collapsed_conversation_on_its_unread_message() {
    let mut app = threaded();
    app.update(Msg::Action(Action::CollapseThread));
    // A newer conversation on top; below it x, collapsed, whose unread message is 3.
    load(&mut app, "1x 2y 3x 4x 9w");
    assert_eq!(shown(&app), vec![(9, 0), (1, 2), (2, 0)]);
    app.list.cursor = 0;
    app.update(Msg::Action(Action::NextUnread));
    assert_eq!(app.list.rows[app.list.cursor].msg.id, 3);
    assert_eq!(app.list.rows.len(), 5, "the conversation is open");
}

#[test]
fn a_selection_made_before_collapsing_stays_what_was_selected() {
    let mut app = threaded();
    app.list.cursor = 1; // message 3; selecting steps down to 4
    app.update(Msg::Action(Action::Select));
    app.update(Msg::Action(Action::Down)); // 2, in y
    app.update(Msg::Action(Action::Select));
    app.list.cursor = 0;
    app.update(Msg::Action(Action::CollapseThread));
    let fx = app.update(Msg::Action(Action::Archive));
    assert!(
        matches!(fx.first(), Some(Effect::Triage { ids, .. }) if ids == &vec![3, 2]),
        "{fx:?}"
    );
    let ids: Vec<i64> = app.list.all_rows().map(|r| r.msg.id).collect();
    assert_eq!(ids, vec![1, 4], "the rest of x is listed, opened up");
}

#[test]
fn a_mail_opened_from_elsewhere_opens_up_its_collapsed_conversation() {
    let mut app = threaded();
    app.update(Msg::Action(Action::CollapseAll));
    assert_eq!(app.list.reveal(4), Some(2));
    assert_eq!(app.list.rows.len(), 4);
    assert_eq!(app.list.reveal(2), Some(3));
    assert_eq!(app.list.reveal(99), None);
}

#[test]
fn select_matching_finds_messages_inside_collapsed_conversations_and_acts_on_just_those() {
    let mut app = threaded();
    app.update(Msg::Action(Action::CollapseAll));
    assert_eq!(shown(&app), vec![(1, 2), (2, 0)]);
    let generation = app.list.generation;
    app.update(Msg::Matched {
        generation,
        pattern: "subject:q3".into(),
        select: true,
        ids: Ok(vec![4]),
    });
    assert_eq!(
        app.status.as_deref(),
        Some("1 selected (1 inside collapsed conversations)")
    );
    let fx = app.update(Msg::Action(Action::Archive));
    assert!(
        matches!(fx.first(), Some(Effect::Triage { ids, .. }) if ids == &vec![4]),
        "{fx:?}"
    );
    let ids: Vec<i64> = app.list.all_rows().map(|r| r.msg.id).collect();
    assert_eq!(ids, vec![1, 3, 2], "the rest of x is still listed");
}

#[test]
fn selecting_a_collapsed_row_selects_its_whole_conversation_and_again_none_of_it() {
    let mut app = threaded();
    app.update(Msg::Action(Action::CollapseAll));
    app.list.cursor = 0;
    app.update(Msg::Action(Action::Select));
    assert_eq!(app.list.marked.len(), 3);
    app.list.cursor = 0;
    app.update(Msg::Action(Action::Select));
    assert!(app.list.marked.is_empty());
    app.list.cursor = 0;
    app.update(Msg::Action(Action::Select));
    let fx = app.update(Msg::Action(Action::Archive));
    assert!(
        matches!(fx.first(), Some(Effect::Triage { ids, .. }) if ids.len() == 3),
        "{fx:?}"
    );
}

#[test]
fn collapse_all_counts_only_conversations_of_two_or_more() {
    let mut app = threaded();
    load(&mut app, "1x 2y 3x 4x 5z");
    app.update(Msg::Action(Action::CollapseAll));
    assert_eq!(app.status.as_deref(), Some("1 conversation collapsed"));
    app.update(Msg::Action(Action::CollapseAll));
    assert_eq!(app.status.as_deref(), Some("1 conversation expanded"));
    load(&mut app, "2y 5z");
    app.update(Msg::Action(Action::CollapseAll));
    assert_eq!(
        app.status.as_deref(),
        Some("no conversation here has more than one message")
    );
}

#[test]
fn when_the_head_of_a_conversation_leaves_its_first_reply_heads_it_and_undo_puts_it_back() {
    let mut app = threaded();
    assert_eq!(
        app.list.rows.iter().map(|r| r.depth).collect::<Vec<_>>(),
        vec![0, 1, 1, 0]
    );
    app.list.marked.insert(1);
    app.update(Msg::Action(Action::Archive));
    let rows: Vec<(i64, u8)> = app.list.rows.iter().map(|r| (r.msg.id, r.depth)).collect();
    assert_eq!(rows, vec![(3, 0), (4, 1), (2, 0)]);
    app.update(Msg::Action(Action::Undo));
    let rows: Vec<(i64, u8)> = app.list.rows.iter().map(|r| (r.msg.id, r.depth)).collect();
    assert_eq!(rows, vec![(1, 0), (3, 1), (4, 1), (2, 0)]);
    // Collapsing still takes the whole conversation, its new head first.
    app.list.marked.insert(1);
    app.update(Msg::Action(Action::Archive));
    app.list.cursor = 0;
    app.update(Msg::Action(Action::CollapseThread));
    assert_eq!(shown(&app), vec![(3, 1), (2, 0)]);
}

#[test]
fn an_undo_puts_a_message_back_inside_its_conversation_collapsed_since() {
    let mut app = threaded();
    app.list.cursor = 1; // message 3, in x
    app.update(Msg::Action(Action::Archive));
    app.list.cursor = 0;
    app.update(Msg::Action(Action::CollapseThread));
    assert_eq!(shown(&app), vec![(1, 1), (2, 0)]);
    app.update(Msg::Action(Action::Undo));
    assert_eq!(shown(&app), vec![(1, 2), (2, 0)]);
    assert_eq!(
        app.list.cursor, 0,
        "on the conversation given back its message"
    );
}
