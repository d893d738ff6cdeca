//! Keys → actions, as data: the defaults from `app::action`, with config `[keys]` replacing an
//! action's keys. Key spellings: a character (`a`, `A`, `!`), a name (`Enter`, `Esc`, `Tab`,
//! `BackTab`, `Space`, `Up`, `Down`, `Left`, `Right`, `Home`, `End`, `PageUp`, `PageDown`,
//! `Backspace`, `Delete`, `F1`…`F12`), with `C-` (ctrl) or `M-` (alt) prefixes.

use crate::app::action::{default_bindings, Action};
use crate::app::input::InputKey;
use crate::config::KeySpec;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// Normalises an event: shift is part of the character for printable keys.
    pub fn from_event(e: &KeyEvent) -> Key {
        let mut mods = e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if matches!(e.code, KeyCode::BackTab) {
            mods = KeyModifiers::NONE;
        }
        Key { code: e.code, mods }
    }
}

/// A key press as config `[keys]` spells it (`Q`, `C-g`, `M-x`, `F5`), for "key … is not bound";
/// None for keys worth no note: modifiers alone, media keys, lock keys.
pub fn spelling(e: &KeyEvent) -> Option<String> {
    let key = Key::from_event(e);
    let name = match key.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) if !c.is_control() => c.to_string(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "BackTab".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Delete => "Delete".into(),
        KeyCode::Insert => "Insert".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::PageUp => "PageUp".into(),
        KeyCode::PageDown => "PageDown".into(),
        KeyCode::Up => "Up".into(),
        KeyCode::Down => "Down".into(),
        KeyCode::Left => "Left".into(),
        KeyCode::Right => "Right".into(),
        KeyCode::Esc => "Esc".into(),
        _ => return None,
    };
    let ctrl = if key.mods.contains(KeyModifiers::CONTROL) {
        "C-"
    } else {
        ""
    };
    let alt = if key.mods.contains(KeyModifiers::ALT) {
        "M-"
    } else {
        ""
    };
    Some(format!("{ctrl}{alt}{name}"))
}

pub fn parse_key(spec: &str) -> Result<Key, String> {
    let mut rest = spec;
    let mut mods = KeyModifiers::NONE;
    loop {
        if let Some(r) = rest.strip_prefix("C-").filter(|r| !r.is_empty()) {
            mods |= KeyModifiers::CONTROL;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("M-").filter(|r| !r.is_empty()) {
            mods |= KeyModifiers::ALT;
            rest = r;
        } else {
            break;
        }
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => KeyCode::Char(c),
        _ => match rest {
            "Enter" => KeyCode::Enter,
            "Esc" => KeyCode::Esc,
            "Tab" => KeyCode::Tab,
            "BackTab" => KeyCode::BackTab,
            "Space" => KeyCode::Char(' '),
            "Up" => KeyCode::Up,
            "Down" => KeyCode::Down,
            "Left" => KeyCode::Left,
            "Right" => KeyCode::Right,
            "Home" => KeyCode::Home,
            "End" => KeyCode::End,
            "PageUp" => KeyCode::PageUp,
            "PageDown" => KeyCode::PageDown,
            "Backspace" => KeyCode::Backspace,
            "Delete" => KeyCode::Delete,
            f if f.starts_with('F') => match f[1..].parse::<u8>() {
                Ok(n @ 1..=12) => KeyCode::F(n),
                _ => return Err(format!("unknown key {spec:?}")),
            },
            _ => return Err(format!("unknown key {spec:?}")),
        },
    };
    Ok(Key { code, mods })
}

#[derive(Debug, Clone)]
pub struct Keymap {
    by_key: HashMap<Key, Action>,
    /// Per action, its key spellings, for the help screen.
    by_action: BTreeMap<Action, Vec<String>>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::new(&BTreeMap::new()).expect("the default bindings parse")
    }
}

impl Keymap {
    /// The defaults with `overrides` (config `[keys]`) applied. An unknown action or key is an
    /// error naming it.
    pub fn new(overrides: &BTreeMap<String, KeySpec>) -> Result<Keymap, String> {
        let mut by_action: BTreeMap<Action, Vec<String>> = default_bindings()
            .into_iter()
            .map(|(a, keys)| (a, keys.iter().map(|k| k.to_string()).collect()))
            .collect();
        for (name, spec) in overrides {
            let action = Action::from_name(name).ok_or_else(|| {
                format!("keys.{name}: unknown action (known: see `?` in the app or docs)")
            })?;
            let keys: Vec<String> = spec.keys().iter().map(|k| k.to_string()).collect();
            for k in &keys {
                parse_key(k).map_err(|e| format!("keys.{name}: {e}"))?;
            }
            // A key now bound here is taken away from whichever default had it.
            for other in by_action.values_mut() {
                other.retain(|k| !keys.contains(k));
            }
            by_action.insert(action, keys);
        }
        let mut by_key = HashMap::new();
        for (action, keys) in &by_action {
            for k in keys {
                by_key.insert(parse_key(k)?, *action);
            }
        }
        Ok(Keymap { by_key, by_action })
    }

    pub fn action(&self, e: &KeyEvent) -> Option<Action> {
        self.by_key.get(&Key::from_event(e)).copied()
    }

    /// The first key bound to `a`, as config spells it (for hints in panes).
    pub fn key_of(&self, a: Action) -> String {
        self.by_action
            .get(&a)
            .and_then(|k| k.first().cloned())
            .unwrap_or_else(|| format!("({} unbound)", a.name()))
    }

    /// (keys, description) for every action, in help order.
    pub fn help_lines(&self) -> Vec<(String, &'static str)> {
        Action::ALL
            .iter()
            .map(|a| {
                let keys = self.by_action.get(a).cloned().unwrap_or_default();
                let shown = if keys.is_empty() {
                    "(unbound)".to_string()
                } else {
                    keys.join(" ")
                };
                (shown, a.help())
            })
            .collect()
    }
}

/// A key as text input for prompts and fields.
pub fn input_key(e: &KeyEvent) -> Option<InputKey> {
    Some(match e.code {
        KeyCode::Char(c) => InputKey::Char(c),
        KeyCode::Backspace => InputKey::Backspace,
        KeyCode::Enter => InputKey::Enter,
        KeyCode::Esc => InputKey::Esc,
        KeyCode::Up => InputKey::Up,
        KeyCode::Down => InputKey::Down,
        KeyCode::Tab => InputKey::Tab,
        _ => return None,
    })
}

/// The one-line editor's keys beyond typing: readline's, as aerc and mutt take them.
pub fn line_edit_key(e: &KeyEvent) -> Option<InputKey> {
    let ctrl = e.modifiers.contains(KeyModifiers::CONTROL);
    let alt = e.modifiers.contains(KeyModifiers::ALT);
    Some(match (e.code, ctrl, alt) {
        (KeyCode::Char('a'), true, false) | (KeyCode::Home, _, _) => InputKey::Home,
        (KeyCode::Char('e'), true, false) | (KeyCode::End, _, _) => InputKey::End,
        (KeyCode::Char('b'), true, false) | (KeyCode::Left, false, false) => InputKey::Left,
        (KeyCode::Char('f'), true, false) | (KeyCode::Right, false, false) => InputKey::Right,
        (KeyCode::Char('d'), true, false) | (KeyCode::Delete, _, _) => InputKey::Delete,
        (KeyCode::Char('k'), true, false) => InputKey::KillToEnd,
        // C-/ reaches most terminals as C-_, some as C-7.
        (KeyCode::Char('_' | '/' | '7'), true, false) => InputKey::Undo,
        (KeyCode::Char('b'), false, true) | (KeyCode::Left, _, _) => InputKey::WordLeft,
        (KeyCode::Char('f'), false, true) | (KeyCode::Right, _, _) => InputKey::WordRight,
        (KeyCode::Char('d'), false, true) => InputKey::DeleteWordForward,
        (KeyCode::Backspace, _, true) => InputKey::DeleteWordBack,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn c_slash_is_undo_as_terminals_send_it() {
        for c in ['_', '/', '7'] {
            let e = ev(KeyCode::Char(c), KeyModifiers::CONTROL);
            assert_eq!(line_edit_key(&e), Some(InputKey::Undo));
        }
    }

    /// Features added side by side once both took `L`; a key bound twice does only one of them.
    #[test]
    fn a_key_is_spelled_as_config_spells_it_and_modifiers_alone_are_not() {
        for spec in ["Q", "C-g", "M-x", "Space", "F5", "C-M-Delete"] {
            let k = parse_key(spec).unwrap();
            assert_eq!(spelling(&ev(k.code, k.mods)).as_deref(), Some(spec));
        }
        let shift = KeyCode::Modifier(crossterm::event::ModifierKeyCode::LeftShift);
        assert_eq!(spelling(&ev(shift, KeyModifiers::SHIFT)), None);
    }

    #[test]
    fn no_default_key_is_bound_to_two_actions() {
        let mut seen = std::collections::BTreeMap::new();
        for (action, keys) in default_bindings() {
            for k in keys {
                let key = parse_key(k).expect("default keys parse");
                if let Some(other) = seen.insert(format!("{key:?}"), action) {
                    panic!("{k} is bound to both {other:?} and {action:?}");
                }
            }
        }
    }

    #[test]
    fn defaults_and_overrides_map_keys_to_actions() {
        let km = Keymap::default();
        assert_eq!(
            km.action(&ev(KeyCode::Char('a'), KeyModifiers::NONE)),
            Some(Action::Archive)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('R'), KeyModifiers::SHIFT)),
            Some(Action::ReplyAll)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        let mut o = BTreeMap::new();
        o.insert("archive".to_string(), KeySpec::One("e".into()));
        o.insert(
            "down".to_string(),
            KeySpec::Many(vec!["C-n".into(), "Down".into()]),
        );
        let km = Keymap::new(&o).unwrap();
        assert_eq!(
            km.action(&ev(KeyCode::Char('e'), KeyModifiers::NONE)),
            Some(Action::Archive)
        );
        assert_eq!(km.action(&ev(KeyCode::Char('a'), KeyModifiers::NONE)), None);
        assert_eq!(
            km.action(&ev(KeyCode::Char('n'), KeyModifiers::CONTROL)),
            Some(Action::Down)
        );
        assert_eq!(km.action(&ev(KeyCode::Char('j'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn bad_bindings_name_the_action_or_key() {
        let mut o = BTreeMap::new();
        o.insert("archvie".to_string(), KeySpec::One("a".into()));
        assert!(Keymap::new(&o).unwrap_err().contains("keys.archvie"));
        let mut o = BTreeMap::new();
        o.insert("archive".to_string(), KeySpec::One("Hyper".into()));
        let e = Keymap::new(&o).unwrap_err();
        assert!(e.contains("keys.archive") && e.contains("Hyper"), "{e}");
    }
}
