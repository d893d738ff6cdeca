//! Recovers the text of MIME that mail-parser gives up on, as other mail clients do. mail-parser
//! keeps such a part's bytes undecoded and files it as an attachment; here it is decoded and shown
//! as text again:
//!
//! - base64 with junk between the characters, lines of odd lengths, or missing padding: decoded
//!   leniently (characters outside the alphabet are skipped, a short last group still counts),
//!   as Thunderbird, mutt and Python's non-strict decoder do;
//! - a nested multipart whose boundary never appears: its content is read as plain text, as an
//!   unterminated outer multipart already is.
//!
//! Work is one pass over each part's bytes; nothing grows beyond them.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

/// Parses `raw` and recovers what it can of its broken parts, nested messages included.
pub fn parse_mail(raw: &[u8]) -> Option<Message<'_>> {
    let mut msg = MessageParser::default().parse(raw)?;
    let mut stack = vec![&mut msg];
    while let Some(m) = stack.pop() {
        repair_message(m);
        for part in m.parts.iter_mut() {
            if let PartType::Message(inner) = &mut part.body {
                stack.push(inner);
            }
        }
    }
    Some(msg)
}

/// What a recovered part turned out to be.
enum Recovered {
    Text,
    Html,
}

fn repair_message(m: &mut Message<'_>) {
    let mut recovered = Vec::new();
    for (i, part) in m.parts.iter_mut().enumerate() {
        if let Some(kind) = repair_part(part) {
            let named = part.attachment_name().is_some()
                || part
                    .content_disposition()
                    .is_some_and(|d| d.is_attachment());
            if !named {
                recovered.push((i as u32, kind));
            }
        }
    }
    if recovered.is_empty() {
        return;
    }
    // Inside multipart/alternative only one version is read; elsewhere mail-parser lists text
    // parts in both bodies (an HTML reader shows plain parts too), and so does this.
    let mut in_alternative = vec![false; m.parts.len()];
    for part in &m.parts {
        if let PartType::Multipart(children) = &part.body {
            if part
                .content_type()
                .and_then(|c| c.subtype())
                .is_some_and(|s| s.eq_ignore_ascii_case("alternative"))
            {
                for &c in children {
                    if let Some(flag) = in_alternative.get_mut(c as usize) {
                        *flag = true;
                    }
                }
            }
        }
    }
    for (id, kind) in recovered {
        m.attachments.retain(|&a| a != id);
        let alternative = in_alternative[id as usize];
        let (text, html) = match kind {
            Recovered::Text => (true, !alternative),
            Recovered::Html => (!alternative, true),
        };
        if text {
            insert_sorted(&mut m.text_body, id);
        }
        if html {
            insert_sorted(&mut m.html_body, id);
        }
    }
}

fn insert_sorted(list: &mut Vec<u32>, id: u32) {
    if let Err(at) = list.binary_search(&id) {
        list.insert(at, id);
    }
}

/// Decodes `part` again when mail-parser could not; `Some` with what it became when it is text.
fn repair_part(part: &mut MessagePart<'_>) -> Option<Recovered> {
    let (ctype, subtype) = part
        .content_type()
        .map(|c| {
            (
                c.ctype().to_ascii_lowercase(),
                c.subtype().unwrap_or_default().to_ascii_lowercase(),
            )
        })
        .unwrap_or_else(|| ("text".into(), "plain".into()));
    if ctype == "multipart" {
        // A multipart parsed as one is a multipart whose boundary never came.
        return matches!(part.body, PartType::Text(_)).then_some(Recovered::Text);
    }
    let base64 = part
        .content_transfer_encoding()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
    if !part.is_encoding_problem || !base64 {
        return None;
    }
    let bytes = decode_base64_lenient(part.contents());
    part.is_encoding_problem = false;
    if ctype != "text" {
        part.body = PartType::Binary(bytes.into());
        return None;
    }
    let text = part
        .content_type()
        .and_then(|c| c.attribute("charset"))
        .and_then(|cs| charset_decoder(cs.as_bytes()))
        .map(|decode| decode(&bytes))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    if subtype == "html" {
        part.body = PartType::Html(text.into());
        Some(Recovered::Html)
    } else {
        part.body = PartType::Text(text.into());
        Some(Recovered::Text)
    }
}

/// base64 as a forgiving reader takes it: characters outside the alphabet (junk, spaces, line
/// breaks anywhere) are skipped, `=` ends a group early (blobs encoded line by line, each padded),
/// and a last group of two or three characters still gives its bytes.
fn decode_base64_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut group = 0u32;
    let mut count = 0u8;
    let flush = |out: &mut Vec<u8>, group: u32, count: u8| {
        let bytes = (group << (6 * (4 - u32::from(count)))).to_be_bytes();
        match count {
            2 => out.push(bytes[1]),
            3 => out.extend_from_slice(&bytes[1..3]),
            _ => {}
        }
    };
    for &b in input {
        let value = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                flush(&mut out, group, count);
                (group, count) = (0, 0);
                continue;
            }
            _ => continue,
        };
        group = (group << 6) | u32::from(value);
        count += 1;
        if count == 4 {
            out.extend_from_slice(&group.to_be_bytes()[1..]);
            (group, count) = (0, 0);
        }
    }
    flush(&mut out, group, count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_with_junk_odd_lines_and_no_padding_decodes() {
        assert_eq!(
            decode_base64_lenient(b"SGVs!bG8g*d29y\r\nbGQ"),
            b"Hello world"
        );
        assert_eq!(decode_base64_lenient(b"aGk=aGk="), b"hihi");
        assert_eq!(decode_base64_lenient(b"aGk"), b"hi");
        assert_eq!(decode_base64_lenient(b"a"), b"");
    }

    #[test]
    fn broken_parts_are_read_as_text_not_listed_as_attachments() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n\
SGVs!bG8g6Q\r\n--b\r\nContent-Type: multipart/alternative; boundary=nowhere\r\n\r\n\
inner text\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n\
JVBE*Rg\r\n--b--\r\n";
        let m = parse_mail(raw).unwrap();
        let texts: Vec<_> = m.text_bodies().map(|p| p.text_contents()).collect();
        assert_eq!(texts, [Some("Hello é"), Some("inner text")]);
        let attachments: Vec<_> = m.attachments().map(|p| p.contents().to_vec()).collect();
        assert_eq!(attachments, [b"%PDF".to_vec()]);
    }
}
