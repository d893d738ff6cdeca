//! Cases users of other terminal mail clients run into from outside: tiny and changing terminal
//! sizes, every overlay, keys pressed at the edges. Each test guards a bug found that way.

use crate::tui_snapshots::Harness;

/// Every pane and overlay, opened and drawn at terminal sizes down to a corner of a screen.
#[test]
fn every_overlay_draws_at_tiny_sizes_without_panicking() {
    let sequences: &[&[&str]] = &[
        &["w"],
        &["b"],
        &["?"],
        &["m"],
        &["/"],
        &["i"],
        &["C"],
        &["4", "Enter"],
        &["Enter"],
        &["c"],
    ];
    for keys in sequences {
        let mut h = Harness::new(120, 30);
        for &(w, hgt) in &[(20, 5), (3, 2), (1, 1), (40, 12)] {
            h.resize(w, hgt);
            h.screen();
            h.press(keys);
            h.screen();
            h.resize(w, hgt);
            h.screen();
        }
    }
}
