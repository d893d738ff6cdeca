//! The status bar: account, folder, filter, unread count, sync progress, the notification bell,
//! and the latest message or error — or the prompt being typed (search, save path).

use super::theme::Theme;
use crate::app::{App, Mode};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let base = Style::default().bg(t.status_bg).fg(t.status_fg);
    let line = match &app.mode {
        Mode::Search { input } => Line::from(vec![
            Span::styled(" / ", base.fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::styled(format!("{input}▏"), base),
            Span::styled(
                format!(
                    "  {} result{}{} · Enter keep · Esc clear",
                    app.rows.len(),
                    if app.rows.len() == 1 { "" } else { "s" },
                    if app.loading { "…" } else { "" }
                ),
                base.fg(t.dim),
            ),
        ]),
        Mode::SavePrompt { input, .. } => Line::from(vec![
            Span::styled(" Save to: ", base.fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::styled(format!("{input}▏"), base),
            Span::styled("  Enter save · Esc cancel", base.fg(t.dim)),
        ]),
        _ => normal(app, t, base),
    };
    f.render_widget(Paragraph::new(line).style(base), area);
}

fn normal<'a>(app: &'a App, t: &Theme, base: Style) -> Line<'a> {
    let sep = Span::styled(" │ ", base.fg(t.dim));
    let mut spans = Vec::new();
    let (account, folder) = app
        .current
        .as_ref()
        .map(|(a, f)| (a.as_str(), f.as_str()))
        .unwrap_or(("no account", ""));
    spans.push(Span::styled(
        format!(" {account}"),
        base.add_modifier(Modifier::BOLD),
    ));
    if !folder.is_empty() {
        spans.push(sep.clone());
        spans.push(Span::styled(crate::app::folder_display_name(folder), base));
    }
    if let Some(entry) = app.current_folder_entry() {
        spans.push(sep.clone());
        spans.push(Span::styled(format!("{} unread", entry.unread), base));
    }
    for (acc, s) in app.sync.iter().filter(|(_, s)| s.running) {
        spans.push(sep.clone());
        spans.push(Span::styled(
            format!("sync {acc} {} {}/{}", s.folder, s.done, s.total),
            base.fg(t.accent),
        ));
    }
    spans.push(sep.clone());
    spans.push(Span::styled(
        format!("bell {}", app.bell),
        if app.bell > 0 {
            base.fg(t.accent).add_modifier(Modifier::BOLD)
        } else {
            base
        },
    ));
    if let Some(s) = &app.status {
        spans.push(sep.clone());
        spans.push(Span::styled(s.as_str(), base.fg(t.accent)));
    }
    if let Some(e) = &app.last_error {
        spans.push(sep.clone());
        spans.push(Span::styled(format!("error: {e}"), base.fg(t.error)));
    }
    spans.push(sep);
    spans.push(Span::styled("? help", base.fg(t.dim)));
    Line::from(spans)
}
