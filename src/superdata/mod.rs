//! Superdata: public facts about a contact (Gravatar) and their organization's domain (homepage,
//! RDAP, DNS MX), fetched only when the user asks, each source behind the [`Provider`] trait, each
//! answer cached in SQLite with the time it was fetched. Owns the fetch policy ([`net`]) and the
//! views the contact and organization panes draw ([`details`]); the demo's offline sources are
//! in `crate::demo`. Knows nothing of the screen.

pub mod details;
pub mod gravatar;
pub mod homepage;
pub mod mx;
pub mod net;
pub mod rdap;

use crate::config::SuperdataConfig;
use crate::sanitize::sanitize_line;
use crate::store::{Store, StoreError, SuperdataRow};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub use gravatar::GravatarProfile;
pub use homepage::HomepageInfo;
pub use mx::MxInfo;
pub use rdap::RdapInfo;

/// The one line that tells a user how to switch Superdata on (CLI error, empty pane section).
pub const HOW_TO_ENABLE: &str =
    "superdata is off: add `[superdata]` with `enabled = true` to your config file";

#[derive(Debug, thiserror::Error)]
pub enum SuperdataError {
    #[error("{HOW_TO_ENABLE}")]
    Disabled,
    #[error("{0:?} is neither an email address nor a domain name")]
    BadTarget(String),
    #[error("{0} is not a person's address (noreply, bounce, notifications, …); tidings never enriches those")]
    NonHuman(String),
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Gravatar,
    Homepage,
    Rdap,
    Mx,
}

impl Source {
    pub const ALL: [Source; 4] = [Source::Gravatar, Source::Homepage, Source::Rdap, Source::Mx];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Gravatar => "gravatar",
            Source::Homepage => "homepage",
            Source::Rdap => "rdap",
            Source::Mx => "mx",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// What the UI shows as the source's name.
    pub fn label(self) -> &'static str {
        match self {
            Source::Gravatar => "Gravatar",
            Source::Homepage => "Homepage",
            Source::Rdap => "RDAP",
            Source::Mx => "DNS MX",
        }
    }
}

/// What a lookup is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A person: Gravatar for the address, plus the domain's sources unless it is free-mail.
    Email { email: String, domain: String },
    /// An organization's domain: homepage, RDAP, MX.
    Domain(String),
}

impl Target {
    pub fn parse(input: &str) -> Result<Target, SuperdataError> {
        let s = input.trim();
        if s.contains('@') {
            if !crate::address::is_valid_email(s) {
                return Err(SuperdataError::BadTarget(input.to_string()));
            }
            let email = crate::address::normalize_email(s);
            let domain = crate::address::domain_of(&email)
                .ok_or(SuperdataError::BadTarget(input.to_string()))?;
            Ok(Target::Email { email, domain })
        } else {
            crate::address::ascii_domain(s)
                .map(Target::Domain)
                .ok_or(SuperdataError::BadTarget(input.to_string()))
        }
    }

    pub fn domain(&self) -> &str {
        match self {
            Target::Email { domain, .. } | Target::Domain(domain) => domain,
        }
    }

    pub fn email(&self) -> Option<&str> {
        match self {
            Target::Email { email, .. } => Some(email),
            Target::Domain(_) => None,
        }
    }

    /// The sources this target asks, and the subject (address or domain) each is asked about.
    pub fn plan(&self) -> Vec<(Source, String)> {
        let mut plan = Vec::new();
        if let Some(email) = self.email() {
            plan.push((Source::Gravatar, email.to_string()));
        }
        let domain = self.domain();
        if self.email().is_none() || !crate::address::is_freemail(domain) {
            for s in [Source::Homepage, Source::Rdap, Source::Mx] {
                plan.push((s, domain.to_string()));
            }
        }
        plan
    }
}

/// The data one source found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SourceData {
    Gravatar(GravatarProfile),
    Homepage(Box<HomepageInfo>),
    Rdap(RdapInfo),
    Mx(MxInfo),
}

impl SourceData {
    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "null".into())
    }

    fn from_json(source: Source, json: &str) -> Result<SourceData, serde_json::Error> {
        Ok(match source {
            Source::Gravatar => SourceData::Gravatar(serde_json::from_str(json)?),
            Source::Homepage => SourceData::Homepage(Box::new(serde_json::from_str(json)?)),
            Source::Rdap => SourceData::Rdap(serde_json::from_str(json)?),
            Source::Mx => SourceData::Mx(serde_json::from_str(json)?),
        })
    }
}

/// How one source answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Found(SourceData),
    /// The source answered that it knows nothing (Gravatar 404, no MX records, …).
    NotFound,
    /// The source could not be asked or gave a bad answer; the reason is shown to the user.
    Failed(String),
}

/// One source's answer about one subject, with when it was fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceResult {
    pub source: Source,
    /// The address or domain this source was asked about.
    pub subject: String,
    /// What was asked: the URL, or the DNS question.
    pub url: String,
    /// Unix seconds.
    pub fetched_at: i64,
    /// Served by `tidings demo`'s local sources: not real data.
    pub demo: bool,
    /// True when this lookup answered from the cache rather than the network.
    pub cached: bool,
    pub outcome: Outcome,
}

impl SourceResult {
    pub fn data(&self) -> Option<&SourceData> {
        match &self.outcome {
            Outcome::Found(d) => Some(d),
            _ => None,
        }
    }

    pub fn status(&self) -> &'static str {
        match self.outcome {
            Outcome::Found(_) => "ok",
            Outcome::NotFound => "not_found",
            Outcome::Failed(_) => "error",
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "source": self.source.as_str(),
            "subject": self.subject,
            "url": self.url,
            "fetched_at": rfc3339(self.fetched_at),
            "demo": self.demo,
            "cached": self.cached,
            "status": self.status(),
            "error": match &self.outcome { Outcome::Failed(e) => Some(e.as_str()), _ => None },
            "data": self.data(),
        })
    }

    fn to_row(&self) -> SuperdataRow {
        SuperdataRow {
            subject: self.subject.clone(),
            source: self.source.as_str().to_string(),
            fetched_at: self.fetched_at,
            url: self.url.clone(),
            status: self.status().to_string(),
            data: self.data().map(SourceData::to_json),
            error: match &self.outcome {
                Outcome::Failed(e) => Some(e.clone()),
                _ => None,
            },
            demo: self.demo,
        }
    }

    fn from_row(row: &SuperdataRow) -> Option<SourceResult> {
        let source = Source::parse(&row.source)?;
        let outcome = match row.status.as_str() {
            "ok" => match row
                .data
                .as_deref()
                .map(|d| SourceData::from_json(source, d))
            {
                Some(Ok(d)) => Outcome::Found(d),
                // A row written by an older layout is treated as absent, so it is fetched again.
                _ => return None,
            },
            "not_found" => Outcome::NotFound,
            _ => Outcome::Failed(row.error.clone().unwrap_or_default()),
        };
        Some(SourceResult {
            source,
            subject: row.subject.clone(),
            url: row.url.clone(),
            fetched_at: row.fetched_at,
            demo: row.demo,
            cached: true,
            outcome,
        })
    }
}

pub fn rfc3339(ts: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Everything known about a target: each planned source's answer (cached or fresh).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub target: Target,
    pub free_mail: bool,
    /// One entry per planned source, in [`Source::ALL`] order; `None` = never fetched.
    pub sources: Vec<(Source, Option<SourceResult>)>,
}

impl Report {
    pub fn get(&self, source: Source) -> Option<&SourceResult> {
        self.sources
            .iter()
            .find(|(s, _)| *s == source)
            .and_then(|(_, r)| r.as_ref())
    }

    pub fn demo(&self) -> bool {
        self.sources
            .iter()
            .any(|(_, r)| r.as_ref().is_some_and(|r| r.demo))
    }

    /// Nothing is cached for any planned source.
    pub fn is_empty(&self) -> bool {
        self.sources.iter().all(|(_, r)| r.is_none())
    }

    /// The stable JSON of `tidings superdata --json` (documented in docs/superdata.md).
    pub fn to_json(&self) -> serde_json::Value {
        let mut sources = serde_json::Map::new();
        for s in Source::ALL {
            sources.insert(
                s.as_str().to_string(),
                self.get(s)
                    .map(SourceResult::to_json)
                    .unwrap_or(serde_json::Value::Null),
            );
        }
        let mut notes = Vec::new();
        if self.free_mail {
            notes.push(format!(
                "{} is a free-mail domain: no organization data is looked up",
                self.target.domain()
            ));
        }
        serde_json::json!({
            "kind": if self.target.email().is_some() { "email" } else { "domain" },
            "email": self.target.email(),
            "domain": self.target.domain(),
            "free_mail": self.free_mail,
            "demo": self.demo(),
            "sources": sources,
            "notes": notes,
        })
    }
}

/// One source of public data. Implementations do their own parsing and sanitizing; every request
/// goes through [`net::SafeClient`] (or, for DNS, the configured resolver).
pub trait Provider: Send + Sync {
    fn source(&self) -> Source;
    /// What is asked for `subject` (a URL or a DNS question), shown next to the answer.
    fn request(&self, subject: &str) -> String;
    /// `Ok(None)` when the source answers that it knows nothing about `subject`.
    fn fetch<'a>(&'a self, subject: &'a str) -> BoxFuture<'a, Result<Option<SourceData>, String>>;
}

/// Reads the cached answers for `target` without any network access (what a pane shows).
pub fn cached_report(store: &Store, target: &Target) -> Result<Report, SuperdataError> {
    let plan = target.plan();
    let mut sources = Vec::new();
    for s in Source::ALL {
        let Some((_, subject)) = plan.iter().find(|(p, _)| *p == s) else {
            continue;
        };
        let row = store.superdata_get(subject, s.as_str())?;
        sources.push((s, row.as_ref().and_then(SourceResult::from_row)));
    }
    Ok(Report {
        target: target.clone(),
        free_mail: target.email().is_some() && crate::address::is_freemail(target.domain()),
        sources,
    })
}

/// The configured providers and the fetch policy. Build one per lookup session; fetching happens
/// only in [`Superdata::lookup`] / [`Superdata::fetch`], which the user triggers.
pub struct Superdata {
    providers: Vec<Box<dyn Provider>>,
    demo: bool,
    /// Bounds each source as a whole. The HTTP client has its own, equal timeout; DNS needs this
    /// one, because the resolver tries UDP and then TCP, each for the whole timeout.
    timeout: std::time::Duration,
}

impl Superdata {
    /// The real sources from `[superdata]`; `Err(Disabled)` unless `enabled = true`.
    /// Must be called inside a tokio runtime (the DNS resolver lives on it).
    pub fn new(config: &SuperdataConfig) -> Result<Superdata, SuperdataError> {
        Self::with_policy(config, net::FetchPolicy::from_config(config))
    }

    /// Like [`Superdata::new`] with an explicit fetch policy (tests use
    /// [`net::PrivateAddresses::LoopbackOnly`]).
    pub fn with_policy(
        config: &SuperdataConfig,
        policy: net::FetchPolicy,
    ) -> Result<Superdata, SuperdataError> {
        if !config.enabled {
            return Err(SuperdataError::Disabled);
        }
        let timeout = policy.timeout;
        let resolver = net::build_resolver(&config.dns_server, policy.timeout)
            .map_err(SuperdataError::Setup)?;
        let client =
            net::SafeClient::new(policy, resolver.clone()).map_err(SuperdataError::Setup)?;
        let providers: Vec<Box<dyn Provider>> = vec![
            Box::new(gravatar::Gravatar::new(
                client.clone(),
                &config.gravatar_url,
            )),
            Box::new(homepage::Homepage::new(
                client.clone(),
                &config.homepage_url,
            )),
            Box::new(rdap::Rdap::new(client.clone(), &config.rdap_url)),
            Box::new(mx::Mx::new(resolver, &config.dns_server)),
        ];
        Ok(Superdata {
            providers,
            demo: config.demo,
            timeout,
        })
    }

    /// Asks every planned source of `target` at once; one failing never hides the others.
    pub async fn fetch(&self, target: &Target) -> Vec<SourceResult> {
        self.fetch_sources(target, &Source::ALL).await
    }

    /// Like [`Superdata::fetch`], limited to the planned sources listed in `only`.
    pub async fn fetch_sources(&self, target: &Target, only: &[Source]) -> Vec<SourceResult> {
        let plan = target.plan();
        let jobs = plan.iter().filter(|(s, _)| only.contains(s)).filter_map(|(source, subject)| {
            let p = self.providers.iter().find(|p| p.source() == *source)?;
            Some(async move {
                let outcome = match tokio::time::timeout(self.timeout, p.fetch(subject)).await {
                    Ok(Ok(Some(d))) => Outcome::Found(d),
                    Ok(Ok(None)) => Outcome::NotFound,
                    Ok(Err(e)) => Outcome::Failed(sanitize_line(&e)),
                    Err(_) => Outcome::Failed(format!(
                        "timed out after {} s",
                        self.timeout.as_secs().max(1)
                    )),
                };
                if let Outcome::Failed(e) = &outcome {
                    tracing::info!(source = source.as_str(), %subject, error = %e, "superdata source failed");
                }
                SourceResult {
                    source: *source,
                    subject: subject.clone(),
                    url: p.request(subject),
                    fetched_at: chrono::Utc::now().timestamp(),
                    demo: self.demo,
                    cached: false,
                    outcome,
                }
            })
        });
        futures::future::join_all(jobs).await
    }

    /// The user asked about `target`: answers from the cache, fetching what is missing, what
    /// failed last time, or everything when `refresh`; new answers are stored with their date.
    pub async fn lookup(
        &self,
        db_path: &Path,
        target: &Target,
        refresh: bool,
    ) -> Result<Report, SuperdataError> {
        if let Some(email) = target.email() {
            if crate::address::is_non_human(email) {
                return Err(SuperdataError::NonHuman(email.to_string()));
            }
        }
        let cached = cached_report(&Store::open(db_path)?, target)?;
        let stale: Vec<Source> = cached
            .sources
            .iter()
            .filter(|(_, r)| {
                refresh
                    || r.as_ref()
                        .is_none_or(|r| matches!(r.outcome, Outcome::Failed(_)))
            })
            .map(|(s, _)| *s)
            .collect();
        if stale.is_empty() {
            return Ok(cached);
        }
        let fresh = self.fetch_sources(target, &stale).await;
        let store = Store::open(db_path)?;
        for r in &fresh {
            store.superdata_put(&r.to_row())?;
        }
        let mut report = cached;
        for (s, slot) in report.sources.iter_mut() {
            if let Some(r) = fresh.iter().find(|r| r.source == *s) {
                *slot = Some(r.clone());
            }
        }
        Ok(report)
    }
}

/// Bounded, sanitized text for a value from the network: one line, at most `max` characters.
pub(crate) fn clean(s: &str, max: usize) -> String {
    let line = sanitize_line(s);
    if line.chars().count() <= max {
        return line;
    }
    let mut out: String = line.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `Some(clean)` unless the text is empty after cleaning.
pub(crate) fn clean_opt(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|s| clean(s, max)).filter(|s| !s.is_empty())
}

/// An absolute http(s) URL from the network, resolved against `base`, or `None`.
pub(crate) fn clean_url(s: &str, base: Option<&reqwest::Url>) -> Option<String> {
    let s = sanitize_line(s);
    if s.is_empty() || s.len() > 2048 {
        return None;
    }
    let url = match base {
        Some(b) => b.join(&s).ok()?,
        None => reqwest::Url::parse(&s).ok()?,
    };
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// GET a JSON document for a provider: 404 means the source knows nothing (`Ok(None)`), 2xx is
/// parsed by `parse`, anything else is an error.
pub(crate) async fn fetch_document<T>(
    client: &net::SafeClient,
    url: &str,
    accept: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<Option<T>, String> {
    let got = client.get(url, accept).await.map_err(|e| e.to_string())?;
    match got.status {
        404 => Ok(None),
        200..=299 => parse(&got.body).map(Some),
        s => Err(format!("HTTP status {s}")),
    }
}

/// Upper bounds on what is kept from an answer.
pub(crate) const MAX_TEXT: usize = 300;
pub(crate) const MAX_LONG_TEXT: usize = 1000;
pub(crate) const MAX_LIST: usize = 20;

impl SourceResult {
    /// The values found, as (label, text) lines in a fixed order: what the CLI prints and the
    /// panes list under the source's name, date and demo mark.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        let mut put = |label: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((label, v.clone()));
            }
        };
        match self.data() {
            None => {}
            Some(SourceData::Gravatar(g)) => {
                put("Name", &g.display_name);
                put("Job title", &g.job_title);
                put("Company", &g.company);
                put("Location", &g.location);
                put("Pronouns", &g.pronouns);
                put("Bio", &g.description);
                put("Avatar", &g.avatar_url);
                put("Profile", &g.profile_url);
                for a in &g.verified_accounts {
                    out.push(("Verified", format!("{}: {}", a.label, a.url)));
                }
            }
            Some(SourceData::Homepage(h)) => {
                put("Title", &h.title);
                put("Description", &h.description);
                put("Site name", &h.open_graph.site_name);
                put("OG title", &h.open_graph.title);
                put("OG description", &h.open_graph.description);
                put("OG image", &h.open_graph.image);
                if let Some(o) = &h.organization {
                    put("Organization", &o.name);
                    put("Website", &o.url);
                    put("Logo", &o.logo);
                    put("About", &o.description);
                    put("Address", &o.address);
                    put("Telephone", &o.telephone);
                    put("Email", &o.email);
                    put("Founded", &o.founding_date);
                    put("Employees", &o.number_of_employees);
                    for s in &o.same_as {
                        out.push(("Same as", s.clone()));
                    }
                }
                for s in &h.social_links {
                    out.push(("Social", format!("{}: {}", s.network, s.url)));
                }
            }
            Some(SourceData::Rdap(r)) => {
                put("Registered", &r.registered);
                put("Registrar", &r.registrar);
                put("Expires", &r.expires);
                put("Last changed", &r.last_changed);
                if !r.status.is_empty() {
                    out.push(("Status", r.status.join(", ")));
                }
                if !r.nameservers.is_empty() {
                    out.push(("Name servers", r.nameservers.join(", ")));
                }
            }
            Some(SourceData::Mx(m)) => {
                out.push((
                    "Mail provider",
                    m.provider
                        .clone()
                        .unwrap_or_else(|| "unknown (own or unlisted servers)".into()),
                ));
                for h in &m.hosts {
                    out.push(("MX", format!("{} {}", h.preference, h.exchange)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The UI spawns lookups as tokio tasks, which needs Send futures.
    #[tokio::test]
    async fn lookups_can_run_as_spawned_tasks() {
        let config = SuperdataConfig {
            enabled: true,
            dns_server: "127.0.0.1:9".into(),
            ..SuperdataConfig::default()
        };
        let sd = Superdata::new(&config).unwrap();
        let target = Target::parse("acme.test").unwrap();
        let fut = sd.lookup(Path::new("/nonexistent/x.sqlite3"), &target, false);
        assert_send(&fut);
        drop(fut);
        assert!(matches!(
            Superdata::new(&SuperdataConfig::default()),
            Err(SuperdataError::Disabled)
        ));
    }

    #[test]
    fn targets_plan_their_sources() {
        let t = Target::parse(" Dana.Lee@ACME.test ").unwrap();
        assert_eq!(t.email(), Some("dana.lee@acme.test"));
        let plan: Vec<Source> = t.plan().into_iter().map(|(s, _)| s).collect();
        assert_eq!(plan, Source::ALL);
        let free = Target::parse("x@gmail.com").unwrap();
        assert_eq!(
            free.plan(),
            vec![(Source::Gravatar, "x@gmail.com".to_string())]
        );
        assert!(Target::parse("not a domain").is_err());
        assert!(Target::parse("a@b@c").is_err());
    }
}
