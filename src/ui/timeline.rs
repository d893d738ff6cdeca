//! The timeline pane (in the reader's place, Tracked filter): per-recipient summary on top, then
//! every event newest first — time, kind, recipient, link, classification; automated events dim.

use super::theme::Theme;
use crate::app::timeline::{
    event_time, person, recipient_summary, verdict_note, Classification, EventKind, MessageTimeline,
};
use crate::app::App;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

pub fn draw(f: &mut Frame, area: Rect, block: Block, app: &mut App, t: &Theme) {
    let (now, off) = (app.now, app.utc_offset_secs);
    let inner = block.inner(area);
    let h = inner.height as usize;
    app.heights.reader = h.max(1);
    let Some(view) = app.tracking.timeline.as_mut() else {
        f.render_widget(block, area);
        return;
    };
    let title = format!(
        " Timeline: {} ",
        super::text::fit(view.title(), (inner.width as usize).saturating_sub(14)).trim_end()
    );
    let block = block.title(title);
    let lines = match &view.data {
        None => vec![Line::styled("Loading…", Style::default().fg(t.dim))],
        Some(Err(e)) => vec![Line::styled(
            format!("The timeline cannot be read: {e}"),
            Style::default().fg(t.error),
        )],
        Some(Ok(data)) => lines(data, now, off, t),
    };
    let lines = super::text::hang(lines, inner.width);
    let wrapped = super::text::wrapped_height(&lines, inner.width);
    let max_scroll = wrapped.saturating_sub(h).min(u16::MAX as usize) as u16;
    view.scroll = view.scroll.min(max_scroll);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((view.scroll, 0)),
        area,
    );
}

fn lines<'a>(data: &'a MessageTimeline, now: i64, off: i32, t: &Theme) -> Vec<Line<'a>> {
    let dim = Style::default().fg(t.dim);
    let bold = Style::default().fg(t.header).add_modifier(Modifier::BOLD);
    let mut out = Vec::new();
    let opens: u64 = data.recipients.iter().map(|r| r.opens).sum();
    let clicks: u64 = data.recipients.iter().map(|r| r.clicks).sum();
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let sent = data
        .sent_at
        .map(|s| format!("Sent {} · ", event_time(s, now, off)))
        .unwrap_or_default();
    out.push(Line::styled(
        format!(
            "{sent}{} · {} · {} recipient{}",
            plural(opens, "open"),
            plural(clicks, "click"),
            data.recipients.len(),
            if data.recipients.len() == 1 { "" } else { "s" }
        ),
        dim,
    ));
    for reply in &data.replies {
        let label = match data.sent_at {
            Some(sent) => crate::app::followups::replied_label(reply, sent),
            None => format!("replied by {}", reply.who()),
        };
        out.push(Line::styled(
            format!("{label} ({})", event_time(reply.replied_at, now, off)),
            Style::default().fg(t.opened).add_modifier(Modifier::BOLD),
        ));
    }
    out.push(Line::raw(""));
    for r in &data.recipients {
        out.push(Line::styled(person(&r.name, &r.address), bold));
        out.push(Line::from(vec![
            Span::raw("    "),
            Span::styled(
                recipient_summary(r, now, off),
                if r.opens > 0 || r.clicks > 0 {
                    Style::default().fg(t.opened)
                } else {
                    dim
                },
            ),
        ]));
        if r.via_proxy {
            out.push(Line::styled(
                "    opened through an image proxy: cached, later opens invisible",
                dim,
            ));
        }
        for (url, n) in &r.clicks_by_link {
            out.push(Line::from(vec![
                Span::styled(format!("    {n}× "), Style::default().fg(t.clicked)),
                Span::raw(url.as_str()),
            ]));
        }
    }
    out.push(Line::raw(""));
    if data.events.is_empty() {
        out.push(Line::styled(
            "No opens or clicks yet. They show here as the tracker reports them.",
            dim,
        ));
        return out;
    }
    out.push(Line::styled("Newest first", bold));
    let time_w = data
        .events
        .iter()
        .map(|e| event_time(e.at, now, off).width())
        .max()
        .unwrap_or(5);
    // Under the kind: the link, and what a machine or proxy event means.
    let indent = " ".repeat(time_w + 2);
    for e in &data.events {
        let automated = e.classification == Classification::Automated;
        let (kind, colour) = match e.kind {
            EventKind::Open => ("open ", t.opened),
            EventKind::Click => ("click", t.clicked),
        };
        let base = if automated {
            Style::default().fg(t.dim).add_modifier(Modifier::DIM)
        } else {
            Style::default().fg(t.foreground)
        };
        let kind_style = if automated { base } else { base.fg(colour) };
        let class_style = match e.classification {
            Classification::Human => base.fg(t.dim),
            Classification::Proxy => base.fg(t.accent),
            Classification::Automated => base,
        };
        out.push(Line::from(vec![
            Span::styled(format!("{:>time_w$}  ", event_time(e.at, now, off)), base),
            Span::styled(kind, kind_style),
            Span::styled("  ", base),
            Span::styled(format!("{:<9}", e.classification.as_str()), class_style),
            Span::styled("  ", base),
            Span::styled(person(&e.name, &e.recipient), base),
        ]));
        if let Some(url) = &e.url {
            out.push(Line::styled(format!("{indent}→ {url}"), base));
        }
        if let Some(note) = verdict_note(e) {
            out.push(Line::styled(format!("{indent}{note}"), class_style));
        }
    }
    let hidden = data.total_events.saturating_sub(data.events.len() as u64);
    if hidden > 0 {
        out.push(Line::styled(
            format!("… {hidden} earlier events not shown"),
            dim,
        ));
    }
    out
}
