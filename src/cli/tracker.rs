//! `tidings tracker …`: run the tracking server, manage its users (add, list, rotate, remove),
//! and count what it stored.

use crate::tracking::server::db;
use crate::tracking::server::{self, Metrics, ServerOptions};
use anyhow::Context as _;
use clap::Subcommand;
use ipnet::IpNet;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

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
        /// `sqlite:PATH` or `postgres://user@host/db`
        #[arg(long, env = "TIDINGS_TRACKER_DB", value_name = "URL")]
        db: String,
        /// One JSON object on stdout
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; its API token is the last line of stdout (shown once, stored hashed)
    Add {
        /// A name for the user (unique)
        name: String,
        /// `sqlite:PATH` or `postgres://user@host/db`
        #[arg(long, env = "TIDINGS_TRACKER_DB", value_name = "URL")]
        db: String,
    },
    /// List the users: name, created, messages registered (never a token)
    List {
        /// `sqlite:PATH` or `postgres://user@host/db`
        #[arg(long, env = "TIDINGS_TRACKER_DB", value_name = "URL")]
        db: String,
        /// One JSON object on stdout
        #[arg(long)]
        json: bool,
    },
    /// Give a user a new API token (the last line of stdout); the old one stops working at once
    Rotate {
        name: String,
        /// `sqlite:PATH` or `postgres://user@host/db`
        #[arg(long, env = "TIDINGS_TRACKER_DB", value_name = "URL")]
        db: String,
    },
    /// Revoke a user's token; its data is kept, unreadable, unless --purge deletes it
    Remove {
        name: String,
        /// `sqlite:PATH` or `postgres://user@host/db`
        #[arg(long, env = "TIDINGS_TRACKER_DB", value_name = "URL")]
        db: String,
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
    /// `sqlite:PATH` or `postgres://user@host/db`
    #[arg(long, env = "TIDINGS_TRACKER_DB", value_name = "URL")]
    pub db: String,
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
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run(args: &TrackerArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        TrackerCommand::Serve(serve) => runtime()?.block_on(serve_command(serve)),
        TrackerCommand::User { command } => runtime()?.block_on(user_command(command)),
        TrackerCommand::Stats { db: url, json } => runtime()?.block_on(async {
            let db = db::open(url).await?;
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
        UserCommand::Add { name, db: url } => {
            if name.trim().is_empty() {
                anyhow::bail!("the user name must not be empty");
            }
            let db = db::open(url).await?;
            let token = db.add_user(name).await?;
            writeln!(
                out,
                "created tracker user {name:?}; its API token (shown only now):"
            )?;
            writeln!(out, "{token}")?;
        }
        UserCommand::List { db: url, json } => {
            let users = db::open(url).await?.list_users().await?;
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
        UserCommand::Rotate { name, db: url } => {
            let token = db::open(url).await?.rotate_user(name).await?;
            writeln!(
                out,
                "new API token for tracker user {name:?} (shown only now; the old one no longer works):"
            )?;
            writeln!(out, "{token}")?;
        }
        UserCommand::Remove {
            name,
            db: url,
            purge,
        } => {
            let removal = db::open(url).await?.remove_user(name, *purge).await?;
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

async fn serve_command(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let db = db::open_with(&args.db, args.durability).await?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let metrics = Arc::new(Metrics::default());
    if let Some(days) = args.retention_days {
        server::http::spawn_retention(db.clone(), days, metrics.clone());
    }
    let options = ServerOptions {
        scanner_window_seconds: args.scanner_window_seconds,
        trusted_proxies: args.trusted_proxy.clone(),
        ip_prefix_v4: args.ip_prefix_v4,
        ip_prefix_v6: args.ip_prefix_v6,
    };
    tracing::info!("tracker listening on {local}");
    // Scripts and tests read the address from this line (useful with port 0).
    // A supervisor that does not read stdout must not stop the server: the line is best effort.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "tidings tracker listening on http://{local}").and_then(|()| out.flush());
    drop(out);
    server::serve(listener, db, options, metrics, shutdown_signal())
        .await
        .context("the server stopped")?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
