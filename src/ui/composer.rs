//! The composer pane: header fields, attachments, address suggestions, the body in a
//! `ratatui-textarea` editor, and the leave / attach prompts. The app owns the draft; this keeps
//! the body's editing widget and reports its text back as `ComposeMsg::Body`.

use super::keymap::Keymap;
use super::theme::Theme;
use crate::app::compose::{ComposeMsg, Composer, Field, Prompt, SendCheck};
use crate::app::{Action, ComposeKind, InputKey, Msg};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use ratatui_textarea::{CursorMove, TextArea};

/// The body editor, rebuilt from the app's draft whenever the app replaces the body.
#[derive(Default)]
pub struct BodyEditor {
    rev: u64,
    message_id: String,
    area: TextArea<'static>,
    /// The body's size when last drawn: a resize starts the view over from the top left.
    size: (u16, u16),
}

impl BodyEditor {
    fn sync(&mut self, c: &Composer) {
        if self.rev != c.body_rev || self.message_id != c.draft.message_id {
            let lines: Vec<String> = c.draft.body.split('\n').map(str::to_string).collect();
            self.area = TextArea::new(lines);
            self.rev = c.body_rev;
            self.message_id = c.draft.message_id.clone();
        }
    }

    /// After a resize, scrolls the view back to the top left (the cursor kept where it is), so a
    /// narrow moment does not leave the body scrolled sideways at full width: drawing scrolls
    /// only as far as the cursor needs.
    fn fit(&mut self, body: Rect) {
        let size = (body.width, body.height);
        if self.size == size {
            return;
        }
        self.size = size;
        let (rows, cols) = self.area.scroll_offset();
        if (rows, cols) == (0, 0) {
            return;
        }
        let cursor = self.area.cursor();
        let back = |n: u16| -(i16::try_from(n).unwrap_or(i16::MAX));
        self.area.scroll((back(rows), back(cols)));
        let at = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        self.area
            .move_cursor(CursorMove::Jump(at(cursor.0), at(cursor.1)));
    }

    /// Inserts pasted `text` at the cursor as one edit (one undo step) and reports the body.
    /// Terminal control characters are dropped; line breaks of any style become `\n`.
    pub fn paste(&mut self, c: &Composer, text: &str) -> Option<Msg> {
        self.sync(c);
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let clean: String = text
            .chars()
            .filter(|ch| !ch.is_control() || matches!(ch, '\n' | '\t'))
            .collect();
        if !self.area.insert_str(clean) {
            return None;
        }
        Some(Msg::Compose(ComposeMsg::Body(self.area.lines().join("\n"))))
    }

    /// A key for the composer: its own actions through the keymap (keys with Ctrl/Alt, Esc, Tab),
    /// the body's editing keys to the editor, the rest as text for the focused field or prompt.
    pub fn key(&mut self, c: &Composer, keymap: &Keymap, e: &KeyEvent) -> Option<Msg> {
        // In a header field the one-line editor's readline keys come first (C-e is the end of
        // the line there, M-d deletes a word); the body and the prompts keep the composer's.
        let header = matches!(c.focus, Field::To | Field::Cc | Field::Bcc | Field::Subject);
        if c.prompt.is_none() && header {
            if let Some(k) = super::keymap::line_edit_key(e) {
                return Some(Msg::Input(k));
            }
            if e.modifiers == KeyModifiers::CONTROL && e.code == KeyCode::Char('w') {
                return Some(Msg::Input(InputKey::DeleteWord));
            }
        }
        if c.prompt.is_none() {
            let command_key = e
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                || matches!(e.code, KeyCode::Esc | KeyCode::Tab | KeyCode::BackTab);
            if command_key {
                if let Some(a) = keymap.action(e).filter(|a| COMPOSER_ACTIONS.contains(a)) {
                    return Some(Msg::Action(a));
                }
            }
            if c.focus == Field::Body {
                self.sync(c);
                if self.area.input(*e) {
                    return Some(Msg::Compose(ComposeMsg::Body(self.area.lines().join("\n"))));
                }
                return None;
            }
        }
        if e.modifiers.contains(KeyModifiers::CONTROL) {
            return match e.code {
                KeyCode::Char('u') => Some(Msg::Input(InputKey::Clear)),
                _ => None,
            };
        }
        super::keymap::input_key(e).map(Msg::Input)
    }
}

/// Pasted text for a one-line field or prompt: line breaks and tabs as spaces, control
/// characters dropped.
pub fn one_line(text: &str) -> String {
    // A CRLF is one line break, so one space.
    text.trim_end_matches(['\r', '\n'])
        .replace("\r\n", "\n")
        .chars()
        .filter_map(|ch| match ch {
            '\r' | '\n' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// The actions that mean something while composing.
pub const COMPOSER_ACTIONS: &[Action] = &[
    Action::Send,
    Action::EditExternal,
    Action::Attach,
    Action::RemoveAttachment,
    Action::SaveDraft,
    Action::SendLater,
    Action::InsertTemplate,
    Action::DiscardDraft,
    Action::ToggleTrackOpens,
    Action::ToggleTrackLinks,
    Action::ToggleRemind,
    Action::NextPane,
    Action::PrevPane,
    Action::Back,
    Action::Quit,
];

fn keys_for(keymap: &Keymap, a: Action) -> String {
    keymap
        .help_lines()
        .into_iter()
        .zip(Action::ALL)
        .find(|(_, x)| **x == a)
        .map(|((k, _), _)| k.split(' ').next().unwrap_or("").to_string())
        .unwrap_or_default()
}

pub fn draw(
    f: &mut Frame,
    area: Rect,
    c: &Composer,
    editor: &mut BodyEditor,
    keymap: &Keymap,
    t: &Theme,
) {
    editor.sync(c);
    let title = match c.kind {
        ComposeKind::New => " New message ",
        ComposeKind::Reply => " Reply ",
        ComposeKind::ReplyAll => " Reply all ",
        ComposeKind::Forward => " Forward ",
        ComposeKind::Recall => " Draft ",
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(t.border_focus))
        .title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    // The body keeps its title row and one line of text whatever the height: the hint line gives
    // way first, then the tracking line, then header rows (those up to the focused one stay).
    let spare = inner.height.saturating_sub(BODY_MIN_ROWS);
    let head_rows = spare.min(HEADER_ROWS);
    let tracking_rows = (spare - head_rows).min(1);
    let hint_rows = (spare - head_rows - tracking_rows).min(1);
    let [head, tracking, hints, body] = Layout::vertical([
        Constraint::Length(head_rows),
        Constraint::Length(tracking_rows),
        Constraint::Length(hint_rows),
        Constraint::Min(1),
    ])
    .areas(inner);
    editor.fit(body);

    let attachments = if c.draft.attachments.is_empty() {
        "(none)".to_string()
    } else {
        c.draft
            .attachments
            .iter()
            .map(|a| format!("{} ({} B)", a.filename, a.data.len()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let from = if c.accounts.len() > 1 {
        format!(
            "{} [{}] (Space: next account)",
            c.draft.from.display(),
            c.draft.account
        )
    } else {
        c.draft.from.display()
    };
    // Attachments never take the focus (nor typed text): the hint line gives their keys.
    let attach_label = "Attach";
    // The focused field is drawn by the one-line editor: the cursor where it is, a long value
    // scrolled sideways to keep it in view.
    let value = |field: Field, text: &str| match c.field_line().filter(|_| c.focus == field) {
        Some(line) => super::lineedit::around_cursor(
            &line,
            usize::from(head.width).saturating_sub(LABEL_WIDTH),
        ),
        None => (text.to_string(), String::new()),
    };
    let rows = [
        (
            Field::From.label(),
            Some(Field::From),
            (from, String::new()),
        ),
        (Field::To.label(), Some(Field::To), value(Field::To, &c.to)),
        (Field::Cc.label(), Some(Field::Cc), value(Field::Cc, &c.cc)),
        (
            Field::Bcc.label(),
            Some(Field::Bcc),
            value(Field::Bcc, &c.bcc),
        ),
        (
            Field::Subject.label(),
            Some(Field::Subject),
            value(Field::Subject, &c.draft.subject),
        ),
        (attach_label, None, (attachments, String::new())),
    ];
    let focus_row = rows
        .iter()
        .position(|(_, field, _)| *field == Some(c.focus) && c.focus != Field::Body)
        .unwrap_or(0) as u16;
    let first_row = (focus_row + 1).saturating_sub(head_rows);
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(first_row.into())
        .map(|(label, field, value)| {
            let focused = field.is_some_and(|f| c.focus == f);
            let label_style = if focused {
                Style::default().fg(t.accent).add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(t.header)
            };
            let label = Span::styled(format!("{label:>8}: "), label_style);
            let (before, after) = value;
            if !focused || field == Some(Field::From) {
                return Line::from(vec![label, Span::raw(before)]);
            }
            // The cursor mark in the accent colour, where the editor put it.
            Line::from(vec![
                label,
                Span::raw(before),
                Span::styled("▏", Style::default().fg(t.accent)),
                Span::raw(after),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), head);

    let mark = |on: bool| if on { "on " } else { "off" };
    let mut tracking_spans = vec![
        Span::styled(
            format!("{:>8}: ", "Tracking"),
            Style::default().fg(t.header),
        ),
        Span::raw(format!(
            "opens {} ({}) · links {} ({}) · remind {} ({})",
            mark(c.tracking.opens),
            keys_for(keymap, Action::ToggleTrackOpens),
            mark(c.tracking.links),
            keys_for(keymap, Action::ToggleTrackLinks),
            crate::app::followups::remind_label(c.remind),
            keys_for(keymap, Action::ToggleRemind),
        )),
    ];
    tracking_spans.extend(schedule_spans(c, t));
    let tracking_line = Line::from(tracking_spans);
    f.render_widget(Paragraph::new(tracking_line), tracking);

    let header = matches!(c.focus, Field::To | Field::Cc | Field::Bcc | Field::Subject);
    let hint = hint_line(keymap, hints.width, header);
    f.render_widget(
        Paragraph::new(Line::styled(hint, Style::default().fg(t.dim))),
        hints,
    );

    let mut body_block = Block::default().borders(Borders::TOP).title(" Body ");
    if c.focus == Field::Body {
        body_block = body_block.border_style(Style::default().fg(t.border_focus));
    } else {
        body_block = body_block.border_style(Style::default().fg(t.border));
    }
    editor.area.set_block(body_block);
    editor.area.set_cursor_line_style(Style::default());
    editor.area.set_cursor_style(if c.focus == Field::Body {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    });
    f.render_widget(&editor.area, body);
    if body.height > 0 {
        let style = Style::default().fg(t.border_focus);
        super::borders::tee(f.buffer_mut(), area, body.y, style);
    }

    if !c.suggestions.is_empty() {
        let row = match c.focus {
            Field::To => 1u16,
            Field::Cc => 2,
            _ => 3,
        }
        .saturating_sub(first_row);
        let width = c.suggestions.iter().map(|s| s.len()).max().unwrap_or(10) as u16 + 4;
        let pop = Rect {
            x: head.x + 10,
            y: head.y + row + 1,
            width: width.min(inner.width.saturating_sub(10)),
            height: (c.suggestions.len() as u16 + 2).min(inner.height.saturating_sub(row + 1)),
        };
        let lines: Vec<Line> = c
            .suggestions
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let style = if i == c.suggestion {
                    Style::default().bg(t.selection_bg).fg(t.selection_fg)
                } else {
                    Style::default()
                };
                Line::styled(s.clone(), style)
            })
            .collect();
        f.render_widget(Clear, pop);
        f.render_widget(
            Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" ↓↑ Enter ")),
            pop,
        );
    }

    if let Some(p) = &c.prompt {
        let (title, text) = match p {
            Prompt::Leave => (
                " Unsent draft ",
                "s: save draft   d: discard   c: cancel".to_string(),
            ),
            Prompt::Attach(input) => (
                " Attach file (Tab completes, Enter attaches) ",
                format!("{input}▏"),
            ),
            Prompt::SendAt(input) => (
                " Send at (tomorrow 09:00, 2026-12-08 09:00, in 2h; Enter schedules) ",
                format!("{input}▏"),
            ),
            Prompt::Unfilled(names) => (
                " Unfilled placeholders ",
                format!(
                    "{} still in the text: y send anyway · n back to writing",
                    names
                        .iter()
                        .map(|n| format!("{{{n}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Prompt::SendAnyway(check) => (
                " Send anyway? ",
                match check {
                    SendCheck::NoSubject => "Send without a subject? y send · n back to writing",
                    _ => "Send with no text and no attachment? y send · n back to writing",
                }
                .to_string(),
            ),
            Prompt::Templates(pick) => {
                draw_template_picker(f, inner, pick, t);
                return;
            }
        };
        let width = (inner.width.saturating_sub(4)).min(70);
        let pop = Rect {
            x: inner.x + (inner.width.saturating_sub(width)) / 2,
            y: inner.y + inner.height / 2,
            width,
            height: 3.min(inner.height),
        };
        f.render_widget(Clear, pop);
        f.render_widget(
            Paragraph::new(text).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(t.accent))
                    .title(title),
            ),
            pop,
        );
    }
}

/// A header row's label column: "Subject: ".
const LABEL_WIDTH: usize = 10;
/// Header rows: From, To, Cc, Bcc, Subject, Attach.
const HEADER_ROWS: u16 = 6;
/// The body's title row and one line of text.
const BODY_MIN_ROWS: u16 = 2;

/// The composer's keys in one line of at most `width` columns: at narrow widths the least needed
/// give way, and sending and leaving stay longest.
/// In a header field the line editor's keys come first: a composer key it takes (C-e, M-d by
/// default) is not offered there.
fn hint_line(keymap: &Keymap, width: u16, header: bool) -> String {
    let key = |a| keys_for(keymap, a);
    // (text, rank): the highest rank gives way first.
    let parts = [
        (format!("{} send", key(Action::Send)), 0),
        (format!("{} save draft", key(Action::SaveDraft)), 3),
        (format!("{} $EDITOR", key(Action::EditExternal)), 4),
        (format!("{} attach", key(Action::Attach)), 2),
        (format!("{} unattach", key(Action::RemoveAttachment)), 5),
        ("Tab next field".to_string(), 1),
        ("Esc leave".to_string(), 0),
    ];
    let taken = |text: &str| {
        let key = text
            .split(' ')
            .next()
            .and_then(|k| super::keymap::parse_key(k).ok());
        header
            && key.is_some_and(|k| {
                super::keymap::line_edit_key(&KeyEvent::new(k.code, k.mods)).is_some()
            })
    };
    let mut keep_below = 6;
    loop {
        let line = parts
            .iter()
            .filter(|(text, rank)| *rank < keep_below && !taken(text))
            .map(|(text, _)| text.as_str())
            .collect::<Vec<_>>()
            .join(" · ");
        if line.chars().count() <= usize::from(width) || keep_below <= 1 {
            return line;
        }
        keep_below -= 1;
    }
}

/// " · sends Tue 08 Dec 09:00" and the unfilled placeholders of a template, highlighted.
fn schedule_spans(c: &Composer, t: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if let Some(at) = c
        .send_at
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
    {
        spans.push(Span::styled(
            format!(
                " · sends {}",
                at.with_timezone(&chrono::Local).format("%a %d %b %H:%M")
            ),
            Style::default().fg(t.accent),
        ));
    }
    let unfilled = c.unfilled();
    if !unfilled.is_empty() {
        let names: Vec<String> = unfilled.iter().map(|n| format!("{{{n}}}")).collect();
        spans.push(Span::styled(
            format!(" · unfilled: {}", names.join(" ")),
            Style::default()
                .fg(t.selection_fg)
                .bg(t.selection_bg)
                .add_modifier(Modifier::BOLD),
        ));
    }
    spans
}

/// The template picker over the composer: what is typed, then the matching templates.
fn draw_template_picker(
    f: &mut Frame,
    inner: Rect,
    pick: &crate::app::compose::TemplatePick,
    t: &Theme,
) {
    let width = (inner.width.saturating_sub(4)).min(60);
    let height = (pick.matches.len() as u16 + 3)
        .min(inner.height.saturating_sub(2))
        .max(3);
    let pop = Rect {
        x: inner.x + (inner.width.saturating_sub(width)) / 2,
        y: inner.y + 2,
        width,
        height,
    };
    let mut lines = vec![Line::raw(format!("{}▏", pick.input))];
    for (row, &i) in pick.matches.iter().enumerate() {
        let (name, filled) = &pick.items[i];
        let note = if filled.unfilled.is_empty() {
            String::new()
        } else {
            format!("  ({} unfilled)", filled.unfilled.len())
        };
        let style = if row == pick.cursor {
            Style::default().bg(t.selection_bg).fg(t.selection_fg)
        } else {
            Style::default()
        };
        lines.push(Line::styled(format!("{name}{note}"), style));
    }
    f.render_widget(Clear, pop);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::default().fg(t.accent))
                .title(" Template (type to filter, Enter inserts) "),
        ),
        pop,
    );
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_header_field_does_not_offer_the_keys_its_line_editor_takes() {
        let keymap = super::Keymap::default();
        let body = super::hint_line(&keymap, 200, false);
        assert!(body.contains("C-e $EDITOR"), "{body}");
        let header = super::hint_line(&keymap, 200, true);
        assert!(!header.contains("$EDITOR"), "{header}");
        assert!(header.contains("C-s send"), "{header}");
    }

    #[test]
    fn pasted_text_for_a_field_is_one_line_without_controls() {
        assert_eq!(one_line("dana@acme.test\r\n"), "dana@acme.test");
        assert_eq!(one_line("a\nb\tc\u{1b}[31m"), "a b c[31m");
    }
}
