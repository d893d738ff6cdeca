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

/// A search over INBOX and Archive listing an unread message of each, as `/is:unread` does.
fn search_with_unread_in_two_folders() -> App {
    let mut app = trash_with_rows(0);
    app.list.folders.push(FolderEntry {
        account: "w".into(),
        name: "Archive".into(),
        role: Some("archive".into()),
        total: 0,
        unread: 0,
    });
    for f in &mut app.list.folders {
        f.unread = 5;
    }
    app.list.current = Some(("w".into(), "INBOX".into()));
    app.list.search = Some("is:unread".into());
    let generation = app.list.generation;
    app.update(Msg::MessagesLoaded {
        generation,
        rows: Ok([(1, "INBOX"), (2, "Archive")]
            .iter()
            .map(|&(id, folder)| {
                let mut m = crate::app::view::test_summary(id, id, "new");
                m.folder = folder.into();
                m.seen = false;
                Row::new(m)
            })
            .collect()),
        complete: true,
    });
    app
}

fn unread(app: &App, folder: &str) -> u64 {
    let f = app.list.folders.iter().find(|f| f.name == folder);
    f.map_or(0, |f| f.unread)
}

#[test]
fn a_change_counts_each_message_in_its_own_folder_and_ends_with_the_stores_counts() {
    let mut app = search_with_unread_in_two_folders();
    app.list.marked.extend([1, 2]);
    let fx = app.update(Msg::Action(Action::ToggleRead));
    let Some(Effect::Triage { op, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    assert_eq!((unread(&app, "INBOX"), unread(&app, "Archive")), (4, 4));
    let fx = app.update(Msg::OpFinished { op, result: Ok(()) });
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadFolders)),
        "{fx:?}"
    );
    // A failed change: rolled back, and the counts read again too.
    app.list.cursor = 0;
    let fx = app.update(Msg::Action(Action::Archive));
    let Some(Effect::Triage { op, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    let fx = app.update(Msg::OpFinished {
        op,
        result: Err("NO".into()),
    });
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadFolders)),
        "{fx:?}"
    );
}

#[test]
fn an_undo_from_another_folder_reads_the_counts_and_the_list_again() {
    let mut app = search_with_unread_in_two_folders();
    app.list.search = None;
    let fx = app.update(Msg::Action(Action::Archive));
    let Some(Effect::Triage { op, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    assert_eq!(unread(&app, "INBOX"), 4);
    app.update(Msg::OpFinished { op, result: Ok(()) });
    // Over to Archive, where the undo cannot put the rows back itself.
    app.list.current = Some(("w".into(), "Archive".into()));
    app.list.loading = false;
    let fx = app.update(Msg::Action(Action::Undo));
    let Some(Effect::Undo { op, .. }) = fx.first().cloned() else {
        panic!("{fx:?}")
    };
    let fx = app.update(Msg::OpFinished { op, result: Ok(()) });
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadFolders)),
        "{fx:?}"
    );
    assert!(
        fx.iter().any(|e| matches!(e, Effect::LoadMessages { .. })),
        "{fx:?}"
    );
}

/// Delete while reading: the reader moves on to the next message, the bar keeps saying what
/// was deleted (not "1 message read" for the next one), and undo brings the reader back to the
/// message it deleted.
#[test]
fn delete_while_reading_says_so_and_undo_brings_the_reader_back() {
    let mut app = App::new(false);
    app.list.current = Some(("w".into(), "INBOX".into()));
    let generation = app.list.generation;
    app.update(Msg::MessagesLoaded {
        generation,
        rows: Ok((1..=3)
            .map(|id| {
                let mut m = crate::app::view::test_summary(id, 10 - id, "unread");
                m.seen = false;
                Row::new(m)
            })
            .collect()),
        complete: true,
    });
    app.update(Msg::Action(Action::Open));
    let first = app.reader.as_ref().map(|r| r.id);
    assert!(first.is_some());
    app.update(Msg::Action(Action::Delete));
    let next = app.reader.as_ref().map(|r| r.id);
    assert!(next.is_some() && next != first, "the reader moves on");
    let status = app.status.clone().unwrap_or_default();
    assert!(status.contains("(z to undo)"), "{status}");
    app.update(Msg::Action(Action::Undo));
    assert_eq!(app.reader.as_ref().map(|r| r.id), first);
    assert_eq!(app.selected_row().map(|r| r.msg.id), first);
}
