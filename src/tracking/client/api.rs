//! The client side of the tracker's API: registering a sent message's tokens before the mail
//! leaves the outbox, fetching events after a cursor, and syncing opt-outs. Every call has a
//! timeout, answers are size-capped, and redirects are not followed (a token never leaves for
//! another host).

use crate::tracking::wire::{EventPage, OptOut, Registration, MAX_REGISTRATION_BYTES};
use reqwest::{header, StatusCode, Url};
use std::time::Duration;

/// Largest API answer read; a page of 1000 events is far below it.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("tracker URL {0:?} is not an http(s) URL")]
    BadBaseUrl(String),
    #[error("the tracker rejected the API token (401); check [tracking] api_token")]
    Unauthorized,
    #[error("the tracker answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("tracker unreachable: {0}")]
    Network(String),
    #[error("the tracker's answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the tracker's answer is not the expected JSON: {0}")]
    BadJson(String),
    /// A 413 to a registration: usually a reverse proxy's body limit (nginx's is 1 MB), smaller
    /// than what the tracker takes. Sending the same registration again gets the same answer.
    #[error("{}", registration_too_large(*bytes))]
    RegistrationTooLarge { bytes: usize },
}

fn registration_too_large(bytes: usize) -> String {
    if bytes > MAX_REGISTRATION_BYTES {
        format!(
            "a registration of {bytes} bytes is more than the {} MB the tracker takes: send the \
             mail to fewer recipients or with fewer tracked links",
            MAX_REGISTRATION_BYTES / (1024 * 1024)
        )
    } else {
        format!(
            "the tracker (or its proxy) refused a registration of {bytes} bytes: raise the \
             proxy's body limit (nginx: client_max_body_size {}m)",
            MAX_REGISTRATION_BYTES / (1024 * 1024)
        )
    }
}

impl ApiError {
    /// True when retrying later may help (network trouble, 5xx); false for a bad token or request.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Network(_) => true,
            ApiError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// A connection to one tracker with one user's API token.
#[derive(Clone)]
pub struct TrackerClient {
    http: reqwest::Client,
    base: Url,
    token: String,
}

impl std::fmt::Debug for TrackerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackerClient")
            .field("base", &self.base.as_str())
            .field("token", &"<redacted>")
            .finish()
    }
}

impl TrackerClient {
    pub fn new(base_url: &str, api_token: &str, timeout: Duration) -> Result<Self, ApiError> {
        let trimmed = base_url.trim_end_matches('/');
        let base = Url::parse(&format!("{trimmed}/"))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ApiError::BadBaseUrl(base_url.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tidings/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Network(e.to_string()))?;
        Ok(TrackerClient {
            http,
            base,
            token: api_token.trim().to_string(),
        })
    }

    fn url(&self, path: &str) -> Result<Url, ApiError> {
        self.base
            .join(path)
            .map_err(|_| ApiError::BadBaseUrl(self.base.to_string()))
    }

    /// Registers a sent message's recipients, pixel tokens and link tokens. Idempotent: the
    /// outbox may retry after a timeout without harm.
    pub async fn register_message(&self, registration: &Registration) -> Result<(), ApiError> {
        let body =
            serde_json::to_vec(registration).map_err(|e| ApiError::BadJson(e.to_string()))?;
        let bytes = body.len();
        // The tracker would refuse it, and a proxy in front may not say so with a 413 (Caddy
        // 2.6 answers 502, which looks worth retrying): it is not sent at all.
        if bytes > MAX_REGISTRATION_BYTES {
            return Err(ApiError::RegistrationTooLarge { bytes });
        }
        let response = self
            .http
            .post(self.url("api/v1/messages")?)
            .bearer_auth(&self.token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(network)?;
        // Whoever answered (a proxy's HTML page, the tracker's JSON), the size is the cause.
        if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Err(ApiError::RegistrationTooLarge { bytes });
        }
        read_json::<serde_json::Value>(response).await.map(|_| ())
    }

    /// Events after `after` (`None`: from the start), oldest first, at most `limit`.
    pub async fn fetch_events(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<EventPage, ApiError> {
        let mut url = self.url("api/v1/events")?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(a) = after {
                q.append_pair("after", a);
            }
            q.append_pair("limit", &limit.to_string());
        }
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(network)?;
        read_json(response).await
    }

    /// Recipients who opted out of this user's tracking.
    pub async fn fetch_optouts(&self) -> Result<Vec<OptOut>, ApiError> {
        #[derive(serde::Deserialize)]
        struct OptOuts {
            optouts: Vec<OptOut>,
        }
        let response = self
            .http
            .get(self.url("api/v1/optouts")?)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(network)?;
        Ok(read_json::<OptOuts>(response).await?.optouts)
    }
}

/// One-shot form of [`TrackerClient::register_message`] with the default timeout.
pub async fn register_message(
    base_url: &str,
    api_token: &str,
    registration: &Registration,
) -> Result<(), ApiError> {
    TrackerClient::new(base_url, api_token, DEFAULT_TIMEOUT)?
        .register_message(registration)
        .await
}

/// One-shot form of [`TrackerClient::fetch_events`] (pages of up to 500).
pub async fn fetch_events(
    base_url: &str,
    api_token: &str,
    after: Option<&str>,
) -> Result<EventPage, ApiError> {
    TrackerClient::new(base_url, api_token, DEFAULT_TIMEOUT)?
        .fetch_events(after, 500)
        .await
}

fn network(e: reqwest::Error) -> ApiError {
    // Without the URL: it may carry nothing secret, but the message stays short.
    ApiError::Network(crate::sanitize::error_line(&e.without_url()))
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, ApiError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(ApiError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ApiError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, ApiError> {
    let status = response.status();
    let body = read_body(response).await?;
    if status == StatusCode::UNAUTHORIZED {
        return Err(ApiError::Unauthorized);
    }
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from))
            // Not the tracker's JSON (a proxy's or a wrong path's HTML page): the status says it.
            .unwrap_or_else(|| {
                let reason = status.canonical_reason().unwrap_or("error");
                format!("{reason} (is [tracking] base_url the tracker's address?)")
            });
        return Err(ApiError::Status {
            status: status.as_u16(),
            message: crate::sanitize::sanitize_line(&message),
        });
    }
    serde_json::from_slice(&body).map_err(|e| ApiError::BadJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::wire::RecipientRegistration;

    #[tokio::test]
    async fn a_registration_over_the_trackers_limit_is_refused_before_it_is_sent() {
        let url = format!("https://example.com/{}", "a".repeat(4000));
        let recipient = |n: usize| RecipientRegistration {
            address: format!("r{n}@example.com"),
            token: format!("{n:032x}"),
            links: (0..500)
                .map(|i| crate::tracking::wire::TrackedLink {
                    token: format!("{:032x}", n * 1000 + i),
                    url: url.clone(),
                    trap: false,
                })
                .collect(),
        };
        let registration = Registration {
            message_id: "<big@example.com>".into(),
            sent_at: chrono::Utc::now(),
            recipients: (0..3).map(recipient).collect(),
        };
        // Nothing listens there: an attempt to send would fail as a network error instead.
        let client = TrackerClient::new("http://127.0.0.1:9", "tdg_x", DEFAULT_TIMEOUT).unwrap();
        let e = client.register_message(&registration).await.unwrap_err();
        assert!(
            matches!(e, ApiError::RegistrationTooLarge { bytes } if bytes > MAX_REGISTRATION_BYTES)
        );
        assert!(!e.is_transient());
        assert!(e.to_string().contains("fewer recipients"), "{e}");
    }
}
