//! The list's sort orders (mutt's `o`, aerc's `:sort`): by date (the default, newest first), by
//! sender, by subject or by size, each reversible. The runtime sorts while it loads the list, off
//! the UI loop; each row's key is derived once before sorting, so a folder of 100,000 messages is
//! not re-folded in every comparison.

use super::threads;
use super::view::Row;
use std::cmp::Ordering;
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// What the list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    /// Newest first.
    #[default]
    Date,
    /// The sender's display name, else the address, A to Z (case and accents ignored).
    From,
    /// The subject without Re:/Fwd:/AW:/SV: prefixes, A to Z (case and accents ignored).
    Subject,
    /// Largest first: sorting by size is how one finds what fills a mailbox.
    Size,
}

/// The names [`SortKey::parse`] takes, for completion.
pub const NAMES: &[&str] = &["date", "from", "subject", "size"];

impl SortKey {
    pub const ALL: [SortKey; 4] = [
        SortKey::Date,
        SortKey::From,
        SortKey::Subject,
        SortKey::Size,
    ];
    pub const NAMES: &'static [&'static str] = NAMES;

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Date => "date",
            SortKey::From => "from",
            SortKey::Subject => "subject",
            SortKey::Size => "size",
        }
    }

    /// A name or an unambiguous prefix of one, any case: `s` is both subject and size, so it is
    /// none; `su` and `si` are not.
    pub fn parse(s: &str) -> Option<SortKey> {
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            return None;
        }
        let mut found = SortKey::ALL
            .into_iter()
            .filter(|k| k.name().starts_with(&s));
        match (found.next(), found.next()) {
            (Some(k), None) => Some(k),
            _ => None,
        }
    }
}

/// The list's order: a key and whether it is reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ListSort {
    pub key: SortKey,
    pub reverse: bool,
}

impl ListSort {
    /// Newest first: the order the store and the first page come in.
    pub fn is_default(self) -> bool {
        self == ListSort::default()
    }

    /// For the list title; `None` for the default order.
    pub fn label(self) -> Option<String> {
        match (self.key, self.reverse) {
            (SortKey::Date, false) => None,
            (SortKey::Date, true) => Some("oldest first".into()),
            (k, false) => Some(format!("sorted by {}", k.name())),
            (k, true) => Some(format!("sorted by {}, reversed", k.name())),
        }
    }
}

/// Reply and forward markers a subject may start with, in the languages mail clients write them
/// (English, German, the Nordic languages, French, Dutch, Italian), compared in lower case.
const SUBJECT_PREFIXES: &[&str] = &[
    "re", "fwd", "fw", "aw", "wg", "sv", "vs", "vb", "tr", "rif", "antw", "doorst",
];

/// Lower case without accents: "Émile" and "emile" sort together.
fn fold(s: &str) -> String {
    // Most names and subjects are ASCII: nothing to decompose.
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The subject a conversation is known by: reply/forward markers ("Re:", "Fwd:", "AW:",
/// "Re[2]:", "RE :"), repeated or mixed, and surrounding blanks removed, folded.
pub fn subject_key(subject: &str) -> String {
    let mut s = subject.trim_start();
    while let Some(colon) = s.find(':') {
        let head = s[..colon].trim_end();
        // "Re[2]" and "Re^2" count replies; the marker is what comes before the count.
        let word = head
            .split_once(['[', '^'])
            .filter(|(_, n)| n.trim_end_matches(']').chars().all(|c| c.is_ascii_digit()))
            .map_or(head, |(w, _)| w);
        if !SUBJECT_PREFIXES.contains(&word.to_lowercase().as_str()) {
            break;
        }
        s = s[colon + 1..].trim_start();
    }
    fold(s.trim_end())
}

/// Who a message is from for sorting: the display name, else the address, folded.
pub fn from_key(name: &str, addr: &str) -> String {
    let name = name.trim().trim_matches(['"', '\'']).trim();
    fold(if name.is_empty() { addr.trim() } else { name })
}

/// One row's precomputed sort value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Text(String),
    Number(u64),
}

fn value(r: &Row, key: SortKey) -> Value {
    match key {
        SortKey::Date => Value::Number(0),
        SortKey::From => Value::Text(from_key(&r.msg.from_name, &r.msg.from_addr)),
        SortKey::Subject => Value::Text(subject_key(&r.msg.subject)),
        SortKey::Size => Value::Number(r.msg.size),
    }
}

/// The order of two values under `sort`: ascending text, descending size and date, flipped
/// when reversed. Ties are left to the caller (newest first).
fn cmp_values(a: &Value, b: &Value, sort: ListSort) -> Ordering {
    let natural = match sort.key {
        SortKey::From | SortKey::Subject => a.cmp(b),
        SortKey::Size | SortKey::Date => b.cmp(a),
    };
    if sort.reverse {
        natural.reverse()
    } else {
        natural
    }
}

/// Newest first, and for reversed date order oldest first.
fn cmp_dates(a: (i64, i64), b: (i64, i64), sort: ListSort) -> Ordering {
    if sort.key == SortKey::Date && sort.reverse {
        a.cmp(&b)
    } else {
        b.cmp(&a)
    }
}

/// Puts `rows` in `sort` order, flat or as conversations. The default order is the thread
/// module's own (newest first); the others: flat rows by the key then newest first; threads
/// ordered by the key of their newest message (date, size) or their first (from, subject — the
/// sender and subject the conversation started with), messages inside a thread oldest first.
pub fn arrange(rows: &mut Vec<Row>, threads: bool, sort: ListSort) {
    if sort.is_default() {
        threads::arrange(rows, threads);
        return;
    }
    let order: Vec<(usize, u8)> = if threads {
        thread_order(rows, sort)
    } else {
        let keys: Vec<(Value, (i64, i64))> = rows
            .iter()
            .map(|r| (value(r, sort.key), (r.msg.date, r.msg.id)))
            .collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            cmp_values(&keys[a].0, &keys[b].0, sort)
                .then_with(|| cmp_dates(keys[a].1, keys[b].1, sort))
        });
        order.into_iter().map(|i| (i, 0)).collect()
    };
    threads::reorder(rows, order);
}

/// The conversation order under `sort`: (row index, depth) in display order.
fn thread_order(rows: &[Row], sort: ListSort) -> Vec<(usize, u8)> {
    let by_first = matches!(sort.key, SortKey::From | SortKey::Subject);
    // Each thread's representative row: its newest or its first message.
    let mut thread_of: Vec<usize> = Vec::with_capacity(rows.len());
    let mut reps: Vec<usize> = Vec::new();
    let mut index: HashMap<std::borrow::Cow<'_, str>, usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        let t = *index.entry(threads::thread_key(r)).or_insert_with(|| {
            reps.push(i);
            reps.len() - 1
        });
        thread_of.push(t);
        let rep = &rows[reps[t]].msg;
        let better = if by_first {
            (r.msg.date, r.msg.id) < (rep.date, rep.id)
        } else {
            (r.msg.date, r.msg.id) > (rep.date, rep.id)
        };
        if better {
            reps[t] = i;
        }
    }
    let keys: Vec<(Value, (i64, i64))> = reps
        .iter()
        .map(|&i| {
            (
                value(&rows[i], sort.key),
                (rows[i].msg.date, rows[i].msg.id),
            )
        })
        .collect();
    let mut thread_rank: Vec<usize> = (0..reps.len()).collect();
    thread_rank.sort_unstable_by(|&a, &b| {
        cmp_values(&keys[a].0, &keys[b].0, sort).then_with(|| cmp_dates(keys[a].1, keys[b].1, sort))
    });
    let mut rank = vec![0; reps.len()];
    for (pos, &t) in thread_rank.iter().enumerate() {
        rank[t] = pos;
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_unstable_by_key(|&i| (rank[thread_of[i]], rows[i].msg.date, rows[i].msg.id));
    order
        .iter()
        .enumerate()
        .map(|(pos, &i)| {
            let same = pos > 0 && thread_of[order[pos - 1]] == thread_of[i];
            (i, u8::from(same))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::view::test_summary;

    fn row(id: i64, date: i64, subject: &str, from: (&str, &str), size: u64) -> Row {
        let mut m = test_summary(id, date, subject);
        m.from_name = from.0.into();
        m.from_addr = from.1.into();
        m.size = size;
        Row::new(m)
    }

    fn ids(rows: &[Row]) -> Vec<i64> {
        rows.iter().map(|r| r.msg.id).collect()
    }

    fn sorted(mut rows: Vec<Row>, key: SortKey, reverse: bool) -> Vec<i64> {
        arrange(&mut rows, false, ListSort { key, reverse });
        ids(&rows)
    }

    #[test]
    fn keys_parse_by_name_or_unambiguous_prefix() {
        assert_eq!(SortKey::parse("date"), Some(SortKey::Date));
        assert_eq!(SortKey::parse(" FROM "), Some(SortKey::From));
        assert_eq!(SortKey::parse("su"), Some(SortKey::Subject));
        assert_eq!(SortKey::parse("si"), Some(SortKey::Size));
        assert_eq!(SortKey::parse("d"), Some(SortKey::Date));
        assert_eq!(SortKey::parse("s"), None, "subject or size");
        assert_eq!(SortKey::parse(""), None);
        assert_eq!(SortKey::parse("dates"), None);
        assert_eq!(SortKey::parse("sender"), None);
        for (k, n) in SortKey::ALL.iter().zip(NAMES) {
            assert_eq!(k.name(), *n);
            assert_eq!(SortKey::parse(n), Some(*k));
        }
        assert_eq!(SortKey::NAMES, NAMES);
    }

    #[test]
    fn subject_key_drops_reply_and_forward_markers_and_case() {
        for s in [
            "Re: Budget",
            "RE: re: Budget",
            "Fwd: Re: budget",
            "FW: AW: Budget ",
            "SV: Budget",
            "Re[2]: Budget",
            "RE : Budget",
            "  budget",
        ] {
            assert_eq!(subject_key(s), "budget", "{s}");
        }
        assert_eq!(
            subject_key("Réunion: ordre du jour"),
            "reunion: ordre du jour"
        );
        assert_eq!(subject_key("Re:"), "");
        assert_eq!(subject_key("Ticket: 42"), "ticket: 42", "not a marker");
    }

    #[test]
    fn from_key_is_the_name_else_the_address_without_case_or_accents() {
        assert_eq!(from_key("Émile Zola", "ez@x.test"), "emile zola");
        assert_eq!(from_key("", "Zed@X.test"), "zed@x.test");
        assert_eq!(from_key("\"\"", "b@x.test"), "b@x.test");
    }

    #[test]
    fn flat_sorts_by_key_then_newest_first() {
        let rows = || {
            vec![
                row(1, 10, "Re: banana", ("Émile", "e@x.test"), 500),
                row(2, 20, "apple", ("", "zed@x.test"), 100),
                row(3, 30, "Fwd: Apple", ("emile", "e2@x.test"), 900),
                row(4, 40, "cherry", ("Bob", "b@x.test"), 100),
            ]
        };
        // Ties keep newest first: 3 and 1 are both "emile", 3 and 2 both "apple".
        assert_eq!(sorted(rows(), SortKey::From, false), vec![4, 3, 1, 2]);
        assert_eq!(sorted(rows(), SortKey::From, true), vec![2, 3, 1, 4]);
        assert_eq!(sorted(rows(), SortKey::Subject, false), vec![3, 2, 1, 4]);
        assert_eq!(sorted(rows(), SortKey::Size, false), vec![3, 1, 4, 2]);
        assert_eq!(sorted(rows(), SortKey::Size, true), vec![4, 2, 1, 3]);
        assert_eq!(sorted(rows(), SortKey::Date, false), vec![4, 3, 2, 1]);
        assert_eq!(sorted(rows(), SortKey::Date, true), vec![1, 2, 3, 4]);
    }

    fn threaded(id: i64, date: i64, root: &str, subject: &str, from: &str, size: u64) -> Row {
        let mut r = row(id, date, subject, (from, "x@x.test"), size);
        r.msg.thread_root = Some(root.into());
        r
    }

    #[test]
    fn threads_sort_by_their_first_or_newest_message_oldest_inside() {
        let rows = || {
            vec![
                // Thread x: started by Zoe about "Plans", answered by Al last.
                threaded(1, 10, "x", "Plans", "Zoe", 10),
                threaded(4, 40, "x", "Re: Plans", "Al", 10),
                // Thread y: started by Bea about "Budget", one big answer.
                threaded(2, 20, "y", "Budget", "Bea", 10),
                threaded(3, 30, "y", "Re: Budget", "Cy", 5000),
            ]
        };
        let arranged = |key, reverse| {
            let mut r = rows();
            arrange(&mut r, true, ListSort { key, reverse });
            r.iter().map(|r| (r.msg.id, r.depth)).collect::<Vec<_>>()
        };
        // By the sender who started it: Bea before Zoe, though Al answered Zoe.
        assert_eq!(
            arranged(SortKey::From, false),
            vec![(2, 0), (3, 1), (1, 0), (4, 1)]
        );
        assert_eq!(
            arranged(SortKey::Subject, false),
            vec![(2, 0), (3, 1), (1, 0), (4, 1)]
        );
        assert_eq!(
            arranged(SortKey::Subject, true),
            vec![(1, 0), (4, 1), (2, 0), (3, 1)]
        );
        // By the newest message's size: y's newest is the big one.
        assert_eq!(
            arranged(SortKey::Size, false),
            vec![(2, 0), (3, 1), (1, 0), (4, 1)]
        );
        // Oldest activity first.
        assert_eq!(
            arranged(SortKey::Date, true),
            vec![(2, 0), (3, 1), (1, 0), (4, 1)]
        );
        assert_eq!(
            arranged(SortKey::Date, false),
            vec![(1, 0), (4, 1), (2, 0), (3, 1)]
        );
    }

    #[test]
    fn labels_name_the_order_but_not_the_default() {
        assert_eq!(ListSort::default().label(), None);
        let s = ListSort {
            key: SortKey::From,
            reverse: false,
        };
        assert_eq!(s.label().as_deref(), Some("sorted by from"));
    }
}
