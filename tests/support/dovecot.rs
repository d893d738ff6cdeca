//! A private Dovecot for tests: 127.0.0.1 only, random free ports, its own config, users and
//! Maildirs in a temp dir; stopped when dropped.
//!
//! ```ignore
//! let dc = Dovecot::start();                       // panics with install help if dovecot is missing
//! dc.add_user("alice", "secret");
//! let uid = dc.append("alice", "INBOX", &support::dovecot::message(1, "Hello"));
//! dc.set_flags("alice", "INBOX", uid, "\\Seen", true);
//! dc.expunge("alice", "INBOX", uid);
//! dc.seed_maildir("alice", "Big", 10_000, |i| message(i, "bulk")); // fast: files, no IMAP
//! dc.reset_uidvalidity("alice", "INBOX");          // next SELECT reports a new UIDVALIDITY
//! std::fs::write(cfg, dc.config_toml("work", "alice", "secret"));
//! ```
//! Ports: `port` (plain text, STARTTLS offered) and `tls_port` (implicit TLS), both with a
//! self-signed certificate (use `accept_invalid_certs = true`). Mail runs as user `nobody`.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const DOVECOT: &str = "/usr/sbin/dovecot";
const NOBODY_UID: u32 = 65534;
const NOGROUP_GID: u32 = 65534;

pub type Session = imap::Session<imap::Connection>;

pub struct Dovecot {
    dir: tempfile::TempDir,
    conf: PathBuf,
    pub port: u16,
    pub tls_port: u16,
}

/// One message as fetched over IMAP.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub uid: u32,
    /// Sorted, without `\Recent`.
    pub flags: Vec<String>,
    pub raw: Vec<u8>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A small, valid message; `i` makes its Message-ID unique.
pub fn message(i: usize, subject: &str) -> Vec<u8> {
    format!(
        "From: Dana Lee <dana@acme.test>\r\nTo: Alice <alice@example.test>\r\n\
         Subject: {subject} {i}\r\nDate: Tue, 1 Sep 2026 10:{:02}:00 +0000\r\n\
         Message-ID: <msg{i}.{subject_id}@acme.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello, this is message number {i}.\r\nRegards, Dana\r\n",
        i % 60,
        subject_id = subject.replace(' ', "-"),
    )
    .into_bytes()
}

impl Dovecot {
    /// Starts a fresh Dovecot; panics with how to install it when it is missing.
    pub fn start() -> Dovecot {
        Dovecot::start_with("")
    }

    /// Like [`Dovecot::start`], with extra lines for dovecot.conf (e.g.
    /// `imap_capability = +X-GM-EXT-1` to look like Gmail).
    pub fn start_with(extra_conf: &str) -> Dovecot {
        if !Path::new(DOVECOT).exists() {
            panic!("dovecot not installed: apt-get install dovecot-core dovecot-imapd (or run tests/run.sh)");
        }
        let dir = tempfile::Builder::new()
            .prefix("tidings-dovecot-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().to_path_buf();
        // The mail processes run as nobody: it must reach the homes below this dir.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        for d in ["run", "state", "home"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        std::fs::write(root.join("passwd"), "").unwrap();
        let status = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout"])
            .arg(root.join("key.pem"))
            .arg("-out")
            .arg(root.join("cert.pem"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl (apt-get install openssl)");
        assert!(
            status.success(),
            "openssl could not make a test certificate"
        );
        let port = free_port();
        let tls_port = free_port();
        let r = root.display();
        let conf = root.join("dovecot.conf");
        std::fs::write(
            &conf,
            format!(
                r#"protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
ssl = yes
ssl_cert = <{r}/cert.pem
ssl_key = <{r}/key.pem
disable_plaintext_auth = no
# A refused login answers at once (tests wait for a fresh passwd file by retrying).
auth_failure_delay = 0
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={r}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \Sent
    auto = create
  }}
  mailbox Drafts {{
    special_use = \Drafts
    auto = create
  }}
  mailbox Trash {{
    special_use = \Trash
    auto = create
  }}
  mailbox Archive {{
    special_use = \Archive
    auto = create
  }}
  mailbox Junk {{
    special_use = \Junk
    auto = create
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
{extra_conf}
"#
            ),
        )
        .unwrap();
        // The daemon inherits stdout/stderr: pipes would never reach EOF, so use a file.
        let errors = root.join("start.err");
        let status = Command::new(DOVECOT)
            .arg("-c")
            .arg(&conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&errors).unwrap())
            .status()
            .expect("run dovecot");
        assert!(
            status.success(),
            "dovecot failed to start: {}",
            std::fs::read_to_string(&errors).unwrap_or_default()
        );
        let dc = Dovecot {
            dir,
            conf,
            port,
            tls_port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "dovecot did not listen on {port}: {}",
                dc.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        dc
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("dovecot.log")).unwrap_or_default()
    }

    /// Adds a user with an empty mailbox (INBOX plus Sent, Drafts, Trash, Archive, Junk).
    pub fn add_user(&self, user: &str, password: &str) {
        self.add_users(&[(user, password)]);
    }

    /// Adds several users at once (one passwd rewrite, so one re-read by Dovecot).
    pub fn add_users(&self, users: &[(&str, &str)]) {
        let passwd = self.root().join("passwd");
        let mut text = std::fs::read_to_string(&passwd).unwrap();
        for (user, password) in users {
            let home = self.root().join("home").join(user);
            std::fs::create_dir_all(&home).unwrap();
            std::os::unix::fs::chown(&home, Some(NOBODY_UID), Some(NOGROUP_GID)).unwrap();
            text.push_str(&format!("{user}:{{PLAIN}}{password}:::::\n"));
        }
        std::fs::write(&passwd, text).unwrap();
        for (user, password) in users {
            self.first_login(user, password);
        }
    }

    /// Dovecot re-reads the passwd file at most once a second: a lookup earlier in this same
    /// second may still see the old file, so retry briefly. The LIST makes Dovecot create the
    /// Maildir and the auto-created folders, owned by its mail user (before anything delivers
    /// into them).
    fn first_login(&self, user: &str, password: &str) {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let client = imap::ClientBuilder::new("127.0.0.1", self.port)
                .mode(imap::ConnectionMode::Plaintext)
                .connect()
                .expect("connect to test dovecot");
            match client.login(user, password) {
                Ok(mut s) => {
                    s.list(Some(""), Some("*")).unwrap();
                    s.logout().unwrap();
                    break;
                }
                Err((e, _)) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err((e, _)) => panic!("new user {user} cannot log in: {e}\n{}", self.log()),
            }
        }
    }

    /// A logged-in session for driving the server as another client would.
    pub fn session(&self, user: &str, password: &str) -> Session {
        let client = imap::ClientBuilder::new("127.0.0.1", self.port)
            .mode(imap::ConnectionMode::Plaintext)
            .connect()
            .expect("connect to test dovecot");
        client
            .login(user, password)
            .map_err(|(e, _)| e)
            .unwrap_or_else(|e| panic!("login {user}: {e}\n{}", self.log()))
    }

    fn password(&self, user: &str) -> String {
        let text = std::fs::read_to_string(self.root().join("passwd")).unwrap();
        text.lines()
            .find_map(|l| {
                let (u, rest) = l.split_once(':')?;
                (u == user).then(|| {
                    rest.trim_start_matches("{PLAIN}")
                        .split(':')
                        .next()
                        .unwrap()
                        .to_string()
                })
            })
            .unwrap_or_else(|| panic!("no test user {user}"))
    }

    fn with_folder<T>(&self, user: &str, folder: &str, f: impl FnOnce(&mut Session) -> T) -> T {
        let mut s = self.session(user, &self.password(user));
        s.select(folder)
            .unwrap_or_else(|e| panic!("SELECT {folder}: {e}"));
        let out = f(&mut s);
        s.logout().unwrap();
        out
    }

    pub fn create_folder(&self, user: &str, folder: &str) {
        let mut s = self.session(user, &self.password(user));
        s.create(folder).unwrap();
        s.logout().unwrap();
    }

    /// APPENDs a message; returns its UID.
    pub fn append(&self, user: &str, folder: &str, raw: &[u8]) -> u32 {
        self.append_with_flags(user, folder, raw, &[])
    }

    pub fn append_with_flags(
        &self,
        user: &str,
        folder: &str,
        raw: &[u8],
        flags: &[imap::types::Flag<'static>],
    ) -> u32 {
        let mut s = self.session(user, &self.password(user));
        let appended = s
            .append(folder, raw)
            .flags(flags.iter().cloned())
            .finish()
            .unwrap();
        s.logout().unwrap();
        appended
            .uids
            .and_then(|u| u.first().cloned())
            .map(|u| match u {
                imap_proto::UidSetMember::Uid(u) => u,
                imap_proto::UidSetMember::UidRange(r) => *r.start(),
            })
            .expect("APPENDUID")
    }

    /// Adds (`add`) or removes flags, e.g. `"\\Seen \\Flagged"`.
    pub fn set_flags(&self, user: &str, folder: &str, uid: u32, flags: &str, add: bool) {
        let q = format!("{}FLAGS.SILENT ({flags})", if add { "+" } else { "-" });
        self.with_folder(user, folder, |s| s.uid_store(uid.to_string(), q).unwrap());
    }

    /// The server's flags on a message (`\Recent` left out).
    pub fn flags(&self, user: &str, folder: &str, uid: u32) -> Vec<String> {
        self.with_folder(user, folder, |s| {
            let f = s.uid_fetch(uid.to_string(), "(UID FLAGS)").unwrap();
            let mut out: Vec<String> = f
                .iter()
                .flat_map(|f| f.flags().iter().map(|fl| fl.to_string()))
                .filter(|f| f != "\\Recent")
                .collect();
            out.sort();
            out
        })
    }

    /// UIDs in a folder, ascending.
    pub fn uids(&self, user: &str, folder: &str) -> Vec<u32> {
        self.with_folder(user, folder, |s| {
            let mut v: Vec<u32> = s.uid_search("ALL").unwrap().into_iter().collect();
            v.sort_unstable();
            v
        })
    }

    /// Message-IDs of a folder's messages, sorted.
    pub fn message_ids(&self, user: &str, folder: &str) -> Vec<String> {
        self.with_folder(user, folder, |s| {
            let f = s
                .uid_fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                .unwrap();
            let mut out: Vec<String> = f
                .iter()
                .filter_map(|m| m.header())
                .map(|h| {
                    String::from_utf8_lossy(h)
                        .trim()
                        .trim_start_matches("Message-ID:")
                        .trim()
                        .to_string()
                })
                .filter(|s| !s.is_empty())
                .collect();
            out.sort();
            out
        })
    }

    /// Every message in a folder as another client reads it (`UID FETCH 1:* (UID FLAGS
    /// BODY.PEEK[])`, so nothing is marked seen), in UID order.
    pub fn messages(&self, user: &str, folder: &str) -> Vec<Fetched> {
        self.with_folder(user, folder, |s| {
            let f = s.uid_fetch("1:*", "(UID FLAGS BODY.PEEK[])").unwrap();
            let mut out: Vec<Fetched> = f
                .iter()
                .map(|m| {
                    let mut flags: Vec<String> = m
                        .flags()
                        .iter()
                        .map(|f| f.to_string())
                        .filter(|f| f != "\\Recent")
                        .collect();
                    flags.sort();
                    Fetched {
                        uid: m.uid.expect("UID in the FETCH answer"),
                        flags,
                        raw: m.body().expect("BODY[] in the FETCH answer").to_vec(),
                    }
                })
                .collect();
            out.sort_by_key(|m| m.uid);
            out
        })
    }

    pub fn expunge(&self, user: &str, folder: &str, uid: u32) {
        self.with_folder(user, folder, |s| {
            s.uid_store(uid.to_string(), "+FLAGS.SILENT (\\Deleted)")
                .unwrap();
            s.uid_expunge(uid.to_string()).unwrap();
        });
    }

    /// Where a folder's Maildir is (Maildir++: `.Name` below the INBOX dir).
    pub fn maildir(&self, user: &str, folder: &str) -> PathBuf {
        let root = self.root().join("home").join(user).join("Maildir");
        if folder == "INBOX" {
            root
        } else {
            root.join(format!(".{}", folder.replace('/', ".")))
        }
    }

    /// Makes the next SELECT report a new UIDVALIDITY (and renumber the folder's UIDs), as a
    /// server does after its index is rebuilt.
    pub fn reset_uidvalidity(&self, user: &str, folder: &str) {
        let dir = self.maildir(user, folder);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().to_string();
            if name == "dovecot-uidlist" || name.starts_with("dovecot.index") {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
    }

    /// Writes `n` messages straight into the folder's Maildir (`cur/`, seen when `i % 3 == 0`):
    /// thousands per second, where APPEND manages a few hundred. Creates the folder if needed.
    pub fn seed_maildir(
        &self,
        user: &str,
        folder: &str,
        n: usize,
        make: impl Fn(usize) -> Vec<u8>,
    ) {
        static BATCH: AtomicUsize = AtomicUsize::new(0);
        let dir = self.maildir(user, folder);
        if !dir.join("cur").exists() {
            self.create_folder(user, folder);
        }
        let cur = dir.join("cur");
        let batch = BATCH.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let flags = if i % 3 == 0 { "S" } else { "" };
            let raw = make(i);
            // ",S=size" lets Dovecot answer RFC822.SIZE without opening the file.
            let path = cur.join(format!(
                "1780000000.M{i}B{batch}P{},S={}:2,{flags}",
                std::process::id(),
                raw.len()
            ));
            std::fs::write(&path, raw).unwrap();
            std::os::unix::fs::chown(&path, Some(NOBODY_UID), Some(NOGROUP_GID)).unwrap();
        }
    }

    /// A tidings config for one account on this server (plain text on `port`).
    pub fn config_toml(&self, account: &str, user: &str, password: &str) -> String {
        format!(
            r#"[accounts.{account}]
email = "{user}@example.test"
display_name = "{user}"
[accounts.{account}.imap]
host = "127.0.0.1"
port = {port}
security = "none"
user = "{user}"
password = "{password}"
timeout_seconds = 10
"#,
            port = self.port
        )
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new(DOVECOT)
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        // Wait a moment for the master to exit so the temp dir can go.
        let pid_file = self.root().join("run").join("master.pid");
        let deadline = Instant::now() + Duration::from_secs(3);
        while pid_file.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
