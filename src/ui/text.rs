//! Text fitted to a pane: cut or padded to a width, the height of wrapped lines, and the scroll
//! offset that keeps a cursor in view. Every pane uses these.

use unicode_width::UnicodeWidthChar;

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
    let mut out = String::new();
    let mut used = 0;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        out.push_str(s);
        used = total;
    } else if width > 0 {
        for c in s.chars() {
            let w = c.width().unwrap_or(0);
            if used + w + 1 > width {
                break;
            }
            out.push(c);
            used += w;
        }
        out.push('…');
        used += 1;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// `n` and `word`, plural unless `n` is 1 ("1 open", "3 opens").
pub fn count(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_say_one_thing_and_several_things() {
        assert_eq!(super::count(1, "click"), "1 click");
        assert_eq!(super::count(0, "open"), "0 opens");
        assert_eq!(super::count(2, "open"), "2 opens");
    }
}
