//! The terminal session: raw mode and the alternate screen (restored on exit and on panic), an
//! input task reading crossterm's event stream into a channel, and the `select!` loop that feeds
//! messages to the app, runs its effects and draws.

use super::Ui;
use crate::app::compose::{ComposeEffect, ComposeMsg};
use crate::app::runtime::Runtime;
use crate::app::{App, Effect, Msg, UiEffect};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream,
};
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
    let _ = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

fn setup(mouse: bool) -> std::io::Result<Term> {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // In the log too: the terminal's copy is gone once the window closes.
        tracing::error!("panic: {info}");
        restore(mouse);
        prev(info);
    }));
    enable_raw_mode()?;
    let mut out = std::io::stdout();
    // A paste arrives as one event (not a key per character, Enter included): one edit.
    execute!(out, EnterAlternateScreen, EnableBracketedPaste)?;
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
        // Once a second: keeps relative dates and the lookup spinner moving and drives draft
        // autosave; a frame costs about a millisecond.
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

/// Switches mouse capture: off, the terminal selects and copies text as usual.
fn toggle_mouse(ui: &mut Ui) -> Msg {
    ui.mouse = !ui.mouse;
    let done = if ui.mouse {
        execute!(std::io::stdout(), EnableMouseCapture)
    } else {
        execute!(std::io::stdout(), DisableMouseCapture)
    };
    match (done, ui.mouse) {
        (Err(e), _) => Msg::Error(format!("switching the mouse: {e}")),
        (Ok(()), true) => Msg::Notice("mouse on: click selects, the wheel scrolls".into()),
        (Ok(()), false) => Msg::Notice("mouse off: the terminal selects text".into()),
    }
}

/// Runs the inbox until the user quits. `msgs` carries the runtime's (and sync's) answers. The
/// app comes back, for what outlives the session (the command history).
pub async fn run(
    mut app: App,
    mut ui: Ui,
    runtime: Runtime,
    mut msgs: UnboundedReceiver<Msg>,
) -> std::io::Result<App> {
    let mut term = setup(ui.mouse)?;
    let mut input = spawn_input();
    for e in app.start() {
        runtime.run(e);
    }
    let result = loop {
        if let Err(e) = term.draw(|f| ui.draw(f, &mut app)) {
            break Err(e);
        }
        let mut batch = tokio::select! {
            i = input.recv() => match i {
                Some(i) => input_msgs(&mut ui, &app, i),
                None => break Ok(()),
            },
            m = msgs.recv() => m.into_iter().collect(),
        };
        // Apply everything already waiting — answers, and keys typed or pasted in a burst —
        // before drawing again: a frame per key made a pasted page trickle in.
        loop {
            for m in batch.drain(..) {
                apply(&mut app, &runtime, &mut term, &mut ui, &mut msgs, m);
            }
            match input.try_recv() {
                Ok(i) if !app.quit => batch = input_msgs(&mut ui, &app, i),
                _ => break,
            }
        }
        if app.quit {
            break Ok(());
        }
    };
    // A draft being written is saved before the writer is drained.
    for e in app.autosave(true) {
        runtime.run(e);
    }
    runtime.finish();
    restore(ui.mouse);
    result.map(|()| app)
}

/// A terminal event (or the clock) as messages for the app.
fn input_msgs(ui: &mut Ui, app: &App, i: Input) -> Vec<Msg> {
    match i {
        Input::Event(Event::Key(k)) if k.kind != crossterm::event::KeyEventKind::Release => {
            ui.key(app, &k).into_iter().collect()
        }
        Input::Event(Event::Mouse(m)) => ui.mouse(app, &m).into_iter().collect(),
        Input::Event(Event::Paste(text)) => ui.paste(app, &text),
        Input::Event(_) => Vec::new(), // resize and focus: the next draw adapts
        Input::Tick => vec![Msg::Tick(crate::clock::now().timestamp())],
    }
}

/// Runs `m` through the app and its effects through the runtime, then the answers already
/// waiting; `$EDITOR` runs here, with the terminal handed over.
fn apply(
    app: &mut App,
    runtime: &Runtime,
    term: &mut Term,
    ui: &mut Ui,
    msgs: &mut UnboundedReceiver<Msg>,
    m: Msg,
) {
    let mut next = Some(m);
    while let Some(m) = next {
        let mut answer = None;
        for e in app.update(m) {
            match e {
                Effect::Compose(ComposeEffect::ExternalEditor { body }) => {
                    let edited = edit_externally(term, ui.mouse, &body);
                    answer = Some(Msg::Compose(ComposeMsg::ExternalEdited(edited)));
                }
                Effect::Ui(UiEffect::ToggleMouse) => answer = Some(toggle_mouse(ui)),
                Effect::Ui(UiEffect::Theme(name)) => answer = Some(ui.set_theme(&name)),
                e => runtime.run(e),
            }
        }
        next = answer.or_else(|| msgs.try_recv().ok());
    }
}

/// The editor to run: `$VISUAL`, else `$EDITOR`, else `vi`.
fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".into())
}

/// Hands the terminal to `$VISUAL`/`$EDITOR` on a temp file holding `body`, then takes it back
/// and redraws. The UI loop waits here on purpose: the user is in the editor.
fn edit_externally(term: &mut Term, mouse: bool, body: &str) -> Result<String, String> {
    let dir = tempfile::Builder::new()
        .prefix("tidings-draft")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let path = dir.path().join("body.txt");
    std::fs::write(&path, body).map_err(|e| e.to_string())?;
    restore(mouse);
    // The command may carry arguments (`code -w`); the shell splits them as the user wrote them.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{} \"$1\"", editor_command()))
        .arg("sh")
        .arg(&path)
        .status();
    let back = enable_raw_mode().and_then(|_| {
        execute!(
            std::io::stdout(),
            EnterAlternateScreen,
            EnableBracketedPaste,
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
        )?;
        if mouse {
            execute!(std::io::stdout(), EnableMouseCapture)?;
        }
        // Not `term.clear()`: it asks the terminal for the cursor position, and the input task
        // would swallow the answer. A blank frame makes ratatui's next diff repaint everything.
        term.draw(|f| f.render_widget(ratatui::widgets::Clear, f.area()))
            .map(|_| ())
    });
    back.map_err(|e| format!("restoring the terminal: {e}"))?;
    match status {
        Ok(s) if s.success() => std::fs::read_to_string(&path).map_err(|e| e.to_string()),
        Ok(s) => Err(format!(
            "{} exited with {s}; body unchanged",
            editor_command()
        )),
        Err(e) => Err(format!("cannot run {}: {e}", editor_command())),
    }
}
