//! First sync over a simulated link (figures, not a test): a TCP proxy on 127.0.0.1 between
//! `tidings sync` and a private Dovecot caps each direction at `--mbps` MB/s and delays every
//! chunk by `--delay-ms`, like a home connection to a distant server. The INBOX holds `--n`
//! messages of about `--kb` KB. While the sync runs, `tidings list --limit 50 --json` is polled;
//! the bench prints the time until the newest 50 messages are listed, until every envelope is
//! stored, the whole sync, and the link's floor (bytes ÷ bandwidth) for each.
//!
//! `cargo bench --bench first_sync -- [--n 10000] [--kb 20] [--mbps 8] [--delay-ms 20]
//! [--bodies all|recent|on-demand|default]` — see docs/benchmarks.md. `TIDINGS_BIN=path` runs another tidings binary.

#[path = "../tests/support/dovecot.rs"]
mod dovecot;

use dovecot::Dovecot;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn num(name: &str, default: u64) -> u64 {
    arg(name, &default.to_string()).parse().unwrap_or(default)
}

/// A message of about `kb` KB of plain text; `i` makes it unique.
fn message(i: usize, kb: usize) -> Vec<u8> {
    let mut body = String::with_capacity(kb * 1024 + 80);
    let mut line = 0;
    while body.len() < kb * 1024 {
        body.push_str(&format!(
            "Line {line} of message {i}: the quarterly figures, the meeting notes and a reply.\r\n"
        ));
        line += 1;
    }
    // One message an hour: the newest mail (highest UID) is also the latest by date, as in a
    // real INBOX, so the list's first 50 rows are the 50 highest UIDs.
    let date = chrono::DateTime::from_timestamp(1_750_000_000 + i as i64 * 3600, 0)
        .map(|d| d.to_rfc2822())
        .unwrap_or_default();
    format!(
        "From: Dana Lee <dana@acme.test>\r\nTo: Alice <alice@example.test>\r\n\
         Subject: Report {i}\r\nDate: {date}\r\n\
         Message-ID: <bench{i}@acme.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

/// One direction of the link: what `from` sends reaches `to` `delay` later, at most `rate`
/// bytes a second. A reader thread stamps each chunk as it arrives; this thread delivers it.
fn pump(from: TcpStream, mut to: TcpStream, rate: f64, delay: Duration, moved: Arc<AtomicU64>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let mut reader = from.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut next_free = Instant::now();
    for (arrived, chunk) in rx {
        let due = (arrived + delay).max(next_free);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if to.write_all(&chunk).is_err() {
            break;
        }
        moved.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        next_free =
            next_free.max(Instant::now()) + Duration::from_secs_f64(chunk.len() as f64 / rate);
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

/// The throttling proxy; returns its port and the byte counters (server → client, client → server).
fn start_proxy(upstream: u16, rate: f64, delay: Duration) -> (u16, Arc<AtomicU64>, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let down = Arc::new(AtomicU64::new(0));
    let up = Arc::new(AtomicU64::new(0));
    let (d, u) = (down.clone(), up.clone());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (d, u) = (d.clone(), u.clone());
            std::thread::spawn(move || pump(server, client, rate, delay, d));
            std::thread::spawn(move || pump(c2, s2, rate, delay, u));
        }
    });
    (port, down, up)
}

/// The binary under test: `TIDINGS_BIN` when set (a copy that another build cannot replace
/// mid-run), else the one cargo built with this bench.
fn tidings(config: &Path, data: &Path) -> Command {
    let bin =
        std::env::var_os("TIDINGS_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_tidings").into());
    let mut c = Command::new(bin);
    c.arg("--config").arg(config).arg("--data-dir").arg(data);
    c
}

/// The message numbers (`Report N`) `tidings list --limit 50 --json` shows now (empty before the cache exists).
fn listed(config: &Path, data: &Path) -> Vec<u64> {
    let Ok(out) = tidings(config, data)
        .args(["list", "--folder", "INBOX", "--limit", "50", "--json"])
        .stderr(Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    rows.iter()
        .filter_map(|m| m["subject"].as_str()?.strip_prefix("Report ")?.parse().ok())
        .collect()
}

fn main() {
    let n = num("--n", 10_000) as usize;
    let kb = num("--kb", 20) as usize;
    let rate = num("--mbps", 8) as f64 * 1e6;
    let delay = Duration::from_millis(num("--delay-ms", 20));
    let bodies = arg("--bodies", "all");
    let work = tempfile::tempdir().unwrap();
    let dc = Dovecot::start();
    dc.add_user("alice", "secret");
    let seeding = Instant::now();
    // In batches, each indexed (UIDs given) before the next is written, so UIDs follow arrival
    // as on a real server: the newest batch holds the highest UIDs. Indexing stays untimed.
    const BATCH: usize = 500;
    for start in (0..n).step_by(BATCH) {
        dc.seed_maildir("alice", "INBOX", BATCH.min(n - start), |j| {
            message(start + j, kb)
        });
        dc.uids("alice", "INBOX");
    }
    // The newest 50 by date: what the top of the list must show.
    let newest: Vec<u64> = (n.saturating_sub(50)..n).rev().map(|i| i as u64).collect();
    eprintln!(
        "seeded {n} messages of ~{kb} KB in {:.1}s",
        seeding.elapsed().as_secs_f64()
    );
    let (port, down, up) = start_proxy(dc.port, rate, delay);
    let config = work.path().join("config.toml");
    let toml = dc
        .config_toml("bench", "alice", "secret")
        .replace(&format!("port = {}", dc.port), &format!("port = {port}"));
    // `--bodies default` writes no [sync] section: for a binary that predates the setting.
    let sync = match bodies.as_str() {
        "default" => String::new(),
        b => format!("\n[sync]\nbodies = \"{b}\"\n"),
    };
    std::fs::write(&config, format!("{toml}{sync}")).unwrap();
    let data = work.path().join("data");

    let started = Instant::now();
    let mut child = tidings(&config, &data)
        .arg("sync")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stderr: the moment every INBOX envelope is stored, and the bytes moved by then.
    let stderr = child.stderr.take().unwrap();
    let (etx, erx) = mpsc::channel::<(f64, u64, u64)>();
    let (d2, u2) = (down.clone(), up.clone());
    let total = format!("bench: INBOX: {n}/{n} envelopes");
    let log = std::thread::spawn(move || {
        let mut last = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line == total {
                let _ = etx.send((
                    started.elapsed().as_secs_f64(),
                    d2.load(Ordering::Relaxed),
                    u2.load(Ordering::Relaxed),
                ));
            }
            last = line;
        }
        last
    });
    let mut newest_at = None;
    loop {
        if newest_at.is_none() && listed(&config, &data) == newest {
            newest_at = Some(started.elapsed().as_secs_f64());
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "tidings sync failed");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let whole = started.elapsed().as_secs_f64();
    let summary = log.join().unwrap();
    let newest_at = newest_at.unwrap_or(whole);
    let (env_at, env_down, env_up) = erx.try_recv().unwrap_or((whole, 0, 0));
    let (all_down, all_up) = (down.load(Ordering::Relaxed), up.load(Ordering::Relaxed));
    let floor = |bytes: u64| bytes as f64 / rate;
    let env_floor = floor(env_down.max(env_up));
    let all_floor = floor(all_down.max(all_up));
    println!(
        "First sync over a simulated link: {n} messages of ~{kb} KB, {:.0} MB/s each way, {} ms per chunk, bodies = {bodies:?}",
        rate / 1e6,
        delay.as_millis()
    );
    println!("  {summary}");
    println!("  newest 50 listed        {newest_at:8.2} s   (target <= 3 s)");
    println!(
        "  every envelope stored   {env_at:8.2} s   floor {env_floor:6.2} s ({:.1} MB)   {:5.2}x (target <= 3x)",
        env_down as f64 / 1e6,
        env_at / env_floor
    );
    println!(
        "  whole sync              {whole:8.2} s   floor {all_floor:6.2} s ({:.1} MB)   {:5.2}x (target <= 1.2x)",
        all_down as f64 / 1e6,
        whole / all_floor
    );
}
