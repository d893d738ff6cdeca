//! Snooze in the TUI: putting messages away (`Effect::Snooze`, on the blocking pool: it talks to
//! the server), and a thread that brings due snoozes back while the app runs — beside a `tidings
//! watch` on the same data dir, each snooze is claimed once (see `mail::snooze`).

use crate::app::msg::Msg;
use crate::config::Config;
use crate::mail::snooze;
use crate::mail::sync::SyncEvent;
use crate::store::Store;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How often the app looks for due snoozes.
const LOOK_EVERY: Duration = Duration::from_secs(20);

/// Snoozes each message until `until` (unix seconds); one answer for all.
pub fn perform(store: &Store, config: &Config, ids: &[i64], until: i64) -> Vec<Msg> {
    let now = crate::clock::now().timestamp();
    let mut done = 0;
    let mut changed = Vec::new();
    for id in ids {
        match snooze::snooze(config, store, *id, until, now) {
            Ok(row) => {
                done += 1;
                changed.push((row.account.clone(), row.from_folder.clone()));
                changed.push((row.account, row.folder));
            }
            Err(e) => {
                let why = crate::sanitize::sanitize_line(&e.to_string());
                return vec![Msg::Snoozed(Err(format!(
                    "snooze: {why} ({done} of {} snoozed)",
                    ids.len()
                )))];
            }
        }
    }
    changed.sort();
    changed.dedup();
    let at = chrono::DateTime::from_timestamp(until, 0).unwrap_or_default();
    let mut out: Vec<Msg> = changed
        .into_iter()
        .map(|(account, folder)| Msg::Sync(SyncEvent::FolderChanged { account, folder }))
        .collect();
    out.push(Msg::Snoozed(Ok(format!(
        "snoozed {done} until {}",
        crate::clock::format_local(at)
    ))));
    out
}

/// The background returner; stops with [`Returner::stop`] or when dropped.
pub struct Returner {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Returner {
    pub fn spawn(config: Config, db: PathBuf, tx: UnboundedSender<Msg>) -> Returner {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("tidings-snoozes".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    for m in return_round(&config, &db) {
                        if tx.send(m).is_err() {
                            return;
                        }
                    }
                    let mut slept = Duration::ZERO;
                    while slept < LOOK_EVERY && !flag.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(250));
                        slept += Duration::from_millis(250);
                    }
                }
            })
            .ok();
        Returner { stop, handle }
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn return_round(config: &Config, db: &std::path::Path) -> Vec<Msg> {
    let mut store = match Store::open(db) {
        Ok(s) => s,
        Err(e) => return vec![Msg::Error(format!("snoozes: {e}"))],
    };
    // Nothing due: no claim, no write.
    let now = crate::clock::now().timestamp();
    match store.next_snooze_due() {
        Ok(Some(t)) if t <= now => {}
        Ok(_) => return Vec::new(),
        Err(e) => return vec![Msg::Error(format!("snoozes: {e}"))],
    }
    match snooze::return_due(config, &mut store, now) {
        Ok(results) => results
            .into_iter()
            .flat_map(|r| match r {
                Ok(r) => vec![
                    Msg::Sync(SyncEvent::FolderChanged {
                        account: r.snooze.account.clone(),
                        folder: r.snooze.from_folder.clone(),
                    }),
                    Msg::Notice(format!("back from snooze: {}", r.snooze.subject)),
                ],
                Err((row, why)) => vec![Msg::Error(format!(
                    "snoozed {:?} could not come back yet: {why}",
                    row.subject
                ))],
            })
            .collect(),
        Err(e) => vec![Msg::Error(format!("snoozes: {e}"))],
    }
}
