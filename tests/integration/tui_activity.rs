//! Tracking in the inbox: the Tracked filter's timeline, the activity pane and its read state, and
//! live updates from the poller — on TestBackend snapshots of the real app, and in tmux with the
//! real tracker recording an open while the TUI runs.

use crate::support::mailbox::{raw, seed, Mail, NOW};
use crate::support::tmux::Tmux;
use crate::support::tracker::{add_user, TrackerProcess};
use crate::tui_snapshots::{snap, Harness};
use tidings::app::poller_msgs;
use tidings::app::runtime::load_folders;
use tidings::app::{Action, Filter, Msg, Pane};
use tidings::mail::parse::parse_message;
use tidings::store::{Flags, Store, TrackedMessageRecord, TrackedRecipient};
use tidings::tracking::client::poller::PollerEvent;
use tidings::tracking::server::classify::{Classification, EventKind};
use tidings::tracking::server::db::Event;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const GMAIL: &str =
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
const MSGID: &str = "<rev@example.com>";
const SUBJECT: &str = "Proposal for Q3, revised";

/// A Sent folder holding "Proposal for Q3, revised", sent 3 hours before NOW to Dana, Sam and
/// Kim with tracking on, recorded as the sending side records it.
fn add_tracked_sent_mail(store: &mut Store, account: &str, sent_at: i64) {
    let a = store.account_id(account).unwrap();
    let sent = store
        .upsert_folder(a, "Sent", Some("/"), Some("sent"), true)
        .unwrap();
    let mail = Mail {
        from: "Me <me@example.com>",
        subject: SUBJECT,
        hours_ago: 3,
        seen: true,
        flagged: false,
        msgid: "rev@example.com",
        reply_to: None,
        body: "Here is the revised proposal: https://acme.test/offer",
        attachment: None,
    };
    let flags = Flags {
        seen: true,
        ..Default::default()
    };
    let m = parse_message(1, raw(&mail, sent_at), flags, Some(sent_at));
    store.put_message(sent, &m).unwrap();
    store
        .record_tracked_message(&TrackedMessageRecord {
            account: account.into(),
            message_id: MSGID.into(),
            subject: SUBJECT.into(),
            sent_at,
            track_opens: true,
            track_links: true,
            recipients: vec![
                TrackedRecipient {
                    address: "dana@acme.test".into(),
                    name: "Dana Lee".into(),
                },
                TrackedRecipient {
                    address: "sam@globex.test".into(),
                    name: "Sam Ortiz".into(),
                },
                TrackedRecipient {
                    address: "kim@acme.test".into(),
                    name: String::new(),
                },
            ],
        })
        .unwrap();
}

fn event(
    id: i64,
    kind: EventKind,
    who: &str,
    minutes_ago: i64,
    class: Classification,
    ua: &str,
    reason: &str,
) -> Event {
    Event {
        id,
        kind,
        message_id: MSGID.into(),
        recipient: who.into(),
        url: (kind == EventKind::Click).then(|| {
            if id % 2 == 0 {
                "https://acme.test/pricing".into()
            } else {
                "https://acme.test/offer".into()
            }
        }),
        at: chrono::DateTime::from_timestamp(NOW - minutes_ago * 60, 0).unwrap(),
        user_agent: ua.into(),
        ip: None,
        classification: class,
        reason: reason.into(),
        confidence: Default::default(),
        client: String::new(),
        reclassified: Vec::new(),
    }
}

/// The inbox with the tracked mail and its events: Apple's prefetch for Sam (automated), Dana
/// opening twice and clicking both links, Sam opening through Gmail's proxy.
fn harness(width: u16, height: u16) -> Harness {
    use Classification::*;
    use EventKind::*;
    let mut h = Harness::new(width, height);
    add_tracked_sent_mail(&mut h.store, "work", NOW - 3 * 3600);
    let apple = "Apple Mail Privacy Protection prefetch (says nothing about reading)";
    let gmail = "Gmail image proxy: a real open, but the image is cached";
    h.store
        .store_events_and_cursor(
            "work",
            &[
                event(
                    1,
                    Open,
                    "sam@globex.test",
                    175,
                    Automated,
                    "Mozilla/5.0",
                    apple,
                ),
                event(2, Open, "dana@acme.test", 150, Human, FIREFOX, ""),
                event(3, Click, "dana@acme.test", 149, Human, FIREFOX, ""),
                event(4, Open, "sam@globex.test", 120, Proxy, GMAIL, gmail),
                event(5, Open, "dana@acme.test", 30, Human, FIREFOX, ""),
                event(6, Click, "dana@acme.test", 29, Human, FIREFOX, ""),
            ],
            "6",
        )
        .unwrap();
    // The folder list learns of the Sent folder, as after a sync.
    h.send(Msg::FoldersLoaded(load_folders(&h.store)));
    h
}

/// What the poller does with a new event: stores it and adds the in-app notification.
fn poller_stores(h: &mut Harness, e: Event, summary: &str) -> PollerEvent {
    h.store
        .store_events_and_cursor("work", std::slice::from_ref(&e), &e.id.to_string())
        .unwrap();
    let n = h
        .store
        .add_notification(
            "work",
            Some(e.id),
            e.at.timestamp(),
            e.kind,
            summary,
            SUBJECT,
            MSGID,
        )
        .unwrap();
    PollerEvent::Notification(n)
}

fn feed(h: &mut Harness, events: Vec<PollerEvent>) {
    for m in poller_msgs(events) {
        h.send(m);
    }
}

#[test]
fn tracked_filter_enter_shows_the_timeline_with_each_recipients_opens_and_clicks() {
    let mut h = harness(150, 34);
    h.press(&["4"]);
    assert_eq!(h.app.list.rows[0].msg.subject, SUBJECT);
    h.press(&["Enter"]);
    assert!(
        h.app.reader.is_none(),
        "Enter shows the timeline, not the mail"
    );
    let screen = h.screen();
    snap!("tracked_timeline", screen);
    assert!(screen.contains("Dana Lee <dana@acme.test>"), "{screen}");
    assert!(screen.contains("2 opens · first 09:30 · last 11:30 · 2 clicks"));
    assert!(screen.contains("cached: later opens"), "{screen}");
    assert!(screen.contains("open   automated  Sam Ortiz"), "{screen}");
    assert!(screen.contains("Apple Mail Privacy Protection prefetch"));
    assert!(
        screen.contains("│    not opened"),
        "kim has not opened: {screen}"
    );
    // Enter again: the mail itself; q back to its timeline, q again to the list.
    h.press(&["Enter"]);
    assert!(h.app.reader.is_some());
    assert!(h.app.tracking.timeline.is_none());
    h.press(&["q"]);
    assert!(h.app.reader.is_none());
    assert!(h.screen().contains("Timeline: Proposal for Q3, revised"));
    h.press(&["q"]);
    assert_eq!(h.app.focus, Pane::List);
    assert!(h.app.tracking.timeline.is_none());
}

#[test]
fn the_timeline_scrolls_within_its_length_and_q_closes_it() {
    let mut h = harness(120, 12);
    h.press(&["4", "Enter"]);
    h.press(&["G"]);
    h.screen();
    let bottom = h.app.tracking.timeline.as_ref().unwrap().scroll;
    assert!(bottom > 0, "a short pane scrolls");
    h.press(&["j", "j"]);
    h.screen();
    assert_eq!(
        h.app.tracking.timeline.as_ref().unwrap().scroll,
        bottom,
        "scrolling stops at the end"
    );
    assert!(h.screen().contains("Apple Mail Privacy Protection"));
    h.press(&["q"]);
    assert!(h.app.tracking.timeline.is_none());
    assert!(!h.app.quit, "q closes the timeline, it does not quit");
}

#[test]
fn the_activity_pane_lists_events_newest_first_reads_the_bell_and_jumps_to_the_mail() {
    let mut h = harness(140, 20);
    let newest = event(
        7,
        EventKind::Open,
        "kim@acme.test",
        2,
        Classification::Human,
        FIREFOX,
        "",
    );
    let n = poller_stores(&mut h, newest, "kim@acme.test opened");
    feed(&mut h, vec![PollerEvent::NewEvents { count: 1 }, n]);
    assert_eq!(h.app.bell, 1);
    assert!(h.screen().contains("bell 1"));

    h.press(&["b"]);
    let screen = h.screen();
    snap!("activity_pane", screen);
    assert_eq!(h.app.bell, 0, "looking at the activity reads it");
    assert!(screen.contains("bell 0"));
    assert_eq!(
        h.store.unread_notification_count().unwrap(),
        0,
        "read state is stored, so it survives a restart"
    );
    let rows = &h.app.tracking.activity.as_ref().unwrap().rows;
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0].recipient, "kim@acme.test");
    assert!(rows[0].unread && !rows[1].unread);

    // Down to Dana's last click, Enter: the Tracked filter, the cursor on the mail, its timeline.
    h.press(&["j", "Enter"]);
    assert!(h.app.tracking.activity.is_none());
    assert_eq!(h.app.list.filter, Filter::Tracked);
    assert_eq!(
        h.app.selected_row().unwrap().msg.message_id.as_deref(),
        Some(MSGID)
    );
    let t = h.app.tracking.timeline.as_ref().unwrap();
    assert_eq!(t.message_id, MSGID);
    assert!(matches!(&t.data, Some(Ok(d)) if d.events.len() == 7));
    assert_eq!(h.app.focus, Pane::Reader);
}

#[test]
fn a_poller_event_updates_list_marks_the_bell_and_the_open_timeline_at_once() {
    let mut h = harness(140, 24);
    // The Sent folder's list: the tracked mark counts Dana's 2 opens and Sam's proxied one.
    h.app.list.current = Some(("work".into(), "Sent".into()));
    h.press(&["1"]);
    assert_eq!(
        (
            h.app.list.rows[0].marks.opens,
            h.app.list.rows[0].marks.clicks
        ),
        (3, 2)
    );
    let n = poller_stores(
        &mut h,
        event(
            7,
            EventKind::Open,
            "kim@acme.test",
            1,
            Classification::Human,
            FIREFOX,
            "",
        ),
        "kim@acme.test opened",
    );
    feed(&mut h, vec![PollerEvent::NewEvents { count: 1 }, n]);
    assert_eq!(
        h.app.list.rows[0].marks.opens, 4,
        "folder list marks update"
    );
    assert_eq!(h.app.bell, 1);

    // The Tracked filter with the timeline open: both follow the next event.
    h.press(&["4", "Enter"]);
    let screen = h.screen();
    assert!(screen.contains("4 opens · 2 clicks"), "{screen}");
    let n = poller_stores(
        &mut h,
        event(
            8,
            EventKind::Click,
            "kim@acme.test",
            0,
            Classification::Human,
            FIREFOX,
            "",
        ),
        "kim@acme.test clicked a link",
    );
    feed(&mut h, vec![PollerEvent::NewEvents { count: 1 }, n]);
    assert_eq!(
        h.app.list.rows[0].marks.clicks, 3,
        "Tracked list marks update"
    );
    assert_eq!(h.app.bell, 2);
    let screen = h.screen();
    assert!(screen.contains("4 opens · 3 clicks"), "{screen}");
    assert!(
        screen.contains("1 open · first 11:59 · 1 click"),
        "kim's summary: {screen}"
    );
    assert!(screen.contains("bell 2"), "{screen}");

    // With the activity pane open, new activity shows there and is read at once.
    h.send(Msg::Action(Action::Activity));
    let n = poller_stores(
        &mut h,
        event(
            9,
            EventKind::Open,
            "dana@acme.test",
            0,
            Classification::Human,
            FIREFOX,
            "",
        ),
        "Dana Lee opened",
    );
    feed(&mut h, vec![PollerEvent::NewEvents { count: 1 }, n]);
    let pane = h.app.tracking.activity.as_ref().unwrap();
    assert_eq!(pane.rows.len(), 9);
    assert_eq!(h.app.bell, 0);
}

#[test]
fn tmux_an_open_recorded_by_the_real_tracker_reaches_the_bell_and_marks_while_the_inbox_runs() {
    let tracker_dir = tempfile::tempdir().unwrap();
    let db_url = format!(
        "sqlite:{}",
        tracker_dir.path().join("tracker.sqlite3").display()
    );
    let token = add_user(&db_url, "me");
    let server = TrackerProcess::start(&db_url, &[]);

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut store = seed(&data.join("tidings.sqlite3"), "work");
    // Sent an hour ago: outside the tracker's security-scanner window.
    let sent_at = chrono::Utc::now() - chrono::Duration::hours(1);
    add_tracked_sent_mail(&mut store, "work", sent_at.timestamp());
    drop(store);
    let pixel_token = tidings::tracking::token::new_tracking_token();
    let reg = tidings::tracking::server::db::Registration {
        message_id: MSGID.into(),
        sent_at,
        recipients: vec![tidings::tracking::server::db::RecipientRegistration {
            address: "dana@acme.test".into(),
            token: pixel_token.clone(),
            links: Vec::new(),
        }],
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tidings::tracking::client::api::TrackerClient::new(
            &server.base_url,
            &token,
            std::time::Duration::from_secs(20),
        )
        .unwrap()
        .register_message(&reg)
        .await
        .unwrap();
    });

    let config = dir.path().join("config.toml");
    // IMAP on port 9 of loopback: nothing listens; the inbox runs on the seeded cache.
    std::fs::write(
        &config,
        format!(
            "[accounts.work]\nemail = \"me@example.com\"\n[accounts.work.imap]\n\
             host = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\nuser = \"me\"\npassword = \"x\"\n\
             [tracking]\nbase_url = \"{}\"\napi_token = \"{token}\"\npoll_seconds = 1\n\
             [notifications]\ndesktop = false\n\
             settle_seconds = 0\n",
            server.base_url
        ),
    )
    .unwrap();
    let cmd = format!(
        "env -u DBUS_SESSION_BUS_ADDRESS TIDINGS_CONFIG={} TIDINGS_DATA_DIR={} XDG_CONFIG_HOME={} {}",
        config.display(),
        data.display(),
        dir.path().display(),
        env!("CARGO_BIN_EXE_tidings")
    );
    let t = Tmux::run("activity", dir, data, &cmd);
    t.wait_for("bell 0");
    t.keys(&["4"]);
    t.wait_for(&format!("{SUBJECT} — 0 opens · 0 clicks"));

    // Dana's mail client loads the pixel: a plain GET, as an image request.
    let url = format!("{}/p/{pixel_token}.gif", server.base_url);
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(&url)
            .header("user-agent", FIREFOX)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");

    // Within a poll or two (poll_seconds = 1) the screen shows it, with no key pressed.
    t.wait_for(&format!("{SUBJECT} — 1 open · 0 clicks"));
    let screen = t.wait_for("bell 1");
    assert!(screen.contains("o·"), "the opened mark: {screen}");
    t.keys(&["Enter"]);
    let screen = t.wait_for("    1 open · first");
    assert!(screen.contains("Dana Lee <dana@acme.test>"), "{screen}");
    t.keys(&["b"]);
    let screen = t.wait_for("Activity — 1 new");
    assert!(screen.contains("Dana Lee opened"), "{screen}");
    t.wait_for("bell 0");
}

#[test]
fn a_narrow_terminal_shows_the_timeline_alone_and_q_returns_to_the_list() {
    let mut h = harness(80, 24);
    h.press(&["4", "Enter"]);
    let screen = h.screen();
    assert!(
        screen.contains("Timeline: Proposal for Q3, revised"),
        "{screen}"
    );
    assert!(!screen.contains("Folders"), "one pane at a time: {screen}");
    h.press(&["q"]);
    let screen = h.screen();
    assert!(
        screen.contains("work, all folders — Tracked (1/1)"),
        "{screen}"
    );
    // The activity pane closes with the key that opened it, too.
    h.press(&["b"]);
    assert!(h.screen().contains("Activity"));
    h.press(&["b"]);
    assert!(h.app.tracking.activity.is_none());
}
