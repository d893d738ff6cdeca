//! The Outbox view: a popup listing mail that waits or was refused, with attempts, the last
//! error and when the next attempt is due; its keys in a hint line, and the y / n questions
//! (did an unconfirmed mail arrive, cancel sending, send untracked) over it.

use super::keymap::Keymap;
use super::text::fit;
use super::theme::Theme;
use crate::app::outbox_state as state;
use crate::app::outbox_view::{Asking, OutboxLine, OutboxView, Question};
use crate::app::Action;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Seconds as "45s", "3m", "2h".
fn after(secs: i64) -> String {
    match secs {
        ..=0 => "now".into(),
        1..=59 => format!("in {secs}s"),
        60..=3599 => format!("in {}m", secs / 60),
        _ => format!("in {}h", secs / 3600),
    }
}

/// The second line of a mail: what is wrong, and what happens next.
fn detail(l: &OutboxLine, now: i64) -> String {
    let why = l.last_error.clone().unwrap_or_default();
    let next = match l.state.as_str() {
        state::QUEUED if l.send_at.is_some_and(|t| t > now) => {
            let at = chrono::DateTime::from_timestamp(l.send_at.unwrap_or(now), 0);
            format!(
                "scheduled for {}",
                crate::clock::format_local(at.unwrap_or_default())
            )
        }
        state::QUEUED if l.attempts > 0 => format!("next try {}", after(l.next_attempt_at - now)),
        state::QUEUED => "waiting to be sent".into(),
        state::SENDING => "being sent".into(),
        state::FAILED => "refused".into(),
        state::UNCONFIRMED => "may have arrived".into(),
        _ => String::new(),
    };
    if why.is_empty() {
        next
    } else {
        format!("{next}: {why}")
    }
}

fn hint(keymap: &Keymap) -> String {
    let k = |a| keymap.key_of(a);
    format!(
        "{} retry · {} edit · {} cancel → drafts · {} arrived? · {} send untracked · {} close",
        k(Action::RetrySend),
        k(Action::OutboxEdit),
        k(Action::Delete),
        k(Action::OutboxConfirm),
        k(Action::OutboxUntrack),
        k(Action::BackOrQuit),
    )
}

fn question(a: &Asking) -> (&'static str, Vec<String>) {
    let s = &a.subject;
    match a.question {
        Question::Arrived => (
            " Did it arrive? ",
            vec![
                format!("{s:?} may have been delivered: the connection broke after the server had it."),
                "Check with the recipient (or their reply) first — a wrong answer sends it twice or never.".into(),
                "y: it arrived, count it as sent   n: it did not, send it again   Esc: decide later".into(),
            ],
        ),
        Question::Cancel => (
            " Cancel sending? ",
            vec![
                format!("{s:?} will not be sent; it goes back to the drafts (resume it to edit)."),
                "y: cancel sending   n / Esc: keep it in the outbox".into(),
            ],
        ),
        Question::Untrack => (
            " Send untracked? ",
            vec![
                format!("{s:?} goes out WITHOUT tracking: no open or click will be recorded."),
                "y: send it untracked now   n / Esc: keep waiting for the tracker".into(),
            ],
        ),
    }
}

pub fn draw(f: &mut Frame, area: Rect, v: &OutboxView, now: i64, keymap: &Keymap, t: &Theme) {
    let width = area.width.saturating_sub(4).min(110);
    // `max` then `min`: on a terminal shorter than five rows the popup takes what there is.
    let height = (v.lines.len() as u16 * 2 + 4).max(5).min(area.height);
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
        let tracked = if l.tracked { "[tracked] " } else { "" };
        let tries = if l.attempts == 1 { "try" } else { "tries" };
        let head = format!(
            "#{:<4} {:<11} {:>2} {tries:<5}  {tracked}{}  → {}",
            l.id, l.state, l.attempts, l.subject, l.to
        );
        lines.push(Line::styled(fit(&head, w), style));
        let colour = match l.state.as_str() {
            state::QUEUED | state::SENDING => t.dim,
            _ => t.error,
        };
        lines.push(Line::styled(
            fit(&format!("      {}", detail(l, now)), w),
            Style::default().fg(colour),
        ));
    }
    // The keys stay in view: the list gives way first.
    let room = (height as usize).saturating_sub(3);
    if lines.len() > room {
        let first = (v.cursor * 2 + 2).saturating_sub(room);
        lines = lines.into_iter().skip(first).take(room).collect();
    }
    lines.resize(room, Line::default());
    lines.push(Line::styled(
        fit(&hint(keymap), w),
        Style::default().fg(t.dim),
    ));
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::default().fg(t.border_focus))
                .title(" Outbox "),
        ),
        rect,
    );
    if let Some(a) = &v.asking {
        let (title, text) = question(a);
        let qw = area.width.saturating_sub(8).min(100);
        let inner = qw.saturating_sub(2).max(1) as usize;
        let rows: usize = text
            .iter()
            .map(|l| l.chars().count().div_ceil(inner).max(1))
            .sum();
        let qh = (rows as u16 + 2).min(area.height);
        // Under the list when there is room, so the mail asked about stays in sight.
        let below = rect.y + rect.height;
        let y = if below + qh <= area.y + area.height {
            below
        } else {
            area.y + area.height.saturating_sub(qh)
        };
        let pop = Rect {
            x: area.x + (area.width.saturating_sub(qw)) / 2,
            y,
            width: qw,
            height: qh,
        };
        let body: Vec<Line> = text.into_iter().map(Line::from).collect();
        f.render_widget(Clear, pop);
        f.render_widget(
            Paragraph::new(body).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(t.accent))
                    .title(title)
                    .title_style(Style::default().add_modifier(Modifier::BOLD)),
            ),
            pop,
        );
    }
}
