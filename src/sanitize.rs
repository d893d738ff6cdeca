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

/// A display name or a subject: [`sanitize_line`], and every character that draws nothing in a
/// one-line field is removed, so "Pay\u{200D}Pal" reads, copies and searches as the "PayPal" it
/// looks like, and a name of Hangul fillers is not a blank. Joiners and selectors that do change
/// what is drawn stay: ZWJ inside emoji sequences (👩‍💻) and between letters of scripts that
/// join (Arabic, Indic, Mongolian, …), ZWNJ in those scripts (Persian "می‌خواهم"), variation
/// selectors after the character they select for, tag characters inside a flag (🏴 England).
/// Bidi controls are dropped by [`sanitize_line`]: a terminal does not reorder, but the copied
/// text would. Addresses and Message-IDs never come here: replies must use them as sent.
pub fn sanitize_display(s: &str) -> String {
    sanitize_line(&strip_invisible(s))
}

/// Removes what has no visible meaning (see [`sanitize_display`]); keeps newlines and controls,
/// so it can run before either sanitizer. Search text is folded with it too, so a word with a
/// zero-width space inside is found by the word.
pub fn strip_invisible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let keep = match c {
            '\u{200D}' => {
                (prev.is_some_and(is_emoji_part) && next.is_some_and(is_emoji_part))
                    || (prev.is_some_and(in_joining_script) && next.is_some_and(in_joining_script))
            }
            '\u{200C}' => {
                prev.is_some_and(in_joining_script) && next.is_some_and(in_joining_script)
            }
            '\u{180B}'..='\u{180F}' => prev.is_some_and(|p| ('\u{1800}'..='\u{18AF}').contains(&p)),
            '\u{FE00}'..='\u{FE0F}' => prev.is_some_and(|p| {
                !is_variation_selector(p)
                    && !p.is_whitespace()
                    && (!p.is_ascii() || matches!(p, '0'..='9' | '#' | '*'))
            }),
            '\u{E0100}'..='\u{E01EF}' => prev
                .is_some_and(|p| !p.is_ascii() && !p.is_whitespace() && !is_variation_selector(p)),
            // A tag sequence (🏴 + tag letters + CANCEL TAG) draws a subdivision flag.
            '\u{E0020}'..='\u{E007F}' => {
                prev.is_some_and(|p| p == '\u{1F3F4}' || ('\u{E0020}'..='\u{E007E}').contains(&p))
            }
            '\u{115F}' | '\u{1160}' => {
                prev.is_some_and(is_hangul_jamo) || next.is_some_and(is_hangul_jamo)
            }
            '\u{034F}' => prev.is_some_and(|p| !p.is_ascii() && !p.is_whitespace()),
            '\u{2800}' => {
                out.push(' ');
                prev = Some(' ');
                continue;
            }
            c => !is_invisible(c) || c.is_whitespace(),
        };
        if keep {
            out.push(c);
            prev = Some(c);
        }
    }
    out
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' | '\u{180B}'..='\u{180D}' | '\u{180F}')
}

/// Emoji and what a ZWJ sequence joins them with: pictographs, dingbats and symbols (♀, ⚕),
/// skin tone modifiers, and the emoji presentation selector.
fn is_emoji_part(c: char) -> bool {
    matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{2190}'..='\u{21FF}' | '\u{2300}'..='\u{23FF}'
        | '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}' | '\u{FE0F}' | '\u{00A9}' | '\u{00AE}'
        | '\u{2122}')
}

/// Scripts whose letters join or form conjuncts, where ZWJ and ZWNJ choose the shape drawn:
/// Arabic, Syriac, Thaana, N'Ko, the Indic scripts, Tibetan, Myanmar, Khmer, Mongolian and the
/// Arabic presentation forms.
fn in_joining_script(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{07FF}' | '\u{0860}'..='\u{08FF}' | '\u{0900}'..='\u{0DFF}'
        | '\u{0F00}'..='\u{109F}' | '\u{1780}'..='\u{18AF}' | '\u{A8E0}'..='\u{A8FF}'
        | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFE}')
}

fn is_hangul_jamo(c: char) -> bool {
    ('\u{1100}'..='\u{11FF}').contains(&c) && !matches!(c, '\u{115F}' | '\u{1160}')
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
    fn names_and_subjects_lose_what_draws_nothing() {
        for hidden in [
            "Pay\u{200D}Pal",
            "Pay\u{200B}Pal",
            "Pay\u{00AD}Pal",
            "Pay\u{2060}Pal",
            "\u{FEFF}PayPal",
            "Pay\u{180E}Pal",
            "Pay\u{FE0F}Pal",
            "\u{FE0F}PayPal",
            "Pay\u{E0041}\u{E007F}Pal",
            "Pay\u{202E}Pal\u{202C}",
            "Pay\u{2066}Pal\u{2069}",
            "Pay\u{200C}Pal",
            "Pay\u{034F}Pal",
            "Pay\u{3164}Pal",
            "Pay\u{17B4}Pal",
        ] {
            assert_eq!(sanitize_display(hidden), "PayPal", "{hidden:?}");
        }
        assert_eq!(sanitize_display("\u{3164}\u{3164}"), "");
        assert_eq!(sanitize_display("Dana\u{2800}\u{2800}Lee"), "Dana Lee");
    }

    #[test]
    fn joiners_and_selectors_that_draw_something_stay() {
        for kept in [
            "👩\u{200D}💻 Dana",
            "👩🏽\u{200D}💻",
            "🏳\u{FE0F}\u{200D}🌈",
            "می\u{200C}خواهم",
            "क्\u{200D}ष",
            "1\u{FE0F}\u{20E3}",
            "❤\u{FE0F}",
            "葛\u{E0100}",
            "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
            "\u{1100}\u{1161}",
        ] {
            assert_eq!(sanitize_display(kept), kept, "{kept:?}");
        }
        // Addresses keep every character, shown.
        assert_eq!(sanitize_address("pay\u{200D}pal@x"), "pay<U+200D>pal@x");
    }

    #[test]
    fn raw_view_shows_every_control() {
        let v = visible_raw(b"Subject: \x1b]0;x\x07\r\n\r\nbody\x9b\xff\r\n");
        assert!(is_terminal_safe(&v), "{v:?}");
        assert_eq!(v, "Subject: ␛]0;x␇\n\nbody\u{FFFD}\u{FFFD}\n");
    }
}
