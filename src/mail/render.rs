//! The one message renderer: raw RFC 5322 bytes in, terminal-safe text out. `tidings show` prints
//! it and the TUI reader pane draws it, so both show exactly the same thing.
//!
//! Guarantees, whatever the input: no panic, no control character but `\n` in any string of a
//! [`Rendered`], work and memory bounded by the input size plus the caps below (body text, HTML
//! handed to html2text, header length, address count, attachment count, nesting depth). Nothing is
//! ever fetched: images become their alt text, links become numbered footnotes.

use super::html_depth::limit_html_depth;
use super::parse::{attachment_info, cut_at_char_boundary, drop_message, format_addresses};
use crate::sanitize::{sanitize_display, sanitize_line, sanitize_text};
use html2text::render::{PlainDecorator, TextDecorator};
use mail_parser::{Address, Message, MimeHeaders, PartType};
use std::cell::RefCell;
use std::rc::Rc;

/// Body text kept per message; past it the body ends with [`TRUNCATED_NOTE`].
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// HTML handed to html2text per part. html2text is far slower per byte than plain text on
/// pathological markup (deep tables), so it gets a smaller budget than the body itself.
pub const MAX_HTML_BYTES: usize = 512 * 1024;
/// Element nesting handed to html2text. Its layout work grows with depth × size (100,000 nested
/// `<div>`s take hours), while real mail, even table-heavy newsletters, nests a few dozen deep.
const MAX_HTML_DEPTH: usize = 64;
/// What a header value may grow to before it is cut (a 1 MB Subject line is an attack, not a subject).
const MAX_HEADER_BYTES: usize = 2048;
pub use super::parse::MAX_ATTACHMENTS;
/// Attached messages shown inline, nested at most this deep.
const MAX_NESTED_MESSAGES: usize = 8;
/// Footnoted links per message; later links keep their text but get no number.
const MAX_LINKS: usize = 1000;
/// A link target longer than this is cut (data: URLs can be megabytes).
const MAX_URL_BYTES: usize = 2048;
/// Wrap width for HTML when the caller does not give one.
pub const DEFAULT_WIDTH: usize = 80;

pub const TRUNCATED_NOTE: &str = "[… truncated]";

/// A message ready to show: every string is sanitized (no control characters but `\n` in `body`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// (name, value) in display order: From, Reply-To (only when it differs from From), To, Cc,
    /// Date, Subject. Absent headers are left out.
    pub headers: Vec<(String, String)>,
    /// The readable text, ending with the link footnotes (`[1]: https://…`) when the mail had links.
    pub body: String,
    pub attachments: Vec<RenderedAttachment>,
    /// Link targets; `links[0]` is footnote `[1]` in `body`.
    pub links: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedAttachment {
    /// 0-based; what [`attachment_bytes`] takes and the `part` the store keeps. Shown as `index + 1`.
    pub index: usize,
    /// A safe base name: no path separators, never starting with a dot.
    pub filename: String,
    pub mime_type: String,
    /// Decoded size in bytes.
    pub size: u64,
}

/// Renders `raw` with HTML wrapped at [`DEFAULT_WIDTH`] columns.
pub fn render_message(raw: &[u8]) -> Rendered {
    render_message_width(raw, DEFAULT_WIDTH)
}

/// Renders `raw` with HTML wrapped at `width` columns (clamped to 20..=1000); plain text is not
/// re-wrapped. For the reader pane, which knows its width.
pub fn render_message_width(raw: &[u8], width: usize) -> Rendered {
    let width = width.clamp(20, 1000);
    // mail-parser and html2text are fuzzed upstream, but a panic inside either must cost one
    // message's rendering, not the whole app.
    std::panic::catch_unwind(|| render_inner(raw, width)).unwrap_or_else(|_| {
        tracing::warn!(bytes = raw.len(), "renderer panicked on a message");
        Rendered {
            body: "[this message could not be rendered; `tidings show --raw` shows its bytes]"
                .into(),
            ..Default::default()
        }
    })
}

fn render_inner(raw: &[u8], width: usize) -> Rendered {
    let Some(msg) = super::mime_repair::parse_mail(raw) else {
        return Rendered {
            body: "[not a mail message: no headers could be read]".into(),
            ..Default::default()
        };
    };
    let mut body = BodyWriter::new(width);
    write_body(&msg, &mut body, 0);
    let mut attachments = Vec::new();
    let mut total = 0usize;
    for (index, part) in msg.attachments().enumerate() {
        total += 1;
        if index < MAX_ATTACHMENTS {
            let (filename, mime_type) = attachment_info(part, index);
            attachments.push(RenderedAttachment {
                index,
                filename,
                mime_type,
                size: part.contents().len() as u64,
            });
        }
    }
    if total > MAX_ATTACHMENTS {
        body.note(&format!(
            "[{} more attachments not listed]",
            total - MAX_ATTACHMENTS
        ));
    }
    let (body, links) = body.finish();
    let headers = headers_of(&msg);
    drop_message(msg);
    Rendered {
        headers,
        body,
        attachments,
        links,
    }
}

/// The headers a reader needs, each cut to a sane length and sanitized.
fn headers_of(msg: &Message<'_>) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    let mut push = |name: &str, value: String| {
        if !value.is_empty() {
            headers.push((name.to_string(), value));
        }
    };
    push("From", format_addresses(msg.from()));
    if let Some(reply_to) = msg.reply_to() {
        if address_set(Some(reply_to)) != address_set(msg.from()) {
            push("Reply-To", format_addresses(Some(reply_to)));
        }
    }
    push("To", format_addresses(msg.to()));
    push("Cc", format_addresses(msg.cc()));
    push(
        "Date",
        msg.date()
            .map(|d| sanitize_line(&d.to_rfc822()))
            .unwrap_or_default(),
    );
    push(
        "Subject",
        msg.subject()
            .map(|s| header_text(s, MAX_HEADER_BYTES))
            .unwrap_or_default(),
    );
    headers
}

/// One header line: cut (with an ellipsis) before sanitizing so a huge header costs nothing.
fn header_text(s: &str, max: usize) -> String {
    let cut = cut_at_char_boundary(s, max);
    let mut line = sanitize_display(cut);
    if cut.len() < s.len() {
        line.push('…');
    }
    line
}

fn address_set(a: Option<&Address<'_>>) -> Vec<String> {
    let mut v: Vec<String> = a
        .map(|a| {
            a.iter()
                .take(100)
                .filter_map(|x| x.address().map(|s| s.trim().to_lowercase()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The text parts of `msg` (mail-parser has already chosen text/plain over HTML inside
/// multipart/alternative), then attached messages inline, each under its own headers.
fn write_body(msg: &Message<'_>, out: &mut BodyWriter, depth: usize) {
    let mut first = true;
    for part in msg.text_bodies() {
        if out.is_full() {
            break;
        }
        let wrote = match &part.body {
            PartType::Text(text) => {
                if !first {
                    out.push_text("\n");
                }
                out.push_text(text);
                true
            }
            PartType::Html(html) => {
                if !first {
                    out.push_text("\n");
                }
                out.push_html(html);
                true
            }
            // Inline images and other binaries are listed as attachments.
            _ => false,
        };
        first &= !wrote;
    }
    if first {
        // Malformed MIME (an unterminated multipart, say) can leave the only text filed as an
        // attachment; a reader would rather see it than an empty body.
        for part in msg
            .attachments()
            .filter(|p| p.attachment_name().is_none())
            .take(4)
        {
            match &part.body {
                PartType::Text(text) => out.push_text(text),
                PartType::Html(html) => out.push_html(html),
                _ => {}
            }
        }
    }
    for part in msg.attachments() {
        let PartType::Message(inner) = &part.body else {
            continue;
        };
        if out.is_full() {
            break;
        }
        if depth + 1 >= MAX_NESTED_MESSAGES {
            out.note("[attached message nested too deep; not shown]");
            break;
        }
        out.push_text("\n\n---------- Attached message ----------\n");
        for (name, value) in headers_of(inner) {
            out.push_text(&format!("{name}: {value}\n"));
        }
        out.push_text("\n");
        write_body(inner, out, depth + 1);
    }
}

/// Accumulates body text under the byte cap, and the links found in HTML parts.
struct BodyWriter {
    text: String,
    truncated: bool,
    width: usize,
    links: Rc<RefCell<Vec<String>>>,
}

impl BodyWriter {
    fn new(width: usize) -> Self {
        BodyWriter {
            text: String::new(),
            truncated: false,
            width,
            links: Rc::default(),
        }
    }

    fn is_full(&self) -> bool {
        self.truncated
    }

    /// Appends sanitized text, cutting it at the cap. The cut happens before sanitizing so a
    /// 50 MB body is never copied whole.
    fn push_text(&mut self, s: &str) {
        if self.truncated {
            return;
        }
        let room = MAX_BODY_BYTES.saturating_sub(self.text.len());
        let cut = cut_at_char_boundary(s, room);
        let clean = sanitize_text(cut);
        // Control pictures are wider than the bytes they replace; keep the cap exact.
        let kept = cut_at_char_boundary(&clean, room);
        self.text.push_str(kept);
        if cut.len() < s.len() || kept.len() < clean.len() {
            self.truncated = true;
        }
    }

    fn push_html(&mut self, html: &str) {
        if self.truncated {
            return;
        }
        let cut = cut_at_char_boundary(html, MAX_HTML_BYTES);
        let shallow = limit_html_depth(cut, MAX_HTML_DEPTH);
        let text = html_to_text(&shallow, self.width, &self.links);
        self.push_text(&text);
        if cut.len() < html.len() {
            self.truncated = true;
        }
    }

    /// A line of our own (not from the mail), always shown even when the body is full.
    fn note(&mut self, s: &str) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.text.push_str(s);
        self.text.push('\n');
    }

    fn finish(mut self) -> (String, Vec<String>) {
        if self.truncated {
            self.note(TRUNCATED_NOTE);
        }
        let links = self.links.take();
        if !links.is_empty() {
            self.text = flag_misleading_links(&self.text, &links);
            let trimmed = self.text.trim_end().len();
            self.text.truncate(trimmed);
            self.text.push_str("\n\n");
            for (i, url) in links.iter().enumerate() {
                self.text.push_str(&format!("[{}]: {}\n", i + 1, url));
            }
        }
        (self.text, links)
    }
}

/// Link text that is itself an address on another host ("https://bank.test/login" leading to
/// evil.test, or "https://bank.test@evil.test/") is the oldest phishing trick: its footnote
/// marker names where it really leads, `https://bank.test/login[1 → evil.test]`, as Thunderbird
/// warns. One pass over the text: the markers are the `[n]` the footnote decorator wrote.
fn flag_misleading_links(text: &str, links: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        let digits = after[1..].bytes().take_while(u8::is_ascii_digit).count();
        let number = after[1..1 + digits].parse::<usize>().ok();
        let closed = after.as_bytes().get(1 + digits) == Some(&b']');
        let target = match (number, closed) {
            (Some(n), true) => n.checked_sub(1).and_then(|i| links.get(i)),
            _ => None,
        };
        // The word before the marker, looked for no further back than a URL can be long: a
        // megabyte without a space must not be scanned again at every `[`.
        let shown = |out: &str| {
            let mut from = out.len().saturating_sub(MAX_URL_BYTES);
            while !out.is_char_boundary(from) {
                from += 1;
            }
            out[from..]
                .rsplit(char::is_whitespace)
                .next()
                .unwrap_or_default()
                .to_string()
        };
        match target.and_then(|t| misleading(&shown(&out), t)) {
            Some(host) => {
                out.push_str(&after[..1 + digits]);
                out.push_str(&format!(" → {host}]"));
                rest = &after[2 + digits..];
            }
            None => {
                out.push('[');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The host `target` leads to, when the link text `shown` is an address on another host.
fn misleading(shown: &str, target: &str) -> Option<String> {
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .filter(|u| u.has_host())
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
    };
    let shown_host = if shown.contains("://") {
        host(shown)
    } else if shown.starts_with("www.") {
        host(&format!("http://{shown}"))
    } else {
        None
    }?;
    let target_host = host(target)?;
    (shown_host != target_host).then_some(target_host)
}

/// HTML → text with html2text; links numbered in `links` (shared across all HTML parts of a
/// message so footnote numbers never repeat). Falls back to mail-parser's simple tag stripper
/// if html2text refuses the input.
fn html_to_text(html: &str, width: usize, links: &Rc<RefCell<Vec<String>>>) -> String {
    let decorator = FootnoteDecorator {
        inner: PlainDecorator::new(),
        links: Rc::clone(links),
        open: Vec::new(),
    };
    let config = html2text::config::with_decorator(decorator)
        .link_footnotes(false)
        .raw_mode(table_cells(html) > MAX_LAID_OUT_CELLS);
    // Hidden elements go before layout, so neither their text nor their links are shown.
    config
        .parse_html(html.as_bytes())
        .and_then(|dom| {
            super::hidden_html::prune(&dom);
            config.dom_to_render_tree(&dom)
        })
        .and_then(|tree| config.render_to_string(tree, width))
        .unwrap_or_else(|e| {
            tracing::debug!(error = %e, "html2text failed; using the plain tag stripper");
            mail_parser::decoders::html::html_to_text(html)
        })
}

/// Beyond this many table cells, tables are read as one column of cells. A table too wide for
/// the screen is laid out cell under cell with a full-width rule after each, so 50,000 empty
/// `<td>` in 450 KB of HTML became 4 MB of rules, and the rest of the mail fell past the cut.
const MAX_LAID_OUT_CELLS: usize = 2000;

/// Start tags of table cells (`<td`, `<th`, and the few `<thead`s they overcount).
fn table_cells(html: &str) -> usize {
    html.as_bytes()
        .windows(3)
        .filter(|w| {
            w[0] == b'<'
                && w[1].eq_ignore_ascii_case(&b't')
                && (w[2].eq_ignore_ascii_case(&b'd') || w[2].eq_ignore_ascii_case(&b'h'))
        })
        .count()
}

/// html2text's plain decorator, except that links get `[n]` numbers from one shared list (so the
/// TUI can open link n) and images show only their alt text — a tracking pixel shows nothing.
#[derive(Clone)]
struct FootnoteDecorator {
    inner: PlainDecorator,
    links: Rc<RefCell<Vec<String>>>,
    open: Vec<Option<usize>>,
}

impl TextDecorator for FootnoteDecorator {
    type Annotation = ();

    fn decorate_link_start(&mut self, url: &str) -> (String, ()) {
        let url = sanitize_line(cut_at_char_boundary(url, MAX_URL_BYTES));
        let number = if url.is_empty() || url.starts_with('#') {
            None
        } else {
            let mut links = self.links.borrow_mut();
            match links.iter().position(|u| *u == url) {
                Some(i) => Some(i),
                None if links.len() < MAX_LINKS => {
                    links.push(url);
                    Some(links.len() - 1)
                }
                None => None,
            }
        };
        self.open.push(number);
        (String::new(), ())
    }

    fn decorate_link_end(&mut self) -> String {
        match self.open.pop().flatten() {
            Some(i) => format!("[{}]", i + 1),
            None => String::new(),
        }
    }

    fn decorate_em_start(&self) -> (String, ()) {
        self.inner.decorate_em_start()
    }

    fn decorate_em_end(&self) -> String {
        self.inner.decorate_em_end()
    }

    fn decorate_strong_start(&self) -> (String, ()) {
        self.inner.decorate_strong_start()
    }

    fn decorate_strong_end(&self) -> String {
        self.inner.decorate_strong_end()
    }

    fn decorate_strikeout_start(&self) -> (String, ()) {
        self.inner.decorate_strikeout_start()
    }

    fn decorate_strikeout_end(&self) -> String {
        self.inner.decorate_strikeout_end()
    }

    fn decorate_code_start(&self) -> (String, ()) {
        self.inner.decorate_code_start()
    }

    fn decorate_code_end(&self) -> String {
        self.inner.decorate_code_end()
    }

    fn decorate_preformat_first(&self) {}

    fn decorate_preformat_cont(&self) {}

    fn decorate_image(&mut self, _src: &str, title: &str) -> (String, ()) {
        let alt = sanitize_line(cut_at_char_boundary(title, MAX_HEADER_BYTES));
        if alt.is_empty() {
            (String::new(), ())
        } else {
            (format!("[image: {alt}]"), ())
        }
    }

    fn header_prefix(&self, level: usize) -> String {
        self.inner.header_prefix(level)
    }

    fn quote_prefix(&self) -> String {
        self.inner.quote_prefix()
    }

    fn unordered_item_prefix(&self) -> String {
        self.inner.unordered_item_prefix()
    }

    fn ordered_item_prefix(&self, i: i64) -> String {
        self.inner.ordered_item_prefix(i)
    }

    fn make_subblock_decorator(&self) -> Self {
        FootnoteDecorator {
            inner: self.inner.make_subblock_decorator(),
            links: Rc::clone(&self.links),
            open: Vec::new(),
        }
    }

    fn finalise(&mut self, _urls: Vec<String>) -> Vec<html2text::render::TaggedLine<()>> {
        // The footnotes are written once for the whole message, by `BodyWriter::finish`.
        Vec::new()
    }
}

/// What `tidings show` prints: headers, a blank line, the body, then the attachments.
pub fn render_to_text(r: &Rendered) -> String {
    let mut out = String::new();
    for (name, value) in &r.headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    out.push_str(r.body.trim_end());
    out.push('\n');
    if !r.attachments.is_empty() {
        out.push_str("\nAttachments:\n");
        for a in &r.attachments {
            out.push_str(&format!(
                "  [{}] {} ({}, {})\n",
                a.index + 1,
                a.filename,
                a.mime_type,
                human_size(a.size)
            ));
        }
    }
    out
}

/// 1234567 → "1.2 MB"; sizes in decimal units like most mail clients.
pub fn human_size(n: u64) -> String {
    match n {
        0..=999 => format!("{n} B"),
        1_000..=999_999 => format!("{:.1} KB", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.1} GB", n as f64 / 1e9),
    }
}

/// The decoded bytes of attachment `index` (0-based, as in [`RenderedAttachment::index`]) with its
/// safe file name; `None` when there is no such attachment. An attached message comes back as its
/// raw RFC 5322 bytes.
pub fn attachment_bytes(raw: &[u8], index: usize) -> Option<(String, Vec<u8>)> {
    std::panic::catch_unwind(|| {
        let msg = super::mime_repair::parse_mail(raw)?;
        let found = u32::try_from(index)
            .ok()
            .and_then(|i| msg.attachment(i))
            .map(|part| (attachment_info(part, index).0, part.contents().to_vec()));
        drop_message(msg);
        found
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitize::is_terminal_safe;

    fn assert_safe(r: &Rendered) {
        let text = render_to_text(r);
        assert!(is_terminal_safe(&text), "unsafe output: {text:?}");
        for l in &r.links {
            assert!(is_terminal_safe(l) && !l.contains('\n'));
        }
    }

    #[test]
    fn plain_text_is_preferred_over_html() {
        let raw = b"From: Dana Lee <dana@acme.test>\r\nTo: you@example.com\r\nSubject: Hi\r\n\
Date: Tue, 1 Sep 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nplain version\r\n\
--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n--b--\r\n";
        let r = render_message(raw);
        assert!(r.body.contains("plain version"), "{}", r.body);
        assert!(!r.body.contains("html version"));
        assert_eq!(
            r.headers[0],
            ("From".into(), "Dana Lee <dana@acme.test>".into())
        );
        assert_eq!(r.headers[1], ("To".into(), "you@example.com".into()));
        assert_eq!(r.headers[2].0, "Date");
        assert_eq!(r.headers[3], ("Subject".into(), "Hi".into()));
        assert_safe(&r);
    }

    #[test]
    fn html_becomes_text_with_numbered_footnotes_and_no_images() {
        let raw = b"From: news@globex.test\r\nSubject: News\r\nContent-Type: text/html\r\n\r\n\
<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>\
<h1>Big news</h1><p>Read <a href=\"https://globex.test/a\">the post</a> and \
<a href=\"https://globex.test/b\">more</a>, or <a href=\"https://globex.test/a\">again</a>.</p>\
<img src=\"https://track.test/pixel.gif\" width=1 height=1>\
<img src=\"https://globex.test/logo.png\" alt=\"Globex logo\"></body></html>";
        let r = render_message(raw);
        assert_eq!(
            r.links,
            vec!["https://globex.test/a", "https://globex.test/b"]
        );
        assert!(r.body.contains("Big news"), "{}", r.body);
        assert!(r.body.contains("the post[1]"), "{}", r.body);
        assert!(r.body.contains("more[2]"), "{}", r.body);
        assert!(r.body.contains("again[1]"), "{}", r.body);
        assert!(r
            .body
            .contains("[1]: https://globex.test/a\n[2]: https://globex.test/b"));
        assert!(r.body.contains("[image: Globex logo]"));
        assert!(!r.body.contains("pixel"), "{}", r.body);
        assert!(!r.body.contains("alert(1)") && !r.body.contains("color:red"));
        assert_safe(&r);
    }

    #[test]
    fn link_text_showing_another_host_names_where_it_leads() {
        let raw = b"From: a@evil.test\r\nContent-Type: text/html\r\n\r\n\
<p><a href=\"https://evil.test/login\">https://bank.test/login</a></p>\
<p><a href=\"https://bank.test@evil.test/\">www.bank.test</a></p>\
<p><a href=\"https://bank.test/x\">https://bank.test/</a> and <a href=\"https://b.test/\">plain</a> [2]</p>";
        let r = render_message(raw);
        for shown in [
            "https://bank.test/login[1 → evil.test]",
            "www.bank.test[2 → evil.test]",
            "https://bank.test/[3] and plain[4] [2]",
            "\n[1]: https://evil.test/login\n",
        ] {
            assert!(r.body.contains(shown), "no {shown:?} in {}", r.body);
        }
        assert_safe(&r);
        // A megabyte of markers without a space, after a link: one pass, not one per marker.
        let mut raw = b"From: a@evil.test\r\nContent-Type: text/html\r\n\r\n\
<a href=\"https://evil.test/\">https://bank.test/</a>"
            .to_vec();
        raw.extend(b"x[1]".repeat(100_000));
        let r = render_message(&raw);
        assert!(r.body.starts_with("https://bank.test/[1 → evil.test]x[1]"));
    }

    #[test]
    fn iso_2022_jp_is_decoded_and_its_stray_escapes_shown_not_sent() {
        // Japanese mail still comes in ISO-2022-JP, a charset that switches sets with ESC
        // sequences: undecoded, it showed as "$B$3$s…" (and passed ESC on to the sanitizer).
        let raw = b"From: a@evil.test\r\nSubject: =?iso-2022-jp?b?GyRCJDMkcyRLJEEkTxsoQg==?=\r\n\
Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n\x1b$BF|K\\8l\x1b(B \x1b[31mred\r\n";
        let r = render_message(raw);
        assert_eq!(r.headers[1], ("Subject".into(), "こんにちは".into()));
        assert!(r.body.starts_with("日本語 "), "{}", r.body);
        assert!(r.body.contains("red"));
        assert_safe(&r);
    }

    #[test]
    fn a_huge_table_neither_balloons_nor_hides_what_follows_it() {
        let rows: String = (0..200)
            .map(|r| format!("<tr><td>row{r}</td>{}</tr>", "<td></td>".repeat(250)))
            .collect();
        let raw = format!(
            "From: a@evil.test\r\nContent-Type: text/html\r\n\r\n\
<p>before</p><table>{rows}</table><p>after the table</p>"
        );
        let r = render_message(raw.as_bytes());
        assert!(r.body.contains("row199"), "{}", &r.body[..500]);
        assert!(r.body.contains("after the table"));
        assert!(r.body.len() < raw.len(), "{} bytes", r.body.len());
        assert_safe(&r);
    }

    #[test]
    fn encoded_escape_sequences_are_neutralised_everywhere() {
        // ESC hidden in an RFC 2047 word, a QP body, a link and a bidi override in the name.
        let raw = b"From: =?utf-8?b?QWRtaW4g4oCuZXZpbA==?= <=?utf-8?q?x?=admin@evil.test>\r\n\
Subject: =?utf-8?q?=1B]0;pwned=07=1B[2J_hi?=\r\n\
Reply-To: =?utf-8?q?=1B[31m?= <other@evil.test>\r\n\
Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
<p>x=1B[31mred=C2=9B1m=07 <a href=3D\"https://e.test/=1B[2J\">l</a></p>\r\n";
        let r = render_message(raw);
        assert_safe(&r);
        let subject = &r.headers.iter().find(|h| h.0 == "Subject").unwrap().1;
        assert_eq!(subject, "]0;pwned[2J hi");
        assert!(r.headers.iter().any(|h| h.0 == "Reply-To"));
        // html5ever already drops the controls in HTML; plain text shows them (see sanitize).
        assert!(r.body.contains("x[31mred"), "{:?}", r.body);
        assert_eq!(r.links, vec!["https://e.test/[2J"]);
    }

    #[test]
    fn the_real_address_is_always_shown() {
        let raw = "From: \"ceo@bank.test\u{202E}\" <pay\u{200B}pal@evil.test>\r\nSubject: x\r\n\r\nhi\r\n";
        let r = render_message(raw.as_bytes());
        assert_eq!(
            r.headers[0].1,
            "\"ceo@bank.test\" <pay<U+200B>pal@evil.test>"
        );
        assert_safe(&r);
    }

    #[test]
    fn html_nesting_is_bounded_but_text_kept() {
        let deep = format!("{}deep text{}", "<div>".repeat(500), "</div>".repeat(500));
        let limited = limit_html_depth(&deep, 100);
        assert_eq!(limited.matches("<div>").count(), 100);
        assert_eq!(limited.matches("</div>").count(), 100);
        assert!(limited.contains("deep text"));
        let normal = "<p>a<p>b<table><tr><td>c<td>d</table><script>if (a<b) {}</script><br/>";
        assert!(matches!(
            limit_html_depth(normal, 2),
            std::borrow::Cow::Borrowed(_)
        ));
        let quoted = "<div title=\"a>b\"><div>x</div></div>";
        assert_eq!(limit_html_depth(quoted, 1), "<div title=\"a>b\">x</div>");
        let r = render_message(
            format!(
                "Content-Type: text/html\r\n\r\n{}",
                "<ul><li>".repeat(20_000)
            )
            .as_bytes(),
        );
        assert_safe(&r);
    }

    #[test]
    fn attachments_are_listed_and_extracted() {
        let raw = b"From: a@acme.test\r\nSubject: files\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
--b\r\nContent-Type: application/pdf; name=q3.pdf\r\nContent-Disposition: attachment; filename=\"../../.bashrc\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
        let r = render_message(raw);
        assert_eq!(
            r.attachments,
            vec![RenderedAttachment {
                index: 0,
                filename: "bashrc".into(),
                mime_type: "application/pdf".into(),
                size: 9,
            }]
        );
        let text = render_to_text(&r);
        assert!(
            text.contains("Attachments:\n  [1] bashrc (application/pdf, 9 B)"),
            "{text}"
        );
        assert_eq!(
            attachment_bytes(raw, 0),
            Some(("bashrc".to_string(), b"%PDF-1.4\n".to_vec()))
        );
        assert_eq!(attachment_bytes(raw, 1), None);
    }

    #[test]
    fn nested_messages_render_inline_and_deep_nesting_stops() {
        let inner = b"From: Bob <bob@initech.test>\r\nSubject: original\r\n\r\ninner body\r\n";
        let mut raw = b"From: a@acme.test\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n\
--o\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n"
            .to_vec();
        raw.extend_from_slice(inner);
        raw.extend_from_slice(b"\r\n--o--\r\n");
        let r = render_message(&raw);
        assert!(r.body.contains("see below"), "{}", r.body);
        assert!(
            r.body.contains("From: Bob <bob@initech.test>"),
            "{}",
            r.body
        );
        assert!(r.body.contains("inner body"), "{}", r.body);
        assert_eq!(r.attachments[0].mime_type, "message/rfc822");

        let mut deep = Vec::new();
        for _ in 0..30_000 {
            deep.extend_from_slice(b"From: x@x.test\r\nContent-Type: message/rfc822\r\n\r\n");
        }
        deep.extend_from_slice(b"Subject: bottom\r\n\r\nbottom\r\n");
        let r = render_message(&deep);
        assert_safe(&r);
        assert!(r.body.contains("nested too deep"), "{}", r.body);
    }

    #[test]
    fn huge_bodies_are_cut_with_a_note() {
        let mut raw = b"From: a@acme.test\r\nSubject: big\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'x', 3 * MAX_BODY_BYTES));
        let r = render_message(&raw);
        assert!(r.body.len() <= MAX_BODY_BYTES + 100);
        assert!(r.body.trim_end().ends_with(TRUNCATED_NOTE));
    }

    #[test]
    fn garbage_never_panics() {
        for raw in [
            &b""[..],
            b"\x00\x01\x02",
            b"\r\n\r\n",
            b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
            b"From: <\r\nTo: ,,,<<>>\"\r\nSubject: =?x?q?\r\n\r\n\xff\xfe",
        ] {
            let r = render_message(raw);
            assert_safe(&r);
        }
    }
}
