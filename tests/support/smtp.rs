//! A real SMTP server for tests: tests/support/smtp_server.py (aiosmtpd) run by /usr/bin/python3
//! on 127.0.0.1, delivering into Maildirs and logging every accepted transaction. Its answers can
//! be changed while it runs (`set_mode`), and it can be stopped and started again on the same port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const PYTHON: &str = "/usr/bin/python3";

pub struct SmtpServer {
    child: Option<Child>,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// Where mail for recipients without a route goes.
    pub maildir: PathBuf,
    routes: Vec<(String, PathBuf)>,
    sent_maildir: Option<PathBuf>,
    oauth_introspect: Option<String>,
    oauthbearer: bool,
    no_auth: bool,
    control: PathBuf,
    log: PathBuf,
    tls: Tls,
    _dir: tempfile::TempDir,
}

/// Options for [`SmtpServer::start_with`].
#[derive(Default, Clone)]
pub struct SmtpOptions {
    /// 0 = any free port.
    pub port: u16,
    /// Deliver mail for this address into this Maildir (e.g. a Dovecot user's).
    pub routes: Vec<(String, PathBuf)>,
    /// Also file every accepted mail here, like a server that saves sent mail itself.
    pub sent_maildir: Option<PathBuf>,
    pub tls: Tls,
    /// Also accept AUTH XOAUTH2, checking tokens at this introspection URL (an
    /// [`super::oauth::OAuthServer`]'s).
    pub oauth_introspect: Option<String>,
    /// With `oauth_introspect`: also offer AUTH OAUTHBEARER.
    pub oauthbearer: bool,
    /// A relay that offers no AUTH at all and takes mail without it.
    pub no_auth: bool,
}

/// How the server secures connections (with a fresh self-signed certificate).
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    #[default]
    None,
    /// STARTTLS offered and required before AUTH.
    Starttls,
    /// TLS from the first byte (port 465 style).
    Implicit,
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        SmtpServer::start_with(SmtpOptions::default())
    }

    pub fn start_with(opts: SmtpOptions) -> SmtpServer {
        super::require_python_module("aiosmtpd", "SMTP", "python3-aiosmtpd");
        let dir = tempfile::tempdir().unwrap();
        let mut s = SmtpServer {
            child: None,
            port: opts.port,
            user: "smtpuser".into(),
            password: "smtp-secret".into(),
            maildir: dir.path().join("Maildir"),
            routes: opts.routes,
            sent_maildir: opts.sent_maildir,
            oauth_introspect: opts.oauth_introspect,
            oauthbearer: opts.oauthbearer,
            no_auth: opts.no_auth,
            control: dir.path().join("mode"),
            log: dir.path().join("deliveries.jsonl"),
            tls: opts.tls,
            _dir: dir,
        };
        s.set_mode("ok");
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut cmd = Command::new(PYTHON);
        cmd.arg(&script)
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--maildir")
            .arg(&self.maildir)
            .arg("--control")
            .arg(&self.control)
            .arg("--log")
            .arg(&self.log)
            .arg("--user")
            .arg(&self.user)
            .arg("--password")
            .arg(&self.password);
        for (addr, dir) in &self.routes {
            cmd.arg("--deliver")
                .arg(format!("{addr}={}", dir.display()));
        }
        if let Some(sent) = &self.sent_maildir {
            cmd.arg("--sent-maildir").arg(sent);
        }
        if let Some(url) = &self.oauth_introspect {
            cmd.arg("--oauth-introspect").arg(url);
            if self.oauthbearer {
                cmd.arg("--oauthbearer");
            }
        }
        if self.no_auth {
            cmd.arg("--no-auth");
        }
        if self.tls != Tls::None {
            let (cert, key) = self.self_signed_cert();
            let mode = if self.tls == Tls::Starttls {
                "starttls"
            } else {
                "implicit"
            };
            cmd.args(["--tls", mode])
                .arg("--cert")
                .arg(cert)
                .arg("--key")
                .arg(key);
        }
        let (child, port) = super::spawn_server_printing_port(&mut cmd, "SMTP test server");
        self.port = port;
        self.child = Some(child);
    }

    /// A self-signed certificate for 127.0.0.1, made once per server with the openssl CLI.
    fn self_signed_cert(&self) -> (PathBuf, PathBuf) {
        let cert = self._dir.path().join("cert.pem");
        let key = self._dir.path().join("key.pem");
        if !cert.exists() {
            let status = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .args([
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                ])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap_or_else(|e| {
                    panic!(
                        "the TLS tests need the openssl CLI (`sudo apt-get install openssl`): {e}"
                    )
                });
            assert!(
                status.success(),
                "openssl could not make a test certificate"
            );
        }
        (cert, key)
    }

    /// What the server answers from now on (see smtp_server.py: ok, 4xx, 5xx, data-5xx,
    /// drop-after-data, hang-before-data SECS, hang-after-data SECS).
    pub fn set_mode(&self, mode: &str) {
        std::fs::write(&self.control, mode).unwrap();
    }

    /// Stops the server (the port becomes unreachable); [`SmtpServer::restart`] brings it back.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// One JSON object per accepted transaction: mail_from, rcpt_tos, message_id, size.
    pub fn deliveries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The raw messages in a Maildir's new/, oldest first.
    pub fn maildir_messages(dir: &Path) -> Vec<Vec<u8>> {
        let mut files: Vec<_> = std::fs::read_dir(dir.join("new"))
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }

    /// Config lines for an `[accounts.X.smtp]` section pointing at this server (trusting its
    /// self-signed certificate when it speaks TLS).
    pub fn config_section(&self) -> String {
        let security = match self.tls {
            Tls::None => "none",
            Tls::Starttls => "starttls",
            Tls::Implicit => "tls",
        };
        format!(
            "host = \"127.0.0.1\"\nport = {}\nsecurity = \"{security}\"\nuser = \"{}\"\n\
             password = \"{}\"\ntimeout_seconds = 5\naccept_invalid_certs = {}\n",
            self.port,
            self.user,
            self.password,
            self.tls != Tls::None
        )
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
