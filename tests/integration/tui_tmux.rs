//! The real binary in a real terminal (tmux): keys in with `send-keys`, screens out with
//! `capture-pane`. Covers triage reaching the store, and hostile mail leaving the terminal alone.

use crate::support::mailbox::seed;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tidings::store::{ListQuery, Store};

struct Tmux {
    socket: String,
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
}

impl Tmux {
    /// Seeds a cache, writes a config with one account, and starts `tidings` in a detached tmux
    /// session of its own (private socket) at 120×30.
    fn start(name: &str) -> Tmux {
        let ok = Command::new("tmux").arg("-V").output();
        assert!(
            ok.is_ok_and(|o| o.status.success()),
            "tmux is needed for this test: apt-get install tmux"
        );
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        seed(&data.join("tidings.sqlite3"), "work");
        let config = dir.path().join("config.toml");
        // Port 9 on loopback: nothing listens, so nothing can reach a server while we test the UI.
        std::fs::write(
            &config,
            "[accounts.work]\nemail = \"me@example.com\"\n[accounts.work.imap]\n\
             host = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\nuser = \"me\"\npassword = \"x\"\n",
        )
        .unwrap();
        let cmd = format!(
            "env TIDINGS_CONFIG={} TIDINGS_DATA_DIR={} XDG_CONFIG_HOME={} {}",
            config.display(),
            data.display(),
            dir.path().display(),
            env!("CARGO_BIN_EXE_tidings")
        );
        Tmux::run(name, dir, data, &cmd)
    }

    /// Runs `cmd` in a detached tmux session of its own (private socket) at 120×30.
    fn run(name: &str, dir: tempfile::TempDir, data: std::path::PathBuf, cmd: &str) -> Tmux {
        let socket = format!("tidings-{name}-{}", std::process::id());
        let t = Tmux {
            socket,
            _dir: dir,
            data,
        };
        t.tmux(&["new-session", "-d", "-x", "120", "-y", "30", cmd]);
        t.tmux(&["select-pane", "-T", "tidings-test-title"]);
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", k]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "screen never showed {text:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn store(&self) -> Store {
        Store::open(&self.data.join("tidings.sqlite3")).unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

fn inbox(store: &Store) -> Vec<tidings::store::MessageSummary> {
    store
        .list_messages(&ListQuery {
            folder: Some("INBOX".into()),
            ..Default::default()
        })
        .unwrap()
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(15), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tmux_triage_keys_reach_the_cache_and_queue_for_the_server() {
    let t = Tmux::start("triage");
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
    let t = Tmux::start("hostile");
    t.wait_for("Lunch on Thursday?");
    let title_before = t.tmux(&["display-message", "-p", "#{pane_title}"]);
    assert_eq!(title_before.trim(), "tidings-test-title");
    t.keys(&["/", "u", "r", "g", "e", "n", "t", "Enter", "Enter"]);
    let screen = t.wait_for("cleared?");
    // The escape sequences are shown as inert text or dropped, never obeyed: the title is ours,
    // the screen was not cleared (the status bar is still there) and no colour reset leaked.
    let title_after = t.tmux(&["display-message", "-p", "#{pane_title}"]);
    assert_eq!(title_after.trim(), "tidings-test-title");
    assert!(screen.contains(" work │ INBOX"), "{screen}");
    assert!(screen.contains("Click here"), "{screen}");
    assert!(!screen.contains('\u{1b}'));
}

#[test]
fn tmux_demo_opens_the_inbox_and_triage_works_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let cmd = format!(
        "env HOME={home} XDG_DATA_HOME={home}/data XDG_CONFIG_HOME={home}/config {} demo --dir {}",
        env!("CARGO_BIN_EXE_tidings"),
        data.display(),
        home = dir.path().display()
    );
    let t = Tmux::run("demo", dir, data, &cmd);
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
