//! The composer as the app holds it: the draft being written, which field has focus, prompts
//! (attach a file, leave an unsent draft) and address suggestions; the pure update for it, and the
//! store-side work behind its effects (prefill, autosave, enqueue), which the runtime runs off the
//! UI loop. The body's editing widget lives in `ui`; it reports the text back as `ComposeBody`.

use super::state::{App, ComposeKind, ComposeRequest, Effect, InputKey, Msg};
use super::Action;
use crate::config::Config;
use crate::mail::compose::{Attachment, Draft, Mailbox, ReplyKind, Sender};
use crate::mail::{drafts, outbox};
use crate::store::Store;
use crate::tracking::client::send::{self as send_tracking, TrackingChoice};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Seconds between autosaves of a changed draft.
pub const AUTOSAVE_SECONDS: i64 = 3;
/// Address suggestions shown under a recipient field.
pub const SUGGESTIONS: u32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    From,
    To,
    Cc,
    Bcc,
    Subject,
    Attachments,
    Body,
}

pub const FIELDS: [Field; 7] = [
    Field::From,
    Field::To,
    Field::Cc,
    Field::Bcc,
    Field::Subject,
    Field::Attachments,
    Field::Body,
];

impl Field {
    pub fn label(self) -> &'static str {
        match self {
            Field::From => "From",
            Field::To => "To",
            Field::Cc => "Cc",
            Field::Bcc => "Bcc",
            Field::Subject => "Subject",
            Field::Attachments => "Attach",
            Field::Body => "Body",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// A path to attach, as typed.
    Attach(String),
    /// Leaving a changed, unsent draft: save / discard / cancel.
    Leave,
}

/// What the runtime hands the app to open a composer with.
#[derive(Debug, Clone)]
pub struct ComposeOpen {
    pub kind: ComposeKind,
    pub draft: Draft,
    /// Every configured account that can be chosen as From.
    pub accounts: Vec<(String, Mailbox)>,
    /// Reopened from the drafts table (so it counts as changed: leaving asks).
    pub resumed: bool,
    /// The account's tracking defaults: the choice made for its last sent mail.
    pub tracking: TrackingChoice,
}

#[derive(Debug, Clone)]
pub struct Composer {
    pub kind: ComposeKind,
    pub draft: Draft,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub focus: Field,
    /// Bumped when the body is replaced from outside the editor (open, `$EDITOR`), so the UI
    /// reloads its editing widget.
    pub body_rev: u64,
    pub prompt: Option<Prompt>,
    pub suggestions: Vec<String>,
    pub suggestion: usize,
    pub accounts: Vec<(String, Mailbox)>,
    /// Waiting for the outbox to take it.
    pub sending: bool,
    /// "Track opens" / "track links" for this mail; always shown in the header.
    pub tracking: TrackingChoice,
    /// The draft as opened, to tell whether leaving loses anything.
    opened: Option<Draft>,
    last_autosave: i64,
}

impl Composer {
    pub fn new(open: ComposeOpen, now: i64) -> Composer {
        let d = open.draft;
        let kind = open.kind;
        Composer {
            kind: kind.clone(),
            to: Mailbox::format_list(&d.to),
            cc: Mailbox::format_list(&d.cc),
            bcc: Mailbox::format_list(&d.bcc),
            opened: if open.resumed { None } else { Some(d.clone()) },
            draft: d,
            // A reply has its recipients; the body is where writing starts.
            focus: match kind {
                ComposeKind::Reply | ComposeKind::ReplyAll => Field::Body,
                _ => Field::To,
            },
            body_rev: 1,
            prompt: None,
            suggestions: Vec::new(),
            suggestion: 0,
            accounts: open.accounts,
            sending: false,
            tracking: open.tracking,
            last_autosave: now,
        }
    }

    /// The draft with the header fields as typed; an address list that does not parse yet keeps
    /// its last good value (so autosave still saves the rest).
    pub fn current(&self) -> Draft {
        let mut d = self.draft.clone();
        for (text, list) in [
            (&self.to, &mut d.to),
            (&self.cc, &mut d.cc),
            (&self.bcc, &mut d.bcc),
        ] {
            if let Ok(parsed) = Mailbox::parse_list(text) {
                *list = parsed;
            }
        }
        d
    }

    /// Checks the typed recipients strictly, for sending.
    fn for_sending(&self) -> Result<Draft, String> {
        let mut d = self.draft.clone();
        for (label, text, list) in [
            ("To", &self.to, &mut d.to),
            ("Cc", &self.cc, &mut d.cc),
            ("Bcc", &self.bcc, &mut d.bcc),
        ] {
            *list = Mailbox::parse_list(text).map_err(|e| format!("{label}: {e}"))?;
        }
        d.validate_for_sending().map_err(|e| e.to_string())?;
        Ok(d)
    }

    pub fn changed(&self) -> bool {
        let Some(opened) = &self.opened else {
            return true;
        };
        *opened != self.current()
            || [
                (&self.to, &opened.to),
                (&self.cc, &opened.cc),
                (&self.bcc, &opened.bcc),
            ]
            .iter()
            .any(|(text, list)| **text != Mailbox::format_list(list))
    }

    fn field_text(&mut self) -> Option<&mut String> {
        match self.focus {
            Field::To => Some(&mut self.to),
            Field::Cc => Some(&mut self.cc),
            Field::Bcc => Some(&mut self.bcc),
            Field::Subject => Some(&mut self.draft.subject),
            _ => None,
        }
    }

    fn cycle_focus(&mut self, dir: i32) {
        let i = FIELDS.iter().position(|f| *f == self.focus).unwrap_or(0) as i32;
        let n = FIELDS.len() as i32;
        self.focus = FIELDS[((i + dir).rem_euclid(n)) as usize];
        self.suggestions.clear();
    }

    fn cycle_from(&mut self) {
        if self.accounts.len() < 2 {
            return;
        }
        let i = self
            .accounts
            .iter()
            .position(|(a, _)| *a == self.draft.account)
            .map_or(0, |i| (i + 1) % self.accounts.len());
        let (account, from) = self.accounts[i].clone();
        self.draft.account = account;
        self.draft.from = from;
    }

    /// The address being typed: what follows the last comma of a recipient field.
    fn typed_address(&self) -> Option<String> {
        let text = match self.focus {
            Field::To => &self.to,
            Field::Cc => &self.cc,
            Field::Bcc => &self.bcc,
            _ => return None,
        };
        let last = text.rsplit(',').next().unwrap_or("").trim();
        (!last.is_empty()).then(|| last.to_string())
    }

    fn accept_suggestion(&mut self) -> bool {
        let Some(choice) = self.suggestions.get(self.suggestion).cloned() else {
            return false;
        };
        if let Some(text) = self.field_text() {
            let keep = text.rfind(',').map_or(0, |i| i + 1);
            text.truncate(keep);
            if keep > 0 {
                text.push(' ');
            }
            text.push_str(&choice);
            text.push_str(", ");
        }
        self.suggestions.clear();
        true
    }
}

impl App {
    /// Handles `msg` when it is the composer's; gives it back otherwise.
    pub(super) fn compose_update(&mut self, msg: Msg) -> Result<Vec<Effect>, Box<Msg>> {
        match msg {
            Msg::ComposeReady(Ok(open)) => {
                self.compose = Some(Composer::new(*open, self.now));
                self.status = Some("composing — C-s sends, Esc leaves".into());
                Ok(Vec::new())
            }
            Msg::ComposeReady(Err(e)) => {
                self.status = Some(format!("cannot compose: {e}"));
                Ok(Vec::new())
            }
            Msg::Tick(now) => {
                self.now = now;
                let mut fx = self.autosave(false);
                // The Outbox view follows states the worker (or another process) changes.
                if self.outbox.is_some() && self.compose.is_none() {
                    fx.push(Effect::LoadOutbox);
                }
                Ok(fx)
            }
            Msg::DraftStored { id } => Ok(vec![Effect::UploadDraft { id }]),
            Msg::DraftOnServer { id } => Ok(vec![Effect::DiscardServerDraft { id }]),
            Msg::ServerDraftDiscarded(result) => {
                self.status = Some(match result {
                    Ok(()) => "draft discarded here and in the server's Drafts".into(),
                    Err(e) => format!(
                        "the draft is kept (E resumes it): its server copy could not be removed: {e}"
                    ),
                });
                Ok(Vec::new())
            }
            Msg::DraftUploaded(result) => {
                self.status = Some(match result {
                    Ok(done) => done,
                    Err(e) => {
                        format!("the draft is saved here, but not in the server's Drafts: {e}")
                    }
                });
                Ok(Vec::new())
            }
            Msg::DraftsFound(found) => {
                if let Some((_, subject)) = found.first() {
                    self.status = Some(format!(
                        "{} unsent draft(s), last: {:?} — press E to resume",
                        found.len(),
                        subject
                    ));
                }
                self.drafts_found = found;
                Ok(Vec::new())
            }
            Msg::Action(Action::ResumeDraft) if self.compose.is_none() => {
                // In a Drafts folder, the selected draft (filed by any client) is recalled;
                // elsewhere, the newest draft saved here.
                let in_drafts = self
                    .current_folder_entry()
                    .is_some_and(|f| f.role.as_deref() == Some("drafts"));
                Ok(match self.selected_row().map(|r| r.msg.id) {
                    Some(id) if in_drafts => vec![Effect::Compose(ComposeRequest {
                        kind: ComposeKind::Recall,
                        account: self.current_account().map(str::to_string),
                        source: Some(id),
                    })],
                    _ => vec![Effect::ResumeDraft],
                })
            }
            Msg::Queued(result) => {
                let Some(c) = self.compose.as_mut() else {
                    // Queued by a composer that has closed since.
                    return Ok(match result {
                        Ok(account) => vec![Effect::FlushOutbox { account }],
                        Err(e) => {
                            self.status = Some(e);
                            Vec::new()
                        }
                    });
                };
                c.sending = false;
                match result {
                    Ok(account) => {
                        self.compose = None;
                        self.status = Some("queued in the outbox; sending…".into());
                        let mut fx = vec![Effect::FlushOutbox { account }];
                        if self.outbox.is_some() {
                            fx.push(Effect::LoadOutbox);
                        }
                        Ok(fx)
                    }
                    Err(e) => {
                        self.status = Some(format!("not sent: {e}"));
                        Ok(Vec::new())
                    }
                }
            }
            other => {
                let Some(c) = self.compose.as_mut() else {
                    return Err(Box::new(other));
                };
                Ok(match other {
                    Msg::Action(a) => {
                        return self
                            .compose_action(a)
                            .ok_or_else(|| Box::new(Msg::Action(a)))
                    }
                    Msg::Input(k) => self.compose_input(k),
                    Msg::ComposeBody(text) => {
                        c.draft.body = text;
                        Vec::new()
                    }
                    Msg::ExternalEdited(Ok(text)) => {
                        c.draft.body = text;
                        c.body_rev += 1;
                        Vec::new()
                    }
                    Msg::ExternalEdited(Err(e)) => {
                        self.status = Some(format!("editor: {e}"));
                        Vec::new()
                    }
                    Msg::Suggestions { prefix, list } => {
                        if c.typed_address().as_deref() == Some(prefix.as_str()) {
                            c.suggestions = list;
                            c.suggestion = 0;
                        }
                        Vec::new()
                    }
                    Msg::Attached(Ok(a)) => {
                        self.status =
                            Some(format!("attached {} ({} bytes)", a.filename, a.data.len()));
                        c.draft.attachments.push(*a);
                        Vec::new()
                    }
                    Msg::Attached(Err(e)) => {
                        self.status = Some(format!("cannot attach: {e}"));
                        Vec::new()
                    }
                    Msg::PathCompleted { input, completed } => {
                        if c.prompt == Some(Prompt::Attach(input)) {
                            c.prompt = Some(Prompt::Attach(completed));
                        }
                        Vec::new()
                    }
                    other => return Err(Box::new(other)),
                })
            }
        }
    }

    fn compose_action(&mut self, a: Action) -> Option<Vec<Effect>> {
        let c = self.compose.as_mut()?;
        if c.prompt.is_some() && !matches!(a, Action::Quit) {
            return Some(Vec::new());
        }
        Some(match a {
            Action::NextPane => {
                c.cycle_focus(1);
                Vec::new()
            }
            Action::PrevPane => {
                c.cycle_focus(-1);
                Vec::new()
            }
            Action::Send => match c.for_sending() {
                Ok(draft) if !c.sending => {
                    c.sending = true;
                    self.status = Some("queueing…".into());
                    vec![Effect::QueueDraft {
                        draft: Box::new(draft),
                        tracking: c.tracking,
                        now: self.now,
                    }]
                }
                Ok(_) => Vec::new(),
                Err(e) => {
                    self.status = Some(format!("cannot send: {e}"));
                    Vec::new()
                }
            },
            Action::EditExternal => vec![Effect::ExternalEditor {
                body: c.draft.body.clone(),
            }],
            Action::Attach => {
                c.prompt = Some(Prompt::Attach(String::new()));
                Vec::new()
            }
            Action::SaveDraft => {
                let id = c.draft.message_id.clone();
                self.status = Some("saving the draft…".into());
                let mut fx = self.autosave(true);
                fx.push(Effect::DraftToServer { message_id: id });
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
            Action::Back | Action::Quit => {
                if c.changed() {
                    c.prompt = Some(Prompt::Leave);
                    Vec::new()
                } else {
                    let id = c.draft.message_id.clone();
                    self.compose = None;
                    self.status = None;
                    vec![Effect::DiscardDraft { message_id: id }]
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
            Some(Prompt::Leave) => {
                return match key {
                    InputKey::Char('s') => {
                        let id = c.draft.message_id.clone();
                        let mut fx = self.autosave(true);
                        fx.push(Effect::DraftToServer { message_id: id });
                        self.compose = None;
                        self.status =
                            Some("draft saved — E resumes it; saving it to the server…".into());
                        fx
                    }
                    InputKey::Char('d') => {
                        let id = c.draft.message_id.clone();
                        self.compose = None;
                        self.status = Some("draft discarded".into());
                        vec![Effect::DiscardDraft { message_id: id }]
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
                    InputKey::Enter if !input.trim().is_empty() => vec![Effect::AttachFile {
                        path: expand_home(input.trim()),
                    }],
                    InputKey::Tab => {
                        c.prompt = Some(Prompt::Attach(input.clone()));
                        vec![Effect::CompletePath { input }]
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
            (Field::From, InputKey::Char(_) | InputKey::Enter) => c.cycle_from(),
            (_, InputKey::Tab) => c.cycle_focus(1),
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
                if let Some(text) = c.field_text() {
                    edit(text, k);
                }
                if let Some(prefix) = c.typed_address() {
                    return vec![Effect::Suggest { prefix }];
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
        vec![Effect::Autosave {
            draft: Box::new(c.current()),
            now,
            flush,
        }]
    }
}

fn edit(input: &mut String, key: InputKey) {
    match key {
        InputKey::Char(ch) => input.push(ch),
        InputKey::Backspace => {
            input.pop();
        }
        InputKey::Clear => input.clear(),
        _ => {}
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

pub(super) fn senders(config: &Config) -> Vec<(String, Mailbox)> {
    config
        .accounts
        .iter()
        .map(|(name, acc)| (name.clone(), Sender::from_config(name, acc).from))
        .collect()
}

/// The draft a compose request starts from: blank, or prefilled from the source message's raw
/// bytes, with the account's signature. Blocking (reads the store).
pub fn prepare(
    store: &Store,
    config: &Config,
    req: &ComposeRequest,
) -> Result<ComposeOpen, String> {
    let source_account = match req.source {
        Some(id) => Some(store.message(id).map_err(|e| e.to_string())?.account),
        None => None,
    };
    let account = source_account
        .or_else(|| req.account.clone())
        .or_else(|| config.accounts.keys().next().cloned())
        .ok_or("no account to send from")?;
    let sender = match config.accounts.get(&account) {
        Some(acc) => Sender::from_config(&account, acc),
        // An account only in the store (the demo's): its address, no signature.
        None => {
            let (email, name) = store
                .account_identity(&account)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("account {account} is not in the config"))?;
            Sender {
                account: account.clone(),
                from: Mailbox::new(name.as_deref(), &email),
                signature: None,
            }
        }
    };
    let mut accounts = senders(config);
    if !accounts.iter().any(|(a, _)| *a == account) {
        accounts.insert(0, (account.clone(), sender.from.clone()));
    }
    let raw = match req.source {
        Some(id) => Some(store.raw_message(id).map_err(|e| e.to_string())?),
        None => None,
    };
    let draft = match (&req.kind, raw) {
        (ComposeKind::Reply, Some(raw)) => Draft::reply(&sender, &raw, ReplyKind::Sender),
        (ComposeKind::ReplyAll, Some(raw)) => Draft::reply(&sender, &raw, ReplyKind::All),
        (ComposeKind::Forward, Some(raw)) => Draft::forward(&sender, &raw),
        (ComposeKind::Recall, Some(raw)) => Draft::recall(&sender, &raw),
        _ => Ok(Draft::new(&sender)),
    }
    .map_err(|e| e.to_string())?;
    let mut draft = draft;
    if matches!(req.kind, ComposeKind::Reply | ComposeKind::ReplyAll) {
        draft.body = signature_above_quote(&draft.body, sender.signature.as_deref());
    }
    let tracking = tracking_defaults(store, config, &draft.account);
    Ok(ComposeOpen {
        kind: req.kind.clone(),
        draft,
        accounts,
        // A recalled draft is the user's own unsent text: leaving it asks, like a resumed one.
        resumed: req.kind == ComposeKind::Recall,
        tracking,
    })
}

/// A reply is written on top: the signature goes between the text and the quote.
fn signature_above_quote(body: &str, signature: Option<&str>) -> String {
    let Some(sig) = signature.map(str::trim_end).filter(|s| !s.is_empty()) else {
        return body.to_string();
    };
    let block = format!("-- \n{sig}\n");
    match body.rfind(&block) {
        Some(at) => {
            let quote = body[..at].trim();
            format!("\n\n{block}\n{quote}\n")
        }
        None => body.to_string(),
    }
}

/// The one way a finished draft enters the outbox (tracking options join here).
/// The account's saved tracking choice; a store error falls back to the config's defaults.
fn tracking_defaults(store: &Store, config: &Config, account: &str) -> TrackingChoice {
    let tracking = config.tracking_for(account);
    send_tracking::defaults(store, account, &tracking).unwrap_or(TrackingChoice {
        opens: tracking.track_opens,
        links: tracking.track_links,
    })
}

/// Commits the draft to the outbox with its tracking record (consent applied per recipient) and
/// remembers the choice as the account's default for the next mail.
pub fn queue_draft(
    store: &Store,
    config: &Config,
    draft: &Draft,
    tracking: TrackingChoice,
    now: i64,
) -> Result<i64, String> {
    let record = send_tracking::record_for_draft(
        store,
        &config.tracking_for(&draft.account),
        draft,
        tracking,
    )
    .map_err(|e| e.to_string())?;
    let json = record.map(|r| r.to_json());
    let id = outbox::enqueue(store, draft, json.as_deref(), now).map_err(|e| e.to_string())?;
    send_tracking::remember_choice(store, &draft.account, tracking).map_err(|e| e.to_string())?;
    Ok(id)
}

/// Composer effects that only read (prefill, suggestions, files): run on any thread.
pub fn perform_read(store: &Store, config: &Config, effect: Effect) -> Vec<Msg> {
    match effect {
        Effect::Compose(req) => vec![Msg::ComposeReady(
            prepare(store, config, &req).map(Box::new),
        )],
        Effect::Suggest { prefix } => match store.address_suggestions(&prefix, SUGGESTIONS) {
            Ok(found) => vec![Msg::Suggestions {
                prefix,
                list: found
                    .into_iter()
                    .map(|(name, email)| {
                        Mailbox::new((!name.is_empty()).then_some(name.as_str()), &email).display()
                    })
                    .collect(),
            }],
            Err(e) => vec![Msg::Error(e.to_string())],
        },
        Effect::AttachFile { path } => vec![Msg::Attached(
            Attachment::from_path(&path)
                .map(Box::new)
                .map_err(|e| e.to_string()),
        )],
        Effect::CompletePath { input } => vec![Msg::PathCompleted {
            completed: complete_path(&input),
            input,
        }],
        Effect::FindDrafts => match drafts::list(store, None) {
            Ok(list) => vec![Msg::DraftsFound(
                list.into_iter().map(|s| (s.id, s.draft.subject)).collect(),
            )],
            Err(e) => vec![Msg::Error(e.to_string())],
        },
        Effect::UploadDraft { id } => vec![Msg::DraftUploaded(upload_draft(store, config, id))],
        Effect::DiscardServerDraft { id } => vec![Msg::ServerDraftDiscarded(
            drafts::discard_everywhere(config, store, id)
                .map(|_| ())
                .map_err(|e| {
                    tracing::warn!(id, error = %e, "removing a draft from the server failed");
                    e.to_string()
                }),
        )],
        Effect::ResumeDraft => vec![Msg::ComposeReady(
            drafts::list(store, None)
                .map_err(|e| e.to_string())
                .and_then(|list| list.into_iter().next().ok_or("no saved drafts".to_string()))
                .map(|s| {
                    let tracking = tracking_defaults(store, config, &s.draft.account);
                    Box::new(ComposeOpen {
                        kind: ComposeKind::New,
                        draft: s.draft,
                        accounts: senders(config),
                        resumed: true,
                        tracking,
                    })
                }),
        )],
        _ => Vec::new(),
    }
}

/// Composer effects that write; run in order on the runtime's writer, which keeps one
/// `Autosaver` per draft (by Message-ID).
pub fn perform_write(
    store: &Store,
    config: &Config,
    savers: &mut HashMap<String, drafts::Autosaver>,
    effect: Effect,
) -> Vec<Msg> {
    match effect {
        Effect::Autosave { draft, now, flush } => {
            let saver = savers
                .entry(draft.message_id.clone())
                .or_insert_with(|| drafts::Autosaver::new(AUTOSAVE_SECONDS));
            let saved = if flush {
                saver.flush(store, &draft, now)
            } else {
                saver.tick(store, &draft, now)
            };
            match saved {
                Ok(_) => Vec::new(),
                Err(e) => vec![Msg::Error(format!("saving the draft: {e}"))],
            }
        }
        Effect::DiscardDraft { message_id } => {
            savers.remove(&message_id);
            match store.draft_by_message_id(&message_id) {
                // A copy on the server is removed first, off this writer: the network may hang.
                Ok(Some(d)) if d.server_folder.is_some() => {
                    vec![Msg::DraftOnServer { id: d.id }]
                }
                Ok(Some(d)) => match drafts::discard(store, d.id) {
                    Ok(_) => Vec::new(),
                    Err(e) => vec![Msg::Error(e.to_string())],
                },
                Ok(None) => Vec::new(),
                Err(e) => vec![Msg::Error(e.to_string())],
            }
        }
        Effect::DraftToServer { message_id } => match store.draft_by_message_id(&message_id) {
            Ok(Some(d)) => vec![Msg::DraftStored { id: d.id }],
            Ok(None) => vec![Msg::Notice("an empty draft is not saved".into())],
            Err(e) => vec![Msg::Error(format!("saving the draft: {e}"))],
        },
        Effect::QueueDraft {
            draft,
            tracking,
            now,
        } => {
            savers.remove(&draft.message_id);
            vec![Msg::Queued(
                queue_draft(store, config, &draft, tracking, now).map(|_| draft.account.clone()),
            )]
        }
        _ => Vec::new(),
    }
}

/// The server copy of stored draft `id` (blocking: IMAP). An account without IMAP (the demo's)
/// has no server to save to; that is not a failure.
fn upload_draft(store: &Store, config: &Config, id: i64) -> Result<String, String> {
    match drafts::save_to_server(config, store, id) {
        Ok(folder) => Ok(format!(
            "draft saved here and in {:?} on the server — E resumes it",
            super::folder_display_name(&folder)
        )),
        Err(drafts::DraftError::NoSuchAccount(account) | drafts::DraftError::NoServer(account)) => {
            Ok(format!(
                "draft saved here — E resumes it (account {account} has no server to save it to)"
            ))
        }
        Err(e) => {
            tracing::warn!(id, error = %e, "saving a draft to the server failed");
            Err(e.to_string())
        }
    }
}

/// Completes the last path component of `input` as far as the matching entries agree.
pub fn complete_path(input: &str) -> String {
    let path = expand_home(input);
    let (dir, stem) = if input.ends_with('/') {
        (path.clone(), String::new())
    } else {
        (
            path.parent()
                .map(Path::to_path_buf)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from(".")),
            path.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return input.to_string();
    };
    let mut matches: Vec<(String, bool)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            name.starts_with(&stem).then_some((name, is_dir))
        })
        .collect();
    matches.sort();
    let Some((first, _)) = matches.first() else {
        return input.to_string();
    };
    let mut common = first.clone();
    for (m, _) in &matches[1..] {
        while !m.starts_with(&common) {
            common.pop();
        }
    }
    let mut out = input
        .get(..input.len().saturating_sub(stem.len()))
        .unwrap_or("")
        .to_string();
    out.push_str(&common);
    if matches.len() == 1 && matches[0].1 {
        out.push('/');
    }
    out
}
