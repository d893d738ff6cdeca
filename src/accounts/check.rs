//! Checking that an account's settings work before they are written: an IMAP sign-in with the
//! existing connection code (`mail::imap`) and an SMTP AUTH with the sender's (`mail::smtp`),
//! with a password or with the OAuth2 tokens a sign-in just saved. The password is handed over
//! in memory only; the errors name the server and the user, never the password or a token.

use super::{security_name, Server};
use crate::config::{AuthMethod, OAuth2Binding, ServerConfig};
use crate::mail::imap::{self, ImapError};
use crate::mail::smtp::SmtpSession;
use std::path::Path;

/// Seconds a check waits for the server at each step.
const CHECK_TIMEOUT_SECONDS: i64 = 20;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The server refused the user name or password.
    #[error("{0}")]
    Login(String),
    /// The server could not be reached, or TLS or the protocol failed before the login.
    #[error("{0}")]
    Connection(String),
    #[error("the settings do not make a server config: {0}")]
    Settings(String),
}

impl CheckError {
    pub fn is_login_refused(&self) -> bool {
        matches!(self, CheckError::Login(_))
    }
}

/// What a check signs in with.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    Password(&'a str),
    /// Tokens saved by a sign-in (`mail::oauth2::login`) for this binding.
    OAuth2(&'a OAuth2Binding),
}

/// The typed server config the connection code takes, built through its deserializer so every
/// key the wizard does not set gets its ordinary default.
fn server_config(
    server: &Server,
    user: &str,
    credential: Credential<'_>,
) -> Result<ServerConfig, CheckError> {
    let mut t = toml::Table::new();
    t.insert("host".into(), server.host.clone().into());
    t.insert("port".into(), i64::from(server.port).into());
    t.insert("security".into(), security_name(server.security).into());
    t.insert("user".into(), user.into());
    if let Credential::Password(password) = credential {
        t.insert("password".into(), password.into());
    }
    t.insert("timeout_seconds".into(), CHECK_TIMEOUT_SECONDS.into());
    let mut cfg: ServerConfig = toml::Value::Table(t)
        .try_into()
        .map_err(|e: toml::de::Error| CheckError::Settings(e.message().to_string()))?;
    if let Credential::OAuth2(binding) = credential {
        cfg.auth = AuthMethod::Oauth2;
        cfg.oauth2 = Some(binding.clone());
    }
    Ok(cfg)
}

/// Connects, logs in and logs out.
pub fn check_imap(
    server: &Server,
    user: &str,
    credential: Credential<'_>,
    config_path: &Path,
) -> Result<(), CheckError> {
    let cfg = server_config(server, user, credential)?;
    match imap::connect(&cfg, config_path) {
        Ok(conn) => {
            conn.logout();
            Ok(())
        }
        // The connection code's own hints name config keys; here nothing is written yet.
        Err(ImapError::Login {
            addr, user, reason, ..
        }) => Err(CheckError::Login(format!(
            "{addr}: login failed for {user}: {reason}"
        ))),
        Err(ImapError::Connect { addr, reason, .. }) => Err(CheckError::Connection(format!(
            "{addr}: cannot connect: {reason}"
        ))),
        Err(ImapError::Tls { addr, reason, .. }) => Err(CheckError::Connection(format!(
            "{addr}: TLS failed: {reason}"
        ))),
        Err(e) => Err(CheckError::Connection(e.to_string())),
    }
}

/// Connects, secures the connection and authenticates, then quits.
pub fn check_smtp(
    server: &Server,
    user: &str,
    credential: Credential<'_>,
    email: &str,
) -> Result<(), CheckError> {
    let cfg = server_config(server, user, credential)?;
    match SmtpSession::connect_account(&cfg, email) {
        Ok(session) => {
            session.quit();
            Ok(())
        }
        Err(e) => {
            let addr = format!("{}:{}", server.host, server.port);
            // A connection error names the server already.
            let line = if e.message.contains(&addr) {
                format!("{} (user {user})", e.message)
            } else {
                format!("{addr}: {} (user {user})", e.message)
            };
            // mail::smtp names the step that failed first: "AUTH: 535 …".
            if e.message.starts_with("AUTH") {
                Err(CheckError::Login(line))
            } else {
                Err(CheckError::Connection(line))
            }
        }
    }
}
