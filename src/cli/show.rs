//! `tidings show ID [--raw]`: one stored message, rendered exactly as the reader pane shows it;
//! its body is fetched from the server first when the sync has not downloaded it yet.
//!
//! `--raw` prints the message bytes. Piped or redirected (not a terminal), they go out untouched,
//! so `tidings show ID --raw > mail.eml` saves the exact message. On a terminal, raw bytes could
//! still drive it (an ESC in a header is enough), so control characters are shown as their
//! visible pictures (`␛`) instead; `show` never changes a message's flags.

use super::{Context, ShowArgs};
use crate::mail::bodies::raw_message_or_fetch;
use crate::mail::render::{render_message, render_to_text};
use crate::mail::sync::SyncError;
use crate::sanitize::visible_raw;
use crate::store::StoreError;
use anyhow::Context as _;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

pub fn show(ctx: &Context, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store()?;
    // A message whose body the sync has not downloaded yet is fetched now (and cached).
    let raw = match raw_message_or_fetch(&ctx.config, &ctx.paths.config_file, &store, args.id) {
        Ok(raw) => raw,
        Err(SyncError::Store(StoreError::NoSuchMessage(id))) => {
            anyhow::bail!("no message with id {id}")
        }
        Err(e) => return Err(e).context("reading the message"),
    };
    let stdout = std::io::stdout();
    let to_terminal = stdout.is_terminal();
    let mut out = stdout.lock();
    let written = if args.raw && !to_terminal {
        out.write_all(&raw)
    } else if args.raw {
        out.write_all(visible_raw(&raw).as_bytes())
    } else {
        let tracking = tracking_section(&store, args.id);
        out.write_all(render_to_text(&render_message(&raw)).as_bytes())
            .and_then(|()| out.write_all(tracking.as_bytes()))
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `tidings show 1 | head` closing the pipe early is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("writing to stdout"),
    }
}

/// The tracking URLs of a sent tracked mail (empty for any other message), so the user can open
/// a recipient's pixel or link and watch the event arrive.
fn tracking_section(store: &crate::store::Store, id: i64) -> String {
    let Some(message_id) = store.message(id).ok().and_then(|m| m.message_id) else {
        return String::new();
    };
    match crate::tracking::client::send::tracking_report(store, &message_id) {
        Ok(Some(section)) => section,
        Ok(None) => String::new(),
        Err(e) => format!("\nTracking: cannot be read ({e})\n"),
    }
}
