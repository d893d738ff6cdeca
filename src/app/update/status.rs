//! The status bar over time (see `app::status`): what the update step showed is logged, and it
//! fades at the next key or after a few seconds on the clock.

use crate::app::action::Action;
use crate::app::msg::Msg;
use crate::app::state::App;
use crate::app::status::{ERROR_SECONDS, STATUS_SECONDS};
use crate::app::view::Mode;

impl App {
    /// Before a message is handled: a key clears what the bar said about the last one.
    pub(super) fn status_before(&mut self, msg: &Msg) {
        let key = matches!(msg, Msg::Action(a) if *a != Action::MessageLog)
            && matches!(self.mode, Mode::Normal);
        if key {
            self.status = None;
            self.last_error = None;
        }
    }

    /// After: logs what went up, and lets it fade once its time is over.
    pub(super) fn status_after(&mut self, before: (Option<String>, Option<String>)) {
        let now = self.now;
        // What the bar says about a query still being typed ("is:u: use unread, …") is
        // about that keystroke only; logging it would bury the log under half-typed queries.
        let typing = matches!(self.mode, Mode::Search { .. } | Mode::Command(_));
        if self.status.is_some() && self.status != before.0 {
            if let Some(s) = self.status.as_ref().filter(|_| !typing) {
                self.log.push(now, s, false);
            }
            self.log.status_since = Some(now);
        }
        if self.last_error.is_some() && self.last_error != before.1 {
            if let Some(e) = &self.last_error {
                self.log.push(now, e, true);
            }
            self.log.error_since = Some(now);
        }
        if self
            .log
            .status_since
            .is_some_and(|t| now - t >= STATUS_SECONDS)
        {
            self.status = None;
            self.log.status_since = None;
        }
        if self
            .log
            .error_since
            .is_some_and(|t| now - t >= ERROR_SECONDS)
        {
            self.last_error = None;
            self.log.error_since = None;
        }
    }

    /// The query changed or its prompt closed: what the bar said about the query before is no
    /// longer true of anything typed.
    pub(super) fn drop_query_note(&mut self) {
        if self
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with("search: "))
        {
            self.status = None;
        }
    }

    /// `I`: opens the message log (scrolled to the newest) or closes it.
    pub(super) fn toggle_log(&mut self) {
        self.mode = match self.mode {
            Mode::Log { .. } => Mode::Normal,
            _ => Mode::Log {
                scroll: u16::try_from(self.log.entries.len()).unwrap_or(u16::MAX),
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use crate::app::action::Action;
    use crate::app::input::InputKey;
    use crate::app::msg::Msg;
    use crate::app::state::App;
    use crate::app::view::Mode;

    #[test]
    fn a_message_fades_with_time_or_the_next_key_and_errors_stay_in_the_log() {
        let mut app = App::new(false);
        app.update(Msg::Tick(1000));
        app.update(Msg::Error("imap.example.com: connection refused".into()));
        app.update(Msg::Notice("tracker unreachable".into()));
        assert!(app.last_error.is_some() && app.status.is_some());
        app.update(Msg::Tick(1006));
        assert_eq!(app.status, None, "a notice fades after a few seconds");
        app.update(Msg::Tick(1020));
        assert_eq!(app.last_error, None, "an error fades too, later");

        app.update(Msg::Error("send failed".into()));
        app.update(Msg::Action(Action::Down));
        assert_eq!(app.last_error, None, "the next key clears it");

        app.update(Msg::Action(Action::MessageLog));
        assert!(matches!(app.mode, Mode::Log { .. }));
        let texts: Vec<(&str, bool)> = app
            .log
            .entries
            .iter()
            .map(|e| (e.text.as_str(), e.error))
            .collect();
        assert_eq!(
            texts,
            [
                ("imap.example.com: connection refused", true),
                ("tracker unreachable", false),
                ("send failed", true)
            ]
        );
        app.update(Msg::Action(Action::Down));
        assert!(matches!(app.mode, Mode::Log { .. }), "j scrolls the log");
        app.update(Msg::Action(Action::Back));
        assert!(matches!(app.mode, Mode::Normal));
    }

    #[test]
    fn notes_on_a_search_still_being_typed_are_shown_but_not_logged() {
        let mut app = App::new(false);
        app.update(Msg::Tick(1000));
        app.update(Msg::Action(Action::Search));
        assert!(matches!(app.mode, Mode::Search { .. }));
        app.update(Msg::Notice("search: is:u: use unread, read, …".into()));
        assert!(app.status.is_some(), "the bar still says it");
        assert!(app.log.entries.is_empty(), "{:?}", app.log.entries.len());
        // Typing on makes it a note about another query; closing the prompt, about none.
        app.update(Msg::Input(InputKey::Char('n')));
        assert_eq!(app.status, None);
        app.update(Msg::Notice("search: is:un: use unread, read, …".into()));
        app.update(Msg::Input(InputKey::Esc));
        assert_eq!(app.status, None);
    }

    #[test]
    fn a_note_about_a_query_typed_over_since_never_reaches_the_bar() {
        let mut app = App::new(false);
        app.list.current = Some(("w".into(), "INBOX".into()));
        app.update(Msg::Action(Action::Search));
        app.update(Msg::Input(InputKey::Char('x')));
        let typed_first = app.list.generation;
        app.update(Msg::Input(InputKey::Char('y')));
        assert_ne!(app.list.generation, typed_first);
        app.update(Msg::QueryNote {
            generation: typed_first,
            text: "search: 2 messages have no body yet".into(),
        });
        assert_eq!(app.status, None, "the note was about \"x\"");
        app.update(Msg::QueryNote {
            generation: app.list.generation,
            text: "search: 1 message has no body yet".into(),
        });
        assert_eq!(
            app.status.as_deref(),
            Some("search: 1 message has no body yet")
        );
    }
}
