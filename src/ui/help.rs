//! `?`: every binding, generated from the keymap in use (so rebinding shows here too).

use super::{keymap::Keymap, theme::Theme};
use crate::app::command::{ALIASES, ARG_COMMANDS};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn popup(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

/// Lines of the help: one per action, the commands, then the search language.
fn line_count() -> u16 {
    (crate::app::Action::ALL.len() + commands_len() + 2 + crate::app::SEARCH_SYNTAX.len()) as u16
}

/// The `:` section: a heading, one line per command with an argument, the aliases.
fn commands_len() -> usize {
    ARG_COMMANDS.len() + 2 + ALIASES.len().div_ceil(ALIASES_PER_LINE)
}

/// Aliases on one line of the 78-column popup.
const ALIASES_PER_LINE: usize = 3;

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
    let usage_w = ARG_COMMANDS
        .iter()
        .map(|c| c.usage.len())
        .max()
        .unwrap_or(8);
    lines.extend(ARG_COMMANDS.iter().map(|c| {
        Line::from(vec![
            Span::styled(
                format!(" {:<usage_w$}  ", c.usage),
                Style::default().fg(t.accent),
            ),
            Span::styled(c.help, Style::default().fg(t.foreground)),
        ])
    }));
    lines.extend(ALIASES.chunks(ALIASES_PER_LINE).map(|chunk| {
        let aliases: Vec<String> = chunk.iter().map(|(a, c)| format!(":{a} = :{c}")).collect();
        Line::styled(
            format!(" {}", aliases.join(" · ")),
            Style::default().fg(t.dim),
        )
    }));
    lines
}

/// How far the help can scroll in `area` before its last line leaves the bottom.
pub fn max_scroll(area: Rect) -> u16 {
    let rows = line_count() + 2;
    rows.saturating_sub(rows.min(area.height))
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
    let rect = popup(area, 78, line_count() + 2);
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
