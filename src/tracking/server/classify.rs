//! Machine-open detection: is an event a person, a caching proxy, or a machine? Pure rules over
//! what the tracker knows when the request arrives — user agent, the client's full address (before
//! truncation), the time since sending, and this recipient's earlier clicks.

pub use crate::tracking_event::{Classification, EventKind};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// Every link of a mail clicked within this many seconds is a scanner walking the mail.
pub const CLICK_BURST_SECONDS: i64 = 10;

pub struct Observation<'a> {
    pub kind: EventKind,
    pub user_agent: &'a str,
    pub ip: Option<IpAddr>,
    pub at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub scanner_window_seconds: i64,
    /// For clicks: how many distinct links the mail has for this recipient, and how many distinct
    /// ones (including this one) were clicked within [`CLICK_BURST_SECONDS`] before `at`.
    pub links_total: usize,
    pub links_clicked_in_burst: usize,
}

/// User-agent fragments of crawlers, link checkers and mail security gateways (lowercase).
const BOT_AGENT_FRAGMENTS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "slurp",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww-perl",
    "apache-httpclient",
    "barracuda",
    "mimecast",
    "proofpoint",
    "symantec",
    "messagelabs",
    "forcepoint",
    "trendmicro",
    "sophos",
    "fortiguard",
    "microsoft office protocol discovery",
    "bingpreview",
    "skypeuripreview",
    "facebookexternalhit",
];

/// Apple's published egress ranges for Mail Privacy Protection are inside 17.0.0.0/8.
fn is_apple_address(ip: Option<IpAddr>) -> bool {
    matches!(ip, Some(IpAddr::V4(v4)) if v4.octets()[0] == 17)
}

/// The verdict the request alone supports (user agent and address), if any. Cheap enough for the
/// request handler, so the database writer only applies the timing rules.
pub fn agent_verdict(
    kind: EventKind,
    user_agent: &str,
    ip: Option<IpAddr>,
) -> Option<(Classification, String)> {
    let ua = user_agent.trim();
    let lower = ua.to_ascii_lowercase();
    if kind == EventKind::Open && ua == "Mozilla/5.0" && is_apple_address(ip) {
        return Some((
            Classification::Automated,
            "Apple Mail Privacy Protection prefetch (says nothing about reading)".into(),
        ));
    }
    if lower.contains("googleimageproxy") {
        return Some((
            Classification::Proxy,
            "Gmail image proxy: a real open, but the image is cached, so later opens are not seen"
                .into(),
        ));
    }
    if lower.contains("yahoomailproxy") {
        return Some((
            Classification::Proxy,
            "Yahoo Mail image proxy: a real open, but later opens may not be seen".into(),
        ));
    }
    if ua.is_empty() {
        return Some((Classification::Automated, "no user agent".into()));
    }
    BOT_AGENT_FRAGMENTS
        .iter()
        .find(|f| lower.contains(*f))
        .map(|fragment| {
            (
                Classification::Automated,
                format!("known automated user agent ({fragment})"),
            )
        })
}

/// Decides what an event is, with a short reason a person can read (empty for plain human).
pub fn classify(o: &Observation) -> (Classification, String) {
    let agent = agent_verdict(o.kind, o.user_agent, o.ip);
    classify_with_agent(o, agent)
}

/// [`classify`] with the request-only verdict already computed by [`agent_verdict`].
pub fn classify_with_agent(
    o: &Observation,
    agent: Option<(Classification, String)>,
) -> (Classification, String) {
    if let Some(verdict) = agent {
        return verdict;
    }
    let since_sent = (o.at - o.sent_at).num_seconds();
    if since_sent < o.scanner_window_seconds {
        return (
            Classification::Automated,
            format!(
                "{} {}s after sending, inside the {}s security-scanner window",
                o.kind.as_str(),
                since_sent.max(0),
                o.scanner_window_seconds
            ),
        );
    }
    if o.kind == EventKind::Click && o.links_total >= 2 && o.links_clicked_in_burst >= o.links_total
    {
        return (
            Classification::Automated,
            format!(
                "all {} links clicked within {}s (link scanner)",
                o.links_total, CLICK_BURST_SECONDS
            ),
        );
    }
    (Classification::Human, String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
    const GMAIL: &str =
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";

    fn obs(kind: EventKind, ua: &str, ip: &str, secs_after: i64) -> (Classification, String) {
        let sent = Utc::now() - Duration::hours(1);
        classify(&Observation {
            kind,
            user_agent: ua,
            ip: ip.parse().ok(),
            at: sent + Duration::seconds(secs_after),
            sent_at: sent,
            scanner_window_seconds: 60,
            links_total: 0,
            links_clicked_in_burst: 0,
        })
    }

    #[test]
    fn real_user_agents_are_classified() {
        assert_eq!(
            obs(EventKind::Open, SAFARI, "198.51.100.7", 600).0,
            Classification::Human
        );
        let (c, reason) = obs(EventKind::Open, "Mozilla/5.0", "17.58.1.2", 600);
        assert_eq!(c, Classification::Automated);
        assert!(reason.contains("Apple"));
        // The bare agent from elsewhere is not Apple's proxy.
        assert_eq!(
            obs(EventKind::Open, "Mozilla/5.0", "198.51.100.7", 600).0,
            Classification::Human
        );
        let (c, reason) = obs(EventKind::Open, GMAIL, "66.249.84.1", 600);
        assert_eq!(c, Classification::Proxy);
        assert!(reason.contains("cached"));
        let (c, _) = obs(
            EventKind::Click,
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "66.249.66.1",
            600,
        );
        assert_eq!(c, Classification::Automated);
        assert_eq!(
            obs(EventKind::Open, "curl/8.5.0", "198.51.100.7", 600).0,
            Classification::Automated
        );
        assert_eq!(
            obs(EventKind::Open, "", "198.51.100.7", 600).0,
            Classification::Automated
        );
    }

    #[test]
    fn events_inside_the_scanner_window_are_automated() {
        let (c, reason) = obs(EventKind::Click, SAFARI, "198.51.100.7", 5);
        assert_eq!(c, Classification::Automated);
        assert!(reason.contains("scanner"), "{reason}");
        assert_eq!(
            obs(EventKind::Click, SAFARI, "198.51.100.7", 61).0,
            Classification::Human
        );
    }

    #[test]
    fn clicking_every_link_in_a_burst_is_automated() {
        let sent = Utc::now() - Duration::hours(1);
        let mut o = Observation {
            kind: EventKind::Click,
            user_agent: SAFARI,
            ip: None,
            at: Utc::now(),
            sent_at: sent,
            scanner_window_seconds: 60,
            links_total: 3,
            links_clicked_in_burst: 3,
        };
        assert_eq!(classify(&o).0, Classification::Automated);
        o.links_clicked_in_burst = 2;
        assert_eq!(classify(&o).0, Classification::Human);
        o.links_total = 1;
        o.links_clicked_in_burst = 1;
        assert_eq!(classify(&o).0, Classification::Human);
    }
}
