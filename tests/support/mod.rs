//! Servers the integration tests start on 127.0.0.1.

pub mod dbus;
pub mod dns;
pub mod http;
/// A small cached mailbox for UI tests.
pub mod mailbox;
pub mod postgres;
pub mod smtp;
pub mod tracker;
