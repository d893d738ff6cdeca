//! A fuzzy picker popup: folders for `m`, attachments for `s`/`o`.

use super::{help::popup, theme::Theme};
use crate::app::{Picker, PickerPurpose};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

pub fn draw(f: &mut Frame, area: Rect, p: &Picker, t: &Theme) {
    let height = (p.matches.len() as u16 + 3).clamp(5, 16);
    // Links are read whole: the list is as wide as its longest, up to 90 % of the screen, and a
    // link longer still keeps its start and end (`…` between).
    let links = matches!(p.purpose, PickerPurpose::Link { .. });
    let width = if links {
        let widest = p.items.iter().map(|i| i.width()).max().unwrap_or(0);
        let widest = u16::try_from(widest + 3).unwrap_or(u16::MAX);
        widest.max(50).min(area.width.saturating_mul(9) / 10)
    } else {
        50
    };
    let rect = popup(area, width, height);
    let item_w = usize::from(rect.width.saturating_sub(3));
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
        let text = match links {
            true => super::text::cut_middle(&p.items[item], item_w),
            false => p.items[item].clone(),
        };
        lines.push(Line::styled(format!(" {text}"), style));
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
