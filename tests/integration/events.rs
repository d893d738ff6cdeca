//! The events poller and `tidings watch` against the real tracker binary on 127.0.0.1, with
//! notifications read back from a private session bus (dbusmock): attribution per recipient,
//! machine opens, throttling, restarts without loss or doubles, two watchers on one data dir
//! notifying once, and the whole loop with a real send and a real browser.

use crate::support::chromium;
use crate::support::dbus::NotificationBus;
use crate::support::smtp::{free_port, SmtpOptions, SmtpServer};
use crate::support::tracker::{add_user, TrackerProcess};
use chrono::{Duration, Utc};
use futures::StreamExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;
use tidings::store::{Store, TrackedMessageRecord, TrackedRecipient};
use tidings::tracking::client::api::TrackerClient;
use tidings::tracking::client::rewrite::TrackedLink;
use tidings::tracking::server::db::{RecipientRegistration, Registration};
use tidings::tracking::token::new_tracking_token;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const DANA: &str = "dana.lee@acme.test";
const SAM: &str = "sam@acme.test";
const ME: &str = "me@example.com";

/// A person's other clients: a person's opens seconds apart from one client are one reading
/// (issue 13), so tests about several opens use several clients.
const PEOPLES_CLIENTS: [&str; 4] = [
    FIREFOX,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0",
];

/// Notifications without the settle window, for the tests about claims, throttles and restarts;
/// the window has its own test (`a_sweep_within_the_settle_window_is_never_notified`).
const NO_SETTLE: &str = "[notifications]\nsettle_seconds = 0\n";

/// A user's config and data dir for the `tidings` binary.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new(base_url: &str, token: &str) -> Home {
        let home = Home {
            dir: tempfile::tempdir().unwrap(),
        };
        home.configure(base_url, token);
        home
    }

    fn configure(&self, base_url: &str, token: &str) {
        std::fs::write(
            self.dir.path().join("config.toml"),
            format!(
                "[tracking]\nbase_url = \"{base_url}\"\napi_token_command = \"echo {token}\"\n\
                 poll_seconds = 1\n{NO_SETTLE}"
            ),
        )
        .unwrap();
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("data").join("tidings.sqlite3")
    }

    fn tidings(&self, bus: Option<&NotificationBus>) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tidings"));
        c.env("TIDINGS_CONFIG", self.dir.path().join("config.toml"))
            .env("TIDINGS_DATA_DIR", self.dir.path().join("data"))
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("XDG_RUNTIME_DIR");
        if let Some(bus) = bus {
            c.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
        }
        c
    }

    fn watch_once(&self, bus: Option<&NotificationBus>) -> Output {
        self.tidings(bus)
            .args(["watch", "--once"])
            .output()
            .unwrap()
    }

    fn write_config(&self, toml: &str) {
        std::fs::write(self.dir.path().join("config.toml"), toml).unwrap();
    }

    /// `tidings send` of "Proposal for Q3" (HTML) with `args`; returns the Message-ID.
    fn send(&self, args: &[&str]) -> String {
        let body = self.dir.path().join("body.html");
        std::fs::write(
            &body,
            "<html><body><p>Our proposal for Q3.</p></body></html>",
        )
        .unwrap();
        let sent = self
            .tidings(None)
            .args(["send", "--subject", "Proposal for Q3", "--html-file"])
            .arg(&body)
            .args(args)
            .output()
            .unwrap();
        ok(&sent);
        String::from_utf8_lossy(&sent.stdout).trim().to_string()
    }

    /// A long-running `tidings watch`, its stderr kept in `name`.log under the home dir.
    fn spawn_watch(&self, bus: &NotificationBus, name: &str) -> Watcher {
        let log = self.dir.path().join(format!("{name}.log"));
        let child = self
            .tidings(Some(bus))
            .arg("watch")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Watcher { child, log }
    }

    fn store(&self) -> Store {
        Store::open(&self.db()).unwrap()
    }

    fn tracked(&self) -> Vec<serde_json::Value> {
        let out = self
            .tidings(None)
            .args(["list", "--filter", "tracked", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// A `tidings watch` process, killed when dropped.
struct Watcher {
    child: Child,
    log: PathBuf,
}

impl Watcher {
    /// Waits until the watcher reports a successful poll on stderr.
    fn wait_caught_up(&self) {
        wait_until("the watcher to poll", || {
            std::fs::read_to_string(&self.log)
                .unwrap_or_default()
                .contains("up to date")
        });
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The desktop notifications once `n` have arrived and a moment has passed for any more.
fn exactly_calls(bus: &NotificationBus, n: usize) -> Vec<String> {
    let calls = bus.wait_for_calls(n, std::time::Duration::from_secs(5));
    std::thread::sleep(std::time::Duration::from_millis(300));
    if calls.len() == n {
        bus.notify_calls()
    } else {
        calls
    }
}

/// Stored events no poller has decided on yet.
fn pending_events(store: &Store) -> i64 {
    store
        .conn
        .query_row(
            "SELECT count(*) FROM tracking_events WHERE notify_pending = 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Registers "Proposal for Q3" to Dana and Sam (sent an hour ago: outside the scanner window)
/// with the tracker, and records it locally as the sending side does.
async fn send_tracked(server: &TrackerProcess, token: &str, home: &Home) -> Registration {
    let recipient = |address: &str| RecipientRegistration {
        address: address.into(),
        token: new_tracking_token(),
        links: ["https://acme.test/offer", "https://acme.test/pricing"]
            .iter()
            .map(|u| TrackedLink {
                token: new_tracking_token(),
                url: u.to_string(),
                trap: false,
            })
            .collect(),
    };
    let reg = Registration {
        message_id: format!("<{}@tidings.test>", new_tracking_token()),
        sent_at: Utc::now() - Duration::hours(1),
        recipients: vec![recipient(DANA), recipient(SAM)],
    };
    TrackerClient::new(&server.base_url, token, std::time::Duration::from_secs(20))
        .unwrap()
        .register_message(&reg)
        .await
        .unwrap();
    let mut store = Store::open(&home.db()).unwrap();
    store
        .record_tracked_message(&TrackedMessageRecord {
            account: "default".into(),
            message_id: reg.message_id.clone(),
            subject: "Proposal for Q3".into(),
            sent_at: reg.sent_at.timestamp(),
            track_opens: true,
            track_links: true,
            recipients: vec![
                TrackedRecipient {
                    address: DANA.into(),
                    name: "Dana Lee".into(),
                },
                TrackedRecipient {
                    address: SAM.into(),
                    name: "Sam Ortiz".into(),
                },
            ],
        })
        .unwrap();
    reg
}

async fn hit(url: &str, user_agent: &str, forwarded_for: Option<&str>) {
    let mut req = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .header("user-agent", user_agent);
    if let Some(f) = forwarded_for {
        req = req.header("x-forwarded-for", f);
    }
    let status = req.send().await.unwrap().status();
    assert!(
        status.is_success() || status.is_redirection(),
        "{url}: {status}"
    );
}

fn pixel(server: &TrackerProcess, reg: &Registration, who: usize) -> String {
    format!("{}/p/{}.gif", server.base_url, reg.recipients[who].token)
}

fn link(server: &TrackerProcess, reg: &Registration, who: usize, i: usize) -> String {
    format!(
        "{}/l/{}",
        server.base_url, reg.recipients[who].links[i].token
    )
}

/// A tracker with user "alice", her home configured for it, and "Proposal for Q3" sent tracked.
struct Live {
    _dir: tempfile::TempDir,
    server: TrackerProcess,
    token: String,
    home: Home,
    reg: Registration,
}

impl Live {
    async fn start() -> Live {
        let (dir, db) = sqlite_tracker();
        let token = add_user(&db, "alice");
        let server = TrackerProcess::start(&db, &[]);
        let home = Home::new(&server.base_url, &token);
        let reg = send_tracked(&server, &token, &home).await;
        Live {
            _dir: dir,
            server,
            token,
            home,
            reg,
        }
    }
}

fn sqlite_tracker() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("tracker.sqlite3").display());
    (dir, url)
}

/// An event is notified only after its settle window, and later evidence arriving inside the
/// window — here a sweep over every link of Dana's copy — makes it a machine's: no notification
/// for it at all, while Sam's open, a person's, is notified once the window has passed (issue 13).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_within_the_settle_window_is_never_notified() {
    let bus = NotificationBus::start();
    let live = Live::start().await;
    let (server, token, home, reg) = (&live.server, &live.token, &live.home, &live.reg);
    home.write_config(&format!(
        "[tracking]\nbase_url = \"{}\"\napi_token = \"{token}\"\npoll_seconds = 1\n\
         [notifications]\nsettle_seconds = 3\n",
        server.base_url
    ));
    // Alone, Dana's click looks like a person's.
    hit(&link(server, reg, 0, 1), FIREFOX, None).await;
    hit(&pixel(server, reg, 1), FIREFOX, None).await;
    ok(&home.watch_once(Some(&bus)));
    assert!(
        bus.notify_calls().is_empty(),
        "still settling: {:#?}",
        bus.notify_calls()
    );
    // Seconds later the other link too: a scanner walking the mail, the first click included.
    hit(&link(server, reg, 0, 0), FIREFOX, None).await;
    std::thread::sleep(std::time::Duration::from_millis(3500));
    ok(&home.watch_once(Some(&bus)));
    let calls = exactly_calls(&bus, 1);
    assert_eq!(calls.len(), 1, "Sam's open only: {calls:#?}");
    assert!(calls[0].contains("Sam Ortiz opened"), "{}", calls[0]);
    assert!(
        calls[0].contains("Firefox on Linux"),
        "the client named: {}",
        calls[0]
    );
    let store = home.store();
    let timeline = store.timeline("default", &reg.message_id).unwrap();
    let dana: Vec<_> = timeline.iter().filter(|e| e.recipient == DANA).collect();
    assert_eq!(dana.len(), 2);
    assert!(
        dana.iter()
            .all(|e| e.classification == tidings::tracking_event::Classification::Automated),
        "{dana:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_once_attributes_opens_notifies_people_and_not_apples_proxy() {
    let bus = NotificationBus::start();
    let (_dir, db) = sqlite_tracker();
    let token = add_user(&db, "alice");
    let server = TrackerProcess::start(&db, &["--trusted-proxy", "127.0.0.1/32"]);
    let home = Home::new(&server.base_url, &token);
    let reg = send_tracked(&server, &token, &home).await;

    // Dana opens twice inside the throttle window (on her laptop, then her desktop) and follows
    // one of the two links.
    hit(&pixel(&server, &reg, 0), FIREFOX, None).await;
    hit(&pixel(&server, &reg, 0), PEOPLES_CLIENTS[1], None).await;
    hit(&link(&server, &reg, 0, 1), FIREFOX, None).await;
    // Sam's copy is fetched by Apple Mail Privacy Protection through the trusted proxy.
    hit(&pixel(&server, &reg, 1), "Mozilla/5.0", Some("17.58.63.10")).await;

    ok(&home.watch_once(Some(&bus)));
    let calls = bus.wait_for_calls(2, std::time::Duration::from_secs(5));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let calls = if calls.len() == 2 {
        bus.notify_calls()
    } else {
        calls
    };
    assert_eq!(
        calls.len(),
        2,
        "one open (throttled) and one click: {calls:#?}"
    );
    assert!(calls[0].contains("\"tidings\""), "{}", calls[0]);
    assert!(calls[0].contains("Dana Lee opened"), "{}", calls[0]);
    assert!(calls[0].contains("Proposal for Q3"), "{}", calls[0]);
    assert!(calls[1].contains("Dana Lee clicked a link"), "{}", calls[1]);
    assert!(
        calls[1].contains("https://acme.test/pricing"),
        "{}",
        calls[1]
    );
    assert!(!calls.iter().any(|c| c.contains("Sam")), "{calls:#?}");

    let list = home.tracked();
    assert_eq!(list.len(), 1, "{list:#?}");
    let m = &list[0];
    assert_eq!(m["tracked"], true);
    assert_eq!(m["message_id"], reg.message_id.as_str());
    assert_eq!(m["subject"], "Proposal for Q3");
    assert_eq!(m["opens"], 2);
    assert_eq!(m["clicks"], 1);
    assert_eq!(m["opened_by"], serde_json::json!([DANA]));
    assert_eq!(
        m["automated"], 1,
        "Apple's prefetch is kept but not counted"
    );
    assert!(m["last_open"].is_string());

    let store = Store::open(&home.db()).unwrap();
    let timeline = store.timeline("default", &reg.message_id).unwrap();
    let apple = timeline.iter().find(|e| e.recipient == SAM).unwrap();
    assert_eq!(apple.classification.as_str(), "automated");
    assert!(apple.reason.contains("Apple"), "{}", apple.reason);
    assert_eq!(store.unread_notification_count().unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_across_tracker_and_watcher_restarts_are_neither_lost_nor_doubled() {
    let (_dir, db) = sqlite_tracker();
    let token = add_user(&db, "alice");
    let mut server = TrackerProcess::start(&db, &[]);
    let home = Home::new(&server.base_url, &token);
    let reg = send_tracked(&server, &token, &home).await;
    for agent in &PEOPLES_CLIENTS[..3] {
        hit(&pixel(&server, &reg, 0), agent, None).await;
    }

    // A watcher that committed one page of two and died before the next.
    let client =
        TrackerClient::new(&server.base_url, &token, std::time::Duration::from_secs(20)).unwrap();
    let first = client.fetch_events(None, 2).await.unwrap();
    assert_eq!(first.events.len(), 2);
    let mut store = Store::open(&home.db()).unwrap();
    store
        .store_events_and_cursor("default", &first.events, &first.cursor)
        .unwrap();
    // ...and one that fetched the next page but died before committing it.
    client.fetch_events(Some(&first.cursor), 2).await.unwrap();
    drop(store);

    // The tracker is killed and comes back (same database, new port) while more opens arrive.
    server.kill9();
    let server = TrackerProcess::start(&db, &[]);
    home.configure(&server.base_url, &token);
    hit(&pixel(&server, &reg, 1), FIREFOX, None).await;

    // A long-running watcher picks them up, then is killed -9.
    // Killed when dropped, also when an assertion fails: a leaked watcher would hold the test
    // runner's output open.
    let watcher = Watcher {
        child: home
            .tidings(None)
            .arg("watch")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        log: PathBuf::new(),
    };
    wait_until("the watcher to catch up", || {
        home.tracked()[0]["opens"] == 4
    });
    drop(watcher);

    hit(&pixel(&server, &reg, 0), PEOPLES_CLIENTS[3], None).await;
    hit(&link(&server, &reg, 1, 0), FIREFOX, None).await;
    ok(&home.watch_once(None));
    ok(&home.watch_once(None));
    let m = &home.tracked()[0];
    assert_eq!(m["opens"], 5, "{m:#}");
    assert_eq!(m["clicks"], 1, "{m:#}");
    assert_eq!(m["opened_by"], serde_json::json!([DANA, SAM]));
    let store = Store::open(&home.db()).unwrap();
    let ids: Vec<i64> = store
        .timeline("default", &reg.message_id)
        .unwrap()
        .iter()
        .map(|e| e.event_id)
        .collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), 6);
    assert_eq!(unique.len(), 6, "{ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_bus_watch_exits_0_keeps_the_in_app_notification_and_syncs_opt_outs() {
    let (_dir, db) = sqlite_tracker();
    let token = add_user(&db, "alice");
    let server = TrackerProcess::start(&db, &[]);
    let home = Home::new(&server.base_url, &token);
    let reg = send_tracked(&server, &token, &home).await;
    hit(&pixel(&server, &reg, 0), FIREFOX, None).await;
    // Sam uses the opt-out link: the poller records "never track" for that contact.
    let opted = reqwest::Client::new()
        .post(format!("{}/o/{}", server.base_url, reg.recipients[1].token))
        .send()
        .await
        .unwrap();
    assert_eq!(opted.status(), 200);
    let out = home.watch_once(None);
    ok(&out);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&home.db()).unwrap();
    assert_eq!(
        store.tracking_preference(SAM).unwrap(),
        Some(tidings::store::TrackingPreference::Never)
    );
    assert_eq!(store.tracking_preference(DANA).unwrap(), None);
    let n = store.notifications(10).unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].summary, "Dana Lee opened");
    // The client is named (issue 13).
    assert_eq!(n[0].body, "Proposal for Q3 — Firefox on Linux, 1st open");
    assert_eq!(n[0].message_id, reg.message_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_once_fails_with_one_line_when_the_tracker_is_down_or_refuses_the_token() {
    let (_dir, db) = sqlite_tracker();
    let token = add_user(&db, "alice");
    let mut server = TrackerProcess::start(&db, &[]);
    let home = Home::new(&server.base_url, "not-a-valid-token");
    let out = home.watch_once(None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!err.contains("not-a-valid-token"));

    home.configure(&server.base_url, &token);
    server.kill9();
    let out = home.watch_once(None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unreachable"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_sent_copy_is_listed_with_its_counts_and_marked_in_the_inbox_list() {
    use tidings::app::runtime::{perform, OpsBackend};
    use tidings::app::{Effect, Msg};
    use tidings::store::{ListFilter, ListQuery, NewMessage};

    let (_dir, db) = sqlite_tracker();
    let token = add_user(&db, "alice");
    let server = TrackerProcess::start(&db, &[]);
    let home = Home::new(&server.base_url, &token);
    let reg = send_tracked(&server, &token, &home).await;
    // A second tracked mail, not yet synced into any folder.
    let unsynced = send_tracked(&server, &token, &home).await;
    let sent_id = {
        let store = Store::open(&home.db()).unwrap();
        let acc = store
            .ensure_account("default", "me@mine.test", None)
            .unwrap();
        let sent = store
            .upsert_folder(acc, "Sent", None, Some("sent"), true)
            .unwrap();
        store
            .put_message(
                sent,
                &NewMessage {
                    uid: 7,
                    message_id: Some(reg.message_id.clone()),
                    from_addr: "me@mine.test".into(),
                    to: format!("Dana Lee <{DANA}>, {SAM}"),
                    subject: "Proposal for Q3".into(),
                    date: reg.sent_at.timestamp(),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    hit(&pixel(&server, &reg, 1), FIREFOX, None).await;
    hit(&link(&server, &reg, 1, 0), FIREFOX, None).await;
    ok(&home.watch_once(None));

    let list = home.tracked();
    assert_eq!(list.len(), 2, "{list:#?}");
    assert_eq!(
        list[0]["id"], sent_id,
        "the mail with activity first, as its Sent copy"
    );
    assert_eq!(list[0]["folder"], "Sent");
    assert_eq!(list[0]["opened_by"], serde_json::json!([SAM]));
    assert_eq!(list[1]["id"], serde_json::Value::Null);
    assert_eq!(list[1]["message_id"], unsynced.message_id.as_str());
    assert_eq!(list[1]["opens"], 0);

    let store = Store::open(&home.db()).unwrap();
    let msgs = perform(
        &store,
        &OpsBackend::local_only(),
        Effect::LoadMessages {
            generation: 1,
            query: ListQuery {
                account: Some("default".into()),
                folder: Some("Sent".into()),
                filter: ListFilter::All,
                search: None,
                limit: None,
                offset: 0,
            },
            threads: false,
            sort: Default::default(),
        },
    );
    let Some(Msg::MessagesLoaded { rows: Ok(rows), .. }) = msgs.last() else {
        panic!("{msgs:?}");
    };
    assert_eq!(rows.len(), 1);
    assert!(rows[0].marks.tracked);
    assert_eq!((rows[0].marks.opens, rows[0].marks.clicks), (1, 1));
    assert!(
        rows[0].marks.last_open.is_some(),
        "the last open time is known"
    );

    // The TUI's Tracked filter: the account's tracked mail across its folders.
    let tracked = store
        .list_messages(&ListQuery {
            account: Some("default".into()),
            filter: ListFilter::Tracked,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(tracked.len(), 1);
    assert_eq!(tracked[0].id, sent_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_watchers_on_one_data_dir_notify_each_event_once_and_count_it_once() {
    let bus = NotificationBus::start();
    let live = Live::start().await;
    let (server, token, home, reg) = (&live.server, &live.token, &live.home, &live.reg);
    // Say a systemd unit runs one watcher and the TUI's poller is the other.
    let first = home.spawn_watch(&bus, "unit");
    let second = home.spawn_watch(&bus, "tui");
    first.wait_caught_up();
    second.wait_caught_up();

    // Dana opens four times on four clients (one notification: the throttle), spread over
    // several polls so that both watchers get some of them, and follows a link; Sam opens.
    for agent in PEOPLES_CLIENTS {
        hit(&pixel(server, reg, 0), agent, None).await;
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    }
    hit(&link(server, reg, 0, 0), FIREFOX, None).await;
    hit(&pixel(server, reg, 1), FIREFOX, None).await;

    wait_until("both watchers to store and decide every event", || {
        let store = home.store();
        store.tracking_event_count().unwrap() == 6 && pending_events(&store) == 0
    });
    // Both keep polling; give a duplicate every chance to show up before counting.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let calls = bus.notify_calls();
    assert_eq!(calls.len(), 3, "{calls:#?}");
    for who in [
        "Dana Lee opened",
        "Dana Lee clicked a link",
        "Sam Ortiz opened",
    ] {
        let n = calls.iter().filter(|c| c.contains(who)).count();
        assert_eq!(n, 1, "{who}: {calls:#?}");
    }
    let store = home.store();
    assert_eq!(store.notifications(10).unwrap().len(), 3);
    let m = &home.tracked()[0];
    assert_eq!(
        (m["opens"].as_u64(), m["clicks"].as_u64()),
        (Some(5), Some(1))
    );

    // The saved cursor is the tracker's newest: nothing is fetched twice at the next poll.
    let cursor = store.tracking_cursor("default").unwrap();
    let rest = TrackerClient::new(&server.base_url, token, std::time::Duration::from_secs(20))
        .unwrap()
        .fetch_events(cursor.as_deref(), 100)
        .await
        .unwrap();
    assert!(rest.events.is_empty(), "{:?}", rest.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_watcher_neither_repeats_a_notification_nor_escapes_the_throttle() {
    let bus = NotificationBus::start();
    let live = Live::start().await;
    let (server, home, reg) = (&live.server, &live.home, &live.reg);
    hit(&pixel(server, reg, 0), FIREFOX, None).await;
    hit(&link(server, reg, 0, 0), FIREFOX, None).await;
    ok(&home.watch_once(Some(&bus)));
    assert_eq!(
        bus.wait_for_calls(2, std::time::Duration::from_secs(5))
            .len(),
        2
    );

    // Restarted within the windows: Dana's next open (on her Mac) and Sam's first one arrive.
    hit(&pixel(server, reg, 0), PEOPLES_CLIENTS[2], None).await;
    hit(&pixel(server, reg, 1), FIREFOX, None).await;
    let watcher = home.spawn_watch(&bus, "restarted");
    watcher.wait_caught_up();
    wait_until("the restarted watcher to decide", || {
        let store = home.store();
        store.tracking_event_count().unwrap() == 4 && pending_events(&store) == 0
    });
    drop(watcher);
    ok(&home.watch_once(Some(&bus)));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let calls = bus.notify_calls();
    assert_eq!(calls.len(), 3, "only Sam's open is new: {calls:#?}");
    assert!(calls[2].contains("Sam Ortiz opened"), "{}", calls[2]);
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.contains("Dana Lee opened"))
            .count(),
        1
    );
    assert_eq!(home.tracked()[0]["opens"], 3, "throttled opens still count");
}

/// A tracker for mail sent by `tidings send` a moment ago (scanner window off), with user
/// "alice"; returns the database's dir, her token and the process.
fn tracker_for_sending(extra: &[&str]) -> (tempfile::TempDir, String, TrackerProcess) {
    let (dir, db) = sqlite_tracker();
    let token = add_user(&db, "alice");
    let mut args = vec!["--scanner-window-seconds", "0"];
    args.extend(extra);
    let server = TrackerProcess::start(&db, &args);
    (dir, token, server)
}

/// The SMTP server, filing mail for Dana, Sam and the sender each in their own Maildir.
struct Postbox {
    smtp: SmtpServer,
    boxes: tempfile::TempDir,
}

impl Postbox {
    fn start() -> Postbox {
        let boxes = tempfile::tempdir().unwrap();
        let smtp = SmtpServer::start_with(SmtpOptions {
            routes: [DANA, SAM, ME]
                .iter()
                .map(|a| (a.to_string(), boxes.path().join(a)))
                .collect(),
            ..Default::default()
        });
        Postbox { smtp, boxes }
    }

    /// The newest copy delivered to `who`.
    fn copy(&self, who: &str) -> Vec<u8> {
        SmtpServer::maildir_messages(&self.boxes.path().join(who))
            .pop()
            .unwrap_or_else(|| panic!("no copy for {who}"))
    }

    /// An `[accounts.NAME]` sending through this server (no IMAP server: Sent is not filed).
    fn account(&self, name: &str, email: &str) -> String {
        format!(
            "[accounts.{name}]\nemail = \"{email}\"\nserver_saves_sent = true\n\
             [accounts.{name}.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
             user = \"me\"\npassword = \"x\"\ntimeout_seconds = 2\n\
             [accounts.{name}.smtp]\n{}\n",
            free_port(),
            self.smtp.config_section(),
        )
    }
}

/// The pixel URL in a delivered copy's HTML part.
fn pixel_in(raw: &[u8], base: &str) -> String {
    let html = mail_parser::MessageParser::default()
        .parse(raw)
        .unwrap()
        .body_html(0)
        .unwrap()
        .into_owned();
    let start = html
        .find(&format!("{base}/p/"))
        .unwrap_or_else(|| panic!("no pixel in {html}"));
    let end = start + html[start..].find(".gif").expect("a .gif pixel") + 4;
    html[start..end].to_string()
}

/// Issue 6's "done when", with every piece real: `tidings send` through the SMTP server, the
/// tracker process behind a trusted proxy, `tidings watch` running, Chromium rendering Dana's copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_sent_mail_in_a_browser_notifies_once_while_apples_prefetch_is_recorded_silently()
{
    let bus = NotificationBus::start();
    // Behind a trusted reverse proxy; the mail is opened a second after sending, so the scanner
    // window is off for the browser's open to count at once.
    let (_dir, token, server) = tracker_for_sending(&["--trusted-proxy", "127.0.0.1/32"]);
    let post = Postbox::start();
    let home = Home::new(&server.base_url, &token);
    home.write_config(&format!(
        "{}[tracking]\nbase_url = \"{}\"\napi_token = \"{token}\"\npoll_seconds = 1\n{NO_SETTLE}",
        post.account("work", ME),
        server.base_url
    ));
    let watcher = home.spawn_watch(&bus, "watch");
    watcher.wait_caught_up();

    let message_id = home.send(&[
        "--to",
        &format!("Dana Lee <{DANA}>"),
        "--to",
        &format!("Sam Ortiz <{SAM}>"),
        "--bcc",
        ME,
        "--track-opens",
    ]);
    let copy = |who: &str| post.copy(who);

    // The sender's own Bcc copy carries no pixel: reading it is never counted.
    let mine = String::from_utf8_lossy(&copy(ME)).into_owned();
    assert!(!mine.contains(&format!("{}/p/", server.base_url)), "{mine}");

    // Dana opens her copy in a browser.
    let page = home.dir.path().join("dana.html");
    let dana_copy = copy(DANA);
    std::fs::write(
        &page,
        mail_parser::MessageParser::default()
            .parse(&dana_copy)
            .unwrap()
            .body_html(0)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium::dump_dom(profile.path(), &format!("file://{}", page.display()));
    assert!(dom.contains("Our proposal for Q3"), "{dom}");
    let calls = bus.wait_for_calls(1, std::time::Duration::from_secs(15));
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(calls[0].contains("\"tidings\""), "{}", calls[0]);
    assert!(calls[0].contains("Dana Lee opened"), "{}", calls[0]);
    assert!(calls[0].contains("Proposal for Q3"), "{}", calls[0]);

    // Apple's proxy prefetches Sam's copy, reaching the tracker through the reverse proxy.
    hit(
        &pixel_in(&copy(SAM), &server.base_url),
        "Mozilla/5.0",
        Some("17.58.63.10"),
    )
    .await;
    wait_until("the watcher to store and decide Apple's prefetch", || {
        let store = home.store();
        store.tracking_event_count().unwrap() == 2 && pending_events(&store) == 0
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(bus.notify_calls().len(), 1, "{:#?}", bus.notify_calls());

    let list = home.tracked();
    assert_eq!(list.len(), 1, "{list:#?}");
    let m = &list[0];
    assert_eq!(
        m["message_id"].as_str().map(|s| s.trim_matches(['<', '>'])),
        Some(message_id.trim_matches(['<', '>']))
    );
    assert_eq!(m["opens"], 1);
    assert_eq!(m["opened_by"], serde_json::json!([DANA]));
    assert_eq!(m["automated"], 1);
    let timeline = home.store().timeline("work", &message_id).unwrap();
    let apple = timeline.iter().find(|e| e.recipient == SAM).unwrap();
    assert_eq!(apple.classification.as_str(), "automated");
    assert!(apple.reason.contains("Apple"), "{}", apple.reason);
    let dana = timeline.iter().find(|e| e.recipient == DANA).unwrap();
    assert_eq!(dana.classification.as_str(), "human", "{dana:?}");
    assert!(dana.user_agent.contains("Chrome"), "{}", dana.user_agent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_of_a_copy_addressed_to_the_sender_are_never_counted() {
    let bus = NotificationBus::start();
    let live = Live::start().await;
    let (server, home, reg) = (&live.server, &live.home, &live.reg);
    // Sam turns out to be one of the user's own accounts (mail tracked by another client, or
    // before tidings left the sender's own copy untracked).
    let config = std::fs::read_to_string(home.dir.path().join("config.toml")).unwrap();
    std::fs::write(
        home.dir.path().join("config.toml"),
        format!(
            "[accounts.default]\nemail = \"{}\"\n[accounts.default.imap]\nhost = \"127.0.0.1\"\n\
             port = {}\nsecurity = \"none\"\nuser = \"me\"\npassword = \"x\"\n{config}",
            SAM.to_uppercase(),
            free_port()
        ),
    )
    .unwrap();
    hit(&pixel(server, reg, 1), FIREFOX, None).await;
    hit(&link(server, reg, 1, 0), FIREFOX, None).await;
    hit(&pixel(server, reg, 0), FIREFOX, None).await;
    ok(&home.watch_once(Some(&bus)));
    let calls = exactly_calls(&bus, 1);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(calls[0].contains("Dana Lee opened"), "{}", calls[0]);
    let m = &home.tracked()[0];
    assert_eq!(
        (m["opens"].as_u64(), m["clicks"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(m["opened_by"], serde_json::json!([DANA]));
    let timeline = home.store().timeline("default", &reg.message_id).unwrap();
    assert!(timeline.iter().all(|e| e.recipient == DANA), "{timeline:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_sends_with_its_own_tracking_and_its_events_come_back_to_it() {
    let (_a, home_token, home_tracker) = tracker_for_sending(&[]);
    let (_b, team_token, team_tracker) = tracker_for_sending(&[]);
    let post = Postbox::start();
    let home = Home::new(&home_tracker.base_url, &home_token);
    home.write_config(&format!(
        "{}{}[accounts.team.tracking]\nbase_url = \"{}\"\napi_token = \"{team_token}\"\n\
         track_opens = true\n\
         [tracking]\nbase_url = \"{}\"\napi_token = \"{home_token}\"\npoll_seconds = 1\n{NO_SETTLE}",
        post.account("home", "me@home.test"),
        post.account("team", "me@team.test"),
        team_tracker.base_url,
        home_tracker.base_url
    ));
    // The team account tracks opens by default; the home account only when asked.
    let team_mail = home.send(&["--account", "team", "--to", &format!("Dana Lee <{DANA}>")]);
    let home_mail = home.send(&["--account", "home", "--to", SAM, "--track-opens"]);
    let dana_pixel = pixel_in(&post.copy(DANA), &team_tracker.base_url);
    let sam_pixel = pixel_in(&post.copy(SAM), &home_tracker.base_url);
    hit(&dana_pixel, FIREFOX, None).await;
    hit(&sam_pixel, FIREFOX, None).await;

    ok(&home.watch_once(None));
    let store = home.store();
    let team = store.tracked_list(Some("team")).unwrap();
    assert_eq!(team.len(), 1, "{team:#?}");
    assert_eq!(
        team[0].message.message_id.trim_matches(['<', '>']),
        team_mail.trim_matches(['<', '>'])
    );
    assert_eq!(team[0].summary.opened_by, [DANA]);
    let mine = store.tracked_list(Some("home")).unwrap();
    assert_eq!(mine.len(), 1, "{mine:#?}");
    assert_eq!(
        mine[0].message.message_id.trim_matches(['<', '>']),
        home_mail.trim_matches(['<', '>'])
    );
    assert_eq!(mine[0].summary.opened_by, [SAM]);
    // Each tracker saw only its own account's mail.
    let events = |base: &str, token: &str| {
        let client = TrackerClient::new(base, token, std::time::Duration::from_secs(20)).unwrap();
        async move { client.fetch_events(None, 10).await.unwrap().events }
    };
    let on_team = events(&team_tracker.base_url, &team_token).await;
    assert_eq!(
        on_team
            .iter()
            .map(|e| e.recipient.as_str())
            .collect::<Vec<_>>(),
        [DANA]
    );
    let on_home = events(&home_tracker.base_url, &home_token).await;
    assert_eq!(
        on_home
            .iter()
            .map(|e| e.recipient.as_str())
            .collect::<Vec<_>>(),
        [SAM]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poller_reports_what_another_process_stored_and_notified_exactly_once() {
    use tidings::config::{NotificationsConfig, TrackingConfig};
    use tidings::tracking::client::poller::{Poller, PollerConfig};

    let live = Live::start().await;
    let (server, token, home, reg) = (&live.server, &live.token, &live.home, &live.reg);
    let config = PollerConfig::from_config(
        "default",
        &TrackingConfig {
            base_url: Some(server.base_url.clone()),
            api_token: Some(token.clone()),
            ..Default::default()
        },
        &NotificationsConfig {
            desktop: false,
            settle_seconds: 0,
            ..Default::default()
        },
        home.db(),
    )
    .unwrap();
    // The TUI's poller is idle while `tidings watch` (another poller) fetches and notifies.
    let mut tui = Poller::new(config.clone()).unwrap();
    let mut watch = Poller::new(config).unwrap();
    hit(&pixel(server, reg, 0), FIREFOX, None).await;
    hit(&pixel(server, reg, 1), FIREFOX, None).await;
    let fetched = watch.poll_once().await.unwrap();
    assert_eq!(fetched.new_events, 2);
    assert_eq!(fetched.notifications.len(), 2);

    let followed = tui.poll_once().await.unwrap();
    assert_eq!(followed.new_events, 0, "nothing is stored twice");
    assert!(
        followed.notifications.is_empty(),
        "nothing is notified twice"
    );
    assert_eq!(followed.stored_since_report, 2, "the list still refreshes");
    let told: Vec<_> = followed
        .to_report
        .iter()
        .map(|n| n.summary.as_str())
        .collect();
    assert_eq!(
        told,
        ["Dana Lee opened", "Sam Ortiz opened"],
        "the bell follows"
    );
    let again = tui.poll_once().await.unwrap();
    assert_eq!((again.stored_since_report, again.to_report.len()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_hours_old_when_first_seen_go_to_the_bell_but_not_the_desktop() {
    let bus = NotificationBus::start();
    let live = Live::start().await;
    let (home, reg) = (&live.home, &live.reg);
    // An open from two hours ago, stored by a poller that died before deciding on it.
    let old = tidings::tracking::server::db::Event {
        id: 999,
        kind: tidings::tracking_event::EventKind::Open,
        message_id: reg.message_id.clone(),
        recipient: DANA.into(),
        url: None,
        at: Utc::now() - Duration::hours(2),
        user_agent: FIREFOX.into(),
        ip: None,
        classification: tidings::tracking_event::Classification::Human,
        reason: String::new(),
        confidence: Default::default(),
        client: String::new(),
        reclassified: Vec::new(),
    };
    home.store()
        .store_events_page("default", None, &[old], "")
        .unwrap();
    ok(&home.watch_once(Some(&bus)));
    let n = home.store().notifications(10).unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].summary, "Dana Lee opened");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(bus.notify_calls().is_empty(), "{:#?}", bus.notify_calls());
}

/// A hostile tracker on 127.0.0.1: `/api/v1/events` answers `page` whatever the cursor, and
/// counts how often it is asked; `/api/v1/optouts` is empty.
async fn hostile_tracker(
    page: serde_json::Value,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let app = axum::Router::new()
        .route(
            "/api/v1/events",
            axum::routing::get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let page = page.clone();
                async move { axum::Json(page) }
            }),
        )
        .route(
            "/api/v1/optouts",
            axum::routing::get(|| async { axum::Json(serde_json::json!({ "optouts": [] })) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, asked)
}

fn hostile_poller(base_url: &str, db: PathBuf) -> tidings::tracking::client::poller::Poller {
    use tidings::config::{NotificationsConfig, TrackingConfig};
    use tidings::tracking::client::poller::{Poller, PollerConfig};
    let mut config = PollerConfig::from_config(
        "default",
        &TrackingConfig {
            base_url: Some(base_url.to_string()),
            api_token: Some("tdg_x".into()),
            ..Default::default()
        },
        &NotificationsConfig {
            desktop: false,
            ..Default::default()
        },
        db,
    )
    .unwrap();
    config.page_limit = 2;
    Poller::new(config).unwrap()
}

fn hostile_event(id: i64, recipient: &str, url: &str, user_agent: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "kind": "click", "message_id": "<m@example.com>", "recipient": recipient,
        "url": url, "at": Utc::now().to_rfc3339(), "user_agent": user_agent, "ip": null,
        "classification": "human", "reason": "",
    })
}

/// A tracker whose cursor never moves while its pages stay full is asked once more, not a
/// thousand times in a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_that_never_advances_does_not_make_the_poller_spin() {
    let dir = tempfile::tempdir().unwrap();
    let full_page = serde_json::json!({
        "events": [hostile_event(1, "a@example.com", "https://a.example/", "UA"),
                   hostile_event(2, "b@example.com", "https://b.example/", "UA")],
        "cursor": "stuck",
    });
    let (url, asked) = hostile_tracker(full_page).await;
    let mut poller = hostile_poller(&url, dir.path().join("db.sqlite3"));
    let first = poller.poll_once().await.unwrap();
    assert_eq!(first.new_events, 2);
    poller.poll_once().await.unwrap();
    let n = asked.load(std::sync::atomic::Ordering::SeqCst);
    assert!(n <= 3, "the events API was asked {n} times for two polls");
}

/// Event fields from the tracker are cleaned of terminal controls and bounded before they are
/// stored: nothing later shown from the store can drive a terminal or fill the disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_event_fields_are_stored_sanitized_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite3");
    let esc = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let page = serde_json::json!({
        "events": [hostile_event(
            1,
            &format!("x{esc}@example.com"),
            &format!("https://a.example/{esc}{}", "u".repeat(2_000_000)),
            &format!("Mozilla{esc}{}", "a".repeat(2_000_000)),
        )],
        "cursor": "1",
    });
    let (url, _) = hostile_tracker(page).await;
    hostile_poller(&url, db.clone()).poll_once().await.unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (recipient, url, ua): (String, String, String) = conn
        .query_row(
            "SELECT recipient, url, user_agent FROM tracking_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    for field in [&recipient, &url, &ua] {
        assert!(
            !field.chars().any(|c| c.is_control()),
            "control character stored: {:?}",
            &field[..field.len().min(80)]
        );
    }
    assert!(url.len() <= 4096, "url of {} bytes stored", url.len());
    assert!(ua.len() <= 512, "user agent of {} bytes stored", ua.len());
}

async fn serve_router(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The client's bounds against a hostile tracker: an endless body stops at the size cap, a
/// redirect is not followed (the token never goes to another host), and an answer that never
/// ends times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_client_bounds_endless_redirected_and_stalled_answers() {
    use tidings::tracking::client::api::{ApiError, TrackerClient};
    let endless = axum::Router::new().route(
        "/api/v1/events",
        axum::routing::get(|| async {
            let chunk = axum::body::Bytes::from(vec![b' '; 64 * 1024]);
            let stream = futures::stream::repeat_with(move || {
                Ok::<_, std::convert::Infallible>(chunk.clone())
            });
            axum::body::Body::from_stream(stream)
        }),
    );
    let url = serve_router(endless).await;
    let client = TrackerClient::new(&url, "tdg_x", std::time::Duration::from_secs(20)).unwrap();
    let e = client.fetch_events(None, 10).await.unwrap_err();
    assert!(matches!(e, ApiError::TooLarge), "{e}");

    let redirect = axum::Router::new().route(
        "/api/v1/events",
        axum::routing::get(|| async {
            (
                axum::http::StatusCode::MOVED_PERMANENTLY,
                [("location", "http://127.0.0.2:9/api/v1/events")],
            )
        }),
    );
    let url = serve_router(redirect).await;
    let client = TrackerClient::new(&url, "tdg_x", std::time::Duration::from_secs(20)).unwrap();
    let e = client.fetch_events(None, 10).await.unwrap_err();
    assert!(matches!(e, ApiError::Status { status: 301, .. }), "{e}");

    let stalled = axum::Router::new().route(
        "/api/v1/events",
        axum::routing::get(|| async {
            let stream = futures::stream::once(async {
                Ok::<_, std::convert::Infallible>(axum::body::Bytes::from_static(b"{\"events\":["))
            })
            .chain(futures::stream::pending());
            axum::body::Body::from_stream(stream)
        }),
    );
    let url = serve_router(stalled).await;
    let client = TrackerClient::new(&url, "tdg_x", std::time::Duration::from_secs(1)).unwrap();
    let e = client.fetch_events(None, 10).await.unwrap_err();
    assert!(matches!(e, ApiError::Network(_)), "{e}");
}
