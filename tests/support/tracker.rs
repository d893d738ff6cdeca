//! Runs the real `tidings tracker serve` binary on 127.0.0.1 (port 0) against a given database,
//! and creates tracker users through the CLI. Used by the tracker tests and by anything that
//! needs a live tracker (the events poller).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

pub struct TrackerProcess {
    child: Child,
    pub base_url: String,
    pub db_url: String,
    _home: tempfile::TempDir,
}

fn tidings(home: &std::path::Path) -> Command {
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
        let mut child = tidings(home.path())
            .args([
                "tracker",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--db",
                db_url,
            ])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tidings tracker serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the server's first line");
        let Some(base_url) = line.trim().strip_prefix("tidings tracker listening on ") else {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.kill();
            panic!("tracker did not start: stdout {line:?}, stderr {err:?}");
        };
        TrackerProcess {
            base_url: base_url.to_string(),
            child,
            db_url: db_url.to_string(),
            _home: home,
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
