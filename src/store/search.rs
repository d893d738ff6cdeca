//! The search language, shared by the TUI's `/` and `tidings list --search`, and its translation
//! into SQL over the FTS5 index.
//!
//! ```text
//! word "a phrase" from:dana to:sam cc:ops subject:invoice body:"net 30"
//! has:attachment is:unread|read|flagged|tracked|answered|replied folder:Archive
//! before:2024-03-01 after:2024-02 on:yesterday after:7d -word -from:billing -is:read
//! from:dana OR from:lee
//! ```
//!
//! Terms are ANDed; `-` negates one; `OR` (upper case, as in Gmail) between two terms matches
//! either, and binds tighter than the AND: `from:dana OR from:lee is:unread` is unread mail from
//! either. Parentheses are accepted and change nothing. Words match by prefix, phrases exactly.
//! Any input parses: an unknown `key:value` is searched as text, a bad value (`is:purple`,
//! `before:soon`) is dropped with a note for the user, an unbalanced quote runs to the end. Only
//! letters and digits ever reach FTS5, as quoted phrases, so no input is an FTS syntax error.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rusqlite::ToSql;
use unicode_normalization::UnicodeNormalization;

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
    /// Any of these (`a OR b OR c`).
    Either(Vec<Term>),
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
    /// Only symbols were typed (`🎉`, `***`): nothing can match, rather than everything.
    pub unsearchable: bool,
}

/// The offset from UTC (seconds) a time zone has at a local time; `None` when that local time
/// does not exist there (skipped by a daylight-saving change).
pub type ZoneOffsetAt = fn(NaiveDateTime) -> Option<i32>;

/// "Now" for relative and calendar dates: unix seconds and the local offset from UTC.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: i64,
    /// The offset now, and on any day when `offset_at` is `None`.
    pub utc_offset_secs: i32,
    /// The zone's offset on other days: `on:2024-07-01` in winter starts at July's midnight,
    /// not an hour off.
    pub offset_at: Option<ZoneOffsetAt>,
}

impl Clock {
    pub fn local() -> Clock {
        let now = chrono::Local::now();
        Clock {
            now: now.timestamp(),
            utc_offset_secs: now.offset().local_minus_utc(),
            offset_at: Some(|t| {
                use chrono::{Offset, TimeZone};
                chrono::Local
                    .offset_from_local_datetime(&t)
                    .earliest()
                    .map(|o| o.fix().local_minus_utc())
            }),
        }
    }

    fn today(&self) -> NaiveDate {
        chrono::DateTime::from_timestamp(self.now + self.utc_offset_secs as i64, 0)
            .unwrap_or_default()
            .date_naive()
    }

    /// Unix seconds of local midnight starting `d` (or of the day's first hour, where a
    /// daylight-saving change skips midnight).
    fn midnight(&self, d: NaiveDate) -> i64 {
        let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        let offset = self
            .offset_at
            .and_then(|at| at(local).or_else(|| at(local + Duration::hours(1))))
            .unwrap_or(self.utc_offset_secs);
        local.and_utc().timestamp() - offset as i64
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
    ("a OR b", "either: from:dana OR from:lee"),
];

impl SearchQuery {
    /// Whether a term says which folder (`folder:`, `in:`, `label:`), negated or in an `OR`: then
    /// the user has chosen where to look, Trash and Junk included.
    pub fn names_a_folder(&self) -> bool {
        fn names(t: &Term) -> bool {
            match &t.condition {
                Condition::Folder(_) => true,
                Condition::Either(terms) => terms.iter().any(names),
                _ => false,
            }
        }
        self.terms.iter().any(names)
    }

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
        let mut count = 0;
        let mut nothing = Vec::new();
        // An `OR` was read between the last term and the next.
        let mut either = false;
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            let (word, after) = next_word(rest);
            rest = after;
            // A last `OR` is the next term still being typed; first or doubled, the word "or".
            if word.is_or() && !either && !q.terms.is_empty() {
                either = true;
                continue;
            }
            if count == MAX_TERMS {
                q.problems
                    .push(format!("only the first {MAX_TERMS} terms are searched"));
                break;
            }
            match term(&word) {
                Ok(Some(t)) => {
                    count += 1;
                    match q.terms.last_mut() {
                        Some(last) if either => last.or(t),
                        _ => q.terms.push(t),
                    }
                }
                // A lone `-` or `--` is a term being typed, not a search for dashes.
                Ok(None) if !word.value.trim_matches(['-', ' ']).is_empty() => {
                    nothing.push(word.value)
                }
                Ok(None) => {}
                Err(problem) => q.problems.push(problem),
            }
            either = false;
        }
        // A search of only symbols would otherwise list every message as if it matched.
        if q.terms.is_empty() && !nothing.is_empty() {
            q.unsearchable = true;
            let typed: String = nothing
                .join(" ")
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            q.problems.push(format!(
                "{typed}: nothing to search for (only letters and digits are searched)"
            ));
        }
        q
    }

    /// SQL conditions over `m` (messages), `f` (folders) and `a` (accounts), each starting with
    /// " AND ", with their arguments appended to `args` (numbered after those already there).
    pub fn to_sql(&self, clock: &Clock, args: &mut Vec<Box<dyn ToSql>>) -> String {
        if self.unsearchable {
            return " AND 0".into();
        }
        let mut sql = String::new();
        // Positive text terms in any column but to/cc go to FTS5 as one expression, so it
        // intersects their posting lists itself.
        let mut together: Vec<String> = Vec::new();
        for t in &self.terms {
            if let Condition::Text {
                field,
                tokens,
                prefix,
            } = &t.condition
            {
                if !t.negated && !matches!(field, Field::To | Field::Cc) {
                    together.push(fts_phrase(*field, tokens, *prefix));
                    continue;
                }
            }
            sql.push_str(&format!(" AND {}", term_sql(t, clock, args)));
        }
        if !together.is_empty() {
            args.push(Box::new(together.join(" AND ")));
            sql.push_str(&format!(" AND {}", fts_match(args.len())));
        }
        sql
    }
}

impl Term {
    /// Makes this term "this OR `other`".
    fn or(&mut self, other: Term) {
        match self {
            Term {
                negated: false,
                condition: Condition::Either(terms),
            } => terms.push(other),
            _ => {
                let first = std::mem::replace(
                    self,
                    Term {
                        negated: false,
                        condition: Condition::Either(Vec::new()),
                    },
                );
                self.condition = Condition::Either(vec![first, other]);
            }
        }
    }
}

/// One term as an SQL condition, its arguments appended to `args`.
fn term_sql(t: &Term, clock: &Clock, args: &mut Vec<Box<dyn ToSql>>) -> String {
    let cond = match &t.condition {
        Condition::Text {
            field,
            tokens,
            prefix,
        } => {
            args.push(Box::new(fts_phrase(*field, tokens, *prefix)));
            let mut c = fts_match(args.len());
            // The index has one column for To and Cc together: the row says which, folded as
            // the index folds (case and accents), so `to:jose` finds "José" in To only.
            let column = match field {
                Field::To => Some("m.to_addrs"),
                Field::Cc => Some("m.cc_addrs"),
                _ => None,
            };
            if let Some(col) = column {
                for tok in tokens {
                    args.push(Box::new(fold(tok)));
                    c.push_str(&format!(
                        " AND instr({FOLD_FUNCTION}({col}), ?{}) > 0",
                        args.len()
                    ));
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
        Condition::Either(terms) => {
            let parts: Vec<String> = terms.iter().map(|t| term_sql(t, clock, args)).collect();
            format!("({})", parts.join(" OR "))
        }
    };
    if t.negated {
        // Unknown is not: a folder without a role, a message without a Message-ID.
        format!("NOT coalesce(({cond}), 0)")
    } else {
        cond
    }
}

/// The SQL function [`register_functions`] adds: [`fold`].
const FOLD_FUNCTION: &str = "tidings_fold";

/// Lower case without accents, as the FTS5 tokenizer (`remove_diacritics 2`) sees text.
fn fold(s: &str) -> String {
    s.nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Adds the SQL functions searches use to a connection of the cache.
pub(super) fn register_functions(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        FOLD_FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|s| fold(&s))),
    )
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
/// or a quoted phrase. Returns the word and what follows it. Grouping parentheses around it are
/// dropped (OR already binds the terms beside it); a `)` the value opened stays.
fn next_word(s: &str) -> (Word, &str) {
    let mut w = Word::default();
    let mut s = s.trim_start_matches('(');
    if let Some(r) = s.strip_prefix('-') {
        if r.starts_with(|c: char| !c.is_whitespace()) {
            w.negated = true;
            s = r;
        }
    }
    let key_len = s
        .find(|c: char| !c.is_ascii_alphabetic() && c != '_')
        .unwrap_or(s.len());
    if key_len > 0 && s[key_len..].starts_with(':') && is_key(&s[..key_len]) {
        w.key = Some(s[..key_len].to_ascii_lowercase());
        s = &s[key_len + 1..];
    }
    if let Some(r) = s.strip_prefix('"') {
        let end = r.find('"').unwrap_or(r.len());
        w.value = r[..end].to_string();
        w.quoted = true;
        let after = r.get(end + 1..).unwrap_or("");
        (w, after.trim_start_matches(')'))
    } else {
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        let mut value = &s[..end];
        while value.ends_with(')') && value.matches(')').count() > value.matches('(').count() {
            value = &value[..value.len() - 1];
        }
        w.value = value.to_string();
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
    "in:",
    "older_than:",
    "newer_than:",
];

impl Word {
    /// The operator `OR`: upper case as in Gmail, so "or" is still a word to search.
    fn is_or(&self) -> bool {
        !self.negated && self.key.is_none() && !self.quoted && self.value == "OR"
    }
}

const KEYS: &[&str] = &[
    "from",
    "to",
    "cc",
    "subject",
    "body",
    "has",
    "is",
    "folder",
    "in",
    "label",
    "before",
    "after",
    "on",
    "older_than",
    "newer_than",
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
        // `label:` is Gmail's word for what IMAP shows as a folder.
        Some("folder" | "in" | "label") if value.is_empty() => None,
        Some("folder" | "in" | "label") => Some(Condition::Folder(value.to_string())),
        Some(key @ ("before" | "after" | "on" | "older_than" | "newer_than")) => {
            let op = match key {
                "before" | "older_than" => DateOp::Before,
                "after" | "newer_than" => DateOp::After,
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
