//! Mail protocols and formats: IMAP sync, MIME parsing and rendering, sanitizing, demo data.
//! Knows the store; knows nothing of the screen.

pub mod compose;
pub mod parse;
pub mod sanitize;
