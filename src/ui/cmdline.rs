//! The `:` command line: its text in the bottom bar, and while Tab cycles, the candidates in a
//! box just above the bar (as aerc shows them), the one on the line highlighted.

use super::lineedit::with_cursor;
use super::{contact::row, picker::framed, theme::Theme};
use crate::app::command::{self, CommandLine};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;

/// Candidate rows shown at most; the list scrolls to keep the chosen one in view.
const MAX_ROWS: usize = 10;

/// The line being typed, then what the last Tab said ("no completion") or the keys' hint. A line
/// wider than the bar shows its end, where the typing is.
pub fn bar<'a>(
    c: &'a CommandLine,
    note: Option<&'a str>,
    width: usize,
    t: &Theme,
    base: Style,
) -> Line<'a> {
    let after = match note {
        Some(n) => Span::styled(format!("  {n}"), base.fg(t.accent)),
        None => Span::styled(
            "  Tab complete · ↑↓ history · Enter run · Esc cancel",
            base.fg(t.dim),
        ),
    };
    Line::from(vec![
        Span::styled(" :", base.fg(t.accent).add_modifier(Modifier::BOLD)),
        Span::styled(with_cursor(&c.input, width.saturating_sub(3)), base),
        after,
    ])
}

/// The candidates above the bar, at the bottom left inside `main`'s frame.
pub fn draw_candidates(f: &mut Frame, main: Rect, c: &CommandLine, t: &Theme) {
    let Some(cycle) = &c.cycle else {
        return;
    };
    let items = &cycle.completions.items;
    let rows = items.len().min(MAX_ROWS);
    // Command names come with what they do; folder, theme and account names stand alone.
    let names = cycle.completions.prefix.is_empty();
    let name_w = items
        .iter()
        .map(|i| i.trim_end().chars().count())
        .max()
        .unwrap_or(0);
    let labels: Vec<String> = items
        .iter()
        .map(|i| match command::describe(i).filter(|_| names) {
            Some(what) => format!(" {:<name_w$}  {what}", i.trim_end()),
            None => format!(" {}", i.trim_end()),
        })
        .collect();
    let width = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .saturating_add(3)
        .max(20) as u16;
    let height = rows as u16 + 2;
    // Inside the panes' frame, as every popup: its corner stays the frame's.
    let main = main.inner(ratatui::layout::Margin::new(1, 1));
    if main.height < 3 || main.width < 8 {
        return;
    }
    let rect = Rect {
        x: main.x,
        y: main.y + main.height.saturating_sub(height),
        width: width.min(main.width),
        height: height.min(main.height),
    };
    let visible = rect.height.saturating_sub(2) as usize;
    let start = cycle.index.saturating_sub(visible.saturating_sub(1));
    let inner_w = rect.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = labels
        .into_iter()
        .enumerate()
        .skip(start)
        .take(visible)
        .map(|(i, label)| row(label, i == cycle.index, inner_w, t))
        .collect();
    let title = format!(" {}/{} ", cycle.index + 1, items.len());
    framed(f, rect, lines, &title, t);
}
