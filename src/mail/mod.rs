//! Mail protocols and formats: IMAP sync, MIME parsing and rendering, sanitizing, demo data.
//! Knows the store; knows nothing of the screen.

pub mod compose;
pub mod demo;
pub mod drafts;
pub mod filing;
pub mod imap;
pub mod local_mailbox;
pub mod local_smtp;
pub mod mailbox_name;
pub mod ops;
pub mod outbox;
pub mod parse;
pub mod render;
pub mod sanitize;
pub mod smtp;
pub mod sync;
