//! The demo's SMTP server: a small receiver on 127.0.0.1 (a free port) that `tidings demo`
//! configures as the demo account's `[smtp]`, so mail written in the demo goes through the real
//! outbox → lettre → SMTP path. What it accepts counts as delivered: every recipient's copy is
//! kept as a file in `<data dir>/delivered/` (so the per-recipient tracked copies can be looked
//! at), and a copy addressed to the demo user lands in the demo INBOX in the store.
//!
//! The protocol (commands, replies, dot-unstuffing, AUTH) is the `mailin` crate's state
//! machine; the I/O around it is ours so that it is bounded: loopback only, a few connections
//! at a time, a line and message size limit, a timeout on every read and write and a deadline
//! per connection, AUTH PLAIN with a per-run random password, and a clean stop on drop.

use crate::config::{Security, ServerConfig};
use crate::mail::local_mailbox::{self, LocalFolder};
use crate::mail::sync::SyncEvent;
use crate::store::Store;
use mailin::{response, Action, AuthMechanism, Handler, Response, SessionBuilder};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// Largest message accepted (a 25 MB attachment is about 34 MB once base64-encoded).
pub const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;
/// Longest line accepted; RFC 5321 allows 1000 octets, mail in the wild sometimes more.
const MAX_LINE_BYTES: u64 = 64 * 1024;
/// Recipients per transaction (RFC 5321's minimum that servers must accept).
const MAX_RECIPIENTS: usize = 100;
/// Connections served at once; more are told to come back later (421).
const MAX_CONNECTIONS: usize = 8;
const IO_TIMEOUT: Duration = Duration::from_secs(30);
const SESSION_DEADLINE: Duration = Duration::from_secs(600);
/// Subfolder of the data dir with one `.eml` file per accepted copy and recipient.
pub const DELIVERED_DIR: &str = "delivered";

#[derive(Debug, thiserror::Error)]
pub enum LocalSmtpError {
    #[error("local SMTP server: {0}")]
    Start(String),
}

/// What the receiver needs to know.
#[derive(Debug, Clone)]
pub struct LocalSmtpOptions {
    /// `delivered/` is made here.
    pub data_dir: PathBuf,
    /// The store whose INBOX receives mail for `local_address`.
    pub db_path: PathBuf,
    /// The account (in the store) that owns `local_address`.
    pub account: String,
    pub local_address: String,
    /// Larger messages are refused (552); [`MAX_MESSAGE_BYTES`] unless a test wants less.
    pub max_message_bytes: usize,
}

impl LocalSmtpOptions {
    /// Options for `account`, whose address is `local_address`, with the default size bound.
    pub fn new(data_dir: &Path, db_path: &Path, account: &str, local_address: &str) -> Self {
        LocalSmtpOptions {
            data_dir: data_dir.to_path_buf(),
            db_path: db_path.to_path_buf(),
            account: account.to_string(),
            local_address: local_address.to_string(),
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }
}

/// What every connection shares.
struct Shared {
    opts: LocalSmtpOptions,
    user: String,
    password: String,
    sequence: AtomicU64,
    connections: AtomicUsize,
    events: Mutex<Option<UnboundedSender<SyncEvent>>>,
}

/// A running receiver. Stops (and joins its accept thread) when dropped.
pub struct LocalSmtp {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LocalSmtp {
    /// Binds 127.0.0.1 on a free port and starts accepting.
    pub fn start(opts: LocalSmtpOptions) -> Result<LocalSmtp, LocalSmtpError> {
        let err =
            |what: &str, e: &dyn std::fmt::Display| LocalSmtpError::Start(format!("{what}: {e}"));
        std::fs::create_dir_all(opts.data_dir.join(DELIVERED_DIR))
            .map_err(|e| err(&format!("{}", opts.data_dir.display()), &e))?;
        let listener =
            TcpListener::bind(("127.0.0.1", 0)).map_err(|e| err("binding 127.0.0.1", &e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| err("local address", &e))?;
        let shared = Arc::new(Shared {
            user: opts.local_address.clone(),
            password: hex::encode(rand::random::<[u8; 16]>()),
            opts,
            sequence: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            events: Mutex::new(None),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (shared_t, stop_t) = (shared.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("tidings-local-smtp".into())
            .spawn(move || accept_loop(&listener, &shared_t, &stop_t))
            .map_err(|e| err("starting its thread", &e))?;
        tracing::info!(%addr, "local SMTP server started");
        Ok(LocalSmtp {
            addr,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the received copies are kept.
    pub fn delivered_dir(&self) -> PathBuf {
        self.shared.opts.data_dir.join(DELIVERED_DIR)
    }

    /// The `[smtp]` section that sends through this server (plain SMTP on loopback, AUTH with
    /// this run's password).
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
            security: Security::None,
            user: self.shared.user.clone(),
            password: Some(self.shared.password.clone()),
            password_command: None,
            password_source: None,
            auth: Default::default(),
            saved_password: None,
            oauth2: None,
            accept_invalid_certs: false,
            timeout_seconds: IO_TIMEOUT.as_secs(),
        }
    }

    /// Folder changes from now on (a delivery into INBOX), for a UI to reload what it shows.
    /// A new subscriber replaces the previous one.
    pub fn subscribe(&self) -> UnboundedReceiver<SyncEvent> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        if let Ok(mut events) = self.shared.events.lock() {
            *events = Some(tx);
        }
        rx
    }
}

impl Drop for LocalSmtp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let mut stream = match conn {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("local SMTP: accept failed: {e}");
                continue;
            }
        };
        // Bound to 127.0.0.1, so only this machine can connect; still, check.
        let peer = match stream.peer_addr() {
            Ok(p) if p.ip().is_loopback() => p.ip(),
            _ => continue,
        };
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        if shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            let _ = stream.write_all(b"421 too many connections, try again later\r\n");
            continue;
        }
        let conn_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("tidings-local-smtp-conn".into())
            .spawn(move || {
                if let Err(e) = serve(stream, peer, &conn_shared) {
                    tracing::debug!("local SMTP connection ended: {e}");
                }
                conn_shared.connections.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!("local SMTP: cannot start a connection thread: {e}");
        }
    }
}

/// One connection: lines in, `mailin` decides, replies out.
fn serve(stream: TcpStream, peer: IpAddr, shared: &Arc<Shared>) -> std::io::Result<()> {
    let started = Instant::now();
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut builder = SessionBuilder::new("tidings-demo");
    builder
        .enable_auth(AuthMechanism::Plain)
        // Loopback only, with a password that lives as long as this process.
        .insecure_enable_plaintext_auth();
    let refused = Arc::new(AtomicBool::new(false));
    let mut session = builder.build(peer, Receiver::new(shared.clone(), refused.clone()));
    reply(&mut writer, &session.greeting())?;
    let mut line = Vec::with_capacity(1024);
    loop {
        if started.elapsed() > SESSION_DEADLINE {
            writer.write_all(b"421 session too long, closing\r\n")?;
            return Ok(());
        }
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            writer.write_all(b"500 line too long, closing\r\n")?;
            return Ok(());
        }
        let res = session.process(&line);
        match res.action {
            Action::NoReply => {}
            Action::Reply | Action::UpgradeTls => reply(&mut writer, &res)?,
            Action::Close => {
                reply(&mut writer, &res)?;
                return Ok(());
            }
        }
        if refused.load(Ordering::SeqCst) {
            // mailin stays in its DATA state after a refused end of data, so what the client
            // sends next would be taken as message text: it must start over on a new connection.
            return Ok(());
        }
    }
}

/// Sends a reply in one write: mailin formats it piece by piece, and small writes on a socket
/// meet the client's delayed ACK (tens of milliseconds per reply).
fn reply(writer: &mut TcpStream, res: &Response) -> std::io::Result<()> {
    writer.write_all(&res.buffer()?)
}

/// One connection's SMTP transaction state (mailin makes one handler per session).
struct Receiver {
    shared: Arc<Shared>,
    authenticated: bool,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
    too_big: bool,
    /// Set when the end of DATA was refused; the connection then closes.
    refused: Arc<AtomicBool>,
}

impl Receiver {
    fn new(shared: Arc<Shared>, refused: Arc<AtomicBool>) -> Receiver {
        Receiver {
            shared,
            refused,
            authenticated: false,
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
            too_big: false,
        }
    }
}

impl Handler for Receiver {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_string();
        self.to.clear();
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if self.to.len() >= MAX_RECIPIENTS {
            return Response::custom(452, "too many recipients".into());
        }
        self.to.push(to.to_string());
        response::OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        if !self.authenticated {
            return response::AUTHENTICATION_REQUIRED;
        }
        self.data.clear();
        self.too_big = false;
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        // Keep reading to the end of DATA (a reply in the middle would confuse the client);
        // the refusal comes at the end.
        if self.data.len() + buf.len() > self.shared.opts.max_message_bytes {
            self.too_big = true;
            self.data = Vec::new();
        } else if !self.too_big {
            self.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if self.too_big {
            self.refused.store(true, Ordering::SeqCst);
            return Response::custom(
                552,
                format!(
                    "message larger than {} bytes",
                    self.shared.opts.max_message_bytes
                ),
            );
        }
        let raw = std::mem::take(&mut self.data);
        match accept(&self.shared, &self.from, &self.to, raw) {
            Ok(()) => response::OK,
            Err(e) => {
                tracing::warn!("local SMTP: could not deliver: {e}");
                self.refused.store(true, Ordering::SeqCst);
                Response::custom(451, "local delivery failed, try again later".into())
            }
        }
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.authenticated = user == self.shared.user && password == self.shared.password;
        if self.authenticated {
            response::AUTH_OK
        } else {
            response::INVALID_CREDENTIALS
        }
    }
}

/// Keeps one copy per (distinct) recipient in `delivered/`, and files the copy addressed to the
/// local user in INBOX. Only then is the mail acknowledged, so "250" means it is on disk.
fn accept(shared: &Shared, from: &str, to: &[String], raw: Vec<u8>) -> Result<(), String> {
    let mut recipients: Vec<String> = Vec::new();
    for r in to {
        if !recipients.iter().any(|x| x.eq_ignore_ascii_case(r)) {
            recipients.push(r.clone());
        }
    }
    let now = chrono::Utc::now();
    let seq = shared.sequence.fetch_add(1, Ordering::SeqCst);
    let dir = shared.opts.data_dir.join(DELIVERED_DIR);
    for r in &recipients {
        let name = format!(
            "{}-{seq:04}-{}.eml",
            now.format("%Y%m%dT%H%M%S%3f"),
            safe_file_part(r)
        );
        write_atomically(&dir, &name, &raw).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let local = &shared.opts.local_address;
    if recipients.iter().any(|r| r.eq_ignore_ascii_case(local)) {
        let store = Store::open(&shared.opts.db_path).map_err(|e| e.to_string())?;
        let inbox = LocalFolder {
            account: &shared.opts.account,
            role: "inbox",
            default_name: "INBOX",
        };
        let filed = local_mailbox::deliver(&store, inbox, raw, false, now.timestamp())
            .map_err(|e| e.to_string())?;
        if let Ok(events) = shared.events.lock() {
            if let Some(tx) = events.as_ref() {
                let _ = tx.send(SyncEvent::FolderChanged {
                    account: shared.opts.account.clone(),
                    folder: filed.folder,
                });
            }
        }
    }
    tracing::info!(
        from,
        recipients = recipients.len(),
        "local SMTP accepted a mail"
    );
    Ok(())
}

/// An address as a file name part: letters, digits and `@._+-` kept, anything else `_`.
fn safe_file_part(addr: &str) -> String {
    addr.chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// Written under a temporary name and renamed, so a reader never sees half a message.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::smtp::{FailureKind, SmtpSession};
    use crate::store::ListQuery;

    fn start(max_message_bytes: usize) -> (tempfile::TempDir, LocalSmtp) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.sqlite3");
        Store::open(&db)
            .unwrap()
            .ensure_account("me", "me@x.test", None)
            .unwrap();
        let mut opts = LocalSmtpOptions::new(dir.path(), &db, "me", "me@x.test");
        opts.max_message_bytes = max_message_bytes;
        let server = LocalSmtp::start(opts).unwrap();
        (dir, server)
    }

    fn send(
        server: &LocalSmtp,
        to: &[&str],
        raw: &[u8],
    ) -> Result<(), crate::mail::smtp::SmtpError> {
        let cfg = server.server_config();
        let mut s = SmtpSession::connect(&cfg, "me@x.test", cfg.password.as_deref())?;
        let to: Vec<String> = to.iter().map(|t| t.to_string()).collect();
        s.send("me@x.test", &to, raw, &mut || Ok(()))
    }

    fn inbox_len(dir: &Path) -> usize {
        let store = Store::open(&dir.join("t.sqlite3")).unwrap();
        store
            .list_messages(&ListQuery {
                folder: Some("INBOX".into()),
                ..Default::default()
            })
            .map(|m| m.len())
            .unwrap_or(0)
    }

    #[test]
    fn an_oversized_mail_is_refused_and_a_small_one_then_delivered() {
        let (dir, server) = start(4000);
        let line = format!("{}\r\n", "x".repeat(70));
        let big = format!("Subject: big\r\n\r\n{}", line.repeat(100));
        let e = send(&server, &["me@x.test"], big.as_bytes()).unwrap_err();
        assert_eq!(e.kind, FailureKind::Permanent, "{e}");
        assert_eq!(
            std::fs::read_dir(server.delivered_dir()).unwrap().count(),
            0
        );
        assert_eq!(inbox_len(dir.path()), 0);

        let small = b"Subject: small\r\nMessage-ID: <s@x.test>\r\n\r\nhi\r\n";
        send(&server, &["me@x.test", "ME@x.test", "you@y.test"], small).unwrap();
        let mut files: Vec<String> = std::fs::read_dir(server.delivered_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files[0].ends_with("-me@x.test.eml") && files[1].ends_with("-you@y.test.eml"));
        let kept = std::fs::read(server.delivered_dir().join(&files[1])).unwrap();
        assert_eq!(kept, small);
        assert_eq!(inbox_len(dir.path()), 1);
    }

    #[test]
    fn connections_beyond_the_cap_are_told_to_come_back_later() {
        let (_dir, server) = start(MAX_MESSAGE_BYTES);
        let greeting = |c: &TcpStream| {
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut l = String::new();
            BufReader::new(c).read_line(&mut l).unwrap();
            l
        };
        let held: Vec<TcpStream> = (0..MAX_CONNECTIONS)
            .map(|_| TcpStream::connect(server.addr()).unwrap())
            .collect();
        for c in &held {
            assert!(greeting(c).starts_with("220 "));
        }
        let extra = TcpStream::connect(server.addr()).unwrap();
        assert!(greeting(&extra).starts_with("421 "));
        drop(held);
    }

    #[test]
    fn mail_without_login_and_overlong_lines_are_refused() {
        let (_dir, server) = start(MAX_MESSAGE_BYTES);
        let mut conn = TcpStream::connect(server.addr()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut replies = BufReader::new(conn.try_clone().unwrap());
        let mut reply = || {
            let mut l = String::new();
            replies.read_line(&mut l).unwrap();
            l
        };
        assert!(reply().starts_with("220 "));
        conn.write_all(b"EHLO test\r\n").unwrap();
        while !reply().starts_with("250 ") {}
        conn.write_all(b"MAIL FROM:<a@b.test>\r\n").unwrap();
        let refused = reply();
        assert!(refused.starts_with("5"), "{refused}");
        conn.write_all(&vec![b'A'; MAX_LINE_BYTES as usize])
            .unwrap();
        assert!(reply().starts_with("500 line too long"));
        assert_eq!(reply(), "", "the connection is closed");
    }

    #[test]
    fn file_names_never_escape_the_delivered_dir() {
        assert_eq!(safe_file_part("dana.lee@acme.test"), "dana.lee@acme.test");
        assert_eq!(safe_file_part("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_part("a/b\\c\0d"), "a_b_c_d");
        assert_eq!(safe_file_part(&"x".repeat(500)).len(), 100);
    }
}
