//! Servers the integration tests start on 127.0.0.1.

pub mod dbus;
pub mod dns;
pub mod http;
pub mod postgres;
pub mod tracker;
