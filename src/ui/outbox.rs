//! The Outbox view: a popup listing mail that waits or was refused, with attempts and the last
//! error.

use super::fit;
use super::theme::Theme;
use crate::app::outbox_view::OutboxView;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn draw(f: &mut Frame, area: Rect, v: &OutboxView, t: &Theme) {
    let width = area.width.saturating_sub(4).min(110);
    let height = (v.lines.len() as u16 * 2 + 3).clamp(4, area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    let w = width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    if v.lines.is_empty() {
        lines.push(Line::styled("nothing waiting", Style::default().fg(t.dim)));
    }
    for (i, l) in v.lines.iter().enumerate() {
        let style = if i == v.cursor {
            Style::default().bg(t.selection_bg).fg(t.selection_fg)
        } else {
            Style::default()
        };
        let head = format!(
            "{:<11} {:>2} tries  {}  → {}",
            l.state, l.attempts, l.subject, l.to
        );
        lines.push(Line::styled(fit(&head, w), style));
        let why = l.last_error.clone().unwrap_or_default();
        lines.push(Line::styled(
            fit(&format!("            {why}"), w),
            Style::default().fg(t.error),
        ));
    }
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::default().fg(t.border_focus))
                .title(" Outbox (y retries, q closes) "),
        ),
        rect,
    );
}
