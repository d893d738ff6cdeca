//! What a user writes before it is sent: the [`Draft`] model the composer pane edits and the
//! outbox sends, reply / reply-all / forward prefill from a received message, and building the
//! RFC 5322 bytes with mail-builder. No I/O except reading attachment files the user names.

use crate::sanitize::{sanitize_display, sanitize_line, sanitize_text};
use mail_builder::headers::address::Address as BuilderAddress;
use mail_builder::headers::message_id::MessageId;
use mail_builder::MessageBuilder;
use mail_parser::MessageParser;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One attachment is refused above this size: most servers reject mails over 25 MB anyway, and a
/// draft is re-serialized on every autosave.
pub const MAX_ATTACHMENT_BYTES: u64 = 25 * 1024 * 1024;
/// How much of a received body is quoted into a reply or forward.
const MAX_QUOTED_BYTES: usize = 256 * 1024;
/// An address field kept as typed in a recalled draft: pages of pasted addresses, not more.
const MAX_TYPED_BYTES: usize = 64 * 1024;
/// Text kept from a recalled draft: far beyond anything typed, short of a hostile server's worst.
const MAX_RECALLED_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{0:?} is not an email address")]
    BadAddress(String),
    #[error("{path}: {source}")]
    ReadAttachment {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: attachment is larger than {MAX_ATTACHMENT_BYTES} bytes (the limit)")]
    AttachmentTooLarge { path: String, size: u64 },
    #[error("the original message could not be parsed")]
    Unparseable,
    #[error("a mail needs at least one recipient (To, Cc or Bcc)")]
    NoRecipients,
    #[error("building the message failed: {0}")]
    Build(std::io::Error),
}

/// A name and an address, e.g. `Dana Lee <dana@acme.test>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub email: String,
}

impl Mailbox {
    pub fn new(name: Option<&str>, email: &str) -> Mailbox {
        Mailbox {
            name: name.map(str::to_string).filter(|n| !n.trim().is_empty()),
            email: email.to_string(),
        }
    }

    /// Parses `a@b`, `<a@b>` or `Name <a@b>` (the name may be quoted). Rejects anything that could
    /// smuggle a header or a second address: control characters, spaces, commas, angle brackets.
    pub fn parse(input: &str) -> Result<Mailbox, ComposeError> {
        let s = input.trim();
        let bad = || ComposeError::BadAddress(input.to_string());
        let (name, email) = match (s.rfind('<'), s.ends_with('>')) {
            (Some(open), true) => {
                let name = s[..open].trim().trim_matches('"').trim();
                (Some(name), &s[open + 1..s.len() - 1])
            }
            (None, false) => (None, s),
            _ => return Err(bad()),
        };
        let valid = email.matches('@').count() == 1
            && !email.starts_with('@')
            && !email.ends_with('@')
            && !email
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || "<>,;\"()[]\\".contains(c));
        if !valid {
            return Err(bad());
        }
        if name.is_some_and(|n| n.chars().any(char::is_control)) {
            return Err(bad());
        }
        Ok(Mailbox::new(name, email))
    }

    /// A comma-separated field as typed in the composer (`Dana <d@x>, "Lee, Bob" <b@x>, c@x`);
    /// commas inside quotes or angle brackets do not split. Empty items are skipped.
    pub fn parse_list(input: &str) -> Result<Vec<Mailbox>, ComposeError> {
        split_list(input).into_iter().map(Mailbox::parse).collect()
    }

    /// The addresses of a field that parse, the others left out: what a draft whose field is
    /// still being written can already name in its `To:`.
    pub fn parse_list_lenient(input: &str) -> Vec<Mailbox> {
        split_list(input)
            .into_iter()
            .filter_map(|s| Mailbox::parse(s).ok())
            .collect()
    }

    /// The inverse of [`Mailbox::parse_list`], for prefilling an address field.
    pub fn format_list(list: &[Mailbox]) -> String {
        list.iter()
            .map(|m| match &m.name {
                Some(n) if n.contains([',', ';', '"', '<', '>']) => {
                    format!("\"{}\" <{}>", n.replace('"', "'"), m.email)
                }
                _ => m.display(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `Name <addr>` or `addr`, for display and for the composer's address fields.
    pub fn display(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} <{}>", self.email),
            None => self.email.clone(),
        }
    }

    fn same_address(&self, other: &str) -> bool {
        self.email.eq_ignore_ascii_case(other)
    }

    fn to_builder(&self) -> BuilderAddress<'static> {
        let email = ascii_domain_address(&self.email);
        match &self.name {
            Some(n) => BuilderAddress::new_address(Some(header_line(n)), email),
            None => BuilderAddress::new_address(None::<String>, email),
        }
    }
}

/// The items of an address field, split on commas (and semicolons) outside quotes and angle
/// brackets; empty items are skipped.
fn split_list(input: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut start, mut quoted, mut angle) = (0, false, false);
    for (i, c) in input.char_indices() {
        match c {
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' | ';' if !quoted && !angle => {
                items.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&input[start..]);
    items.retain(|s| !s.trim().is_empty());
    items
}

/// A file carried by the draft itself (bytes, not a path), so a draft restored after a crash or a
/// forward of a message that is gone still has its attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

impl Attachment {
    /// Reads a file the user named; the content type is guessed from the extension.
    pub fn from_path(path: &Path) -> Result<Attachment, ComposeError> {
        use std::io::Read as _;
        let shown = path.display().to_string();
        let read_error = |source| ComposeError::ReadAttachment {
            path: shown.clone(),
            source,
        };
        let too_large = |size| ComposeError::AttachmentTooLarge {
            path: shown.clone(),
            size,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let meta = file.metadata().map_err(read_error)?;
        if meta.is_dir() {
            return Err(read_error(std::io::ErrorKind::IsADirectory.into()));
        }
        if meta.len() > MAX_ATTACHMENT_BYTES {
            return Err(too_large(meta.len()));
        }
        // Read up to the limit, not to the end: a pipe (`<(cmd)`) or a device has no size to
        // check beforehand and would be read until the memory runs out.
        let mut data = Vec::new();
        file.take(MAX_ATTACHMENT_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(read_error)?;
        if data.len() as u64 > MAX_ATTACHMENT_BYTES {
            return Err(too_large(data.len() as u64));
        }
        let filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        Ok(Attachment {
            content_type: guess_content_type(&filename).to_string(),
            filename,
            data,
        })
    }
}

fn guess_content_type(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "json" => "application/json",
        "ics" => "text/calendar",
        "eml" => "message/rfc822",
        _ => "application/octet-stream",
    }
}

/// Everything a mail being written consists of. The composer pane edits one; `tidings send` builds
/// one from flags; the drafts store and the outbox serialize it as JSON.
///
/// `message_id` is fixed when the draft is created and never changes, so every attempt, every
/// per-recipient copy and the copy filed in Sent carry the same Message-ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// Config name of the account it is sent from.
    pub account: String,
    pub from: Mailbox,
    #[serde(default)]
    pub to: Vec<Mailbox>,
    #[serde(default)]
    pub cc: Vec<Mailbox>,
    #[serde(default)]
    pub bcc: Vec<Mailbox>,
    #[serde(default)]
    pub subject: String,
    /// The text/plain body.
    #[serde(default)]
    pub body: String,
    /// An HTML alternative; when set the mail is multipart/alternative.
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// With angle brackets, e.g. `<abc@example.com>`.
    pub message_id: String,
    #[serde(default)]
    pub in_reply_to: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    /// The address fields as typed, where that is not what `to`/`cc`/`bcc` format to: a field
    /// still being written (`a@x.test b@y.test`, a name without its address). A draft is work in
    /// progress and keeps them as they are; only sending validates.
    #[serde(default, skip_serializing_if = "TypedAddresses::is_empty")]
    pub typed: TypedAddresses,
}

/// One of a draft's address fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressField {
    To,
    Cc,
    Bcc,
}

impl AddressField {
    pub const ALL: [AddressField; 3] = [AddressField::To, AddressField::Cc, AddressField::Bcc];

    pub fn label(self) -> &'static str {
        match self {
            AddressField::To => "To",
            AddressField::Cc => "Cc",
            AddressField::Bcc => "Bcc",
        }
    }

    /// The header a filed draft keeps the typed text in, beside the addresses that parse.
    fn typed_header(self) -> &'static str {
        match self {
            AddressField::To => "X-Tidings-Typed-To",
            AddressField::Cc => "X-Tidings-Typed-Cc",
            AddressField::Bcc => "X-Tidings-Typed-Bcc",
        }
    }
}

/// See [`Draft::typed`]; `None` where the parsed list says it all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedAddresses {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bcc: Option<String>,
}

impl TypedAddresses {
    pub fn is_empty(&self) -> bool {
        self.to.is_none() && self.cc.is_none() && self.bcc.is_none()
    }
}

/// Which of the three prefills a reply is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// To the author (or the Reply-To) only.
    Sender,
    /// To the author and every other To/Cc recipient, except the user.
    All,
}

/// Text for one header line: mail-builder writes ASCII text as is, so a CR or LF in a subject
/// or display name (pasted, or passed by a script) would start a header of its own. Line breaks
/// become one space; other control characters (an ESC of a pasted escape sequence) are dropped.
fn header_line(s: &str) -> String {
    s.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect()
}

/// The address with an international domain in its ASCII form (`bücher.example` →
/// `xn--bcher-kva.example`), as it goes into headers and the SMTP envelope: a server without
/// SMTPUTF8 takes that. A local part stays as written (only SMTPUTF8 can carry it); a domain
/// that does not convert is left for the server to judge.
pub fn ascii_domain_address(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) if !domain.is_ascii() => {
            match reqwest::Url::parse(&format!("http://{domain}/")) {
                Ok(url) => match url.host_str() {
                    Some(ascii) => format!("{local}@{ascii}"),
                    None => email.to_string(),
                },
                Err(_) => email.to_string(),
            }
        }
        _ => email.to_string(),
    }
}

/// A fresh Message-ID: 128 random bits, so it reveals nothing and never collides.
pub fn new_message_id(from_email: &str) -> String {
    let domain = from_email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .unwrap_or("tidings.invalid");
    let token: [u8; 16] = rand::random();
    format!("<{}@{}>", hex::encode(token), domain)
}

fn has_prefix(subject: &str, prefixes: &[&str]) -> bool {
    let lower = subject.trim_start().to_lowercase();
    prefixes.iter().any(|p| lower.starts_with(p))
}

/// `Re: ` unless the subject already is a reply (any case, also the German `AW:`).
pub fn reply_subject(subject: &str) -> String {
    if has_prefix(subject, &["re:", "aw:"]) {
        subject.trim().to_string()
    } else {
        format!("Re: {}", subject.trim())
    }
}

/// `Fwd: ` unless the subject already is a forward (`Fwd:`, `Fw:`, any case).
pub fn forward_subject(subject: &str) -> String {
    if has_prefix(subject, &["fwd:", "fw:"]) {
        subject.trim().to_string()
    } else {
        format!("Fwd: {}", subject.trim())
    }
}

/// Every line prefixed with `> ` (`>` alone for empty lines, as quoted quotes do).
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.trim_end().lines() {
        if line.is_empty() || line.starts_with('>') {
            out.push('>');
            if !line.is_empty() {
                out.push_str(line);
            }
        } else {
            out.push_str("> ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What a prefill needs from the account: who the user is and their signature.
#[derive(Debug, Clone)]
pub struct Sender {
    pub account: String,
    pub from: Mailbox,
    pub signature: Option<String>,
}

impl Sender {
    pub fn from_config(name: &str, acc: &crate::config::AccountConfig) -> Sender {
        Sender {
            account: name.to_string(),
            from: Mailbox::new(acc.display_name.as_deref(), &acc.email),
            signature: acc.signature.clone(),
        }
    }

    fn signature_block(&self) -> String {
        match self.signature.as_deref().map(str::trim_end) {
            Some(sig) if !sig.is_empty() => format!("\n-- \n{sig}\n"),
            _ => String::new(),
        }
    }
}

/// A received message, decoded and sanitized: what a prefill reads from it.
struct Original {
    message_id: Option<String>,
    references: Vec<String>,
    from: Vec<Mailbox>,
    reply_to: Vec<Mailbox>,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    subject: String,
    date: Option<String>,
    text: String,
    attachments: Vec<Attachment>,
}

/// The longest address mail can be delivered to (RFC 5321's 256-octet path, less the brackets).
const MAX_ADDRESS_BYTES: usize = 254;
/// A display name kept in a reply: a received one can be 100 KB, which mail-builder writes as one
/// encoded word on one 80 KB header line that servers refuse.
const MAX_NAME_BYTES: usize = 256;

fn mailboxes(a: Option<&mail_parser::Address<'_>>) -> Vec<Mailbox> {
    let Some(a) = a else { return Vec::new() };
    a.iter()
        .filter_map(|addr| {
            let email = sanitize_line(addr.address()?);
            // A hostile address that would not survive our own parser, or that no server would
            // deliver to, is dropped, not sent to.
            if email.len() > MAX_ADDRESS_BYTES {
                return None;
            }
            let parsed = Mailbox::parse(&email).ok()?;
            let name = addr
                .name()
                .map(|n| sanitize_display(super::parse::cut_at_char_boundary(n, MAX_NAME_BYTES)));
            Some(Mailbox::new(name.as_deref(), &parsed.email))
        })
        .collect()
}

/// Message-IDs a reply names in References: the thread's root and the latest ones, as RFC 5322
/// §3.6.4 allows and Thunderbird does. A received mail can list 10,000; copied whole, they made a
/// 180 KB header that servers refuse ("message header size exceeds limit").
const MAX_REFERENCES: usize = 20;
/// A Message-ID cannot be folded, so one longer than this would break the 998-byte line limit of
/// the header that names it; such an id is left out.
const MAX_ID_BYTES: usize = 900;

/// A Message-ID as a reply names it, or `None` when it cannot be written on a header line.
fn reply_id(id: &str) -> Option<String> {
    let id = sanitize_line(id);
    (!id.is_empty() && id.len() <= MAX_ID_BYTES).then(|| format!("<{id}>"))
}

fn id_list(v: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    let mut ids: Vec<String> = match v.as_text_list() {
        Some(list) => list.iter().filter_map(|id| reply_id(id)).collect(),
        None => v.as_text().and_then(reply_id).into_iter().collect(),
    };
    if ids.len() > MAX_REFERENCES {
        ids.drain(1..ids.len() + 1 - MAX_REFERENCES);
    }
    ids
}

impl Original {
    fn parse(raw: &[u8]) -> Result<Original, ComposeError> {
        Self::parse_capped(raw, MAX_QUOTED_BYTES)
    }

    /// As [`Original::parse`], with the whole text (up to the composer's own body limit): a
    /// recalled draft is edited, not quoted.
    fn parse_whole(raw: &[u8]) -> Result<Original, ComposeError> {
        Self::parse_capped(raw, MAX_RECALLED_BYTES)
    }

    fn parse_capped(raw: &[u8], max_text: usize) -> Result<Original, ComposeError> {
        let msg = super::mime_repair::parse_mail(raw).ok_or(ComposeError::Unparseable)?;
        let mut references = id_list(msg.references());
        if references.is_empty() {
            references = id_list(msg.in_reply_to());
        }
        let text = msg
            .body_text(0)
            .map(|t| sanitize_text(cut(&t, max_text)))
            .unwrap_or_default();
        let attachments = msg
            .attachments()
            .enumerate()
            .map(|(i, part)| {
                // The names the reader shows: no directories ("../../.bashrc"), no leading dot,
                // at most 255 bytes, so a forward does not pass the attacker's path along.
                let (filename, content_type) = super::parse::attachment_info(part, i);
                Attachment {
                    filename,
                    content_type,
                    data: part.contents().to_vec(),
                }
            })
            .collect();
        Ok(Original {
            message_id: msg.message_id().and_then(reply_id),
            references,
            from: mailboxes(msg.from()),
            reply_to: mailboxes(msg.reply_to()),
            to: mailboxes(msg.to()),
            cc: mailboxes(msg.cc()),
            subject: msg.subject().map(sanitize_display).unwrap_or_default(),
            date: msg.date().map(|d| d.to_rfc822()),
            text,
            attachments,
        })
    }

    fn author(&self) -> String {
        self.from
            .first()
            .map(Mailbox::display)
            .unwrap_or_else(|| "someone".into())
    }
}

fn push_unique(list: &mut Vec<Mailbox>, m: &Mailbox, exclude: &[&str]) {
    if exclude.iter().any(|e| m.same_address(e)) || list.iter().any(|x| x.same_address(&m.email)) {
        return;
    }
    list.push(m.clone());
}

impl Draft {
    /// An empty mail from `sender`, with the signature in place and a fresh Message-ID.
    pub fn new(sender: &Sender) -> Draft {
        Draft {
            account: sender.account.clone(),
            from: sender.from.clone(),
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            subject: String::new(),
            body: sender.signature_block(),
            html: None,
            attachments: Vec::new(),
            message_id: new_message_id(&sender.from.email),
            in_reply_to: None,
            references: Vec::new(),
            typed: TypedAddresses::default(),
        }
    }

    fn field(&mut self, f: AddressField) -> (&mut Vec<Mailbox>, &mut Option<String>) {
        match f {
            AddressField::To => (&mut self.to, &mut self.typed.to),
            AddressField::Cc => (&mut self.cc, &mut self.typed.cc),
            AddressField::Bcc => (&mut self.bcc, &mut self.typed.bcc),
        }
    }

    fn field_ref(&self, f: AddressField) -> (&Vec<Mailbox>, &Option<String>) {
        match f {
            AddressField::To => (&self.to, &self.typed.to),
            AddressField::Cc => (&self.cc, &self.typed.cc),
            AddressField::Bcc => (&self.bcc, &self.typed.bcc),
        }
    }

    /// An address field as the composer shows it: as typed, else its addresses.
    pub fn address_text(&self, f: AddressField) -> String {
        let (list, typed) = self.field_ref(f);
        typed.clone().unwrap_or_else(|| Mailbox::format_list(list))
    }

    /// Sets an address field from its text as typed: the addresses that parse, and the text
    /// itself when they do not say all of it. Never fails: a draft keeps what was written.
    pub fn set_address_text(&mut self, f: AddressField, text: &str) {
        let parsed = Mailbox::parse_list_lenient(text);
        let keep = !text.trim().is_empty() && Mailbox::format_list(&parsed) != text;
        let (list, typed) = self.field(f);
        *typed = keep.then(|| text.to_string());
        *list = parsed;
    }

    /// Sets an address field strictly, for sending: every item must be an address.
    pub fn set_address_text_strict(
        &mut self,
        f: AddressField,
        text: &str,
    ) -> Result<(), ComposeError> {
        let parsed = Mailbox::parse_list(text)?;
        let (list, typed) = self.field(f);
        *list = parsed;
        *typed = None;
        Ok(())
    }

    /// A reply to the raw message `original`: recipients, `Re:` subject, the quoted text under an
    /// attribution line, In-Reply-To and the References chain (the original's References, or its
    /// In-Reply-To, then its Message-ID). The user's own address never ends up a recipient,
    /// except when replying to their own mail, which goes to its recipients instead.
    pub fn reply(sender: &Sender, original: &[u8], kind: ReplyKind) -> Result<Draft, ComposeError> {
        let o = Original::parse(original)?;
        let me = sender.from.email.as_str();
        let mut draft = Draft::new(sender);
        let from_me = o.from.iter().any(|m| m.same_address(me));
        let primary = if from_me {
            o.to.clone()
        } else if !o.reply_to.is_empty() {
            o.reply_to.clone()
        } else {
            o.from.clone()
        };
        for m in &primary {
            push_unique(&mut draft.to, m, &[me]);
        }
        if kind == ReplyKind::All {
            let already: Vec<String> = draft.to.iter().map(|m| m.email.clone()).collect();
            let mut exclude: Vec<&str> = already.iter().map(String::as_str).collect();
            exclude.push(me);
            let others = if from_me {
                o.cc.clone()
            } else {
                o.to.iter().chain(o.cc.iter()).cloned().collect()
            };
            for m in &others {
                push_unique(&mut draft.cc, m, &exclude);
            }
        }
        draft.subject = reply_subject(&o.subject);
        draft.in_reply_to = o.message_id.clone();
        draft.references = o.references.clone();
        if let Some(id) = &o.message_id {
            if !draft.references.contains(id) {
                draft.references.push(id.clone());
            }
        }
        let attribution = match &o.date {
            Some(d) => format!("On {d}, {} wrote:", o.author()),
            None => format!("{} wrote:", o.author()),
        };
        draft.body = format!(
            "\n\n{attribution}\n{}{}",
            quote(&o.text),
            sender.signature_block()
        );
        Ok(draft)
    }

    /// A forward of the raw message `original`: no recipients, `Fwd:` subject, the original's
    /// headers and text inline, and its attachments kept. References point at the original so
    /// the forward threads with it.
    pub fn forward(sender: &Sender, original: &[u8]) -> Result<Draft, ComposeError> {
        let o = Original::parse(original)?;
        let mut draft = Draft::new(sender);
        draft.subject = forward_subject(&o.subject);
        let list = |l: &[Mailbox]| {
            l.iter()
                .map(Mailbox::display)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut header = format!(
            "---------- Forwarded message ----------\nFrom: {}\n",
            o.author()
        );
        if let Some(d) = &o.date {
            header.push_str(&format!("Date: {d}\n"));
        }
        header.push_str(&format!("Subject: {}\n", o.subject));
        if !o.to.is_empty() {
            header.push_str(&format!("To: {}\n", list(&o.to)));
        }
        if !o.cc.is_empty() {
            header.push_str(&format!("Cc: {}\n", list(&o.cc)));
        }
        draft.body = format!(
            "\n\n{header}\n{}\n{}",
            o.text.trim_end(),
            sender.signature_block()
        );
        draft.attachments = o.attachments;
        if let Some(id) = o.message_id {
            draft.references = vec![id];
        }
        Ok(draft)
    }

    /// A draft filed on the server (by tidings or another client) opened again for editing, as
    /// mutt's postponed recall and aerc's `:recall` do: its recipients (Bcc too — a draft keeps
    /// it), subject, text, attachments and threading headers, and its own Message-ID, so saving
    /// or sending it replaces that server copy instead of leaving a second one. An HTML-only
    /// draft comes back as its text: the composer edits text.
    pub fn recall(sender: &Sender, raw: &[u8]) -> Result<Draft, ComposeError> {
        let o = Original::parse_whole(raw)?;
        let msg = MessageParser::default()
            .parse(raw)
            .ok_or(ComposeError::Unparseable)?;
        let mut draft = Draft::new(sender);
        draft.to = o.to;
        draft.cc = o.cc;
        draft.bcc = mailboxes(msg.bcc());
        // Only these headers are decoded as text (encoded words) by this parser; the header
        // block alone is read again, not the attachments.
        let head_end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(raw.len(), |i| i + 4);
        let typed_parser = AddressField::ALL
            .into_iter()
            .fold(MessageParser::new(), |p, f| {
                p.header_text(mail_parser::HeaderName::Other(f.typed_header().into()))
            });
        let head = typed_parser.parse_headers(&raw[..head_end]);
        for f in AddressField::ALL {
            let Some(text) = head
                .as_ref()
                .and_then(|h| h.header(f.typed_header()))
                .and_then(|v| v.as_text())
            else {
                continue;
            };
            let text = sanitize_line(cut(text, MAX_TYPED_BYTES));
            // Kept only while it still describes the field: another client that rewrote `To:`
            // but carried the header along made it stale.
            if Mailbox::parse_list_lenient(&text) == *draft.field_ref(f).0 {
                draft.set_address_text(f, &text);
            }
        }
        draft.subject = o.subject;
        draft.body = o.text;
        draft.attachments = o.attachments;
        draft.in_reply_to = id_list(msg.in_reply_to()).into_iter().next();
        draft.references = id_list(msg.references());
        if let Some(id) = o.message_id {
            draft.message_id = id;
        }
        Ok(draft)
    }

    pub fn attach_file(&mut self, path: &Path) -> Result<(), ComposeError> {
        self.attachments.push(Attachment::from_path(path)?);
        Ok(())
    }

    /// Every envelope recipient (To, Cc, Bcc), each address once.
    pub fn recipients(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for m in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            if !out.iter().any(|e| m.same_address(e)) {
                out.push(m.email.clone());
            }
        }
        out
    }

    /// True when nothing was typed: such a draft is not worth keeping.
    pub fn is_blank(&self) -> bool {
        self.to.is_empty()
            && self.cc.is_empty()
            && self.bcc.is_empty()
            && self.typed.is_empty()
            && self.subject.trim().is_empty()
            && self.attachments.is_empty()
            && self.html.is_none()
            && self.body.trim().is_empty()
    }

    /// The RFC 5322 message. `date` is unix seconds (fixed by the caller so that every copy of one
    /// mail carries the same Date). With `bcc_header` the Bcc line is kept — only for the copy filed
    /// in Sent or Drafts; what goes over SMTP must not reveal the Bcc recipients.
    pub fn build(&self, date: i64, bcc_header: bool) -> Result<Vec<u8>, ComposeError> {
        self.build_with_html(date, bcc_header, self.html.as_deref())
    }

    /// Like [`Draft::build`] but with another HTML part: the tracking feature's per-recipient copy
    /// (pixel and rewritten links) uses this so every other byte stays identical.
    pub fn build_with_html(
        &self,
        date: i64,
        bcc_header: bool,
        html: Option<&str>,
    ) -> Result<Vec<u8>, ComposeError> {
        let list = |l: &[Mailbox]| {
            BuilderAddress::new_list(l.iter().map(Mailbox::to_builder).collect::<Vec<_>>())
        };
        let mut b = MessageBuilder::new()
            .from(self.from.to_builder())
            .subject(header_line(&self.subject))
            .date(date)
            .message_id(crate::message_id::bare(&self.message_id).to_string())
            .header(
                "User-Agent",
                mail_builder::headers::raw::Raw::new("tidings"),
            );
        if !self.to.is_empty() {
            b = b.to(list(&self.to));
        }
        if !self.cc.is_empty() {
            b = b.cc(list(&self.cc));
        }
        if bcc_header && !self.bcc.is_empty() {
            b = b.bcc(list(&self.bcc));
        }
        // A filed draft keeps a field that does not parse as typed, in a header of its own:
        // `To:` stays a valid address list for every other client.
        for f in AddressField::ALL {
            if f == AddressField::Bcc && !bcc_header {
                continue;
            }
            if let (_, Some(text)) = self.field_ref(f) {
                b = b.header(
                    f.typed_header(),
                    mail_builder::headers::text::Text::new(header_line(text)),
                );
            }
        }
        if let Some(id) = &self.in_reply_to {
            b = b.in_reply_to(crate::message_id::bare(id).to_string());
        }
        if !self.references.is_empty() {
            b = b.references(MessageId::new_list(
                self.references
                    .iter()
                    .map(|r| crate::message_id::bare(r).to_string()),
            ));
        }
        b = b.text_body(self.body.replace("\r\n", "\n").replace('\n', "\r\n"));
        if let Some(html) = html {
            b = b.html_body(html.to_string());
        }
        for a in &self.attachments {
            b = b.attachment(
                a.content_type.clone(),
                a.filename.clone(),
                a.data.as_slice(),
            );
        }
        b.write_to_vec().map_err(ComposeError::Build)
    }

    /// Checks what must hold before a draft may enter the outbox.
    pub fn validate_for_sending(&self) -> Result<(), ComposeError> {
        for typed in [&self.typed.to, &self.typed.cc, &self.typed.bcc]
            .into_iter()
            .flatten()
        {
            Mailbox::parse_list(typed)?;
        }
        if self.recipients().is_empty() {
            return Err(ComposeError::NoRecipients);
        }
        for m in self
            .to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .chain([&self.from])
        {
            Mailbox::parse(&m.email)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Sender {
        Sender {
            account: "work".into(),
            from: Mailbox::new(Some("Me Myself"), "me@example.com"),
            signature: Some("Me\nACME".into()),
        }
    }

    const ORIGINAL: &[u8] = b"From: Dana Lee <dana@acme.test>\r\n\
To: Me <ME@example.com>, Bob <bob@acme.test>\r\n\
Cc: carol@acme.test, dana@acme.test\r\n\
Subject: Re: Q3 proposal\r\n\
Date: Tue, 1 Sep 2026 10:00:00 +0000\r\n\
Message-ID: <c@acme.test>\r\nIn-Reply-To: <b@acme.test>\r\nReferences: <a@acme.test> <b@acme.test>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n\
--XX\r\nContent-Type: text/plain\r\n\r\nNumbers attached.\r\n\r\n> earlier\r\n\
--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=q3.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n";

    #[test]
    fn a_recalled_draft_comes_back_whole_with_its_own_message_id() {
        let mut d = Draft::reply(&me(), ORIGINAL, ReplyKind::All).unwrap();
        d.bcc = vec![Mailbox::new(Some("Boss"), "boss@example.com")];
        d.subject = "Re: Q3 proposal — draft".into();
        d.body = "Half a thought…\n\n-- \nMe\n".into();
        d.attachments.push(Attachment {
            filename: "numbers.bin".into(),
            content_type: "application/octet-stream".into(),
            data: (0..=255u8).collect(),
        });
        // As a draft is filed: with its Bcc line.
        let raw = d.build(1_790_000_000, true).unwrap();
        let r = Draft::recall(&me(), &raw).unwrap();
        assert_eq!(
            r.message_id, d.message_id,
            "saving replaces the server copy"
        );
        assert_eq!((&r.to, &r.cc, &r.bcc), (&d.to, &d.cc, &d.bcc));
        assert_eq!(r.subject, d.subject);
        assert_eq!(r.body.trim_end(), d.body.trim_end());
        assert_eq!(r.in_reply_to, d.in_reply_to);
        assert_eq!(r.references, d.references);
        assert_eq!(r.attachments.len(), 1);
        assert_eq!(r.attachments[0].filename, "numbers.bin");
        assert_eq!(r.attachments[0].data, (0..=255u8).collect::<Vec<u8>>());
        assert_eq!(r.account, "work");
    }

    #[test]
    fn reply_quotes_threads_and_does_not_stack_re() {
        let d = Draft::reply(&me(), ORIGINAL, ReplyKind::Sender).unwrap();
        assert_eq!(d.to, vec![Mailbox::new(Some("Dana Lee"), "dana@acme.test")]);
        assert!(d.cc.is_empty());
        assert_eq!(d.subject, "Re: Q3 proposal");
        assert_eq!(d.in_reply_to.as_deref(), Some("<c@acme.test>"));
        assert_eq!(
            d.references,
            vec!["<a@acme.test>", "<b@acme.test>", "<c@acme.test>"]
        );
        assert!(
            d.body
                .contains("Dana Lee <dana@acme.test> wrote:\n> Numbers attached.\n>\n>> earlier\n"),
            "{:?}",
            d.body
        );
        assert!(d.body.ends_with("\n-- \nMe\nACME\n"));
        assert!(
            d.attachments.is_empty(),
            "a reply does not carry attachments"
        );
        assert_ne!(d.message_id, "<c@acme.test>");
    }

    #[test]
    fn a_reply_to_hostile_threading_headers_stays_sendable() {
        let mut raw = format!(
            "From: eve@evil.test\r\nSubject: deep\r\nMessage-ID: <{}@evil.test>\r\nReferences:",
            "m".repeat(4000)
        );
        for i in 0..10_000 {
            raw.push_str(&format!(" <r{i}@evil.test>"));
        }
        raw.push_str(
            "\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n--b\r\n\
Content-Disposition: attachment; filename=\"../../.bashrc\"\r\n\r\nx\r\n--b--\r\n",
        );
        let d = Draft::reply(&me(), raw.as_bytes(), ReplyKind::Sender).unwrap();
        // The 4 KB Message-ID cannot be written on a header line: it is left out.
        assert_eq!(d.in_reply_to, None);
        assert_eq!(d.references.len(), MAX_REFERENCES);
        assert_eq!(d.references[0], "<r0@evil.test>");
        assert_eq!(d.references[MAX_REFERENCES - 1], "<r9999@evil.test>");
        let built = d.build(1_790_000_000, false).unwrap();
        let head = &built[..built.windows(4).position(|w| w == b"\r\n\r\n").unwrap()];
        assert!(head.len() < 4096, "{} bytes of header", head.len());
        assert!(head.split(|&b| b == b'\n').all(|l| l.len() <= 998));
        let f = Draft::forward(&me(), raw.as_bytes()).unwrap();
        assert_eq!(f.attachments[0].filename, "bashrc");
        // A 100 KB name is cut; a 64 KB address is no one's.
        let huge = format!(
            "From: \"{}\" <eve@evil.test>\r\nCc: {}@evil.test\r\n\r\nhi\r\n",
            "N".repeat(100_000),
            "l".repeat(65_536)
        );
        let d = Draft::reply(&me(), huge.as_bytes(), ReplyKind::All).unwrap();
        assert_eq!(d.to[0].name.as_deref().map(str::len), Some(MAX_NAME_BYTES));
        assert!(d.cc.is_empty());
    }

    #[test]
    fn reply_all_includes_everyone_but_me_once() {
        let d = Draft::reply(&me(), ORIGINAL, ReplyKind::All).unwrap();
        let to: Vec<_> = d.to.iter().map(|m| m.email.as_str()).collect();
        let cc: Vec<_> = d.cc.iter().map(|m| m.email.as_str()).collect();
        assert_eq!(to, vec!["dana@acme.test"]);
        assert_eq!(cc, vec!["bob@acme.test", "carol@acme.test"]);
    }

    #[test]
    fn reply_to_header_wins_and_own_mail_goes_to_its_recipients() {
        let raw = b"From: dana@acme.test\r\nReply-To: list@acme.test\r\nTo: me@example.com\r\nSubject: RE: x\r\nMessage-ID: <r@x>\r\n\r\nhi\r\n";
        let d = Draft::reply(&me(), raw, ReplyKind::All).unwrap();
        assert_eq!(d.to[0].email, "list@acme.test");
        assert_eq!(d.subject, "RE: x");
        assert_eq!(d.references, vec!["<r@x>"]);
        let own = b"From: me@example.com\r\nTo: dana@acme.test\r\nCc: bob@acme.test\r\nSubject: hi\r\n\r\nhi\r\n";
        let d = Draft::reply(&me(), own, ReplyKind::All).unwrap();
        assert_eq!(d.to[0].email, "dana@acme.test");
        assert_eq!(d.cc[0].email, "bob@acme.test");
    }

    #[test]
    fn forward_keeps_attachments_and_does_not_stack_fwd() {
        let d = Draft::forward(&me(), ORIGINAL).unwrap();
        assert!(d.to.is_empty());
        assert_eq!(d.subject, "Fwd: Re: Q3 proposal");
        assert_eq!(forward_subject("FW: hello"), "FW: hello");
        assert_eq!(forward_subject("fwd: hello"), "fwd: hello");
        assert_eq!(d.attachments.len(), 1);
        assert_eq!(d.attachments[0].filename, "q3.pdf");
        assert_eq!(d.attachments[0].content_type, "application/pdf");
        assert_eq!(d.attachments[0].data, b"%PDF-1.4\n");
        assert!(d.body.contains("From: Dana Lee <dana@acme.test>\nDate: "));
        assert!(d.body.contains("\nNumbers attached.\n"));
        assert_eq!(d.references, vec!["<c@acme.test>"]);
    }

    #[test]
    fn hostile_original_cannot_inject_escapes_or_headers() {
        let raw = b"From: =?utf-8?q?Evil=1B[2J?= <evil@x.test>\r\nSubject: =?utf-8?q?a=0D=0ABcc:_victim@x.test?=\r\n\r\nbody\x1b]0;t\x07\r\n";
        let d = Draft::reply(&me(), raw, ReplyKind::Sender).unwrap();
        assert!(!d.subject.contains('\n') && !d.subject.contains('\x1b'));
        assert!(!d.body.contains('\x1b'));
        let built = String::from_utf8(d.build(0, true).unwrap()).unwrap();
        assert!(!built.contains("\r\nBcc:"), "{built}");
    }

    #[test]
    fn a_display_name_with_newlines_stays_in_its_header() {
        let sender = Sender {
            account: "work".into(),
            from: Mailbox::new(Some("Me\r\nBcc: boss@example.com"), "me@example.com"),
            signature: None,
        };
        let mut d = Draft::new(&sender);
        d.to = vec![Mailbox::new(Some("Dana\nX-Evil: 1"), "dana@acme.test")];
        let built = String::from_utf8(d.build(0, false).unwrap()).unwrap();
        assert!(
            !built.contains("\r\nBcc:") && !built.contains("\r\nX-Evil:"),
            "{built}"
        );
        let m = MessageParser::default().parse(built.as_bytes()).unwrap();
        assert_eq!(
            m.from().unwrap().first().unwrap().name(),
            Some("Me Bcc: boss@example.com")
        );
    }

    #[test]
    fn mailbox_parsing_rejects_smuggling() {
        assert_eq!(
            Mailbox::parse("\"Dana Lee\" <dana@acme.test>").unwrap(),
            Mailbox::new(Some("Dana Lee"), "dana@acme.test")
        );
        assert_eq!(Mailbox::parse("a@b").unwrap().name, None);
        for bad in ["a@b, c@d", "a@b\r\nBcc: x@y", "nope", "<a@b", "a b@c", "@b"] {
            assert!(Mailbox::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn address_fields_split_on_commas_outside_quotes_and_round_trip() {
        let list =
            Mailbox::parse_list("Dana <d@x.test>, \"Lee, Bob\" <b@x.test>; c@x.test,  ").unwrap();
        assert_eq!(
            list,
            vec![
                Mailbox::new(Some("Dana"), "d@x.test"),
                Mailbox::new(Some("Lee, Bob"), "b@x.test"),
                Mailbox::new(None, "c@x.test"),
            ]
        );
        assert_eq!(
            Mailbox::parse_list(&Mailbox::format_list(&list)).unwrap(),
            list
        );
        assert!(Mailbox::parse_list("d@x.test, not an address").is_err());
        assert!(Mailbox::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn build_omits_bcc_on_the_wire_and_parses_back() {
        let mut d = Draft::new(&me());
        d.to = vec![Mailbox::parse("Dana <dana@acme.test>").unwrap()];
        d.bcc = vec![Mailbox::parse("boss@example.com").unwrap()];
        d.subject = "Grüße".into();
        d.body = "line one\nline two\n".into();
        d.html = Some("<p>line one</p>".into());
        d.attachments.push(Attachment {
            filename: "a.bin".into(),
            content_type: "application/octet-stream".into(),
            data: vec![0, 1, 2, 255],
        });
        let wire = d.build(1_700_000_000, false).unwrap();
        let filed = d.build(1_700_000_000, true).unwrap();
        let w = MessageParser::default().parse(&wire[..]).unwrap();
        assert!(w.bcc().is_none());
        let f = MessageParser::default().parse(&filed[..]).unwrap();
        assert_eq!(
            f.bcc().unwrap().first().unwrap().address(),
            Some("boss@example.com")
        );
        assert_eq!(w.message_id(), Some(crate::message_id::bare(&d.message_id)));
        assert_eq!(w.subject(), Some("Grüße"));
        assert_eq!(w.body_text(0).unwrap(), "line one\r\nline two\r\n");
        assert_eq!(w.body_html(0).unwrap(), "<p>line one</p>");
        assert_eq!(w.attachments().next().unwrap().contents(), &[0, 1, 2, 255]);
        assert_eq!(d.recipients(), vec!["dana@acme.test", "boss@example.com"]);
    }

    #[test]
    fn a_draft_keeps_address_fields_as_typed_through_json_and_the_drafts_folder() {
        let typed_to = "Dana Lee <dana.lee@acme.test>, one@x.test two@y.test";
        let mut d = Draft::new(&me());
        d.set_address_text(AddressField::To, typed_to);
        d.set_address_text(AddressField::Cc, "Marcs Chen");
        d.set_address_text(AddressField::Bcc, "boss@example.com,x");
        assert_eq!(
            d.to,
            vec![Mailbox::new(Some("Dana Lee"), "dana.lee@acme.test")]
        );
        assert!(!d.is_blank());
        let json = serde_json::to_string(&d).unwrap();
        let back: Draft = serde_json::from_str(&json).unwrap();
        assert_eq!(back.address_text(AddressField::To), typed_to);
        assert_eq!(back.address_text(AddressField::Cc), "Marcs Chen");
        // Filed on the server: `To:` holds what parses, the typed text rides beside it.
        let raw = d.build(1_790_000_000, true).unwrap();
        let m = MessageParser::default().parse(&raw[..]).unwrap();
        assert_eq!(
            m.to().unwrap().first().unwrap().address(),
            Some("dana.lee@acme.test")
        );
        let r = Draft::recall(&me(), &raw).unwrap();
        for f in AddressField::ALL {
            assert_eq!(r.address_text(f), d.address_text(f), "{f:?}");
        }
        assert_eq!(r.typed, d.typed);
        // Not over SMTP, and never sendable as it is.
        let wire = String::from_utf8(d.build(0, false).unwrap()).unwrap();
        assert!(!wire.contains("X-Tidings-Typed-Bcc"), "{wire}");
        assert!(d.validate_for_sending().is_err());
        // A field another client rewrote is its new `To:`, not the stale typed text.
        let other = String::from_utf8(raw).unwrap().replace(
            "To: \"Dana Lee\" <dana.lee@acme.test>",
            "To: <sam@globex.test>",
        );
        let r = Draft::recall(&me(), other.as_bytes()).unwrap();
        assert_eq!(r.address_text(AddressField::To), "sam@globex.test");
        // Fields that parse in full are kept as lists alone, as before.
        let mut plain = Draft::new(&me());
        plain.set_address_text(AddressField::To, "Dana <d@x.test>, e@x.test");
        assert!(plain.typed.is_empty());
        assert!(!serde_json::to_string(&plain).unwrap().contains("typed"));
    }

    #[test]
    fn draft_json_round_trips_with_attachment_bytes() {
        let mut d = Draft::forward(&me(), ORIGINAL).unwrap();
        d.html = Some("<b>x</b>".into());
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Draft>(&json).unwrap(), d);
    }
}
