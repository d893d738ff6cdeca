//! Turns one recipient's copy of a mail into a tracked copy: a 1×1 pixel at the end of the HTML
//! part (before any quoted text), http(s) links pointing at the tracker, an optional opt-out footer,
//! and an HTML alternative for plain-text mail. Pure functions: no I/O; the caller registers the
//! returned tokens with the tracker before the mail leaves the outbox.
//!
//! This module owns the entry point and the link policy (which URLs get a token, one token per
//! distinct URL); [`html`] finds and edits the HTML part, [`text`] the plain-text part.
//!
//! Links stay untouched when they are `mailto:`, `tel:`, in-page anchors or anything but http(s),
//! unsubscribe links (a `List-Unsubscribe` target, or "unsubscribe" in the URL or the link's text),
//! already on the tracker, or excluded by the author: in HTML with the attribute
//! `data-tidings-notrack` on the `<a>` (the attribute is removed from the sent copy), in plain text
//! with a `!` right before the URL (`!https://example.com`; the `!` is removed), or by a pattern
//! in [`RewriteOptions::excluded_urls`] (`[tracking] exclude_links`, see [`url_matches_pattern`]).

mod html;
mod text;

pub use text::{find_text_urls, text_quote_start, text_to_html};

use crate::tracking::token::new_tracking_token;
pub use crate::tracking::wire::TrackedLink;
use std::collections::HashMap;

/// The attribute an author puts on `<a>` to keep that link untracked.
pub const NOTRACK_ATTRIBUTE: &str = "data-tidings-notrack";

#[derive(Debug, Clone)]
pub struct RewriteOptions<'a> {
    /// The tracker's public URL, e.g. `https://t.example.com` (a trailing `/` is ignored).
    pub base_url: &'a str,
    pub track_opens: bool,
    pub track_links: bool,
    /// Adds a small "opt out of tracking" link (to `BASE/o/TOKEN`) at the end of the author's text.
    pub opt_out_link: bool,
    /// Targets of the mail's `List-Unsubscribe` header; such links are never rewritten.
    pub unsubscribe_urls: &'a [String],
    /// Patterns of URLs the author chose not to track (see [`url_matches_pattern`]).
    pub excluded_urls: &'a [String],
}

/// One recipient's tracked copy of the body.
#[derive(Debug, Clone)]
pub struct TrackedCopy {
    /// The HTML part to send: the author's HTML, or one generated from the text part.
    pub html: String,
    /// The text part to send (links rewritten), when the mail has one.
    pub text: Option<String>,
    /// The recipient's token: names the pixel (`/p/TOKEN.gif`) and the opt-out page (`/o/TOKEN`).
    pub recipient_token: String,
    /// The pixel's URL when opens are tracked (and it was inserted).
    pub pixel_url: Option<String>,
    pub opt_out_url: Option<String>,
    /// One token per distinct rewritten URL, in order of first appearance.
    pub links: Vec<TrackedLink>,
    /// The hidden trap link in the HTML, next to the pixel: no person sees or follows it, so a
    /// hit on it shows a machine walking the mail. Registered with the links, shown nowhere.
    pub trap: Option<TrackedLink>,
}

/// Builds the tracked copy for one recipient. Call it once per recipient: every call draws fresh
/// tokens, so each copy's pixel and links name that recipient alone.
pub fn rewrite_for_recipient(
    html: Option<&str>,
    text: Option<&str>,
    opts: &RewriteOptions,
) -> TrackedCopy {
    let base = opts.base_url.trim_end_matches('/').to_string();
    let recipient_token = new_tracking_token();
    let opt_out_url = opts
        .opt_out_link
        .then(|| format!("{base}/o/{recipient_token}"));
    let pixel_url = opts
        .track_opens
        .then(|| format!("{base}/p/{recipient_token}.gif"));
    let mut links = LinkTable::new(&base, opts);
    // Only beside a pixel: a copy tracked for links alone gets no extra link either.
    let trap = pixel_url.as_ref().map(|_| TrackedLink {
        token: new_tracking_token(),
        url: format!("{base}/"),
        trap: true,
    });

    let generated;
    let html_in = match html {
        Some(h) => h,
        None => {
            generated = text_to_html(text.unwrap_or(""));
            &generated
        }
    };
    let trap_url = trap.as_ref().map(|t| format!("{base}/l/{}", t.token));
    let (html_out, pixel_url, trap) = match html::scan_html(html_in) {
        Ok(items) => {
            let html = html::rewrite_html(
                html_in,
                &items,
                &mut links,
                pixel_url.as_deref().zip(trap_url.as_deref()),
                opt_out_url.as_deref(),
            );
            (html, pixel_url, trap)
        }
        Err(e) => {
            // Nothing was issued yet: the HTML goes out exactly as written, with no pixel and
            // no tracked link, so what the tracker registers matches what the recipient gets.
            tracing::warn!("tracked copy: the HTML part goes out unchanged, with no pixel or tracked link: {e}");
            (html_in.to_string(), None, None)
        }
    };
    let text_out = text.map(|t| text::rewrite_text(t, &mut links, opt_out_url.as_deref()));
    TrackedCopy {
        html: html_out,
        text: text_out,
        recipient_token,
        pixel_url,
        opt_out_url,
        links: links.issued,
        trap,
    }
}

/// Hands out one token per distinct URL and decides which URLs are tracked.
struct LinkTable<'a> {
    base: &'a str,
    opts: &'a RewriteOptions<'a>,
    by_url: HashMap<String, usize>,
    issued: Vec<TrackedLink>,
}

impl<'a> LinkTable<'a> {
    fn new(base: &'a str, opts: &'a RewriteOptions<'a>) -> Self {
        LinkTable {
            base,
            opts,
            by_url: HashMap::new(),
            issued: Vec::new(),
        }
    }

    /// The tracker URL to put in place of `url`, or `None` when `url` stays as it is.
    /// `context` is the link's visible text (HTML) or line (plain text).
    fn tracked_url(&mut self, url: &str, context: &str) -> Option<String> {
        if !self.opts.track_links {
            return None;
        }
        let url = url.trim_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
        if !is_http_url(url) || url.chars().any(|c| c.is_ascii_control()) {
            return None;
        }
        let lower = url.to_ascii_lowercase();
        let base_lower = self.base.to_ascii_lowercase();
        if lower.starts_with(&format!("{base_lower}/")) || lower == base_lower {
            return None;
        }
        if lower.contains("unsubscribe")
            || context.to_lowercase().contains("unsubscribe")
            || self.opts.unsubscribe_urls.iter().any(|u| u.trim() == url)
            || self
                .opts
                .excluded_urls
                .iter()
                .any(|p| url_matches_pattern(url, p))
        {
            return None;
        }
        let index = match self.by_url.get(url) {
            Some(&i) => i,
            None => {
                self.issued.push(TrackedLink {
                    token: new_tracking_token(),
                    url: url.to_string(),
                    trap: false,
                });
                self.by_url.insert(url.to_string(), self.issued.len() - 1);
                self.issued.len() - 1
            }
        };
        Some(format!("{}/l/{}", self.base, self.issued[index].token))
    }
}

/// True when `url` matches `pattern` as a whole, ignoring ASCII case, where each `*` in the
/// pattern matches any run of characters (`/` included) and every other character itself. So
/// `https://example.org/*` excludes every URL under that origin, a pattern without `*` only that
/// exact URL. Ignoring case errs on the side of not tracking. Greedy with one backtrack point: at
/// worst len(url) × len(pattern) steps, no recursion, whatever the input.
pub fn url_matches_pattern(url: &str, pattern: &str) -> bool {
    let (u, p) = (url.as_bytes(), pattern.trim().as_bytes());
    let (mut ui, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ui < u.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ui));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&u[ui]) {
            pi += 1;
            ui += 1;
        } else if let Some((sp, su)) = star {
            pi = sp + 1;
            ui = su + 1;
            star = Some((sp, su + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Decodes the character references a URL in an attribute may carry (`&amp;`, `&#38;`, `&#x26;`…).
/// Unknown named references are kept as written, as a browser would for most of them in URLs.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let Some(semi) = rest[1..].find(';').map(|q| q + 1).filter(|&q| q <= 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let body = &rest[1..semi];
        let decoded = match body {
            "amp" | "AMP" => Some('&'),
            "lt" | "LT" => Some('<'),
            "gt" | "GT" => Some('>'),
            "quot" | "QUOT" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            "sol" => Some('/'),
            "colon" => Some(':'),
            "quest" => Some('?'),
            "equals" => Some('='),
            "num" => Some('#'),
            "percnt" => Some('%'),
            "period" => Some('.'),
            _ => {
                let num = if let Some(hex) = body.strip_prefix("#x").or(body.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = body.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                num.map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
            }
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes text for an HTML text node or a double-quoted attribute value.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// What the tests of this module and its parts share.
#[cfg(test)]
mod fixtures {
    use super::*;

    pub const BASE: &str = "https://t.example.com";

    pub fn opts<'a>(unsub: &'a [String], excluded: &'a [String]) -> RewriteOptions<'a> {
        RewriteOptions {
            base_url: BASE,
            track_opens: true,
            track_links: true,
            opt_out_link: false,
            unsubscribe_urls: unsub,
            excluded_urls: excluded,
        }
    }

    pub fn rewrite(html: &str) -> TrackedCopy {
        rewrite_for_recipient(Some(html), None, &opts(&[], &[]))
    }

    pub fn hrefs(copy: &TrackedCopy) -> Vec<String> {
        copy.links.iter().map(|l| l.url.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn list_unsubscribe_and_excluded_urls_are_kept() {
        let unsub = vec!["https://news.example.com/out/42".to_string()];
        let excluded = vec!["https://example.com/keep".to_string()];
        let html = r#"<a href="https://news.example.com/out/42">Leave</a><a href="https://example.com/keep">k</a><a href="https://example.com/go">go</a>"#;
        let c = rewrite_for_recipient(Some(html), None, &opts(&unsub, &excluded));
        assert_eq!(hrefs(&c), vec!["https://example.com/go"]);
    }

    #[test]
    fn excluded_link_patterns_keep_matching_links_untracked() {
        let excluded = vec![
            "https://example.org/*".to_string(),
            "https://*.intranet.example/*/private*".to_string(),
            "https://exact.example/only".to_string(),
        ];
        let html = concat!(
            "<a href=\"HTTPS://Example.ORG/deep/path?q=1\">a</a>",
            "<a href=\"https://example.org.evil.example/x\">lookalike</a>",
            "<a href=\"https://wiki.intranet.example/team/private/x\">b</a>",
            "<a href=\"https://wiki.intranet.example/team/public\">c</a>",
            "<a href=\"https://exact.example/only\">d</a>",
            "<a href=\"https://exact.example/only/more\">e</a>",
            "<a href='https://example.org/&#x2a;'>ent</a>",
        );
        let c = rewrite_for_recipient(Some(html), None, &opts(&[], &excluded));
        assert_eq!(
            hrefs(&c),
            vec![
                "https://example.org.evil.example/x",
                "https://wiki.intranet.example/team/public",
                "https://exact.example/only/more",
            ]
        );
        for kept in [
            "HTTPS://Example.ORG/deep/path?q=1",
            "https://wiki.intranet.example/team/private/x",
            "\"https://exact.example/only\"",
        ] {
            assert!(c.html.contains(kept), "{kept} missing in {}", c.html);
        }
        // The text part follows the same list.
        let c = rewrite_for_recipient(
            None,
            Some("see https://example.org/doc and https://example.com/doc"),
            &opts(&[], &excluded),
        );
        assert_eq!(hrefs(&c), vec!["https://example.com/doc"]);
        assert!(c.text.unwrap().contains("see https://example.org/doc and"));
    }

    #[test]
    fn url_patterns_match_whole_urls_and_stay_fast_on_hostile_input() {
        assert!(url_matches_pattern(
            "https://a.example/x",
            "https://a.example/*"
        ));
        assert!(url_matches_pattern(
            "https://a.example/",
            "https://a.example/*"
        ));
        assert!(!url_matches_pattern(
            "https://a.example",
            "https://a.example/*"
        ));
        assert!(url_matches_pattern("https://a.example/x", "*"));
        assert!(url_matches_pattern(
            "https://a.example/x",
            " https://A.example/X "
        ));
        assert!(!url_matches_pattern(
            "https://a.example/xy",
            "https://a.example/x"
        ));
        assert!(!url_matches_pattern("https://a.example/x", ""));
        assert!(url_matches_pattern("https://a/b/c/d", "*a*b*c*d"));
        assert!(!url_matches_pattern("https://a/b/c/d", "*a*b*c*e"));
        let url = format!("https://x/{}", "a".repeat(4000));
        let start = std::time::Instant::now();
        assert!(!url_matches_pattern(
            &url,
            &format!("{}b", "*a".repeat(100))
        ));
        assert!(start.elapsed().as_secs() < 2);
    }

    #[test]
    fn no_tracking_leaves_html_alone() {
        let o = RewriteOptions {
            track_opens: false,
            track_links: false,
            ..opts(&[], &[])
        };
        let html = "<p><a href=\"https://example.com\">x</a></p>";
        let c = rewrite_for_recipient(Some(html), None, &o);
        assert_eq!(c.html, html);
        assert!(c.links.is_empty() && c.pixel_url.is_none());
    }

    #[test]
    fn plain_text_mail_gets_tracked_text_and_generated_html() {
        let text = "Hi <Bob> & co,\nthe deck: https://example.com/deck.\nprivate: !https://example.com/me\nmail me: mailto:me@x\n\nOn Mon, Bob wrote:\n> https://example.com/old\n";
        let o = RewriteOptions {
            opt_out_link: true,
            ..opts(&[], &[])
        };
        let c = rewrite_for_recipient(None, Some(text), &o);
        let urls = hrefs(&c);
        assert_eq!(
            urls,
            vec!["https://example.com/deck", "https://example.com/old"]
        );
        let deck = &c.links[0].token;
        let text_out = c.text.as_deref().unwrap();
        assert!(
            text_out.contains(&format!("the deck: {BASE}/l/{deck}.")),
            "{text_out}"
        );
        assert!(
            text_out.contains("private: https://example.com/me\n"),
            "{text_out}"
        );
        let footer = text_out.find("Opt out of email tracking: ").unwrap();
        assert!(footer < text_out.find("On Mon").unwrap());
        // The HTML alternative: escaped, linked, pixel and footer before the quote.
        assert!(c.html.contains("Hi &lt;Bob&gt; &amp; co"));
        assert!(c.html.contains(&format!("href=\"{BASE}/l/{deck}\"")));
        assert!(c.html.contains("href=\"https://example.com/me\">"));
        assert!(!c.html.contains(NOTRACK_ATTRIBUTE));
        let img = c.html.find("<img").unwrap();
        assert!(img < c.html.find("<blockquote").unwrap());
        assert!(c.html.find(&c.opt_out_url.clone().unwrap()).unwrap() < img);
    }

    #[test]
    fn each_recipient_gets_its_own_tokens() {
        let html = "<a href=\"https://example.com\">x</a>";
        let a = rewrite(html);
        let b = rewrite(html);
        assert_ne!(a.recipient_token, b.recipient_token);
        assert_ne!(a.links[0].token, b.links[0].token);
        assert_eq!(a.links[0].url, b.links[0].url);
    }

    #[test]
    fn entities_decode_like_a_browser() {
        assert_eq!(
            decode_entities("a&amp;b&#38;c&#x26;d&bogus;e&"),
            "a&b&c&d&bogus;e&"
        );
        assert_eq!(decode_entities("&#xZZ;"), "&#xZZ;");
        assert_eq!(decode_entities("&#99999999;"), "\u{fffd}");
    }

    #[test]
    fn html_the_parser_gives_up_on_goes_out_whole_and_untracked() {
        // A tag left open for more bytes than the parser may buffer.
        let html = format!(
            "<p><a href=\"https://example.com/a\">a</a></p><a title=\"{}",
            "x".repeat(html::MAX_PARSER_MEMORY + 1)
        );
        let o = RewriteOptions {
            opt_out_link: true,
            ..opts(&[], &[])
        };
        let c = rewrite_for_recipient(Some(&html), Some("see https://example.com/t"), &o);
        assert!(c.html == html, "the HTML part was changed");
        assert!(c.pixel_url.is_none());
        // Only the text part's link is registered: nothing the HTML part does not carry.
        assert_eq!(hrefs(&c), vec!["https://example.com/t"]);
        assert!(c.text.unwrap().contains(&format!("{BASE}/l/")));
    }
}
