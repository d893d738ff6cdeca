//! Collapsed conversations in the real binary (tmux): one row, archived whole, back with undo.

use crate::support::tmux::Tmux;
use std::time::{Duration, Instant};
use tidings::store::ListQuery;

#[test]
fn tmux_a_collapsed_thread_is_archived_whole_and_undo_brings_it_back() {
    let t = Tmux::app(
        "threads",
        "[accounts.work]\nemail = \"me@example.com\"\n[accounts.work.imap]\n\
         host = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\nuser = \"me\"\npassword = \"x\"\n",
        Some("work"),
    );
    t.wait_for("4 unread");
    let store = t.store();
    let inbox = || {
        store
            .list_messages(&ListQuery {
                folder: Some("INBOX".into()),
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    let wait = |what: &str, n: usize| {
        let start = Instant::now();
        while inbox() != n {
            assert!(start.elapsed() < Duration::from_secs(15), "{what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let before = inbox();
    // Thread view, then mutt's Esc-v on the conversation of three.
    t.keys(&["t"]);
    t.wait_for("threads)");
    t.keys(&["M-v"]);
    let screen = t.wait_for("▸ (3) Proposal for Q3");
    assert!(!screen.contains("↳ Re: Proposal"), "{screen}");
    t.keys(&["a"]);
    let screen = t.wait_for("3 messages archived");
    assert!(!screen.contains("Proposal for Q3"), "{screen}");
    wait("the whole thread leaves the inbox", before - 3);
    t.keys(&["z"]);
    t.wait_for("undone");
    wait("undo brings the thread back", before);
    t.wait_for("▸ (3) Proposal for Q3");
}
