//! The sending side of tracking: the per-account "track opens / track links" defaults, the
//! tracking record a mail carries in the outbox (`outbox.tracking`), the [`TrackedPlanner`] that
//! turns a tracked mail into one copy per recipient and registers its tokens with the tracker
//! before the first copy leaves, and the tracking URLs of a sent mail for `tidings show`.
//!
//! A tracked mail is never sent untracked behind the user's back: when the tracker cannot be
//! reached the plan fails as temporary, so the mail waits in the outbox with that reason, until
//! the tracker answers or the user says "send it untracked" ([`mark_untracked`]).

use super::api::{ApiError, TrackerClient, DEFAULT_TIMEOUT};
use super::rewrite::{rewrite_for_recipient, RewriteOptions, TrackedLink};
use crate::config::TrackingConfig;
use crate::mail::compose::Draft;
use crate::mail::outbox::{DeliveryPlanner, PlanError, PlannedDelivery};
use crate::store::{
    CopyLink, CopyUrls, OutboxRow, Store, StoreError, TrackedMessageRecord, TrackedRecipient,
    TrackingPreference,
};
use crate::tracking::wire::{RecipientRegistration, Registration};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the outbox entry's tracking record cannot be read: {0}")]
    BadRecord(String),
    #[error("[tracking] {0}")]
    Config(String),
}

/// Whether a mail's opens and link clicks are tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TrackingChoice {
    pub opens: bool,
    pub links: bool,
}

impl TrackingChoice {
    pub fn any(self) -> bool {
        self.opens || self.links
    }
}

fn defaults_key(account: &str) -> String {
    format!("tracking.defaults.{account}")
}

/// The choice a new mail from `account` starts with: what the last mail sent from it used, or
/// `[tracking] track_opens / track_links` before the first.
pub fn defaults(
    store: &Store,
    account: &str,
    config: &TrackingConfig,
) -> Result<TrackingChoice, SendError> {
    let initial = TrackingChoice {
        opens: config.track_opens,
        links: config.track_links,
    };
    Ok(store
        .kv_get(&defaults_key(account))?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or(initial))
}

/// Makes `choice` the default for the next mail from `account` (call it when a mail is sent).
pub fn remember_choice(
    store: &Store,
    account: &str,
    choice: TrackingChoice,
) -> Result<(), SendError> {
    let json = serde_json::to_string(&choice).map_err(|e| SendError::BadRecord(e.to_string()))?;
    store.kv_set(&defaults_key(account), &json)?;
    Ok(())
}

/// One recipient's tracked copy, as registered: what `tidings show` lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientTracking {
    pub address: String,
    pub token: String,
    pub pixel_url: Option<String>,
    pub opt_out_url: Option<String>,
    pub links: Vec<TrackedLink>,
}

/// What `outbox.tracking` holds for a tracked mail (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingRecord {
    pub opens: bool,
    pub links: bool,
    pub opt_out_link: bool,
    /// Recipients who get the untracked copy: preference "never", or no recorded allow while
    /// `require_consent` is on. Decided when the mail enters the outbox.
    #[serde(default)]
    pub untracked_recipients: Vec<String>,
    /// The tracker the copies point at (set once registered).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Filled once the tracker has registered the copies.
    #[serde(default)]
    pub recipients: Vec<RecipientTracking>,
    /// Set when the user chose to send this mail untracked (e.g. the tracker was down): why.
    #[serde(default)]
    pub sent_untracked: Option<String>,
}

impl TrackingRecord {
    pub fn parse(json: &str) -> Result<TrackingRecord, SendError> {
        serde_json::from_str(json).map_err(|e| SendError::BadRecord(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        // A struct of strings and bools always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The tracking record for `draft` sent with `choice` (None: nothing tracked). Applies each
/// recipient's consent: "never" is untracked; with `require_consent` only "allow" is tracked.
pub fn record_for_draft(
    store: &Store,
    config: &TrackingConfig,
    draft: &Draft,
    choice: TrackingChoice,
) -> Result<Option<TrackingRecord>, SendError> {
    if !choice.any() {
        return Ok(None);
    }
    let mut untracked = Vec::new();
    for address in draft.recipients() {
        // The sender's own copy (a Bcc to self) is never tracked: their opens are not news.
        let own = draft.from.email.trim().eq_ignore_ascii_case(address.trim());
        let tracked = !own
            && match store.tracking_preference(&address)? {
                Some(TrackingPreference::Never) => false,
                Some(TrackingPreference::Allow) => true,
                None => !config.require_consent,
            };
        if !tracked {
            untracked.push(address);
        }
    }
    Ok(Some(TrackingRecord {
        opens: choice.opens,
        links: choice.links,
        opt_out_link: config.opt_out_link,
        untracked_recipients: untracked,
        base_url: None,
        recipients: Vec::new(),
        sent_untracked: None,
    }))
}

/// The tracker's API token: `api_token`, or the first line `api_token_command` prints.
pub fn resolve_api_token(config: &TrackingConfig) -> Result<String, SendError> {
    config
        .resolve_api_token()
        .map_err(SendError::Config)?
        .ok_or_else(|| SendError::Config("neither api_token nor api_token_command is set".into()))
}

/// Marks a waiting tracked mail to go out untracked (the user's explicit decision). Refused once
/// its copies are planned: by then the tracked copies are what goes out.
pub fn mark_untracked(store: &Store, id: i64, why: &str) -> Result<bool, SendError> {
    let Some(entry) = store.outbox_entry(id)? else {
        return Ok(false);
    };
    let Some(json) = entry.tracking.as_deref() else {
        return Ok(false);
    };
    if !store.outbox_deliveries(id)?.is_empty() {
        return Ok(false);
    }
    let mut record = TrackingRecord::parse(json)?;
    record.sent_untracked = Some(why.to_string());
    store.outbox_set_tracking(id, Some(&record.to_json()))?;
    Ok(true)
}

/// Plans tracked mail as one copy per tracked recipient (plus one untracked transaction for the
/// others) and registers the copies' tokens with the tracker first. Mail without a tracking
/// record goes out as one untracked transaction, like [`crate::mail::outbox::Untracked`].
pub struct TrackedPlanner {
    config: TrackingConfig,
    /// `[tracking]` with each account's `[accounts.NAME.tracking]` applied: a mail registers with
    /// the tracker of the account it is sent from.
    per_account: std::collections::BTreeMap<String, TrackingConfig>,
    db_path: PathBuf,
    untracked_if_tracker_down: bool,
    warnings: Vec<String>,
}

impl TrackedPlanner {
    /// `db_path` is the store the outbox lives in: the planner writes the registered tokens
    /// back into the entry's tracking record through its own connection.
    pub fn new(config: TrackingConfig, db_path: PathBuf) -> TrackedPlanner {
        TrackedPlanner {
            config,
            per_account: Default::default(),
            db_path,
            untracked_if_tracker_down: false,
            warnings: Vec::new(),
        }
    }

    /// A planner for every configured account, each mail planned with its account's tracking.
    pub fn for_config(config: &crate::config::Config, db_path: PathBuf) -> TrackedPlanner {
        let mut planner = TrackedPlanner::new(config.tracking.clone(), db_path);
        planner.per_account = config
            .accounts
            .keys()
            .map(|name| (name.clone(), config.tracking_for(name)))
            .collect();
        planner
    }

    fn config_for(&self, account: &str) -> &TrackingConfig {
        self.per_account.get(account).unwrap_or(&self.config)
    }

    /// The user's standing decision for this run: a mail whose tracker cannot be reached goes out
    /// untracked (with a warning) instead of waiting.
    pub fn untracked_if_tracker_down(mut self, yes: bool) -> TrackedPlanner {
        self.untracked_if_tracker_down = yes;
        self
    }

    fn untracked(draft: &Draft) -> Vec<PlannedDelivery> {
        vec![PlannedDelivery {
            recipients: draft.recipients(),
            raw: None,
        }]
    }

    fn save_record(&self, id: i64, record: &TrackingRecord) -> Result<(), StoreError> {
        let store = Store::open(&self.db_path)?;
        store.outbox_set_tracking(id, Some(&record.to_json()))
    }

    /// Records the registered mail where the events poller and the Tracked view look for it.
    fn record_tracked(
        &self,
        entry: &OutboxRow,
        draft: &Draft,
        record: &TrackingRecord,
    ) -> Result<(), StoreError> {
        let mut store = Store::open(&self.db_path)?;
        let all: Vec<_> = draft.to.iter().chain(&draft.cc).chain(&draft.bcc).collect();
        let recipients = record
            .recipients
            .iter()
            .map(|r| TrackedRecipient {
                address: r.address.clone(),
                name: all
                    .iter()
                    .find(|m| m.email.eq_ignore_ascii_case(&r.address))
                    .and_then(|m| m.name.clone())
                    .unwrap_or_default(),
            })
            .collect();
        store.record_tracked_message(&TrackedMessageRecord {
            account: entry.account.clone(),
            message_id: entry.message_id.clone(),
            subject: draft.subject.clone(),
            sent_at: entry.date,
            track_opens: record.opens,
            track_links: record.links,
            recipients,
        })?;
        let base = record.base_url.as_deref().unwrap_or("");
        let copies: Vec<_> = record
            .recipients
            .iter()
            .map(|r| {
                let urls = copy_urls(base, r.pixel_url.clone(), r.opt_out_url.clone(), &r.links);
                (r.address.clone(), urls)
            })
            .collect();
        store.record_tracked_copy_urls(&entry.account, &entry.message_id, &copies)
    }

    fn plan_tracked(
        &mut self,
        entry: &OutboxRow,
        draft: &Draft,
        mut record: TrackingRecord,
    ) -> Result<Vec<PlannedDelivery>, PlanError> {
        let temporary = |message: String| PlanError {
            temporary: true,
            message,
        };
        let config = self.config_for(&entry.account);
        let base_url = config.base_url.clone().ok_or_else(|| {
            temporary("tracking is on but [tracking] base_url is not set".to_string())
        })?;
        let token = resolve_api_token(config).map_err(|e| temporary(e.to_string()))?;
        // The untracked original is what the Sent copy will be; its List-Unsubscribe targets
        // must keep working whatever the recipient's copy looks like.
        let original = draft.build(entry.date, false).map_err(|e| PlanError {
            temporary: false,
            message: format!("building the mail: {e}"),
        })?;
        let unsubscribe_urls = list_unsubscribe_urls(&original);
        let opts = RewriteOptions {
            base_url: &base_url,
            track_opens: record.opens,
            track_links: record.links,
            opt_out_link: record.opt_out_link,
            unsubscribe_urls: &unsubscribe_urls,
            excluded_urls: &config.exclude_links,
        };
        let mut plan = Vec::new();
        let mut registrations = Vec::new();
        let mut tracked = Vec::new();
        let mut untracked = Vec::new();
        for address in draft.recipients() {
            if record
                .untracked_recipients
                .iter()
                .any(|u| u.eq_ignore_ascii_case(&address))
            {
                untracked.push(address);
                continue;
            }
            let copy = rewrite_for_recipient(draft.html.as_deref(), Some(&draft.body), &opts);
            let mut personal = draft.clone();
            if let Some(text) = &copy.text {
                personal.body = text.clone();
            }
            let raw = personal
                .build_with_html(entry.date, false, Some(&copy.html))
                .map_err(|e| PlanError {
                    temporary: false,
                    message: format!("building the tracked copy: {e}"),
                })?;
            registrations.push(RecipientRegistration {
                address: address.clone(),
                token: copy.recipient_token.clone(),
                // The hidden trap link is registered like any link, marked as the trap.
                links: copy.links.iter().chain(&copy.trap).cloned().collect(),
            });
            tracked.push(RecipientTracking {
                address: address.clone(),
                token: copy.recipient_token,
                pixel_url: copy.pixel_url,
                opt_out_url: copy.opt_out_url,
                links: copy.links,
            });
            plan.push(PlannedDelivery {
                recipients: vec![address],
                raw: Some(raw),
            });
        }
        if !untracked.is_empty() {
            plan.push(PlannedDelivery {
                recipients: untracked,
                raw: None,
            });
        }
        if registrations.is_empty() {
            return Ok(plan);
        }
        let registration = Registration {
            message_id: entry.message_id.clone(),
            sent_at: chrono::DateTime::from_timestamp(entry.date, 0).unwrap_or_default(),
            recipients: registrations,
        };
        match register(&base_url, &token, registration) {
            Ok(()) => {}
            Err(e) if self.untracked_if_tracker_down && e.is_transient() => {
                let why = format!("sent untracked: {e}");
                self.warnings
                    .push(format!("{}: {why}", entry.message_id.clone()));
                record.sent_untracked = Some(why);
                self.save_record(entry.id, &record)
                    .map_err(|e| temporary(e.to_string()))?;
                return Ok(Self::untracked(draft));
            }
            // The same registration would be refused again: the mail fails now, with the fix
            // in its reason, instead of retrying for ever.
            Err(e @ ApiError::RegistrationTooLarge { .. }) => {
                return Err(PlanError {
                    temporary: false,
                    message: format!(
                        "tracking: {e}; the mail was not sent (once the limit is raised: \
                         `tidings outbox retry {}`)",
                        entry.id
                    ),
                })
            }
            Err(e) => {
                return Err(temporary(format!(
                    "tracking: {e} (the mail waits; `tidings outbox untrack {}` sends it \
                     untracked)",
                    entry.id
                )))
            }
        }
        record.base_url = Some(base_url);
        record.recipients = tracked;
        self.save_record(entry.id, &record)
            .and_then(|()| self.record_tracked(entry, draft, &record))
            .map_err(|e| temporary(format!("recording the tracked copies: {e}")))?;
        tracing::info!(id = entry.id, "tracked mail registered with the tracker");
        Ok(plan)
    }

    /// Warnings for the user: mails this planner sent untracked because the tracker was down.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }
}

/// The http(s) targets of a raw mail's `List-Unsubscribe` header(s) (RFC 2369: `<URL>` entries
/// separated by commas; `mailto:` targets are not links we could track anyway).
pub fn list_unsubscribe_urls(raw: &[u8]) -> Vec<String> {
    let Some(message) = mail_parser::MessageParser::default().parse_headers(raw) else {
        return Vec::new();
    };
    let mut urls = Vec::new();
    for header in message.headers() {
        if !header.name().eq_ignore_ascii_case("List-Unsubscribe") {
            continue;
        }
        let Some(value) = raw.get(header.offset_start() as usize..header.offset_end() as usize)
        else {
            continue;
        };
        let value = String::from_utf8_lossy(value);
        for part in value.split('<').skip(1) {
            let Some((url, _)) = part.split_once('>') else {
                continue;
            };
            // Folded headers may carry whitespace inside the brackets.
            let url: String = url.split_whitespace().collect();
            let lower = url.to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                urls.push(url);
            }
        }
    }
    urls
}

/// Registers on a runtime of its own, on its own thread, so it works whether or not the caller
/// is inside a tokio runtime (the outbox worker is a plain thread, the CLI may not be).
fn register(base_url: &str, token: &str, registration: Registration) -> Result<(), ApiError> {
    let client = TrackerClient::new(base_url, token, DEFAULT_TIMEOUT)?;
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ApiError::Network(e.to_string()))?;
            rt.block_on(client.register_message(&registration))
        })
        .join()
        .unwrap_or_else(|_| Err(ApiError::Network("the registration thread panicked".into())))
    })
}

impl DeliveryPlanner for TrackedPlanner {
    fn plan(
        &mut self,
        entry: &OutboxRow,
        draft: &Draft,
    ) -> Result<Vec<PlannedDelivery>, PlanError> {
        let Some(json) = entry.tracking.as_deref() else {
            return Ok(Self::untracked(draft));
        };
        let record = TrackingRecord::parse(json).map_err(|e| PlanError {
            temporary: false,
            message: e.to_string(),
        })?;
        if let Some(why) = &record.sent_untracked {
            self.warnings.push(format!("{}: {why}", entry.message_id));
            return Ok(Self::untracked(draft));
        }
        self.plan_tracked(entry, draft, record)
    }
}

/// The planner for an outbox worker ([`crate::mail::outbox::OutboxWorker::spawn_with_planner`]):
/// tracked mail goes out tracked, or waits while the tracker is down.
pub fn planner_for(
    config: &crate::config::Config,
    db_path: &std::path::Path,
) -> Box<dyn DeliveryPlanner + Send> {
    Box::new(TrackedPlanner::for_config(config, db_path.to_path_buf()))
}

/// Lets a caller that hands the planner to the outbox still collect its warnings afterwards.
pub struct SharedPlanner(pub std::sync::Arc<std::sync::Mutex<TrackedPlanner>>);

impl DeliveryPlanner for SharedPlanner {
    fn plan(
        &mut self,
        entry: &OutboxRow,
        draft: &Draft,
    ) -> Result<Vec<PlannedDelivery>, PlanError> {
        match self.0.lock() {
            Ok(mut p) => p.plan(entry, draft),
            Err(_) => Err(PlanError {
                temporary: true,
                message: "the tracking planner failed earlier in this process".into(),
            }),
        }
    }
}

/// The tracking section `tidings show` appends for a sent tracked mail: each recipient's pixel
/// and link URLs. None when the mail with this Message-ID was not tracked.
pub fn tracking_report(store: &Store, message_id: &str) -> Result<Option<String>, SendError> {
    let Some(entry) = store.sent_tracking(message_id)? else {
        return client_side_report(store, message_id);
    };
    let record = TrackingRecord::parse(&entry.tracking)?;
    let mut out = String::from("\nTracking\n");
    if let Some(why) = &record.sent_untracked {
        out.push_str(&format!("  not tracked: {why}\n"));
        return Ok(Some(out));
    }
    // A sent mail with no registered copy had no one to track (e.g. only the sender's own).
    if record.recipients.is_empty() && entry.state != crate::mail::outbox::state::SENT {
        out.push_str("  not registered with the tracker yet (still in the outbox)\n");
    }
    let base = record.base_url.as_deref().unwrap_or("");
    for r in &record.recipients {
        let urls = copy_urls(base, r.pixel_url.clone(), r.opt_out_url.clone(), &r.links);
        push_recipient(&mut out, &r.address, Some(&urls));
    }
    for u in &record.untracked_recipients {
        let why = if u.eq_ignore_ascii_case(&entry.envelope_from) {
            "your own copy"
        } else {
            "no consent"
        };
        out.push_str(&format!("  {u}: untracked ({why})\n"));
    }
    Ok(Some(out))
}

/// The report of a tracked mail with no outbox row (sent before the outbox was cleared, or
/// registered by `tidings demo`'s seed), from what the client recorded when it was registered.
fn client_side_report(store: &Store, message_id: &str) -> Result<Option<String>, SendError> {
    let Some(copies) = store.tracked_copies(message_id)? else {
        return Ok(None);
    };
    let mut out = String::from("\nTracking\n");
    for copy in &copies {
        push_recipient(&mut out, &copy.address, copy.urls.as_ref());
    }
    Ok(Some(out))
}

/// A recipient's copy URLs, each link's tracked URL made whole from the tracker's `base`.
pub(crate) fn copy_urls(
    base: &str,
    pixel_url: Option<String>,
    opt_out_url: Option<String>,
    links: &[TrackedLink],
) -> CopyUrls {
    let base = base.trim_end_matches('/');
    CopyUrls {
        pixel_url,
        opt_out_url,
        links: links
            .iter()
            .map(|l| CopyLink {
                tracked_url: format!("{base}/l/{}", l.token),
                target: l.url.clone(),
            })
            .collect(),
    }
}

/// One recipient's lines of the report; `urls` None when they were never recorded.
fn push_recipient(out: &mut String, address: &str, urls: Option<&CopyUrls>) {
    out.push_str(&format!("  {address}\n"));
    let Some(urls) = urls else {
        out.push_str("    URLs not recorded (tracked before this version kept them)\n");
        return;
    };
    if let Some(p) = &urls.pixel_url {
        out.push_str(&format!("    pixel: {p}\n"));
    }
    for l in &urls.links {
        out.push_str(&format!("    link:  {} -> {}\n", l.tracked_url, l.target));
    }
    if let Some(o) = &urls.opt_out_url {
        out.push_str(&format!("    opt-out: {o}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_unsubscribe_yields_its_http_targets_only() {
        let raw = b"From: a@example.com\r\nList-Unsubscribe: <mailto:leave@example.com?subject=x>,\r\n <https://news.example.com/out/42?u=\r\n 7>, <javascript:alert(1)>\r\nlist-unsubscribe: <HTTP://Other.example/u>\r\nSubject: x\r\n\r\nbody with List-Unsubscribe: <https://body.example/no>\r\n";
        assert_eq!(
            list_unsubscribe_urls(raw),
            vec![
                "https://news.example.com/out/42?u=7",
                "HTTP://Other.example/u"
            ]
        );
        assert!(list_unsubscribe_urls(b"Subject: none\r\n\r\n").is_empty());
        assert!(
            list_unsubscribe_urls(b"List-Unsubscribe: <https://x.example/u\r\n\r\n").is_empty()
        );
    }
}
