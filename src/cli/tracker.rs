//! `tidings tracker …`: run the tracking server, manage its users (add, list, rotate, remove),
//! count what it stored, and back up an SQLite tracker database. These commands log to stderr
//! (a service's journal) or to `--log-file`, never under a home directory.

use crate::tracking::server::db::{self, TrackerDb};
use crate::tracking::server::{self, Metrics, ServerOptions};
use anyhow::Context as _;
use clap::Subcommand;
use ipnet::IpNet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Where the tracker's database is, and where its password comes from — never the command line
/// when it can be helped: `ps` shows every process's arguments to every user.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// `sqlite:PATH` or `postgres://USER@HOST/DB` (leave the password out: see --db-password-file)
    #[arg(
        long,
        env = "TIDINGS_TRACKER_DB",
        value_name = "URL",
        hide_env_values = true
    )]
    pub db: Option<String>,
    /// Read the whole database URL from the first line of this file (instead of --db)
    #[arg(long, value_name = "PATH")]
    pub db_url_file: Option<PathBuf>,
    /// PostgreSQL password, the first line of this file, when the URL has none; without it
    /// PGPASSWORD, then PGPASSFILE or ~/.pgpass (mode 0600) are used, as psql does
    #[arg(
        long,
        env = "TIDINGS_TRACKER_DB_PASSWORD_FILE",
        value_name = "PATH",
        hide_env_values = true
    )]
    pub db_password_file: Option<PathBuf>,
}

impl DbArgs {
    /// The URL: from `--db-url-file` if given, else `--db` / `TIDINGS_TRACKER_DB`.
    pub fn url(&self) -> anyhow::Result<String> {
        if let Some(path) = &self.db_url_file {
            return Ok(db::password::read_url_file(path)?);
        }
        self.db.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "no tracker database: pass --db URL or --db-url-file PATH, or set TIDINGS_TRACKER_DB"
            )
        })
    }

    async fn open(&self, durability: db::Durability) -> anyhow::Result<Arc<dyn TrackerDb>> {
        let options = db::ConnectOptions {
            durability,
            password_file: self.db_password_file.clone(),
        };
        Ok(db::open_with_options(&self.url()?, &options).await?)
    }
}

#[derive(Debug, clap::Args)]
pub struct TrackerArgs {
    #[command(subcommand)]
    pub command: TrackerCommand,
}

#[derive(Debug, Subcommand)]
pub enum TrackerCommand {
    /// Run the tracking server (pixels, links, opt-outs, the events API)
    Serve(ServeArgs),
    /// Manage the tracker's users
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Count the users, messages and events in a tracker database
    Stats {
        #[command(flatten)]
        db: DbArgs,
        /// One JSON object on stdout
        #[arg(long)]
        json: bool,
    },
    /// Copy a running SQLite tracker's database with SQLite's online backup (PostgreSQL: pg_dump)
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// The copy (written beside it first, then renamed over any earlier file)
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; its API token is the last line of stdout (shown once, stored hashed)
    Add {
        /// A name for the user (unique)
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List the users: name, created, messages registered (never a token)
    List {
        #[command(flatten)]
        db: DbArgs,
        /// One JSON object on stdout
        #[arg(long)]
        json: bool,
    },
    /// Give a user a new API token (the last line of stdout); the old one stops working at once
    Rotate {
        name: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Revoke a user's token; its data is kept, unreadable, unless --purge deletes it
    Remove {
        name: String,
        #[command(flatten)]
        db: DbArgs,
        /// Also delete the user's messages, recipients, links, events and opt-outs
        #[arg(long)]
        purge: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one (printed on stdout)
    #[arg(long, default_value = "127.0.0.1:8025", value_name = "ADDR")]
    pub listen: String,
    #[command(flatten)]
    pub db: DbArgs,
    /// Delete events older than this many days (checked at start and hourly)
    #[arg(long, value_name = "N")]
    pub retention_days: Option<u32>,
    /// A reverse proxy whose X-Forwarded-For is believed (repeatable); without it the header is ignored
    #[arg(long, value_name = "CIDR")]
    pub trusted_proxy: Vec<IpNet>,
    /// Opens and clicks this soon after sending are classified as security scanners
    #[arg(long, default_value_t = 60, value_name = "N")]
    pub scanner_window_seconds: i64,
    /// Bits of an IPv4 client address stored (32 keeps it whole)
    #[arg(long, default_value_t = 24, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=32))]
    pub ip_prefix_v4: u8,
    /// Bits of an IPv6 client address stored (128 keeps it whole)
    #[arg(long, default_value_t = 48, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=128))]
    pub ip_prefix_v6: u8,
    /// When a hit is answered: `fsync` once it is on disk (survives power loss), `process` once
    /// the OS or the database server has it (survives kill -9 of the tracker, not a machine crash)
    #[arg(long, value_enum, default_value_t = db::Durability::Fsync)]
    pub durability: db::Durability,
    /// Serve /metrics (and /healthz, /readyz) on this address of its own, e.g. 127.0.0.1:9025;
    /// port 0 picks a free one (printed on stdout)
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Also serve /metrics on the public listener, to requests with `Authorization: Bearer
    /// TOKEN`, TOKEN being the first line of this file (at least 16 characters)
    #[arg(long, value_name = "PATH")]
    pub metrics_token_file: Option<PathBuf>,
    /// Append the log to this file instead of writing it to stderr
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// How often the server checks that it can still write to its database, so an outage (and its
/// end) is logged even while no request comes in.
const READINESS_WATCH_EVERY: Duration = Duration::from_secs(15);

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run(args: &TrackerArgs) -> anyhow::Result<ExitCode> {
    let log_file = match &args.command {
        TrackerCommand::Serve(serve) => serve.log_file.as_deref(),
        _ => None,
    };
    crate::logging::init_server(log_file).with_context(|| {
        format!(
            "cannot open the log file {}",
            log_file
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )
    })?;
    match &args.command {
        TrackerCommand::Serve(serve) => runtime()?.block_on(serve_command(serve)),
        TrackerCommand::User { command } => runtime()?.block_on(user_command(command)),
        TrackerCommand::Backup { db: db_args, out } => backup_command(db_args, out),
        TrackerCommand::Stats { db: db_args, json } => runtime()?.block_on(async {
            let db = db_args.open(db::Durability::Fsync).await?;
            let stats = db.stats().await?;
            let mut out = std::io::stdout().lock();
            if *json {
                writeln!(out, "{}", serde_json::to_string(&stats)?)?;
            } else {
                writeln!(
                    out,
                    "users {}\nmessages {}\nopens {}\nclicks {}",
                    stats.users, stats.messages, stats.opens, stats.clicks
                )?;
                if stats.removed_users > 0 {
                    writeln!(
                        out,
                        "removed users {} (their messages and events are counted above until \
                         `tidings tracker user remove NAME --purge`)",
                        stats.removed_users
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }),
    }
}

async fn user_command(command: &UserCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        UserCommand::Add { name, db: db_args } => {
            if name.trim().is_empty() {
                anyhow::bail!("the user name must not be empty");
            }
            let db = db_args.open(db::Durability::Fsync).await?;
            let token = db.add_user(name).await?;
            writeln!(
                out,
                "created tracker user {name:?}; its API token (shown only now):"
            )?;
            writeln!(out, "{token}")?;
        }
        UserCommand::List { db: db_args, json } => {
            let users = db_args
                .open(db::Durability::Fsync)
                .await?
                .list_users()
                .await?;
            if *json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&serde_json::json!({ "users": users }))?
                )?;
            } else {
                writeln!(
                    out,
                    "{:<24} {:<20} {:>8}  STATE",
                    "NAME", "CREATED", "MESSAGES"
                )?;
                for u in &users {
                    writeln!(
                        out,
                        "{:<24} {:<20} {:>8}  {}",
                        crate::sanitize::sanitize_line(&u.name),
                        u.created_at.format("%Y-%m-%d %H:%M:%S"),
                        u.messages,
                        if u.removed { "removed" } else { "active" }
                    )?;
                }
            }
        }
        UserCommand::Rotate { name, db: db_args } => {
            let token = db_args
                .open(db::Durability::Fsync)
                .await?
                .rotate_user(name)
                .await?;
            writeln!(
                out,
                "new API token for tracker user {name:?} (shown only now; the old one no longer works):"
            )?;
            writeln!(out, "{token}")?;
        }
        UserCommand::Remove {
            name,
            db: db_args,
            purge,
        } => {
            let removal = db_args
                .open(db::Durability::Fsync)
                .await?
                .remove_user(name, *purge)
                .await?;
            let (messages, events) = (removal.messages, removal.events);
            if removal.purged {
                writeln!(
                    out,
                    "removed tracker user {name:?} and deleted its {messages} messages and {events} events"
                )?;
            } else {
                writeln!(
                    out,
                    "removed tracker user {name:?}: its token no longer works; its {messages} messages and \
                     {events} events are kept but nobody can read them (--purge deletes them)"
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn backup_command(db_args: &DbArgs, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    let url = db_args.url()?;
    let Some(Some(source)) = db::sqlite_path(&url) else {
        anyhow::bail!(
            "{}: `tidings tracker backup` copies SQLite databases; back up PostgreSQL with \
             pg_dump (see docs/tracking.md)",
            db::describe_url(&url)
        );
    };
    let summary = db::backup::backup_sqlite(source, out)
        .with_context(|| format!("backing up {} to {}", source.display(), out.display()))?;
    writeln!(
        std::io::stdout().lock(),
        "backed up {} to {}: {} users, {} messages, {} events",
        source.display(),
        out.display(),
        summary.users,
        summary.messages,
        summary.events
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The metrics token's SHA-256 from its file; a short token is refused, being guessable.
fn metrics_token_hash(path: &std::path::Path) -> anyhow::Result<String> {
    let token = std::fs::read_to_string(path)
        .with_context(|| format!("metrics token file {}", path.display()))?;
    let token = token.lines().next().unwrap_or("").trim();
    anyhow::ensure!(
        token.chars().count() >= 16,
        "metrics token file {}: the token must be at least 16 characters",
        path.display()
    );
    Ok(crate::tracking::token::hash_api_token(token))
}

async fn serve_command(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.url()?;
    let metrics_token_sha256 = match &args.metrics_token_file {
        Some(path) => Some(metrics_token_hash(path)?),
        None => None,
    };
    let db = args.db.open(args.durability).await?;
    // Logged once the database is open: a start that fails says why in the one line on stderr
    // that every failing command prints.
    tracing::info!(
        "tidings tracker {} starting: database {}",
        env!("CARGO_PKG_VERSION"),
        db::describe_url(&url)
    );
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let metrics_listener = match &args.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (--metrics-listen)"))?,
        ),
        None => None,
    };
    let metrics = Arc::new(Metrics::default());
    if let Some(days) = args.retention_days {
        server::http::spawn_retention(db.clone(), days, metrics.clone());
    }
    server::spawn_readiness_watch(db.clone(), metrics.clone(), READINESS_WATCH_EVERY);
    let options = ServerOptions {
        scanner_window_seconds: args.scanner_window_seconds,
        trusted_proxies: args.trusted_proxy.clone(),
        ip_prefix_v4: args.ip_prefix_v4,
        ip_prefix_v6: args.ip_prefix_v6,
        metrics_token_sha256,
    };
    tracing::info!("tracker listening on {local}");
    // Scripts and tests read the address from this line (useful with port 0).
    // A supervisor that does not read stdout must not stop the server: the line is best effort.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "tidings tracker listening on http://{local}").and_then(|()| out.flush());
    if let Some(l) = &metrics_listener {
        let addr = l.local_addr()?;
        tracing::info!("tracker metrics on http://{addr}/metrics");
        let _ = writeln!(out, "tidings tracker metrics on http://{addr}/metrics")
            .and_then(|()| out.flush());
    }
    drop(out);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let signal = shutdown_signal().await;
        tracing::info!(
            "tracker: {signal} received, stopping: no new connections, finishing the requests under way"
        );
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let limits = server::ConnectionLimits::default();
    let public = server::serve_with_limits(
        listener,
        db.clone(),
        options,
        metrics.clone(),
        limits,
        stopped(stop_rx.clone()),
    );
    let private = async {
        match metrics_listener {
            Some(l) => {
                let app = server::metrics_router(db.clone(), metrics.clone());
                server::serve_app(l, app, limits, stopped(stop_rx.clone())).await
            }
            None => Ok(()),
        }
    };
    let (public, private) = tokio::join!(public, private);
    public.context("the server stopped")?;
    private.context("the metrics listener stopped")?;
    tracing::info!("tracker stopped");
    Ok(ExitCode::SUCCESS)
}

/// Waits for SIGTERM (systemd's stop) or Ctrl-C; says which.
async fn shutdown_signal() -> &'static str {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(
                        "tracker: cannot listen for SIGTERM ({e}); only Ctrl-C stops it"
                    );
                    let _ = ctrl_c.await;
                    return "SIGINT";
                }
            };
        tokio::select! {
            _ = ctrl_c => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
        "Ctrl-C"
    }
}
