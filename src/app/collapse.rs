//! Collapsed conversations in the thread view, as mutt's collapse-thread: a view over the rows
//! [`super::threads::arrange`] ordered, where a collapsed thread is its first row holding the rest
//! ([`Row::folded`]). What is collapsed is kept by thread root, not by row, so it survives a
//! reload, new mail and a change of sort; the cursor stays on the same conversation.

use super::threads::thread_key;
use super::view::Row;
use std::collections::HashSet;

/// Which conversations are collapsed: all or none, but for the exceptions the user toggled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folds {
    all: bool,
    except: HashSet<String>,
}

impl Folds {
    pub fn is_folded(&self, key: &str) -> bool {
        self.all != (!self.except.is_empty() && self.except.contains(key))
    }

    pub fn set(&mut self, key: &str, folded: bool) {
        if folded == self.all {
            self.except.remove(key);
        } else {
            self.except.insert(key.to_owned());
        }
    }

    /// Every conversation, those arriving later too.
    pub fn set_all(&mut self, folded: bool) {
        self.all = folded;
        self.except.clear();
    }
}

/// Unfolds every row, then folds each collapsed conversation into its first row. The rows of a
/// conversation are consecutive in the thread view, which is the only view that folds.
pub fn apply(rows: &mut Vec<Row>, folds: &Folds) {
    let mut out: Vec<Row> = Vec::with_capacity(rows.len());
    for r in flatten(std::mem::take(rows)) {
        if let Some(head) = out.last_mut() {
            let key = thread_key(head);
            if folds.is_folded(&key) && thread_key(&r) == key {
                head.folded.push(r);
                continue;
            }
        }
        out.push(r);
    }
    *rows = out;
}

fn flatten(rows: Vec<Row>) -> impl Iterator<Item = Row> {
    rows.into_iter().flat_map(|mut r| {
        let rest = std::mem::take(&mut r.folded);
        std::iter::once(r).chain(rest)
    })
}

/// What a fold key did, for the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folded {
    Collapsed(usize),
    Expanded(usize),
    /// A conversation of one message, or no thread view: nothing to fold.
    Nothing,
}
