//! The terminal session: raw mode and the alternate screen (restored on exit and on panic), an
//! input thread reading crossterm's events into a channel (paused while `$EDITOR` has the
//! terminal), and the `select!` loop that feeds messages to the app, runs its effects and draws.

use super::Ui;
use crate::app::compose::{ComposeEffect, ComposeMsg};
use crate::app::runtime::Runtime;
use crate::app::{App, Effect, Msg, UiEffect};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::Stdout;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

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
    /// The terminal can no longer be read (closed, hung up): the session ends.
    Gone,
}

/// How long the input thread waits for a key before it looks whether it is asked to pause: the
/// most `$EDITOR` waits for the terminal to be its own.
const INPUT_POLL: Duration = Duration::from_millis(50);

/// The switch between the input thread and the UI loop. While `$EDITOR` runs, the thread must
/// not read the terminal at all: it read the editor's keys before (vi never saw them, and an Esc
/// or `d` typed there reached the composer's "discard" prompt afterwards).
#[derive(Default)]
struct InputGate {
    paused: AtomicBool,
    /// The thread is parked (or gone) and reads nothing.
    idle: Mutex<bool>,
    changed: Condvar,
}

impl InputGate {
    fn set_idle(&self, idle: bool) {
        if let Ok(mut i) = self.idle.lock() {
            *i = idle;
        }
        self.changed.notify_all();
    }

    /// Stops the reading and returns once the thread has stopped.
    fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        // Bounded, so a wedged terminal cannot hang the UI here; the thread checks the switch
        // at every INPUT_POLL.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !*idle {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            idle = match self.changed.wait_timeout(idle, left) {
                Ok((i, _)) => i,
                Err(_) => return,
            };
        }
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
        self.changed.notify_all();
    }

    /// In the input thread: parks while paused.
    fn wait_while_paused(&self) {
        if !self.paused.load(Ordering::SeqCst) {
            return;
        }
        self.set_idle(true);
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        while self.paused.load(Ordering::SeqCst) {
            idle = match self.changed.wait_timeout(idle, INPUT_POLL) {
                Ok((i, _)) => i,
                Err(_) => return,
            };
        }
        *idle = false;
    }
}

/// The input thread (terminal events) and a clock tick, in one channel. A thread with a short
/// poll rather than crossterm's event stream: the stream's reader cannot be stopped on the spot,
/// and the terminal must be left alone while `$EDITOR` has it.
fn spawn_input() -> (UnboundedReceiver<Input>, Arc<InputGate>) {
    let (tx, rx) = unbounded_channel();
    let gate = Arc::new(InputGate::default());
    let reader = (tx.clone(), gate.clone());
    let spawned = std::thread::Builder::new()
        .name("tidings-input".into())
        .spawn(move || read_input(&reader.0, &reader.1));
    if spawned.is_err() {
        let _ = tx.send(Input::Gone);
    }
    tokio::spawn(async move {
        // Once a second: keeps relative dates and the lookup spinner moving and drives draft
        // autosave; a frame costs about a millisecond.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if tx.send(Input::Tick).is_err() {
                break;
            }
        }
    });
    (rx, gate)
}

fn read_input(tx: &UnboundedSender<Input>, gate: &InputGate) {
    loop {
        gate.wait_while_paused();
        let event = match crossterm::event::poll(INPUT_POLL) {
            Ok(false) if tx.is_closed() => break,
            Ok(false) => continue,
            Ok(true) => crossterm::event::read(),
            Err(e) => Err(e),
        };
        match event {
            Ok(e) => {
                if tx.send(Input::Event(e)).is_err() {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!("reading the terminal: {e}");
                let _ = tx.send(Input::Gone);
                break;
            }
        }
    }
    // Nobody waits for a thread that is gone.
    gate.set_idle(true);
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
    let (mut input, gate) = spawn_input();
    for e in app.start() {
        runtime.run(e);
    }
    let result = loop {
        if let Err(e) = term.draw(|f| ui.draw(f, &mut app)) {
            break Err(e);
        }
        let mut batch = tokio::select! {
            i = input.recv() => match i {
                Some(Input::Gone) | None => break Ok(()),
                Some(i) => input_msgs(&mut ui, &app, i),
            },
            m = msgs.recv() => m.into_iter().collect(),
        };
        // Apply everything already waiting — answers, and keys typed or pasted in a burst —
        // before drawing again: a frame per key made a pasted page trickle in.
        loop {
            for m in batch.drain(..) {
                apply(&mut app, &runtime, &mut term, &mut ui, &gate, &mut msgs, m);
            }
            match input.try_recv() {
                Ok(Input::Gone) => app.quit = true,
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
        Input::Gone => Vec::new(),
    }
}

/// Runs `m` through the app and its effects through the runtime, then the answers already
/// waiting; `$EDITOR` runs here, with the terminal handed over.
fn apply(
    app: &mut App,
    runtime: &Runtime,
    term: &mut Term,
    ui: &mut Ui,
    gate: &InputGate,
    msgs: &mut UnboundedReceiver<Msg>,
    m: Msg,
) {
    let mut next = Some(m);
    while let Some(m) = next {
        let mut answer = None;
        for e in app.update(m) {
            match e {
                Effect::Compose(ComposeEffect::ExternalEditor { body }) => {
                    gate.pause();
                    let edited = edit_externally(term, ui.mouse, &body);
                    gate.resume();
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
        // Not `term.clear()`: it asks the terminal for the cursor position, and the input thread
        // (if it did not pause in time) could swallow the answer. A blank frame makes ratatui's
        // next diff repaint everything.
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
