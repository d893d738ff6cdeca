//! The composer's scheduling work that needs the store or the disk: the templates, read from
//! `$XDG_CONFIG_HOME/tidings/templates` and filled from the contact and its cached Superdata.

use crate::app::templates::{self, Filled};
use crate::mail::compose::Mailbox;
use crate::store::Store;

/// Every template, filled for writing from `from` to `to` (name, filled), by name.
pub fn filled_templates(
    store: &Store,
    from: &Mailbox,
    to: Option<&Mailbox>,
) -> Result<Vec<(String, Filled)>, String> {
    let dir = templates::default_dir()
        .ok_or_else(|| "no home directory: cannot find the templates".to_string())?;
    let all = templates::list(&dir).map_err(|e| e.to_string())?;
    if all.is_empty() {
        return Err(format!(
            "no templates yet: put Markdown or text files in {}",
            dir.display()
        ));
    }
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let values = templates::values_for(store, from, to, &today);
    Ok(all
        .iter()
        .map(|t| (t.name.clone(), templates::fill(t, &values)))
        .collect())
}
