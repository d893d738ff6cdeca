//! Turns a raw RFC 5322 message into the decoded, sanitized fields the store keeps (summary,
//! attachments metadata, search text). Rendering for the reader is in `render`.

use crate::sanitize::{
    sanitize_address, sanitize_display, sanitize_line, sanitize_text, strip_invisible,
};
use crate::store::{AttachmentMeta, Flags, NewMessage};
use mail_parser::{Addr, Address, Message, MessagePart, MimeHeaders, PartType};

/// Search text is capped: a 40 MB log attachment should not bloat the index.
const MAX_INDEX_TEXT: usize = 64 * 1024;
/// HTML read for the search text and preview: past 64 KB of text, more markup adds nothing.
const MAX_INDEX_HTML: usize = 512 * 1024;
const PREVIEW_CHARS: usize = 160;
/// A name, an address or a subject longer than this is cut: real ones are far shorter, and a
/// 1 MB header line must not become a 1 MB list row.
const MAX_FIELD_BYTES: usize = 2048;
const MAX_REFERENCES: usize = 50;
/// Addresses shown per header; the rest are counted ("… and 9,900 more").
const MAX_ADDRESSES: usize = 100;
/// Attachments stored and listed (the reader counts the rest in a note): a 500 KB mail of
/// 50,000 one-byte parts would otherwise be 50,000 rows.
pub const MAX_ATTACHMENTS: usize = 500;

/// An address list for display, bounded: `Name <addr>, addr2, … and N more`. The real address is
/// always there, with invisible characters made visible; a name that itself looks like an address
/// is quoted so it cannot pass for the real one.
pub fn format_addresses(a: Option<&Address<'_>>) -> String {
    let Some(a) = a else { return String::new() };
    let mut shown = Vec::new();
    let mut more = 0usize;
    for addr in a.iter() {
        if shown.len() == MAX_ADDRESSES {
            more += 1;
            continue;
        }
        if let Some(s) = format_address(addr) {
            shown.push(s);
        }
    }
    if more > 0 {
        shown.push(format!("… and {more} more"));
    }
    shown.join(", ")
}

fn format_address(addr: &Addr<'_>) -> Option<String> {
    let email = addr
        .address()
        .map(|s| sanitize_address(cut_at_char_boundary(s, MAX_FIELD_BYTES)))
        .unwrap_or_default();
    let name = addr
        .name()
        .map(|s| sanitize_display(cut_at_char_boundary(s, MAX_FIELD_BYTES)))
        .unwrap_or_default();
    match (name.is_empty(), email.is_empty()) {
        (true, true) => None,
        (true, false) => Some(email),
        (false, true) => Some(format!("{name} (no address)")),
        (false, false) if name == email => Some(email),
        (false, false) if name.contains(['@', '<', '>', ',', '"']) => {
            Some(format!("\"{}\" <{email}>", name.replace('"', "'")))
        }
        (false, false) => Some(format!("{name} <{email}>")),
    }
}

/// The longest prefix of `s` of at most `max_bytes` bytes that ends on a char boundary.
pub fn cut_at_char_boundary(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// (file name, MIME type) of an attachment, both safe to show and the name safe to save under:
/// no directories, no leading dot, no control or bidi characters. `index` names unnamed parts.
pub fn attachment_info(part: &MessagePart<'_>, index: usize) -> (String, String) {
    let mime_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .map(|t| sanitize_line(cut_at_char_boundary(&t, 255)).to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            if part.is_message() {
                "message/rfc822".into()
            } else if part.is_text() {
                "text/plain".into()
            } else {
                "application/octet-stream".into()
            }
        });
    let name = part
        .attachment_name()
        .map(|n| sanitize_line(cut_at_char_boundary(n, 255)))
        .unwrap_or_default();
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let base = base.trim_start_matches(['.', ' ']).trim_end();
    let filename = if !base.is_empty() {
        base.to_string()
    } else if part.is_message() {
        format!("message-{}.eml", index + 1)
    } else {
        format!("attachment-{}", index + 1)
    };
    (filename, mime_type)
}

/// Drops a parsed message without recursion. mail-parser nests attached messages as a tree and
/// parses any depth iteratively, but the compiler-generated drop recurses once per level: a 1 MB
/// mail of 30,000 nested `message/rfc822` parts would overflow the stack. Every parsed message
/// from the network goes out through here.
pub fn drop_message(msg: Message<'_>) {
    let mut stack = vec![msg];
    while let Some(mut m) = stack.pop() {
        for part in &mut m.parts {
            if let PartType::Message(inner) = std::mem::take(&mut part.body) {
                stack.push(inner);
            }
        }
    }
}

/// Fills the decoded fields of `m` from `raw`; leaves them empty when `raw` has no headers.
fn fill_from_raw(m: &mut NewMessage, raw: &[u8]) {
    if let Some(msg) = super::mime_repair::parse_mail(raw) {
        let msg_id = |id: &str| format!("<{}>", sanitize_line(cut_at_char_boundary(id, 998)));
        m.message_id = msg.message_id().map(msg_id);
        m.in_reply_to = msg
            .in_reply_to()
            .as_text_list()
            .and_then(|l| l.first().map(|id| msg_id(id)))
            .or_else(|| msg.in_reply_to().as_text().map(msg_id));
        // The root (first) and the parent (last) are what threading needs; a References header
        // of 100,000 ids keeps those and the most recent ones.
        m.references = match msg.references().as_text_list() {
            Some(list) if list.len() > MAX_REFERENCES => std::iter::once(&list[0])
                .chain(&list[list.len() - (MAX_REFERENCES - 1)..])
                .map(|id| msg_id(id))
                .collect(),
            Some(list) => list.iter().map(|id| msg_id(id)).collect(),
            None => msg
                .references()
                .as_text()
                .map(|id| vec![msg_id(id)])
                .unwrap_or_default(),
        };
        // An In-Reply-To naming several mails ("<a@x> <b@y>") keeps its first as the parent; the
        // others are kept as References, where reply detection and the thread look for them.
        if m.references.is_empty() {
            if let Some(ids) = msg.in_reply_to().as_text_list().filter(|l| l.len() > 1) {
                m.references = ids
                    .iter()
                    .take(MAX_REFERENCES)
                    .map(|id| msg_id(id))
                    .collect();
            }
        }
        if let Some(from) = msg.from().and_then(|a| a.first()) {
            let field = |s: &str| cut_at_char_boundary(s, MAX_FIELD_BYTES).to_string();
            m.from_addr = from
                .address()
                .map(|s| sanitize_address(&field(s)))
                .unwrap_or_default();
            m.from_name = from
                .name()
                .map(|s| sanitize_display(&field(s)))
                .unwrap_or_default();
        }
        m.to = format_addresses(msg.to());
        m.cc = format_addresses(msg.cc());
        m.subject = msg
            .subject()
            .map(|s| sanitize_display(cut_at_char_boundary(s, MAX_FIELD_BYTES)))
            .unwrap_or_default();
        if let Some(d) = msg.date() {
            m.date = d.to_timestamp();
        }
        for (i, part) in msg.attachments().enumerate().take(MAX_ATTACHMENTS) {
            let (filename, mime_type) = attachment_info(part, i);
            m.attachments.push(AttachmentMeta {
                part: i as u32,
                filename,
                mime_type,
                size: part.len() as u64,
            });
        }
        // An HTML body loses what its styles hide, as in the reader: the list preview must not
        // show a spammer's hidden words either (nor a newsletter's hidden teaser twice).
        let text = match msg.text_bodies().next().map(|p| &p.body) {
            Some(PartType::Html(html)) => Some(
                super::hidden_html::visible_text(cut_at_char_boundary(html, MAX_INDEX_HTML)).into(),
            ),
            _ => msg.body_text(0),
        }
        .map(|t: std::borrow::Cow<'_, str>| sanitize_text(cut_at_char_boundary(&t, MAX_INDEX_TEXT)))
        .unwrap_or_default();
        m.preview = sanitize_display(&text.chars().take(PREVIEW_CHARS * 2).collect::<String>())
            .chars()
            .take(PREVIEW_CHARS)
            .collect();
        // Indexed only, never shown: folded as names and subjects are, so a word with a
        // zero-width space inside is found by the word.
        m.body_text = strip_invisible(&text);
        drop_message(msg);
    }
}

/// Parses `raw` into a [`NewMessage`]. Never fails: an unparseable message is still stored (with
/// what could be read) so that nothing on the server is lost locally. `internal_date` is the
/// server's INTERNALDATE, used when the Date header is missing or broken.
pub fn parse_message(
    uid: u32,
    raw: Vec<u8>,
    flags: Flags,
    internal_date: Option<i64>,
) -> NewMessage {
    let size = raw.len() as u64;
    let mut m = NewMessage {
        uid,
        flags,
        size,
        date: internal_date.unwrap_or(0),
        ..Default::default()
    };
    // A panic in the parser must not stop a sync: the message is still stored, undecoded.
    let filled = std::panic::catch_unwind(|| {
        let mut decoded = m.clone();
        fill_from_raw(&mut decoded, &raw);
        decoded
    });
    match filled {
        Ok(decoded) => m = decoded,
        Err(_) => tracing::warn!(uid, "MIME parser panicked; message stored undecoded"),
    }
    m.raw = raw;
    m
}

/// Parses the header block of a message fetched without its body (`BODY.PEEK[HEADER.FIELDS …]`)
/// into an envelope: the list's fields, no body, preview or attachments. `size` is the server's
/// RFC822.SIZE of the whole message.
pub fn parse_envelope(
    uid: u32,
    header: &[u8],
    size: u64,
    flags: Flags,
    internal_date: Option<i64>,
) -> NewMessage {
    let mut m = parse_message(uid, header.to_vec(), flags, internal_date);
    m.size = size;
    // A header block has no body: whatever the parser took for one (a stray blank line in a
    // hostile header) is not the message's text.
    m.raw = Vec::new();
    m.body_text.clear();
    m.preview.clear();
    m.attachments.clear();
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_of_thousands_of_parts_stores_as_many_as_the_reader_lists() {
        let mut raw =
            b"From: a@evil.test\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n".to_vec();
        for i in 0..5000 {
            raw.extend(format!("--p\r\nContent-Type: application/x-{i}\r\n\r\nx\r\n").as_bytes());
        }
        raw.extend(b"--p--\r\n");
        let m = parse_message(1, raw, Flags::default(), None);
        assert_eq!(m.attachments.len(), MAX_ATTACHMENTS);
        assert_eq!(m.attachments[499].mime_type, "application/x-499");
    }

    #[test]
    fn parses_headers_threads_and_attachments() {
        let raw = b"From: =?utf-8?q?Dana_Lee?= <dana@acme.test>\r\n\
To: Me <me@example.com>, other@example.com\r\n\
Subject: =?utf-8?b?UHJvcG9zYWwg8J+TiA==?=\r\n\
Date: Tue, 1 Sep 2026 10:00:00 +0000\r\n\
Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\nReferences: <root@x> <a@x>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n\
--XX\r\nContent-Type: text/plain\r\n\r\nHello there\r\n\
--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=q3.pdf\r\n\r\n%PDF\r\n--XX--\r\n";
        let m = parse_message(7, raw.to_vec(), Flags::default(), None);
        assert_eq!(m.from_name, "Dana Lee");
        assert_eq!(m.from_addr, "dana@acme.test");
        assert_eq!(m.to, "Me <me@example.com>, other@example.com");
        assert_eq!(m.subject, "Proposal 📈");
        assert_eq!(m.message_id.as_deref(), Some("<b@x>"));
        assert_eq!(m.in_reply_to.as_deref(), Some("<a@x>"));
        assert_eq!(m.references, vec!["<root@x>", "<a@x>"]);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].filename, "q3.pdf");
        assert_eq!(m.date, 1_788_256_800);
        assert!(m.body_text.starts_with("Hello there"));
    }

    #[test]
    fn hostile_headers_are_bounded_and_defused() {
        let refs: String = (0..1000).map(|i| format!("<r{i}@x> ")).collect();
        let raw = format!(
            "From: =?utf-8?q?Pay=E2=80=AEroll?= <pay\u{200B}roll@evil.test>\r\nReferences: {refs}\r\n\
Subject: {}\r\n\r\nbody\r\n",
            "S".repeat(100_000)
        );
        let m = parse_message(1, raw.into_bytes(), Flags::default(), None);
        assert_eq!(m.from_name, "Payroll");
        assert_eq!(m.from_addr, "pay<U+200B>roll@evil.test");
        assert_eq!(m.references.len(), MAX_REFERENCES);
        assert_eq!(m.references[0], "<r0@x>");
        assert_eq!(m.references.last().map(String::as_str), Some("<r999@x>"));
        assert_eq!(m.subject.len(), MAX_FIELD_BYTES);
    }

    #[test]
    fn an_in_reply_to_of_several_ids_keeps_them_all() {
        let raw = b"Message-ID: <c@x>\r\nIn-Reply-To: <a@x> <b@y>\r\n\r\n";
        let m = parse_message(1, raw.to_vec(), Flags::default(), None);
        assert_eq!(m.in_reply_to.as_deref(), Some("<a@x>"));
        assert_eq!(m.references, ["<a@x>", "<b@y>"]);
    }

    #[test]
    fn garbage_is_stored_not_dropped() {
        let m = parse_message(1, vec![0xff, 0x00, 0x1b, b'['], Flags::default(), Some(5));
        assert_eq!(m.uid, 1);
        assert_eq!(m.date, 5);
        assert_eq!(m.raw.len(), 4);
    }
}
