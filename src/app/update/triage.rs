//! Delete, which is a move to Trash everywhere but in Trash itself: there it erases for good, so
//! it asks first and offers no undo that could not work.

use super::count_label;
use crate::app::input::InputKey;
use crate::app::msg::Effect;
use crate::app::state::App;
use crate::app::view::{Change, Mode};

impl App {
    /// `d`: the targets go to Trash; those already there are erased after a `y`.
    pub(super) fn delete_targets(&mut self) -> Vec<Effect> {
        let ids = self.targets();
        let in_trash = ids.iter().filter(|id| self.in_trash(**id)).count();
        if in_trash == 0 {
            return self.move_ids(ids, Change::Delete, "deleted");
        }
        self.mode = Mode::ConfirmDelete { ids, in_trash };
        Vec::new()
    }

    /// The answer to [`Mode::ConfirmDelete`]: only `y` deletes; any other key keeps the mail.
    pub(super) fn on_confirm_delete(&mut self, ids: Vec<i64>, key: InputKey) -> Vec<Effect> {
        if key != InputKey::Char('y') {
            self.status = Some("nothing deleted".into());
            return Vec::new();
        }
        let n = ids.len();
        let fx = self.move_ids(ids, Change::Delete, "deleted for good");
        // The store can take back neither the erase nor, with it, the rest of this change.
        if let Some(u) = self.triage.undo.pop() {
            self.status = Some(u.label);
        } else {
            self.status = Some(format!("{} deleted for good", count_label(n)));
        }
        fx
    }

    fn in_trash(&self, id: i64) -> bool {
        let Some(row) = self.list.all_rows().find(|r| r.msg.id == id) else {
            return false;
        };
        self.list.folders.iter().any(|f| {
            f.account == row.msg.account
                && f.name == row.msg.folder
                && f.role.as_deref() == Some("trash")
        })
    }
}
