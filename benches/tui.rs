//! TUI figures (printed, not asserted): one frame of the message list with 100,000 messages in
//! memory, time from start to the first drawn frame with 100,000 cached messages, the full load
//! into memory, and resident memory. Run: `cargo bench --bench tui` (see docs/benchmarks.md).

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, Instant};
use tidings::app::runtime::{perform, OpsBackend};
use tidings::app::{Action, App, Effect, Msg, Row};
use tidings::store::{Flags, NewMessage, Store};
use tidings::ui::{keymap::Keymap, theme::Theme, Ui};

const N: u32 = 100_000;
const NOW: i64 = 1_796_040_000;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn seed(path: &std::path::Path, n: u32) {
    let store = Store::open(path).unwrap();
    let a = store
        .ensure_account("bench", "me@example.com", None)
        .unwrap();
    let inbox = store
        .upsert_folder(a, "INBOX", Some("/"), Some("inbox"), true)
        .unwrap();
    store
        .upsert_folder(a, "Archive", Some("/"), Some("archive"), true)
        .unwrap();
    let names = ["Dana Lee", "Sam Ortiz", "Priya Nair", "Billing", "GitHub"];
    let tx = store.conn.unchecked_transaction().unwrap();
    for uid in 1..=n {
        let name = names[uid as usize % names.len()];
        let m = NewMessage {
            uid,
            message_id: Some(format!("<{uid}@bench.test>")),
            in_reply_to: (uid % 3 == 0).then(|| format!("<{}@bench.test>", uid - 1)),
            from_name: name.into(),
            from_addr: format!("{}@acme.test", name.to_lowercase().replace(' ', ".")),
            to: "Me <me@example.com>".into(),
            // Some replies and varied sizes, for the sort figures.
            subject: format!(
                "{}Quarterly report number {uid} and the numbers behind it",
                if uid % 3 == 0 { "Re: " } else { "" }
            ),
            date: NOW - (n - uid) as i64 * 60,
            size: 1000 + u64::from(uid.wrapping_mul(7919) % 50_000),
            flags: Flags {
                seen: uid % 4 != 0,
                flagged: uid % 17 == 0,
                ..Default::default()
            },
            preview: "Hi, here are the numbers for this quarter, with the breakdown by region and \
                      the notes from the call."
                .into(),
            body_text: format!("Hi, here are the numbers for report {uid}."),
            raw: format!("Subject: report {uid}\r\n\r\nbody").into_bytes(),
            ..Default::default()
        };
        store.put_message(inbox, &m).unwrap();
    }
    tx.commit().unwrap();
}

/// Runs effects to completion (each Store read as the runtime would do it off the UI loop).
fn pump(store: &Store, app: &mut App, effects: Vec<Effect>) {
    let mut queue: std::collections::VecDeque<Effect> = effects.into();
    while let Some(e) = queue.pop_front() {
        for m in perform(store, &OpsBackend::local_only(), e) {
            queue.extend(app.update(m));
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tidings.sqlite3");
    let t = Instant::now();
    seed(&db, N);
    println!("seeded {N} messages in {:.1} s", t.elapsed().as_secs_f64());
    let rss_before = rss_mb();

    // Start to first frame: open the cache, list folders, read the first page, draw.
    let start = Instant::now();
    let store = Store::open(&db).unwrap();
    let mut app = App::new(false);
    app.now = NOW;
    let mut ui = Ui::new(Theme::default(), Keymap::default(), true);
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let first = app.start();
    // Only the folders and the first page: the rest streams in after the first frame.
    for e in first {
        for m in perform(&store, &OpsBackend::local_only(), e) {
            for e2 in app.update(m) {
                if let Effect::LoadMessages {
                    generation, query, ..
                } = e2
                {
                    let q = tidings::store::ListQuery {
                        limit: Some(tidings::app::runtime::FIRST_PAGE),
                        ..query
                    };
                    let rows = store
                        .list_messages(&q)
                        .map(|m| m.into_iter().map(Row::new).collect())
                        .map_err(|e| e.to_string());
                    app.update(Msg::MessagesLoaded {
                        generation,
                        rows,
                        complete: false,
                    });
                }
            }
        }
    }
    term.draw(|f| ui.draw(f, &mut app)).unwrap();
    let first_frame = start.elapsed();
    println!(
        "start to first frame ({} rows shown of {N} cached): {:.1} ms",
        app.list.rows.len(),
        first_frame.as_secs_f64() * 1e3
    );

    // The whole folder into memory (happens in the background after the first frame).
    let t = Instant::now();
    let fx = app.reload(false);
    pump(&store, &mut app, fx);
    println!(
        "full load of {} summaries into memory: {:.0} ms",
        app.list.rows.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let rss = rss_mb();
    println!(
        "resident memory with {} rows loaded: {rss:.0} MB (before the load: {rss_before:.0} MB)",
        app.list.rows.len()
    );

    // Frame time: scroll through the list, including deep in it.
    for (label, jump) in [("top", 0usize), ("middle", 50_000), ("end", 99_000)] {
        app.list.cursor = jump;
        frame_time(&mut app, &mut ui, &mut term, label);
    }
    let t = Instant::now();
    let fx = app.update(Msg::Action(Action::ToggleThreads));
    let on_ui = t.elapsed();
    pump(&store, &mut app, fx);
    println!(
        "toggling the thread view on {} rows: {:.1} ms on the UI loop, {:.0} ms until regrouped \
         (reload and grouping run off the UI loop)",
        app.list.rows.len(),
        on_ui.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );

    sort_figures(&store, &mut app);

    // Collapsing runs on the UI loop: every conversation, one, and back.
    for (what, action) in [
        ("collapsing every conversation", Action::CollapseAll),
        ("expanding every conversation", Action::CollapseAll),
        (
            "collapsing the conversation under the cursor",
            Action::CollapseThread,
        ),
    ] {
        let t = Instant::now();
        app.update(Msg::Action(action));
        println!(
            "{what} of {} messages: {:.1} ms on the UI loop ({} rows shown)",
            app.list.all_rows().count(),
            t.elapsed().as_secs_f64() * 1e3,
            app.list.rows.len()
        );
    }
    frame_time(&mut app, &mut ui, &mut term, "middle, collapsed");

    // The same frame with 100 messages, for comparison.
    app.list.rows.truncate(100);
    app.list.cursor = 0;
    frame_time(&mut app, &mut ui, &mut term, "top");
}

/// Each sort order on the whole folder: the sort alone (keys derived once per row), and from the
/// key press to the re-sorted list (the reload and the sort run off the UI loop), cursor kept.
fn sort_figures(store: &Store, app: &mut App) {
    use tidings::app::sort::{arrange, ListSort, SortKey};
    for threads in [false, true] {
        if app.list.threads != threads {
            let fx = app.update(Msg::Action(Action::ToggleThreads));
            pump(store, app, fx);
        }
        for key in SortKey::ALL {
            let sort = ListSort {
                key,
                reverse: false,
            };
            let mut rows = app.list.rows.clone();
            let t = Instant::now();
            arrange(&mut rows, threads, sort);
            let alone = t.elapsed();
            app.list.cursor = 50_000;
            let id = app.selected_row().map(|r| r.msg.id);
            let t = Instant::now();
            let fx = app.update(Msg::SortBy { key, reverse: true });
            let on_ui = t.elapsed();
            pump(store, app, fx);
            assert_eq!(app.selected_row().map(|r| r.msg.id), id, "cursor kept");
            println!(
                "sort by {} ({}) of {} rows: {:.0} ms to sort, {:.1} ms on the UI loop, {:.0} ms \
                 until the sorted list shows",
                key.name(),
                if threads { "threads" } else { "flat" },
                rows.len(),
                alone.as_secs_f64() * 1e3,
                on_ui.as_secs_f64() * 1e3,
                t.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    let fx = app.update(Msg::SortBy {
        key: SortKey::Date,
        reverse: false,
    });
    pump(store, app, fx);
}

/// Mean time of one frame while the cursor moves down a line per frame.
fn frame_time(app: &mut App, ui: &mut Ui, term: &mut Terminal<TestBackend>, label: &str) {
    let frames = 300;
    let mut total = Duration::ZERO;
    for _ in 0..frames {
        app.update(Msg::Action(Action::Down));
        let t = Instant::now();
        term.draw(|f| ui.draw(f, app)).unwrap();
        total += t.elapsed();
    }
    println!(
        "one frame, 160x48, list of {} at {label}: {:.3} ms (mean of {frames})",
        app.list.rows.len(),
        total.as_secs_f64() * 1e3 / frames as f64
    );
}
