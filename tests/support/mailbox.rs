//! A small, realistic cached mailbox for UI tests: one account with INBOX, Archive, Trash and a
//! project folder; threads, attachments, unread and flagged mail, and one hostile message.

use std::path::Path;
use tidings::mail::parse::parse_message;
use tidings::store::{Flags, Store};

/// 2026-11-30 12:00 UTC: "now" for reproducible dates.
pub const NOW: i64 = 1_796_040_000;

pub struct Mail<'a> {
    pub from: &'a str,
    pub subject: &'a str,
    pub hours_ago: i64,
    pub seen: bool,
    pub flagged: bool,
    pub msgid: &'a str,
    pub reply_to: Option<&'a str>,
    pub body: &'a str,
    pub attachment: Option<(&'a str, &'a str)>,
}

pub fn raw(m: &Mail, date: i64) -> Vec<u8> {
    let date = chrono::DateTime::from_timestamp(date, 0)
        .unwrap()
        .to_rfc2822();
    let mut h = format!(
        "From: {}\r\nTo: Me <me@example.com>\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{}>\r\n",
        m.from, m.subject, m.msgid
    );
    if let Some(r) = m.reply_to {
        h.push_str(&format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"));
    }
    h.push_str("MIME-Version: 1.0\r\n");
    match m.attachment {
        None => h.push_str(&format!(
            "Content-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
            m.body
        )),
        Some((name, content)) => h.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n--BB\r\n\
             Content-Type: text/plain; name={name}\r\nContent-Disposition: attachment; filename={name}\r\n\r\n\
             {content}\r\n--BB--\r\n",
            m.body
        )),
    }
    h.into_bytes()
}

pub const INBOX: &[Mail] = &[
    Mail { from: "Dana Lee <dana@acme.test>", subject: "Proposal for Q3", hours_ago: 2, seen: false, flagged: false, msgid: "p1@acme.test", reply_to: None, body: "Hi,\n\nattached is the proposal for Q3. The numbers are on page 2.\n\nDana", attachment: Some(("proposal.txt", "Q3 PROPOSAL: 42 widgets")) },
    Mail { from: "Sam Ortiz <sam@globex.test>", subject: "Re: Proposal for Q3", hours_ago: 1, seen: false, flagged: true, msgid: "p2@globex.test", reply_to: Some("p1@acme.test"), body: "Looks good to me. Can we cut the timeline by a week?", attachment: None },
    Mail { from: "Billing <billing@initech.test>", subject: "Invoice 2026-114 is ready", hours_ago: 5, seen: true, flagged: false, msgid: "inv@initech.test", reply_to: None, body: "Your invoice 2026-114 for November is ready. Amount due: 1,200.00 EUR.", attachment: None },
    Mail { from: "Priya Nair <priya@acme.test>", subject: "Lunch on Thursday?", hours_ago: 26, seen: true, flagged: false, msgid: "l1@acme.test", reply_to: None, body: "Shall we try the new ramen place on Thursday?", attachment: None },
    Mail { from: "\u{1b}]0;pwned\u{7}Mallory <mallory@evil.test>", subject: "Urgent\u{1b}[2J\u{1b}]2;owned\u{7} action required", hours_ago: 30, seen: false, flagged: false, msgid: "evil@evil.test", reply_to: None, body: "Click here\u{1b}]0;title-hijack\u{7} now\u{1b}[31m RED\u{1b}[0m\n\u{1b}[2J\u{1b}[Hcleared?", attachment: None },
    Mail { from: "GitHub <noreply@github.test>", subject: "[tidings] CI passed on main", hours_ago: 50, seen: true, flagged: false, msgid: "ci@github.test", reply_to: None, body: "All checks have passed.", attachment: None },
    Mail { from: "Dana Lee <dana@acme.test>", subject: "Re: Proposal for Q3", hours_ago: 0, seen: false, flagged: false, msgid: "p3@acme.test", reply_to: Some("p1@acme.test"), body: "A week is fine. I will update the plan.", attachment: None },
    Mail { from: "Conference Team <events@confs.test>", subject: "Your ticket for RustConf", hours_ago: 24 * 40, seen: true, flagged: true, msgid: "t@confs.test", reply_to: None, body: "Here is your ticket.", attachment: Some(("ticket.txt", "SEAT 12B")) },
];

/// Seeds the mailbox into the store at `db` for account `account`.
pub fn seed(db: &Path, account: &str) -> Store {
    let store = Store::open(db).unwrap();
    let a = store
        .ensure_account(account, "me@example.com", Some("Me"))
        .unwrap();
    let inbox = store
        .upsert_folder(a, "INBOX", Some("/"), Some("inbox"), true)
        .unwrap();
    store
        .upsert_folder(a, "Archive", Some("/"), Some("archive"), true)
        .unwrap();
    store
        .upsert_folder(a, "Trash", Some("/"), Some("trash"), true)
        .unwrap();
    let projects = store
        .upsert_folder(a, "Projects/Acme", Some("/"), None, true)
        .unwrap();
    for (i, m) in INBOX.iter().enumerate() {
        let date = NOW - m.hours_ago * 3600;
        let flags = Flags {
            seen: m.seen,
            flagged: m.flagged,
            ..Default::default()
        };
        let msg = parse_message(i as u32 + 1, raw(m, date), flags, Some(date));
        store.put_message(inbox, &msg).unwrap();
    }
    let old = Mail {
        from: "Dana Lee <dana@acme.test>",
        subject: "Acme kickoff notes",
        hours_ago: 24 * 10,
        seen: true,
        flagged: false,
        msgid: "k@acme.test",
        reply_to: None,
        body: "Notes from the kickoff.",
        attachment: None,
    };
    let date = NOW - old.hours_ago * 3600;
    let msg = parse_message(
        1,
        raw(&old, date),
        Flags {
            seen: true,
            ..Default::default()
        },
        Some(date),
    );
    store.put_message(projects, &msg).unwrap();
    store
}
