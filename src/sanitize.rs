//! Makes decoded text from the network safe to print on a terminal. Runs after RFC 2047 and charset
//! decoding, because an escape sequence can hide inside an encoded word or a foreign charset.
//!
//! Policy: a terminal acts on C0 controls (ESC, BEL, BS, CR, …), DEL and C1 controls (the 8-bit
//! CSI U+009B, OSC U+009D, …). None of them ever leaves these functions. In body text they are made
//! visible (ESC becomes `␛`) so a reader can see that a mail tried something; a carriage return
//! that would overwrite the start of a line becomes a line break, so both versions stay readable.
//! Bidirectional controls are removed everywhere: they reorder what is shown ("gpj.exe") and have
//! no business in a mail client's output. In addresses, every invisible character is shown as
//! `<U+XXXX>`, because "pay\u{200B}pal.test" is not paypal.test and must not look like it.

/// Bidirectional controls that can make "evil.com" read as "moc.live" or hide the real address.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// C0 (but newline and tab), DEL, C1 — including ESC and the 8-bit CSI (U+009B) — never reach output.
fn is_terminal_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{7F}'
}

/// Characters that draw nothing (or a blank) and so can make two different addresses look the
/// same: format characters, variation selectors, fillers, tag characters, and every kind of space.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2065}'
                | '\u{206A}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// The visible stand-in for a control character: the Unicode "control picture" for C0 and DEL
/// (`␛` for ESC), the replacement character for C1.
fn control_picture(c: char) -> char {
    match c as u32 {
        n @ 0..=0x1F => char::from_u32(0x2400 + n).unwrap_or('\u{FFFD}'),
        0x7F => '\u{2421}',
        _ => '\u{FFFD}',
    }
}

/// Body text: keeps newlines and tabs; `\r\n` becomes `\n` and a lone `\r` (which would overwrite
/// the line on a terminal) becomes `\n` too; every other control character becomes visible;
/// bidi controls are removed.
pub fn sanitize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() != Some(&'\n') {
                out.push('\n');
            }
        } else if is_terminal_control(c) {
            out.push(control_picture(c));
        } else if !is_bidi_control(c) {
            out.push(c);
        }
    }
    out
}

/// A header or a name: one line, so newlines and tabs become spaces and runs of blanks fold;
/// other control characters and bidi controls are dropped.
pub fn sanitize_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in s.chars() {
        if is_terminal_control(c) && !matches!(c, '\n' | '\t' | '\r') || is_bidi_control(c) {
            continue;
        }
        let c = if c.is_whitespace() { ' ' } else { c };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    out.trim().to_string()
}

/// An error and its causes on one safe line. Network libraries (lettre, reqwest) leave the
/// cause out of their own text ("error sending request"), yet the cause ("Connection refused")
/// is what the user needs; a cause the text already contains is not repeated.
pub fn error_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    sanitize_line(&text)
}

/// An email address: like [`sanitize_line`], but every control, bidi or invisible character is
/// shown as `<U+XXXX>` instead of being dropped, so the address shown is the address used.
pub fn sanitize_address(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        if is_terminal_control(c) || is_bidi_control(c) || is_invisible(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Raw message bytes for a terminal: decoded as UTF-8 (invalid bytes become `�`), with control
/// characters made visible as in [`sanitize_text`]. Bidi controls are kept visible here too, as
/// `<U+XXXX>`, since raw output is for looking at exactly what was sent.
pub fn visible_raw(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if is_terminal_control(c) {
            out.push(control_picture(c));
        } else if is_bidi_control(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// True when `s` could not drive a terminal: no control character but newline, no bidi control.
/// Tests and debug assertions use it.
pub fn is_terminal_safe(s: &str) -> bool {
    !s.chars()
        .any(|c| (c.is_control() && c != '\n') || c == '\u{7F}' || is_bidi_control(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_survive() {
        let hostile = "a\x1b]0;pwned\x07b\x1b[2Jc\u{9b}31md\r\ne\u{202E}gpj.exe";
        let t = sanitize_text(hostile);
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "{t:?}");
        assert_eq!(t, "a␛]0;pwned␇b␛[2Jc\u{FFFD}31md\negpj.exe");
        let l = sanitize_line("Dana\u{202E} Lee\r\n\t <x>");
        assert_eq!(l, "Dana Lee <x>");
    }

    #[test]
    fn carriage_return_cannot_overwrite_a_line() {
        let t = sanitize_text("Amount: $100\rAmount: $999\r\nok\x08\x08");
        assert_eq!(t, "Amount: $100\nAmount: $999\nok␈␈");
    }

    #[test]
    fn invisible_characters_in_addresses_are_shown() {
        assert_eq!(
            sanitize_address("pay\u{200B}pal@bank\u{202E}.test"),
            "pay<U+200B>pal@bank<U+202E>.test"
        );
        assert_eq!(sanitize_address(" dana@acme.test "), "dana@acme.test");
        assert_eq!(sanitize_address("a\x1b[31m@x"), "a<U+001B>[31m@x");
    }

    #[test]
    fn raw_view_shows_every_control() {
        let v = visible_raw(b"Subject: \x1b]0;x\x07\r\n\r\nbody\x9b\xff\r\n");
        assert!(is_terminal_safe(&v), "{v:?}");
        assert_eq!(v, "Subject: ␛]0;x␇\n\nbody\u{FFFD}\u{FFFD}\n");
    }
}
