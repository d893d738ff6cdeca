//! The list's order (`Msg::SortBy`, the sort picker) and selection by pattern
//! (`Msg::SelectMatching`, the `V` prompt). Sorting reloads the list in the new order, as the
//! runtime sorts a folder of any size off the UI loop; a pattern is matched by the store, also off
//! the loop, and its answer selects the matching rows of the list it was asked about.

use crate::app::fuzzy;
use crate::app::input::{InputKey, LineInput};
use crate::app::msg::{Effect, Msg};
use crate::app::sort::{ListSort, SortKey};
use crate::app::state::App;
use crate::app::view::{Mode, Picker, PickerPurpose};
use std::collections::HashSet;

impl App {
    /// Messages of sorting and selecting by pattern; others come back unhandled.
    pub(super) fn sorting_update(&mut self, msg: Msg) -> Result<Vec<Effect>, Box<Msg>> {
        match msg {
            Msg::SortBy { key, reverse } => Ok(self.sort_by(ListSort { key, reverse })),
            Msg::SelectMatching { query, select } => Ok(self.select_matching(&query, select)),
            Msg::Matched {
                generation,
                pattern,
                select,
                ids,
            } => {
                self.on_matched(generation, &pattern, select, ids);
                Ok(Vec::new())
            }
            other => Err(Box::new(other)),
        }
    }

    fn sort_by(&mut self, sort: ListSort) -> Vec<Effect> {
        self.mode = Mode::Normal;
        let label = sort.label().unwrap_or_else(|| "newest first".into());
        if sort == self.list.sort {
            self.status = Some(format!("already {label}"));
            return Vec::new();
        }
        self.list.sort = sort;
        self.status = Some(label);
        self.list.follow = self.selected_row().map(|r| r.msg.id);
        self.reload(false)
    }

    /// The sort key: opens the picker of keys; pressed again in it, reverses the current order.
    pub(super) fn sort_action(&mut self) -> Vec<Effect> {
        let current = self.list.sort;
        if matches!(&self.mode, Mode::Picker(p) if p.purpose == PickerPurpose::Sort) {
            return self.sort_by(ListSort {
                reverse: !current.reverse,
                ..current
            });
        }
        let items: Vec<String> = SortKey::NAMES.iter().map(|n| n.to_string()).collect();
        let now = current.label().unwrap_or_else(|| "newest first".into());
        self.mode = Mode::Picker(Picker {
            purpose: PickerPurpose::Sort,
            title: format!("Sort by (now {now})"),
            matches: fuzzy::filter("", &items),
            cursor: SortKey::ALL
                .iter()
                .position(|k| *k == current.key)
                .unwrap_or(0),
            items,
            input: LineInput::default(),
        });
        Vec::new()
    }

    /// Enter in the sort picker on the `item`-th key; on the current one, it reverses the order,
    /// as the sort key pressed twice does.
    pub(super) fn pick_sort(&mut self, item: usize) -> Vec<Effect> {
        let current = self.list.sort;
        match SortKey::ALL.get(item) {
            Some(&key) => self.sort_by(ListSort {
                key,
                reverse: key == current.key && !current.reverse,
            }),
            None => Vec::new(),
        }
    }

    pub(super) fn open_select_prompt(&mut self) -> Vec<Effect> {
        self.mode = Mode::SelectPrompt {
            input: LineInput::default(),
        };
        Vec::new()
    }

    pub(super) fn on_select_prompt(&mut self, mut input: LineInput, key: InputKey) -> Vec<Effect> {
        match key {
            InputKey::Esc => Vec::new(),
            InputKey::Enter => self.select_matching(&input, true),
            InputKey::Tab | InputKey::BackTab => {
                self.tab_query(&mut input, key == InputKey::Tab);
                self.mode = Mode::SelectPrompt { input };
                Vec::new()
            }
            _ => {
                input.edit(key);
                self.mode = Mode::SelectPrompt { input };
                Vec::new()
            }
        }
    }

    fn select_matching(&mut self, query: &str, select: bool) -> Vec<Effect> {
        self.mode = Mode::Normal;
        let pattern = query.trim();
        if pattern.is_empty() {
            if select {
                self.status = Some("type a search to select by, e.g. from:dana is:unread".into());
            } else {
                let n = self.list.marked.len();
                self.list.marked.clear();
                self.status = Some(unselected_label(n));
            }
            return Vec::new();
        }
        // The list's own account, folder and filter; a search list is narrowed to its rows when
        // the answer comes (`on_matched`), so the pattern is not combined with its text.
        let Some(mut query) = self.list_query() else {
            self.status = Some("no message matched: nothing is listed".into());
            return Vec::new();
        };
        query.search = Some(pattern.to_string());
        self.status = Some(format!("selecting “{pattern}”…"));
        vec![Effect::SelectMatching {
            generation: self.list.generation,
            query,
            pattern: pattern.to_string(),
            select,
        }]
    }

    fn on_matched(
        &mut self,
        generation: u64,
        pattern: &str,
        select: bool,
        ids: Result<Vec<i64>, String>,
    ) {
        if generation != self.list.generation {
            self.status = Some(format!(
                "“{pattern}” was for a list no longer shown: nothing selected"
            ));
            return;
        }
        let ids = match ids {
            Ok(ids) => ids.into_iter().collect::<HashSet<i64>>(),
            Err(e) => {
                // The error is the outcome: "selecting …" must not stay beside it.
                self.status = None;
                self.last_error = Some(e);
                return;
            }
        };
        // Only rows of this list (a search list shows a part of what the pattern matches), the
        // messages inside collapsed conversations too: those, not their whole conversation.
        let matched: Vec<i64> = self
            .list
            .all_rows()
            .map(|r| r.msg.id)
            .filter(|id| ids.contains(id))
            .collect();
        let n = matched.len();
        if n == 0 {
            self.status = Some("no message matched".into());
            return;
        }
        let inside = self
            .list
            .rows
            .iter()
            .flat_map(|r| &r.folded)
            .filter(|r| ids.contains(&r.msg.id))
            .count();
        let within = match inside {
            0 => String::new(),
            k => format!(" ({k} inside collapsed conversations)"),
        };
        if select {
            self.list.marked.extend(matched);
            self.status = Some(format!("{n} selected{within}"));
        } else {
            for id in &matched {
                self.list.marked.remove(id);
            }
            self.status = Some(format!("{}{within}", unselected_label(n)));
        }
    }
}

fn unselected_label(n: usize) -> String {
    match n {
        0 => "nothing was selected".into(),
        n => format!("{n} unselected"),
    }
}
