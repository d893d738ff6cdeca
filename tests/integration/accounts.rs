//! OAuth2 sign-in against real servers on 127.0.0.1: an Authlib authorization server
//! (tests/support/oauth_server.py), Dovecot checking tokens with its oauth2 passdb, and the SMTP
//! test server checking XOAUTH2 tokens with the same authorization server. The `tidings` binary
//! signs in by the loopback flow (the test plays the browser) and by the device flow (the test
//! approves the code), then syncs and sends with the token; tokens that expire are refreshed
//! unasked; a revoked grant asks the user to sign in again and loses nothing. Tokens go to the
//! keyring (keyring-core's file-backed sample store, through `TIDINGS_TEST_KEYRING`) or, with no
//! keyring — no session bus, or one without a Secret Service — to a 0600 file; no token reaches
//! the log, the config or the cache; everything written is private whatever the umask.

use crate::support::dbus::NotificationBus;
use crate::support::dovecot::{message, Dovecot};
use crate::support::oauth::{request, OAuthServer};
use crate::support::smtp::{SmtpOptions, SmtpServer};
use crate::support::tmux::Tmux;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const USER: &str = "me";

/// Where the account's tokens are kept in a test run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyring {
    /// keyring-core's file-backed sample store, standing in for Secret Service.
    Test,
    /// No keyring reachable: the private file in the data dir.
    None,
}

struct Servers {
    oauth: OAuthServer,
    dc: Dovecot,
    smtp: SmtpServer,
}

impl Servers {
    /// `mechanisms`: what the servers offer ("xoauth2 oauthbearer", or "xoauth2" alone).
    fn start(access_ttl: u64, mechanisms: &str) -> Servers {
        let oauth = OAuthServer::start(USER, access_ttl);
        let dc = Dovecot::start_with(&oauth.dovecot_conf(mechanisms));
        // The password user gives Dovecot a Maildir to fill; tidings itself only ever signs in
        // with tokens (the oauth2 passdb answers for XOAUTH2 and OAUTHBEARER).
        dc.add_user(USER, "password-not-used-by-tidings");
        dc.append(USER, "INBOX", &message(1, "Signed in"));
        // The SMTP server offers what Dovecot offers: OAUTHBEARER too, or XOAUTH2 alone.
        let smtp = SmtpServer::start_with(SmtpOptions {
            oauth_introspect: Some(oauth.introspection_url()),
            oauthbearer: mechanisms.contains("oauthbearer"),
            ..Default::default()
        });
        Servers { oauth, dc, smtp }
    }
}

struct Env {
    dir: tempfile::TempDir,
    keyring: Keyring,
    /// A session bus to run with (none by default).
    bus: Option<String>,
}

impl Env {
    fn new(s: &Servers, keyring: Keyring) -> Env {
        Env::with_ports(&s.oauth, s.dc.port, s.smtp.port, keyring)
    }

    fn with_ports(oauth: &OAuthServer, imap: u16, smtp: u16, keyring: Keyring) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "[accounts.work]\nemail = \"me@example.test\"\n\
             [accounts.work.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
             user = \"{USER}\"\nauth = \"oauth2\"\ntimeout_seconds = 10\n\
             [accounts.work.smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
             user = \"{USER}\"\nauth = \"oauth2\"\ntimeout_seconds = 10\n\
             [accounts.work.oauth2]\n{}",
            imap,
            smtp,
            oauth.config_section()
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Env {
            dir,
            keyring,
            bus: None,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn keyring_file(&self) -> PathBuf {
        self.dir.path().join("keyring.ron")
    }

    fn secrets_file(&self) -> PathBuf {
        self.data_dir().join("secrets/secrets.json")
    }

    /// `tidings` with this env's config and data dir, under a permissive umask (000), so that
    /// every mode it creates is its own doing.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tidings"));
        c.arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("TIDINGS_TEST_KEYRING")
            .env("TIDINGS_LOG", "debug")
            .stdin(Stdio::null());
        if self.keyring == Keyring::Test {
            c.env("TIDINGS_TEST_KEYRING", self.keyring_file());
        }
        if let Some(bus) = &self.bus {
            c.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
        // SAFETY: umask is async-signal-safe and touches nothing but the child's mask.
        unsafe {
            c.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        crate::support::succeeded(args, self.run(args))
    }

    /// Starts `tidings account login work …` and returns it with the lines it printed up to
    /// the one starting with `until`, and a thread collecting the rest of its stdout.
    fn start_login(&self, extra: &[&str], until: &str) -> (Child, Vec<String>, Rest) {
        let mut args = vec!["account", "login", "work"];
        args.extend_from_slice(extra);
        let mut child = self
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).unwrap();
            assert!(n > 0, "login ended before printing {until:?}: {lines:?}");
            let line = line.trim_end().to_string();
            let done = line.starts_with(until);
            lines.push(line);
            if done {
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        let rest = std::thread::spawn(move || reader.lines().map_while(Result::ok).collect());
        (child, lines, rest)
    }

    /// Signs in by the loopback flow, the test playing the browser: it follows the printed
    /// URL to the authorization server, which approves at once and redirects to tidings'
    /// listener on 127.0.0.1; following that redirect hands over the code.
    fn login_in_browser(&self) -> Output {
        let (child, lines, rest) = self.start_login(&["--no-browser"], "url: ");
        let url = lines
            .last()
            .unwrap()
            .strip_prefix("url: ")
            .unwrap()
            .to_string();
        let (status, location, _) = request("GET", &url, "");
        assert_eq!(status, 302, "the authorization server did not redirect");
        let location = location.expect("a redirect to the loopback listener");
        assert!(location.starts_with("http://127.0.0.1:"), "{location}");
        let (status, _, body) = request("GET", &location, "");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Signed in"), "{body}");
        wait(child, rest)
    }

    /// Signs in by the device flow: reads `url: ` and `code: `, approves the code as the user
    /// would on another device, and waits for tidings to finish.
    fn login_with_device(&self, oauth: &OAuthServer) -> Output {
        let (child, lines, rest) = self.start_login(&["--device"], "code: ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("url: http://127.0.0.1:")),
            "{lines:?}"
        );
        let code = lines.last().unwrap().strip_prefix("code: ").unwrap();
        oauth.approve(code);
        wait(child, rest)
    }

    /// The tokens as saved (keyring store or secrets file), to look for them elsewhere.
    fn saved_tokens(&self) -> Vec<String> {
        let text = match self.keyring {
            // The sample store writes a secret as a RON list of its bytes.
            Keyring::Test => {
                let ron = std::fs::read_to_string(self.keyring_file()).unwrap();
                let bytes: Vec<u8> = ron
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|n| n.parse().ok())
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Keyring::None => std::fs::read_to_string(self.secrets_file()).unwrap(),
        };
        let mut out = Vec::new();
        for prefix in ["at-", "rt-"] {
            let mut rest = text.as_str();
            while let Some(i) = rest.find(prefix) {
                let token: String = rest[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
                    .collect();
                if token.len() > 20 {
                    out.push(token);
                }
                rest = &rest[i + prefix.len()..];
            }
        }
        assert!(!out.is_empty(), "no tokens saved: {text}");
        out
    }
}

type Rest = std::thread::JoinHandle<Vec<String>>;

/// Waits for a login to end; its output's stdout is what it printed after the lines read.
fn wait(mut child: Child, rest: Rest) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("login did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = child.wait_with_output().unwrap();
    out.stdout = rest.join().unwrap().join("\n").into_bytes();
    out
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every file below `dir`, recursively.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn send(env: &Env, subject: &str) -> Output {
    std::fs::write(env.dir.path().join("body.txt"), "Sent with a token.\n").unwrap();
    let body = env.dir.path().join("body.txt");
    env.run(&[
        "send",
        "--to",
        "dana@acme.test",
        "--subject",
        subject,
        "--body-file",
        body.to_str().unwrap(),
    ])
}

#[test]
fn browser_login_then_sync_and_send_with_tokens_in_a_private_file() {
    let s = Servers::start(3600, "xoauth2 oauthbearer");
    let env = Env::new(&s, Keyring::None);
    // A data dir left readable by others (an older version, a careless copy) is tightened.
    std::fs::create_dir_all(env.data_dir()).unwrap();
    std::fs::set_permissions(env.data_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(env.data_dir().join("logs")).unwrap();
    let old_log = env.data_dir().join("logs/tidings.log.old");
    std::fs::write(&old_log, "old").unwrap();
    std::fs::set_permissions(&old_log, std::fs::Permissions::from_mode(0o644)).unwrap();

    let out = env.login_in_browser();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "login failed: {stderr}");
    // No keyring here: one warning line names the file the tokens went to.
    let warnings: Vec<_> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("secrets.json"), "{stderr}");
    assert_eq!(mode(&env.secrets_file()), 0o600);
    assert_eq!(mode(env.secrets_file().parent().unwrap()), 0o700);
    assert_eq!(s.oauth.issued("authorization_code"), 1);

    env.ok(&["sync"]);
    let listed = env.ok(&["list", "--json"]);
    assert!(listed.contains("Signed in 1"), "{listed}");
    // Both servers advertise OAUTHBEARER (RFC 7628), so both sign in with it.
    assert!(s.dc.log().contains("method=OAUTHBEARER"), "{}", s.dc.log());
    // A token refused early over OAUTHBEARER (the ^A acknowledgement) is refreshed once.
    s.oauth.revoke_access_tokens();
    let sent = send(&env, "By token");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let deliveries = s.smtp.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["auth"], "oauthbearer");
    assert_eq!(s.oauth.issued("refresh_token"), 1);

    // No token in the log, the config or the cache (database, WAL and all).
    let tokens = env.saved_tokens();
    let mut searched = files_below(&env.data_dir());
    searched.push(env.dir.path().join("config.toml"));
    for file in &searched {
        if file == &env.secrets_file() {
            continue;
        }
        let bytes = std::fs::read(file).unwrap();
        for t in &tokens {
            assert!(
                !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
                "a token is in {}",
                file.display()
            );
        }
    }
    // Everything written is private though the umask was 000, and the old dir was tightened.
    assert_eq!(mode(&env.data_dir()), 0o700);
    for file in files_below(&env.data_dir()) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
        assert_eq!(mode(file.parent().unwrap()), 0o700, "{}", file.display());
    }
    for name in [
        "tidings.sqlite3",
        "tidings.sqlite3-wal",
        "tidings.sqlite3-shm",
    ] {
        let p = env.data_dir().join(name);
        if name == "tidings.sqlite3" || p.exists() {
            assert_eq!(mode(&p), 0o600, "{name}");
        }
    }
    let logs = files_below(&env.data_dir().join("logs"));
    let log: String = logs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(log.contains("made private"), "{log}");

    // logout forgets the tokens: the next sync asks to sign in again.
    assert!(env
        .ok(&["account", "logout", "work"])
        .contains("Signed out"));
    let again = env.run(&["sync"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr)
        .contains("sign in again: tidings account login work"));
}

#[test]
fn device_login_to_the_keyring_and_expired_tokens_are_refreshed_unasked() {
    let s = Servers::start(5, "xoauth2 oauthbearer");
    let env = Env::new(&s, Keyring::Test);
    let out = env.login_with_device(&s.oauth);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "device login failed: {stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("system keyring"));
    assert!(
        env.keyring_file().exists(),
        "the test keyring holds the tokens"
    );
    assert!(
        !env.secrets_file().exists(),
        "no file fallback with a keyring"
    );
    // A fresh access token is used as it is, from the keyring, by the next process.
    env.ok(&["sync"]);
    assert_eq!(s.oauth.issued("refresh_token"), 0);

    // The access token lives 5 s: once it has lapsed, the next run refreshes it by itself.
    std::thread::sleep(Duration::from_millis(5200));
    env.ok(&["sync"]);
    assert_eq!(s.oauth.issued("refresh_token"), 1);

    // A token refused before its time (revoked early, a clock off) is refreshed once and the
    // command goes on, IMAP and SMTP alike.
    s.oauth.revoke_access_tokens();
    env.ok(&["sync"]);
    assert_eq!(s.oauth.issued("refresh_token"), 2);
    s.oauth.revoke_access_tokens();
    let sent = send(&env, "After a refresh");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(s.oauth.issued("refresh_token") >= 3);
    assert_eq!(s.smtp.deliveries().len(), 1);
    let tokens = env.saved_tokens();
    let config = std::fs::read_to_string(env.dir.path().join("config.toml")).unwrap();
    assert!(tokens.iter().all(|t| !config.contains(t.as_str())));
}

#[test]
fn a_revoked_grant_asks_to_sign_in_again_and_loses_no_mail() {
    // Dovecot offers XOAUTH2 only, as Gmail and Outlook do.
    let s = Servers::start(3600, "xoauth2");
    let env = Env::new(&s, Keyring::Test);
    assert!(env.login_with_device(&s.oauth).status.success());
    env.ok(&["sync"]);
    assert!(s.dc.log().contains("method=XOAUTH2"), "{}", s.dc.log());

    // A server that refuses a token still within its lifetime (revoked early) gets one more
    // try with a refreshed token: no user action.
    s.oauth.revoke_access_tokens();
    let refreshed = s.oauth.issued("refresh_token");
    env.ok(&["sync"]);
    assert_eq!(s.oauth.issued("refresh_token"), refreshed + 1);

    s.oauth.revoke_all();

    let sync = env.run(&["sync"]);
    assert_eq!(sync.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&sync.stderr);
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(
        lines,
        vec!["tidings: sign in again: tidings account login work"],
        "{stderr}"
    );
    // The cache still answers.
    assert!(env.ok(&["list", "--json"]).contains("Signed in 1"));

    // Mail written meanwhile waits in the outbox, with the same line as its reason.
    let sent = send(&env, "Queued while signed out");
    assert_eq!(
        sent.status.code(),
        Some(75),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let outbox = env.ok(&["outbox", "--json"]);
    assert!(outbox.contains("Queued while signed out"), "{outbox}");
    assert!(outbox.contains("sign in again"), "{outbox}");
    assert!(s.smtp.deliveries().is_empty());

    // The inbox opens on the cache and says the same line in its status bar.
    let cmd = format!(
        "env TIDINGS_CONFIG={} TIDINGS_DATA_DIR={} TIDINGS_TEST_KEYRING={} XDG_CONFIG_HOME={} {}",
        env.dir.path().join("config.toml").display(),
        env.data_dir().display(),
        env.keyring_file().display(),
        env.dir.path().display(),
        env!("CARGO_BIN_EXE_tidings")
    );
    let tui = Tmux::run("oauth2", tempfile::tempdir().unwrap(), env.data_dir(), &cmd);
    tui.wait_for("Signed in 1");
    tui.wait_for("sign in again: tidings account login work");
    drop(tui);

    // Signing in again delivers it.
    assert!(env.login_with_device(&s.oauth).status.success());
    env.ok(&["outbox", "flush"]);
    let deliveries = s.smtp.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["auth"], "xoauth2");
}

#[test]
fn the_trackers_database_is_private_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tracker/tracker.sqlite3");
    let mut c = Command::new(env!("CARGO_BIN_EXE_tidings"));
    c.args(["tracker", "user", "add", "alice", "--db"])
        .arg(format!("sqlite:{}", db.display()));
    // SAFETY: as in Env::command.
    unsafe {
        c.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    for file in files_below(db.parent().unwrap()) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[test]
fn a_session_bus_without_a_secret_service_means_the_private_file() {
    // Common on servers: a user D-Bus session, but no keyring daemon on it.
    let bus = NotificationBus::start();
    let oauth = OAuthServer::start(USER, 3600);
    let mut env = Env::with_ports(&oauth, 1, 1, Keyring::None);
    env.bus = Some(bus.address.clone());
    let out = env.login_with_device(&oauth);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one warning line: {stderr}");
    assert!(
        stderr.contains("warning") && stderr.contains("secrets.json"),
        "{stderr}"
    );
    assert!(
        stderr.contains("org.freedesktop.secrets"),
        "says why: {stderr}"
    );
    assert_eq!(mode(&env.secrets_file()), 0o600);
    assert!(env
        .ok(&["account", "logout", "work"])
        .contains("Signed out"));
    let left = std::fs::read_to_string(env.secrets_file()).unwrap();
    assert!(!left.contains("oauth2:work"), "{left}");
}
