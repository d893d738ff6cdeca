//! Keys as the text prompts take them ([`InputKey`]) and the one way a prompt edits its text; also
//! the `~/` a typed path may start with.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKey {
    Char(char),
    Backspace,
    /// Empties the input (C-u).
    Clear,
    Enter,
    Esc,
    Up,
    Down,
    Tab,
}

/// Applies a text-editing key to a prompt's input; other keys leave it alone.
pub fn edit(input: &mut String, key: InputKey) {
    match key {
        InputKey::Char(c) => input.push(c),
        InputKey::Backspace => {
            input.pop();
        }
        InputKey::Clear => input.clear(),
        _ => {}
    }
}

/// A typed path with a leading `~/` made absolute, as a shell would.
pub fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}
