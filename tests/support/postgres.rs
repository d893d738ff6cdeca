//! A private PostgreSQL cluster for the test run: `initdb` into a temp dir, `postgres` listening
//! on 127.0.0.1 at a free port with its socket dir inside the temp dir. PostgreSQL refuses to run
//! as root, so as root the cluster runs as the `postgres` user (or `nobody`) through `setpriv`.
//! The server gets SIGTERM when the test process exits (`--pdeathsig` from a thread that lives as
//! long as the process). One cluster per test binary; each test gets its own database.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Cluster {
    pub port: u16,
    /// The postmaster's pid, to stop a private cluster.
    pid: u32,
    _dir: tempfile::TempDir,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

const INSTALL_HINT: &str =
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; install them with `apt-get install postgresql`";

fn bin_dir() -> Result<PathBuf, String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| INSTALL_HINT.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists() && p.join("postgres").exists())
        .collect();
    // The newest major version wins.
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().ok_or_else(|| INSTALL_HINT.to_string())
}

fn output_of(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The user the cluster runs as when we are root: (name, uid, gid).
fn service_user() -> Result<Option<(String, u32, u32)>, String> {
    if output_of("id", &["-u"]).as_deref() != Some("0") {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        let uid = output_of("id", &["-u", name]).and_then(|s| s.parse().ok());
        let gid = output_of("id", &["-g", name]).and_then(|s| s.parse().ok());
        if let (Some(uid), Some(gid)) = (uid, gid) {
            return Ok(Some((name.to_string(), uid, gid)));
        }
    }
    Err("running as root but neither a `postgres` nor a `nobody` user exists".into())
}

/// A command that runs `program` as the service user when we are root.
fn as_service_user(user: &Option<(String, u32, u32)>, program: &Path) -> Command {
    match user {
        Some((_, uid, gid)) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg("--pdeathsig=TERM")
                .arg("--")
                .arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// The cluster's dir outlives the test process (it is in a static); earlier runs' dirs are
/// removed here once their server is gone (no `postmaster.pid`) and they are old enough not to
/// be another run's cluster still being set up.
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("tidings-pg-"));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if is_ours && old && !path.join("data/postmaster.pid").exists() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn start() -> Result<Cluster, String> {
    remove_stale_clusters();
    let bin = bin_dir()?;
    let user = service_user()?;
    let dir = tempfile::Builder::new()
        .prefix("tidings-pg-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let data = dir.path().join("data");
    let sock = dir.path().join("sock");
    std::fs::create_dir_all(&sock).map_err(|e| e.to_string())?;
    if let Some((_, uid, gid)) = &user {
        for p in [dir.path(), sock.as_path()] {
            std::os::unix::fs::chown(p, Some(*uid), Some(*gid))
                .map_err(|e| format!("chown {}: {e}", p.display()))?;
        }
    }
    let init = as_service_user(&user, &bin.join("initdb"))
        .args([
            "--auth=trust",
            "--username=postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ])
        .arg("-D")
        .arg(&data)
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !init.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        ));
    }
    // The superuser the tests connect as needs no password; every other role does, so a test
    // can tell that a password was really sent (and from where).
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\n\
         host all postgres 127.0.0.1/32 trust\n\
         host all postgres ::1/128 trust\n\
         host all all 127.0.0.1/32 scram-sha-256\n\
         host all all ::1/128 scram-sha-256\n",
    )
    .map_err(|e| format!("pg_hba.conf: {e}"))?;
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("postgres.log")).map_err(|e| e.to_string())?;
    let mut server = as_service_user(&user, &bin.join("postgres"));
    server
        .arg("-D")
        .arg(&data)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
        .arg(&sock)
        // A throwaway cluster: durability of the cluster itself is not under test here.
        .args(["-c", "fsync=off", "-c", "max_connections=200"])
        .stdout(Stdio::null())
        .stderr(log);
    // The spawning thread must outlive every test: --pdeathsig fires when it ends.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = server.spawn();
        let ok = child.is_ok();
        let _ = tx.send(child.as_ref().map(|c| c.id()).map_err(|e| e.to_string()));
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    let pid = rx
        .recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("postgres did not start: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && sql(port, "postgres", "SELECT 1").is_ok()
        {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.path().join("postgres.log")).unwrap_or_default();
            return Err(format!("postgres did not come up on port {port}: {log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Cluster {
        port,
        pid,
        _dir: dir,
    })
}

/// Runs one statement on the cluster. On its own thread with its own runtime, so it can be
/// called from sync code and from inside a test's runtime alike.
fn sql(port: u16, db: &str, statement: &str) -> Result<(), String> {
    let (db, statement) = (db.to_string(), statement.to_string());
    std::thread::spawn(move || sql_blocking(port, &db, &statement))
        .join()
        .map_err(|_| "the SQL thread panicked".to_string())?
}

fn sql_blocking(port: u16, db: &str, statement: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user=postgres dbname={db}"),
            tokio_postgres::NoTls,
        )
        .await
        .map_err(|e| e.to_string())?;
        let task = tokio::spawn(conn);
        let result = client
            .batch_execute(statement)
            .await
            .map_err(|e| e.to_string());
        drop(client);
        let _ = task.await;
        result
    })
}

/// The shared cluster, started on first use; panics with an install hint if PostgreSQL is missing.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(e) => panic!("cannot start the test PostgreSQL: {e}"),
    }
}

/// A fresh, empty database on the shared cluster: its `postgres://` URL.
pub fn fresh_database() -> String {
    cluster().fresh_database()
}

/// A cluster of the test's own, which it may stop (the shared one must keep running).
pub fn private_cluster() -> Cluster {
    start().unwrap_or_else(|e| panic!("cannot start a private test PostgreSQL: {e}"))
}

impl Cluster {
    /// A fresh, empty database: its `postgres://` URL (as the superuser, no password).
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        // CREATE DATABASE cannot run inside a transaction block, so it is sent on its own.
        self.execute("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `statement` in database `db` as the superuser.
    pub fn execute(&self, db: &str, statement: &str) -> Result<(), String> {
        sql(self.port, db, statement)
    }

    /// Fast shutdown (SIGINT: sessions are cut, as when the server crashes or is stopped for
    /// maintenance), then waits until the port is closed.
    pub fn stop(&self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "postgres did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
