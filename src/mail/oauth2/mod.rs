//! OAuth2 sign-in for IMAP and SMTP: the providers' endpoints and scopes, the tokens an account
//! holds (saved with [`crate::secrets`]: the keyring, else a private file), refreshing the access
//! token before it expires and once more when a server refuses it, and the SASL messages that
//! carry it (`sasl`). The two ways to sign in — the browser with a loopback redirect and the
//! device code — are in `login`. The protocol itself is the `oauth2` crate's; its HTTP goes
//! through `http` (timeouts, size bounds, no redirects).
//!
//! A token never appears in an error, a log line or a `{:?}`: errors name the account and what
//! to do, and the one a user must act on reads "sign in again: tidings account login NAME".

mod http;
pub mod login;
pub mod sasl;

use crate::config::{OAuth2Binding, OAuth2Config, OAuth2Provider};
use crate::secrets::{Place, SecretError, SecretStore};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

pub use http::HttpError;

/// An access token this close to its expiry is refreshed before use: a sync that starts with a
/// token about to lapse would fail half-way through its LOGIN. (A quarter of the token's life
/// when that is shorter, so short-lived tokens are still used.)
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum OAuth2Error {
    /// No tokens, or the refresh token was revoked or expired: only the user can fix it.
    #[error("sign in again: tidings account login {account}")]
    SignInAgain { account: String },
    #[error("accounts.{account}.oauth2: {message}")]
    Config { account: String, message: String },
    /// The authorization server could not be reached or answered with an error: try later.
    #[error("{account}: OAuth2 {step} at {endpoint}: {reason}")]
    Server {
        account: String,
        step: &'static str,
        endpoint: String,
        reason: String,
    },
    #[error("{account}: saving the tokens: {source}")]
    Secret {
        account: String,
        #[source]
        source: SecretError,
    },
    #[error("{account}: sign-in: {message}")]
    Login { account: String, message: String },
}

impl OAuth2Error {
    /// True when only signing in again helps (so retrying later is pointless).
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, OAuth2Error::SignInAgain { .. })
    }
}

/// Where a provider's tokens come from and what they are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authorization_url: String,
    pub token_url: String,
    pub device_authorization_url: Option<String>,
    pub scopes: Vec<String>,
    /// Extra query parameters of the authorization URL.
    pub extra_auth_params: Vec<(&'static str, &'static str)>,
}

/// The endpoints and scopes for `settings`: the provider's built-in ones, each overridden by the
/// config's key when set.
pub fn endpoints(settings: &OAuth2Config) -> Endpoints {
    let mut e = match settings.provider {
        OAuth2Provider::Google => Endpoints {
            authorization_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            device_authorization_url: Some("https://oauth2.googleapis.com/device/code".into()),
            // The one scope Gmail's IMAP and SMTP accept.
            scopes: vec!["https://mail.google.com/".into()],
            // Without these Google issues no refresh token, or only on the first consent.
            extra_auth_params: vec![("access_type", "offline"), ("prompt", "consent")],
        },
        OAuth2Provider::Microsoft => {
            let tenant = settings.tenant.as_deref().unwrap_or("common");
            let base = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0");
            Endpoints {
                authorization_url: format!("{base}/authorize"),
                token_url: format!("{base}/token"),
                device_authorization_url: Some(format!("{base}/devicecode")),
                scopes: vec![
                    "https://outlook.office.com/IMAP.AccessAsUser.All".into(),
                    "https://outlook.office.com/SMTP.Send".into(),
                    // Without it Microsoft issues no refresh token.
                    "offline_access".into(),
                ],
                extra_auth_params: vec![],
            }
        }
        OAuth2Provider::Custom => Endpoints {
            authorization_url: String::new(),
            token_url: String::new(),
            device_authorization_url: None,
            scopes: vec![],
            extra_auth_params: vec![],
        },
    };
    if let Some(u) = &settings.authorization_url {
        e.authorization_url = u.clone();
    }
    if let Some(u) = &settings.token_url {
        e.token_url = u.clone();
    }
    if let Some(u) = &settings.device_authorization_url {
        e.device_authorization_url = Some(u.clone());
    }
    if let Some(s) = &settings.scopes {
        e.scopes = s.clone();
    }
    e
}

/// What is saved for an account: one secret, so the refresh token and the access token it
/// issued are replaced together.
#[derive(Clone, Serialize, Deserialize)]
struct SavedTokens {
    access_token: String,
    refresh_token: Option<String>,
    /// Unix seconds; None when the server did not say.
    expires_at: Option<i64>,
    /// Unix seconds, when the access token was issued.
    #[serde(default)]
    obtained_at: Option<i64>,
}

impl fmt::Debug for SavedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedTokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl SavedTokens {
    fn fresh(&self, now: i64) -> bool {
        match self.expires_at {
            Some(at) => {
                let life = at - self.obtained_at.unwrap_or(at);
                let margin = (REFRESH_MARGIN.as_secs() as i64).min(life / 4);
                at - margin > now
            }
            None => true,
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The key an account's tokens are saved under, in the keyring and the file. The address is part
/// of it so tokens of an account renamed to another mailbox are never sent to the new server.
fn secret_key(b: &OAuth2Binding) -> String {
    format!("oauth2:{}:{}", b.account, b.email.to_lowercase())
}

fn secrets(b: &OAuth2Binding) -> Result<SecretStore, OAuth2Error> {
    match &b.data_dir {
        Some(dir) => Ok(SecretStore::new(dir)),
        None => Err(OAuth2Error::Config {
            account: b.account.clone(),
            message: "no data dir to keep tokens in (internal: Config::bind_data_dir not called)"
                .into(),
        }),
    }
}

/// The tokens of this process, by secret key: every IMAP and SMTP connection asks for one,
/// and the keyring is a D-Bus round trip away. The lock is held across a refresh, so two
/// threads never spend one refresh token twice (some servers rotate them).
static TOKENS: Mutex<Option<HashMap<String, SavedTokens>>> = Mutex::new(None);

fn load(b: &OAuth2Binding) -> Result<Option<SavedTokens>, OAuth2Error> {
    let secret_err = |source| OAuth2Error::Secret {
        account: b.account.clone(),
        source,
    };
    let Some(text) = secrets(b)?.get(&secret_key(b)).map_err(secret_err)? else {
        return Ok(None);
    };
    // A damaged entry can only be replaced by signing in again.
    Ok(serde_json::from_str(&text).ok())
}

fn save(b: &OAuth2Binding, t: &SavedTokens) -> Result<Place, OAuth2Error> {
    let text = serde_json::to_string(t).map_err(|e| OAuth2Error::Login {
        account: b.account.clone(),
        message: e.to_string(),
    })?;
    secrets(b)?
        .set(&secret_key(b), &text)
        .map_err(|source| OAuth2Error::Secret {
            account: b.account.clone(),
            source,
        })
}

/// An access token for `b`'s account: the saved one while it is fresh, else a refreshed one.
pub fn access_token(b: &OAuth2Binding) -> Result<String, OAuth2Error> {
    token(b, None)
}

/// A new access token after a server refused `rejected`: refreshed, unless another connection
/// or process already replaced the rejected one.
pub fn token_after_rejection(b: &OAuth2Binding, rejected: &str) -> Result<String, OAuth2Error> {
    token(b, Some(rejected))
}

fn token(b: &OAuth2Binding, rejected: Option<&str>) -> Result<String, OAuth2Error> {
    let key = secret_key(b);
    let mut guard = TOKENS.lock().unwrap_or_else(|p| p.into_inner());
    let cache = guard.get_or_insert_with(HashMap::new);
    let usable = |t: &SavedTokens| t.fresh(now()) && Some(t.access_token.as_str()) != rejected;
    if let Some(t) = cache.get(&key).filter(|t| usable(t)) {
        return Ok(t.access_token.clone());
    }
    // Another process (the CLI next to the TUI) may have refreshed or signed in meanwhile.
    let saved = load(b)?;
    if let Some(t) = saved.as_ref().filter(|t| usable(t)) {
        cache.insert(key, t.clone());
        return Ok(t.access_token.clone());
    }
    let sign_in_again = || OAuth2Error::SignInAgain {
        account: b.account.clone(),
    };
    let refresh_token = saved
        .and_then(|t| t.refresh_token)
        .ok_or_else(sign_in_again)?;
    let fresh = match refresh(b, &refresh_token) {
        Err(e) if e.needs_sign_in() => {
            // Providers that rotate refresh tokens (Microsoft) refuse the old one once another
            // process (the inbox next to `tidings send`) has spent it; that process saved the
            // new one, which is worth one try before the user is asked to sign in again.
            let now_saved = load(b)?;
            match now_saved {
                Some(t) if t.refresh_token.as_deref() != Some(refresh_token.as_str()) => {
                    if usable(&t) {
                        cache.insert(key, t.clone());
                        return Ok(t.access_token);
                    }
                    let rotated = t.refresh_token.ok_or_else(sign_in_again)?;
                    refresh(b, &rotated)?
                }
                _ => return Err(e),
            }
        }
        other => other?,
    };
    save(b, &fresh)?;
    tracing::info!(account = %b.account, "OAuth2 access token refreshed");
    let token = fresh.access_token.clone();
    cache.insert(key, fresh);
    Ok(token)
}

/// Exchanges the refresh token; a refusal (`invalid_grant`: revoked or expired) asks the user to
/// sign in again, and an unreachable server is a temporary error.
fn refresh(b: &OAuth2Binding, refresh_token: &str) -> Result<SavedTokens, OAuth2Error> {
    let e = endpoints(&b.settings);
    let client = client(b, &e)?;
    let result = client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
        .request(&http::TokenHttp);
    match result {
        Ok(r) => Ok(saved_from(&r, Some(refresh_token))),
        Err(RequestTokenError::ServerResponse(r))
            if matches!(r.error(), BasicErrorResponseType::InvalidGrant) =>
        {
            tracing::warn!(account = %b.account, "the refresh token was refused (revoked or expired)");
            Err(OAuth2Error::SignInAgain {
                account: b.account.clone(),
            })
        }
        Err(err) => Err(server_error(b, "token refresh", &e.token_url, err)),
    }
}

/// The error of a token request, with the server's words sanitized and no secret in it.
fn server_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    b: &OAuth2Binding,
    step: &'static str,
    endpoint: &str,
    err: RequestTokenError<RE, T>,
) -> OAuth2Error {
    let reason = match err {
        RequestTokenError::ServerResponse(r) => format!("the server refused: {r}"),
        RequestTokenError::Request(e) => crate::sanitize::error_line(&e),
        RequestTokenError::Parse(e, _) => format!("unreadable answer: {e}"),
        RequestTokenError::Other(m) => m,
    };
    OAuth2Error::Server {
        account: b.account.clone(),
        step,
        endpoint: endpoint.to_string(),
        reason: crate::sanitize::sanitize_line(&reason),
    }
}

fn saved_from<R: TokenResponse>(r: &R, old_refresh: Option<&str>) -> SavedTokens {
    SavedTokens {
        access_token: r.access_token().secret().clone(),
        // Servers that do not rotate refresh tokens send none with a refresh: keep the old one.
        refresh_token: r
            .refresh_token()
            .map(|t| t.secret().clone())
            .or_else(|| old_refresh.map(str::to_string)),
        expires_at: r.expires_in().map(|d| now() + d.as_secs() as i64),
        obtained_at: Some(now()),
    }
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn client(b: &OAuth2Binding, e: &Endpoints) -> Result<Client, OAuth2Error> {
    let config = |message: String| OAuth2Error::Config {
        account: b.account.clone(),
        message,
    };
    let auth = AuthUrl::new(e.authorization_url.clone())
        .map_err(|err| config(format!("authorization_url: {err}")))?;
    let token =
        TokenUrl::new(e.token_url.clone()).map_err(|err| config(format!("token_url: {err}")))?;
    let mut client = BasicClient::new(ClientId::new(b.settings.client_id.clone()))
        .set_auth_uri(auth)
        .set_token_uri(token);
    if let Some(secret) = client_secret(b)? {
        client = client.set_client_secret(ClientSecret::new(secret));
    }
    Ok(client)
}

fn secret_err(b: &OAuth2Binding) -> impl Fn(SecretError) -> OAuth2Error + '_ {
    move |source| OAuth2Error::Secret {
        account: b.account.clone(),
        source,
    }
}

/// The key of a client secret saved for `client_secret_source = "keyring"`.
fn client_secret_key(b: &OAuth2Binding) -> String {
    format!("oauth2-client-secret:{}", b.account)
}

/// The client secret from the config, its command, or the secret store; `None` for a public
/// client.
fn client_secret(b: &OAuth2Binding) -> Result<Option<String>, OAuth2Error> {
    let config = |message: String| OAuth2Error::Config {
        account: b.account.clone(),
        message,
    };
    if b.settings.client_secret_source.is_none() {
        return b.settings.resolve_client_secret().map_err(config);
    }
    let saved = secrets(b)?
        .get(&client_secret_key(b))
        .map_err(secret_err(b))?;
    match saved {
        Some(s) if !s.is_empty() => Ok(Some(s)),
        _ => Err(config(format!(
            "client_secret_source = \"keyring\" but no client secret is saved; save it with \
             tidings account login {}",
            b.account
        ))),
    }
}

/// True when `b` reads its client secret from the secret store and none is saved there.
pub fn client_secret_missing(b: &OAuth2Binding) -> Result<bool, OAuth2Error> {
    if b.settings.client_secret_source.is_none() {
        return Ok(false);
    }
    Ok(secrets(b)?
        .get(&client_secret_key(b))
        .map_err(secret_err(b))?
        .is_none_or(|s| s.is_empty()))
}

/// Saves the client secret for `client_secret_source = "keyring"`.
pub fn save_client_secret(b: &OAuth2Binding, secret: &str) -> Result<Place, OAuth2Error> {
    secrets(b)?
        .set(&client_secret_key(b), secret)
        .map_err(secret_err(b))
}

/// Forgets a saved client secret (a wizard that wrote nothing takes it back).
pub fn forget_client_secret(b: &OAuth2Binding) -> Result<bool, OAuth2Error> {
    secrets(b)?
        .delete(&client_secret_key(b))
        .map_err(secret_err(b))
}

fn scopes(e: &Endpoints) -> Vec<Scope> {
    e.scopes.iter().cloned().map(Scope::new).collect()
}

/// Forgets the account's tokens (keyring and file) and this process's copy; true when there
/// were any. The server-side grant stays until the user revokes it in the provider's settings.
pub fn forget(b: &OAuth2Binding) -> Result<bool, OAuth2Error> {
    let key = secret_key(b);
    if let Some(cache) = TOKENS.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        cache.remove(&key);
    }
    secrets(b)?.delete(&key).map_err(secret_err(b))
}

/// True when tokens are saved for the account (they may still have been revoked since).
pub fn is_signed_in(b: &OAuth2Binding) -> Result<bool, OAuth2Error> {
    Ok(load(b)?.is_some_and(|t| t.refresh_token.is_some() || t.fresh(now())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(provider: OAuth2Provider) -> OAuth2Config {
        OAuth2Config::new(provider, "id".into())
    }

    #[test]
    fn providers_have_their_endpoints_and_mail_scopes() {
        let g = endpoints(&settings(OAuth2Provider::Google));
        assert_eq!(g.scopes, vec!["https://mail.google.com/"]);
        let mut ms = settings(OAuth2Provider::Microsoft);
        ms.tenant = Some("contoso.com".into());
        let m = endpoints(&ms);
        assert!(m.token_url.contains("/contoso.com/oauth2/v2.0/token"));
        assert!(m.scopes.iter().any(|s| s == "offline_access"));
        assert!(m.scopes.iter().any(|s| s.ends_with("SMTP.Send")));
        let mut c = settings(OAuth2Provider::Custom);
        c.token_url = Some("http://127.0.0.1:1/token".into());
        c.scopes = Some(vec!["mail".into()]);
        let c = endpoints(&c);
        assert_eq!(
            (c.token_url.as_str(), c.scopes.len()),
            ("http://127.0.0.1:1/token", 1)
        );
    }

    #[test]
    fn saved_tokens_never_show_in_debug() {
        let t = SavedTokens {
            access_token: "at-secret".into(),
            refresh_token: Some("rt-secret".into()),
            expires_at: Some(1000),
            obtained_at: Some(0),
        };
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        assert!(!t.fresh(1000 - 60) && t.fresh(1000 - 61));
        // A token living 8 s is refreshed in its last 2 s, not at once.
        let short = SavedTokens {
            expires_at: Some(108),
            obtained_at: Some(100),
            ..t
        };
        assert!(short.fresh(105) && !short.fresh(106));
    }
}
