//! Finding an address's IMAP and SMTP servers, in this order: the built-in table by domain, then
//! by MX record; the domain's autoconfig file (`https://autoconfig.DOMAIN/mail/config-v1.1.xml`,
//! then `https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml`); RFC 6186 SRV records;
//! then the usual host names (imap.DOMAIN, mail.DOMAIN, smtp.DOMAIN) if they resolve. Each
//! setting says where it came from. Every answer is a stranger's: the fetches go through
//! Superdata's safety policy (checked addresses, no redirect to a private address, a total
//! timeout, a size cap), and host names and ports are validated before they are used.

use super::autoconfig::{self, Autoconfig};
use super::providers::{self, AuthMethod, KnownServer, Provider};
use super::{email_domain, valid_host, Found, Server};
use crate::config::Security;
use crate::superdata::net::{build_resolver, FetchPolicy, PrivateAddresses, SafeClient};
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use std::time::Duration;

/// Test servers speak plain HTTP on a port of their own: with this set, autoconfig is fetched
/// from `http://autoconfig.DOMAIN:PORT/…` and `http://DOMAIN:PORT/…`. Not documented for users.
pub const AUTOCONFIG_HTTP_PORT_ENV: &str = "TIDINGS_AUTOCONFIG_HTTP_PORT";

/// An autoconfig file is a few kilobytes; more is not one.
const MAX_AUTOCONFIG_BYTES: usize = 64 * 1024;
/// Records looked at per DNS answer; a real domain has a handful.
const MAX_RECORDS: usize = 16;

#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// `"system"` or `"IP:PORT"`, as `[superdata] dns_server`.
    pub dns_server: String,
    pub private: PrivateAddresses,
    /// For each DNS question and each fetch.
    pub timeout: Duration,
    pub autoconfig_http_port: Option<u16>,
}

impl DiscoverOptions {
    /// The resolver and address policy of `[superdata]`: one DNS setting for the whole program.
    pub fn from_config(c: &crate::config::SuperdataConfig) -> DiscoverOptions {
        DiscoverOptions {
            dns_server: c.dns_server.clone(),
            private: if c.allow_private_addresses {
                PrivateAddresses::Allow
            } else {
                PrivateAddresses::Refuse
            },
            timeout: Duration::from_secs(c.timeout_seconds.clamp(1, 15)),
            autoconfig_http_port: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{0:?} is not an email address (expected name@domain.tld)")]
    NotAnAddress(String),
    #[error("DNS: {0}")]
    Resolver(String),
    #[error("HTTP: {0}")]
    Client(String),
}

/// What discovery found; a server it could not find is `None` (the user types it).
#[derive(Debug, Clone)]
pub struct Discovery {
    pub domain: String,
    pub provider: Option<&'static Provider>,
    pub imap: Option<Found<Server>>,
    pub smtp: Option<Found<Server>>,
    pub user: Found<String>,
    pub auth: Found<AuthMethod>,
    pub server_saves_sent: bool,
    /// What was asked and came to nothing, one line each.
    pub tried: Vec<String>,
}

fn known(s: KnownServer) -> Server {
    Server {
        host: s.host.to_string(),
        port: s.port,
        security: s.security,
    }
}

fn from_provider(
    email: &str,
    domain: String,
    p: &'static Provider,
    why: String,
    tried: Vec<String>,
) -> Discovery {
    let found = |value| Found {
        value,
        source: why.clone(),
    };
    Discovery {
        domain,
        provider: Some(p),
        imap: Some(found(known(p.imap))),
        smtp: Some(found(known(p.smtp))),
        user: Found {
            value: email.to_string(),
            source: why.clone(),
        },
        auth: Found {
            value: p.auth,
            source: why.clone(),
        },
        server_saves_sent: p.server_saves_sent,
        tried,
    }
}

pub async fn discover(email: &str, opts: &DiscoverOptions) -> Result<Discovery, DiscoverError> {
    let email = email.trim();
    let domain =
        email_domain(email).ok_or_else(|| DiscoverError::NotAnAddress(email.to_string()))?;
    let mut tried = Vec::new();
    if let Some(p) = providers::by_domain(&domain) {
        let why = format!("built-in table: {} ({domain})", p.name);
        return Ok(from_provider(email, domain, p, why, tried));
    }
    let resolver =
        build_resolver(&opts.dns_server, opts.timeout).map_err(DiscoverError::Resolver)?;
    match mx_hosts(&resolver, &domain).await {
        Ok(hosts) => {
            if let Some((host, p)) = hosts
                .iter()
                .find_map(|h| providers::by_mx(h).map(|p| (h, p)))
            {
                let why = format!("built-in table: {} (MX {host})", p.name);
                return Ok(from_provider(email, domain, p, why, tried));
            }
        }
        Err(e) => tried.push(format!("MX {domain}: {e}")),
    }

    let mut d = Discovery {
        domain: domain.clone(),
        provider: None,
        imap: None,
        smtp: None,
        user: Found {
            value: email.to_string(),
            source: "the address (the usual user name)".into(),
        },
        auth: Found {
            value: AuthMethod::Password,
            source: "the usual sign-in".into(),
        },
        server_saves_sent: false,
        tried,
    };

    let policy = FetchPolicy {
        private: opts.private,
        timeout: opts.timeout,
        max_bytes: MAX_AUTOCONFIG_BYTES,
        max_redirects: 3,
    };
    let client = SafeClient::new(policy, resolver.clone()).map_err(DiscoverError::Client)?;
    for url in autoconfig_urls(&domain, opts.autoconfig_http_port) {
        match fetch_autoconfig(&client, &url, email, &domain, opts.autoconfig_http_port).await {
            Ok(a) => {
                d.tried
                    .extend(a.skipped.iter().map(|s| format!("{url}: {s}")));
                let source = format!("autoconfig {url}");
                if let Some(e) = a.imap {
                    d.user = Found {
                        value: e.user,
                        source: source.clone(),
                    };
                    d.auth = Found {
                        value: e.auth,
                        source: source.clone(),
                    };
                    d.imap = Some(Found {
                        value: e.server,
                        source: source.clone(),
                    });
                }
                if let Some(e) = a.smtp {
                    d.smtp = Some(Found {
                        value: e.server,
                        source,
                    });
                }
                if d.imap.is_some() || d.smtp.is_some() {
                    break;
                }
            }
            Err(why) => d.tried.push(format!("{url}: {why}")),
        }
    }

    if d.imap.is_none() {
        d.imap = srv(&resolver, &domain, IMAP_SRV, &mut d.tried).await;
    }
    if d.smtp.is_none() {
        d.smtp = srv(&resolver, &domain, SUBMISSION_SRV, &mut d.tried).await;
    }
    if d.imap.is_none() {
        d.imap = guess(
            &resolver,
            &domain,
            &["imap", "mail"],
            993,
            Security::Tls,
            &mut d.tried,
        )
        .await;
    }
    if d.smtp.is_none() {
        d.smtp = guess(
            &resolver,
            &domain,
            &["smtp", "mail"],
            587,
            Security::Starttls,
            &mut d.tried,
        )
        .await;
    }
    Ok(d)
}

fn autoconfig_urls(domain: &str, http_port: Option<u16>) -> [String; 2] {
    let (scheme, port) = match http_port {
        Some(p) => ("http", format!(":{p}")),
        None => ("https", String::new()),
    };
    [
        format!("{scheme}://autoconfig.{domain}{port}/mail/config-v1.1.xml"),
        format!("{scheme}://{domain}{port}/.well-known/autoconfig/mail/config-v1.1.xml"),
    ]
}

async fn fetch_autoconfig(
    client: &SafeClient,
    url: &str,
    email: &str,
    domain: &str,
    http_port: Option<u16>,
) -> Result<Autoconfig, String> {
    let fetched = client
        .get(url, "application/xml, text/xml")
        .await
        .map_err(|e| e.to_string())?;
    // A redirect may not take the file (and so the password's destination) off TLS.
    if http_port.is_none() && fetched.url.scheme() != "https" {
        return Err(format!("redirected to {}, not https", fetched.url));
    }
    if fetched.status != 200 {
        return Err(format!("HTTP status {}", fetched.status));
    }
    let text = String::from_utf8(fetched.body).map_err(|_| "not UTF-8".to_string())?;
    autoconfig::parse(&text, email, domain).map_err(|e| e.to_string())
}

/// The domain's MX hosts, most preferred first (validated names only).
async fn mx_hosts(resolver: &TokioResolver, domain: &str) -> Result<Vec<String>, String> {
    let lookup = match resolver.mx_lookup(format!("{domain}.")).await {
        Ok(l) => l,
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => return Ok(Vec::new()),
        Err(e) => return Err(crate::sanitize::sanitize_line(&e.to_string())),
    };
    let mut hosts: Vec<(u16, String)> = lookup
        .answers()
        .iter()
        .take(MAX_RECORDS)
        .filter_map(|r| match &r.data {
            RData::MX(mx) => Some((mx.preference, valid_host(&mx.exchange.to_ascii())?)),
            _ => None,
        })
        .collect();
    hosts.sort();
    Ok(hosts.into_iter().map(|(_, h)| h).collect())
}

/// SRV names to ask, best first: implicit TLS (RFC 8314) before STARTTLS.
const IMAP_SRV: &[(&str, Security)] = &[
    ("_imaps._tcp", Security::Tls),
    ("_imap._tcp", Security::Starttls),
];
const SUBMISSION_SRV: &[(&str, Security)] = &[
    ("_submissions._tcp", Security::Tls),
    ("_submission._tcp", Security::Starttls),
];

async fn srv(
    resolver: &TokioResolver,
    domain: &str,
    services: &[(&str, Security)],
    tried: &mut Vec<String>,
) -> Option<Found<Server>> {
    for (service, security) in services {
        let name = format!("{service}.{domain}");
        let lookup = match resolver.srv_lookup(format!("{name}.")).await {
            Ok(l) => l,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => continue,
            Err(e) => {
                tried.push(format!(
                    "SRV {name}: {}",
                    crate::sanitize::sanitize_line(&e.to_string())
                ));
                continue;
            }
        };
        let mut records: Vec<(u16, std::cmp::Reverse<u16>, String, u16)> = lookup
            .answers()
            .iter()
            .take(MAX_RECORDS)
            .filter_map(|r| match &r.data {
                RData::SRV(s) => Some((
                    s.priority,
                    std::cmp::Reverse(s.weight),
                    s.target.to_ascii(),
                    s.port,
                )),
                _ => None,
            })
            .collect();
        records.sort();
        let Some((_, _, target, port)) = records.into_iter().next() else {
            continue;
        };
        // RFC 2782: a target of "." says the service is decidedly not offered here.
        if target == "." {
            tried.push(format!(
                "SRV {name}: the domain says it offers no such service"
            ));
            continue;
        }
        let (Some(host), true) = (valid_host(&target), port != 0) else {
            tried.push(format!("SRV {name}: not a usable host and port"));
            continue;
        };
        // DNS answers are not authenticated (RFC 6186 §6): a target outside the domain is
        // pointed out, so the user can tell a hosting provider from a forged answer.
        let own = host == domain || host.ends_with(&format!(".{domain}"));
        let source = if own {
            format!("DNS SRV {name}")
        } else {
            format!("DNS SRV {name} (outside {domain}: check that it is your provider's)")
        };
        return Some(Found {
            value: Server {
                host,
                port,
                security: *security,
            },
            source,
        });
    }
    None
}

async fn guess(
    resolver: &TokioResolver,
    domain: &str,
    prefixes: &[&str],
    port: u16,
    security: Security,
    tried: &mut Vec<String>,
) -> Option<Found<Server>> {
    for prefix in prefixes {
        let host = format!("{prefix}.{domain}");
        match resolver.lookup_ip(format!("{host}.")).await {
            Ok(ips) if ips.iter().next().is_some() => {
                return Some(Found {
                    value: Server {
                        host: host.clone(),
                        port,
                        security,
                    },
                    source: format!("a guess: {host} exists"),
                })
            }
            _ => tried.push(format!("{host}: no such host")),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline() -> DiscoverOptions {
        DiscoverOptions {
            // Nothing listens there: a question asked would fail, not hang the test.
            dns_server: "127.0.0.1:9".into(),
            private: PrivateAddresses::Refuse,
            timeout: Duration::from_secs(1),
            autoconfig_http_port: None,
        }
    }

    #[tokio::test]
    async fn a_provider_of_the_table_is_known_by_its_domain_without_asking_anyone() {
        let d = discover("Someone@Gmail.com", &offline()).await.unwrap();
        assert_eq!(d.provider.map(|p| p.name), Some("Gmail"));
        assert_eq!(d.imap.unwrap().value.host, "imap.gmail.com");
        assert_eq!(
            d.auth.value,
            AuthMethod::OAuth2(providers::OAuthProvider::Google)
        );
        assert!(
            d.auth.source.contains("built-in table"),
            "{}",
            d.auth.source
        );
        assert!(d.tried.is_empty(), "{:?}", d.tried);
        let icloud = discover("me@icloud.com", &offline()).await.unwrap();
        assert_eq!(icloud.auth.value, AuthMethod::Password);
        assert!(matches!(
            discover("not an address", &offline()).await,
            Err(DiscoverError::NotAnAddress(_))
        ));
    }
}
