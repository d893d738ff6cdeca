//! The composer as the app holds it: the draft being written, which field has focus, prompts
//! (attach a file, leave an unsent draft) and address suggestions; and the composer's messages and
//! effects. Its update step is `update::compose`; the store work behind its effects is
//! `runtime::compose`. The body's editing widget lives in `ui`; it reports the text back as
//! [`ComposeMsg::Body`].

use super::followups::RemindChoice;
use super::input::{InputKey, LineInput};
use super::view::{ComposeKind, ComposeRequest};
use crate::mail::compose::{AddressField, Attachment, Draft, Mailbox};
use crate::tracking::client::send::TrackingChoice;
use std::path::PathBuf;

/// Seconds between autosaves of a changed draft.
pub const AUTOSAVE_SECONDS: i64 = 3;
/// Address suggestions shown under a recipient field.
pub const SUGGESTIONS: u32 = 6;

/// The fields that take the focus. Attachments are not one: a row that took the focus but no
/// text swallowed what was typed into it; they have their own keys (attach, remove).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    From,
    To,
    Cc,
    Bcc,
    Subject,
    Body,
}

/// Tab order, as in mutt and aerc. From comes first only when there is an account to choose.
pub const FIELDS: [Field; 6] = [
    Field::From,
    Field::To,
    Field::Cc,
    Field::Bcc,
    Field::Subject,
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
    /// "Send later": the time, as typed (`update::schedule`).
    SendAt(String),
    /// The template picker.
    Templates(TemplatePick),
    /// Sending with these placeholders unfilled: send anyway or go back.
    Unfilled(Vec<String>),
    /// Sending with no subject, or no text and no attachment: send anyway or go back (mutt's
    /// "No subject, abort?").
    SendAnyway(SendCheck),
}

/// What is checked before sending, in the order asked; a "send anyway" answer skips the checks
/// up to and including the one answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SendCheck {
    Unfilled,
    NoSubject,
    NoBody,
}

/// The composer's template picker: each template filled for the first recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplatePick {
    pub items: Vec<(String, crate::app::templates::Filled)>,
    pub input: String,
    /// Indices into `items` matching `input`, best first.
    pub matches: Vec<usize>,
    pub cursor: usize,
}

/// What the runtime hands the app to open a composer with.
#[derive(Debug, Clone)]
pub struct ComposeOpen {
    pub kind: ComposeKind,
    pub draft: Draft,
    /// Every configured account that can be chosen as From.
    pub accounts: Vec<(String, Mailbox)>,
    /// Reopened from the drafts table or the server's Drafts: it is stored already, so leaving
    /// it unchanged keeps it.
    pub resumed: bool,
    /// The account's tracking defaults: the choice made for its last sent mail.
    pub tracking: TrackingChoice,
    /// "Remind me if no reply": the choice made for the account's last sent mail.
    pub remind: Option<RemindChoice>,
}

#[derive(Debug, Clone)]
pub struct Composer {
    pub kind: ComposeKind,
    pub draft: Draft,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub focus: Field,
    /// Byte offset of the cursor in the focused header field; past its end (as after a focus
    /// change) it is at the end.
    pub field_cursor: usize,
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
    /// "Send later": the time chosen (unix seconds), shown in the header until it is queued.
    pub send_at: Option<i64>,
    /// A template was inserted: its unfilled placeholders are shown and asked about on send.
    pub from_template: bool,
    /// "Remind me if no reply in N days" for this mail (`None`: off); shown beside tracking.
    pub remind: Option<RemindChoice>,
    /// A stored draft reopened (see [`ComposeOpen::resumed`]).
    pub resumed: bool,
    /// The draft as opened, to tell whether leaving loses anything.
    opened: Draft,
    pub(super) last_autosave: i64,
}

/// The composer's work for the runtime.
#[derive(Debug, Clone)]
pub enum ComposeEffect {
    /// Prepares a draft (blank, reply, forward, recall) and answers with [`ComposeMsg::Ready`].
    Open(ComposeRequest),
    /// Saves the composer's draft (only if changed; `flush` ignores the interval).
    Autosave {
        draft: Box<Draft>,
        now: i64,
        flush: bool,
    },
    DiscardDraft {
        message_id: String,
    },
    /// Commits the draft to the outbox; answered by [`ComposeMsg::Queued`].
    QueueDraft {
        draft: Box<Draft>,
        /// "Track opens" / "track links" as set in the composer.
        tracking: TrackingChoice,
        /// The reminder as set in the composer.
        remind: Option<RemindChoice>,
        now: i64,
        /// "Send later": not before this time (unix seconds).
        send_at: Option<i64>,
    },
    /// Reads the templates, filled for writing from `from` to `to`; answered by
    /// [`ComposeMsg::Templates`].
    LoadTemplates {
        from: Mailbox,
        to: Option<Mailbox>,
    },
    Suggest {
        prefix: String,
    },
    AttachFile {
        path: PathBuf,
    },
    CompletePath {
        input: String,
    },
    /// Runs `$VISUAL`/`$EDITOR` on the body with the terminal handed over (the event loop does
    /// it); answered by [`ComposeMsg::ExternalEdited`].
    ExternalEditor {
        body: String,
    },
    FindDrafts,
    /// Reopens the newest saved draft.
    ResumeDraft,
    /// After the local save queued before it: finds the draft's row, answered by
    /// [`ComposeMsg::DraftStored`].
    DraftToServer {
        message_id: String,
    },
    /// APPENDs stored draft `id` to the server's Drafts (network); answered by
    /// [`ComposeMsg::DraftUploaded`].
    UploadDraft {
        id: i64,
    },
    /// Discards stored draft `id` and its copy in the server's Drafts (network, server first);
    /// answered by [`ComposeMsg::ServerDraftDiscarded`].
    DiscardServerDraft {
        id: i64,
    },
}

/// The runtime's answers to the composer, and the body as its editing widget holds it.
#[derive(Debug, Clone)]
pub enum ComposeMsg {
    Ready(Result<Box<ComposeOpen>, String>),
    /// The body as the editing widget holds it.
    Body(String),
    ExternalEdited(Result<String, String>),
    Suggestions {
        prefix: String,
        list: Vec<String>,
    },
    Attached(Result<Box<Attachment>, String>),
    PathCompleted {
        input: String,
        completed: String,
    },
    /// The draft is in the outbox (its account), or why not.
    Queued(Result<String, String>),
    /// Saved drafts at start: (id, subject), newest first.
    DraftsFound(Vec<(i64, String)>),
    /// The draft is saved locally as row `id` (then it goes to the server).
    DraftStored {
        id: i64,
    },
    /// The server copy of a draft: what to tell the user, or why it failed.
    DraftUploaded(Result<String, String>),
    /// A discarded draft has a server copy: it goes from there first, then from here.
    DraftOnServer {
        id: i64,
    },
    ServerDraftDiscarded(Result<(), String>),
    /// The templates, filled for the first recipient (name, filled), or why none.
    Templates(Result<Vec<(String, crate::app::templates::Filled)>, String>),
}

impl Composer {
    pub fn new(open: ComposeOpen, now: i64) -> Composer {
        let d = open.draft;
        let kind = open.kind;
        let mut c = Composer {
            kind: kind.clone(),
            to: d.address_text(AddressField::To),
            cc: d.address_text(AddressField::Cc),
            bcc: d.address_text(AddressField::Bcc),
            resumed: open.resumed,
            opened: d.clone(),
            draft: d,
            // A reply has its recipients; the body is where writing starts.
            focus: match kind {
                ComposeKind::Reply | ComposeKind::ReplyAll => Field::Body,
                _ => Field::To,
            },
            field_cursor: usize::MAX,
            body_rev: 1,
            prompt: None,
            suggestions: Vec::new(),
            suggestion: 0,
            accounts: open.accounts,
            sending: false,
            tracking: open.tracking,
            send_at: None,
            from_template: false,
            remind: open.remind,
            last_autosave: now,
        };
        // As the fields read it back: a name the field writes another way (quotes) is no change.
        c.opened = c.current();
        c
    }

    fn address_fields(&self) -> [(AddressField, &String); 3] {
        [
            (AddressField::To, &self.to),
            (AddressField::Cc, &self.cc),
            (AddressField::Bcc, &self.bcc),
        ]
    }

    /// The draft with the header fields as typed: an address field that does not parse (yet) is
    /// kept as its text, so a save or an autosave never loses what was written.
    pub fn current(&self) -> Draft {
        let mut d = self.draft.clone();
        for (f, text) in self.address_fields() {
            d.set_address_text(f, text);
        }
        d
    }

    /// Checks the typed recipients strictly, for sending.
    pub(super) fn for_sending(&self) -> Result<Draft, String> {
        let mut d = self.draft.clone();
        for (f, text) in self.address_fields() {
            d.set_address_text_strict(f, text)
                .map_err(|e| format!("{}: {e}", f.label()))?;
        }
        d.validate_for_sending().map_err(|e| e.to_string())?;
        Ok(d)
    }

    /// The placeholders still in the subject and body of a mail written from a template.
    pub fn unfilled(&self) -> Vec<String> {
        if !self.from_template {
            return Vec::new();
        }
        crate::app::templates::unfilled(&format!("{}\n{}", self.draft.subject, self.draft.body))
    }

    /// The first check after `passed` this mail fails, and what the question is.
    pub(super) fn failed_check(&self, passed: Option<SendCheck>) -> Option<Prompt> {
        let after = |check| passed < Some(check);
        let unfilled = self.unfilled();
        if after(SendCheck::Unfilled) && !unfilled.is_empty() {
            return Some(Prompt::Unfilled(unfilled));
        }
        if after(SendCheck::NoSubject) && self.draft.subject.trim().is_empty() {
            return Some(Prompt::SendAnyway(SendCheck::NoSubject));
        }
        // A signature alone is no text: it is there before anything is written.
        let text = self.draft.body.split("\n-- \n").next().unwrap_or_default();
        if after(SendCheck::NoBody) && text.trim().is_empty() && self.draft.attachments.is_empty() {
            return Some(Prompt::SendAnyway(SendCheck::NoBody));
        }
        None
    }

    /// Whether leaving now would lose anything typed since the composer opened.
    /// The address fields are in it as typed (see [`Composer::current`]).
    pub fn changed(&self) -> bool {
        self.opened != self.current()
    }

    /// The draft was just saved as it is: leaving keeps it and has nothing more to ask, as for
    /// an unchanged resumed draft. A blank new one is not stored, so there is nothing to mark.
    pub(super) fn mark_saved(&mut self) {
        let now = self.current();
        if self.resumed || !now.is_blank() {
            self.opened = now;
            self.resumed = true;
        }
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

    /// The focused header field and its cursor, as the one-line editor holds them.
    pub fn field_line(&self) -> Option<LineInput> {
        let text = match self.focus {
            Field::To => &self.to,
            Field::Cc => &self.cc,
            Field::Bcc => &self.bcc,
            Field::Subject => &self.draft.subject,
            _ => return None,
        };
        Some(LineInput::at(text.as_str(), self.field_cursor))
    }

    /// Applies a one-line editor key to the focused header field, where its cursor is.
    pub(super) fn edit_field(&mut self, key: InputKey) {
        let Some(mut line) = self.field_line() else {
            return;
        };
        line.edit(key);
        self.field_cursor = line.cursor();
        if let Some(text) = self.field_text() {
            *text = line.into_string();
        }
    }

    pub(super) fn cycle_focus(&mut self, dir: i32) {
        let order: Vec<Field> = FIELDS
            .into_iter()
            .filter(|f| *f != Field::From || self.accounts.len() > 1)
            .collect();
        let i = order.iter().position(|f| *f == self.focus).unwrap_or(0) as i32;
        let n = order.len() as i32;
        self.focus = order[((i + dir).rem_euclid(n)) as usize];
        self.field_cursor = usize::MAX;
        self.suggestions.clear();
    }

    pub(super) fn cycle_from(&mut self) {
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

    /// The address being typed: in a recipient field, what is between the comma before the
    /// cursor and the cursor (an address in the middle of the list completes as well as the last).
    pub(super) fn typed_address(&self) -> Option<String> {
        if !matches!(self.focus, Field::To | Field::Cc | Field::Bcc) {
            return None;
        }
        let line = self.field_line()?;
        let start = address_start(&line);
        let typed = line[start..line.cursor()].trim();
        (!typed.is_empty()).then(|| typed.to_string())
    }

    /// Tab in a recipient field: completes the address under the cursor with the highlighted
    /// suggestion, unless that address is typed out in full already (then Tab moves on, as it
    /// does without suggestions). True when it completed.
    pub(super) fn complete_on_tab(&mut self) -> bool {
        let typed_in_full = match (self.typed_address(), self.suggestions.get(self.suggestion)) {
            (Some(typed), Some(choice)) => Mailbox::parse(choice)
                .is_ok_and(|m| m.email.eq_ignore_ascii_case(&typed) || *choice == typed),
            _ => true,
        };
        !typed_in_full && self.accept_suggestion()
    }

    /// Replaces the address typed up to the cursor with the highlighted suggestion; all that
    /// follows the cursor stays, a ", " put before it when it ran on from the cursor. The cursor
    /// goes after the address (and after the ", " that starts the next one when it was the last).
    pub(super) fn accept_suggestion(&mut self) -> bool {
        let Some(choice) = self.suggestions.get(self.suggestion).cloned() else {
            return false;
        };
        let Some(line) = self.field_line() else {
            return false;
        };
        let start = address_start(&line);
        let mut before = line[..start].to_string();
        if start > 0 {
            before.push(' ');
        }
        before.push_str(&choice);
        let after = &line[line.cursor()..];
        let done = if after.trim().is_empty() {
            before.push_str(", ");
            LineInput::new(before)
        } else if after.trim_start().starts_with(',') {
            LineInput::joined(before, after)
        } else {
            LineInput::joined(before, &format!(", {}", after.trim_start()))
        };
        self.field_cursor = done.cursor();
        if let Some(text) = self.field_text() {
            *text = done.into_string();
        }
        self.suggestions.clear();
        true
    }
}

/// Where the address under the cursor of a recipient list starts: after the comma before the
/// cursor (or at the start).
fn address_start(line: &LineInput) -> usize {
    line[..line.cursor()].rfind(',').map_or(0, |i| i + 1)
}
