//! The one integration-test binary: each area's tests in `tests/integration/<area>.rs`, the
//! servers they start in `tests/support/`.

mod support;

#[path = "integration/demo.rs"]
mod demo;
#[path = "integration/events.rs"]
mod events;
#[path = "integration/render.rs"]
mod render;
#[path = "integration/superdata.rs"]
mod superdata;
#[path = "integration/tracker.rs"]
mod tracker;
