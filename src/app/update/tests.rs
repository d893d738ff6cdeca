//! Unit tests of `App::update`: small, no store, no servers. Each drives one flow with messages
//! and checks the state and the effects it asks for, so a behaviour change fails here first.

use crate::app::action::Action;
use crate::app::compose::{ComposeEffect, ComposeMsg, ComposeOpen};
use crate::app::input::InputKey;
use crate::app::msg::{Effect, Msg};
use crate::app::state::App;
use crate::app::view::{Change, ComposeKind, Filter, Row};
use crate::store::ListFilter;

fn summary(id: i64, subject: &str) -> crate::store::MessageSummary {
    crate::app::view::test_summary(id, id, subject)
}

#[test]
fn results_of_a_superseded_search_are_dropped() {
    let mut app = App::new(false);
    app.list.current = Some(("w".into(), "INBOX".into()));
    app.update(Msg::Action(Action::Search));
    let fx = app.update(Msg::Input(InputKey::Char('a')));
    let Some(Effect::LoadMessages {
        generation: old, ..
    }) = fx.first().cloned()
    else {
        panic!("typing searches: {fx:?}");
    };
    let fx = app.update(Msg::Input(InputKey::Char('b')));
    let Some(Effect::LoadMessages {
        generation: new, ..
    }) = fx.first().cloned()
    else {
        panic!("typing searches: {fx:?}");
    };
    app.update(Msg::MessagesLoaded {
        generation: new,
        rows: Ok(vec![Row::new(summary(2, "ab"))]),
        complete: true,
    });
    app.update(Msg::MessagesLoaded {
        generation: old,
        rows: Ok(vec![Row::new(summary(1, "a")), Row::new(summary(3, "a"))]),
        complete: true,
    });
    assert_eq!(app.list.rows.len(), 1);
    assert_eq!(app.list.rows[0].msg.subject, "ab");
    assert_eq!(app.list.search.as_deref(), Some("ab"));
}

/// An app listing INBOX with one message, id 1.
fn one_message_listed() -> App {
    let mut app = App::new(false);
    app.list.current = Some(("w".into(), "INBOX".into()));
    app.list.generation = 1;
    app.update(Msg::MessagesLoaded {
        generation: 1,
        rows: Ok(vec![Row::new(summary(1, "x"))]),
        complete: true,
    });
    app
}

#[test]
fn a_failed_flag_change_is_rolled_back_with_the_reason() {
    let mut app = one_message_listed();
    let fx = app.update(Msg::Action(Action::ToggleFlag));
    let Some(Effect::Triage { op, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    assert!(app.list.rows[0].msg.flagged);
    app.update(Msg::OpFinished {
        op,
        result: Err("server said NO".into()),
    });
    assert!(!app.list.rows[0].msg.flagged);
    assert!(app
        .last_error
        .as_deref()
        .unwrap()
        .contains("server said NO"));
    assert!(
        app.triage.undo.is_empty(),
        "a rolled-back change is not undoable"
    );
}

/// An app showing INBOX of account `w` with rows 1..=n, as after the first list load.
pub(super) fn app_with_rows(n: i64) -> App {
    let mut app = App::new(false);
    app.list.current = Some(("w".into(), "INBOX".into()));
    app.list.generation = 1;
    app.update(Msg::MessagesLoaded {
        generation: 1,
        rows: Ok((1..=n)
            .map(|id| Row::new(summary(id, &format!("m{id}"))))
            .collect()),
        complete: true,
    });
    app
}

fn ids(app: &App) -> Vec<i64> {
    app.list.rows.iter().map(|r| r.msg.id).collect()
}

#[test]
fn archive_removes_the_row_at_once_and_asks_the_runtime_to_archive_it() {
    let mut app = app_with_rows(3);
    app.update(Msg::Action(Action::Down));
    let fx = app.update(Msg::Action(Action::Archive));
    assert_eq!(ids(&app), vec![1, 3]);
    assert_eq!(app.list.cursor, 1, "the cursor stays at the same place");
    let [Effect::Triage {
        op,
        ids: moved,
        change,
    }] = fx.as_slice()
    else {
        panic!("{fx:?}");
    };
    assert_eq!(
        (moved.as_slice(), change),
        ([2].as_slice(), &Change::Archive)
    );
    assert!(app.triage.inflight.contains_key(op));
    assert_eq!(
        app.status.as_deref(),
        Some("1 message archived (z to undo)")
    );
}

#[test]
fn delete_of_marked_rows_moves_all_of_them_to_trash() {
    let mut app = app_with_rows(4);
    app.update(Msg::Action(Action::Select));
    app.update(Msg::Action(Action::Down));
    app.update(Msg::Action(Action::Select));
    let fx = app.update(Msg::Action(Action::Delete));
    assert_eq!(ids(&app), vec![2, 4]);
    assert!(app.list.marked.is_empty());
    let [Effect::Triage {
        ids: moved, change, ..
    }] = fx.as_slice()
    else {
        panic!("{fx:?}");
    };
    assert_eq!(
        (moved.as_slice(), change),
        ([1, 3].as_slice(), &Change::Delete)
    );
}

#[test]
fn flag_sets_the_flag_at_once_and_a_second_press_clears_it() {
    let mut app = app_with_rows(2);
    let fx = app.update(Msg::Action(Action::ToggleFlag));
    assert!(app.list.rows[0].msg.flagged);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Triage {
            change: Change::Flagged(true),
            ..
        }]
    ));
    let fx = app.update(Msg::Action(Action::ToggleFlag));
    assert!(!app.list.rows[0].msg.flagged);
    assert!(matches!(
        fx.as_slice(),
        [Effect::Triage {
            change: Change::Flagged(false),
            ..
        }]
    ));
}

#[test]
fn undo_puts_an_archived_row_back_and_asks_to_take_the_change_back() {
    let mut app = app_with_rows(3);
    app.update(Msg::Action(Action::Down));
    let fx = app.update(Msg::Action(Action::Archive));
    let [Effect::Triage { op: archived, .. }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    let archived = *archived;
    let fx = app.update(Msg::Action(Action::Undo));
    assert_eq!(ids(&app), vec![1, 2, 3]);
    assert_eq!(app.list.cursor, 1, "the cursor is back on the restored row");
    let [Effect::Undo { op, of }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    assert_eq!(*of, archived);
    assert_ne!(*op, archived, "the undo is an operation of its own");
    assert!(app.triage.undo.is_empty() && app.triage.inflight.is_empty());
    assert_eq!(app.status.as_deref(), Some("undone: 1 message archived"));
    let fx = app.update(Msg::Action(Action::Undo));
    assert!(fx.is_empty());
    assert_eq!(app.status.as_deref(), Some("nothing to undo"));
}

#[test]
fn undo_of_a_flag_restores_it() {
    let mut app = app_with_rows(1);
    app.update(Msg::Action(Action::ToggleFlag));
    let fx = app.update(Msg::Action(Action::Undo));
    assert!(!app.list.rows[0].msg.flagged);
    assert!(matches!(fx.as_slice(), [Effect::Undo { .. }]));
}

pub(super) fn opened_composer(app: &mut App) {
    let sender = crate::mail::compose::Sender {
        account: "w".into(),
        from: crate::mail::compose::Mailbox::new(Some("Me"), "me@x.test"),
        signature: None,
    };
    let draft = crate::mail::compose::Draft::new(&sender);
    app.update(Msg::Compose(ComposeMsg::Ready(Ok(Box::new(ComposeOpen {
        kind: ComposeKind::New,
        draft,
        accounts: vec![("w".into(), sender.from.clone())],
        resumed: false,
        tracking: Default::default(),
        remind: None,
    })))));
}

#[test]
fn compose_asks_for_a_new_draft_and_opens_when_it_is_ready() {
    let mut app = app_with_rows(1);
    let fx = app.update(Msg::Action(Action::Compose));
    let [Effect::Compose(ComposeEffect::Open(req))] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    assert_eq!(req.kind, ComposeKind::New);
    assert_eq!(req.account.as_deref(), Some("w"));
    assert_eq!(req.source, None);
    assert!(
        app.compose.is_none(),
        "the composer opens when the draft is ready"
    );
    opened_composer(&mut app);
    assert!(app.compose.is_some());
}

#[test]
fn leaving_an_unchanged_composer_discards_its_draft() {
    let mut app = app_with_rows(1);
    opened_composer(&mut app);
    let fx = app.update(Msg::Action(Action::Back));
    assert!(app.compose.is_none());
    assert!(matches!(
        fx.as_slice(),
        [Effect::Compose(ComposeEffect::DiscardDraft { .. })]
    ));
}

#[test]
fn leaving_a_changed_composer_asks_and_s_saves_the_draft() {
    let mut app = app_with_rows(1);
    opened_composer(&mut app);
    app.update(Msg::Input(InputKey::Char('a')));
    let fx = app.update(Msg::Action(Action::Back));
    assert!(fx.is_empty());
    assert!(
        app.compose.as_ref().is_some_and(|c| c.prompt.is_some()),
        "it asks first"
    );
    let fx = app.update(Msg::Input(InputKey::Char('s')));
    assert!(app.compose.is_none());
    assert!(matches!(
        fx.as_slice(),
        [
            Effect::Compose(ComposeEffect::Autosave { flush: true, .. }),
            Effect::Compose(ComposeEffect::DraftToServer { .. })
        ]
    ));
}

#[test]
fn the_tracked_filter_reloads_across_the_account_with_the_cursor_on_top() {
    let mut app = app_with_rows(3);
    app.update(Msg::Action(Action::Bottom));
    let before = app.list.generation;
    let fx = app.update(Msg::Action(Action::FilterTracked));
    assert_eq!(app.list.filter, Filter::Tracked);
    assert_eq!(app.list.cursor, 0);
    assert!(app.list.loading);
    let [Effect::LoadMessages {
        generation, query, ..
    }] = fx.as_slice()
    else {
        panic!("{fx:?}");
    };
    assert_eq!(*generation, before + 1);
    assert_eq!(query.filter, ListFilter::Tracked);
    assert_eq!(query.account.as_deref(), Some("w"));
    assert_eq!(
        query.folder, None,
        "tracked mail is listed across the account's folders"
    );
}

#[test]
fn the_unread_filter_reloads_the_current_folder() {
    let mut app = app_with_rows(2);
    let fx = app.update(Msg::Action(Action::FilterUnread));
    assert_eq!(app.list.filter, Filter::Unread);
    let [Effect::LoadMessages { query, .. }] = fx.as_slice() else {
        panic!("{fx:?}");
    };
    assert_eq!(query.filter, ListFilter::Unread);
    assert_eq!(query.folder.as_deref(), Some("INBOX"));
}

#[test]
fn the_links_list_opens_and_copies_the_real_target() {
    use crate::app::tracking_urls::ReaderContent;
    let mut app = one_message_listed();
    app.update(Msg::Action(Action::Links));
    assert!(app
        .status
        .as_deref()
        .unwrap_or("")
        .contains("open a message"));
    app.update(Msg::Action(Action::Open));
    let mut content = ReaderContent::default();
    content.message.body =
        "Pricing: https://t.test/l/x1 and the plan https://acme.test/plan.".into();
    content.link_targets = vec![("https://t.test/l/x1".into(), "https://globex.test/p".into())];
    app.update(Msg::MessageLoaded {
        id: 1,
        content: Ok(content),
    });
    app.update(Msg::Action(Action::Links));
    let crate::app::view::Mode::Picker(p) = &app.mode else {
        panic!("L lists the links");
    };
    assert_eq!(
        p.items,
        [
            "[1] https://globex.test/p  (via your tracker)",
            "[2] https://acme.test/plan"
        ]
    );
    let fx = app.update(Msg::Action(Action::CopyLink));
    assert!(
        matches!(&fx[..], [Effect::Copy { text }] if text == "https://globex.test/p"),
        "{fx:?}"
    );
    // Only the copy's outcome may say "copied": there may be no clipboard at all.
    assert_eq!(app.status, None);
    app.update(Msg::Input(InputKey::Char('2')));
    let fx = app.update(Msg::Input(InputKey::Enter));
    assert!(
        matches!(&fx[..], [Effect::OpenUrl { url }] if url == "https://acme.test/plan"),
        "{fx:?}"
    );
}

#[test]
fn next_unread_skips_read_mail_and_space_pages_the_reader() {
    let mut app = App::new(false);
    app.list.current = Some(("w".into(), "INBOX".into()));
    app.list.generation = 1;
    let mut rows: Vec<Row> = (1..=4).map(|i| Row::new(summary(i, "x"))).collect();
    for r in &mut rows[..3] {
        r.msg.seen = true;
    }
    app.update(Msg::MessagesLoaded {
        generation: 1,
        rows: Ok(rows),
        complete: true,
    });
    app.update(Msg::Action(Action::NextUnread));
    assert_eq!(app.list.cursor, 3);
    app.update(Msg::Action(Action::NextUnread));
    assert_eq!(app.list.cursor, 3);
    assert!(app.status.as_deref().unwrap_or("").contains("no unread"));
    app.list.cursor = 0;
    app.update(Msg::Action(Action::Open));
    app.heights.reader = 10;
    app.update(Msg::Action(Action::Select));
    assert_eq!(app.reader.as_ref().map(|r| r.scroll), Some(9));
    assert!(
        app.list.marked.is_empty(),
        "Space in the reader pages, selects nothing"
    );
    // From the reader, next unread opens it.
    let fx = app.update(Msg::Action(Action::NextUnread));
    assert_eq!(app.reader.as_ref().map(|r| r.id), Some(4));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::LoadMessage { id: 4 })));
}

#[test]
fn mark_all_read_marks_every_unread_row_in_one_undoable_step() {
    let mut app = App::new(false);
    app.list.current = Some(("w".into(), "INBOX".into()));
    app.list.generation = 1;
    let mut rows: Vec<Row> = (1..=3).map(|i| Row::new(summary(i, "x"))).collect();
    rows[1].msg.seen = true;
    app.update(Msg::MessagesLoaded {
        generation: 1,
        rows: Ok(rows),
        complete: true,
    });
    let fx = app.update(Msg::Action(Action::MarkAllRead));
    assert!(
        matches!(&fx[..], [Effect::Triage { ids, change: Change::Seen(true), .. }] if ids == &[1, 3]),
        "{fx:?}"
    );
    assert!(app.list.rows.iter().all(|r| r.msg.seen));
    app.update(Msg::Action(Action::Undo));
    let seen: Vec<bool> = app.list.rows.iter().map(|r| r.msg.seen).collect();
    assert_eq!(seen, [false, true, false], "undo puts back what was unread");
}

#[test]
fn leaving_a_search_returns_to_the_message_selected_before_it() {
    for leave in [InputKey::Esc, InputKey::Enter] {
        let mut app = app_with_rows(6);
        app.list.cursor = 4;
        app.update(Msg::Action(Action::Search));
        app.update(Msg::Input(InputKey::Char('m')));
        // The search's results, the cursor on top of them.
        let generation = app.list.generation;
        app.update(Msg::MessagesLoaded {
            generation,
            rows: Ok(vec![Row::new(summary(6, "m6")), Row::new(summary(1, "m1"))]),
            complete: true,
        });
        app.update(Msg::Input(leave));
        if leave == InputKey::Enter {
            // Kept the search, then Esc leaves it from the list.
            app.update(Msg::Action(Action::Back));
        }
        assert!(app.list.search.is_none());
        let generation = app.list.generation;
        app.update(Msg::MessagesLoaded {
            generation,
            rows: Ok((1..=6)
                .rev()
                .map(|id| Row::new(summary(id, &format!("m{id}"))))
                .collect()),
            complete: true,
        });
        let id = app.list.rows[app.list.cursor].msg.id;
        assert_eq!(id, 5, "back on the message selected before the search");
    }
}
