//! The demo's own Superdata sources: an HTTP server and a DNS server on 127.0.0.1, in process,
//! serving made-up Gravatar profiles, homepages, RDAP records and MX records for the demo
//! people and companies ([`super::people`]), so `tidings demo` can show the feature with no
//! network. Everything served says it is demo data, and the returned config marks every value
//! fetched through it as demo.

use super::people::{company, Company, Person, DEMO_PEOPLE};
use crate::config::SuperdataConfig;
use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::MX;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

/// The running demo sources; dropping this stops them.
pub struct DemoSources {
    /// Points every source at the local servers, with `demo = true`.
    pub config: SuperdataConfig,
    pub http_addr: SocketAddr,
    pub dns_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DemoSources {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts the demo HTTP and DNS servers on 127.0.0.1 (ephemeral ports) on the current tokio
/// runtime and returns the config that uses them.
pub async fn serve_demo_sources() -> std::io::Result<DemoSources> {
    let http = TcpListener::bind("127.0.0.1:0").await?;
    let http_addr = http.local_addr()?;
    let dns = UdpSocket::bind("127.0.0.1:0").await?;
    let dns_addr = dns.local_addr()?;
    let tasks = vec![tokio::spawn(serve_http(http)), tokio::spawn(serve_dns(dns))];
    let base = format!("http://{http_addr}");
    let config = SuperdataConfig {
        enabled: true,
        gravatar_url: format!("{base}/gravatar/"),
        rdap_url: format!("{base}/rdap/"),
        homepage_url: format!("{base}/homepage/{{domain}}/"),
        dns_server: dns_addr.to_string(),
        allow_private_addresses: true,
        demo: true,
        ..SuperdataConfig::default()
    };
    Ok(DemoSources {
        config,
        http_addr,
        dns_addr,
        tasks,
    })
}

/// The demo sources on a tokio runtime of their own, for a caller that has none: `tidings demo`
/// starts them before the inbox opens its runtime, and keeps them for as long as the inbox runs.
/// Dropping this stops them.
pub struct BackgroundDemoSources {
    sources: DemoSources,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BackgroundDemoSources {
    pub fn start() -> std::io::Result<BackgroundDemoSources> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let sources = runtime.block_on(serve_demo_sources())?;
        Ok(BackgroundDemoSources {
            sources,
            runtime: Some(runtime),
        })
    }

    /// Points every Superdata source at these servers, with `demo = true`.
    pub fn config(&self) -> &SuperdataConfig {
        &self.sources.config
    }
}

impl Drop for BackgroundDemoSources {
    fn drop(&mut self) {
        // Not a blocking shutdown: this may be dropped on a thread that runs async code.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn serve_http(listener: TcpListener) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut len = 0;
            while len < buf.len() && !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => len += n,
                }
            }
            let head = String::from_utf8_lossy(&buf[..len]);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, ctype, body) = route(&path);
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        });
    }
}

fn route(path: &str) -> (&'static str, &'static str, String) {
    let not_found = ("404 Not Found", "text/plain", "not found".to_string());
    if let Some(hash) = path.strip_prefix("/gravatar/") {
        return DEMO_PEOPLE
            .iter()
            .filter(|p| p.profile.is_some())
            .find(|p| crate::superdata::gravatar::gravatar_hash(p.email) == hash)
            .map(|p| ("200 OK", "application/json", gravatar_json(p)))
            .unwrap_or(not_found);
    }
    if let Some(rest) = path.strip_prefix("/homepage/") {
        let domain = rest.trim_end_matches('/');
        return company(domain)
            .map(|c| ("200 OK", "text/html; charset=utf-8", homepage_html(c)))
            .unwrap_or(not_found);
    }
    if let Some(domain) = path.strip_prefix("/rdap/") {
        return company(domain)
            .map(|c| ("200 OK", "application/rdap+json", rdap_json(c)))
            .unwrap_or(not_found);
    }
    not_found
}

fn gravatar_json(p: &Person) -> String {
    let (email, name) = (p.email, p.name);
    let (job, location) = p.profile.map_or(("", ""), |p| (p.job_title, p.location));
    let company = p.company().map(|c| c.name).unwrap_or("");
    let handle = email.split('@').next().unwrap_or("").replace('.', "");
    serde_json::json!({
        "hash": crate::superdata::gravatar::gravatar_hash(email),
        "display_name": name,
        "profile_url": format!("https://gravatar.example/{handle}"),
        "avatar_url": format!("https://gravatar.example/avatar/{handle}"),
        "avatar_alt_text": "",
        "location": location,
        "description": format!("Demo data: {name} is a made-up person at the fictional {company}."),
        "job_title": job,
        "company": company,
        "pronouns": "",
        "verified_accounts": [
            {"service_type": "github", "service_label": "GitHub", "service_icon": "",
             "url": format!("https://github.example/{handle}"), "is_hidden": false}
        ],
    })
    .to_string()
}

fn homepage_html(c: &Company) -> String {
    let &Company {
        domain,
        name,
        founded,
        employees,
        ..
    } = c;
    let slug = domain.split('.').next().unwrap_or(domain);
    let ld = serde_json::json!({
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": name, "url": format!("https://{domain}/")},
            {"@type": "Corporation", "name": name, "url": format!("https://{domain}/"),
             "logo": {"@type": "ImageObject", "url": format!("https://{domain}/logo.png")},
             "description": format!("Demo data: {name} is a fictional company."),
             "sameAs": [format!("https://www.linkedin.com/company/{slug}-demo"), format!("https://x.com/{slug}_demo")],
             "address": {"@type": "PostalAddress", "streetAddress": "1 Demo Street",
                         "addressLocality": "Springfield", "addressCountry": "US"},
             "telephone": "+1 555 0100",
             "foundingDate": founded,
             "numberOfEmployees": {"@type": "QuantitativeValue", "value": employees}}
        ]
    });
    format!(
        r#"<!doctype html><html><head><title>{name} (demo data)</title>
<meta name="description" content="Demo data: {name} is a fictional company served by tidings demo.">
<meta property="og:title" content="{name}"><meta property="og:site_name" content="{name} (demo)">
<meta property="og:type" content="website"><meta property="og:image" content="/og.png">
<script type="application/ld+json">{ld}</script></head>
<body><h1>{name}</h1><a href="https://github.com/{slug}-demo">GitHub</a>
<a href="https://www.facebook.com/{slug}.demo">Facebook</a></body></html>"#
    )
}

fn rdap_json(c: &Company) -> String {
    let &Company {
        domain,
        founded,
        registrar,
        ..
    } = c;
    serde_json::json!({
        "objectClassName": "domain",
        "ldhName": domain.to_uppercase(),
        "status": ["active"],
        "remarks": [{"title": "Demo data", "description": ["Served by tidings demo; not a real registration."]}],
        "events": [
            {"eventAction": "registration", "eventDate": format!("{founded}-03-15T00:00:00Z")},
            {"eventAction": "expiration", "eventDate": "2031-03-15T00:00:00Z"}
        ],
        "entities": [{
            "objectClassName": "entity", "roles": ["registrar"],
            "publicIds": [{"type": "IANA Registrar ID", "identifier": "9999"}],
            "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", registrar]]]
        }],
        "nameservers": [{"objectClassName": "nameserver", "ldhName": format!("ns1.{domain}")}]
    })
    .to_string()
}

async fn serve_dns(sock: UdpSocket) {
    let mut buf = [0u8; 1500];
    loop {
        let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(answer) = dns_answer(&buf[..n]) {
            let _ = sock.send_to(&answer, peer).await;
        }
    }
}

/// MX answers for the demo domains; NXDOMAIN for anything else.
fn dns_answer(query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    let question = q.queries.first()?.clone();
    let mut resp = Message::response(q.metadata.id, q.metadata.op_code);
    resp.metadata.message_type = MessageType::Response;
    resp.metadata.authoritative = true;
    resp.metadata.recursion_desired = q.metadata.recursion_desired;
    resp.add_query(question.clone());
    let qname = question
        .name
        .to_ascii()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    match company(&qname) {
        Some(c) if question.query_type == RecordType::MX => {
            let exchange = Name::from_ascii(format!("{}.", c.mx_host)).ok()?;
            resp.add_answer(Record::from_rdata(
                question.name.clone(),
                300,
                RData::MX(MX::new(10, exchange)),
            ));
        }
        Some(_) => {}
        None => resp.metadata.response_code = ResponseCode::NXDomain,
    }
    resp.to_vec().ok()
}
