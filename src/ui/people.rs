//! The people views drawn over the inbox, top of the stack only: the contacts list, a contact or
//! an organization.

use super::{contact, keymap::Keymap, organization, theme::Theme};
use crate::app::contact::PeopleView;
use crate::app::App;
use ratatui::layout::Rect;
use ratatui::widgets::Clear;
use ratatui::Frame;

pub fn draw(f: &mut Frame, area: Rect, app: &mut App, keys: &Keymap, t: &Theme) {
    let Some(view) = app.people.last() else {
        return;
    };
    f.render_widget(Clear, area);
    let scroll = match view {
        PeopleView::Contacts { contacts, cursor } => {
            contact::draw_list(f, area, contacts.as_deref(), *cursor, app, keys, t);
            return;
        }
        PeopleView::Contact(c) => contact::draw_contact(f, area, c, app, keys, t),
        PeopleView::Organization(o) => organization::draw(f, area, o, app, keys, t),
    };
    // Kept as drawn, so paging up after paging past the end answers at once.
    match app.people.last_mut() {
        Some(PeopleView::Contact(c)) => c.scroll = scroll,
        Some(PeopleView::Organization(o)) => o.scroll = scroll,
        _ => {}
    }
}
