//! A real OAuth2 authorization server for tests: tests/support/oauth_server.py (Authlib) run by
//! /usr/bin/python3 on 127.0.0.1 — authorization code with PKCE, device code, refresh tokens and
//! token introspection, for one client and one user who approves at once. Dovecot's oauth2
//! passdb ([`OAuthServer::dovecot_conf`]) and the SMTP test server (`oauth_introspect`) check
//! tokens against it.

use std::path::Path;
use std::process::{Child, Command};

const PYTHON: &str = "/usr/bin/python3";
pub const CLIENT_ID: &str = "tidings-test";
pub const SCOPE: &str = "mail";

pub struct OAuthServer {
    child: Child,
    pub port: u16,
    /// The one user; Dovecot and the SMTP server see this name.
    pub user: String,
    dir: tempfile::TempDir,
}

impl OAuthServer {
    /// Starts the server; access tokens live `access_ttl` seconds.
    pub fn start(user: &str, access_ttl: u64) -> OAuthServer {
        super::require_python_module("authlib", "OAuth2", "python3-authlib");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/oauth_server.py");
        let (child, port) = super::spawn_server_printing_port(
            Command::new(PYTHON)
                .arg(&script)
                .args(["--user", user, "--client-id", CLIENT_ID, "--scope", SCOPE])
                .arg("--access-ttl")
                .arg(access_ttl.to_string()),
            "OAuth2 test server",
        );
        let dir = tempfile::Builder::new()
            .prefix("tidings-oauth-")
            .tempdir()
            .unwrap();
        OAuthServer {
            child,
            port,
            user: user.to_string(),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn introspection_url(&self) -> String {
        self.url("/introspect")
    }

    /// Lines for `Dovecot::start_with`: `mechanisms` (e.g. "xoauth2 oauthbearer") offered,
    /// tokens checked by introspection.
    pub fn dovecot_conf(&self, mechanisms: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let ext = self.dir.path().join("dovecot-oauth2.conf.ext");
        std::fs::write(
            &ext,
            format!(
                "introspection_mode = post\nintrospection_url = {}\n\
                 username_attribute = username\nactive_attribute = active\nactive_value = true\n",
                self.introspection_url()
            ),
        )
        .unwrap();
        // Dovecot's auth process reads it after dropping privileges.
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&ext, std::fs::Permissions::from_mode(0o644)).unwrap();
        format!(
            "auth_mechanisms = plain login {mechanisms}\n\
             passdb {{\n  driver = oauth2\n  mechanisms = {mechanisms}\n  args = {}\n}}\n",
            ext.display()
        )
    }

    /// The `[accounts.NAME.oauth2]` section for this server (a custom provider).
    pub fn config_section(&self) -> String {
        format!(
            "provider = \"custom\"\nclient_id = \"{CLIENT_ID}\"\n\
             authorization_url = \"{}\"\ntoken_url = \"{}\"\n\
             device_authorization_url = \"{}\"\nscopes = [\"{SCOPE}\"]\n",
            self.url("/authorize"),
            self.url("/token"),
            self.url("/device_authorization"),
        )
    }

    fn post(&self, path: &str, form: &str) -> String {
        let (status, _, body) = request("POST", &self.url(path), form);
        assert_eq!(status, 200, "POST {path}: {body}");
        body
    }

    /// The user approves the device code `user_code` (what they would type in the browser).
    pub fn approve(&self, user_code: &str) {
        self.post("/test/approve", &format!("user_code={user_code}"));
    }

    /// Revokes every access token issued so far; refresh tokens keep working.
    pub fn revoke_access_tokens(&self) {
        self.post("/test/revoke-access", "");
    }

    /// Revokes every token issued so far, refresh tokens included.
    pub fn revoke_all(&self) {
        self.post("/test/revoke", "");
    }

    /// How many tokens each grant type has issued (`authorization_code`, `refresh_token`, …).
    pub fn issued(&self, grant_type: &str) -> u64 {
        let (_, _, body) = request("GET", &self.url("/test/tokens"), "");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v[grant_type].as_u64().unwrap_or(0)
    }
}

/// One HTTP/1.0 request to a 127.0.0.1 URL (the servers here close after answering): the
/// status, the Location header if any, and the body. What a browser does, minus the rendering.
pub fn request(method: &str, url: &str, form: &str) -> (u16, Option<String>, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut s = std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("{url}: {e}"));
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status from {url}: {head:?}"));
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    (status, location, body.to_string())
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
