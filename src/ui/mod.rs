//! The terminal front end: draws [`App`] with ratatui (one file per pane) and turns terminal events
//! into [`Msg`]s. It never waits on disk or network — the runtime does that and answers by channel.

pub mod activity;
pub mod borders;
pub mod cmdline;
pub mod composer;
pub mod contact;
pub mod event_loop;
pub mod folders;
pub mod help;
pub mod keymap;
mod lineedit;
pub mod list;
pub mod organization;
pub mod outbox;
pub mod people;
pub mod picker;
pub mod reader;
pub mod status;
pub mod text;
pub mod theme;
pub mod timeline;

use crate::app::{Action, App, InputKey, Mode, Msg, Pane, PickerPurpose};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use keymap::Keymap;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::Block;
use ratatui::Frame;
use theme::Theme;

/// Below this width one pane is shown at a time.
pub const MULTI_PANE_WIDTH: u16 = 100;
/// From this width the folder pane stays beside an open reader.
pub const THREE_PANE_WIDTH: u16 = 140;

/// What the UI keeps besides the app: look, keys, and where panes were drawn (for the mouse).
pub struct Ui {
    pub theme: Theme,
    /// Every theme `:theme` can switch to, read at start (the UI loop never reads files).
    pub themes: std::collections::BTreeMap<String, Result<Theme, String>>,
    pub keymap: Keymap,
    pub mouse: bool,
    areas: Vec<(Pane, Rect)>,
    /// The composer's body editor (interior: keys arrive through `&self`).
    body: std::cell::RefCell<composer::BodyEditor>,
}

impl Ui {
    pub fn new(theme: Theme, keymap: Keymap, mouse: bool) -> Ui {
        Ui {
            theme,
            themes: Default::default(),
            keymap,
            mouse,
            areas: Vec::new(),
            body: Default::default(),
        }
    }

    /// The themes `:theme` offers (see [`theme::load_all`]).
    pub fn with_themes(
        mut self,
        themes: std::collections::BTreeMap<String, Result<Theme, String>>,
    ) -> Ui {
        self.themes = themes;
        self
    }

    /// Wears theme `name` from those read at start; the answer says which, or why not.
    pub fn set_theme(&mut self, name: &str) -> Msg {
        Msg::ThemeSet(match self.themes.get(name) {
            Some(Ok(t)) => {
                self.theme = t.clone();
                Ok(name.to_string())
            }
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("no theme {name:?}")),
        })
    }

    /// A key press as a message: text for prompts, else whatever the keymap says.
    pub fn key(&self, app: &App, e: &KeyEvent) -> Option<Msg> {
        if let Some(c) = &app.compose {
            return self.body.borrow_mut().key(c, &self.keymap, e);
        }
        let typing = matches!(
            app.mode,
            Mode::Search { .. }
                | Mode::Command(_)
                | Mode::Picker(_)
                | Mode::SavePrompt { .. }
                | Mode::SelectPrompt { .. }
                | Mode::ConfirmDelete { .. }
        ) || app.people_confirming()
            || app.outbox_asking();
        if typing {
            // The links list copies with its own key (C-y); typing filters it as any picker.
            if matches!(&app.mode, Mode::Picker(p) if matches!(p.purpose, PickerPurpose::Link { .. }))
                && self.keymap.action(e) == Some(Action::CopyLink)
            {
                return Some(Msg::Action(Action::CopyLink));
            }
            // The sort key pressed again in its picker reverses the order.
            if matches!(&app.mode, Mode::Picker(p) if p.purpose == PickerPurpose::Sort)
                && self.keymap.action(e) == Some(Action::Sort)
            {
                return Some(Msg::Action(Action::Sort));
            }
            // Cursor keys belong to text being typed; a yes/no question ignores them as before.
            let editing = !matches!(app.mode, Mode::ConfirmDelete { .. })
                && !app.people_confirming()
                && !app.outbox_asking();
            if let Some(k) = keymap::line_edit_key(e).filter(|_| editing) {
                return Some(Msg::Input(k));
            }
            if e.modifiers.contains(KeyModifiers::CONTROL) {
                return match e.code {
                    KeyCode::Char('c') => Some(Msg::Input(InputKey::Esc)),
                    KeyCode::Char('u') => Some(Msg::Input(InputKey::Clear)),
                    KeyCode::Char('w') => Some(Msg::Input(InputKey::DeleteWord)),
                    _ => None,
                };
            }
            if e.code == KeyCode::BackTab {
                return Some(Msg::Input(InputKey::BackTab));
            }
            return keymap::input_key(e).map(Msg::Input);
        }
        if let Some(a) = self.keymap.action(e) {
            return Some(Msg::Action(a));
        }
        // In the list and reader an unbound key says so (mutt: "Key is not bound."), so a
        // mistyped key is not mistaken for one that did something unseen.
        let overlay =
            !app.people.is_empty() || app.outbox.is_some() || app.tracking.activity.is_some();
        if !matches!(app.mode, Mode::Normal) || overlay {
            return None;
        }
        keymap::spelling(e).map(|k| Msg::Notice(format!("key {k} is not bound (? for help)")))
    }

    /// A bracketed paste: into the composer's body as one edit (one undo step), into a field
    /// or prompt as text (line breaks as spaces). Elsewhere it is ignored: pasted text is never
    /// taken as keys.
    pub fn paste(&self, app: &App, text: &str) -> Vec<Msg> {
        if let Some(c) = &app.compose {
            if c.prompt.is_none() && c.focus == crate::app::compose::Field::Body {
                return self.body.borrow_mut().paste(c, text).into_iter().collect();
            }
        } else if matches!(app.mode, Mode::Normal) || app.people_confirming() {
            return Vec::new();
        }
        composer::one_line(text)
            .chars()
            .map(|ch| Msg::Input(InputKey::Char(ch)))
            .collect()
    }

    pub fn mouse(&self, app: &App, e: &MouseEvent) -> Option<Msg> {
        if !self.mouse
            || !matches!(app.mode, Mode::Normal)
            || !app.people.is_empty()
            || app.compose.is_some()
            || app.tracking.activity.is_some()
        {
            return None;
        }
        let (pane, area) = self.areas.iter().find(|(_, r)| {
            e.column >= r.x && e.column < r.x + r.width && e.row >= r.y && e.row < r.y + r.height
        })?;
        let row = (e.row - area.y) as usize;
        match e.kind {
            MouseEventKind::Down(_) => Some(Msg::Click { pane: *pane, row }),
            MouseEventKind::ScrollDown => Some(Msg::Scroll {
                pane: *pane,
                lines: 3,
            }),
            MouseEventKind::ScrollUp => Some(Msg::Scroll {
                pane: *pane,
                lines: -3,
            }),
            _ => None,
        }
    }

    /// Draws one frame from `app` (which keeps the list offset and pane heights it learns here).
    pub fn draw(&mut self, f: &mut Frame, app: &mut App) {
        let area = f.area();
        f.render_widget(
            Block::default().style(
                Style::default()
                    .bg(self.theme.background)
                    .fg(self.theme.foreground),
            ),
            area,
        );
        let [main, bar] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        app.heights.narrow = (main.width < MULTI_PANE_WIDTH).then_some(main.width);
        self.areas.clear();
        if let Some(c) = &app.compose {
            let editor = self.body.get_mut();
            composer::draw(f, main, c, editor, &self.keymap, &self.theme);
            status::draw(f, bar, app, &self.theme);
            return;
        }
        let panes = pane_layout(main, app);
        let mut focused_outline = None;
        for (i, &(pane, rect)) in panes.iter().enumerate() {
            if app.focus == pane {
                focused_outline = Some(borders::outline(i, rect));
            }
            let block = borders::pane_block(i, panes.len(), Style::default().fg(self.theme.border));
            let inner = block.inner(rect);
            self.areas.push((pane, inner));
            match pane {
                Pane::Folders => folders::draw(f, rect, block, app, &self.theme),
                Pane::List => list::draw(f, rect, block, app, &self.theme),
                Pane::Reader if app.reader.is_none() && app.tracking.timeline.is_some() => {
                    timeline::draw(f, rect, block, app, &self.theme)
                }
                Pane::Reader => reader::draw(f, rect, block, app, &self.theme),
            }
        }
        if let Some(outline) = focused_outline {
            let focus = Style::default().fg(self.theme.border_focus);
            borders::highlight(f.buffer_mut(), outline, focus);
        }
        if !app.people.is_empty() {
            people::draw(f, main, app, &self.keymap, &self.theme);
        }
        if app.tracking.activity.is_some() {
            activity::draw(f, main, app, &self.theme);
        }
        status::draw(f, bar, app, &self.theme);
        match &mut app.mode {
            Mode::Help { scroll } => {
                // Scrolling stops at the last binding, so `k` answers at once after many `j`s.
                *scroll = (*scroll).min(help::max_scroll(main));
                help::draw(f, main, *scroll, &self.keymap, &self.theme)
            }
            Mode::Picker(p) => picker::draw(f, main, p, &self.theme),
            Mode::Log { scroll } => {
                let mut s = *scroll;
                status::draw_log(f, main, app, &mut s, &self.theme);
                if let Mode::Log { scroll } = &mut app.mode {
                    *scroll = s;
                }
            }
            _ => {}
        }
        if let Some(v) = &app.outbox {
            outbox::draw(f, main, v, app.now, &self.keymap, &self.theme);
        }
        // Last: the command line opens over any view, the Outbox included.
        if let Mode::Command(c) = &app.mode {
            cmdline::draw_candidates(f, main, c, &self.theme);
        }
        if let (Mode::Search { .. } | Mode::SelectPrompt { .. }, Some(cycle)) =
            (&app.mode, &app.query_cycle)
        {
            let line = crate::app::CommandLine {
                cycle: Some(cycle.clone()),
                ..Default::default()
            };
            cmdline::draw_candidates(f, main, &line, &self.theme);
        }
    }
}

/// Which panes are visible and where: three side by side on a wide terminal, fewer as it narrows,
/// and only the focused one below [`MULTI_PANE_WIDTH`].
pub fn pane_layout(area: Rect, app: &App) -> Vec<(Pane, Rect)> {
    let reader_open = app.reader.is_some() || app.tracking.timeline.is_some();
    if app.reader_full && app.reader.is_some() && app.focus == Pane::Reader {
        return vec![(Pane::Reader, area)];
    }
    if area.width < MULTI_PANE_WIDTH {
        let pane = match app.focus {
            Pane::Reader if !reader_open => Pane::List,
            p => p,
        };
        return vec![(pane, area)];
    }
    let folder_w = Constraint::Length(24);
    if !reader_open {
        let [a, b] = Layout::horizontal([folder_w, Constraint::Min(40)]).areas(area);
        return vec![(Pane::Folders, a), (Pane::List, b)];
    }
    if area.width >= THREE_PANE_WIDTH || app.focus == Pane::Folders {
        let [a, b, c] = Layout::horizontal([
            folder_w,
            Constraint::Percentage(app.list_percent),
            Constraint::Min(40),
        ])
        .areas(area);
        return vec![(Pane::Folders, a), (Pane::List, b), (Pane::Reader, c)];
    }
    let [b, c] = Layout::horizontal([
        Constraint::Percentage(app.list_percent),
        Constraint::Min(40),
    ])
    .areas(area);
    vec![(Pane::List, b), (Pane::Reader, c)]
}
