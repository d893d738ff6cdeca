//! The `:` command line: its text in the bottom bar, and while Tab cycles, the candidates in a
//! box just above the bar (as aerc shows them), the one on the line highlighted.

use super::{contact::row, picker::framed, theme::Theme};
use crate::app::command::CommandLine;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::Frame;

/// Candidate rows shown at most; the list scrolls to keep the chosen one in view.
const MAX_ROWS: usize = 10;

pub fn bar<'a>(c: &'a CommandLine, t: &Theme, base: Style) -> Line<'a> {
    Line::from(vec![
        Span::styled(" :", base.fg(t.accent).add_modifier(Modifier::BOLD)),
        Span::styled(format!("{}▏", c.input), base),
        Span::styled(
            "  Tab complete · ↑↓ history · Enter run · Esc cancel",
            base.fg(t.dim),
        ),
    ])
}

/// The candidates above the bar, at the bottom left of `main`.
pub fn draw_candidates(f: &mut Frame, main: Rect, c: &CommandLine, t: &Theme) {
    let Some(cycle) = &c.cycle else {
        return;
    };
    let items = &cycle.completions.items;
    let rows = items.len().min(MAX_ROWS);
    let width = items
        .iter()
        .map(|i| i.trim_end().chars().count())
        .max()
        .unwrap_or(0)
        .saturating_add(4)
        .max(20) as u16;
    let height = rows as u16 + 2;
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
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(start)
        .take(visible)
        .map(|(i, item)| {
            row(
                format!(" {}", item.trim_end()),
                i == cycle.index,
                inner_w,
                t,
            )
        })
        .collect();
    let title = format!(" {}/{} ", cycle.index + 1, items.len());
    framed(f, rect, lines, &title, t);
}
