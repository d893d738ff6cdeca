//! The composer's update step: its keys, prompts and the runtime's answers about drafts.

use crate::app::action::Action;
use crate::app::compose::{ComposeEffect, ComposeMsg, Composer, Field, Prompt, AUTOSAVE_SECONDS};
use crate::app::input::{edit, expand_home, InputKey};
use crate::app::msg::{Effect, Msg};
use crate::app::outbox_view::OutboxEffect;
use crate::app::state::App;
use crate::app::view::{ComposeKind, ComposeRequest};

impl App {
    /// Handles `msg` when it is the composer's (and the clock, which drives autosave); gives it
    /// back otherwise.
    pub(super) fn compose_update(&mut self, msg: Msg) -> Result<Vec<Effect>, Box<Msg>> {
        match msg {
            Msg::Compose(m) => Ok(self.on_compose_msg(m)),
            Msg::Tick(now) => {
                self.now = now;
                let mut fx = self.autosave(false);
                // The Outbox view follows states the worker (or another process) changes.
                if self.outbox.is_some() && self.compose.is_none() {
                    fx.push(Effect::Outbox(OutboxEffect::Load));
                }
                Ok(fx)
            }
            Msg::Action(Action::ResumeDraft) if self.compose.is_none() => {
                // In a Drafts folder, the selected draft (filed by any client) is recalled;
                // elsewhere, the newest draft saved here.
                let in_drafts = self
                    .current_folder_entry()
                    .is_some_and(|f| f.role.as_deref() == Some("drafts"));
                Ok(match self.selected_row().map(|r| r.msg.id) {
                    Some(id) if in_drafts => {
                        vec![Effect::Compose(ComposeEffect::Open(ComposeRequest {
                            kind: ComposeKind::Recall,
                            account: self.current_account().map(str::to_string),
                            source: Some(id),
                        }))]
                    }
                    _ => vec![Effect::Compose(ComposeEffect::ResumeDraft)],
                })
            }
            Msg::Action(a) if self.compose.is_some() => self
                .compose_action(a)
                .ok_or_else(|| Box::new(Msg::Action(a))),
            Msg::Input(k) if self.compose.is_some() => Ok(self.compose_input(k)),
            other => Err(Box::new(other)),
        }
    }

    fn on_compose_msg(&mut self, m: ComposeMsg) -> Vec<Effect> {
        match m {
            ComposeMsg::Ready(Ok(open)) => {
                self.compose = Some(Composer::new(*open, self.now));
                self.status = Some("composing — C-s sends, Esc leaves".into());
                Vec::new()
            }
            ComposeMsg::Ready(Err(e)) => {
                self.status = Some(format!("cannot compose: {e}"));
                Vec::new()
            }
            ComposeMsg::DraftStored { id } => {
                vec![Effect::Compose(ComposeEffect::UploadDraft { id })]
            }
            ComposeMsg::DraftOnServer { id } => {
                vec![Effect::Compose(ComposeEffect::DiscardServerDraft { id })]
            }
            ComposeMsg::ServerDraftDiscarded(result) => {
                self.status = Some(match result {
                    Ok(()) => "draft discarded here and in the server's Drafts".into(),
                    Err(e) => format!(
                        "the draft is kept (E resumes it): its server copy could not be removed: {e}"
                    ),
                });
                Vec::new()
            }
            ComposeMsg::DraftUploaded(result) => {
                self.status = Some(match result {
                    Ok(done) => done,
                    Err(e) => {
                        format!("the draft is saved here, but not in the server's Drafts: {e}")
                    }
                });
                Vec::new()
            }
            ComposeMsg::DraftsFound(found) => {
                if let Some((_, subject)) = found.first() {
                    self.status = Some(format!(
                        "{} unsent draft(s), last: {:?} — press E to resume",
                        found.len(),
                        subject
                    ));
                }
                self.drafts_found = found;
                Vec::new()
            }
            ComposeMsg::Queued(result) => self.on_queued(result),
            ComposeMsg::Templates(result) => self.on_templates(result),
            other => self.on_open_composer_msg(other),
        }
    }

    fn on_queued(&mut self, result: Result<String, String>) -> Vec<Effect> {
        let Some(c) = self.compose.as_mut() else {
            // Queued by a composer that has closed since.
            return match result {
                Ok(account) => vec![Effect::Outbox(OutboxEffect::Flush { account })],
                Err(e) => {
                    self.status = Some(e);
                    Vec::new()
                }
            };
        };
        c.sending = false;
        let scheduled = c.send_at;
        match result {
            Ok(account) => {
                self.compose = None;
                self.status = Some(match scheduled {
                    Some(t) => self.scheduled_note(t),
                    None => "queued in the outbox; sending…".into(),
                });
                // A scheduled mail waits for the outbox worker to reach its time.
                let mut fx = match scheduled {
                    Some(_) => Vec::new(),
                    None => vec![Effect::Outbox(OutboxEffect::Flush { account })],
                };
                if self.outbox.is_some() {
                    fx.push(Effect::Outbox(OutboxEffect::Load));
                }
                fx
            }
            Err(e) => {
                self.status = Some(format!("not sent: {e}"));
                Vec::new()
            }
        }
    }

    /// Answers for the open composer; those that arrive after it closed are dropped.
    fn on_open_composer_msg(&mut self, m: ComposeMsg) -> Vec<Effect> {
        let Some(c) = self.compose.as_mut() else {
            return Vec::new();
        };
        match m {
            ComposeMsg::Body(text) => c.draft.body = text,
            ComposeMsg::ExternalEdited(Ok(text)) => {
                c.draft.body = text;
                c.body_rev += 1;
            }
            ComposeMsg::ExternalEdited(Err(e)) => self.status = Some(format!("editor: {e}")),
            ComposeMsg::Suggestions { prefix, list } => {
                if c.typed_address().as_deref() == Some(prefix.as_str()) {
                    c.suggestions = list;
                    c.suggestion = 0;
                }
            }
            ComposeMsg::Attached(Ok(a)) => {
                self.status = Some(format!("attached {} ({} bytes)", a.filename, a.data.len()));
                c.draft.attachments.push(*a);
            }
            ComposeMsg::Attached(Err(e)) => self.status = Some(format!("cannot attach: {e}")),
            ComposeMsg::PathCompleted { input, completed } => {
                if c.prompt == Some(Prompt::Attach(input)) {
                    c.prompt = Some(Prompt::Attach(completed));
                }
            }
            ComposeMsg::Ready(_)
            | ComposeMsg::Queued(_)
            | ComposeMsg::DraftsFound(_)
            | ComposeMsg::DraftStored { .. }
            | ComposeMsg::DraftUploaded(_)
            | ComposeMsg::DraftOnServer { .. }
            | ComposeMsg::Templates(_)
            | ComposeMsg::ServerDraftDiscarded(_) => {}
        }
        Vec::new()
    }

    fn compose_action(&mut self, a: Action) -> Option<Vec<Effect>> {
        let c = self.compose.as_mut()?;
        if c.prompt.is_some() && !matches!(a, Action::Quit) {
            return Some(Vec::new());
        }
        Some(match a {
            // Tab completes the address under the cursor when suggestions are open (aerc, mutt).
            Action::NextPane => {
                if !c.complete_on_tab() {
                    c.cycle_focus(1);
                }
                Vec::new()
            }
            Action::PrevPane => {
                c.cycle_focus(-1);
                Vec::new()
            }
            Action::Send => self.send_composed(None),
            Action::SendLater | Action::InsertTemplate => self.compose_schedule_action(a),
            Action::EditExternal => vec![Effect::Compose(ComposeEffect::ExternalEditor {
                body: c.draft.body.clone(),
            })],
            Action::Attach => {
                c.prompt = Some(Prompt::Attach(String::new()));
                Vec::new()
            }
            Action::SaveDraft => {
                let id = c.draft.message_id.clone();
                self.status = Some("saving the draft…".into());
                let mut fx = self.autosave(true);
                fx.push(Effect::Compose(ComposeEffect::DraftToServer {
                    message_id: id,
                }));
                if let Some(c) = self.compose.as_mut() {
                    c.mark_saved();
                }
                fx
            }
            Action::ToggleTrackOpens => {
                c.tracking.opens = !c.tracking.opens;
                Vec::new()
            }
            Action::ToggleTrackLinks => {
                c.tracking.links = !c.tracking.links;
                Vec::new()
            }
            Action::ToggleRemind => {
                c.remind = crate::app::followups::next_remind(c.remind);
                Vec::new()
            }
            Action::RemoveAttachment => {
                if let Some(a) = c.draft.attachments.pop() {
                    self.status = Some(format!("removed {}", a.filename));
                }
                Vec::new()
            }
            // Esc closes open address suggestions before it means "leave", as in aerc.
            Action::Back if !c.suggestions.is_empty() => {
                c.suggestions.clear();
                Vec::new()
            }
            Action::DiscardDraft => {
                c.prompt = Some(Prompt::Leave);
                Vec::new()
            }
            // Asks only when leaving would lose something: an unchanged new mail or reply has
            // nothing to keep, an unchanged resumed draft is stored already and stays so.
            Action::Back | Action::Quit => {
                if c.changed() {
                    c.prompt = Some(Prompt::Leave);
                    Vec::new()
                } else if c.resumed {
                    self.compose = None;
                    self.status = Some("draft unchanged, still saved".into());
                    Vec::new()
                } else {
                    let id = c.draft.message_id.clone();
                    self.compose = None;
                    self.status = None;
                    vec![Effect::Compose(ComposeEffect::DiscardDraft {
                        message_id: id,
                    })]
                }
            }
            _ => Vec::new(),
        })
    }

    fn compose_input(&mut self, key: InputKey) -> Vec<Effect> {
        let Some(c) = self.compose.as_mut() else {
            return Vec::new();
        };
        match c.prompt.take() {
            Some(
                p @ (Prompt::SendAt(_)
                | Prompt::Templates(_)
                | Prompt::Unfilled(_)
                | Prompt::SendAnyway(_)),
            ) => {
                return self.schedule_prompt_input(p, key);
            }
            Some(Prompt::Leave) => {
                return match key {
                    InputKey::Char('s') => {
                        let id = c.draft.message_id.clone();
                        let mut fx = self.autosave(true);
                        fx.push(Effect::Compose(ComposeEffect::DraftToServer {
                            message_id: id,
                        }));
                        self.compose = None;
                        self.status =
                            Some("draft saved — E resumes it; saving it to the server…".into());
                        fx
                    }
                    InputKey::Char('d') => {
                        let id = c.draft.message_id.clone();
                        self.compose = None;
                        self.status = Some("draft discarded".into());
                        vec![Effect::Compose(ComposeEffect::DiscardDraft {
                            message_id: id,
                        })]
                    }
                    InputKey::Char('c') | InputKey::Esc => Vec::new(),
                    _ => {
                        c.prompt = Some(Prompt::Leave);
                        Vec::new()
                    }
                };
            }
            Some(Prompt::Attach(mut input)) => {
                return match key {
                    InputKey::Esc => Vec::new(),
                    InputKey::Enter if !input.trim().is_empty() => {
                        vec![Effect::Compose(ComposeEffect::AttachFile {
                            path: expand_home(input.trim()),
                        })]
                    }
                    InputKey::Tab => {
                        c.prompt = Some(Prompt::Attach(input.clone()));
                        vec![Effect::Compose(ComposeEffect::CompletePath { input })]
                    }
                    k => {
                        edit(&mut input, k);
                        c.prompt = Some(Prompt::Attach(input));
                        Vec::new()
                    }
                };
            }
            None => {}
        }
        match (c.focus, key) {
            (Field::From, InputKey::Char(' ') | InputKey::Enter) => c.cycle_from(),
            (Field::From, InputKey::Char(_) | InputKey::Backspace | InputKey::Clear) => {
                self.status = Some("From: Space picks the next account; Tab goes to To".into());
            }
            (_, InputKey::Tab) => {
                if !c.complete_on_tab() {
                    c.cycle_focus(1);
                }
            }
            (_, InputKey::Esc) => {
                return self.compose_action(Action::Back).unwrap_or_default();
            }
            (Field::To | Field::Cc | Field::Bcc, InputKey::Down) if !c.suggestions.is_empty() => {
                c.suggestion = (c.suggestion + 1) % c.suggestions.len();
            }
            (Field::To | Field::Cc | Field::Bcc, InputKey::Up) if !c.suggestions.is_empty() => {
                c.suggestion = c
                    .suggestion
                    .checked_sub(1)
                    .unwrap_or(c.suggestions.len() - 1);
            }
            (_, InputKey::Enter) => {
                if !c.accept_suggestion() {
                    c.cycle_focus(1);
                }
            }
            (_, InputKey::Down) => c.cycle_focus(1),
            (_, InputKey::Up) => c.cycle_focus(-1),
            (_, k) => {
                let before = c.field_line().map(|l| l.into_string());
                c.edit_field(k);
                let typed = c.field_line().map(|l| l.into_string()) != before;
                // Moving the cursor asks for nothing; the suggestions open are for another place.
                if let Some(prefix) = c.typed_address().filter(|_| typed) {
                    return vec![Effect::Compose(ComposeEffect::Suggest { prefix })];
                }
                c.suggestions.clear();
            }
        }
        Vec::new()
    }

    /// Asks the runtime to save the draft: every tick (the runtime's `Autosaver` writes only when
    /// it changed and the interval passed), or now (`flush`, on leave and on exit).
    pub fn autosave(&mut self, flush: bool) -> Vec<Effect> {
        let now = self.now;
        let Some(c) = self.compose.as_mut() else {
            return Vec::new();
        };
        if !flush && now - c.last_autosave < AUTOSAVE_SECONDS {
            return Vec::new();
        }
        c.last_autosave = now;
        vec![Effect::Compose(ComposeEffect::Autosave {
            draft: Box::new(c.current()),
            now,
            flush,
        })]
    }
}
