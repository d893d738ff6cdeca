//! Tracking-view figures (printed, not asserted) on a heavy user's cache: 100,000 events over
//! 2,000 tracked mails, one of them with 5,000 events, and 5,000 notifications. Times the store
//! reads behind the activity pane, the timeline and the list marks (all off the UI loop), and one
//! drawn frame of each pane (on it). Run: `cargo bench --bench activity`.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, Instant};
use tidings::app::runtime::{perform, OpsBackend};
use tidings::app::{App, Msg};
use tidings::store::{Store, TrackedMessageRecord, TrackedRecipient};
use tidings::tracking::server::classify::{Classification, EventKind};
use tidings::tracking::server::db::Event;
use tidings::ui::{keymap::Keymap, theme::Theme, Ui};

const EVENTS: i64 = 100_000;
const MAILS: i64 = 2_000;
const HOT: i64 = 5_000;
const NOW: i64 = 1_796_040_000;

fn seed(store: &mut Store) {
    for m in 0..MAILS {
        store
            .record_tracked_message(&TrackedMessageRecord {
                account: "work".into(),
                message_id: format!("<m{m}@bench.test>"),
                subject: format!("Proposal number {m}"),
                sent_at: NOW - 86_400,
                track_opens: true,
                track_links: true,
                recipients: (0..3)
                    .map(|r| TrackedRecipient {
                        address: format!("r{r}@acme.test"),
                        name: format!("Recipient {r}"),
                    })
                    .collect(),
            })
            .unwrap();
    }
    let events: Vec<Event> = (0..EVENTS)
        .map(|i| {
            // The first HOT events belong to mail 0, the rest spread over the others.
            let mail = if i < HOT { 0 } else { 1 + i % (MAILS - 1) };
            let kind = if i % 5 == 0 {
                EventKind::Click
            } else {
                EventKind::Open
            };
            Event {
                id: i + 1,
                kind,
                message_id: format!("<m{mail}@bench.test>"),
                recipient: format!("r{}@acme.test", i % 3),
                url: (kind == EventKind::Click).then(|| format!("https://acme.test/{}", i % 4)),
                at: chrono::DateTime::from_timestamp(NOW - EVENTS + i, 0).unwrap(),
                user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into(),
                ip: None,
                classification: if i % 7 == 0 {
                    Classification::Automated
                } else {
                    Classification::Human
                },
                reason: String::new(),
                confidence: Default::default(),
                client: String::new(),
                reclassified: Vec::new(),
            }
        })
        .collect();
    for page in events.chunks(1000) {
        store
            .store_events_and_cursor("work", page, &page[page.len() - 1].id.to_string())
            .unwrap();
    }
    for e in events.iter().rev().take(5_000) {
        store
            .add_notification(
                "work",
                Some(e.id),
                e.at.timestamp(),
                e.kind,
                "x opened",
                "",
                &e.message_id,
            )
            .unwrap();
    }
}

fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed());
    }
    println!(
        "{label:<58} {:>9.2} ms (best of {runs})",
        best.as_secs_f64() * 1e3
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("ACTIVITY_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.sqlite3"));
    let mut store = Store::open(&path).unwrap();
    let t = Instant::now();
    seed(&mut store);
    println!(
        "seeded {EVENTS} events, {MAILS} tracked mails, 5000 notifications in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    time(
        "activity feed: newest 200 events with names/subjects",
        5,
        || store.activity_feed(200).unwrap(),
    );
    time(
        "timeline of a mail with 5,000 events (summary + 500)",
        5,
        || {
            store
                .message_timeline("work", "<m0@bench.test>", 500)
                .unwrap()
        },
    );
    time("timeline of a mail with ~50 events", 5, || {
        store
            .message_timeline("work", "<m7@bench.test>", 500)
            .unwrap()
    });
    time("list marks of every tracked mail (one account)", 5, || {
        store.tracking_marks("work").unwrap()
    });
    let page: Vec<String> = (0..200).map(|m| format!("<m{m}@bench.test>")).collect();
    let page: Vec<&str> = page.iter().map(String::as_str).collect();
    time("list marks of a 200-row page (by Message-ID)", 5, || {
        store.tracking_marks_of("work", &page).unwrap()
    });
    time("read the feed and mark 5,000 notifications read", 1, || {
        store.read_activity_feed(200).unwrap()
    });

    // Frames: the app with the pane open, drawn on a 160×50 TestBackend.
    let backend = OpsBackend::local_only();
    let mut app = App::new(false);
    app.now = NOW;
    let mut ui = Ui::new(Theme::default(), Keymap::default(), false);
    let mut term = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let run = |app: &mut App, msg: Msg| {
        let mut queue = app.update(msg);
        while let Some(e) = queue.pop() {
            for m in perform(&store, &backend, e) {
                queue.extend(app.update(m));
            }
        }
    };
    run(&mut app, Msg::Action(tidings::app::Action::Activity));
    time("frame: activity pane (200 rows, 48 drawn)", 20, || {
        term.draw(|f| ui.draw(f, &mut app)).unwrap();
    });
    run(&mut app, Msg::Action(tidings::app::Action::Activity));
    app.tracking.timeline = Some(tidings::app::timeline::TimelineView::new(
        "work",
        "<m0@bench.test>",
        "",
    ));
    app.focus = tidings::app::Pane::Reader;
    run(
        &mut app,
        Msg::Activity(tidings::app::activity::ActivityMsg::Polled {
            new_events: 1,
            notifications: 0,
        }),
    );
    time("frame: timeline pane (500 events)", 20, || {
        term.draw(|f| ui.draw(f, &mut app)).unwrap();
    });
}
