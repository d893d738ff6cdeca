//! `tidings demo`: a throw-away mailbox to try tidings with no account and no network.
//!
//! The demo never touches the user's own data: it ignores `--data-dir`/`TIDINGS_DATA_DIR` and the
//! config file, and works in a fresh temporary directory that is deleted on exit (logs included).
//! `--dir DIR` keeps the demo mailbox in DIR instead, so it can be explored with the other
//! commands (`tidings --data-dir DIR list`); DIR must be new, empty, or an earlier demo dir.
//!
//! The demo account lives only in the store, not in [`Config`]: it has no server, and the sync
//! engine only visits configured accounts, so nothing ever tries to reach one for it.

use super::mail::list;
use super::{Context, DemoArgs, ListArgs};
use crate::config::{Config, Paths};
use crate::mail::demo::{seed, DemoSummary};
use crate::store::Store;
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A file that marks a directory as made by `tidings demo`, so `--dir` never seeds into (and
/// never mixes demo mail with) a real cache.
const DEMO_MARKER: &str = "tidings-demo";

/// A seeded demo data dir, ready for the CLI or the TUI. Dropping it deletes a temporary dir.
pub struct DemoEnv {
    /// Paths with `data_dir` set to the demo dir and a config file that does not exist.
    pub paths: Paths,
    /// No accounts: the demo account is only in the store.
    pub config: Config,
    pub summary: DemoSummary,
    /// Held so the temporary dir lives as long as the env; `None` with `--dir`.
    _temp: Option<tempfile::TempDir>,
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
    })
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
    let env = prepare_demo(args.dir.as_deref(), now)?;
    let _log = crate::logging::init(&env.paths.log_dir());
    let ctx = Context {
        paths: env.paths.clone(),
        config: env.config.clone(),
    };
    // On a terminal the demo is the inbox itself; piped (scripts, tests) it prints the inbox.
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return super::tui::run_tui(
            &env.paths,
            &env.config,
            super::tui::TuiOptions {
                sync: false,
                demo_superdata: true,
            },
        );
    }
    let s = &env.summary;
    let folders: Vec<String> = s.folders.iter().map(|(f, n)| format!("{f} {n}")).collect();
    println!(
        "Demo mailbox of {} <{}>: {} messages ({})\n",
        crate::mail::demo::DEMO_NAME,
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
