//! Tracked sending end to end: `tidings send --track-opens --track-links` through the real SMTP
//! server with a real tracker process — one differently tokened copy per recipient, an untracked
//! Sent copy, remembered defaults, waiting (never silently untracked) while the tracker is down,
//! consent, and a recipient's copy opened in headless Chromium producing events for that
//! recipient only.

use crate::support::chromium;
use crate::support::dovecot::Dovecot;
use crate::support::http::{HttpServer, Reply};
use crate::support::smtp::{free_port, SmtpOptions, SmtpServer};
use crate::support::tracker::{add_user, TrackerProcess};
use mail_parser::MessageParser;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use tidings::store::{Store, TrackingPreference};
use tidings::tracking::client::api::TrackerClient;
use tidings::tracking_event::EventKind;

const ALICE: &str = "alice@acme.test";
const BOB: &str = "bob@acme.test";
const CAROL: &str = "carol@acme.test";

struct Tracker {
    process: TrackerProcess,
    token: String,
    _db: tempfile::TempDir,
}

fn start_tracker() -> Tracker {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", db.path().join("t.sqlite3").display());
    let token = add_user(&url, "sender");
    Tracker {
        process: TrackerProcess::start(&url, &[]),
        token,
        _db: db,
    }
}

/// An SMTP server that files each recipient's mail in that recipient's own Maildir.
struct Mailboxes {
    smtp: SmtpServer,
    dirs: tempfile::TempDir,
}

impl Mailboxes {
    fn start() -> Mailboxes {
        Mailboxes::start_with(Vec::new())
    }

    /// `extra` routes (e.g. into a Dovecot user's Maildir) come before the per-address dirs.
    fn start_with(extra: Vec<(String, PathBuf)>) -> Mailboxes {
        let dirs = tempfile::tempdir().unwrap();
        let mut routes = extra;
        routes.extend(
            [ALICE, BOB, CAROL]
                .iter()
                .filter(|a| !routes.iter().any(|(r, _)| r == *a))
                .map(|a| (a.to_string(), dirs.path().join(a)))
                .collect::<Vec<_>>(),
        );
        let smtp = SmtpServer::start_with(SmtpOptions {
            routes,
            ..Default::default()
        });
        Mailboxes { smtp, dirs }
    }

    fn of(&self, address: &str) -> Vec<Vec<u8>> {
        SmtpServer::maildir_messages(&self.dirs.path().join(address))
    }
}

struct Env {
    dir: tempfile::TempDir,
    smtp_section: String,
    /// `server_saves_sent` and the `[accounts.work.imap]` section.
    imap: String,
}

impl Env {
    fn new(smtp: &SmtpServer, tracking: &str) -> Env {
        // IMAP points at a closed port and the server "files sent mail itself": most tests
        // here never need IMAP.
        let imap = format!(
            "server_saves_sent = true\n[accounts.work.imap]\nhost = \"127.0.0.1\"\nport = {}\n\
             security = \"none\"\nuser = \"me\"\npassword = \"x\"\ntimeout_seconds = 2\n",
            free_port()
        );
        Env::with_imap(smtp, tracking, imap)
    }

    /// The account's IMAP is user `me` on this Dovecot, which gets the Sent copy.
    fn with_dovecot(smtp: &SmtpServer, tracking: &str, dc: &Dovecot) -> Env {
        let imap = format!(
            "[accounts.work.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
             user = \"me\"\npassword = \"me-pw\"\ntimeout_seconds = 5\n",
            dc.port
        );
        Env::with_imap(smtp, tracking, imap)
    }

    fn with_imap(smtp: &SmtpServer, tracking: &str, imap: String) -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
            smtp_section: smtp.config_section(),
            imap,
        };
        env.set_tracking(tracking);
        env
    }

    /// Rewrites the config with this `[tracking]` section.
    fn set_tracking(&self, tracking: &str) {
        let config = format!(
            "[accounts.work]\nemail = \"me@example.com\"\ndisplay_name = \"Me Sender\"\n\
             {}[accounts.work.smtp]\n{}\n[tracking]\n{tracking}\n",
            self.imap, self.smtp_section
        );
        std::fs::write(self.path("config.toml"), config).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(self.path("config.toml"))
            .arg("--data-dir")
            .arg(self.path("data"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn store(&self) -> Store {
        Store::open(&self.path("data").join("tidings.sqlite3")).unwrap()
    }

    /// Sends an HTML mail with one web link and one mailto link to `to` (plus `extra` flags).
    fn send(&self, to: &[&str], extra: &[&str], link: &str) -> Output {
        std::fs::write(self.path("body.txt"), format!("See {link}\n")).unwrap();
        std::fs::write(
            self.path("body.html"),
            format!(
                "<html><body><p>See <a href=\"{link}\">the offer</a> or \
                 <a href=\"mailto:me@example.com\">write</a>.</p></body></html>"
            ),
        )
        .unwrap();
        let mut args = vec!["send", "--subject", "Offer", "--body-file"];
        let body = self.path("body.txt");
        let html = self.path("body.html");
        args.push(body.to_str().unwrap());
        args.extend(["--html-file", html.to_str().unwrap()]);
        for t in to {
            args.extend(["--to", t]);
        }
        args.extend(extra);
        self.run(&args)
    }

    fn outbox(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["outbox", "--json", "--all"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn tracking_section(base_url: &str, token: &str) -> String {
    format!("base_url = \"{base_url}\"\napi_token = \"{token}\"\n")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn html_of(raw: &[u8]) -> String {
    let m = MessageParser::default().parse(raw).unwrap();
    m.body_html(0).unwrap().into_owned()
}

fn text_of(raw: &[u8]) -> String {
    let m = MessageParser::default().parse(raw).unwrap();
    m.body_text(0).unwrap().into_owned()
}

/// The pixel token in a copy's HTML (`BASE/p/TOKEN.gif`).
fn pixel_token(html: &str, base: &str) -> String {
    let start = html
        .find(&format!("{base}/p/"))
        .unwrap_or_else(|| panic!("no pixel in {html}"))
        + base.len()
        + 3;
    html[start..].split(".gif").next().unwrap().to_string()
}

fn header_lines(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap().to_string();
    head.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            ["subject:", "from:", "to:", "cc:", "date:", "message-id:"]
                .iter()
                .any(|h| l.starts_with(h))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn tracked_send_gives_each_recipient_own_tokens_and_files_an_untracked_sent_copy() {
    let tracker = start_tracker();
    let base = tracker.process.base_url.clone();
    let boxes = Mailboxes::start();
    let dovecot = Dovecot::start();
    dovecot.add_user("me", "me-pw");
    let env = Env::with_dovecot(
        &boxes.smtp,
        &tracking_section(&base, &tracker.token),
        &dovecot,
    );
    let link = "https://shop.example.com/offer?id=7";
    let out = env.send(
        &[ALICE, BOB],
        &["--bcc", CAROL, "--track-opens", "--track-links"],
        link,
    );
    assert!(out.status.success(), "{}", stderr(&out));

    let copies: Vec<Vec<u8>> = [ALICE, BOB, CAROL]
        .iter()
        .map(|a| {
            let mut m = boxes.of(a);
            assert_eq!(m.len(), 1, "{a} got one copy");
            m.remove(0)
        })
        .collect();
    let tokens: Vec<String> = copies
        .iter()
        .map(|c| pixel_token(&html_of(c), &base))
        .collect();
    assert_ne!(tokens[0], tokens[1]);
    assert_ne!(tokens[1], tokens[2]);
    assert_ne!(tokens[0], tokens[2]);
    for (copy, token) in copies.iter().zip(&tokens) {
        let html = html_of(copy);
        assert!(!html.contains(link), "the link is rewritten: {html}");
        assert!(html.contains(&format!("{base}/l/")));
        assert!(html.contains("mailto:me@example.com"));
        // No other recipient's token is in this copy.
        for other in tokens.iter().filter(|t| *t != token) {
            assert!(!String::from_utf8_lossy(copy).contains(other.as_str()));
        }
        assert!(text_of(copy).contains(&format!("{base}/l/")));
        let raw = String::from_utf8_lossy(copy).to_ascii_lowercase();
        assert!(!raw.contains("\nbcc:"), "Bcc never goes over the wire");
        assert_eq!(header_lines(copy), header_lines(&copies[0]));
    }
    // The Bcc copy does not name Carol anywhere in its headers either.
    assert!(!header_lines(&copies[2]).concat().contains(CAROL));

    let entry = &env.outbox()[0];
    assert_eq!(entry["state"], "sent");
    let deliveries = entry["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3, "one delivery per recipient");
    let registered: Vec<&str> = entry["tracking"]["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["token"].as_str().unwrap())
        .collect();
    assert_eq!(
        registered,
        tokens.iter().map(String::as_str).collect::<Vec<_>>()
    );

    let store = env.store();
    let message_id = entry["message_id"].as_str().unwrap();
    let recorded = store.tracked_message("work", message_id).unwrap().unwrap();
    assert!(recorded.track_opens && recorded.track_links);
    let mut addresses: Vec<_> = recorded
        .recipients
        .iter()
        .map(|r| r.address.as_str())
        .collect();
    addresses.sort();
    assert_eq!(addresses, vec![ALICE, BOB, CAROL]);
    // What `tidings show` appends for this mail: each recipient's own pixel.
    let report = tidings::tracking::client::send::tracking_report(&store, message_id)
        .unwrap()
        .unwrap();
    for (address, token) in [ALICE, BOB, CAROL].iter().zip(&tokens) {
        assert!(report.contains(address));
        assert!(
            report.contains(&format!("pixel: {base}/p/{token}.gif")),
            "{report}"
        );
    }
    // The Sent copy, as the sender's other clients see it over IMAP: one, untracked.
    let (_, sent_copy) = store
        .outbox_bytes(entry["id"].as_i64().unwrap())
        .unwrap()
        .unwrap();
    let filed = dovecot.messages("me", "Sent");
    assert_eq!(filed.len(), 1, "one Sent copy for three deliveries");
    assert!(filed[0].raw == sent_copy);
    assert_eq!(entry["filed"], "done");
    let sent = String::from_utf8_lossy(&filed[0].raw);
    assert!(
        !sent.contains(&base),
        "the Sent copy carries no pixel and no tracked link"
    );
    assert!(html_of(&filed[0].raw).contains(link));
    assert!(html_of(&filed[0].raw).contains("mailto:me@example.com"));
    assert_eq!(header_lines(&filed[0].raw), header_lines(&copies[0]));
    assert!(
        sent.to_ascii_lowercase().contains("bcc:"),
        "the Sent copy keeps Bcc"
    );
    // With its outbox row gone, the report comes from the client-side tracked mail, the same.
    assert!(store.outbox_delete(entry["id"].as_i64().unwrap()).unwrap());
    let kept = tidings::tracking::client::send::tracking_report(&store, message_id)
        .unwrap()
        .unwrap();
    let lines = |r: &str| {
        let mut l: Vec<String> = r.lines().map(str::to_string).collect();
        l.sort();
        l
    };
    assert_eq!(lines(&kept), lines(&report));
}

#[test]
fn tracking_choice_is_remembered_per_account_for_the_next_send() {
    let tracker = start_tracker();
    let base = tracker.process.base_url.clone();
    let boxes = Mailboxes::start();
    let env = Env::new(&boxes.smtp, &tracking_section(&base, &tracker.token));
    let link = "https://shop.example.com/a";
    let tracked = |e: &serde_json::Value| -> (bool, bool) {
        let t = &e["tracking"];
        (
            t["opens"].as_bool().unwrap_or(false),
            t["links"].as_bool().unwrap_or(false),
        )
    };

    // Config defaults (off): the first mail without flags is untracked.
    assert!(env.send(&[ALICE], &[], link).status.success());
    assert_eq!(env.outbox()[0]["tracked"], false);
    assert!(!String::from_utf8_lossy(&boxes.of(ALICE)[0]).contains(&base));

    assert!(env
        .send(&[ALICE], &["--track-opens"], link)
        .status
        .success());
    assert_eq!(tracked(&env.outbox()[1]), (true, false));
    // No flags: the last choice (opens only) applies.
    assert!(env.send(&[ALICE], &[], link).status.success());
    assert_eq!(tracked(&env.outbox()[2]), (true, false));
    let third = html_of(&boxes.of(ALICE)[2]);
    assert!(third.contains(&format!("{base}/p/")) && third.contains(link));

    assert!(env
        .send(&[ALICE], &["--no-track-opens", "--track-links"], link)
        .status
        .success());
    assert_eq!(tracked(&env.outbox()[3]), (false, true));
    assert!(env.send(&[ALICE], &[], link).status.success());
    assert_eq!(tracked(&env.outbox()[4]), (false, true));

    let store = env.store();
    let choice = tidings::tracking::client::send::defaults(
        &store,
        "work",
        &tidings::config::TrackingConfig::default(),
    )
    .unwrap();
    assert_eq!((choice.opens, choice.links), (false, true));
}

#[test]
fn tracker_down_keeps_the_mail_waiting_then_a_flush_sends_it_tracked_exactly_once() {
    let boxes = Mailboxes::start();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let env = Env::new(&boxes.smtp, &tracking_section(&dead, "whatever"));
    let out = env.send(
        &[ALICE, BOB],
        &["--track-opens", "--track-links"],
        "https://x.test/",
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tracker unreachable"),
        "{}",
        stderr(&out)
    );
    let entry = &env.outbox()[0];
    assert_eq!(entry["state"], "queued");
    assert!(entry["last_error"]
        .as_str()
        .unwrap()
        .contains("tracker unreachable"));
    assert!(boxes.smtp.deliveries().is_empty(), "nothing left untracked");

    let tracker = start_tracker();
    let base = tracker.process.base_url.clone();
    env.set_tracking(&tracking_section(&base, &tracker.token));
    let out = env.run(&["outbox", "flush"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = env.run(&["outbox", "flush"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        boxes.smtp.deliveries().len(),
        2,
        "one transaction per recipient, once"
    );
    for a in [ALICE, BOB] {
        let copies = boxes.of(a);
        assert_eq!(copies.len(), 1);
        assert!(html_of(&copies[0]).contains(&format!("{base}/p/")));
    }
}

#[test]
fn tracker_down_sends_untracked_only_on_the_users_word_with_a_warning() {
    let boxes = Mailboxes::start();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let env = Env::new(&boxes.smtp, &tracking_section(&dead, "whatever"));
    let out = env.send(
        &[ALICE],
        &["--track-opens", "--untracked-if-tracker-down"],
        "https://x.test/",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("NOT TRACKED"), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&boxes.of(ALICE)[0]).contains(&dead));

    // A waiting mail can be released untracked later, also with a warning.
    let out = env.send(&[BOB], &["--track-opens"], "https://x.test/");
    assert_eq!(out.status.code(), Some(75));
    let id = env.outbox()[1]["id"].as_i64().unwrap().to_string();
    let out = env.run(&["outbox", "untrack", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("NOT TRACKED"), "{}", stderr(&out));
    assert_eq!(boxes.of(BOB).len(), 1);
    assert!(!String::from_utf8_lossy(&boxes.of(BOB)[0]).contains(&dead));
}

#[test]
fn recipients_without_consent_get_an_untracked_copy() {
    let tracker = start_tracker();
    let base = tracker.process.base_url.clone();
    let boxes = Mailboxes::start();
    let env = Env::new(&boxes.smtp, &tracking_section(&base, &tracker.token));
    let link = "https://shop.example.com/c";
    env.store()
        .set_tracking_preference(BOB, Some(TrackingPreference::Never))
        .unwrap();
    let out = env.send(&[ALICE, BOB], &["--track-opens", "--track-links"], link);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&boxes.of(ALICE)[0]).contains(&base));
    let bob = &boxes.of(BOB)[0];
    assert!(
        !String::from_utf8_lossy(bob).contains(&base),
        "never: untracked"
    );
    assert!(html_of(bob).contains(link));

    // With require_consent only a recorded "allow" is tracked.
    env.set_tracking(&format!(
        "{}require_consent = true\n",
        tracking_section(&base, &tracker.token)
    ));
    env.store()
        .set_tracking_preference(CAROL, Some(TrackingPreference::Allow))
        .unwrap();
    let out = env.send(&[ALICE, CAROL], &["--track-opens"], link);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&boxes.of(ALICE)[1]).contains(&base));
    assert!(html_of(&boxes.of(CAROL)[0]).contains(&format!("{base}/p/")));
}

#[test]
fn a_recipient_opening_in_chromium_and_clicking_yields_events_for_that_recipient_only() {
    let tracker = start_tracker();
    let base = tracker.process.base_url.clone();
    let landing = HttpServer::start(vec![(
        "/landing".into(),
        Reply::Body("text/html", "<html><body>landed</body></html>".into()),
    )]);
    let link = landing.url("/landing?offer=7");
    let dovecot = Dovecot::start();
    dovecot.add_user("alice", "alice-pw");
    let boxes = Mailboxes::start_with(vec![(ALICE.into(), dovecot.maildir("alice", "INBOX"))]);
    let env = Env::new(&boxes.smtp, &tracking_section(&base, &tracker.token));
    let out = env.send(&[ALICE, BOB], &["--track-opens", "--track-links"], &link);
    assert!(out.status.success(), "{}", stderr(&out));
    let message_id = String::from_utf8_lossy(&out.stdout).trim().to_string();

    // Alice reads her copy over IMAP; Chromium renders it and loads the pixel from the tracker.
    let mut imap = dovecot.session("alice", "alice-pw");
    imap.select("INBOX").unwrap();
    let fetched = imap.fetch("1", "BODY.PEEK[]").unwrap();
    let alice_raw = fetched.iter().next().unwrap().body().unwrap().to_vec();
    imap.logout().unwrap();
    let html = html_of(&alice_raw);
    assert_ne!(
        pixel_token(&html, &base),
        pixel_token(&html_of(&boxes.of(BOB)[0]), &base)
    );
    let page = env.path("alice.html");
    std::fs::write(&page, &html).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium::dump_dom(profile.path(), &format!("file://{}", page.display()));
    assert!(dom.contains("the offer"), "{dom}");

    // She follows the link: the tracker redirects Chromium to the landing page.
    let tracked_link = html
        .split('"')
        .find(|s| s.starts_with(&format!("{base}/l/")))
        .expect("a tracked link")
        .to_string();
    let landed = chromium::dump_dom(profile.path(), &tracked_link);
    assert!(landed.contains("landed"), "{landed}");
    assert!(landing.hits().iter().any(|h| h.starts_with("/landing")));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let sender =
        TrackerClient::new(&base, &tracker.token, std::time::Duration::from_secs(10)).unwrap();
    let events = rt.block_on(sender.fetch_events(None, 100)).unwrap().events;
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::Open), "{events:?}");
    assert!(kinds.contains(&EventKind::Click), "{events:?}");
    for e in &events {
        assert_eq!(e.recipient, ALICE, "attributed to Alice only: {e:?}");
        assert_eq!(
            e.message_id.trim_matches(|c| c == '<' || c == '>'),
            message_id.trim_matches(|c| c == '<' || c == '>')
        );
    }
    let click = events.iter().find(|e| e.kind == EventKind::Click).unwrap();
    assert_eq!(click.url.as_deref(), Some(link.as_str()));

    let db_url = tracker.process.db_url.clone();
    let other = add_user(&db_url, "someone-else");
    let stranger = TrackerClient::new(&base, &other, std::time::Duration::from_secs(10)).unwrap();
    assert!(rt
        .block_on(stranger.fetch_events(None, 100))
        .unwrap()
        .events
        .is_empty());
}

#[test]
fn an_outbox_without_the_tracking_planner_never_sends_a_tracked_mail_untracked() {
    use tidings::mail::compose::{Draft, Mailbox, Sender};
    use tidings::mail::outbox::{enqueue, Outbox, Outcome, Which};
    let boxes = Mailboxes::start();
    let env = Env::new(&boxes.smtp, "");
    let mut store = env.store();
    let mut draft = Draft::new(&Sender {
        account: "work".into(),
        from: Mailbox::new(None, "me@example.com"),
        signature: None,
    });
    draft.to.push(Mailbox::parse(ALICE).unwrap());
    draft.subject = "tracked".into();
    draft.body = "hi\n".into();
    let config = tidings::config::Config::load(&env.path("config.toml")).unwrap();
    let choice = tidings::tracking::client::send::TrackingChoice {
        opens: true,
        links: false,
    };
    let record =
        tidings::tracking::client::send::record_for_draft(&store, &config.tracking, &draft, choice)
            .unwrap()
            .unwrap();
    enqueue(&store, &draft, Some(&record.to_json()), 100).unwrap();
    let r = Outbox::new(config, &store)
        .flush(&mut store, Which::AllWaiting, 100)
        .unwrap();
    assert!(
        matches!(&r[0].outcome, Outcome::Queued(e) if e.contains("tracking planner")),
        "{r:?}"
    );
    assert!(boxes.smtp.deliveries().is_empty());
}

#[test]
fn the_demo_tracker_serves_on_loopback_and_keeps_its_user_across_runs() {
    use tidings::demo::tracker::EmbeddedTracker;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let first = EmbeddedTracker::start(dir.path()).unwrap();
    assert!(first.base_url.starts_with("http://127.0.0.1:"));
    let token = first.api_token.clone();
    let client =
        TrackerClient::new(&first.base_url, &token, std::time::Duration::from_secs(5)).unwrap();
    assert!(rt
        .block_on(client.fetch_events(None, 10))
        .unwrap()
        .events
        .is_empty());
    let mut config = tidings::config::TrackingConfig::default();
    first.configure(&mut config);
    assert_eq!(config.base_url.as_deref(), Some(first.base_url.as_str()));
    assert!(config.track_opens && config.track_links);
    drop(first);

    let second = EmbeddedTracker::start(dir.path()).unwrap();
    assert_eq!(
        second.api_token, token,
        "a kept demo dir reuses its demo user"
    );
    let client =
        TrackerClient::new(&second.base_url, &token, std::time::Duration::from_secs(5)).unwrap();
    assert!(rt.block_on(client.fetch_events(None, 10)).is_ok());
}

/// A reverse proxy whose body limit is below the registration's size answers 413 (nginx's own
/// HTML page): the mail fails at once with the fix in its reason, and is not retried blindly.
#[test]
fn a_registration_refused_as_too_large_fails_the_mail_with_the_fix_and_is_not_retried() {
    let boxes = Mailboxes::start();
    let proxy = HttpServer::start(vec![("/api/v1/messages".to_string(), Reply::Status(413))]);
    let base = proxy.url("");
    let env = Env::new(&boxes.smtp, &tracking_section(&base, "tdg_whatever"));
    let out = env.send(
        &[ALICE, BOB],
        &["--track-opens", "--track-links"],
        "https://x.test/",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let why = "the tracker (or its proxy) refused a registration of ";
    assert!(stderr(&out).contains(why), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bytes: raise the proxy's body limit"),
        "{}",
        stderr(&out)
    );
    let entry = &env.outbox()[0];
    assert_eq!(entry["state"], "failed");
    assert!(entry["last_error"].as_str().unwrap().contains(why));
    let listed = env.run(&["outbox", "--all"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("failed") && listed.contains(why),
        "{listed}"
    );

    let flushed = env.run(&["outbox", "flush"]);
    assert!(flushed.status.success(), "{}", stderr(&flushed));
    assert_eq!(
        proxy.hits().len(),
        1,
        "a registration the proxy refuses for its size is not sent again by itself"
    );
    assert!(boxes.smtp.deliveries().is_empty(), "nothing left untracked");
}
