//! The reader: headers (with the real address), attachments, and the sanitized body, wrapped and
//! scrollable.

use super::theme::Theme;
use crate::app::{App, TrackingLine, TrackingUrls};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::app::human_size;

/// The tracking URLs of a sent tracked mail, below its text.
fn tracking_section<'a>(lines: &mut Vec<Line<'a>>, urls: &'a TrackingUrls, id: i64, t: &Theme) {
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Tracking URLs — open one in a browser and watch the event arrive",
        Style::default().fg(t.header).add_modifier(Modifier::BOLD),
    ));
    for l in &urls.lines {
        lines.push(match l {
            TrackingLine::Label(text) => Line::raw(text.as_str()),
            TrackingLine::Url(url) => Line::styled(url.as_str(), Style::default().fg(t.accent)),
        });
    }
    if urls.omitted > 0 {
        lines.push(Line::styled(
            format!(
                "… {} more lines: `tidings show {id}` lists them all",
                urls.omitted
            ),
            Style::default().fg(t.dim),
        ));
    }
}

pub fn draw(f: &mut Frame, area: Rect, block: Block, app: &mut App, t: &Theme) {
    let Some(reader) = &mut app.reader else {
        f.render_widget(block, area);
        return;
    };
    let inner = block.inner(area);
    let Some(content) = &reader.content else {
        let note = if reader.downloading {
            "Downloading the message from the server…"
        } else {
            "Loading…"
        };
        f.render_widget(
            Paragraph::new(note)
                .style(Style::default().fg(t.dim))
                .block(block),
            area,
        );
        return;
    };
    let mut lines: Vec<Line> = Vec::new();
    let headers = if app.all_headers && !content.all_headers.is_empty() {
        &content.all_headers
    } else {
        &content.headers
    };
    for (k, v) in headers {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{k}: "),
                Style::default().fg(t.header).add_modifier(Modifier::BOLD),
            ),
            Span::raw(v.as_str()),
        ]));
    }
    for (i, a) in content.attachments.iter().enumerate() {
        lines.push(Line::from(vec![
            Span::styled(format!("[{}] ", i + 1), Style::default().fg(t.accent)),
            Span::raw(a.filename.as_str()),
            Span::styled(
                format!("  {} {}", a.mime_type, human_size(a.size)),
                Style::default().fg(t.dim),
            ),
        ]));
    }
    if !content.attachments.is_empty() {
        lines.push(Line::styled("s save · o open", Style::default().fg(t.dim)));
    }
    lines.push(Line::raw(""));
    for l in content.body.lines() {
        lines.push(Line::raw(l));
    }
    if let Some(tracking) = &content.tracking {
        tracking_section(&mut lines, tracking, reader.id, t);
    }
    // Clamp scrolling to the wrapped length (estimated per line by display width).
    let w = inner.width.max(1) as usize;
    let wrapped: usize = lines
        .iter()
        .map(|l| {
            let lw: usize = l.spans.iter().map(|s| s.content.width()).sum();
            lw.div_ceil(w).max(1)
        })
        .sum();
    let h = inner.height as usize;
    app.heights.reader = h.max(1);
    let max_scroll = wrapped.saturating_sub(h).min(u16::MAX as usize) as u16;
    reader.scroll = reader.scroll.min(max_scroll);
    app.heights.reader_end = Some((reader.id, max_scroll));
    let subject = content
        .headers
        .iter()
        .find(|(k, _)| k == "Subject")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let block = block.title(format!(
        " {} ",
        super::text::fit(subject, w.saturating_sub(4)).trim_end()
    ));
    // Where the page is in the message, as less shows it.
    let first = reader.scroll as usize + 1;
    let last = (reader.scroll as usize + h).min(wrapped);
    let block = if wrapped > h {
        block.title_bottom(
            ratatui::text::Line::from(format!(" {first}–{last}/{wrapped} ")).right_aligned(),
        )
    } else {
        block
    };
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((reader.scroll, 0)),
        area,
    );
    super::text::scrollbar(f, area, wrapped, h, reader.scroll as usize);
}
