//! Keys as the text prompts take them ([`InputKey`]), the one-line editor every prompt edits its
//! text with ([`LineInput`], readline's keys as aerc and mutt have them); also the `~/` a typed
//! path may start with.

use std::path::PathBuf;
use unicode_segmentation::UnicodeSegmentation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKey {
    Char(char),
    Backspace,
    /// Empties the input before the cursor (C-u).
    Clear,
    Enter,
    Esc,
    Up,
    Down,
    Tab,
    BackTab,
    /// Deletes the word before the cursor (C-w), and the spaces after it.
    DeleteWord,
    /// Left, C-b.
    Left,
    /// Right, C-f.
    Right,
    /// Home, C-a.
    Home,
    /// End, C-e.
    End,
    /// Delete, C-d: the character under the cursor.
    Delete,
    /// M-b.
    WordLeft,
    /// M-f.
    WordRight,
    /// M-d: to the end of the word after the cursor.
    DeleteWordForward,
    /// M-Backspace: the word before the cursor, stopping at punctuation (`from:` stays).
    DeleteWordBack,
    /// C-k: from the cursor to the end.
    KillToEnd,
    /// C-_ (C-/): takes back the last edit — a kill, a completion, or the run of characters
    /// typed since the cursor last moved — as readline's undo, one step.
    Undo,
}

/// A one-line input and its cursor, a byte offset always on a grapheme boundary, so that a
/// combined emoji or an accented letter is one step. Two inputs are equal by text and cursor;
/// what Undo would bring back is not part of what is shown.
#[derive(Debug, Clone, Default)]
pub struct LineInput {
    text: String,
    cursor: usize,
    /// Text and cursor before the last edit, for Undo.
    undo: Option<(String, usize)>,
    /// The last edit typed a character: the next one joins its undo step.
    typing: bool,
}

impl PartialEq for LineInput {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.cursor == other.cursor
    }
}

impl Eq for LineInput {}

impl LineInput {
    /// The text with the cursor at its end, where a prompt starts typing.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let cursor = text.len();
        LineInput {
            text,
            cursor,
            ..Default::default()
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Byte offset of the cursor in the text.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// `before` then `after`, the cursor between them: a completion that keeps what follows.
    pub fn joined(before: impl Into<String>, after: &str) -> Self {
        let mut text = before.into();
        let cursor = text.len();
        text.push_str(after);
        LineInput {
            text,
            cursor,
            ..Default::default()
        }
    }

    /// The text with the cursor at byte `cursor`; an offset the text changed under (a template
    /// filled the subject, a suggestion replaced an address) is pulled back into it.
    pub fn at(text: impl Into<String>, cursor: usize) -> Self {
        let text = text.into();
        let mut cursor = cursor.min(text.len());
        while !text.is_char_boundary(cursor) {
            cursor -= 1;
        }
        LineInput {
            text,
            cursor,
            ..Default::default()
        }
    }

    /// Takes `new`'s text and cursor (a completion); Undo brings back this one's, or with
    /// `same_step` (the next candidate of a cycle) what it would have brought back already.
    pub fn replace(&mut self, new: LineInput, same_step: bool) {
        // A completion that changed nothing (Tab on a word typed out) is no step to take back.
        let undo = match same_step || new.text == self.text {
            true => self.undo.take(),
            false => Some((std::mem::take(&mut self.text), self.cursor)),
        };
        *self = LineInput { undo, ..new };
    }

    pub fn into_string(self) -> String {
        self.text
    }

    /// Replaces the text (a completion, a history entry), the cursor at its end.
    pub fn set(&mut self, text: impl Into<String>) {
        *self = LineInput::new(text);
    }

    pub fn clear(&mut self) {
        self.set(String::new());
    }

    fn prev_boundary(&self) -> usize {
        self.text[..self.cursor]
            .grapheme_indices(true)
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self) -> usize {
        self.text[self.cursor..]
            .graphemes(true)
            .next()
            .map_or(self.cursor, |g| self.cursor + g.len())
    }

    /// Start of the word before the cursor; a word is what `is_word` holds, as readline's M-b.
    fn word_start(&self, is_word: impl Fn(char) -> bool) -> usize {
        let before = &self.text[..self.cursor];
        let end = before.trim_end_matches(|c: char| !is_word(c)).len();
        before[..end].trim_end_matches(&is_word).len()
    }

    /// End of the word after the cursor.
    fn word_end(&self) -> usize {
        let after = &self.text[self.cursor..];
        let skipped = after.len()
            - after
                .trim_start_matches(|c: char| !c.is_alphanumeric())
                .len();
        let rest = &after[skipped..];
        let word = rest.len() - rest.trim_start_matches(char::is_alphanumeric).len();
        self.cursor + skipped + word
    }

    fn remove(&mut self, from: usize, to: usize) {
        self.text.replace_range(from..to, "");
        self.cursor = from;
    }

    /// Applies a text-editing or cursor key; other keys leave it alone.
    pub fn edit(&mut self, key: InputKey) {
        if key == InputKey::Undo {
            if let Some((text, cursor)) = self.undo.take() {
                (self.text, self.cursor) = (text, cursor);
            }
            self.typing = false;
            return;
        }
        let before = (self.text.clone(), self.cursor);
        let typed = matches!(key, InputKey::Char(_));
        self.apply(key);
        if self.text != before.0 {
            if !(typed && self.typing) {
                self.undo = Some(before);
            }
            self.typing = typed;
        } else {
            self.typing = false;
        }
    }

    fn apply(&mut self, key: InputKey) {
        match key {
            InputKey::Char(c) => {
                self.text.insert(self.cursor, c);
                self.cursor += c.len_utf8();
            }
            InputKey::Backspace => self.remove(self.prev_boundary(), self.cursor),
            InputKey::Delete => self.remove(self.cursor, self.next_boundary()),
            InputKey::Clear => self.remove(0, self.cursor),
            InputKey::KillToEnd => self.text.truncate(self.cursor),
            InputKey::DeleteWord => {
                let start = self.word_start(|c| !c.is_whitespace());
                self.remove(start, self.cursor);
            }
            InputKey::DeleteWordBack => {
                let start = self.word_start(char::is_alphanumeric);
                self.remove(start, self.cursor);
            }
            InputKey::DeleteWordForward => {
                let end = self.word_end();
                self.text.replace_range(self.cursor..end, "");
            }
            InputKey::Left => self.cursor = self.prev_boundary(),
            InputKey::Right => self.cursor = self.next_boundary(),
            InputKey::Home => self.cursor = 0,
            InputKey::End => self.cursor = self.text.len(),
            InputKey::WordLeft => self.cursor = self.word_start(char::is_alphanumeric),
            InputKey::WordRight => self.cursor = self.word_end(),
            _ => {}
        }
    }
}

impl std::ops::Deref for LineInput {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl From<&str> for LineInput {
    fn from(s: &str) -> Self {
        LineInput::new(s)
    }
}

impl From<String> for LineInput {
    fn from(s: String) -> Self {
        LineInput::new(s)
    }
}

impl PartialEq<&str> for LineInput {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl std::fmt::Display for LineInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Applies a text-editing key to a prompt's plain text, typed at its end.
pub fn edit(input: &mut String, key: InputKey) {
    let mut line = LineInput::new(std::mem::take(input));
    line.edit(key);
    *input = line.text;
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

    fn typed(text: &str) -> LineInput {
        let mut l = LineInput::default();
        text.chars().for_each(|c| l.edit(InputKey::Char(c)));
        l
    }

    #[test]
    fn the_cursor_moves_and_edits_where_it_is_as_in_readline() {
        let mut l = typed("foo");
        l.edit(InputKey::Left);
        l.edit(InputKey::Char('Z'));
        assert_eq!(l, "foZo");
        l.edit(InputKey::Home);
        l.edit(InputKey::Delete);
        assert_eq!(l, "oZo");
        l.edit(InputKey::End);
        l.edit(InputKey::Backspace);
        assert_eq!(l, "oZ");

        let mut l = typed("from:dana is:unread");
        l.edit(InputKey::WordLeft);
        assert_eq!(&l[l.cursor()..], "unread");
        l.edit(InputKey::DeleteWordBack);
        assert_eq!(l, "from:dana unread", "M-Backspace stops at punctuation");
        l.edit(InputKey::DeleteWord);
        assert_eq!(l, "unread", "C-w takes the whole blank-separated word");
        let mut l = typed("from:dana");
        l.edit(InputKey::WordLeft);
        l.edit(InputKey::KillToEnd);
        assert_eq!(l, "from:");
        l.edit(InputKey::Home);
        l.edit(InputKey::DeleteWordForward);
        assert_eq!(l, ":");
        l.edit(InputKey::WordRight);
        assert_eq!(l.cursor(), 1);

        let mut l = typed("to be cut");
        l.edit(InputKey::WordLeft);
        l.edit(InputKey::Clear);
        assert_eq!(l, "cut", "C-u clears what is before the cursor");
    }

    #[test]
    fn undo_takes_back_the_last_kill_or_run_of_typing() {
        let mut l = typed("from:dana is:unread");
        l.edit(InputKey::DeleteWord);
        assert_eq!(l, "from:dana ");
        l.edit(InputKey::Undo);
        assert_eq!(l, "from:dana is:unread");
        assert_eq!(l.cursor(), l.len());
        l.edit(InputKey::Home);
        l.edit(InputKey::KillToEnd);
        l.edit(InputKey::Undo);
        assert_eq!(l, "from:dana is:unread");
        assert_eq!(l.cursor(), 0, "the cursor goes back where it was");
        // A run of typing is one step; moving the cursor starts another.
        l.edit(InputKey::End);
        " has:attachment"
            .chars()
            .for_each(|c| l.edit(InputKey::Char(c)));
        l.edit(InputKey::Left);
        l.edit(InputKey::Undo);
        assert_eq!(l, "from:dana is:unread");
        l.edit(InputKey::Undo);
        assert_eq!(
            l, "from:dana is:unread",
            "one step: nothing more to take back"
        );
        // A completion is a step of its own.
        l.replace(LineInput::new("from:dana is:unread has:attachment"), false);
        l.replace(LineInput::new("from:dana is:unread has:x"), true);
        l.edit(InputKey::Undo);
        assert_eq!(l, "from:dana is:unread");
    }

    #[test]
    fn a_wide_or_combined_character_is_one_step() {
        let mut l = typed("a日👍🏽e\u{301}");
        l.edit(InputKey::Left);
        assert_eq!(&l[l.cursor()..], "e\u{301}");
        l.edit(InputKey::Left);
        l.edit(InputKey::Backspace);
        assert_eq!(l, "a👍🏽e\u{301}");
        l.edit(InputKey::Delete);
        assert_eq!(l, "ae\u{301}");
        l.edit(InputKey::Right);
        l.edit(InputKey::Char('!'));
        assert_eq!(l, "ae\u{301}!");
    }
}
