//! The real binary in a real terminal: a detached tmux session on a private socket, keys in with
//! `send-keys`, screens out with `capture-pane`.

use std::process::Command;
use std::time::{Duration, Instant};
use tidings::store::Store;

pub struct Tmux {
    pub socket: String,
    _dir: tempfile::TempDir,
    pub data: std::path::PathBuf,
}

impl Tmux {
    /// Runs `cmd` in a detached tmux session of its own (private socket) at 120×30.
    pub fn run(name: &str, dir: tempfile::TempDir, data: std::path::PathBuf, cmd: &str) -> Tmux {
        let ok = Command::new("tmux").arg("-V").output();
        assert!(
            ok.is_ok_and(|o| o.status.success()),
            "tmux is needed for this test: apt-get install tmux (or run tests/run.sh)"
        );
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

    /// `tidings` on `config_toml`, with its config, data and XDG config dirs in a temporary dir;
    /// `seed_account` first fills the cache with the seeded mailbox under that account.
    pub fn app(name: &str, config_toml: &str, seed_account: Option<&str>) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if let Some(account) = seed_account {
            crate::support::mailbox::seed(&data.join("tidings.sqlite3"), account);
        }
        let config = dir.path().join("config.toml");
        std::fs::write(&config, config_toml).unwrap();
        let cmd = format!(
            "env TIDINGS_CONFIG={} TIDINGS_DATA_DIR={} XDG_CONFIG_HOME={} {}",
            config.display(),
            data.display(),
            dir.path().display(),
            env!("CARGO_BIN_EXE_tidings")
        );
        Tmux::run(name, dir, data, &cmd)
    }

    /// `tidings demo --dir <tmp>/demo` with its home, data and config dirs in a temporary dir.
    pub fn demo(name: &str) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("demo");
        let cmd = format!(
            "env HOME={home} XDG_DATA_HOME={home}/data XDG_CONFIG_HOME={home}/config {} demo --dir {}",
            env!("CARGO_BIN_EXE_tidings"),
            data.display(),
            home = dir.path().display()
        );
        Tmux::run(name, dir, data, &cmd)
    }

    /// Opens the composer (`c`), fills To, Subject and the body, and waits until the body shows.
    pub fn compose(&self, to: &str, subject: &str, body: &str) {
        self.keys(&["c"]);
        self.wait_for("New message");
        self.type_text(to);
        self.keys(&["Tab", "Tab", "Tab"]);
        self.type_text(subject);
        self.keys(&["Tab"]);
        self.type_text(body);
        self.wait_for(body);
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Types `text` literally (no key names).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    /// Pastes `text` as a terminal does: bracketed when the app asked for bracketed paste.
    pub fn paste(&self, text: &str) {
        // Through a file: a long text is too long for a tmux command line.
        let file = self._dir.path().join("paste.txt");
        std::fs::write(&file, text).unwrap();
        self.tmux(&["load-buffer", "-b", "tidings-test", file.to_str().unwrap()]);
        self.tmux(&["paste-buffer", "-p", "-d", "-b", "tidings-test"]);
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", k]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    pub fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "screen never showed {text:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn store(&self) -> Store {
        Store::open(&self.data.join("tidings.sqlite3")).unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}
