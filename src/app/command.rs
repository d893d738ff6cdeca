//! The `:` command line, as aerc has it: a typed line becomes a [`Command`]. Every action of the
//! keymap's table (`app::action`) is a command by its name, so keys and commands can never
//! disagree; a few commands take an argument ([`ARG_COMMANDS`]) and a few have aerc's short names
//! ([`ALIASES`]). Completion and the "did you mean" for a mistyped name live here too. Pure: the
//! folders, themes and accounts to complete against come from the caller.

use super::action::Action;
use super::fuzzy;
use super::input::LineInput;
use super::sort::SortKey;
// The line's state is a view type (`Mode::Command` holds it); its editing is here.
pub use super::view::{CommandLine, Completions, Cycle};
use std::fmt;

/// What a line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Whatever the action's key does where the user is.
    Action(Action),
    /// Moves the selection (or the message under the cursor) to a folder of the account.
    Move(String),
    /// Opens a folder of the current account.
    Folder(String),
    /// Switches the theme; `None` names the one in use.
    Theme(Option<String>),
    /// Searches as `/` does, in the search language.
    Search(String),
    /// Opens an account's INBOX.
    Account(String),
    /// Sorts the list.
    Sort { key: SortKey, reverse: bool },
    /// Selects (or unselects) the listed messages matching a search; an empty unselect, all.
    Select { query: String, select: bool },
}

/// What a command takes after its name, and so what Tab completes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Folder,
    Theme,
    Account,
    /// A sort key, then `reverse`.
    SortKey,
    /// Free text (a search query): nothing to complete.
    Text,
}

/// A command with an argument, for parsing, completion and the help.
pub struct ArgCommand {
    pub name: &'static str,
    pub kind: ArgKind,
    pub usage: &'static str,
    pub help: &'static str,
}

pub const ARG_COMMANDS: &[ArgCommand] = &[
    ArgCommand {
        name: "move",
        kind: ArgKind::Folder,
        usage: ":move FOLDER",
        help: "Move the selection or the message to FOLDER (alone: m)",
    },
    ArgCommand {
        name: "folder",
        kind: ArgKind::Folder,
        usage: ":folder FOLDER",
        help: "Open FOLDER of the current account (also :cf)",
    },
    ArgCommand {
        name: "theme",
        kind: ArgKind::Theme,
        usage: ":theme [NAME]",
        help: "Switch to theme NAME at once; alone, name the theme in use",
    },
    ArgCommand {
        name: "search",
        kind: ArgKind::Text,
        usage: ":search QUERY",
        help: "Search as / does, in the search language (alone: /)",
    },
    ArgCommand {
        name: "account",
        kind: ArgKind::Account,
        usage: ":account NAME",
        help: "Open account NAME's INBOX",
    },
    ArgCommand {
        name: "sort",
        kind: ArgKind::SortKey,
        usage: ":sort date|from|subject|size [reverse]",
        help: "Sort the list by that key, reversed if asked (alone: ^)",
    },
    ArgCommand {
        name: "select",
        kind: ArgKind::Text,
        usage: ":select QUERY",
        help: "Select the listed messages matching a search (alone: v)",
    },
    ArgCommand {
        name: "unselect",
        kind: ArgKind::Text,
        usage: ":unselect [QUERY]",
        help: "Unselect those matching a search; alone, all of them",
    },
];

/// What may follow a sort key: aerc's `-r`, or the word.
const REVERSE: &[&str] = &["reverse", "-r"];

/// aerc's and mutt users' short names: (alias, the command it stands for).
pub const ALIASES: &[(&str, &str)] = &[
    ("q", "quit"),
    ("exit", "quit"),
    ("cf", "folder"),
    ("mv", "move"),
    ("next", "next_message"),
    ("prev", "prev_message"),
    ("view", "open"),
    ("recall", "resume_draft"),
    ("mark", "select"),
];

/// A line that does not run, as the one error line the status bar shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    Unknown {
        name: String,
        closest: Option<&'static str>,
    },
    /// Wrong arguments: the usage line.
    Usage(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown {
                name,
                closest: Some(c),
            } => write!(f, "unknown command :{name} — did you mean :{c}?"),
            CommandError::Unknown {
                name,
                closest: None,
            } => write!(f, "unknown command :{name} (Tab lists the commands)"),
            CommandError::Usage(u) => write!(f, "usage: {u}"),
        }
    }
}

/// aerc spells its commands with dashes (`:toggle-threads`); the table with underscores.
fn normalise(name: &str) -> String {
    name.to_lowercase().replace('-', "_")
}

/// The command a (normalised) name stands for, through the aliases.
fn canonical(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map(|(_, c)| *c)
        .unwrap_or(name)
}

fn arg_command(name: &str) -> Option<&'static ArgCommand> {
    ARG_COMMANDS.iter().find(|c| c.name == name)
}

/// Every name a command answers to: actions, argument commands, aliases; sorted, once each.
pub fn all_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Action::ALL
        .iter()
        .map(|a| a.name())
        .chain(ARG_COMMANDS.iter().map(|c| c.name))
        .chain(ALIASES.iter().map(|(a, _)| *a))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// One line on what command `name` does, for the completion list: its help, or for an alias
/// the command it stands for.
pub fn describe(name: &str) -> Option<String> {
    let name = normalise(name.trim());
    if let Some((_, c)) = ALIASES.iter().find(|(a, _)| *a == name) {
        return Some(format!("= :{c}"));
    }
    arg_command(&name)
        .map(|c| c.help.to_string())
        .or_else(|| Action::from_name(&name).map(|a| a.help().to_string()))
}

/// The name closest to a mistyped one: a name it starts, else the fewest edits (a swap counts
/// as one), when few enough for it to be a typo.
pub fn closest(name: &str) -> Option<&'static str> {
    let name = normalise(name);
    if name.is_empty() {
        return None;
    }
    let names = all_names();
    if let Some(n) = names
        .iter()
        .filter(|n| n.starts_with(&name))
        .min_by_key(|n| n.len())
    {
        return Some(n);
    }
    let (best, d) = names
        .iter()
        .map(|n| (*n, strsim::osa_distance(&name, n)))
        .min_by_key(|(_, d)| *d)?;
    let allowed = (name.chars().count() / 3).max(2);
    (d <= allowed).then_some(best)
}

/// Parses a typed line (without the `:`); `Ok(None)` for a blank one.
pub fn parse(line: &str) -> Result<Option<Command>, CommandError> {
    let line = line.trim();
    let (word, arg) = match line.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (line, ""),
    };
    if word.is_empty() {
        return Ok(None);
    }
    let typed = normalise(word);
    let name = canonical(&typed);
    if let Some(c) = arg_command(name) {
        let arg = (!arg.is_empty()).then(|| arg.to_string());
        return Ok(Some(match (c.name, arg) {
            ("theme", a) => Command::Theme(a),
            // Alone, these do what their key does (the picker, the prompt).
            ("move", None) => Command::Action(Action::Move),
            ("search", None) => Command::Action(Action::Search),
            ("sort", None) => Command::Action(Action::Sort),
            ("select", None) => Command::Action(Action::Select),
            ("sort", Some(a)) => {
                parse_sort(&a).ok_or_else(|| CommandError::Usage(c.usage.into()))?
            }
            ("select", Some(query)) => Command::Select {
                query,
                select: true,
            },
            ("unselect", a) => Command::Select {
                query: a.unwrap_or_default(),
                select: false,
            },
            ("move", Some(a)) => Command::Move(a),
            ("folder", Some(a)) => Command::Folder(a),
            ("search", Some(a)) => Command::Search(a),
            ("account", Some(a)) => Command::Account(a),
            _ => return Err(CommandError::Usage(c.usage.to_string())),
        }));
    }
    match Action::from_name(name) {
        Some(a) if arg.is_empty() => Ok(Some(Command::Action(a))),
        Some(_) => Err(CommandError::Usage(format!(
            ":{word} (it takes no argument)"
        ))),
        None => Err(CommandError::Unknown {
            name: word.to_string(),
            closest: closest(word),
        }),
    }
}

/// `KEY [reverse]` of `:sort`.
fn parse_sort(arg: &str) -> Option<Command> {
    let mut words = arg.split_whitespace();
    let key = SortKey::parse(words.next()?)?;
    let reverse = match words.next() {
        None => false,
        Some(w) if REVERSE.contains(&w.to_lowercase().as_str()) => true,
        Some(_) => return None,
    };
    words
        .next()
        .is_none()
        .then_some(Command::Sort { key, reverse })
}

/// The last word of a search (`:search`, `:select`): a key of the search language, or after
/// `folder:` a folder name (quoted when it has a space). A leading `-` (negation) stays.
fn complete_query(word: &str, arg: &str, src: Sources) -> Completions {
    let arg = arg.trim_start();
    let cut = arg.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let (head, last) = arg.split_at(cut);
    let (neg, last) = match last.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", last),
    };
    let lower = last.to_lowercase();
    let items: Vec<String> = match lower.split_once(':') {
        Some((key @ ("folder" | "in"), typed)) => matching(typed.trim_matches('"'), src.folders)
            .into_iter()
            .map(|f| match f.contains(char::is_whitespace) {
                true => format!("{key}:\"{f}\""),
                false => format!("{key}:{f}"),
            })
            .collect(),
        _ => crate::store::COMPLETIONS
            .iter()
            .filter(|c| c.starts_with(&lower))
            .map(|c| c.to_string())
            .collect(),
    };
    Completions {
        prefix: format!("{word} {head}{neg}"),
        items,
    }
}

/// What Tab can complete against, besides the command names.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sources<'a> {
    /// Folders of the current account, as the folder pane shows them.
    pub folders: &'a [String],
    pub themes: &'a [String],
    pub accounts: &'a [String],
}

/// `items` matching `typed`: those it starts (ignoring case) in their order, else fuzzy matches.
fn matching(typed: &str, items: &[String]) -> Vec<String> {
    let lower = typed.to_lowercase();
    let starts: Vec<String> = items
        .iter()
        .filter(|i| i.to_lowercase().starts_with(&lower))
        .cloned()
        .collect();
    if !starts.is_empty() {
        return starts;
    }
    fuzzy::filter(typed, items)
        .into_iter()
        .map(|i| items[i].clone())
        .collect()
}

/// The completions of `line`: command names while the first word is typed, else the argument's
/// candidates. A lone command name that takes an argument comes with the space after it.
pub fn complete(line: &str, src: Sources) -> Completions {
    let trimmed = line.trim_start();
    match trimmed.split_once(char::is_whitespace) {
        None => {
            let names: Vec<String> = all_names().into_iter().map(String::from).collect();
            let mut items = matching(&normalise(trimmed), &names);
            if let [only] = items.as_mut_slice() {
                if arg_command(canonical(only)).is_some() {
                    only.push(' ');
                }
            }
            Completions {
                prefix: String::new(),
                items,
            }
        }
        Some((word, arg)) => {
            let name = normalise(word);
            let owned: Vec<String>;
            let pool: &[String] = match arg_command(canonical(&name)).map(|c| c.kind) {
                Some(ArgKind::Folder) => src.folders,
                Some(ArgKind::Theme) => src.themes,
                Some(ArgKind::Account) => src.accounts,
                Some(ArgKind::SortKey) => {
                    // After the key, the word that reverses it.
                    let arg = arg.trim_start();
                    if let Some((key, rest)) = arg.split_once(char::is_whitespace) {
                        let words: Vec<String> =
                            REVERSE[..1].iter().map(|w| w.to_string()).collect();
                        return Completions {
                            prefix: format!("{word} {key} "),
                            items: matching(rest.trim(), &words),
                        };
                    }
                    owned = SortKey::NAMES.iter().map(|n| n.to_string()).collect();
                    &owned
                }
                Some(ArgKind::Text) => return complete_query(word, arg, src),
                None => &[],
            };
            Completions {
                prefix: format!("{word} "),
                items: matching(arg.trim(), pool),
            }
        }
    }
}

/// A completed line and what followed the cursor, the cursor between them. A candidate that
/// already ends with what followed (`:mv Sent| Items` completing to "Sent Items") takes its place
/// rather than repeating it; otherwise what followed stays whole, a space put before it when it
/// ran on from the cursor (readline's rule: only what was typed before the cursor is replaced).
fn completed(line: String, item: &str, after: &str) -> LineInput {
    let rest = after.trim();
    if !rest.is_empty() && item.len() > rest.len() && item.ends_with(rest) {
        return LineInput::new(line);
    }
    // A candidate ending in a space (a command name) needs no second one; a key ending in `:`
    // takes what follows as its value (`fr|dana` is `from:dana`).
    if item.ends_with(char::is_whitespace) {
        return LineInput::joined(line, after.trim_start());
    }
    match after.is_empty() || after.starts_with(char::is_whitespace) || item.ends_with(':') {
        true => LineInput::joined(line, after),
        false => LineInput::joined(line, &format!(" {after}")),
    }
}

/// The session's command history is bounded; the oldest lines go first.
pub const HISTORY_MAX: usize = 200;

impl CommandLine {
    /// Tab (`forward`) or Shift-Tab: completes the word at the cursor from what is typed before
    /// the cursor, keeping all that follows the cursor, then cycles through the candidates. Returns
    /// false when there is nothing to complete.
    pub fn tab(&mut self, forward: bool, src: Sources) -> bool {
        if let Some(c) = &mut self.cycle {
            let n = c.completions.items.len();
            c.index = if forward {
                (c.index + 1) % n
            } else {
                (c.index + n - 1) % n
            };
            let item = &c.completions.items[c.index];
            let next = completed(format!("{}{item}", c.completions.prefix), item, &c.suffix);
            self.input.replace(next, true);
            return true;
        }
        let (before, after) = self.input.split_at(self.input.cursor());
        let completions = complete(before, src);
        let n = completions.items.len();
        if n == 0 {
            return false;
        }
        let index = if forward { 0 } else { n - 1 };
        let suffix = after.to_string();
        let item = &completions.items[index];
        let next = completed(format!("{}{item}", completions.prefix), item, &suffix);
        self.input.replace(next, false);
        if n > 1 {
            self.cycle = Some(Cycle {
                completions,
                index,
                suffix,
            });
        }
        true
    }

    /// Up (`older`) or Down through `history` (oldest first); past the newest, the line that was
    /// being typed comes back.
    pub fn walk_history(&mut self, older: bool, history: &[String]) {
        self.cycle = None;
        let at = match (self.history_at, older) {
            (None, true) if !history.is_empty() => {
                self.typed = self.input.to_string();
                Some(history.len() - 1)
            }
            (None, _) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        self.history_at = at;
        self.input.set(match at {
            Some(i) => history[i].clone(),
            None => self.typed.clone(),
        });
    }
}

/// Adds a run line to the history: once (an older copy moves to the end), bounded.
pub fn remember(history: &mut Vec<String>, line: &str) {
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    history.retain(|l| l != line);
    history.push(line.to_string());
    if history.len() > HISTORY_MAX {
        let extra = history.len() - HISTORY_MAX;
        history.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_action_is_a_command_by_its_name_and_aliases_resolve() {
        for a in Action::ALL {
            // `:move` and `:search` alone are their keys too; with an argument they act at once.
            assert_eq!(
                parse(a.name()),
                Ok(Some(Command::Action(*a))),
                "{}",
                a.name()
            );
        }
        assert_eq!(parse("q"), Ok(Some(Command::Action(Action::Quit))));
        assert_eq!(
            parse(" toggle-threads "),
            Ok(Some(Command::Action(Action::ToggleThreads)))
        );
        assert_eq!(parse("Archive"), Ok(Some(Command::Action(Action::Archive))));
        assert_eq!(
            parse("cf Projects/Acme"),
            Ok(Some(Command::Folder("Projects/Acme".into())))
        );
        assert_eq!(
            parse("mv   Sent Items "),
            Ok(Some(Command::Move("Sent Items".into())))
        );
        assert_eq!(parse("mv"), Ok(Some(Command::Action(Action::Move))));
        assert_eq!(parse("theme"), Ok(Some(Command::Theme(None))));
        assert_eq!(
            parse("search from:dana is:unread"),
            Ok(Some(Command::Search("from:dana is:unread".into())))
        );
        for (alias, _) in ALIASES {
            assert!(
                !matches!(parse(alias), Err(CommandError::Unknown { .. })),
                ":{alias} names nothing"
            );
        }
        assert_eq!(parse("   "), Ok(None));
        assert_eq!(
            parse("sort subject"),
            Ok(Some(Command::Sort {
                key: SortKey::Subject,
                reverse: false
            }))
        );
        assert_eq!(
            parse("sort SIZE -r"),
            Ok(Some(Command::Sort {
                key: SortKey::Size,
                reverse: true
            }))
        );
        assert_eq!(parse("sort"), Ok(Some(Command::Action(Action::Sort))));
        assert_eq!(
            parse("select from:dana is:unread"),
            Ok(Some(Command::Select {
                query: "from:dana is:unread".into(),
                select: true
            }))
        );
        assert_eq!(
            parse("unselect"),
            Ok(Some(Command::Select {
                query: String::new(),
                select: false
            }))
        );
    }

    #[test]
    fn wrong_arguments_give_the_usage_and_unknown_names_the_closest() {
        assert_eq!(
            parse("cf").unwrap_err().to_string(),
            "usage: :folder FOLDER"
        );
        assert_eq!(
            parse("account").unwrap_err().to_string(),
            "usage: :account NAME"
        );
        for bad in [
            "sort s",
            "sort colour",
            "sort date sideways",
            "sort date reverse now",
        ] {
            assert_eq!(
                parse(bad).unwrap_err().to_string(),
                "usage: :sort date|from|subject|size [reverse]",
                "{bad}"
            );
        }
        assert_eq!(
            parse("archive now").unwrap_err().to_string(),
            "usage: :archive (it takes no argument)"
        );
        assert_eq!(
            parse("arhcive").unwrap_err().to_string(),
            "unknown command :arhcive — did you mean :archive?"
        );
        assert_eq!(closest("toggle_thread"), Some("toggle_threads"));
        assert_eq!(closest("rply"), Some("reply"));
        assert_eq!(closest("arch"), Some("archive"));
        assert_eq!(closest("xyzzyplugh"), None);
        assert_eq!(describe("cf").as_deref(), Some("= :folder"));
        assert_eq!(describe("reply ").as_deref(), Some("Reply"));
        assert_eq!(describe("Archive").as_deref(), Some("Archive"));
        assert_eq!(describe("nope"), None);
        assert_eq!(
            parse("xyzzyplugh").unwrap_err().to_string(),
            "unknown command :xyzzyplugh (Tab lists the commands)"
        );
    }

    #[test]
    fn tab_completes_names_then_arguments_and_cycles() {
        let folders = strings(&["INBOX", "Archive", "Sent Items", "Projects/Acme"]);
        let themes = strings(&["default", "gruvbox", "light"]);
        let src = Sources {
            folders: &folders,
            themes: &themes,
            accounts: &[],
        };
        let mut c = CommandLine {
            input: "mo".into(),
            ..Default::default()
        };
        assert!(c.tab(true, src));
        assert_eq!(c.input, "move ", "one name: completed, with the space");
        c.input.set("move Arc");
        assert!(c.tab(true, src));
        assert_eq!(c.input, "move Archive");
        assert_eq!(c.cycle, None);

        let mut c = CommandLine {
            input: "theme ".into(),
            ..Default::default()
        };
        assert!(c.tab(true, src));
        assert_eq!(c.input, "theme default");
        assert!(c.tab(true, src));
        assert_eq!(c.input, "theme gruvbox");
        assert!(c.tab(false, src));
        assert!(c.tab(false, src));
        assert_eq!(c.input, "theme light", "Shift-Tab cycles back round");

        let mut c = CommandLine {
            input: "reply".into(),
            ..Default::default()
        };
        assert!(c.tab(true, src));
        assert_eq!(c.input, "reply");
        assert_eq!(
            c.cycle.as_ref().map(|c| c.completions.items.clone()),
            Some(strings(&["reply", "reply_all"]))
        );
        let mut c = CommandLine {
            input: "mo Archive".into(),
            ..Default::default()
        };
        c.input.edit(crate::app::input::InputKey::Home);
        c.input.edit(crate::app::input::InputKey::Right);
        c.input.edit(crate::app::input::InputKey::Right);
        assert!(c.tab(true, src));
        assert_eq!(
            c.input, "move Archive",
            "one space between the name and its argument"
        );
        let mut c = CommandLine {
            input: "mv Sent Items".into(),
            ..Default::default()
        };
        c.input.edit(crate::app::input::InputKey::WordLeft);
        c.input.edit(crate::app::input::InputKey::Left);
        assert!(c.tab(true, src));
        assert_eq!(
            c.input, "mv Sent Items",
            "a name with a space is not repeated"
        );
        // Not a prefix of anything: fuzzy matches, word starts first.
        let got = complete("cf pa", src);
        assert_eq!(got.prefix, "cf ");
        assert_eq!(got.items, strings(&["Projects/Acme"]));
        let got = complete("search dana -is:u", src);
        assert_eq!(got.prefix, "search dana -");
        assert_eq!(got.items, strings(&["is:unread"]));
        let got = complete("select folder:sent", src);
        assert_eq!(got.items, strings(&["folder:\"Sent Items\""]));
        assert_eq!(complete("search is:", src).items.len(), 6);
        assert_eq!(complete("sort s", src).items, strings(&["subject", "size"]));
        let got = complete("sort size r", src);
        assert_eq!(
            (got.prefix.as_str(), got.items),
            ("sort size ", strings(&["reverse"]))
        );
        let mut c = CommandLine {
            input: "zzzzqq".into(),
            ..Default::default()
        };
        assert!(!c.tab(true, src));
    }

    /// `line` with `▏` where the cursor is, after `tabs` presses of Tab.
    fn tabbed(line: &str, tabs: usize) -> String {
        let (before, after) = line.split_once('▏').unwrap_or((line, ""));
        let mut c = CommandLine {
            input: LineInput::joined(before, after),
            ..Default::default()
        };
        for _ in 0..tabs {
            assert!(c.tab(true, Sources::default()), "{line}");
        }
        format!(
            "{}▏{}",
            &c.input[..c.input.cursor()],
            &c.input[c.input.cursor()..]
        )
    }

    /// Tab in the middle completes what is typed before the cursor and keeps all that follows
    /// it, a space put between when the text ran on from the cursor.
    #[test]
    fn tab_in_the_middle_keeps_what_follows_the_cursor() {
        let cases = [
            ("sort subj▏XX -r", 1, "sort subject▏ XX -r"),
            (
                "search is:unr▏from:dana has:attachment",
                1,
                "search is:unread▏ from:dana has:attachment",
            ),
            ("search is:unr▏ from:dana", 1, "search is:unread▏ from:dana"),
            // A key ending in `:` takes what follows as its value.
            ("search fr▏dana", 1, "search from:▏dana"),
            // Cycling keeps it too.
            ("search is:▏dana", 2, "search is:read▏ dana"),
        ];
        for (line, tabs, want) in cases {
            assert_eq!(tabbed(line, tabs), want, "{line}");
        }
    }

    #[test]
    fn history_walks_back_and_returns_to_the_typed_line() {
        let mut h = Vec::new();
        for l in ["archive", "theme light", "archive", " "] {
            remember(&mut h, l);
        }
        assert_eq!(h, strings(&["theme light", "archive"]));
        let mut c = CommandLine {
            input: "mo".into(),
            ..Default::default()
        };
        c.walk_history(true, &h);
        assert_eq!(c.input, "archive");
        c.walk_history(true, &h);
        c.walk_history(true, &h);
        assert_eq!(c.input, "theme light");
        c.walk_history(false, &h);
        assert_eq!(c.input, "archive");
        c.walk_history(false, &h);
        assert_eq!(c.input, "mo");
        for i in 0..HISTORY_MAX + 10 {
            remember(&mut h, &format!("search {i}"));
        }
        assert_eq!(h.len(), HISTORY_MAX);
        assert_eq!(h.last().map(String::as_str), Some("search 209"));
    }

    /// Each completion of a search word is a search the language takes.
    #[test]
    fn search_completions_are_the_search_language() {
        for c in crate::store::COMPLETIONS {
            let q = match c.ends_with(':') {
                true => format!("{c}2024-03-01"),
                false => c.to_string(),
            };
            let parsed = crate::store::SearchQuery::parse(&q);
            assert!(
                parsed.problems.is_empty() && parsed.terms.len() == 1,
                "{q}: {:?}",
                parsed.problems
            );
        }
    }

    /// docs/commands.md lists every command: a new action without its line fails here.
    #[test]
    fn the_command_doc_names_every_command() {
        let doc = include_str!("../../docs/commands.md");
        for name in all_names() {
            assert!(
                doc.contains(&format!("`:{name}")),
                "docs/commands.md does not list :{name}"
            );
        }
    }
}
