//! tidings attacked through its real paths by the hostile mails of `tests/fixtures/hostile/`
//! (and two generated ones too big to keep in git): written into a Dovecot Maildir, synced by
//! `tidings sync`, then listed, shown, read in the TUI (headers and links too), saved, replied
//! to, forwarded and searched. Nothing may panic, hang, reach a terminal as a control character,
//! or be written outside the chosen folder, and everything that can be shown is.
//!
//! One Dovecot and one sync serve every test here: the synced data dir is kept in
//! `CARGO_TARGET_TMPDIR` and each test reads its own copy of the cache.

use crate::support::dovecot::Dovecot;
use crate::support::TidingsEnv;
use crate::tui_snapshots::Harness;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use tidings::mail::compose::{Draft, ReplyKind, Sender};
use tidings::mail::render::render_message;
use tidings::store::{ListQuery, Store};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hostile");

/// Generous bounds for a debug build on a busy 2-core machine: a hang is minutes, not seconds.
const SYNC_LIMIT: Duration = Duration::from_secs(180);
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// Every fixture (sorted by name) and the generated mails: (name, raw bytes).
fn hostile_mails() -> Vec<(String, Vec<u8>)> {
    let mut mails: Vec<(String, Vec<u8>)> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    mails.sort();
    // A 1 MB body line of escapes, and 50,000 parts: too big for git, made here.
    let mut long = b"From: a@evil.test\r\nSubject: g1-one-megabyte-line\r\n\r\n".to_vec();
    long.extend(std::iter::repeat_n(b"ab\x1b[2Jc\x9b".as_slice(), 1 << 18).flatten());
    long.extend_from_slice(b"\r\n");
    mails.push(("g1-one-megabyte-line".into(), long));
    let mut parts = b"From: a@evil.test\r\nSubject: g2-fifty-thousand-parts\r\n\
Content-Type: multipart/mixed; boundary=p\r\n\r\n"
        .to_vec();
    for i in 0..50_000 {
        parts.extend_from_slice(
            format!("--p\r\nContent-Type: text/plain; name=\"\x1b[2J{i}.txt\"\r\n\r\n{i}\r\n")
                .as_bytes(),
        );
    }
    parts.extend_from_slice(b"--p--\r\n");
    mails.push(("g2-fifty-thousand-parts".into(), parts));
    mails
}

/// The data dir `tidings sync` filled from a Dovecot holding every hostile mail, and the mails.
struct Synced {
    env_dir: PathBuf,
    mails: Vec<(String, Vec<u8>)>,
}

fn synced() -> &'static Synced {
    static SYNCED: OnceLock<Synced> = OnceLock::new();
    SYNCED.get_or_init(|| {
        let mails = hostile_mails();
        let dc = Dovecot::start();
        dc.add_user("mallory", "secret");
        // Straight into the Maildir: APPEND would refuse NUL bytes, a mail client never can.
        dc.seed_maildir("mallory", "INBOX", mails.len(), |i| mails[i].1.clone());
        let toml = dc.config_toml("hostile", "mallory", "secret") + "[sync]\nbodies = \"all\"\n";
        let env = TidingsEnv::new(&toml);
        let out = bounded(env.command().arg("sync"), SYNC_LIMIT);
        assert!(
            out.status.success(),
            "sync failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            dc.log()
        );
        assert_terminal_safe("sync stderr", &out.stderr);
        let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-mail");
        let _ = std::fs::remove_dir_all(&keep);
        std::fs::create_dir_all(&keep).unwrap();
        for f in ["config.toml", "data/tidings.sqlite3"] {
            let to = keep.join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(env.dir.path().join(f), to).unwrap();
        }
        Synced {
            env_dir: keep,
            mails,
        }
    })
}

/// A private copy of the synced config and data dir, so tests can change it side by side.
fn copy_of_synced() -> (tempfile::TempDir, Store) {
    let s = synced();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    for f in ["config.toml", "data/tidings.sqlite3"] {
        std::fs::copy(s.env_dir.join(f), dir.path().join(f)).unwrap();
    }
    let store = Store::open(&dir.path().join("data/tidings.sqlite3")).unwrap();
    (dir, store)
}

/// Runs `cmd`, killed (and the test failed) if it outlives `limit`.
fn bounded(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Waiting drains both pipes, so a big output cannot block the child on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{cmd:?} hung: killed after {limit:?}");
        }
    }
}

/// `tidings ARGS` on the config and data dir under `root`, bounded in time.
fn tidings_in(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidings"));
    cmd.arg("--config")
        .arg(root.join("config.toml"))
        .arg("--data-dir")
        .arg(root.join("data"))
        .args(args)
        .envs(env.iter().copied());
    bounded(&mut cmd, COMMAND_LIMIT)
}

fn tidings(args: &[&str]) -> Output {
    tidings_in(&synced().env_dir, args, &[])
}

/// No C0 byte but `\n`, no DEL, valid UTF-8 with no C1 control and no bidi control.
fn assert_terminal_safe(what: &str, out: &[u8]) {
    let text = std::str::from_utf8(out).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    assert_text_safe(what, text);
}

fn assert_text_safe(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| unsafe_char(c)) {
        let from = text.floor_char_boundary(at.saturating_sub(60));
        let to = text.ceil_char_boundary((at + 60).min(text.len()));
        panic!("{what}: U+{:04X} at {at}: {:?}", c as u32, &text[from..to]);
    }
}

fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// (id, subject) of every cached INBOX message, as `tidings list --json` gives them.
fn listed() -> Vec<(i64, String)> {
    let out = tidings(&["list", "--json", "--limit", "1000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    v.iter()
        .map(|m| {
            (
                m["id"].as_i64().unwrap(),
                m["subject"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The whole folder syncs, hostile mail and all, and the list says so without a control byte.
#[test]
fn every_hostile_mail_syncs_and_lists_safely() {
    let s = synced();
    let listed = listed();
    assert_eq!(listed.len(), s.mails.len(), "{listed:#?}");
    // 50,000 parts are not 50,000 rows: the cache keeps what the reader lists.
    let (_dir, store) = copy_of_synced();
    let most: i64 = store
        .conn
        .query_row(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM attachments GROUP BY message_id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(most, tidings::mail::render::MAX_ATTACHMENTS as i64);
    // Contacts are gathered from the same hostile headers.
    let contacts = tidings(&["contacts"]);
    assert!(contacts.status.success());
    assert_terminal_safe("tidings contacts", &contacts.stdout);
    let out = tidings(&["list", "--limit", "1000"]);
    assert!(out.status.success());
    assert_terminal_safe("tidings list", &out.stdout);
    assert_terminal_safe("tidings list stderr", &out.stderr);
    let text = String::from_utf8(out.stdout).unwrap();
    // Each fixture is named in its subject; the ones that hide it are checked by their own test.
    for (name, _) in &s.mails {
        if name.starts_with("h")
            && name.as_bytes()[1].is_ascii_digit()
            && !text.contains(name.as_str())
        {
            let hidden = [
                "h01", "h02", "h08", "h09", "h10", "h11", "h18", "h19", "h20", "h21", "h33", "h37",
            ];
            assert!(
                hidden.iter().any(|h| name.starts_with(h)),
                "{name} not listed:\n{text}"
            );
        }
    }
}

/// `tidings show` of each hostile mail: terminal safe, bounded, and the readable part is there.
#[test]
fn show_of_every_hostile_mail_is_terminal_safe_and_bounded() {
    for (id, subject) in listed() {
        let out = tidings(&["show", &id.to_string()]);
        assert!(
            out.status.success(),
            "show {id} ({subject}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_terminal_safe(&format!("show {id} ({subject})"), &out.stdout);
        assert!(
            out.stdout.len() < 4 << 20,
            "show {id} ({subject}): {} bytes",
            out.stdout.len()
        );
    }
}

/// What each attack hid is shown, not acted on: the decoders' output, checked mail by mail.
#[test]
fn decoded_hostile_text_is_visible_and_inert() {
    let s = synced();
    let rendered = |name: &str| {
        let raw = &s.mails.iter().find(|(n, _)| n == name).unwrap().1;
        let r = render_message(raw);
        let text = tidings::mail::render::render_to_text(&r);
        assert_text_safe(name, &text);
        for l in &r.links {
            assert_text_safe(name, l);
        }
        (r, text)
    };
    for (name, _) in &s.mails {
        rendered(name);
    }
    // What each attack hid, decoded and shown inert.
    for (name, shown) in [
        ("h19-utf7-escape", "Hello ␛]0;pwned␇"),
        ("h20-iso-2022-jp", "日本語のテキスト"),
        ("h20-iso-2022-jp", "Subject: こんにちは"),
        ("h11-lone-cr", "Amount: $100\nAmount: $999"),
        ("h10-nul-bytes", "visible␀hidden tail"),
        ("h24-html-hidden-css", "Visible text."),
        ("h24-html-hidden-css", "End."),
        ("h39-inner-boundary-missing", "first part"),
        (
            "h39-inner-boundary-missing",
            "The inner text the reader must show.\n␛[2J still inert",
        ),
        ("h40-html-hidden-preheader", "Shown newsletter text."),
        ("h40-html-hidden-preheader", "Shown too."),
        (
            "h41-corrupt-base64",
            "Decoded despite the junk: café ☕ and the end.",
        ),
        ("h41-corrupt-base64", "HTML part decoded too"),
    ] {
        let (_, text) = rendered(name);
        assert!(text.contains(shown), "{name}: no {shown:?} in\n{text}");
    }
    // Text hidden by inline CSS or `hidden` is not shown (colour and style sheets are out of reach).
    for (name, hidden) in [
        ("h24-html-hidden-css", "HIDDEN1"),
        ("h24-html-hidden-css", "HIDDEN2"),
        ("h24-html-hidden-css", "HIDDEN4"),
        ("h40-html-hidden-preheader", "PREHEADER1"),
        ("h40-html-hidden-preheader", "HIDDEN"),
        ("h40-html-hidden-preheader", "bold hidden"),
    ] {
        let (_, text) = rendered(name);
        assert!(
            !text.contains(hidden),
            "{name}: {hidden:?} shown in\n{text}"
        );
    }
    // Recovered text parts are read, not offered as attachments.
    for name in ["h39-inner-boundary-missing", "h41-corrupt-base64"] {
        let (r, _) = rendered(name);
        assert!(r.attachments.is_empty(), "{name}: {:?}", r.attachments);
    }
    // Footnotes name every target, dangerous or not; only web and mail ones can be opened.
    let (r, _) = rendered("h25-html-dangerous-links");
    let openable: Vec<_> = r
        .links
        .iter()
        .filter(|l| tidings::app::links::openable(l))
        .collect();
    assert_eq!(openable, ["https://ok.test/"], "{:?}", r.links);
    let (r, phish) = rendered("h26-html-link-mismatch");
    // The footnote names where the link really goes, whatever its text claims.
    assert!(
        r.links.contains(&"https://evil.test/login".to_string())
            && phish.contains("https://bank.test/login[1 → evil.test]")
            && phish.contains("https://bank.test/[2 → evil.test]"),
        "{phish}"
    );
    let (_, deep) = rendered("h23-html-deep-nesting");
    assert!(
        deep.contains("bottom") && deep.len() < 4 << 20,
        "{}",
        deep.len()
    );
    let (_, table) = rendered("h22-html-huge-table");
    assert!(
        table.contains("after table") && table.len() < 4 << 20,
        "{}",
        table.len()
    );
}

/// The reader pane, its all-headers view (`H`) and its link list (`L`) of every hostile mail:
/// no cell of the screen holds a control character.
#[test]
fn reader_headers_and_links_draw_no_control_character() {
    let (dir, store) = copy_of_synced();
    let n = store.list_messages(&ListQuery::default()).unwrap().len();
    let mut h = Harness::on_store(dir, store, 120, 40);
    // Threads over References loops, self-replies and 10,000 References.
    h.press(&["t"]);
    assert_text_safe("threads", &h.screen());
    h.press(&["t"]);
    let mut opened = std::collections::HashSet::new();
    for i in 0..n {
        h.press(&["Enter"]);
        let screen = h.screen();
        assert_text_safe(&format!("reader #{i}"), &screen);
        let id = h.app.reader.as_ref().map(|r| r.id).unwrap();
        opened.insert(id);
        h.press(&["H"]);
        assert_text_safe(&format!("headers #{i}"), &h.screen());
        h.press(&["H", "L"]);
        assert_text_safe(&format!("links #{i}"), &h.screen());
        h.press(&["Esc", "i"]);
        assert_text_safe(&format!("contact #{i}"), &h.screen());
        h.press(&["Esc", "q", "j"]);
        assert_text_safe(&format!("list #{i}"), &h.screen());
    }
    assert_eq!(opened.len(), n);
}

/// Every attachment of every hostile mail saved into one folder through the reader's save
/// prompt: each lands in that folder, nothing is written anywhere else.
#[test]
fn attachments_are_saved_inside_the_chosen_folder_only() {
    let (dir, store) = copy_of_synced();
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("downloads");
    std::fs::create_dir(&target).unwrap();
    let messages = store.list_messages(&ListQuery::default()).unwrap();
    let mut h = Harness::on_store(dir, store, 120, 40);
    let mut expected = 0;
    for _ in 0..messages.len() {
        h.press(&["Enter"]);
        let count = h
            .app
            .reader
            .as_ref()
            .and_then(|r| r.content.as_ref())
            .map_or(0, |c| c.message.attachments.len())
            .min(12);
        for k in 0..count {
            h.press(&["s"]);
            if count > 1 {
                for _ in 0..k {
                    h.press(&["Down"]);
                }
                h.press(&["Enter"]);
            }
            h.press(&["C-u"]);
            h.type_text(&format!("{}/", target.display()));
            h.press(&["Enter"]);
            assert_text_safe("save prompt", &h.screen());
            expected += 1;
        }
        h.press(&["q", "j"]);
    }
    let mut saved: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    saved.sort_by_key(|e| e.file_name());
    assert!(expected > 20, "only {expected} attachments offered");
    for e in &saved {
        assert!(e.file_type().unwrap().is_file(), "{:?}", e.path());
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with('.') && name.chars().all(|c| !unsafe_char(c)),
            "{name:?}"
        );
    }
    // Same-named attachments overwrite each other, so fewer files than saves is fine; a file
    // outside `downloads/` is not.
    let outside: Vec<_> = walk(root.path())
        .into_iter()
        .filter(|p| !p.starts_with(&target) || p.parent() != Some(target.as_path()))
        .filter(|p| p != &target)
        .collect();
    assert!(
        outside.is_empty(),
        "written outside the folder: {outside:?}"
    );
    assert!(!saved.is_empty());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// Replying to and forwarding each hostile mail: the prefilled fields and quoted text hold no
/// control character, and the mail built from them carries no header the attacker slipped in.
#[test]
fn replies_and_forwards_quote_hostile_mail_without_injection() {
    let sender = Sender {
        account: "hostile".into(),
        from: tidings::mail::compose::Mailbox::new(Some("You"), "you@example.com"),
        signature: None,
    };
    for (name, raw) in &synced().mails {
        let drafts = [
            Draft::reply(&sender, raw, ReplyKind::Sender),
            Draft::reply(&sender, raw, ReplyKind::All),
            Draft::forward(&sender, raw),
        ];
        for draft in drafts.into_iter().flatten() {
            let fields = [
                draft.subject.clone(),
                draft.body.clone(),
                tidings::mail::compose::Mailbox::format_list(&draft.to),
                tidings::mail::compose::Mailbox::format_list(&draft.cc),
            ];
            // Long lists fold with a tab, as headers do.
            for f in &fields {
                assert_text_safe(name, &f.replace('\t', " "));
            }
            assert!(
                draft.body.len() < 4 << 20,
                "{name}: {} bytes",
                draft.body.len()
            );
            if draft.to.is_empty() {
                continue;
            }
            let built = draft
                .build(1_780_000_000, false)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let head_end = built
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap_or(built.len());
            let head = String::from_utf8_lossy(&built[..head_end]);
            // A line over 998 bytes (a 4 KB Message-ID copied into In-Reply-To) is refused.
            if let Some(long) = head.lines().find(|l| l.len() > 998) {
                panic!("{name}: {} bytes in {:?}…", long.len(), &long[..100]);
            }
            assert!(
                !head
                    .lines()
                    .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
                "{name}: injected header in\n{head}"
            );
            assert_text_safe(name, &head.replace("\r\n", "\n").replace('\t', " "));
        }
    }
}

/// Characters that draw nothing never disguise a name or a subject (h09, h38): not in the list,
/// the reader's headers, the CLI or the list preview, and search finds the word as it reads.
/// The address keeps them, shown, since a reply goes to it; a legitimate emoji ZWJ sequence and
/// a Persian ZWNJ stay.
#[test]
fn invisible_characters_never_disguise_a_name_or_subject() {
    let out = tidings(&["list", "--json", "--limit", "1000"]);
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by_subject = |start: &str| {
        v.iter()
            .find(|m| m["subject"].as_str().unwrap_or_default().starts_with(start))
            .unwrap_or_else(|| panic!("no {start:?} in {v:#?}"))
    };
    let h38_subject =
        "h38-invisible-chars: Your PayPal account is locked \u{1F469}\u{200D}\u{1F4BB} \
                       \u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645}";
    let h38 = by_subject("h38");
    assert_eq!(h38["subject"], h38_subject);
    assert_eq!(h38["from_name"], "PayPal Security Team");
    let h09 = by_subject("Account");
    assert_eq!(h09["subject"], "Account suspended");
    assert_eq!(h09["from_name"], "PayPal");
    assert_eq!(h09["from_addr"], "service@pay<U+200B>pal.test");

    let shown = tidings(&["show", &h38["id"].to_string()]);
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(
        shown.contains("From: PayPal Security Team <security@paypa1.evil.test>")
            && shown.contains(&format!("Subject: {h38_subject}")),
        "{shown}"
    );
    let (_dir, store) = copy_of_synced();
    let listed = store.list_messages(&ListQuery::default()).unwrap();
    let preview = |start: &str| {
        let m = listed.iter().find(|m| m.subject.starts_with(start));
        m.map(|m| m.preview.clone()).unwrap_or_default()
    };
    assert_eq!(preview("h38"), "Your PayPal account needs attention.");
    // The list preview of HTML mail is the reader's text: what CSS hides is not in it either.
    let h40 = preview("h40");
    assert!(h40.starts_with("Shown newsletter text."), "{h40:?}");

    for query in ["subject:PayPal", "from:PayPal", "PayPal account needs"] {
        let out = tidings(&["list", "--search", query, "--json"]);
        let found: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            found.iter().any(|m| m["id"] == h38["id"]),
            "{query:?}: {found:#?}"
        );
    }
}

/// Search over the hostile folder: finds mail by the text it shows, and its output is safe.
#[test]
fn search_finds_hostile_mail_by_its_visible_text() {
    for (query, expect) in [
        ("subject:h27-attachment-names", 1),
        ("has:attachment h05", 1),
        ("from:pay", 1),
        ("\u{1b}[2J", 0),
    ] {
        let out = tidings(&["list", "--search", query, "--json"]);
        assert!(
            out.status.success(),
            "{query:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_terminal_safe(query, &out.stderr);
        let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v.len() >= expect, "{query:?}: {v:?}");
    }
}

/// The user answered every hostile mail with a reminder (`--remind-after`), now due: the desktop
/// notifications `tidings watch --once` shows carry the attacker's subject and name, and hold
/// neither a control character nor markup the notification daemon would act on.
#[test]
fn reminders_on_replies_to_hostile_mail_notify_as_plain_text() {
    let (dir, store) = copy_of_synced();
    let sender = Sender {
        account: "hostile".into(),
        from: tidings::mail::compose::Mailbox::new(None, "mallory@example.test"),
        signature: None,
    };
    let mut due = 0;
    for (i, (_, raw)) in synced().mails.iter().enumerate() {
        let Ok(reply) = Draft::reply(&sender, raw, ReplyKind::Sender) else {
            continue;
        };
        store
            .add_reminder(&tidings::store::NewReminder {
                account: "hostile".into(),
                message_id: format!("<reply-{i}@example.test>"),
                subject: reply.subject.clone(),
                to: tidings::mail::compose::Mailbox::format_list(&reply.to),
                recipients: reply.to.iter().map(|m| m.email.to_lowercase()).collect(),
                sent_at: 1_700_000_000,
                due_at: 1_700_000_100,
                condition: tidings::store::RemindIf::NoReply,
            })
            .unwrap();
        due += 1;
    }
    let bus = crate::support::dbus::NotificationBus::start();
    let out = tidings_in(
        dir.path(),
        &["watch", "--once"],
        &[("DBUS_SESSION_BUS_ADDRESS", &bus.address)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_terminal_safe("watch stdout", &out.stdout);
    let listed = tidings_in(dir.path(), &["followups"], &[]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert_terminal_safe("tidings followups", &listed.stdout);
    assert_terminal_safe("watch stderr", &out.stderr);
    let calls = bus.wait_for_calls(due, Duration::from_secs(10));
    assert_eq!(calls.len(), due, "{calls:#?}");
    for call in &calls {
        assert_text_safe("notification", call);
        // The summary is plain text by the spec; the body is markup to most daemons.
        assert!(!call.contains("<img"), "{call}");
    }
    assert!(
        calls.iter().any(|c| c
            .contains("Re: &lt;b&gt;Urgent&lt;/b&gt; &lt;a href=\"https://evil.test/reset\"&gt;")),
        "{calls:#?}"
    );
    // The spoofed subject reads as it looks, with nothing invisible inside.
    assert!(
        calls
            .iter()
            .any(|c| c.contains("Re: h38-invisible-chars: Your PayPal account is locked")),
        "{calls:#?}"
    );
}
