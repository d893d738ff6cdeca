//! One run of `tidings demo`: the demo data dir, the servers started for it, and the ordinary
//! [`Config`] that points the rest of the program at them.
//!
//! The demo never touches the user's own data: it ignores `--data-dir`/`TIDINGS_DATA_DIR` and the
//! config file, and works in a fresh temporary directory that is deleted on exit (logs included),
//! or in a directory the caller keeps, which must be new, empty, or an earlier demo dir — whose
//! mailbox is kept as the last run left it.
//!
//! The demo account is seeded into the store ([`super::mailbox`]) and configured in memory only,
//! without `[imap]` (the sync engine skips it), with `[smtp]` pointing at an embedded SMTP server
//! on 127.0.0.1 ([`super::smtp`]): mail written in the demo goes through the real outbox and SMTP
//! path, a copy to the demo user lands in its INBOX, every recipient's copy is kept in
//! `<dir>/delivered/`, and the Sent copy is filed in the store. An embedded tracker
//! ([`super::tracker`]) makes tracked sending work too, and on a new demo dir some of the seeded
//! Sent mail is tracked, with recipients' opens and clicks played against the tracker
//! ([`super::traffic`]): a few at start, a few more during the first minute, so the Tracked
//! filter, the timeline, the bell and the activity pane have something to show. For the inbox,
//! `[superdata]` points at the demo's own sources ([`super::superdata`]), which mark what they
//! serve as demo data.

use super::mailbox::{kept, seed, DemoSummary, DEMO_ACCOUNT};
use super::people::{INITECH, ME};
use super::smtp::{LocalSmtp, LocalSmtpOptions};
use super::superdata::BackgroundDemoSources;
use super::tracker::EmbeddedTracker;
use super::traffic::{self, LiveHits, SCRIPT};
use crate::config::{AccountConfig, Config, Paths};
use crate::mail::sync::SyncEvent;
use crate::store::Store;
use crate::tracking::client::poller::{Poller, PollerConfig};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc::UnboundedReceiver;

/// A file that marks a directory as made by `tidings demo`, so a kept dir never seeds into (and
/// never mixes demo mail with) a real cache.
const DEMO_MARKER: &str = "tidings-demo";
/// Locked while a demo runs in the dir.
const DEMO_LOCK: &str = "tidings-demo.lock";
/// When the dir's mailbox was seeded (unix seconds): a later start keeps that mailbox — what was
/// sent, archived, read and deleted, its dates and ids — instead of seeding it again.
const DEMO_SEEDED: &str = "tidings-demo-seeded";

/// What a demo run is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Someone at a terminal, in the inbox: the recipients' opens and clicks arrive over the
    /// first minute, and the Superdata sources serve the contact and organization panes.
    Inbox,
    /// A script or a test reading a printout: everything the tracker will see has been played
    /// and polled into the store before [`start`] returns.
    Printout,
}

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Keep the demo mailbox in this dir instead of a temporary one.
    pub keep_in: Option<PathBuf>,
    /// Unix seconds the seeded mail is dated relative to.
    pub now: i64,
    pub audience: Audience,
}

/// A demo ready to be shown: its data dir seeded, its servers running, and a [`Config`] that
/// uses them. Dropping it stops the servers, then deletes a temporary dir.
pub struct RunningDemo {
    // Fields drop in this order: the sources and servers before the log that may hear of their
    // stopping, and the dir (which may be deleted) last.
    _sources: Option<BackgroundDemoSources>,
    servers: DemoServers,
    _log: Option<tracing_appender::non_blocking::WorkerGuard>,
    env: DemoEnv,
    local_events: Option<UnboundedReceiver<SyncEvent>>,
}

/// Makes and seeds the demo dir, starts the demo's servers and plays or schedules its tracker
/// traffic, as `opts.audience` needs.
pub fn start(opts: DemoOptions) -> anyhow::Result<RunningDemo> {
    let mut env = prepare_demo(opts.keep_in.as_deref(), opts.now)?;
    let log = crate::logging::init(&env.paths.log_dir());
    let mut servers = env.start_servers()?;
    let mut sources = None;
    let mut local_events = None;
    match opts.audience {
        Audience::Inbox => {
            servers.seed_tracking(&env, Pace::Live)?;
            let served = BackgroundDemoSources::start()
                .map_err(|e| anyhow::anyhow!("starting the demo Superdata sources: {e}"))?;
            env.config.superdata = served.config().clone();
            sources = Some(served);
            local_events = Some(servers.smtp.subscribe());
        }
        Audience::Printout => {
            servers.seed_tracking(&env, Pace::AllNow)?;
            poll_once(&env.config, &env.db_path())?;
        }
    }
    Ok(RunningDemo {
        _sources: sources,
        servers,
        _log: log,
        env,
        local_events,
    })
}

impl RunningDemo {
    pub fn paths(&self) -> &Paths {
        &self.env.paths
    }

    /// The demo account and tracker, and for the inbox the demo's Superdata sources.
    pub fn config(&self) -> &Config {
        &self.env.config
    }

    pub fn summary(&self) -> &DemoSummary {
        &self.env.summary
    }

    /// The embedded SMTP server and tracker, for saying where they run.
    pub fn servers(&self) -> &DemoServers {
        &self.servers
    }

    /// Folder changes the demo's SMTP receiver makes (mail to the demo user filed into INBOX),
    /// for the inbox to show; `Some` once, for [`Audience::Inbox`].
    pub fn take_local_events(&mut self) -> Option<UnboundedReceiver<SyncEvent>> {
        self.local_events.take()
    }
}

/// A seeded demo data dir. Dropping it deletes a temporary dir.
pub struct DemoEnv {
    /// Paths with `data_dir` set to the demo dir and a config file that does not exist.
    pub paths: Paths,
    /// No accounts until [`DemoEnv::start_servers`] adds the demo account.
    pub config: Config,
    pub summary: DemoSummary,
    /// Held so the temporary dir lives as long as the env; `None` for a kept dir.
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
            ME.email,
        ))?;
        let tracker = EmbeddedTracker::start(self.data_dir())?;
        tracker.configure(&mut self.config.tracking);
        // The demo's traffic is scripted and no later evidence will change a verdict: the bell
        // rings as it plays rather than a settle window later.
        self.config.notifications.settle_seconds = 0;
        self.config.accounts.insert(
            DEMO_ACCOUNT.into(),
            AccountConfig {
                email: ME.email.into(),
                display_name: Some(ME.name.into()),
                imap: None,
                smtp: Some(smtp.server_config()),
                signature: Some(format!("{}\n{}", ME.name, INITECH.name)),
                folders: Default::default(),
                server_saves_sent: None,
                tracking: None,
                oauth2: None,
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
    let seeded_file = paths.data_dir.join(DEMO_SEEDED);
    let seeded_at = std::fs::read_to_string(&seeded_file)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .filter(|_| store.account_id(DEMO_ACCOUNT).is_ok());
    let summary = match seeded_at {
        Some(at) => kept(&store, at)?,
        None => {
            let summary = seed(&store, now)?;
            std::fs::write(&seeded_file, format!("{now}\n"))
                .with_context(|| format!("{}: cannot write", seeded_file.display()))?;
            summary
        }
    };
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
    // A process forked by another thread of ours (a test, a password command) holds a copy of the
    // lock's file description until it execs, so a lock just released may look held for a moment:
    // look again for a little while before saying another demo holds it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    let mut attempt = file.try_lock();
    while matches!(attempt, Err(std::fs::TryLockError::WouldBlock))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
        attempt = file.try_lock();
    }
    match attempt {
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
