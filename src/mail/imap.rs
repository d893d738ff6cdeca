//! One authenticated IMAP connection: TCP with connect/read/write timeouts, then TLS, STARTTLS or
//! plain text as the account's `security` says, then LOGIN (or AUTHENTICATE with an OAuth2 token:
//! OAUTHBEARER where offered, else XOAUTH2) and CAPABILITY. Errors name the server, the user and
//! what to check in the config file. The password and the token are never logged.
//!
//! The `imap` crate is blocking; callers run it on their own threads (see `sync::spawn_watcher`).

use super::credentials::{self, PasswordError};
use super::oauth2::{self, sasl, OAuth2Error};
use crate::config::{AuthMethod, OAuth2Binding, Security, ServerConfig};
use imap::extensions::idle::SetReadTimeout;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub type Session = imap::Session<ImapStream>;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("{addr}: cannot connect: {reason} (check imap.host and imap.port in {config})")]
    Connect {
        addr: String,
        reason: String,
        config: PathBuf,
    },
    #[error("{addr}: TLS failed: {reason} (check imap.security in {config}; accept_invalid_certs = true only for a test server)")]
    Tls {
        addr: String,
        reason: String,
        config: PathBuf,
    },
    #[error("{addr}: login failed for {user}: {reason} (check {hint} in {config})")]
    Login {
        addr: String,
        user: String,
        reason: String,
        hint: &'static str,
        config: PathBuf,
    },
    /// OAuth2 could not give a token; "sign in again: …" when only the user can fix it.
    #[error(transparent)]
    OAuth2(#[from] OAuth2Error),
    // The server's words are hostile bytes: sanitized before they reach a terminal.
    #[error("{addr}: {context}: {}", describe(source))]
    Protocol {
        addr: String,
        context: String,
        #[source]
        source: Box<imap::Error>,
    },
}

/// The `imap` crate reports a completion line that `imap-proto` cannot parse as `Bye` with no
/// text (a real BYE is untagged, which it skips, then the connection closes). In practice that
/// is a NO/BAD whose human text holds 8-bit bytes — Dovecot quotes a folder's decoded UTF-8 name
/// in "NO [TRYCREATE] Mailbox doesn't exist: Архив" — so it is a refusal too.
fn is_unreadable_completion(e: &imap::Error) -> bool {
    matches!(e, imap::Error::Bye(b) if b.code.is_none())
}

fn describe(e: &imap::Error) -> String {
    if is_unreadable_completion(e) {
        return "the server refused it (its reply could not be read)".into();
    }
    crate::sanitize::sanitize_line(&e.to_string())
}

impl ImapError {
    /// True when the server answered NO/BAD to a command: retrying the same command will not help.
    pub fn is_refusal(&self) -> bool {
        match self {
            ImapError::Protocol { source, .. } => {
                matches!(**source, imap::Error::No(_) | imap::Error::Bad(_))
                    || is_unreadable_completion(source)
            }
            _ => false,
        }
    }
}

/// What the server can do, from CAPABILITY after login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub condstore: bool,
    /// QRESYNC (RFC 7162): a resync learns expunges as VANISHED instead of listing every UID.
    pub qresync: bool,
    pub idle: bool,
    pub mv: bool,
    pub uidplus: bool,
    pub special_use: bool,
    /// X-GM-EXT-1: Gmail, which files what its SMTP server sends in Sent by itself.
    pub gmail: bool,
}

/// A TCP or TLS stream whose reads and writes time out. `set_read_timeout(None)` (which the imap
/// crate calls after IDLE) restores the command timeout instead of blocking forever.
pub struct ImapStream {
    kind: StreamKind,
    timeout: Duration,
    answer: AnswerBudget,
}

/// The largest answer to one command read: more is a hostile server (a literal announced as
/// `{4000000000}`), not mail — sync chunks hold 32 MiB, and no single mail comes near this.
pub const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;
/// After a grace of two timeouts, an answer must average at least this rate: each read is
/// bounded by the timeout, but a server trickling a byte a second would hold a FETCH for ever.
pub const MIN_ANSWER_BYTES_PER_SECOND: u64 = 4 * 1024;

/// What the server has sent since our last command, and when that command went out.
struct AnswerBudget {
    since: std::time::Instant,
    bytes: u64,
    grace: Duration,
}

impl AnswerBudget {
    fn new(grace: Duration) -> AnswerBudget {
        AnswerBudget {
            since: std::time::Instant::now(),
            bytes: 0,
            grace,
        }
    }

    /// An error once the answer is too large, or too slow for the bytes it has brought.
    fn check(&self) -> io::Result<()> {
        if self.bytes > MAX_ANSWER_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the server's answer to one command exceeds {} MiB",
                    MAX_ANSWER_BYTES / (1024 * 1024)
                ),
            ));
        }
        let earned = Duration::from_secs(self.bytes / MIN_ANSWER_BYTES_PER_SECOND);
        let elapsed = self.since.elapsed();
        if elapsed > self.grace + earned {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the server's answer is too slow ({} bytes in {} s)",
                    self.bytes,
                    elapsed.as_secs()
                ),
            ));
        }
        Ok(())
    }
}

impl ImapStream {
    fn new(kind: StreamKind, timeout: Duration) -> ImapStream {
        ImapStream {
            kind,
            timeout,
            answer: AnswerBudget::new(2 * timeout),
        }
    }
}

enum StreamKind {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl ImapStream {
    fn tcp(&self) -> &TcpStream {
        match &self.kind {
            StreamKind::Plain(t) => t,
            StreamKind::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for ImapStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.answer.check()?;
        let n = match &mut self.kind {
            StreamKind::Plain(t) => t.read(buf),
            StreamKind::Tls(s) => s.read(buf),
        }?;
        self.answer.bytes += n as u64;
        Ok(n)
    }
}

impl Write for ImapStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A command (or a literal of one) starts a new answer.
        if !buf.is_empty() {
            self.answer = AnswerBudget::new(2 * self.timeout);
        }
        match &mut self.kind {
            StreamKind::Plain(t) => t.write(buf),
            StreamKind::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.kind {
            StreamKind::Plain(t) => t.flush(),
            StreamKind::Tls(s) => s.flush(),
        }
    }
}

impl SetReadTimeout for ImapStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> imap::Result<()> {
        // IDLE waits this long for news before it is reissued: the wait is no slow answer.
        if let Some(wait) = timeout {
            self.answer = AnswerBudget::new(wait + 2 * self.timeout);
        }
        self.tcp()
            .set_read_timeout(Some(timeout.unwrap_or(self.timeout)))
            .map_err(imap::Error::Io)
    }
}

/// A handle that can cut a connection from another thread (to stop a blocked IDLE at once).
#[derive(Debug)]
pub struct Interrupter(TcpStream);

impl Interrupter {
    pub fn interrupt(&self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

/// An open, logged-in session with what the server offers.
pub struct Connection {
    pub session: Session,
    pub caps: Capabilities,
    /// `host:port`, for error messages.
    pub addr: String,
    interrupter: TcpStream,
}

impl Connection {
    /// Wraps an imap error with the server address and what we were doing.
    pub fn err(&self, context: impl Into<String>) -> impl FnOnce(imap::Error) -> ImapError + '_ {
        let context = context.into();
        move |source| ImapError::Protocol {
            addr: self.addr.clone(),
            context,
            source: Box::new(source),
        }
    }

    pub fn interrupter(&self) -> io::Result<Interrupter> {
        Ok(Interrupter(self.interrupter.try_clone()?))
    }

    pub fn logout(mut self) {
        let _ = self.session.logout();
    }
}

/// Connects, secures, logs in and reads capabilities. `config_path` only appears in error messages.
pub fn connect(server: &ServerConfig, config_path: &Path) -> Result<Connection, ImapError> {
    connect_with_interrupter(server, config_path, |_| {})
}

/// Like [`connect`], handing an [`Interrupter`] to `hand_over` as soon as the TCP connection is
/// up, so another thread can cut a server that trickles bytes during TLS or login (each read
/// is bounded by the timeout, the whole exchange is not).
pub fn connect_with_interrupter(
    server: &ServerConfig,
    config_path: &Path,
    hand_over: impl FnOnce(Interrupter),
) -> Result<Connection, ImapError> {
    let addr = format!("{}:{}", server.host, server.port);
    let timeout = Duration::from_secs(server.timeout_seconds.max(1));
    let config = config_path.to_path_buf();
    let connect_err = |reason: String| ImapError::Connect {
        addr: addr.clone(),
        reason,
        config: config.clone(),
    };
    let tls_err = |reason: String| ImapError::Tls {
        addr: addr.clone(),
        reason,
        config: config.clone(),
    };
    let proto_err = |context: &str| {
        let addr = addr.clone();
        let context = context.to_string();
        move |source| ImapError::Protocol {
            addr,
            context,
            source: Box::new(source),
        }
    };

    let tcp = open_tcp(&server.host, server.port, timeout).map_err(connect_err)?;
    let interrupter = tcp.try_clone().map_err(|e| connect_err(e.to_string()))?;
    hand_over(Interrupter(
        interrupter
            .try_clone()
            .map_err(|e| connect_err(e.to_string()))?,
    ));
    let stream = match server.security {
        Security::None => ImapStream::new(StreamKind::Plain(tcp), timeout),
        Security::Tls => ImapStream::new(
            StreamKind::Tls(Box::new(
                tls_handshake(tcp, &server.host, server.accept_invalid_certs).map_err(tls_err)?,
            )),
            timeout,
        ),
        Security::Starttls => {
            let tcp = starttls_exchange(tcp).map_err(tls_err)?;
            ImapStream::new(
                StreamKind::Tls(Box::new(
                    tls_handshake(tcp, &server.host, server.accept_invalid_certs)
                        .map_err(tls_err)?,
                )),
                timeout,
            )
        }
    };
    let mut client = imap::Client::new(stream);
    // After STARTTLS the greeting has already been consumed on the plain socket.
    if server.security != Security::Starttls {
        let greeting = client
            .read_greeting()
            .map_err(|e| connect_err(format!("no IMAP greeting: {e}")))?;
        if greeting.starts_with(b"* BYE") {
            return Err(connect_err(format!(
                "server refused the connection: {}",
                crate::sanitize::sanitize_line(&String::from_utf8_lossy(&greeting))
            )));
        }
    }
    let login_err = |reason: String, hint: &'static str| ImapError::Login {
        addr: addr.clone(),
        user: server.user.clone(),
        reason,
        hint,
        config: config.clone(),
    };
    let mut session = match (server.auth, &server.oauth2) {
        (AuthMethod::Oauth2, Some(binding)) => authenticate_oauth2(client, server, binding)
            .map_err(|e| match e {
                AuthFailure::Io(e) => proto_err("AUTHENTICATE")(e),
                AuthFailure::Refused(reason) => {
                    login_err(reason, "imap.user and the account's [oauth2] section")
                }
                AuthFailure::Token(e) => ImapError::OAuth2(e),
            })?,
        (AuthMethod::Oauth2, None) => {
            return Err(login_err(
                "auth = \"oauth2\" but the account has no [oauth2] section".into(),
                "the account's [oauth2] section",
            ))
        }
        // The config refuses it for IMAP; said here too so no path logs in without a sign-in.
        (AuthMethod::None, _) => {
            return Err(login_err(
                "auth = \"none\" is for SMTP relays; IMAP needs a sign-in".into(),
                "imap.auth",
            ))
        }
        (AuthMethod::Password, _) => {
            let password = credentials::password(server).map_err(|e| match e {
                // The same line, and the same handling, as a lapsed OAuth2 sign-in.
                PasswordError::NotSaved { account } => {
                    ImapError::OAuth2(OAuth2Error::SignInAgain { account })
                }
                PasswordError::Other(reason) => login_err(reason, "imap.password_command"),
            })?;
            client.login(&server.user, &password).map_err(|(e, _)| {
                // A connection that failed or stalled says nothing about the password.
                if let imap::Error::Io(_) = e {
                    return proto_err("LOGIN")(e);
                }
                let reason = match &e {
                    imap::Error::No(no) => crate::sanitize::sanitize_line(&no.information),
                    other => other.to_string(),
                };
                let hint = if server.password.is_some() {
                    "imap.user and imap.password"
                } else if server.password_source.is_some() {
                    "imap.user, or save the new password with `tidings account login`,"
                } else {
                    "imap.user and imap.password_command"
                };
                login_err(reason, hint)
            })?
        }
    };
    let caps = {
        let c = session.capabilities().map_err(proto_err("CAPABILITY"))?;
        Capabilities {
            condstore: c.has_str("CONDSTORE") || c.has_str("QRESYNC"),
            qresync: c.has_str("QRESYNC"),
            idle: c.has_str("IDLE"),
            mv: c.has_str("MOVE"),
            uidplus: c.has_str("UIDPLUS"),
            special_use: c.has_str("SPECIAL-USE"),
            gmail: c.has_str("X-GM-EXT-1"),
        }
    };
    if caps.condstore {
        // With CONDSTORE enabled every SELECT reports HIGHESTMODSEQ and FETCH reports MODSEQ.
        let enable = if caps.qresync {
            "ENABLE CONDSTORE QRESYNC"
        } else {
            "ENABLE CONDSTORE"
        };
        session
            .run_command_and_check_ok(enable)
            .map_err(proto_err(enable))?;
    }
    tracing::debug!(%addr, user = %server.user, ?caps, "IMAP logged in");
    Ok(Connection {
        session,
        caps,
        addr,
        interrupter,
    })
}

enum AuthFailure {
    Io(imap::Error),
    /// The server said NO twice: with the token we had and with a freshly refreshed one.
    Refused(String),
    Token(OAuth2Error),
}

/// Answers the server's SASL challenges: the first with the token message, any later one (the
/// JSON error that a refusal starts with) with the mechanism's acknowledgement, so the server
/// says NO instead of waiting.
struct BearerAuthenticator {
    initial: String,
    failure_ack: &'static str,
    answered: std::cell::Cell<bool>,
}

impl imap::Authenticator for BearerAuthenticator {
    type Response = String;
    fn process(&self, _challenge: &[u8]) -> String {
        if self.answered.replace(true) {
            self.failure_ack.to_string()
        } else {
            self.initial.clone()
        }
    }
}

/// AUTHENTICATE with the account's access token; when the server refuses it, once more with a
/// refreshed token (it may have been revoked early or the clock be off).
fn authenticate_oauth2(
    mut client: imap::Client<ImapStream>,
    server: &ServerConfig,
    binding: &OAuth2Binding,
) -> Result<Session, AuthFailure> {
    let caps = client.capabilities().map_err(AuthFailure::Io)?;
    let mechanism = sasl::Mechanism::choose(caps.has_str("AUTH=OAUTHBEARER"));
    drop(caps);
    let mut token = oauth2::access_token(binding).map_err(AuthFailure::Token)?;
    let mut refreshed = false;
    loop {
        let auth = BearerAuthenticator {
            initial: mechanism.initial_response(&server.user, &token, &server.host, server.port),
            failure_ack: mechanism.failure_ack(),
            answered: std::cell::Cell::new(false),
        };
        match client.authenticate(mechanism.name(), &auth) {
            Ok(session) => return Ok(session),
            Err((imap::Error::Io(e), _)) => return Err(AuthFailure::Io(imap::Error::Io(e))),
            Err((e, back)) => {
                let reason = match &e {
                    imap::Error::No(no) => crate::sanitize::sanitize_line(&no.information),
                    other => crate::sanitize::sanitize_line(&other.to_string()),
                };
                if refreshed {
                    return Err(AuthFailure::Refused(reason));
                }
                tracing::info!(account = %binding.account, "IMAP refused the access token ({reason}); refreshing it");
                refreshed = true;
                client = back;
                token =
                    oauth2::token_after_rejection(binding, &token).map_err(AuthFailure::Token)?;
            }
        }
    }
}

fn open_tcp(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = format!("{host} resolved to no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(tcp) => {
                let setup = || -> io::Result<()> {
                    tcp.set_read_timeout(Some(timeout))?;
                    tcp.set_write_timeout(Some(timeout))?;
                    tcp.set_nodelay(true)
                };
                setup().map_err(|e| e.to_string())?;
                return Ok(tcp);
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// Reads the greeting and upgrades with STARTTLS on the raw socket, byte by byte, so that no
/// plain-text bytes are buffered past the server's OK (anything after it must be TLS).
fn starttls_exchange(tcp: TcpStream) -> Result<TcpStream, String> {
    let mut reader = BufReader::with_capacity(1, tcp);
    let mut line = String::new();
    let read_line = |reader: &mut BufReader<TcpStream>, line: &mut String| {
        line.clear();
        let mut limited = reader.take(8192);
        limited
            .read_line(line)
            .map_err(|e| format!("reading from the server: {e}"))
    };
    read_line(&mut reader, &mut line)?;
    if !line.starts_with("* OK") {
        return Err(format!(
            "unexpected greeting {:?}",
            crate::sanitize::sanitize_line(&line)
        ));
    }
    reader
        .get_mut()
        .write_all(b"s0 STARTTLS\r\n")
        .map_err(|e| e.to_string())?;
    loop {
        if read_line(&mut reader, &mut line)? == 0 {
            return Err("connection closed during STARTTLS".into());
        }
        if line.starts_with("s0 ") {
            if line.starts_with("s0 OK") {
                break;
            }
            return Err(format!(
                "server refused STARTTLS: {} (try security = \"tls\" or \"none\")",
                crate::sanitize::sanitize_line(&line)
            ));
        }
    }
    Ok(reader.into_inner())
}

fn tls_handshake(
    mut tcp: TcpStream,
    host: &str,
    accept_invalid_certs: bool,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host} is not a valid TLS server name: {e}"))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
    }
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// Skips certificate checks (the user asked for it with `accept_invalid_certs`) but still checks
/// that the server holds the key of the certificate it showed.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Quotes a mailbox name or search string as an IMAP quoted string; rejects line breaks, which
/// cannot be quoted and would let a name inject commands.
pub fn quote(s: &str) -> Option<String> {
    if s.contains(['\r', '\n', '\0']) {
        return None;
    }
    Some(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// Compresses sorted UIDs into an IMAP sequence set: `1:4,7,9:10`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 4, 7, 9, 10]), "1:4,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn quoting_escapes_and_refuses_line_breaks() {
        assert_eq!(quote(r#"a"b\c"#).unwrap(), r#""a\"b\\c""#);
        assert!(quote("x\r\nA1 LOGOUT").is_none());
    }
}
