//! `tidings demo`: a throw-away mailbox to try tidings with no account and no network.
//!
//! The demo never touches the user's own data: it ignores `--data-dir`/`TIDINGS_DATA_DIR` and the
//! config file, and works in a fresh temporary directory that is deleted on exit (logs included).
//! `--dir DIR` keeps the demo mailbox in DIR instead, so it can be explored with the other
//! commands (`tidings --data-dir DIR list`); DIR must be new, empty, or an earlier demo dir.
//!
//! The demo account is seeded into the store and configured in memory only, without `[imap]`
//! (the sync engine skips it), with `[smtp]` pointing at an embedded SMTP server on 127.0.0.1
//! ([`crate::demo::smtp`]): mail written in the demo goes through the real outbox and
//! SMTP path, a copy to the demo user lands in its INBOX, every recipient's copy is kept in
//! `<dir>/delivered/`, and the Sent copy is filed in the store. An embedded tracker
//! ([`crate::demo::tracker`]) makes tracked sending work too, and on a new demo dir some of
//! the seeded Sent mail is tracked, with recipients' opens and clicks played against the tracker
//! ([`crate::demo::traffic`]): a few at start, a few more during the first minute, so the
//! Tracked filter, the timeline, the bell and the activity pane have something to show.

use super::mail::list;
use super::{Context, DemoArgs, FilterArg, ListArgs};
use crate::config::{AccountConfig, Config, Paths};
use crate::demo::mailbox::{seed, DemoSummary, DEMO_ACCOUNT, DEMO_EMAIL, DEMO_NAME};
use crate::demo::smtp::{LocalSmtp, LocalSmtpOptions};
use crate::demo::tracker::EmbeddedTracker;
use crate::demo::traffic::{self, LiveHits, SCRIPT};
use crate::store::Store;
use crate::tracking::client::poller::{Poller, PollerConfig};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A file that marks a directory as made by `tidings demo`, so `--dir` never seeds into (and
/// never mixes demo mail with) a real cache.
const DEMO_MARKER: &str = "tidings-demo";
/// Locked while a demo runs in the dir.
const DEMO_LOCK: &str = "tidings-demo.lock";

/// A seeded demo data dir, ready for the CLI or the TUI. Dropping it deletes a temporary dir.
pub struct DemoEnv {
    /// Paths with `data_dir` set to the demo dir and a config file that does not exist.
    pub paths: Paths,
    /// No accounts until [`DemoEnv::start_servers`] adds the demo account.
    pub config: Config,
    pub summary: DemoSummary,
    /// Held so the temporary dir lives as long as the env; `None` with `--dir`.
    _temp: Option<tempfile::TempDir>,
    /// An exclusive lock on the dir while this demo runs: two demos in one dir would re-seed
    /// each other's mailbox and both answer for its tracker.
    _lock: std::fs::File,
}

impl DemoEnv {
    pub fn data_dir(&self) -> &Path {
        &self.paths.data_dir
    }

    pub fn db_path(&self) -> PathBuf {
        self.paths.db_path()
    }

    pub fn open_store(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.db_path())?)
    }

    /// Starts the demo's servers on 127.0.0.1 and points the demo account's `[smtp]` and the
    /// `[tracking]` settings at them. They stop when the returned value is dropped.
    pub fn start_servers(&mut self) -> anyhow::Result<DemoServers> {
        let smtp = LocalSmtp::start(LocalSmtpOptions::new(
            self.data_dir(),
            &self.db_path(),
            DEMO_ACCOUNT,
            DEMO_EMAIL,
        ))?;
        let tracker = EmbeddedTracker::start(self.data_dir())?;
        tracker.configure(&mut self.config.tracking);
        self.config.accounts.insert(
            DEMO_ACCOUNT.into(),
            AccountConfig {
                email: DEMO_EMAIL.into(),
                display_name: Some(DEMO_NAME.into()),
                imap: None,
                smtp: Some(smtp.server_config()),
                signature: Some(format!("{DEMO_NAME}\nInitech")),
                folders: Default::default(),
                server_saves_sent: None,
                tracking: None,
            },
        );
        Ok(DemoServers {
            live: None,
            seeded: false,
            smtp,
            tracker,
        })
    }
}

/// The demo's embedded servers: SMTP (what the demo sends is delivered here) and the tracker.
pub struct DemoServers {
    /// Declared first so it stops before the tracker it talks to.
    live: Option<LiveHits>,
    seeded: bool,
    pub smtp: LocalSmtp,
    pub tracker: EmbeddedTracker,
}

/// When the demo's recipients open and click their tracked copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Some at once, the others over the first minute, in the background (the TUI).
    Live,
    /// All at once, before returning (a script, a test).
    AllNow,
}

impl DemoServers {
    /// On a new demo dir, registers the demo's tracked Sent mail with the embedded tracker and
    /// plays its recipients' opens and clicks at `pace`; the poller brings them in. A kept demo
    /// dir seen before keeps the tracked mail and events of its first run: nothing is registered
    /// or played again, so they never pile up. Returns whether it seeded.
    pub fn seed_tracking(&mut self, env: &DemoEnv, pace: Pace) -> anyhow::Result<bool> {
        if !self.tracker.fresh || self.seeded {
            return Ok(false);
        }
        self.seeded = true;
        let mut store = env.open_store()?;
        let tracking = traffic::register(
            &mut store,
            DEMO_ACCOUNT,
            &self.tracker.base_url,
            &self.tracker.api_token,
            &env.summary.tracked_sent,
        )?;
        match pace {
            Pace::Live => self.live = Some(tracking.play_live(SCRIPT)?),
            Pace::AllNow => tracking.play_now(SCRIPT)?,
        }
        Ok(true)
    }
}

/// Fetches the tracker's events into the store once, as the TUI's poller does, without desktop
/// notifications (a script should not pop them up).
pub fn poll_once(config: &Config, db_path: &Path) -> anyhow::Result<usize> {
    let mut config = config.clone();
    config.notifications.desktop = false;
    let pollers = PollerConfig::for_trackers(&config, None, db_path.to_path_buf())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut fetched = 0;
    for c in pollers {
        fetched += rt.block_on(Poller::new(c)?.poll_once())?.new_events;
    }
    Ok(fetched)
}

/// Creates the demo data dir (`keep_in`, or a new temporary dir), seeds it with mail dated
/// relative to `now` (unix seconds) and returns where it is.
pub fn prepare_demo(keep_in: Option<&Path>, now: i64) -> anyhow::Result<DemoEnv> {
    let (data_dir, temp) = match keep_in {
        Some(dir) => {
            check_demo_dir(dir)?;
            (dir.to_path_buf(), None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("tidings-demo-")
                .tempdir()
                .context("creating a temporary directory for the demo")?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    std::fs::write(
        data_dir.join(DEMO_MARKER),
        "Made by `tidings demo`; safe to delete.\n",
    )
    .with_context(|| format!("{}: cannot write", data_dir.display()))?;
    let lock = lock_demo_dir(&data_dir)?;
    let paths = Paths {
        config_file: data_dir.join("no-config.toml"),
        data_dir,
        user_themes_dir: None,
    };
    let store = Store::open(&paths.db_path())?;
    let summary = seed(&store, now)?;
    Ok(DemoEnv {
        paths,
        config: Config::default(),
        summary,
        _temp: temp,
        _lock: lock,
    })
}

/// Takes the demo dir's lock, or says that another demo holds it. The lock goes with the
/// process, so a killed demo never leaves the dir locked.
fn lock_demo_dir(dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join(DEMO_LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "{}: another `tidings demo` is using this dir; quit it, or give a different --dir",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("{}: cannot lock", path.display()))
        }
    }
}

fn check_demo_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display())),
        Err(e) => Err(e).with_context(|| format!("{}: cannot read", dir.display())),
        Ok(mut entries) => {
            if entries.next().is_none() || dir.join(DEMO_MARKER).exists() {
                Ok(())
            } else {
                anyhow::bail!(
                    "{}: not empty and not a demo dir; give `--dir` a new or empty directory",
                    dir.display()
                )
            }
        }
    }
}

pub fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now().timestamp();
    let mut env = prepare_demo(args.dir.as_deref(), now)?;
    let _log = crate::logging::init(&env.paths.log_dir());
    let mut servers = env.start_servers()?;
    let ctx = Context {
        paths: env.paths.clone(),
        config: env.config.clone(),
    };
    // On a terminal the demo is the inbox itself; piped (scripts, tests) it prints the inbox.
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        servers.seed_tracking(&env, Pace::Live)?;
        return super::tui::run_tui(
            &env.paths,
            &env.config,
            super::tui::TuiOptions {
                sync: false,
                demo_superdata: true,
                local_events: Some(servers.smtp.subscribe()),
            },
        );
    }
    servers.seed_tracking(&env, Pace::AllNow)?;
    poll_once(&env.config, &env.db_path())?;
    let s = &env.summary;
    let folders: Vec<String> = s.folders.iter().map(|(f, n)| format!("{f} {n}")).collect();
    println!(
        "Demo mailbox of {} <{}>: {} messages ({})\n",
        crate::demo::mailbox::DEMO_NAME,
        s.email,
        s.messages,
        folders.join(", ")
    );
    let code = list(
        &ctx,
        &ListArgs {
            account: None,
            folder: "INBOX".into(),
            filter: None,
            search: None,
            limit: None,
            json: false,
        },
    )?;
    println!("\nTracked mail, with the opens and clicks the embedded tracker saw:\n");
    list(
        &ctx,
        &ListArgs {
            account: None,
            folder: "INBOX".into(),
            filter: Some(FilterArg::Tracked),
            search: None,
            limit: None,
            json: false,
        },
    )?;
    println!(
        "\nSending: an embedded SMTP server runs at {}; what it receives is kept in {} and \
         mail to {DEMO_EMAIL} lands in INBOX.\nTracking: an embedded tracker runs at {}",
        servers.smtp.addr(),
        servers.smtp.delivered_dir().display(),
        servers.tracker.base_url
    );
    match &args.dir {
        Some(dir) => println!(
            "\nThe demo mailbox is kept in {dir}. Explore it with:\n  \
             tidings --data-dir {dir} list --folder Archive\n  \
             tidings --data-dir {dir} show ID",
            dir = dir.display()
        ),
        None => println!(
            "\nThis mailbox was made in a temporary directory and is now deleted. To keep one and \
             open messages:\n  tidings demo --dir /tmp/tidings-demo\n  \
             tidings --data-dir /tmp/tidings-demo show ID"
        ),
    }
    Ok(code)
}
