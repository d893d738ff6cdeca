//! The message list, virtualized: only the rows in view are built each frame, so a folder of
//! 100,000 messages draws as fast as one of 100. Columns: flags, tracking marks, sender, subject, date.

use super::{text::fit, theme::Theme};
use crate::app::{short_date, App, Filter, Pane, Row};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

const DATE_W: usize = 7;
/// The size column ("1.2K", "340K", "12M"), as mutt's index shows it.
const SIZE_W: usize = 5;
/// From this inner width on, the size column shows whatever the sort; narrower, only when the
/// list is sorted by size (where it explains the order).
const SIZE_ALWAYS_FROM: usize = 120;

/// The list's title in `width` columns. What it must keep, in order: where the cursor is
/// ("12/72") and the markers that change what the rows mean (the filter, selected, threads, the
/// sort), then the folder or search — a long folder name or query is cut with "…" to make room
/// for them, and only when even they do not fit is the whole title cut, from its end.
pub fn title(app: &App, width: usize) -> String {
    let (account, folder) = app
        .list
        .current
        .as_ref()
        .map(|(a, f)| (a.as_str(), f.as_str()))
        .unwrap_or(("", ""));
    // A query is cut inside its quotes, so it still reads as one.
    let (quoted, what) = match &app.list.search {
        Some(q) => (true, q.clone()),
        // Tracked mail is gathered from every folder of the account, not only this one.
        None if matches!(app.list.filter, Filter::Tracked | Filter::FollowUp) => {
            (false, format!("{account}, all folders"))
        }
        None => (false, crate::app::folder_display_name(folder).into_owned()),
    };
    let marked = if app.list.marked.is_empty() {
        String::new()
    } else {
        format!(", {} selected", app.list.marked.len())
    };
    let view = if app.list.threads { ", threads" } else { "" };
    let sort = app
        .list
        .sort_note()
        .map(|n| format!(", {n}"))
        .unwrap_or_default();
    // Where the cursor is, as "12/72".
    let position = match app.list.rows.len() {
        0 => "0".to_string(),
        n => format!("{}/{n}", app.list.cursor.min(n - 1) + 1),
    };
    let markers = format!(
        " — {} ({position}{marked}{view}{sort}) ",
        app.list.filter.label()
    );
    let room = width.saturating_sub(unicode_width::UnicodeWidthStr::width(markers.as_str()) + 1);
    // At least "…": a query cut to nothing would read as an empty search.
    let what = match quoted {
        true => format!(
            "search “{}”",
            super::text::cut(&what, room.saturating_sub(9).max(1))
        ),
        false => super::text::cut(&what, room.max(1)),
    };
    let title = format!(" {what}{markers}");
    super::text::cut(&title, width)
}

pub fn draw(f: &mut Frame, area: Rect, block: Block, app: &mut App, t: &Theme) {
    let block = block.title(title(app, usize::from(area.width.saturating_sub(2))));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let height = inner.height as usize;
    let before = std::mem::replace(&mut app.heights.list, height.max(1));
    if app.list.rows.is_empty() {
        f.render_widget(
            Paragraph::new(empty_text(app))
                .style(Style::default().fg(t.dim))
                .wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    // A taller pane (a resize back from small) shows the rows scrolled away to keep the cursor
    // in the smaller one, and never leaves space under the last row while rows sit above.
    if height > before {
        app.list.offset = app.list.offset.saturating_sub(height - before);
    }
    app.list.offset = app
        .list
        .offset
        .min(app.list.rows.len().saturating_sub(height));
    super::text::follow_cursor(&mut app.list.offset, app.list.cursor, height);
    app.list.offset = app.list.offset.min(app.list.rows.len().saturating_sub(1));
    let width = inner.width as usize;
    let end = (app.list.offset + height).min(app.list.rows.len());
    // Search results come from every folder: a column says where each is, as wide as the
    // longest name in view.
    let folder_w = if app.list.search.is_some() {
        app.list.rows[app.list.offset..end]
            .iter()
            .map(|r| {
                crate::app::folder_display_name(&r.msg.folder)
                    .chars()
                    .count()
                    + 1
            })
            .max()
            .unwrap_or(0)
            .min(17)
    } else {
        0
    };
    // The open/click column shows only where tracked mail is in view: received mail has none.
    let marks = app.list.rows[app.list.offset..end]
        .iter()
        .any(|r| r.marks.tracked);
    let lines: Vec<Line> = (app.list.offset..end)
        .map(|i| {
            let row = &app.list.rows[i];
            let selected = i == app.list.cursor;
            line(row, selected, app, width, (folder_w, marks), t)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    super::text::scrollbar(f, area, app.list.rows.len(), height, app.list.offset);
}

fn empty_text(app: &App) -> String {
    if app.list.loading {
        return "Loading…".into();
    }
    match (&app.list.search, app.list.filter) {
        (_, Filter::Tracked) => {
            // Neutral on purpose: tracking may already be on (the demo, a configured tracker).
            "No tracked mail yet: send a mail with tracking on (C-o / C-l in the composer). \
Tracked mail shows here with its opens, clicks and last open, newest activity first."
                .into()
        }
        (_, Filter::FollowUp) => "Nothing to follow up: mail sent with a reminder (C-r in the \
composer, or `tidings send --remind-after 3d`) shows here until someone answers, due first."
            .into(),
        (Some(q), _) => format!("No messages match “{q}”."),
        (None, Filter::Unread) => "No unread messages here.".into(),
        (None, Filter::Flagged) => "No flagged messages here.".into(),
        (None, Filter::All) if app.list.current.is_none() => {
            "No mail cached yet — the first sync fills this list.".into()
        }
        (None, Filter::All) => "This folder is empty.".into(),
    }
}

fn line<'a>(
    row: &'a Row,
    selected: bool,
    app: &App,
    width: usize,
    (folder_w, marks): (usize, bool),
    t: &Theme,
) -> Line<'a> {
    let m = &row.msg;
    // A collapsed conversation shows selected when any message in it is.
    let marked = row.ids().any(|id| app.list.marked.contains(&id));
    // A collapsed conversation is unread (flagged) when any message in it is.
    let seen = !row.any_unread();
    let flagged = m.flagged || row.folded.iter().any(|r| r.msg.flagged);
    let mut base = Style::default().fg(if seen { t.foreground } else { t.unread });
    if !seen {
        base = base.add_modifier(Modifier::BOLD);
    }
    if selected {
        let focused = app.focus == Pane::List || app.reader.is_none();
        base = base.bg(t.selection_bg).fg(t.selection_fg);
        if !focused {
            base = base.add_modifier(Modifier::DIM);
        }
    }
    let dim = base.fg(t.dim).remove_modifier(Modifier::BOLD);
    let pick = if marked { "*" } else { " " };
    let unread = if seen { " " } else { "●" };
    let flag = if flagged { "!" } else { " " };
    let shown = Shown::of(row);
    let attach = if shown.attachment { "+" } else { " " };
    // Tracking marks on tracked mail only: dim dots until an open or a click is recorded;
    // received mail leaves the column blank.
    let (opened, clicked) = if !marks {
        (Span::raw(""), Span::raw(""))
    } else if !shown.tracked {
        (Span::styled(" ", base), Span::styled(" ", base))
    } else {
        (
            if shown.opened {
                Span::styled("o", base.fg(t.opened))
            } else {
                Span::styled("·", dim)
            },
            if shown.clicked {
                Span::styled("c", base.fg(t.clicked))
            } else {
                Span::styled("·", dim)
            },
        )
    };
    // Flags, marks, spaces and the date; what is left goes to sender and subject.
    let marks_w = if marks { 3 } else { 0 };
    let show_size =
        app.list.sort.key == crate::app::sort::SortKey::Size || width >= SIZE_ALWAYS_FROM;
    let size_w = if show_size { SIZE_W + 1 } else { 0 };
    let fixed = 1 + 3 + 1 + marks_w + 1 + 1 + DATE_W + size_w;
    let sender_w = match width {
        90.. => 22,
        60.. => 16,
        // Narrow: the subject tells messages apart, so it keeps the larger share.
        _ => width.saturating_sub(fixed) * 2 / 5,
    };
    let sender = app.correspondent(m);
    let fixed = fixed + sender_w;
    let mut subject_w = width.saturating_sub(fixed);
    // Narrow, the subject matters more than the folder.
    let folder = if folder_w > 0 && subject_w >= 30 {
        let w = folder_w.min(subject_w / 3);
        subject_w -= w;
        fit(
            &crate::app::folder_display_name(&m.folder),
            w.saturating_sub(1),
        ) + " "
    } else {
        String::new()
    };
    let indent = match (row.depth, row.folded.len()) {
        (0, 0) => String::new(),
        (0, n) => format!("▸ ({}) ", n + 1),
        _ => "  ↳ ".into(),
    };
    let subject = if m.subject.is_empty() {
        "(no subject)"
    } else {
        &m.subject
    };
    // A collapsed conversation is dated by its newest message, as it is placed.
    let newest = row.folded.iter().map(|r| r.msg.date).fold(m.date, i64::max);
    let date = short_date(newest, app.now, app.utc_offset_secs);
    // The Tracked filter answers "who read it, and when": counts and the last open by the subject.
    let activity = if app.list.filter == Filter::Tracked && row.marks.tracked {
        let plural = |n: u32, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let last = row
            .marks
            .last_open
            .map(|t| {
                format!(
                    " · last open {}",
                    short_date(t, app.now, app.utc_offset_secs)
                )
            })
            .unwrap_or_default();
        format!(
            " — {} · {}{last}",
            plural(row.marks.opens, "open"),
            plural(row.marks.clicks, "click")
        )
    } else if app.list.filter == Filter::FollowUp {
        match row.marks.due_at {
            Some(due) if due <= app.now => {
                format!(" — due {} ago", crate::app::followups::span(app.now - due))
            }
            Some(due) => format!(" — due in {}", crate::app::followups::span(due - app.now)),
            None => String::new(),
        }
    } else {
        String::new()
    };
    let activity = match &row.marks.replied {
        Some(replied) if app.list.filter == Filter::Tracked => format!("{activity} · {replied}"),
        _ => activity,
    };
    Line::from(vec![
        Span::styled(pick, base.fg(t.marked)),
        Span::styled(unread, base.fg(t.accent)),
        Span::styled(flag, base.fg(t.flagged)),
        Span::styled(attach, base),
        Span::styled(" ", base),
        opened,
        clicked,
        Span::styled(if marks { " " } else { "" }, base),
        Span::styled(fit(&sender, sender_w), base),
        Span::styled(" ", base),
        Span::styled(folder, dim),
        Span::styled(
            fit(&format!("{indent}{subject}{activity}"), subject_w),
            base,
        ),
        Span::styled(" ", base),
        Span::styled(
            if show_size {
                // A collapsed conversation weighs what all its messages weigh.
                let total = row
                    .folded
                    .iter()
                    .map(|r| r.msg.size)
                    .fold(m.size, u64::saturating_add);
                format!("{:>w$} ", compact_size(total), w = SIZE_W)
            } else {
                String::new()
            },
            dim,
        ),
        Span::styled(format!("{:>w$}", date, w = DATE_W), dim),
    ])
}

/// A size in at most five characters, with one decimal below ten: "512B", "1.2K", "340K", "12M".
fn compact_size(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (unit, name) in UNITS {
        if n >= unit {
            let v = n as f64 / unit as f64;
            return if v < 9.95 {
                format!("{v:.1}{name}")
            } else {
                format!("{:.0}{name}", v.min(9999.0))
            };
        }
    }
    format!("{n}B")
}

/// The per-message marks a row shows: a collapsed conversation shows each one any of its
/// messages has, as it does unread and flagged.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shown {
    attachment: bool,
    tracked: bool,
    opened: bool,
    clicked: bool,
}

impl Shown {
    fn of(row: &Row) -> Shown {
        std::iter::once(row)
            .chain(&row.folded)
            .fold(Shown::default(), |s, r| Shown {
                attachment: s.attachment || r.msg.has_attachments,
                tracked: s.tracked || r.marks.tracked,
                // A real reply is the surest sign the mail was read, opens seen or not.
                opened: s.opened
                    || (r.marks.tracked && (r.marks.opens > 0 || r.marks.replied.is_some())),
                clicked: s.clicked || (r.marks.tracked && r.marks.clicks > 0),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::{compact_size, Shown};
    use crate::app::view::Row;

    #[test]
    fn a_collapsed_conversation_shows_the_marks_of_any_of_its_messages() {
        let mut head = Row::new(crate::app::view::test_summary(1, 1, "Q3"));
        assert_eq!(Shown::of(&head), Shown::default());
        let mut reply = Row::new(crate::app::view::test_summary(2, 2, "Re: Q3"));
        reply.msg.has_attachments = true;
        reply.marks.tracked = true;
        reply.marks.clicks = 1;
        head.folded.push(reply);
        let want = Shown {
            attachment: true,
            tracked: true,
            opened: false,
            clicked: true,
        };
        assert_eq!(Shown::of(&head), want);
    }

    #[test]
    fn sizes_fit_five_characters_as_mutt_shows_them() {
        for (n, want) in [
            (0, "0B"),
            (512, "512B"),
            (1023, "1023B"),
            (1024, "1.0K"),
            (1300, "1.3K"),
            (10_188, "9.9K"),
            (10_200, "10K"),
            (348_160, "340K"),
            (1_048_575, "1024K"),
            (1_048_576, "1.0M"),
            (12 << 20, "12M"),
            (3 << 30, "3.0G"),
            (u64::MAX, "9999G"),
        ] {
            let got = compact_size(n);
            assert_eq!(got, want, "{n}");
            assert!(got.chars().count() <= super::SIZE_W, "{got}");
        }
    }
}
