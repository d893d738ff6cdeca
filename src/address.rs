//! Email addresses as every layer sees them, decided from the text alone: parsing, free-mail domains
//! (never organizations), non-human addresses (never enriched), and the normal forms used as keys.

use std::collections::HashSet;
use std::sync::LazyLock;

static FREEMAIL: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("freemail.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// True for gmail.com, outlook.com and the other domains of the shipped free-mail list
/// (`src/superdata/freemail.txt`, with its source and licence in its header).
pub fn is_freemail(domain: &str) -> bool {
    FREEMAIL.contains(
        domain
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase()
            .as_str(),
    )
}

/// Local parts (before '@') that belong to machines, lists and role mailboxes rather than a person.
const NON_HUMAN_LOCAL: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "bounce",
    "bounces",
    "mailer-daemon",
    "mailerdaemon",
    "postmaster",
    "notification",
    "notifications",
    "notify",
    "alerts",
    "alert",
    "daemon",
    "automated",
    "auto-confirm",
    "newsletter",
    "newsletters",
    "news",
    "digest",
    "unsubscribe",
    "listserv",
    "majordomo",
    "root",
    "abuse",
    "hostmaster",
    "webmaster",
    "calendar-notification",
    "invitations",
    "updates",
    "marketing",
    "mailer",
];

/// Markers that make any local part machine-like when they appear as one of its words
/// (`jira-noreply`, `bounces+123`, `msprvs1=…` are split on `-`, `_`, `.`, `+` and `=`).
const NON_HUMAN_WORDS: &[&str] = &[
    "noreply",
    "donotreply",
    "bounce",
    "bounces",
    "mailer",
    "daemon",
    "notifications",
    "notification",
    "postmaster",
    "newsletter",
];

/// True for addresses of machines rather than people: noreply, bounces, mailer-daemon,
/// notifications, postmaster, newsletters, VERP return paths, …
pub fn is_non_human(email: &str) -> bool {
    let email = email.trim().to_ascii_lowercase();
    let Some((local, _)) = email.rsplit_once('@') else {
        return false;
    };
    let base = local.split('+').next().unwrap_or(local);
    if NON_HUMAN_LOCAL.contains(&base) || NON_HUMAN_LOCAL.contains(&local) {
        return true;
    }
    let squashed: String = base.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if squashed == "noreply" || squashed == "donotreply" || squashed == "mailerdaemon" {
        return true;
    }
    local
        .split(['-', '_', '.', '+', '='])
        .any(|w| NON_HUMAN_WORDS.contains(&w))
}

/// The key every contact is stored under: trimmed and lower-cased (the local part is in theory
/// case-sensitive, but no real provider treats it so, and the UI must merge "Dana@Acme.test" and
/// "dana@acme.test").
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The domain part of an address, lower-cased, without a trailing dot, in its ASCII (`xn--`)
/// form.
pub fn domain_of(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    ascii_domain(domain)
}

/// A domain as DNS wants it: lower-cased, no trailing dot, international names in their `xn--`
/// form (IDNA, through the URL parser); `None` when it is not a valid host name.
pub fn ascii_domain(domain: &str) -> Option<String> {
    let d = domain.trim().trim_end_matches('.');
    let d = if d.is_ascii() {
        d.to_ascii_lowercase()
    } else {
        let url = reqwest::Url::parse(&format!("http://{d}/")).ok()?;
        url.host_str()?.to_string()
    };
    is_valid_domain(&d).then_some(d)
}

/// A DNS host name we are willing to look up: ASCII letters, digits and hyphens in dot-separated
/// labels of 1–63 characters, at least two labels, at most 253 characters, and a top-level label
/// that is not all digits (so an IP address is no domain, RFC 3696). (An international name
/// must be given in its `xn--` form.)
pub fn is_valid_domain(d: &str) -> bool {
    if d.is_empty() || d.len() > 253 || !d.contains('.') {
        return false;
    }
    if d.rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    d.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// A plausible email address: one '@', a non-empty local part without blanks or angle brackets,
/// and a valid domain.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, _)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '@' | ','))
        && domain_of(email).is_some()
}

/// One address parsed out of the stored display text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAddress {
    pub name: String,
    pub email: String,
}

/// Splits the store's display text (`Name <a@b>, c@d`, as `mail::parse::format_addresses` writes
/// it) back into addresses. A display name may itself hold ", " ("Lee, Dana <dana@acme.test>"), so
/// pieces are joined until they end in an address. Entries without a valid address are dropped.
pub fn parse_address_list(text: &str) -> Vec<ParsedAddress> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for piece in text.split(", ") {
        if !pending.is_empty() {
            pending.push_str(", ");
        }
        pending.push_str(piece);
        let item = pending.trim();
        if let Some(open) = item.rfind('<').filter(|_| item.ends_with('>')) {
            let email = &item[open + 1..item.len() - 1];
            let name = item[..open].trim().trim_matches('"').trim();
            if is_valid_email(email) {
                out.push(ParsedAddress {
                    name: name.to_string(),
                    email: normalize_email(email),
                });
            }
            pending.clear();
        } else if !item.contains(' ') && item.contains('@') {
            if is_valid_email(item) {
                out.push(ParsedAddress {
                    name: String::new(),
                    email: normalize_email(item),
                });
            }
            pending.clear();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freemail_domains_come_from_the_shipped_list() {
        assert!(is_freemail("gmail.com"));
        assert!(is_freemail("Outlook.com"));
        assert!(is_freemail("proton.me"));
        assert!(!is_freemail("acme.test"));
        assert!(!is_freemail("rust-lang.org"));
    }

    #[test]
    fn machine_addresses_are_non_human() {
        for a in [
            "noreply@github.com",
            "no-reply@accounts.google.com",
            "MAILER-DAEMON@mx.example.com",
            "postmaster@example.com",
            "notifications@github.com",
            "bounces+12345@em.example.com",
            "jira-noreply@acme.atlassian.net",
            "do_not_reply@apple.com",
            "msprvs1=abc=bounces-123@example.com",
        ] {
            assert!(is_non_human(a), "{a}");
        }
        for a in [
            "dana.lee@acme.test",
            "noreen@example.com",
            "bob@news-corp.test",
        ] {
            assert!(!is_non_human(a), "{a}");
        }
    }

    #[test]
    fn address_lists_with_commas_in_names_parse() {
        let got = parse_address_list(
            "Lee, Dana <Dana.Lee@acme.test>, bob@globex.test, \"Q\" <q@initech.test>, junk, x <nope>",
        );
        let emails: Vec<_> = got.iter().map(|a| a.email.as_str()).collect();
        assert_eq!(
            emails,
            ["dana.lee@acme.test", "bob@globex.test", "q@initech.test"]
        );
        assert_eq!(got[0].name, "Lee, Dana");
        assert_eq!(got[2].name, "Q");
    }

    #[test]
    fn domains_are_validated() {
        assert!(is_valid_domain("acme.test"));
        assert!(!is_valid_domain("localhost"));
        assert!(!is_valid_domain("a..b"));
        assert!(!is_valid_domain("-a.b"));
        assert!(!is_valid_domain("a b.c"));
        // An IP address is not a domain (no top-level domain is all digits, RFC 3696).
        assert!(!is_valid_domain("127.0.0.1"));
        assert!(!is_valid_domain("8.8.8.8"));
        assert!(is_valid_domain("1.example"));
        assert_eq!(domain_of("x@ACME.test."), Some("acme.test".into()));
        assert_eq!(
            ascii_domain("bücher.example"),
            Some("xn--bcher-kva.example".into())
        );
    }
}
