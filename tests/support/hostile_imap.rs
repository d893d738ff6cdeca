//! A hostile IMAP server on 127.0.0.1 (`hostile_imap.py` beside this file): just enough IMAP
//! to bring the client to one attack, chosen by name (see the script's docstring).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct HostileImap {
    child: Child,
    pub port: u16,
}

impl HostileImap {
    pub fn start(mode: &str) -> HostileImap {
        HostileImap::run("hostile_imap.py", mode.as_ref())
    }

    /// Runs another server script of tests/support that prints its port (`fake_gmail.py`).
    pub fn run(script: &str, arg: &std::ffi::OsStr) -> HostileImap {
        let script = format!("{}/tests/support/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(arg)
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot run /usr/bin/python3 (apt-get install python3)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{script} printed {line:?}, not its port"));
        HostileImap { child, port }
    }

    /// A tidings config with one account on this server, giving up after `timeout_seconds`.
    pub fn config_toml(&self, timeout_seconds: u64) -> String {
        format!(
            "[accounts.h]\nemail = \"me@example.test\"\n[accounts.h.imap]\nhost = \"127.0.0.1\"\n\
             port = {}\nsecurity = \"none\"\nuser = \"me\"\npassword = \"pw\"\n\
             timeout_seconds = {timeout_seconds}\n",
            self.port
        )
    }
}

impl Drop for HostileImap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
