//! The one integration-test binary: each area's tests in `tests/integration/<area>.rs`, the
//! servers they start in `tests/support/`.

mod support;

#[path = "integration/account_add.rs"]
mod account_add;
#[path = "integration/accounts.rs"]
mod accounts;
#[path = "integration/cli_mail.rs"]
mod cli_mail;
#[path = "integration/compose_ui.rs"]
mod compose_ui;
#[path = "integration/demo.rs"]
mod demo;
#[path = "integration/events.rs"]
mod events;
#[path = "integration/first_day.rs"]
mod first_day;
#[path = "integration/followups.rs"]
mod followups;
#[path = "integration/hostile_mail.rs"]
mod hostile_mail;
#[path = "integration/layering.rs"]
mod layering;
#[path = "integration/render.rs"]
mod render;
#[path = "integration/scheduling.rs"]
mod scheduling;
#[path = "integration/search.rs"]
mod search;
#[path = "integration/send.rs"]
mod send;
#[path = "integration/superdata.rs"]
mod superdata;
#[path = "integration/sync.rs"]
mod sync;
#[path = "integration/tracker.rs"]
mod tracker;
#[path = "integration/tracker_prod.rs"]
mod tracker_prod;
#[path = "integration/tracksend.rs"]
mod tracksend;
#[path = "integration/tui_activity.rs"]
mod tui_activity;
#[path = "integration/tui_cmdline.rs"]
mod tui_cmdline;
#[path = "integration/tui_contacts.rs"]
mod tui_contacts;
#[path = "integration/tui_habits.rs"]
mod tui_habits;
#[path = "integration/tui_qa.rs"]
mod tui_qa;
#[path = "integration/tui_snapshots.rs"]
mod tui_snapshots;
#[path = "integration/tui_threads.rs"]
mod tui_threads;
#[path = "integration/tui_tmux.rs"]
mod tui_tmux;
