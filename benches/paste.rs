//! Paste figure (printed, not asserted): a 100 KB bracketed paste into the composer's body,
//! applied (one edit, the app told the new body) and drawn, at 160×48. Target: under 100 ms.
//! Run: `cargo bench --bench paste` (see docs/benchmarks.md).

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, Instant};
use tidings::app::compose::{ComposeMsg, ComposeOpen};
use tidings::app::{App, ComposeKind, Msg};
use tidings::mail::compose::{Draft, Mailbox, Sender};
use tidings::ui::{keymap::Keymap, theme::Theme, Ui};

const ROUNDS: usize = 9;

/// About 100 KB of prose in 940 lines.
fn page() -> String {
    (1..=940)
        .map(|i| {
            format!(
                "{i:03} The numbers for the quarter are in the sheet; the breakdown by region \
                 follows and the notes from the call.\n"
            )
        })
        .collect()
}

fn main() {
    let text = page();
    let sender = Sender {
        account: "bench".into(),
        from: Mailbox::new(Some("Me"), "me@example.com"),
        signature: None,
    };
    let mut ui = Ui::new(Theme::default(), Keymap::default(), true);
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..ROUNDS {
        let mut app = App::new(false);
        // A reply opens on the body; each round is a fresh draft (and editor).
        app.update(Msg::Compose(ComposeMsg::Ready(Ok(Box::new(ComposeOpen {
            kind: ComposeKind::Reply,
            draft: Draft::new(&sender),
            accounts: vec![("bench".into(), sender.from.clone())],
            resumed: false,
            tracking: Default::default(),
            remind: None,
        })))));
        term.draw(|f| ui.draw(f, &mut app)).unwrap();
        let t = Instant::now();
        for m in ui.paste(&app, &text) {
            app.update(m);
        }
        term.draw(|f| ui.draw(f, &mut app)).unwrap();
        times.push(t.elapsed());
        let body = &app.compose.as_ref().expect("composer open").draft.body;
        assert!(body.len() >= text.len() - 1, "the paste landed whole");
    }
    times.sort();
    println!(
        "paste of {} KB ({} lines) into the composer body, applied and drawn: median {:.1} ms, \
         worst {:.1} ms over {ROUNDS} rounds (target < 100 ms)",
        text.len() / 1024,
        text.lines().count(),
        times[ROUNDS / 2].as_secs_f64() * 1e3,
        times[ROUNDS - 1].as_secs_f64() * 1e3
    );
}
