//! The two ways to sign in. In a browser: the authorization-code flow with PKCE, the answer
//! coming back to a one-shot HTTP listener on 127.0.0.1 at a random port (RFC 8252 §7.3). Over
//! SSH: the device-authorization flow (RFC 8628), where the user types a code on another device.
//! Both save the tokens they get and say where.

use super::{client, endpoints, save, saved_from, scopes, server_error, OAuth2Error};
use crate::config::OAuth2Binding;
use crate::secrets::Place;
use oauth2::{
    AuthorizationCode, CsrfToken, DeviceAuthorizationUrl, PkceCodeChallenge, RedirectUrl,
    StandardDeviceAuthorizationResponse,
};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// How long a sign-in waits for the user before giving up.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(600);
/// The browser's request to the loopback listener: a request line and headers, nothing more.
const MAX_REDIRECT_REQUEST: usize = 16 * 1024;
/// A connection to the listener that says nothing for this long is dropped.
const REDIRECT_READ_TIMEOUT: Duration = Duration::from_secs(10);

fn login_error(b: &OAuth2Binding, message: impl Into<String>) -> OAuth2Error {
    OAuth2Error::Login {
        account: b.account.clone(),
        message: message.into(),
    }
}

/// Signs in through the browser. `out` gets the URL to open (printed, and handed to xdg-open or
/// open when `open_browser` and one exists).
pub fn login_in_browser(
    b: &OAuth2Binding,
    out: &mut dyn Write,
    open_browser: bool,
) -> Result<Place, OAuth2Error> {
    let e = endpoints(&b.settings);
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|err| login_error(b, format!("cannot listen on 127.0.0.1: {err}")))?;
    let port = listener
        .local_addr()
        .map_err(|err| login_error(b, err.to_string()))?
        .port();
    let redirect = format!("http://127.0.0.1:{port}/");
    let client = client(b, &e)?.set_redirect_uri(
        RedirectUrl::new(redirect).map_err(|err| login_error(b, err.to_string()))?,
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes(&e))
        .set_pkce_challenge(challenge);
    for (k, v) in &e.extra_auth_params {
        request = request.add_extra_param(*k, *v);
    }
    let (url, state) = request.url();
    let _ = writeln!(out, "Open this URL in a browser to sign in to {}:", b.email);
    let _ = writeln!(out, "url: {url}");
    let _ = out.flush();
    if open_browser {
        open_in_browser(url.as_str());
    }
    let code = wait_for_code(b, &listener, state.secret())?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request(&super::http::TokenHttp)
        .map_err(|err| server_error(b, "code exchange", &e.token_url, err))?;
    finish(b, &tokens)
}

/// Tries xdg-open (Linux, BSD) or open (macOS); the printed URL is the fallback either way.
fn open_in_browser(url: &str) {
    for opener in ["xdg-open", "open"] {
        let started = std::process::Command::new(opener)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if started.is_ok() {
            return;
        }
    }
}

/// Serves the loopback listener until the browser brings the code for `state`: anything else
/// (a favicon, a forged or stale answer) gets an error page and the wait goes on.
fn wait_for_code(
    b: &OAuth2Binding,
    listener: &TcpListener,
    state: &str,
) -> Result<String, OAuth2Error> {
    listener
        .set_nonblocking(true)
        .map_err(|err| login_error(b, err.to_string()))?;
    let deadline = Instant::now() + LOGIN_TIMEOUT;
    loop {
        if Instant::now() > deadline {
            return Err(login_error(
                b,
                "no answer from the browser in time; run the login again",
            ));
        }
        let mut stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            Err(e) => return Err(login_error(b, e.to_string())),
        };
        let Some(target) = read_request_target(&mut stream) else {
            continue;
        };
        match answer_of(&target, state) {
            Answer::Code(code) => {
                respond(
                    &mut stream,
                    "200 OK",
                    "Signed in to tidings. You can close this tab.",
                );
                return Ok(code);
            }
            Answer::Refused(why) => {
                respond(
                    &mut stream,
                    "200 OK",
                    "Sign-in refused. You can close this tab.",
                );
                return Err(login_error(b, format!("the provider refused: {why}")));
            }
            Answer::Other => respond(&mut stream, "404 Not Found", "Not a sign-in answer."),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Code(String),
    Refused(String),
    Other,
}

/// The redirect's query: a code with our state, or the provider's error with our state.
fn answer_of(target: &str, state: &str) -> Answer {
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Answer::Other;
    };
    if url.path() != "/" {
        return Answer::Other;
    }
    let param = |k: &str| {
        url.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    // A request without our state is not this sign-in's answer (CSRF): ignored.
    if param("state").as_deref() != Some(state) {
        return Answer::Other;
    }
    if let Some(code) = param("code") {
        return Answer::Code(code);
    }
    match param("error") {
        Some(e) => {
            let detail = param("error_description").unwrap_or_default();
            Answer::Refused(crate::sanitize::sanitize_line(&format!("{e} {detail}")))
        }
        None => Answer::Other,
    }
}

/// The target of a `GET` request line, read with a bounded size and time.
fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(REDIRECT_READ_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(REDIRECT_READ_TIMEOUT)).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buf.len() + n > MAX_REDIRECT_REQUEST {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_string)
}

fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!("<!doctype html><title>tidings</title><p>{text}</p>\n");
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Signs in with a device code: prints `url: …` and `code: …` on lines of their own (scripts
/// read them), then polls until the user approves, refuses, or the code expires.
pub fn login_with_device_code(
    b: &OAuth2Binding,
    out: &mut dyn Write,
) -> Result<Place, OAuth2Error> {
    let e = endpoints(&b.settings);
    let Some(device_url) = e.device_authorization_url.clone() else {
        return Err(OAuth2Error::Config {
            account: b.account.clone(),
            message: "device_authorization_url is missing (needed for --device)".into(),
        });
    };
    let client = client(b, &e)?.set_device_authorization_url(
        DeviceAuthorizationUrl::new(device_url.clone()).map_err(|err| OAuth2Error::Config {
            account: b.account.clone(),
            message: format!("device_authorization_url: {err}"),
        })?,
    );
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes(&e))
        .request(&super::http::TokenHttp)
        .map_err(|err| server_error(b, "device authorization", &device_url, err))?;
    // The server's words go to a terminal: sanitized.
    let clean = crate::sanitize::sanitize_line;
    let _ = writeln!(
        out,
        "To sign in to {}, open the URL and enter the code:",
        b.email
    );
    let _ = writeln!(out, "url: {}", clean(details.verification_uri()));
    let _ = writeln!(out, "code: {}", clean(details.user_code().secret()));
    let _ = out.flush();
    let wait = details.expires_in().min(LOGIN_TIMEOUT);
    let tokens = client
        .exchange_device_access_token(&details)
        .request(&super::http::TokenHttp, std::thread::sleep, Some(wait))
        .map_err(|err| server_error(b, "device sign-in", &e.token_url, err))?;
    finish(b, &tokens)
}

fn finish<R: oauth2::TokenResponse>(b: &OAuth2Binding, r: &R) -> Result<Place, OAuth2Error> {
    let saved = saved_from(r, None);
    if saved.refresh_token.is_none() {
        tracing::warn!(account = %b.account, "the provider issued no refresh token: sign-in lasts until the access token expires");
    }
    let place = save(b, &saved)?;
    if let Some(cache) = super::TOKENS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_mut()
    {
        cache.insert(super::secret_key(b), saved);
    }
    tracing::info!(account = %b.account, "signed in with OAuth2");
    Ok(place)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_answer_with_our_state_counts() {
        assert_eq!(
            answer_of("/?code=abc&state=s1", "s1"),
            Answer::Code("abc".into())
        );
        assert_eq!(answer_of("/?code=abc&state=evil", "s1"), Answer::Other);
        assert_eq!(answer_of("/favicon.ico", "s1"), Answer::Other);
        assert!(matches!(
            answer_of("/?error=access_denied&state=s1", "s1"),
            Answer::Refused(_)
        ));
    }
}
