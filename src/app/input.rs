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
    BackTab,
    /// Deletes the word before the cursor (C-w), and the spaces after it.
    DeleteWord,
}

/// Applies a text-editing key to a prompt's input; other keys leave it alone.
pub fn edit(input: &mut String, key: InputKey) {
    match key {
        InputKey::Char(c) => input.push(c),
        InputKey::Backspace => {
            input.pop();
        }
        InputKey::Clear => input.clear(),
        InputKey::DeleteWord => {
            let kept = input.trim_end().len();
            input.truncate(kept);
            let start = input
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_whitespace())
                .map_or(0, |(i, c)| i + c.len_utf8());
            input.truncate(start);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_w_deletes_the_last_word_and_the_spaces_after_it() {
        let mut s = String::from("move Sent  ");
        edit(&mut s, InputKey::DeleteWord);
        assert_eq!(s, "move ");
        edit(&mut s, InputKey::DeleteWord);
        assert_eq!(s, "");
        let mut s = String::from("from:dänа ünï");
        edit(&mut s, InputKey::DeleteWord);
        assert_eq!(s, "from:dänа ");
    }
}
