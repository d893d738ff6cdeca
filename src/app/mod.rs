//! The inbox's application layer: state, messages and the pure update step (`update/`), plus the
//! runtime (`runtime/`) that executes the update's effects off the UI loop. Knows the store and
//! mail layers; knows nothing of ratatui — `ui` draws from [`App`] and the view types re-exported
//! here, and feeds it [`Msg`]s. This file only declares and re-exports.

pub mod action;
pub mod activity;
pub mod collapse;
pub mod command;
pub mod compose;
pub mod contact;
pub mod dates;
pub mod followups;
pub mod fuzzy;
pub mod input;
pub mod links;
pub mod msg;
pub mod outbox_view;
pub mod runtime;
pub mod sort;
pub mod state;
pub mod status;
pub mod templates;
pub mod threads;
pub mod timeline;
pub mod tracking_urls;
mod update;
pub mod view;

pub use action::Action;
pub use dates::short_date;
pub use input::InputKey;
pub use msg::{poller_msgs, Effect, Msg, UiEffect};
pub use state::{App, ListState, PaneHeights, TriageState};
pub use tracking_urls::{ReaderContent, TrackingLine, TrackingUrls};
pub use update::safe_file_name;
pub use view::*;

// What the panes need from the mail layer, through here so `ui` depends on `app` alone.
pub use crate::mail::mailbox_name::display as folder_display_name;
pub use crate::mail::outbox::state as outbox_state;
pub use crate::mail::render::human_size;
pub use crate::store::SYNTAX_HELP as SEARCH_SYNTAX;
