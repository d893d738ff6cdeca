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

/// Text in other scripts: one message in ten has one of these in its subject and body.
const FOREIGN: &[&str] = &[
    "会議室予約の確認 明日の会議は東京本社で行います",
    "项目进度报告 请查看附件中的项目进度报告",
    "다음 주 회의 일정 안내 회의는 화요일입니다",
    "Συνάντηση αύριο στο γραφείο",
    "Отчёт за квартал, посмотри пожалуйста",
    "Launch party 🎉 on Friday 🚀",
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
        store
            .put_message(folders[uid as usize % 3], &message(uid))
            .unwrap();
    }
    tx.commit().unwrap();
}

/// Message `uid` of the benchmark's mailbox.
fn message(uid: u32) -> NewMessage {
    {
        let (name, addr) = PEOPLE[uid as usize % PEOPLE.len()];
        let mut body: Vec<&str> = (0..40).map(|k| word(uid, k)).collect();
        let foreign = uid
            .is_multiple_of(10)
            .then(|| FOREIGN[(uid / 10) as usize % FOREIGN.len()]);
        body.extend(foreign);
        NewMessage {
            uid,
            message_id: Some(format!("<{uid}@bench.test>")),
            from_name: name.into(),
            from_addr: addr.into(),
            to: "Me <me@example.com>".into(),
            cc: if uid.is_multiple_of(5) {
                "ops@example.com".into()
            } else {
                String::new()
            },
            subject: format!(
                "{} {} {uid} {}",
                word(uid, 100),
                word(uid, 101),
                foreign.unwrap_or("")
            ),
            date: NOW - (N - uid) as i64 * 600,
            size: if uid.is_multiple_of(100) {
                5_000_000
            } else {
                2000
            },
            flags: Flags {
                seen: !uid.is_multiple_of(4),
                flagged: uid.is_multiple_of(17),
                answered: uid.is_multiple_of(9),
                ..Default::default()
            },
            preview: body[..10].join(" "),
            body_text: body.join(" "),
            attachments: if uid.is_multiple_of(50) {
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
        }
    }
}

/// Rewrites the index as a cache made before migration 0018 holds it (text as typed, CJK runs
/// whole), and marks 0018 as not applied: the next open runs it.
fn index_as_before_0018(path: &std::path::Path) {
    let store = Store::open(path).unwrap();
    let tx = store.conn.unchecked_transaction().unwrap();
    let ids: Vec<(i64, u32)> = {
        let mut st = store.conn.prepare("SELECT id, uid FROM messages").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    for (id, uid) in ids {
        let m = message(uid);
        store
            .conn
            .execute("DELETE FROM messages_fts WHERE rowid = ?1", [id])
            .unwrap();
        store
            .conn
            .execute(
                "INSERT INTO messages_fts(rowid, sender, recipients, subject, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    id,
                    format!("{} {}", m.from_name, m.from_addr),
                    format!("{} {}", m.to, m.cc),
                    m.subject,
                    m.body_text
                ],
            )
            .unwrap();
    }
    unapply_0018(&store);
    tx.commit().unwrap();
}

fn unapply_0018(store: &Store) {
    store
        .conn
        .execute("DELETE FROM schema_migrations WHERE name LIKE '0018_%'", [])
        .unwrap();
}

/// Opens the cache, timing the migration it runs.
fn timed_open(path: &std::path::Path, what: &str) -> Store {
    let t = Instant::now();
    let store = Store::open(path).unwrap();
    println!("{what}: {:.2} s", t.elapsed().as_secs_f64());
    store
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
    index_as_before_0018(&db);
    let store = timed_open(
        &db,
        "migration 0018 on an old cache (10,000 of 100,000 messages in other scripts)",
    );
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
        "予約",
        "\"会議室予約\"",
        "报告",
        "일정",
        "συναντηση",
        "отчет",
        "🎉",
        "filename:pdf",
        "larger:1M",
        "from:me",
        "(from:dana OR from:sam) has:attachment",
        "{roadmap budget} -is:read",
        "~f dana ~s invoice",
        "date:2026-01-01..2026-03-31",
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
    // Most caches have nothing the migration changes: then it only reads the index's terms.
    let foreign: Vec<i64> = {
        let mut st = store
            .conn
            .prepare("SELECT id FROM messages WHERE uid % 10 = 0")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let tx = store.conn.unchecked_transaction().unwrap();
    for id in foreign {
        store.delete_message_row(id).unwrap();
    }
    unapply_0018(&store);
    tx.commit().unwrap();
    drop(store);
    drop(timed_open(
        &db,
        "migration 0018 on a cache without other scripts (90,000 messages)",
    ));
}
