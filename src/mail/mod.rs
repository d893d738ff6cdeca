//! Mail protocols and formats: IMAP sync, MIME parsing and rendering, sanitizing, demo data.
//! Knows the store; knows nothing of the screen.

pub mod demo;
pub mod imap;
pub mod ops;
pub mod parse;
pub mod render;
pub mod sanitize;
pub mod sync;
