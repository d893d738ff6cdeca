//! The activity pane: a popup over the inbox listing recent opens and clicks, newest first — when,
//! who did what, which mail, classification. Unread (new since last looked at) rows are marked,
//! automated ones dim. Only the rows in view are built.

use super::text::fit;
use super::theme::Theme;
use crate::app::timeline::{event_time, short_person, verdict_label, Classification, EventKind};
use crate::app::App;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

pub fn draw(f: &mut Frame, area: Rect, app: &mut App, t: &Theme) {
    let (now, off) = (app.now, app.utc_offset_secs);
    let Some(v) = app.tracking.activity.as_mut() else {
        return;
    };
    let width = area.width.saturating_sub(4).min(120);
    let height = area.height.saturating_sub(2).max(3).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let new = v.new_count();
    let title = if new > 0 {
        format!(" Activity — {new} new · Enter opens the mail · q closes ")
    } else {
        " Activity · Enter opens the mail · q closes ".to_string()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(t.border_focus))
        .title(title);
    let inner = block.inner(rect);
    f.render_widget(Clear, rect);
    let h = inner.height as usize;
    v.height = h.max(1);
    if v.rows.is_empty() {
        let text = if v.loading {
            "Loading…"
        } else {
            "No opens or clicks yet. When someone opens or clicks tracked mail you sent, it shows \
             here, newest first."
        };
        f.render_widget(
            Paragraph::new(text)
                .style(Style::default().fg(t.dim).bg(t.background))
                .wrap(Wrap { trim: true })
                .block(block),
            rect,
        );
        return;
    }
    super::text::follow_cursor(&mut v.offset, v.cursor, h);
    let w = inner.width as usize;
    // Columns: marker, time, who did what, the mail, classification.
    let label_w = (w * 2 / 5).clamp(10, 52);
    let who_w = (w / 5).clamp(12, 28);
    let end = (v.offset + h).min(v.rows.len());
    let time_w = (v.offset..end)
        .map(|i| event_time(v.rows[i].at, now, off).width())
        .max()
        .unwrap_or(5);
    let subject_w = w.saturating_sub(2 + time_w + 2 + who_w + 2 + 2 + label_w);
    let lines: Vec<Line> = (v.offset..end)
        .map(|i| {
            let e = &v.rows[i];
            let automated = e.classification == Classification::Automated;
            let mut base = Style::default().fg(t.foreground).bg(t.background);
            if automated {
                base = base.fg(t.dim).add_modifier(Modifier::DIM);
            }
            if e.unread {
                base = base.add_modifier(Modifier::BOLD);
            }
            if i == v.cursor {
                base = base.bg(t.selection_bg).fg(t.selection_fg);
            }
            let verb = match e.kind {
                EventKind::Open => "opened",
                EventKind::Click => "clicked",
            };
            let who = format!("{} {verb}", short_person(&e.name, &e.recipient));
            let mail = match (&e.url, e.subject.trim().is_empty()) {
                (Some(url), true) => format!("(no subject) → {url}"),
                (Some(url), false) => format!("{} → {url}", e.subject),
                (None, true) => "(no subject)".to_string(),
                (None, false) => e.subject.clone(),
            };
            let label = verdict_label(e);
            Line::from(vec![
                Span::styled(if e.unread { "● " } else { "  " }, base.fg(t.accent)),
                Span::styled(format!("{:>time_w$}  ", event_time(e.at, now, off)), base),
                Span::styled(fit(&who, who_w), base),
                Span::styled("  ", base),
                Span::styled(fit(&mail, subject_w), base),
                Span::styled("  ", base),
                Span::styled(
                    fit(&label, label_w),
                    if e.classification == Classification::Proxy && i != v.cursor {
                        base.fg(t.accent)
                    } else {
                        base
                    },
                ),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines)
            .style(Style::default().bg(t.background))
            .block(block),
        rect,
    );
}
