//! Makes decoded text from the network safe to print on a terminal. Runs after RFC 2047 and charset
//! decoding, because an escape sequence can hide inside an encoded word or a foreign charset.

/// Bidirectional controls that can make "evil.com" read as "moc.live" or hide the real address.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// C0 (but newline and tab), DEL, C1 — including ESC and the 8-bit CSI (U+009B) — never reach output.
fn is_terminal_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{7F}'
}

/// Body text: keeps newlines and tabs, drops every other control character, bidi control and the
/// text-direction marks. `\r\n` becomes `\n`.
pub fn sanitize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\r' || is_terminal_control(c) || is_bidi_control(c) {
            continue;
        }
        out.push(c);
    }
    out
}

/// A header or a name: one line, so newlines and tabs become spaces and runs of blanks fold.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_survive() {
        let hostile = "a\x1b]0;pwned\x07b\x1b[2Jc\u{9b}31md\r\ne\u{202E}gpj.exe";
        let t = sanitize_text(hostile);
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "{t:?}");
        assert_eq!(t, "a]0;pwnedb[2Jc31md\negpj.exe");
        let l = sanitize_line("Dana\u{202E} Lee\r\n\t <x>");
        assert_eq!(l, "Dana Lee <x>");
    }
}
