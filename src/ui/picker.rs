//! A fuzzy picker popup: folders for `m`, attachments for `s`/`o`.

use super::{help::popup, theme::Theme};
use crate::app::{Picker, PickerPurpose};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn draw(f: &mut Frame, area: Rect, p: &Picker, t: &Theme) {
    let height = (p.matches.len() as u16 + 3).clamp(5, 16);
    let rect = popup(area, 50, height);
    let visible = rect.height.saturating_sub(3) as usize;
    let start = p.cursor.saturating_sub(visible.saturating_sub(1));
    let mut lines = vec![Line::from(vec![
        Span::styled("> ", Style::default().fg(t.accent)),
        Span::raw(super::lineedit::with_cursor(
            &p.input,
            rect.width.saturating_sub(4) as usize,
        )),
    ])];
    for (i, &item) in p.matches.iter().enumerate().skip(start).take(visible) {
        let style = if i == p.cursor {
            Style::default()
                .bg(t.selection_bg)
                .fg(t.selection_fg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(t.foreground)
        };
        lines.push(Line::styled(format!(" {}", p.items[item]), style));
    }
    if p.matches.is_empty() {
        lines.push(Line::styled(" no match", Style::default().fg(t.dim)));
    }
    framed(f, rect, lines, &format!(" {} ", p.title), t);
    if p.purpose == PickerPurpose::Sort {
        // On the bottom border: the title has no room for it at any width.
        let hint = " the current key again: reverse ";
        let area = Rect {
            x: rect.x + 1,
            y: rect.y + rect.height.saturating_sub(1),
            width: (hint.chars().count() as u16).min(rect.width.saturating_sub(2)),
            height: 1,
        };
        f.render_widget(Paragraph::new(hint).style(Style::default().fg(t.dim)), area);
    }
}

/// `lines` in a focused, titled box over whatever was drawn at `rect`.
pub fn framed(f: &mut Frame, rect: Rect, lines: Vec<Line>, title: &str, t: &Theme) {
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .style(Style::default().bg(t.background))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(t.border_focus))
                    .title(title.to_string()),
            ),
        rect,
    );
}
