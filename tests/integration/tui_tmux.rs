//! The real binary in a real terminal (tmux): keys in with `send-keys`, screens out with
//! `capture-pane`. Covers triage reaching the store, and hostile mail leaving the terminal alone.

use crate::support::tmux::Tmux;
use std::path::Path;
use std::time::{Duration, Instant};
use tidings::store::{ListQuery, Store};

/// Seeds a cache, writes a config with one account, and starts `tidings` in a detached tmux
/// session of its own (private socket) at 120×30.
fn start(name: &str) -> Tmux {
    // Port 9 on loopback: nothing listens, so nothing can reach a server while we test the UI.
    Tmux::app(
        name,
        "[accounts.work]\nemail = \"me@example.com\"\n[accounts.work.imap]\n\
         host = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\nuser = \"me\"\npassword = \"x\"\n",
        Some("work"),
    )
}

fn inbox(store: &Store) -> Vec<tidings::store::MessageSummary> {
    folder(store, "INBOX")
}

/// The messages the cache holds in `name`, of every account.
pub(crate) fn folder(store: &Store, name: &str) -> Vec<tidings::store::MessageSummary> {
    store
        .list_messages(&ListQuery {
            folder: Some(name.into()),
            ..Default::default()
        })
        .unwrap()
}

pub(crate) fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(15), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tmux_triage_keys_reach_the_cache_and_queue_for_the_server() {
    let t = start("triage");
    t.wait_for("Proposal for Q3");
    t.wait_for("4 unread");
    // Flag the top message, archive the next, delete the one after it.
    t.keys(&["!", "j", "a"]);
    t.wait_for("archived");
    t.keys(&["d"]);
    t.wait_for("deleted");
    let path: &Path = &t.data;
    assert!(path.exists());
    let store = t.store();
    wait_until("flag, archive and delete reach the cache", || {
        let msgs = inbox(&store);
        msgs.len() == 6 && msgs[0].flagged
    });
    let ops: Vec<(String, String)> = {
        let mut st = store
            .conn
            .prepare("SELECT kind, arg FROM pending_ops ORDER BY id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        ops,
        vec![
            ("flag".to_string(), "+\\Flagged".to_string()),
            ("move".to_string(), "Archive".to_string()),
            ("move".to_string(), "Trash".to_string()),
        ]
    );
    t.keys(&["q"]);
    wait_until("q quits", || {
        !t.tmux(&["list-panes"]).contains('%') || t.screen().trim().is_empty()
    });
}

#[test]
fn tmux_hostile_mail_leaves_title_and_screen_untouched() {
    let t = start("hostile");
    t.wait_for("Lunch on Thursday?");
    let title_before = t.tmux(&["display-message", "-p", "#{pane_title}"]);
    assert_eq!(title_before.trim(), "tidings-test-title");
    t.keys(&["/", "u", "r", "g", "e", "n", "t", "Enter", "Enter"]);
    let screen = t.wait_for("cleared?");
    // The escape sequences are shown as inert text or dropped, never obeyed: the title is ours,
    // the screen was not cleared (the status bar is still there) and no colour reset leaked.
    let title_after = t.tmux(&["display-message", "-p", "#{pane_title}"]);
    assert_eq!(title_after.trim(), "tidings-test-title");
    assert!(screen.contains("INBOX │ "), "{screen}");
    assert!(screen.contains("Click here"), "{screen}");
    assert!(!screen.contains('\u{1b}'));
}

#[test]
fn tmux_demo_opens_the_inbox_and_triage_works_on_it() {
    let t = Tmux::demo("demo");
    t.wait_for("INBOX — All");
    let store = t.store();
    let before = inbox(&store).len();
    t.keys(&["j", "a"]);
    t.wait_for("archived");
    wait_until("the archived demo message leaves the inbox", || {
        inbox(&store).len() == before - 1
    });
    t.keys(&["z"]);
    t.wait_for("undone");
    wait_until("undo brings it back", || inbox(&store).len() == before);
}

#[test]
fn tmux_flag_archive_and_delete_reach_the_imap_server() {
    use crate::support::dovecot::{message, Dovecot};
    let server = Dovecot::start();
    server.add_user("alice", "secret");
    // Dates rise with the number, so the list (newest first) shows 3, 2, 1.
    for (i, subject) in [(1, "Alpha"), (2, "Bravo"), (3, "Charlie")] {
        server.append("alice", "INBOX", &message(i, subject));
    }
    let t = Tmux::app("imap", &server.config_toml("work", "alice", "secret"), None);
    // The watcher's first sync fills the list; the UI never waited for it.
    t.wait_for("Alpha 1");
    t.wait_for("Charlie 3");
    let subject_of = |folder: &str| -> Vec<String> {
        server
            .message_ids("alice", folder)
            .into_iter()
            .map(|id| id.to_lowercase())
            .collect()
    };

    // `!` flags the top message (Charlie 3) on the server.
    t.keys(&["!"]);
    wait_until("the flag reaches the server", || {
        server.uids("alice", "INBOX").iter().any(|uid| {
            server
                .flags("alice", "INBOX", *uid)
                .iter()
                .any(|f| f == "\\Flagged")
        })
    });

    // `a` archives it: it leaves INBOX and lands in Archive on the server.
    t.keys(&["a"]);
    wait_until("the archive reaches the server", || {
        subject_of("Archive")
            .iter()
            .any(|id| id.contains("charlie"))
            && !subject_of("INBOX").iter().any(|id| id.contains("charlie"))
    });

    // `d` deletes the next one (Bravo 2) to Trash.
    t.wait_for("archived");
    t.keys(&["d"]);
    wait_until("the delete reaches the server", || {
        subject_of("Trash").iter().any(|id| id.contains("bravo")) && subject_of("INBOX").len() == 1
    });
    t.keys(&["q"]);
}

#[test]
fn tmux_a_key_hands_the_mouse_back_to_the_terminal_and_takes_it_again() {
    let t = start("mouse");
    t.wait_for("Proposal for Q3");
    let mouse_mode = || {
        t.tmux(&["display-message", "-p", "#{mouse_any_flag}"])
            .trim()
            .to_string()
    };
    wait_until("the app captures the mouse at start", || {
        mouse_mode() == "1"
    });
    t.keys(&["M-m"]);
    t.wait_for("mouse off");
    wait_until("capture is released", || mouse_mode() == "0");
    t.keys(&["M-m"]);
    t.wait_for("mouse on");
    wait_until("capture is back", || mouse_mode() == "1");
}

#[test]
fn tmux_sort_by_subject_select_by_sender_archive_and_undo() {
    let t = start("sort");
    t.wait_for("Proposal for Q3");
    // ^ opens the sort picker; "su" picks subject.
    t.keys(&["^"]);
    t.wait_for("Sort by");
    t.type_text("su");
    t.keys(&["Enter"]);
    let screen = t.wait_for("sorted by subject");
    // Re: is not part of the order, "[tidings]" sorts before letters; no cursor jump needed.
    let at = |s: &str| {
        screen
            .find(s)
            .unwrap_or_else(|| panic!("{s} not shown:\n{screen}"))
    };
    assert!(at("CI passed") < at("Invoice 2026"), "{screen}");
    assert!(at("Invoice 2026") < at("Lunch on Thursday"), "{screen}");
    assert!(at("Lunch on Thursday") < at("Proposal for Q3"), "{screen}");
    assert!(at("Proposal for Q3") < at("Your ticket"), "{screen}");
    // V selects by a search: Dana's two INBOX mails, not her mail in Projects/Acme.
    t.keys(&["V"]);
    t.wait_for("Select:");
    t.type_text("from:dana");
    t.keys(&["Enter"]);
    t.wait_for("2 selected");
    t.keys(&["a"]);
    t.wait_for("2 messages archived");
    let store = t.store();
    wait_until("the selection is archived", || inbox(&store).len() == 6);
    assert!(inbox(&store)
        .iter()
        .all(|m| m.from_addr != "dana@acme.test"));
    t.keys(&["z"]);
    t.wait_for("undone: 2 messages archived");
    wait_until("undo brings both back", || inbox(&store).len() == 8);
    // Still sorted by subject after the undo; the sort key twice reverses it.
    t.wait_for("sorted by subject");
    t.keys(&["^", "^"]);
    let screen = t.wait_for("sorted by subject, reversed");
    let (ticket, ci) = (screen.find("Your ticket"), screen.find("CI passed"));
    assert!(ticket.is_some() && ci.is_some() && ticket < ci, "{screen}");
}

/// `$EDITOR` owns the terminal while it runs: the input thread stops reading, so every key typed
/// there reaches the editor. The editor here reads its line only after a pause, as vi may be
/// slow to start; the line was typed before it read. Before, tidings' input reader took the
/// line (vi never saw a key, and an Esc typed there opened the composer's discard prompt later).
#[test]
fn tmux_the_external_editor_gets_every_key_typed_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("editor-started");
    let editor = dir.path().join("slow-editor");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/bash\ntouch {}\nsleep 1\nIFS= read -r -t 5 line </dev/tty\nprintf 'edited: %s\\n' \"$line\" >\"$1\"\n",
            started.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&editor).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&editor, perms).unwrap();
    let data = dir.path().join("demo");
    let cmd = format!(
        "env HOME={home} XDG_DATA_HOME={home}/data XDG_CONFIG_HOME={home}/config EDITOR={editor} {bin} demo --dir {data}",
        home = dir.path().display(),
        editor = editor.display(),
        bin = env!("CARGO_BIN_EXE_tidings"),
        data = data.display(),
    );
    let t = Tmux::run("editor", tempfile::tempdir().unwrap(), data, &cmd);
    t.wait_for("INBOX — All");
    t.compose("dana@acme.test", "Editor", "draft");
    t.keys(&["C-e"]);
    wait_until("the editor starts", || started.exists());
    t.type_text("typed in the editor");
    t.keys(&["Enter"]);
    // The editor's output, back in the composer (the terminal also echoed the line while the
    // editor had it, so the bare text proves nothing).
    let screen = t.wait_for("edited: typed in the editor");
    assert!(!screen.contains("Unsent draft"), "{screen}");
}
