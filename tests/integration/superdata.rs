//! Superdata end to end: each source against local servers shaped like the real ones (Gravatar
//! v3, a homepage with OpenGraph and JSON-LD, an RDAP domain object, MX from dnsmasq), the fetch
//! policy (timeouts, size caps, malformed answers, private addresses, redirects), the CLI
//! (`superdata`, `contacts`, `forget`) and the demo sources.

use crate::support::dns::Dnsmasq;
use crate::support::http::{HttpServer, Reply};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use tidings::config::SuperdataConfig;
use tidings::store::{NewMessage, Store};
use tidings::superdata::gravatar::gravatar_hash;
use tidings::superdata::net::{FetchPolicy, PrivateAddresses};
use tidings::superdata::{Outcome, Source, SourceResult, Superdata, Target};

const DANA: &str = "dana.lee@acme.test";
const HTTP_SOURCES: [Source; 3] = [Source::Gravatar, Source::Homepage, Source::Rdap];

fn gravatar_profile() -> String {
    serde_json::json!({
        "hash": gravatar_hash(DANA),
        "display_name": "Dana Lee",
        "profile_url": "https://gravatar.com/danalee",
        "avatar_url": format!("https://0.gravatar.com/avatar/{}", gravatar_hash(DANA)),
        "avatar_alt_text": "",
        "location": "Springfield",
        "description": "Builds anvils. \u{1b}[2J",
        "job_title": "CTO",
        "company": "Acme",
        "verified_accounts": [
            {"service_type": "github", "service_label": "GitHub", "service_icon": "https://gravatar.com/icons/github.svg",
             "url": "https://github.com/danalee", "is_hidden": false},
            {"service_type": "linkedin", "service_label": "LinkedIn", "service_icon": "",
             "url": "https://www.linkedin.com/in/danalee", "is_hidden": false}
        ],
        "pronunciation": "",
        "pronouns": "she/her",
        "links": [],
        "section_visibility": {"hidden_contact_info": false}
    })
    .to_string()
}

const HOMEPAGE: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Acme Corporation | Anvils since 1949</title>
<meta name="description" content="Acme makes anvils, rockets and giant magnets.">
<meta property="og:title" content="Acme Corporation">
<meta property="og:description" content="Anvils for everyone">
<meta property="og:site_name" content="Acme">
<meta property="og:type" content="website">
<meta property="og:url" content="https://acme.test/">
<meta property="og:image" content="/static/og.png">
<script type="application/ld+json">
{"@context":"https://schema.org","@graph":[
  {"@type":"WebSite","@id":"https://acme.test/#website","name":"Acme","publisher":{"@id":"https://acme.test/#org"}},
  {"@type":"Organization","@id":"https://acme.test/#org","name":"Acme Corporation","url":"https://acme.test/",
   "logo":{"@type":"ImageObject","url":"https://acme.test/logo.png","width":512},
   "sameAs":["https://www.linkedin.com/company/acme","https://twitter.com/acme"],
   "address":{"@type":"PostalAddress","streetAddress":"1 Anvil Road","addressLocality":"Springfield","postalCode":"12345","addressCountry":"US"},
   "telephone":"+1-555-0100","foundingDate":"1949-01-01",
   "numberOfEmployees":{"@type":"QuantitativeValue","value":250}}]}
</script></head>
<body><footer><a href="https://github.com/acme">GitHub</a> <a href="https://www.facebook.com/acmecorp">Facebook</a>
<a href="https://www.linkedin.com/sharing/share-offsite/?url=x">Share</a></footer></body></html>"##;

const RDAP: &str = r#"{"rdapConformance":["rdap_level_0"],"objectClassName":"domain","handle":"123_DOMAIN",
 "ldhName":"ACME.TEST","status":["client transfer prohibited"],
 "events":[{"eventAction":"registration","eventDate":"1997-09-15T04:00:00Z"},
           {"eventAction":"expiration","eventDate":"2028-09-14T04:00:00Z"},
           {"eventAction":"last changed","eventDate":"2024-08-12T00:00:00Z"}],
 "entities":[{"objectClassName":"entity","handle":"292","roles":["registrar"],
   "publicIds":[{"type":"IANA Registrar ID","identifier":"292"}],
   "vcardArray":["vcard",[["version",{},"text","4.0"],["fn",{},"text","MarkMonitor Inc."]]]}],
 "nameservers":[{"objectClassName":"nameserver","ldhName":"NS1.ACME.TEST"},{"objectClassName":"nameserver","ldhName":"NS2.ACME.TEST"}]}"#;

/// Sources shaped like the real ones for acme.test and dana.lee@acme.test.
fn real_like_sources() -> HttpServer {
    HttpServer::start(vec![
        (
            format!("/v3/profiles/{}", gravatar_hash(DANA)),
            Reply::Body("application/json", gravatar_profile()),
        ),
        ("/v3/profiles/".into(), Reply::Status(404)),
        (
            "/site/acme.test/".into(),
            Reply::Body("text/html; charset=utf-8", HOMEPAGE.into()),
        ),
        (
            "/rdap/domain/acme.test".into(),
            Reply::Body("application/rdap+json", RDAP.into()),
        ),
    ])
}

fn acme_dns() -> Dnsmasq {
    Dnsmasq::start(
        &[
            ("acme.test", "aspmx.l.google.com", 1),
            ("acme.test", "alt1.aspmx.l.google.com", 5),
        ],
        &[("evil.test", "127.0.0.1")],
    )
}

fn config_for(http: &HttpServer, dns: Option<&Dnsmasq>) -> SuperdataConfig {
    SuperdataConfig {
        enabled: true,
        gravatar_url: http.url("/v3/profiles/"),
        rdap_url: http.url("/rdap/domain/"),
        homepage_url: http.url("/site/{domain}/"),
        dns_server: dns
            .map(|d| d.addr.to_string())
            // Nothing listens on port 9 of loopback: MX fails fast where a test does not care.
            .unwrap_or_else(|| "127.0.0.1:9".into()),
        allow_private_addresses: true,
        timeout_seconds: 5,
        ..SuperdataConfig::default()
    }
}

fn toml_for(c: &SuperdataConfig) -> String {
    format!(
        "[superdata]\nenabled = {}\ngravatar_url = {:?}\nrdap_url = {:?}\nhomepage_url = {:?}\n\
         dns_server = {:?}\nallow_private_addresses = {}\ntimeout_seconds = {}\n",
        c.enabled,
        c.gravatar_url,
        c.rdap_url,
        c.homepage_url,
        c.dns_server,
        c.allow_private_addresses,
        c.timeout_seconds
    )
}

/// The real-like sources, dnsmasq with acme.test's MX, and a CLI configured for both.
fn acme_cli() -> (HttpServer, Dnsmasq, Cli) {
    let http = real_like_sources();
    let dns = acme_dns();
    let cli = Cli::new(&toml_for(&config_for(&http, Some(&dns))));
    (http, dns, cli)
}

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new(config_toml: &str) -> Cli {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config_toml).unwrap();
        Cli { dir }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn db(&self) -> PathBuf {
        self.data_dir().join("tidings.sqlite3")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(self.dir.path().join("config.toml"))
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .env_remove("TIDINGS_CONFIG")
            .env_remove("TIDINGS_DATA_DIR")
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
        })
    }
}

#[test]
fn cli_superdata_for_an_email_returns_every_field_with_source_and_date() {
    let (http, _dns, cli) = acme_cli();
    let v = cli.json(&["superdata", "Dana.Lee@Acme.test", "--json"]);
    assert_eq!(v["kind"], "email");
    assert_eq!(v["email"], DANA);
    assert_eq!(v["domain"], "acme.test");
    assert_eq!(v["free_mail"], false);
    assert_eq!(v["demo"], false);
    for s in ["gravatar", "homepage", "rdap", "mx"] {
        let src = &v["sources"][s];
        assert_eq!(src["status"], "ok", "{s}: {src}");
        assert_eq!(src["source"], s);
        assert_eq!(src["cached"], false);
        assert!(src["fetched_at"].as_str().unwrap().ends_with('Z'), "{src}");
        assert!(src["error"].is_null());
    }
    let g = &v["sources"]["gravatar"]["data"];
    assert_eq!(g["display_name"], "Dana Lee");
    assert_eq!(g["job_title"], "CTO");
    assert_eq!(g["company"], "Acme");
    assert_eq!(g["location"], "Springfield");
    assert_eq!(g["pronouns"], "she/her");
    assert_eq!(g["description"], "Builds anvils. [2J", "escape stripped");
    assert!(g["avatar_url"]
        .as_str()
        .unwrap()
        .contains(&gravatar_hash(DANA)));
    assert_eq!(g["verified_accounts"][0]["service"], "github");
    assert_eq!(
        g["verified_accounts"][1]["url"],
        "https://www.linkedin.com/in/danalee"
    );
    assert!(v["sources"]["gravatar"]["url"]
        .as_str()
        .unwrap()
        .ends_with(&gravatar_hash(DANA)));

    let h = &v["sources"]["homepage"]["data"];
    assert_eq!(h["title"], "Acme Corporation | Anvils since 1949");
    assert_eq!(
        h["description"],
        "Acme makes anvils, rockets and giant magnets."
    );
    assert_eq!(h["open_graph"]["title"], "Acme Corporation");
    assert_eq!(h["open_graph"]["description"], "Anvils for everyone");
    assert_eq!(h["open_graph"]["site_name"], "Acme");
    assert_eq!(h["open_graph"]["type"], "website");
    assert_eq!(h["open_graph"]["url"], "https://acme.test/");
    assert_eq!(h["open_graph"]["image"], http.url("/static/og.png"));
    let o = &h["organization"];
    assert_eq!(o["type"], "Organization");
    assert_eq!(o["name"], "Acme Corporation");
    assert_eq!(o["logo"], "https://acme.test/logo.png");
    assert_eq!(
        o["same_as"],
        serde_json::json!([
            "https://www.linkedin.com/company/acme",
            "https://twitter.com/acme"
        ])
    );
    assert_eq!(o["address"], "1 Anvil Road, 12345, Springfield, US");
    assert_eq!(o["telephone"], "+1-555-0100");
    assert_eq!(o["founding_date"], "1949-01-01");
    assert_eq!(o["number_of_employees"], "250");
    let social: Vec<&str> = h["social_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["network"].as_str().unwrap())
        .collect();
    assert_eq!(
        social,
        ["github", "facebook"],
        "share links are not profiles"
    );

    let r = &v["sources"]["rdap"]["data"];
    assert_eq!(r["domain"], "acme.test");
    assert_eq!(r["registered"], "1997-09-15T04:00:00Z");
    assert_eq!(r["expires"], "2028-09-14T04:00:00Z");
    assert_eq!(r["registrar"], "MarkMonitor Inc.");
    assert_eq!(r["registrar_iana_id"], "292");
    assert_eq!(
        r["nameservers"],
        serde_json::json!(["ns1.acme.test", "ns2.acme.test"])
    );

    let m = &v["sources"]["mx"]["data"];
    assert_eq!(m["provider"], "Google Workspace");
    assert_eq!(m["hosts"][0]["exchange"], "aspmx.l.google.com");
    assert_eq!(m["hosts"][0]["preference"], 1);
    assert_eq!(m["hosts"][1]["exchange"], "alt1.aspmx.l.google.com");

    // A second ask is answered from the cache, with the first fetch's date; --refresh fetches again.
    let hits = http.hits().len();
    let again = cli.json(&["superdata", DANA, "--json"]);
    assert_eq!(http.hits().len(), hits, "no network without --refresh");
    for s in ["gravatar", "homepage", "rdap", "mx"] {
        assert_eq!(again["sources"][s]["cached"], true);
        assert_eq!(
            again["sources"][s]["fetched_at"],
            v["sources"][s]["fetched_at"]
        );
        assert_eq!(again["sources"][s]["data"], v["sources"][s]["data"]);
    }
    let fresh = cli.json(&["superdata", DANA, "--refresh", "--json"]);
    assert_eq!(http.hits().len(), hits + 3);
    assert_eq!(fresh["sources"]["gravatar"]["cached"], false);

    // The human-readable form shows sources and values.
    let text = cli.run(&["superdata", DANA]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Gravatar") && text.contains("MarkMonitor Inc."),
        "{text}"
    );
    assert!(text.contains("Google Workspace"), "{text}");
}

#[test]
fn a_failed_source_is_asked_again_on_the_next_lookup_while_the_others_come_from_cache() {
    let http = HttpServer::start(vec![
        ("/site/".into(), Reply::Status(503)),
        (
            "/rdap/domain/acme.test".into(),
            Reply::Body("application/rdap+json", RDAP.into()),
        ),
    ]);
    let dns = acme_dns();
    let cli = Cli::new(&toml_for(&config_for(&http, Some(&dns))));
    let first = cli.json(&["superdata", "acme.test", "--json"]);
    assert_eq!(first["sources"]["homepage"]["status"], "error");
    assert_eq!(first["sources"]["homepage"]["error"], "HTTP status 503");
    assert_eq!(first["sources"]["rdap"]["status"], "ok");
    let second = cli.json(&["superdata", "acme.test", "--json"]);
    assert_eq!(second["sources"]["homepage"]["cached"], false);
    assert_eq!(second["sources"]["rdap"]["cached"], true);
    assert_eq!(second["sources"]["mx"]["cached"], true);
    let site_hits = http
        .hits()
        .iter()
        .filter(|p| p.starts_with("/site/"))
        .count();
    let rdap_hits = http
        .hits()
        .iter()
        .filter(|p| p.starts_with("/rdap/"))
        .count();
    assert_eq!((site_hits, rdap_hits), (2, 1));
}

#[test]
fn pane_details_show_contact_organization_and_cached_superdata_without_fetching() {
    use tidings::superdata::details::{contact_details, organization_details, SuperdataSection};
    let (http, _dns, cli) = acme_cli();
    seed_mail(&cli.db());
    let mut store = Store::open(&cli.db()).unwrap();
    store.refresh_contacts().unwrap();
    let mut config = config_for(&http, None);
    config.enabled = false;
    let d = contact_details(&store, &config, DANA, 5).unwrap().unwrap();
    assert!(
        matches!(d.superdata, SuperdataSection::Disabled { how_to } if how_to.contains("enabled = true"))
    );
    config.enabled = true;
    let d = contact_details(&store, &config, DANA, 5).unwrap().unwrap();
    assert_eq!(d.superdata, SuperdataSection::NotFetched);
    assert_eq!(d.recent.len(), 2);
    assert_eq!(d.recent[0].subject, "hello");
    assert_eq!(d.organization.as_ref().unwrap().domain, "acme.test");
    let bot = contact_details(&store, &config, "notifications@github.com", 5)
        .unwrap()
        .unwrap();
    assert_eq!(bot.superdata, SuperdataSection::NonHuman);
    assert!(contact_details(&store, &config, "nobody@nowhere.test", 5)
        .unwrap()
        .is_none());
    assert!(http.hits().is_empty(), "details never fetch");

    cli.json(&["superdata", DANA, "--json"]);
    let d = contact_details(&store, &config, DANA, 5).unwrap().unwrap();
    let SuperdataSection::Cached(report) = d.superdata else {
        panic!("{:?}", d.superdata)
    };
    let g = report.get(Source::Gravatar).unwrap();
    assert!(g.cached && g.fetched_at > 0);
    assert!(g.fields().contains(&("Job title", "CTO".to_string())));
    let org = organization_details(&store, &config, d.organization.unwrap().id, 5)
        .unwrap()
        .unwrap();
    assert_eq!(org.contacts.len(), 1);
    let SuperdataSection::Cached(report) = org.superdata else {
        panic!("{:?}", org.superdata)
    };
    assert!(report.get(Source::Gravatar).is_none());
    let rdap = report.get(Source::Rdap).unwrap().fields();
    assert!(
        rdap.contains(&("Registrar", "MarkMonitor Inc.".to_string())),
        "{rdap:?}"
    );
}

#[test]
fn cli_superdata_for_a_domain_asks_homepage_rdap_and_mx_only() {
    let (http, _dns, cli) = acme_cli();
    let v = cli.json(&["superdata", "acme.test", "--json"]);
    assert_eq!(v["kind"], "domain");
    assert!(v["email"].is_null());
    assert!(v["sources"]["gravatar"].is_null());
    for s in ["homepage", "rdap", "mx"] {
        assert_eq!(v["sources"][s]["status"], "ok", "{s}");
    }
    assert!(http.hits().iter().all(|p| !p.starts_with("/v3/")));
}

#[test]
fn free_mail_addresses_get_no_organization_data() {
    let http = real_like_sources();
    let cli = Cli::new(&toml_for(&config_for(&http, None)));
    let v = cli.json(&["superdata", "someone@gmail.com", "--json"]);
    assert_eq!(v["free_mail"], true);
    assert_eq!(v["sources"]["gravatar"]["status"], "not_found");
    for s in ["homepage", "rdap", "mx"] {
        assert!(v["sources"][s].is_null(), "{s}");
    }
    assert_eq!(http.hits().len(), 1);
}

#[test]
fn cli_superdata_disabled_exits_1_saying_how_to_enable() {
    let http = real_like_sources();
    let mut c = config_for(&http, None);
    c.enabled = false;
    let cli = Cli::new(&toml_for(&c));
    let out = cli.run(&["superdata", DANA, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("[superdata]") && err.contains("enabled = true"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(http.hits().is_empty());
    // Without any config file at all, the same.
    let bare = Cli::new("");
    assert_eq!(bare.run(&["superdata", "acme.test"]).status.code(), Some(1));
}

#[test]
fn cli_rejects_bad_targets_and_non_human_addresses() {
    let http = real_like_sources();
    let cli = Cli::new(&toml_for(&config_for(&http, None)));
    assert_eq!(
        cli.run(&["superdata", "not a thing"]).status.code(),
        Some(2)
    );
    let out = cli.run(&["superdata", "noreply@acme.test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a person"));
    assert!(http.hits().is_empty());
}

fn seed_mail(db: &Path) {
    let store = Store::open(db).unwrap();
    let acc = store.ensure_account("work", "me@mine.test", None).unwrap();
    let inbox = store
        .upsert_folder(acc, "INBOX", None, Some("inbox"), true)
        .unwrap();
    let sent = store
        .upsert_folder(acc, "Sent", None, Some("sent"), true)
        .unwrap();
    let m = |uid, from: (&str, &str), to: &str, date| NewMessage {
        uid,
        message_id: Some(format!("<{uid}.{date}@x>")),
        from_name: from.0.into(),
        from_addr: from.1.into(),
        to: to.into(),
        subject: "hello".into(),
        date,
        ..Default::default()
    };
    store
        .put_message(
            inbox,
            &m(1, ("Dana Lee", DANA), "Me <me@mine.test>", 1_700_000_000),
        )
        .unwrap();
    store
        .put_message(
            inbox,
            &m(
                2,
                ("GitHub", "notifications@github.com"),
                "me@mine.test",
                1_700_000_100,
            ),
        )
        .unwrap();
    store
        .put_message(
            sent,
            &m(
                1,
                ("Me", "me@mine.test"),
                "Dana Lee <dana.lee@acme.test>, pal@gmail.com",
                1_700_000_200,
            ),
        )
        .unwrap();
}

#[test]
fn cli_contacts_lists_people_from_mail_with_counts_and_organizations() {
    let http = real_like_sources();
    let cli = Cli::new(&toml_for(&config_for(&http, None)));
    seed_mail(&cli.db());
    let v = cli.json(&["contacts", "--json"]);
    let arr = v.as_array().unwrap();
    let find = |e: &str| arr.iter().find(|c| c["email"] == e).cloned().unwrap();
    let dana = find(DANA);
    assert_eq!(dana["name"], "Dana Lee");
    assert_eq!(dana["organization"], "acme.test");
    assert_eq!(
        (dana["sent"].as_u64(), dana["received"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(dana["first_contact"], "2023-11-14T22:13:20Z");
    assert_eq!(dana["last_contact"], "2023-11-14T22:16:40Z");
    assert!(dana["tracking"].is_null());
    let bot = find("notifications@github.com");
    assert_eq!(bot["non_human"], true);
    assert!(bot["organization"].is_null());
    let pal = find("pal@gmail.com");
    assert_eq!(pal["free_mail"], true);
    assert!(pal["organization"].is_null());
    assert_eq!(arr[0]["email"], DANA, "most recent first");
    assert!(
        http.hits().is_empty(),
        "listing contacts never fetches anything"
    );
}

#[test]
fn cli_forget_deletes_contact_preference_and_superdata_but_keeps_mail() {
    let (_http, _dns, cli) = acme_cli();
    seed_mail(&cli.db());
    cli.json(&["contacts", "--json"]);
    Store::open(&cli.db())
        .unwrap()
        .set_tracking_preference(DANA, Some(tidings::store::TrackingPreference::Never))
        .unwrap();
    cli.json(&["superdata", DANA, "--json"]);
    let cached: i64 = Store::open(&cli.db())
        .unwrap()
        .conn
        .query_row("SELECT count(*) FROM superdata_cache", [], |r| r.get(0))
        .unwrap();
    assert_eq!(cached, 4, "gravatar + homepage + rdap + mx were cached");
    let out = cli.run(&["forget", "Dana.Lee@acme.test"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msg = String::from_utf8(out.stdout).unwrap();
    assert!(msg.contains("organization acme.test"), "{msg}");

    let store = Store::open(&cli.db()).unwrap();
    let count = |sql: &str| -> i64 { store.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM superdata_cache"), 0);
    assert_eq!(
        count("SELECT count(*) FROM contacts WHERE email = 'dana.lee@acme.test'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM contact_messages WHERE email = 'dana.lee@acme.test'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM organizations WHERE domain = 'acme.test'"),
        0
    );
    assert_eq!(store.tracking_preference(DANA).unwrap(), None);
    assert_eq!(count("SELECT count(*) FROM messages"), 3, "the mail stays");
    drop(store);
    // Listing contacts again does not bring the forgotten contact back from the same mail.
    let v = cli.json(&["contacts", "--json"]);
    assert!(v.as_array().unwrap().iter().all(|c| c["email"] != DANA));
}

// ---- the fetch policy, through the library ----

async fn fetch_one(
    config: &SuperdataConfig,
    policy: FetchPolicy,
    target: &str,
    source: Source,
) -> Outcome {
    let sd = Superdata::with_policy(config, policy).unwrap();
    let results = sd
        .fetch_sources(&Target::parse(target).unwrap(), &[source])
        .await;
    results
        .into_iter()
        .find(|r| r.source == source)
        .map(|r| r.outcome)
        .expect("source planned")
}

fn policy(private: PrivateAddresses, timeout_secs: u64, max_bytes: usize) -> FetchPolicy {
    FetchPolicy {
        private,
        timeout: Duration::from_secs(timeout_secs),
        max_bytes,
        max_redirects: 5,
    }
}

/// Gravatar, homepage and RDAP for Dana, loopback allowed (only loopback).
async fn fetch_http_sources_of_dana(http: &HttpServer) -> Vec<SourceResult> {
    let config = config_for(http, None);
    let sd = Superdata::with_policy(&config, policy(PrivateAddresses::LoopbackOnly, 5, 1 << 20))
        .unwrap();
    sd.fetch_sources(&Target::parse(DANA).unwrap(), &HTTP_SOURCES)
        .await
}

fn failed(o: &Outcome) -> &str {
    match o {
        Outcome::Failed(e) => e,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_source_that_never_answers_times_out_without_hiding_the_others() {
    let http = HttpServer::start(vec![
        ("/site/".into(), Reply::Hang),
        (
            "/rdap/domain/acme.test".into(),
            Reply::Body("application/rdap+json", RDAP.into()),
        ),
    ]);
    let dns = acme_dns();
    let config = config_for(&http, Some(&dns));
    let sd = Superdata::with_policy(&config, policy(PrivateAddresses::LoopbackOnly, 1, 1 << 20))
        .unwrap();
    let results = sd.fetch(&Target::parse("acme.test").unwrap()).await;
    let get = |s| &results.iter().find(|r| r.source == s).unwrap().outcome;
    assert!(failed(get(Source::Homepage)).contains("timed out"));
    assert!(matches!(get(Source::Rdap), Outcome::Found(_)));
    assert!(matches!(get(Source::Mx), Outcome::Found(_)));
}

#[tokio::test]
async fn oversized_answers_are_cut_off_and_reported() {
    let http = HttpServer::start(vec![(
        "/site/".into(),
        Reply::Endless("text/html", 8 * 1024 * 1024),
    )]);
    let config = config_for(&http, None);
    let o = fetch_one(
        &config,
        policy(PrivateAddresses::LoopbackOnly, 5, 64 * 1024),
        "acme.test",
        Source::Homepage,
    )
    .await;
    assert!(failed(&o).contains("larger than 65536 bytes"), "{o:?}");
}

#[tokio::test]
async fn malformed_answers_are_errors_of_their_source() {
    let http = HttpServer::start(vec![
        (
            format!("/v3/profiles/{}", gravatar_hash(DANA)),
            Reply::Body("application/json", "{\"display_name\": [1, ".into()),
        ),
        (
            "/rdap/".into(),
            Reply::Body("text/html", "<html>rate limited</html>".into()),
        ),
        (
            "/site/".into(),
            Reply::Body("application/pdf", "%PDF-1.4".into()),
        ),
    ]);
    let results = fetch_http_sources_of_dana(&http).await;
    let get = |s| &results.iter().find(|r| r.source == s).unwrap().outcome;
    assert!(failed(get(Source::Gravatar)).contains("not a Gravatar profile"));
    assert!(failed(get(Source::Rdap)).contains("not an RDAP answer"));
    assert!(failed(get(Source::Homepage)).contains("not an HTML page"));
}

#[tokio::test]
async fn loopback_is_refused_before_connecting_unless_allowed() {
    let http = real_like_sources();
    let mut config = config_for(&http, None);
    config.allow_private_addresses = false;
    let sd = Superdata::new(&config).unwrap();
    let results = sd
        .fetch_sources(&Target::parse(DANA).unwrap(), &HTTP_SOURCES)
        .await;
    assert_eq!(results.len(), 3);
    for r in &results {
        let e = failed(&r.outcome);
        assert!(e.contains("refused") && e.contains("loopback"), "{e}");
        assert!(e.contains("allow_private_addresses"), "{e}");
    }
    assert!(
        http.hits().is_empty(),
        "no connection was made: {:?}",
        http.hits()
    );
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_refused_after_dns() {
    let http = real_like_sources();
    let dns = acme_dns();
    let mut config = config_for(&http, Some(&dns));
    config.allow_private_addresses = false;
    config.homepage_url = format!("http://{{domain}}:{}/site/acme.test/", http.addr.port());
    let o = fetch_one(
        &config,
        FetchPolicy::from_config(&config),
        "evil.test",
        Source::Homepage,
    )
    .await;
    let e = failed(&o);
    assert!(
        e.contains("evil.test") && e.contains("127.0.0.1") && e.contains("loopback"),
        "{e}"
    );
    assert!(http.hits().is_empty());
    // The same name is fetched when private addresses are allowed: the check is what refused it.
    config.allow_private_addresses = true;
    let o = fetch_one(
        &config,
        FetchPolicy::from_config(&config),
        "evil.test",
        Source::Homepage,
    )
    .await;
    assert!(matches!(o, Outcome::Found(_)), "{o:?}");
}

#[tokio::test]
async fn redirects_to_private_addresses_are_refused_at_each_hop() {
    // Never connected to: the redirect target is checked before any connection.
    let http = HttpServer::start(vec![
        (
            "/site/acme.test/".into(),
            Reply::Redirect("http://169.254.169.254/latest/meta-data/".into()),
        ),
        (
            "/rdap/domain/acme.test".into(),
            Reply::Redirect("http://10.0.0.1/rdap".into()),
        ),
        (
            format!("/v3/profiles/{}", gravatar_hash(DANA)),
            Reply::Redirect("/moved".into()),
        ),
        (
            "/moved".into(),
            Reply::Body("application/json", gravatar_profile()),
        ),
    ]);
    let results = fetch_http_sources_of_dana(&http).await;
    let get = |s| &results.iter().find(|r| r.source == s).unwrap().outcome;
    let e = failed(get(Source::Homepage));
    assert!(
        e.contains("169.254.169.254") && e.contains("link-local"),
        "{e}"
    );
    let e = failed(get(Source::Rdap));
    assert!(e.contains("10.0.0.1") && e.contains("private"), "{e}");
    // A redirect to an allowed place is followed.
    assert!(matches!(get(Source::Gravatar), Outcome::Found(_)));
}

#[tokio::test]
async fn redirect_loops_stop_at_the_limit() {
    let http = HttpServer::start(vec![(
        "/site/".into(),
        Reply::Redirect("/site/again/".into()),
    )]);
    let config = config_for(&http, None);
    let o = fetch_one(
        &config,
        policy(PrivateAddresses::LoopbackOnly, 5, 1 << 20),
        "acme.test",
        Source::Homepage,
    )
    .await;
    assert!(failed(&o).contains("more than 5 redirects"), "{o:?}");
    let site_hits = http
        .hits()
        .iter()
        .filter(|p| p.starts_with("/site/"))
        .count();
    assert_eq!(site_hits, 6, "the first request and five redirects");
}

#[tokio::test]
async fn requests_carry_the_tidings_user_agent() {
    let http = real_like_sources();
    let config = config_for(&http, None);
    fetch_one(
        &config,
        policy(PrivateAddresses::LoopbackOnly, 5, 1 << 20),
        "acme.test",
        Source::Homepage,
    )
    .await;
    let agents = http.user_agents();
    assert!(!agents.is_empty());
    let want = format!("tidings/{} (+superdata)", env!("CARGO_PKG_VERSION"));
    assert!(agents.iter().all(|a| *a == want), "{agents:?}");
}

#[tokio::test]
async fn demo_sources_serve_marked_demo_data_for_the_demo_companies() {
    let demo = tidings::demo::superdata::serve_demo_sources()
        .await
        .unwrap();
    assert!(demo.config.demo && demo.config.enabled);
    assert!(demo.http_addr.ip().is_loopback() && demo.dns_addr.ip().is_loopback());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite3");
    let sd = Superdata::new(&demo.config).unwrap();
    let report = sd
        .lookup(&db, &Target::parse(DANA).unwrap(), false)
        .await
        .unwrap();
    assert!(report.demo());
    for s in Source::ALL {
        let r = report.get(s).unwrap();
        assert!(r.demo, "{s:?}");
        assert!(
            matches!(r.outcome, Outcome::Found(_)),
            "{s:?}: {:?}",
            r.outcome
        );
    }
    let json = report.to_json();
    assert_eq!(json["demo"], true);
    assert_eq!(
        json["sources"]["mx"]["data"]["provider"],
        "Google Workspace"
    );
    assert!(json["sources"]["homepage"]["data"]["title"]
        .as_str()
        .unwrap()
        .contains("demo"));
    assert_eq!(
        json["sources"]["rdap"]["data"]["registrar"],
        "Demo Registrar Inc."
    );
    let globex = sd
        .lookup(&db, &Target::parse("globex.test").unwrap(), false)
        .await
        .unwrap();
    assert_eq!(
        globex.to_json()["sources"]["mx"]["data"]["provider"],
        "Microsoft 365"
    );
}

/// A DNS server that never answers (UDP or TCP) is cut off by the one timeout, as the HTTP
/// sources are: hickory alone would try UDP, then TCP, each for the whole timeout.
#[tokio::test]
async fn a_silent_dns_server_is_cut_off_at_the_timeout() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    // Same port over TCP: connects (the backlog accepts) and never answers.
    let _tcp = std::net::TcpListener::bind(addr).unwrap();
    let http = HttpServer::start(vec![]);
    let mut config = config_for(&http, None);
    config.dns_server = addr.to_string();
    let started = std::time::Instant::now();
    let outcome = fetch_one(
        &config,
        policy(PrivateAddresses::LoopbackOnly, 3, 1 << 20),
        "acme.test",
        Source::Mx,
    )
    .await;
    assert_eq!(failed(&outcome), "timed out after 3 s");
    // Generous for a busy machine, yet below the 6 s of UDP then TCP.
    assert!(
        started.elapsed() < Duration::from_millis(5500),
        "{:?}",
        started.elapsed()
    );
}
