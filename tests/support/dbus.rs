//! A private session D-Bus with a mock notification daemon (python3-dbusmock), so tests can read
//! back the Notify calls tidings makes. Nothing here touches the user's own session bus.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NotificationBus {
    pub address: String,
    log: PathBuf,
    bus: Child,
    daemon: Child,
    _dir: tempfile::TempDir,
}

impl NotificationBus {
    pub fn start() -> NotificationBus {
        assert!(
            std::path::Path::new("/usr/bin/dbus-daemon").exists(),
            "dbus-daemon not installed: apt-get install dbus (or run tests/run.sh)"
        );
        let ok = Command::new("/usr/bin/python3")
            .args(["-c", "import dbusmock"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "python3-dbusmock not installed: apt-get install python3-dbusmock (or run tests/run.sh)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bus = Command::new("/usr/bin/dbus-daemon")
            .args([
                "--session",
                "--nofork",
                "--print-address=1",
                &format!("--address=unix:path={}", dir.path().join("bus").display()),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read bus address");
        let address = line.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        let log = dir.path().join("notify.log");
        let daemon = Command::new("/usr/bin/python3")
            .args(["-m", "dbusmock", "--template", "notification_daemon", "-l"])
            .arg(&log)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbusmock");
        let me = NotificationBus {
            address,
            log,
            bus,
            daemon,
            _dir: dir,
        };
        me.wait_for_daemon();
        me
    }

    fn wait_for_daemon(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let out = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.Notifications",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .output();
            if let Ok(o) = out {
                if String::from_utf8_lossy(&o.stdout).contains("boolean true") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the mock notification daemon did not appear on the test bus");
    }

    /// Each Notify call as logged by dbusmock (one line per call: app name, id, icon, summary, body, …).
    pub fn notify_calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" Notify "))
            .map(str::to_string)
            .collect()
    }

    /// Waits until at least `n` Notify calls were made (or the timeout passes), then returns them all.
    pub fn wait_for_calls(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.notify_calls();
            if calls.len() >= n || Instant::now() >= deadline {
                return calls;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for NotificationBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}
