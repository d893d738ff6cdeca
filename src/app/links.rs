//! The links of the message in the reader, numbered as urlscan/urlview list them: the HTML
//! part's footnoted links first, then URLs written in the text. A tracker redirect in the user's
//! own tracked mail is listed as the address it leads to. Only web and mail addresses are
//! offered to the system opener; a hostile mail cannot make it run `file:` or a custom scheme.

use super::tracking_urls::ReaderContent;

/// At most this many links are listed.
pub const MAX_LINKS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Where the link leads: what is shown, opened and copied.
    pub target: String,
    /// Set when the mail links to a tracker redirect to `target`.
    pub tracked: bool,
}

/// The message's links, each once, in reading order.
pub fn message_links(content: &ReaderContent) -> Vec<Link> {
    let mut out: Vec<Link> = Vec::new();
    let found = content
        .links
        .iter()
        .map(String::as_str)
        .chain(urls_in_text(&content.body));
    for url in found {
        let (target, tracked) = match content.link_targets.iter().find(|(t, _)| t == url) {
            Some((_, target)) => (target.as_str(), true),
            None => (url, false),
        };
        if !openable(target) || out.iter().any(|l| l.target == target) {
            continue;
        }
        out.push(Link {
            target: target.to_string(),
            tracked,
        });
        if out.len() == MAX_LINKS {
            break;
        }
    }
    out
}

/// http(s), ftp and mailto URLs only.
pub fn openable(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) => matches!(u.scheme(), "http" | "https" | "ftp" | "mailto"),
        Err(_) => false,
    }
}

/// URLs written in plain text: from a scheme to the first space or bracket, without the
/// punctuation that ends a sentence around it.
fn urls_in_text(text: &str) -> impl Iterator<Item = &str> {
    let starts = ["https://", "http://", "ftp://", "mailto:"];
    let mut rest = text;
    std::iter::from_fn(move || loop {
        let (at, _) = starts
            .iter()
            .filter_map(|s| rest.find(s).map(|i| (i, s)))
            .min_by_key(|(i, _)| *i)?;
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || "<>\"'`[]{}|\\^".contains(c))
            .unwrap_or(tail.len());
        let mut url = &tail[..end];
        // A closing paren belongs to the URL only when the URL opened one.
        while let Some(last) = url.chars().last() {
            let unbalanced = last == ')' && url.matches('(').count() < url.matches(')').count();
            if ".,;:!?".contains(last) || unbalanced {
                url = &url[..url.len() - last.len_utf8()];
            } else {
                break;
            }
        }
        rest = &tail[end.max(1)..];
        if url.len() > "mailto:".len() {
            return Some(url);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::render::Rendered;

    fn content(body: &str, links: &[&str], targets: &[(&str, &str)]) -> ReaderContent {
        ReaderContent {
            message: Rendered {
                body: body.into(),
                links: links.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
            link_targets: targets
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            tracking: None,
            all_headers: Vec::new(),
        }
    }

    #[test]
    fn links_are_numbered_once_in_reading_order_with_trackers_shown_as_their_target() {
        let c = content(
            "See the plan [1] (https://acme.test/plan?a=1&b=(2)).\n\
             Mail sam at mailto:sam@globex.test, or https://t.example/l/abc.\n\
             Not these: file:///etc/passwd javascript:alert(1) https:// \n\
             [1]: https://acme.test/q3",
            &["https://acme.test/q3"],
            &[("https://t.example/l/abc", "https://globex.test/pricing")],
        );
        let got: Vec<(String, bool)> = message_links(&c)
            .into_iter()
            .map(|l| (l.target, l.tracked))
            .collect();
        assert_eq!(
            got,
            [
                ("https://acme.test/q3".to_string(), false),
                ("https://acme.test/plan?a=1&b=(2)".to_string(), false),
                ("mailto:sam@globex.test".to_string(), false),
                ("https://globex.test/pricing".to_string(), true),
            ]
        );
        assert!(!openable("file:///etc/passwd"));
        assert!(!openable("-oProxyCommand=x"));
    }
}
