//! Gravatar profile API v3: `GET {gravatar_url}{sha256(trimmed lower-cased address)}`; 404 means
//! the address has no public profile.

use super::net::SafeClient;
use super::{
    clean, clean_opt, clean_url, Provider, Source, SourceData, MAX_LIST, MAX_LONG_TEXT, MAX_TEXT,
};
use crate::address::normalize_email;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GravatarProfile {
    pub display_name: Option<String>,
    pub profile_url: Option<String>,
    pub avatar_url: Option<String>,
    pub location: Option<String>,
    pub job_title: Option<String>,
    pub company: Option<String>,
    /// The profile's "about me".
    pub description: Option<String>,
    pub pronouns: Option<String>,
    pub verified_accounts: Vec<VerifiedAccount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedAccount {
    /// Gravatar's service id (`github`, `linkedin`, `mastodon`, …).
    pub service: String,
    pub label: String,
    pub url: String,
}

/// The v3 profile as Gravatar sends it; every field optional because the API omits empty ones.
#[derive(Deserialize)]
struct RawProfile {
    display_name: Option<String>,
    profile_url: Option<String>,
    avatar_url: Option<String>,
    location: Option<String>,
    job_title: Option<String>,
    company: Option<String>,
    description: Option<String>,
    pronouns: Option<String>,
    #[serde(default)]
    verified_accounts: Vec<RawAccount>,
}

#[derive(Deserialize)]
struct RawAccount {
    service_type: Option<String>,
    service_label: Option<String>,
    url: Option<String>,
    #[serde(default)]
    is_hidden: bool,
}

pub struct Gravatar {
    client: SafeClient,
    base: String,
}

impl Gravatar {
    pub fn new(client: SafeClient, base: &str) -> Gravatar {
        Gravatar {
            client,
            base: base.to_string(),
        }
    }
}

/// Parses a v3 profile body into what tidings keeps, sanitized and bounded.
pub fn parse_profile(body: &[u8]) -> Result<GravatarProfile, String> {
    let raw: RawProfile = serde_json::from_slice(body)
        .map_err(|e| format!("not a Gravatar profile (bad JSON: {e})"))?;
    let text = |s: Option<String>| clean_opt(s.as_deref(), MAX_TEXT);
    Ok(GravatarProfile {
        display_name: text(raw.display_name),
        profile_url: raw.profile_url.as_deref().and_then(|u| clean_url(u, None)),
        avatar_url: raw.avatar_url.as_deref().and_then(|u| clean_url(u, None)),
        location: text(raw.location),
        job_title: text(raw.job_title),
        company: text(raw.company),
        description: clean_opt(raw.description.as_deref(), MAX_LONG_TEXT),
        pronouns: text(raw.pronouns),
        verified_accounts: raw
            .verified_accounts
            .into_iter()
            .filter(|a| !a.is_hidden)
            .filter_map(|a| {
                Some(VerifiedAccount {
                    url: clean_url(a.url.as_deref()?, None)?,
                    service: clean(a.service_type.as_deref().unwrap_or(""), 40),
                    label: clean(a.service_label.as_deref().unwrap_or(""), MAX_TEXT),
                })
            })
            .take(MAX_LIST)
            .collect(),
    })
}

impl Provider for Gravatar {
    fn source(&self) -> Source {
        Source::Gravatar
    }

    fn request(&self, email: &str) -> String {
        format!("{}{}", self.base, gravatar_hash(email))
    }

    fn fetch<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<Option<SourceData>, String>> {
        Box::pin(async move {
            let profile = super::fetch_document(
                &self.client,
                &self.request(email),
                "application/json",
                parse_profile,
            )
            .await?;
            Ok(profile.map(SourceData::Gravatar))
        })
    }
}

/// Gravatar's key for an address: the SHA-256 of the trimmed, lower-cased address, in hex.
pub fn gravatar_hash(email: &str) -> String {
    hex::encode(Sha256::digest(normalize_email(email).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gravatar_hash_is_sha256_of_normalized_address() {
        // sha256("test@example.com")
        assert_eq!(
            gravatar_hash("  Test@Example.COM "),
            "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
        );
    }

    #[test]
    fn profile_fields_are_kept_sanitized_and_hidden_accounts_dropped() {
        let body = br#"{"hash":"x","display_name":"Dana \u001b[31mLee","profile_url":"https://gravatar.com/dana",
            "avatar_url":"https://0.gravatar.com/avatar/x","location":"Springfield","job_title":"CTO",
            "company":"Acme","description":"Builds\nthings","pronouns":"she/her",
            "verified_accounts":[{"service_type":"github","service_label":"GitHub","url":"https://github.com/dana","is_hidden":false},
              {"service_type":"x","service_label":"X","url":"https://x.com/dana","is_hidden":true},
              {"service_type":"evil","service_label":"E","url":"javascript:alert(1)"}]}"#;
        let p = parse_profile(body).unwrap();
        assert_eq!(p.display_name.as_deref(), Some("Dana [31mLee"));
        assert_eq!(p.description.as_deref(), Some("Builds things"));
        assert_eq!(p.verified_accounts.len(), 1);
        assert_eq!(p.verified_accounts[0].url, "https://github.com/dana");
        assert!(parse_profile(b"<html>").is_err());
    }
}
