//! The fetch policy every Superdata request goes through: our own DNS resolution with the address
//! check applied to the very addresses we connect to (no DNS-rebinding gap), redirects followed by
//! hand so each hop is checked again, a total timeout, a streamed size cap and a clear User-Agent.

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub const USER_AGENT: &str = concat!("tidings/", env!("CARGO_PKG_VERSION"), " (+superdata)");

/// Which non-public addresses a fetch may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateAddresses {
    /// Only globally routable addresses (the default).
    Refuse,
    /// Everything (`allow_private_addresses = true`: a mirror on the LAN, tests, the demo).
    Allow,
    /// Loopback only: lets a test reach its server on 127.0.0.1 while still proving that a
    /// redirect to 10/8 or 169.254/16 is refused.
    LoopbackOnly,
}

#[derive(Debug, Clone)]
pub struct FetchPolicy {
    pub private: PrivateAddresses,
    /// For the whole fetch, redirects and body included.
    pub timeout: Duration,
    pub max_bytes: usize,
    pub max_redirects: usize,
}

impl FetchPolicy {
    pub fn from_config(c: &crate::config::SuperdataConfig) -> FetchPolicy {
        FetchPolicy {
            private: if c.allow_private_addresses {
                PrivateAddresses::Allow
            } else {
                PrivateAddresses::Refuse
            },
            timeout: Duration::from_secs(c.timeout_seconds.max(1)),
            max_bytes: c.max_response_bytes.max(1024) as usize,
            max_redirects: 5,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("refused to connect to {host} ({addr}): {why} address (set [superdata] allow_private_addresses = true to allow)")]
    PrivateAddress {
        host: String,
        addr: IpAddr,
        why: &'static str,
    },
    #[error("{0}: not an http(s) URL")]
    BadUrl(String),
    #[error("timed out after {0} s")]
    Timeout(u64),
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("redirect without a usable Location header")]
    BadRedirect,
    #[error("cannot resolve {host}: {message}")]
    Dns { host: String, message: String },
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("{0}")]
    Http(String),
}

/// What a successful fetch returns: the final URL (after redirects), the status and the body.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: Url,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// Why an address is not public, or `None` when it is.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_reason(v4);
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("a loopback")
            } else if v6.is_unspecified() {
                Some("an unspecified")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("a unique-local")
            } else if s[0] & 0xffc0 == 0xfe80 || s[0] & 0xffc0 == 0xfec0 {
                Some("a link-local")
            } else if s[0] & 0xff00 == 0xff00 {
                Some("a multicast")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("a documentation")
            } else if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                // NAT64 (64:ff9b::/96): the embedded IPv4 address decides.
                v4_reason(embedded_v4(s[6], s[7]))
            } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
                // Local-use NAT64 (64:ff9b:1::/48, RFC 8215): translates into a private network.
                Some("a local-use NAT64")
            } else if s[0] == 0x2002 {
                // 6to4 (2002::/16): the relay delivers to the IPv4 address in bits 16..48.
                v4_reason(embedded_v4(s[1], s[2]))
            } else if s[0] == 0x2001 && s[1] == 0 {
                // Teredo (2001::/32): the server's IPv4 address in bits 32..64, the client's
                // (each bit flipped) in the last 32; either may lead inside.
                v4_reason(embedded_v4(s[2], s[3])).or_else(|| v4_reason(embedded_v4(!s[6], !s[7])))
            } else if s[..6] == [0, 0, 0, 0, 0, 0] {
                Some("an IPv4-compatible")
            } else {
                None
            }
        }
    }
}

/// The IPv4 address carried in two 16-bit groups of an IPv6 address.
fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

fn v4_reason(v4: Ipv4Addr) -> Option<&'static str> {
    let o = v4.octets();
    if v4.is_loopback() {
        Some("a loopback")
    } else if v4.is_unspecified() || o[0] == 0 {
        Some("an unspecified")
    } else if v4.is_private() {
        Some("a private")
    } else if v4.is_link_local() {
        Some("a link-local")
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("a shared (carrier-grade NAT)")
    } else if v4.is_broadcast() || v4.is_multicast() || o[0] >= 240 {
        Some("a broadcast, multicast or reserved")
    } else if v4.is_documentation() || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) {
        Some("a documentation or benchmarking")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("an IETF protocol")
    } else {
        None
    }
}

impl PrivateAddresses {
    /// `Ok` when a connection to `ip` is allowed, else the reason.
    pub fn check(self, ip: IpAddr) -> Result<(), &'static str> {
        let Some(reason) = non_public_reason(ip) else {
            return Ok(());
        };
        match self {
            PrivateAddresses::Allow => Ok(()),
            PrivateAddresses::LoopbackOnly if ip.is_loopback() => Ok(()),
            PrivateAddresses::LoopbackOnly | PrivateAddresses::Refuse => Err(reason),
        }
    }
}

/// Builds the DNS resolver from `dns_server`: `"system"` (resolv.conf) or `"IP:PORT"`.
pub fn build_resolver(dns_server: &str, timeout: Duration) -> Result<TokioResolver, String> {
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = 1;
    if dns_server.trim() == "system" {
        let mut builder = TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?;
        builder.options_mut().timeout = timeout;
        builder.options_mut().attempts = 1;
        return builder.build().map_err(|e| e.to_string());
    }
    let addr: SocketAddr = dns_server.trim().parse().map_err(|_| {
        format!("[superdata] dns_server = {dns_server:?}: expected \"system\" or \"IP:PORT\"")
    })?;
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
    let config = ResolverConfig::from_name_servers(vec![ns]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    *builder.options_mut() = opts;
    builder.build().map_err(|e| e.to_string())
}

/// reqwest asks this for every host name it connects to; it answers only with allowed addresses,
/// so what was checked is exactly what is connected to.
struct CheckedResolver {
    resolver: TokioResolver,
    private: PrivateAddresses,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.resolver.clone();
        let private = self.private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = resolver
                .lookup_ip(format!("{}.", host.trim_end_matches('.')))
                .await
                .map_err(|e| {
                    Box::new(FetchError::Dns {
                        host: host.clone(),
                        message: e.to_string(),
                    }) as Box<dyn std::error::Error + Send + Sync>
                })?;
            let mut allowed = Vec::new();
            let mut refused = None;
            for ip in ips.iter() {
                match private.check(ip) {
                    Ok(()) => allowed.push(SocketAddr::new(ip, 0)),
                    Err(why) => refused = Some((ip, why)),
                }
            }
            if allowed.is_empty() {
                let err = match refused {
                    Some((addr, why)) => FetchError::PrivateAddress {
                        host: host.clone(),
                        addr,
                        why,
                    },
                    None => FetchError::Dns {
                        host: host.clone(),
                        message: "no addresses".into(),
                    },
                };
                return Err(Box::new(err) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The one HTTP client of Superdata. Cheap to clone.
#[derive(Clone)]
pub struct SafeClient {
    client: reqwest::Client,
    policy: FetchPolicy,
    resolver: TokioResolver,
}

impl SafeClient {
    pub fn new(policy: FetchPolicy, resolver: TokioResolver) -> Result<SafeClient, String> {
        let checked = Arc::new(CheckedResolver {
            resolver: resolver.clone(),
            private: policy.private,
        });
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(checked)
            .connect_timeout(policy.timeout)
            .timeout(policy.timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(SafeClient {
            client,
            policy,
            resolver,
        })
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    pub fn resolver(&self) -> &TokioResolver {
        &self.resolver
    }

    /// GET `url`, following up to `max_redirects` redirects, each hop checked. Any status other than
    /// 2xx is returned as `Fetched` too (a provider decides what 404 means); the body is capped.
    pub async fn get(&self, url: &str, accept: &str) -> Result<Fetched, FetchError> {
        let secs = self.policy.timeout.as_secs().max(1);
        tokio::time::timeout(self.policy.timeout, self.get_inner(url, accept))
            .await
            .unwrap_or(Err(FetchError::Timeout(secs)))
    }

    async fn get_inner(&self, url: &str, accept: &str) -> Result<Fetched, FetchError> {
        let mut url = Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_string()))?;
        let mut hops = 0;
        loop {
            self.check_url(&url)?;
            let resp = self
                .client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, accept)
                .send()
                .await
                .map_err(|e| self.map_err(e))?;
            let status = resp.status();
            if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or(FetchError::BadRedirect)?;
                let next = url.join(location).map_err(|_| FetchError::BadRedirect)?;
                hops += 1;
                if hops > self.policy.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.policy.max_redirects));
                }
                tracing::debug!(from = %url, to = %next, "superdata redirect");
                url = next;
                continue;
            }
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            let body = self.read_capped(resp).await?;
            return Ok(Fetched {
                url,
                status: status.as_u16(),
                content_type,
                body,
            });
        }
    }

    /// The scheme must be http(s); an IP literal is checked here because reqwest connects to
    /// literals without asking the resolver.
    fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::BadUrl(url.to_string()));
        }
        let Some(host) = url.host_str() else {
            return Err(FetchError::BadUrl(url.to_string()));
        };
        let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        else {
            return Ok(());
        };
        self.policy
            .private
            .check(ip)
            .map_err(|why| FetchError::PrivateAddress {
                host: ip.to_string(),
                addr: ip,
                why,
            })
    }

    async fn read_capped(&self, mut resp: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let cap = self.policy.max_bytes;
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(FetchError::TooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.map_err(e))? {
            if body.len() + chunk.len() > cap {
                return Err(FetchError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn map_err(&self, e: reqwest::Error) -> FetchError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if let Some(f) = s.downcast_ref::<FetchError>() {
                return f.clone();
            }
            source = s.source();
        }
        if e.is_timeout() {
            return FetchError::Timeout(self.policy.timeout.as_secs().max(1));
        }
        let chain: Vec<String> =
            std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |s| {
                s.source()
            })
            .map(|s| s.to_string())
            .collect();
        FetchError::Http(chain.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_recognised() {
        for a in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a01:203",
            // 6to4 of 10.0.0.1, 127.0.0.1 and 192.168.1.1
            "2002:a00:1::1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            // Teredo with the client 10.0.0.1 (bits flipped), and with a private server
            "2001:0:4136:e378:8000:63bf:f5ff:fffe",
            "2001:0:a00:1::1",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            assert!(non_public_reason(ip).is_some(), "{a}");
            assert!(PrivateAddresses::Refuse.check(ip).is_err(), "{a}");
            assert!(PrivateAddresses::Allow.check(ip).is_ok(), "{a}");
        }
        // Embedded public addresses stay public: 6to4 of 93.184.216.34, Teredo of 65.54.227.120
        // with the client 93.184.216.34, NAT64 of 1.1.1.1.
        for a in [
            "93.184.216.34",
            "2606:4700::1111",
            "1.1.1.1",
            "2002:5db8:d822::1",
            "2001:0:4136:e378:8000:63bf:a247:27dd",
            "64:ff9b::101:101",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(non_public_reason(ip), None, "{a}");
        }
        let lo = PrivateAddresses::LoopbackOnly;
        assert!(lo.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(lo.check("169.254.169.254".parse().unwrap()).is_err());
        assert!(lo.check("10.0.0.1".parse().unwrap()).is_err());
    }
}
