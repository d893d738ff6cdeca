//! `tidings account add` end to end: discovery against a local autoconfig server and records
//! served by dnsmasq, the login checked against a real Dovecot and SMTP server, and the config
//! file gaining exactly one section with every other byte kept; `account list`; the shell
//! completions. Everything on 127.0.0.1.

use crate::support::dns::Dnsmasq;
use crate::support::dovecot::Dovecot;
use crate::support::http::{HttpServer, Reply};
use crate::support::smtp::SmtpServer;
use crate::support::tmux::Tmux;
use crate::support::TidingsEnv;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use tidings::accounts::discover::{discover, DiscoverOptions};
use tidings::config::Security;
use tidings::superdata::net::PrivateAddresses;

/// What the test SMTP server accepts; the Dovecot user is made to match, so one password
/// signs in to both, as with most providers.
const USER: &str = "smtpuser";
const PASSWORD: &str = "smtp-secret";
const EMAIL: &str = "smtpuser@example.test";

/// A hand-written config: comments, odd spacing, an account and other sections, no final
/// newline. `account add` must keep every byte of it.
fn config_before(dns: &Dnsmasq) -> String {
    format!(
        "# My tidings config — written by hand, keep these comments\n\
         theme = \"dark\"    # the dark one\n\n\
         [accounts.home]   # the old server\n\
         email = \"me@home.test\"\n\
         [accounts.home.imap]\n\
         host = \"127.0.0.1\"\nport = 1\nuser = \"me\"\npassword_command = \"echo x\"\n\n\
         [superdata]\n\
         # the test's DNS server (account add asks it too)\n\
         dns_server = \"{}\"\nallow_private_addresses = true\ntimeout_seconds = 5",
        dns.addr
    )
}

fn autoconfig_xml(dovecot: &Dovecot, smtp: &SmtpServer) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <displayName>Example</displayName>
    <incomingServer type="imap">
      <hostname>127.0.0.1</hostname>
      <port>{}</port>
      <socketType>plain</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>127.0.0.1</hostname>
      <port>{}</port>
      <socketType>plain</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>"#,
        dovecot.port, smtp.port
    )
}

/// Dovecot, the SMTP server, the autoconfig file at autoconfig.example.test, and the config.
struct Setup {
    dovecot: Dovecot,
    _smtp: SmtpServer,
    http: HttpServer,
    _dns: Dnsmasq,
    env: TidingsEnv,
    before: String,
}

fn setup() -> Setup {
    let dovecot = Dovecot::start();
    dovecot.add_user(USER, PASSWORD);
    let smtp = SmtpServer::start();
    let http = HttpServer::start(vec![(
        "/mail/config-v1.1.xml".into(),
        Reply::Body("text/xml", autoconfig_xml(&dovecot, &smtp)),
    )]);
    let dns = Dnsmasq::start(&[], &[("autoconfig.example.test", "127.0.0.1")]);
    let before = config_before(&dns);
    let env = TidingsEnv::new(&before);
    Setup {
        dovecot,
        _smtp: smtp,
        http,
        _dns: dns,
        env,
        before,
    }
}

impl Setup {
    /// `tidings account add ARGS` with `answers` piped in, one per line.
    fn add(&self, args: &[&str], answers: &[&str]) -> Output {
        let mut all = vec!["account", "add"];
        all.extend_from_slice(args);
        self.run_with(None, &all, answers)
    }

    /// The test keyring (keyring-core's file-backed sample store).
    fn keyring(&self) -> std::path::PathBuf {
        self.env.dir.path().join("keyring.ron")
    }

    /// `tidings ARGS` with `answers` piped in, with the test keyring or with none reachable
    /// (no session bus): the secret store's file then.
    fn run_with(
        &self,
        keyring: Option<&std::path::Path>,
        args: &[&str],
        answers: &[&str],
    ) -> Output {
        let mut command = tidings(&self.env, keyring, args);
        command.env(
            "TIDINGS_AUTOCONFIG_HTTP_PORT",
            self.http.addr.port().to_string(),
        );
        answer(&mut command, answers).wait_with_output().unwrap()
    }

    fn config(&self) -> String {
        std::fs::read_to_string(self.env.config_path()).unwrap()
    }
}

/// `tidings ARGS` in `env`, with the test keyring at `keyring` or with none reachable (no
/// session bus), whatever the environment the tests run in.
fn tidings(env: &TidingsEnv, keyring: Option<&std::path::Path>, args: &[&str]) -> Command {
    let mut command = env.command();
    command
        .args(args)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("TIDINGS_TEST_KEYRING");
    if let Some(k) = keyring {
        command.env("TIDINGS_TEST_KEYRING", k);
    }
    command
}

/// Starts `command` with `answers` piped in, one per line, and its output piped back.
fn answer(command: &mut Command, answers: &[&str]) -> Child {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for a in answers {
        writeln!(stdin, "{a}").unwrap();
    }
    drop(stdin);
    child
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_wizard_discovers_by_autoconfig_checks_the_login_and_adds_one_section() {
    let s = setup();
    let answers = [
        EMAIL,
        "Sam Smith",
        "", // IMAP server: as discovered
        "",
        "",
        "", // SMTP server
        "",
        "",
        "",     // user name
        "work", // account name
        PASSWORD,
    ];
    let out = s.run_with(Some(&s.keyring()), &["account", "add"], &answers);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        text(&out.stderr),
        s.dovecot.log()
    );
    let url = format!(
        "http://autoconfig.example.test:{}/mail/config-v1.1.xml",
        s.http.addr.port()
    );
    assert!(
        stdout.contains(&format!("from autoconfig {url}")),
        "each setting says where it came from: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "IMAP 127.0.0.1:{} none: signed in",
            s.dovecot.port
        )),
        "{stdout}"
    );
    assert!(stdout.contains("SMTP 127.0.0.1:"), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");

    let after = s.config();
    assert!(
        after.starts_with(&s.before),
        "every earlier byte is kept:\n{after}"
    );
    let added = &after[s.before.len()..];
    assert_eq!(added.matches("[accounts.").count(), 3, "{added}");
    assert!(added.starts_with("\n\n[accounts.work]\n"), "{added}");
    assert!(added.contains("email = \"smtpuser@example.test\"\n"));
    assert!(added.contains("display_name = \"Sam Smith\"\n"));
    assert!(added.contains(&format!("port = {}\n", s.dovecot.port)));
    assert!(added.contains("security = \"none\"\nuser = \"smtpuser\"\n"));
    assert!(
        !after.contains(PASSWORD),
        "the password never reaches the config"
    );

    // The password is in the keyring, and the config says so …
    assert!(added.contains("password_source = \"keyring\"\n"), "{added}");
    assert!(!added.contains("password_command"), "{added}");
    assert!(
        stdout.contains("Saved the password in the system keyring."),
        "{stdout}"
    );
    assert_eq!(text(&out.stderr), "", "no warning with a keyring");
    assert!(s.keyring().exists());
    assert!(
        !s.env.data_dir().join("secrets").exists(),
        "no file fallback"
    );
    // … and the account works: a sync signs in with it.
    let keyring = s.keyring();
    let ok = |args: &[&str]| crate::support::succeeded(args, s.run_with(Some(&keyring), args, &[]));
    ok(&["sync", "--account", "work"]);

    let list = ok(&["account", "list"]);
    let rows: Vec<&str> = list.lines().collect();
    assert_eq!(rows.len(), 3, "{list}");
    assert!(
        rows[1].starts_with("home ") && rows[1].contains("password") && rows[1].ends_with(" yes"),
        "{list}"
    );
    assert!(
        rows[2].starts_with("work ") && rows[2].contains(EMAIL) && rows[2].ends_with(" yes"),
        "{list}"
    );

    // logout forgets the password: the account says how to sign in again, in one line.
    assert!(
        ok(&["account", "logout", "work"]).contains("Signed out of work: password forgotten"),
        "{list}"
    );
    let list = ok(&["account", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("work ") && l.ends_with(" no: tidings account login work")),
        "{list}"
    );
    let sync = s.run_with(Some(&keyring), &["sync", "--account", "work"], &[]);
    assert_eq!(sync.status.code(), Some(1));
    assert_eq!(
        text(&sync.stderr),
        "tidings: sign in again: tidings account login work\n"
    );
    // login asks for the password, checks it with the server, and saves it only if it works.
    let wrong = s.run_with(
        Some(&keyring),
        &["account", "login", "work"],
        &["wrong-one"],
    );
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = text(&wrong.stderr);
    assert!(
        stderr.contains("login failed for smtpuser")
            && stderr.trim_end().ends_with("nothing saved"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-one"), "{stderr}");
    let login = s.run_with(Some(&keyring), &["account", "login", "work"], &[PASSWORD]);
    let login = crate::support::succeeded(&["account", "login"], login);
    assert!(login.contains("IMAP 127.0.0.1:"), "{login}");
    ok(&["sync", "--account", "work"]);
}

/// With no keyring reachable (a headless server), the wizard saves the password in a file only
/// the user can read, says so in one line, and no copy of it is anywhere else.
#[test]
fn without_a_keyring_the_password_goes_to_a_private_file_and_nowhere_else() {
    let s = setup();
    let answers = [EMAIL, "", "", "", "", "", "", "", "", "work", PASSWORD];
    let out = s.add(&[], &answers);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", text(&out.stdout));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one warning line: {stderr}");
    assert!(
        lines[0].starts_with("tidings: warning: no system keyring (")
            && lines[0].contains("secrets/secrets.json (readable only by you)"),
        "{stderr}"
    );
    let secrets = s.env.data_dir().join("secrets/secrets.json");
    assert_eq!(std::fs::metadata(&secrets).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(secrets.parent().unwrap()).unwrap().mode() & 0o777,
        0o700
    );
    let run = |args: &[&str]| crate::support::succeeded(args, s.run_with(None, args, &[]));
    run(&["sync", "--account", "work"]);
    assert!(run(&["account", "list"]).contains(" yes\n"));
    // The password is in that file and in no other: not the config, the log or the cache.
    let mut files = vec![s.env.config_path()];
    let mut dirs = vec![s.env.data_dir()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p != secrets {
                files.push(p);
            }
        }
    }
    assert!(
        files.iter().any(|f| f.ends_with("tidings.sqlite3")),
        "{files:?}"
    );
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !bytes
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "the password is in {}",
            f.display()
        );
    }
    assert!(std::fs::read_to_string(&secrets)
        .unwrap()
        .contains(PASSWORD));
    assert!(run(&["account", "logout", "work"]).contains("password forgotten"));
    assert!(!std::fs::read_to_string(&secrets)
        .unwrap()
        .contains(PASSWORD));
}

#[test]
fn a_wrong_password_is_refused_and_nothing_is_written() {
    let s = setup();
    let answers = [
        EMAIL,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "work",
        "not-the-password",
        "n", // write it anyway? no
    ];
    let out = s.add(&[], &answers);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("nothing written") && stderr.contains("login failed for smtpuser"),
        "one clear line: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("not-the-password") && !stdout.contains("not-the-password"));
    assert_eq!(s.config(), s.before, "the config is untouched");
    assert!(
        !s.env.data_dir().join("secrets").exists(),
        "no password kept"
    );

    // --yes never writes what failed either.
    let out = s.add(&[EMAIL, "--yes", "--password-command", "echo wrong"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("login failed"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(s.config(), s.before);
}

#[test]
fn yes_accepts_what_was_discovered_with_a_password_command() {
    let s = setup();
    let out = s.add(
        &[
            EMAIL,
            "--yes",
            "--name",
            "scripted",
            "--password-command",
            &format!("echo {PASSWORD}"),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let after = s.config();
    assert!(after.starts_with(&s.before));
    let added = &after[s.before.len()..];
    assert!(added.starts_with("\n\n[accounts.scripted]\n"), "{added}");
    assert_eq!(
        added
            .matches(&format!("password_command = \"echo {PASSWORD}\""))
            .count(),
        2,
        "the given command, for IMAP and SMTP: {added}"
    );
    assert!(
        !s.env.data_dir().join("secrets").exists(),
        "nothing stored when the user names the command"
    );
    // The name is taken now: a second run says so and writes nothing.
    let out = s.add(
        &[
            EMAIL,
            "--yes",
            "--name",
            "scripted",
            "--password-command",
            "echo x",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("taken"), "{}", text(&out.stderr));
    assert_eq!(s.config(), after);
}

#[test]
fn a_google_workspace_domain_is_recognised_by_its_mx_and_set_up_for_oauth2() {
    let dns = Dnsmasq::start(&[("workspace.test", "aspmx.l.google.com", 1)], &[]);
    let before = config_before(&dns);
    let env = TidingsEnv::new(&before);
    let out = env
        .command()
        .args([
            "account",
            "add",
            "boss@workspace.test",
            "--yes",
            "--client-id",
            "123-abc.apps.googleusercontent.com",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("from built-in table: Google Workspace (MX aspmx.l.google.com)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tidings account login workspace"),
        "{stdout}"
    );
    let after = std::fs::read_to_string(env.config_path()).unwrap();
    let added = &after[before.len()..];
    assert!(after.starts_with(&before));
    assert_eq!(
        added,
        "\n\n[accounts.workspace]\nemail = \"boss@workspace.test\"\nserver_saves_sent = true\n\n\
         [accounts.workspace.imap]\nhost = \"imap.gmail.com\"\nport = 993\nsecurity = \"tls\"\n\
         user = \"boss@workspace.test\"\nauth = \"oauth2\"\n\n\
         [accounts.workspace.smtp]\nhost = \"smtp.gmail.com\"\nport = 465\nsecurity = \"tls\"\n\
         user = \"boss@workspace.test\"\nauth = \"oauth2\"\n\n\
         [accounts.workspace.oauth2]\nprovider = \"google\"\n\
         client_id = \"123-abc.apps.googleusercontent.com\"\n"
    );
    let list = env.ok(&["account", "list"]);
    let row = list.lines().find(|l| l.starts_with("workspace ")).unwrap();
    assert!(
        row.contains("oauth2") && row.ends_with(" no: tidings account login workspace"),
        "{list}"
    );
}

/// A Google Workspace user's whole setup in one command: the domain is recognised by its MX,
/// the user points the servers at the test's (standing in for Gmail's), gives the client id and
/// secret, signs in in the browser (the test plays it), and the wizard checks IMAP and SMTP with
/// the token before it writes the section. The client secret and the tokens are kept out of
/// the config; the account then syncs.
#[test]
fn an_oauth2_account_is_signed_in_and_checked_before_it_is_written() {
    use crate::support::oauth::{request, OAuthServer, CLIENT_ID, SCOPE};
    use crate::support::smtp::SmtpOptions;
    use std::io::{BufRead, BufReader};
    const SECRET: &str = "tidings-test-secret";
    let oauth = OAuthServer::start("me", 3600);
    let dovecot = Dovecot::start_with(&oauth.dovecot_conf("xoauth2 oauthbearer"));
    dovecot.add_user("me", "password-not-used-by-tidings");
    dovecot.append(
        "me",
        "INBOX",
        &crate::support::dovecot::message(1, "Hello boss"),
    );
    let smtp = SmtpServer::start_with(SmtpOptions {
        oauth_introspect: Some(oauth.introspection_url()),
        ..Default::default()
    });
    let dns = Dnsmasq::start(&[("workspace.test", "aspmx.l.google.com", 1)], &[]);
    let before = config_before(&dns);
    let env = TidingsEnv::new(&before);
    let endpoints = format!(
        "{} {} {} {SCOPE}",
        oauth.url("/authorize"),
        oauth.url("/token"),
        oauth.url("/device_authorization")
    );
    let (dc_port, smtp_port) = (dovecot.port.to_string(), smtp.port.to_string());
    let answers = [
        "", // display name
        "127.0.0.1",
        &dc_port,
        "none",
        "127.0.0.1",
        &smtp_port,
        "none",
        "me",
        "", // sign in with oauth2
        "", // account name: workspace
        CLIENT_ID,
        SECRET,
    ];
    // Runs the wizard with `answers`, plays the browser, and returns what it printed.
    let add = |answers: &[&str]| {
        let mut command = tidings(
            &env,
            None,
            &["account", "add", "boss@workspace.test", "--no-browser"],
        );
        command.env("TIDINGS_TEST_OAUTH2_ENDPOINTS", &endpoints);
        let mut child = answer(&mut command, answers);
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut shown = String::new();
        let url = loop {
            let mut line = String::new();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "no sign-in URL: {shown}"
            );
            shown.push_str(&line);
            if let Some(url) = line.trim_end().strip_prefix("url: ") {
                break url.to_string();
            }
        };
        // The browser: the authorization server approves and sends it back to tidings.
        let (status, location, _) = request("GET", &url, "");
        assert_eq!(status, 302);
        let (status, _, body) = request("GET", &location.unwrap(), "");
        assert_eq!(status, 200, "{body}");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
        (shown, rest, child.wait_with_output().unwrap())
    };
    let (shown, rest, out) = add(&answers);
    assert!(
        shown.contains("from built-in table: Google Workspace"),
        "{shown}"
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{shown}{rest}\n{stderr}");
    assert!(
        rest.contains(&format!("IMAP 127.0.0.1:{dc_port} none: signed in"))
            && rest.contains(&format!("SMTP 127.0.0.1:{smtp_port} none: signed in")),
        "{rest}"
    );
    assert!(rest.contains("Open your inbox: tidings"), "{rest}");
    // No keyring here: one warning line says where the tokens went.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("secrets.json"), "{stderr}");

    let after = std::fs::read_to_string(env.config_path()).unwrap();
    assert!(after.starts_with(&before), "{after}");
    let added = &after[before.len()..];
    assert_eq!(added.matches("[accounts.workspace").count(), 4, "{added}");
    assert!(
        added.contains(&format!(
            "[accounts.workspace.oauth2]\nprovider = \"custom\"\nclient_id = \"{CLIENT_ID}\"\n\
             client_secret_source = \"keyring\"\n"
        )),
        "{added}"
    );
    assert!(
        !after.contains(SECRET),
        "the client secret stays out of the config"
    );
    let secrets = std::fs::read_to_string(env.data_dir().join("secrets/secrets.json")).unwrap();
    assert!(secrets.contains("oauth2:workspace:boss@workspace.test"));
    assert!(secrets.contains(SECRET));

    // Straight into the mailbox, with the saved token and client secret.
    let synced = tidings(&env, None, &["sync", "--account", "workspace"])
        .output()
        .unwrap();
    assert!(synced.status.success(), "{}", text(&synced.stderr));
    let listed = env.ok(&["list", "--account", "workspace", "--json"]);
    assert!(listed.contains("Hello boss"), "{listed}");
    let accounts = tidings(&env, None, &["account", "list"]).output().unwrap();
    let accounts = text(&accounts.stdout);
    assert!(
        accounts
            .lines()
            .any(|l| l.starts_with("workspace ") && l.contains(" oauth2 ") && l.ends_with(" yes")),
        "{accounts}"
    );

    // On a new machine (nothing saved), `account login` asks for the client secret first, then
    // signs in, here by device code.
    std::fs::remove_file(env.data_dir().join("secrets/secrets.json")).unwrap();
    let mut command = tidings(&env, None, &["account", "login", "workspace", "--device"]);
    let mut child = answer(&mut command, &[SECRET]);
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let code = loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            let out = child.wait_with_output().unwrap();
            panic!("no code: line: {}", text(&out.stderr));
        }
        if let Some(code) = line.trim_end().strip_prefix("code: ") {
            break code.to_string();
        }
    };
    oauth.approve(&code);
    std::io::Read::read_to_string(&mut reader, &mut String::new()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let secrets = std::fs::read_to_string(env.data_dir().join("secrets/secrets.json")).unwrap();
    assert!(secrets.contains(SECRET) && secrets.contains("oauth2:workspace:"));

    // A server that does not take the token: refused, nothing written, no secret left behind.
    let mut wrong = answers.to_vec();
    wrong[2] = "1"; // IMAP port: nothing listens there
    wrong.push("n"); // write it anyway? no
    let (_, rest, out) = add(&wrong);
    assert_eq!(out.status.code(), Some(1), "{rest}");
    assert!(rest.contains("IMAP 127.0.0.1:1 none: FAILED"), "{rest}");
    assert!(
        text(&out.stderr).contains("nothing written"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(env.config_path()).unwrap(), after);
    let secrets = std::fs::read_to_string(env.data_dir().join("secrets/secrets.json")).unwrap();
    assert!(!secrets.contains("workspace-2"), "{secrets}");
}

/// SRV records (RFC 6186), the .well-known autoconfig location and the usual host names, each
/// found by the library against dnsmasq and a local HTTP server.
#[tokio::test]
async fn discovery_falls_back_to_well_known_autoconfig_srv_and_host_names() {
    let http = HttpServer::start(vec![(
        "/.well-known/autoconfig/mail/config-v1.1.xml".into(),
        Reply::Body(
            "text/xml",
            "<clientConfig><emailProvider id=\"wk.test\"><incomingServer type=\"imap\">\
             <hostname>imap.wk.test</hostname><port>993</port><socketType>SSL</socketType>\
             <username>%EMAILADDRESS%</username></incomingServer>\
             <outgoingServer type=\"smtp\"><hostname>smtp.wk.test</hostname><port>465</port>\
             <socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>"
                .into(),
        ),
    )]);
    let dns = Dnsmasq::start_with_srv(
        &[],
        &[("wk.test", "127.0.0.1"), ("mail.names.test", "127.0.0.1")],
        &[
            ("_imaps._tcp.srv.test", Some(("imap.srv.test", 10993))),
            ("_submissions._tcp.srv.test", None),
            (
                "_submission._tcp.srv.test",
                Some(("smtp.provider.test", 10587)),
            ),
        ],
    );
    let opts = DiscoverOptions {
        dns_server: dns.addr.to_string(),
        private: PrivateAddresses::LoopbackOnly,
        timeout: Duration::from_secs(3),
        autoconfig_http_port: Some(http.addr.port()),
    };

    let wk = discover("ann@wk.test", &opts).await.unwrap();
    let imap = wk.imap.unwrap();
    assert_eq!(
        (
            imap.value.host.as_str(),
            imap.value.port,
            imap.value.security
        ),
        ("imap.wk.test", 993, Security::Tls)
    );
    assert!(
        imap.source.contains("/.well-known/autoconfig/"),
        "{}",
        imap.source
    );
    assert_eq!(wk.user.value, "ann@wk.test");

    let srv = discover("bo@srv.test", &opts).await.unwrap();
    let (imap, smtp) = (srv.imap.unwrap(), srv.smtp.unwrap());
    assert_eq!(
        (
            imap.value.host.as_str(),
            imap.value.port,
            imap.value.security
        ),
        ("imap.srv.test", 10993, Security::Tls)
    );
    assert_eq!(imap.source, "DNS SRV _imaps._tcp.srv.test");
    assert_eq!(
        (
            smtp.value.host.as_str(),
            smtp.value.port,
            smtp.value.security
        ),
        ("smtp.provider.test", 10587, Security::Starttls),
        "a \".\" target means not offered: the next record is used"
    );
    assert!(
        smtp.source.contains("outside srv.test"),
        "a target elsewhere is pointed out: {}",
        smtp.source
    );
    assert!(
        srv.tried
            .iter()
            .any(|t| t.contains("_submissions._tcp") && t.contains("no such service")),
        "{:?}",
        srv.tried
    );

    let names = discover("cy@names.test", &opts).await.unwrap();
    let (imap, smtp) = (names.imap.unwrap(), names.smtp.unwrap());
    assert_eq!(
        (imap.value.host.as_str(), imap.value.port),
        ("mail.names.test", 993)
    );
    assert_eq!(
        (
            smtp.value.host.as_str(),
            smtp.value.port,
            smtp.value.security
        ),
        ("mail.names.test", 587, Security::Starttls)
    );
    assert!(imap.source.contains("guess"), "{}", imap.source);
}

#[test]
fn completions_and_the_man_page_name_the_commands() {
    let env = TidingsEnv::new("");
    let bash = env.ok(&["completions", "bash"]);
    for cmd in ["account", "sync", "send", "demo", "completions"] {
        assert!(bash.contains(cmd), "{cmd} missing from the bash script");
    }
    assert!(bash.contains("complete -F _tidings"), "{bash}");
    let fish = env.ok(&["completions", "fish"]);
    assert!(fish.contains("complete -c tidings"), "{fish}");
    let man = env.ok(&["man"]);
    assert!(man.contains(".TH tidings 1"), "{man}");
}

/// `tidings` with no config, in a real terminal: it offers the wizard, which asks its questions,
/// reads the password without echoing it and writes the account; then the inbox opens on it.
#[test]
fn a_first_run_on_a_terminal_offers_the_wizard_and_reads_the_password_unseen() {
    let s = setup();
    s.dovecot.append(
        USER,
        "INBOX",
        &crate::support::dovecot::message(1, "Welcome aboard"),
    );
    let config = s.env.dir.path().join("first-run.toml");
    let dir = tempfile::tempdir().unwrap();
    let cmd = format!(
        "env {}={} {} --config {} --data-dir {}; sleep 60",
        "TIDINGS_AUTOCONFIG_HTTP_PORT",
        s.http.addr.port(),
        env!("CARGO_BIN_EXE_tidings"),
        config.display(),
        s.env.data_dir().display()
    );
    // The config names the test's DNS server, and no account yet.
    let before = config_before(&s._dns);
    let before = &before[before.find("[superdata]").unwrap()..];
    std::fs::write(&config, before).unwrap();
    let t = Tmux::run("first-run", dir, s.env.data_dir(), &cmd);
    t.wait_for("No account is set up yet");
    t.wait_for("Choice [a]:");
    t.keys(&["Enter"]);
    t.wait_for("Email address:");
    t.type_text(EMAIL);
    t.keys(&["Enter"]);
    t.wait_for("Your name");
    t.keys(&["Enter"]);
    t.wait_for("IMAP server [127.0.0.1]:");
    for _ in 0..7 {
        t.keys(&["Enter"]);
    }
    t.wait_for("Account name (for --account and the config) [example]:");
    t.keys(&["Enter"]);
    t.wait_for("Password for smtpuser:");
    t.type_text(PASSWORD);
    t.keys(&["Enter"]);
    let screen = t.wait_for("Checking the login");
    assert!(
        !screen.contains(PASSWORD),
        "the password was echoed:\n{screen}"
    );
    // Then the inbox opens on the new account and syncs it.
    t.wait_for("Welcome aboard");
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(
        after.starts_with(before) && after.contains("[accounts.example.smtp]"),
        "{after}"
    );
}

/// A send-only relay that takes mail without AUTH needs no sign-in, and `account list` says so;
/// a password that cannot be had is named without being shown.
#[test]
fn account_list_says_when_no_sign_in_is_needed_or_the_password_is_missing() {
    let env = TidingsEnv::new(
        "[accounts.relay]\nemail = \"me@lan.test\"\n\
         [accounts.relay.smtp]\nhost = \"127.0.0.1\"\nport = 25\nsecurity = \"none\"\nauth = \"none\"\n\n\
         [accounts.broken]\nemail = \"me@b.test\"\n\
         [accounts.broken.imap]\nhost = \"127.0.0.1\"\nport = 1\nuser = \"me\"\n\
         password_command = \"exit 3\"\n",
    );
    let list = text(
        &tidings(&env, None, &["account", "list"])
            .output()
            .unwrap()
            .stdout,
    );
    let row = |name: &str| {
        list.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{list}"))
            .to_string()
    };
    assert!(
        row("relay ").contains(" none ") && row("relay ").ends_with(" not needed (no sign-in)"),
        "{list}"
    );
    assert!(
        row("broken ").ends_with(" no (password_command exited with exit status: 3)"),
        "{list}"
    );
    // Its password is the user's own command's: nothing for login or logout to do.
    for action in ["login", "logout"] {
        let out = tidings(&env, None, &["account", action, "broken"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("keeps no secret in tidings"), "{stderr}");
    }
}

#[test]
fn without_a_terminal_a_first_run_says_how_to_set_an_account_up() {
    let env = TidingsEnv::new("");
    let out = env.command().stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no accounts configured") && stderr.contains("tidings account add"),
        "{stderr}"
    );
}
