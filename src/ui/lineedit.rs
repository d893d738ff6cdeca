//! A one-line input drawn in the width it has: the cursor where it is and the text around it.

use crate::app::input::LineInput;
use unicode_width::UnicodeWidthStr;

/// A one-line input as drawn in `width` columns: the cursor (`▏`) where it is, and around it as
/// much of the text as fits, cut with `…`, so the cursor is always in view.
pub fn with_cursor(input: &LineInput, width: usize) -> String {
    let (before, after) = around_cursor(input, width);
    format!("{before}▏{after}")
}

/// What [`with_cursor`] draws before and after the cursor, for a caller that styles the cursor
/// itself (text typed may hold a `▏` of its own).
pub fn around_cursor(input: &LineInput, width: usize) -> (String, String) {
    let (before, after) = input.split_at(input.cursor());
    let budget = width.saturating_sub(1);
    let (bw, aw) = (before.width(), after.width());
    if bw + aw <= budget {
        return (before.to_string(), after.to_string());
    }
    // The text before the cursor gets most of the room; some of what follows stays in sight.
    let left = bw.min(budget.saturating_sub(aw.min(budget / 3)));
    let right = budget - left;
    let cut = |s: &str, w: usize| if w == 0 { String::new() } else { tail(s, w) };
    let reversed: String = after.chars().rev().collect();
    let head: String = cut(&reversed, right).chars().rev().collect();
    (cut(before, left), head)
}

/// The end of `s` that fits in `width` columns, with `…` where it was cut.
pub(super) fn tail(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return s.to_string();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 1;
    for c in s.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        kept.push(c);
        used += w;
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_wider_than_the_bar_shows_its_end() {
        assert_eq!(super::tail("move Archive", 20), "move Archive");
        assert_eq!(
            super::tail("search from:dana subject:plan", 10),
            "…ject:plan"
        );
        // Wide characters count two columns: the end that fits is cut before one.
        assert_eq!(super::tail("日本語のフォルダ", 7), "…ォルダ");
    }

    #[test]
    fn the_cursor_is_drawn_where_it_is_and_always_in_view() {
        use crate::app::input::{InputKey, LineInput};
        let mut l = LineInput::new("move Archive");
        l.edit(InputKey::WordLeft);
        assert_eq!(super::with_cursor(&l, 40), "move ▏Archive");
        let mut l = LineInput::new("search from:dana subject:plan");
        l.edit(InputKey::Home);
        assert_eq!(super::with_cursor(&l, 11), "▏search fr…");
        l.edit(InputKey::End);
        assert_eq!(super::with_cursor(&l, 11), "…ject:plan▏");
        // Wide characters are one step and two columns.
        let mut l = LineInput::new("日本語のフォルダ");
        l.edit(InputKey::Left);
        l.edit(InputKey::Left);
        assert_eq!(super::with_cursor(&l, 12), "…のフォ▏ル…");
    }
}
