//! Servers the integration tests start on 127.0.0.1 (one module per server), and helpers to run
//! the `tidings` binary against them.

#![allow(dead_code)]

pub mod chromium;
pub mod dbus;
pub mod dns;
pub mod dovecot;
pub mod hostile_imap;
pub mod http;
/// A small cached mailbox for UI tests.
pub mod mailbox;
pub mod oauth;
pub mod postgres;
pub mod smtp;
pub mod tmux;
pub mod tracker;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A throw-away config file and data dir for running the `tidings` binary.
pub struct TidingsEnv {
    pub dir: tempfile::TempDir,
}

impl TidingsEnv {
    pub fn new(config_toml: &str) -> TidingsEnv {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config_toml).unwrap();
        TidingsEnv { dir }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("tidings.sqlite3")
    }

    /// A `tidings` command with `--config` and `--data-dir` set.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tidings"));
        c.arg("--config")
            .arg(self.config_path())
            .arg("--data-dir")
            .arg(self.data_dir());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(args, self.run(args))
    }

    pub fn list_json(&self, folder: &str) -> Vec<serde_json::Value> {
        let out = self.ok(&["list", "--folder", folder, "--json"]);
        serde_json::from_str(&out).unwrap()
    }

    pub fn path(&self, p: &str) -> PathBuf {
        Path::new(self.dir.path()).join(p)
    }
}

/// The stdout of a `tidings` run that must have exited 0; else a panic with its stderr.
pub fn succeeded(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "tidings {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Panics with how to install it unless Debian's `/usr/bin/python3` can import `module`
/// (Debian's Python packages load only under the system interpreter).
pub fn require_python_module(module: &str, tests: &str, package: &str) {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the {tests} tests need Debian's {module} under /usr/bin/python3: \
         `sudo apt-get install {package}` (or run tests/run.sh)"
    );
}

/// Starts a test server script that prints `PORT <n>` on its first stdout line; returns the
/// process and the port. `what` names the server when it does not start.
pub fn spawn_server_printing_port(cmd: &mut Command, what: &str) -> (std::process::Child, u16) {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the {what}: {e}"));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("the {what} did not start: {line:?}"));
    (child, port)
}
