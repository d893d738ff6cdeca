//! Borders shared between side-by-side panes, as lazygit draws them: one line between two panes,
//! joined to the top and bottom lines with ┬ and ┴, instead of two lines standing side by side.
//! The focused pane is outlined in the focus colour afterwards, so its joins stay whole.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::{border, line};
use ratatui::widgets::{Block, Borders};

/// The block of pane `index` of `count` panes side by side. A pane owns the line on its right;
/// the next pane starts right after it, without a left line of its own.
pub fn pane_block(index: usize, count: usize, style: Style) -> Block<'static> {
    let mut set = border::PLAIN;
    if index + 1 < count {
        set.top_right = line::HORIZONTAL_DOWN;
        set.bottom_right = line::HORIZONTAL_UP;
    }
    let borders = if index > 0 {
        Borders::ALL - Borders::LEFT
    } else {
        Borders::ALL
    };
    Block::default()
        .borders(borders)
        .border_set(set)
        .border_style(style)
}

/// The whole outline of pane `index` drawn at `rect`: a pane after the first borrows the line of
/// the one on its left.
pub fn outline(index: usize, rect: Rect) -> Rect {
    if index == 0 || rect.x == 0 {
        return rect;
    }
    Rect {
        x: rect.x - 1,
        width: rect.width.saturating_add(1),
        ..rect
    }
}

/// Restyles the line characters on the edge of `rect` (not titles, scrollbars or content).
pub fn highlight(buf: &mut Buffer, rect: Rect, style: Style) {
    let rect = rect.intersection(buf.area);
    if rect.is_empty() {
        return;
    }
    let (right, bottom) = (rect.right() - 1, rect.bottom() - 1);
    let edge = (rect.left()..=right)
        .flat_map(|x| [(x, rect.top()), (x, bottom)])
        .chain((rect.top()..=bottom).flat_map(|y| [(rect.left(), y), (right, y)]));
    for (x, y) in edge {
        if let Some(cell) = buf.cell_mut((x, y)) {
            if is_line(cell.symbol()) {
                cell.set_style(style);
            }
        }
    }
}

/// Joins a line drawn across the inside of `outer` at row `y` to its left and right borders
/// (├ … ┤), as the composer's Body line.
pub fn tee(buf: &mut Buffer, outer: Rect, y: u16, style: Style) {
    if outer.width < 2 || y <= outer.top() || y + 1 >= outer.bottom() {
        return;
    }
    for (x, symbol) in [
        (outer.left(), line::VERTICAL_RIGHT),
        (outer.right() - 1, line::VERTICAL_LEFT),
    ] {
        if let Some(cell) = buf.cell_mut((x, y)) {
            cell.set_symbol(symbol).set_style(style);
        }
    }
}

/// Box-drawing characters (U+2500…U+257F): what borders and their joins are made of.
fn is_line(symbol: &str) -> bool {
    let mut chars = symbol.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if ('\u{2500}'..='\u{257f}').contains(&c))
}

#[cfg(test)]
mod tests {
    use crate::app::{App, Pane, Reader};
    use crate::ui::{keymap::Keymap, pane_layout, theme::Theme, Ui};
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::Terminal;

    fn draw(app: &mut App, width: u16, height: u16) -> Buffer {
        let mut ui = Ui::new(Theme::default(), Keymap::default(), true);
        let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
        term.draw(|f| ui.draw(f, app)).unwrap();
        term.backend().buffer().clone()
    }

    fn column(buf: &Buffer, x: u16, height: u16) -> String {
        (0..height).map(|y| buf[(x, y)].symbol()).collect()
    }

    /// The panes' boxes: one line between neighbours, joined top and bottom, never two lines.
    fn assert_shared(buf: &Buffer, panes: &[(Pane, Rect)]) {
        let h = panes[0].1.height;
        let joined = format!("┬{}┴", "│".repeat(h as usize - 2));
        for (_, r) in &panes[..panes.len() - 1] {
            let x = r.right() - 1;
            assert_eq!(column(buf, x, h), joined, "the line at column {x}");
            assert_ne!(buf[(x + 1, 1)].symbol(), "│", "a second line beside {x}");
        }
        assert_eq!(buf[(0, 0)].symbol(), "┌");
        let last = panes[panes.len() - 1].1;
        assert_eq!(buf[(last.right() - 1, 0)].symbol(), "┐");
        assert_eq!(buf[(last.right() - 1, h - 1)].symbol(), "┘");
    }

    #[test]
    fn two_and_three_panes_share_the_lines_between_them() {
        let mut app = App::new(false);
        let buf = draw(&mut app, 120, 20);
        let panes = pane_layout(Rect::new(0, 0, 120, 19), &app);
        assert_eq!(panes.len(), 2);
        assert_shared(&buf, &panes);

        app.reader = Some(Reader {
            id: 1,
            content: None,
            downloading: false,
            scroll: 0,
        });
        app.focus = Pane::Reader;
        let buf = draw(&mut app, 160, 20);
        let panes = pane_layout(Rect::new(0, 0, 160, 19), &app);
        assert_eq!(panes.len(), 3);
        assert_shared(&buf, &panes);
        // The focused reader owns the line on its left in the focus colour, joins included;
        // the folder pane's line stays plain.
        let focus = Theme::default().border_focus;
        let x = panes[1].1.right() - 1;
        for y in [0, 5, 18] {
            assert_eq!(buf[(x, y)].fg, focus, "row {y} of the reader's left line");
        }
        assert_ne!(buf[(panes[0].1.right() - 1, 5)].fg, focus);
    }

    #[test]
    fn no_size_panics_in_any_layout() {
        let mut app = App::new(false);
        let reader = Reader {
            id: 1,
            content: None,
            downloading: false,
            scroll: 0,
        };
        for (w, h) in (1..=300u16)
            .step_by(13)
            .flat_map(|w| [(w, 1), (w, 2), (w, 3), (w, 40), (w, 100)])
            .chain([
                (1, 1),
                (99, 10),
                (100, 10),
                (139, 10),
                (140, 10),
                (300, 100),
            ])
        {
            for focus in [Pane::Folders, Pane::List, Pane::Reader] {
                app.focus = focus;
                app.reader = None;
                draw(&mut app, w, h);
                app.reader = Some(reader.clone());
                app.reader_full = focus == Pane::Reader;
                draw(&mut app, w, h);
                app.reader_full = false;
                app.list_percent = if w % 2 == 0 { 20 } else { 80 };
                draw(&mut app, w, h);
            }
        }
    }

    /// The inside of the popup whose top line holds `title`, row by row.
    fn popup_inside(buf: &Buffer, title: &str) -> Vec<String> {
        let row =
            |y: u16| -> String { (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect() };
        let y0 = (0..buf.area.height)
            .find(|&y| row(y).contains(title))
            .unwrap_or_else(|| panic!("no popup {title:?}"));
        let cells: Vec<String> = (0..buf.area.width)
            .map(|x| buf[(x, y0)].symbol().into())
            .collect();
        // The corners around the title, not those of the panes on the same row.
        let at = cells
            .windows(title.len())
            .position(|w| w.concat() == title)
            .unwrap();
        let x0 = cells[..at].iter().rposition(|c| c == "┌").unwrap() as u16;
        let x1 = (at + cells[at..].iter().position(|c| c == "┐").unwrap()) as u16;
        (y0 + 1..buf.area.height)
            .take_while(|&y| buf[(x0, y)].symbol() != "└")
            .map(|y| (x0 + 1..x1).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }

    /// Every popup is drawn on a cleared area: nothing of the list under it shows through.
    #[test]
    fn popups_hide_what_is_under_them() {
        use crate::app::{Action, FolderEntry, Msg};
        let mut app = App::new(false);
        app.update(Msg::FoldersLoaded(Ok(vec![FolderEntry {
            account: "w".into(),
            name: "INBOX".into(),
            role: Some("inbox".into()),
            total: 40,
            unread: 0,
        }])));
        let generation = app.list.generation;
        let subject = "X".repeat(200);
        app.update(Msg::MessagesLoaded {
            generation,
            rows: Ok((1..=40)
                .map(|id| crate::app::Row::new(crate::app::view::test_summary(id, id, &subject)))
                .collect()),
            complete: true,
        });
        app.focus = Pane::List;
        for (action, title) in [
            (Action::Help, "Keys"),
            (Action::MessageLog, "Messages"),
            (Action::Move, "Move 1 message to"),
        ] {
            app.update(Msg::Action(action));
            let buf = draw(&mut app, 120, 40);
            let inside = popup_inside(&buf, title);
            assert!(inside.len() > 1, "{title}");
            for line in &inside {
                assert!(
                    !line.contains("XXX"),
                    "{title}: the list shows through: {line:?}"
                );
            }
            app.update(Msg::Action(Action::Back));
            app.mode = crate::app::Mode::Normal;
        }
    }

    /// A popup as big as the screen stays inside the panes' frame: the frame's corners and lines
    /// are not drawn over by the popup's own.
    #[test]
    fn popups_stay_inside_the_outer_frame() {
        use crate::app::{Action, Msg};
        let mut app = App::new(false);
        for (action, w, h) in [(Action::Help, 60, 14), (Action::MessageLog, 50, 10)] {
            app.update(Msg::Action(action));
            let buf = draw(&mut app, w, h);
            let main_bottom = h - 2;
            for (x, y, corner) in [
                (0, 0, "┌"),
                (w - 1, 0, "┐"),
                (0, main_bottom, "└"),
                (w - 1, main_bottom, "┘"),
            ] {
                assert_eq!(buf[(x, y)].symbol(), corner, "{action:?} at ({x}, {y})");
            }
            let left: String = (1..main_bottom).map(|y| buf[(0, y)].symbol()).collect();
            assert_eq!(left, "│".repeat(usize::from(main_bottom) - 1), "{action:?}");
            let row: String = (0..w).map(|x| buf[(x, 1)].symbol()).collect();
            assert!(
                row.contains('┌'),
                "{action:?}: the popup starts on the next row: {row}"
            );
            app.update(Msg::Action(Action::Back));
            app.mode = crate::app::Mode::Normal;
        }
    }
}
