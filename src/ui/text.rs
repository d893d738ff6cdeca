//! Text fitted to a pane: cut or padded to a width, the height of wrapped lines, and the scroll
//! offset that keeps a cursor in view. Every pane uses these.

use ratatui::style::Style;
use ratatui::text::{Line, Span, StyledGrapheme};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How many rows `lines` take wrapped at `width` (estimated per line by display width): what a
/// scrolling pane clamps its scroll to.
pub fn wrapped_height(lines: &[ratatui::text::Line], width: u16) -> usize {
    let w = width.max(1) as usize;
    lines
        .iter()
        .map(|l| {
            let lw: usize = l
                .spans
                .iter()
                .map(|s| unicode_width::UnicodeWidthStr::width(s.content.as_ref()))
                .sum();
            lw.div_ceil(w).max(1)
        })
        .sum()
}

/// Moves a list's first shown row (`offset`) as little as possible to keep `cursor` among the
/// `height` rows in view.
pub fn follow_cursor(offset: &mut usize, cursor: usize, height: usize) {
    if cursor < *offset {
        *offset = cursor;
    } else if cursor >= *offset + height {
        *offset = cursor + 1 - height;
    }
}

/// A scrollbar on the right border of `area` when `len` lines do not fit in the `shown` rows;
/// `at` is the first line in view.
pub fn scrollbar(
    f: &mut ratatui::Frame,
    area: ratatui::layout::Rect,
    len: usize,
    shown: usize,
    at: usize,
) {
    use ratatui::widgets::{Scrollbar, ScrollbarOrientation, ScrollbarState};
    if len <= shown {
        return;
    }
    let mut state = ScrollbarState::new(len.saturating_sub(shown)).position(at);
    f.render_stateful_widget(
        Scrollbar::new(ScrollbarOrientation::VerticalRight)
            .begin_symbol(None)
            .end_symbol(None),
        area.inner(ratatui::layout::Margin {
            vertical: 1,
            horizontal: 0,
        }),
        &mut state,
    );
}

/// `s` cut or padded to exactly `width` columns, with `…` where it was cut.
pub fn fit(s: &str, width: usize) -> String {
    let mut out = cut(s, width);
    let used: usize = out.chars().map(|c| c.width().unwrap_or(0)).sum();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// `s` in at most `width` columns: whole, or its start and its end with `…` between, as a long
/// URL keeps its host and its last path segment readable.
pub fn cut_middle(s: &str, width: usize) -> String {
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width || width < 3 {
        return cut(s, width);
    }
    let tail_w = (width - 1) / 2;
    let head = cut(s, width - tail_w);
    let head = head.strip_suffix('…').unwrap_or(&head);
    format!("{head}{}", super::lineedit::tail(s, tail_w + 1))
}

/// `s` in at most `width` columns: whole, or its start and `…` where it was cut.
pub fn cut(s: &str, width: usize) -> String {
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.to_string();
    }
    let mut out = String::new();
    if width == 0 {
        return out;
    }
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `lines` wrapped to `width` columns with a hanging indent, so a long value continues under its
/// own start rather than at column 0 under its label: on a line of several spans the first is the
/// label and the rest its value; a line of one span continues under its leading spaces. Words
/// move whole to the next row; a word wider than the room is cut. Widths are display widths, so
/// CJK and emoji wrap where the terminal does.
pub fn hang(lines: Vec<Line<'_>>, width: u16) -> Vec<Line<'static>> {
    let width = width as usize;
    let mut out = Vec::with_capacity(lines.len());
    for line in &lines {
        let indent = match line.spans.as_slice() {
            [label, _, ..] => label.width(),
            [only] => only.content.len() - only.content.trim_start_matches(' ').len(),
            [] => 0,
        };
        // Too little room beside the indent: continue at the left edge instead.
        let indent = if indent + 8 > width { 0 } else { indent };
        out.extend(hang_line(line, indent, width));
    }
    out
}

fn hang_line(line: &Line<'_>, indent: usize, width: usize) -> Vec<Line<'static>> {
    let graphemes: Vec<StyledGrapheme> = line.styled_graphemes(Style::default()).collect();
    let g_width = |g: &StyledGrapheme| g.symbol.width();
    let total: usize = graphemes.iter().map(g_width).sum();
    if width == 0 || total <= width {
        return vec![to_line(&graphemes, 0)];
    }
    // Words and the spaces between them, in order, as ranges of `graphemes`.
    let mut tokens: Vec<(usize, usize, bool)> = Vec::new();
    for (i, g) in graphemes.iter().enumerate() {
        let space = g.symbol == " ";
        match tokens.last_mut() {
            Some((_, end, s)) if *s == space => *end = i + 1,
            _ => tokens.push((i, i + 1, space)),
        }
    }
    let mut rows: Vec<Vec<StyledGrapheme>> = vec![Vec::new()];
    let mut used = 0;
    let room = |rows: &Vec<Vec<StyledGrapheme>>| {
        if rows.len() == 1 {
            width
        } else {
            width - indent
        }
    };
    for (start, end, space) in tokens {
        let word = &graphemes[start..end];
        let w: usize = word.iter().map(g_width).sum();
        let fresh = used == 0 && rows.len() > 1;
        if space && fresh {
            continue; // a continuation row starts at a word
        }
        if used + w <= room(&rows) {
            if let Some(r) = rows.last_mut() {
                r.extend_from_slice(word);
            }
            used += w;
            continue;
        }
        if space {
            rows.push(Vec::new());
            used = 0;
            continue;
        }
        // A word that fits a row of its own moves there whole; a longer one is cut where it is.
        if used > 0 && w <= width - indent {
            rows.push(Vec::new());
            used = 0;
        }
        for g in word {
            let gw = g_width(g);
            if used + gw > room(&rows) && used > 0 {
                rows.push(Vec::new());
                used = 0;
            }
            if let Some(r) = rows.last_mut() {
                r.push(g.clone());
            }
            used += gw;
        }
    }
    rows.iter_mut()
        .enumerate()
        .map(|(i, r)| {
            // The space a row was broken at is not drawn.
            while r.last().is_some_and(|g| g.symbol == " ") {
                r.pop();
            }
            to_line(r, if i == 0 { 0 } else { indent })
        })
        .collect()
}

/// Graphemes as spans of one style each, after `indent` spaces.
fn to_line(graphemes: &[StyledGrapheme], indent: usize) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    if indent > 0 {
        spans.push(Span::raw(" ".repeat(indent)));
    }
    let mut run = String::new();
    let mut style = None;
    for g in graphemes {
        if style.is_some_and(|s| s != g.style) {
            spans.push(Span::styled(
                std::mem::take(&mut run),
                style.unwrap_or_default(),
            ));
        }
        style = Some(g.style);
        run.push_str(g.symbol);
    }
    if let Some(s) = style {
        spans.push(Span::styled(run, s));
    }
    Line::from(spans)
}

/// `n` and `word`, plural unless `n` is 1 ("1 open", "3 opens").
pub fn count(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use ratatui::text::{Line, Span};

    #[test]
    fn a_long_link_keeps_its_start_and_its_end() {
        let url = "https://tracker.example.com/c/abcdefghijklmnopqrstuvwxyz/invoice-2026-114.pdf";
        let cut = super::cut_middle(url, 40);
        assert_eq!(cut, "https://tracker.exam…nvoice-2026-114.pdf");
        assert_eq!(unicode_width::UnicodeWidthStr::width(cut.as_str()), 40);
        assert_eq!(super::cut_middle("short", 40), "short");
        assert_eq!(super::cut_middle("日本語のリンク", 9), "日本…ンク");
    }

    fn rows(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn long_values_wrap_under_their_own_start() {
        let label = Line::from(vec![
            Span::raw(format!("{:<14}", "Bio")),
            Span::raw("Builds mail tools in Lisbon and writes about them"),
        ]);
        let note = Line::raw("       Gmail's image proxy, cached: later opens invisible (likely)");
        let out = super::hang(vec![label, note], 40);
        assert_eq!(
            rows(&out),
            [
                "Bio           Builds mail tools in",
                "              Lisbon and writes about",
                "              them",
                "       Gmail's image proxy, cached:",
                "       later opens invisible (likely)",
            ]
        );
    }

    #[test]
    fn wide_characters_wrap_by_their_width_and_long_words_are_cut() {
        let cjk = Line::from(vec![
            Span::raw("Name  "),
            Span::raw("東京都千代田区丸の内一丁目🎉🎉 https://example.test/a/very/long/path"),
        ]);
        let out = super::hang(vec![cjk], 20);
        for l in &out {
            assert!(l.width() <= 20, "{:?} is {} wide", l.to_string(), l.width());
        }
        let text = rows(&out);
        assert!(
            text[1..]
                .iter()
                .all(|r| r.starts_with("      ") && !r[6..].starts_with(' ')),
            "{text:?}"
        );
        assert_eq!(
            text,
            [
                "Name  東京都千代田区",
                "      丸の内一丁目🎉",
                "      🎉 https://exa",
                "      mple.test/a/ve",
                "      ry/long/path",
            ]
        );
    }

    #[test]
    fn too_narrow_for_the_indent_and_zero_width_do_not_lose_text() {
        let l = Line::from(vec![
            Span::raw(format!("{:<14}", "Company")),
            Span::raw("Acme Ltd"),
        ]);
        assert_eq!(
            rows(&super::hang(vec![l.clone()], 16)),
            ["Company", "Acme Ltd"]
        );
        assert_eq!(rows(&super::hang(vec![l], 0)), ["Company       Acme Ltd"]);
    }
    #[test]
    fn counts_say_one_thing_and_several_things() {
        assert_eq!(super::count(1, "click"), "1 click");
        assert_eq!(super::count(0, "open"), "0 opens");
        assert_eq!(super::count(2, "open"), "2 opens");
    }
}
