//! The HTTP client the `oauth2` crate talks to token endpoints through: every request times out,
//! never follows a redirect (a token endpoint that redirects is misconfigured or hostile), and
//! reads at most [`MAX_RESPONSE_BYTES`] of an answer — an authorization server's bytes are as
//! hostile as any other.

use std::time::Duration;

/// Token and device-code answers are a few hundred bytes; anything near this is not one.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Each request, connect to last byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Request(String),
    #[error("the answer exceeds {} KiB", MAX_RESPONSE_BYTES / 1024)]
    TooLarge,
}

/// Blocking, for the IMAP and SMTP code that runs on its own threads: each call runs on a fresh
/// thread with its own small runtime, so it works whether or not the caller is inside tokio.
pub struct TokenHttp;

impl oauth2::SyncHttpClient for TokenHttp {
    type Error = HttpError;

    fn call(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        std::thread::scope(|s| {
            s.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| HttpError::Request(format!("starting the HTTP runtime: {e}")))?;
                rt.block_on(send(request))
            })
            .join()
            .unwrap_or_else(|_| Err(HttpError::Request("the HTTP thread panicked".into())))
        })
    }
}

async fn send(request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| HttpError::Request(crate::sanitize::error_line(&e)))?;
    let (parts, body) = request.into_parts();
    let mut response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        // reqwest's message names the URL without its query; a token request carries its
        // secrets in the body, which no error shows.
        .map_err(|e| HttpError::Request(crate::sanitize::error_line(&e)))?;
    let mut out = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        out = out.header(name, value);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| HttpError::Request(crate::sanitize::error_line(&e)))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    out.body(bytes)
        .map_err(|e| HttpError::Request(format!("malformed answer: {e}")))
}
