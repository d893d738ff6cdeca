//! Bounds how deep HTML nests before an HTML parser sees it. html5ever checks the open elements
//! at each tag and html2text lays out depth × size, so 20,000 nested lists cost minutes; real
//! mail nests a few dozen deep. Used by the reader and by the search text and preview, so both
//! read the same bounded HTML.

/// Elements the HTML parser closes implicitly (a new `<li>` closes the open one), so they never
/// nest by themselves; counting them would flatten ordinary unclosed `<p>` paragraphs.
const SELF_CLOSING_SIBLINGS: &[&str] = &[
    "p", "li", "td", "th", "tr", "tbody", "thead", "tfoot", "option", "optgroup", "dt", "dd",
    "colgroup", "caption", "rt", "rp",
];
/// Elements with no content and no end tag.
const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];
/// Elements whose content is raw text, not markup: skipped whole.
const RAW_TEXT_ELEMENTS: &[&str] = &["script", "style", "textarea", "title", "xmp"];

/// Drops the start and end tags of elements nested deeper than `max_depth`, keeping their text.
/// A tag-level scan, not a parser: it only has to bound the depth html5ever will build, and
/// erring toward dropping tags in odd markup costs some layout, never content.
pub fn limit_html_depth(html: &str, max_depth: usize) -> std::borrow::Cow<'_, str> {
    let bytes = html.as_bytes();
    let mut out = String::new();
    let mut copied = 0; // bytes of `html` already handled (copied to `out` or dropped)
    let mut depth = 0usize;
    let mut changed = false;
    let mut i = 0;
    while let Some(off) = memchr_lt(&bytes[i..]) {
        let start = i + off;
        let Some(tag) = scan_tag(bytes, start) else {
            i = start + 1;
            continue;
        };
        i = tag.end;
        if tag.name.is_empty() || tag.name.starts_with('!') || tag.name.starts_with('?') {
            continue;
        }
        let name = tag.name.to_ascii_lowercase();
        if !tag.closing && RAW_TEXT_ELEMENTS.contains(&name.as_str()) {
            i = find_end_tag(bytes, i, &name).unwrap_or(bytes.len());
            continue;
        }
        if tag.self_closing
            || VOID_ELEMENTS.contains(&name.as_str())
            || SELF_CLOSING_SIBLINGS.contains(&name.as_str())
        {
            continue;
        }
        let too_deep = if tag.closing {
            let was = depth;
            depth = depth.saturating_sub(1);
            was > max_depth
        } else {
            depth += 1;
            depth > max_depth
        };
        if too_deep {
            out.push_str(&html[copied..start]);
            copied = tag.end;
            changed = true;
        }
    }
    if !changed {
        return std::borrow::Cow::Borrowed(html);
    }
    out.push_str(&html[copied..]);
    std::borrow::Cow::Owned(out)
}

fn memchr_lt(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'<')
}

struct Tag<'a> {
    name: &'a str,
    closing: bool,
    self_closing: bool,
    /// Index just past the closing `>`.
    end: usize,
}

/// The tag starting at `bytes[start] == b'<'`, or `None` if what follows is not a tag (HTML
/// treats a lone `<` as text). Quoted attribute values may contain `>`.
fn scan_tag(bytes: &[u8], start: usize) -> Option<Tag<'_>> {
    let mut j = start + 1;
    let closing = bytes.get(j) == Some(&b'/');
    if closing {
        j += 1;
    }
    let name_start = j;
    while j < bytes.len()
        && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'!' | b'?' | b'-' | b':'))
    {
        j += 1;
    }
    if j == name_start {
        return None;
    }
    let name = std::str::from_utf8(&bytes[name_start..j]).ok()?;
    let mut quote: Option<u8> = None;
    while j < bytes.len() {
        match (quote, bytes[j]) {
            (None, b'>') => {
                return Some(Tag {
                    name,
                    closing,
                    self_closing: bytes[j - 1] == b'/',
                    end: j + 1,
                })
            }
            (None, q @ (b'"' | b'\'')) => quote = Some(q),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        j += 1;
    }
    None
}

/// Index just past `</name ...>` at or after `from`, case-insensitively.
fn find_end_tag(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut i = from;
    while let Some(off) = memchr_lt(&bytes[i..]) {
        let start = i + off;
        if let Some(tag) = scan_tag(bytes, start) {
            if tag.closing && tag.name.eq_ignore_ascii_case(name) {
                return Some(tag.end);
            }
        }
        i = start + 1;
    }
    None
}
