//! The time-based work of `tidings watch`: sending scheduled mail when its time comes and bringing
//! snoozed messages back. Each round is safe beside the TUI doing the same on the same data dir:
//! the outbox sends under its lock and never twice, and each snooze is claimed once in SQLite.

use super::Context;
use crate::config::Config;
use crate::mail::outbox::{state, Outbox, Outcome, Which};
use crate::store::Store;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a running `tidings watch` looks for due work (a look is two small queries).
const TICK: Duration = Duration::from_secs(2);

/// One round: due outbox mail (tracked mail registered with the tracker now, at send time) and
/// due snoozes. Returns one line per thing done, for stdout.
pub fn round(config: &Config, db: &Path) -> anyhow::Result<Vec<String>> {
    let now = crate::clock::now().timestamp();
    let mut store = Store::open(db)?;
    let mut lines = Vec::new();
    // Only open the outbox (and its lock) when something is due, or was left half-sent by a
    // process that died (the flush settles it).
    let waiting = store
        .outbox_entries(&[state::QUEUED, state::SENDING])?
        .iter()
        .any(|e| e.state == state::SENDING || e.next_attempt_at <= now);
    if waiting {
        let planner = crate::tracking::client::send::planner_for(config, db);
        let mut ob = Outbox::new(config.clone(), &store).with_planner(planner);
        for r in ob.flush(&mut store, Which::Due, now)? {
            let subject = crate::sanitize::sanitize_line(&r.subject);
            lines.push(match &r.outcome {
                Outcome::Sent => format!("sent #{} {:?} {}", r.id, subject, r.message_id),
                Outcome::Queued(e) => format!("#{} {subject:?} still waiting: {e}", r.id),
                Outcome::Failed(e) => format!("#{} {subject:?} refused: {e}", r.id),
                Outcome::Unconfirmed(e) => format!("#{} {subject:?} unconfirmed: {e}", r.id),
            });
        }
    }
    for r in crate::mail::snooze::return_due(config, &mut store, now)? {
        lines.push(match r {
            Ok(r) => format!(
                "snooze over: {:?} is back in {}",
                r.snooze.subject,
                crate::mail::mailbox_name::display(&r.snooze.from_folder)
            ),
            Err((row, why)) => format!("snooze of {:?} could not return yet: {why}", row.subject),
        });
    }
    Ok(lines
        .into_iter()
        .map(|l| crate::sanitize::sanitize_line(&l))
        .collect())
}

/// Runs [`round`] every [`TICK`] on a thread until the flag is set; prints what it did.
pub fn spawn(ctx: &Context) -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (config, db): (Config, PathBuf) = (ctx.config.clone(), ctx.paths.db_path());
    let flag = stop.clone();
    let handle = std::thread::spawn(move || {
        while !flag.load(Ordering::Relaxed) {
            match round(&config, &db) {
                Ok(lines) => {
                    for l in lines {
                        println!("{l}");
                    }
                }
                Err(e) => eprintln!(
                    "tidings watch: scheduled work: {}",
                    crate::sanitize::sanitize_line(&format!("{e:#}"))
                ),
            }
            std::thread::sleep(TICK);
        }
    });
    (stop, handle)
}
