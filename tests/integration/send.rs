//! Sending through the outbox against a real SMTP server: delivery byte for byte, queueing on
//! outages and 4xx, failing on 5xx, and exactly-once across a kill -9.

use crate::support::dovecot::Dovecot;
use crate::support::smtp::{free_port, SmtpOptions, SmtpServer, Tls};
use mail_parser::{MessageParser, MimeHeaders};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tidings::mail::compose::{Attachment, Draft, Mailbox, ReplyKind, Sender};
use tidings::mail::drafts::{self, Autosaver};
use tidings::store::Store;

/// A config file and data dir for one test, with one account whose SMTP is `smtp_port`.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new(smtp: &SmtpServer) -> Env {
        Env::with_smtp_section(&smtp.config_section())
    }

    fn with_smtp_section(smtp_section: &str) -> Env {
        // IMAP points at a closed port: these tests run with `server_saves_sent`, so sending
        // never needs it; the Sent-filing tests use `Env::with_dovecot`.
        let imap = format!(
            "host = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
             user = \"me\"\npassword = \"x\"\ntimeout_seconds = 2\n",
            free_port()
        );
        Env::with_account("server_saves_sent = true\n", &imap, smtp_section)
    }

    /// The account's IMAP is user `me` on this Dovecot, `server_saves_sent` unset (so a server
    /// advertising Gmail's X-GM-EXT-1 is left to file sent mail itself).
    fn with_dovecot(smtp_section: &str, dc: &Dovecot) -> Env {
        Env::with_account("", &dovecot_imap(dc), smtp_section)
    }

    fn with_account(account_lines: &str, imap_section: &str, smtp_section: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { dir };
        env.write_config(account_lines, imap_section, smtp_section);
        env
    }

    fn write_config(&self, account_lines: &str, imap_section: &str, smtp_section: &str) {
        let config = format!(
            "[accounts.work]\nemail = \"me@example.com\"\ndisplay_name = \"Me Sender\"\n\
             {account_lines}[accounts.work.imap]\n{imap_section}[accounts.work.smtp]\n{smtp_section}"
        );
        std::fs::write(self.path("config.toml"), config).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tidings"));
        c.arg("--config")
            .arg(self.path("config.toml"))
            .arg("--data-dir")
            .arg(self.path("data"))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn config(&self) -> tidings::config::Config {
        tidings::config::Config::load(&self.path("config.toml")).unwrap()
    }

    fn store(&self) -> Store {
        Store::open(&self.path("data").join("tidings.sqlite3")).unwrap()
    }

    fn outbox_json(&self, all: bool) -> Vec<serde_json::Value> {
        let args: &[&str] = if all {
            &["outbox", "--json", "--all"]
        } else {
            &["outbox", "--json"]
        };
        let out = self.run(args);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `tidings send` of a simple mail, running in the background (to be killed).
    fn spawn_send(&self) -> std::process::Child {
        std::fs::write(self.path("body.txt"), "once\n").unwrap();
        let body = self.path("body.txt");
        // Create the database first: two processes opening a fresh one at once race on its schema.
        assert!(self.outbox_json(false).is_empty());
        self.command(&[
            "send",
            "--to",
            "dana@acme.test",
            "--subject",
            "exactly once",
            "--body-file",
            body.to_str().unwrap(),
        ])
        .spawn()
        .unwrap()
    }

    /// A simple mail to one recipient, body from a file.
    fn send_simple(&self, subject: &str) -> Output {
        std::fs::write(self.path("body.txt"), "Hello\n").unwrap();
        let body = self.path("body.txt");
        self.run(&[
            "send",
            "--to",
            "dana@acme.test",
            "--subject",
            subject,
            "--body-file",
            body.to_str().unwrap(),
        ])
    }
}

/// An Env whose client waits longer than the server stalls, so only the kill ends the send,
/// however slow the machine.
fn patient_env(smtp: &SmtpServer) -> Env {
    Env::with_smtp_section(
        &smtp
            .config_section()
            .replace("timeout_seconds = 5", "timeout_seconds = 60"),
    )
}

/// A new mail from the test account to `to`.
fn draft_to(to: &str, subject: &str) -> Draft {
    let me = Sender {
        account: "work".into(),
        from: Mailbox::new(None, "me@example.com"),
        signature: None,
    };
    let mut draft = Draft::new(&me);
    draft.to.push(Mailbox::parse(to).unwrap());
    draft.subject = subject.into();
    draft
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// IMAP lines for user `me` on this Dovecot.
fn dovecot_imap(dc: &Dovecot) -> String {
    format!(
        "host = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nuser = \"me\"\n\
         password = \"me-pw\"\ntimeout_seconds = 5\n",
        dc.port
    )
}

/// A Dovecot with the sender `me` (whose mail to me@example.com lands in its INBOX) and one
/// user per recipient (`NAME@acme.test`, password `NAME-pw`), and an SMTP server delivering
/// into their Maildirs, so delivered mail is read back over IMAP as its recipient would.
fn mail_servers(recipients: &[&str], opts: SmtpOptions) -> (Dovecot, SmtpServer) {
    mail_servers_with(Dovecot::start(), recipients, opts)
}

fn mail_servers_with(dc: Dovecot, recipients: &[&str], opts: SmtpOptions) -> (Dovecot, SmtpServer) {
    let passwords: Vec<String> = recipients.iter().map(|r| format!("{r}-pw")).collect();
    let mut users = vec![("me", "me-pw")];
    users.extend(
        recipients
            .iter()
            .copied()
            .zip(passwords.iter().map(String::as_str)),
    );
    dc.add_users(&users);
    let mut routes = vec![("me@example.com".to_string(), dc.maildir("me", "INBOX"))];
    for r in recipients {
        routes.push((format!("{r}@acme.test"), dc.maildir(r, "INBOX")));
    }
    let smtp = SmtpServer::start_with(SmtpOptions { routes, ..opts });
    (dc, smtp)
}

/// The one message in `user`'s INBOX, fetched over IMAP.
fn only_message(dc: &Dovecot, user: &str) -> Vec<u8> {
    let mut inbox = dc.messages(user, "INBOX");
    assert_eq!(inbox.len(), 1, "{user} got exactly one mail");
    inbox.remove(0).raw
}

fn has_header(raw: &[u8], name: &str) -> bool {
    let text = String::from_utf8_lossy(raw).to_ascii_lowercase();
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.starts_with(&format!("{name}:")) || head.contains(&format!("\n{name}:"))
}

#[test]
fn send_delivers_headers_body_html_and_attachments_byte_for_byte() {
    let (dc, smtp) = mail_servers(&["dana", "bob", "carol", "boss"], SmtpOptions::default());
    let env = Env::with_dovecot(&smtp.config_section(), &dc);
    let body = "Grüße aus dem Terminal.\n\nA line with a . dot\n.\nlast line\n";
    std::fs::write(env.path("body.txt"), body).unwrap();
    std::fs::write(env.path("body.html"), "<p>Grüße <b>HTML</b></p>").unwrap();
    // Every byte value, many times over (long base64 lines, NUL, CR and LF alone).
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let binary_name = "Übersicht März – €.bin";
    std::fs::write(env.path(binary_name), &binary).unwrap();
    std::fs::write(env.path("notes.txt"), "plain\r\nattachment\n").unwrap();
    let p = |n: &str| env.path(n).to_str().unwrap().to_string();
    let out = env.run(&[
        "send",
        "--to",
        "Dana Lee <dana@acme.test>",
        "bob@acme.test",
        "--cc",
        "carol@acme.test",
        "--bcc",
        "boss@acme.test",
        "--subject",
        "Q3 numbers — final",
        "--body-file",
        &p("body.txt"),
        "--html-file",
        &p("body.html"),
        "--attach",
        &p(binary_name),
        &p("notes.txt"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let message_id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(message_id.starts_with('<') && message_id.ends_with("@example.com>"));

    let log = smtp.deliveries();
    assert_eq!(log.len(), 1, "one transaction for everyone: {log:?}");
    assert_eq!(log[0]["mail_from"], "me@example.com");
    let rcpts: Vec<&str> = log[0]["rcpt_tos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        rcpts,
        vec![
            "dana@acme.test",
            "bob@acme.test",
            "carol@acme.test",
            "boss@acme.test"
        ]
    );

    // What each recipient reads over IMAP is exactly what the outbox committed before the
    // first attempt; the Bcc recipient's copy does not name them either.
    let store = env.store();
    let entry = &store.outbox_entries(&["sent"]).unwrap()[0];
    let (committed, sent_copy) = store.outbox_bytes(entry.id).unwrap().unwrap();
    for user in ["dana", "bob", "carol", "boss"] {
        let raw = only_message(&dc, user);
        assert!(
            raw == committed,
            "{user} got {} bytes, committed {} bytes; first difference at {:?}",
            raw.len(),
            committed.len(),
            raw.iter().zip(&committed).position(|(a, b)| a != b)
        );
        assert!(
            !has_header(&raw, "bcc"),
            "Bcc must not travel with the mail"
        );
        assert!(!String::from_utf8_lossy(&raw).contains("boss@"), "{user}");
    }
    let raw = only_message(&dc, "dana");
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    assert_eq!(m.subject(), Some("Q3 numbers — final"));
    assert_eq!(
        m.message_id().map(|i| format!("<{i}>")),
        Some(message_id.clone())
    );
    assert_eq!(m.date().map(|d| d.to_timestamp()), Some(entry.date));
    assert!(m.in_reply_to().is_empty() && m.references().is_empty());
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Me Sender"), Some("me@example.com"))
    );
    let to: Vec<_> = m
        .to()
        .unwrap()
        .iter()
        .map(|a| (a.name(), a.address().unwrap()))
        .collect();
    assert_eq!(
        to,
        vec![
            (Some("Dana Lee"), "dana@acme.test"),
            (None, "bob@acme.test")
        ]
    );
    let cc: Vec<_> = m
        .cc()
        .unwrap()
        .iter()
        .map(|a| a.address().unwrap())
        .collect();
    assert_eq!(cc, vec!["carol@acme.test"]);
    assert!(m.bcc().is_none());
    assert_eq!(m.body_text(0).unwrap().replace("\r\n", "\n"), body);
    assert_eq!(m.body_html(0).unwrap(), "<p>Grüße <b>HTML</b></p>");
    let atts: Vec<_> = m.attachments().collect();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0].attachment_name(), Some(binary_name));
    assert_eq!(atts[0].contents(), &binary[..]);
    assert_eq!(atts[1].attachment_name(), Some("notes.txt"));
    assert_eq!(atts[1].contents(), b"plain\r\nattachment\n");

    // The Sent copy: APPENDed once, \Seen, the committed bytes (with Bcc, for the sender).
    let sent = dc.messages("me", "Sent");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].flags.contains(&"\\Seen".to_string()),
        "{:?}",
        sent[0].flags
    );
    assert!(sent[0].raw == sent_copy);
    let filed = MessageParser::default().parse(&sent[0].raw[..]).unwrap();
    assert_eq!(
        filed.bcc().unwrap().first().unwrap().address(),
        Some("boss@acme.test")
    );
    assert_eq!(
        filed.message_id().map(|i| format!("<{i}>")),
        Some(message_id)
    );
    assert!(dc.messages("me", "INBOX").is_empty());

    let all = env.outbox_json(true);
    assert_eq!(
        (
            all[0]["state"].as_str(),
            all[0]["attempts"].as_u64(),
            all[0]["filed"].as_str()
        ),
        (Some("sent"), Some(1), Some("done"))
    );
    assert!(env.outbox_json(false).is_empty(), "nothing left waiting");

    // Flushing again files nothing more; nor does a flush after a crash that lost the record
    // of the APPEND (the copy is found by its Message-ID).
    assert_eq!(code(&env.run(&["outbox", "flush"])), 0);
    store.outbox_set_filed(entry.id, "pending", None).unwrap();
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.outbox_json(true)[0]["filed"], "done");
    assert_eq!(dc.messages("me", "Sent").len(), 1, "filed exactly once");
    assert_eq!(smtp.deliveries().len(), 1, "and sent exactly once");
}

#[test]
fn a_relay_without_auth_takes_mail_from_an_account_with_no_smtp_user_or_password() {
    let (dc, smtp) = mail_servers(
        &["dana"],
        SmtpOptions {
            no_auth: true,
            ..SmtpOptions::default()
        },
    );
    // No user, no password: what a LAN smarthost or a local MTA needs. `auth = "none"` says it
    // outright; leaving the credentials out says the same.
    for auth in ["", "auth = \"none\"\n"] {
        let env = Env::with_smtp_section(&format!(
            "host = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n{auth}timeout_seconds = 5\n",
            smtp.port
        ));
        let out = env.send_simple("through the relay");
        assert_eq!(code(&out), 0, "{auth:?}: {}", stderr(&out));
    }
    assert_eq!(dc.uids("dana", "INBOX").len(), 2);
    assert!(smtp.deliveries().iter().all(|d| d["auth"].is_null()));
}

#[test]
fn smtp_down_queues_with_exit_75_and_flush_delivers_exactly_once() {
    let (dc, mut smtp) = mail_servers(&["dana"], SmtpOptions::default());
    let env = Env::new(&smtp);
    smtp.stop();
    let out = env.send_simple("while the server is down");
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(stderr(&out).contains("outbox"), "{}", stderr(&out));
    let waiting = env.outbox_json(false);
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["state"], "queued");
    assert_eq!(waiting[0]["attempts"], 1);
    assert!(
        waiting[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{waiting:?}"
    );

    smtp.restart();
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(smtp.deliveries().len(), 1);
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        smtp.deliveries().len(),
        1,
        "a second flush must not send again"
    );
    assert!(env.outbox_json(false).is_empty());
    let all = env.outbox_json(true);
    assert_eq!(
        (all[0]["state"].as_str(), all[0]["attempts"].as_u64()),
        (Some("sent"), Some(2))
    );
    // Dana finds it in her INBOX once. `server_saves_sent = true`: no APPEND was tried.
    let raw = only_message(&dc, "dana");
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    assert_eq!(m.subject(), Some("while the server is down"));
    assert_eq!(
        m.message_id().map(|i| format!("<{i}>")).as_ref(),
        all[0]["message_id"].as_str().map(str::to_string).as_ref()
    );
    assert_eq!(all[0]["filed"], "skipped");
}

#[test]
fn greylisting_4xx_keeps_the_mail_queued_until_a_flush_succeeds() {
    let smtp = SmtpServer::start();
    smtp.set_mode("4xx");
    let env = Env::new(&smtp);
    let out = env.send_simple("greylisted");
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    let waiting = env.outbox_json(false);
    assert_eq!(waiting[0]["state"], "queued");
    assert!(
        waiting[0]["last_error"].as_str().unwrap().contains("450"),
        "{waiting:?}"
    );
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 75, "still greylisted: {}", stderr(&out));
    assert_eq!(env.outbox_json(false)[0]["attempts"], 2);
    smtp.set_mode("ok");
    let out = env.run(&["outbox", "flush", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results[0]["state"], "sent");
    assert_eq!(smtp.deliveries().len(), 1);
}

#[test]
fn permanent_5xx_fails_with_the_reason_and_can_be_retried_or_edited() {
    let smtp = SmtpServer::start();
    smtp.set_mode("5xx");
    let env = Env::new(&smtp);
    let out = env.send_simple("to nobody");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("550") && stderr(&out).contains("5.1.1"),
        "{}",
        stderr(&out)
    );
    let item = &env.outbox_json(false)[0];
    assert_eq!(item["state"], "failed");
    assert!(
        item["last_error"]
            .as_str()
            .unwrap()
            .contains("no such user"),
        "{item}"
    );
    let id = item["id"].as_i64().unwrap().to_string();

    // A flush does not hammer the server with a refused mail; only the user's retry does.
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.outbox_json(false)[0]["attempts"], 1);
    smtp.set_mode("ok");
    let out = env.run(&["outbox", "retry", &id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(smtp.deliveries().len(), 1);

    // Refused at the end of DATA, then taken back to the drafts for editing.
    smtp.set_mode("data-5xx");
    let out = env.send_simple("spammy");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("554") && stderr(&out).contains("spam"),
        "{}",
        stderr(&out)
    );
    let item = &env.outbox_json(false)[0];
    let id = item["id"].as_i64().unwrap().to_string();
    let out = env.run(&["outbox", "edit", &id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(env.outbox_json(false).is_empty());
    let out = env.run(&["drafts", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let saved: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved.as_array().unwrap().len(), 1);
    assert_eq!(saved[0]["subject"], "spammy");
    assert_eq!(saved[0]["message_id"], item["message_id"]);
    assert_eq!(saved[0]["to"][0], "dana@acme.test");
    assert_eq!(
        smtp.deliveries().len(),
        1,
        "the refused mail was never delivered"
    );
}

/// The mail reaches the server, which stalls before answering; tidings is killed right then.
/// After restart, the mail must not go out again on its own.
#[test]
fn kill_during_data_never_sends_twice() {
    let smtp = SmtpServer::start();
    smtp.set_mode("hang-after-data 30");
    let env = patient_env(&smtp);
    let mut child = env.spawn_send();
    wait_for("the server to receive the mail", || {
        smtp.deliveries().len() == 1
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    smtp.set_mode("ok");

    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("unconfirmed"));
    let item = &env.outbox_json(false)[0];
    assert_eq!(item["state"], "unconfirmed");
    assert_eq!(item["deliveries"][0]["state"], "unconfirmed");
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 0, "nothing is due: {}", stderr(&out));
    assert_eq!(
        smtp.deliveries().len(),
        1,
        "never resent without confirmation"
    );

    let id = item["id"].as_i64().unwrap().to_string();
    let out = env.run(&["outbox", "confirm", &id]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(env.outbox_json(false).is_empty());
    assert_eq!(env.outbox_json(true)[0]["state"], "sent");
    assert_eq!(smtp.deliveries().len(), 1);
}

/// Killed before DATA: nothing can have been accepted, so the next flush sends it, once.
#[test]
fn kill_before_data_sends_exactly_once_after_restart() {
    let (dc, smtp) = mail_servers(&["dana"], SmtpOptions::default());
    smtp.set_mode("hang-before-data 30");
    let env = patient_env(&smtp);
    let mut child = env.spawn_send();
    wait_for("the send to start", || {
        env.outbox_json(false)
            .first()
            .is_some_and(|i| i["state"] == "sending")
    });
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    smtp.set_mode("ok");
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(smtp.deliveries().len(), 1);
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(smtp.deliveries().len(), 1);
    let raw = only_message(&dc, "dana");
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    assert_eq!(m.subject(), Some("exactly once"));
}

#[test]
fn connection_cut_after_data_is_unconfirmed_not_resent() {
    let smtp = SmtpServer::start();
    smtp.set_mode("drop-after-data");
    let env = Env::new(&smtp);
    let out = env.send_simple("cut");
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(stderr(&out).contains("confirm"), "{}", stderr(&out));
    smtp.set_mode("ok");
    env.run(&["outbox", "flush"]);
    assert_eq!(smtp.deliveries().len(), 1);
    assert_eq!(env.outbox_json(false)[0]["state"], "unconfirmed");
}

#[test]
fn wrong_smtp_password_keeps_the_mail() {
    let smtp = SmtpServer::start();
    let section = smtp.config_section().replace(&smtp.password, "wrong");
    let env = Env::with_smtp_section(&section);
    let out = env.send_simple("auth");
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("AUTH"), "{}", stderr(&out));
    assert_eq!(env.outbox_json(false).len(), 1, "the mail is kept");
    assert!(smtp.deliveries().is_empty());
}

#[test]
fn send_usage_errors_exit_2_and_bad_addresses_exit_1() {
    let smtp = SmtpServer::start();
    let env = Env::new(&smtp);
    let out = env.run(&["send", "--subject", "no recipient"]);
    assert_eq!(code(&out), 2);
    let out = env.run(&["send", "--to", "a@b\r\nBcc: x@y", "--subject", "x"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("not an email address"),
        "{}",
        stderr(&out)
    );
    assert!(smtp.deliveries().is_empty());
    assert!(env.outbox_json(true).is_empty());
}

/// A reply built from a delivered message threads under it when it arrives; both mails are
/// read over IMAP, and each is filed in Sent once.
#[test]
fn reply_to_a_delivered_mail_carries_in_reply_to_and_references() {
    let (dc, smtp) = mail_servers(&["dana"], SmtpOptions::default());
    let env = Env::with_dovecot(&smtp.config_section(), &dc);
    assert_eq!(code(&env.send_simple("Original")), 0);
    let original = only_message(&dc, "dana");
    let dana = Sender {
        account: "work".into(),
        from: Mailbox::new(Some("Dana"), "dana@acme.test"),
        signature: None,
    };
    let mut reply = Draft::reply(&dana, &original, ReplyKind::All).unwrap();
    reply.account = "work".into();
    reply.from = Mailbox::new(None, "me@example.com");
    reply.body = format!("Thanks!{}", reply.body);
    let store = env.store();
    let id = tidings::mail::outbox::enqueue(&store, &reply, None, 1_800_000_000).unwrap();
    let config = env.config();
    let mut store = store;
    let mut ob = tidings::mail::outbox::Outbox::new(config, &store);
    let r = ob
        .flush(
            &mut store,
            tidings::mail::outbox::Which::One(id),
            1_800_000_000,
        )
        .unwrap();
    assert_eq!(r[0].outcome, tidings::mail::outbox::Outcome::Sent);
    assert_eq!(r[0].filing_error, None);
    let raw = only_message(&dc, "me");
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    let orig = MessageParser::default().parse(&original[..]).unwrap();
    assert_eq!(m.subject(), Some("Re: Original"));
    assert_eq!(m.in_reply_to().as_text(), orig.message_id());
    assert_eq!(m.references().as_text(), orig.message_id());
    assert_eq!(m.date().map(|d| d.to_timestamp()), Some(1_800_000_000));
    assert_eq!(
        m.to().unwrap().first().unwrap().address(),
        Some("me@example.com")
    );
    assert!(m.body_text(0).unwrap().contains("> Hello"));
    let sent: Vec<String> = dc.message_ids("me", "Sent");
    let mut want = vec![
        format!("<{}>", orig.message_id().unwrap()),
        reply.message_id.clone(),
    ];
    want.sort();
    assert_eq!(sent, want);
}

#[test]
fn drafts_autosave_and_survive_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db: &Path = &dir.path().join("tidings.sqlite3");
    let me = Sender {
        account: "work".into(),
        from: Mailbox::new(Some("Me"), "me@example.com"),
        signature: Some("Me".into()),
    };
    let mut draft = Draft::new(&me);
    draft.to.push(Mailbox::parse("dana@acme.test").unwrap());
    draft.subject = "half written".into();
    draft.attachments.push(Attachment {
        filename: "x.bin".into(),
        content_type: "application/octet-stream".into(),
        data: vec![0, 159, 255, 10, 13],
    });
    let id = {
        let store = Store::open(db).unwrap();
        let mut saver = Autosaver::new(3);
        let id = saver.tick(&store, &draft, 1000).unwrap().unwrap();
        draft.body = "typed after the first save".into();
        assert_eq!(saver.flush(&store, &draft, 1001).unwrap(), Some(id));
        id
        // The store is dropped here, as when the app is killed.
    };
    let store = Store::open(db).unwrap();
    let back = drafts::load(&store, id).unwrap();
    assert_eq!(back.draft, draft);
    assert_eq!(drafts::list(&store, None).unwrap().len(), 1);
    // Sending it consumes the draft.
    tidings::mail::outbox::enqueue(&store, &back.draft, None, 1002).unwrap();
    assert!(drafts::list(&store, None).unwrap().is_empty());
}

fn start_tls(tls: Tls) -> SmtpServer {
    SmtpServer::start_with(SmtpOptions {
        tls,
        ..Default::default()
    })
}

#[test]
fn starttls_and_implicit_tls_deliver_with_auth() {
    for tls in [Tls::Starttls, Tls::Implicit] {
        let smtp = start_tls(tls);
        let env = Env::new(&smtp);
        let out = env.send_simple("over TLS");
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(smtp.deliveries().len(), 1);
    }
}

#[test]
fn an_untrusted_certificate_keeps_the_mail_queued() {
    let smtp = start_tls(Tls::Implicit);
    let section = smtp.config_section().replace(
        "accept_invalid_certs = true",
        "accept_invalid_certs = false",
    );
    let env = Env::with_smtp_section(&section);
    let out = env.send_simple("must not leak");
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(
        stderr(&out).to_lowercase().contains("certificate"),
        "{}",
        stderr(&out)
    );
    assert!(smtp.deliveries().is_empty());
}

#[test]
fn starttls_required_by_config_is_never_skipped() {
    // The server offers no STARTTLS; the account demands it: nothing may go out in clear text.
    let smtp = SmtpServer::start();
    let section = smtp
        .config_section()
        .replace("security = \"none\"", "security = \"starttls\"");
    let env = Env::with_smtp_section(&section);
    let out = env.send_simple("clear text?");
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(stderr(&out).contains("STARTTLS"), "{}", stderr(&out));
    assert!(smtp.deliveries().is_empty());
}

#[test]
fn background_worker_respects_backoff_and_sends_when_asked() {
    use tidings::mail::outbox::{Backoff, OutboxEvent, OutboxWorker};
    let smtp = SmtpServer::start();
    smtp.set_mode("4xx");
    let env = Env::new(&smtp);
    let store = env.store();
    let draft = draft_to("dana@acme.test", "from the worker");
    tidings::mail::outbox::enqueue(&store, &draft, None, chrono::Utc::now().timestamp()).unwrap();
    let config = env.config();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // An hour of backoff and of polling: anything sent below was sent because it was due or asked.
    let hour = Duration::from_secs(3600);
    let worker = OutboxWorker::spawn(
        config,
        store.path().to_path_buf(),
        Backoff {
            first: hour,
            max: hour,
        },
        hour,
        tx,
    );
    let OutboxEvent::Flushed(first) = rx.blocking_recv().unwrap() else {
        panic!("expected a flush")
    };
    assert!(
        matches!(&first[0].outcome, tidings::mail::outbox::Outcome::Queued(e) if e.contains("450")),
        "{first:?}"
    );
    smtp.set_mode("ok");
    worker.flush_now();
    let OutboxEvent::Flushed(second) = rx.blocking_recv().unwrap() else {
        panic!("expected a flush")
    };
    assert_eq!(second[0].outcome, tidings::mail::outbox::Outcome::Sent);
    worker.stop();
    assert_eq!(smtp.deliveries().len(), 1);
}

/// The tracking seam: a planner that makes one copy per recipient, each with its own bytes.
/// Each copy is delivered exactly once, even when one recipient is greylisted and retried.
struct PerRecipient {
    calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl tidings::mail::outbox::DeliveryPlanner for PerRecipient {
    fn plan(
        &mut self,
        entry: &tidings::store::OutboxRow,
        draft: &Draft,
    ) -> Result<Vec<tidings::mail::outbox::PlannedDelivery>, tidings::mail::outbox::PlanError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(draft
            .recipients()
            .into_iter()
            .map(|r| tidings::mail::outbox::PlannedDelivery {
                raw: Some(
                    draft
                        .build_with_html(entry.date, false, Some(&format!("<p>copy for {r}</p>")))
                        .unwrap(),
                ),
                recipients: vec![r],
            })
            .collect())
    }
}

#[test]
fn per_recipient_copies_each_go_out_exactly_once() {
    use tidings::mail::outbox::{Outbox, Outcome, Which};
    let smtp = SmtpServer::start();
    smtp.set_mode("4xx-to bob@acme.test");
    let env = Env::new(&smtp);
    let mut store = env.store();
    let mut draft = draft_to("dana@acme.test", "tracked");
    draft.bcc.push(Mailbox::parse("bob@acme.test").unwrap());
    let id = tidings::mail::outbox::enqueue(&store, &draft, Some("{\"opens\":true}"), 100).unwrap();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let config = env.config();
    let mut ob = Outbox::new(config, &store).with_planner(Box::new(PerRecipient {
        calls: calls.clone(),
    }));
    let r = ob.flush(&mut store, Which::AllWaiting, 100).unwrap();
    assert!(
        matches!(&r[0].outcome, Outcome::Queued(e) if e.contains("450")),
        "{r:?}"
    );
    assert_eq!(smtp.deliveries().len(), 1, "dana's copy went out");
    smtp.set_mode("ok");
    let r = ob.flush(&mut store, Which::AllWaiting, 200).unwrap();
    assert_eq!(r[0].outcome, Outcome::Sent);
    let r = ob.flush(&mut store, Which::AllWaiting, 300).unwrap();
    assert!(r.is_empty(), "{r:?}");
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "planned once"
    );

    let log = smtp.deliveries();
    let rcpts: Vec<_> = log
        .iter()
        .map(|d| d["rcpt_tos"][0].as_str().unwrap())
        .collect();
    assert_eq!(rcpts, vec!["dana@acme.test", "bob@acme.test"]);
    let mails = SmtpServer::maildir_messages(&smtp.maildir);
    for (raw, who) in mails.iter().zip(["dana@acme.test", "bob@acme.test"]) {
        let m = MessageParser::default().parse(&raw[..]).unwrap();
        assert_eq!(m.body_html(0).unwrap(), format!("<p>copy for {who}</p>"));
        assert_eq!(
            m.message_id().map(|i| format!("<{i}>")),
            Some(draft.message_id.clone())
        );
        assert!(m.bcc().is_none());
    }
    let entry = store.outbox_entry(id).unwrap().unwrap();
    assert_eq!(entry.tracking.as_deref(), Some("{\"opens\":true}"));
    let (_, sent_copy) = store.outbox_bytes(id).unwrap().unwrap();
    let filed = String::from_utf8_lossy(&sent_copy);
    assert!(
        !filed.contains("copy for") && !filed.contains("text/html"),
        "the Sent copy is the untracked original: {filed}"
    );
}

#[test]
fn a_server_that_stops_answering_times_out_and_the_mail_waits() {
    let smtp = SmtpServer::start();
    smtp.set_mode("hang-before-data 30");
    let section = smtp
        .config_section()
        .replace("timeout_seconds = 5", "timeout_seconds = 1");
    let env = Env::with_smtp_section(&section);
    let out = env.send_simple("slow server");
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    assert!(stderr(&out).contains("RCPT TO"), "{}", stderr(&out));
    assert_eq!(env.outbox_json(false)[0]["state"], "queued");
    assert!(smtp.deliveries().is_empty());
}

/// Gmail files what its SMTP server sends in Sent by itself (and advertises X-GM-EXT-1): with
/// `server_saves_sent` unset nothing is APPENDed, and a send interrupted by a kill during DATA
/// is confirmed by the server's own copy instead of waiting for the user.
#[test]
fn a_gmail_like_server_files_sent_mail_itself_and_confirms_an_interrupted_send() {
    let dc = Dovecot::start_with("imap_capability = +X-GM-EXT-1\n");
    let opts = SmtpOptions {
        sent_maildir: Some(dc.maildir("me", "Sent")),
        ..Default::default()
    };
    let (dc, smtp) = mail_servers_with(dc, &["dana"], opts);
    let section = smtp
        .config_section()
        .replace("timeout_seconds = 5", "timeout_seconds = 60");
    let env = Env::with_dovecot(&section, &dc);
    let out = env.send_simple("filed by the server");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert_eq!(env.outbox_json(true)[0]["filed"], "skipped");
    assert_eq!(dc.messages("me", "Sent").len(), 1, "only the server's copy");

    smtp.set_mode("hang-after-data 30");
    let mut child = env.spawn_send();
    wait_for("the server to receive the mail", || {
        smtp.deliveries().len() == 2
    });
    child.kill().unwrap();
    child.wait().unwrap();
    smtp.set_mode("ok");
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let all = env.outbox_json(true);
    assert_eq!(
        (
            all[1]["state"].as_str(),
            all[1]["deliveries"][0]["state"].as_str()
        ),
        (Some("sent"), Some("delivered")),
        "{all:?}"
    );
    assert_eq!(smtp.deliveries().len(), 2, "never sent again");
    assert_eq!(dc.messages("dana", "INBOX").len(), 2);
    let mut want: Vec<String> = all
        .iter()
        .map(|e| e["message_id"].as_str().unwrap().to_string())
        .collect();
    want.sort();
    assert_eq!(dc.message_ids("me", "Sent"), want);
}

#[test]
fn drafts_saved_to_the_server_keep_one_copy_and_leave_drafts_when_sent() {
    use tidings::mail::filing::{
        count_message_id, file_sent, save_draft, Role, SentFiling, Target,
    };
    use tidings::mail::outbox::{enqueue, Outbox, Outcome, Which};
    let (dc, smtp) = mail_servers(&["dana"], SmtpOptions::default());
    let env = Env::with_dovecot(&smtp.config_section(), &dc);
    let config = env.config();
    let mut store = env.store();
    let mut draft = draft_to("dana@acme.test", "half written");
    draft.body = "first version\n".into();
    let id = drafts::save(&store, &draft, 1000).unwrap();
    // Never synced: the Drafts folder is found by its SPECIAL-USE attribute.
    assert_eq!(
        drafts::save_to_server(&config, &store, id).unwrap(),
        "Drafts"
    );
    assert!(drafts::load(&store, id).unwrap().on_server);
    draft.body = "second version\n".into();
    drafts::save(&store, &draft, 1010).unwrap();
    assert!(!drafts::load(&store, id).unwrap().on_server);
    drafts::save_to_server(&config, &store, id).unwrap();
    // Another draft, saved to the server and then discarded: gone from both.
    let other = draft_to("dana@acme.test", "never mind");
    let other_id = drafts::save(&store, &other, 1005).unwrap();
    drafts::save_to_server(&config, &store, other_id).unwrap();
    assert_eq!(dc.messages("me", "Drafts").len(), 2);
    assert!(drafts::discard_everywhere(&config, &store, other_id).unwrap());
    assert!(drafts::load(&store, other_id).is_err());

    let on_server = dc.messages("me", "Drafts");
    assert_eq!(on_server.len(), 1, "saving again replaces the copy");
    assert_eq!(on_server[0].flags, vec!["\\Draft", "\\Seen"]);
    let m = MessageParser::default()
        .parse(&on_server[0].raw[..])
        .unwrap();
    assert_eq!(m.body_text(0).unwrap().trim_end(), "second version");
    assert_eq!(m.date().map(|d| d.to_timestamp()), Some(1010));

    let imap = config.accounts["work"].imap.as_ref().unwrap();
    let folder = |role| Target { role, known: None };
    let count = |role| count_message_id(imap, &folder(role), &draft.message_id).unwrap();
    assert_eq!((count(Role::Drafts), count(Role::Sent)), (1, 0));
    assert!(
        count_message_id(imap, &folder(Role::Sent), "<x@y>\r\nA1 LOGOUT").is_err(),
        "a line break never reaches the server"
    );

    // Sent: filed in Sent, and its draft leaves the server's Drafts.
    let oid = enqueue(&store, &draft, None, 1020).unwrap();
    let r = Outbox::new(config.clone(), &store)
        .flush(&mut store, Which::One(oid), 1020)
        .unwrap();
    assert_eq!((&r[0].outcome, &r[0].filing_error), (&Outcome::Sent, &None));
    assert_eq!((count(Role::Drafts), count(Role::Sent)), (0, 1));
    assert!(!only_message(&dc, "dana").is_empty());
    assert_eq!(smtp.deliveries().len(), 1);

    // A configured folder that does not exist yet is created, and filing twice files once.
    let acc = &config.accounts["work"];
    let outgoing = Target {
        role: Role::Sent,
        known: Some("Outgoing".into()),
    };
    let raw = draft.build(1030, true).unwrap();
    let file = || {
        file_sent(
            acc,
            &outgoing,
            &folder(Role::Drafts),
            &draft.message_id,
            raw.clone(),
        )
    };
    assert_eq!(file().unwrap(), SentFiling::Appended("Outgoing".into()));
    assert_eq!(file().unwrap(), SentFiling::AlreadyThere("Outgoing".into()));
    assert_eq!(dc.messages("me", "Outgoing").len(), 1);
    let old_drafts = Target {
        role: Role::Drafts,
        known: Some("Old Drafts".into()),
    };
    save_draft(imap, &old_drafts, &draft.message_id, raw.clone()).unwrap();
    assert_eq!(dc.messages("me", "Old Drafts").len(), 1);
}

/// An IMAP server that accepts connections and never answers must not hold up sending: the
/// mail goes out, the filing fails with a warning, and the next flush files it.
#[test]
fn a_silent_imap_server_does_not_hold_up_sending_and_filing_is_retried() {
    let (dc, smtp) = mail_servers(&["dana"], SmtpOptions::default());
    // Connections complete in the kernel's backlog; nothing ever reads or writes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let imap = dovecot_imap(&dc)
        .replace(
            &format!("port = {}", dc.port),
            &format!("port = {silent_port}"),
        )
        .replace("timeout_seconds = 5", "timeout_seconds = 1");
    let env = Env::with_account("", &imap, &smtp.config_section());
    let out = env.send_simple("filed later");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("could not be filed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.outbox_json(true)[0]["filed"], "failed");
    assert!(!only_message(&dc, "dana").is_empty());

    env.write_config("", &dovecot_imap(&dc), &smtp.config_section());
    let out = env.run(&["outbox", "flush"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(env.outbox_json(true)[0]["filed"], "done");
    assert_eq!(dc.messages("me", "Sent").len(), 1);
    assert_eq!(smtp.deliveries().len(), 1);
}

/// A server that answers one byte at a time never lets a single read time out; the filing
/// deadline still ends the call, and the connection is cut so no thread is left behind.
#[test]
fn a_trickling_imap_server_is_cut_off_at_the_filing_deadline() {
    use std::io::{Read, Write};
    use tidings::config::{Security, ServerConfig};
    use tidings::mail::filing::{count_message_id, FilingError, Role, Target};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (closed_tx, closed_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"* OK trickling\r\n").unwrap();
        let mut login = [0u8; 64];
        let _ = s.read(&mut login);
        // A byte every 200 ms, never a line end, until the client hangs up.
        while s.write_all(b"x").is_ok() {
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = closed_tx.send(());
    });
    let cfg = ServerConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        user: "me".into(),
        password: Some("pw".into()),
        password_command: None,
        password_source: None,
        auth: Default::default(),
        saved_password: None,
        oauth2: None,
        accept_invalid_certs: false,
        timeout_seconds: 1,
    };
    let target = Target {
        role: Role::Sent,
        known: None,
    };
    let err = count_message_id(&cfg, &target, "<a@b>").unwrap_err();
    // The filing deadline, or before it the connection's own bound on a trickled answer.
    let text = err.to_string();
    assert!(
        matches!(err, FilingError::Timeout { .. }) && text.contains("no answer within")
            || text.contains("answer is too slow"),
        "{err}"
    );
    assert!(
        !text.contains("password"),
        "a stall is no password problem: {err}"
    );
    closed_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the client cut the connection");
}

/// A subject or display name holding CR/LF (pasted, or from a script) must stay one header:
/// no line of it may become a header of its own, and no control character reaches the wire.
#[test]
fn a_subject_with_newlines_cannot_inject_headers() {
    let smtp = SmtpServer::start();
    let env = Env::new(&smtp);
    let out = env.send_simple("Invoice\r\nBcc: bob@acme.test\r\nX-Evil: 1\n\x1b]0;pwned\x07done");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mails = SmtpServer::maildir_messages(&smtp.maildir);
    assert_eq!(mails.len(), 1);
    let raw = &mails[0];
    assert!(!has_header(raw, "bcc"), "{}", String::from_utf8_lossy(raw));
    assert!(
        !has_header(raw, "x-evil"),
        "{}",
        String::from_utf8_lossy(raw)
    );
    let head = String::from_utf8_lossy(raw);
    let head = head.split("\r\n\r\n").next().unwrap();
    assert!(
        !head
            .chars()
            .any(|c| c.is_control() && !"\r\n\t".contains(c)),
        "no control characters in the header: {head:?}"
    );
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    assert_eq!(
        m.subject(),
        Some("Invoice Bcc: bob@acme.test X-Evil: 1 ]0;pwneddone")
    );
}

/// The outbox and drafts lists print one line per mail, and a subject's control characters
/// (a pasted escape sequence) never reach the terminal.
#[test]
fn outbox_and_drafts_lists_keep_a_hostile_subject_on_one_line() {
    let smtp = SmtpServer::start();
    smtp.set_mode("4xx");
    let env = Env::new(&smtp);
    std::fs::write(env.path("body.txt"), "hi\n").unwrap();
    let body = env.path("body.txt");
    let subject = "Two\r\nlines \x1b]0;pwned\x07\x1b[2J";
    let out = env.run(&[
        "send",
        "--to",
        "Dana\x1b[31m <dana@acme.test>",
        "dana@acme.test",
        "--subject",
        subject,
        "--body-file",
        body.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "a control character in a name is refused");
    let out = env.send_simple(subject);
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    let clean = |what: &str, text: &str| {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{what}: {text:?}"
        );
    };
    let listed = String::from_utf8(env.run(&["outbox"]).stdout).unwrap();
    clean("outbox", &listed);
    let first = listed.lines().next().unwrap();
    assert!(first.ends_with("Two lines ]0;pwned[2J"), "{listed}");
    assert!(
        listed
            .lines()
            .all(|l| l.starts_with('#') || l.starts_with("  ")),
        "{listed}"
    );
    let id = env.outbox_json(false)[0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    assert_eq!(code(&env.run(&["outbox", "edit", &id])), 0);
    let drafts = String::from_utf8(env.run(&["drafts"]).stdout).unwrap();
    clean("drafts", &drafts);
    assert_eq!(drafts.lines().count(), 1, "{drafts}");
}

/// A body or attachment read from a device or a pipe (`--body-file <(cmd)`, /dev/zero) has no
/// size to check beforehand: reading stops at the limit instead of filling the memory.
#[test]
fn an_endless_body_or_attachment_is_refused_at_the_size_limit() {
    let smtp = SmtpServer::start();
    let env = Env::new(&smtp);
    for flag in ["--body-file", "--attach", "--html-file"] {
        // Under a memory cap, so a regression fails here instead of exhausting the machine.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("ulimit -v 3000000; exec \"$@\"")
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(env.path("config.toml"))
            .arg("--data-dir")
            .arg(env.path("data"))
            .args([
                "send",
                "--to",
                "dana@acme.test",
                "--subject",
                "endless",
                flag,
                "/dev/zero",
            ])
            .stdin(Stdio::null());
        let out = cmd.output().unwrap();
        assert_eq!(code(&out), 1, "{flag}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("larger than"),
            "{flag}: {}",
            stderr(&out)
        );
    }
    assert!(smtp.deliveries().is_empty());
}

/// `tidings send` without --body-file on a terminal says how to end the body instead of seeming
/// to hang; the body typed there is what is sent.
#[test]
fn send_on_a_terminal_says_how_to_end_the_body() {
    let smtp = SmtpServer::start();
    let env = Env::new(&smtp);
    let cmd = format!(
        "{} --config {} --data-dir {} send --to dana@acme.test --subject typed",
        env!("CARGO_BIN_EXE_tidings"),
        env.path("config.toml").display(),
        env.path("data").display()
    );
    // util-linux `script` gives the command a terminal; what it reads is typed into it.
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("util-linux `script` is needed for this test (Debian: apt-get install bsdutils)");
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    use std::io::Write as _;
    stdin.write_all(b"typed on a terminal\n\x04").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("Ctrl-D"), "{shown}");
    assert_eq!(smtp.deliveries().len(), 1, "{shown}");
    let raw = &SmtpServer::maildir_messages(&smtp.maildir)[0];
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    assert!(
        m.body_text(0).unwrap().starts_with("typed on a terminal"),
        "{shown}"
    );
}

/// An international domain goes out in its ASCII (punycode) form, in the envelope and in the
/// header, so a server without SMTPUTF8 takes it; only a non-ASCII local part needs SMTPUTF8.
#[test]
fn an_international_domain_is_sent_in_its_ascii_form() {
    let smtp = SmtpServer::start();
    let env = Env::new(&smtp);
    std::fs::write(env.path("body.txt"), "hi\n").unwrap();
    let body = env.path("body.txt");
    let out = env.run(&[
        "send",
        "--to",
        "Jürgen <juergen@bücher.example>",
        "--subject",
        "IDN",
        "--body-file",
        body.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = smtp.deliveries();
    assert_eq!(log[0]["rcpt_tos"][0], "juergen@xn--bcher-kva.example");
    let raw = &SmtpServer::maildir_messages(&smtp.maildir)[0];
    let m = MessageParser::default().parse(&raw[..]).unwrap();
    let to = m.to().unwrap().first().unwrap();
    assert_eq!(to.address(), Some("juergen@xn--bcher-kva.example"));
    assert_eq!(to.name(), Some("Jürgen"));
}

/// The server takes the mail and never answers the end of DATA: the send times out (after
/// `timeout_seconds`, not for ever) and the mail is `unconfirmed` — it may have gone — never
/// `failed` or resent on its own.
#[test]
fn no_answer_after_data_times_out_as_unconfirmed() {
    let smtp = SmtpServer::start();
    smtp.set_mode("hang-after-data 60");
    let env = Env::new(&smtp);
    let out = env.send_simple("silence");
    assert_eq!(code(&out), 75, "{}", stderr(&out));
    let item = &env.outbox_json(false)[0];
    assert_eq!(item["state"], "unconfirmed", "{item}");
    assert_eq!(item["deliveries"][0]["state"], "unconfirmed", "{item}");
    smtp.set_mode("ok");
    env.run(&["outbox", "flush"]);
    assert_eq!(smtp.deliveries().len(), 1, "never resent on its own");
}
