//! IMAP sync benchmark (figures, not a test): seeds N small messages into a private Dovecot and,
//! on that same mailbox, times a bare `UID FETCH 1:* (UID FLAGS BODY.PEEK[])` that only reads the
//! bytes (the floor), `mbsync` to a Maildir, a first `tidings sync`, and a no-change re-sync.
//! Prints medians, ratios and max RSS (from /usr/bin/time -v).
//!
//! `cargo bench --bench sync -- [--n 20000] [--runs 3]` — see docs/benchmarks.md.

#[path = "../tests/support/dovecot.rs"]
mod dovecot;

use dovecot::{message, Dovecot};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The floor: log in, select, fetch everything, read until the tagged OK; no parsing at all.
fn bare_fetch(port: u16) -> (f64, usize) {
    let started = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    s.write_all(
        b"b1 LOGIN alice secret\r\nb2 SELECT INBOX\r\nb3 UID FETCH 1:* (UID FLAGS BODY.PEEK[])\r\n",
    )
    .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut tail: Vec<u8> = Vec::new();
    let mut total = 0;
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "server closed the connection");
        total += n;
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 256 {
            tail.drain(..tail.len() - 256);
        }
        if tail.windows(6).any(|w| w == b"b3 OK ") {
            break;
        }
        if tail.windows(4).any(|w| w == b"b3 N" || w == b"b3 B") {
            panic!("fetch failed: {}", String::from_utf8_lossy(&tail));
        }
    }
    let _ = s.write_all(b"b4 LOGOUT\r\n");
    (started.elapsed().as_secs_f64(), total)
}

/// Runs a command under /usr/bin/time -v; returns (seconds, max RSS in KiB).
fn timed(cmd: &mut Command) -> (f64, u64) {
    let started = Instant::now();
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed: {err}");
    let rss = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (secs, rss)
}

fn tidings_sync(config: &Path, data: &Path) -> (f64, u64) {
    // `TIDINGS_BIN`: a copy of the binary that another build on the machine cannot replace.
    let bin =
        std::env::var_os("TIDINGS_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_tidings").into());
    timed(
        Command::new("/usr/bin/time")
            .arg("-v")
            .arg(bin)
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(data)
            .arg("sync"),
    )
}

fn mbsync(dc: &Dovecot, work: &Path) -> (f64, u64) {
    let store = work.join("mbsync-maildir");
    let _ = std::fs::remove_dir_all(&store);
    std::fs::create_dir_all(&store).unwrap();
    let rc = work.join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "FSync no\n\nIMAPAccount bench\nHost 127.0.0.1\nPort {port}\nUser alice\nPass secret\nSSLType None\nAuthMechs LOGIN\n\n\
             IMAPStore bench-remote\nAccount bench\n\n\
             MaildirStore bench-local\nPath {p}/\nInbox {p}/INBOX\n\n\
             Channel bench\nFar :bench-remote:\nNear :bench-local:\nPatterns INBOX\nCreate Near\nSyncState *\n",
            port = dc.port,
            p = store.display()
        ),
    )
    .unwrap();
    timed(
        Command::new("/usr/bin/time")
            .arg("-v")
            .arg("mbsync")
            .arg("-c")
            .arg(&rc)
            .arg("-a")
            .arg("-q"),
    )
}

fn main() {
    // `cargo bench` passes --bench; only our own flags matter.
    let n = arg("--n", 20_000);
    let runs = arg("--runs", 3).max(1);
    let work = tempfile::tempdir().unwrap();
    let dc = Dovecot::start();
    dc.add_user("alice", "secret");
    let seeding = Instant::now();
    dc.seed_maildir("alice", "INBOX", n, |i| message(i, "Bench"));
    // The first SELECT makes Dovecot index the new files; keep that out of every timing.
    let (_, bytes) = bare_fetch(dc.port);
    eprintln!(
        "seeded {n} messages ({:.1} MB on the wire) in {:.1}s",
        bytes as f64 / 1e6,
        seeding.elapsed().as_secs_f64()
    );
    let config = work.path().join("config.toml");
    std::fs::write(&config, dc.config_toml("bench", "alice", "secret")).unwrap();

    let bare: Vec<f64> = (0..runs).map(|_| bare_fetch(dc.port).0).collect();
    let mut mb = Vec::new();
    let mut mb_rss = 0;
    for _ in 0..runs {
        let (t, rss) = mbsync(&dc, work.path());
        mb.push(t);
        mb_rss = mb_rss.max(rss);
    }
    let mut first = Vec::new();
    let mut first_rss = 0;
    let mut resync = Vec::new();
    let mut resync_rss = 0;
    for r in 0..runs {
        let data = work.path().join(format!("data{r}"));
        let (t, rss) = tidings_sync(&config, &data);
        first.push(t);
        first_rss = first_rss.max(rss);
        let (t, rss) = tidings_sync(&config, &data);
        resync.push(t);
        resync_rss = resync_rss.max(rss);
        let _ = std::fs::remove_dir_all(&data);
    }
    // Memory must not grow with N: the same first sync on a quarter of the mailbox.
    let quarter = n / 4;
    dc.add_user("bob", "secret");
    dc.seed_maildir("bob", "INBOX", quarter, |i| message(i, "Bench"));
    let small_config = work.path().join("small.toml");
    std::fs::write(&small_config, dc.config_toml("bench", "bob", "secret")).unwrap();
    let (_, small_rss) = tidings_sync(&small_config, &work.path().join("small-data"));

    let (bare_m, mb_m, first_m, resync_m) =
        (median(bare), median(mb), median(first), median(resync));
    println!("IMAP sync benchmark: {n} messages, median of {runs} runs");
    println!("  bare UID FETCH 1:* (UID FLAGS BODY.PEEK[])  {bare_m:8.3} s");
    println!(
        "  mbsync to a Maildir                          {mb_m:8.3} s   max RSS {:>7} KiB",
        mb_rss
    );
    println!(
        "  tidings sync (first)                         {first_m:8.3} s   max RSS {:>7} KiB",
        first_rss
    );
    println!(
        "  tidings sync (no change)                     {resync_m:8.3} s   max RSS {:>7} KiB",
        resync_rss
    );
    println!("  tidings sync (first, {quarter} messages)      max RSS {small_rss:>7} KiB");
    println!(
        "  first sync / bare fetch   {:6.2}x  (target <= 5x)",
        first_m / bare_m
    );
    println!("  first sync / mbsync       {:6.2}x", first_m / mb_m);
    println!(
        "  no-change re-sync         {:6.3} s (target < 0.5 s)",
        resync_m
    );
}
