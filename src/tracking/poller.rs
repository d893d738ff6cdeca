//! The events poller: fetches the tracker's events after the saved cursor, pages until caught up,
//! commits each page with its cursor in one transaction (no event lost or counted twice across
//! crashes), syncs opt-outs into contacts, and turns new events into notifications — in-app (the
//! `notifications` table) and on the desktop — throttled and filtered by `[notifications]`.
//! Runs headless (`tidings watch`) or as a background task that reports [`PollerEvent`]s on a
//! channel (the TUI). Backs off with jitter while the tracker is unreachable.

use super::api::{ApiError, TrackerClient};
use super::classify::{Classification, EventKind};
use super::db::Event;
use crate::config::{NotificationsConfig, TrackingConfig};
use crate::notify::{self, DesktopNotification, Throttle};
use crate::store::{Store, StoreError, StoredNotification, TrackingPreference};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, watch};

/// Events asked for per request.
pub const PAGE_LIMIT: u32 = 500;
/// Longest wait between attempts while the tracker is unreachable.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// A run of pages this long in one poll means the tracker keeps handing out pages: stop and
/// continue at the next poll rather than spin.
const MAX_PAGES_PER_POLL: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("local store: {0}")]
    Store(#[from] StoreError),
    #[error("[tracking] base_url is not set")]
    NoBaseUrl,
    #[error("[tracking] has neither api_token nor api_token_command")]
    NoToken,
    #[error("api_token_command failed: {0}")]
    TokenCommand(String),
}

impl PollError {
    /// Worth retrying later without the user changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            PollError::Api(e) => e.is_transient(),
            // A locked database clears up.
            PollError::Store(_) => true,
            _ => false,
        }
    }
}

/// What the status bar shows about the poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollerState {
    /// Not polled yet.
    Starting,
    /// The last poll reached the end of the events.
    CaughtUp { at: SystemTime },
    /// The last poll failed with a transient error; retrying with backoff.
    Unreachable,
    /// The tracker rejected the token, or the config is incomplete; retrying slowly.
    Failing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollerStatus {
    pub state: PollerState,
    /// The last failure, sanitized, never containing the token.
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_attempt: Option<SystemTime>,
}

impl PollerStatus {
    /// One line for the status bar: "tracker unreachable (3×): …, next try in 40 s".
    pub fn describe(&self) -> String {
        match &self.state {
            PollerState::Starting => "tracker: connecting".into(),
            PollerState::CaughtUp { .. } => "tracker: up to date".into(),
            PollerState::Unreachable | PollerState::Failing => {
                let wait = self
                    .next_attempt
                    .and_then(|t| t.duration_since(SystemTime::now()).ok())
                    .map(|d| format!(", next try in {} s", d.as_secs()))
                    .unwrap_or_default();
                let what = if self.state == PollerState::Unreachable {
                    "tracker unreachable"
                } else {
                    "tracker error"
                };
                format!(
                    "{what}: {}{wait}",
                    self.last_error.as_deref().unwrap_or("unknown error")
                )
            }
        }
    }
}

/// What the background task reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollerEvent {
    /// New events were stored (the Tracked list and marks should refresh).
    NewEvents {
        count: usize,
    },
    StateChanged(PollerStatus),
    /// A notification was added to the in-app list (the bell).
    Notification(StoredNotification),
}

/// Everything a poller needs; built from the config by [`PollerConfig::from_config`].
#[derive(Clone)]
pub struct PollerConfig {
    /// The local account the events are stored under.
    pub account: String,
    pub base_url: String,
    pub api_token: String,
    pub poll_interval: Duration,
    pub notifications: NotificationsConfig,
    pub db_path: PathBuf,
    /// Events asked for per request ([`PAGE_LIMIT`] unless a test wants small pages).
    pub page_limit: u32,
}

impl std::fmt::Debug for PollerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollerConfig")
            .field("account", &self.account)
            .field("base_url", &self.base_url)
            .field("api_token", &"<redacted>")
            .finish()
    }
}

impl PollerConfig {
    pub fn from_config(
        account: &str,
        tracking: &TrackingConfig,
        notifications: &NotificationsConfig,
        db_path: PathBuf,
    ) -> Result<PollerConfig, PollError> {
        let base_url = tracking
            .base_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .ok_or(PollError::NoBaseUrl)?;
        Ok(PollerConfig {
            account: account.to_string(),
            base_url,
            api_token: resolve_api_token(tracking)?,
            poll_interval: Duration::from_secs(tracking.poll_seconds.max(1)),
            notifications: notifications.clone(),
            db_path,
            page_limit: PAGE_LIMIT,
        })
    }
}

/// The API token: `api_token`, else the first line `api_token_command` prints (run by `sh -c`).
/// Neither the token nor the command's output is ever logged.
pub fn resolve_api_token(tracking: &TrackingConfig) -> Result<String, PollError> {
    match tracking.resolve_api_token() {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(PollError::NoToken),
        Err(e) => Err(PollError::TokenCommand(e)),
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollOutcome {
    pub new_events: usize,
    pub pages: usize,
    pub notifications: Vec<StoredNotification>,
    pub desktop_shown: usize,
    pub optouts: usize,
}

pub struct Poller {
    config: PollerConfig,
    client: TrackerClient,
    store: Store,
    open_throttle: Throttle,
    click_throttle: Throttle,
}

impl Poller {
    pub fn new(config: PollerConfig) -> Result<Poller, PollError> {
        let client = TrackerClient::new(
            &config.base_url,
            &config.api_token,
            super::api::DEFAULT_TIMEOUT,
        )?;
        let store = Store::open(&config.db_path)?;
        Ok(Poller {
            config,
            client,
            store,
            open_throttle: Throttle::default(),
            click_throttle: Throttle::default(),
        })
    }

    /// Fetches and stores pages until caught up, then syncs opt-outs and notifies. Each page is
    /// committed with its cursor before the next is asked for, so an interruption anywhere loses
    /// nothing and the next poll resumes after the last committed page.
    pub async fn poll_once(&mut self) -> Result<PollOutcome, PollError> {
        let mut outcome = PollOutcome::default();
        let account = self.config.account.clone();
        for _ in 0..MAX_PAGES_PER_POLL {
            let cursor = self.store.tracking_cursor(&account)?;
            let page = self
                .client
                .fetch_events(cursor.as_deref(), self.config.page_limit.max(1))
                .await?;
            let full = page.events.len() >= self.config.page_limit.max(1) as usize;
            let unchanged = cursor.as_deref() == Some(page.cursor.as_str());
            if page.events.is_empty() && unchanged {
                break;
            }
            let fresh = self
                .store
                .store_events_and_cursor(&account, &page.events, &page.cursor)?;
            outcome.pages += 1;
            outcome.new_events += fresh.len();
            for e in &fresh {
                self.notify_event(e, &mut outcome).await?;
            }
            if !full {
                break;
            }
        }
        for o in self.client.fetch_optouts().await? {
            if self.store.tracking_preference(&o.address)? != Some(TrackingPreference::Never) {
                self.store
                    .set_tracking_preference(&o.address, Some(TrackingPreference::Never))?;
                outcome.optouts += 1;
            }
        }
        Ok(outcome)
    }

    async fn notify_event(&mut self, e: &Event, out: &mut PollOutcome) -> Result<(), PollError> {
        let n = &self.config.notifications;
        if !wanted(n, e) {
            return Ok(());
        }
        let at = e.at.timestamp();
        let allowed = match e.kind {
            EventKind::Open => self.open_throttle.allow(
                &format!("{}|{}", e.message_id, e.recipient.to_lowercase()),
                at,
                n.open_throttle_seconds,
            ),
            EventKind::Click => {
                self.click_throttle
                    .allow(&e.message_id, at, n.click_throttle_seconds)
            }
        };
        if !allowed {
            tracing::debug!(event = e.id, "notification throttled");
            return Ok(());
        }
        // Built only for what passes the throttle: a backlog of thousands of opens costs one text.
        let Some(text) = self.notification_text(e)? else {
            return Ok(());
        };
        let n = &self.config.notifications;
        let stored = self.store.add_notification(
            &self.config.account,
            at,
            e.kind,
            &text.summary,
            &text.body,
            &e.message_id,
        )?;
        out.notifications.push(stored);
        if n.desktop && notify::show_desktop(&text).await == notify::Delivery::Shown {
            out.desktop_shown += 1;
        }
        Ok(())
    }

    /// The notification for `e`, or `None` when `[notifications]` turns its kind off.
    fn notification_text(&self, e: &Event) -> Result<Option<DesktopNotification>, PollError> {
        if !wanted(&self.config.notifications, e) {
            return Ok(None);
        }
        let automated = e.classification == Classification::Automated;
        let who = self.display_name(&e.message_id, &e.recipient)?;
        let subject = self.subject(&e.message_id)?;
        let clean = |s: &str| crate::mail::sanitize::sanitize_line(s);
        let (mut summary, mut body) = match e.kind {
            EventKind::Open => {
                let nth = self.store.open_ordinal(
                    &self.config.account,
                    &e.message_id,
                    &e.recipient,
                    e.id,
                )?;
                let body = match e.classification {
                    Classification::Proxy => format!(
                        "{subject} — opened through Google's image proxy; later opens are invisible"
                    ),
                    Classification::Automated => format!("{subject} — automated open"),
                    Classification::Human => format!("{subject} — {} open", notify::ordinal(nth)),
                };
                (format!("{who} opened"), body)
            }
            EventKind::Click => (
                format!("{who} clicked a link"),
                format!("{subject} — {}", e.url.as_deref().unwrap_or("")),
            ),
        };
        if automated {
            summary = format!("{summary} (automated)");
            body = format!("{body} ({})", e.reason);
        }
        Ok(Some(DesktopNotification {
            summary: clean(&summary),
            body: clean(&body),
        }))
    }

    /// The contact's name, else the name the mail was addressed with, else the address.
    fn display_name(&self, message_id: &str, address: &str) -> Result<String, PollError> {
        if let Some(c) = self.store.contact(address)? {
            if !c.display_name.trim().is_empty() {
                return Ok(c.display_name);
            }
        }
        let addressed = self
            .store
            .tracked_message(&self.config.account, message_id)?
            .and_then(|m| {
                m.recipients
                    .into_iter()
                    .find(|r| r.address.eq_ignore_ascii_case(address))
            })
            .map(|r| r.name)
            .filter(|n| !n.trim().is_empty());
        Ok(addressed.unwrap_or_else(|| address.to_string()))
    }

    /// The tracked mail's subject, else that of the cached copy, else a placeholder.
    fn subject(&self, message_id: &str) -> Result<String, PollError> {
        let tracked = self
            .store
            .tracked_message(&self.config.account, message_id)?
            .map(|m| m.subject)
            .filter(|s| !s.trim().is_empty());
        if let Some(s) = tracked {
            return Ok(s);
        }
        let cached = self
            .store
            .subject_by_message_id(&crate::store::bracketed_message_id(message_id))?;
        Ok(cached
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "(no subject)".into()))
    }

    /// Polls every `poll_interval` until `shutdown` turns true, reporting on `events`. Errors
    /// back off exponentially (with jitter) up to [`MAX_BACKOFF`].
    pub async fn run(
        mut self,
        events: mpsc::UnboundedSender<PollerEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut status = PollerStatus {
            state: PollerState::Starting,
            last_error: None,
            consecutive_failures: 0,
            next_attempt: None,
        };
        let _ = events.send(PollerEvent::StateChanged(status.clone()));
        loop {
            let wait = match self.poll_once().await {
                Ok(outcome) => {
                    if outcome.new_events > 0 {
                        let _ = events.send(PollerEvent::NewEvents {
                            count: outcome.new_events,
                        });
                    }
                    for n in outcome.notifications {
                        let _ = events.send(PollerEvent::Notification(n));
                    }
                    let was_failing =
                        status.consecutive_failures > 0 || status.state == PollerState::Starting;
                    status.consecutive_failures = 0;
                    status.last_error = None;
                    status.state = PollerState::CaughtUp {
                        at: SystemTime::now(),
                    };
                    status.next_attempt = Some(SystemTime::now() + self.config.poll_interval);
                    if was_failing {
                        let _ = events.send(PollerEvent::StateChanged(status.clone()));
                    }
                    self.config.poll_interval
                }
                Err(e) => {
                    status.consecutive_failures = status.consecutive_failures.saturating_add(1);
                    let wait = backoff(
                        self.config.poll_interval,
                        status.consecutive_failures,
                        e.is_transient(),
                        rand::random::<f64>(),
                    );
                    tracing::warn!(error = %e, retry_in = ?wait, "tracker poll failed");
                    status.state = if e.is_transient() {
                        PollerState::Unreachable
                    } else {
                        PollerState::Failing
                    };
                    status.last_error = Some(e.to_string());
                    status.next_attempt = Some(SystemTime::now() + wait);
                    let _ = events.send(PollerEvent::StateChanged(status.clone()));
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() || events.is_closed() {
                return;
            }
        }
    }
}

/// Whether `[notifications]` wants a notification for `e` at all (before throttling).
fn wanted(n: &NotificationsConfig, e: &Event) -> bool {
    let kind_on = match e.kind {
        EventKind::Open => n.opens,
        EventKind::Click => n.clicks,
    };
    kind_on && (e.classification != Classification::Automated || n.automated)
}

/// The wait after the `failures`-th consecutive failure: the poll interval doubled per failure
/// (transient errors) or the maximum at once (a rejected token will not fix itself soon), capped at
/// [`MAX_BACKOFF`], then spread by ±25% (`jitter` in 0..1) so clients do not retry in step.
pub fn backoff(interval: Duration, failures: u32, transient: bool, jitter: f64) -> Duration {
    let base = if transient {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        interval.saturating_mul(factor).min(MAX_BACKOFF)
    } else {
        MAX_BACKOFF
    };
    base.mul_f64(0.75 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A poller running as a background task.
pub struct PollerHandle {
    pub events: mpsc::UnboundedReceiver<PollerEvent>,
    stop: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<()>,
}

impl PollerHandle {
    /// Asks the task to stop after the current poll; await `task` to wait for it.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

/// Starts [`Poller::run`] on the current tokio runtime.
pub fn spawn(config: PollerConfig) -> Result<PollerHandle, PollError> {
    let poller = Poller::new(config)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(poller.run(tx, shutdown));
    Ok(PollerHandle {
        events: rx,
        stop,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poller_on(dir: &std::path::Path, notifications: NotificationsConfig) -> Poller {
        Poller::new(PollerConfig {
            account: "work".into(),
            base_url: "http://127.0.0.1:9".into(),
            api_token: "t".into(),
            poll_interval: Duration::from_secs(30),
            notifications,
            db_path: dir.join("db.sqlite3"),
            page_limit: PAGE_LIMIT,
        })
        .unwrap()
    }

    fn event(id: i64, kind: EventKind, class: Classification, reason: &str) -> Event {
        Event {
            id,
            kind,
            message_id: "<q3@acme.test>".into(),
            recipient: "dana@acme.test".into(),
            url: (kind == EventKind::Click).then(|| "https://acme.test/offer".into()),
            at: chrono::DateTime::from_timestamp(5000 + id, 0).unwrap(),
            user_agent: String::new(),
            ip: None,
            classification: class,
            reason: reason.into(),
        }
    }

    #[test]
    fn notifications_name_who_and_the_mail_and_say_what_kind_of_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = poller_on(
            dir.path(),
            NotificationsConfig {
                automated: true,
                ..Default::default()
            },
        );
        p.store
            .record_tracked_message(&crate::store::TrackedMessageRecord {
                account: "work".into(),
                message_id: "q3@acme.test".into(),
                subject: "Proposal for Q3".into(),
                sent_at: 1000,
                track_opens: true,
                track_links: true,
                recipients: vec![crate::store::TrackedRecipient {
                    address: "dana@acme.test".into(),
                    name: "Dana Lee".into(),
                }],
            })
            .unwrap();
        let events = [
            event(1, EventKind::Open, Classification::Human, ""),
            event(2, EventKind::Open, Classification::Human, ""),
            event(
                3,
                EventKind::Open,
                Classification::Proxy,
                "GoogleImageProxy",
            ),
            event(4, EventKind::Click, Classification::Human, ""),
            event(
                5,
                EventKind::Open,
                Classification::Automated,
                "Apple Mail Privacy Protection",
            ),
        ];
        p.store
            .store_events_and_cursor("work", &events, "c")
            .unwrap();
        let text = |e: &Event| p.notification_text(e).unwrap().unwrap();
        let second = text(&events[1]);
        assert_eq!(second.summary, "Dana Lee opened");
        assert_eq!(second.body, "Proposal for Q3 — 2nd open");
        assert!(text(&events[2]).body.contains("later opens are invisible"));
        let click = text(&events[3]);
        assert_eq!(click.summary, "Dana Lee clicked a link");
        assert_eq!(click.body, "Proposal for Q3 — https://acme.test/offer");
        let machine = text(&events[4]);
        assert!(machine.summary.contains("automated"), "{machine:?}");
        assert!(machine.body.contains("Apple Mail Privacy Protection"));

        let quiet = poller_on(
            dir.path(),
            NotificationsConfig {
                clicks: false,
                ..Default::default()
            },
        );
        assert!(quiet.notification_text(&events[3]).unwrap().is_none());
        assert!(quiet.notification_text(&events[4]).unwrap().is_none());
        assert!(quiet.notification_text(&events[0]).unwrap().is_some());
    }

    #[test]
    fn backoff_doubles_caps_and_spreads() {
        let i = Duration::from_secs(30);
        assert_eq!(backoff(i, 1, true, 0.5), Duration::from_secs(30));
        assert_eq!(backoff(i, 3, true, 0.5), Duration::from_secs(120));
        assert_eq!(backoff(i, 40, true, 0.5), MAX_BACKOFF);
        assert_eq!(backoff(i, 1, false, 0.5), MAX_BACKOFF);
        assert_eq!(backoff(i, 1, true, 0.0), Duration::from_millis(22_500));
        assert_eq!(backoff(i, 1, true, 1.0), Duration::from_millis(37_500));
    }

    #[test]
    fn the_token_comes_from_the_command_first_line() {
        let t = TrackingConfig {
            api_token_command: Some("printf 'secret-1\\nsecond\\n'".into()),
            ..Default::default()
        };
        assert_eq!(resolve_api_token(&t).unwrap(), "secret-1");
        let failing = TrackingConfig {
            api_token_command: Some("exit 3".into()),
            ..Default::default()
        };
        assert!(matches!(
            resolve_api_token(&failing),
            Err(PollError::TokenCommand(_))
        ));
        assert!(matches!(
            resolve_api_token(&TrackingConfig::default()),
            Err(PollError::NoToken)
        ));
    }
}
