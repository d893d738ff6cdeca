//! The searches people really type — Gmail's operators, notmuch's terms, mutt's patterns, aerc's
//! flags, Thunderbird habits — over a small mailbox in many scripts, each with the mail a person
//! expects. Every failing query is listed, with the score, before the test fails.

use super::super::search::*;
use super::super::{AttachmentMeta, Flags, NewMessage, Store};
use super::{CLOCK, NOW};
use rusqlite::ToSql;

struct Mail {
    uid: u32,
    folder: usize,
    from: &'static str,
    to: &'static str,
    cc: &'static str,
    subject: &'static str,
    body: &'static str,
    age_days: i64,
    seen: bool,
    flagged: bool,
    answered: bool,
    size: u64,
    attachment: Option<(&'static str, &'static str)>,
}

const FOLDERS: &[(&str, Option<&str>)] = &[
    ("INBOX", Some("inbox")),
    ("Archive", Some("archive")),
    ("Sent", Some("sent")),
    ("Trash", Some("trash")),
    ("Junk", Some("junk")),
    ("Projects/2024", None),
];

const ME: &str = "me@example.com";

fn mails() -> Vec<Mail> {
    let m = |uid, folder, from, subject, body, age_days| Mail {
        uid,
        folder,
        from,
        to: ME,
        cc: "",
        subject,
        body,
        age_days,
        seen: true,
        flagged: false,
        answered: false,
        size: 4_000,
        attachment: None,
    };
    vec![
        Mail {
            seen: false,
            size: 150_000,
            attachment: Some(("resume.pdf", "application/pdf")),
            ..m(1, 0, "José Álvarez <jose.alvarez@acme.test>", "Café meeting — résumé attached",
                "Let's meet at the café on Friday. Résumé in the PDF.", 0)
        },
        m(2, 0, "Дмитрий Иванов <dmitry@yandex.test>", "Отчёт за квартал",
            "Привет! Посмотри отчёт, пожалуйста.", 2),
        Mail {
            flagged: true,
            ..m(3, 0, "Γιώργος Παπαδόπουλος <giorgos@example.gr>", "Συνάντηση αύριο",
                "Καλημέρα, η συνάντηση είναι αύριο.", 5)
        },
        Mail {
            seen: false,
            size: 2_100_000,
            attachment: Some(("資料.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            ..m(4, 0, "田中太郎 <tanaka@example.jp>", "会議室予約の確認",
                "明日の会議は東京本社で行います。ｉＰｈｏｎｅ持参、２０２６年。ジョン・スミスさん、人々", 1)
        },
        m(5, 0, "王小明 <wang@example.cn>", "项目进度报告", "请查看附件中的项目进度报告。谢谢 Rust入门 Rust入門書", 10),
        m(6, 0, "김민수 <minsu@example.kr>", "회의 일정 안내", "다음 주 회의는 화요일입니다", 20),
        m(7, 0, "Sam O'Brien <sam.obrien+newsletter@globex.test>", "🎉 Launch party! 🚀",
            "Join us for the launch 🎉 of node.js tooling and C++ bindings. RSVP at https://globex.test/party?id=42", 3),
        Mail {
            cc: "ops@example.com",
            answered: true,
            ..m(8, 1, "Dana Lee <dana.lee@acme.test>", "Re: Q3 proposal",
                "Please re-send the e-mail with the net 30 terms. Rock AND roll.", 40)
        },
        Mail {
            to: "Dana Lee <dana.lee@acme.test>",
            size: 35_000,
            attachment: Some(("proposal-v2.docx", "application/msword")),
            ..m(9, 2, "Me <me@example.com>", "Q3 proposal",
                "Here is the proposal. Looking forward to your feedback.", 41)
        },
        m(10, 3, "billing@shop.test", "Your invoice #1234", "Invoice total 99.90 EUR", 4),
        Mail {
            seen: false,
            ..m(11, 4, "prince@scam.test", "URGENT: you won $1,000,000", "Send your bank details", 2)
        },
        Mail {
            to: "me+projects@example.com",
            size: 3_600_000,
            attachment: Some(("mockup.png", "image/png")),
            ..m(12, 5, "Zoë Núñez <zoe@design.test>", "Mockups v2",
                "The new mockups are in the Figma file. Naïve approach?", 200)
        },
        m(13, 0, "GitHub <noreply@github.test>", "[tidings] Fix SQL injection in search (#42)",
            "SELECT * FROM users WHERE name = 'x' OR 1=1; -- NEAR \"quoted\" ^start {col}: value", 6),
        Mail {
            to: "team@example.com",
            cc: "me@example.com",
            seen: false,
            ..m(14, 0, "Bob <bob@example.com>", "Lunch?", "Anyone up for ramen? 🍜 Straße, Łódź, Øresund", 0)
        },
        // 2025-12-31 12:00 UTC.
        m(15, 1, "Ana María Pérez <ana.perez@universidad.test>", "Año nuevo",
            "¡Feliz año nuevo! Nos vemos en enero.", (NOW - 1_767_182_400) / 86_400),
        m(16, 1, "Newsletter <news@list.test>", "Weekly digest", "Top stories this week", 400),
    ]
}

fn outsider_store() -> Store {
    let s = Store::open_in_memory().unwrap();
    let a = s.ensure_account("work", ME, Some("Me")).unwrap();
    let folders: Vec<i64> = FOLDERS
        .iter()
        .map(|(name, role)| s.upsert_folder(a, name, Some("/"), *role, true).unwrap())
        .collect();
    for m in mails() {
        let (from_name, from_addr) = match m.from.split_once(" <") {
            Some((name, addr)) => (name.to_string(), addr.trim_end_matches('>').to_string()),
            None => (String::new(), m.from.to_string()),
        };
        let date = if m.uid == 15 {
            1_767_182_400
        } else {
            NOW - m.age_days * 86_400
        };
        let new = NewMessage {
            uid: m.uid,
            message_id: Some(if m.uid == 8 {
                "<CAF+q3.proposal@mail.acme.test>".into()
            } else {
                format!("<{}@test>", m.uid)
            }),
            from_name,
            from_addr,
            to: m.to.into(),
            cc: m.cc.into(),
            subject: m.subject.into(),
            date,
            size: m.size,
            flags: Flags {
                seen: m.seen,
                flagged: m.flagged,
                answered: m.answered,
                ..Default::default()
            },
            attachments: m
                .attachment
                .map(|(filename, mime_type)| AttachmentMeta {
                    part: 2,
                    filename: filename.into(),
                    mime_type: mime_type.into(),
                    size: m.size / 2,
                })
                .into_iter()
                .collect(),
            body_text: m.body.into(),
            raw: b"Subject: x\r\n\r\nbody".to_vec(),
            ..Default::default()
        };
        s.put_message(folders[m.folder], &new).unwrap();
    }
    s
}

/// The UIDs a search finds, as a listing across folders runs it.
fn uids(s: &Store, search: &str) -> Result<Vec<u32>, String> {
    let q = SearchQuery::parse(search);
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    let mut cond = String::new();
    if !q.names_a_folder() {
        cond.push_str(crate::store::messages::ACROSS_FOLDERS_SQL);
    }
    cond.push_str(&q.to_sql(&CLOCK, &mut args));
    let sql = format!(
        "SELECT m.uid FROM messages m JOIN folders f ON f.id = m.folder_id
         JOIN accounts a ON a.id = f.account_id WHERE m.deleted = 0{cond} ORDER BY m.uid"
    );
    let mut st = s.conn.prepare(&sql).map_err(|e| e.to_string())?;
    let rows = st
        .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))
        .map_err(|e| e.to_string())?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|e| e.to_string())
}

/// Every message a search that names no folder may find (Trash and Junk are 10 and 11).
const ALL: &[u32] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16];

fn all_but(out: &[u32]) -> Vec<u32> {
    ALL.iter().copied().filter(|u| !out.contains(u)).collect()
}

fn queries() -> Vec<(String, Vec<u32>)> {
    let unread = vec![1, 4, 14];
    let read = all_but(&unread);
    let mut q: Vec<(String, Vec<u32>)> = [
        // Gmail: people and addresses.
        ("from:jose", &[1][..]),
        ("from:josé", &[1]),
        ("from:\"José Álvarez\"", &[1]),
        ("from:jose.alvarez@acme.test", &[1]),
        ("from:acme.test", &[1, 8]),
        ("from:@acme.test", &[1, 8]),
        ("to:me", &[1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 15, 16]),
        ("from:me", &[9]),
        ("from:me to:dana", &[9]),
        ("to:dana", &[9]),
        ("cc:me", &[14]),
        ("cc:ops@example.com", &[8]),
        ("cc:ops", &[8]),
        ("from:(dana OR zoe)", &[8, 12]),
        ("from:sam.obrien+newsletter@globex.test", &[7]),
        ("from:sam.obrien@globex.test", &[7]),
        ("to:me+projects@example.com", &[12]),
        ("ana.perez@universidad.test", &[15]),
        ("from:ana", &[15]),
        ("from:perez", &[15]),
        ("from:maria", &[15]),
        ("from:Ana María", &[15]),
        ("from:田中", &[4]),
        ("from:prince", &[]),
        // Subject and words.
        ("subject:proposal", &[8, 9]),
        ("subject:\"q3 proposal\"", &[8, 9]),
        ("subject:(q3 proposal)", &[8, 9]),
        ("subject:(dinner movie)", &[]),
        ("subject:(proposal OR lunch)", &[8, 9, 14]),
        ("subject:año", &[15]),
        ("proposal", &[8, 9]),
        ("propos", &[8, 9]),
        ("propos*", &[8, 9]),
        ("\"net 30\"", &[8]),
        ("\"net 3\"", &[]),
        ("Re: Q3 proposal", &[8]),
        ("\"Re: Q3 proposal\"", &[8]),
        ("weekly digest", &[16]),
        ("digest", &[16]),
        ("figma", &[12]),
        ("mockup", &[12]),
        ("lunch?", &[14]),
        ("ramen OR ramen", &[14]),
        ("+ramen", &[14]),
        // Attachments and sizes.
        ("has:attachment", &[1, 4, 9, 12]),
        ("has:attachments", &[1, 4, 9, 12]),
        ("filename:pdf", &[1]),
        ("filename:resume.pdf", &[1]),
        ("filename:docx", &[9]),
        ("filename:資料", &[4]),
        ("filename:png OR filename:pdf", &[1, 12]),
        ("larger:1M", &[4, 12]),
        ("larger:1000000", &[4, 12]),
        ("larger:2.5M", &[12]),
        ("size:2M", &[4, 12]),
        ("smaller:10K", &[2, 3, 5, 6, 7, 8, 13, 14, 15, 16]),
        ("smaller:10kb has:attachment", &[]),
        // Flags.
        ("is:unread", &unread),
        ("is:read", &read),
        ("is:starred", &[3]),
        ("is:flagged", &[3]),
        ("is:answered", &[8]),
        ("from:dana is:answered", &[8]),
        ("in:inbox is:unread", &[1, 4, 14]),
        // Folders.
        ("in:inbox", &[1, 2, 3, 4, 5, 6, 7, 13, 14]),
        ("in:sent", &[9]),
        ("in:trash", &[10]),
        ("in:spam", &[11]),
        ("is:unread in:spam", &[11]),
        ("label:Projects/2024", &[12]),
        ("folder:projects/2024", &[12]),
        ("folder:Archive", &[8, 15, 16]),
        ("in:archive", &[8, 15, 16]),
        ("in:drafts", &[]),
        ("in:anywhere invoice", &[10]),
        ("invoice", &[]),
        ("-in:inbox", &[8, 9, 10, 11, 12, 15, 16]),
        ("in:junk $1,000,000", &[11]),
        ("$1,000,000", &[]),
        ("in:trash 99.90", &[10]),
        ("in:trash #1234", &[10]),
        // Dates.
        ("before:2026-11-01", &[8, 9, 12, 15, 16]),
        ("after:2026-12-01", &[1, 2, 3, 4, 7, 13, 14]),
        ("after:2026/12/01", &[1, 2, 3, 4, 7, 13, 14]),
        ("before:12/01/2026", &[5, 6, 8, 9, 12, 15, 16]),
        ("older_than:1y", &[16]),
        ("newer_than:2d", &[1, 2, 4, 14]),
        ("older_than:30d", &[8, 9, 12, 15, 16]),
        ("after:2025-12-31 before:2026-01-01", &[15]),
        ("on:2025-12-31", &[15]),
        ("after:yesterday", &[1, 4, 14]),
        ("date:2026-10-01..2026-10-31", &[8, 9]),
        ("date:2025..2025", &[15, 16]),
        // Boolean structure.
        ("from:dana OR from:zoe", &[8, 12]),
        ("{from:dana from:zoe}", &[8, 12]),
        ("(from:dana OR from:zoe) has:attachment", &[12]),
        ("(proposal has:attachment) OR ramen", &[9, 14]),
        ("-(from:dana OR from:zoe)", &all_but(&[8, 12])),
        ("-{proposal lunch}", &all_but(&[8, 9, 14])),
        ("proposal AND from:dana", &[8]),
        ("proposal -from:me", &[8]),
        ("NOT from:me proposal", &[8]),
        ("\"rock and roll\"", &[8]),
        ("rock AND roll", &[8]),
        ("from:dana and subject:q3", &[8]),
        ("proposal and feedback", &[9]),
        ("proposal AROUND 5 feedback", &[9]),
        ("after:1796000000", &[1, 2, 3, 4, 7, 13, 14]),
        // Words with symbols, taken literally.
        ("e-mail", &[8]),
        ("re-send", &[8]),
        ("c++", &[7]),
        ("node.js", &[7]),
        ("o'brien", &[7]),
        ("O\u{2019}Brien", &[7]),
        ("obrien", &[7]),
        ("https://globex.test/party?id=42", &[7]),
        ("globex.test/party", &[7]),
        ("\"launch party\"", &[7]),
        ("launch 🚀", &[7]),
        ("🎉", &[7]),
        ("SELECT * FROM users", &[13]),
        ("\"quoted\"", &[13]),
        ("NEAR", &[13]),
        ("^start", &[13]),
        ("{col}:", &[13]),
        ("1=1", &[13]),
        ("'x' OR 1=1; --", &[13]),
        ("[tidings]", &[13]),
        ("(#42)", &[7, 13]),
        // Message ids.
        ("rfc822msgid:CAF+q3.proposal@mail.acme.test", &[8]),
        ("id:CAF+q3.proposal@mail.acme.test", &[8]),
        ("<CAF+q3.proposal@mail.acme.test>", &[8]),
        // Accents, other scripts.
        ("cafe", &[1]),
        ("CAFÉ", &[1]),
        ("resume", &[1]),
        ("\"résumé attached\"", &[1]),
        ("naive", &[12]),
        ("zoe", &[12]),
        ("nunez", &[12]),
        ("ano nuevo", &[15]),
        ("strasse", &[14]),
        ("STRAßE", &[14]),
        ("lodz", &[14]),
        ("oresund", &[14]),
        ("ØRESUND", &[14]),
        ("cc:lodz", &[]),
        ("iphone", &[4]),
        ("2026年", &[4]),
        ("スミス", &[4]),
        ("\"ジョン・スミス\"", &[4]),
        ("人々", &[4]),
        ("\"東京本社 iphone\"", &[]),
        ("\"東京本社で行います\"", &[4]),
        ("\"本社で\"", &[4]),
        ("\"持参 2026年\"", &[4]),
        ("会議?", &[4]),
        ("rust入門", &[5]),
        ("入門", &[5]),
        ("¡Feliz", &[15]),
        ("отчёт", &[2]),
        ("отчет", &[2]),
        ("ОТЧЁТ", &[2]),
        ("квартал", &[2]),
        ("Привет!", &[2]),
        ("привет пожалуйста", &[2]),
        ("συνάντηση", &[3]),
        ("συναντηση", &[3]),
        ("ΣΥΝΆΝΤΗΣΗ", &[3]),
        ("καλημέρα", &[3]),
        ("会議", &[4]),
        ("会議室", &[4]),
        ("予約", &[4]),
        ("東京", &[4]),
        ("本社", &[4]),
        ("田中", &[4]),
        ("subject:確認", &[4]),
        ("\"会議室予約\"", &[4]),
        ("进度报告", &[5]),
        ("报告", &[5]),
        ("项目", &[5]),
        ("附件", &[5]),
        ("회의", &[6]),
        ("일정", &[6]),
        ("화요일", &[6]),
        ("요일", &[6]),
        // mutt's patterns.
        ("~f dana", &[8]),
        ("~s proposal", &[8, 9]),
        ("~b ramen", &[14]),
        ("~t dana", &[9]),
        ("~c ops", &[8]),
        ("~C ops", &[8]),
        ("~N", &unread),
        ("~U", &unread),
        ("~F", &[3]),
        ("~s q3 !~f me", &[8]),
        ("~f dana | ~f zoe", &[8, 12]),
        ("~A", ALL),
        ("~d <2d", &[1, 2, 4, 14]),
        ("~d >30d", &[8, 9, 12, 15, 16]),
        ("~d 01/10/2026-31/10/2026", &[8, 9]),
        ("~d 31/12/25", &[15]),
        ("~d 2025-12-31", &[15]),
        ("~d 01/10/2026-", &[1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14]),
        ("~z >1M", &[4, 12]),
        // aerc's flags.
        ("-f dana", &[8]),
        ("-t dana", &[9]),
        ("-c ops", &[8]),
        ("-b ramen", &[14]),
        ("-a ramen", &[14]),
        ("-u", &unread),
        ("-r", &read),
        ("-x flagged", &[3]),
        ("-X seen", &unread),
        ("-x", ALL),
        ("-f dana -b net", &[8]),
        // notmuch.
        ("tag:unread", &unread),
        ("tag:flagged", &[3]),
        ("tag:attachment", &[1, 4, 9, 12]),
        ("tag:inbox", &[1, 2, 3, 4, 5, 6, 7, 13, 14]),
        ("attachment:pdf", &[1]),
        ("mimetype:image/png", &[12]),
        // Typos and half-typed input.
        ("from:", ALL),
        ("\"", ALL),
        ("-", ALL),
        ("subject:\"q3 proposal", &[8, 9]),
        ("(proposal", &[8, 9]),
        ("proposal)", &[8, 9]),
        ("((proposal OR lunch)", &[8, 9, 14]),
        ("proposal OR", &[8, 9]),
        ("proposal NOT", &[8, 9]),
        ("proposal AND", &[8, 9]),
        ("NOT", &[]),
    ]
    .iter()
    .map(|(q, u)| (q.to_string(), u.to_vec()))
    .collect();
    q.push((format!("proposal{}", " ".repeat(10_000)), vec![8, 9]));
    q.push(("x".repeat(10_000), vec![]));
    q.push(("proposal OR ".repeat(1000), vec![8, 9]));
    q
}

#[test]
fn searches_people_type_find_what_they_expect() {
    let s = outsider_store();
    let queries = queries();
    let mut failed = Vec::new();
    for (query, expected) in &queries {
        let got = uids(&s, query);
        if got.as_ref() != Ok(expected) {
            let shown: String = query.chars().take(60).collect();
            failed.push(format!("{shown:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} searches as expected; failing:\n{}",
        queries.len() - failed.len(),
        queries.len(),
        failed.join("\n")
    );
}
