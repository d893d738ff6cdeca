//! The one integration test binary: real servers on 127.0.0.1, one module per area.

mod support;

#[path = "integration/send.rs"]
mod send;
