//! The one integration test binary: one module per area (in tests/integration/), server
//! harnesses in tests/support/.

mod support;

#[path = "integration/demo.rs"]
mod demo;
#[path = "integration/render.rs"]
mod render;
