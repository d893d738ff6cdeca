//! The built-in table of the big mail providers: their servers, how they want to be signed in to,
//! and how to recognise them — by the address's domain (gmail.com) or, for hosted domains
//! (Google Workspace, Microsoft 365), by the domain's MX records. Asked first, because these
//! providers publish no autoconfig of their own and their users are most of ours.

use crate::config::Security;

/// How an account signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    /// OAuth2 with one of the built-in identity providers (`[accounts.NAME.oauth2] provider`).
    OAuth2(OAuthProvider),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthProvider {
    Google,
    Microsoft,
}

impl OAuthProvider {
    /// The value of `[accounts.NAME.oauth2] provider`.
    pub fn config_name(self) -> &'static str {
        match self {
            OAuthProvider::Google => "google",
            OAuthProvider::Microsoft => "microsoft",
        }
    }
}

impl AuthMethod {
    /// The value of `auth` in `[accounts.NAME.imap]` and `.smtp`.
    pub fn config_name(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::OAuth2(_) => "oauth2",
        }
    }
}

/// One server of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownServer {
    pub host: &'static str,
    pub port: u16,
    pub security: Security,
}

#[derive(Debug)]
pub struct Provider {
    pub name: &'static str,
    /// Address domains that are this provider's own (free-mail domains).
    pub domains: &'static [&'static str],
    /// MX host suffixes that mean a domain is hosted here.
    pub mx_suffixes: &'static [&'static str],
    pub imap: KnownServer,
    pub smtp: KnownServer,
    pub auth: AuthMethod,
    /// The provider files what its SMTP server sends in Sent by itself (no APPEND after sending).
    pub server_saves_sent: bool,
    /// One line for the user when a password is needed that is not the usual one.
    pub password_note: Option<&'static str>,
}

const fn tls(host: &'static str, port: u16) -> KnownServer {
    KnownServer {
        host,
        port,
        security: Security::Tls,
    }
}

const fn starttls(host: &'static str, port: u16) -> KnownServer {
    KnownServer {
        host,
        port,
        security: Security::Starttls,
    }
}

const GOOGLE_IMAP: KnownServer = tls("imap.gmail.com", 993);
const GOOGLE_SMTP: KnownServer = tls("smtp.gmail.com", 465);
const MICROSOFT_IMAP: KnownServer = tls("outlook.office365.com", 993);

// Gmail and Workspace refuse plain passwords for new apps, and Microsoft turned basic auth off
// for Outlook.com and (from December 2026) for SMTP in existing tenants: OAuth2 for all three.
// iCloud, Yahoo and Fastmail take app-specific passwords over IMAP and SMTP.
pub const PROVIDERS: &[Provider] = &[
    Provider {
        name: "Gmail",
        domains: &["gmail.com", "googlemail.com"],
        mx_suffixes: &[],
        imap: GOOGLE_IMAP,
        smtp: GOOGLE_SMTP,
        auth: AuthMethod::OAuth2(OAuthProvider::Google),
        server_saves_sent: true,
        password_note: None,
    },
    Provider {
        name: "Google Workspace",
        domains: &[],
        mx_suffixes: &["google.com", "googlemail.com"],
        imap: GOOGLE_IMAP,
        smtp: GOOGLE_SMTP,
        auth: AuthMethod::OAuth2(OAuthProvider::Google),
        server_saves_sent: true,
        password_note: None,
    },
    Provider {
        name: "Outlook.com",
        domains: &[
            "outlook.com",
            "hotmail.com",
            "live.com",
            "msn.com",
            "hotmail.co.uk",
            "hotmail.fr",
            "hotmail.de",
            "hotmail.it",
            "outlook.fr",
            "outlook.de",
            "live.co.uk",
            "live.fr",
        ],
        mx_suffixes: &[],
        imap: MICROSOFT_IMAP,
        smtp: starttls("smtp-mail.outlook.com", 587),
        auth: AuthMethod::OAuth2(OAuthProvider::Microsoft),
        server_saves_sent: true,
        password_note: None,
    },
    Provider {
        name: "Microsoft 365",
        domains: &[],
        mx_suffixes: &["mail.protection.outlook.com"],
        imap: MICROSOFT_IMAP,
        smtp: starttls("smtp.office365.com", 587),
        auth: AuthMethod::OAuth2(OAuthProvider::Microsoft),
        server_saves_sent: true,
        password_note: None,
    },
    Provider {
        name: "iCloud Mail",
        domains: &["icloud.com", "me.com", "mac.com"],
        mx_suffixes: &["mail.icloud.com"],
        imap: tls("imap.mail.me.com", 993),
        smtp: starttls("smtp.mail.me.com", 587),
        auth: AuthMethod::Password,
        server_saves_sent: false,
        password_note: Some(
            "iCloud needs an app-specific password: account.apple.com → Sign-In and Security",
        ),
    },
    Provider {
        name: "Yahoo Mail",
        domains: &[
            "yahoo.com",
            "ymail.com",
            "rocketmail.com",
            "yahoo.co.uk",
            "yahoo.fr",
            "yahoo.de",
        ],
        mx_suffixes: &["yahoodns.net"],
        imap: tls("imap.mail.yahoo.com", 993),
        smtp: tls("smtp.mail.yahoo.com", 465),
        auth: AuthMethod::Password,
        server_saves_sent: false,
        password_note: Some(
            "Yahoo needs an app password: Account Info → Account Security → Generate app password",
        ),
    },
    Provider {
        name: "Fastmail",
        domains: &[
            "fastmail.com",
            "fastmail.fm",
            "fastmail.net",
            "messagingengine.com",
        ],
        mx_suffixes: &["messagingengine.com"],
        imap: tls("imap.fastmail.com", 993),
        smtp: tls("smtp.fastmail.com", 465),
        auth: AuthMethod::Password,
        server_saves_sent: false,
        password_note: Some("Fastmail needs an app password: Settings → Privacy & Security"),
    },
];

/// The provider whose own domain `domain` is (lower case, no trailing dot).
pub fn by_domain(domain: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.domains.contains(&domain))
}

/// The provider hosting a domain whose MX is `exchange`.
pub fn by_mx(exchange: &str) -> Option<&'static Provider> {
    let host = exchange.trim_end_matches('.').to_ascii_lowercase();
    PROVIDERS.iter().find(|p| {
        p.mx_suffixes
            .iter()
            .any(|s| host == *s || host.ends_with(&format!(".{s}")))
    })
}

/// The provider a server host name belongs to, for an autoconfig file that names Google's or
/// Microsoft's servers (a domain's own autoconfig pointing at Workspace).
pub fn by_server_host(host: &str) -> Option<&'static Provider> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    PROVIDERS
        .iter()
        .find(|p| p.imap.host == host || p.smtp.host == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_found_by_domain_mx_and_server() {
        assert_eq!(by_domain("gmail.com").map(|p| p.name), Some("Gmail"));
        assert_eq!(by_domain("example.com").map(|p| p.name), None);
        assert_eq!(
            by_mx("ASPMX.L.GOOGLE.COM.").map(|p| p.name),
            Some("Google Workspace")
        );
        assert_eq!(
            by_mx("contoso-com.mail.protection.outlook.com").map(|p| p.name),
            Some("Microsoft 365")
        );
        assert_eq!(by_mx("notgoogle.com").map(|p| p.name), None);
        assert_eq!(
            by_server_host("outlook.office365.com").map(|p| p.auth),
            Some(AuthMethod::OAuth2(OAuthProvider::Microsoft))
        );
    }
}
