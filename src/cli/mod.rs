//! The headless command line: clap definitions and dispatch. Scripts and tests rely on these
//! commands, their flags, their JSON and their exit codes (0 ok, 1 failure, 2 usage).

mod account;
mod account_add;
mod completions;
pub mod demo;
mod followups;
mod forget_account;
mod mail;
mod schedule;
mod send;
mod show;
mod snooze;
mod superdata;
mod tracker;
pub mod tui;
mod watch;

use crate::config::{Config, Paths};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "tidings",
    version,
    about = "A keyboard-driven terminal inbox that tells you when your mail is read",
    after_help = "Without a command, tidings opens the inbox on the configured accounts \
                  (`tidings demo` tries it on sample mail).\n\
                  Exit codes: 0 success, 1 failure (a one-line reason on stderr), 2 usage; \
                  `send` and `outbox flush` exit 75 when mail waits in the outbox."
)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/tidings/config.toml)
    #[arg(long, global = true, env = "TIDINGS_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Data dir for the cache and logs (default: $XDG_DATA_HOME/tidings)
    #[arg(long, global = true, env = "TIDINGS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List cached messages (run `tidings sync` first)
    List(ListArgs),
    /// Send a mail through the outbox (exit 0 delivered, 75 queued for later, 1 refused)
    Send(SendArgs),
    /// Show the mails waiting in the outbox, or flush / retry / confirm / edit them
    Outbox(OutboxArgs),
    /// List saved drafts (autosaved by the composer)
    Drafts(DraftsArgs),
    /// Sync every folder of one account (default: all accounts); progress on stderr
    Sync(SyncArgs),
    /// Mark messages read/unread or flagged/unflagged, on the server and in the cache
    Flag(FlagArgs),
    /// Move messages to a folder of their account
    Move(MoveArgs),
    /// Move messages to the account's Archive folder
    Archive(IdsArgs),
    /// Move messages to Trash (messages already in Trash are deleted for good)
    Delete(IdsArgs),
    /// The tracking server and its users
    Tracker(tracker::TrackerArgs),
    /// Public data about a contact or a domain (Gravatar, homepage, RDAP, MX), on request only
    Superdata(superdata::SuperdataArgs),
    /// Contacts gathered from the cached mail
    Contacts(superdata::ContactsArgs),
    /// Delete everything stored about a contact (contact, preferences, Superdata); mail is kept
    Forget(superdata::ForgetArgs),
    /// Delete the cache (mail, outbox, tracking state) of an account renamed or removed from
    /// the config; refuses while it has unsent mail or queued changes, unless --force
    ForgetAccount(ForgetAccountArgs),
    /// Show one message as the reader pane renders it (`--raw`: its bytes)
    Show(ShowArgs),
    /// Put a received message away until a time (it moves to Snoozed and comes back unread)
    Snooze(snooze::SnoozeArgs),
    /// Bring a snoozed message back now
    Unsnooze(snooze::UnsnoozeArgs),
    /// Poll the tracker and notify, send scheduled mail, return snoozed messages (headless;
    /// `--once`: one round of each)
    Watch(WatchArgs),
    /// Reminders on sent mail, due first: who has not answered (or opened) yet
    Followups(FollowupsArgs),
    /// Try tidings on a realistic demo mailbox (no account, no network; never touches your data)
    Demo(DemoArgs),
    /// Set up and list accounts
    Account(AccountArgs),
    /// Print a completion script for bash, zsh or fish
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff)
    Man,
}

#[derive(Debug, clap::Args)]
pub struct AccountArgs {
    #[command(subcommand)]
    pub action: AccountAction,
}

#[derive(Debug, Subcommand)]
pub enum AccountAction {
    /// Set an account up: discover its servers, check the login, add it to the config
    Add(account_add::AddArgs),
    /// Each account, how it signs in and whether it is signed in
    List(account_add::ListArgs),
    /// Sign in with OAuth2 (a browser; `--device`: a code to enter on another device), or save
    /// the password of a `password_source = "keyring"` account
    Login(account::LoginArgs),
    /// Forget the account's OAuth2 tokens or saved password (sign in again with `tidings account
    /// login`)
    Logout(account::LogoutArgs),
}

impl AccountAction {
    /// Login and logout work on the typed config (they need the account's `[oauth2]` and the
    /// data dir); add and list read the file as text.
    fn needs_context(&self) -> bool {
        matches!(self, AccountAction::Login(_) | AccountAction::Logout(_))
    }
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Only this account (its name in the config, [accounts.NAME])
    #[arg(long)]
    pub account: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("change").required(true).multiple(false)
    .args(["seen", "unseen", "flagged", "unflagged"])))]
pub struct FlagArgs {
    /// Message ids (from `tidings list`)
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i64>,
    /// Mark as read
    #[arg(long)]
    pub seen: bool,
    /// Mark as unread
    #[arg(long)]
    pub unseen: bool,
    /// Flag (star)
    #[arg(long)]
    pub flagged: bool,
    /// Remove the flag
    #[arg(long)]
    pub unflagged: bool,
}

#[derive(Debug, clap::Args)]
#[command(override_usage = "tidings move <ID>... <FOLDER>")]
pub struct MoveArgs {
    /// Message ids (from `tidings list`), then the destination folder
    #[arg(required = true, num_args = 2.., value_name = "ID... FOLDER")]
    pub args: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct IdsArgs {
    /// Message ids (from `tidings list`)
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i64>,
}

#[derive(Debug, clap::Args)]
pub struct ForgetAccountArgs {
    /// The cached account's name (as in `tidings list --json`'s `account`)
    pub name: String,
    /// Also drop its unsent outbox mail and queued server changes
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the demo mailbox in DIR (new, empty, or an earlier demo dir) instead of a temporary dir
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Colour theme (shipped: see themes/; or yours in ~/.config/tidings/themes/); default: the
    /// `theme` of your config file, if any
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Poll until caught up, then exit (1 with the reason if the tracker fails)
    #[arg(long)]
    pub once: bool,
    /// Only the tracker of this account (default: every account's tracker)
    #[arg(long)]
    pub account: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Message id, as `tidings list` prints it
    pub id: i64,
    /// The message as received; on a terminal, control characters are made visible
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, clap::Args)]
pub struct DraftsArgs {
    /// Only this account's drafts
    #[arg(long)]
    pub account: Option<String>,
    /// One JSON array on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// Recipients: `addr` or `Name <addr>`, several after one flag or comma-separated
    #[arg(long, required = true, num_args = 1.., value_name = "ADDR")]
    pub to: Vec<String>,
    /// Copy recipients, as --to
    #[arg(long, num_args = 1.., value_name = "ADDR")]
    pub cc: Vec<String>,
    /// Blind copy recipients, as --to (in the envelope only; kept in your Sent copy)
    #[arg(long, num_args = 1.., value_name = "ADDR")]
    pub bcc: Vec<String>,
    /// The subject (one line: line breaks become spaces); with --template, overrides its own
    #[arg(long, required_unless_present = "template")]
    pub subject: Option<String>,
    /// The text/plain body (default: read from stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "template")]
    pub body_file: Option<PathBuf>,
    /// Write from a template in $XDG_CONFIG_HOME/tidings/templates (placeholders filled from the
    /// first To recipient; an unfilled one refuses the send)
    #[arg(long, value_name = "NAME")]
    pub template: Option<String>,
    /// Send at this time instead of now: "2026-12-08 09:00" (local time), RFC 3339, "tomorrow
    /// 09:00", "in 2h"; exits 0 once scheduled (`tidings watch` or the TUI sends it then)
    #[arg(
        long,
        value_name = "TIME",
        conflicts_with = "untracked_if_tracker_down"
    )]
    pub at: Option<String>,
    /// An HTML alternative to the text body
    #[arg(long, value_name = "FILE")]
    pub html_file: Option<PathBuf>,
    /// A file to attach (repeatable)
    #[arg(long, num_args = 1.., value_name = "PATH")]
    pub attach: Vec<PathBuf>,
    /// Account to send from (default: the first by name, as accounts are sorted)
    #[arg(long)]
    pub account: Option<String>,
    /// Track opens (a pixel per recipient); without this or --no-track-opens the last choice applies
    #[arg(long, overrides_with = "no_track_opens")]
    pub track_opens: bool,
    /// Do not track opens
    #[arg(long, overrides_with = "track_opens")]
    pub no_track_opens: bool,
    /// Track link clicks (links per recipient); without this or --no-track-links the last choice applies
    #[arg(long, overrides_with = "no_track_links")]
    pub track_links: bool,
    /// Do not track links
    #[arg(long, overrides_with = "track_links")]
    pub no_track_links: bool,
    /// If the tracker cannot be reached, send untracked (with a warning) instead of waiting
    #[arg(long)]
    pub untracked_if_tracker_down: bool,
    /// Remind me when nobody answered within this long: 90s, 30m, 2h, 3d, 1w
    #[arg(long, value_name = "DURATION", value_parser = parse_remind_after)]
    pub remind_after: Option<chrono::Duration>,
    /// What cancels the reminder: a reply (default), or for no-open also a human open
    #[arg(
        long,
        value_enum,
        requires = "remind_after",
        default_value = "no-reply"
    )]
    pub remind_if: RemindIfArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RemindIfArg {
    NoReply,
    NoOpen,
}

fn parse_remind_after(s: &str) -> Result<chrono::Duration, String> {
    match crate::clock::parse_duration(s) {
        Ok(d) if d > chrono::Duration::zero() => Ok(d),
        Ok(_) => Err("the reminder must come after the mail: give a positive duration".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Debug, clap::Args)]
pub struct FollowupsArgs {
    /// JSON only on stdout: one array, due first
    #[arg(long)]
    pub json: bool,
    /// Also reminders settled more than a month ago
    #[arg(long)]
    pub all: bool,
    /// Only this account's reminders
    #[arg(long)]
    pub account: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct OutboxArgs {
    /// JSON only on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Also list mails already sent
    #[arg(long)]
    pub all: bool,
    #[command(subcommand)]
    pub action: Option<OutboxAction>,
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Try every waiting mail now (exit 0 all sent, 75 some still waiting, 1 some refused)
    Flush,
    /// Send a refused or unconfirmed mail again (your decision: it did not arrive)
    Retry { id: i64 },
    /// Mark an unconfirmed mail as sent (you checked: it arrived)
    Confirm { id: i64 },
    /// Move a waiting or refused mail back to the drafts to change it
    Edit { id: i64 },
    /// Send a tracked mail that waits for the tracker untracked instead (with a warning)
    Untrack { id: i64 },
    /// Drop a waiting or scheduled mail from the outbox without sending it
    Cancel { id: i64 },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FilterArg {
    Unread,
    Flagged,
    Tracked,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only this account
    #[arg(long)]
    pub account: Option<String>,
    /// Folder name (default INBOX; with --search, every folder unless given)
    #[arg(long)]
    pub folder: Option<String>,
    /// Only unread or flagged messages; `tracked`: tracked sent mail with opens and clicks
    #[arg(long, value_enum)]
    pub filter: Option<FilterArg>,
    /// Search: words, "phrases", from: to: cc: subject: body: has:attachment
    /// is:unread|read|flagged|tracked|answered|replied folder: before: after: on: (2024-03-01,
    /// 2024-03, today, 7d), -term negates, a OR b (see docs/search.md)
    #[arg(long, allow_hyphen_values = true)]
    pub search: Option<String>,
    /// At most this many messages, newest first
    #[arg(long)]
    pub limit: Option<u64>,
    /// One JSON array on stdout
    #[arg(long)]
    pub json: bool,
}

/// What every command gets: resolved paths and the parsed config.
pub struct Context {
    pub paths: Paths,
    pub config: Config,
}

impl Context {
    pub fn load(cli: &Cli) -> anyhow::Result<Context> {
        let paths = Paths::resolve(cli.config.clone(), cli.data_dir.clone())?;
        let mut config = Config::load(&paths.config_file)?;
        config.bind_data_dir(&paths.data_dir);
        Ok(Context { paths, config })
    }

    /// The config file for an error about a missing setting, marked when the file is not there:
    /// a mistyped `--config` path reads as an empty config, and the user must see which.
    pub fn config_file_note(&self) -> String {
        let path = self.paths.config_file.display();
        if self.paths.config_file.exists() {
            path.to_string()
        } else {
            format!("{path} (no such file)")
        }
    }

    pub fn open_store(&self) -> anyhow::Result<crate::store::Store> {
        Ok(crate::store::Store::open(&self.paths.db_path())?)
    }
}

/// Runs the parsed command line; errors become a one-line reason on stderr and exit code 1.
pub fn run(cli: Cli) -> ExitCode {
    crate::private_files::restrict_umask();
    let result = (|| -> anyhow::Result<ExitCode> {
        if let Some(Command::Demo(args)) = &cli.command {
            // Before Context::load: the demo reads no config and opens no log in the data dir.
            return demo::demo(args, cli.config.clone());
        }
        // Before Context::load: these need no valid config (completions none at all, and the
        // account commands read the file as text to add to it or list it). The tracker is a
        // server: it reads no user config and logs to stderr (or --log-file), not to a file
        // under a home directory that a hardened service does not have.
        match &cli.command {
            Some(Command::Completions(args)) => return completions::completions(args),
            Some(Command::Man) => return completions::man(),
            Some(Command::Account(args)) if !args.action.needs_context() => {
                let paths = Paths::resolve(cli.config.clone(), cli.data_dir.clone())?;
                return account_add::run(&paths, args);
            }
            Some(Command::Tracker(args)) => return tracker::run(args),
            _ => {}
        }
        let ctx = Context::load(&cli)?;
        let tightened = crate::private_files::tighten_data_dir(&ctx.paths.data_dir);
        let _log = crate::logging::init(&ctx.paths.log_dir());
        match tightened {
            Ok(changed) if !changed.is_empty() => tracing::warn!(
                "{}: made private (files 0600, directories 0700): {} path(s) others could read",
                ctx.paths.data_dir.display(),
                changed.len()
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                "{}: could not make private: {e}",
                ctx.paths.data_dir.display()
            ),
        }
        match cli.command {
            Some(Command::List(args)) => mail::list(&ctx, &args),
            Some(Command::Send(args)) => send::send(&ctx, &args),
            Some(Command::Outbox(args)) => send::outbox(&ctx, &args),
            Some(Command::Drafts(args)) => send::drafts(&ctx, &args),
            Some(Command::Sync(args)) => mail::sync(&ctx, &args),
            Some(Command::Flag(args)) => mail::flag(&ctx, &args),
            Some(Command::Move(args)) => mail::move_to(&ctx, &args),
            Some(Command::Archive(args)) => mail::archive(&ctx, &args),
            Some(Command::Delete(args)) => mail::delete(&ctx, &args),
            Some(Command::Tracker(args)) => tracker::run(&args),
            Some(Command::Superdata(args)) => superdata::superdata(&ctx, &args),
            Some(Command::Contacts(args)) => superdata::contacts(&ctx, &args),
            Some(Command::Forget(args)) => superdata::forget(&ctx, &args),
            Some(Command::ForgetAccount(args)) => forget_account::forget_account(&ctx, &args),
            Some(Command::Show(args)) => show::show(&ctx, &args),
            Some(Command::Snooze(args)) => snooze::snooze(&ctx, &args),
            Some(Command::Unsnooze(args)) => snooze::unsnooze(&ctx, &args),
            Some(Command::Watch(args)) => watch::watch(&ctx, &args),
            Some(Command::Followups(args)) => followups::followups(&ctx, &args),
            Some(Command::Demo(args)) => demo::demo(&args, Some(ctx.paths.config_file.clone())),
            Some(Command::Account(args)) => match &args.action {
                AccountAction::Login(a) => account::login(&ctx, a),
                AccountAction::Logout(a) => account::logout(&ctx, a),
                _ => account_add::run(&ctx.paths, &args),
            },
            Some(Command::Completions(args)) => completions::completions(&args),
            Some(Command::Man) => completions::man(),
            None if ctx.config.accounts.is_empty() => match account_add::first_run(&ctx.paths)? {
                account_add::FirstRun::NotAsked => tui::run(&ctx),
                account_add::FirstRun::Exit(code) => Ok(code),
                // The new account is in the file now: the inbox opens on it.
                account_add::FirstRun::Added => {
                    let mut config = Config::load(&ctx.paths.config_file)?;
                    // Its password is in the secret store, whose file is in the data dir.
                    config.bind_data_dir(&ctx.paths.data_dir);
                    tui::run(&Context {
                        config,
                        paths: ctx.paths,
                    })
                }
            },
            None => tui::run(&ctx),
        }
    })();
    match result {
        Ok(code) => code,
        // A reader that stopped early (`tidings list | head`) is not a failure worth a message.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidings: {}", one_line_reason(&e));
            ExitCode::from(1)
        }
    }
}

/// True when stdout's reader went away, whether the write failed in our own `writeln!` or
/// inside serde_json's writer (which wraps the io::Error in its own type).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let kind = c
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| c.downcast_ref::<serde_json::Error>()?.io_error_kind());
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes joined by ": ". A library error that already shows its source in its
/// own message (thiserror's `#[error("local cache: {0}")]` with `#[from]`) would otherwise say
/// the cause twice; a cause the message before it ends with is left out. A server's answer can
/// be part of it, so line breaks and terminal controls are taken out: one line, nothing obeyed.
fn one_line_reason(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    crate::sanitize::sanitize_line(&parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::one_line_reason;

    #[derive(Debug, thiserror::Error)]
    #[error("local cache: {0}")]
    struct Wrapper(#[from] std::io::Error);

    #[test]
    fn the_reason_is_one_line_with_each_cause_once_and_no_controls() {
        let io = std::io::Error::other("server said \x1b]0;pwned\x07NO\r\nsecond line");
        let e = anyhow::Error::new(Wrapper(io)).context("syncing work");
        assert_eq!(
            one_line_reason(&e),
            "syncing work: local cache: server said ]0;pwnedNO second line"
        );
    }
}
