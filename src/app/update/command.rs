//! The `:` command line in the update step: it opens from `:` wherever keys reach the app (not
//! in the composer, whose keys are text), takes every key while open, and runs the line on Enter.
//! An action command goes through the same dispatch as its key; the argument commands are here.

use crate::app::action::Action;
use crate::app::command::{self, Command, CommandLine, Sources};
use crate::app::input::{InputKey, LineInput};
use crate::app::msg::{Effect, Msg, UiEffect};
use crate::app::state::App;
use crate::app::view::{Change, Mode, Pane};

/// What the status bar says when Tab has nothing for the line.
const NO_COMPLETION: &str = "no completion";

impl App {
    pub(super) fn command_update(&mut self, msg: Msg) -> Result<Vec<Effect>, Box<Msg>> {
        match msg {
            Msg::Action(Action::CommandLine)
                if self.compose.is_none()
                    && matches!(self.mode, Mode::Normal)
                    && !self.people_confirming()
                    && !self.outbox_asking() =>
            {
                self.mode = Mode::Command(CommandLine::default());
                Ok(Vec::new())
            }
            Msg::Input(k) if matches!(self.mode, Mode::Command(_)) => Ok(self.command_key(k)),
            Msg::ThemeSet(Ok(name)) => {
                self.status = Some(format!("theme {name}"));
                self.theme = name;
                Ok(Vec::new())
            }
            Msg::ThemeSet(Err(e)) => {
                self.last_error = Some(e);
                Ok(Vec::new())
            }
            other => Err(Box::new(other)),
        }
    }

    /// Folders of the current account as the folder pane names them (what `m` offers too).
    fn account_folders(&self) -> Vec<String> {
        let Some(account) = self.current_account() else {
            return Vec::new();
        };
        self.list
            .folders
            .iter()
            .filter(|f| f.account == account)
            .map(|f| crate::mail::mailbox_name::display(&f.name).into_owned())
            .collect()
    }

    fn accounts(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for f in &self.list.folders {
            if !names.contains(&f.account) {
                names.push(f.account.clone());
            }
        }
        names
    }

    /// Tab / Shift-Tab in `/` and `V`: completes the query's last word as `:search` does, the
    /// candidates cycling in `query_cycle`. False when nothing completes.
    pub(super) fn tab_query(&mut self, input: &mut LineInput, forward: bool) -> bool {
        const AS_SEARCH: &str = "search ";
        let (folders, accounts) = (self.account_folders(), self.accounts());
        let src = Sources {
            folders: &folders,
            themes: &self.themes,
            accounts: &accounts,
        };
        let cycling = self.query_cycle.is_some();
        let (before, after) = input.split_at(input.cursor());
        let mut line = CommandLine {
            input: LineInput::joined(format!("{AS_SEARCH}{before}"), after),
            cycle: self.query_cycle.take(),
            ..Default::default()
        };
        if !line.tab(forward, src) {
            return false;
        }
        let cursor = line.input.cursor().saturating_sub(AS_SEARCH.len());
        let text = line.input.strip_prefix(AS_SEARCH).unwrap_or_default();
        input.replace(LineInput::at(text, cursor), cycling);
        self.query_cycle = line.cycle;
        true
    }

    /// The prompt's own note goes with it; a note from before the prompt opened stays.
    fn drop_no_completion(&mut self) {
        if self.status.as_deref() == Some(NO_COMPLETION) {
            self.status = None;
        }
    }

    fn command_key(&mut self, key: InputKey) -> Vec<Effect> {
        let Mode::Command(mut line) = std::mem::replace(&mut self.mode, Mode::Normal) else {
            return Vec::new();
        };
        match key {
            InputKey::Esc => {
                self.drop_no_completion();
                Vec::new()
            }
            InputKey::Enter => {
                command::remember(&mut self.command_history, &line.input);
                self.run_command(&line.input)
            }
            InputKey::Tab | InputKey::BackTab => {
                let (folders, accounts) = (self.account_folders(), self.accounts());
                let src = Sources {
                    folders: &folders,
                    themes: &self.themes,
                    accounts: &accounts,
                };
                if !line.tab(key == InputKey::Tab, src) {
                    self.status = Some(NO_COMPLETION.into());
                }
                self.mode = Mode::Command(line);
                Vec::new()
            }
            InputKey::Up | InputKey::Down => {
                line.walk_history(key == InputKey::Up, &self.command_history);
                self.mode = Mode::Command(line);
                Vec::new()
            }
            // Backspace on an empty line leaves it, as in vim and aerc.
            InputKey::Backspace if line.input.is_empty() => Vec::new(),
            _ => {
                let before = line.input.to_string();
                line.input.edit(key);
                if *line.input == *before {
                    // The cursor moved: the cycle and the history walk go on from here.
                    self.mode = Mode::Command(line);
                    return Vec::new();
                }
                line.cycle = None;
                line.history_at = None;
                self.status = None;
                self.mode = Mode::Command(line);
                Vec::new()
            }
        }
    }

    /// Runs a typed line: errors are one line in the status bar, and nothing else happens.
    pub(super) fn run_command(&mut self, line: &str) -> Vec<Effect> {
        self.status = None;
        self.last_error = None;
        match command::parse(line) {
            Ok(None) => Vec::new(),
            Err(e) => {
                self.last_error = Some(e.to_string());
                Vec::new()
            }
            Ok(Some(cmd)) => self.command(cmd),
        }
    }

    fn command(&mut self, cmd: Command) -> Vec<Effect> {
        match cmd {
            // What `q` means (back, quit from the list) is decided in `update`; from here too.
            Command::Action(Action::BackOrQuit) => {
                self.back_may_quit = true;
                self.update_views(Msg::Action(Action::Back))
            }
            Command::Action(a) => self.update_views(Msg::Action(a)),
            Command::Sort { key, reverse } => self.update_views(Msg::SortBy { key, reverse }),
            Command::Select { query, select } => {
                self.update_views(Msg::SelectMatching { query, select })
            }
            Command::Search(q) => {
                self.list.search = Some(q);
                self.focus = Pane::List;
                self.reload(true)
            }
            Command::Theme(None) => {
                self.status = Some(format!("theme {}", self.theme));
                Vec::new()
            }
            Command::Theme(Some(name)) => {
                if self.themes.contains(&name) {
                    vec![Effect::Ui(UiEffect::Theme(name))]
                } else {
                    self.last_error = Some(format!(
                        "no theme {name:?} (themes: {})",
                        self.themes.join(", ")
                    ));
                    Vec::new()
                }
            }
            Command::Move(name) => {
                let Some(folder) = self.folder_named(&name) else {
                    return Vec::new();
                };
                let ids = self.targets();
                if ids.is_empty() {
                    self.status = Some("no message to move".into());
                    return Vec::new();
                }
                let label = format!("moved to {folder}");
                self.move_ids(ids, Change::Move(folder), &label)
            }
            Command::Folder(name) => match self.folder_named(&name) {
                Some(folder) => {
                    let account = self.current_account().unwrap_or_default().to_string();
                    self.open_folder(&account, &folder)
                }
                None => Vec::new(),
            },
            Command::Account(name) => {
                let accounts = self.accounts();
                let found = accounts
                    .iter()
                    .find(|a| **a == name)
                    .or_else(|| accounts.iter().find(|a| a.eq_ignore_ascii_case(&name)));
                let Some(account) = found.cloned() else {
                    self.last_error = Some(format!(
                        "no account {name:?} (accounts: {})",
                        accounts.join(", ")
                    ));
                    return Vec::new();
                };
                let inbox = self
                    .list
                    .folders
                    .iter()
                    .filter(|f| f.account == account)
                    .find(|f| {
                        f.role.as_deref() == Some("inbox") || f.name.eq_ignore_ascii_case("INBOX")
                    })
                    .or_else(|| self.list.folders.iter().find(|f| f.account == account))
                    .map(|f| crate::mail::mailbox_name::display(&f.name).into_owned());
                match inbox {
                    Some(folder) => self.open_folder(&account, &folder),
                    None => Vec::new(),
                }
            }
        }
    }

    /// A folder of the current account by the name typed: as shown, else ignoring case when
    /// that names one folder. Otherwise the error says so and `None` comes back.
    fn folder_named(&mut self, typed: &str) -> Option<String> {
        let folders = self.account_folders();
        let found = folders.iter().find(|f| *f == typed).or_else(|| {
            let mut same = folders.iter().filter(|f| f.eq_ignore_ascii_case(typed));
            match (same.next(), same.next()) {
                (Some(f), None) => Some(f),
                _ => None,
            }
        });
        if found.is_none() {
            self.last_error = Some(match self.current_account() {
                Some(a) => format!("no folder {typed:?} in account {a}; nothing moved or opened"),
                None => "no account is open yet".into(),
            });
        }
        found.cloned()
    }

    /// Opens a folder (named as shown) as Enter in the folder pane does.
    fn open_folder(&mut self, account: &str, shown: &str) -> Vec<Effect> {
        let Some(i) = self.list.folders.iter().position(|f| {
            f.account == account && crate::mail::mailbox_name::display(&f.name) == shown
        }) else {
            return Vec::new();
        };
        self.list.folder_cursor = i;
        self.focus = Pane::Folders;
        self.update_views(Msg::Action(Action::Open))
    }
}

#[cfg(test)]
mod tests {
    use crate::app::action::Action;
    use crate::app::input::InputKey;
    use crate::app::msg::{Effect, Msg, UiEffect};
    use crate::app::sort::SortKey;
    use crate::app::state::App;
    use crate::app::view::{test_summary, Change, FolderEntry, Mode, Pane, Row};

    fn folder(account: &str, name: &str, role: Option<&str>) -> FolderEntry {
        FolderEntry {
            account: account.into(),
            name: name.into(),
            role: role.map(String::from),
            total: 1,
            unread: 0,
        }
    }

    fn app() -> App {
        let mut app = App::new(false);
        app.update(Msg::FoldersLoaded(Ok(vec![
            folder("w", "INBOX", Some("inbox")),
            folder("w", "Archive", Some("archive")),
            folder("w", "Projects/Acme", None),
            folder("home", "Lists", None),
            folder("home", "INBOX", Some("inbox")),
        ])));
        app.list.rows = (1..=3)
            .map(|id| Row::new(test_summary(id, id, &format!("message {id}"))))
            .collect();
        app.themes = vec!["default".into(), "gruvbox".into()];
        app
    }

    fn type_line(app: &mut App, keys: &str) -> Vec<Effect> {
        let mut fx = app.update(Msg::Action(Action::CommandLine));
        for c in keys.chars() {
            let k = match c {
                '\t' => InputKey::Tab,
                '\n' => InputKey::Enter,
                c => InputKey::Char(c),
            };
            fx.extend(app.update(Msg::Input(k)));
        }
        fx
    }

    #[test]
    fn a_command_does_what_its_key_does() {
        let mut app = app();
        let fx = type_line(&mut app, "arch\t\n");
        assert!(matches!(app.mode, Mode::Normal));
        assert!(
            fx.iter().any(|e| matches!(
                e,
                Effect::Triage { change: Change::Archive, ids, .. } if ids == &[1]
            )),
            "{fx:?}"
        );
        assert_eq!(
            app.status.as_deref(),
            Some("1 message archived (z to undo)")
        );
        // Where the key says something, so does the command.
        type_line(&mut app, "reader_fullscreen\n");
        assert_eq!(app.status.as_deref(), Some("open a message first"));
        type_line(&mut app, "q\n");
        assert!(app.quit, ":q quits from the list as q does");
    }

    #[test]
    fn move_completes_folders_and_refuses_an_unknown_one() {
        let mut app = app();
        let fx = type_line(&mut app, "mo\tArc\t\n");
        assert!(
            fx.iter().any(|e| matches!(
                e,
                Effect::Triage { change: Change::Move(f), .. } if f == "Archive"
            )),
            "{fx:?}"
        );
        assert_eq!(app.command_history, vec!["move Archive".to_string()]);
        let rows = app.list.rows.len();
        let fx = type_line(&mut app, "move Nowhere\n");
        assert!(fx.is_empty());
        assert_eq!(app.list.rows.len(), rows, "nothing moved");
        assert_eq!(
            app.last_error.as_deref(),
            Some("no folder \"Nowhere\" in account w; nothing moved or opened")
        );
        let fx = type_line(&mut app, "arhcive\n");
        assert!(fx.is_empty());
        assert_eq!(
            app.last_error.as_deref(),
            Some("unknown command :arhcive — did you mean :archive?")
        );
    }

    #[test]
    fn folder_account_search_and_theme_commands() {
        let mut app = app();
        type_line(&mut app, "cf projects/acme\n");
        assert_eq!(app.list.current, Some(("w".into(), "Projects/Acme".into())));
        assert_eq!(app.focus, Pane::List);
        type_line(&mut app, "account ho\t\n");
        assert_eq!(app.list.current, Some(("home".into(), "INBOX".into())));
        type_line(&mut app, "search from:dana is:unread\n");
        assert_eq!(app.list.search.as_deref(), Some("from:dana is:unread"));

        let fx = type_line(&mut app, "theme gr\t\n");
        assert!(
            matches!(&fx[..], [Effect::Ui(UiEffect::Theme(t))] if t == "gruvbox"),
            "{fx:?}"
        );
        app.update(Msg::ThemeSet(Ok("gruvbox".into())));
        type_line(&mut app, "theme\n");
        assert_eq!(app.status.as_deref(), Some("theme gruvbox"));
        let fx = type_line(&mut app, "theme neon\n");
        assert!(fx.is_empty());
        assert_eq!(
            app.last_error.as_deref(),
            Some("no theme \"neon\" (themes: default, gruvbox)")
        );
    }

    #[test]
    fn sort_select_and_unselect_go_to_the_list_engine() {
        let mut app = app();
        let fx = type_line(&mut app, "sort subj\t reverse\n");
        assert!(
            fx.iter().any(|e| matches!(
                e,
                Effect::LoadMessages { sort, .. }
                    if sort.key == SortKey::Subject && sort.reverse
            )),
            "{fx:?}"
        );
        assert_eq!(app.list.sort.key, SortKey::Subject);
        let fx = type_line(&mut app, "select from:dana\n");
        assert!(
            fx.iter().any(|e| matches!(
                e,
                Effect::SelectMatching { pattern, select: true, .. } if pattern == "from:dana"
            )),
            "{fx:?}"
        );
        app.list.marked.extend([1, 2]);
        assert!(type_line(&mut app, "unselect\n").is_empty());
        assert!(
            app.list.marked.is_empty(),
            ":unselect alone clears the selection"
        );
        type_line(&mut app, "sort sideways\n");
        assert_eq!(
            app.last_error.as_deref(),
            Some("usage: :sort date|from|subject|size [reverse]")
        );
    }

    #[test]
    fn the_cursor_moves_in_the_line_and_in_the_search_and_select_prompts() {
        let mut app = app();
        type_line(&mut app, "foo");
        app.update(Msg::Input(InputKey::Left));
        app.update(Msg::Input(InputKey::Char('Z')));
        assert!(matches!(&app.mode, Mode::Command(c) if *c.input == *"foZo"));
        app.update(Msg::Input(InputKey::Esc));
        for open in [Action::Search, Action::SelectPattern] {
            app.update(Msg::Action(open));
            for k in [InputKey::Char('a'), InputKey::Char('c'), InputKey::Home] {
                app.update(Msg::Input(k));
            }
            app.update(Msg::Input(InputKey::Char('b')));
            let input = match &app.mode {
                Mode::Search { input } | Mode::SelectPrompt { input } => input.to_string(),
                m => panic!("{m:?}"),
            };
            assert_eq!(input, "bac");
            app.update(Msg::Input(InputKey::Esc));
        }
    }

    /// The `/` or `V` prompt's text and cursor.
    fn prompt_line(app: &App) -> (String, usize) {
        match &app.mode {
            Mode::Search { input } | Mode::SelectPrompt { input } => {
                (input.to_string(), input.cursor())
            }
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn tab_completes_the_search_and_select_prompts_as_the_search_command() {
        let mut app = app();
        for open in [Action::Search, Action::SelectPattern] {
            app.update(Msg::Action(open));
            for c in "is:u".chars() {
                app.update(Msg::Input(InputKey::Char(c)));
            }
            app.update(Msg::Input(InputKey::Tab));
            let input = match &app.mode {
                Mode::Search { input } | Mode::SelectPrompt { input } => input.to_string(),
                m => panic!("Tab keeps the prompt open: {m:?}"),
            };
            assert_eq!(input, "is:unread");
            app.update(Msg::Input(InputKey::Char(' ')));
            app.update(Msg::Input(InputKey::Char('i')));
            app.update(Msg::Input(InputKey::Char('s')));
            app.update(Msg::Input(InputKey::Char(':')));
            app.update(Msg::Input(InputKey::Tab));
            let cycle = app.query_cycle.clone().expect("candidates shown");
            assert!(cycle.completions.items.len() > 1, "{cycle:?}");
            app.update(Msg::Input(InputKey::BackTab));
            assert_ne!(app.query_cycle.as_ref().map(|c| c.index), Some(cycle.index));
            app.update(Msg::Input(InputKey::Esc));
            assert_eq!(app.query_cycle, None, "closing the prompt drops them");
            // In the middle of the query: the word at the cursor, what follows kept.
            app.update(Msg::Action(open));
            for c in "is:u from:dana".chars() {
                app.update(Msg::Input(InputKey::Char(c)));
            }
            app.update(Msg::Input(InputKey::WordLeft));
            app.update(Msg::Input(InputKey::WordLeft));
            app.update(Msg::Input(InputKey::Left));
            app.update(Msg::Input(InputKey::Tab));
            let (input, cursor) = prompt_line(&app);
            assert_eq!(input, "is:unread from:dana");
            assert_eq!(&input[cursor..], " from:dana");
            app.update(Msg::Input(InputKey::Esc));
            // A new word typed before the query's first: nothing after the cursor is lost.
            app.update(Msg::Action(open));
            for c in "from:dana has:attachment".chars() {
                app.update(Msg::Input(InputKey::Char(c)));
            }
            app.update(Msg::Input(InputKey::Home));
            for c in "is:unr".chars() {
                app.update(Msg::Input(InputKey::Char(c)));
            }
            app.update(Msg::Input(InputKey::Tab));
            let (input, cursor) = prompt_line(&app);
            assert_eq!(input, "is:unread from:dana has:attachment");
            assert_eq!(&input[cursor..], " from:dana has:attachment");
            // C-_ takes the completion back, past a Tab that changed nothing.
            app.update(Msg::Input(InputKey::Tab));
            app.update(Msg::Input(InputKey::Undo));
            let (input, cursor) = prompt_line(&app);
            assert_eq!(input, "is:unrfrom:dana has:attachment");
            assert_eq!(&input[..cursor], "is:unr");
            app.update(Msg::Input(InputKey::Esc));
        }
        assert_eq!(app.list.search, None);
    }

    #[test]
    fn keys_typed_into_the_line_never_reach_the_list_and_esc_cancels() {
        let mut app = app();
        let fx = type_line(&mut app, "dj");
        assert!(fx.is_empty());
        assert_eq!(app.list.rows.len(), 3);
        assert_eq!(app.list.cursor, 0);
        app.update(Msg::Input(InputKey::DeleteWord));
        assert!(matches!(&app.mode, Mode::Command(c) if c.input.is_empty()));
        app.update(Msg::Input(InputKey::Char('x')));
        app.update(Msg::Input(InputKey::Esc));
        assert!(matches!(app.mode, Mode::Normal));
        assert!(
            app.command_history.is_empty(),
            "a cancelled line is not kept"
        );
        // What Tab said goes with the prompt.
        type_line(&mut app, "xyzzyplugh");
        app.update(Msg::Input(InputKey::Tab));
        assert_eq!(app.status.as_deref(), Some("no completion"));
        app.update(Msg::Input(InputKey::Esc));
        assert_eq!(app.status, None);

        // The mouse key (or :toggle_mouse) reaches the UI from any view, as it did before the
        // key went through the app.
        for mode in [Mode::Help { scroll: 0 }, Mode::Normal] {
            app.mode = mode;
            app.outbox = Some(Default::default());
            let fx = app.update(Msg::Action(Action::ToggleMouse));
            assert!(
                matches!(&fx[..], [Effect::Ui(UiEffect::ToggleMouse)]),
                "{fx:?}"
            );
        }
        app.outbox = None;
        type_line(&mut app, "toggle_mouse");
        let fx = app.update(Msg::Input(InputKey::Enter));
        assert!(
            matches!(&fx[..], [Effect::Ui(UiEffect::ToggleMouse)]),
            "{fx:?}"
        );

        // Over a view that takes every key (the Outbox), `:` still opens the line.
        app.outbox = Some(Default::default());
        app.update(Msg::Action(Action::CommandLine));
        assert!(matches!(app.mode, Mode::Command(_)));
        app.update(Msg::Input(InputKey::Char('q')));
        assert!(app.outbox.is_some(), "a typed q is text: the Outbox stays");
    }
}
