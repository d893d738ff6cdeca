//! Search figures (printed, not asserted): queries of the search language over 100,000 cached
//! messages in three folders, as `tidings list --search` and the TUI's `/` run them (newest
//! first, at most the TUI's 2,000 results). Run: `cargo bench --bench search` (see
//! docs/benchmarks.md).

use std::time::{Duration, Instant};
use tidings::store::{AttachmentMeta, Flags, ListQuery, NewMessage, Store};

const N: u32 = 100_000;
const NOW: i64 = 1_796_040_000;

const WORDS: &[&str] = &[
    "report", "numbers", "quarter", "region", "invoice", "meeting", "notes", "budget", "plan",
    "launch", "review", "contract", "renewal", "hiring", "roadmap", "ticket", "travel", "lunch",
    "offsite", "security", "release", "customer", "pricing", "forecast", "design", "feedback",
];
const PEOPLE: &[(&str, &str)] = &[
    ("Dana Lee", "dana@acme.test"),
    ("Sam Ortiz", "sam@globex.test"),
    ("Priya Nair", "priya@acme.test"),
    ("Billing", "billing@initech.test"),
    ("GitHub", "noreply@github.test"),
    ("Mallory Stone", "mallory@evil.test"),
    ("Conference Team", "events@confs.test"),
];

/// A deterministic word of message `i`, slot `k`.
fn word(i: u32, k: u32) -> &'static str {
    let h = i
        .wrapping_mul(2_654_435_761)
        .wrapping_add(k.wrapping_mul(40_503))
        >> 7;
    WORDS[h as usize % WORDS.len()]
}

fn seed(path: &std::path::Path) {
    let store = Store::open(path).unwrap();
    let a = store
        .ensure_account("bench", "me@example.com", None)
        .unwrap();
    let folders = [
        store
            .upsert_folder(a, "INBOX", Some("/"), Some("inbox"), true)
            .unwrap(),
        store
            .upsert_folder(a, "Archive", Some("/"), Some("archive"), true)
            .unwrap(),
        store
            .upsert_folder(a, "Sent", Some("/"), Some("sent"), true)
            .unwrap(),
    ];
    let tx = store.conn.unchecked_transaction().unwrap();
    for uid in 1..=N {
        let (name, addr) = PEOPLE[uid as usize % PEOPLE.len()];
        let body: Vec<&str> = (0..40).map(|k| word(uid, k)).collect();
        let m = NewMessage {
            uid,
            message_id: Some(format!("<{uid}@bench.test>")),
            from_name: name.into(),
            from_addr: addr.into(),
            to: "Me <me@example.com>".into(),
            cc: if uid % 5 == 0 {
                "ops@example.com".into()
            } else {
                String::new()
            },
            subject: format!("{} {} {uid}", word(uid, 100), word(uid, 101)),
            date: NOW - (N - uid) as i64 * 600,
            size: 2000,
            flags: Flags {
                seen: uid % 4 != 0,
                flagged: uid % 17 == 0,
                answered: uid % 9 == 0,
                ..Default::default()
            },
            preview: body[..10].join(" "),
            body_text: body.join(" "),
            attachments: if uid % 50 == 0 {
                vec![AttachmentMeta {
                    part: 1,
                    filename: "notes.pdf".into(),
                    mime_type: "application/pdf".into(),
                    size: 1000,
                }]
            } else {
                Vec::new()
            },
            raw: format!("Subject: {uid}\r\n\r\nbody").into_bytes(),
            ..Default::default()
        };
        store.put_message(folders[uid as usize % 3], &m).unwrap();
    }
    tx.commit().unwrap();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tidings.sqlite3");
    let t = Instant::now();
    seed(&db);
    println!(
        "seeded {N} messages (40-word bodies, 3 folders) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let store = Store::open(&db).unwrap();
    let queries = [
        "roadmap",
        "roadm",
        "\"budget plan\"",
        "from:dana",
        "from:dana@acme.test",
        "to:me cc:ops",
        "subject:invoice is:unread",
        "budget -from:billing -is:read",
        "has:attachment",
        "is:flagged folder:archive",
        "is:replied after:2026-10-01",
        "security before:2026-06 on:2026",
        "zzzz-no-such-word",
        "from:mallory subject:\"security release\" -is:read",
        "from:dana OR from:sam is:unread",
        "zzzz OR yyyy OR -folder:inbox",
    ];
    for q in queries {
        let query = ListQuery {
            search: Some(q.into()),
            limit: Some(2000),
            ..Default::default()
        };
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..7 {
            let t = Instant::now();
            n = store.list_messages(&query).unwrap().len();
            times.push(t.elapsed());
        }
        times.sort();
        let median: Duration = times[times.len() / 2];
        println!(
            "{:<52} {:>5} results  {:>7.1} ms (median of 7)",
            q,
            n,
            median.as_secs_f64() * 1e3
        );
    }
}
