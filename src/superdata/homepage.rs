//! The domain's homepage (`homepage_url` with `{domain}` replaced): title, meta description,
//! OpenGraph, the JSON-LD `Organization` (also inside `@graph` and nested objects) and links to the
//! organization's social profiles. Parsed with html5ever's tokenizer: no DOM is built, scripts
//! never run, and only `<title>`, `<meta>`, `<a>`, `<link>` and JSON-LD scripts are looked at.

use super::net::SafeClient;
use super::{
    clean, clean_opt, clean_url, Provider, Source, SourceData, MAX_LIST, MAX_LONG_TEXT, MAX_TEXT,
};
use futures::future::BoxFuture;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cell::RefCell;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomepageInfo {
    /// The page's URL after redirects.
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub open_graph: OpenGraph,
    pub organization: Option<JsonLdOrganization>,
    pub social_links: Vec<SocialLink>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenGraph {
    pub title: Option<String>,
    pub description: Option<String>,
    pub site_name: Option<String>,
    pub image: Option<String>,
    pub url: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The schema.org `Organization` (or a subtype) the page describes itself with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonLdOrganization {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub url: Option<String>,
    pub logo: Option<String>,
    pub description: Option<String>,
    pub same_as: Vec<String>,
    pub address: Option<String>,
    pub telephone: Option<String>,
    pub email: Option<String>,
    pub founding_date: Option<String>,
    pub number_of_employees: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialLink {
    /// `linkedin`, `x`, `github`, `facebook`, …
    pub network: String,
    pub url: String,
}

pub struct Homepage {
    client: SafeClient,
    template: String,
}

impl Homepage {
    pub fn new(client: SafeClient, template: &str) -> Homepage {
        Homepage {
            client,
            template: template.to_string(),
        }
    }
}

impl Provider for Homepage {
    fn source(&self) -> Source {
        Source::Homepage
    }

    fn request(&self, domain: &str) -> String {
        self.template.replace("{domain}", domain)
    }

    fn fetch<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, Result<Option<SourceData>, String>> {
        Box::pin(async move {
            let got = self
                .client
                .get(&self.request(domain), "text/html,application/xhtml+xml")
                .await
                .map_err(|e| e.to_string())?;
            if !(200..300).contains(&got.status) {
                return Err(format!("HTTP status {}", got.status));
            }
            if !got.content_type.is_empty() && !got.content_type.contains("html") {
                return Err(format!(
                    "not an HTML page (Content-Type {})",
                    clean(&got.content_type, 80)
                ));
            }
            let html = decode_html(&got.body, &got.content_type);
            Ok(Some(SourceData::Homepage(Box::new(parse_homepage(
                &html, &got.url,
            )))))
        })
    }
}

/// The charset named by `charset=` in a Content-Type or a `<meta>`.
fn charset_param(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("charset=")? + "charset=".len();
    let name: String = lower[at..]
        .trim_start_matches(['"', '\'', ' '])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The page as text: the charset of the Content-Type, else of a `<meta>` in the first 2 KB, else
/// UTF-8, else windows-1252 (what browsers assume for old pages). Decoded by mail-parser's charset
/// tables, which the mail reader already uses.
pub fn decode_html(body: &[u8], content_type: &str) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    let charset = charset_param(content_type).or_else(|| charset_param(&head));
    if let Some(cs) = charset.filter(|c| c != "utf-8" && c != "utf8") {
        if let Some(decode) = mail_parser::decoders::charsets::map::charset_decoder(cs.as_bytes()) {
            return decode(body);
        }
    }
    match std::str::from_utf8(body) {
        Ok(s) => s.to_string(),
        Err(_) => mail_parser::decoders::charsets::map::charset_decoder(b"windows-1252")
            .map(|d| d(body))
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
    }
}

/// The tags worth keeping, collected while tokenizing.
#[derive(Default)]
struct Collected {
    title: String,
    in_title: bool,
    metas: Vec<(String, String)>,
    hrefs: Vec<String>,
    json_ld: Vec<String>,
    in_json_ld: Option<String>,
}

struct Sink(RefCell<Collected>);

fn attr<'t>(tag: &'t Tag, name: &str) -> Option<&'t str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

/// Caps on what one page may make us keep, whatever its size.
const MAX_TAGS: usize = 2000;
const MAX_JSON_LD_BYTES: usize = 512 * 1024;

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut c = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) => {
                let name = &*tag.name;
                match (tag.kind, name) {
                    (TagKind::StartTag, "title") => {
                        c.in_title = c.title.is_empty();
                        return TokenSinkResult::RawData(RawKind::Rcdata);
                    }
                    (TagKind::EndTag, "title") => c.in_title = false,
                    (TagKind::StartTag, "meta") if c.metas.len() < MAX_TAGS => {
                        let key = attr(&tag, "property").or_else(|| attr(&tag, "name"));
                        if let (Some(k), Some(v)) = (key, attr(&tag, "content")) {
                            c.metas.push((k.to_ascii_lowercase(), v.to_string()));
                        }
                    }
                    (TagKind::StartTag, "a" | "link") if c.hrefs.len() < MAX_TAGS => {
                        if let Some(h) = attr(&tag, "href") {
                            c.hrefs.push(h.to_string());
                        }
                    }
                    (TagKind::StartTag, "script") => {
                        let ld = attr(&tag, "type")
                            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"));
                        c.in_json_ld = ld.then(String::new);
                        return TokenSinkResult::RawData(RawKind::ScriptData);
                    }
                    (TagKind::StartTag, "style") => {
                        return TokenSinkResult::RawData(RawKind::Rawtext)
                    }
                    (TagKind::EndTag, "script") => {
                        if let Some(text) = c.in_json_ld.take() {
                            if c.json_ld.len() < 20 {
                                c.json_ld.push(text);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Token::CharacterTokens(t) => {
                if c.in_title && c.title.len() < 4096 {
                    c.title.push_str(&t);
                }
                if let Some(buf) = c.in_json_ld.as_mut() {
                    if buf.len() + t.len() <= MAX_JSON_LD_BYTES {
                        buf.push_str(&t);
                    }
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Extracts what tidings keeps from a page; `base` resolves relative URLs.
pub fn parse_homepage(html: &str, base: &Url) -> HomepageInfo {
    let tok = Tokenizer::new(
        Sink(RefCell::new(Collected::default())),
        TokenizerOpts::default(),
    );
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(html));
    let _ = tok.feed(&queue);
    tok.end();
    let c = tok.sink.0.into_inner();
    let meta = |key: &str, max: usize| {
        c.metas
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| clean(v, max))
    };
    let url_meta = |key: &str| meta(key, 2048).and_then(|u| clean_url(&u, Some(base)));
    let organization = c
        .json_ld
        .iter()
        .filter_map(|text| serde_json::from_str::<Value>(text.trim()).ok())
        .find_map(|v| find_organization(&v).map(|o| organization_from(o, base)));
    let mut social_links: Vec<SocialLink> = Vec::new();
    for href in &c.hrefs {
        let Some(url) = clean_url(href, None) else {
            continue;
        };
        if let Some(network) = social_network(&url) {
            if !social_links.iter().any(|s| s.url == url) && social_links.len() < MAX_LIST {
                social_links.push(SocialLink {
                    network: network.to_string(),
                    url,
                });
            }
        }
    }
    HomepageInfo {
        url: base.to_string(),
        title: clean_opt(Some(&c.title), MAX_TEXT),
        description: meta("description", MAX_LONG_TEXT),
        open_graph: OpenGraph {
            title: meta("og:title", MAX_TEXT),
            description: meta("og:description", MAX_LONG_TEXT),
            site_name: meta("og:site_name", MAX_TEXT),
            image: url_meta("og:image"),
            url: url_meta("og:url"),
            kind: meta("og:type", 40),
        },
        organization,
        social_links,
    }
}

/// schema.org types that are organizations (the common subtypes, and any `…Organization`).
fn is_organization_type(t: &str) -> bool {
    let t = t.rsplit(['/', ':']).next().unwrap_or(t);
    t.ends_with("Organization")
        || matches!(
            t,
            "Corporation"
                | "LocalBusiness"
                | "OnlineBusiness"
                | "OnlineStore"
                | "NGO"
                | "Airline"
                | "Consortium"
                | "LibrarySystem"
                | "WorkersUnion"
                | "Store"
                | "ProfessionalService"
        )
}

fn types_of(obj: &serde_json::Map<String, Value>) -> Vec<&str> {
    match obj.get("@type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// The first organization object, breadth-first through arrays, `@graph` and nested objects, to a
/// bounded depth (serde_json already bounds nesting while parsing).
fn find_organization(root: &Value) -> Option<&serde_json::Map<String, Value>> {
    let mut level = vec![root];
    for _depth in 0..8 {
        let mut next = Vec::new();
        for v in level {
            match v {
                Value::Object(o) => {
                    if types_of(o).iter().any(|t| is_organization_type(t))
                        && o.get("name").is_some()
                    {
                        return Some(o);
                    }
                    next.extend(o.values());
                }
                Value::Array(a) => next.extend(a.iter()),
                _ => {}
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    None
}

/// A text value that schema.org lets be a string, a number, or an object with a `name`/`value`.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clean_opt(Some(s), MAX_TEXT),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.iter().find_map(text_of),
        Value::Object(o) => o
            .get("name")
            .or_else(|| o.get("value"))
            .or_else(|| o.get("@value"))
            .and_then(text_of),
        _ => None,
    }
}

fn url_of(v: &Value, base: &Url) -> Option<String> {
    match v {
        Value::String(s) => clean_url(s, Some(base)),
        Value::Array(a) => a.iter().find_map(|x| url_of(x, base)),
        Value::Object(o) => o
            .get("url")
            .or_else(|| o.get("contentUrl"))
            .or_else(|| o.get("@id"))
            .and_then(|x| url_of(x, base)),
        _ => None,
    }
}

fn address_of(v: &Value) -> Option<String> {
    match v {
        Value::Object(o) => {
            let parts: Vec<String> = [
                "streetAddress",
                "postalCode",
                "addressLocality",
                "addressRegion",
                "addressCountry",
            ]
            .iter()
            .filter_map(|k| o.get(*k).and_then(text_of))
            .collect();
            (!parts.is_empty()).then(|| clean(&parts.join(", "), MAX_TEXT))
        }
        Value::Array(a) => a.iter().find_map(address_of),
        other => text_of(other),
    }
}

fn employees_of(v: &Value) -> Option<String> {
    if let Value::Object(o) = v {
        if let (Some(lo), Some(hi)) = (
            o.get("minValue").and_then(text_of),
            o.get("maxValue").and_then(text_of),
        ) {
            return Some(format!("{lo}–{hi}"));
        }
    }
    text_of(v)
}

fn organization_from(o: &serde_json::Map<String, Value>, base: &Url) -> JsonLdOrganization {
    let get = |k: &str| o.get(k);
    let same_as = match get("sameAs") {
        Some(Value::String(s)) => clean_url(s, None).into_iter().collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|s| clean_url(s, None))
            .take(MAX_LIST)
            .collect(),
        _ => vec![],
    };
    JsonLdOrganization {
        kind: types_of(o)
            .into_iter()
            .find(|t| is_organization_type(t))
            .map(|t| clean(t, 60))
            .unwrap_or_default(),
        name: get("name").and_then(text_of),
        url: get("url").and_then(|v| url_of(v, base)),
        logo: get("logo").and_then(|v| url_of(v, base)),
        description: get("description")
            .and_then(Value::as_str)
            .and_then(|s| clean_opt(Some(s), MAX_LONG_TEXT)),
        same_as,
        address: get("address").and_then(address_of),
        telephone: get("telephone").and_then(text_of),
        email: get("email").and_then(text_of),
        founding_date: get("foundingDate").and_then(text_of),
        number_of_employees: get("numberOfEmployees").and_then(employees_of),
    }
}

/// The social network a link points to, or `None`. Share buttons are not profiles.
fn social_network(url: &str) -> Option<&'static str> {
    let u = Url::parse(url).ok()?;
    let host = u
        .host_str()?
        .trim_start_matches("www.")
        .trim_start_matches("m.");
    let path = u.path().to_ascii_lowercase();
    if path.len() <= 1
        || ["share", "intent", "sharer", "dialog", "login"]
            .iter()
            .any(|w| path.contains(w))
    {
        return None;
    }
    let on = |d: &str| host == d || host.ends_with(&format!(".{d}"));
    Some(if on("linkedin.com") {
        "linkedin"
    } else if on("twitter.com") || on("x.com") {
        "x"
    } else if on("github.com") {
        "github"
    } else if on("gitlab.com") {
        "gitlab"
    } else if on("facebook.com") || on("fb.com") {
        "facebook"
    } else if on("instagram.com") {
        "instagram"
    } else if on("youtube.com") {
        "youtube"
    } else if on("bsky.app") {
        "bluesky"
    } else if on("tiktok.com") {
        "tiktok"
    } else if on("threads.net") {
        "threads"
    } else if on("xing.com") {
        "xing"
    } else if on("crunchbase.com") {
        "crunchbase"
    } else if on("mastodon.social") {
        "mastodon"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r##"<!doctype html><html><head>
<title>Acme &amp; Co — Anvils</title>
<meta name="description" content="We make anvils.">
<meta property="og:title" content="Acme">
<meta property="og:image" content="/img/og.png">
<meta property="og:site_name" content="Acme Corp">
<script>var x = "<a href='https://github.com/not-a-link'>";</script>
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
 {"@type":"WebSite","name":"Acme site","publisher":{"@id":"#org"}},
 {"@type":["Corporation"],"@id":"#org","name":"Acme Corporation","url":"https://acme.test/",
  "logo":{"@type":"ImageObject","url":"/logo.png"},
  "sameAs":["https://www.linkedin.com/company/acme","https://x.com/acme"],
  "address":{"@type":"PostalAddress","streetAddress":"1 Road","addressLocality":"Springfield","addressCountry":{"@type":"Country","name":"US"}},
  "telephone":"+1 555 0100","foundingDate":"1949",
  "numberOfEmployees":{"@type":"QuantitativeValue","minValue":100,"maxValue":500}}]}</script>
</head><body>
<a href="https://github.com/acme">GitHub</a>
<a href="https://twitter.com/intent/tweet?text=hi">share</a>
<a href="https://www.facebook.com/acme">fb</a><a href="/about">about</a>
</body></html>"##;

    #[test]
    fn page_metadata_json_ld_and_social_links_are_extracted() {
        let base = Url::parse("https://acme.test/").unwrap();
        let h = parse_homepage(PAGE, &base);
        assert_eq!(h.title.as_deref(), Some("Acme & Co — Anvils"));
        assert_eq!(h.description.as_deref(), Some("We make anvils."));
        assert_eq!(
            h.open_graph.image.as_deref(),
            Some("https://acme.test/img/og.png")
        );
        let o = h.organization.unwrap();
        assert_eq!(o.kind, "Corporation");
        assert_eq!(o.name.as_deref(), Some("Acme Corporation"));
        assert_eq!(o.logo.as_deref(), Some("https://acme.test/logo.png"));
        assert_eq!(o.same_as.len(), 2);
        assert_eq!(o.address.as_deref(), Some("1 Road, Springfield, US"));
        assert_eq!(o.number_of_employees.as_deref(), Some("100–500"));
        assert_eq!(o.founding_date.as_deref(), Some("1949"));
        let nets: Vec<_> = h.social_links.iter().map(|s| s.network.as_str()).collect();
        assert_eq!(nets, ["github", "facebook"]);
    }

    #[test]
    fn pages_are_decoded_by_their_charset() {
        let latin1 = b"<title>Caf\xe9 M\xfcller</title>";
        assert!(decode_html(latin1, "text/html; charset=ISO-8859-1").contains("Café Müller"));
        let meta = b"<meta charset=\"iso-8859-1\"><title>Caf\xe9</title>";
        assert!(decode_html(meta, "text/html").contains("Café"));
        assert!(decode_html("<title>Café</title>".as_bytes(), "").contains("Café"));
        assert!(decode_html(b"<title>Caf\xe9</title>", "").contains("Café"));
    }

    #[test]
    fn malformed_html_and_json_ld_yield_what_can_be_read() {
        let base = Url::parse("https://x.test/").unwrap();
        let h = parse_homepage(
            "<title>T\u{1b}]0;evil\u{7}</title><script type=application/ld+json>{bad json",
            &base,
        );
        assert_eq!(h.title.as_deref(), Some("T]0;evil"));
        assert!(h.organization.is_none());
    }
}
