//! The tracker's HTTP API as both sides see it: what the client registers for a sent mail, the
//! event pages and opt-outs it reads back, and the limits the server enforces. Shared by
//! `tracking::client` and `tracking::server`, so neither imports the other.

use super::token::is_tracking_token;
pub use crate::tracking_event::Event;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A sent message as the client registers it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Registration {
    /// The mail's Message-ID header, as sent (with or without angle brackets).
    pub message_id: String,
    pub sent_at: DateTime<Utc>,
    pub recipients: Vec<RecipientRegistration>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecipientRegistration {
    pub address: String,
    /// Names the pixel and the opt-out page for this recipient.
    pub token: String,
    #[serde(default)]
    pub links: Vec<TrackedLink>,
}

/// A link token and the URL it redirects to: what the tracker must learn at registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedLink {
    pub token: String,
    pub url: String,
    /// The copy's hidden trap link: in the HTML where no person sees or clicks it, so whatever
    /// follows it is a machine (and so is the rest of what that visitor did).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trap: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass back as `after` to get the next events; unchanged when there are none.
    pub cursor: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OptOut {
    pub address: String,
    pub at: DateTime<Utc>,
}

/// Longest user agent kept; the rest is noise or an attack on our disk.
pub const MAX_USER_AGENT: usize = 512;
/// Largest registration body the tracker accepts (413 above it). A reverse proxy in front of
/// the tracker needs a body limit at least this large (nginx's default is 1 MB).
pub const MAX_REGISTRATION_BYTES: usize = 4 * 1024 * 1024;
/// Caps on what one registration may carry.
pub const MAX_RECIPIENTS: usize = 1000;
pub const MAX_LINKS_PER_RECIPIENT: usize = 500;
pub const MAX_URL_LEN: usize = 4096;
/// Most events one page returns.
pub const MAX_PAGE: u32 = 1000;

/// Checks a registration before it reaches the database: sizes, token shapes, http(s) URLs.
pub fn validate_registration(r: &Registration) -> std::result::Result<(), String> {
    if r.message_id.trim().is_empty() || r.message_id.len() > 998 {
        return Err("message_id must be 1..998 characters".into());
    }
    if r.recipients.is_empty() || r.recipients.len() > MAX_RECIPIENTS {
        return Err(format!("recipients must be 1..{MAX_RECIPIENTS}"));
    }
    for rcpt in &r.recipients {
        if rcpt.address.is_empty() || rcpt.address.len() > 320 {
            return Err("recipient address must be 1..320 characters".into());
        }
        if !is_tracking_token(&rcpt.token) {
            return Err(format!(
                "recipient token for {} is not a tracking token (32 lowercase hex digits)",
                rcpt.address
            ));
        }
        if rcpt.links.len() > MAX_LINKS_PER_RECIPIENT {
            return Err(format!(
                "at most {MAX_LINKS_PER_RECIPIENT} links per recipient"
            ));
        }
        for link in &rcpt.links {
            if !is_tracking_token(&link.token) {
                return Err(
                    "a link token is not a tracking token (32 lowercase hex digits)".into(),
                );
            }
            let lower = link.url.to_ascii_lowercase();
            if link.url.len() > MAX_URL_LEN
                || !(lower.starts_with("http://") || lower.starts_with("https://"))
                || link
                    .url
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace())
            {
                return Err(format!("link URL {:?} is not an http(s) URL", link.url));
            }
        }
    }
    Ok(())
}
