//! The search language against a real store: what each term selects, and that no input —
//! random, hostile or huge — makes SQLite fail.

use super::search::*;
use super::{AttachmentMeta, Flags, ListQuery, NewMessage, Store};
use rand::{Rng, SeedableRng};
use rusqlite::ToSql;

/// 2026-12-07 12:00 UTC, a Monday; the tests run in UTC+1.
const NOW: i64 = 1_796_644_800;
const CLOCK: Clock = Clock {
    now: NOW,
    utc_offset_secs: 3600,
};

fn msg(uid: u32, from: &str, to: &str, subject: &str, body: &str, age_days: i64) -> NewMessage {
    NewMessage {
        uid,
        message_id: Some(format!("<{uid}@test>")),
        from_name: from.split('@').next().unwrap_or("").into(),
        from_addr: from.into(),
        to: to.into(),
        subject: subject.into(),
        date: NOW - age_days * 86_400,
        body_text: body.into(),
        raw: b"Subject: x\r\n\r\nbody".to_vec(),
        ..Default::default()
    }
}

fn store() -> Store {
    let s = Store::open_in_memory().unwrap();
    let a = s.ensure_account("work", "me@example.com", None).unwrap();
    let inbox = s
        .upsert_folder(a, "INBOX", Some("/"), Some("inbox"), true)
        .unwrap();
    let archive = s
        .upsert_folder(a, "Archive", Some("/"), Some("archive"), true)
        .unwrap();
    let mut m1 = msg(
        1,
        "dana@acme.test",
        "me@example.com",
        "Proposal for Q3",
        "net 30 terms attached",
        0,
    );
    m1.attachments = vec![AttachmentMeta {
        part: 1,
        filename: "q3.pdf".into(),
        mime_type: "application/pdf".into(),
        size: 10,
    }];
    s.put_message(inbox, &m1).unwrap();
    let mut m2 = msg(
        2,
        "billing@shop.test",
        "me@example.com",
        "Your invoice",
        "pay within 30 days",
        3,
    );
    m2.flags = Flags {
        seen: true,
        ..Default::default()
    };
    s.put_message(inbox, &m2).unwrap();
    let mut m3 = msg(
        3,
        "sam@acme.test",
        "ops@example.com",
        "Re: Proposal for Q3",
        "terms look fine",
        40,
    );
    m3.cc = "dana@acme.test".into();
    m3.flags = Flags {
        seen: true,
        flagged: true,
        answered: true,
        ..Default::default()
    };
    s.put_message(archive, &m3).unwrap();
    // Someone answered the first (as if the user had sent it): what is:replied finds.
    s.conn
        .execute(
            "INSERT INTO replies(account, sent_message_id, reply_message_id, replied_by, replied_at)
             VALUES ('a', '<1@test>', '<reply@test>', 'dana@acme.test', 0)",
            [],
        )
        .unwrap();
    s
}

fn subjects(s: &Store, search: &str) -> Vec<String> {
    let q = SearchQuery::parse(search);
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    let cond = q.to_sql(&CLOCK, &mut args);
    let sql = format!(
        "SELECT m.subject FROM messages m JOIN folders f ON f.id = m.folder_id
         JOIN accounts a ON a.id = f.account_id WHERE m.deleted = 0{cond} ORDER BY m.uid"
    );
    let mut st = s.conn.prepare(&sql).unwrap();
    let rows = st
        .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))
        .unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

#[test]
fn the_language_selects_what_it_says() {
    let s = store();
    let all = ["Proposal for Q3", "Your invoice", "Re: Proposal for Q3"];
    assert_eq!(subjects(&s, ""), all);
    assert_eq!(subjects(&s, "propos"), [all[0], all[2]]);
    assert_eq!(subjects(&s, "\"net 30\""), [all[0]]);
    // A phrase is exact: "net 3" is not "net 30".
    assert!(subjects(&s, "\"net 3\"").is_empty());
    assert_eq!(subjects(&s, "from:dana"), [all[0]]);
    assert_eq!(subjects(&s, "from:dana@acme.test"), [all[0]]);
    assert_eq!(subjects(&s, "-from:acme"), [all[1]]);
    assert_eq!(subjects(&s, "to:ops"), [all[2]]);
    // Dana is in Cc of the third mail, not To: to: and cc: tell them apart.
    assert!(subjects(&s, "to:dana").is_empty());
    assert_eq!(subjects(&s, "cc:dana"), [all[2]]);
    assert_eq!(subjects(&s, "subject:invoice"), [all[1]]);
    assert!(subjects(&s, "body:invoice").is_empty());
    assert_eq!(subjects(&s, "body:\"within 30\""), [all[1]]);
    assert_eq!(subjects(&s, "has:attachment"), [all[0]]);
    assert_eq!(subjects(&s, "is:unread"), [all[0]]);
    assert_eq!(subjects(&s, "is:read"), [all[1], all[2]]);
    assert_eq!(subjects(&s, "is:flagged"), [all[2]]);
    assert_eq!(subjects(&s, "is:answered"), [all[2]]);
    assert_eq!(subjects(&s, "is:replied"), [all[0]]);
    assert!(subjects(&s, "is:tracked").is_empty());
    assert_eq!(subjects(&s, "folder:archive"), [all[2]]);
    assert_eq!(subjects(&s, "folder:inbox proposal"), [all[0]]);
    assert_eq!(subjects(&s, "-folder:INBOX"), [all[2]]);
    assert_eq!(subjects(&s, "on:today"), [all[0]]);
    assert_eq!(subjects(&s, "after:7d"), [all[0], all[1]]);
    assert_eq!(subjects(&s, "before:7d"), [all[2]]);
    assert_eq!(subjects(&s, "on:2026-12-04"), [all[1]]);
    assert_eq!(subjects(&s, "after:2026-12"), [all[0], all[1]]);
    assert_eq!(subjects(&s, "before:2026-12-01"), [all[2]]);
    assert_eq!(subjects(&s, "on:2026"), all);
    assert_eq!(subjects(&s, "proposal -is:read"), [all[0]]);
    assert_eq!(subjects(&s, "-\"net 30\" -invoice"), [all[2]]);
    assert_eq!(subjects(&s, "FROM:Sam Terms"), [all[2]]);
}

#[test]
fn bad_values_are_dropped_with_a_note_and_quotes_may_stay_open() {
    let q = SearchQuery::parse("is:purple before:soon has:kittens proposal");
    assert_eq!(q.terms.len(), 1);
    assert_eq!(q.problems.len(), 3, "{:?}", q.problems);
    assert!(q.problems[0].contains("is:purple"));
    let q = SearchQuery::parse("subject:\"q3 plan");
    assert_eq!(
        q.terms,
        [Term {
            negated: false,
            condition: Condition::Text {
                field: Field::Subject,
                tokens: vec!["q3".into(), "plan".into()],
                prefix: false
            }
        }]
    );
    // An unknown key is text; a lone `-` or punctuation is nothing.
    let q = SearchQuery::parse("re:hello - ... \"\"");
    assert_eq!(q.terms.len(), 1);
    assert!(q.problems.is_empty());
    let huge = "a ".repeat(100_000);
    let q = SearchQuery::parse(&huge);
    assert_eq!(q.terms.len(), MAX_TERMS);
    assert!(!q.problems.is_empty());
}

#[test]
fn no_input_makes_sqlite_fail() {
    let s = store();
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    let alphabet: Vec<char> =
        "ab zé\"'-:*^(){}[]+.,;/\\\0\n\t%_?!NEARANDORNOTfromtoisbeforeonhas:-7d2024ü😀\u{202e}"
            .chars()
            .collect();
    let mut inputs: Vec<String> = (0..3000)
        .map(|_| {
            let len = rng.random_range(0..40);
            (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect()
        })
        .collect();
    inputs.extend(
        [
            "\"",
            "-",
            "-\"",
            "from:",
            "from:\"",
            "is:",
            "before:",
            "folder:\"",
            "*",
            "NEAR(a b)",
            "a OR b",
            "\"a\" NOT \"b\"",
            "{subject}:x",
            "^x",
            "on:99999-99-99",
            "after:-5d",
            "before:2024-02-30",
            "after:100000000y",
        ]
        .map(String::from),
    );
    inputs.push("\"".repeat(5000));
    inputs.push("from:a ".repeat(5000));
    for input in &inputs {
        let q = ListQuery {
            search: Some(input.clone()),
            ..Default::default()
        };
        if let Err(e) = s.list_messages(&q) {
            panic!("{input:?}: {e}");
        }
    }
}
