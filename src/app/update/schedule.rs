//! The composer's scheduling: "send later" (a time typed in a prompt; the mail waits in the
//! outbox until then), templates (a fuzzy picker of the files in the templates directory, filled
//! for the first recipient), and the check before sending that nothing of a template is left
//! unfilled — a `{company}` still in the text is named and the user decides.

use crate::app::action::Action;
use crate::app::compose::{ComposeEffect, Field, Prompt, SendCheck, TemplatePick};
use crate::app::fuzzy;
use crate::app::input::{edit, InputKey};
use crate::app::msg::Effect;
use crate::app::state::App;
use crate::app::templates::Filled;
use chrono::{DateTime, FixedOffset, Utc};

impl App {
    fn local_zone(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_secs).unwrap_or_else(|| chrono::Offset::fix(&Utc))
    }

    /// "scheduled for Tue 08 Dec 09:00" in the app's zone.
    pub(super) fn scheduled_note(&self, at: i64) -> String {
        let t = DateTime::from_timestamp(at, 0).unwrap_or_default();
        format!(
            "scheduled for {} — it waits in the outbox (w) until then",
            t.with_timezone(&self.local_zone()).format("%a %d %b %H:%M")
        )
    }

    pub(super) fn compose_schedule_action(&mut self, a: Action) -> Vec<Effect> {
        let Some(c) = self.compose.as_mut() else {
            return Vec::new();
        };
        match a {
            Action::SendLater => {
                c.prompt = Some(Prompt::SendAt(String::new()));
                Vec::new()
            }
            Action::InsertTemplate => {
                let to = c.current().to.into_iter().next();
                self.status = Some("reading the templates…".into());
                vec![Effect::Compose(ComposeEffect::LoadTemplates {
                    from: c.draft.from.clone(),
                    to,
                })]
            }
            _ => Vec::new(),
        }
    }

    /// Queues the mail (at the composer's `send_at`, if any), unless placeholders of a template
    /// are left and the user has not said "send anyway".
    pub(super) fn send_composed(&mut self, passed: Option<SendCheck>) -> Vec<Effect> {
        let Some(c) = self.compose.as_mut() else {
            return Vec::new();
        };
        let draft = match c.for_sending() {
            Ok(d) => d,
            Err(e) => {
                self.status = Some(format!("cannot send: {e}"));
                return Vec::new();
            }
        };
        if c.sending {
            return Vec::new();
        }
        if let Some(ask) = c.failed_check(passed) {
            c.prompt = Some(ask);
            return Vec::new();
        }
        c.sending = true;
        self.status = Some("queueing…".into());
        vec![Effect::Compose(ComposeEffect::QueueDraft {
            draft: Box::new(draft),
            tracking: c.tracking,
            remind: c.remind,
            now: self.now,
            send_at: c.send_at,
        })]
    }

    pub(super) fn schedule_prompt_input(&mut self, p: Prompt, key: InputKey) -> Vec<Effect> {
        let now = self.now;
        let zone = self.local_zone();
        let Some(c) = self.compose.as_mut() else {
            return Vec::new();
        };
        match p {
            Prompt::SendAt(mut input) => match key {
                InputKey::Esc => Vec::new(),
                InputKey::Enter => {
                    let now_t = DateTime::from_timestamp(now, 0).unwrap_or_default();
                    match crate::clock::parse_time_in(&input, now_t, &zone) {
                        Ok(t) if t > now_t => {
                            c.send_at = Some(t.timestamp());
                            self.send_composed(None)
                        }
                        Ok(_) => {
                            self.status = Some("that time has passed: C-s sends now".into());
                            c.prompt = Some(Prompt::SendAt(input));
                            Vec::new()
                        }
                        Err(e) => {
                            self.status = Some(e.to_string());
                            c.prompt = Some(Prompt::SendAt(input));
                            Vec::new()
                        }
                    }
                }
                k => {
                    edit(&mut input, k);
                    c.prompt = Some(Prompt::SendAt(input));
                    Vec::new()
                }
            },
            Prompt::Unfilled(names) => match key {
                InputKey::Char('y') => self.send_composed(Some(SendCheck::Unfilled)),
                InputKey::Char('n') | InputKey::Esc => {
                    // Back to writing; a scheduled time is chosen again with the next send.
                    c.send_at = None;
                    self.status = Some(format!("fill in {} before sending", braces(&names)));
                    Vec::new()
                }
                _ => {
                    c.prompt = Some(Prompt::Unfilled(names));
                    Vec::new()
                }
            },
            Prompt::SendAnyway(check) => match key {
                InputKey::Char('y') => self.send_composed(Some(check)),
                InputKey::Char('n') | InputKey::Esc => {
                    c.send_at = None;
                    // Back to writing, where the missing part goes.
                    c.focus = match check {
                        SendCheck::NoSubject => Field::Subject,
                        _ => Field::Body,
                    };
                    c.suggestions.clear();
                    self.status = Some("not sent".into());
                    Vec::new()
                }
                _ => {
                    c.prompt = Some(Prompt::SendAnyway(check));
                    Vec::new()
                }
            },
            Prompt::Templates(mut pick) => match key {
                InputKey::Esc => Vec::new(),
                InputKey::Enter => match pick.matches.get(pick.cursor) {
                    Some(&i) => {
                        let (name, filled) = pick.items[i].clone();
                        self.insert_template(&name, filled);
                        Vec::new()
                    }
                    None => {
                        c.prompt = Some(Prompt::Templates(pick));
                        Vec::new()
                    }
                },
                InputKey::Up => {
                    pick.cursor = pick.cursor.saturating_sub(1);
                    c.prompt = Some(Prompt::Templates(pick));
                    Vec::new()
                }
                InputKey::Down | InputKey::Tab => {
                    pick.cursor = (pick.cursor + 1).min(pick.matches.len().saturating_sub(1));
                    c.prompt = Some(Prompt::Templates(pick));
                    Vec::new()
                }
                k => {
                    edit(&mut pick.input, k);
                    let names: Vec<String> = pick.items.iter().map(|(n, _)| n.clone()).collect();
                    pick.matches = fuzzy::filter(&pick.input, &names);
                    pick.cursor = 0;
                    c.prompt = Some(Prompt::Templates(pick));
                    Vec::new()
                }
            },
            other => {
                c.prompt = Some(other);
                Vec::new()
            }
        }
    }

    pub(super) fn on_templates(
        &mut self,
        result: Result<Vec<(String, Filled)>, String>,
    ) -> Vec<Effect> {
        let Some(c) = self.compose.as_mut() else {
            return Vec::new();
        };
        match result {
            Ok(items) => {
                self.status = None;
                c.prompt = Some(Prompt::Templates(TemplatePick {
                    matches: (0..items.len()).collect(),
                    items,
                    input: String::new(),
                    cursor: 0,
                }));
            }
            Err(e) => self.status = Some(e),
        }
        Vec::new()
    }

    /// The template's body goes above what is written (the signature stays below); its subject
    /// replaces an empty one.
    fn insert_template(&mut self, name: &str, filled: Filled) {
        let Some(c) = self.compose.as_mut() else {
            return;
        };
        if let Some(s) = filled.subject.filter(|_| c.draft.subject.trim().is_empty()) {
            c.draft.subject = s;
        }
        let rest = std::mem::take(&mut c.draft.body);
        c.draft.body = if rest.trim().is_empty() {
            filled.body
        } else {
            format!("{}\n{rest}", filled.body.trim_end_matches('\n'))
        };
        c.body_rev += 1;
        c.from_template = true;
        self.status = Some(if filled.unfilled.is_empty() {
            format!("template {name} inserted")
        } else {
            format!(
                "template {name} inserted — nothing fills {}: write them in",
                braces(&filled.unfilled)
            )
        });
    }
}

fn braces(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{{{n}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use crate::app::action::Action;
    use crate::app::compose::{ComposeEffect, ComposeMsg, Prompt};
    use crate::app::input::InputKey;
    use crate::app::msg::{Effect, Msg};
    use crate::app::state::App;
    use crate::app::templates::{fill, parse, Values};

    fn composing() -> App {
        let mut app = App::new(false);
        app.now = 1_796_040_000; // 2026-11-30 12:00 UTC
        crate::app::update::tests::opened_composer(&mut app);
        app.compose.as_mut().unwrap().to = "Dana Lee <dana@acme.test>".into();
        app
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            app.update(Msg::Input(InputKey::Char(c)));
        }
    }

    #[test]
    fn send_later_queues_the_mail_with_the_typed_time() {
        let mut app = composing();
        app.compose.as_mut().unwrap().draft.subject = "Hi".into();
        app.compose.as_mut().unwrap().draft.body = "See you then.".into();
        app.update(Msg::Action(Action::SendLater));
        type_text(&mut app, "in 3h");
        let fx = app.update(Msg::Input(InputKey::Enter));
        let [Effect::Compose(ComposeEffect::QueueDraft { send_at, .. })] = fx.as_slice() else {
            panic!("{fx:?}");
        };
        assert_eq!(*send_at, Some(app.now + 3 * 3600));
        let fx = app.update(Msg::Compose(ComposeMsg::Queued(Ok("w".into()))));
        assert!(fx.is_empty(), "no flush: it waits for its time: {fx:?}");
        assert!(app.compose.is_none());
        assert!(app
            .status
            .as_deref()
            .unwrap()
            .starts_with("scheduled for Mon 30 Nov 15:00"));
    }

    #[test]
    fn a_template_fills_in_and_an_unfilled_placeholder_asks_before_sending() {
        let mut app = composing();
        app.update(Msg::Action(Action::InsertTemplate));
        let t = parse(
            "intro",
            "Subject: Hello {first_name}\n\nHi {first_name} at {company}\n",
        );
        let mut v = Values::default();
        v.0.insert("first_name".into(), "Dana".into());
        app.update(Msg::Compose(ComposeMsg::Templates(Ok(vec![(
            "intro".into(),
            fill(&t, &v),
        )]))));
        app.update(Msg::Input(InputKey::Enter));
        let c = app.compose.as_ref().unwrap();
        assert_eq!(c.draft.subject, "Hello Dana");
        assert_eq!(c.draft.body, "Hi Dana at {company}\n");
        assert_eq!(c.unfilled(), ["company"]);
        assert!(
            app.update(Msg::Action(Action::Send)).is_empty(),
            "asks first"
        );
        assert_eq!(
            app.compose.as_ref().unwrap().prompt,
            Some(Prompt::Unfilled(vec!["company".into()]))
        );
        // n: back to writing, nothing queued.
        assert!(app.update(Msg::Input(InputKey::Char('n'))).is_empty());
        assert!(app.compose.as_ref().unwrap().prompt.is_none());
        // Filled in by hand: it goes without asking.
        app.compose.as_mut().unwrap().draft.body = "Hi Dana at Acme\n".into();
        let fx = app.update(Msg::Action(Action::Send));
        assert!(matches!(
            fx.as_slice(),
            [Effect::Compose(ComposeEffect::QueueDraft {
                send_at: None,
                ..
            })]
        ));
    }
}
