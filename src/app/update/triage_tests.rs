//! Delete in Trash erases: it asks first, and never offers an undo that cannot work.

use crate::app::action::Action;
use crate::app::input::InputKey;
use crate::app::msg::{Effect, Msg};
use crate::app::state::App;
use crate::app::view::{Change, FolderEntry, Mode, Row};

fn trash_with_rows(n: i64) -> App {
    let mut app = App::new(false);
    app.update(Msg::FoldersLoaded(Ok(["INBOX", "Trash"]
        .iter()
        .map(|name| FolderEntry {
            account: "w".into(),
            name: name.to_string(),
            role: Some(name.to_lowercase()),
            total: 0,
            unread: 0,
        })
        .collect())));
    app.list.current = Some(("w".into(), "Trash".into()));
    let generation = app.list.generation;
    app.update(Msg::MessagesLoaded {
        generation,
        rows: Ok((1..=n)
            .map(|id| {
                let mut m = crate::app::view::test_summary(id, id, "old");
                m.folder = "Trash".into();
                Row::new(m)
            })
            .collect()),
        complete: true,
    });
    app
}

#[test]
fn delete_in_trash_asks_first_and_a_no_keeps_the_mail() {
    let mut app = trash_with_rows(2);
    let fx = app.update(Msg::Action(Action::Delete));
    assert!(fx.is_empty(), "nothing is erased before the answer: {fx:?}");
    assert!(matches!(app.mode, Mode::ConfirmDelete { in_trash: 1, .. }));
    // Any key but y keeps the mail, and does nothing else (it never reaches the list).
    let fx = app.update(Msg::Input(InputKey::Char('d')));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.list.rows.len(), 2);
}

#[test]
fn a_confirmed_delete_in_trash_offers_no_undo() {
    let mut app = trash_with_rows(2);
    app.update(Msg::Action(Action::Delete));
    let fx = app.update(Msg::Input(InputKey::Char('y')));
    assert!(matches!(
        fx.as_slice(),
        [Effect::Triage {
            change: Change::Delete,
            ..
        }]
    ));
    assert_eq!(app.list.rows.len(), 1);
    let status = app.status.clone().unwrap_or_default();
    assert!(
        status.contains("for good") && !status.contains("undo"),
        "{status}"
    );
    let fx = app.update(Msg::Action(Action::Undo));
    assert!(fx.is_empty(), "an undo that cannot work is not offered");
    assert_eq!(app.status.as_deref(), Some("nothing to undo"));
}

#[test]
fn deleting_a_collapsed_thread_in_trash_counts_all_of_it() {
    let mut app = trash_with_rows(0);
    app.update(Msg::Action(Action::ToggleThreads));
    let generation = app.list.generation;
    let mut rows: Vec<Row> = (1..=3)
        .map(|id| {
            let mut m = crate::app::view::test_summary(id, id, "old");
            m.folder = "Trash".into();
            m.thread_root = Some("t".into());
            Row::new(m)
        })
        .collect();
    crate::app::threads::arrange(&mut rows, true);
    app.update(Msg::MessagesLoaded {
        generation,
        rows: Ok(rows),
        complete: true,
    });
    app.update(Msg::Action(Action::CollapseThread));
    app.update(Msg::Action(Action::Delete));
    assert!(matches!(app.mode, Mode::ConfirmDelete { in_trash: 3, .. }));
}
