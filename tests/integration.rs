//! The one integration test binary: one module per area (in `tests/integration/`), server
//! harnesses in `support`.

mod support;

#[path = "integration/tui_snapshots.rs"]
mod tui_snapshots;
#[path = "integration/tui_tmux.rs"]
mod tui_tmux;
