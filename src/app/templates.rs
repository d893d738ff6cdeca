//! Mail templates: Markdown or text files in `$XDG_CONFIG_HOME/tidings/templates/`, each with an
//! optional `Subject:` first line, and placeholders (`{first_name}`, `{company}`, `{my_name}` …)
//! filled from the recipient's contact, their Superdata when the user fetched it, and the sending
//! account. A placeholder nothing fills is never sent as raw braces: [`Filled::unfilled`] names
//! it, the composer highlights it and asks, `tidings send --template` refuses. The list of
//! placeholders is [`PLACEHOLDERS`] (and docs/scheduling.md).

use crate::mail::compose::Mailbox;
use crate::store::Store;
use crate::superdata::{cached_report, Outcome, Source, SourceData, Target};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A template file larger than this is skipped (a template is a mail, not an archive).
const MAX_TEMPLATE_BYTES: u64 = 256 * 1024;
/// A placeholder's value is cut at this many characters.
const MAX_VALUE_CHARS: usize = 200;
/// At most this many templates are read from the directory.
const MAX_TEMPLATES: usize = 1000;

/// Every placeholder tidings fills, with where its value comes from.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    (
        "name",
        "the recipient's name (as typed in To, else the contact's, else Gravatar's)",
    ),
    ("first_name", "the first word of {name}"),
    (
        "last_name",
        "the last word of {name}, when it has more than one",
    ),
    ("email", "the recipient's address"),
    ("domain", "the domain of the recipient's address"),
    (
        "company",
        "Gravatar's company, else the name the domain's homepage gives itself",
    ),
    ("job_title", "Gravatar's job title"),
    ("location", "Gravatar's location"),
    ("my_name", "your display name (the account's display_name)"),
    ("my_first_name", "the first word of {my_name}"),
    ("my_email", "your address"),
    ("today", "today's date, local time (YYYY-MM-DD)"),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no template {name:?} in {dir} (there: {known})")]
    NotFound {
        name: String,
        dir: PathBuf,
        known: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The file name without its extension: what the picker shows and `--template` takes.
    pub name: String,
    pub subject: Option<String>,
    pub body: String,
}

/// `$XDG_CONFIG_HOME/tidings/templates` (or the platform's config dir).
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tidings").map(|d| d.config_dir().join("templates"))
}

/// Reads a template's text: an optional `Subject:` first line (and one blank line after it),
/// then the body.
pub fn parse(name: &str, text: &str) -> Template {
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n");
    let (subject, body) = match text.split_once('\n') {
        Some((first, rest)) if first.len() > 8 && first[..8].eq_ignore_ascii_case("subject:") => {
            let rest = rest.strip_prefix('\n').unwrap_or(rest);
            (Some(first[8..].trim().to_string()), rest.to_string())
        }
        None if text.len() > 8 && text[..8].eq_ignore_ascii_case("subject:") => {
            (Some(text[8..].trim().to_string()), String::new())
        }
        _ => (None, text.clone()),
    };
    Template {
        name: name.to_string(),
        subject,
        body,
    }
}

/// Every template in `dir`, by name; an unreadable or oversized file is skipped (and logged).
/// A missing directory has none.
pub fn list(dir: &Path) -> Result<Vec<Template>, TemplateError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(TemplateError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten().take(MAX_TEMPLATES) {
        let path = entry.path();
        let Some(name) = template_name(&path) else {
            continue;
        };
        match read_bounded(&path) {
            Ok(text) => out.push(parse(&name, &text)),
            Err(e) => tracing::warn!("skipping template {}: {e}", path.display()),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn template_name(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    if file.starts_with('.') || file.ends_with('~') || !path.is_file() {
        return None;
    }
    let stem = match path.extension().and_then(|e| e.to_str()) {
        Some("md" | "txt" | "markdown" | "text") => path.file_stem()?.to_str()?,
        Some(_) => return None,
        None => file,
    };
    Some(crate::sanitize::sanitize_line(stem))
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_TEMPLATE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_TEMPLATE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_TEMPLATE_BYTES} bytes"
        )));
    }
    String::from_utf8(bytes).map_err(|_| std::io::Error::other("not UTF-8 text"))
}

/// The template called `name` (its file name with or without the extension).
pub fn find(dir: &Path, name: &str) -> Result<Template, TemplateError> {
    let all = list(dir)?;
    let wanted = template_name(&dir.join(name)).unwrap_or_else(|| name.to_string());
    let known = all
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    all.iter()
        .find(|t| t.name == wanted || t.name == name)
        .cloned()
        .ok_or_else(|| TemplateError::NotFound {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known
            },
        })
}

/// The values placeholders are filled with; a placeholder with no value stays unfilled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(pub BTreeMap<String, String>);

impl Values {
    fn set(&mut self, key: &str, value: Option<&str>) {
        let Some(v) = value.map(crate::sanitize::sanitize_line) else {
            return;
        };
        // Values come from the network (Superdata): one line, and a sane length.
        let v: String = v.trim().chars().take(MAX_VALUE_CHARS).collect();
        if !v.is_empty() && !self.0.contains_key(key) {
            self.0.insert(key.to_string(), v);
        }
    }
}

fn first_word(s: &str) -> Option<&str> {
    s.split_whitespace().next()
}

fn last_word(s: &str) -> Option<&str> {
    let words: Vec<&str> = s.split_whitespace().collect();
    (words.len() > 1).then(|| words[words.len() - 1])
}

/// The values for writing from `me` to `to`: what the address says, the contact, and the
/// Superdata the user fetched (read from the store only: filling a template never goes online).
pub fn values_for(store: &Store, me: &Mailbox, to: Option<&Mailbox>, today: &str) -> Values {
    let mut v = Values::default();
    if let Some(to) = to {
        let email = to.email.trim().to_ascii_lowercase();
        let contact = store.contact(&email).ok().flatten();
        let gravatar = superdata_of(store, &email);
        let typed = to.name.as_deref().filter(|n| !n.trim().is_empty());
        let known = contact
            .as_ref()
            .map(|c| c.display_name.as_str())
            .filter(|n| !n.trim().is_empty() && !n.contains('@'));
        let name = typed
            .or(known)
            .map(str::to_string)
            .or_else(|| gravatar.gravatar_name.clone())
            .map(|n| crate::sanitize::sanitize_line(&n));
        v.set("name", name.as_deref());
        v.set("first_name", name.as_deref().and_then(first_word));
        v.set("last_name", name.as_deref().and_then(last_word));
        v.set("email", Some(&email));
        v.set("domain", email.rsplit_once('@').map(|(_, d)| d));
        v.set("company", gravatar.company.as_deref());
        v.set("job_title", gravatar.job_title.as_deref());
        v.set("location", gravatar.location.as_deref());
    }
    let my_name = me.name.as_deref().filter(|n| !n.trim().is_empty());
    v.set("my_name", my_name);
    v.set("my_first_name", my_name.and_then(first_word));
    v.set("my_email", Some(&me.email));
    v.set("today", Some(today));
    v
}

#[derive(Default)]
struct Fetched {
    gravatar_name: Option<String>,
    company: Option<String>,
    job_title: Option<String>,
    location: Option<String>,
}

fn superdata_of(store: &Store, email: &str) -> Fetched {
    let mut f = Fetched::default();
    let Ok(target) = Target::parse(email) else {
        return f;
    };
    let Ok(report) = cached_report(store, &target) else {
        return f;
    };
    let found = |s: Source| match report.get(s).map(|r| &r.outcome) {
        Some(Outcome::Found(d)) => Some(d.clone()),
        _ => None,
    };
    if let Some(SourceData::Gravatar(g)) = found(Source::Gravatar) {
        f.gravatar_name = g.display_name;
        f.company = g.company;
        f.job_title = g.job_title;
        f.location = g.location;
    }
    if f.company.is_none() {
        if let Some(SourceData::Homepage(h)) = found(Source::Homepage) {
            f.company = h
                .organization
                .and_then(|o| o.name)
                .or(h.open_graph.site_name);
        }
    }
    f
}

/// A template with its placeholders filled as far as the values go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    pub subject: Option<String>,
    pub body: String,
    /// Placeholders left as `{name}` because nothing filled them, in order of appearance.
    pub unfilled: Vec<String>,
}

/// Fills `{placeholder}`s; `{{` and `}}` stand for literal braces. An unknown or empty
/// placeholder stays as written and is listed in [`Filled::unfilled`].
pub fn fill(t: &Template, values: &Values) -> Filled {
    let mut unfilled = Vec::new();
    let subject = t
        .subject
        .as_deref()
        .map(|s| substitute(s, values, &mut unfilled));
    let body = substitute(&t.body, values, &mut unfilled);
    Filled {
        subject,
        body,
        unfilled,
    }
}

/// The placeholders still in `text` (what the composer checks before sending).
pub fn unfilled(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    substitute(text, &Values::default(), &mut out);
    out
}

/// Where each placeholder in `text` is, as byte ranges (for highlighting).
pub fn placeholder_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    scan(text, |range, _| spans.push(range));
    spans
}

fn substitute(text: &str, values: &Values, unfilled: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    scan(text, |range, key| {
        out.push_str(&text[last..range.start]);
        match values.0.get(key) {
            Some(v) => out.push_str(v),
            None => {
                out.push_str(&text[range.clone()]);
                if !unfilled.iter().any(|u| u == key) {
                    unfilled.push(key.to_string());
                }
            }
        }
        last = range.end;
    });
    out.push_str(&text[last..]);
    out
}

/// Calls `found(range, key)` for each `{key}` (a letter or `_`, then letters, digits, `_`).
fn scan(text: &str, mut found: impl FnMut(std::ops::Range<usize>, &str)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'{') {
            // `{{name}}` is written literally: skip the pair.
            i += 2;
            continue;
        }
        let key_start = i + 1;
        let mut j = key_start;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        let key = &text[key_start..j];
        let starts_well = key
            .as_bytes()
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
        if starts_well && j < bytes.len() && bytes[j] == b'}' && key.len() <= 64 {
            found(i..j + 1, key);
            i = j + 1;
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        Values(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn subject_line_and_placeholders_are_filled_and_the_rest_is_named() {
        let t = parse(
            "intro",
            "Subject: Hello {first_name}\n\nHi {first_name},\n{company} and {{braces}} and {x y}\n{unknown}\n",
        );
        assert_eq!(t.subject.as_deref(), Some("Hello {first_name}"));
        let f = fill(&t, &values(&[("first_name", "Dana")]));
        assert_eq!(f.subject.as_deref(), Some("Hello Dana"));
        assert_eq!(
            f.body,
            "Hi Dana,\n{company} and {{braces}} and {x y}\n{unknown}\n"
        );
        assert_eq!(f.unfilled, ["company", "unknown"]);
        assert_eq!(unfilled(&f.body), ["company", "unknown"]);
        assert_eq!(placeholder_spans("a {b} c").first(), Some(&(2..5)));
    }

    #[test]
    fn a_template_without_subject_is_all_body() {
        let t = parse("t", "Dear {name}\n");
        assert_eq!(t.subject, None);
        assert_eq!(t.body, "Dear {name}\n");
    }

    #[test]
    fn values_come_from_the_address_the_contact_and_the_account() {
        let store = Store::open_in_memory().unwrap();
        let me = Mailbox::new(Some("Sam Seller"), "sam@me.test");
        let to = Mailbox::new(Some("Dana\u{7} \u{1b}Scully"), "Dana@Initech.test");
        let v = values_for(&store, &me, Some(&to), "2026-12-07");
        assert_eq!(v.0["first_name"], "Dana");
        assert_eq!(v.0["last_name"], "Scully");
        assert_eq!(v.0["email"], "dana@initech.test");
        assert_eq!(v.0["domain"], "initech.test");
        assert_eq!(v.0["my_first_name"], "Sam");
        assert!(!v.0.contains_key("company"), "no Superdata fetched");
        assert!(!v.0["name"].contains('\u{1b}'));
    }
}
