//! The search language against a real store: what each term selects, and that no input —
//! random, hostile or huge — makes SQLite fail.

use super::search::*;
use super::{AttachmentMeta, Flags, ListQuery, NewMessage, Store};
use rand::{Rng, SeedableRng};
use rusqlite::ToSql;

/// 2026-12-07 12:00 UTC, a Monday; the tests run in UTC+1.
pub(super) const NOW: i64 = 1_796_644_800;
pub(super) const CLOCK: Clock = Clock {
    now: NOW,
    utc_offset_secs: 3600,
    offset_at: None,
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
    // Gmail's spellings.
    assert_eq!(subjects(&s, "older_than:7d"), [all[2]]);
    assert_eq!(subjects(&s, "NEWER_THAN:7d"), [all[0], all[1]]);
    assert_eq!(subjects(&s, "label:archive"), [all[2]]);
    assert_eq!(subjects(&s, "in:Archive OR label:inbox"), all);
}

#[test]
fn bad_values_are_dropped_with_a_note_and_quotes_may_stay_open() {
    let q = SearchQuery::parse("is:purple before:soon has:kittens proposal");
    assert_eq!(q.terms.len(), 1);
    assert_eq!(q.problems.len(), 3, "{:?}", q.problems);
    assert!(q.problems[0].contains("is:purple"));
    // What has: does take, not a list from before has:pdf and has:image.
    assert!(
        q.problems[2].contains("attachment, pdf or image"),
        "{:?}",
        q.problems
    );
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
        "ab zé\"'-:*^(){}[]+.,;/\\\0\n\t%_?!~|NEARANDORNOTfromtoisbeforeonhas:-7d2024ü😀会議\u{202e} OR OR -f ~s date:.. larger:"
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
            "OR",
            "a OR",
            "OR OR OR",
            "((a OR (b",
            "-(a OR b))",
            "a OR -b OR to:c OR cc:\u{e9}",
            ")(",
            "folder:(",
        ]
        .map(String::from),
    );
    inputs.push("\"".repeat(5000));
    inputs.push(format!("{}a", "(".repeat(2000)));
    inputs.push("-{a (b OR ".repeat(500));
    inputs.push("~f ".repeat(2000));
    inputs.push("NOT ".repeat(2000));
    inputs.push("会".repeat(5000));
    inputs.push("🎉".repeat(5000));
    inputs.push("from:a ".repeat(5000));
    inputs.push("to:\u{e9} OR ".repeat(5000));
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

#[test]
fn or_between_terms_matches_either_and_binds_tighter_than_and() {
    let s = store();
    let all = ["Proposal for Q3", "Your invoice", "Re: Proposal for Q3"];
    assert_eq!(subjects(&s, "from:dana OR from:billing"), [all[0], all[1]]);
    assert_eq!(
        subjects(&s, "from:dana OR from:billing OR folder:archive"),
        all
    );
    // Gmail's reading: (dana or billing) and read.
    assert_eq!(subjects(&s, "from:dana OR from:billing is:read"), [all[1]]);
    assert_eq!(subjects(&s, "is:read from:dana OR from:billing"), [all[1]]);
    assert_eq!(
        subjects(&s, "(from:dana OR from:billing) is:read"),
        [all[1]]
    );
    assert_eq!(subjects(&s, "invoice OR \"net 30\""), [all[0], all[1]]);
    assert_eq!(subjects(&s, "-is:read OR is:flagged"), [all[0], all[2]]);
    assert_eq!(subjects(&s, "to:ops OR cc:dana"), [all[2]]);
    assert_eq!(
        subjects(&s, "on:today OR before:2026-12-01"),
        [all[0], all[2]]
    );
    // Not the operator: lower case, first, last or doubled, it is the word "or".
    let q = SearchQuery::parse("dana or sam");
    assert_eq!(q.terms.len(), 3);
    for input in ["OR dana", "dana OR OR sam"] {
        let q = SearchQuery::parse(input);
        let terms = format!("{:?}", q.terms);
        assert!(terms.contains("tokens: [\"OR\"]"), "{input}: {terms}");
    }
    // A last OR is the next term being typed: the results stay.
    assert_eq!(subjects(&s, "from:dana OR"), [all[0]]);
    // A term dropped for a bad value leaves no dangling OR.
    assert_eq!(
        subjects(&s, "from:dana OR is:purple invoice"),
        Vec::<String>::new()
    );
    // Parentheses that belong to a folder name stay.
    let q = SearchQuery::parse("folder:Projects(old) (folder:x)");
    assert_eq!(
        q.terms.iter().map(|t| &t.condition).collect::<Vec<_>>(),
        [
            &Condition::Folder("Projects(old)".into()),
            &Condition::Folder("x".into())
        ]
    );
}

fn people_store() -> Store {
    let s = Store::open_in_memory().unwrap();
    let a = s.ensure_account("work", "me@example.com", None).unwrap();
    let inbox = s
        .upsert_folder(a, "INBOX", Some("/"), Some("inbox"), true)
        .unwrap();
    s.put_message(
        inbox,
        &msg(
            1,
            "o.brien@acme.test",
            "Zoë Núñez <z@x.test>",
            "Straße e-mail from O'Brien",
            "Привет мир, 会議 🎉",
            0,
        ),
    )
    .unwrap();
    let mut m2 = msg(2, "lee@shop.test", "me@example.com", "Hello", "nothing", 1);
    m2.cc = "ZOË ÅSTRÖM <zz@y.test>".into();
    s.put_message(inbox, &m2).unwrap();
    s
}

#[test]
fn to_and_cc_fold_case_and_accents_as_the_index_does() {
    let s = people_store();
    assert_eq!(subjects(&s, "to:zoe"), ["Straße e-mail from O'Brien"]);
    assert_eq!(subjects(&s, "to:ZOË"), ["Straße e-mail from O'Brien"]);
    assert_eq!(subjects(&s, "to:nunez"), ["Straße e-mail from O'Brien"]);
    assert_eq!(subjects(&s, "cc:zoë"), ["Hello"]);
    assert_eq!(subjects(&s, "cc:astrom"), ["Hello"]);
    assert_eq!(subjects(&s, "-cc:zoe"), ["Straße e-mail from O'Brien"]);
}

#[test]
fn words_with_apostrophes_hyphens_and_other_scripts_are_found() {
    let s = people_store();
    let first = ["Straße e-mail from O'Brien"];
    for q in [
        "o'brien",
        "O'BRIEN",
        "e-mail",
        "\"e-mail from\"",
        "straße",
        "STRASSE OR straße",
        "привет",
        "ПРИВЕТ",
        "会議",
        "from:o.brien@acme.test",
        "from:acme.test",
        "subject:\"from o'brien\"",
        "🎉",
    ] {
        assert_eq!(subjects(&s, q), first, "{q}");
    }
    // Only symbols: nothing matches (not everything), and the user is told.
    for q in ["***", "\"(){}^\"", "::", "—"] {
        let parsed = SearchQuery::parse(q);
        assert!(parsed.unsearchable, "{q}");
        assert!(!parsed.problems.is_empty(), "{q}");
        assert!(subjects(&s, q).is_empty(), "{q}");
    }
    // A dash being typed is not a search yet.
    for q in ["-", "--", "-\"", "(", ""] {
        assert_eq!(subjects(&s, q).len(), 2, "{q}");
    }
}

#[test]
fn calendar_days_start_at_their_own_midnight_across_daylight_saving() {
    // Central Europe: UTC+1 now (December), UTC+2 from the last Sunday of March.
    fn cet(t: chrono::NaiveDateTime) -> Option<i32> {
        use chrono::Datelike;
        Some(if (4..=9).contains(&t.month()) {
            7200
        } else {
            3600
        })
    }
    let clock = Clock {
        offset_at: Some(cet),
        ..CLOCK
    };
    let s = Store::open_in_memory().unwrap();
    let a = s.ensure_account("work", "me@example.com", None).unwrap();
    let inbox = s
        .upsert_folder(a, "INBOX", Some("/"), Some("inbox"), true)
        .unwrap();
    // 2026-07-01 00:30 local summer time is 2026-06-30 22:30 UTC.
    let mut m = msg(1, "dana@acme.test", "me@example.com", "July", "x", 0);
    m.date = 1_782_858_600;
    s.put_message(inbox, &m).unwrap();
    let found = |search: &str| {
        let q = SearchQuery::parse(search);
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        let cond = q.to_sql(&clock, &mut args);
        let sql = format!(
            "SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id
             JOIN accounts a ON a.id = f.account_id WHERE 1{cond}"
        );
        s.conn
            .query_row(&sql, rusqlite::params_from_iter(args.iter()), |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
    };
    assert_eq!(found("on:2026-07-01"), 1);
    assert_eq!(found("on:2026-07"), 1);
    assert_eq!(found("on:2026-06-30"), 0);
    assert_eq!(found("after:2026-07-01"), 1);
    assert_eq!(found("before:2026-07-01"), 0);
}

#[test]
fn a_negated_term_keeps_mail_it_knows_nothing_about() {
    let s = store();
    let a = s.ensure_account("work", "me@example.com", None).unwrap();
    let projects = s
        .upsert_folder(a, "Old Projects", Some("/"), None, true)
        .unwrap();
    let mut m = msg(9, "lee@globex.test", "me@example.com", "Plan", "x", 1);
    m.message_id = None;
    s.put_message(projects, &m).unwrap();
    // A folder without a role, a message without a Message-ID: not Sent, not tracked.
    assert!(subjects(&s, "-folder:sent").contains(&"Plan".to_string()));
    assert!(subjects(&s, "-in:inbox -is:tracked -is:replied").contains(&"Plan".to_string()));
    assert_eq!(subjects(&s, "-folder:inbox -folder:archive"), ["Plan"]);
}

mod outsiders;

/// A cache indexed before text went through `index_text`: migration 0018 re-indexes the mail
/// with CJK, Greek or ё terms from the index's own terms, and leaves the rest as it was.
#[test]
fn migration_0018_makes_words_inside_cjk_runs_findable_in_an_old_cache() {
    let s = people_store();
    let a = s.ensure_account("work", "me@example.com", None).unwrap();
    let inbox = s
        .upsert_folder(a, "INBOX", Some("/"), Some("inbox"), true)
        .unwrap();
    let mut m = msg(
        3,
        "田中 <tanaka@x.test>",
        "me@example.com",
        "会議室予約の確認",
        "明日の会議は東京本社で。Συνάντηση αύριο, отчёт",
        2,
    );
    m.from_name = "田中".into();
    s.put_message(inbox, &m).unwrap();
    // A message deleted since: its terms must not come back.
    let mut gone = msg(4, "x@x.test", "me@example.com", "東京タワー", "x", 2);
    gone.message_id = None;
    s.put_message(inbox, &gone).unwrap();
    let gone_id = s.message_row(inbox, 4).unwrap().unwrap();
    s.delete_message_row(gone_id).unwrap();
    // Index every row as before 0018: the raw text, headers and bodies as stored.
    let rows: Vec<(i64, String, String, String, String)> = {
        let mut st = s
            .conn
            .prepare(
                "SELECT id, from_name || ' ' || from_addr, to_addrs || ' ' || cc_addrs, subject, uid
                 FROM messages",
            )
            .unwrap();
        st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, u32>(4)?.to_string(),
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    };
    for (id, sender, recipients, subject, uid) in rows {
        let body = match uid.as_str() {
            "1" => "Привет мир, 会議 🎉",
            "3" => m.body_text.as_str(),
            _ => "nothing",
        };
        s.conn
            .execute("DELETE FROM messages_fts WHERE rowid = ?1", [id])
            .unwrap();
        s.conn
            .execute(
                "INSERT INTO messages_fts(rowid, sender, recipients, subject, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![id, sender, recipients, subject, body],
            )
            .unwrap();
    }
    assert!(
        subjects(&s, "予約").is_empty(),
        "an old index finds runs by their start"
    );
    let (_, sql) = super::schema::MIGRATIONS
        .iter()
        .find(|(name, _)| name.starts_with("0018_"))
        .unwrap();
    s.conn.execute_batch(sql).unwrap();
    let cjk = ["会議室予約の確認"];
    for q in [
        "予約",
        "会議室",
        "\"会議室予約\"",
        "東京",
        "本社",
        "from:田中",
        "συναντηση",
        "αυριο",
        "отчет",
        "\"東京本社\"",
        "subject:確認",
    ] {
        assert_eq!(subjects(&s, q), cjk, "{q}");
    }
    // What did not change is found as before, phrases included.
    assert_eq!(
        subjects(&s, "\"e-mail from o'brien\""),
        ["Straße e-mail from O'Brien"]
    );
    assert_eq!(subjects(&s, "привет мир"), ["Straße e-mail from O'Brien"]);
    assert_eq!(subjects(&s, "strasse"), ["Straße e-mail from O'Brien"]);
    assert_eq!(subjects(&s, "to:zoe"), ["Straße e-mail from O'Brien"]);
    assert_eq!(subjects(&s, "nothing"), ["Hello"]);
    assert!(subjects(&s, "タワー").is_empty());
    let rows: i64 = s
        .conn
        .query_row("SELECT count(*) FROM messages_fts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3);
}
