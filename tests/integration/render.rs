//! `tidings show` on hostile mail, run as the real binary on a store in a temp data dir: not one
//! byte that could drive a terminal reaches stdout, whatever the message holds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tidings::mail::parse::parse_message;
use tidings::store::{Flags, Store};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A data dir holding the given messages in INBOX; returns their ids in order.
fn data_dir_with(dir: &Path, messages: &[Vec<u8>]) -> Vec<i64> {
    let store = Store::open(&dir.join("tidings.sqlite3")).unwrap();
    let account = store
        .ensure_account("test", "you@example.com", None)
        .unwrap();
    let inbox = store
        .upsert_folder(account, "INBOX", Some("/"), Some("inbox"), true)
        .unwrap();
    messages
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let m = parse_message(i as u32 + 1, raw.clone(), Flags::default(), Some(0));
            store.put_message(inbox, &m).unwrap()
        })
        .collect()
}

fn tidings(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("TIDINGS_CONFIG", dir.join("no-config.toml"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .output()
        .expect("running tidings")
}

fn show(dir: &Path, id: i64) -> String {
    let out = tidings(dir, &["show", &id.to_string()]);
    assert!(
        out.status.success(),
        "show {id}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_terminal_safe(&out.stdout);
    String::from_utf8(out.stdout).unwrap()
}

/// No C0 byte but `\n`, no DEL, valid UTF-8 with no C1 control and no bidi control.
fn assert_terminal_safe(out: &[u8]) {
    if let Some(pos) = out
        .iter()
        .position(|&b| (b < 0x20 && b != b'\n') || b == 0x7f)
    {
        let from = pos.saturating_sub(40);
        panic!(
            "control byte {:#04x} at {pos}: {:?}",
            out[pos],
            String::from_utf8_lossy(&out[from..(pos + 40).min(out.len())])
        );
    }
    let text = std::str::from_utf8(out).expect("stdout is UTF-8");
    for c in text.chars() {
        assert!(
            !('\u{80}'..='\u{9f}').contains(&c),
            "C1 control U+{:04X} in output",
            c as u32
        );
        assert!(
            !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}'),
            "bidi control U+{:04X} in output",
            c as u32
        );
    }
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn show_neutralises_escape_sequences_in_headers_and_bodies() {
    let dir = temp();
    let ids = data_dir_with(dir.path(), &[fixture("escapes.eml")]);
    let text = show(dir.path(), ids[0]);
    // What the mail tried to do is visible, not done.
    assert!(text.contains("Subject: ]0;pwned[2J31mURGENT"), "{text}");
    assert!(text.contains("Title: ␛]2;owned␇"), "{text}");
    // A carriage return would let "$999" overwrite "$100" on screen; both stay visible.
    assert!(text.contains("Amount: $100\nAmount: $999"), "{text}");
    assert!(text.contains("Back: abc␈␈␈xyz"), "{text}");
    // The real address is shown, with the zero-width space in it made visible.
    assert!(text.contains("<sup<U+200B>port@evil.test>"), "{text}");
    // In ISO-8859-2, byte 0x9B decodes to the 8-bit CSI; it must not come out as one.
    assert!(
        text.contains("8-bit CSI: \u{FFFD}31m and ESC: ␛[5m end"),
        "{text}"
    );
}

#[test]
fn show_renders_html_as_text_with_footnoted_links() {
    let dir = temp();
    let ids = data_dir_with(dir.path(), &[fixture("html-links.eml")]);
    let text = show(dir.path(), ids[0]);
    assert!(text.contains("# Quarterly update"), "{text}");
    assert!(text.contains("full report[1]"), "{text}");
    assert!(text.contains("the slides[2]"), "{text}");
    assert!(
        text.contains("[1]: https://acme.test/report\n[2]: https://acme.test/slides\n"),
        "{text}"
    );
    assert!(text.contains("[image: Acme logo]"), "{text}");
    assert!(
        !text.contains("tracker.test") && !text.contains("script-ran"),
        "{text}"
    );
    assert!(!text.contains("color:red"), "{text}");
}

#[test]
fn show_lists_attachments_with_safe_names_sizes_and_types() {
    let dir = temp();
    let ids = data_dir_with(dir.path(), &[fixture("attachments.eml")]);
    let text = show(dir.path(), ids[0]);
    assert!(text.contains("Three files attached."), "{text}");
    assert!(
        text.contains("  [1] report.pdf (application/pdf, 77 B)"),
        "{text}"
    );
    assert!(text.contains("  [2] chart.png (image/png, 67 B)"), "{text}");
    // No directories, no leading dot, no bidi override hiding ".exe".
    assert!(
        text.contains("  [3] invoicefdp.exe (application/octet-stream, 20 B)"),
        "{text}"
    );
    let (name, bytes) =
        tidings::mail::render::attachment_bytes(&fixture("attachments.eml"), 1).unwrap();
    assert_eq!(name, "chart.png");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn show_renders_forwarded_messages_inline() {
    let dir = temp();
    let ids = data_dir_with(dir.path(), &[fixture("nested.eml")]);
    let text = show(dir.path(), ids[0]);
    let order = [
        "Forwarding this along.",
        "From: Carol <carol@globex.test>",
        "FYI, see below.",
        "From: Bob <bob@initech.test>",
        "Original text with ␛[31mred␛[0m.",
    ];
    let mut at = 0;
    for needle in order {
        let found = text[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing after {at}: {text}"));
        at += found + needle.len();
    }
}

#[test]
fn show_survives_huge_deep_and_malformed_mail() {
    let mut big = b"From: a@acme.test\r\nSubject: big\r\n\r\n".to_vec();
    big.extend(std::iter::repeat_n(b"0123456789abcdef\x1b[2J\r\n".as_slice(), 300_000).flatten());
    let mut deep = Vec::new();
    for _ in 0..30_000 {
        deep.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    deep.extend_from_slice(b"Subject: bottom\r\n\r\nbottom\r\n");
    let mut parts =
        b"From: a@acme.test\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n"
            .to_vec();
    for i in 0..10_000 {
        parts.extend_from_slice(format!("--p\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=f{i}.bin\r\n\r\nx\r\n").as_bytes());
    }
    parts.extend_from_slice(b"--p--\r\n");
    let mut nested_multipart = b"From: a@acme.test\r\nSubject: nesting\r\n".to_vec();
    for i in 0..1000 {
        nested_multipart.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    nested_multipart.extend_from_slice(b"Content-Type: text/plain\r\n\r\ninnermost\r\n");
    for i in (0..1000).rev() {
        nested_multipart.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
    }
    let mut long_header = b"From: a@acme.test\r\nSubject: ".to_vec();
    long_header.extend(std::iter::repeat_n(b'S', 1024 * 1024));
    long_header.extend_from_slice(b"\r\n\r\nshort body\r\n");
    let html = format!(
        "From: a@acme.test\r\nSubject: html\r\nContent-Type: text/html\r\n\r\n{}bottom",
        "<table><tr><td><div>".repeat(20_000)
    );
    let garbage: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();

    let dir = temp();
    let ids = data_dir_with(
        dir.path(),
        &[
            big,
            deep,
            parts,
            nested_multipart,
            long_header,
            html.into_bytes(),
            garbage,
        ],
    );
    let big = show(dir.path(), ids[0]);
    assert!(big.contains("[… truncated]"), "no truncation note");
    assert!(big.len() < 2 * 1024 * 1024, "{} bytes", big.len());
    assert!(show(dir.path(), ids[1]).contains("nested too deep"));
    let parts = show(dir.path(), ids[2]);
    assert!(
        parts.contains("[500] f499.bin") && parts.contains("[9500 more attachments not listed]")
    );
    assert!(show(dir.path(), ids[3]).contains("innermost"));
    let long = show(dir.path(), ids[4]);
    assert!(long.contains("short body") && long.lines().all(|l| l.len() < 4096));
    assert!(show(dir.path(), ids[5]).contains("bottom"));
    show(dir.path(), ids[6]);
}

#[test]
fn show_unknown_id_fails_with_one_line() {
    let dir = temp();
    data_dir_with(dir.path(), &[]);
    let out = tidings(dir.path(), &["show", "4242"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tidings: no message with id 4242\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn show_raw_is_exact_when_piped_and_visible_on_a_terminal() {
    let dir = temp();
    let raw = fixture("escapes.eml");
    let ids = data_dir_with(dir.path(), std::slice::from_ref(&raw));
    let piped = tidings(dir.path(), &["show", &ids[0].to_string(), "--raw"]);
    assert!(piped.status.success());
    assert_eq!(piped.stdout, raw, "piped --raw must be the exact message");

    // On a terminal (a pty from util-linux `script`), the same command shows control pictures.
    let bin: PathBuf = env!("CARGO_BIN_EXE_tidings").into();
    let cmd = format!(
        "{} --data-dir {} show {} --raw",
        bin.display(),
        dir.path().display(),
        ids[0]
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("TIDINGS_CONFIG", dir.path().join("no-config.toml"))
        .output()
        .expect("util-linux `script` is needed for this test (Debian: apt-get install bsdutils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The pty turns each \n into \r\n; apart from that, nothing may reach the terminal.
    let shown: Vec<u8> = out.stdout.iter().copied().filter(|&b| b != b'\r').collect();
    assert_terminal_safe(&shown);
    let shown = String::from_utf8(shown).unwrap();
    assert!(shown.contains("Subject: =?utf-8?b?"), "{shown}");
    assert!(
        shown.contains("8-bit CSI: \u{FFFD}31m and ESC: ␛[5m end"),
        "{shown}"
    );
}
