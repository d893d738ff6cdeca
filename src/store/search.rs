//! The search language, shared by the TUI's `/` and `tidings list --search`, and its translation
//! into SQL over the FTS5 index.
//!
//! ```text
//! word "a phrase" from:dana to:sam cc:ops subject:invoice body:"net 30"
//! has:attachment is:unread|read|flagged|tracked|answered|replied folder:Archive
//! before:2024-03-01 after:2024-02 on:yesterday after:7d -word -from:billing -is:read
//! ```
//!
//! Terms are ANDed; `-` negates one. Words match by prefix, phrases exactly. Any input parses:
//! an unknown `key:value` is searched as text, a bad value (`is:purple`, `before:soon`) is
//! dropped with a note for the user, an unbalanced quote runs to the end. Only letters and
//! digits ever reach FTS5, as quoted phrases, so no input is an FTS syntax error.

use chrono::{Duration, NaiveDate};
use rusqlite::ToSql;

/// Longer input is cut here (on a character boundary): a search is a line, not a document.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Terms past this many are ignored (with a note): each is an SQL condition.
pub(super) const MAX_TERMS: usize = 32;
/// Tokens of one word or phrase past this many are ignored.
const MAX_TOKENS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Any,
    From,
    To,
    Cc,
    Subject,
    Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Unread,
    Read,
    Flagged,
    Tracked,
    Answered,
    /// A reply came to mail the user sent; see [`REPLIED_SQL`].
    Replied,
}

/// A day, a month or a year as typed, or a moment relative to now (`7d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Local days `[first, end)`.
    Days { first: NaiveDate, end: NaiveDate },
    /// So many seconds before now.
    Ago(i64),
    /// The local day so many days before today (0: today).
    DayAgo(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOp {
    /// Before the first day (exclusive).
    Before,
    /// From the first day on (inclusive, as in Gmail).
    After,
    /// Within the days.
    On,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Letter-and-digit tokens of a word (`prefix`: its last token matches as a prefix) or a
    /// phrase, in one field.
    Text {
        field: Field,
        tokens: Vec<String>,
        prefix: bool,
    },
    HasAttachment,
    Is(Status),
    Folder(String),
    Date(DateOp, When),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub negated: bool,
    pub condition: Condition,
}

/// A parsed search: its terms, and what was dropped and why (for a note to the user).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    pub terms: Vec<Term>,
    pub problems: Vec<String>,
}

/// "Now" for relative and calendar dates: unix seconds and the local offset from UTC.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: i64,
    pub utc_offset_secs: i32,
}

impl Clock {
    pub fn local() -> Clock {
        let now = chrono::Local::now();
        Clock {
            now: now.timestamp(),
            utc_offset_secs: now.offset().local_minus_utc(),
        }
    }

    fn today(&self) -> NaiveDate {
        chrono::DateTime::from_timestamp(self.now + self.utc_offset_secs as i64, 0)
            .unwrap_or_default()
            .date_naive()
    }

    /// Unix seconds of local midnight starting `d`.
    fn midnight(&self, d: NaiveDate) -> i64 {
        d.and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp()
            - self.utc_offset_secs as i64
    }
}

/// What `is:replied` means: mail the user sent that someone answered (a real reply, found by
/// `mail::replies`). `is:answered` is the other direction: the user answered it (`\Answered`).
pub const REPLIED_SQL: &str =
    "EXISTS (SELECT 1 FROM replies r WHERE r.sent_message_id = m.message_id)";

/// The language as one line per construct, for `?` and `--help`.
pub const SYNTAX_HELP: &[(&str, &str)] = &[
    ("word \"a phrase\"", "anywhere (words match by prefix)"),
    ("from: to: cc:", "an address or name, e.g. from:dana"),
    (
        "subject: body:",
        "in the subject / the body, e.g. subject:\"q3 plan\"",
    ),
    ("has:attachment", "with attachments"),
    ("is:unread read", "unread / read"),
    ("is:flagged tracked", "flagged / sent with tracking"),
    (
        "is:answered replied",
        "you answered it / your mail was answered",
    ),
    (
        "folder:NAME",
        "in that folder (name or role: inbox, sent, archive…)",
    ),
    (
        "before: after: on:",
        "2024-03-01, 2024-03, 2024, today, yesterday, 7d, 3m",
    ),
    ("-term", "negates: -from:billing -is:read"),
];

impl SearchQuery {
    pub fn parse(input: &str) -> SearchQuery {
        let mut q = SearchQuery::default();
        let cut = input
            .char_indices()
            .nth(MAX_QUERY_CHARS)
            .map_or(input.len(), |(i, _)| i);
        if cut < input.len() {
            q.problems.push(format!(
                "search cut to its first {MAX_QUERY_CHARS} characters"
            ));
        }
        let mut rest = &input[..cut];
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let (word, after) = next_word(rest);
            rest = after;
            if q.terms.len() == MAX_TERMS {
                q.problems
                    .push(format!("only the first {MAX_TERMS} terms are searched"));
                break;
            }
            match term(&word) {
                Ok(Some(t)) => q.terms.push(t),
                Ok(None) => {}
                Err(problem) => q.problems.push(problem),
            }
        }
        q
    }

    /// SQL conditions over `m` (messages), `f` (folders) and `a` (accounts), each starting with
    /// " AND ", with their arguments appended to `args` (numbered after those already there).
    pub fn to_sql(&self, clock: &Clock, args: &mut Vec<Box<dyn ToSql>>) -> String {
        let mut sql = String::new();
        // Positive text terms in any column but to/cc go to FTS5 as one expression, so it
        // intersects their posting lists itself.
        let mut together: Vec<String> = Vec::new();
        for t in &self.terms {
            let cond = match &t.condition {
                Condition::Text {
                    field,
                    tokens,
                    prefix,
                } => {
                    let fts = fts_phrase(*field, tokens, *prefix);
                    if !t.negated && !matches!(field, Field::To | Field::Cc) {
                        together.push(fts);
                        continue;
                    }
                    args.push(Box::new(fts));
                    let mut c = fts_match(args.len());
                    // The index has one column for To and Cc together: the row says which.
                    let column = match field {
                        Field::To => Some("m.to_addrs"),
                        Field::Cc => Some("m.cc_addrs"),
                        _ => None,
                    };
                    if let Some(col) = column {
                        for tok in tokens {
                            args.push(Box::new(tok.to_lowercase()));
                            c.push_str(&format!(" AND instr(lower({col}), ?{}) > 0", args.len()));
                        }
                        c = format!("({c})");
                    }
                    c
                }
                Condition::HasAttachment => "m.has_attachments = 1".into(),
                Condition::Is(s) => match s {
                    Status::Unread => "m.seen = 0".into(),
                    Status::Read => "m.seen = 1".into(),
                    Status::Flagged => "m.flagged = 1".into(),
                    Status::Answered => "m.answered = 1".into(),
                    Status::Replied => REPLIED_SQL.into(),
                    // The Tracked filter's condition, without its leading " AND ".
                    Status::Tracked => super::tracking_events::TRACKED_MESSAGES_SQL
                        .trim_start()
                        .trim_start_matches("AND")
                        .to_string(),
                },
                Condition::Folder(name) => {
                    args.push(Box::new(name.clone()));
                    let n = args.len();
                    format!("(f.name = ?{n} COLLATE NOCASE OR f.role = lower(?{n}))")
                }
                Condition::Date(op, when) => {
                    let (start, end) = match *when {
                        When::Days { first, end } => (clock.midnight(first), clock.midnight(end)),
                        When::DayAgo(n) => {
                            let first = clock.today() - Duration::days(n as i64);
                            (
                                clock.midnight(first),
                                clock.midnight(first + Duration::days(1)),
                            )
                        }
                        When::Ago(secs) => {
                            let at = clock.now.saturating_sub(secs);
                            (at, at)
                        }
                    };
                    match op {
                        DateOp::Before => format!("m.date < {start}"),
                        DateOp::After => format!("m.date >= {start}"),
                        DateOp::On if start == end => format!("m.date >= {start}"),
                        DateOp::On => format!("(m.date >= {start} AND m.date < {end})"),
                    }
                }
            };
            if t.negated {
                sql.push_str(&format!(" AND NOT ({cond})"));
            } else {
                sql.push_str(&format!(" AND {cond}"));
            }
        }
        if !together.is_empty() {
            args.push(Box::new(together.join(" AND ")));
            sql.push_str(&format!(" AND {}", fts_match(args.len())));
        }
        sql
    }
}

/// Message `m` (folder `f`) matches FTS expression `?n` — itself, or a copy sharing its body
/// (an `\All` account's INBOX and All Mail), whose indexed body is that of `m` too.
fn fts_match(n: usize) -> String {
    format!(
        "(m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?{n})
           OR (m.body_key IS NOT NULL AND EXISTS (SELECT 1 FROM messages s
               JOIN folders sf ON sf.id = s.folder_id
               WHERE s.body_key = m.body_key AND sf.account_id = f.account_id
                 AND s.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?{n}))))"
    )
}

/// One FTS5 phrase: tokens are letters and digits only, so quoting them is always valid.
fn fts_phrase(field: Field, tokens: &[String], prefix: bool) -> String {
    let column = match field {
        Field::Any => "",
        Field::From => "{sender} : ",
        Field::To | Field::Cc => "{recipients} : ",
        Field::Subject => "{subject} : ",
        Field::Body => "{body} : ",
    };
    let star = if prefix { "*" } else { "" };
    format!("({column}\"{}\"{star})", tokens.join(" "))
}

/// The next word of `s` (which starts with no space): `-`, a `key:` and a bare or quoted value,
/// or a quoted phrase. Returns the word and what follows it.
fn next_word(s: &str) -> (Word, &str) {
    let mut w = Word::default();
    let mut s = s;
    if let Some(r) = s.strip_prefix('-') {
        if r.starts_with(|c: char| !c.is_whitespace()) {
            w.negated = true;
            s = r;
        }
    }
    let key_len = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    if key_len > 0 && s[key_len..].starts_with(':') && is_key(&s[..key_len]) {
        w.key = Some(s[..key_len].to_ascii_lowercase());
        s = &s[key_len + 1..];
    }
    if let Some(r) = s.strip_prefix('"') {
        let end = r.find('"').unwrap_or(r.len());
        w.value = r[..end].to_string();
        w.quoted = true;
        (w, r.get(end + 1..).unwrap_or(""))
    } else {
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        w.value = s[..end].to_string();
        (w, &s[end..])
    }
}

#[derive(Debug, Default)]
struct Word {
    negated: bool,
    key: Option<String>,
    value: String,
    quoted: bool,
}

/// What the `:` command line completes a word of a search to: the keys, with the values of those
/// whose values are a fixed set.
pub const COMPLETIONS: &[&str] = &[
    "from:",
    "to:",
    "cc:",
    "subject:",
    "body:",
    "has:attachment",
    "is:unread",
    "is:read",
    "is:flagged",
    "is:tracked",
    "is:answered",
    "is:replied",
    "folder:",
    "before:",
    "after:",
    "on:",
];

const KEYS: &[&str] = &[
    "from", "to", "cc", "subject", "body", "has", "is", "folder", "in", "before", "after", "on",
];

fn is_key(k: &str) -> bool {
    KEYS.iter().any(|known| known.eq_ignore_ascii_case(k))
}

/// The term a word stands for; `Ok(None)` when it has nothing to search (punctuation only).
fn term(w: &Word) -> Result<Option<Term>, String> {
    let text = |field: Field| {
        let tokens: Vec<String> = w
            .value
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .take(MAX_TOKENS)
            .map(str::to_string)
            .collect();
        (!tokens.is_empty()).then_some(Condition::Text {
            field,
            tokens,
            prefix: !w.quoted,
        })
    };
    let value = w.value.trim();
    let condition = match w.key.as_deref() {
        None => text(Field::Any),
        Some("from") => text(Field::From),
        Some("to") => text(Field::To),
        Some("cc") => text(Field::Cc),
        Some("subject") => text(Field::Subject),
        Some("body") => text(Field::Body),
        Some("has") => match value.to_ascii_lowercase().as_str() {
            "attachment" | "attachments" | "attach" => Some(Condition::HasAttachment),
            _ => return Err(format!("has:{value}: only has:attachment is known")),
        },
        Some("is") => Some(Condition::Is(match value.to_ascii_lowercase().as_str() {
            "unread" | "new" => Status::Unread,
            "read" | "seen" => Status::Read,
            "flagged" | "starred" => Status::Flagged,
            "tracked" => Status::Tracked,
            "answered" => Status::Answered,
            "replied" => Status::Replied,
            _ => {
                return Err(format!(
                    "is:{value}: use unread, read, flagged, tracked, answered or replied"
                ))
            }
        })),
        Some("folder" | "in") if value.is_empty() => None,
        Some("folder" | "in") => Some(Condition::Folder(value.to_string())),
        Some(key @ ("before" | "after" | "on")) => {
            let op = match key {
                "before" => DateOp::Before,
                "after" => DateOp::After,
                _ => DateOp::On,
            };
            match parse_when(value) {
                Some(when) => Some(Condition::Date(op, when)),
                None => {
                    return Err(format!(
                    "{key}:{value}: not a date (2024-03-01, 2024-03, 2024, today, yesterday, 7d)"
                ))
                }
            }
        }
        Some(_) => text(Field::Any),
    };
    Ok(condition.map(|condition| Term {
        negated: w.negated,
        condition,
    }))
}

/// `2024-03-01` (or with `/`), `2024-03`, `2024`, `today`, `yesterday`, or `N` + d/w/m/y ago.
fn parse_when(v: &str) -> Option<When> {
    let v = v.to_ascii_lowercase();
    let days = |first: NaiveDate, end: NaiveDate| Some(When::Days { first, end });
    match v.as_str() {
        "today" => return Some(When::DayAgo(0)),
        "yesterday" => return Some(When::DayAgo(1)),
        _ => {}
    }
    if let Some(unit) = v.chars().last().filter(|c| "dwmy".contains(*c)) {
        let n: i64 = v[..v.len() - 1]
            .parse()
            .ok()
            .filter(|n| (0..=100_000).contains(n))?;
        let day = 86_400;
        return Some(When::Ago(
            n * match unit {
                'd' => day,
                'w' => 7 * day,
                'm' => 30 * day,
                _ => 365 * day,
            },
        ));
    }
    let parts: Vec<&str> = v.split(['-', '/']).collect();
    let num = |s: &str| s.parse::<u32>().ok();
    match parts.as_slice() {
        [y] if y.len() == 4 => {
            let y = num(y)? as i32;
            days(
                NaiveDate::from_ymd_opt(y, 1, 1)?,
                NaiveDate::from_ymd_opt(y + 1, 1, 1)?,
            )
        }
        [y, m] if y.len() == 4 => {
            let first = NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, 1)?;
            let end = first.checked_add_months(chrono::Months::new(1))?;
            days(first, end)
        }
        [y, m, d] if y.len() == 4 => {
            let first = NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?)?;
            days(first, first.succ_opt()?)
        }
        _ => None,
    }
}
