//! The tracking server over real HTTP on 127.0.0.1: the `tidings tracker serve` binary against
//! SQLite and against a private PostgreSQL cluster, every test on both.

use crate::support::postgres;
use crate::support::tracker::{add_user, run_cli, run_cli_status, TrackerProcess};
use chrono::{Duration, Utc};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tidings::tracking::client::api::{ApiError, TrackerClient};
use tidings::tracking::client::rewrite::{rewrite_for_recipient, RewriteOptions, TrackedLink};
use tidings::tracking::server::classify::{Classification, Confidence, EventKind};
use tidings::tracking::server::db::{Event, Hit, RecipientRegistration, Registration};
use tidings::tracking::token::new_tracking_token;

struct Backend {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("tracker.sqlite3").display());
    Backend {
        url,
        _dir: Some(dir),
    }
}

fn pg() -> Backend {
    Backend {
        url: postgres::fresh_database(),
        _dir: None,
    }
}

/// Each listed async fn runs as `<name>::sqlite` and `<name>::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::pg()).await
            }
        }
    )*};
}

on_both_backends!(
    pixel_is_a_no_store_gif_and_unknown_tokens_record_nothing,
    links_redirect_only_to_the_registered_url,
    api_needs_a_valid_token_and_users_see_only_their_own,
    events_are_paged_oldest_first_with_a_cursor,
    opt_out_marks_the_recipient_never_and_stops_recording,
    forwarded_for_is_believed_only_from_a_trusted_proxy,
    classification_uses_real_agents_timing_and_bursts,
    senders_own_opens_are_not_counted,
    opens_after_the_trap_link_are_automated_for_that_visitor_only,
    retention_purges_old_events,
    rewritten_copies_attribute_events_to_their_recipient,
    kill_9_under_load_keeps_every_answered_event,
    paging_while_two_instances_write_never_skips_an_event,
    users_are_listed_rotated_and_removed,
    api_errors_are_one_json_shape_with_a_bearer_challenge,
);

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

fn api(server: &TrackerProcess, token: &str) -> TrackerClient {
    TrackerClient::new(&server.base_url, token, std::time::Duration::from_secs(20)).unwrap()
}

/// A registration for one message to `address` with `urls`, sent `ago` before now.
fn message(address: &str, urls: &[&str], ago: Duration) -> Registration {
    Registration {
        message_id: format!("<{}@test.example>", new_tracking_token()),
        sent_at: Utc::now() - ago,
        recipients: vec![RecipientRegistration {
            address: address.to_string(),
            token: new_tracking_token(),
            links: urls
                .iter()
                .map(|u| TrackedLink {
                    token: new_tracking_token(),
                    url: u.to_string(),
                    trap: false,
                })
                .collect(),
        }],
    }
}

fn pixel_url(server: &TrackerProcess, reg: &Registration) -> String {
    format!("{}/p/{}.gif", server.base_url, reg.recipients[0].token)
}

fn link_url(server: &TrackerProcess, reg: &Registration, i: usize) -> String {
    format!("{}/l/{}", server.base_url, reg.recipients[0].links[i].token)
}

const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";

async fn get_ua(url: &str, ua: &str) -> reqwest::Response {
    http()
        .get(url)
        .header("user-agent", ua)
        .send()
        .await
        .unwrap()
}

/// Every event the token can see, waiting (bounded) until at least `expected` are there, then
/// checking that no more arrive on one further fetch.
async fn all_events(client: &TrackerClient, expected: usize) -> Vec<Event> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = client.fetch_events(cursor.as_deref(), 100).await.unwrap();
        let empty = page.events.is_empty();
        events.extend(page.events);
        cursor = Some(page.cursor);
        if empty {
            if events.len() >= expected || std::time::Instant::now() > deadline {
                return events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn pixel_is_a_no_store_gif_and_unknown_tokens_record_nothing(db: Backend) {
    let token = add_user(&db.url, "alice");
    let server = TrackerProcess::start(&db.url, &["--metrics-listen", "127.0.0.1:0"]);
    let alice = api(&server, &token);
    let reg = message("dana@example.com", &[], Duration::hours(1));
    alice.register_message(&reg).await.unwrap();

    let r = get_ua(&pixel_url(&server, &reg), SAFARI).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/gif");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    let body = r.bytes().await.unwrap();
    assert!(body.starts_with(b"GIF89a") && body.len() < 64);

    for junk in [
        format!("/p/{}.gif", new_tracking_token()),
        "/p/NOT-A-TOKEN.gif".to_string(),
        "/p/..%2F..%2Fetc%2Fpasswd".to_string(),
        format!("/p/{}", "a".repeat(5000)),
        "/p/%00%ff.gif".to_string(),
        "/p/".to_string(),
    ] {
        let r = get_ua(&format!("{}{junk}", server.base_url), SAFARI).await;
        assert_eq!(r.status(), 200, "{junk}");
        assert_eq!(r.headers()["content-type"], "image/gif", "{junk}");
    }
    let events = all_events(&alice, 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.kind, EventKind::Open);
    assert_eq!(e.message_id, reg.message_id);
    assert_eq!(e.recipient, "dana@example.com");
    assert_eq!(e.user_agent, SAFARI);
    assert_eq!(e.classification, Classification::Human);
    assert_eq!(e.ip.as_deref(), Some("127.0.0.0"));

    let health = http()
        .get(format!("{}/healthz", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // Metrics are on their own listener (not the public one).
    let metrics = http()
        .get(server.metrics_url.as_deref().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("tidings_tracker_events_recorded_total{kind=\"open\"} 1"));
    assert!(metrics.contains("tidings_tracker_unknown_tokens_total 6"));
    assert!(metrics.contains("tidings_tracker_db_errors_total 0"));
}

async fn links_redirect_only_to_the_registered_url(db: Backend) {
    let token = add_user(&db.url, "alice");
    let server = TrackerProcess::start(&db.url, &[]);
    let alice = api(&server, &token);
    let target = "https://example.com/deck?x=1&y=%C3%A9";
    let reg = message("dana@example.com", &[target], Duration::hours(1));
    alice.register_message(&reg).await.unwrap();
    let link = link_url(&server, &reg, 0);
    for suffix in [
        "",
        "/https://evil.example",
        "?url=https://evil.example",
        "//evil.example/",
        ".evil.example",
        "/%2F%2Fevil.example?next=//evil.example",
    ] {
        let r = get_ua(&format!("{link}{suffix}"), SAFARI).await;
        assert_eq!(r.status(), 302, "{suffix}");
        assert_eq!(r.headers()["location"], target, "{suffix}");
    }
    for unknown in [
        format!("{}/l/{}", server.base_url, new_tracking_token()),
        format!("{}/l/", server.base_url),
        format!("{}/l/<script>", server.base_url),
        format!("{}/l/{}", server.base_url, reg.recipients[0].token),
    ] {
        let r = get_ua(&unknown, SAFARI).await;
        assert_eq!(r.status(), 404, "{unknown}");
        assert!(r.headers().get("location").is_none());
    }
    let events = all_events(&alice, 6).await;
    assert_eq!(events.len(), 6);
    assert!(events
        .iter()
        .all(|e| e.kind == EventKind::Click && e.url.as_deref() == Some(target)));
}

async fn api_needs_a_valid_token_and_users_see_only_their_own(db: Backend) {
    let alice_token = add_user(&db.url, "alice");
    let bob_token = add_user(&db.url, "bob");
    assert_ne!(alice_token, bob_token);
    let server = TrackerProcess::start(&db.url, &[]);
    let (alice, bob) = (api(&server, &alice_token), api(&server, &bob_token));
    let reg = message(
        "dana@example.com",
        &["https://example.com/a"],
        Duration::hours(1),
    );
    alice.register_message(&reg).await.unwrap();
    // Registering again is harmless; bob cannot claim alice's tokens.
    alice.register_message(&reg).await.unwrap();
    let mut stolen = reg.clone();
    stolen.message_id = "<bob@test.example>".into();
    match bob.register_message(&stolen).await {
        Err(ApiError::Status { status: 409, .. }) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    get_ua(&pixel_url(&server, &reg), SAFARI).await;

    for auth in [
        None,
        Some("Bearer wrong".to_string()),
        Some(format!("Bearer {}x", alice_token)),
        Some(format!("Basic {alice_token}")),
    ] {
        for path in ["/api/v1/events", "/api/v1/optouts"] {
            let mut req = http().get(format!("{}{path}", server.base_url));
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            assert_eq!(req.send().await.unwrap().status(), 401, "{auth:?} {path}");
        }
        let mut req = http()
            .post(format!("{}/api/v1/messages", server.base_url))
            .body(serde_json::to_vec(&reg).unwrap());
        if let Some(a) = &auth {
            req = req.header("authorization", a);
        }
        assert_eq!(req.send().await.unwrap().status(), 401);
    }
    let bad = TrackerClient::new(
        &server.base_url,
        "tdg_nope",
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    assert!(matches!(
        bad.fetch_events(None, 10).await,
        Err(ApiError::Unauthorized)
    ));
    // Junk registrations are refused with a reason.
    let mut junk = message(
        "x@example.com",
        &["javascript:alert(1)"],
        Duration::hours(1),
    );
    assert!(matches!(
        alice.register_message(&junk).await,
        Err(ApiError::Status { status: 400, .. })
    ));
    junk.recipients[0].links.clear();
    junk.recipients[0].token = "short".into();
    assert!(matches!(
        alice.register_message(&junk).await,
        Err(ApiError::Status { status: 400, .. })
    ));

    assert_eq!(all_events(&alice, 1).await.len(), 1);
    assert!(bob.fetch_events(None, 100).await.unwrap().events.is_empty());
}

async fn events_are_paged_oldest_first_with_a_cursor(db: Backend) {
    let token = add_user(&db.url, "alice");
    let server = TrackerProcess::start(&db.url, &[]);
    let alice = api(&server, &token);
    let reg = message("dana@example.com", &[], Duration::hours(1));
    alice.register_message(&reg).await.unwrap();
    for _ in 0..5 {
        assert_eq!(
            get_ua(&pixel_url(&server, &reg), SAFARI).await.status(),
            200
        );
    }
    all_events(&alice, 5).await;
    let p1 = alice.fetch_events(None, 2).await.unwrap();
    let p2 = alice.fetch_events(Some(&p1.cursor), 2).await.unwrap();
    let p3 = alice.fetch_events(Some(&p2.cursor), 2).await.unwrap();
    let p4 = alice.fetch_events(Some(&p3.cursor), 2).await.unwrap();
    assert_eq!(
        (
            p1.events.len(),
            p2.events.len(),
            p3.events.len(),
            p4.events.len()
        ),
        (2, 2, 1, 0)
    );
    assert_eq!(p4.cursor, p3.cursor, "an empty page keeps the cursor");
    let all: Vec<&Event> = p1
        .events
        .iter()
        .chain(&p2.events)
        .chain(&p3.events)
        .collect();
    for pair in all.windows(2) {
        assert!(pair[0].at <= pair[1].at && pair[0].id != pair[1].id);
    }
    // A cursor that is not one of ours is a 400, not a 5xx.
    let r = http()
        .get(format!(
            "{}/api/v1/events?after=drop%20table",
            server.base_url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

async fn opt_out_marks_the_recipient_never_and_stops_recording(db: Backend) {
    let token = add_user(&db.url, "alice");
    let server = TrackerProcess::start(&db.url, &[]);
    let alice = api(&server, &token);
    let reg = message(
        "Dana@Example.com",
        &["https://example.com/a"],
        Duration::hours(1),
    );
    alice.register_message(&reg).await.unwrap();
    let opt_out = format!("{}/o/{}", server.base_url, reg.recipients[0].token);
    // A GET (what a link scanner does) only shows the button.
    let page = get_ua(&opt_out, SAFARI).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    assert!(alice.fetch_optouts().await.unwrap().is_empty());
    let done = http().post(&opt_out).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let optouts = alice.fetch_optouts().await.unwrap();
    assert_eq!(optouts.len(), 1);
    assert_eq!(optouts[0].address, "dana@example.com");
    let unknown = http()
        .post(format!("{}/o/{}", server.base_url, new_tracking_token()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // Later opens and clicks of that recipient are not recorded; the link still works.
    assert_eq!(
        get_ua(&pixel_url(&server, &reg), SAFARI).await.status(),
        200
    );
    let r = get_ua(&link_url(&server, &reg, 0), SAFARI).await;
    assert_eq!(r.status(), 302);
    assert!(alice
        .fetch_events(None, 100)
        .await
        .unwrap()
        .events
        .is_empty());
}

async fn forwarded_for_is_believed_only_from_a_trusted_proxy(db: Backend) {
    let token = add_user(&db.url, "alice");
    let reg = message("dana@example.com", &[], Duration::hours(1));
    {
        let direct = TrackerProcess::start(&db.url, &[]);
        api(&direct, &token).register_message(&reg).await.unwrap();
        // A full Safari agent: only the (ignored) forwarded Apple address could make it a machine.
        let r = http()
            .get(pixel_url(&direct, &reg))
            .header("user-agent", SAFARI)
            .header("x-forwarded-for", "17.58.63.10")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let events = all_events(&api(&direct, &token), 1).await;
        assert_eq!(events[0].ip.as_deref(), Some("127.0.0.0"));
        assert_eq!(events[0].classification, Classification::Human);
    }
    let proxied = TrackerProcess::start(
        &db.url,
        &["--trusted-proxy", "127.0.0.0/8", "--ip-prefix-v4", "24"],
    );
    http()
        .get(pixel_url(&proxied, &reg))
        .header("user-agent", "Mozilla/5.0")
        .header("x-forwarded-for", "203.0.113.5, 17.58.63.10")
        .send()
        .await
        .unwrap();
    let events = all_events(&api(&proxied, &token), 2).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].ip.as_deref(), Some("17.58.63.0"));
    assert_eq!(events[1].classification, Classification::Automated);
    assert!(events[1].reason.contains("Apple"), "{}", events[1].reason);
    drop(proxied);
    // With the full address configured, nothing is truncated.
    let whole = TrackerProcess::start(&db.url, &["--ip-prefix-v4", "32"]);
    get_ua(&pixel_url(&whole, &reg), SAFARI).await;
    let events = all_events(&api(&whole, &token), 3).await;
    assert_eq!(events[2].ip.as_deref(), Some("127.0.0.1"));
}

async fn classification_uses_real_agents_timing_and_bursts(db: Backend) {
    let token = add_user(&db.url, "alice");
    let server = TrackerProcess::start(&db.url, &["--scanner-window-seconds", "60"]);
    let alice = api(&server, &token);
    let old = message(
        "dana@example.com",
        &["https://example.com/a", "https://example.com/b"],
        Duration::hours(1),
    );
    let fresh = message(
        "lee@example.com",
        &["https://example.com/c"],
        Duration::zero(),
    );
    alice.register_message(&old).await.unwrap();
    alice.register_message(&fresh).await.unwrap();
    let gmail =
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
    let googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    get_ua(&pixel_url(&server, &old), gmail).await;
    get_ua(&pixel_url(&server, &old), googlebot).await;
    get_ua(&pixel_url(&server, &old), SAFARI).await;
    get_ua(&pixel_url(&server, &fresh), SAFARI).await;
    get_ua(&link_url(&server, &old, 0), SAFARI).await;
    get_ua(&link_url(&server, &old, 1), SAFARI).await;
    let events = all_events(&alice, 6).await;
    let classes: Vec<(Classification, &str)> = events
        .iter()
        .map(|e| (e.classification, e.reason.as_str()))
        .collect();
    assert_eq!(classes[0].0, Classification::Proxy, "{classes:?}");
    assert!(classes[0].1.contains("cached"));
    assert_eq!(classes[1].0, Classification::Automated);
    // A person's event has a reason too (issue 13), naming the client.
    assert_eq!(classes[2].0, Classification::Human);
    assert!(classes[2].1.contains("Safari on Mac"), "{}", classes[2].1);
    assert_eq!(events[2].client, "Safari on Mac");
    assert_eq!(classes[3].0, Classification::Automated);
    assert!(classes[3].1.contains("scanner"), "{}", classes[3].1);
    // Both links of the mail within seconds: a link scanner, and the first click is re-marked.
    assert_eq!(classes[4].0, Classification::Automated, "{classes:?}");
    assert_eq!(classes[5].0, Classification::Automated);
    assert!(classes[5].1.contains("all 2 links"));
}

/// Only copies whose trap link was followed cost the per-visitor check (the writers read that
/// with the batch's recipient state): an open from that visitor is a scanner, from anyone else
/// and on any other copy it is not.
async fn opens_after_the_trap_link_are_automated_for_that_visitor_only(db: Backend) {
    let token = add_user(&db.url, "alice");
    let server = TrackerProcess::start(&db.url, &[]);
    let alice = api(&server, &token);
    let mut trapped = message(
        "dana@example.com",
        &["https://example.com/a"],
        Duration::hours(1),
    );
    trapped.recipients[0].links.push(TrackedLink {
        token: new_tracking_token(),
        url: "https://example.com/".into(),
        trap: true,
    });
    alice.register_message(&trapped).await.unwrap();
    let untouched = message("lee@example.com", &[], Duration::hours(1));
    alice.register_message(&untouched).await.unwrap();
    const SCANNER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    assert_eq!(
        get_ua(&link_url(&server, &trapped, 1), SCANNER)
            .await
            .status(),
        302
    );
    // Opens of both copies at once, so that some of them share a batch.
    let opens = [
        (pixel_url(&server, &trapped), SCANNER),
        (pixel_url(&server, &trapped), SAFARI),
        (pixel_url(&server, &untouched), SCANNER),
        (pixel_url(&server, &untouched), SAFARI),
    ];
    let answers = futures::future::join_all(opens.iter().map(|(url, ua)| get_ua(url, ua))).await;
    assert!(answers.iter().all(|a| a.status() == 200));
    let events = all_events(&alice, 5).await;
    assert_eq!(events.len(), 5, "{events:?}");
    let verdict = |recipient: &str, ua: &str| {
        let e = events
            .iter()
            .find(|e| e.kind == EventKind::Open && e.recipient == recipient && e.user_agent == ua)
            .unwrap_or_else(|| panic!("no open of {recipient} by {ua}: {events:?}"));
        (e.classification, e.confidence)
    };
    assert_eq!(
        verdict("dana@example.com", SCANNER),
        (Classification::Automated, Confidence::Certain)
    );
    assert_eq!(verdict("dana@example.com", SAFARI).0, Classification::Human);
    assert_eq!(verdict("lee@example.com", SCANNER).0, Classification::Human);
    assert_eq!(verdict("lee@example.com", SAFARI).0, Classification::Human);
}

async fn senders_own_opens_are_not_counted(db: Backend) {
    let alice_token = add_user(&db.url, "alice");
    let bob_token = add_user(&db.url, "bob");
    let server = TrackerProcess::start(&db.url, &[]);
    let alice = api(&server, &alice_token);
    let reg = message("dana@example.com", &[], Duration::hours(1));
    alice.register_message(&reg).await.unwrap();
    let own = http()
        .get(pixel_url(&server, &reg))
        .bearer_auth(&alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let own_cookie = http()
        .get(pixel_url(&server, &reg))
        .header("cookie", format!("tidings_token={alice_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(own_cookie.status(), 200);
    // Someone else's token is not the sender's.
    http()
        .get(pixel_url(&server, &reg))
        .header("user-agent", SAFARI)
        .bearer_auth(&bob_token)
        .send()
        .await
        .unwrap();
    assert_eq!(all_events(&alice, 1).await.len(), 1);
}

async fn retention_purges_old_events(db: Backend) {
    let token = add_user(&db.url, "alice");
    let reg = message("dana@example.com", &[], Duration::days(30));
    {
        // Backdated events can only be made through the library.
        let store = tidings::tracking::server::db::open(&db.url).await.unwrap();
        let server = TrackerProcess::start(&db.url, &[]);
        api(&server, &token).register_message(&reg).await.unwrap();
        for days in [20, 1] {
            let outcome = store
                .record(Hit {
                    kind: EventKind::Open,
                    token: reg.recipients[0].token.clone(),
                    user_agent: SAFARI.into(),
                    client_ip: None,
                    stored_ip: None,
                    at: Utc::now() - Duration::days(days),
                    sender_token_hash: None,
                    scanner_window_seconds: 60,
                    request: Default::default(),
                })
                .await
                .unwrap();
            assert!(outcome.recorded);
        }
        assert_eq!(all_events(&api(&server, &token), 2).await.len(), 2);
    }
    let server = TrackerProcess::start(&db.url, &["--retention-days", "7"]);
    let alice = api(&server, &token);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events = alice.fetch_events(None, 100).await.unwrap().events;
        if events.len() == 1 {
            assert!(events[0].at > Utc::now() - Duration::days(2));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not purged: {events:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn rewritten_copies_attribute_events_to_their_recipient(db: Backend) {
    let token = add_user(&db.url, "alice");
    let server = TrackerProcess::start(&db.url, &[]);
    let alice = api(&server, &token);
    let html =
        "<html><body><p>Deck: <a href=\"https://example.com/deck\">here</a></p></body></html>";
    let opts = RewriteOptions {
        base_url: &server.base_url,
        track_opens: true,
        track_links: true,
        opt_out_link: true,
        unsubscribe_urls: &[],
        excluded_urls: &[],
    };
    let dana = rewrite_for_recipient(Some(html), None, &opts);
    let lee = rewrite_for_recipient(Some(html), None, &opts);
    let reg = Registration {
        message_id: "<proposal@test.example>".into(),
        sent_at: Utc::now() - Duration::hours(1),
        recipients: vec![
            dana.registration("dana@example.com"),
            lee.registration("lee@example.com"),
        ],
    };
    alice.register_message(&reg).await.unwrap();
    assert_eq!(
        get_ua(dana.pixel_url.as_ref().unwrap(), SAFARI)
            .await
            .status(),
        200
    );
    let link = format!("{}/l/{}", server.base_url, dana.links[0].token);
    assert!(dana.html.contains(&link));
    let r = get_ua(&link, SAFARI).await;
    assert_eq!(r.headers()["location"], "https://example.com/deck");
    let events = all_events(&alice, 2).await;
    assert_eq!(events.len(), 2);
    for e in &events {
        assert_eq!(e.recipient, "dana@example.com");
        assert_eq!(e.message_id, "<proposal@test.example>");
    }
    assert_eq!(
        (events[0].kind, events[1].kind),
        (EventKind::Open, EventKind::Click)
    );
}

async fn kill_9_under_load_keeps_every_answered_event(db: Backend) {
    kill_9_under_load(db, &[]).await
}

/// `--durability process` answers once the WAL is written to the OS, not synced: that must
/// still survive a kill -9 of the tracker (it is what the mode promises).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_keeps_every_answered_event_with_process_durability() {
    kill_9_under_load(sqlite(), &["--durability", "process"]).await
}

async fn kill_9_under_load(db: Backend, serve_args: &[&str]) {
    let token = add_user(&db.url, "alice");
    let mut server = TrackerProcess::start(&db.url, serve_args);
    let reg = message("dana@example.com", &[], Duration::hours(1));
    api(&server, &token).register_message(&reg).await.unwrap();
    let url = pixel_url(&server, &reg);
    let answered = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (url, answered, sent, stop) =
            (url.clone(), answered.clone(), sent.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let client = http();
            // Bounded: each worker stops after 2000 requests even if the kill never comes.
            for _ in 0..2000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                sent.fetch_add(1, Ordering::SeqCst);
                if let Ok(r) = client.get(&url).header("user-agent", SAFARI).send().await {
                    if r.status() == 200 && r.bytes().await.is_ok() {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while answered.load(Ordering::SeqCst) < 300 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    let answered = answered.load(Ordering::SeqCst);
    let sent = sent.load(Ordering::SeqCst);
    assert!(answered >= 300, "only {answered} answered");
    let stats: serde_json::Value =
        serde_json::from_str(run_cli(&["tracker", "stats", "--db", &db.url, "--json"]).trim())
            .unwrap();
    let opens = stats["opens"].as_u64().unwrap() as usize;
    assert!(
        opens >= answered && opens <= sent,
        "answered {answered}, recorded {opens}, sent {sent}"
    );
    // The restarted server serves the same events.
    let again = TrackerProcess::start(&db.url, &[]);
    assert_eq!(all_events_count(&api(&again, &token), opens).await, opens);
}

/// The SQLite WAL's checkpoint sequence number (its header's bytes 12..16): SQLite raises it each
/// time it starts the WAL over from its first frame.
fn wal_restarts(db_path: &std::path::Path) -> u32 {
    let wal = std::fs::read(db_path.with_extension("sqlite3-wal")).unwrap();
    u32::from_be_bytes(wal[12..16].try_into().unwrap())
}

/// A checkpoint run beside the busy writer never caught up with the WAL's end, so SQLite never
/// started the WAL over and it grew for as long as the load lasted (86 MB for 50 k opens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_starts_over_under_sustained_load() {
    let db = sqlite();
    let path = std::path::PathBuf::from(db.url.trim_start_matches("sqlite:"));
    let token = add_user(&db.url, "alice");
    let server = TrackerProcess::start(&db.url, &[]);
    let reg = message("dana@example.com", &[], Duration::hours(1));
    api(&server, &token).register_message(&reg).await.unwrap();
    let url = pixel_url(&server, &reg);
    assert_eq!(get_ua(&url, SAFARI).await.status(), 200);
    let before = wal_restarts(&path);
    let until = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    let mut workers = Vec::new();
    for _ in 0..16 {
        let url = url.clone();
        workers.push(tokio::spawn(async move {
            let client = http();
            while std::time::Instant::now() < until {
                let r = client.get(&url).header("user-agent", SAFARI).send().await;
                assert_eq!(r.unwrap().status(), 200);
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let restarts = wal_restarts(&path) - before;
    assert!(restarts >= 2, "the WAL started over {restarts} times");
}

async fn all_events_count(client: &TrackerClient, expected: usize) -> usize {
    all_events(client, expected).await.len()
}

/// Two tracker instances on one database (the load-balanced deployment) record opens while a
/// poller pages with `after=cursor`: every event must reach the poller exactly once, even though
/// the instances commit their batches in any order.
async fn paging_while_two_instances_write_never_skips_an_event(db: Backend) {
    let token = add_user(&db.url, "alice");
    let a = TrackerProcess::start(&db.url, &[]);
    let b = TrackerProcess::start(&db.url, &[]);
    let reg = message("dana@example.com", &[], Duration::hours(1));
    api(&a, &token).register_message(&reg).await.unwrap();
    let urls = [pixel_url(&a, &reg), pixel_url(&b, &reg)];
    let answered = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for i in 0..8 {
        let (url, answered) = (urls[i % 2].clone(), answered.clone());
        writers.push(tokio::spawn(async move {
            let client = http();
            for _ in 0..60 {
                let r = client
                    .get(&url)
                    .header("user-agent", SAFARI)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let poller = api(&b, &token);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let page = poller.fetch_events(cursor.as_deref(), 7).await.unwrap();
        seen.extend(page.events.iter().map(|e| e.id));
        cursor = Some(page.cursor);
        let done = writers.iter().all(|w| w.is_finished());
        if done && page.events.is_empty() && seen.len() >= answered.load(Ordering::SeqCst) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "poller stalled at {}",
            seen.len()
        );
    }
    for w in writers {
        w.await.unwrap();
    }
    let total = answered.load(Ordering::SeqCst);
    assert_eq!(total, 480);
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an event was delivered twice");
    assert_eq!(seen.len(), total, "the poller missed events");
}

/// Instances behind a load balancer cache what a token names, never whether its recipient opted
/// out: an opt-out through one instance stops recording on the other at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_out_on_one_instance_stops_recording_on_another_at_once() {
    let db = pg();
    let token = add_user(&db.url, "alice");
    let a = TrackerProcess::start(&db.url, &[]);
    let b = TrackerProcess::start(&db.url, &[]);
    let alice = api(&a, &token);
    let reg = message(
        "dana@example.com",
        &["https://example.com/a"],
        Duration::hours(1),
    );
    alice.register_message(&reg).await.unwrap();
    // Warm a's cache for both the pixel and the link.
    assert_eq!(get_ua(&pixel_url(&a, &reg), SAFARI).await.status(), 200);
    assert_eq!(get_ua(&link_url(&a, &reg, 0), SAFARI).await.status(), 302);
    assert_eq!(all_events_count(&alice, 2).await, 2);
    let opt_out = format!("{}/o/{}", b.base_url, reg.recipients[0].token);
    assert_eq!(http().post(&opt_out).send().await.unwrap().status(), 200);
    assert_eq!(get_ua(&pixel_url(&a, &reg), SAFARI).await.status(), 200);
    assert_eq!(get_ua(&link_url(&a, &reg, 0), SAFARI).await.status(), 302);
    let stats: serde_json::Value =
        serde_json::from_str(run_cli(&["tracker", "stats", "--db", &db.url, "--json"]).trim())
            .unwrap();
    assert_eq!(
        (stats["opens"].as_u64(), stats["clicks"].as_u64()),
        (Some(1), Some(1))
    );
}

/// The API client never reads an unbounded answer nor waits forever on a stuck tracker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_client_caps_answers_and_times_out() {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/huge/api/v1/events",
            get(|| async { "x".repeat(tidings::tracking::client::api::MAX_RESPONSE_BYTES + 1) }),
        )
        .route(
            "/stuck/api/v1/events",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route(
            "/broken/api/v1/events",
            get(|| async {
                (
                    axum::http::StatusCode::BAD_GATEWAY,
                    "\u{1b}[31mupstream\u{1b}[0m",
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = |path: &str| {
        TrackerClient::new(
            &format!("{base}/{path}"),
            "tdg_x",
            std::time::Duration::from_millis(500),
        )
        .unwrap()
    };
    assert!(matches!(
        client("huge").fetch_events(None, 10).await,
        Err(ApiError::TooLarge)
    ));
    let started = std::time::Instant::now();
    let stuck = client("stuck").fetch_events(None, 10).await.unwrap_err();
    assert!(stuck.is_transient(), "{stuck}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    match client("broken").fetch_events(None, 10).await {
        Err(ApiError::Status {
            status: 502,
            message,
        }) => {
            assert!(!message.contains('\u{1b}'), "{message:?}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        TrackerClient::new("ftp://x", "t", std::time::Duration::from_secs(1)),
        Err(ApiError::BadBaseUrl(_))
    ));
}

/// `tidings watch --once` against a misconfigured `[tracking] base_url` says what went wrong in
/// one readable line: the network's own reason, or the status without the server's HTML page.
#[test]
fn a_wrong_tracker_url_is_explained_in_one_line() {
    let backend = sqlite();
    let token = add_user(&backend.url, "alice");
    let server = TrackerProcess::start(&backend.url, &[]);
    let watch = |base_url: &str| {
        let env = crate::support::TidingsEnv::new(&format!(
            "[tracking]\nbase_url = \"{base_url}\"\napi_token = \"{token}\"\n"
        ));
        let out = env.run(&["watch", "--once"]);
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let closed = crate::support::smtp::free_port();
    let err = watch(&format!("http://127.0.0.1:{closed}"));
    assert!(err.contains("Connection refused"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let err = watch(&format!("{}/tracker/", server.base_url));
    assert!(err.contains("404: Not Found"), "{err}");
    assert!(!err.contains('<'), "no HTML page in the reason: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

fn stats(db_url: &str) -> (u64, u64, u64, u64) {
    let s: serde_json::Value =
        serde_json::from_str(run_cli(&["tracker", "stats", "--db", db_url, "--json"]).trim())
            .unwrap();
    let n = |k: &str| s[k].as_u64().unwrap();
    (n("users"), n("messages"), n("opens"), n("clicks"))
}

fn user_cli(db_url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["tracker", "user"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--db", db_url]);
    run_cli_status(&all)
}

async fn status_with(url: &str, token: &str) -> u16 {
    http()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn users_are_listed_rotated_and_removed(db: Backend) {
    let old = add_user(&db.url, "alice");
    add_user(&db.url, "bob");
    let server = TrackerProcess::start(&db.url, &[]);
    let events_url = format!("{}/api/v1/events", server.base_url);
    let reg = message(
        "dana@example.com",
        &["https://example.com/a"],
        Duration::hours(1),
    );
    api(&server, &old).register_message(&reg).await.unwrap();
    // Warms the server's token cache with alice's current token hash.
    assert_eq!(
        get_ua(&pixel_url(&server, &reg), SAFARI).await.status(),
        200
    );
    assert_eq!(stats(&db.url).2, 1);

    // list: names, created, messages; never a token or its hash.
    let (code, out, _) = user_cli(&db.url, &["list", "--json"]);
    assert_eq!(code, Some(0));
    let list: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let users = list["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(
        (users[0]["name"].as_str(), users[0]["messages"].as_u64()),
        (Some("alice"), Some(1))
    );
    assert_eq!(users[1]["messages"].as_u64(), Some(0));
    assert!(users[0]["created_at"].as_str().is_some());
    let hash = tidings::tracking::token::hash_api_token(&old);
    let (_, text, _) = user_cli(&db.url, &["list"]);
    for shown in [&out, &text] {
        assert!(!shown.contains("tdg_") && !shown.contains(&hash), "{shown}");
    }
    assert!(text.contains("alice") && text.contains("bob"), "{text}");

    // rotate: the old token fails at once on the running server, the new one works.
    let (code, out, _) = user_cli(&db.url, &["rotate", "alice"]);
    assert_eq!(code, Some(0));
    let new = out.lines().last().unwrap().trim().to_string();
    assert!(new.starts_with("tdg_") && new != old);
    assert_eq!(status_with(&events_url, &old).await, 401);
    assert_eq!(status_with(&events_url, &new).await, 200);
    // The new token is the sender's own: its open is not counted, whatever the server cached.
    assert_eq!(status_with(&pixel_url(&server, &reg), &new).await, 200);
    assert_eq!(stats(&db.url).2, 1, "the sender's own open was recorded");

    // Unknown names fail in one clear line.
    for args in [&["rotate", "carol"][..], &["remove", "carol"]] {
        let (code, _, err) = user_cli(&db.url, args);
        assert_eq!(code, Some(1), "{args:?}");
        assert_eq!(err.trim(), "tidings: no tracker user named \"carol\"");
    }

    // remove without purge: token revoked, data kept, links still answer, nothing recorded.
    let (code, out, _) = user_cli(&db.url, &["remove", "alice"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("nobody can read them"), "{out}");
    assert_eq!(status_with(&events_url, &new).await, 401);
    assert_eq!(
        get_ua(&pixel_url(&server, &reg), SAFARI).await.status(),
        200
    );
    let click = get_ua(&link_url(&server, &reg, 0), SAFARI).await;
    assert_eq!(click.status(), 302);
    assert_eq!(click.headers()["location"], "https://example.com/a");
    // Alice no longer counts as a user; her kept data still does, until purged.
    assert_eq!(stats(&db.url), (1, 1, 1, 0));
    let json = run_cli(&["tracker", "stats", "--db", &db.url, "--json"]);
    let removed: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(removed["removed_users"].as_u64(), Some(1));
    let (_, out, _) = user_cli(&db.url, &["list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(list["users"][0]["removed"].as_bool(), Some(true));
    assert_eq!(user_cli(&db.url, &["rotate", "alice"]).0, Some(1));

    // --purge deletes everything; the pixel still answers, the link is gone, nothing recorded.
    let (code, out, _) = user_cli(&db.url, &["remove", "alice", "--purge"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(stats(&db.url), (1, 0, 0, 0));
    let json = run_cli(&["tracker", "stats", "--db", &db.url, "--json"]);
    let purged: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(purged["removed_users"].as_u64(), Some(0));
    assert_eq!(
        get_ua(&pixel_url(&server, &reg), SAFARI).await.status(),
        200
    );
    assert_eq!(
        get_ua(&link_url(&server, &reg, 0), SAFARI).await.status(),
        404
    );
    assert_eq!(stats(&db.url), (1, 0, 0, 0));
    // The name is free again.
    add_user(&db.url, "alice");
}

/// Every 401 and 400 (and 404/405) under /api/v1 is `{"error": …}` JSON; a 401 carries a
/// Bearer challenge.
async fn api_errors_are_one_json_shape_with_a_bearer_challenge(db: Backend) {
    let token = add_user(&db.url, "alice");
    let server = TrackerProcess::start(&db.url, &[]);
    let base = &server.base_url;
    let cases: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (http().get(format!("{base}/api/v1/events")), 401),
        (http().get(format!("{base}/api/v1/optouts")), 401),
        (
            http().post(format!("{base}/api/v1/messages")).body("{}"),
            401,
        ),
        (
            http()
                .get(format!("{base}/api/v1/events"))
                .bearer_auth("tdg_wrong"),
            401,
        ),
        (
            http()
                .get(format!("{base}/api/v1/events"))
                .header("authorization", "Basic abc"),
            401,
        ),
        (
            http()
                .get(format!("{base}/api/v1/events?after=x.y"))
                .bearer_auth(&token),
            400,
        ),
        (
            http()
                .get(format!("{base}/api/v1/events?limit=many"))
                .bearer_auth(&token),
            400,
        ),
        (
            http()
                .post(format!("{base}/api/v1/messages"))
                .bearer_auth(&token)
                .body("not json"),
            400,
        ),
        (http().post(format!("{base}/api/v1/events")), 405),
        (http().get(format!("{base}/api/v1/nothing")), 404),
    ];
    for (request, status) in cases {
        let answer = request.send().await.unwrap();
        let what = format!("{} {}", answer.url(), status);
        assert_eq!(answer.status().as_u16(), status, "{what}");
        assert_eq!(
            answer.headers()["content-type"],
            "application/json",
            "{what}"
        );
        let challenge = answer
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        if status == 401 {
            assert!(challenge.unwrap().starts_with("Bearer "), "{what}");
        } else {
            assert_eq!(challenge, None, "{what}");
        }
        let body: serde_json::Value = answer.json().await.unwrap();
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: {body}"
        );
        assert_eq!(body.as_object().unwrap().len(), 1, "{what}: {body}");
    }
}

/// PostgreSQL: a token rotated or a user removed through the CLI stops working on every
/// instance at once, even on one that just authenticated it and cached its targets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_and_removal_reach_every_instance_at_once() {
    let db = pg();
    let old = add_user(&db.url, "alice");
    let (a, b) = (
        TrackerProcess::start(&db.url, &[]),
        TrackerProcess::start(&db.url, &[]),
    );
    let reg = message("dana@example.com", &[], Duration::hours(1));
    api(&a, &old).register_message(&reg).await.unwrap();
    for server in [&a, &b] {
        let url = format!("{}/api/v1/events", server.base_url);
        assert_eq!(status_with(&url, &old).await, 200);
        assert_eq!(get_ua(&pixel_url(server, &reg), SAFARI).await.status(), 200);
    }
    assert_eq!(stats(&db.url).2, 2);
    let (code, out, _) = user_cli(&db.url, &["rotate", "alice"]);
    assert_eq!(code, Some(0));
    let new = out.lines().last().unwrap().trim().to_string();
    for server in [&a, &b] {
        let url = format!("{}/api/v1/events", server.base_url);
        assert_eq!(status_with(&url, &old).await, 401);
        assert_eq!(status_with(&url, &new).await, 200);
    }
    assert_eq!(user_cli(&db.url, &["remove", "alice"]).0, Some(0));
    for server in [&a, &b] {
        let url = format!("{}/api/v1/events", server.base_url);
        assert_eq!(status_with(&url, &new).await, 401);
        assert_eq!(get_ua(&pixel_url(server, &reg), SAFARI).await.status(), 200);
    }
    assert_eq!(stats(&db.url).2, 2, "a removed user's pixel was recorded");
}

/// PostgreSQL: an instance decides a batch of opens on the recipient's last state it read and
/// checks that state where it inserts. Once another instance saw the copy's trap link followed,
/// the first instance's next opens are decided on the new state: the scanner's is automated,
/// the person's is recorded, not dropped with the stale guess.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_changed_on_another_instance_decides_the_next_open() {
    let db = pg();
    let token = add_user(&db.url, "alice");
    let (a, b) = (
        TrackerProcess::start(&db.url, &[]),
        TrackerProcess::start(&db.url, &[]),
    );
    let alice = api(&a, &token);
    let mut reg = message("dana@example.com", &[], Duration::hours(1));
    reg.recipients[0].links.push(TrackedLink {
        token: new_tracking_token(),
        url: "https://example.com/".into(),
        trap: true,
    });
    alice.register_message(&reg).await.unwrap();
    const SCANNER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    // a reads the state (trap not followed) with its first open.
    assert_eq!(get_ua(&pixel_url(&a, &reg), SAFARI).await.status(), 200);
    assert_eq!(all_events(&alice, 1).await.len(), 1);
    assert_eq!(get_ua(&link_url(&b, &reg, 0), SCANNER).await.status(), 302);
    for ua in [SCANNER, SAFARI] {
        assert_eq!(get_ua(&pixel_url(&a, &reg), ua).await.status(), 200);
    }
    let events = all_events(&alice, 4).await;
    let opens: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Open)
        .map(|e| (e.user_agent.as_str(), e.classification))
        .collect();
    assert_eq!(
        opens,
        [
            (SAFARI, Classification::Human),
            (SCANNER, Classification::Automated),
            (SAFARI, Classification::Human),
        ],
        "{events:?}"
    );
}

/// An unreachable or misnamed PostgreSQL is explained in one line with its cause, and the
/// password in the URL is never shown.
#[test]
fn an_unreachable_postgres_is_explained_with_its_cause() {
    let closed = crate::support::smtp::free_port();
    let port = postgres::cluster().port;
    for (url, cause) in [
        (
            format!("postgres://u:s3cretpw@127.0.0.1:{closed}/x"),
            "Connection refused",
        ),
        (
            format!("postgres://postgres:s3cretpw@127.0.0.1:{port}/no_such_db"),
            "does not exist",
        ),
    ] {
        for args in [
            &["tracker", "serve", "--listen", "127.0.0.1:0", "--db", &url][..],
            &["tracker", "stats", "--db", &url],
        ] {
            let (code, _, err) = run_cli_status(args);
            assert_eq!(code, Some(1), "{args:?}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "{err}");
            assert!(err.contains(cause), "{err}");
            assert!(!err.contains("s3cretpw"), "{err}");
        }
    }
}

/// A tracker served in-process on 127.0.0.1 with short connection limits, so the hostile-client
/// tests below take a second, not the default ten.
async fn tracker_with_limits(
    limits: tidings::tracking::server::ConnectionLimits,
) -> (
    String,
    String,
    tempfile::TempDir,
    tokio::sync::oneshot::Sender<()>,
) {
    use tidings::tracking::server::{serve_with_limits, Metrics, ServerOptions};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("tracker.sqlite3").display());
    let db = tidings::tracking::server::db::open(&url).await.unwrap();
    let token = db.add_user("alice").await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_with_limits(
        listener,
        db,
        ServerOptions::default(),
        Arc::new(Metrics::default()),
        limits,
        async {
            let _ = rx.await;
        },
    ));
    (addr, token, dir, tx)
}

/// Slowloris: clients trickling a header byte at a time are cut off after the header-read
/// timeout, and the server answers everyone else meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_trickling_headers_are_cut_off_and_others_are_served() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let limits = tidings::tracking::server::ConnectionLimits {
        header_read_timeout: Duration::from_millis(800),
        request_timeout: Duration::from_secs(5),
    };
    let (addr, _token, _dir, _stop) = tracker_with_limits(limits).await;
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    let mut closed = 0;
    while started.elapsed() < Duration::from_secs(4) && closed < slow.len() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let healthz = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap();
        assert_eq!(healthz.status(), 200, "others must be served meanwhile");
        closed = 0;
        for s in &mut slow {
            // A byte a tick keeps an idle timeout happy; only a header deadline stops it.
            let _ = s.write_all(b"X").await;
            let mut buf = [0u8; 512];
            match tokio::time::timeout(Duration::from_millis(5), s.read(&mut buf)).await {
                Ok(Ok(_)) | Ok(Err(_)) => closed += 1,
                Err(_) => {}
            }
        }
    }
    assert_eq!(
        closed,
        slow.len(),
        "trickling clients still connected after 4 s"
    );
}

/// A body announced but never sent gets a 408, not a connection held for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_gets_a_408() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let limits = tidings::tracking::server::ConnectionLimits {
        header_read_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_millis(500),
    };
    // Signed in: an unknown caller is answered 401 before its body is waited for at all.
    let (addr, token, _dir, _stop) = tracker_with_limits(limits).await;
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        format!(
            "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(4), s.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
}

/// An error reason quoting the request (a cursor of kilobytes, a URL of a megabyte) is cut
/// short: a client shows it in one status line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_reasons_quoting_the_request_stay_short() {
    let (addr, token, _dir, _stop) = tracker_with_limits(Default::default()).await;
    let http = reqwest::Client::new();
    let cursor = "9".repeat(5_000);
    let events = http
        .get(format!("http://{addr}/api/v1/events?after={cursor}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 400);
    let body = events.text().await.unwrap();
    assert!(body.len() < 1000, "{} bytes of error", body.len());
    let url = format!("https://example.com/{}", "a".repeat(1_000_000));
    let registration = serde_json::json!({
        "message_id": "<m@example.com>", "sent_at": Utc::now().to_rfc3339(),
        "recipients": [{"address": "r@example.com", "token": new_tracking_token(),
                        "links": [{"token": new_tracking_token(), "url": url}]}],
    });
    let register = http
        .post(format!("http://{addr}/api/v1/messages"))
        .bearer_auth(&token)
        .json(&registration)
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 400);
    let body = register.text().await.unwrap();
    assert!(body.len() < 1000, "{} bytes of error", body.len());
    assert!(body.contains("link URL"), "{body}");
}

/// A HEAD on the pixel (a link checker, a proxy probing the URL) gets the image's headers but
/// is no open: nothing can have been shown to anyone. It is kept as automated (issue 13: every
/// request gets a verdict and a reason), so it neither counts nor notifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_on_the_pixel_is_answered_and_recorded_as_automated() {
    let (addr, token, _dir, _stop) = tracker_with_limits(Default::default()).await;
    let base = format!("http://{addr}");
    let client = TrackerClient::new(&base, &token, std::time::Duration::from_secs(20)).unwrap();
    let reg = message("dana@acme.test", &[], Duration::hours(1));
    client.register_message(&reg).await.unwrap();
    let pixel = format!("{base}/p/{}.gif", reg.recipients[0].token);
    let head = reqwest::Client::new()
        .head(&pixel)
        .header("user-agent", SAFARI)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "image/gif");
    let events = client.fetch_events(None, 100).await.unwrap().events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].classification, Classification::Automated);
    assert!(events[0].reason.contains("HEAD"), "{}", events[0].reason);
    assert_eq!(get_ua(&pixel, SAFARI).await.status(), 200);
    let events = client.fetch_events(None, 100).await.unwrap().events;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].classification, Classification::Human);
}

/// A HEAD on a tracked link is a link checker's probe: it gets the redirect a GET would get, and
/// the click is kept as automated (with that reason), so it neither counts nor notifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_on_a_link_redirects_and_is_recorded_as_automated() {
    let (addr, token, _dir, _stop) = tracker_with_limits(Default::default()).await;
    let base = format!("http://{addr}");
    let client = TrackerClient::new(&base, &token, std::time::Duration::from_secs(20)).unwrap();
    let reg = message(
        "dana@acme.test",
        &["https://example.com/offer"],
        Duration::hours(2),
    );
    client.register_message(&reg).await.unwrap();
    let link = format!("{base}/l/{}", reg.recipients[0].links[0].token);
    let head = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .head(&link)
        .header("user-agent", SAFARI)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 302);
    assert_eq!(head.headers()["location"], "https://example.com/offer");
    let events = client.fetch_events(None, 100).await.unwrap().events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].classification, Classification::Automated);
    assert!(events[0].reason.contains("HEAD"), "{:?}", events[0].reason);
}
