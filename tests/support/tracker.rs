//! Runs the real `tidings tracker serve` binary on 127.0.0.1 (port 0) against a given database,
//! and creates tracker users through the CLI. Used by the tracker tests and by anything that
//! needs a live tracker (the events poller).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub struct TrackerProcess {
    child: Child,
    pub base_url: String,
    pub db_url: String,
    /// `http://ADDR/metrics` when started with `--metrics-listen`.
    pub metrics_url: Option<String>,
    /// Everything the server wrote to stderr (its log) so far: read as it comes, so a chatty
    /// server never blocks on a full pipe.
    stderr: Arc<Mutex<String>>,
    _home: tempfile::TempDir,
}

/// `tidings` with a private data dir and config, and no `TIDINGS_TRACKER_DB` from outside.
pub fn tidings(home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tidings"));
    c.env("TIDINGS_DATA_DIR", home.join("data"))
        .env("TIDINGS_CONFIG", home.join("config.toml"))
        .env_remove("TIDINGS_TRACKER_DB");
    c
}

impl TrackerProcess {
    /// Starts the server and waits until it prints its address.
    pub fn start(db_url: &str, extra_args: &[&str]) -> TrackerProcess {
        let home = tempfile::tempdir().expect("temp dir");
        let mut command = tidings(home.path());
        command.args([
            "tracker",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db_url,
        ]);
        TrackerProcess::spawn(command, extra_args, db_url, home)
    }

    /// Starts `command` (a `tidings tracker serve` with its database arguments, maybe behind
    /// a wrapper such as `setpriv`) with `extra_args` and waits until it prints its address.
    pub fn spawn(
        mut command: Command,
        extra_args: &[&str],
        db_url: &str,
        home: tempfile::TempDir,
    ) -> TrackerProcess {
        let mut child = command
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tidings tracker serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            let sink = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("read the server's first line");
        let Some(base_url) = line.trim().strip_prefix("tidings tracker listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            // The stderr thread ends with the process; give it a moment to catch the last lines.
            std::thread::sleep(std::time::Duration::from_millis(100));
            let err = stderr.lock().unwrap().clone();
            panic!("tracker did not start: stdout {line:?}, stderr {err:?}");
        };
        let base_url = base_url.to_string();
        let metrics_url = extra_args.contains(&"--metrics-listen").then(|| {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("read the metrics line");
            line.trim()
                .strip_prefix("tidings tracker metrics on ")
                .unwrap_or_else(|| panic!("no metrics address in {line:?}"))
                .to_string()
        });
        TrackerProcess {
            base_url,
            metrics_url,
            child,
            db_url: db_url.to_string(),
            stderr,
            _home: home,
        }
    }

    /// What the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, as systemd stops a service, then waits (at most `timeout`) for the exit code.
    pub fn terminate(&mut self, timeout: std::time::Duration) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the stderr thread read the last lines.
                std::thread::sleep(std::time::Duration::from_millis(100));
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TrackerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Runs `tidings` with `args` (no config, a private data dir); returns stdout, panics on failure.
pub fn run_cli(args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("temp dir");
    let out = tidings(home.path())
        .args(args)
        .output()
        .expect("run tidings");
    assert!(
        out.status.success(),
        "tidings {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Creates a tracker user with the CLI and returns its API token (the last line of stdout).
pub fn add_user(db_url: &str, name: &str) -> String {
    let out = run_cli(&["tracker", "user", "add", name, "--db", db_url]);
    out.lines().last().expect("a token line").trim().to_string()
}

/// Runs `tidings` with `args` (no config, a private data dir), whatever its exit status:
/// (exit code, stdout, stderr).
pub fn run_cli_status(args: &[&str]) -> (Option<i32>, String, String) {
    let home = tempfile::tempdir().expect("temp dir");
    let out = tidings(home.path())
        .args(args)
        .output()
        .expect("run tidings");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
