//! The plain-text part: bare URLs found and rewritten, the opt-out line before quoted text, and
//! the HTML alternative generated for a mail that has no HTML part.

use super::{escape_html, LinkTable, NOTRACK_ATTRIBUTE};

/// Where the quoted part of a plain-text mail starts: an "On … wrote:" line followed by quoted
/// lines, the first `>` line, or Outlook's "-----Original Message-----". A byte offset.
pub fn text_quote_start(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('>')
            || trimmed.eq_ignore_ascii_case("-----Original Message-----")
            || (trimmed.starts_with("On ") && trimmed.ends_with("wrote:"))
        {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// Bytes that end a bare URL in text.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`') || c.is_control()
}

/// Finds bare http(s) URLs in text: (start, end) byte ranges. Trailing punctuation belongs to
/// the sentence, not the URL; a closing bracket stays only if the URL opened one.
pub fn find_text_urls(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = lower[from..].find("http").map(|p| p + from) {
        let rest = &lower[p..];
        let scheme_len = if rest.starts_with("https://") {
            8
        } else if rest.starts_with("http://") {
            7
        } else {
            from = p + 4;
            continue;
        };
        // Must start a word: "xhttp://" is not a URL.
        let prev = text[..p].chars().next_back();
        if prev.is_some_and(|c| c.is_alphanumeric()) {
            from = p + scheme_len;
            continue;
        }
        let tail = &text[p + scheme_len..];
        let len = tail.find(ends_url).unwrap_or(tail.len());
        if len == 0 {
            from = p + scheme_len;
            continue;
        }
        let mut end = p + scheme_len + len;
        // Strip trailing punctuation, keeping balanced closing brackets.
        loop {
            let url = &text[p..end];
            let Some(last) = url.chars().next_back() else {
                break;
            };
            let strip = match last {
                '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' => true,
                ')' => url.matches('(').count() < url.matches(')').count(),
                ']' => url.matches('[').count() < url.matches(']').count(),
                '}' => url.matches('{').count() < url.matches('}').count(),
                _ => false,
            };
            if strip && end - p > scheme_len {
                end -= last.len_utf8();
            } else {
                break;
            }
        }
        if end - p > scheme_len {
            found.push((p, end));
        }
        from = end.max(p + scheme_len);
    }
    found
}

pub(super) fn rewrite_text(text: &str, links: &mut LinkTable, opt_out_url: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    let quote_at = text_quote_start(text).unwrap_or(text.len());
    let mut footer_done = opt_out_url.is_none();
    let push_footer = |out: &mut String, url: &str| {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("\nOpt out of email tracking: ");
        out.push_str(url);
        out.push_str("\n\n");
    };
    for (start, end) in find_text_urls(text) {
        if !footer_done && start >= quote_at {
            out.push_str(&text[pos..quote_at]);
            pos = quote_at;
            push_footer(&mut out, opt_out_url.unwrap_or_default());
            footer_done = true;
        }
        let url = &text[start..end];
        let excluded_by_marker = text[..start].ends_with('!');
        if excluded_by_marker {
            out.push_str(&text[pos..start - 1]);
            out.push_str(url);
            pos = end;
            continue;
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        match links.tracked_url(url, &text[line_start..line_end]) {
            Some(tracked) => {
                out.push_str(&text[pos..start]);
                out.push_str(&tracked);
                pos = end;
            }
            None => {
                out.push_str(&text[pos..end]);
                pos = end;
            }
        }
    }
    if !footer_done {
        let at = quote_at.max(pos);
        out.push_str(&text[pos..at]);
        pos = at;
        push_footer(&mut out, opt_out_url.unwrap_or_default());
    }
    out.push_str(&text[pos..]);
    out
}

/// An HTML alternative for a plain-text mail: the text escaped, line breaks kept, bare URLs made
/// clickable, quoted text in a `<blockquote>` (so the pixel goes before it).
pub fn text_to_html(text: &str) -> String {
    let quote_at = text_quote_start(text).unwrap_or(text.len());
    let (own, quoted) = text.split_at(quote_at);
    let mut out = String::with_capacity(text.len() * 2 + 200);
    out.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    out.push_str("<div style=\"white-space:pre-wrap\">");
    out.push_str(&linkify(own));
    out.push_str("</div>\n");
    if !quoted.is_empty() {
        out.push_str("<blockquote type=\"cite\" style=\"white-space:pre-wrap;margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex\">");
        out.push_str(&linkify(quoted));
        out.push_str("</blockquote>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn linkify(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut pos = 0;
    for (start, end) in find_text_urls(text) {
        let marker = text[..start].ends_with('!');
        out.push_str(&escape_html(
            &text[pos..if marker { start - 1 } else { start }],
        ));
        let url = escape_html(&text[start..end]);
        let notrack = if marker {
            format!(" {NOTRACK_ATTRIBUTE}")
        } else {
            String::new()
        };
        out.push_str(&format!("<a href=\"{url}\"{notrack}>{url}</a>"));
        pos = end;
    }
    out.push_str(&escape_html(&text[pos..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_urls_are_found_without_trailing_punctuation() {
        let t = "See https://example.com/a. And (https://example.com/b) or https://en.wikipedia.org/wiki/Foo_(bar), \"http://x.io/q?a=1\" xhttp://no.pe <https://example.com/c>";
        let urls: Vec<&str> = find_text_urls(t).iter().map(|&(a, b)| &t[a..b]).collect();
        assert_eq!(
            urls,
            vec![
                "https://example.com/a",
                "https://example.com/b",
                "https://en.wikipedia.org/wiki/Foo_(bar)",
                "http://x.io/q?a=1",
                "https://example.com/c"
            ]
        );
        assert!(find_text_urls("https:// and http").is_empty());
    }
}
