//! The one integration test binary: shared server harnesses in `support`, one module per area.

mod support;

#[path = "integration/tracker.rs"]
mod tracker;
