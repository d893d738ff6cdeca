//! The demo mailbox: a deterministic, realistic account ("demo") seeded into a store, so
//! `tidings demo` needs no server. Every message is a real RFC 5322 message built with
//! mail-builder and stored through [`parse_message`] and [`Store::put_message`], the path real mail
//! takes — the demo exercises the parser, the sanitizer and the renderer like an IMAP account does.
//! Who writes to whom is [`super::people`].

use super::people::{
    Person, BILL, DANA, DEMO_PEOPLE, GLOBEX_BILLING, GLOBEX_NEWS, HANK, INITECH_CI, JOANNA, LENA,
    MARCUS, ME, PETER, PRIYA, SAM, SAMIR, TERMINAL_WEEKLY,
};
use crate::mail::parse::parse_message;
use crate::store::{Flags, Store, StoreError};
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;

/// The account the demo user's mail is stored under.
pub const DEMO_ACCOUNT: &str = "demo";

/// The folders of the demo account with their SPECIAL-USE roles, INBOX first.
pub const DEMO_FOLDERS: &[(&str, &str)] = &[
    ("INBOX", "inbox"),
    ("Sent", "sent"),
    ("Drafts", "drafts"),
    ("Archive", "archive"),
    ("Trash", "trash"),
    ("Junk", "junk"),
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("storing demo mail: {0}")]
    Store(#[from] StoreError),
    #[error("building demo mail: {0}")]
    Build(#[from] std::io::Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub account: String,
    pub email: String,
    /// (folder, messages stored) in [`DEMO_FOLDERS`] order.
    pub folders: Vec<(String, usize)>,
    pub messages: usize,
    /// The Sent mail the demo tracks ([`TRACKED_SENT`]), as seeded.
    pub tracked_sent: Vec<SentMail>,
}

/// Message-IDs of the demo user's Sent mail that the demo sends "tracked": the Q3 proposal reply
/// to Dana (Cc Marcus), and replies to Globex (Hank, Cc Lena), Priya, Sam and Peter.
pub const TRACKED_SENT: &[&str] = &[
    "<thread0.1@initech.test>",
    "<thread1.1@initech.test>",
    "<thread2.1@initech.test>",
    "<thread4.1@initech.test>",
    "<thread8.2@initech.test>",
];

/// A seeded Sent mail: what tracking needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// With angle brackets, as stored.
    pub message_id: String,
    pub subject: String,
    /// Unix seconds.
    pub date: i64,
    /// To, then Cc, each address once.
    pub recipients: Vec<Person>,
    /// The plain-text body.
    pub body: String,
}

/// splitmix64: a few lines, stable forever — unlike a library RNG whose stream may change with a
/// version bump, which would change the demo.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

enum Body {
    Text(String),
    /// (plain text alternative, HTML)
    Html(Option<String>, String),
}

struct Attachment {
    filename: String,
    mime_type: &'static str,
    bytes: Vec<u8>,
}

/// One message to build and store.
struct Draft {
    folder: &'static str,
    from: Person,
    to: Vec<Person>,
    cc: Vec<Person>,
    subject: String,
    date: i64,
    message_id: String,
    in_reply_to: Option<String>,
    references: Vec<String>,
    body: Body,
    attachments: Vec<Attachment>,
    extra_headers: Vec<(&'static str, String)>,
    flags: Flags,
}

impl Draft {
    fn new(folder: &'static str, from: Person, subject: &str, date: i64, id: String) -> Draft {
        Draft {
            folder,
            from,
            to: vec![ME],
            cc: Vec::new(),
            subject: subject.to_string(),
            date,
            message_id: id,
            in_reply_to: None,
            references: Vec::new(),
            body: Body::Text(String::new()),
            attachments: Vec::new(),
            extra_headers: Vec::new(),
            flags: Flags::default(),
        }
    }

    /// This draft as tracked Sent mail, when it is one of [`TRACKED_SENT`].
    fn tracked_sent(&self) -> Option<SentMail> {
        let message_id = format!("<{}>", self.message_id);
        if self.folder != "Sent" || !TRACKED_SENT.contains(&message_id.as_str()) {
            return None;
        }
        let Body::Text(body) = &self.body else {
            return None;
        };
        let mut recipients: Vec<Person> = Vec::new();
        for p in self.to.iter().chain(&self.cc) {
            if !recipients.iter().any(|r| r.email == p.email) {
                recipients.push(*p);
            }
        }
        Some(SentMail {
            message_id,
            subject: self.subject.clone(),
            date: self.date,
            recipients,
            body: body.clone(),
        })
    }

    fn build(self) -> std::io::Result<Vec<u8>> {
        let addr = |p: &Person| Address::new_address(Some(p.name), p.email);
        let mut b = MessageBuilder::new()
            .message_id(self.message_id.clone())
            .from(addr(&self.from))
            .to(Address::new_list(self.to.iter().map(addr).collect()))
            .subject(self.subject.clone())
            .date(self.date);
        if !self.cc.is_empty() {
            b = b.cc(Address::new_list(self.cc.iter().map(addr).collect()));
        }
        if let Some(parent) = &self.in_reply_to {
            b = b
                .in_reply_to(parent.clone())
                .references(self.references.clone());
        }
        for (name, value) in self.extra_headers {
            b = b.header(name, mail_builder::headers::raw::Raw::new(value));
        }
        // Explicit boundaries keep the bytes identical from run to run.
        let seed = self.message_id.replace(['@', '.'], "-");
        let text = |t: String| {
            MimePart::new(
                ContentType::new("text/plain").attribute("charset", "utf-8"),
                t,
            )
        };
        let content = match self.body {
            Body::Text(t) => text(t),
            Body::Html(None, h) => MimePart::new(
                ContentType::new("text/html").attribute("charset", "utf-8"),
                h,
            ),
            Body::Html(Some(t), h) => MimePart::new(
                ContentType::new("multipart/alternative")
                    .attribute("boundary", format!("alt-{seed}")),
                vec![
                    text(t),
                    MimePart::new(
                        ContentType::new("text/html").attribute("charset", "utf-8"),
                        h,
                    ),
                ],
            ),
        };
        let body = if self.attachments.is_empty() {
            content
        } else {
            let mut parts = vec![content];
            for a in self.attachments {
                parts.push(MimePart::new(a.mime_type, a.bytes).attachment(a.filename));
            }
            MimePart::new(
                ContentType::new("multipart/mixed").attribute("boundary", format!("mix-{seed}")),
                parts,
            )
        };
        b.body(body).write_to_vec()
    }
}

/// Fills the account "demo" in `store` with a few hundred messages dated relative to `now`
/// (unix seconds). Deterministic for a given `now`; replaces any earlier demo content.
pub fn seed(store: &Store, now: i64) -> Result<DemoSummary, DemoError> {
    let (mail, _) = plan(now);
    let tx = store
        .conn
        .unchecked_transaction()
        .map_err(StoreError::from)?;
    let account = store.ensure_account(DEMO_ACCOUNT, ME.email, Some(ME.name))?;
    let mut folder_ids = Vec::new();
    for (name, role) in DEMO_FOLDERS {
        let id = store.upsert_folder(account, name, Some("/"), Some(role), true)?;
        store.delete_folder_messages(id)?;
        folder_ids.push((*name, id, 0u32));
    }
    for d in mail {
        let Some(slot) = folder_ids.iter_mut().find(|(n, _, _)| *n == d.folder) else {
            continue;
        };
        slot.2 += 1;
        let (uid, folder_id, flags, date) = (slot.2, slot.1, d.flags.clone(), d.date);
        let raw = d.build()?;
        store.put_message(folder_id, &parse_message(uid, raw, flags, Some(date)))?;
    }
    for (_, id, count) in &folder_ids {
        store.set_folder_state(*id, Some(1), Some(count + 1), None)?;
    }
    tx.commit().map_err(StoreError::from)?;
    kept(store, now)
}

/// The summary of a demo mailbox seeded at `seeded_at` and used since: the folders as they are
/// now (mail sent, archived, deleted since), and the tracked Sent mail as seeded.
pub fn kept(store: &Store, seeded_at: i64) -> Result<DemoSummary, DemoError> {
    let account = store.account_id(DEMO_ACCOUNT)?;
    let by_name: Vec<(String, i64)> = store
        .folders(account)?
        .into_iter()
        .map(|f| (f.name, f.id))
        .collect();
    let mut folders = Vec::new();
    for (name, _) in DEMO_FOLDERS {
        let count = match by_name.iter().find(|(n, _)| n == name) {
            Some((_, id)) => store.count_messages(*id)?.0 as usize,
            None => 0,
        };
        folders.push((name.to_string(), count));
    }
    Ok(DemoSummary {
        account: DEMO_ACCOUNT.into(),
        email: ME.email.into(),
        messages: folders.iter().map(|(_, n)| n).sum(),
        folders,
        tracked_sent: plan(seeded_at).1,
    })
}

/// The demo's mail dated relative to `now`, oldest first, and its tracked Sent mail.
fn plan(now: i64) -> (Vec<Draft>, Vec<SentMail>) {
    let mut mail = Vec::new();
    let mut rng = Rng(0x0074_6964_696e_6773);
    threads(&mut mail, now);
    newsletters(&mut mail, now);
    notifications(&mut mail, &mut rng, now);
    chatter(&mut mail, &mut rng, now);
    junk_and_hostile(&mut mail, now);
    drafts(&mut mail, now);
    // The newest mail is what a user sees first: keep a realistic share of it unread.
    for d in &mut mail {
        if d.folder == "Sent" || d.folder == "Drafts" {
            d.flags.seen = true;
        } else if d.date > now - 2 * DAY {
            d.flags.seen = d.flags.seen || rng.chance(45);
        } else {
            d.flags.seen = d.flags.seen || !rng.chance(4);
        }
    }
    mail.sort_by(|a, b| a.date.cmp(&b.date).then(a.message_id.cmp(&b.message_id)));
    let tracked_sent = mail.iter().filter_map(Draft::tracked_sent).collect();
    (mail, tracked_sent)
}

fn msg_id(slug: &str, n: usize, domain: &str) -> String {
    format!("{slug}.{n}@{domain}")
}

/// (sender, body, attachment) for each turn of a conversation; `ME` turns land in Sent.
type Turn = (Person, &'static str, Option<fn() -> Attachment>);
/// (subject, days ago, folder for received mail, people in Cc, turns)
type Conversation = (
    &'static str,
    f64,
    &'static str,
    &'static [Person],
    &'static [Turn],
);

/// Conversations with replies both ways, threaded by In-Reply-To and References.
fn threads(mail: &mut Vec<Draft>, now: i64) {
    let convos: &[Conversation] = &[
        ("Q3 proposal for Acme", 0.2, "INBOX", &[MARCUS], &[
            (DANA, "Hi Alex,\n\nAttached is the draft proposal for Q3. The main change is the volume tier on\npage 2 — we'd like to commit to 40k seats if the price per seat drops to $4.20.\n\nCan you take a look before Thursday?\n\nThanks,\nDana", Some(proposal_pdf)),
            (ME, "Hi Dana,\n\nThanks — this looks good. Two questions:\n\n1. Does the 40k include the contractors Marcus mentioned?\n2. Could we start the tier in August rather than July?\n\nThe price sheet with the volume tiers: https://initech.test/acme/q3-pricing\n\nAlex", None),
            (DANA, "Yes to both. Marcus confirmed contractors are in the 40k. August works.\n\nDana", None),
            (MARCUS, "Confirming from my side: 31k employees + 9k contractors.\n\n— Marcus", None),
        ]),
        ("Globex integration: API rate limits", 1.5, "INBOX", &[LENA], &[
            (HANK, "Alex,\n\nOur API team says you've been hitting the 600 req/min limit every night at 02:00 UTC.\nWe can raise it to 2000 for the migration window. Want it?\n\nHank", None),
            (ME, "Hank, yes please — the migration runs nightly 01:00–04:00 UTC for two weeks.\n\nAlex", None),
            (LENA, "Done: 2000 req/min for your key until the end of the month. Usage graph attached.\n\nLena", Some(usage_png)),
            (ME, "Perfect, thank you Lena!", None),
        ]),
        ("Expense report — March offsite", 3.0, "INBOX", &[], &[
            (PRIYA, "Hi Alex, can you check the attached expenses from the offsite? Line 7 looks doubled.\n\nPriya", Some(expenses_csv)),
            (ME, "You're right, the venue deposit was entered twice. Corrected total: $8,420.", None),
            (PRIYA, "Thanks, approved.", None),
        ]),
        ("TPS report cover sheets", 4.0, "INBOX", &[PETER, SAMIR], &[
            (BILL, "Yeah, hi. I'm going to need everyone to use the new cover sheets on the TPS reports\nfrom now on. Did you get the memo? I'll send another copy.\n\nThat'd be great.\nBill", None),
            (PETER, "Got it. Third memo this week.", None),
            (SAMIR, "We have put the new sheets on the shared drive.", None),
            (ME, "Updated the template, new reports use it automatically.", None),
        ]),
        ("Weekend hike?", 5.0, "INBOX", &[], &[
            (SAM, "Hey! Weather looks great on Saturday. Ridge trail, 9am at the usual parking?", None),
            (ME, "I'm in. I'll bring coffee.", None),
            (SAM, "Great, see you there.", None),
        ]),
        ("Onboarding plan for Joanna", 8.0, "Archive", &[BILL], &[
            (JOANNA, "Hi Alex, Bill said you'd be my onboarding buddy. Anything I should read before Monday?", None),
            (ME, "Welcome! Start with the architecture doc and the on-call handbook. Coffee Monday 10:00?", None),
            (JOANNA, "Sounds great, see you Monday.", None),
        ]),
        ("Contract renewal — Globex", 12.0, "Archive", &[GLOBEX_BILLING], &[
            (LENA, "Alex, the renewal is due on the 1st. Same terms as last year, signed copy attached.", Some(contract_pdf)),
            (ME, "Thanks Lena, forwarding to legal.", None),
            (LENA, "Any news from legal?", None),
            (ME, "Signed and returned this morning.", None),
        ]),
        ("Acme pilot retrospective", 18.0, "Archive", &[MARCUS, PRIYA], &[
            (DANA, "Team, notes from the pilot retro are below.\n\n- Setup took 2 days instead of 5\n- SSO was the main blocker\n- Users want a mobile view\n\nLet's discuss next steps.", None),
            (MARCUS, "SSO is fixed on our side as of last week.", None),
            (ME, "Great. I'll put the mobile view on our roadmap for Q3.", None),
        ]),
        ("Incident 2291: nightly export failed", 25.0, "Archive", &[PETER], &[
            (SAMIR, "The nightly export failed at 02:14 with a disk-full error on export-2.", None),
            (PETER, "Cleaned up old snapshots, 60% free now. Re-running.", None),
            (ME, "Re-run succeeded. I added an alert at 80% disk.\n\nDashboard: https://grafana.initech.test/d/nightly-export\nRunbook: https://wiki.initech.test/runbooks/disk-full", None),
        ]),
    ];
    for (t, (subject, days_ago, folder, cc, turns)) in convos.iter().enumerate() {
        let start = now - (*days_ago * DAY as f64) as i64 - (turns.len() as i64) * 3 * HOUR;
        let mut ids: Vec<String> = Vec::new();
        let mut last_other = DANA;
        for (i, (who, body, attach)) in turns.iter().enumerate() {
            let id = msg_id(&format!("thread{t}"), i, who.domain());
            let is_me = who.email == ME.email;
            let folder = if is_me { "Sent" } else { folder };
            let subject = if i == 0 {
                subject.to_string()
            } else {
                format!("Re: {subject}")
            };
            let date = start + i as i64 * 3 * HOUR + (t as i64 * 7 % 50) * 60;
            let mut d = Draft::new(folder, *who, &subject, date, id.clone());
            if is_me {
                d.to = vec![last_other];
            } else {
                last_other = *who;
            }
            d.cc = cc
                .iter()
                .copied()
                .filter(|c| c.email != who.email)
                .collect();
            d.body = Body::Text(body.to_string());
            if let Some(att) = attach {
                d.attachments.push(att());
            }
            if let Some(parent) = ids.last() {
                d.in_reply_to = Some(parent.clone());
                d.references = ids.clone();
            }
            // Replied-to messages carry \Answered, as a real client would have set it.
            d.flags.answered = turns
                .get(i + 1)
                .is_some_and(|(w, _, _)| w.email == ME.email);
            d.flags.flagged = i == 0 && (t == 0 || t == 2);
            ids.push(id);
            mail.push(d);
        }
    }
}

/// Weekly HTML newsletters with links, a logo and a tracking pixel (which the renderer hides).
fn newsletters(mail: &mut Vec<Draft>, now: i64) {
    let topics = [
        (
            "Ratatui 0.30 lands",
            "https://terminal-weekly.example.com/ratatui-030",
        ),
        (
            "Why your terminal needs a sanitizer",
            "https://terminal-weekly.example.com/sanitize",
        ),
        (
            "IMAP IDLE in practice",
            "https://terminal-weekly.example.com/idle",
        ),
        (
            "SQLite FTS5 tips",
            "https://terminal-weekly.example.com/fts5",
        ),
        (
            "Keyboard-first design",
            "https://terminal-weekly.example.com/keyboard",
        ),
        (
            "Colour themes that age well",
            "https://terminal-weekly.example.com/themes",
        ),
    ];
    for week in 0..8usize {
        let date = now - week as i64 * 7 * DAY - 5 * HOUR;
        let items: String = (0..3)
            .map(|k| {
                let (title, url) = topics[(week + k) % topics.len()];
                format!(
                    "<li><a href=\"{url}?issue={week}\">{title}</a> — {} min read</li>",
                    3 + (week + k) % 7
                )
            })
            .collect();
        let html = format!(
            "<html><head><style>body{{font-family:sans-serif}}</style></head><body>\
<img src=\"https://terminal-weekly.example.com/logo.png\" alt=\"This Week in Terminals\">\
<h1>Issue #{}</h1><p>Hello Alex, here is what happened in terminal land this week.</p>\
<ul>{items}</ul><p><b>Tip of the week:</b> press <code>?</code> in tidings to see every key.</p>\
<p><a href=\"https://terminal-weekly.example.com/unsubscribe\">Unsubscribe</a></p>\
<img src=\"https://terminal-weekly.example.com/open.gif?u=alex\" width=\"1\" height=\"1\">\
</body></html>",
            120 - week
        );
        let folder = if week < 3 {
            "INBOX"
        } else if week < 7 {
            "Archive"
        } else {
            "Trash"
        };
        let mut d = Draft::new(
            folder,
            TERMINAL_WEEKLY,
            &format!("This Week in Terminals #{}", 120 - week),
            date,
            msg_id("twit", week, "terminal-weekly.example.com"),
        );
        d.body = Body::Html(None, html);
        d.extra_headers.push((
            "List-Unsubscribe",
            "<https://terminal-weekly.example.com/unsubscribe>".into(),
        ));
        mail.push(d);

        let date = now - week as i64 * 7 * DAY - 2 * DAY - 9 * HOUR;
        let html = format!(
            "<html><body><table width=\"100%\"><tr><td><h2>Globex Product News</h2></td></tr>\
<tr><td><p>New this month: <strong>batch exports</strong>, faster search and a \
<a href=\"https://globex.test/changelog/{week}\">full changelog</a>.</p>\
<p><a href=\"https://globex.test/webinar\"><img src=\"https://globex.test/webinar.png\" alt=\"Join the webinar\"></a></p>\
</td></tr></table></body></html>"
        );
        let text = format!(
            "Globex Product News\n\nNew this month: batch exports, faster search and a full changelog:\nhttps://globex.test/changelog/{week}\n"
        );
        let folder = if week < 2 { "INBOX" } else { "Archive" };
        let mut d = Draft::new(
            folder,
            GLOBEX_NEWS,
            &format!(
                "Globex Product News — {}",
                ["batch exports", "search", "webinar", "pricing"][week % 4]
            ),
            date,
            msg_id("globexnews", week, "globex.test"),
        );
        d.body = Body::Html(Some(text), html);
        mail.push(d);
    }
}

/// Machine mail: CI results, calendar invitations, monthly invoices.
fn notifications(mail: &mut Vec<Draft>, rng: &mut Rng, now: i64) {
    for n in 0..60usize {
        let date = now - (n as i64) * 17 * HOUR - rng.below(3 * HOUR as u64) as i64;
        let failed = rng.chance(15);
        let build = 4812 - n;
        let branch = rng.pick(&["main", "main", "release/2.4", "feature/export"]);
        let folder = match n {
            0..=9 => "INBOX",
            _ if n % 7 == 3 => "Trash",
            _ => "Archive",
        };
        let mut d = Draft::new(
            folder,
            INITECH_CI,
            &format!(
                "[initech/tps] Build #{build} {} on {branch}",
                if failed { "failed" } else { "passed" }
            ),
            date,
            msg_id("ci", n, "initech.test"),
        );
        d.body = Body::Text(format!(
            "Build #{build} on {branch} {}.\n\nDuration: {}m {}s\nCommit: {:07x}\n\n{}\nhttps://ci.initech.test/tps/builds/{build}\n",
            if failed { "FAILED" } else { "passed" },
            4 + rng.below(9),
            rng.below(60),
            rng.next() & 0xFFF_FFFF,
            if failed { "Failing test: export::tests::handles_disk_full\n" } else { "" },
        ));
        mail.push(d);
    }
    for week in 0..6usize {
        let date = now - week as i64 * 7 * DAY - 3 * DAY;
        let folder = if week == 0 { "INBOX" } else { "Archive" };
        let mut d = Draft::new(
            folder,
            BILL,
            "Invitation: Weekly sync @ Thursday 10:00",
            date,
            msg_id("invite", week, "initech.test"),
        );
        d.cc = vec![PETER, SAMIR, JOANNA];
        d.body = Body::Text(
            "Bill Lumbergh has invited you to Weekly sync.\n\nWhen: Thursday 10:00–10:30\nWhere: Room 4B\n".into(),
        );
        d.attachments.push(Attachment {
            filename: "invite.ics".into(),
            mime_type: "text/calendar",
            bytes: format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Initech//Calendar//EN\r\nBEGIN:VEVENT\r\nUID:weekly-{week}@initech.test\r\nSUMMARY:Weekly sync\r\nLOCATION:Room 4B\r\nDTSTART:20260903T100000Z\r\nDURATION:PT30M\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            )
            .into_bytes(),
        });
        mail.push(d);
    }
    for month in 0..3usize {
        let date = now - month as i64 * 30 * DAY - 6 * DAY;
        let mut d = Draft::new(
            if month == 0 { "INBOX" } else { "Archive" },
            GLOBEX_BILLING,
            &format!("Invoice GX-2026-{:04} from Globex", 311 - month),
            date,
            msg_id("invoice", month, "globex.test"),
        );
        d.body = Body::Text(format!(
            "Hello,\n\nYour invoice GX-2026-{:04} for $12,400.00 is attached. Payment is due in 30 days.\n\nGlobex Billing\n",
            311 - month
        ));
        d.attachments.push(Attachment {
            filename: format!("GX-2026-{:04}.pdf", 311 - month),
            mime_type: "application/pdf",
            bytes: tiny_pdf(&format!("Invoice GX-2026-{:04} - $12,400.00", 311 - month)),
        });
        mail.push(d);
    }
}

/// Everyday mail between the people above, so every sender recurs across weeks.
fn chatter(mail: &mut Vec<Draft>, rng: &mut Rng, now: i64) {
    let topics: &[(&str, &str)] = &[
        ("Quick question about the export", "Hi Alex,\n\nDo you know if the export keeps the original timestamps? A customer asked.\n\nThanks!"),
        ("Lunch Thursday?", "Want to grab lunch on Thursday? The new ramen place opened."),
        ("Slides for the review", "Here are my notes for the review. Could you add the numbers for last quarter?"),
        ("Re: status update", "All green on my side. The migration is 70% done."),
        ("Can you review my change?", "It's small — it only touches the retry logic. Link is in the ticket."),
        ("Customer call moved", "The call with the customer moved to 15:00 tomorrow, same link."),
        ("Holiday schedule", "Reminder: please add your days off to the shared calendar by Friday."),
        ("Budget numbers", "The budget spreadsheet is updated; your team is at 82% of plan."),
        ("Thanks!", "Thanks for the help yesterday, the fix worked."),
        ("Office move", "We move to the 3rd floor on the 15th. Boxes arrive Monday."),
    ];
    for n in 0..150usize {
        let (subject, body) = *rng.pick(topics);
        let from = *rng.pick(DEMO_PEOPLE);
        let age = (n as i64) * 7 * HOUR + rng.below(5 * HOUR as u64) as i64;
        let date = now - age - 20 * 60;
        let folder = if age < 12 * DAY {
            "INBOX"
        } else if n % 9 == 4 {
            "Trash"
        } else {
            "Archive"
        };
        let first_name = from.name.split(' ').next().unwrap_or(from.name);
        let mut d = Draft::new(
            folder,
            from,
            subject,
            date,
            msg_id("chat", n, from.domain()),
        );
        d.body = Body::Text(format!("{body}\n\n{first_name}\n"));
        d.flags.flagged = rng.chance(6);
        mail.push(d);
        if n % 5 == 0 {
            let mut reply = Draft::new(
                "Sent",
                ME,
                &format!("Re: {subject}"),
                date + HOUR + rng.below(HOUR as u64) as i64,
                msg_id("chatreply", n, "initech.test"),
            );
            reply.to = vec![from];
            reply.in_reply_to = Some(msg_id("chat", n, from.domain()));
            reply.references = vec![msg_id("chat", n, from.domain())];
            reply.body = Body::Text(format!("Thanks {first_name}, will do.\n\nAlex\n"));
            mail.push(reply);
        }
    }
}

/// Spam in Junk, and two hostile messages in the inbox so the sanitizer is visible in the demo:
/// escape sequences in the subject and body (which try to retitle and clear the terminal), a
/// carriage-return overwrite, and a bidi override hiding a `.exe` and the real sender.
fn junk_and_hostile(mail: &mut Vec<Draft>, now: i64) {
    let spam = [
        ("You have WON a $1000 gift card!!!", "prizes@winner.test"),
        (
            "Re: your invoice is overdue",
            "accounts@invoice-alerts.test",
        ),
        ("Cheap watches, best quality", "sales@watches.test"),
        (
            "Your mailbox is full — verify now",
            "it-support@mailbox-verify.test",
        ),
        (
            "Investment opportunity (confidential)",
            "director@offshore.test",
        ),
        ("Hot singles in your area", "hello@dating.test"),
    ];
    for (i, (subject, from)) in spam.iter().enumerate() {
        let sender = Person::new("Customer Service", from);
        let mut d = Draft::new(
            "Junk",
            sender,
            subject,
            now - (i as i64 + 1) * 29 * HOUR,
            msg_id("spam", i, "spam.test"),
        );
        d.body = Body::Html(
            None,
            format!(
                "<p>Click <a href=\"https://{}/claim\">here</a> to claim.</p>",
                sender.domain()
            ),
        );
        mail.push(d);
    }
    let evil = Person::new("IT Helpdesk", "helpdesk@evil.test");
    let mut d = Draft::new(
        "INBOX",
        evil,
        "\u{1b}]0;tidings: you have been pwned\u{7}\u{1b}[2J\u{1b}[31mURGENT\u{1b}[0m: password expires today",
        now - 7 * HOUR,
        msg_id("hostile", 0, "evil.test"),
    );
    d.body = Body::Text(
        "This message tries to take over your terminal.\n\n\
Title change: \u{1b}]0;pwned\u{7}\n\
Clear screen: \u{1b}[2J\u{1b}[H\n\
8-bit CSI: \u{9b}31mred\n\
Overwrite: Amount due: $100\rAmount due: $999\n\
Backspaces: safe\u{8}\u{8}\u{8}\u{8}evil\n\
Hidden file type: invoice_\u{202E}fdp.exe\n\n\
tidings shows every one of these as visible text instead of obeying it.\n"
            .into(),
    );
    mail.push(d);
    let spoof = Person::new(
        "Acme Payroll \u{202E}tset.emca@llorYAP\u{202C}",
        "pay\u{200B}roll@acme-payroll.test",
    );
    let mut d = Draft::new(
        "INBOX",
        spoof,
        "Update your bank details",
        now - 30 * HOUR,
        msg_id("hostile", 1, "acme-payroll.test"),
    );
    d.body = Body::Html(
        None,
        "<p>Please confirm your bank details <a href=\"https://acme-payroll.test/\u{1b}[8mlogin\">on our portal</a>.</p>\
<p style=\"display:none\">\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}</p>"
            .into(),
    );
    mail.push(d);
}

fn drafts(mail: &mut Vec<Draft>, now: i64) {
    let drafts = [
        (
            DANA,
            "Re: Q3 proposal for Acme",
            "Hi Dana,\n\nOne more thought on the volume tier —",
        ),
        (
            BILL,
            "Vacation request",
            "Hi Bill,\n\nI'd like to take the week of the 20th off.",
        ),
        (
            LENA,
            "Feedback on the new API",
            "Lena, a few notes from our side:\n\n- ",
        ),
    ];
    for (i, (to, subject, body)) in drafts.iter().enumerate() {
        let mut d = Draft::new(
            "Drafts",
            ME,
            subject,
            now - (i as i64 * 2 + 1) * HOUR,
            msg_id("draft", i, "initech.test"),
        );
        d.to = vec![*to];
        d.body = Body::Text(body.to_string());
        d.flags.draft = true;
        mail.push(d);
    }
}

fn proposal_pdf() -> Attachment {
    Attachment {
        filename: "Acme-Q3-proposal.pdf".into(),
        mime_type: "application/pdf",
        bytes: tiny_pdf("Acme Q3 proposal - 40k seats at $4.20"),
    }
}

fn contract_pdf() -> Attachment {
    Attachment {
        filename: "Globex-renewal-signed.pdf".into(),
        mime_type: "application/pdf",
        bytes: tiny_pdf("Globex service agreement - renewal"),
    }
}

fn expenses_csv() -> Attachment {
    let csv =
        "date,item,amount_usd\n2026-03-02,Venue deposit,2500.00\n2026-03-02,Catering,1840.00\n\
2026-03-03,Bus rental,960.00\n2026-03-03,Workshop materials,620.00\n2026-03-04,Dinner,2500.00\n\
2026-03-04,Venue deposit,2500.00\n";
    Attachment {
        filename: "offsite-expenses.csv".into(),
        mime_type: "text/csv",
        bytes: csv.as_bytes().to_vec(),
    }
}

fn usage_png() -> Attachment {
    let heights = [12, 18, 15, 30, 44, 41, 38, 22, 19, 47, 45, 16];
    Attachment {
        filename: "api-usage.png".into(),
        mime_type: "image/png",
        bytes: bar_chart_png(&heights),
    }
}

/// A valid one-page PDF showing `line` (offsets in the xref table are computed, not guessed).
pub fn tiny_pdf(line: &str) -> Vec<u8> {
    let text: String = line
        .chars()
        .filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\'))
        .collect();
    let stream = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A valid greyscale PNG bar chart, one bar per value (0–48), with stored (uncompressed)
/// deflate blocks so no compression crate is needed for a 2 KB picture.
pub fn bar_chart_png(values: &[u8]) -> Vec<u8> {
    let (bar, gap, h) = (6usize, 2usize, 50usize);
    let w = values.len() * (bar + gap) + gap;
    let mut raw = Vec::with_capacity((w + 1) * h);
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            let col = x / (bar + gap);
            let in_bar = x % (bar + gap) >= gap && col < values.len();
            let filled = in_bar && (h - y) <= values[col] as usize;
            raw.push(if filled { 0x30 } else { 0xF4 });
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, c) in chunks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == chunks.len()));
        let len = c.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(c);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(w as u32).to_be_bytes());
    ihdr.extend_from_slice(&(h as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &zlib), (b"IEND", &[])] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let crc = crc32(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    png
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + byte as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::render::{render_message, render_to_text};
    use crate::sanitize::is_terminal_safe;
    use crate::store::{ListFilter, ListQuery};

    const NOW: i64 = 1_788_256_800;

    #[test]
    fn seeds_a_realistic_deterministic_mailbox() {
        let store = Store::open_in_memory().unwrap();
        let summary = seed(&store, NOW).unwrap();
        assert!((250..600).contains(&summary.messages), "{summary:?}");
        assert!(summary.folders.iter().all(|(_, n)| *n > 0), "{summary:?}");
        let inbox = store
            .list_messages(&ListQuery {
                folder: Some("INBOX".into()),
                ..Default::default()
            })
            .unwrap();
        assert!(inbox.len() > 30);
        assert!(inbox
            .iter()
            .all(|m| m.date <= NOW && m.date > NOW - 60 * DAY));
        assert!(inbox.iter().any(|m| m.has_attachments));
        let unread = |f| {
            store
                .list_messages(&ListQuery {
                    filter: f,
                    ..Default::default()
                })
                .unwrap()
                .len()
        };
        assert!(unread(ListFilter::Unread) > 5);
        assert!(unread(ListFilter::Flagged) > 2);
        // Threads: a reply shares its root with the message it answers.
        let replies: Vec<_> = inbox.iter().filter(|m| m.in_reply_to.is_some()).collect();
        assert!(!replies.is_empty());
        assert!(
            inbox
                .iter()
                .any(|m| m.thread_root == replies[0].thread_root && m.id != replies[0].id)
                || store
                    .list_messages(&ListQuery::default())
                    .unwrap()
                    .iter()
                    .any(|m| m.thread_root == replies[0].thread_root && m.id != replies[0].id)
        );
        // Same input, same mailbox: the bytes of every message are identical.
        let again = Store::open_in_memory().unwrap();
        assert_eq!(seed(&again, NOW).unwrap(), summary);
        let all = store.list_messages(&ListQuery::default()).unwrap();
        let all2 = again.list_messages(&ListQuery::default()).unwrap();
        for (a, b) in all.iter().zip(&all2) {
            assert_eq!(
                store.raw_message(a.id).unwrap(),
                again.raw_message(b.id).unwrap()
            );
        }
        // Seeding again replaces instead of duplicating.
        assert_eq!(seed(&store, NOW).unwrap().messages, summary.messages);
        assert_eq!(
            store.list_messages(&ListQuery::default()).unwrap().len(),
            all.len()
        );
    }

    #[test]
    fn every_demo_message_renders_safely_and_hostile_ones_are_defused() {
        let store = Store::open_in_memory().unwrap();
        seed(&store, NOW).unwrap();
        for m in store.list_messages(&ListQuery::default()).unwrap() {
            let text = render_to_text(&render_message(&store.raw_message(m.id).unwrap()));
            assert!(is_terminal_safe(&text), "message {}: {text:?}", m.subject);
            assert!(is_terminal_safe(&m.subject) && is_terminal_safe(&m.from_name));
        }
        let hostile = store
            .list_messages(&ListQuery {
                search: Some("pwned".into()),
                ..Default::default()
            })
            .unwrap();
        assert!(!hostile.is_empty());
        let text = render_to_text(&render_message(&store.raw_message(hostile[0].id).unwrap()));
        assert!(text.contains("Title change: ␛]0;pwned␇"), "{text}");
        assert!(text.contains("Amount due: $100") && text.contains("Amount due: $999"));
        assert!(text.contains("Clear screen: ␛[2J␛[H"), "{text}");
    }

    #[test]
    fn attachments_are_real_files() {
        let pdf = tiny_pdf("hello");
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
        let png = bar_chart_png(&[10, 20]);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
