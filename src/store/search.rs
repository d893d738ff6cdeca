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
    /// A moment in unix seconds (Gmail's `after:1388552400`).
    At(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOp {
    /// Before the first day (exclusive).
    Before,
    /// From the first day on (inclusive, as in Gmail).
    After,
    /// Within the days.
    On,
    /// Up to the end of the days (the end of a `date:A..B` range).
    Through,
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
    /// An address as the phrase of its local part near that of its domain, so
    /// `from:sam.obrien@globex.test` finds `sam.obrien+news@globex.test` too.
    Address {
        field: Field,
        local: Vec<String>,
        domain: Vec<String>,
    },
    /// The account's own address (`from:me`, `to:me`), +tags included.
    Me(Field),
    HasAttachment,
    /// An attachment whose file name or MIME type contains this (folded).
    Attachment(String),
    /// Larger (true) or smaller than so many bytes.
    Size {
        larger: bool,
        bytes: u64,
    },
    /// A Message-ID, with or without its angle brackets.
    MessageId(String),
    Is(Status),
    Folder(String),
    /// Every folder, Trash and Junk included (Gmail's `in:anywhere`).
    Anywhere,
    Date(DateOp, When),
    /// Any of these (`a OR b OR c`, `{a b c}`).
    Either(Vec<Term>),
    /// All of these: a group in parentheses, `(a b) OR c`.
    All(Vec<Term>),
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
    (
        "from:me filename:",
        "your mail / an attachment by name or type, e.g. pdf",
    ),
    ("larger:10M smaller:", "by size"),
    ("(a b) {a b}", "a group / any of: (a b) OR c"),
    ("~f ~s  -f -t", "mutt's patterns, aerc's flags work too"),
    ("-term", "negates: -from:billing -is:read"),
    ("a OR b", "either: from:dana OR from:lee"),
];

impl SearchQuery {
    /// Whether a term says which folder (`folder:`, `in:`, `label:`), negated or in an `OR`: then
    /// the user has chosen where to look, Trash and Junk included.
    pub fn names_a_folder(&self) -> bool {
        fn names(t: &Term) -> bool {
            match &t.condition {
                Condition::Folder(_) | Condition::Anywhere => true,
                Condition::Either(terms) | Condition::All(terms) => terms.iter().any(names),
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
        let mut p = Parser {
            lexemes: lex(&input[..cut]),
            ..Parser::default()
        };
        q.terms = p.sequence(None, 0);
        q.problems.append(&mut p.problems);
        if p.capped {
            q.problems
                .push(format!("only the first {MAX_TERMS} terms are searched"));
        }
        // A search of only symbols would otherwise list every message as if it matched.
        if q.terms.is_empty() && !p.nothing.is_empty() {
            q.unsearchable = true;
            let typed: String = p
                .nothing
                .join(" ")
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            q.problems.push(format!(
                "{typed}: nothing to search for (only letters, digits and emoji are searched)"
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
            let c = fts_match(args.len());
            recipient_check(c, *field, tokens.iter(), args)
        }
        Condition::Address {
            field,
            local,
            domain,
        } => {
            args.push(Box::new(fts_address(*field, local, domain)));
            let c = fts_match(args.len());
            recipient_check(c, *field, local.iter().chain(domain), args)
        }
        Condition::Me(field) => {
            let col = match field {
                Field::To => "m.to_addrs",
                Field::Cc => "m.cc_addrs",
                _ => "m.from_addr",
            };
            // The domain's plain substring first: most rows are out without a function call.
            format!(
                "(instr(lower({col}), lower(substr(a.email, instr(a.email, '@')))) > 0
                  AND {ADDRESS_FUNCTION}({col}, a.email))"
            )
        }
        Condition::HasAttachment => "m.has_attachments = 1".into(),
        Condition::Attachment(name) => {
            args.push(Box::new(fold(name)));
            let n = args.len();
            // The attachments are listed under the copy whose body was fetched; an `\All`
            // account's other copies share it by key.
            format!(
                "EXISTS (SELECT 1 FROM attachments t WHERE (t.message_id = m.id
                   OR (m.body_key IS NOT NULL AND t.message_id IN (SELECT s.id FROM messages s
                       JOIN folders sf ON sf.id = s.folder_id
                       WHERE s.body_key = m.body_key AND sf.account_id = f.account_id)))
                   AND (instr({FOLD_FUNCTION}(t.filename), ?{n}) > 0
                        OR instr(lower(t.mime_type), ?{n}) > 0))"
            )
        }
        Condition::Size { larger, bytes } => {
            format!("m.size {} {bytes}", if *larger { ">" } else { "<" })
        }
        Condition::MessageId(id) => {
            let bare = id.trim_start_matches('<').trim_end_matches('>').to_string();
            args.push(Box::new(format!("<{bare}>")));
            args.push(Box::new(bare));
            format!("m.message_id IN (?{}, ?{})", args.len() - 1, args.len())
        }
        Condition::Anywhere => "1".into(),
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
            args.push(Box::new(folder_role(name)));
            let n = args.len();
            format!("(f.name = ?{} COLLATE NOCASE OR f.role = ?{n})", n - 1)
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
                When::At(at) => (at, at),
            };
            match op {
                DateOp::Before => format!("m.date < {start}"),
                DateOp::After => format!("m.date >= {start}"),
                DateOp::On if start == end => format!("m.date >= {start}"),
                DateOp::On => format!("(m.date >= {start} AND m.date < {end})"),
                DateOp::Through => format!("m.date < {end}"),
            }
        }
        Condition::Either(terms) => {
            let parts: Vec<String> = terms.iter().map(|t| term_sql(t, clock, args)).collect();
            format!("({})", parts.join(" OR "))
        }
        Condition::All(terms) if terms.is_empty() => "1".into(),
        Condition::All(terms) => {
            let parts: Vec<String> = terms.iter().map(|t| term_sql(t, clock, args)).collect();
            format!("({})", parts.join(" AND "))
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

/// The SQL function [`register_functions`] adds: whether an address list holds an address.
const ADDRESS_FUNCTION: &str = "tidings_has_address";

/// The SQL function [`register_functions`] adds: [`index_text`], what the index is given.
pub(super) const INDEX_TEXT_FUNCTION: &str = "tidings_index_text";

/// Lower case without accents, as the FTS5 tokenizer (`remove_diacritics 2`) and
/// [`index_text`] see text.
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
    {
        match latin_letters(c) {
            Some(letters) => out.push_str(letters),
            None if c == 'ς' => out.push('σ'),
            None => out.push(c),
        }
    }
    out
}

/// Latin letters the tokenizer keeps as they are but people type plainly: `strasse`, `lodz`,
/// `oresund`, `aeroskobing`.
fn latin_letters(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ł' | 'Ł' => "l",
        'ø' | 'Ø' => "o",
        'đ' | 'Đ' => "d",
        'ħ' | 'Ħ' => "h",
        'ı' => "i",
        'þ' | 'Þ' => "th",
        _ => return None,
    })
}

/// Adds the SQL functions searches use to a connection of the cache.
pub(super) fn register_functions(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function(FOLD_FUNCTION, 1, flags, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|s| fold(&s)))
    })?;
    conn.create_scalar_function(INDEX_TEXT_FUNCTION, 1, flags, |ctx| {
        Ok(ctx
            .get::<Option<String>>(0)?
            .map(|s| index_text(&s).into_owned()))
    })?;
    conn.create_scalar_function(ADDRESS_FUNCTION, 2, flags, |ctx| {
        let list = ctx.get::<Option<String>>(0)?.unwrap_or_default();
        let own = ctx.get::<Option<String>>(1)?.unwrap_or_default();
        Ok(has_address(&list, &own))
    })
}

/// Whether the address list `list` ("Name <a@b>, c@d") holds `own`, or `own` with a +tag.
fn has_address(list: &str, own: &str) -> bool {
    fn untagged(addr: &str) -> Option<(String, String)> {
        let (local, domain) = addr.trim().rsplit_once('@')?;
        let local = local.split('+').next().unwrap_or(local);
        Some((local.to_lowercase(), domain.to_lowercase()))
    }
    let Some(own) = untagged(own) else {
        return false;
    };
    list.split(',').any(|part| {
        let addr = match (part.rfind('<'), part.rfind('>')) {
            (Some(a), Some(b)) if a < b => &part[a + 1..b],
            _ => part,
        };
        untagged(addr).is_some_and(|a| a == own)
    })
}

/// A To or Cc condition: the index has one column for both, so the row says which, folded as
/// the index folds (case and accents): `to:jose` finds "José" in To only.
fn recipient_check<'a>(
    mut c: String,
    field: Field,
    tokens: impl Iterator<Item = &'a String>,
    args: &mut Vec<Box<dyn ToSql>>,
) -> String {
    let col = match field {
        Field::To => "m.to_addrs",
        Field::Cc => "m.cc_addrs",
        _ => return c,
    };
    // An emoji is a stand-in character in the index, not in the header.
    for tok in tokens.filter(|t| !t.chars().any(is_symbol_token)) {
        args.push(Box::new(fold(tok)));
        c.push_str(&format!(
            " AND instr({FOLD_FUNCTION}({col}), ?{}) > 0",
            args.len()
        ));
    }
    format!("({c})")
}

/// The role a folder word names: `folder:spam` is Junk, `in:bin` Trash.
fn folder_role(name: &str) -> String {
    let name = name.to_lowercase();
    match name.as_str() {
        "spam" => "junk".into(),
        "bin" | "deleted" | "deleted items" | "deleted messages" => "trash".into(),
        "sent mail" | "sent items" | "sent messages" => "sent".into(),
        "draft" => "drafts".into(),
        _ => name,
    }
}

/// Whether `c` is a Chinese, Japanese or Korean character: text in those scripts runs without
/// spaces, so the index holds it as overlapping pairs of characters.
fn is_cjk(c: char) -> bool {
    // Not the katakana middle dot (U+30FB), which separates words: ジョン・スミス.
    matches!(c as u32,
        0x1100..=0x11FF | 0x3005..=0x3007 | 0x3040..=0x30FA | 0x30FC..=0x30FF
        | 0x3130..=0x318F | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7FF
        | 0xF900..=0xFAFF | 0xFF66..=0xFF9F | 0x20000..=0x3134F)
}

/// The private-use character the index holds for an emoji or pictograph: the tokenizer drops
/// symbols but keeps private-use characters as letters.
fn symbol_token_for(c: char) -> Option<char> {
    let n = c as u32;
    match n {
        0x1F000..=0x1FAFF => char::from_u32(0xF0000 + (n - 0x1F000)),
        0x2600..=0x27BF => char::from_u32(0xF1000 + (n - 0x2600)),
        _ => None,
    }
}

fn is_symbol_token(c: char) -> bool {
    (0xF0000..=0xF17BF).contains(&(c as u32))
}

/// Letters the tokenizer keeps apart that people type as one: Greek with and without accents
/// (`συναντηση`), final sigma, Russian ё written е, full-width Latin.
fn fold_letter(c: char) -> char {
    match c {
        'ё' => 'е',
        'Ё' => 'Е',
        'ς' => 'σ',
        // Full-width Latin letters and digits, as Japanese mail writes them: ＡＢＣ１２３.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' => {
            let mut base = c;
            let mut first = true;
            unicode_normalization::char::decompose_canonical(c, |d| {
                if first {
                    base = d;
                    first = false;
                }
            });
            base
        }
        _ => c,
    }
}

/// Text as the index is given it (and a search's words before they are split): CJK runs as
/// overlapping pairs, so a word inside a run is found (`予約` in `会議室予約`), with the run's
/// last character alone so one character is found too; emoji as index letters; Greek accents,
/// ё, ß and full-width Latin folded. ASCII text is unchanged.
pub fn index_text(s: &str) -> std::borrow::Cow<'_, str> {
    searchable(s, false)
}

fn searchable(s: &str, query: bool) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    let mut run: Vec<char> = Vec::new();
    // The index ends each run with its last character alone. A search's last run leaves it out,
    // so that run may be the start of a longer one ("会議" in "会議室"); a run with more words
    // after it keeps it, so the phrase goes on in step with the index ("ジョン・スミス").
    let last_token_at = s
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_alphanumeric() || symbol_token_for(*c).is_some())
        .map(|(i, _)| i);
    let flush = |out: &mut String, run: &mut Vec<char>, at: usize| {
        if run.is_empty() {
            return;
        }
        out.push(' ');
        if let [one] = run.as_slice() {
            out.push(*one);
        } else {
            for pair in run.windows(2) {
                out.extend(pair);
                out.push(' ');
            }
            if !query || last_token_at.is_some_and(|last| last >= at) {
                out.extend(run.last());
            }
        }
        out.push(' ');
        run.clear();
    };
    for (at, c) in s.char_indices() {
        if is_cjk(c) {
            run.push(c);
            continue;
        }
        flush(&mut out, &mut run, at);
        match symbol_token_for(c) {
            Some(t) => {
                out.push(' ');
                out.push(t);
                out.push(' ');
            }
            None => match latin_letters(c) {
                Some(letters) => out.push_str(letters),
                None => out.push(fold_letter(c)),
            },
        }
    }
    flush(&mut out, &mut run, s.len());
    out.into()
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
    let star = if prefix { "*" } else { "" };
    format!("({}\"{}\"{star})", fts_column(field), tokens.join(" "))
}

/// An address's local part near its domain (a +tag may stand between them).
fn fts_address(field: Field, local: &[String], domain: &[String]) -> String {
    let domain = format!("\"{}\"*", domain.join(" "));
    if local.is_empty() {
        return format!("({}{domain})", fts_column(field));
    }
    format!(
        "({}NEAR(\"{}\" {domain}, 4))",
        fts_column(field),
        local.join(" ")
    )
}

fn fts_column(field: Field) -> &'static str {
    match field {
        Field::Any => "",
        Field::From => "{sender} : ",
        Field::To | Field::Cc => "{recipients} : ",
        Field::Subject => "{subject} : ",
        Field::Body => "{body} : ",
    }
}

/// Groups nested deeper than this are read as the group around them: each is an SQL level.
const MAX_DEPTH: usize = 8;

/// A piece of a search as typed.
#[derive(Debug)]
enum Lexeme {
    Word(Word),
    /// `(` or `{` (`brace`: Gmail's "any of"), maybe negated, maybe after a `key:` that its
    /// words take (`subject:(a b)`).
    Open {
        negated: bool,
        brace: bool,
        key: Option<String>,
    },
    Close,
    Or,
    And,
    Not,
}

#[derive(Debug, Default, Clone)]
struct Word {
    negated: bool,
    key: Option<String>,
    value: String,
    quoted: bool,
}

/// mutt's patterns that take a value (`~f dana`), and those that do not (`~N`).
const MUTT_WITH_VALUE: &str = "bBcCdefhiLstxz";
const MUTT_ALONE: &str = "ADFNOpPQRU";
/// aerc's `search` flags that take a value (`-f dana`), and those that do not (`-u`).
const AERC_WITH_VALUE: &str = "ftcbadxX";
const AERC_ALONE: &str = "ru";

/// A quoted or bare value at the start of `s`: (value, quoted, rest). A bare value ends at a
/// space; closing brackets it did not open are left in the rest.
fn value_at(s: &str) -> (String, bool, &str) {
    if let Some(r) = s.strip_prefix('"') {
        let end = r.find('"').unwrap_or(r.len());
        return (r[..end].to_string(), true, r.get(end + 1..).unwrap_or(""));
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let mut value = &s[..end];
    loop {
        let opened = value.matches(['(', '{']).count();
        let closed = value.matches([')', '}']).count();
        if closed > opened && value.ends_with([')', '}']) {
            value = &value[..value.len() - 1];
        } else {
            break;
        }
    }
    (value.to_string(), false, &s[value.len()..])
}

/// A one-letter switch at the start of `s` (`-f dana`, `~N`) as a word keyed by it, with the
/// rest after it; `None` when `s` does not start with one. A value not typed yet is empty.
fn switch<'a>(s: &'a str, sigil: char, alone: &str, with_value: &str) -> Option<(Word, &'a str)> {
    let mut chars = s.strip_prefix(sigil)?.chars();
    let letter = chars.next()?;
    let after = chars.as_str();
    if !(after.is_empty() || after.starts_with(char::is_whitespace)) {
        return None;
    }
    let mut w = Word {
        key: Some(format!("{sigil}{letter}")),
        ..Word::default()
    };
    if alone.contains(letter) {
        return Some((w, after));
    }
    if !with_value.contains(letter) {
        return None;
    }
    let (value, quoted, rest) = value_at(after.trim_start());
    w.value = value;
    w.quoted = quoted;
    Some((w, rest))
}

/// The search as words, brackets and operators.
fn lex(input: &str) -> Vec<Lexeme> {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        rest = rest.trim_start();
        let Some(first) = rest.chars().next() else {
            break;
        };
        if matches!(first, ')' | '}') {
            out.push(Lexeme::Close);
            rest = &rest[1..];
            continue;
        }
        let mut w = Word::default();
        let mut s = rest;
        // aerc: `-f dana`, `-u`. A flag letter alone between spaces is not a search for it.
        if let Some((w, r)) = switch(s, '-', AERC_ALONE, AERC_WITH_VALUE) {
            out.push(Lexeme::Word(w));
            rest = r;
            continue;
        }
        if let Some(r) = s.strip_prefix(['-', '!']) {
            if r.starts_with(|c: char| !c.is_whitespace()) && (first == '-' || r.starts_with('~')) {
                w.negated = true;
                s = r;
            }
        }
        // mutt: `~f dana`, `!~s q3`, `~N`.
        if let Some((sw, r)) = switch(s, '~', MUTT_ALONE, MUTT_WITH_VALUE) {
            out.push(Lexeme::Word(Word {
                negated: w.negated,
                ..sw
            }));
            rest = r;
            continue;
        }
        let key_len = s
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
            .unwrap_or(s.len());
        if key_len > 0 && s[key_len..].starts_with(':') && is_key(&s[..key_len]) {
            w.key = Some(s[..key_len].to_ascii_lowercase());
            s = &s[key_len + 1..];
        }
        if let Some(r) = s.strip_prefix(['(', '{']) {
            out.push(Lexeme::Open {
                negated: w.negated,
                brace: s.starts_with('{'),
                key: w.key,
            });
            rest = r;
            continue;
        }
        let (value, quoted, r) = value_at(s);
        rest = r;
        w.value = value;
        w.quoted = quoted;
        let plain = !w.negated && w.key.is_none() && !w.quoted;
        // Gmail's `a AROUND 5 b`: the index has no distance, so both words, anywhere.
        if plain && w.value == "AROUND" {
            let (n, _, after) = value_at(rest.trim_start());
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                rest = after;
                out.push(Lexeme::And);
                continue;
            }
        }
        out.push(match w.value.as_str() {
            "OR" | "|" if plain => Lexeme::Or,
            // notmuch writes `and` in lower case; as a word it would only narrow the search.
            "AND" | "and" | "&&" if plain => Lexeme::And,
            "NOT" if plain => Lexeme::Not,
            _ => Lexeme::Word(w),
        });
    }
    out
}

#[derive(Default)]
struct Parser {
    lexemes: Vec<Lexeme>,
    at: usize,
    /// Terms read, against [`MAX_TERMS`].
    count: usize,
    capped: bool,
    /// Opening brackets read as nothing past [`MAX_DEPTH`]: their closing ones are nothing too.
    flattened: usize,
    /// Words with nothing searchable (only symbols).
    nothing: Vec<String>,
    problems: Vec<String>,
}

impl Parser {
    /// Terms up to the `)` closing this level (or the end); `key` is the field of a
    /// `subject:(…)` group.
    fn sequence(&mut self, key: Option<&str>, depth: usize) -> Vec<Term> {
        let mut terms: Vec<Term> = Vec::new();
        // An `OR` was read between the last term and the next.
        let mut either = false;
        let mut not = false;
        while self.at < self.lexemes.len() {
            let lexeme = std::mem::replace(&mut self.lexemes[self.at], Lexeme::Close);
            self.at += 1;
            let more = self
                .lexemes
                .get(self.at)
                .is_some_and(|l| !matches!(l, Lexeme::Close));
            let term = match lexeme {
                Lexeme::Close if self.flattened > 0 => {
                    self.flattened -= 1;
                    continue;
                }
                Lexeme::Close if depth > 0 => break,
                Lexeme::Close => continue,
                // A last `OR` is the next term still being typed; first or doubled, the word.
                Lexeme::Or if !either && !terms.is_empty() => {
                    either = true;
                    continue;
                }
                Lexeme::And if !terms.is_empty() => continue,
                Lexeme::Not if more => {
                    not = !not;
                    continue;
                }
                // A last `NOT` (or `AND`) is the next term still being typed.
                Lexeme::Not if !terms.is_empty() => continue,
                Lexeme::Or => self.word(&plain_word("OR"), key),
                Lexeme::And => self.word(&plain_word("AND"), key),
                Lexeme::Not => self.word(&plain_word("NOT"), key),
                Lexeme::Word(w) => self.word(&w, key),
                Lexeme::Open {
                    negated,
                    brace,
                    key: inner,
                } => {
                    if depth >= MAX_DEPTH {
                        self.flattened += 1;
                        continue;
                    }
                    let inner = self.sequence(inner.as_deref().or(key), depth + 1);
                    group(inner, brace, negated)
                }
            };
            if let Some(mut t) = term {
                t.negated ^= std::mem::take(&mut not);
                match terms.last_mut() {
                    Some(last) if either => last.or(t),
                    _ => terms.push(t),
                }
            }
            either = false;
        }
        terms
    }

    fn word(&mut self, w: &Word, key: Option<&str>) -> Option<Term> {
        if self.count == MAX_TERMS {
            self.capped = true;
            return None;
        }
        let mut w = w.clone();
        if w.key.is_none() {
            w.key = key.map(str::to_string);
        }
        match term(&w) {
            Ok(Some(t)) => {
                self.count += 1;
                Some(t)
            }
            Ok(None) => {
                // A lone `-` or `--` is a term being typed, not a search for dashes.
                if !w.value.trim_matches(['-', ' ']).is_empty() {
                    self.nothing.push(w.value);
                }
                None
            }
            Err(problem) => {
                self.problems.push(problem);
                None
            }
        }
    }
}

fn plain_word(value: &str) -> Word {
    Word {
        value: value.into(),
        ..Word::default()
    }
}

/// The term of a bracketed group: all of it (`(a b)`) or any of it (`{a b}`).
fn group(mut inner: Vec<Term>, brace: bool, negated: bool) -> Option<Term> {
    if inner.len() <= 1 {
        let mut t = inner.pop()?;
        t.negated ^= negated;
        return Some(t);
    }
    Some(Term {
        negated,
        condition: if brace {
            Condition::Either(inner)
        } else {
            Condition::All(inner)
        },
    })
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
    "filename:",
    "date:",
];

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
    "tag",
    "before",
    "after",
    "on",
    "older_than",
    "newer_than",
    "date",
    "filename",
    "attachment",
    "mimetype",
    "larger",
    "smaller",
    "size",
    "id",
    "mid",
    "msgid",
    "rfc822msgid",
    "message-id",
    "bcc",
    "deliveredto",
    "list",
    "category",
];

fn is_key(k: &str) -> bool {
    KEYS.iter().any(|known| known.eq_ignore_ascii_case(k))
}

fn status(value: &str) -> Option<Status> {
    Some(match value.to_ascii_lowercase().as_str() {
        "unread" | "new" | "unseen" => Status::Unread,
        "read" | "seen" => Status::Read,
        "flagged" | "starred" => Status::Flagged,
        "tracked" => Status::Tracked,
        "answered" => Status::Answered,
        "replied" => Status::Replied,
        _ => return None,
    })
}

/// The term a word stands for; `Ok(None)` when it has nothing to search (punctuation only).
fn term(w: &Word) -> Result<Option<Term>, String> {
    let value = w.value.trim();
    let condition = match w.key.as_deref() {
        None if !w.quoted
            && value.starts_with('<')
            && value.ends_with('>')
            && value.contains('@') =>
        {
            Some(Condition::MessageId(value.into()))
        }
        None => text(w, Field::Any),
        Some(key) => keyed(key, value, w)?,
    };
    Ok(condition.map(|condition| Term {
        // aerc's `-X seen` is "without the flag".
        negated: w.negated ^ (w.key.as_deref() == Some("-X")),
        condition,
    }))
}

fn either(conditions: Vec<Condition>) -> Option<Condition> {
    Some(Condition::Either(
        conditions
            .into_iter()
            .map(|condition| Term {
                negated: false,
                condition,
            })
            .collect(),
    ))
}

/// The condition of `key:value`: Gmail's and notmuch's keys, mutt's `~x` and aerc's `-x`.
fn keyed(key: &str, value: &str, w: &Word) -> Result<Option<Condition>, String> {
    let is = |s: Status| Ok(Some(Condition::Is(s)));
    let is_me = value.eq_ignore_ascii_case("me") && !w.quoted;
    Ok(match key {
        "from" | "~f" | "~e" | "-f" if is_me => Some(Condition::Me(Field::From)),
        "to" | "~t" | "-t" if is_me => Some(Condition::Me(Field::To)),
        "cc" | "~c" | "-c" if is_me => Some(Condition::Me(Field::Cc)),
        "from" | "~f" | "~e" | "-f" => address_or_text(w, Field::From),
        "to" | "~t" | "-t" => address_or_text(w, Field::To),
        "cc" | "~c" | "-c" => address_or_text(w, Field::Cc),
        "~C" => either(
            [Field::To, Field::Cc]
                .into_iter()
                .filter_map(|f| address_or_text(w, f))
                .collect(),
        ),
        "~L" => either(
            [Field::From, Field::To, Field::Cc]
                .into_iter()
                .filter_map(|f| address_or_text(w, f))
                .collect(),
        ),
        "subject" | "~s" => text(w, Field::Subject),
        "body" | "~b" | "-b" => text(w, Field::Body),
        "~B" | "~h" | "-a" => text(w, Field::Any),
        "~N" | "~O" | "~U" | "-u" => return is(Status::Unread),
        "~R" | "-r" => return is(Status::Read),
        "~F" => return is(Status::Flagged),
        "~Q" => return is(Status::Answered),
        "~D" => Some(Condition::Folder("trash".into())),
        "~A" => Some(Condition::All(Vec::new())),
        "~P" => Some(Condition::Me(Field::From)),
        "~p" => either(vec![Condition::Me(Field::To), Condition::Me(Field::Cc)]),
        "-x" | "-X" if value.is_empty() => None,
        "-x" | "-X" => match status(value)
            .filter(|s| matches!(s, Status::Read | Status::Flagged | Status::Answered))
        {
            Some(s) => Some(Condition::Is(s)),
            None => return Err(format!("{key} {value}: use seen, answered or flagged")),
        },
        "has" => match value.to_ascii_lowercase().as_str() {
            "attachment" | "attachments" | "attach" => Some(Condition::HasAttachment),
            "pdf" => Some(Condition::Attachment("pdf".into())),
            "image" | "images" => Some(Condition::Attachment("image/".into())),
            _ => {
                return Err(format!(
                    "has:{value}: has: takes attachment, pdf or image (filename:{value} finds attachments by name)"
                ))
            }
        },
        "is" => match status(value) {
            Some(s) => Some(Condition::Is(s)),
            None => {
                return Err(format!(
                    "is:{value}: use unread, read, flagged, tracked, answered or replied"
                ))
            }
        },
        // notmuch's tags: the flags it maps to IMAP, else a folder, as Gmail's labels are.
        "tag" => match value.to_ascii_lowercase().as_str() {
            "attachment" => Some(Condition::HasAttachment),
            "replied" => return is(Status::Answered),
            "" => None,
            v => match status(v) {
                Some(s) => Some(Condition::Is(s)),
                None => Some(Condition::Folder(value.into())),
            },
        },
        "folder" | "in" | "label" | "~x" if value.is_empty() => None,
        "in" if value.eq_ignore_ascii_case("anywhere") => Some(Condition::Anywhere),
        // `label:` is Gmail's word for what IMAP shows as a folder.
        "folder" | "in" | "label" => Some(Condition::Folder(value.into())),
        "filename" | "attachment" | "mimetype" if value.is_empty() => None,
        "filename" | "attachment" | "mimetype" => Some(Condition::Attachment(value.into())),
        "larger" | "smaller" | "size" | "~z" => size(key, value)?,
        "id" | "mid" | "msgid" | "rfc822msgid" | "message-id" | "~i" if value.is_empty() => None,
        "id" | "mid" | "msgid" | "rfc822msgid" | "message-id" | "~i" => {
            Some(Condition::MessageId(value.into()))
        }
        "bcc" | "deliveredto" | "list" | "category" => {
            return Err(format!(
                "{key}: is not kept in the cache; searched without it"
            ))
        }
        "date" | "-d" => date_range(value)?,
        "~d" => mutt_date(value)?,
        "before" | "after" | "on" | "older_than" | "newer_than" => {
            let op = match key {
                "before" | "older_than" => DateOp::Before,
                "after" | "newer_than" => DateOp::After,
                _ => DateOp::On,
            };
            Some(Condition::Date(op, when(key, value)?))
        }
        _ => text(w, Field::Any),
    })
}

fn when(key: &str, value: &str) -> Result<When, String> {
    parse_when(value).ok_or_else(|| {
        format!("{key}:{value}: not a date (2024-03-01, 2024-03, 2024, today, yesterday, 7d)")
    })
}

/// notmuch's `date:A..B` (either end may be left out), or one day, month or year.
fn date_range(value: &str) -> Result<Option<Condition>, String> {
    let Some((from, to)) = value.split_once("..") else {
        return Ok(Some(Condition::Date(DateOp::On, when("date", value)?)));
    };
    between(from, to, |v| when("date", v))
}

/// From the first day of `from` through the last of `to`; an empty end is open.
fn between(
    from: &str,
    to: &str,
    when: impl Fn(&str) -> Result<When, String>,
) -> Result<Option<Condition>, String> {
    let mut terms = Vec::new();
    for (op, v) in [(DateOp::After, from), (DateOp::Through, to)] {
        if !v.is_empty() {
            terms.push(Term {
                negated: false,
                condition: Condition::Date(op, when(v)?),
            });
        }
    }
    Ok(Some(Condition::All(terms)))
}

/// mutt's `~d`: `<2w` (newer than), `>1m` (older than), `=1d`, or days `D/M/Y`, a range
/// `D/M/Y-D/M/Y` (either end may be left out).
fn mutt_date(value: &str) -> Result<Option<Condition>, String> {
    let bad = || format!("~d {value}: not a date (<2w, >1m, 01/12/2026, 01/12/2026-15/12/2026)");
    let day = |v: &str| -> Result<When, String> {
        match v.split('/').collect::<Vec<_>>().as_slice() {
            [d, m, y] => {
                let y = if y.len() == 2 {
                    format!("20{y}")
                } else {
                    y.to_string()
                };
                parse_when(&format!("{y}-{m}-{d}")).ok_or_else(bad)
            }
            _ => parse_when(v).ok_or_else(bad),
        }
    };
    let op_when = |op, v: &str| Ok(Some(Condition::Date(op, day(v)?)));
    if let Some(v) = value.strip_prefix('<') {
        return op_when(DateOp::After, v);
    }
    if let Some(v) = value.strip_prefix('>') {
        return op_when(DateOp::Before, v);
    }
    if let Some(v) = value.strip_prefix('=') {
        return op_when(DateOp::On, v);
    }
    // An ISO day (`2026-12-01`) is one day, not a range.
    match value.split_once('-') {
        Some((from, to)) if day(value).is_err() => between(from, to, day),
        _ => op_when(DateOp::On, value),
    }
}

/// `larger:10M`, `smaller:500K`, Gmail's `size:` (larger than), mutt's `~z >1M` / `~z <10K`.
fn size(key: &str, value: &str) -> Result<Option<Condition>, String> {
    let (larger, v) = match (key, value) {
        ("smaller", v) => (false, v),
        (_, v) if v.starts_with('<') => (false, &v[1..]),
        (_, v) => (true, v.trim_start_matches('>')),
    };
    let v = v.to_ascii_lowercase();
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit: u64 = match v[digits.len()..].trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => 0,
    };
    match digits.parse::<f64>() {
        Ok(n) if unit > 0 && n.is_finite() && n >= 0.0 => Ok(Some(Condition::Size {
            larger,
            bytes: (n * unit as f64).min(u64::MAX as f64) as u64,
        })),
        _ => Err(format!("{key}:{value}: not a size (500K, 10M, 2000000)")),
    }
}

/// A `from:`/`to:`/`cc:` value: an address (`dana@acme.test`, `@acme.test`) by its parts,
/// anything else as text.
fn address_or_text(w: &Word, field: Field) -> Option<Condition> {
    if let Some((local, domain)) = w.value.trim().rsplit_once('@') {
        let local = tokens(local);
        let domain = tokens(domain);
        if !domain.is_empty() {
            return Some(Condition::Address {
                field,
                local,
                domain,
            });
        }
    }
    text(w, field)
}

/// The index's tokens of a word, as [`index_text`] and the tokenizer split it.
fn tokens(value: &str) -> Vec<String> {
    searchable(value, true)
        .split(|c: char| !(c.is_alphanumeric() || is_symbol_token(c)))
        .filter(|t| !t.is_empty())
        .take(MAX_TOKENS)
        .map(str::to_string)
        .collect()
}

fn text(w: &Word, field: Field) -> Option<Condition> {
    let tokens = tokens(&w.value);
    let last = tokens.last()?;
    // A word typed to its end (`c++`, `lunch?`) is that word; one that ends in a letter may be
    // still being typed, and one lone CJK character is the first of the index's pairs.
    let ends_typed = w.value.ends_with(|c: char| c.is_alphanumeric() || c == '*');
    let one_cjk = last.chars().count() == 1 && last.chars().all(is_cjk);
    Some(Condition::Text {
        field,
        prefix: (!w.quoted && ends_typed) || one_cjk,
        tokens,
    })
}

/// `2024-03-01` (or with `/`), `2024-03`, `2024`, Gmail's `03/01/2024`, `01.03.2024`, `today`,
/// `yesterday`, or `N` + d/w/m/y ago.
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
    // Unix seconds: more digits than any year.
    if v.len() >= 9 && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().ok().map(When::At);
    }
    let parts: Vec<&str> = v.split(['-', '/', '.']).collect();
    let num = |s: &str| s.parse::<u32>().ok();
    let day = |y: &str, m: &str, d: &str| -> Option<When> {
        let first = NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?)?;
        days(first, first.succ_opt()?)
    };
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
        [y, m, d] if y.len() == 4 => day(y, m, d),
        // Gmail reads `03/01/2024` as the US write it; `01.03.2024` is the European order.
        [m, d, y] if y.len() == 4 && v.contains('/') => day(y, m, d),
        [d, m, y] if y.len() == 4 && v.contains('.') => day(y, m, d),
        _ => None,
    }
}
