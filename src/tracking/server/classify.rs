//! Machine-open detection: is an event a person, a caching proxy, or a machine, how sure are we,
//! why, and which client was it? Pure rules over what the tracker knows: the request (method,
//! user agent, the client's full address before truncation, Accept, Referer, Via, Sec-Fetch-*,
//! Purpose) and this mail's history (time since sending, this recipient's other events, the hidden
//! trap link).
//!
//! The agent patterns, the networks of proxies and gateways, and the client names are data, not
//! code: `data/agents.txt`, `data/networks.txt` and `data/clients.txt`, each line with its public
//! source, embedded at build time. The request half ([`request_verdict`]) runs in the HTTP handler;
//! the history half ([`classify`]) in the database writer, which knows the other events.

pub use crate::tracking_event::{Classification, Confidence, EventKind};
use aho_corasick::AhoCorasick;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::OnceLock;

/// Distinct links of a mail clicked within this many seconds: a scanner walking the mail.
pub const CLICK_BURST_SECONDS: i64 = 10;
/// A click this soon after sending, with no open before it, is a gateway following the links on
/// delivery: a person opens a mail before clicking in it, unless images are off — and then
/// rarely within minutes.
pub const CLICK_BEFORE_OPEN_SECONDS: i64 = 300;

/// A verdict and what a person reads next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub classification: Classification,
    pub confidence: Confidence,
    pub reason: String,
}

impl Verdict {
    fn new(
        classification: Classification,
        confidence: Confidence,
        reason: impl Into<String>,
    ) -> Self {
        Verdict {
            classification,
            confidence,
            reason: reason.into(),
        }
    }

    fn automated(confidence: Confidence, reason: impl Into<String>) -> Self {
        Verdict::new(Classification::Automated, confidence, reason)
    }
}

/// What the request itself says, before any history: the named client and, when the request
/// alone decides it, the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestVerdict {
    pub client: String,
    pub verdict: Option<Verdict>,
}

/// The parts of an HTTP request the classifier reads. Header values are as received (hostile);
/// the classifier only compares them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSignals<'a> {
    pub method: &'a str,
    pub user_agent: &'a str,
    /// The full client address (after trusted proxies), never stored as is.
    pub ip: Option<IpAddr>,
    pub accept: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub via: Option<&'a str>,
    pub sec_fetch_mode: Option<&'a str>,
    pub sec_fetch_dest: Option<&'a str>,
    /// `Purpose`, `Sec-Purpose` or `X-Purpose`: "prefetch" when a browser fetches ahead.
    pub purpose: Option<&'a str>,
}

/// What the database knows when it records the hit.
#[derive(Debug, Clone)]
pub struct History {
    pub at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub scanner_window_seconds: i64,
    /// For clicks: distinct links this recipient's copy has, and distinct ones (this one
    /// included) clicked within [`CLICK_BURST_SECONDS`] before `at`.
    pub links_total: usize,
    pub links_clicked_in_burst: usize,
    /// This recipient's pixel was fetched before (by anything not automated).
    pub opened_before: bool,
    /// The hit is on this copy's hidden trap link.
    pub trap: bool,
    /// This recipient's trap link was hit earlier from the same address and agent.
    pub visitor_hit_trap: bool,
}

/// The reason given to a hit on the hidden trap link.
pub const TRAP_REASON: &str =
    "followed the hidden link no person can see: a scanner walking every link of the mail";

// --- the data files ---------------------------------------------------------------------------

/// A pattern of a data file: the ids (in [`Rules::needles`]) of the substrings that must all occur.
type Pattern = Vec<usize>;

struct AgentRule {
    classification: Classification,
    confidence: Confidence,
    client: String,
    pattern: Pattern,
    reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Apple,
    /// The relays of iCloud Private Relay, run for Apple by others (Akamai, Cloudflare): Mail
    /// Privacy Protection fetches through them, and so does a person's Safari.
    AppleRelay,
    Google,
    Microsoft,
    Gateway(&'static str),
}

struct Rules {
    agents: Vec<AgentRule>,
    networks: Vec<(IpNet, Operator)>,
    clients: Vec<(Pattern, String)>,
    /// Every distinct substring of every pattern, found in one pass over an agent.
    needles: Option<AhoCorasick>,
}

/// Which needles occur in a text.
struct Found(Vec<bool>);

impl Found {
    fn matches(&self, pattern: &[usize]) -> bool {
        !pattern.is_empty()
            && pattern
                .iter()
                .all(|&id| self.0.get(id).copied().unwrap_or(false))
    }
}

/// The distinct substrings of the patterns, in order of first use.
#[derive(Default)]
struct Needles(Vec<String>);

impl Needles {
    /// "a & b": lowercase substrings that must all occur, as needle ids.
    fn pattern(&mut self, text: &str) -> Pattern {
        text.split('&')
            .map(|p| p.trim().to_ascii_lowercase())
            .filter(|p| !p.is_empty())
            .map(|p| match self.0.iter().position(|n| *n == p) {
                Some(id) => id,
                None => {
                    self.0.push(p);
                    self.0.len() - 1
                }
            })
            .collect()
    }
}

const AGENTS: &str = include_str!("data/agents.txt");
const NETWORKS: &str = include_str!("data/networks.txt");
const CLIENTS: &str = include_str!("data/clients.txt");

/// The lines of a data file that carry data, split on `|` and trimmed.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i, l.split('|').map(str::trim).collect()))
}

fn operator(name: &str) -> Option<Operator> {
    Some(match name {
        "apple" => Operator::Apple,
        "applerelay" => Operator::AppleRelay,
        "google" => Operator::Google,
        "microsoft" => Operator::Microsoft,
        "proofpoint" => Operator::Gateway("Proofpoint"),
        "mimecast" => Operator::Gateway("Mimecast"),
        "barracuda" => Operator::Gateway("Barracuda"),
        "cisco" => Operator::Gateway("Cisco Secure Email"),
        "trendmicro" => Operator::Gateway("Trend Micro"),
        "sophos" => Operator::Gateway("Sophos"),
        _ => return None,
    })
}

impl Rules {
    /// Parses the three data files; a malformed line is an error naming file and line.
    fn parse(agents: &str, networks: &str, clients: &str) -> Result<Rules, String> {
        let mut needles = Needles::default();
        let mut rules = Rules::empty();
        for (line, f) in data_lines(agents) {
            let [verdict, confidence, client, pat, reason] = f[..] else {
                return Err(format!("agents.txt:{line}: expected 5 fields"));
            };
            rules.agents.push(AgentRule {
                classification: Classification::parse(verdict)
                    .ok_or_else(|| format!("agents.txt:{line}: verdict {verdict:?}"))?,
                confidence: Confidence::parse(confidence)
                    .ok_or_else(|| format!("agents.txt:{line}: confidence {confidence:?}"))?,
                client: client.to_string(),
                pattern: needles.pattern(pat),
                reason: reason.to_string(),
            });
        }
        for (line, f) in data_lines(networks) {
            let [net, op] = f[..] else {
                return Err(format!("networks.txt:{line}: expected 2 fields"));
            };
            let net: IpNet = net
                .parse()
                .map_err(|e| format!("networks.txt:{line}: {net:?}: {e}"))?;
            let op = operator(op).ok_or_else(|| format!("networks.txt:{line}: operator {op:?}"))?;
            rules.networks.push((net, op));
        }
        for (line, f) in data_lines(clients) {
            let [pat, name] = f[..] else {
                return Err(format!("clients.txt:{line}: expected 2 fields"));
            };
            rules.clients.push((needles.pattern(pat), name.to_string()));
        }
        rules.needles = Some(
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&needles.0)
                .map_err(|e| format!("patterns: {e}"))?,
        );
        Ok(rules)
    }

    fn empty() -> Rules {
        Rules {
            agents: Vec::new(),
            networks: Vec::new(),
            clients: Vec::new(),
            needles: None,
        }
    }

    /// The needles in `text`: one pass, whatever the number of patterns.
    fn find(&self, text: &str) -> Found {
        let Some(needles) = &self.needles else {
            return Found(Vec::new());
        };
        let mut found = vec![false; needles.patterns_len()];
        for m in needles.find_overlapping_iter(text) {
            found[m.pattern().as_usize()] = true;
        }
        Found(found)
    }

    fn network(&self, ip: Option<IpAddr>) -> Option<Operator> {
        let ip = ip?;
        // An IPv4 client seen through a dual-stack socket is still that IPv4 address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.networks
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, op)| *op)
    }
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        // The files are part of the build and checked by a unit test, so a parse error here
        // is a broken build, not bad input.
        Rules::parse(AGENTS, NETWORKS, CLIENTS).unwrap_or_else(|e| {
            tracing::error!("tracker: classifier data: {e}");
            Rules::empty()
        })
    })
}

// --- naming the client ------------------------------------------------------------------------

fn system(lower: &str) -> Option<&'static str> {
    Some(if lower.contains("iphone") {
        "iPhone"
    } else if lower.contains("ipad") {
        "iPad"
    } else if lower.contains("android") {
        "Android"
    } else if lower.contains("windows") {
        "Windows"
    } else if lower.contains("mac os x") || lower.contains("macintosh") {
        "Mac"
    } else if lower.contains("cros") {
        "ChromeOS"
    } else if lower.contains("linux") {
        "Linux"
    } else {
        return None;
    })
}

/// Apple's WebKit with no browser named after it: the agent Apple Mail sends (and MPP copies).
fn webkit_only(lower: &str) -> bool {
    lower.contains("applewebkit")
        && !lower.contains("safari")
        && !lower.contains("version/")
        && !lower.contains("chrome")
        && !lower.contains("crios")
        && !lower.contains("fxios")
}

/// "Mozilla/5.0" and nothing more (or "(compatible)"): no client sends this little.
fn bare_agent(ua: &str) -> bool {
    let ua = ua.trim();
    ua.eq_ignore_ascii_case("mozilla/5.0") || ua.eq_ignore_ascii_case("mozilla/5.0 (compatible)")
}

/// Outlook's and Office's own HTTP agents (Word's renderer in Outlook for Windows, Office's HTTP
/// stack, Outlook for Mac): they show a mail's images but never follow its links as a page; that
/// is the browser's job.
fn office_agent(lower: &str) -> bool {
    [
        "ms-office",
        "msoffice",
        "microsoft office",
        "microsoft outlook",
        "macoutlook",
    ]
    .iter()
    .any(|n| lower.contains(n))
}

/// The major version after `token` ("chrome/" → 131).
fn major_version(lower: &str, token: &str) -> Option<u32> {
    let rest = &lower[lower.find(token)? + token.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// A browser older than any a person still follows links with: Chrome before 90 and Firefox
/// before 78 (2020-21: browsers update themselves; even Windows 7's last ones are Chrome 109 and
/// Firefox 115), Internet Explorer (retired in 2022; Windows hands links to Edge). Scanners copy
/// old agents and never update them. Safari is left out: old iPhones keep their Safari.
fn stale_browser(lower: &str) -> Option<String> {
    if let Some(v) = major_version(lower, "chrome/").filter(|v| *v < 90) {
        return Some(format!("Chrome {v}"));
    }
    if let Some(v) = major_version(lower, "firefox/").filter(|v| *v < 78) {
        return Some(format!("Firefox {v}"));
    }
    (lower.contains("trident/") || lower.contains("msie ")).then(|| "Internet Explorer".into())
}

fn browser(lower: &str) -> Option<&'static str> {
    Some(
        if lower.contains("edg/")
            || lower.contains("edge/")
            || lower.contains("edga/")
            || lower.contains("edgios/")
        {
            "Edge"
        } else if lower.contains("opr/") || lower.contains("opera") {
            "Opera"
        } else if lower.contains("samsungbrowser") {
            "Samsung Internet"
        } else if lower.contains("firefox/") || lower.contains("fxios/") {
            "Firefox"
        } else if lower.contains("chrome/") || lower.contains("crios/") {
            "Chrome"
        } else if lower.contains("safari/") && lower.contains("version/") {
            "Safari"
        } else if lower.contains("trident/") || lower.contains("msie ") {
            "Internet Explorer"
        } else {
            return None;
        },
    )
}

/// The client a person would recognise, from the agent alone: "Outlook on Windows", "Apple Mail
/// on iPhone", "Chrome on Windows". Empty when the agent names nothing we know.
pub fn client_name(user_agent: &str) -> String {
    let rules = rules();
    named_client(
        rules,
        &rules.find(user_agent),
        &user_agent.to_ascii_lowercase(),
    )
}

fn named_client(rules: &Rules, found: &Found, lower: &str) -> String {
    if let Some((_, name)) = rules.clients.iter().find(|(p, _)| found.matches(p)) {
        return name.clone();
    }
    if webkit_only(lower) {
        return match system(lower) {
            Some(s) => format!("Apple Mail on {s}"),
            None => "Apple Mail".into(),
        };
    }
    match (browser(lower), system(lower)) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        _ => String::new(),
    }
}

// --- the request half -------------------------------------------------------------------------

fn eq_ci(value: Option<&str>, expected: &str) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// What the request alone says. Cheap (a few substring scans over data parsed once), so it runs
/// in the request handler and the single database writer only applies the history rules.
pub fn request_verdict(kind: EventKind, r: &RequestSignals) -> RequestVerdict {
    let rules = rules();
    let ua = r.user_agent.trim();
    let lower = ua.to_ascii_lowercase();
    let found = rules.find(ua);
    let agent_rule = rules.agents.iter().find(|a| found.matches(&a.pattern));
    let named = match agent_rule {
        Some(rule) => rule.client.clone(),
        None => named_client(rules, &found, &lower),
    };
    let done = |client: String, v: Verdict| RequestVerdict {
        client,
        verdict: Some(v),
    };
    use Confidence::{Certain, Likely};

    if !r.method.eq_ignore_ascii_case("GET") {
        let method: String = r
            .method
            .chars()
            .filter(char::is_ascii_alphabetic)
            .take(16)
            .collect();
        let reason = match kind {
            EventKind::Click if method.eq_ignore_ascii_case("HEAD") => {
                "HEAD request: a link checker probing the URL, not a person".to_string()
            }
            EventKind::Open if method.eq_ignore_ascii_case("HEAD") => {
                "HEAD request: the image was checked, never shown".to_string()
            }
            _ => format!("{method} request: a person's mail client or browser only GETs it"),
        };
        return done(named, Verdict::automated(Certain, reason));
    }
    let purpose = r.purpose.map(str::to_ascii_lowercase).unwrap_or_default();
    if purpose.contains("prefetch") || purpose.contains("preview") {
        return done(
            named,
            Verdict::automated(
                Certain,
                "fetched ahead of time (prefetch): nobody opened it yet",
            ),
        );
    }
    if ua.is_empty() {
        return done(
            String::new(),
            Verdict::automated(
                Certain,
                "no user agent: a script or scanner, not a mail client",
            ),
        );
    }
    if let Some(rule) = agent_rule {
        return done(
            rule.client.clone(),
            Verdict::new(rule.classification, rule.confidence, rule.reason.clone()),
        );
    }
    let via = r.via.map(str::trim).unwrap_or_default();
    let via_found = rules.find(via);
    if let Some(rule) = rules.agents.iter().find(|a| {
        a.classification == Classification::Automated
            && !via.is_empty()
            && via_found.matches(&a.pattern)
    }) {
        return done(
            rule.client.clone(),
            Verdict::new(rule.classification, Certain, rule.reason.clone()),
        );
    }
    match (rules.network(r.ip), kind) {
        (Some(Operator::Apple), EventKind::Open) => {
            return done(
                "Apple Mail Privacy Protection".into(),
                Verdict::automated(
                    Certain,
                    "Apple Mail Privacy Protection fetched the image from Apple's network when the mail arrived: it says nothing about reading",
                ),
            )
        }
        // The relays also carry a person's Safari: only Mail's own agents there are the prefetch.
        (Some(Operator::AppleRelay), EventKind::Open) if bare_agent(ua) || webkit_only(&lower) => {
            return done(
                "Apple Mail Privacy Protection".into(),
                Verdict::automated(
                    Likely,
                    "Apple Mail Privacy Protection fetched the image through Apple's private relays when the mail arrived: it says nothing about reading",
                ),
            )
        }
        (Some(Operator::Apple | Operator::AppleRelay), EventKind::Click)
            if bare_agent(ua) || webkit_only(&lower) =>
        {
            return done(
                "Apple Mail Privacy Protection".into(),
                Verdict::automated(Certain, "Apple's network with Apple Mail's background agent: a link check, not a click"),
            )
        }
        (Some(Operator::Google), EventKind::Open) => {
            return done(
                "Gmail (image proxy)".into(),
                Verdict::new(
                    Classification::Proxy,
                    Likely,
                    "from Google's image proxy network: a real open, but the image is cached, so later opens are not seen",
                ),
            )
        }
        (Some(Operator::Google), EventKind::Click) => {
            return done(
                "Google link check".into(),
                Verdict::automated(Likely, "from Google's fetcher network: a link check, not the recipient"),
            )
        }
        (Some(Operator::Microsoft), _) => {
            return done(
                "Microsoft Defender Safe Links".into(),
                Verdict::automated(
                    Likely,
                    "from Microsoft's mail protection network (Defender / Safe Links): a scanner, not the recipient",
                ),
            )
        }
        (Some(Operator::Gateway(name)), _) => {
            return done(
                name.to_string(),
                Verdict::automated(Likely, format!("from {name}'s scanning network: a security gateway, not the recipient")),
            )
        }
        _ => {}
    }
    if bare_agent(ua) {
        return done(
            "Apple Mail Privacy Protection".into(),
            Verdict::automated(
                Likely,
                "a bare \"Mozilla/5.0\" agent, as Apple's privacy prefetch sends: no mail client says so little",
            ),
        );
    }
    if !lower.starts_with("mozilla/") && named.is_empty() {
        return done(
            String::new(),
            Verdict::automated(
                Likely,
                "an agent of no mail client or browser we know: a tool or scanner",
            ),
        );
    }
    let is_browser = browser(&lower).is_some();
    match kind {
        EventKind::Click => {
            if office_agent(&lower) {
                return done(
                    "Microsoft Office (link check)".into(),
                    Verdict::automated(
                        Likely,
                        "Outlook's own agent fetched the link: Office checks a link before handing it to the browser, and the person's click comes from the browser",
                    ),
                );
            }
            if eq_ci(r.sec_fetch_mode, "no-cors") || eq_ci(r.sec_fetch_mode, "cors") {
                return done(
                    named,
                    Verdict::automated(
                        Likely,
                        "fetched in the background (Sec-Fetch-Mode), not followed by a person",
                    ),
                );
            }
            if let Some(stale) = stale_browser(&lower).filter(|_| r.sec_fetch_mode.is_none()) {
                return done(
                    named,
                    Verdict::automated(
                        Likely,
                        format!("a {stale} agent, years out of date, without the Sec-Fetch headers current browsers send: a scanner posing as a browser"),
                    ),
                );
            }
            if is_browser && r.accept.is_none() {
                return done(
                    named,
                    Verdict::automated(Likely, "a browser's agent without the Accept header every browser sends: a script posing as one"),
                );
            }
        }
        EventKind::Open => {
            if eq_ci(r.sec_fetch_dest, "document") {
                return done(
                    named,
                    Verdict::automated(
                        Likely,
                        "the image's address was visited as a page, not shown in a mail",
                    ),
                );
            }
            // A named client behind a forward proxy is the person's own request: the pixel is
            // answered no-store, so a proxy that keeps to HTTP passes every open through.
            if !via.is_empty() && named.is_empty() {
                return done(
                    named,
                    Verdict::new(
                        Classification::Proxy,
                        Likely,
                        "through a caching proxy (Via): a real open, but later ones may not be seen",
                    ),
                );
            }
        }
    }
    RequestVerdict {
        client: named,
        verdict: None,
    }
}

// --- the history half -------------------------------------------------------------------------

/// The verdict, with what the request said and what the database knows.
pub fn classify(kind: EventKind, request: &RequestVerdict, h: &History) -> Verdict {
    use Confidence::{Certain, Likely};
    if h.trap {
        return Verdict::automated(Certain, TRAP_REASON);
    }
    if let Some(v) = &request.verdict {
        if v.classification == Classification::Automated && v.confidence == Certain {
            return v.clone();
        }
    }
    if h.visitor_hit_trap {
        return Verdict::automated(
            Certain,
            "the same address and agent followed the hidden link no person can see: a scanner",
        );
    }
    if let Some(v) = &request.verdict {
        return v.clone();
    }
    let since_sent = (h.at - h.sent_at).num_seconds();
    if since_sent < h.scanner_window_seconds {
        return Verdict::automated(
            Likely,
            format!(
                "{} {}s after sending, inside the {}s security-scanner window: gateways fetch on delivery",
                kind.as_str(),
                since_sent.max(0),
                h.scanner_window_seconds
            ),
        );
    }
    if kind == EventKind::Click && is_sweep(h) {
        return Verdict::automated(
            if h.links_clicked_in_burst >= 3 {
                Certain
            } else {
                Likely
            },
            sweep_reason(h),
        );
    }
    if kind == EventKind::Click && !h.opened_before && since_sent < CLICK_BEFORE_OPEN_SECONDS {
        return Verdict::automated(
            Likely,
            format!(
                "clicked {}s after sending with no open before: a gateway following links on delivery",
                since_sent.max(0)
            ),
        );
    }
    let client = if request.client.is_empty() {
        "an ordinary browser".to_string()
    } else {
        request.client.clone()
    };
    let reason = match kind {
        EventKind::Click if !h.opened_before => {
            format!("{client}, no scanner signs; clicked before any open (images may be off)")
        }
        _ => format!("{client} from an ordinary network, no scanner signs"),
    };
    Verdict::new(Classification::Human, Likely, reason)
}

/// Several distinct links within seconds: every one when the copy has two, any three otherwise.
pub fn is_sweep(h: &History) -> bool {
    h.links_clicked_in_burst >= 2
        && (h.links_clicked_in_burst >= h.links_total || h.links_clicked_in_burst >= 3)
}

/// The reason a sweep gives its clicks (the earlier ones are re-marked with it too).
pub fn sweep_reason(h: &History) -> String {
    if h.links_clicked_in_burst >= h.links_total {
        format!(
            "all {} links clicked within {}s: a link scanner sweeping the mail",
            h.links_total, CLICK_BURST_SECONDS
        )
    } else {
        format!(
            "{} links clicked within {}s: a link scanner sweeping the mail",
            h.links_clicked_in_burst, CLICK_BURST_SECONDS
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";

    #[test]
    fn the_data_files_parse_and_every_line_has_a_source() {
        let r = Rules::parse(AGENTS, NETWORKS, CLIENTS).expect("data files");
        assert!(r.agents.len() > 50 && r.networks.len() > 20 && r.clients.len() > 20);
        for (name, text) in [
            ("agents", AGENTS),
            ("networks", NETWORKS),
            ("clients", CLIENTS),
        ] {
            // Each block of data lines follows a "# source:" line.
            let mut sourced = false;
            for line in text.lines().map(str::trim) {
                if line.starts_with("# source:") {
                    sourced = true;
                } else if !line.is_empty() && !line.starts_with('#') {
                    assert!(sourced, "{name}.txt: {line:?} has no source above it");
                }
            }
        }
        assert!(Rules::parse("automated | sure | x | y | z", "", "").is_err());
        assert!(Rules::parse("", "10.0.0.0/33 | apple", "").is_err());
    }

    #[test]
    fn clients_are_named_from_the_agent() {
        for (ua, name) in [
            ("Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; Microsoft Outlook 16.0.5422; ms-office; MSOffice 16)", "Outlook 2016 on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Apple Mail on iPhone"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0", "Thunderbird"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome on Windows"),
            (SAFARI, "Safari on Mac"),
            ("curl/8.5.0", ""),
        ] {
            assert_eq!(client_name(ua), name, "{ua}");
        }
    }

    fn request(kind: EventKind, ua: &str, ip: &str, headers: RequestSignals) -> Option<Verdict> {
        request_verdict(
            kind,
            &RequestSignals {
                method: "GET",
                user_agent: ua,
                ip: ip.parse().ok(),
                ..headers
            },
        )
        .verdict
    }

    #[test]
    fn rules_found_by_the_held_out_table() {
        let automated =
            |v: Option<Verdict>| v.is_some_and(|v| v.classification == Classification::Automated);
        let navigation = RequestSignals {
            accept: Some("text/html,*/*;q=0.8"),
            sec_fetch_mode: Some("navigate"),
            ..Default::default()
        };
        let accept_only = RequestSignals {
            accept: Some("*/*"),
            ..Default::default()
        };
        let old_chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/58.0.3029.110 Safari/537.36";
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        let ip = "198.51.100.7";
        // A years-old Chrome without Fetch Metadata is a scanner; a current one is left to history.
        assert!(automated(request(
            EventKind::Click,
            old_chrome,
            ip,
            accept_only
        )));
        assert!(request(EventKind::Click, chrome, ip, accept_only).is_none());
        assert!(request(EventKind::Click, old_chrome, ip, navigation).is_none());
        let ie11 = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko";
        assert!(automated(request(EventKind::Click, ie11, ip, accept_only)));
        let firefox52 = "Mozilla/5.0 (Windows NT 6.1; rv:52.0) Gecko/20100101 Firefox/52.0";
        assert!(automated(request(
            EventKind::Click,
            firefox52,
            ip,
            accept_only
        )));
        // Private Relay's egress: Mail's own agent is the prefetch, Safari is a person.
        let mail = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
        assert!(automated(request(
            EventKind::Open,
            mail,
            "172.225.46.10",
            RequestSignals::default()
        )));
        assert!(request(EventKind::Open, mail, ip, RequestSignals::default()).is_none());
        assert!(request(EventKind::Click, SAFARI, "172.225.46.10", navigation).is_none());
        // A named client behind a forward proxy stays the person; an unnamed one is the proxy.
        let via = RequestSignals {
            via: Some("1.1 proxy.corp.example (squid/6.6)"),
            ..Default::default()
        };
        assert!(request(EventKind::Open, chrome, ip, via).is_none());
        assert!(request(
            EventKind::Open,
            "Mozilla/5.0 (compatible; Cache/1.0)",
            ip,
            via
        )
        .is_some_and(|v| v.classification == Classification::Proxy));
        // Outlook's agent shows images but does not follow links.
        let outlook = "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 10.0; Trident/7.0; Microsoft Outlook 16.0.17328; ms-office; MSOffice 16)";
        assert!(automated(request(
            EventKind::Click,
            outlook,
            ip,
            RequestSignals::default()
        )));
        assert!(request(EventKind::Open, outlook, ip, RequestSignals::default()).is_none());
        for (ua, name) in [
            ("MacOutlook/16.80.23121017 (Intelx64 Mac OS X 14.2.1 (Build 23C71))", "Outlook on Mac"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36 Edg/136.0.0.0 OneOutlook/1.2025.516.400", "Outlook (new) on Windows"),
            ("Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; Microsoft Outlook 12.0.6739; ms-office; MSOffice 12)", "Outlook 2007 on Windows"),
        ] {
            assert_eq!(client_name(ua), name, "{ua}");
        }
    }

    fn history(secs_after: i64) -> History {
        let sent = Utc::now() - Duration::hours(1);
        History {
            at: sent + Duration::seconds(secs_after),
            sent_at: sent,
            scanner_window_seconds: 60,
            links_total: 3,
            links_clicked_in_burst: 1,
            opened_before: true,
            trap: false,
            visitor_hit_trap: false,
        }
    }

    #[test]
    fn history_can_make_a_person_a_machine_but_never_the_reverse() {
        let req = |kind| {
            request_verdict(
                kind,
                &RequestSignals {
                    method: "GET",
                    user_agent: SAFARI,
                    accept: Some("text/html"),
                    ..Default::default()
                },
            )
        };
        let human = classify(EventKind::Click, &req(EventKind::Click), &history(600));
        assert_eq!(human.classification, Classification::Human);
        assert!(human.reason.contains("Safari on Mac"), "{}", human.reason);
        let mut h = history(600);
        h.links_clicked_in_burst = 3;
        assert_eq!(
            classify(EventKind::Click, &req(EventKind::Click), &h).confidence,
            Confidence::Certain
        );
        let mut h = history(600);
        h.opened_before = false;
        assert_eq!(
            classify(EventKind::Click, &req(EventKind::Click), &h).classification,
            Classification::Human
        );
        h.at = h.sent_at + Duration::seconds(120);
        assert_eq!(
            classify(EventKind::Click, &req(EventKind::Click), &h).classification,
            Classification::Automated
        );
        let mut h = history(600);
        h.visitor_hit_trap = true;
        assert_eq!(
            classify(EventKind::Open, &req(EventKind::Open), &h).classification,
            Classification::Automated
        );
    }
}
