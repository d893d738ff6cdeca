//! The folder pane: every folder of every account with its unread count.

use super::{text::fit, theme::Theme};
use crate::app::{App, Pane};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

pub fn draw(f: &mut Frame, area: Rect, block: Block, app: &mut App, t: &Theme) {
    let block = block.title(" Folders ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let height = inner.height as usize;
    let width = inner.width as usize;
    let many_accounts = app
        .list
        .folders
        .first()
        .is_some_and(|first| app.list.folders.iter().any(|x| x.account != first.account));
    let start = app
        .list
        .folder_cursor
        .saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = app
        .list
        .folders
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(i, folder)| {
            // `folder.name` is the wire name (the folder's identity); people read it decoded.
            let shown = crate::app::folder_display_name(&folder.name);
            let name = if many_accounts {
                format!("{}/{shown}", folder.account)
            } else {
                shown.into_owned()
            };
            let count = if folder.unread > 0 {
                folder.unread.to_string()
            } else {
                String::new()
            };
            let name_w = width.saturating_sub(count.len() + 1);
            let current = app
                .list
                .current
                .as_ref()
                .is_some_and(|(a, n)| *a == folder.account && *n == folder.name);
            let mut style = Style::default().fg(if current { t.accent } else { t.foreground });
            if folder.unread > 0 {
                style = style.add_modifier(Modifier::BOLD);
            }
            if i == app.list.folder_cursor && app.focus == Pane::Folders {
                style = style.bg(t.selection_bg).fg(t.selection_fg);
            }
            Line::from(vec![
                Span::styled(fit(&name, name_w), style),
                Span::styled(format!(" {count}"), style.fg(t.dim)),
            ])
        })
        .collect();
    if app.list.folders.is_empty() {
        let text = if app.list.loading {
            "Loading…"
        } else {
            "No folders yet — the first sync fills them."
        };
        f.render_widget(
            Paragraph::new(text).style(Style::default().fg(t.dim)),
            inner,
        );
        return;
    }
    f.render_widget(Paragraph::new(lines), inner);
}
