//! The tracker as a production service: readiness that fails when the database does (PostgreSQL
//! stopped, a read-only SQLite file), logs on stderr with a clean stop on SIGTERM, database
//! passwords that never reach the command line, metrics kept off the public listener, and
//! backups of a live SQLite database.

use crate::support::postgres;
use crate::support::tracker::{add_user, run_cli, run_cli_status, tidings, TrackerProcess};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn get(url: &str) -> (u16, String) {
    let r = http().get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("tracker.sqlite3").display())
}

/// Polls `url` until it answers `status` (readiness follows the database within its timeout).
async fn wait_for_status(url: &str, status: u16) -> (u16, String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = get(url).await;
        if got.0 == status || std::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_with_the_reason_when_postgres_stops_and_healthz_stays_up() {
    let cluster = postgres::private_cluster();
    let url = cluster.fresh_database();
    let server = TrackerProcess::start(&url, &[]);
    let ready = format!("{}/readyz", server.base_url);
    assert_eq!(get(&ready).await, (200, "ready\n".to_string()));

    cluster.stop();
    let (status, body) = wait_for_status(&ready, 503).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not ready: database: postgres"), "{body}");
    assert_eq!(get(&format!("{}/healthz", server.base_url)).await.0, 200);
    let log = server.stderr();
    assert!(
        log.contains("database not ready, hits cannot be recorded: postgres"),
        "{log}"
    );
}

/// The server runs as `nobody` when the tests run as root: root writes to any file whatever
/// its mode, so only another user sees a read-only database as read-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_with_the_reason_on_a_read_only_sqlite_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    add_user(&url, "alice");
    let db_file = dir.path().join("tracker.sqlite3");
    std::fs::set_permissions(&db_file, std::fs::Permissions::from_mode(0o444)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut command = if running_as_root() {
        // The database's WAL and shared-memory files too, when `user add` left them behind.
        let mut owned = vec![dir.path().to_path_buf(), db_file.clone()];
        owned.extend(["-wal", "-shm"].iter().map(|s| {
            let mut p = db_file.clone().into_os_string();
            p.push(s);
            std::path::PathBuf::from(p)
        }));
        for p in owned.iter().filter(|p| p.exists()) {
            std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_tidings"))
            .env("TIDINGS_DATA_DIR", home.path().join("data"))
            .env_remove("TIDINGS_TRACKER_DB");
        c
    } else {
        tidings(home.path())
    };
    command.args(["tracker", "serve", "--listen", "127.0.0.1:0", "--db", &url]);
    let server = TrackerProcess::spawn(command, &[], &url, home);
    let (status, body) = get(&format!("{}/readyz", server.base_url)).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("readonly"), "{body}");
    let log = server.stderr();
    assert!(log.contains("database not ready"), "{log}");
    assert!(log.contains("readonly"), "{log}");
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_sigterm_are_logged_on_stderr_and_the_exit_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let mut server = TrackerProcess::start(&url, &[]);
    assert_eq!(get(&format!("{}/readyz", server.base_url)).await.0, 200);
    assert_eq!(server.terminate(Duration::from_secs(20)), Some(0));
    let log = server.stderr();
    assert!(log.contains("starting: database sqlite:"), "{log}");
    assert!(log.contains("database ready"), "{log}");
    assert!(log.contains("SIGTERM received, stopping"), "{log}");
    assert!(log.contains("tracker stopped"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_off_the_public_listener_unless_a_token_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let server = TrackerProcess::start(&url, &["--metrics-listen", "127.0.0.1:0"]);
    assert_eq!(get(&format!("{}/metrics", server.base_url)).await.0, 404);
    let private = server.metrics_url.clone().unwrap();
    assert!(private.starts_with("http://127.0.0.1:"), "{private}");
    let (status, body) = get(&private).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("tidings_tracker_requests_total{route=\"other\"}"),
        "{body}"
    );
    let ready = private.replace("/metrics", "/readyz");
    assert_eq!(get(&ready).await.0, 200);
    assert!(get(&private)
        .await
        .1
        .contains("tidings_tracker_database_ready 1"));

    let token_file = dir.path().join("metrics-token");
    std::fs::write(&token_file, "a-long-enough-metrics-token\n").unwrap();
    let server = TrackerProcess::start(
        &url,
        &["--metrics-token-file", token_file.to_str().unwrap()],
    );
    let public = format!("{}/metrics", server.base_url);
    assert_eq!(get(&public).await.0, 401);
    let wrong = http()
        .get(&public)
        .bearer_auth("not-the-token-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = http()
        .get(&public)
        .bearer_auth("a-long-enough-metrics-token")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right
        .text()
        .await
        .unwrap()
        .contains("tidings_tracker_db_errors_total 0"));
}

/// A role with a password on the shared cluster (which asks every role but the superuser for
/// one), and its database: the URL without the password.
fn password_role(password: &str) -> String {
    let cluster = postgres::cluster();
    let name = format!("pw{}_{}", std::process::id(), rand_suffix());
    cluster
        .execute(
            "postgres",
            &format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"),
        )
        .unwrap();
    cluster
        .execute("postgres", &format!("CREATE DATABASE {name} OWNER {name}"))
        .unwrap();
    format!("postgres://{name}@127.0.0.1:{}/{name}", cluster.port)
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// `tidings ARGS` with `HOME` a directory of its own (for `~/.pgpass`) and no password in the
/// environment unless `envs` puts one there.
fn run_with(home: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = tidings(home);
    c.env("HOME", home)
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_password_comes_from_pgpassword_pgpass_or_a_file_never_argv() {
    use std::os::unix::fs::PermissionsExt;
    const PW: &str = "Tr4cker-s3cret-pw";
    let url = password_role(PW);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    let none = run_with(h, &["tracker", "user", "add", "nopw", "--db", &url], &[]);
    assert_eq!(none.status.code(), Some(1), "{}", text(&none));
    assert!(text(&none).contains("password"), "{}", text(&none));

    let env = run_with(
        h,
        &["tracker", "user", "add", "alice", "--db", &url],
        &[("PGPASSWORD", PW)],
    );
    assert!(env.status.success(), "{}", text(&env));

    // ~/.pgpass, only when nobody else can read it (as psql does).
    let pgpass = h.join(".pgpass");
    let (host_port, db) = url
        .trim_start_matches("postgres://")
        .split_once('@')
        .unwrap()
        .1
        .split_once('/')
        .unwrap();
    let (host, port) = host_port.split_once(':').unwrap();
    std::fs::write(&pgpass, format!("{host}:{port}:{db}:*:{PW}\n")).unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = run_with(h, &["tracker", "user", "list", "--db", &url], &[]);
    assert_eq!(open.status.code(), Some(1), "{}", text(&open));
    assert!(
        text(&open).contains("group or world access"),
        "{}",
        text(&open)
    );
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let listed = run_with(h, &["tracker", "user", "list", "--db", &url], &[]);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(text(&listed).contains("alice"), "{}", text(&listed));
    std::fs::remove_file(&pgpass).unwrap();

    let pw_file = h.join("db-password");
    std::fs::write(&pw_file, format!("{PW}\n")).unwrap();
    let pw_path = pw_file.to_str().unwrap();
    let filed = run_with(
        h,
        &[
            "tracker",
            "user",
            "add",
            "bob",
            "--db",
            &url,
            "--db-password-file",
            pw_path,
        ],
        &[],
    );
    assert!(filed.status.success(), "{}", text(&filed));

    // The whole URL, password included, from a file.
    let url_file = h.join("db-url");
    let with_pw = url.replacen('@', &format!(":{PW}@"), 1);
    std::fs::write(&url_file, format!("{with_pw}\n")).unwrap();
    let stats = run_with(
        h,
        &[
            "tracker",
            "stats",
            "--db-url-file",
            url_file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(stats.status.success(), "{}", text(&stats));
    assert!(text(&stats).contains("users 2"), "{}", text(&stats));

    // serve with the password file, then with PGPASSWORD: ready, and no password in argv.
    for (args, envs) in [
        (vec!["--db-password-file", pw_path], vec![]),
        (vec![], vec![("PGPASSWORD", PW)]),
    ] {
        let mut command = tidings(h);
        command
            .env("HOME", h)
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE")
            .args(["tracker", "serve", "--listen", "127.0.0.1:0", "--db", &url]);
        for (k, v) in envs {
            command.env(k, v);
        }
        let server = TrackerProcess::spawn(command, &args, &url, tempfile::tempdir().unwrap());
        let ready = get(&format!("{}/readyz", server.base_url)).await;
        assert_eq!(ready, (200, "ready\n".to_string()), "{}", server.stderr());
        let argv = std::fs::read(format!("/proc/{}/cmdline", server.pid())).unwrap();
        assert!(!String::from_utf8_lossy(&argv).contains(PW));
        assert!(!server.stderr().contains(PW), "{}", server.stderr());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_live_sqlite_database_while_it_is_written() {
    use tidings::tracking::server::db;
    use tidings::tracking::wire::{RecipientRegistration, Registration};
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let live = db::open(&url).await.unwrap();
    live.add_user("alice").await.unwrap();
    let register = |n: usize| Registration {
        message_id: format!("<m{n}@example.com>"),
        sent_at: chrono::Utc::now(),
        recipients: vec![RecipientRegistration {
            address: format!("r{n}@example.com"),
            token: tidings::tracking::token::new_tracking_token(),
            links: Vec::new(),
        }],
    };
    for n in 0..300 {
        live.register(1, register(n)).await.unwrap();
    }
    // Registrations keep committing on their own connection while the backup runs.
    let writer = {
        let live = live.clone();
        tokio::spawn(async move {
            for n in 300..1300 {
                live.register(1, register(n)).await.unwrap();
            }
        })
    };
    let out = dir.path().join("backup.sqlite3");
    let source = dir.path().join("tracker.sqlite3");
    let (src, dst) = (source.clone(), out.clone());
    let summary = tokio::task::spawn_blocking(move || db::backup::backup_sqlite(&src, &dst))
        .await
        .unwrap()
        .unwrap();
    writer.await.unwrap();
    assert!(summary.messages >= 300, "{summary:?}");
    assert_eq!(summary.users, 1);
    // One self-contained file, which a tracker opens as its database.
    assert!(!dir.path().join("backup.sqlite3-wal").exists());
    let copy = db::open(&format!("sqlite:{}", out.display()))
        .await
        .unwrap();
    assert_eq!(copy.stats().await.unwrap().messages, summary.messages);

    // The command, on the finished database; a PostgreSQL URL is pointed at pg_dump.
    let out2 = dir.path().join("again.sqlite3");
    let said = run_cli(&["tracker", "backup", "--db", &url, out2.to_str().unwrap()]);
    assert!(said.contains("1300 messages"), "{said}");
    let (code, _, err) = run_cli_status(&[
        "tracker",
        "backup",
        "--db",
        "postgres://u@127.0.0.1:1/x",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("pg_dump"), "{err}");
}
