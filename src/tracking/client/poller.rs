//! The events poller: fetches the tracker's events after the saved cursor, pages until caught up,
//! commits each page with its cursor in one transaction (no event lost or counted twice across
//! crashes), syncs opt-outs into contacts, and turns new events into notifications — in-app (the
//! `notifications` table) and on the desktop — throttled and filtered by `[notifications]`.
//! Runs headless (`tidings watch`) or as a background task that reports [`PollerEvent`]s on a
//! channel (the TUI). Backs off with jitter while the tracker is unreachable.
//!
//! Several pollers may share one data dir (a `tidings watch` unit and the TUI): notifications are
//! claimed per event and throttled through the store, never in memory, so each event notifies at
//! most once in total, also across restarts. One poller runs per distinct tracker (base URL and
//! token) of the configured accounts.

use super::api::{ApiError, TrackerClient};
use crate::config::{Config, NotificationsConfig, TrackingConfig};
use crate::notify::{self, DesktopNotification};
use crate::store::{Store, StoreError, StoredNotification, TrackingPreference};
use crate::tracking_event::Event;
use crate::tracking_event::{Classification, EventKind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
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

/// Everything a poller needs; built from the config by [`PollerConfig::for_trackers`].
#[derive(Clone)]
pub struct PollerConfig {
    /// Names the cursor, and the account events of mail not recorded as sent from any account
    /// are stored under (each other event goes to the account that sent its mail).
    pub account: String,
    /// Addresses the user sends from: copies addressed to these are the user's own, and their
    /// opens and clicks are never counted.
    pub own_addresses: Vec<String>,
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
            own_addresses: Vec::new(),
            base_url,
            api_token: resolve_api_token(tracking)?,
            poll_interval: Duration::from_secs(tracking.poll_seconds.max(1)),
            notifications: notifications.clone(),
            db_path,
            page_limit: PAGE_LIMIT,
        })
    }
}

impl PollerConfig {
    /// One poller per distinct tracker (base URL and token) among the accounts — most users have
    /// one, shared by every account — or only `account`'s when given. Accounts without a
    /// `base_url` are not polled; with no account configured, `[tracking]` is polled as "default".
    /// Fails when there is nothing to poll or a token cannot be had.
    pub fn for_trackers(
        config: &Config,
        account: Option<&str>,
        db_path: PathBuf,
    ) -> Result<Vec<PollerConfig>, PollError> {
        let mut names: Vec<String> = match account {
            Some(a) => vec![a.to_string()],
            None => config.accounts.keys().cloned().collect(),
        };
        if names.is_empty() {
            names.push("default".into());
        }
        let mut configs: Vec<PollerConfig> = Vec::new();
        let mut seen: Vec<(String, Option<String>, Option<String>)> = Vec::new();
        for name in names {
            let t = config.tracking_for(&name);
            let Some(base) = t.base_url.as_deref().filter(|u| !u.trim().is_empty()) else {
                continue;
            };
            let key = (
                base.trim().trim_end_matches('/').to_string(),
                t.api_token.clone(),
                t.api_token_command.clone(),
            );
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let mut c =
                PollerConfig::from_config(&name, &t, &config.notifications, db_path.clone())?;
            c.own_addresses = config.own_addresses();
            configs.push(c);
        }
        if configs.is_empty() {
            return Err(PollError::NoBaseUrl);
        }
        Ok(configs)
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
    /// Notifications this poller claimed (and showed on the desktop when on).
    pub notifications: Vec<StoredNotification>,
    pub desktop_shown: usize,
    pub optouts: usize,
    /// Events stored since the app was last told, by this poller or any other on the data dir
    /// (a `tidings watch` beside the TUI): what [`PollerEvent::NewEvents`] reports.
    pub stored_since_report: usize,
    /// Notifications added since the app was last told, by any poller, oldest first: what
    /// [`PollerEvent::Notification`] reports, so the bell follows whoever claimed the events.
    pub to_report: Vec<StoredNotification>,
    /// Events addressed to the user's own addresses, dropped uncounted.
    pub own_dropped: usize,
    /// When the first event still in its settle window may notify (unix seconds).
    pub next_settled: Option<i64>,
}

pub struct Poller {
    config: PollerConfig,
    client: TrackerClient,
    store: Store,
    reported: Arc<Mutex<Reported>>,
}

/// How far the app has been told about the store: shared by the pollers of one process (one per
/// tracker) so that each event and notification is reported once, whoever stored it.
#[derive(Debug, Default)]
struct Reported {
    events: u64,
    notification: i64,
}

impl Poller {
    pub fn new(config: PollerConfig) -> Result<Poller, PollError> {
        let client = TrackerClient::new(
            &config.base_url,
            &config.api_token,
            super::api::DEFAULT_TIMEOUT,
        )?;
        let store = Store::open(&config.db_path)?;
        let reported = Reported {
            events: store.tracking_event_count()?,
            notification: store.last_notification_id()?,
        };
        Ok(Poller {
            config,
            client,
            store,
            reported: Arc::new(Mutex::new(reported)),
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
            let mut events: Vec<Event> = page.events.into_iter().map(clean_event).collect();
            let before = events.len();
            events.retain(|e| !self.is_own_address(&e.recipient));
            outcome.own_dropped += before - events.len();
            let stored =
                self.store
                    .store_events_page(&account, cursor.as_deref(), &events, &page.cursor)?;
            if !stored.cursor_saved {
                tracing::debug!("another poller moved the cursor first; continuing after it");
            }
            outcome.pages += 1;
            outcome.new_events += stored.fresh.len();
            // A cursor that does not move under full pages would hand out the same page for
            // ever: the next poll tries again.
            if !full || unchanged {
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
        self.notify_pending(&mut outcome).await?;
        self.catch_up_reports(&mut outcome)?;
        Ok(outcome)
    }

    /// The user's own copy (they Bcc'd or addressed themselves): opening it is not the news.
    fn is_own_address(&self, address: &str) -> bool {
        let address = address.trim();
        self.config
            .own_addresses
            .iter()
            .any(|own| own.eq_ignore_ascii_case(address))
    }

    /// Claims the pending events (this poller's and any another left behind) and notifies those
    /// that pass `[notifications]` and the shared throttle. The decision is committed before the
    /// desktop is asked, so a crash in between can lose a desktop notification but never repeat
    /// one.
    async fn notify_pending(&mut self, out: &mut PollOutcome) -> Result<(), PollError> {
        let n = self.config.notifications.clone();
        // Only events past the settle window: a younger one may yet turn out to be a machine's.
        let settle = i64::try_from(n.settle_seconds).unwrap_or(i64::MAX / 2);
        let settled_at = chrono::Utc::now().timestamp() - settle;
        let claimed = self
            .store
            .claim_settled_events(settled_at, |store, account, e| {
                decide_notification(store, &n, account, e)
            })?;
        out.next_settled = self
            .store
            .first_pending_after(settled_at)?
            .map(|at| at.saturating_add(settle));
        let longest = n.open_throttle_seconds.max(n.click_throttle_seconds);
        let horizon = chrono::Utc::now().timestamp()
            - i64::try_from(longest).unwrap_or(i64::MAX / 2)
            - THROTTLE_SLACK_SECONDS;
        self.store.prune_throttle(horizon)?;
        let now = chrono::Utc::now().timestamp();
        for (stored, text) in claimed {
            let stale = now - stored.at > DESKTOP_MAX_AGE_SECONDS;
            if stale {
                tracing::info!(summary = %text.summary, "old event: in-app notification only");
            } else if n.desktop && notify::show_desktop(&text).await == notify::Delivery::Shown {
                out.desktop_shown += 1;
            }
            out.notifications.push(stored);
        }
        Ok(())
    }

    /// What was stored and notified since the app was last told — by this poller, a sibling in
    /// this process, or another process on the data dir — so the TUI's list and bell follow a
    /// `tidings watch` that happened to fetch the events first.
    fn catch_up_reports(&mut self, out: &mut PollOutcome) -> Result<(), PollError> {
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        let count = self.store.tracking_event_count()?;
        out.stored_since_report =
            usize::try_from(count.saturating_sub(reported.events)).unwrap_or(usize::MAX);
        reported.events = count;
        out.to_report = self.store.notifications_after(reported.notification)?;
        if let Some(last) = out.to_report.last() {
            reported.notification = last.id;
        }
        Ok(())
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
                    if outcome.stored_since_report > 0 {
                        let _ = events.send(PollerEvent::NewEvents {
                            count: outcome.stored_since_report,
                        });
                    }
                    for n in outcome.to_report {
                        let _ = events.send(PollerEvent::Notification(n));
                    }
                    let was_failing =
                        status.consecutive_failures > 0 || status.state == PollerState::Starting;
                    status.consecutive_failures = 0;
                    status.last_error = None;
                    status.state = PollerState::CaughtUp {
                        at: SystemTime::now(),
                    };
                    // An event waiting out its settle window is decided when the window ends,
                    // not a whole poll interval later.
                    let until_settled = outcome.next_settled.map(|at| {
                        let secs = at.saturating_sub(chrono::Utc::now().timestamp()).max(0);
                        Duration::from_secs(secs.unsigned_abs() + 1)
                    });
                    let wait = until_settled.map_or(self.config.poll_interval, |w| {
                        w.min(self.config.poll_interval)
                    });
                    status.next_attempt = Some(SystemTime::now() + wait);
                    if was_failing {
                        let _ = events.send(PollerEvent::StateChanged(status.clone()));
                    }
                    wait
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

/// An event as the tracker sent it, made safe to store: its text fields hold no terminal
/// controls (they reach the TUI, notifications and `tidings watch`) and are no longer than
/// the tracker itself would store, so a hostile tracker cannot fill the disk through them.
fn clean_event(mut e: Event) -> Event {
    use crate::tracking::wire::{MAX_URL_LEN, MAX_USER_AGENT};
    let clean = |s: &str, max: usize| {
        clip(&crate::sanitize::sanitize_line(clip(s, max * 4)), max).to_string()
    };
    e.message_id = clean(&e.message_id, 998);
    e.recipient = clean(&e.recipient, 320);
    e.url = e.url.as_deref().map(|u| clean(u, MAX_URL_LEN));
    e.user_agent = clean(&e.user_agent, MAX_USER_AGENT);
    e.reason = clean(&e.reason, 200);
    e.client = clean(&e.client, 80);
    e.reclassified
        .truncate(crate::tracking::wire::MAX_PAGE as usize);
    e.ip = e.ip.as_deref().map(|ip| clean(ip, 64));
    e
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Events older than this when claimed (the first poll of a long history, a watcher back after
/// a night off) go to the in-app list only: a burst of desktop pop-ups about yesterday helps no one.
const DESKTOP_MAX_AGE_SECONDS: i64 = 60 * 60;

/// Keys kept in the throttle a while past the longest window: a backlog of older events fetched
/// late is still throttled against them.
const THROTTLE_SLACK_SECONDS: i64 = 24 * 60 * 60;

/// What a claimed event becomes: `None` when `[notifications]` does not want it or the shared
/// throttle holds it back (opens per mail and recipient, clicks per mail); else the in-app
/// notification, added here in the claiming transaction, and the desktop text.
fn decide_notification(
    store: &Store,
    n: &NotificationsConfig,
    account: &str,
    e: &Event,
) -> Result<Option<(StoredNotification, DesktopNotification)>, PollError> {
    if !wanted(n, e) {
        return Ok(None);
    }
    let message_id = crate::message_id::bracketed(&e.message_id);
    let at = e.at.timestamp();
    let (key, window) = match e.kind {
        EventKind::Open => (
            format!("open|{message_id}|{}", e.recipient.trim().to_lowercase()),
            n.open_throttle_seconds,
        ),
        EventKind::Click => (format!("click|{message_id}"), n.click_throttle_seconds),
    };
    if !store.throttle_pass(&key, at, window)? {
        tracing::debug!(event = e.id, "notification throttled");
        return Ok(None);
    }
    // Built only for what passes the throttle: a backlog of thousands of opens costs one text.
    let Some(text) = notification_text(store, n, account, e)? else {
        return Ok(None);
    };
    let stored = store.add_notification(
        account,
        Some(e.id),
        at,
        e.kind,
        &text.summary,
        &text.body,
        &e.message_id,
    )?;
    Ok(Some((stored, text)))
}

/// The notification for `e`, or `None` when `[notifications]` turns its kind off.
fn notification_text(
    store: &Store,
    n: &NotificationsConfig,
    account: &str,
    e: &Event,
) -> Result<Option<DesktopNotification>, PollError> {
    if !wanted(n, e) {
        return Ok(None);
    }
    let automated = e.classification == Classification::Automated;
    let who = display_name(store, account, &e.message_id, &e.recipient)?;
    let subject = subject(store, account, &e.message_id)?;
    let clean = |s: &str| crate::sanitize::sanitize_line(s);
    let (mut summary, mut body) = match e.kind {
        EventKind::Open => {
            let nth = store.open_ordinal(account, &e.message_id, &e.recipient, e.id)?;
            let body = match e.classification {
                Classification::Proxy => format!(
                    "{subject} — opened through Google's image proxy; later opens are invisible"
                ),
                Classification::Automated => format!("{subject} — automated open"),
                Classification::Human if e.client.is_empty() => {
                    format!("{subject} — {} open", notify::ordinal(nth))
                }
                Classification::Human => {
                    format!("{subject} — {}, {} open", e.client, notify::ordinal(nth))
                }
            };
            (format!("{who} opened"), body)
        }
        EventKind::Click if e.client.is_empty() => (
            format!("{who} clicked a link"),
            format!("{subject} — {}", e.url.as_deref().unwrap_or("")),
        ),
        EventKind::Click => (
            format!("{who} clicked a link"),
            format!(
                "{subject} — {} — {}",
                e.client,
                e.url.as_deref().unwrap_or("")
            ),
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
fn display_name(
    store: &Store,
    account: &str,
    message_id: &str,
    address: &str,
) -> Result<String, PollError> {
    if let Some(c) = store.contact(address)? {
        if !c.display_name.trim().is_empty() {
            return Ok(c.display_name);
        }
    }
    let addressed = store
        .tracked_message(account, message_id)?
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
fn subject(store: &Store, account: &str, message_id: &str) -> Result<String, PollError> {
    let tracked = store
        .tracked_message(account, message_id)?
        .map(|m| m.subject)
        .filter(|s| !s.trim().is_empty());
    if let Some(s) = tracked {
        return Ok(s);
    }
    let cached = store.subject_by_message_id(&crate::message_id::bracketed(message_id))?;
    Ok(cached
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "(no subject)".into()))
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
    spawn_all(vec![config])
}

/// Starts one [`Poller::run`] per config (see [`PollerConfig::for_trackers`]) on the current
/// tokio runtime, reporting on one channel; `task` ends when all of them have.
pub fn spawn_all(configs: Vec<PollerConfig>) -> Result<PollerHandle, PollError> {
    let mut pollers = configs
        .into_iter()
        .map(Poller::new)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(shared) = pollers.first().map(|p| p.reported.clone()) {
        for p in &mut pollers {
            p.reported = shared.clone();
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop, shutdown) = watch::channel(false);
    let tasks: Vec<_> = pollers
        .into_iter()
        .map(|p| tokio::spawn(p.run(tx.clone(), shutdown.clone())))
        .collect();
    let task = tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
    });
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
            own_addresses: Vec::new(),
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
            confidence: Default::default(),
            client: String::new(),
            reclassified: Vec::new(),
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
            .record_tracked_message(&crate::store::TrackedMessageRecord::q3_for_tests(
                "q3@acme.test",
                &[("dana@acme.test", "Dana Lee")],
            ))
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
        let text = |e: &Event| {
            notification_text(&p.store, &p.config.notifications, "work", e)
                .unwrap()
                .unwrap()
        };
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
        let quiet_text = |e: &Event| {
            notification_text(&quiet.store, &quiet.config.notifications, "work", e).unwrap()
        };
        assert!(quiet_text(&events[3]).is_none());
        assert!(quiet_text(&events[4]).is_none());
        assert!(quiet_text(&events[0]).is_some());
    }

    #[test]
    fn one_poller_per_distinct_tracker_and_the_users_addresses_are_their_own() {
        let account = |email: &str, tracking: &str| {
            format!(
                "email = \"{email}\"\n[accounts.A.imap]\nhost = \"h\"\nport = 1\nuser = \"u\"\n\
                 password = \"p\"\n{tracking}"
            )
        };
        let mut text =
            String::from("[tracking]\nbase_url = \"http://127.0.0.1:9\"\napi_token = \"shared\"\n");
        for (name, email, tracking) in [
            ("home", "me@home.test", ""),
            ("side", "Me@Side.test", "[accounts.side.tracking]\ntrack_opens = true\n"),
            (
                "team",
                "me@team.test",
                "[accounts.team.tracking]\nbase_url = \"http://127.0.0.1:8\"\napi_token = \"team\"\n",
            ),
        ] {
            text.push_str(&format!("[accounts.{name}]\n"));
            text.push_str(&account(email, tracking).replace("accounts.A", &format!("accounts.{name}")));
        }
        let config = Config::parse(&text, std::path::Path::new("c.toml")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db.sqlite3");
        let all = PollerConfig::for_trackers(&config, None, db.clone()).unwrap();
        let polled: Vec<_> = all
            .iter()
            .map(|c| {
                (
                    c.account.as_str(),
                    c.base_url.as_str(),
                    c.api_token.as_str(),
                )
            })
            .collect();
        assert_eq!(
            polled,
            [
                ("home", "http://127.0.0.1:9", "shared"),
                ("team", "http://127.0.0.1:8", "team")
            ]
        );
        assert_eq!(
            all[0].own_addresses,
            ["me@home.test", "me@side.test", "me@team.test"]
        );
        let team = PollerConfig::for_trackers(&config, Some("team"), db.clone()).unwrap();
        assert_eq!(team.len(), 1);
        assert_eq!(team[0].api_token, "team");
        let p = Poller::new(all[0].clone()).unwrap();
        assert!(p.is_own_address(" ME@side.test"));
        assert!(!p.is_own_address("dana@acme.test"));
        assert!(matches!(
            PollerConfig::for_trackers(&Config::default(), None, db),
            Err(PollError::NoBaseUrl)
        ));
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
