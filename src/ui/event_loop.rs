//! The terminal session: raw mode and the alternate screen (restored on exit and on panic), an
//! input task reading crossterm's event stream into a channel, and the `select!` loop that feeds
//! messages to the app, runs its effects and draws.

use super::Ui;
use crate::app::runtime::Runtime;
use crate::app::{App, Msg};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::Stdout;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

type Term = Terminal<CrosstermBackend<Stdout>>;

fn restore(mouse: bool) {
    let _ = disable_raw_mode();
    let mut out = std::io::stdout();
    if mouse {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(out, LeaveAlternateScreen, crossterm::cursor::Show);
}

fn setup(mouse: bool) -> std::io::Result<Term> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore(mouse);
        prev(info);
    }));
    enable_raw_mode()?;
    let mut out = std::io::stdout();
    execute!(out, EnterAlternateScreen)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    let mut t = Terminal::new(CrosstermBackend::new(out))?;
    t.clear()?;
    Ok(t)
}

enum Input {
    Event(Event),
    Tick,
}

/// The input task: terminal events and a clock tick, in one channel.
fn spawn_input() -> UnboundedReceiver<Input> {
    let (tx, rx) = unbounded_channel();
    tokio::spawn(async move {
        let mut events = EventStream::new();
        // Once a second: keeps relative dates and the lookup spinner moving; a frame costs ~1 ms.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let item = tokio::select! {
                e = events.next() => match e {
                    Some(Ok(e)) => Input::Event(e),
                    Some(Err(_)) | None => break,
                },
                _ = tick.tick() => Input::Tick,
            };
            if tx.send(item).is_err() {
                break;
            }
        }
    });
    rx
}

/// Runs the inbox until the user quits. `msgs` carries the runtime's (and sync's) answers.
pub async fn run(
    mut app: App,
    mut ui: Ui,
    runtime: Runtime,
    mut msgs: UnboundedReceiver<Msg>,
) -> std::io::Result<()> {
    let mut term = setup(ui.mouse)?;
    let mut input = spawn_input();
    for e in app.start() {
        runtime.run(e);
    }
    let result = loop {
        if let Err(e) = term.draw(|f| ui.draw(f, &mut app)) {
            break Err(e);
        }
        let msg = tokio::select! {
            i = input.recv() => match i {
                Some(Input::Event(Event::Key(k))) if k.kind != crossterm::event::KeyEventKind::Release => ui.key(&app, &k),
                Some(Input::Event(Event::Mouse(m))) => ui.mouse(&app, &m),
                Some(Input::Event(_)) => None, // resize and focus: the next draw adapts
                Some(Input::Tick) => {
                    app.now = chrono::Utc::now().timestamp();
                    None
                }
                None => break Ok(()),
            },
            m = msgs.recv() => m,
        };
        let mut next = msg;
        // Apply everything already waiting before drawing again.
        while let Some(m) = next {
            for e in app.update(m) {
                runtime.run(e);
            }
            next = msgs.try_recv().ok();
        }
        if app.quit {
            break Ok(());
        }
    };
    restore(ui.mouse);
    result
}
