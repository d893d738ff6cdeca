//! The search language from outside: real mail (encoded names, other scripts, hostile ids) in
//! a real Dovecot, synced, then searched with `tidings list --search` as a user types it.

use crate::support::dovecot::Dovecot;
use crate::support::TidingsEnv;

fn mail(
    from: &str,
    to: &str,
    subject: &str,
    date: &str,
    id: &str,
    extra: &str,
    body: &str,
) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}>\r\n\
         {extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[test]
fn searches_a_user_types_find_what_they_say_in_a_synced_mailbox() {
    let dc = Dovecot::start();
    dc.add_user("alice", "secret");
    dc.create_folder("alice", "Old Projects");
    // 00:30 on 1 July in Berlin (summer time), 22:30 UTC the day before.
    dc.append(
        "alice",
        "INBOX",
        &mail(
            "=?UTF-8?Q?Zo=C3=AB_N=C3=BA=C3=B1ez?= <zoe@acme.test>",
            "Alice <alice@example.test>",
            "Re-send: the e-mail draft from O'Brien",
            "Tue, 30 Jun 2026 22:30:00 +0000",
            "zoe@acme.test",
            "Cc: =?UTF-8?Q?Se=C3=A1n?= <sean@acme.test>\r\n",
            "Straße, Привет, 会議室予約 🎉",
        ),
    );
    let read = dc.append(
        "alice",
        "INBOX",
        &mail(
            "Billing <billing@shop.test>",
            "alice@example.test",
            "Your invoice",
            "Mon, 2 Nov 2026 09:00:00 +0000",
            "bill@shop.test",
            "",
            "Pay within 30 days.",
        ),
    );
    dc.set_flags("alice", "INBOX", read, "\\Seen", true);
    dc.append(
        "alice",
        "Old Projects",
        &mail(
            "Lee <lee@globex.test>",
            "alice@example.test",
            "Quarterly plan",
            // 23:59:59 in Berlin.
            "Thu, 31 Dec 2026 22:59:59 +0000",
            "plan@globex.test",
            "",
            "net 30",
        ),
    );
    // Alice's mail to Lee, and Lee's answer whose In-Reply-To names two ids.
    dc.append(
        "alice",
        "Sent",
        &mail(
            "Alice <alice@example.test>",
            "Lee <lee+sales@globex.test>",
            "Terms",
            "Mon, 2 Nov 2026 10:00:00 +0000",
            "terms@example.test",
            "",
            "Our terms.",
        ),
    );
    dc.append(
        "alice",
        "INBOX",
        &mail(
            "Lee <lee@globex.test>",
            "alice@example.test",
            "Re: Terms",
            "Mon, 2 Nov 2026 11:00:00 +0000",
            "re-terms@globex.test",
            "In-Reply-To: <elsewhere@globex.test> <terms@example.test>\r\n",
            "Fine by us.",
        ),
    );
    // A read mail with an attachment named with accents, 200 KB on the server.
    let cv = format!(
        "From: =?UTF-8?B?55Sw5Lit?= <tanaka@example.jp>\r\nTo: alice@example.test\r\n\
         Subject: =?UTF-8?B?5p2x5Lqs5pys56S+44Gu6LOH5paZ?=\r\nDate: Tue, 1 Dec 2026 09:00:00 +0000\r\n\
         Message-ID: <cv@example.jp>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n明日の打ち合わせ\r\n--b\r\n\
         Content-Type: application/pdf\r\n\
         Content-Disposition: attachment; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n{}",
        " ".repeat(200 << 10)
    );
    let cv = dc.append("alice", "INBOX", cv.as_bytes());
    dc.set_flags("alice", "INBOX", cv, "\\Seen", true);
    let env = TidingsEnv::new(&dc.config_toml("work", "alice", "secret"));
    assert!(env.run(&["sync"]).status.success());
    // Reply detection's scan of mail cached before the mail it answers.
    assert!(env.run(&["followups"]).status.success());

    let search = |q: &str| -> (Vec<String>, String) {
        let out = env
            .command()
            .env("TZ", "Europe/Berlin")
            .args(["list", "--json", "--search", q])
            .output()
            .unwrap();
        assert!(out.status.success(), "{q}: {out:?}");
        let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let mut s: Vec<String> = v
            .iter()
            .map(|m| m["subject"].as_str().unwrap().to_string())
            .collect();
        s.sort();
        (s, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let subjects = |q: &str| search(q).0;
    let zoe = ["Re-send: the e-mail draft from O'Brien"];
    for q in [
        "From:ZOE",
        "from:zoë",
        "from:zoe@acme.test",
        "from:acme.test",
        "to:@example.test re-send",
        "cc:sean",
        "cc:SEÁN",
        "o'brien",
        "e-mail",
        "\"the e-mail draft\"",
        "strasse OR straße",
        "привет",
        "会議",
        "予約",
        "\"会議室予約\"",
        "🎉",
        "~f zoe",
        "{from:zoe from:nobody}",
        "rfc822msgid:zoe@acme.test",
        "on:2026-07-01",
        "IN:INBOX -is:read from:zoe",
    ] {
        assert_eq!(subjects(q), zoe, "{q}");
    }
    assert!(subjects("to:sean").is_empty());
    assert!(subjects("on:2026-06-30").is_empty());
    // A search starting with `-` is a search, not an unknown flag.
    assert_eq!(
        subjects("-is:read"),
        [
            "Quarterly plan",
            "Re-send: the e-mail draft from O'Brien",
            "Re: Terms",
            "Terms"
        ]
    );
    assert_eq!(
        subjects("-\"the e-mail draft\" -folder:sent -label:inbox"),
        ["Quarterly plan"]
    );
    assert_eq!(
        subjects("from:zoe OR from:billing"),
        ["Re-send: the e-mail draft from O'Brien", "Your invoice"]
    );
    assert_eq!(
        subjects("(from:zoe OR from:billing) is:read"),
        ["Your invoice"]
    );
    // A folder with a space, in any case; a year's last local second is in that year.
    assert_eq!(
        subjects("folder:\"old projects\" on:2026"),
        ["Quarterly plan"]
    );
    // Lee answered from the address without the +tag, naming two ids.
    assert_eq!(subjects("is:replied"), ["Terms"]);
    assert_eq!(subjects("from:me"), ["Terms"]);
    let cv = ["東京本社の資料"];
    for q in [
        "本社",
        "資料",
        "合わせ",
        "from:田中",
        "filename:resume",
        "filename:\"résumé 2026\"",
        "has:pdf",
        "larger:100K",
        "attachment:pdf 東京",
    ] {
        assert_eq!(subjects(q), cv, "{q}");
    }
    assert_eq!(subjects("-f lee -b fine"), ["Re: Terms"]);
    // Only symbols: nothing, and a note; FTS5 syntax is text.
    let (found, note) = search("*** —");
    assert!(found.is_empty());
    assert!(note.contains("nothing to search for"), "{note}");
    assert!(subjects("NEAR(a b) AND ^x OR {subject}:y NOT \"").is_empty());
}
