//! The status bar: account, folder, filter, unread count, sync progress, the notification bell,
//! and the latest message or error — or the prompt being typed (search, save path).

use super::lineedit::with_cursor;
use super::theme::Theme;
use crate::app::{App, Mode};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(f: &mut Frame, area: Rect, app: &App, t: &Theme) {
    let base = Style::default().bg(t.status_bg).fg(t.status_fg);
    let w = area.width as usize;
    let line = match &app.mode {
        Mode::Search { input } => Line::from(vec![
            Span::styled(" / ", base.fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::styled(with_cursor(input, w.saturating_sub(4)), base),
            Span::styled(
                format!(
                    "  {} result{}{} · Enter keep · Esc clear",
                    app.list.rows.len(),
                    if app.list.rows.len() == 1 { "" } else { "s" },
                    if app.list.loading { "…" } else { "" }
                ),
                base.fg(t.dim),
            ),
        ]),
        Mode::Command(c) => {
            super::cmdline::bar(c, app.status.as_deref(), area.width as usize, t, base)
        }
        Mode::SavePrompt { input, .. } => Line::from(vec![
            Span::styled(" Save to: ", base.fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::styled(with_cursor(input, w.saturating_sub(11)), base),
            Span::styled("  Enter save · Esc cancel", base.fg(t.dim)),
        ]),
        Mode::SelectPrompt { input } => Line::from(vec![
            Span::styled(" Select: ", base.fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::styled(with_cursor(input, w.saturating_sub(10)), base),
            Span::styled(
                "  a search (from:, is:unread, …) · Enter select · Esc cancel",
                base.fg(t.dim),
            ),
        ]),
        Mode::ConfirmDelete { ids, in_trash } => {
            let question = if *in_trash == ids.len() {
                format!(" Delete {} for good? ", messages(ids.len()))
            } else {
                format!(
                    " Delete {} in Trash for good (the others go to Trash)? ",
                    messages(*in_trash)
                )
            };
            Line::from(vec![
                Span::styled(question, base.fg(t.error).add_modifier(Modifier::BOLD)),
                Span::styled(
                    "This cannot be undone.  y delete · any other key keeps them",
                    base.fg(t.dim),
                ),
            ])
        }
        _ => normal(app, t, base, area.width as usize),
    };
    f.render_widget(Paragraph::new(line).style(base), area);
}

/// The normal bar. Pieces carry a rank; when they do not fit in `width`, the highest ranks go
/// first (the help hint, then sync, the account, unread, bell) until the latest message or error —
/// what the user must see — fits. The folder always stays (it says what every key acts on): a
/// message or error too long even then is cut with "…" (the message log, `I`, has it whole).
fn normal<'a>(app: &'a App, t: &Theme, base: Style, width: usize) -> Line<'a> {
    let mut pieces: Vec<(u8, Span<'a>)> = Vec::new();
    let (account, folder) = app
        .list
        .current
        .as_ref()
        .map(|(a, f)| (a.as_str(), f.as_str()))
        .unwrap_or(("no account", ""));
    pieces.push((3, Span::styled(account, base.add_modifier(Modifier::BOLD))));
    if !folder.is_empty() {
        pieces.push((
            0,
            Span::styled(crate::app::folder_display_name(folder), base),
        ));
    }
    if let Some(entry) = app.current_folder_entry() {
        pieces.push((2, Span::styled(format!("{} unread", entry.unread), base)));
    }
    for (acc, s) in app.sync.iter().filter(|(_, s)| s.running) {
        pieces.push((
            4,
            Span::styled(
                format!(
                    "sync {acc} {} {} {}/{}",
                    s.folder,
                    if s.bodies { "bodies" } else { "envelopes" },
                    s.done,
                    s.total
                ),
                base.fg(t.accent),
            ),
        ));
    }
    pieces.push((
        1,
        Span::styled(
            format!("bell {}", app.bell),
            if app.bell > 0 {
                base.fg(t.accent).add_modifier(Modifier::BOLD)
            } else {
                base
            },
        ),
    ));
    if let Some(s) = &app.status {
        pieces.push((0, Span::styled(s.as_str(), base.fg(t.accent))));
    }
    if let Some(e) = &app.last_error {
        pieces.push((0, Span::styled(format!("error: {e}"), base.fg(t.error))));
    }
    pieces.push((5, Span::styled("? help", base.fg(t.dim))));
    const SEP: usize = 3;
    let total = |p: &[(u8, Span)]| -> usize {
        (p.iter().map(|(_, s)| s.width() + SEP).sum::<usize>() + 1).saturating_sub(SEP)
    };
    let mut kept = pieces.clone();
    for rank in (1..=5).rev() {
        if total(&kept) <= width {
            break;
        }
        kept.retain(|(r, _)| *r != rank);
    }
    // Still too long: the message and the error (the pieces after the bell) share what is left,
    // each its half or more when the other needs less, cut with "…".
    let excess = total(&kept).saturating_sub(width);
    if excess > 0 {
        // Every ranked piece is gone by now: the folder, then the message and the error.
        let messages = usize::from(app.status.is_some()) + usize::from(app.last_error.is_some());
        let first = kept.len().saturating_sub(messages);
        let widths: Vec<usize> = kept[first..].iter().map(|(_, s)| s.width()).collect();
        let room = widths.iter().sum::<usize>().saturating_sub(excess);
        let share = room / widths.len().max(1);
        let others = |i: usize| -> usize {
            widths
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, w)| (*w).min(share))
                .sum()
        };
        for (i, (_, span)) in kept[first..].iter_mut().enumerate() {
            let keep = widths[i]
                .min(room.saturating_sub(others(i)).max(share))
                .max(1);
            span.content = super::text::cut(&span.content, keep).into();
        }
    }
    let pieces = kept;
    let mut spans = vec![Span::styled(" ", base)];
    for (i, (_, span)) in pieces.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", base.fg(t.dim)));
        }
        spans.push(span);
    }
    Line::from(spans)
}

fn messages(n: usize) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

/// The message log (`I`): every message and error the bar showed, newest last, with its time.
pub fn draw_log(f: &mut Frame, area: Rect, app: &App, scroll: &mut u16, t: &Theme) {
    use ratatui::widgets::{Block, Borders, Clear};
    let lines: Vec<Line> = if app.log.entries.is_empty() {
        vec![Line::styled(" nothing yet", Style::default().fg(t.dim))]
    } else {
        app.log
            .entries
            .iter()
            .map(|e| {
                let time = chrono::DateTime::from_timestamp(e.at + app.utc_offset_secs as i64, 0)
                    .map(|d| d.format("%H:%M:%S").to_string())
                    .unwrap_or_default();
                Line::from(vec![
                    Span::styled(format!(" {time}  "), Style::default().fg(t.dim)),
                    if e.error {
                        Span::styled(format!("error: {}", e.text), Style::default().fg(t.error))
                    } else {
                        Span::styled(e.text.as_str(), Style::default().fg(t.foreground))
                    },
                ])
            })
            .collect()
    };
    let rect = super::help::popup(area, area.width.saturating_sub(4).min(110), area.height);
    let inner_rows = rect.height.saturating_sub(2);
    // Wrapped here, so scrolling counts the rows drawn: opened at the newest, it stops where the
    // last row reaches the bottom, however many rows a long entry takes.
    let rows = super::text::hang(lines, rect.width.saturating_sub(2));
    let max = u16::try_from(rows.len())
        .unwrap_or(u16::MAX)
        .saturating_sub(inner_rows);
    *scroll = (*scroll).min(max);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(rows)
            .style(Style::default().bg(t.background))
            .scroll((*scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(t.border_focus))
                    .title(" Messages (j/k g/G scroll, any other key closes) "),
            ),
        rect,
    );
}
