//! Follow-ups against real servers: mail sent with `--remind-after` through the SMTP test server
//! (filed in Dovecot's Sent), answers arriving in Dovecot's INBOX and synced — a real reply
//! settles its reminder, an out-of-office answer and a bounce do not — then the clock moved past
//! the due time: two `tidings watch --once` side by side notify each due reminder once (dbusmock),
//! and the TUI's Follow up filter shows it and replies from it.

use crate::support::dbus::NotificationBus;
use crate::support::dovecot::Dovecot;
use crate::support::smtp::SmtpServer;
use crate::support::tmux::Tmux;
use crate::support::TidingsEnv;
use std::time::Duration;

/// Dovecot user `me` (the sender) and an SMTP server; the account's config for both.
fn servers() -> (Dovecot, SmtpServer, String) {
    let dc = Dovecot::start();
    dc.add_user("me", "me-pw");
    let smtp = SmtpServer::start();
    let config = format!(
        "{}[accounts.work.smtp]\n{}",
        dc.config_toml("work", "me", "me-pw"),
        smtp.config_section()
    );
    (dc, smtp, config)
}

/// `tidings send` of a one-line mail with a reminder; returns its Message-ID.
fn send_with_reminder(env: &TidingsEnv, to: &str, subject: &str, extra: &[&str]) -> String {
    std::fs::write(env.path("body.txt"), "Shall we talk on Friday?\n").unwrap();
    let body = env.path("body.txt");
    let mut args = vec![
        "send",
        "--to",
        to,
        "--subject",
        subject,
        "--body-file",
        body.to_str().unwrap(),
        "--remind-after",
        "3d",
    ];
    args.extend(extra);
    env.ok(&args).trim().to_string()
}

/// An answer to `sent` as `from` would send it, with extra header lines.
fn answer(from: &str, subject: &str, sent: &str, id: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: me@example.test\r\nSubject: {subject}\r\n\
         Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <{id}>\r\n\
         In-Reply-To: {sent}\r\nReferences: {sent}\r\n{headers}\r\n{body}\r\n"
    )
    .into_bytes()
}

fn followups(env: &TidingsEnv) -> Vec<serde_json::Value> {
    serde_json::from_str(&env.ok(&["followups", "--json"])).unwrap()
}

fn state_of<'a>(list: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    list.iter()
        .find(|r| r["message_id"] == id)
        .unwrap_or_else(|| panic!("no reminder for {id} in {list:?}"))
}

/// `tidings watch --once` in the background, on the test bus and clock.
fn spawn_watch_once(env: &TidingsEnv, bus: &NotificationBus) -> std::process::Child {
    env.command()
        .args(["watch", "--once"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("TIDINGS_CLOCK_FILE", env.path("clock"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn replies_settle_reminders_automatic_answers_do_not_and_due_ones_notify_once() {
    let (dc, _smtp, config) = servers();
    let env = TidingsEnv::new(&config);
    let dana = send_with_reminder(&env, "Dana Lee <dana@acme.test>", "Proposal", &[]);
    let lee = send_with_reminder(&env, "lee@acme.test", "Pricing", &[]);
    let sam = send_with_reminder(&env, "sam@beta.test", "Intro", &["--remind-if", "no-open"]);

    // A colleague of Dana's answers for her: a real reply. Lee's mailbox answers twice on its
    // own (RFC 3834 headers, then Exchange's rule mark with a German subject); Sam's server
    // bounces the mail.
    dc.append(
        "me",
        "INBOX",
        &answer(
            "Kim Park <kim@acme.test>",
            "Re: Proposal",
            &dana,
            "re1@acme.test",
            "",
            "Friday works.",
        ),
    );
    dc.append(
        "me",
        "INBOX",
        &answer(
            "lee@acme.test",
            "Out of Office: Pricing",
            &lee,
            "ooo1@acme.test",
            "Auto-Submitted: auto-replied\r\n",
            "I am away until Monday.",
        ),
    );
    dc.append(
        "me",
        "INBOX",
        &answer(
            "lee@acme.test",
            "Automatische Antwort: Pricing",
            &lee,
            "ooo2@acme.test",
            "X-MS-Exchange-Inbox-Rules-Loop: lee@acme.test\r\n",
            "Ich bin nicht im Büro.",
        ),
    );
    dc.append(
        "me",
        "INBOX",
        &answer(
            "Mail Delivery System <MAILER-DAEMON@beta.test>",
            "Undelivered Mail Returned to Sender",
            &sam,
            "bounce1@beta.test",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nsam: no such user\r\n--b--",
        ),
    );
    env.ok(&["sync"]);

    let list = followups(&env);
    let d = state_of(&list, &dana);
    assert_eq!(d["state"], "replied", "{d}");
    assert_eq!(d["replied_by"], "kim@acme.test");
    assert_eq!(d["replied_by_name"], "Kim Park");
    assert_eq!(state_of(&list, &lee)["state"], "pending");
    assert_eq!(state_of(&list, &sam)["state"], "pending");
    assert_eq!(state_of(&list, &sam)["remind_if"], "no-open");
    assert_eq!(state_of(&list, &sam)["replied_by"], serde_json::Value::Null);

    // Not due yet: nothing to notify.
    let bus = NotificationBus::start();
    let out = spawn_watch_once(&env, &bus).wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(bus.notify_calls().is_empty(), "{:?}", bus.notify_calls());

    // Three days and an hour later, two watchers at once: each due reminder notifies once.
    std::fs::write(env.path("clock"), "+3d1h").unwrap();
    let a = spawn_watch_once(&env, &bus);
    let b = spawn_watch_once(&env, &bus);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    let calls = bus.wait_for_calls(2, Duration::from_secs(10));
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls
        .iter()
        .any(|c| c.contains("no reply from lee@acme.test")));
    assert!(calls
        .iter()
        .any(|c| c.contains("sam@beta.test has not opened")));
    assert!(!calls.iter().any(|c| c.contains("Proposal")), "{calls:?}");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&a.stdout),
        String::from_utf8_lossy(&b.stdout)
    );
    assert_eq!(printed.lines().count(), 2, "{printed}");
    // A third round finds nothing new to say.
    spawn_watch_once(&env, &bus).wait().unwrap();
    assert_eq!(bus.notify_calls().len(), 2);

    let list: Vec<serde_json::Value> =
        serde_json::from_str(&succeeded_with_clock(&env, &["followups", "--json"])).unwrap();
    assert_eq!(state_of(&list, &lee)["state"], "due");
    assert_eq!(state_of(&list, &sam)["state"], "due");
    assert_eq!(list[0]["state"], "due", "due first: {list:?}");
}

fn succeeded_with_clock(env: &TidingsEnv, args: &[&str]) -> String {
    let out = env
        .command()
        .args(args)
        .env("TIDINGS_CLOCK_FILE", env.path("clock"))
        .output()
        .unwrap();
    crate::support::succeeded(args, out)
}

/// The whole loop in a real terminal: a mail sent with a reminder, no answer, the clock moved
/// past its time; the reminder is due in the Follow up filter, and `r` there writes the
/// follow-up to the original recipient, quoting the mail — which settles the reminder.
#[test]
fn tmux_follow_up_loop_from_reminder_to_reply() {
    let (_dc, smtp, config) = servers();
    let env = TidingsEnv::new(&config);
    let sent = send_with_reminder(&env, "Dana Lee <dana@acme.test>", "Proposal for Q3", &[]);
    env.ok(&["sync"]);
    std::fs::write(env.path("clock"), "+3d1h").unwrap();
    let cmd = format!(
        "env TIDINGS_CONFIG={} TIDINGS_DATA_DIR={} XDG_CONFIG_HOME={} TIDINGS_CLOCK_FILE={} {}",
        env.config_path().display(),
        env.data_dir().display(),
        env.dir.path().display(),
        env.path("clock").display(),
        env!("CARGO_BIN_EXE_tidings")
    );
    let dir = tempfile::tempdir().unwrap();
    let t = Tmux::run("followups", dir, env.data_dir(), &cmd);
    t.wait_for("INBOX");
    t.keys(&["5"]);
    t.wait_for("Follow up");
    let screen = t.wait_for("Proposal for Q3");
    assert!(screen.contains("due 1 h ago"), "{screen}");
    t.keys(&["r"]);
    let screen = t.wait_for("Reply");
    assert!(screen.contains("dana@acme.test"), "{screen}");
    assert!(screen.contains("> Shall we talk on Friday?"), "{screen}");
    t.type_text("Any news?");
    t.keys(&["C-s"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while smtp.deliveries().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the follow-up was not sent"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let last = smtp.deliveries().pop().unwrap();
    assert_eq!(last["rcpt_tos"][0], "dana@acme.test");
    let list = followups(&env);
    assert_eq!(state_of(&list, &sent)["state"], "done", "{list:?}");
    t.keys(&["q"]);
}

/// `list --filter tracked --json` says whether a tracked mail was answered, and by whom; a mail
/// nobody answered says so too.
#[test]
fn the_tracked_list_names_who_replied() {
    use tidings::store::{Reply, Store, TrackedMessageRecord, TrackedRecipient};
    let env = TidingsEnv::new(&format!(
        "[accounts.work]\nemail = \"me@example.test\"\n[accounts.work.imap]\n{}",
        "host = \"127.0.0.1\"\nport = 1\nsecurity = \"none\"\nuser = \"me\"\npassword = \"x\"\n"
    ));
    std::fs::create_dir_all(env.data_dir()).unwrap();
    let mut store = Store::open(&env.db_path()).unwrap();
    for id in ["<q3@me>", "<q4@me>"] {
        store
            .record_tracked_message(&TrackedMessageRecord {
                account: "work".into(),
                message_id: id.into(),
                subject: format!("Proposal {id}"),
                sent_at: 1_780_000_000,
                track_opens: true,
                track_links: false,
                recipients: vec![TrackedRecipient {
                    address: "dana@acme.test".into(),
                    name: "Dana Lee".into(),
                }],
            })
            .unwrap();
    }
    store
        .record_reply(&Reply {
            account: "work".into(),
            sent_message_id: "<q3@me>".into(),
            reply_message_id: "<re@acme.test>".into(),
            replied_by: "dana@acme.test".into(),
            replied_by_name: "Dana Lee".into(),
            replied_at: 1_780_007_200,
        })
        .unwrap();
    drop(store);
    let out = env.ok(&["list", "--filter", "tracked", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let row = |id: &str| rows.iter().find(|r| r["message_id"] == id).unwrap().clone();
    let q3 = row("<q3@me>");
    assert_eq!(q3["replied"], true, "{q3}");
    assert_eq!(q3["replied_by"], "dana@acme.test");
    assert_eq!(q3["replied_at"], "2026-05-28T22:26:40+00:00");
    let q4 = row("<q4@me>");
    assert_eq!(q4["replied"], false);
    assert_eq!(q4["replied_by"], serde_json::Value::Null);
}
