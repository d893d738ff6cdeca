//! The contacts list and the contact pane (details, recent conversation, tracking, the Superdata
//! section), plus the Superdata section and small helpers the organization pane shares.

use super::keymap::Keymap;
use super::text::{fit, hang, wrapped_height};
use super::theme::Theme;
use crate::app::contact::{
    preference_label, Contact, ContactView, Outcome, Searching, Source, SourceResult,
    SuperdataSection, TrackingStats,
};
use crate::app::MessageSummary;
use crate::app::{Action, App};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

/// From this width a pane puts Superdata in a column of its own.
const TWO_COLUMNS: u16 = 100;

pub fn frame_block<'a>(title: String, t: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(t.border_focus))
        .title(title)
        .style(Style::default().bg(t.background).fg(t.foreground))
}

pub fn date(ts: Option<i64>, app: &App, fmt: &str) -> String {
    let off = chrono::FixedOffset::east_opt(app.utc_offset_secs)
        .or_else(|| chrono::FixedOffset::east_opt(0));
    match (
        ts.and_then(|ts| chrono::DateTime::from_timestamp(ts, 0)),
        off,
    ) {
        (Some(d), Some(off)) => d.with_timezone(&off).format(fmt).to_string(),
        _ => "—".into(),
    }
}

pub fn label<'a>(name: &str, value: impl Into<String>, t: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(
            format!("{name:<14}"),
            Style::default().fg(t.header).add_modifier(Modifier::BOLD),
        ),
        Span::raw(value.into()),
    ])
}

pub fn heading<'a>(text: impl Into<String>, t: &Theme) -> Line<'a> {
    Line::styled(
        text.into(),
        Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
    )
}

pub fn hint<'a>(keys: &Keymap, items: &[(Action, &str)], t: &Theme) -> Line<'a> {
    let text: Vec<String> = items
        .iter()
        .map(|(a, what)| format!("{} {what}", keys.key_of(*a)))
        .collect();
    Line::styled(text.join(" · "), Style::default().fg(t.dim))
}

/// One selectable line of a list inside a pane.
pub fn row<'a>(text: String, selected: bool, width: usize, t: &Theme) -> Line<'a> {
    let style = if selected {
        Style::default()
            .bg(t.selection_bg)
            .fg(t.selection_fg)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(t.foreground)
    };
    Line::styled(fit(&text, width), style)
}

pub fn message_line(m: &MessageSummary, app: &App) -> String {
    let who = if m.from_name.is_empty() {
        &m.from_addr
    } else {
        &m.from_name
    };
    format!(
        "{:<7} {:<18} {}",
        crate::app::short_date(m.date, app.now, app.utc_offset_secs),
        fit(who, 18),
        m.subject
    )
}

pub fn tracking_lines<'a>(stats: &Option<TrackingStats>, app: &App, t: &Theme) -> Vec<Line<'a>> {
    match stats {
        None => vec![label("Tracking", "no tracked mail yet", t)],
        Some(s) if s.tracked_sent == 0 => vec![label("Tracking", "no tracked mail yet", t)],
        Some(s) => vec![label(
            "Tracking",
            format!(
                "{} tracked sent · {} · {} · last activity {}",
                s.tracked_sent,
                super::text::count(s.opens, "open"),
                super::text::count(s.clicks, "click"),
                date(s.last_activity, app, "%Y-%m-%d %H:%M")
            ),
            t,
        )],
    }
}

/// The Superdata section: how to enable it, a hint, progress, or every source's values with
/// source and date (failures shown beside the others).
pub fn superdata_lines<'a>(
    section: &SuperdataSection,
    searching: Option<&Searching>,
    app: &App,
    keys: &Keymap,
    t: &Theme,
) -> Vec<Line<'a>> {
    let mut out = vec![heading("Smart data (Superdata)", t)];
    if let Some(s) = searching {
        let spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let frame = spinner[(app.now.unsigned_abs() as usize) % spinner.len()];
        let sources: Vec<&str> = s.target.plan().iter().map(|(s, _)| s.label()).collect();
        out.push(Line::styled(
            format!(
                "{frame} {} {}…",
                if s.refresh { "Refreshing" } else { "Searching" },
                sources.join(", ")
            ),
            Style::default().fg(t.accent),
        ));
    }
    match section {
        SuperdataSection::Disabled { how_to } => {
            out.push(Line::styled(how_to.to_string(), Style::default().fg(t.dim)));
            out.push(Line::styled(
                "It looks up public data (Gravatar, the homepage, RDAP, DNS MX) only when you ask.",
                Style::default().fg(t.dim),
            ));
        }
        SuperdataSection::NonHuman => out.push(Line::styled(
            "A machine address (noreply, notifications, …): never enriched.",
            Style::default().fg(t.dim),
        )),
        SuperdataSection::NotFetched => {
            if searching.is_none() {
                out.push(Line::styled(
                    format!(
                        "Nothing fetched. Press {} for a Smart data search (Gravatar, homepage, RDAP, MX).",
                        keys.key_of(Action::SmartDataSearch)
                    ),
                    Style::default().fg(t.dim),
                ));
            }
        }
        SuperdataSection::Cached(report) => {
            if report.demo() {
                out.push(Line::styled(
                    "DEMO DATA — served by `tidings demo`, not real",
                    Style::default().fg(t.flagged).add_modifier(Modifier::BOLD),
                ));
            }
            if report.free_mail {
                out.push(Line::styled(
                    "Free-mail domain: only the person's own sources are asked.",
                    Style::default().fg(t.dim),
                ));
            }
            for (source, result) in &report.sources {
                out.extend(source_lines(*source, result.as_ref(), app, t));
            }
            out.push(hint(keys, &[(Action::RefreshData, "refresh data")], t));
        }
    }
    out
}

fn source_lines<'a>(
    source: Source,
    result: Option<&SourceResult>,
    app: &App,
    t: &Theme,
) -> Vec<Line<'a>> {
    let Some(r) = result else {
        return vec![Line::from(vec![
            Span::styled(
                format!("{} ", source.label()),
                Style::default().fg(t.header).add_modifier(Modifier::BOLD),
            ),
            Span::styled("not fetched yet", Style::default().fg(t.dim)),
        ])];
    };
    let mut head = vec![
        Span::styled(
            format!("{} ", source.label()),
            Style::default().fg(t.header).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(
                "fetched {} · {}",
                date(Some(r.fetched_at), app, "%Y-%m-%d %H:%M"),
                r.subject
            ),
            Style::default().fg(t.dim),
        ),
    ];
    if r.demo {
        head.push(Span::styled(" DEMO", Style::default().fg(t.flagged)));
    }
    let mut out = vec![Line::from(head)];
    match &r.outcome {
        Outcome::Found(_) => {
            for (k, v) in r.fields() {
                out.push(Line::from(vec![
                    Span::styled(format!("  {k:<16}"), Style::default().fg(t.dim)),
                    Span::raw(v),
                ]));
            }
        }
        Outcome::NotFound => out.push(Line::styled("  nothing found", Style::default().fg(t.dim))),
        Outcome::Failed(e) => out.push(Line::styled(
            format!("  failed: {e}"),
            Style::default().fg(t.error),
        )),
    }
    out
}

/// Details on the left and Superdata on the right when wide; one scrolled column when narrow.
/// Returns the scroll drawn with: `scroll`, stopped where the last line reaches the bottom.
pub fn two_columns(
    f: &mut Frame,
    area: Rect,
    block: Block,
    left: Vec<Line>,
    right: Vec<Line>,
    scroll: u16,
) -> u16 {
    let inner = block.inner(area);
    f.render_widget(block, area);
    let stop = |rows: usize| {
        let max = rows.saturating_sub(inner.height as usize);
        scroll.min(max.min(u16::MAX as usize) as u16)
    };
    if inner.width >= TWO_COLUMNS {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .spacing(2)
            .areas(inner);
        let (left, right) = (hang(left, l.width), hang(right, r.width));
        let scroll = stop(wrapped_height(&left, l.width).max(wrapped_height(&right, r.width)));
        f.render_widget(
            Paragraph::new(left)
                .wrap(Wrap { trim: false })
                .scroll((scroll, 0)),
            l,
        );
        f.render_widget(
            Paragraph::new(right)
                .wrap(Wrap { trim: false })
                .scroll((scroll, 0)),
            r,
        );
        scroll
    } else {
        let mut all = left;
        all.push(Line::raw(""));
        all.extend(right);
        let all = hang(all, inner.width);
        let scroll = stop(wrapped_height(&all, inner.width));
        f.render_widget(
            Paragraph::new(all)
                .wrap(Wrap { trim: false })
                .scroll((scroll, 0)),
            inner,
        );
        scroll
    }
}

pub fn draw_list(
    f: &mut Frame,
    area: Rect,
    contacts: Option<&[Contact]>,
    cursor: usize,
    app: &App,
    keys: &Keymap,
    t: &Theme,
) {
    let block = frame_block(" Contacts ".into(), t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let w = inner.width as usize;
    let mut lines = vec![hint(
        keys,
        &[(Action::Open, "open"), (Action::BackOrQuit, "back")],
        t,
    )];
    match contacts {
        None => lines.push(Line::styled("Loading…", Style::default().fg(t.dim))),
        Some([]) => lines.push(Line::styled(
            "No contacts yet: they are gathered from your mail.",
            Style::default().fg(t.dim),
        )),
        Some(list) => {
            let visible = inner.height.saturating_sub(1) as usize;
            let start = cursor.saturating_sub(visible.saturating_sub(1));
            // Count, "msgs", the last date and the machine mark take ~38 columns; name, address
            // and organization share the rest, so a wide terminal shows whole addresses.
            let room = w.saturating_sub(38).max(72);
            let (name_w, email_w) = (room * 30 / 100, room * 45 / 100);
            let org_w = room - name_w - email_w;
            for (i, c) in list.iter().enumerate().skip(start).take(visible) {
                let text = format!(
                    "{:<name_w$} {:<email_w$} {:<org_w$} {:>4} {:<4}  last {}{}",
                    fit(&c.display_name, name_w),
                    fit(&c.email, email_w),
                    fit(c.organization_domain.as_deref().unwrap_or(""), org_w),
                    c.message_count,
                    if c.message_count == 1 { "msg" } else { "msgs" },
                    date(c.last_contact, app, "%Y-%m-%d"),
                    if c.non_human { "  machine" } else { "" }
                );
                lines.push(row(text, i == cursor, w, t));
            }
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn draw_contact(
    f: &mut Frame,
    area: Rect,
    c: &ContactView,
    app: &App,
    keys: &Keymap,
    t: &Theme,
) -> u16 {
    let details = match &c.details {
        None => {
            f.render_widget(
                Paragraph::new("Loading…").block(frame_block(" Contact ".into(), t)),
                area,
            );
            return 0;
        }
        Some(None) => {
            f.render_widget(
                Paragraph::new(
                    "Not a contact: contacts are gathered from mail exchanged with you (not \
                     from Junk), and one you forgot comes back only with new mail.",
                )
                .wrap(Wrap { trim: false })
                .block(frame_block(" Contact ".into(), t)),
                area,
            );
            return 0;
        }
        Some(Some(d)) => d,
    };
    let ct = &details.contact;
    let name = if ct.display_name.is_empty() {
        ct.email.clone()
    } else {
        ct.display_name.clone()
    };
    let mut left = vec![
        Line::from(vec![
            Span::styled(name, Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(format!(" <{}>", ct.email)),
        ]),
        label(
            "Organization",
            match &details.organization {
                Some(o) => format!(
                    "{} ({} contacts) — {} opens it",
                    o.domain,
                    o.contact_count,
                    keys.key_of(Action::Organization)
                ),
                None if ct.free_mail => format!("none ({} is free mail)", ct.domain),
                None => "none".into(),
            },
            t,
        ),
        label("First contact", date(ct.first_contact, app, "%Y-%m-%d"), t),
        label("Last contact", date(ct.last_contact, app, "%Y-%m-%d"), t),
        label(
            "Messages",
            format!(
                "{} from them · {} to them · {} in all",
                ct.received_count, ct.sent_count, ct.message_count
            ),
            t,
        ),
    ];
    if ct.non_human {
        left.push(label(
            "Kind",
            "machine address (noreply, notifications, …)",
            t,
        ));
    }
    left.extend(tracking_lines(&details.tracking, app, t));
    left.push(label(
        "Track mail",
        format!(
            "{} — {} changes",
            preference_label(details.tracking_preference),
            keys.key_of(Action::TrackingPreference)
        ),
        t,
    ));
    left.push(Line::raw(""));
    left.push(heading(
        format!(
            "Recent conversation ({} opens a message)",
            keys.key_of(Action::Open)
        ),
        t,
    ));
    if details.recent.is_empty() {
        left.push(Line::styled("none", Style::default().fg(t.dim)));
    }
    let w = if area.width.saturating_sub(2) >= TWO_COLUMNS {
        (area.width as usize - 4) / 2
    } else {
        area.width.saturating_sub(2) as usize
    };
    for (i, m) in details.recent.iter().enumerate() {
        left.push(row(message_line(m, app), i == c.cursor, w, t));
    }
    left.push(Line::raw(""));
    if c.confirm_forget {
        left.push(Line::styled(
            format!(
                "Forget {}? Deletes the contact, its links, tracking preference and smart data (not the mail). y/n",
                ct.email
            ),
            Style::default().fg(t.error).add_modifier(Modifier::BOLD),
        ));
    } else {
        left.push(hint(
            keys,
            &[
                (Action::SmartDataSearch, "smart data search"),
                (Action::ForgetContact, "forget"),
                (Action::BackOrQuit, "back"),
            ],
            t,
        ));
    }
    let right = superdata_lines(&details.superdata, c.searching.as_ref(), app, keys, t);
    let block = frame_block(format!(" Contact: {} ", ct.email), t);
    two_columns(f, area, block, left, right, c.scroll)
}

#[cfg(test)]
mod tests {
    use super::{label, two_columns};
    use crate::ui::theme::Theme;
    use ratatui::backend::TestBackend;
    use ratatui::widgets::{Block, Borders};
    use ratatui::Terminal;

    /// Bug 10 of issue 14: a long value wrapped back to column 0, under its label.
    #[test]
    fn a_long_value_wraps_under_its_start_in_one_and_two_columns() {
        let t = Theme::default();
        let bio = "Builds mail tools in Lisbon, writes about IMAP and keeps bees on the roof";
        for width in [44, 120] {
            let mut term = Terminal::new(TestBackend::new(width, 8)).unwrap();
            term.draw(|f| {
                let left = vec![label("Bio", bio, &t)];
                let right = vec![label("Company", bio, &t)];
                two_columns(
                    f,
                    f.area(),
                    Block::default().borders(Borders::ALL),
                    left,
                    right,
                    0,
                );
            })
            .unwrap();
            let buf = term.backend().buffer();
            let row = |y: u16| -> String {
                (1..width.min(60) - 1)
                    .map(|x| buf[(x, y)].symbol())
                    .collect()
            };
            assert!(row(1).starts_with("Bio           Builds"), "{:?}", row(1));
            let next = row(2);
            assert!(
                next.starts_with(&" ".repeat(14)) && !next[14..].starts_with(' '),
                "width {width}: {next:?}"
            );
        }
    }
}
