//! SMTP submission with lettre's connection-level API: implicit TLS, STARTTLS or plain per the
//! account's `[smtp]` config, AUTH, a timeout on every read and write, and a hook that runs right
//! before DATA so the outbox can record the one moment after which a mail may have been accepted.
//! Failures are classified the way the outbox needs them: retry later, give up, or unknown.

use super::credentials::{self, PasswordError};
use super::oauth2::{self, sasl};
use crate::config::{AuthMethod, Security, ServerConfig};
use lettre::address::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::time::Duration;

/// How a failed attempt ends for the mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Unreachable, timed out before DATA, TLS trouble, or a 4xx: try again later.
    Temporary,
    /// A 5xx: the server refuses this mail; retrying unchanged will not help.
    Permanent,
    /// The connection broke after the mail's last byte was sent and before the server answered:
    /// the server may have accepted it. Must not be resent without confirmation.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SmtpError {
    pub kind: FailureKind,
    pub message: String,
}

impl SmtpError {
    pub fn temporary(message: impl Into<String>) -> SmtpError {
        SmtpError {
            kind: FailureKind::Temporary,
            message: message.into(),
        }
    }

    /// Classifies a lettre error: a reply code decides when there is one (4xx temporary, 5xx
    /// permanent); everything else (refused, reset, timeout, TLS) is temporary.
    fn classify(step: &str, e: &lettre::transport::smtp::Error) -> SmtpError {
        let kind = if e.is_permanent() {
            FailureKind::Permanent
        } else {
            FailureKind::Temporary
        };
        SmtpError {
            kind,
            message: format!("{step}: {}", describe(e)),
        }
    }
}

/// lettre's Display leaves out the cause (e.g. "Connection refused"); the user needs it.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    crate::sanitize::error_line(e)
}

/// A command lettre has no type for (AUTH OAUTHBEARER, the SASL empty response); it must end
/// with CRLF and hold no secret in its Debug form, which lettre never prints anyway.
struct RawCommand(String);

impl std::fmt::Display for RawCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An open, authenticated SMTP session. Dropping it closes the connection.
pub struct SmtpSession {
    conn: SmtpConnection,
}

fn tls_parameters(cfg: &ServerConfig) -> Result<TlsParameters, SmtpError> {
    TlsParameters::builder(cfg.host.clone())
        .dangerous_accept_invalid_certs(cfg.accept_invalid_certs)
        .dangerous_accept_invalid_hostnames(cfg.accept_invalid_certs)
        .build_rustls()
        .map_err(|e| SmtpError::temporary(format!("TLS setup: {}", describe(&e))))
}

fn hello_name(from_email: &str) -> ClientId {
    // The sender's domain is what most submission servers expect; no local hostname leaks.
    let domain = from_email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .unwrap_or("localhost");
    ClientId::Domain(domain.to_string())
}

impl SmtpSession {
    /// Connects and signs in as the account's `[smtp]` says: with the password (or
    /// password_command), or with an OAuth2 token — refreshed and tried once more when the server
    /// refuses it. A token that cannot be had is a temporary failure (the mail waits in the
    /// outbox) whose message is the one line the user acts on: "sign in again: …".
    pub fn connect_account(cfg: &ServerConfig, from_email: &str) -> Result<SmtpSession, SmtpError> {
        let binding = match (cfg.auth, &cfg.oauth2) {
            // No credentials configured: a relay that offers no AUTH takes the mail as it is.
            (AuthMethod::None, _) => return SmtpSession::connect(cfg, from_email, None),
            (AuthMethod::Password, _) if !cfg.has_password() => {
                return SmtpSession::connect(cfg, from_email, None)
            }
            (AuthMethod::Password, _) => {
                let password = credentials::password(cfg).map_err(|e| match e {
                    // "sign in again: …" is the whole line, as for OAuth2.
                    PasswordError::NotSaved { .. } => SmtpError::temporary(e.to_string()),
                    PasswordError::Other(e) => SmtpError::temporary(format!("SMTP password: {e}")),
                })?;
                return SmtpSession::connect(cfg, from_email, Some(&password));
            }
            (AuthMethod::Oauth2, None) => {
                return Err(SmtpError::temporary(
                    "auth = \"oauth2\" but the account has no [oauth2] section",
                ))
            }
            (AuthMethod::Oauth2, Some(b)) => b,
        };
        let token_err = |e: oauth2::OAuth2Error| SmtpError::temporary(e.to_string());
        let mut token = oauth2::access_token(binding).map_err(token_err)?;
        let mut session = SmtpSession::connect(cfg, from_email, None)?;
        match session.auth_bearer(cfg, from_email, &token) {
            Ok(()) => return Ok(session),
            Err(e) if e.kind != FailureKind::Permanent => return Err(e),
            Err(e) => tracing::info!(
                account = %binding.account,
                "SMTP refused the access token ({}); refreshing it",
                e.message
            ),
        }
        token = oauth2::token_after_rejection(binding, &token).map_err(token_err)?;
        let mut session = SmtpSession::connect(cfg, from_email, None)?;
        session.auth_bearer(cfg, from_email, &token)?;
        Ok(session)
    }

    /// AUTH OAUTHBEARER (RFC 7628) when the server offers it, else XOAUTH2, with `token`. A
    /// refusal is Permanent for this token only; the caller decides whether a fresh one is worth
    /// a try.
    fn auth_bearer(
        &mut self,
        cfg: &ServerConfig,
        from_email: &str,
        token: &str,
    ) -> Result<(), SmtpError> {
        let mechanism = if self.offers_oauthbearer(from_email) {
            sasl::Mechanism::OAuthBearer
        } else if self
            .conn
            .server_info()
            .supports_auth_mechanism(Mechanism::Xoauth2)
        {
            sasl::Mechanism::XOauth2
        } else {
            return Err(SmtpError::temporary(format!(
                "{}:{} offers neither AUTH OAUTHBEARER nor XOAUTH2 (check smtp.auth)",
                cfg.host, cfg.port
            )));
        };
        let initial = mechanism.initial_response(&cfg.user, token, &cfg.host, cfg.port);
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(initial);
        let command = RawCommand(format!("AUTH {} {encoded}\r\n", mechanism.name()));
        let step = format!("AUTH {}", mechanism.name());
        match self.conn.command(command) {
            // 334 carries the server's JSON error; the mechanism's acknowledgement ends the
            // exchange (with 535).
            Ok(r)
                if r.code().severity
                    == lettre::transport::smtp::response::Severity::PositiveIntermediate =>
            {
                let ack = base64::engine::general_purpose::STANDARD.encode(mechanism.failure_ack());
                match self.conn.command(RawCommand(format!("{ack}\r\n"))) {
                    // 535 (permanent): this token is refused; a 4xx says nothing about it.
                    Err(e) => Err(SmtpError::classify(&step, &e)),
                    Ok(_) => Err(SmtpError {
                        kind: FailureKind::Permanent,
                        message: format!("{step}: the server did not accept the token"),
                    }),
                }
            }
            Ok(_) => Ok(()),
            Err(e) => Err(SmtpError::classify(&step, &e)),
        }
    }

    /// Whether the server offers AUTH OAUTHBEARER. lettre's EHLO parser keeps only the mechanisms
    /// it knows (not this one), so EHLO is sent again — allowed at any time, it only resets the
    /// transaction — and its lines are read here.
    fn offers_oauthbearer(&mut self, from_email: &str) -> bool {
        let ehlo = RawCommand(format!("EHLO {}\r\n", hello_name(from_email)));
        match self.conn.command(ehlo) {
            Ok(r) => r.message().any(|line| {
                let mut words = line.split_whitespace();
                words.next().is_some_and(|w| w.eq_ignore_ascii_case("AUTH"))
                    && words.any(|w| w.eq_ignore_ascii_case("OAUTHBEARER"))
            }),
            Err(_) => false,
        }
    }

    /// Connects, secures the connection as configured and logs in. `password` is the resolved
    /// secret (None = do not authenticate). A server that offers no AUTH at all is used without
    /// logging in; one that offers AUTH but none we speak is an error.
    pub fn connect(
        cfg: &ServerConfig,
        from_email: &str,
        password: Option<&str>,
    ) -> Result<SmtpSession, SmtpError> {
        let timeout = Some(Duration::from_secs(cfg.timeout_seconds.max(1)));
        let hello = hello_name(from_email);
        let implicit = match cfg.security {
            Security::Tls => Some(tls_parameters(cfg)?),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (cfg.host.as_str(), cfg.port),
            timeout,
            &hello,
            implicit.as_ref(),
            None,
        )
        .map_err(|e| {
            SmtpError::classify(&format!("connecting to {}:{}", cfg.host, cfg.port), &e)
        })?;
        if cfg.security == Security::Starttls {
            if !conn.can_starttls() {
                return Err(SmtpError::temporary(format!(
                    "{}:{} does not offer STARTTLS (security = \"starttls\")",
                    cfg.host, cfg.port
                )));
            }
            conn.starttls(&tls_parameters(cfg)?, &hello)
                .map_err(|e| SmtpError::classify("STARTTLS", &e))?;
        }
        if let Some(password) = password {
            let info = conn.server_info();
            let offered = [Mechanism::Plain, Mechanism::Login, Mechanism::Xoauth2]
                .into_iter()
                .any(|m| info.supports_auth_mechanism(m));
            if offered {
                let creds = Credentials::new(cfg.user.clone(), password.to_string());
                conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                    .map_err(|e| SmtpError::classify("AUTH", &e))?;
            }
        }
        Ok(SmtpSession { conn })
    }

    /// One SMTP transaction: MAIL FROM, RCPT TO for each recipient, then `before_data` (which
    /// must durably record that DATA is about to start; if it fails nothing is sent), then DATA
    /// and the message. A refusal of any recipient fails the whole transaction, so a mail never
    /// reaches only some of the people it names without the user knowing.
    pub fn send(
        &mut self,
        from: &str,
        recipients: &[String],
        raw: &[u8],
        before_data: &mut dyn FnMut() -> Result<(), String>,
    ) -> Result<(), SmtpError> {
        let parse = |a: &str| {
            a.parse::<Address>().map_err(|e| SmtpError {
                kind: FailureKind::Permanent,
                message: format!("{a:?} is not a valid address: {e}"),
            })
        };
        let from = crate::mail::compose::ascii_domain_address(from);
        let recipients: Vec<String> = recipients
            .iter()
            .map(|r| crate::mail::compose::ascii_domain_address(r))
            .collect();
        let sender = parse(&from)?;
        let rcpts = recipients
            .iter()
            .map(|r| parse(r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut options = Vec::new();
        let info = self.conn.server_info();
        if from
            .chars()
            .chain(recipients.iter().flat_map(|r| r.chars()))
            .any(|c| !c.is_ascii())
        {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(SmtpError {
                    kind: FailureKind::Permanent,
                    message: "an address is not ASCII and the server lacks SMTPUTF8".into(),
                });
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !raw.is_ascii() && info.supports_feature(Extension::EightBitMime) {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let result = self.transaction(sender, rcpts, options, raw, before_data);
        if result.is_err() {
            self.conn.abort();
        }
        result
    }

    fn transaction(
        &mut self,
        sender: Address,
        rcpts: Vec<Address>,
        options: Vec<MailParameter>,
        raw: &[u8],
        before_data: &mut dyn FnMut() -> Result<(), String>,
    ) -> Result<(), SmtpError> {
        self.conn
            .command(Mail::new(Some(sender), options))
            .map_err(|e| SmtpError::classify("MAIL FROM", &e))?;
        for r in rcpts {
            let shown = r.to_string();
            self.conn
                .command(Rcpt::new(r, vec![]))
                .map_err(|e| SmtpError::classify(&format!("RCPT TO <{shown}>"), &e))?;
        }
        before_data().map_err(|e| SmtpError::temporary(format!("recording the attempt: {e}")))?;
        self.conn
            .command(Data)
            .map_err(|e| SmtpError::classify("DATA", &e))?;
        // lettre ends the data with CRLF . CRLF; a message already ending in CRLF would
        // otherwise arrive with an extra empty line.
        let body = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        match self.conn.message(body) {
            Ok(_) => Ok(()),
            // A reply code is an answer: the server says it did not take the mail.
            Err(e) if e.status().is_some() => Err(SmtpError::classify("end of DATA", &e)),
            Err(e) => Err(SmtpError {
                kind: FailureKind::Unknown,
                message: format!(
                    "the connection failed after the mail was transmitted, before the server \
                     confirmed it ({})",
                    describe(&e)
                ),
            }),
        }
    }

    /// Says goodbye; errors are irrelevant once the mail is delivered.
    pub fn quit(mut self) {
        let _ = self.conn.quit();
    }
}
