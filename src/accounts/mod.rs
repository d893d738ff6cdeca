//! Setting up an account: finding its servers (`discover`, from the built-in `providers`, the
//! domain's `autoconfig` file and DNS), checking that the login works (`check`), and writing one
//! `[accounts.NAME]` section into the config file with every other byte kept (`config_file`).
//! A typed password goes to the secret store (`mail::credentials`), never the config. The
//! prompts are the CLI's; nothing here reads a terminal.

pub mod autoconfig;
pub mod check;
pub mod config_file;
pub mod discover;
pub mod providers;

use crate::config::Security;
use std::net::IpAddr;

/// An IMAP or SMTP server as discovered or typed: where it is and how the connection is secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

impl Server {
    /// True when the server is this machine: the only place a connection without TLS is
    /// accepted from discovery (anything else would send the password in clear on the say-so
    /// of a DNS answer or a web page).
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A value and where it came from, which the wizard shows next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub value: T,
    pub source: String,
}

/// The name `security = "…"` takes in the config.
pub fn security_name(s: Security) -> &'static str {
    match s {
        Security::Tls => "tls",
        Security::Starttls => "starttls",
        Security::None => "none",
    }
}

pub fn parse_security(s: &str) -> Option<Security> {
    match s.trim().to_ascii_lowercase().as_str() {
        "tls" | "ssl" => Some(Security::Tls),
        "starttls" => Some(Security::Starttls),
        "none" | "plain" => Some(Security::None),
        _ => None,
    }
}

/// A host name as a DNS answer or an autoconfig file gives it, made safe to connect to and to
/// write into the config: letters, digits, hyphens and dots in labels of at most 63 characters
/// (253 in all), or an IP address. Lower case, no trailing dot. `None` for anything else —
/// a hostile answer can carry spaces, quotes, newlines or a terminal escape.
pub fn valid_host(raw: &str) -> Option<String> {
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<IpAddr>().is_ok() {
        return Some(host);
    }
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    host.split('.').all(label_ok).then_some(host)
}

/// A port as text: 1 to 65535.
pub fn valid_port(raw: &str) -> Option<u16> {
    raw.trim().parse::<u16>().ok().filter(|p| *p != 0)
}

/// An account name usable as a TOML key without quotes and as a file name: letters, digits,
/// `-` and `_`, at most 64.
pub fn valid_account_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The domain of an address, lower case; `None` unless it looks like `local@domain.tld`.
pub fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let domain = valid_host(domain)?;
    (domain.contains('.') && domain.parse::<IpAddr>().is_err()).then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_host_names_are_refused() {
        assert_eq!(
            valid_host("IMAP.Example.COM.").as_deref(),
            Some("imap.example.com")
        );
        assert_eq!(valid_host("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(valid_host("::1").as_deref(), Some("::1"));
        for bad in [
            "",
            "a b.com",
            "evil.com\"\nx = 1",
            "-x.com",
            "x..com",
            "\u{1b}[31m.com",
            "münchen.de",
            &"a".repeat(64),
        ] {
            assert_eq!(valid_host(bad), None, "{bad:?}");
        }
        assert_eq!(valid_port("993"), Some(993));
        assert_eq!(valid_port("0"), None);
        assert_eq!(valid_port("70000"), None);
    }

    #[test]
    fn addresses_and_account_names() {
        assert_eq!(
            email_domain("Alice@Example.COM").as_deref(),
            Some("example.com")
        );
        assert_eq!(email_domain("alice@localhost"), None);
        assert_eq!(email_domain("alice"), None);
        assert_eq!(email_domain("@example.com"), None);
        assert!(valid_account_name("work-2"));
        assert!(!valid_account_name("a.b"));
        assert!(!valid_account_name("a b"));
        assert!(is_loopback_host("127.0.0.1") && is_loopback_host("localhost"));
        assert!(!is_loopback_host("example.com"));
    }
}
