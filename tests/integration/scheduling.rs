//! Scheduling against real servers (docs/scheduling.md): a snoozed message leaves INBOX and comes
//! back at its time exactly once with two `tidings watch` running; a mail sent with `--at` waits
//! through `outbox flush` and a kill -9, goes once at its time, and can be cancelled; templates
//! fill from the contact and its Superdata and refuse an unfilled placeholder. Time is moved with
//! `TIDINGS_CLOCK_FILE`, never waited for.

use crate::support::dovecot::{message, Dovecot};
use crate::support::smtp::{free_port, SmtpServer};
use crate::support::TidingsEnv;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A tidings environment whose processes read the clock from `clock` and templates from
/// `xdg/tidings/templates`.
struct Env {
    env: TidingsEnv,
}

impl Env {
    fn new(config: &str) -> Env {
        let env = TidingsEnv::new(config);
        std::fs::create_dir_all(env.path("xdg/tidings/templates")).unwrap();
        Env { env }
    }

    fn clock(&self) -> PathBuf {
        self.env.path("clock")
    }

    fn set_clock(&self, offset: &str) {
        std::fs::write(self.clock(), offset).unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = self.env.command();
        c.args(args)
            .env("TIDINGS_CLOCK_FILE", self.clock())
            .env("XDG_CONFIG_HOME", self.env.path("xdg"))
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tidings {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn watch(&self) -> Child {
        self.command(&["watch"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn list(&self, folder: &str) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.ok(&["list", "--folder", folder, "--json"])).unwrap()
    }

    fn outbox(&self, all: bool) -> Vec<serde_json::Value> {
        let args: &[&str] = if all {
            &["outbox", "--json", "--all"]
        } else {
            &["outbox", "--json"]
        };
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

/// Stops a `tidings watch` and returns what it printed.
fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn id_of(list: &[serde_json::Value], subject: &str) -> String {
    list.iter()
        .find(|m| m["subject"] == subject)
        .unwrap_or_else(|| panic!("{subject:?} in {list:?}"))["id"]
        .to_string()
}

#[test]
fn a_snoozed_message_leaves_inbox_and_comes_back_at_its_time_once_with_two_processes() {
    let dc = Dovecot::start();
    dc.add_user("alice", "secret");
    let later = dc.append("alice", "INBOX", &message(1, "Later"));
    dc.append("alice", "INBOX", &message(2, "Newer"));
    dc.append("alice", "INBOX", &message(3, "Wake"));
    dc.set_flags("alice", "INBOX", later, "\\Seen", true);
    let env = Env::new(&dc.config_toml("work", "alice", "secret"));
    env.ok(&["sync"]);
    let inbox = env.list("INBOX");
    let out = env.ok(&["snooze", &id_of(&inbox, "Later 1"), "--until", "in 2h"]);
    assert!(out.starts_with("snoozed until "), "{out}");
    env.ok(&["snooze", &id_of(&inbox, "Wake 3"), "--until", "in 5d"]);
    let later_id = "<msg1.Later@acme.test>";
    assert!(!dc
        .message_ids("alice", "INBOX")
        .contains(&later_id.to_string()));
    assert!(dc
        .message_ids("alice", "Snoozed")
        .contains(&later_id.to_string()));

    // Woken by hand before its time: back at once.
    env.ok(&["sync"]);
    let snoozed = env.list("Snoozed");
    assert_eq!(snoozed.len(), 2, "{snoozed:?}");
    let back = env.ok(&["unsnooze", &id_of(&snoozed, "Wake 3")]);
    assert!(back.starts_with("back in INBOX"), "{back}");
    assert!(dc
        .message_ids("alice", "INBOX")
        .contains(&"<msg3.Wake@acme.test>".to_string()));

    let a = env.watch();
    let b = env.watch();
    // Two rounds of each watcher before the time: nothing moves.
    std::thread::sleep(Duration::from_secs(5));
    assert!(dc
        .message_ids("alice", "Snoozed")
        .contains(&later_id.to_string()));
    env.set_clock("+3h");
    wait_for(
        "the snoozed message back in INBOX",
        Duration::from_secs(30),
        || {
            dc.message_ids("alice", "INBOX")
                .contains(&later_id.to_string())
        },
    );
    // More rounds of both after the return: it is not returned (or moved) again.
    std::thread::sleep(Duration::from_secs(5));
    let (out_a, out_b) = (stop(a), stop(b));
    let returns = format!("{out_a}{out_b}").matches("snooze over").count();
    assert_eq!(
        returns, 1,
        "one process returned it:\n{out_a}\n---\n{out_b}"
    );
    let inbox_ids = dc.message_ids("alice", "INBOX");
    assert_eq!(
        inbox_ids.iter().filter(|m| *m == later_id).count(),
        1,
        "{inbox_ids:?}"
    );
    assert!(dc.message_ids("alice", "Snoozed").is_empty());
    let returned = dc
        .messages("alice", "INBOX")
        .into_iter()
        .find(|m| String::from_utf8_lossy(&m.raw).contains(later_id))
        .unwrap();
    assert!(
        !returned.flags.contains(&"\\Seen".to_string()),
        "comes back unread"
    );

    // On top of INBOX, though older than the others.
    env.ok(&["sync"]);
    let inbox = env.list("INBOX");
    assert_eq!(inbox[0]["subject"], "Later 1", "{inbox:?}");
    assert_eq!(inbox[0]["seen"], false);
}

fn smtp_config(smtp: &SmtpServer) -> String {
    // IMAP points at a closed port: the server files sent mail itself here, so sending needs none.
    format!(
        "[accounts.work]\nemail = \"me@example.com\"\ndisplay_name = \"Sam Seller\"\n\
         server_saves_sent = true\n[accounts.work.imap]\nhost = \"127.0.0.1\"\nport = {}\n\
         security = \"none\"\nuser = \"me\"\npassword = \"x\"\ntimeout_seconds = 2\n\
         [accounts.work.smtp]\n{}",
        free_port(),
        smtp.config_section()
    )
}

fn send(env: &Env, subject: &str, extra: &[&str]) -> Output {
    let body = env.env.path("body.txt");
    std::fs::write(&body, "Hello there.\n").unwrap();
    let mut args = vec![
        "send",
        "--to",
        "dana@acme.test",
        "--subject",
        subject,
        "--body-file",
        body.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    env.run(&args)
}

#[test]
fn a_mail_sent_later_goes_once_at_its_time_survives_a_kill_and_can_be_cancelled() {
    let smtp = SmtpServer::start();
    let env = Env::new(&smtp_config(&smtp));
    let out = send(&env, "Scheduled", &["--at", "in 1h", "--no-track-opens"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("scheduled #"), "{said}");
    let dropped = send(
        &env,
        "Never mind",
        &["--at", "2099-01-01 09:00", "--remind-after", "3d"],
    );
    assert!(dropped.status.success());

    let waiting = env.outbox(false);
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    let send_at = waiting[0]["send_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(send_at).is_ok(),
        "{send_at}"
    );
    assert!(waiting[1]["send_at"]
        .as_str()
        .unwrap()
        .starts_with("2099-01-01"));
    assert_eq!(waiting[0]["state"], "queued");
    let cancel_id = waiting[1]["id"].to_string();
    let cancelled = env.ok(&["outbox", "cancel", &cancel_id]);
    assert!(cancelled.contains("cancelled"), "{cancelled}");
    assert_eq!(env.outbox(false).len(), 1);
    // A mail that never went has no reminder left to wait on it.
    assert_eq!(env.ok(&["followups", "--json", "--all"]).trim(), "[]");

    // Neither a flush, nor a round of `watch --once` (no tracker configured: it does the rest),
    // nor a running watch sends it early; a kill -9 loses nothing.
    env.run(&["outbox", "flush"]);
    assert_eq!(env.ok(&["watch", "--once"]), "");
    let mut first = env.watch();
    std::thread::sleep(Duration::from_secs(3));
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(smtp.deliveries().is_empty(), "{:?}", smtp.deliveries());
    assert_eq!(env.outbox(false).len(), 1);

    let a = env.watch();
    let b = env.watch();
    env.set_clock("+2h");
    wait_for(
        "the scheduled mail delivered",
        Duration::from_secs(30),
        || !smtp.deliveries().is_empty(),
    );
    std::thread::sleep(Duration::from_secs(5));
    let said = format!("{}{}", stop(a), stop(b));
    assert_eq!(smtp.deliveries().len(), 1, "{:?}", smtp.deliveries());
    assert_eq!(said.matches("sent #").count(), 1, "{said}");
    let all = env.outbox(true);
    assert_eq!(all.len(), 1, "the cancelled mail is gone: {all:?}");
    assert_eq!(all[0]["state"], "sent");
    assert!(env.outbox(false).is_empty());
}

/// A tracker that is down must not keep scheduled mail from going: `watch --once` still sends it,
/// and still says (exit status 1) that the tracker could not be polled.
#[test]
fn scheduled_mail_goes_while_the_tracker_is_down() {
    let smtp = SmtpServer::start();
    let config = format!(
        "{}\n[tracking]\nbase_url = \"http://127.0.0.1:{}\"\napi_token = \"t\"\n",
        smtp_config(&smtp),
        free_port()
    );
    let env = Env::new(&config);
    let out = send(
        &env,
        "Later",
        &["--at", "in 1h", "--no-track-opens", "--no-track-links"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.set_clock("+2h");
    let out = env.run(&["watch", "--once"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the tracker's failure is reported"
    );
    assert_eq!(smtp.deliveries().len(), 1, "{:?}", smtp.deliveries());
    assert!(env.outbox(false).is_empty());
}

fn put_gravatar(db: &Path, email: &str, company: &str) {
    let store = tidings::store::Store::open(db).unwrap();
    store
        .superdata_put(&tidings::store::SuperdataRow {
            subject: email.into(),
            source: "gravatar".into(),
            fetched_at: 1_796_040_000,
            url: "https://gravatar.test".into(),
            status: "ok".into(),
            data: Some(
                serde_json::json!({
                    "display_name": null, "profile_url": null, "avatar_url": null,
                    "location": "Lisbon", "job_title": "CTO", "company": company,
                    "description": null, "pronouns": null, "verified_accounts": [],
                })
                .to_string(),
            ),
            error: None,
            demo: false,
        })
        .unwrap();
}

#[test]
fn a_template_fills_from_the_contact_and_superdata_and_refuses_an_unfilled_placeholder() {
    let smtp = SmtpServer::start();
    let env = Env::new(&smtp_config(&smtp));
    std::fs::write(
        env.env.path("xdg/tidings/templates/intro.md"),
        "Subject: Quick question, {first_name}\n\nHi {first_name},\n\nhow is {company} doing \
         in {location}? {{not a placeholder}}\n\n{my_first_name}\n",
    )
    .unwrap();
    std::fs::create_dir_all(env.env.data_dir()).unwrap();
    let mut store = crate::support::mailbox::seed(&env.env.db_path(), "work");
    store.refresh_contacts().unwrap();
    drop(store);
    put_gravatar(&env.env.db_path(), "dana@acme.test", "Acme Anvils");

    let out = env.run(&["send", "--to", "dana@acme.test", "--template", "intro"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mails = SmtpServer::maildir_messages(&smtp.maildir);
    assert_eq!(mails.len(), 1);
    let text = String::from_utf8_lossy(&mails[0]);
    assert!(text.contains("Subject: Quick question, Dana"), "{text}");
    assert!(text.contains("Hi Dana,"), "the contact's name: {text}");
    assert!(
        text.contains("how is Acme Anvils doing in Lisbon?"),
        "{text}"
    );
    assert!(text.contains("{{not a placeholder}}"), "{text}");
    assert!(
        text.contains("\nSam\n") || text.contains("\r\nSam\r\n"),
        "{text}"
    );

    // Priya is a contact too, but nobody fetched her Superdata: no {company}, no mail.
    let out = env.run(&["send", "--to", "priya@acme.test", "--template", "intro"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("{company}") && err.contains("{location}"),
        "{err}"
    );
    assert!(err.contains("not sent"), "{err}");
    assert_eq!(SmtpServer::maildir_messages(&smtp.maildir).len(), 1);
    assert!(
        env.outbox(true).len() == 1,
        "the refused mail never entered the outbox"
    );

    let out = env.run(&["send", "--to", "dana@acme.test", "--template", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("intro"));
}

#[test]
fn in_the_tui_z_snoozes_and_the_composer_schedules_a_template_after_asking_about_its_gaps() {
    use crate::support::tmux::Tmux;
    let t = Tmux::demo("scheduling");
    // The rows, not only the title: Z acts on the selected message.
    t.wait_for("Q3 proposal for Acme");
    t.keys(&["Z"]);
    t.wait_for("Tomorrow morning");
    t.keys(&["Down", "Down", "Enter"]);
    t.wait_for("snoozed 1 until");
    let store = t.store();
    let waiting = store.waiting_snoozes().unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].folder, "Snoozed");

    // Templates are read when the picker opens: one written now is offered.
    let templates = t.data.parent().unwrap().join("config/tidings/templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("intro.md"),
        "Subject: Hello {first_name}\n\nHi {first_name}, how is {company}?\n",
    )
    .unwrap();
    t.keys(&["c"]);
    t.wait_for("New message");
    t.type_text("Dana Lee <dana.lee@acme.test>");
    t.keys(&["M-t"]);
    t.wait_for("intro  (1 unfilled)");
    t.keys(&["Enter"]);
    t.wait_for("unfilled: {company}");
    t.wait_for("Hello Dana");
    t.keys(&["M-l"]);
    t.wait_for("Send at");
    t.type_text("in 2h");
    t.keys(&["Enter"]);
    t.wait_for("{company} still in the text");
    t.keys(&["y"]);
    t.wait_for("scheduled for");
    t.keys(&["w"]);
    t.wait_for("Hello Dana");
    let screen = t.wait_for("scheduled for 20");
    assert!(!screen.contains("sent \"Hello"), "{screen}");
    let queued = t.store().outbox_entries(&["queued"]).unwrap();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].send_at.is_some());
}
