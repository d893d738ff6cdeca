//! `tidings demo`: a seeded inbox printed from a throw-away dir, no account, no trace left behind.

use std::path::Path;
use std::process::Command;

fn demo(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("demo")
        .args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", home)
        .env("TMPDIR", home.join("tmp"))
        .env_remove("TIDINGS_CONFIG")
        .env_remove("TIDINGS_DATA_DIR")
        .output()
        .expect("running tidings demo")
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn demo_prints_a_seeded_inbox_and_leaves_no_trace() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("tmp")).unwrap();
    let out = demo(home.path(), &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("Demo mailbox of Alex Morgan <alex@initech.test>: "),
        "{stdout}"
    );
    for expected in [
        "Dana Lee <dana.lee@acme.",
        "Hank Scorpio <hank@globe",
        "Q3 proposal for Acme",
        "This Week in Terminals #120",
        "[initech/tps] Build #4812",
        "Sending: while the demo runs, an embedded SMTP server (this time at 127.0.0.1:",
        "mail to alex@initech.test lands in INBOX",
        "Tracking: while the demo runs, an embedded tracker (this time at http://127.0.0.1:",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing:\n{stdout}");
    }
    // Printed as the demo exits: nothing claims its servers still run.
    assert!(!stdout.contains("server runs at") && !stdout.contains("tracker runs at"));
    let rows = stdout
        .lines()
        .filter(|l| l.contains("T") && l.trim_start().starts_with(char::is_numeric))
        .count();
    assert!(rows > 30, "{rows} inbox rows:\n{stdout}");
    // The hostile demo mail is listed, defused.
    assert!(!stdout.bytes().any(|b| b == 0x1b || b == 0x07));
    // Nothing in the user's data or config dirs, and the temporary dir is gone.
    assert!(
        !home.path().join("data").exists(),
        "demo wrote to XDG_DATA_HOME"
    );
    assert!(
        !home.path().join("config").exists(),
        "demo wrote to XDG_CONFIG_HOME"
    );
    assert_eq!(entries(&home.path().join("tmp")), Vec::<String>::new());
}

#[test]
fn one_demo_dir_serves_one_demo_at_a_time() {
    use tidings::demo::session::prepare_demo;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("demo");
    let first = prepare_demo(Some(&dir), 1_788_256_800).unwrap();
    let second = prepare_demo(Some(&dir), 1_788_256_800).err().unwrap();
    assert!(
        second
            .to_string()
            .contains("another `tidings demo` is using this dir"),
        "{second:#}"
    );
    drop(first);
    prepare_demo(Some(&dir), 1_788_256_800).expect("free again once the first has gone");
}

#[test]
fn the_inbox_gets_ordinary_config_pointing_at_demo_sources_that_live_as_long_as_the_demo() {
    use tidings::demo::session::{start, Audience, DemoOptions};
    use tidings::superdata::{Superdata, Target};
    let home = tempfile::tempdir().unwrap();
    let mut demo = start(DemoOptions {
        keep_in: Some(home.path().join("demo")),
        now: 1_788_256_800,
        audience: Audience::Inbox,
    })
    .unwrap();
    let superdata = demo.config().superdata.clone();
    assert!(superdata.enabled && superdata.demo, "{superdata:?}");
    assert!(
        superdata.gravatar_url.starts_with("http://127.0.0.1:"),
        "{superdata:?}"
    );
    assert!(demo.take_local_events().is_some());
    assert!(demo.take_local_events().is_none());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = home.path().join("lookups.sqlite3");
    let report = rt
        .block_on(Superdata::new(&superdata).unwrap().lookup(
            &db,
            &Target::parse("dana.lee@acme.test").unwrap(),
            false,
        ))
        .unwrap();
    assert!(report.demo());

    let http = superdata
        .gravatar_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    drop(demo);
    let stopped = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(&http).is_err()
    });
    assert!(stopped, "the demo sources at {http} outlived the demo");
}

#[test]
fn demo_dir_is_kept_reusable_and_never_a_real_cache() {
    let home = tempfile::tempdir().unwrap();
    let kept = home.path().join("kept");
    let dir = kept.to_str().unwrap();
    assert!(demo(home.path(), &["--dir", dir]).status.success());
    // Starting the same demo dir again keeps its mailbox instead of duplicating it.
    assert!(demo(home.path(), &["--dir", dir]).status.success());
    let list = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--data-dir", dir, "list", "--folder", "Archive", "--json"])
        .env("TIDINGS_CONFIG", home.path().join("none.toml"))
        .output()
        .unwrap();
    let archive: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let ids: Vec<i64> = archive
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() > 50, "{} archived", ids.len());
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());

    let real = home.path().join("real-cache");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::write(real.join("tidings.sqlite3"), b"not a demo").unwrap();
    let out = demo(home.path(), &["--dir", real.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty and not a demo dir"));
    assert_eq!(
        std::fs::read(real.join("tidings.sqlite3")).unwrap(),
        b"not a demo"
    );
}

mod sending {
    //! The demo's embedded SMTP server behind the real outbox: what a user sends in the demo
    //! arrives (INBOX for the demo user, `delivered/` for everyone) and is filed in Sent, once.

    use crate::tui_snapshots::{snap, Harness};
    use tidings::app::runtime::queue_draft;
    use tidings::app::TrackingLine;
    use tidings::demo::session::{prepare_demo, DemoEnv, DemoServers};
    use tidings::mail::compose::{Draft, Mailbox, ReplyKind, Sender};
    use tidings::mail::outbox::{Outbox, Outcome, Which};
    use tidings::store::{ListQuery, MessageSummary, NewOutboxEntry, Store};
    use tidings::tracking::client::send::{planner_for, TrackingChoice};

    fn folder(store: &Store, name: &str) -> Vec<MessageSummary> {
        store
            .list_messages(&ListQuery {
                account: Some("demo".into()),
                folder: Some(name.into()),
                ..Default::default()
            })
            .unwrap()
    }

    fn with_id<'a>(rows: &'a [MessageSummary], message_id: &str) -> Vec<&'a MessageSummary> {
        rows.iter()
            .filter(|m| m.message_id.as_deref() == Some(message_id))
            .collect()
    }

    /// A demo dir with its servers running (dropped before the dir), and its store.
    fn started_demo() -> (tempfile::TempDir, DemoEnv, DemoServers, Store) {
        let home = tempfile::tempdir().unwrap();
        let now = chrono::Utc::now().timestamp();
        let mut env = prepare_demo(Some(&home.path().join("demo")), now).unwrap();
        let servers = env.start_servers().unwrap();
        let store = env.open_store().unwrap();
        (home, env, servers, store)
    }

    #[test]
    fn mail_sent_in_the_demo_arrives_in_inbox_sent_and_delivered_exactly_once() {
        let (home, env, servers, mut store) = started_demo();
        let now = chrono::Utc::now().timestamp();
        let inbox_before = folder(&store, "INBOX").len();
        let sent_before = folder(&store, "Sent").len();

        let (name, acc) = env.config.account(Some("demo")).unwrap();
        let mut draft = Draft::new(&Sender::from_config(name, acc));
        draft.to = Mailbox::parse_list("Alex Morgan <alex@initech.test>").unwrap();
        draft.cc = Mailbox::parse_list("Dana Lee <dana.lee@acme.test>, marcus@acme.test").unwrap();
        draft.subject = "Demo plan with the numbers".into();
        draft.body = "The plan: https://example.com/plan\n".into();
        let attachment: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let path = home.path().join("numbers.bin");
        std::fs::write(&path, &attachment).unwrap();
        draft.attach_file(&path).unwrap();
        let tracked = TrackingChoice {
            opens: true,
            links: true,
        };
        let id = queue_draft(&store, &env.config, &draft, tracked, now).unwrap();

        let mut outbox = Outbox::new(env.config.clone(), &store)
            .with_planner(planner_for(&env.config, &env.db_path()));
        let results = outbox.flush(&mut store, Which::One(id), now).unwrap();
        assert_eq!(results.len(), 1, "{results:?}");
        assert_eq!(results[0].outcome, Outcome::Sent, "{results:?}");
        assert_eq!(results[0].filing_error, None);
        // A second flush finds nothing to send or file.
        let again = outbox.flush(&mut store, Which::AllWaiting, now).unwrap();
        assert!(again.is_empty(), "{again:?}");

        // Arrived in the demo INBOX once, unread, with the attachment byte for byte.
        let inbox = folder(&store, "INBOX");
        assert_eq!(inbox.len(), inbox_before + 1);
        let arrived = with_id(&inbox, &draft.message_id);
        assert_eq!(arrived.len(), 1, "{inbox:?}");
        assert!(!arrived[0].seen && arrived[0].has_attachments);
        let raw = store.raw_message(arrived[0].id).unwrap();
        let (file, bytes) = tidings::mail::render::attachment_bytes(&raw, 0).unwrap();
        assert_eq!(file, "numbers.bin");
        assert_eq!(bytes, attachment);

        // Filed in Sent once, as the untracked original.
        let sent = folder(&store, "Sent");
        assert_eq!(sent.len(), sent_before + 1);
        let filed = with_id(&sent, &draft.message_id);
        assert_eq!(filed.len(), 1);
        let base = env.config.tracking.base_url.clone().unwrap();
        let sent_raw =
            String::from_utf8_lossy(&store.raw_message(filed[0].id).unwrap()).into_owned();
        assert!(
            !sent_raw.contains(&base),
            "the Sent copy is tracked:\n{sent_raw}"
        );

        // One copy per recipient in delivered/, each tracked one with its own pixel; the
        // sender's own copy is never tracked.
        let dir = servers.smtp.delivered_dir();
        let mut copies: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        // Named by recipient; the order of the per-recipient copies is the planner's.
        copies.sort_by_key(|c| c.rsplit('-').next().map(str::to_string));
        assert_eq!(copies.len(), 3, "{copies:?}");
        assert!(copies[0].ends_with("-alex@initech.test.eml"), "{copies:?}");
        assert!(copies[1].ends_with("-dana.lee@acme.test.eml"), "{copies:?}");
        assert!(copies[2].ends_with("-marcus@acme.test.eml"), "{copies:?}");
        let pixel = |name: &str| {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            let html = parsed.body_html(0).unwrap_or_default().into_owned();
            let at = html.find(&format!("{base}/p/"))?;
            Some(html[at..at + base.len() + 3 + 32].to_string() + ".gif")
        };
        let (dana, marcus) = (pixel(&copies[1]).unwrap(), pixel(&copies[2]).unwrap());
        assert_ne!(dana, marcus);
        assert_eq!(pixel(&copies[0]), None, "the sender's own copy is tracked");

        // The reader of the Sent copy lists each recipient's tracking URLs.
        let content = tidings::app::runtime::reader_content(&store, filed[0].id).unwrap();
        let lines = content.tracking.expect("tracking URLs").lines;
        let has = |l: TrackingLine| lines.contains(&l);
        for label in [
            "dana.lee@acme.test",
            "marcus@acme.test",
            "alex@initech.test: untracked (your own copy)",
        ] {
            assert!(has(TrackingLine::Label(label.into())), "{lines:?}");
        }
        assert!(
            !format!("{lines:?}").contains("still in the outbox"),
            "{lines:?}"
        );
        assert!(has(TrackingLine::Url(dana)), "{lines:?}");
        assert!(has(TrackingLine::Url(marcus)), "{lines:?}");
        assert!(has(TrackingLine::Label(
            "  link to https://example.com/plan".into()
        )));
        // A received message has no tracking section.
        let other = inbox
            .iter()
            .find(|m| m.message_id.as_deref() != Some(draft.message_id.as_str()))
            .unwrap();
        let content = tidings::app::runtime::reader_content(&store, other.id).unwrap();
        assert_eq!(content.tracking, None);
    }

    #[test]
    fn a_forward_keeps_its_attachments_and_a_reply_reaches_its_author_in_the_demo() {
        let (_home, env, servers, mut store) = started_demo();
        let now = chrono::Utc::now().timestamp();
        let (name, acc) = env.config.account(Some("demo")).unwrap();
        let me = Sender::from_config(name, acc);
        let inbox = folder(&store, "INBOX");
        let with_files = inbox.iter().find(|m| m.has_attachments).unwrap();
        let original = store.raw_message(with_files.id).unwrap();
        let attached = tidings::mail::render::attachment_bytes(&original, 0).unwrap();

        // Forward to self (untracked): it arrives with the original's attachment.
        let mut forward = Draft::forward(&me, &original).unwrap();
        forward.to = Mailbox::parse_list("alex@initech.test").unwrap();
        let none = TrackingChoice::default();
        queue_draft(&store, &env.config, &forward, none, now).unwrap();
        // Reply to the original's author.
        let reply = Draft::reply(&me, &original, ReplyKind::Sender).unwrap();
        queue_draft(&store, &env.config, &reply, none, now).unwrap();

        let mut outbox = Outbox::new(env.config.clone(), &store)
            .with_planner(planner_for(&env.config, &env.db_path()));
        let results = outbox.flush(&mut store, Which::AllWaiting, now).unwrap();
        assert_eq!(results.len(), 2, "{results:?}");
        assert!(
            results.iter().all(|r| r.outcome == Outcome::Sent),
            "{results:?}"
        );

        let inbox = folder(&store, "INBOX");
        let arrived = with_id(&inbox, &forward.message_id);
        assert_eq!(arrived.len(), 1);
        let raw = store.raw_message(arrived[0].id).unwrap();
        assert_eq!(
            tidings::mail::render::attachment_bytes(&raw, 0).unwrap(),
            attached
        );
        assert!(with_id(&inbox, &reply.message_id).is_empty());
        let sent = folder(&store, "Sent");
        assert_eq!(with_id(&sent, &reply.message_id).len(), 1);
        assert_eq!(with_id(&sent, &forward.message_id).len(), 1);
        let author = reply.to[0].email.clone();
        assert_eq!(author, with_files.from_addr);
        let files: Vec<String> = std::fs::read_dir(servers.smtp.delivered_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files.iter().any(|f| f.ends_with(&format!("-{author}.eml"))));
    }

    #[test]
    fn the_demo_smtp_server_refuses_mail_without_its_password() {
        let home = tempfile::tempdir().unwrap();
        let mut env = prepare_demo(Some(&home.path().join("demo")), 1_788_256_800).unwrap();
        let servers = env.start_servers().unwrap();
        let cfg = servers.smtp.server_config();
        assert_eq!(cfg.host, "127.0.0.1");
        let refused =
            tidings::mail::smtp::SmtpSession::connect(&cfg, "x@example.com", Some("wrong"));
        let e = refused.err().expect("a wrong password is refused");
        assert_eq!(e.kind, tidings::mail::smtp::FailureKind::Permanent, "{e}");
    }

    #[test]
    fn reader_shows_a_tracked_mails_urls_at_the_end_bounded() {
        let mut h = Harness::new(120, 60);
        let account = h.store.account_id("work").unwrap();
        let inbox = h.store.folder(account, "INBOX").unwrap();
        let raw = "From: Me <me@example.com>\r\nTo: many@example.com\r\n\
                   Subject: Proposal for many\r\nMessage-ID: <tracked.1@example.com>\r\n\
                   Date: Tue, 1 Sep 2026 10:00:00 +0000\r\n\r\nHello all.\r\n";
        let msg = tidings::mail::parse::parse_message(
            9000,
            raw.as_bytes().to_vec(),
            Default::default(),
            Some(crate::support::mailbox::NOW),
        );
        h.store.put_message(inbox.id, &msg).unwrap();
        // A registered tracking record with fixed tokens: 15 recipients, two links each.
        let recipients: Vec<serde_json::Value> = (0..15)
            .map(|i| {
                serde_json::json!({
                    "address": format!("r{i:02}@example.com"),
                    "token": format!("{i:032x}"),
                    "pixel_url": format!("http://127.0.0.1:8025/p/{i:032x}.gif"),
                    "opt_out_url": null,
                    "links": [
                        {"token": format!("{:032x}", 100 + i), "url": "https://example.com/plan"},
                        {"token": format!("{:032x}", 200 + i), "url": "https://example.com/price"},
                    ],
                })
            })
            .collect();
        let record = serde_json::json!({
            "opens": true, "links": true, "opt_out_link": false,
            "base_url": "http://127.0.0.1:8025", "recipients": recipients,
        })
        .to_string();
        h.store
            .outbox_insert(&NewOutboxEntry {
                account: "work",
                message_id: "<tracked.1@example.com>",
                draft_json: "{}",
                date: crate::support::mailbox::NOW,
                raw: raw.as_bytes(),
                sent_copy: raw.as_bytes(),
                envelope_from: "me@example.com",
                tracking: Some(&record),
                now: crate::support::mailbox::NOW,
            })
            .unwrap();
        h.send(tidings::app::Msg::Action(tidings::app::Action::FilterAll));
        h.press(&["G", "Enter"]);
        let screen = h.screen();
        assert!(screen.contains("Proposal for many"), "{screen}");
        assert!(screen.contains("http://127.0.0.1:8025/p/00000000000000000000000000000000.gif"));
        assert!(screen.contains("more lines: `tidings show"), "{screen}");
        snap!("reader_tracking_urls", screen);
    }
}

#[test]
fn tmux_demo_composes_and_sends_a_mail_that_arrives_in_its_inbox() {
    use crate::support::tmux::Tmux;
    let t = Tmux::demo("demo-send");
    t.wait_for("INBOX — All");
    t.compose(
        "alex@initech.test, dana.lee@acme.test",
        "Sent from the demo",
        "Plan: https://example.com/plan",
    );
    t.keys(&["C-s"]);
    t.wait_for("sent \"");
    // The INBOX shows it (the receiver's folder change reloads the list), newest first.
    t.wait_for("Sent from the demo");
    let store = t.store();
    let count = |folder: &str| {
        store
            .list_messages(&tidings::store::ListQuery {
                folder: Some(folder.into()),
                search: Some("\"Sent from the demo\"".into()),
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    assert_eq!(count("INBOX"), 1);
    assert_eq!(count("Sent"), 1);
    assert_eq!(entries(&t.data.join("delivered")).len(), 2);
    // Its reader lists the tracking URLs.
    t.keys(&["g", "Enter"]);
    let screen = t.wait_for("Tracking URLs — open one in a browser");
    assert!(screen.contains("dana.lee@acme.test"), "{screen}");
    assert!(screen.contains("/p/"), "{screen}");
    t.keys(&["q", "q"]);
}

#[test]
fn tmux_demo_shows_tracked_mail_at_start_and_a_live_open_updates_list_and_bell() {
    use crate::support::tmux::Tmux;
    let t = Tmux::demo("demo-tracked");
    t.wait_for("INBOX — All");
    t.keys(&["4"]);
    t.wait_for("all folders — Tracked (1/5)");
    t.wait_for("Re: Q3 proposal for Acme — 1 open");
    // Sam opens a few seconds in: the list and the bell follow without a key pressed. Only
    // people ring it (Dana, Hank through Gmail's proxy, Sam), never Apple's prefetch or a scanner.
    t.wait_for("Re: Weekend hike? — 1 open");
    t.wait_for("bell 3");
    t.keys(&["b"]);
    let screen = t.wait_for("Sam Rivera opened");
    assert!(screen.contains("Apple Mail Privacy Protection"), "{screen}");
    // The scanner's sweep: its verdict, the client named, the start of the reason (the pane is
    // narrower than the whole line).
    assert!(
        screen.contains("automated — Chrome on Windows: all 2 links"),
        "{screen}"
    );
    t.keys(&["q", "q"]);
}

#[test]
fn a_send_only_account_sends_with_the_cli_and_files_sent_in_the_cache() {
    use crate::support::smtp::SmtpServer;
    use crate::support::TidingsEnv;
    let smtp = SmtpServer::start();
    let env = TidingsEnv::new(&format!(
        "[accounts.out]\nemail = \"me@example.com\"\ndisplay_name = \"Me\"\n\
         [accounts.out.smtp]\n{}",
        smtp.config_section()
    ));
    let out = env
        .command()
        .args([
            "send",
            "--to",
            "dana@acme.test",
            "--subject",
            "No IMAP here",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"Sent without IMAP.\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(smtp.deliveries().len(), 1);
    let sent = env.list_json("Sent");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["subject"], "No IMAP here");
    assert_eq!(sent[0]["account"], "out");
    let outbox: serde_json::Value =
        serde_json::from_str(&env.ok(&["outbox", "--json", "--all"])).unwrap();
    assert_eq!(outbox[0]["filed"], "done", "{outbox}");
    // Nothing to sync, and `sync` says why.
    let sync = env.run(&["sync"]);
    assert_eq!(sync.status.code(), Some(1));
    let why = String::from_utf8_lossy(&sync.stderr);
    assert!(why.contains("[accounts.NAME.imap]"), "{why}");
}

mod tracked {
    //! The demo's tracked Sent mail: registered with the embedded tracker, opened and clicked
    //! over real HTTP, classified by the tracker and brought in by the poller.

    use super::demo;
    use std::process::Command;
    use tidings::demo::session::{poll_once, prepare_demo, Pace};
    use tidings::tracking::server::classify::{Classification, EventKind};

    fn tracked_json(home: &std::path::Path, dir: &str) -> Vec<serde_json::Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
            .args(["--data-dir", dir, "list", "--filter", "tracked", "--json"])
            .env("TIDINGS_CONFIG", home.join("none.toml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    fn by_subject<'a>(list: &'a [serde_json::Value], subject: &str) -> &'a serde_json::Value {
        list.iter()
            .find(|m| m["subject"] == subject)
            .unwrap_or_else(|| panic!("{subject:?} not tracked: {list:?}"))
    }

    fn recipient<'a>(mail: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
        mail["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address} not a recipient: {mail}"))
    }

    #[test]
    fn a_kept_demo_dir_lists_tracked_mail_with_attributed_opens_and_clicks_once() {
        let home = tempfile::tempdir().unwrap();
        let kept = home.path().join("kept");
        let dir = kept.to_str().unwrap();
        let out = demo(home.path(), &["--dir", dir]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("Tracked mail, with the opens"), "{stdout}");

        let list = tracked_json(home.path(), dir);
        assert_eq!(list.len(), 5, "{list:?}");
        assert!(list
            .iter()
            .all(|m| m["tracked"] == true && m["folder"] == "Sent"));
        // Dana opened twice (Chrome, then Thunderbird); Marcus only clicked the price sheet.
        let q3 = by_subject(&list, "Re: Q3 proposal for Acme");
        assert_eq!(q3["opened_by"], serde_json::json!(["dana.lee@acme.test"]));
        assert_eq!(recipient(q3, "dana.lee@acme.test")["opens"], 2);
        assert_eq!(recipient(q3, "dana.lee@acme.test")["clicks"], 0);
        assert_eq!(recipient(q3, "marcus@acme.test")["opens"], 0);
        assert_eq!(recipient(q3, "marcus@acme.test")["clicks"], 1);
        assert_eq!(
            q3["clicks_by_link"],
            serde_json::json!({"https://initech.test/acme/q3-pricing": 1})
        );
        // Apple's privacy prefetch is not an open.
        let expenses = by_subject(&list, "Re: Expense report — March offsite");
        assert_eq!(
            (expenses["opens"].as_u64(), expenses["automated"].as_u64()),
            (Some(0), Some(1))
        );
        // Gmail's proxy is a real open, marked as such; Lena opened in Outlook.
        let globex = by_subject(&list, "Re: Globex integration: API rate limits");
        assert_eq!(recipient(globex, "hank@globex.test")["via_proxy"], true);
        assert_eq!(recipient(globex, "hank@globex.test")["opens"], 1);
        assert_eq!(recipient(globex, "lena.ortiz@globex.test")["opens"], 1);
        // A scanner clicking every link at once counts for nothing.
        let incident = by_subject(&list, "Re: Incident 2291: nightly export failed");
        assert_eq!(
            (incident["clicks"].as_u64(), incident["automated"].as_u64()),
            (Some(0), Some(2))
        );
        // The reader (and `show`) of a seeded mail, which has no outbox row, ends with each
        // recipient's own pixel and tracked links.
        let shown = Command::new(env!("CARGO_BIN_EXE_tidings"))
            .args(["--data-dir", dir, "show", &q3["id"].to_string()])
            .env("TIDINGS_CONFIG", home.path().join("none.toml"))
            .output()
            .unwrap();
        let shown = String::from_utf8(shown.stdout).unwrap();
        let tracking = shown.split("\nTracking\n").nth(1).unwrap_or_default();
        for who in ["dana.lee@acme.test", "marcus@acme.test"] {
            let section = tracking.split(who).nth(1).unwrap_or_default();
            assert!(section.contains("    pixel: http://"), "{shown}");
        }
        assert!(
            tracking.contains("-> https://initech.test/acme/q3-pricing"),
            "{shown}"
        );
        let hike = by_subject(&list, "Re: Weekend hike?");
        assert_eq!(
            hike["opened_by"],
            serde_json::json!(["sam.rivera@example.org"])
        );

        // Running the kept dir again registers and plays nothing twice.
        let again = demo(home.path(), &["--dir", dir]);
        assert!(
            again.status.success(),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        let after = tracked_json(home.path(), dir);
        let counts = |l: &[serde_json::Value]| {
            let mut c: Vec<(String, u64, u64, u64)> = l
                .iter()
                .map(|m| {
                    (
                        m["message_id"].as_str().unwrap().to_string(),
                        m["opens"].as_u64().unwrap(),
                        m["clicks"].as_u64().unwrap(),
                        m["automated"].as_u64().unwrap(),
                    )
                })
                .collect();
            c.sort();
            c
        };
        assert_eq!(counts(&after), counts(&list));
        assert_eq!(
            after
                .iter()
                .map(|m| m["recipients"].as_array().unwrap().len())
                .sum::<usize>(),
            7
        );
    }

    #[test]
    fn the_demo_timeline_shows_each_kind_of_machine_open_with_its_reason() {
        let home = tempfile::tempdir().unwrap();
        let now = chrono::Utc::now().timestamp();
        let mut env = prepare_demo(Some(&home.path().join("demo")), now).unwrap();
        let mut servers = env.start_servers().unwrap();
        assert!(servers.seed_tracking(&env, Pace::AllNow).unwrap());
        // Nothing reaches the store but through the poller.
        let store = env.open_store().unwrap();
        assert_eq!(store.tracking_event_count().unwrap(), 0);
        assert_eq!(poll_once(&env.config, &env.db_path()).unwrap(), 9);

        let timeline = |id: &str| store.timeline("demo", id).unwrap();
        let apple = timeline("<thread2.1@initech.test>");
        assert_eq!(apple.len(), 1);
        assert_eq!(apple[0].classification, Classification::Automated);
        assert_eq!(apple[0].user_agent, "Mozilla/5.0");
        assert!(
            apple[0].reason.contains("Apple Mail Privacy Protection"),
            "{apple:?}"
        );
        assert_eq!(apple[0].recipient, "priya@acme.test");

        let gmail = timeline("<thread1.1@initech.test>");
        let hank = gmail
            .iter()
            .find(|e| e.recipient == "hank@globex.test")
            .unwrap();
        assert_eq!(hank.classification, Classification::Proxy);
        assert!(hank.user_agent.contains("GoogleImageProxy"));

        let scanner = timeline("<thread8.2@initech.test>");
        assert_eq!(scanner.len(), 2, "{scanner:?}");
        for e in &scanner {
            assert_eq!(
                (e.kind, e.classification),
                (EventKind::Click, Classification::Automated)
            );
            assert!(e.reason.contains("link scanner"), "{e:?}");
        }

        let q3 = timeline("<thread0.1@initech.test>");
        assert!(
            q3.iter().all(|e| e.classification == Classification::Human),
            "{q3:?}"
        );
        let marcus: Vec<_> = q3
            .iter()
            .filter(|e| e.recipient == "marcus@acme.test")
            .collect();
        assert_eq!(marcus.len(), 1);
        assert_eq!(
            marcus[0].url.as_deref(),
            Some("https://initech.test/acme/q3-pricing")
        );
        // The bell rang for people, not for machines.
        let bell: Vec<String> = store
            .notifications(50)
            .unwrap()
            .into_iter()
            .map(|n| n.summary)
            .collect();
        assert!(bell.iter().any(|s| s.contains("Dana Lee")), "{bell:?}");
        assert!(bell.iter().any(|s| s.contains("Marcus Chen")), "{bell:?}");
        assert!(
            !bell
                .iter()
                .any(|s| s.contains("Priya") || s.contains("Peter")),
            "{bell:?}"
        );
        // Seeding twice in one run registers nothing more.
        assert!(!servers.seed_tracking(&env, Pace::AllNow).unwrap());
    }
}

#[test]
fn a_kept_demo_dir_keeps_its_mailbox_and_triage_across_starts() {
    use tidings::app::runtime::{OpsBackend, TriageBackend};
    use tidings::app::Change;
    use tidings::demo::session::prepare_demo;
    use tidings::mail::local_mailbox::{deliver, LocalFolder};
    use tidings::store::{ListQuery, MessageSummary, Store};
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("demo");
    let listed = |store: &Store, folder: &str| -> Vec<MessageSummary> {
        store
            .list_messages(&ListQuery {
                account: Some("demo".into()),
                folder: Some(folder.into()),
                ..Default::default()
            })
            .unwrap()
    };
    let first = prepare_demo(Some(&dir), 1_788_256_800).unwrap();
    let store = first.open_store().unwrap();
    let inbox = listed(&store, "INBOX");
    let (archived, read) = (inbox[0].id, inbox.iter().find(|m| !m.seen).unwrap().id);
    // The demo's account has no IMAP server: its triage applies to the folders at once.
    let backend = OpsBackend::local_only().with_local_accounts(["demo".to_string()]);
    backend
        .apply(&store, 1, &[archived], &Change::Archive)
        .unwrap();
    backend
        .apply(&store, 2, &[read], &Change::Seen(true))
        .unwrap();
    assert!(listed(&store, "Archive").iter().any(|m| m.id == archived));
    let to_self = b"From: Alex Morgan <alex@initech.test>\r\nTo: alex@initech.test\r\n\
Subject: Note to self\r\nMessage-ID: <self-1@initech.test>\r\n\
Date: Tue, 01 Sep 2026 10:00:00 +0000\r\n\r\nremember\r\n";
    let inbox_role = LocalFolder {
        account: "demo",
        role: "inbox",
        default_name: "INBOX",
    };
    deliver(&store, inbox_role, to_self.to_vec(), false, 0).unwrap();
    let before: Vec<(i64, i64, bool)> = listed(&store, "INBOX")
        .iter()
        .map(|m| (m.id, m.date, m.seen))
        .collect();
    drop(store);
    drop(first);

    // Started again days later: the same mailbox, not a fresh seed.
    let again = prepare_demo(Some(&dir), 1_788_256_800 + 3 * 86_400).unwrap();
    let store = again.open_store().unwrap();
    let after: Vec<(i64, i64, bool)> = listed(&store, "INBOX")
        .iter()
        .map(|m| (m.id, m.date, m.seen))
        .collect();
    assert_eq!(after, before, "ids, dates and read state are kept");
    assert!(listed(&store, "Archive").iter().any(|m| m.id == archived));
    assert!(listed(&store, "INBOX")
        .iter()
        .any(|m| m.subject == "Note to self"));
    let summary = &again.summary;
    assert_eq!(
        summary.folders[0],
        ("INBOX".to_string(), before.len()),
        "{summary:?}"
    );
    assert_eq!(summary.tracked_sent.len(), 5);
}

/// The demo wears the user's theme (`--theme`, else the config file's); a theme that does not
/// exist is one clear line before anything starts, not a default theme and a note.
#[test]
fn a_bad_theme_is_one_line_at_start_and_a_good_one_is_taken() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("tmp")).unwrap();
    let out = demo(home.path(), &["--theme", "no-such-theme"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("\"no-such-theme\" not found"), "{err}");
    assert!(
        err.contains("gruvbox"),
        "the shipped themes are named: {err}"
    );
    assert!(!err.contains("using the default"), "{err}");
    assert!(out.stdout.is_empty(), "nothing started");

    // The config file's theme is the default, and is checked the same way.
    let config = home.path().join("config/tidings");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "theme = \"neon\"\n").unwrap();
    let out = demo(home.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"neon\" not found"));

    // A user's own theme file by that name is found; a shipped one by flag wins over the config.
    std::fs::create_dir_all(config.join("themes")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/themes/light.toml"),
        config.join("themes/neon.toml"),
    )
    .unwrap();
    let out = demo(home.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(config.join("themes/neon.toml")).unwrap();
    let out = demo(home.path(), &["--theme", "gruvbox"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
