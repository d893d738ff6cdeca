//! IMAP mailbox names: modified UTF-7 on the wire (RFC 3501 §5.1.3), UTF-8 for people.
//!
//! The server's wire name (`Entw&APw-rfe`) is a folder's identity everywhere tidings keeps or
//! sends it — the store's `folders.name`, queued ops, every command that names a mailbox — and
//! [`display`] turns it into what people read (`Entwürfe`). What people type (`--folder`,
//! `move`, `[accounts.X.folders]`) is matched by [`find`] against both, and a name that is not
//! on the server yet is [`encode`]d before it is sent.
//!
//! We never `ENABLE UTF8=ACCEPT` (RFC 6855) even where it is offered: the wire names stay the
//! same whatever the server advertises (so a server upgrade never re-keys — and re-downloads —
//! the cache), every IMAP4rev1 server understands modified UTF-7, and UTF8=ACCEPT would also
//! require the `UTF8 (~{n})` APPEND syntax, which the `imap` crate does not speak.
//!
//! Decoding is strict: a name that is not the canonical encoding of its decoded text
//! (unterminated `&`, bad base64, a lone surrogate, ASCII hidden in base64, null shifts, raw
//! 8-bit bytes) or that decodes to control or bidi characters is shown as its wire name, so a
//! hostile server can neither crash us nor make two folders look alike by encoding tricks.

use base64::alphabet::Alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use std::borrow::Cow;

/// RFC 3501's base64 variant: `,` instead of `/`, no padding, no stray trailing bits.
const MODIFIED_BASE64: GeneralPurpose = GeneralPurpose::new(
    &match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,") {
        Ok(a) => a,
        Err(_) => panic!("the modified base64 alphabet is valid"),
    },
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Why a wire name is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("byte {0:#04x} is not printable ASCII")]
    NotAscii(u32),
    #[error("'&' at {0} is never closed by '-'")]
    Unterminated(usize),
    #[error("invalid base64 after '&' at {0}")]
    BadBase64(usize),
    #[error("the run after '&' at {0} is not whole UTF-16")]
    BadUtf16(usize),
    #[error("not the canonical encoding of its text")]
    NotCanonical,
}

fn is_printable_ascii(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// UTF-8 → modified UTF-7. Printable ASCII stands for itself (so the hierarchy delimiter, `/` or
/// `.`, always closes a base64 run and stays visible to the server), `&` becomes `&-`, anything
/// else goes in base64'd UTF-16BE between `&` and `-`.
pub fn encode(name: &str) -> String {
    if name.chars().all(|c| is_printable_ascii(c) && c != '&') {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 8);
    let mut run: Vec<u16> = Vec::new();
    let flush = |run: &mut Vec<u16>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&MODIFIED_BASE64.encode(bytes));
        out.push('-');
        run.clear();
    };
    for c in name.chars() {
        if is_printable_ascii(c) {
            flush(&mut run, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut units = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Modified UTF-7 → UTF-8, refusing anything but the canonical encoding of some text.
pub fn decode(wire: &str) -> Result<String, DecodeError> {
    if !wire.contains('&') {
        if let Some(c) = wire.chars().find(|c| !is_printable_ascii(*c)) {
            return Err(DecodeError::NotAscii(c as u32));
        }
        return Ok(wire.to_string());
    }
    let mut out = String::with_capacity(wire.len());
    let mut rest = wire;
    let mut pos = 0;
    while let Some(amp) = rest.find('&') {
        let (plain, shifted) = rest.split_at(amp);
        if let Some(c) = plain.chars().find(|c| !is_printable_ascii(*c)) {
            return Err(DecodeError::NotAscii(c as u32));
        }
        out.push_str(plain);
        let at = pos + amp;
        let body = &shifted[1..];
        let end = body.find('-').ok_or(DecodeError::Unterminated(at))?;
        let b64 = &body[..end];
        if b64.is_empty() {
            out.push('&');
        } else {
            let bytes = MODIFIED_BASE64
                .decode(b64)
                .map_err(|_| DecodeError::BadBase64(at))?;
            if bytes.len() % 2 != 0 {
                return Err(DecodeError::BadUtf16(at));
            }
            let units = bytes
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            for c in char::decode_utf16(units) {
                out.push(c.map_err(|_| DecodeError::BadUtf16(at))?);
            }
        }
        let consumed = amp + 1 + end + 1;
        rest = &rest[consumed..];
        pos += consumed;
    }
    if let Some(c) = rest.chars().find(|c| !is_printable_ascii(*c)) {
        return Err(DecodeError::NotAscii(c as u32));
    }
    out.push_str(rest);
    // Catches what the loop lets through: ASCII inside base64, adjacent runs ("-&"), and so
    // one text has exactly one wire form.
    if encode(&out) != wire {
        return Err(DecodeError::NotCanonical);
    }
    Ok(out)
}

/// What people see for a wire name: the decoded text, or the wire name itself when it is not
/// valid modified UTF-7 or decodes to something that could drive a terminal (control or bidi
/// characters). A wire name that is itself unsafe (raw 8-bit text from a broken or hostile
/// server) has those characters made visible as `<U+XXXX>`.
pub fn display(wire: &str) -> Cow<'_, str> {
    if wire.chars().all(|c| is_printable_ascii(c) && c != '&') {
        return Cow::Borrowed(wire);
    }
    match decode(wire) {
        Ok(text) if is_safe(&text) => Cow::Owned(text),
        Ok(_) => as_sent(wire),
        Err(e) => {
            tracing::debug!(error = %e, "a mailbox name is not valid modified UTF-7; shown as sent");
            as_sent(wire)
        }
    }
}

fn is_safe(text: &str) -> bool {
    crate::sanitize::is_terminal_safe(text) && !text.contains('\n')
}

fn as_sent(wire: &str) -> Cow<'_, str> {
    if is_safe(wire) {
        Cow::Borrowed(wire)
    } else {
        Cow::Owned(crate::sanitize::sanitize_address(wire))
    }
}

/// Why [`find`] found no single folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindError {
    NotFound,
    /// Several folders answer to the name; their wire names.
    Ambiguous(Vec<String>),
}

/// Something that names a mailbox by its wire name: a stored folder, a LIST entry.
pub trait WireName {
    fn wire_name(&self) -> &str;
}

impl WireName for crate::store::Folder {
    fn wire_name(&self) -> &str {
        &self.name
    }
}

impl WireName for &str {
    fn wire_name(&self) -> &str {
        self
    }
}

/// The item whose mailbox is the one a person named: by its displayed name first, else by its
/// exact wire name. Display names are unique except when a malformed wire name (shown as sent)
/// equals another folder's decoded name; then the exact wire name decides, so every folder can
/// be named one way or the other.
pub fn find<'a, T: WireName>(items: &'a [T], wanted: &str) -> Result<&'a T, FindError> {
    // INBOX is case-insensitive (RFC 3501 §5.1); every other name is case-sensitive.
    if wanted.eq_ignore_ascii_case("INBOX") {
        if let Some(inbox) = items
            .iter()
            .find(|i| i.wire_name().eq_ignore_ascii_case("INBOX"))
        {
            return Ok(inbox);
        }
    }
    let by_display: Vec<&T> = items
        .iter()
        .filter(|i| display(i.wire_name()) == wanted)
        .collect();
    if let [one] = by_display[..] {
        return Ok(one);
    }
    let by_wire: Vec<&T> = items.iter().filter(|i| i.wire_name() == wanted).collect();
    match (&by_wire[..], by_display.is_empty()) {
        ([one], _) => Ok(one),
        ([], true) => Err(FindError::NotFound),
        _ => Err(FindError::Ambiguous(
            by_display
                .iter()
                .chain(by_wire.iter())
                .map(|i| i.wire_name().to_string())
                .collect(),
        )),
    }
}

/// The wire name to send for a folder a person named: the listed folder it matches ([`find`]),
/// else the name encoded (a folder not synced yet, or one to create).
pub fn wire_for<T: WireName>(items: &[T], wanted: &str) -> String {
    match find(items, wanted) {
        Ok(item) => item.wire_name().to_string(),
        Err(_) => encode(wanted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_round_trip() {
        let cases = [
            ("INBOX", "INBOX"),
            ("[Gmail]/Entwürfe", "[Gmail]/Entw&APw-rfe"),
            ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
            ("R&D", "R&-D"),
            ("&", "&-"),
            ("日本語/子", "&ZeVnLIqe-/&W1A-"),
            ("Архив", "&BBAEQARFBDgEMg-"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            // Outside the BMP: a surrogate pair.
            ("Mail 📧", "Mail &2D3c5w-"),
            ("", ""),
        ];
        for (text, wire) in cases {
            assert_eq!(encode(text), wire, "encode {text:?}");
            assert_eq!(decode(wire).as_deref(), Ok(text), "decode {wire:?}");
            assert_eq!(display(wire), text);
        }
    }

    #[test]
    fn the_delimiter_always_closes_a_run() {
        // '.' and '/' are printable: each side of the delimiter is its own run.
        assert_eq!(encode("Ä.Ö"), "&AMQ-.&ANY-");
        assert_eq!(encode("Ä/Ö"), "&AMQ-/&ANY-");
        assert_eq!(decode("&AMQ-.&ANY-").unwrap(), "Ä.Ö");
    }

    #[test]
    fn hostile_wire_names_are_errors_and_display_as_sent() {
        let bad = [
            ("Entw&APw", DecodeError::Unterminated(4)), // unterminated '&'
            ("&", DecodeError::Unterminated(0)),        // lone '&'
            ("&A!-", DecodeError::BadBase64(0)),        // not the alphabet
            ("&A/w-", DecodeError::BadBase64(0)),       // '/' is not modified base64
            ("&APw=-", DecodeError::BadBase64(0)),      // padding
            ("&A-", DecodeError::BadBase64(0)),         // 6 bits: not a byte
            ("&APx-", DecodeError::BadBase64(0)),       // stray trailing bits
            ("&AA-", DecodeError::BadUtf16(0)),         // one byte: half a unit
            ("&2D0-", DecodeError::BadUtf16(0)),        // lone high surrogate
            ("&3CQ-", DecodeError::BadUtf16(0)),        // lone low surrogate
            ("&2D3YPQ-", DecodeError::BadUtf16(0)),     // high, high
            ("&AGE-", DecodeError::NotCanonical),       // 'a' hidden in base64
            ("&AOQ-&AOQ-", DecodeError::NotCanonical),  // null shift "-&"
            ("Entwürfe", DecodeError::NotAscii(0xfc)),  // raw 8-bit
            ("a\u{7f}", DecodeError::NotAscii(0x7f)),   // DEL
            ("&AMQ-\tx", DecodeError::NotAscii(0x09)),  // control after a run
        ];
        for (wire, err) in bad {
            assert_eq!(decode(wire), Err(err), "{wire:?}");
            let shown = display(wire);
            assert!(is_safe(&shown), "{shown:?}");
            if is_safe(wire) {
                assert_eq!(shown, wire, "shown as sent");
            }
        }
    }

    #[test]
    fn names_decoding_to_terminal_controls_display_as_sent() {
        // ESC [ 2 J and a right-to-left override, validly encoded.
        let esc = encode("\u{1b}[2J");
        assert_eq!(esc, "&ABs-[2J");
        assert_eq!(decode(&esc).unwrap(), "\u{1b}[2J");
        assert_eq!(display(&esc), "&ABs-[2J");
        let rlo = encode("x\u{202e}gnp.exe");
        assert_eq!(display(&rlo), rlo);
        // Raw (not encoded) text from a server that ignores the RFC: made visible.
        assert_eq!(display("x\u{202e}gnp.exe"), "x<U+202E>gnp.exe");
        assert_eq!(display("Entwürfe"), "Entwürfe");
    }

    #[test]
    fn every_char_survives_a_round_trip() {
        let text: String = (0x20u32..0x3000)
            .step_by(7)
            .chain([0x1F600, 0x10FFFF, 0xFFFD])
            .filter_map(char::from_u32)
            .collect();
        assert_eq!(decode(&encode(&text)).unwrap(), text);
    }

    #[test]
    fn find_prefers_the_display_name_then_the_exact_wire_name() {
        let folders = ["INBOX", "Entw&APw-rfe", "R&-D", "R&D"];
        assert_eq!(find(&folders, "Entwürfe"), Ok(&"Entw&APw-rfe"));
        assert_eq!(find(&folders, "Entw&APw-rfe"), Ok(&"Entw&APw-rfe"));
        assert_eq!(find(&folders, "INBOX"), Ok(&"INBOX"));
        // "R&D" is both the malformed folder's shown name and the other's decoded one: the
        // exact wire name decides; the other is reached by its wire name.
        assert_eq!(find(&folders, "R&D"), Ok(&"R&D"));
        assert_eq!(find(&folders, "R&-D"), Ok(&"R&-D"));
        assert_eq!(find(&folders, "Nope"), Err(FindError::NotFound));
        assert_eq!(wire_for(&folders, "Архив"), "&BBAEQARFBDgEMg-");
        assert_eq!(wire_for(&folders, "Entwürfe"), "Entw&APw-rfe");
    }
}
