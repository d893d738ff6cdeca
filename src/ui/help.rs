//! `?`: every binding, generated from the keymap in use (so rebinding shows here too).

use super::{keymap::Keymap, theme::Theme};
use crate::app::command::{ALIASES, ARG_COMMANDS};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn popup(area: Rect, width: u16, height: u16) -> Rect {
    // Inside the panes' outer frame: a popup as big as the screen leaves the frame's lines and
    // corners alone rather than drawing its own over them.
    let area = area.inner(ratatui::layout::Margin::new(1, 1));
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

const HELP_WIDTH: u16 = 78;

/// Lines of the help: one per action, the commands, then the search language.
fn line_count() -> u16 {
    (crate::app::Action::ALL.len() + commands_len() + 2 + crate::app::SEARCH_SYNTAX.len()) as u16
}

/// The `:` section: a blank line and a heading, then the commands with an argument and the
/// aliases, run together in as few lines as fit (the help is long; docs/commands.md has it all).
fn commands_len() -> usize {
    2 + command_text().len()
}

/// Width of a line of the help's text (the popup is 78 wide).
const TEXT_WIDTH: usize = 74;

/// The argument commands (with their aliases) and the other aliases, wrapped to [`TEXT_WIDTH`].
fn command_text() -> Vec<String> {
    let aliases_of = |name: &str| -> Vec<&str> {
        ALIASES
            .iter()
            .filter(|(_, c)| *c == name)
            .map(|(a, _)| *a)
            .collect()
    };
    let usages = ARG_COMMANDS.iter().map(|c| match aliases_of(c.name)[..] {
        [] => c.usage.to_string(),
        ref short => format!("{} (:{})", c.usage, short.join(", :")),
    });
    let others = ALIASES
        .iter()
        .filter(|(_, c)| !ARG_COMMANDS.iter().any(|a| a.name == *c))
        .map(|(a, c)| format!(":{a} = :{c}"));
    let mut lines: Vec<String> = Vec::new();
    for item in usages.chain(others) {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 3 + item.chars().count() <= TEXT_WIDTH => {
                l.push_str(" · ");
                l.push_str(&item);
            }
            _ => lines.push(item),
        }
    }
    lines
}

fn command_lines(t: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::default(),
        Line::styled(
            " Commands (:): every action above by its name (:archive), and",
            Style::default()
                .fg(t.foreground)
                .add_modifier(Modifier::BOLD),
        ),
    ];
    lines.extend(
        command_text()
            .into_iter()
            .map(|l| Line::styled(format!(" {l}"), Style::default().fg(t.accent))),
    );
    lines
}

/// How far the help can scroll in `area` before its last line leaves the bottom.
pub fn max_scroll(area: Rect) -> u16 {
    let rows = line_count() + 2;
    rows.saturating_sub(popup(area, HELP_WIDTH, rows).height)
}

pub fn draw(f: &mut Frame, area: Rect, scroll: u16, keymap: &Keymap, t: &Theme) {
    let entries = keymap.help_lines();
    let key_w = entries
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(8)
        .min(22);
    let lines: Vec<Line> = entries
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {:<key_w$}  ", keys),
                    Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
                ),
                Span::styled(*what, Style::default().fg(t.foreground)),
            ])
        })
        .collect();
    let mut lines = lines;
    lines.extend(command_lines(t));
    lines.push(Line::default());
    lines.push(Line::styled(
        " Search (/, and `tidings list --search`): terms are ANDed",
        Style::default()
            .fg(t.foreground)
            .add_modifier(Modifier::BOLD),
    ));
    let syntax_w = crate::app::SEARCH_SYNTAX
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(8);
    lines.extend(crate::app::SEARCH_SYNTAX.iter().map(|(syntax, what)| {
        Line::from(vec![
            Span::styled(
                format!(" {syntax:<syntax_w$}  "),
                Style::default().fg(t.accent),
            ),
            Span::styled(*what, Style::default().fg(t.foreground)),
        ])
    }));
    let rect = popup(area, HELP_WIDTH, line_count() + 2);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .style(Style::default().bg(t.background))
            .scroll((scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(t.border_focus))
                    .title(" Keys (j/k scroll, any other key closes) "),
            ),
        rect,
    );
}
