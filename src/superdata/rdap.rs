//! RDAP (RFC 9083) domain lookups: `GET {rdap_url}{domain}`, redirects followed (rdap.org sends
//! the client on to the registry's own server). Keeps registration/expiry dates, the registrar,
//! status and name servers.

use super::net::SafeClient;
use super::{clean, clean_opt, Provider, Source, SourceData, MAX_LIST, MAX_TEXT};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdapInfo {
    pub domain: Option<String>,
    /// RFC 3339 as the registry sends it.
    pub registered: Option<String>,
    pub expires: Option<String>,
    pub last_changed: Option<String>,
    pub registrar: Option<String>,
    pub registrar_iana_id: Option<String>,
    pub status: Vec<String>,
    pub nameservers: Vec<String>,
}

pub struct Rdap {
    client: SafeClient,
    base: String,
}

impl Rdap {
    pub fn new(client: SafeClient, base: &str) -> Rdap {
        Rdap {
            client,
            base: base.to_string(),
        }
    }
}

fn event(v: &Value, action: &str) -> Option<String> {
    v.get("events")?.as_array()?.iter().find_map(|e| {
        (e.get("eventAction")?.as_str()? == action)
            .then(|| clean_opt(e.get("eventDate")?.as_str(), 64))
            .flatten()
    })
}

/// The `fn` (formatted name) of a jCard: `["vcard", [["fn", {}, "text", "Name"], …]]`.
fn vcard_fn(entity: &Value) -> Option<String> {
    entity
        .get("vcardArray")?
        .get(1)?
        .as_array()?
        .iter()
        .find(|p| p.get(0).and_then(Value::as_str) == Some("fn"))
        .and_then(|p| clean_opt(p.get(3)?.as_str(), MAX_TEXT))
}

fn has_role(entity: &Value, role: &str) -> bool {
    entity
        .get("roles")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(role)))
}

/// The registrar entity, at the top level or one level down (some registries nest it).
fn registrar(v: &Value) -> Option<&Value> {
    let entities = v.get("entities")?.as_array()?;
    entities
        .iter()
        .find(|e| has_role(e, "registrar"))
        .or_else(|| {
            entities.iter().find_map(|e| {
                e.get("entities")?
                    .as_array()?
                    .iter()
                    .find(|n| has_role(n, "registrar"))
            })
        })
}

/// Parses an RDAP domain object.
pub fn parse_rdap(body: &[u8]) -> Result<RdapInfo, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("not an RDAP answer (bad JSON: {e})"))?;
    if v.get("objectClassName").and_then(Value::as_str) != Some("domain") {
        return Err("not an RDAP domain object".into());
    }
    let reg = registrar(&v);
    Ok(RdapInfo {
        domain: clean_opt(v.get("ldhName").and_then(Value::as_str), 253)
            .map(|d| d.to_ascii_lowercase()),
        registered: event(&v, "registration"),
        expires: event(&v, "expiration"),
        last_changed: event(&v, "last changed"),
        registrar: reg.and_then(vcard_fn),
        registrar_iana_id: reg.and_then(|r| {
            r.get("publicIds")?.as_array()?.iter().find_map(|p| {
                (p.get("type")?.as_str()? == "IANA Registrar ID")
                    .then(|| clean_opt(p.get("identifier")?.as_str(), 20))
                    .flatten()
            })
        }),
        status: v
            .get("status")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| clean(s, 80))
                    .take(MAX_LIST)
                    .collect()
            })
            .unwrap_or_default(),
        nameservers: v
            .get("nameservers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.get("ldhName")?.as_str())
                    .map(|s| clean(s, 253).to_ascii_lowercase())
                    .take(MAX_LIST)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

impl Provider for Rdap {
    fn source(&self) -> Source {
        Source::Rdap
    }

    fn request(&self, domain: &str) -> String {
        format!("{}{}", self.base, domain)
    }

    fn fetch<'a>(&'a self, domain: &'a str) -> BoxFuture<'a, Result<Option<SourceData>, String>> {
        Box::pin(async move {
            let info = super::fetch_document(
                &self.client,
                &self.request(domain),
                "application/rdap+json, application/json",
                parse_rdap,
            )
            .await?;
            Ok(info.map(SourceData::Rdap))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrar_and_dates_come_from_entities_and_events() {
        let body = br#"{"objectClassName":"domain","ldhName":"ACME.TEST","status":["active"],
          "events":[{"eventAction":"registration","eventDate":"1997-09-15T04:00:00Z"},
                    {"eventAction":"expiration","eventDate":"2030-09-14T04:00:00Z"}],
          "entities":[{"objectClassName":"entity","roles":["registrar"],
             "publicIds":[{"type":"IANA Registrar ID","identifier":"292"}],
             "vcardArray":["vcard",[["version",{},"text","4.0"],["fn",{},"text","MarkMonitor Inc."]]]}],
          "nameservers":[{"objectClassName":"nameserver","ldhName":"NS1.ACME.TEST"}]}"#;
        let r = parse_rdap(body).unwrap();
        assert_eq!(r.domain.as_deref(), Some("acme.test"));
        assert_eq!(r.registered.as_deref(), Some("1997-09-15T04:00:00Z"));
        assert_eq!(r.registrar.as_deref(), Some("MarkMonitor Inc."));
        assert_eq!(r.registrar_iana_id.as_deref(), Some("292"));
        assert_eq!(r.nameservers, ["ns1.acme.test"]);
        assert!(parse_rdap(br#"{"objectClassName":"entity"}"#).is_err());
        assert!(parse_rdap(b"[[[").is_err());
    }
}
