//! DNS MX records of a domain, and the mail provider they point to (Google Workspace,
//! Microsoft 365, …), asked of the configured resolver (`dns_server`).

use super::{clean, Provider, Source, SourceData, MAX_LIST};
use futures::future::BoxFuture;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxInfo {
    /// The provider the preferred MX belongs to, when it is a known one.
    pub provider: Option<String>,
    /// By preference, lowest first.
    pub hosts: Vec<MxHost>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxHost {
    pub preference: u16,
    pub exchange: String,
}

/// Known MX host suffixes and whose they are.
const PROVIDERS: &[(&str, &str)] = &[
    ("google.com", "Google Workspace"),
    ("googlemail.com", "Google Workspace"),
    ("protection.outlook.com", "Microsoft 365"),
    ("outlook.com", "Microsoft 365"),
    ("hotmail.com", "Microsoft 365"),
    ("zoho.com", "Zoho Mail"),
    ("zoho.eu", "Zoho Mail"),
    ("zoho.in", "Zoho Mail"),
    ("protonmail.ch", "Proton Mail"),
    ("proton.me", "Proton Mail"),
    ("messagingengine.com", "Fastmail"),
    ("icloud.com", "iCloud Mail"),
    ("yahoodns.net", "Yahoo Mail"),
    ("mimecast.com", "Mimecast"),
    ("pphosted.com", "Proofpoint"),
    ("ppe-hosted.com", "Proofpoint"),
    ("barracudanetworks.com", "Barracuda"),
    ("secureserver.net", "GoDaddy"),
    ("ovh.net", "OVHcloud"),
    ("gandi.net", "Gandi"),
    ("ionos.com", "IONOS"),
    ("ionos.de", "IONOS"),
    ("mailgun.org", "Mailgun"),
    ("amazonaws.com", "Amazon SES"),
    ("yandex.net", "Yandex 360"),
    ("mail.ru", "VK WorkMail"),
    ("migadu.com", "Migadu"),
    ("mxrouting.net", "MXroute"),
];

/// Whose mail servers `exchange` belongs to.
pub fn provider_of(exchange: &str) -> Option<&'static str> {
    let host = exchange.trim_end_matches('.').to_ascii_lowercase();
    PROVIDERS
        .iter()
        .find(|(suffix, _)| host == *suffix || host.ends_with(&format!(".{suffix}")))
        .map(|(_, name)| *name)
}

/// Sorts the records and names the provider of the most preferred one that is known.
pub fn summarize(mut hosts: Vec<MxHost>) -> MxInfo {
    hosts.sort_by(|a, b| {
        a.preference
            .cmp(&b.preference)
            .then(a.exchange.cmp(&b.exchange))
    });
    hosts.truncate(MAX_LIST);
    MxInfo {
        provider: hosts
            .iter()
            .find_map(|h| provider_of(&h.exchange))
            .map(str::to_string),
        hosts,
    }
}

pub struct Mx {
    resolver: TokioResolver,
    server: String,
}

impl Mx {
    pub fn new(resolver: TokioResolver, dns_server: &str) -> Mx {
        Mx {
            resolver,
            server: dns_server.to_string(),
        }
    }
}

impl Provider for Mx {
    fn source(&self) -> Source {
        Source::Mx
    }

    fn request(&self, domain: &str) -> String {
        format!("MX {domain} (DNS: {})", self.server)
    }

    fn fetch<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, Result<Option<SourceData>, String>> {
        Box::pin(async move {
            let lookup = match self.resolver.mx_lookup(format!("{domain}.")).await {
                Ok(l) => l,
                Err(e) if e.is_no_records_found() || e.is_nx_domain() => return Ok(None),
                Err(e) => return Err(format!("DNS: {e}")),
            };
            let hosts: Vec<MxHost> = lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::MX(mx) => Some(MxHost {
                        preference: mx.preference,
                        exchange: clean(&mx.exchange.to_ascii(), 253)
                            .trim_end_matches('.')
                            .to_ascii_lowercase(),
                    }),
                    _ => None,
                })
                .collect();
            if hosts.is_empty() {
                return Ok(None);
            }
            Ok(Some(SourceData::Mx(summarize(hosts))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_named_by_mx_host() {
        assert_eq!(provider_of("aspmx.l.google.com."), Some("Google Workspace"));
        assert_eq!(
            provider_of("acme-test.mail.protection.outlook.com"),
            Some("Microsoft 365")
        );
        assert_eq!(provider_of("mx.acme.test"), None);
        assert_eq!(provider_of("notgoogle.com"), None);
        let s = summarize(vec![
            MxHost {
                preference: 20,
                exchange: "alt1.aspmx.l.google.com".into(),
            },
            MxHost {
                preference: 10,
                exchange: "mx.self.test".into(),
            },
        ]);
        assert_eq!(s.hosts[0].exchange, "mx.self.test");
        assert_eq!(s.provider.as_deref(), Some("Google Workspace"));
    }
}
