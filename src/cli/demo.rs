//! `tidings demo`: a throw-away mailbox to try tidings with no account and no network.
//!
//! This file turns the command line into [`DemoOptions`], opens the inbox on the running demo or
//! prints it; what the demo runs is [`crate::demo`]. `--dir DIR` keeps the demo mailbox in DIR,
//! so it can be explored with the other commands (`tidings --data-dir DIR list`).

use super::mail::list;
use super::{Context, DemoArgs, FilterArg, ListArgs};
use crate::demo::people::ME;
use crate::demo::session::{self, Audience, DemoOptions};
use std::process::ExitCode;

pub fn demo(args: &DemoArgs, config_file: Option<std::path::PathBuf>) -> anyhow::Result<ExitCode> {
    // The demo reads nothing else of the user's config, but it should look like their inbox.
    let user_paths = crate::config::Paths::resolve(config_file, None).ok();
    let theme = args.theme.clone().or_else(|| {
        let paths = user_paths.as_ref()?;
        crate::config::Config::load(&paths.config_file).ok()?.theme
    });
    let themes_dir = user_paths.and_then(|p| p.user_themes_dir);
    if let Some(name) = theme.as_deref() {
        // One clear line before anything starts, rather than a default theme and a note.
        if let (_, Some(e)) = crate::ui::theme::load(Some(name), themes_dir.as_deref()) {
            anyhow::bail!("{}", e.trim_end_matches("; using the default"));
        }
    }
    // On a terminal the demo is the inbox itself; piped (scripts, tests) it prints the inbox.
    let audience = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        Audience::Inbox
    } else {
        Audience::Printout
    };
    let mut demo = session::start(DemoOptions {
        keep_in: args.dir.clone(),
        now: chrono::Utc::now().timestamp(),
        audience,
    })?;
    if audience == Audience::Inbox {
        // `demo` outlives the inbox: its servers and sources stop only when it is dropped.
        let local_events = demo.take_local_events();
        let mut paths = demo.paths().clone();
        paths.user_themes_dir = themes_dir;
        let mut config = demo.config().clone();
        config.theme = theme;
        return super::tui::run_tui(
            &paths,
            &config,
            super::tui::TuiOptions {
                sync: false,
                local_events,
            },
        );
    }
    let ctx = Context {
        paths: demo.paths().clone(),
        config: demo.config().clone(),
    };
    let s = demo.summary();
    let folders: Vec<String> = s.folders.iter().map(|(f, n)| format!("{f} {n}")).collect();
    println!(
        "Demo mailbox of {} <{}>: {} messages ({})\n",
        ME.name,
        s.email,
        s.messages,
        folders.join(", ")
    );
    let code = list(
        &ctx,
        &ListArgs {
            account: None,
            folder: Some("INBOX".into()),
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
            folder: Some("INBOX".into()),
            filter: Some(FilterArg::Tracked),
            search: None,
            limit: None,
            json: false,
        },
    )?;
    // Printed as the demo ends: its servers stop with it, so this says what they did.
    println!(
        "\nSending: while the demo runs, an embedded SMTP server (this time at {}) takes its \
         mail; what it receives is kept in {} and mail to {} lands in INBOX.\nTracking: while the \
         demo runs, an embedded tracker (this time at {}) counts the opens and clicks.",
        demo.servers().smtp.addr(),
        demo.servers().smtp.delivered_dir().display(),
        ME.email,
        demo.servers().tracker.base_url
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
