//! Turns a raw RFC 5322 message into the decoded, sanitized fields the store keeps (summary,
//! attachments metadata, search text). Rendering for the reader is in `render`.

use super::sanitize::{sanitize_line, sanitize_text};
use crate::store::{AttachmentMeta, Flags, NewMessage};
use mail_parser::{Address, MessageParser, MimeHeaders};

/// Search text is capped: a 40 MB log attachment should not bloat the index.
const MAX_INDEX_TEXT: usize = 64 * 1024;
const PREVIEW_CHARS: usize = 160;

/// Formats an address list as display text: `Name <addr>, addr2`.
pub fn format_addresses(a: Option<&Address<'_>>) -> String {
    let Some(a) = a else { return String::new() };
    a.iter()
        .filter_map(|addr| {
            let email = addr.address().map(sanitize_line).unwrap_or_default();
            let name = addr.name().map(sanitize_line).unwrap_or_default();
            match (name.is_empty(), email.is_empty()) {
                (true, true) => None,
                (true, false) => Some(email),
                (false, true) => Some(name),
                (false, false) if name == email => Some(email),
                (false, false) => Some(format!("{name} <{email}>")),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn cut_chars(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
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
    if let Some(msg) = MessageParser::default().parse(&raw[..]) {
        m.message_id = msg
            .message_id()
            .map(|id| format!("<{}>", sanitize_line(id)));
        m.in_reply_to = msg
            .in_reply_to()
            .as_text_list()
            .and_then(|l| l.first().map(|id| format!("<{}>", sanitize_line(id))))
            .or_else(|| {
                msg.in_reply_to()
                    .as_text()
                    .map(|id| format!("<{}>", sanitize_line(id)))
            });
        m.references = match msg.references().as_text_list() {
            Some(list) => list
                .iter()
                .map(|id| format!("<{}>", sanitize_line(id)))
                .collect(),
            None => msg
                .references()
                .as_text()
                .map(|id| vec![format!("<{}>", sanitize_line(id))])
                .unwrap_or_default(),
        };
        if let Some(from) = msg.from().and_then(|a| a.first()) {
            m.from_addr = from.address().map(sanitize_line).unwrap_or_default();
            m.from_name = from.name().map(sanitize_line).unwrap_or_default();
        }
        m.to = format_addresses(msg.to());
        m.cc = format_addresses(msg.cc());
        m.subject = msg.subject().map(sanitize_line).unwrap_or_default();
        if let Some(d) = msg.date() {
            m.date = d.to_timestamp();
        }
        for (i, part) in msg.attachments().enumerate() {
            let mime_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            m.attachments.push(AttachmentMeta {
                part: i as u32,
                filename: part
                    .attachment_name()
                    .map(sanitize_line)
                    .unwrap_or_else(|| format!("attachment-{}", i + 1)),
                mime_type: sanitize_line(&mime_type),
                size: part.len() as u64,
            });
        }
        let text = msg
            .body_text(0)
            .map(|t| sanitize_text(cut_chars(&t, MAX_INDEX_TEXT)))
            .unwrap_or_default();
        m.preview = sanitize_line(&text.chars().take(PREVIEW_CHARS * 2).collect::<String>())
            .chars()
            .take(PREVIEW_CHARS)
            .collect();
        m.body_text = text;
    }
    m.raw = raw;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn garbage_is_stored_not_dropped() {
        let m = parse_message(1, vec![0xff, 0x00, 0x1b, b'['], Flags::default(), Some(5));
        assert_eq!(m.uid, 1);
        assert_eq!(m.date, 5);
        assert_eq!(m.raw.len(), 4);
    }
}
