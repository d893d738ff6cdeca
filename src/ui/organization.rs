//! The organization pane: its domain, its contacts, recent conversation, tracking figures and the
//! Superdata section for the domain (that of the organization's first contact).

use super::contact::{
    frame_block, heading, hint, label, message_line, row, superdata_lines, tracking_lines,
    two_columns,
};
use super::{keymap::Keymap, theme::Theme};
use crate::app::contact::OrganizationView;
use crate::app::{Action, App};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Returns the scroll drawn with (see [`two_columns`]).
pub fn draw(
    f: &mut Frame,
    area: Rect,
    o: &OrganizationView,
    app: &App,
    keys: &Keymap,
    t: &Theme,
) -> u16 {
    let Some(Some(d)) = &o.details else {
        let text = if o.details.is_none() {
            "Loading…"
        } else {
            "This organization is gone (its last contact was forgotten)."
        };
        f.render_widget(
            Paragraph::new(text).block(frame_block(" Organization ".into(), t)),
            area,
        );
        return 0;
    };
    let org = &d.organization;
    let w = if area.width.saturating_sub(2) >= 100 {
        (area.width as usize - 4) / 2
    } else {
        area.width.saturating_sub(2) as usize
    };
    let mut left = vec![
        label("Domain", org.domain.clone(), t),
        label(
            "First contact",
            format!("{} (its domain is the one looked up)", org.first_contact),
            t,
        ),
        label(
            "Mail",
            format!(
                "{} from them · {} to them",
                d.contacts.iter().map(|c| c.received_count).sum::<u64>(),
                d.contacts.iter().map(|c| c.sent_count).sum::<u64>()
            ),
            t,
        ),
    ];
    left.extend(tracking_lines(&d.tracking, app, t));
    left.push(Line::raw(""));
    left.push(heading(format!("Contacts ({})", d.contacts.len()), t));
    for (i, c) in d.contacts.iter().enumerate() {
        left.push(row(
            format!(
                "{} <{}> · {} msgs",
                c.display_name, c.email, c.message_count
            ),
            i == o.cursor,
            w,
            t,
        ));
    }
    left.push(Line::raw(""));
    left.push(heading("Recent conversation", t));
    if d.recent.is_empty() {
        left.push(Line::styled("none", Style::default().fg(t.dim)));
    }
    for (i, m) in d.recent.iter().enumerate() {
        left.push(row(
            message_line(m, app),
            d.contacts.len() + i == o.cursor,
            w,
            t,
        ));
    }
    left.push(Line::raw(""));
    left.push(hint(
        keys,
        &[
            (Action::Open, "open contact / message"),
            (Action::SmartDataSearch, "smart data search"),
            (Action::BackOrQuit, "back"),
        ],
        t,
    ));
    let right = superdata_lines(&d.superdata, o.searching.as_ref(), app, keys, t);
    two_columns(
        f,
        area,
        frame_block(format!(" Organization: {} ", org.domain), t),
        left,
        right,
        o.scroll,
    )
}
