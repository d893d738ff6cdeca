//! The thread view's collapse keys (mutt's Esc-v / Esc-V): the fold itself is
//! `app::collapse`; here the list keeps its cursor through it, and says what happened.

use crate::app::collapse::{apply, Folded};
use crate::app::msg::Effect;
use crate::app::state::{App, ListState};
use crate::app::threads::thread_key;
use crate::app::view::{Pane, Row};
use std::collections::HashSet;

impl App {
    /// `-` (the conversation under the cursor) or `+` (`all` of them).
    pub(super) fn fold_key(&mut self, all: bool) -> Vec<Effect> {
        if !self.list.threads {
            self.status = Some("conversations fold in the thread view (t)".into());
            return Vec::new();
        }
        self.focus = Pane::List;
        let done = if all {
            self.list.toggle_fold_all()
        } else {
            self.list.toggle_fold()
        };
        self.status = Some(match done {
            Folded::Collapsed(n) if all => format!("{} collapsed", conversations(n)),
            Folded::Expanded(n) if all => format!("{} expanded", conversations(n)),
            Folded::Collapsed(n) => format!("conversation of {n} collapsed"),
            Folded::Expanded(n) => format!("conversation of {n} expanded"),
            Folded::Nothing if all => "no conversation here has more than one message".into(),
            Folded::Nothing => "a single message: nothing to collapse".into(),
        });
        Vec::new()
    }
}

fn conversations(n: usize) -> String {
    format!("{n} conversation{}", if n == 1 { "" } else { "s" })
}

impl ListState {
    /// Every message listed, those inside collapsed conversations too.
    pub fn all_rows(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .flat_map(|r| std::iter::once(r).chain(&r.folded))
    }

    /// Calls `f` on every message listed, those inside collapsed conversations too.
    pub fn for_each_row_mut(&mut self, mut f: impl FnMut(&mut Row)) {
        for r in &mut self.rows {
            f(r);
            r.folded.iter_mut().for_each(&mut f);
        }
    }

    /// The index of the row showing message `id`, itself or folded into it.
    pub fn position_of(&self, id: i64) -> Option<usize> {
        self.rows
            .iter()
            .position(|r| r.msg.id == id || r.folded.iter().any(|f| f.msg.id == id))
    }

    /// After rows left the list or came back (triage, undo, rows hidden while a move is in
    /// flight): the first message left of each conversation is its head again and the rest are
    /// its replies, as `threads::arrange` draws them, so no reply hangs under an unrelated row.
    pub fn rehead(&mut self) {
        if !self.threads {
            return;
        }
        let mut prev: Option<String> = None;
        self.for_each_row_mut(|r| {
            let key = thread_key(r).into_owned();
            r.depth = u8::from(prev.as_deref() == Some(key.as_str()));
            prev = Some(key);
        });
    }

    /// Folds the rows again as [`ListState::folds`] says, keeping the cursor on its conversation.
    pub fn refold(&mut self) {
        let id = self.rows.get(self.cursor).map(|r| r.msg.id);
        apply(&mut self.rows, &self.folds);
        if let Some(i) = id.and_then(|id| self.position_of(id)) {
            self.cursor = i;
        }
        self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
    }

    /// Collapses the conversation under the cursor, or expands it when it is collapsed.
    pub fn toggle_fold(&mut self) -> Folded {
        let Some(row) = self.rows.get(self.cursor).filter(|_| self.threads) else {
            return Folded::Nothing;
        };
        let key = thread_key(row).into_owned();
        // Only this conversation's rows move (they are consecutive): the rest of a long list
        // is not regrouped on the UI loop.
        if !row.folded.is_empty() {
            let size = row.folded.len() + 1;
            self.expand_at(self.cursor);
            return Folded::Expanded(size);
        }
        let same = |r: &Row| thread_key(r) == key.as_str();
        let start = self.rows[..self.cursor]
            .iter()
            .rposition(|r| !same(r))
            .map_or(0, |i| i + 1);
        let end = self.rows[self.cursor..]
            .iter()
            .position(|r| !same(r))
            .map_or(self.rows.len(), |i| self.cursor + i);
        if end - start < 2 {
            return Folded::Nothing;
        }
        self.folds.set(&key, true);
        let rest: Vec<Row> = self.rows.drain(start + 1..end).collect();
        self.rows[start].folded = rest;
        self.cursor = start;
        Folded::Collapsed(end - start)
    }

    /// Collapses every conversation, or expands them all when none is open.
    pub fn toggle_fold_all(&mut self) -> Folded {
        if !self.threads {
            return Folded::Nothing;
        }
        let open = self.rows.iter().any(|r| r.depth > 0);
        self.folds.set_all(open);
        self.refold();
        // Only conversations of two or more messages fold; a single message is no conversation.
        let n = self.rows.iter().filter(|r| !r.folded.is_empty()).count();
        let n = if open {
            n
        } else {
            let mut keys = self.rows.iter().map(thread_key).peekable();
            let mut n = 0;
            while let Some(k) = keys.next() {
                let mut len = 1;
                while keys.next_if(|next| *next == k).is_some() {
                    len += 1;
                }
                n += usize::from(len > 1);
            }
            n
        };
        if n == 0 {
            return Folded::Nothing;
        }
        if open {
            Folded::Collapsed(n)
        } else {
            Folded::Expanded(n)
        }
    }

    /// Expands row `i` if it is a collapsed conversation, its messages listed right under it;
    /// the cursor stays on the row it was on.
    pub fn expand_at(&mut self, i: usize) {
        let Some(row) = self.rows.get_mut(i).filter(|r| !r.folded.is_empty()) else {
            return;
        };
        let rest = std::mem::take(&mut row.folded);
        let key = thread_key(row).into_owned();
        self.folds.set(&key, false);
        if self.cursor > i {
            self.cursor += rest.len();
        }
        self.rows.splice(i + 1..i + 1, rest);
    }

    /// The row of message `id`, its collapsed conversation opened up if it is inside one.
    pub fn reveal(&mut self, id: i64) -> Option<usize> {
        let i = self.position_of(id)?;
        if self.rows[i].msg.id != id {
            self.expand_at(i);
        }
        self.rows[i..]
            .iter()
            .position(|r| r.msg.id == id)
            .map(|j| i + j)
    }

    /// Expands the collapsed rows that hold some of `ids` but not all of their conversation, so
    /// a change to part of a conversation (the message in the reader) leaves the rest listed.
    pub fn unfold_partial(&mut self, ids: &HashSet<i64>) {
        let partial = |r: &Row| {
            let n = std::iter::once(r)
                .chain(&r.folded)
                .filter(|x| ids.contains(&x.msg.id))
                .count();
            !r.folded.is_empty() && n > 0 && n < r.folded.len() + 1
        };
        let keys: Vec<String> = self
            .rows
            .iter()
            .filter(|r| partial(r))
            .map(|r| thread_key(r).into_owned())
            .collect();
        if keys.is_empty() {
            return;
        }
        for k in &keys {
            self.folds.set(k, false);
        }
        self.refold();
    }
}
