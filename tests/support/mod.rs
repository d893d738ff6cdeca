//! Harnesses for the servers integration tests start on 127.0.0.1, and shared fixtures.

pub mod mailbox;
