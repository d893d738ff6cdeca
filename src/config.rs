//! Typed configuration: where the config and data live (XDG), what a config file may say, and how a
//! password is obtained. Everything that reads settings goes through [`Config`]; nothing else parses TOML.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read config: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: accounts.{account}.{key}: {message}")]
    Account {
        path: PathBuf,
        account: String,
        key: String,
        message: String,
    },
    #[error(
        "no home directory found: set XDG_CONFIG_HOME/XDG_DATA_HOME or pass --config/--data-dir"
    )]
    NoHome,
}

/// The whole config file. Unknown keys are errors: a typo in a setting should never be silently ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountConfig>,
    /// Theme name: a file `NAME.toml` in the user's themes dir or the shipped `themes/`.
    #[serde(default)]
    pub theme: Option<String>,
    /// Key bindings: action name → one key or a list of keys (e.g. `archive = "a"`, `down = ["j", "Down"]`).
    #[serde(default)]
    pub keys: BTreeMap<String, KeySpec>,
    #[serde(default)]
    pub ui: UiConfig,
    #[serde(default)]
    pub sync: SyncConfig,
    #[serde(default)]
    pub tracking: TrackingConfig,
    #[serde(default)]
    pub notifications: NotificationsConfig,
    #[serde(default)]
    pub superdata: SuperdataConfig,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl KeySpec {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeySpec::One(k) => vec![k.as_str()],
            KeySpec::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub email: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// None for a send-only account (the demo's): nothing is synced, and the Sent copy of what
    /// it sends is filed in the local cache instead of on a server.
    #[serde(default)]
    pub imap: Option<ServerConfig>,
    #[serde(default)]
    pub smtp: Option<ServerConfig>,
    /// Appended to new mail below "-- ".
    #[serde(default)]
    pub signature: Option<String>,
    /// Folder names for roles when the server does not advertise SPECIAL-USE.
    #[serde(default)]
    pub folders: FolderOverrides,
    /// Set for servers that file sent mail themselves (Gmail): no APPEND to Sent after sending.
    #[serde(default)]
    pub server_saves_sent: Option<bool>,
    /// `[accounts.NAME.tracking]`: what this account does differently from `[tracking]`.
    #[serde(default)]
    pub tracking: Option<AccountTrackingConfig>,
    /// `[accounts.NAME.oauth2]`: the OAuth2 client for servers with `auth = "oauth2"`.
    #[serde(default)]
    pub oauth2: Option<OAuth2Config>,
}

/// How tidings signs in to a server: `auth = "password"` (the default), `"oauth2"`, or — for an
/// SMTP server that relays without AUTH (a LAN smarthost, a local MTA) — `"none"`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    #[default]
    Password,
    Oauth2,
    None,
}

/// Whose authorization server issues the tokens: built-in endpoints and scopes for Google and
/// Microsoft, or `custom` with every URL given.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OAuth2Provider {
    Google,
    Microsoft,
    Custom,
}

/// `[accounts.NAME.oauth2]`. tidings ships no client id: the user registers one (docs/accounts.md).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    pub provider: OAuth2Provider,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub client_secret_command: Option<String>,
    /// `"keyring"`: the client secret `tidings account add` saved.
    #[serde(default)]
    pub client_secret_source: Option<SecretSource>,
    /// Required for `custom`; overrides the built-in endpoint otherwise.
    #[serde(default)]
    pub authorization_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    /// For `tidings account login NAME --device` (RFC 8628).
    #[serde(default)]
    pub device_authorization_url: Option<String>,
    /// Replaces the provider's built-in scopes.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Microsoft only: the directory (tenant) id or domain; default `common`.
    #[serde(default)]
    pub tenant: Option<String>,
}

// Hand-written so a client secret can never reach a log through `{:?}`.
impl fmt::Debug for OAuth2Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Config")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_secret_command", &self.client_secret_command)
            .field("client_secret_source", &self.client_secret_source)
            .field("authorization_url", &self.authorization_url)
            .field("token_url", &self.token_url)
            .field("device_authorization_url", &self.device_authorization_url)
            .field("scopes", &self.scopes)
            .field("tenant", &self.tenant)
            .finish()
    }
}

impl OAuth2Config {
    /// The client `client_id` of `provider`, with every other key left out.
    pub fn new(provider: OAuth2Provider, client_id: String) -> OAuth2Config {
        OAuth2Config {
            provider,
            client_id,
            client_secret: None,
            client_secret_command: None,
            client_secret_source: None,
            authorization_url: None,
            token_url: None,
            device_authorization_url: None,
            scopes: None,
            tenant: None,
        }
    }

    /// The client secret from `client_secret` or `client_secret_command`; `Ok(None)` for a
    /// public client (the usual case for a desktop app with PKCE). (A `client_secret_source` is
    /// read by `mail::oauth2`, which knows the keyring.)
    pub fn resolve_client_secret(&self) -> Result<Option<String>, String> {
        if let Some(s) = self.client_secret.as_deref().filter(|s| !s.is_empty()) {
            return Ok(Some(s.to_string()));
        }
        match &self.client_secret_command {
            Some(cmd) => secret_from_command(cmd, "oauth2.client_secret_command").map(Some),
            None => Ok(None),
        }
    }
}

/// What a server with `auth = "oauth2"` needs to get a token: filled in by [`Config::parse`]
/// (the account and its `[oauth2]` section) and [`Config::bind_data_dir`] (where tokens live).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Binding {
    /// The account's name in the config: tokens are saved under it.
    pub account: String,
    pub email: String,
    pub settings: OAuth2Config,
    /// The data dir holding the secrets file when there is no keyring; None until bound.
    pub data_dir: Option<PathBuf>,
}

/// Per-account overrides of `[tracking]`; a key left out keeps the `[tracking]` value. Most
/// people share one tracker across accounts and override only the defaults and consent; a team
/// member whose work account reports to the team's tracker sets `base_url` and a token here.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountTrackingConfig {
    pub base_url: Option<String>,
    pub api_token: Option<String>,
    pub api_token_command: Option<String>,
    pub track_opens: Option<bool>,
    pub track_links: Option<bool>,
    pub require_consent: Option<bool>,
    pub opt_out_link: Option<bool>,
}

// Hand-written so an API token can never reach a log through `{:?}`.
impl fmt::Debug for AccountTrackingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountTrackingConfig")
            .field("base_url", &self.base_url)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderOverrides {
    pub sent: Option<String>,
    pub drafts: Option<String>,
    pub trash: Option<String>,
    pub archive: Option<String>,
    pub junk: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    /// Required for IMAP; an SMTP server that offers no AUTH needs none.
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_command: Option<String>,
    /// `"keyring"`: the password tidings saved itself (`account add`, `account login`).
    #[serde(default)]
    pub password_source: Option<SecretSource>,
    /// `"password"` (default) or `"oauth2"` (then `[accounts.NAME.oauth2]` says how).
    #[serde(default)]
    pub auth: AuthMethod,
    /// Set for `password_source = "keyring"` after parsing; not a config-file key.
    #[serde(skip)]
    pub saved_password: Option<SavedPassword>,
    /// Set for `auth = "oauth2"` after parsing; not a config-file key.
    #[serde(skip)]
    pub oauth2: Option<OAuth2Binding>,
    /// Accept self-signed/invalid certificates. Only for test servers on loopback.
    #[serde(default)]
    pub accept_invalid_certs: bool,
    /// Seconds before a connect or a command gives up.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    30
}

// Hand-written so a password can never reach a log through `{:?}`.
impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_command", &self.password_command)
            .field("password_source", &self.password_source)
            .field("auth", &self.auth)
            .finish()
    }
}

/// Where a password or client secret comes from besides the config itself and a command.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SecretSource {
    /// The system keyring, else the private secrets file in the data dir (`crate::secrets`).
    Keyring,
}

/// Which saved password a `password_source = "keyring"` server reads: filled in by
/// [`Config::parse`] (the account) and [`Config::bind_data_dir`] (the fallback file's dir).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedPassword {
    pub account: String,
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    #[default]
    Tls,
    Starttls,
    None,
}

impl ServerConfig {
    /// True when the config says where the password comes from (it may still fail to come).
    pub fn has_password(&self) -> bool {
        self.password.is_some() || self.password_command.is_some() || self.password_source.is_some()
    }

    /// The password, from `password` or by running `password_command` with `sh -c`. (A
    /// `password_source` is read by `mail::credentials`, which knows the keyring.)
    pub fn resolve_password(&self) -> Result<String, String> {
        if let Some(p) = &self.password {
            return Ok(p.clone());
        }
        let Some(cmd) = &self.password_command else {
            return Err("neither password nor password_command is set".into());
        };
        secret_from_command(cmd, "password_command")
    }
}

/// Runs a secret command (`password_command`, `api_token_command`) with `sh -c` and returns the
/// first line it prints, trimmed — `pass` prints metadata below the secret. Its stderr is never
/// echoed: a failing secret tool may print what it was asked for. `key` names the setting in errors.
pub fn secret_from_command(cmd: &str, key: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{key} could not run: {e}"))?;
    if !out.status.success() {
        return Err(format!("{key} exited with {}", out.status));
    }
    let text = String::from_utf8(out.stdout)
        .map_err(|_| format!("{key} printed something that is not UTF-8"))?;
    match text.lines().next().map(str::trim) {
        Some(line) if !line.is_empty() => Ok(line.to_string()),
        _ => Err(format!("{key} printed nothing")),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Show threads (conversations) instead of a flat list at start.
    pub threads: bool,
    /// Mouse capture (click to select, wheel to scroll).
    pub mouse: bool,
    /// The command that opens links (the URL is its last argument; no shell): default
    /// `xdg-open`, or `open` on macOS.
    pub opener: Option<String>,
    /// Copy through the terminal (OSC 52, works over SSH) instead of a clipboard tool.
    pub osc52: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            threads: false,
            mouse: true,
            opener: None,
            osc52: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Messages fetched per round trip on a first sync.
    pub chunk_size: u32,
    /// Seconds between polls when the server has no IDLE (and the IDLE re-issue interval).
    pub poll_seconds: u64,
    /// Bodies larger than this are stored truncated for search only; the raw message is kept whole.
    pub max_message_bytes: u64,
    /// Which bodies a sync downloads after the envelopes (the rest are fetched when opened).
    pub bodies: BodyPolicy,
    /// With `bodies = "recent"`: messages that reached the server in the last this many days.
    pub body_days: u32,
    /// List folders that are only views of other folders' mail — SPECIAL-USE `\Flagged` and
    /// `\Important` (Gmail's Starred and Important) — as folders of their own. Off: starred is
    /// the flagged state, and All Mail already holds every message.
    pub view_folders: bool,
}

/// Which message bodies the background sync downloads; a message whose body is not cached is
/// fetched when it is opened, shown or saved, whatever the policy.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BodyPolicy {
    /// Every body, newest first: the whole mailbox readable and searchable offline.
    All,
    /// Bodies of mail that arrived within `body_days` (by the server's INTERNALDATE).
    #[default]
    Recent,
    /// No body until it is opened: envelopes only.
    OnDemand,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            chunk_size: 500,
            poll_seconds: 120,
            max_message_bytes: 50 * 1024 * 1024,
            // See docs/sync.md: three months covers what a daily user opens and searches
            // without downloading ten years of mail before the first day's work.
            bodies: BodyPolicy::Recent,
            body_days: 90,
            view_folders: false,
        }
    }
}

#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    pub base_url: Option<String>,
    pub api_token: Option<String>,
    pub api_token_command: Option<String>,
    pub track_opens: bool,
    pub track_links: bool,
    pub require_consent: bool,
    pub opt_out_link: bool,
    pub poll_seconds: u64,
    /// Links that are never rewritten, as patterns over the whole URL where `*` matches any run
    /// of characters (so `https://example.org/*` is a prefix), compared ignoring ASCII case.
    pub exclude_links: Vec<String>,
}

// Hand-written so an API token can never reach a log through `{:?}`.
impl fmt::Debug for TrackingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackingConfig")
            .field("base_url", &self.base_url)
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field("api_token_command", &self.api_token_command)
            .field("track_opens", &self.track_opens)
            .field("track_links", &self.track_links)
            .field("require_consent", &self.require_consent)
            .field("opt_out_link", &self.opt_out_link)
            .field("poll_seconds", &self.poll_seconds)
            .field("exclude_links", &self.exclude_links)
            .finish()
    }
}

impl TrackingConfig {
    /// `[tracking]` with an account's overrides applied. The token travels with the tracker: an
    /// override that names a token replaces both token keys, so `[tracking] api_token` can never
    /// be sent to the account's own tracker.
    pub fn with_overrides(&self, o: &AccountTrackingConfig) -> TrackingConfig {
        let mut t = self.clone();
        if o.base_url.is_some() {
            t.base_url = o.base_url.clone();
        }
        if o.api_token.is_some() || o.api_token_command.is_some() {
            t.api_token = o.api_token.clone();
            t.api_token_command = o.api_token_command.clone();
        }
        t.track_opens = o.track_opens.unwrap_or(t.track_opens);
        t.track_links = o.track_links.unwrap_or(t.track_links);
        t.require_consent = o.require_consent.unwrap_or(t.require_consent);
        t.opt_out_link = o.opt_out_link.unwrap_or(t.opt_out_link);
        t
    }

    /// The tracker API token from `api_token`, else `api_token_command`; `Ok(None)` when neither
    /// is set.
    pub fn resolve_api_token(&self) -> Result<Option<String>, String> {
        if let Some(t) = self.api_token.as_deref().filter(|t| !t.trim().is_empty()) {
            return Ok(Some(t.trim().to_string()));
        }
        match &self.api_token_command {
            Some(cmd) => secret_from_command(cmd, "api_token_command").map(Some),
            None => Ok(None),
        }
    }
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            api_token: None,
            api_token_command: None,
            track_opens: false,
            track_links: false,
            require_consent: false,
            opt_out_link: false,
            poll_seconds: 30,
            exclude_links: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    pub desktop: bool,
    pub opens: bool,
    pub clicks: bool,
    pub automated: bool,
    pub open_throttle_seconds: u64,
    pub click_throttle_seconds: u64,
    /// How long an event waits before it may notify: later evidence (a sweep over the links,
    /// the hidden trap link) can still show it to be a machine's in that time.
    pub settle_seconds: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            desktop: true,
            opens: true,
            clicks: true,
            automated: false,
            open_throttle_seconds: 600,
            click_throttle_seconds: 10,
            settle_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SuperdataConfig {
    pub enabled: bool,
    pub gravatar_url: String,
    pub rdap_url: String,
    pub homepage_url: String,
    pub dns_server: String,
    pub allow_private_addresses: bool,
    pub timeout_seconds: u64,
    /// Answers larger than this are cut off and reported as an error (each source, each fetch).
    pub max_response_bytes: u64,
    /// Set only by `tidings demo` when it points these URLs at its local demo sources, so every
    /// value shown is marked as demo data. Not a config-file key.
    #[serde(skip)]
    pub demo: bool,
}

impl Default for SuperdataConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            gravatar_url: "https://api.gravatar.com/v3/profiles/".into(),
            rdap_url: "https://rdap.org/domain/".into(),
            homepage_url: "https://{domain}/".into(),
            dns_server: "system".into(),
            allow_private_addresses: false,
            timeout_seconds: 10,
            max_response_bytes: 2 * 1024 * 1024,
            demo: false,
        }
    }
}

/// Where the config file and the data dir are, after flags and environment are applied.
#[derive(Debug, Clone)]
pub struct Paths {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
    /// The user's own themes (`$XDG_CONFIG_HOME/tidings/themes`).
    pub user_themes_dir: Option<PathBuf>,
}

impl Paths {
    /// `--config` beats `TIDINGS_CONFIG` beats `$XDG_CONFIG_HOME/tidings/config.toml`; likewise
    /// `--data-dir` beats `TIDINGS_DATA_DIR` beats `$XDG_DATA_HOME/tidings`. (clap fills the flags
    /// from the environment variables, so both arrive here as the `Option`s.)
    pub fn resolve(
        config: Option<PathBuf>,
        data_dir: Option<PathBuf>,
    ) -> Result<Paths, ConfigError> {
        let dirs = directories::ProjectDirs::from("", "", "tidings");
        let config_dir = dirs.as_ref().map(|d| d.config_dir().to_path_buf());
        let config_file = match (config, &config_dir) {
            (Some(p), _) => p,
            (None, Some(d)) => d.join("config.toml"),
            (None, None) => return Err(ConfigError::NoHome),
        };
        let data_dir = match (data_dir, &dirs) {
            (Some(p), _) => p,
            (None, Some(d)) => d.data_dir().to_path_buf(),
            (None, None) => return Err(ConfigError::NoHome),
        };
        Ok(Paths {
            config_file,
            data_dir,
            user_themes_dir: config_dir.map(|d| d.join("themes")),
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("tidings.sqlite3")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
}

impl Config {
    /// Loads the file; a missing file is an empty config (no accounts), not an error.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: describe_toml_error(&e, text),
        })?;
        config.validate(path)?;
        let mut config = config;
        config.bind_oauth2();
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        for (name, acc) in &self.accounts {
            let err = |key: &str, message: &str| ConfigError::Account {
                path: path.to_path_buf(),
                account: name.clone(),
                key: key.to_string(),
                message: message.to_string(),
            };
            if !acc.email.contains('@') {
                return Err(err("email", "is not an email address"));
            }
            if acc.imap.is_none() && acc.smtp.is_none() {
                return Err(err(
                    "imap",
                    "is missing (an account needs [imap], [smtp] or both)",
                ));
            }
            let servers = [("imap", acc.imap.as_ref()), ("smtp", acc.smtp.as_ref())];
            for (section, server) in servers {
                let Some(s) = server else { continue };
                if s.host.trim().is_empty() {
                    return Err(err(&format!("{section}.host"), "must not be empty"));
                }
                if s.port == 0 {
                    return Err(err(
                        &format!("{section}.port"),
                        "must be between 1 and 65535",
                    ));
                }
                let sources = [
                    s.password.is_some(),
                    s.password_command.is_some(),
                    s.password_source.is_some(),
                ];
                if sources.into_iter().filter(|set| *set).count() > 1 {
                    return Err(err(
                        &format!("{section}.password"),
                        "set only one of password, password_command and password_source",
                    ));
                }
                if s.auth == AuthMethod::Oauth2 {
                    if acc.oauth2.is_none() {
                        return Err(err(
                            "oauth2",
                            &format!(
                                "is missing: {section}.auth = \"oauth2\" needs an \
                                 [accounts.{name}.oauth2] section (see docs/accounts.md)"
                            ),
                        ));
                    }
                } else if section == "imap" {
                    if s.auth == AuthMethod::None {
                        return Err(err(
                            "imap.auth",
                            "\"none\" is for SMTP relays; an IMAP server always needs a sign-in",
                        ));
                    }
                    if s.user.trim().is_empty() {
                        return Err(err("imap.user", "is missing"));
                    }
                    if !s.has_password() {
                        return Err(err(
                            "imap.password_command",
                            "is missing (or set password, or password_source = \"keyring\")",
                        ));
                    }
                } else if s.has_password() && s.user.trim().is_empty() {
                    // SMTP: without credentials tidings sends without AUTH where the server
                    // offers none (docs/sending.md); a password without a user is a mistake.
                    return Err(err("smtp.user", "is missing (a password is set)"));
                }
            }
            if let Some(o) = &acc.oauth2 {
                if o.client_id.trim().is_empty() {
                    return Err(err("oauth2.client_id", "must not be empty"));
                }
                let sources = [
                    o.client_secret.is_some(),
                    o.client_secret_command.is_some(),
                    o.client_secret_source.is_some(),
                ];
                if sources.into_iter().filter(|set| *set).count() > 1 {
                    return Err(err(
                        "oauth2.client_secret",
                        "set only one of client_secret, client_secret_command and \
                         client_secret_source",
                    ));
                }
                if o.provider == OAuth2Provider::Custom {
                    for (key, v) in [
                        ("authorization_url", &o.authorization_url),
                        ("token_url", &o.token_url),
                    ] {
                        if v.is_none() {
                            return Err(err(
                                &format!("oauth2.{key}"),
                                "is missing (provider = \"custom\" needs it)",
                            ));
                        }
                    }
                }
                let urls = [
                    ("authorization_url", &o.authorization_url),
                    ("token_url", &o.token_url),
                    ("device_authorization_url", &o.device_authorization_url),
                ];
                for (key, v) in urls {
                    if let Some(u) = v {
                        if url::Url::parse(u).is_err() {
                            return Err(err(&format!("oauth2.{key}"), "is not a URL"));
                        }
                    }
                }
            }
            if let Some(t) = &acc.tracking {
                if t.api_token.is_some() && t.api_token_command.is_some() {
                    return Err(err(
                        "tracking.api_token",
                        "set either api_token or api_token_command, not both",
                    ));
                }
                let own_tracker = t
                    .base_url
                    .as_deref()
                    .is_some_and(|u| Some(u) != self.tracking.base_url.as_deref());
                if own_tracker && t.api_token.is_none() && t.api_token_command.is_none() {
                    return Err(err(
                        "tracking.api_token_command",
                        "is missing: another tracker needs its own token (or set api_token)",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Gives every server with `auth = "oauth2"` its account and `[oauth2]` section, and every
    /// `password_source` server its account.
    fn bind_oauth2(&mut self) {
        for (name, acc) in self.accounts.iter_mut() {
            for s in [acc.imap.as_mut(), acc.smtp.as_mut()].into_iter().flatten() {
                if s.password_source.is_some() {
                    s.saved_password = Some(SavedPassword {
                        account: name.clone(),
                        data_dir: None,
                    });
                }
            }
            let Some(settings) = acc.oauth2.clone() else {
                continue;
            };
            let email = acc.email.clone();
            for s in [acc.imap.as_mut(), acc.smtp.as_mut()].into_iter().flatten() {
                if s.auth == AuthMethod::Oauth2 {
                    s.oauth2 = Some(OAuth2Binding {
                        account: name.clone(),
                        email: email.clone(),
                        settings: settings.clone(),
                        data_dir: None,
                    });
                }
            }
        }
    }

    /// Tells OAuth2 and `password_source` servers which data dir keeps their secrets when there
    /// is no keyring. Called once the paths are resolved (`cli::Context::load`).
    pub fn bind_data_dir(&mut self, data_dir: &Path) {
        for acc in self.accounts.values_mut() {
            for s in [acc.imap.as_mut(), acc.smtp.as_mut()].into_iter().flatten() {
                if let Some(b) = s.oauth2.as_mut() {
                    b.data_dir = Some(data_dir.to_path_buf());
                }
                if let Some(b) = s.saved_password.as_mut() {
                    b.data_dir = Some(data_dir.to_path_buf());
                }
            }
        }
    }

    /// The `[tracking]` settings that apply to `account`: the section with the account's
    /// `[accounts.NAME.tracking]` overrides. An unknown account gets `[tracking]` as it is.
    pub fn tracking_for(&self, account: &str) -> TrackingConfig {
        match self.accounts.get(account).and_then(|a| a.tracking.as_ref()) {
            Some(o) => self.tracking.with_overrides(o),
            None => self.tracking.clone(),
        }
    }

    /// Every address the user sends from (all accounts), lower case: opens of copies sent to
    /// these are the user's own and never counted.
    pub fn own_addresses(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .accounts
            .values()
            .map(|a| a.email.trim().to_lowercase())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The account called `name`, or the only/first one when no name is given.
    pub fn account(&self, name: Option<&str>) -> Result<(&str, &AccountConfig), String> {
        match name {
            Some(n) => self
                .accounts
                .get_key_value(n)
                .map(|(k, v)| (k.as_str(), v))
                .ok_or_else(|| {
                    let known: Vec<_> = self.accounts.keys().cloned().collect();
                    format!("no account named {n:?} (configured: {})", known.join(", "))
                }),
            None => self
                .accounts
                .iter()
                .next()
                .map(|(k, v)| (k.as_str(), v))
                .ok_or_else(|| "no accounts configured".to_string()),
        }
    }
}

/// toml's own message names the key and the line; we keep it and add the line's text so the user
/// sees what is wrong without opening the file.
fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
            format!("line {line_no}: {msg} (in `{line}`)")
        }
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[accounts.work]
email = "me@example.com"
display_name = "Me"
[accounts.work.imap]
host = "imap.example.com"
port = 993
security = "tls"
user = "me"
password_command = "echo secret; echo ignored"
[accounts.work.smtp]
host = "smtp.example.com"
port = 587
security = "starttls"
user = "me"
password = "pw"
"#;

    #[test]
    fn parses_the_documented_keys() {
        let c = Config::parse(GOOD, Path::new("c.toml")).unwrap();
        let (name, acc) = c.account(None).unwrap();
        assert_eq!(name, "work");
        let imap = acc.imap.as_ref().unwrap();
        assert_eq!(imap.security, Security::Tls);
        assert_eq!(acc.smtp.as_ref().unwrap().security, Security::Starttls);
        assert_eq!(imap.resolve_password().unwrap(), "secret");
    }

    #[test]
    fn accounts_override_tracking_defaults_and_may_use_their_own_tracker() {
        let text = format!(
            "{GOOD}{}",
            r#"
[accounts.work.tracking]
track_opens = false
require_consent = true

[accounts.team]
email = "me@team.example"
[accounts.team.imap]
host = "imap.team.example"
port = 993
user = "me"
password = "pw"
[accounts.team.tracking]
base_url = "https://t.team.example"
api_token_command = "pass show team-tracker"

[tracking]
base_url = "https://t.me.example"
api_token = "mine"
track_opens = true
track_links = true
"#
        );
        let c = Config::parse(&text, Path::new("c.toml")).unwrap();
        let work = c.tracking_for("work");
        assert_eq!(work.base_url.as_deref(), Some("https://t.me.example"));
        assert_eq!(work.api_token.as_deref(), Some("mine"));
        assert!(!work.track_opens && work.track_links && work.require_consent);
        let team = c.tracking_for("team");
        assert_eq!(team.base_url.as_deref(), Some("https://t.team.example"));
        assert_eq!(
            team.api_token, None,
            "the default token never goes to another tracker"
        );
        assert_eq!(
            team.api_token_command.as_deref(),
            Some("pass show team-tracker")
        );
        assert!(team.track_opens && !team.require_consent);
        assert_eq!(c.tracking_for("nobody"), c.tracking);
        assert_eq!(c.own_addresses(), ["me@example.com", "me@team.example"]);

        let typo = text.replace("require_consent = true", "require_consnet = true");
        let e = Config::parse(&typo, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("require_consnet"), "{e}");
        let tokenless = text.replace("api_token_command = \"pass show team-tracker\"", "");
        let e = Config::parse(&tokenless, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("accounts.team.tracking.api_token_command"),
            "{e}"
        );
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("\"mine\""), "{dbg}");
    }

    #[test]
    fn a_saved_password_is_one_source_and_knows_its_account() {
        let text = GOOD.replace(
            "password_command = \"echo secret; echo ignored\"",
            "password_source = \"keyring\"",
        );
        let mut c = Config::parse(&text, Path::new("c.toml")).unwrap();
        c.bind_data_dir(Path::new("/data"));
        let imap = c.accounts["work"].imap.as_ref().unwrap();
        assert!(imap.has_password());
        assert_eq!(
            imap.saved_password,
            Some(SavedPassword {
                account: "work".into(),
                data_dir: Some("/data".into()),
            })
        );
        assert_eq!(
            c.accounts["work"].smtp.as_ref().unwrap().saved_password,
            None
        );
        let both = text.replace(
            "user = \"me\"\npassword_source",
            "user = \"me\"\npassword = \"x\"\npassword_source",
        );
        let e = Config::parse(&both, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("accounts.work.imap.password: set only one of"),
            "{e}"
        );
        let typo = text.replace("\"keyring\"", "\"keychain\"");
        assert!(Config::parse(&typo, Path::new("c.toml")).is_err());
    }

    #[test]
    fn debug_never_shows_a_password() {
        let c = Config::parse(GOOD, Path::new("c.toml")).unwrap();
        let dbg = format!("{:?}", c);
        assert!(!dbg.contains("\"pw\""), "{dbg}");
    }

    #[test]
    fn errors_name_file_and_key() {
        let bad = GOOD.replace("port = 993", "port = \"x\"");
        let e = Config::parse(&bad, Path::new("/x/c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/x/c.toml") && e.contains("port"), "{e}");
        let bad = GOOD.replace("security = \"tls\"", "security = \"ssl\"");
        let e = Config::parse(&bad, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ssl") && e.contains("security"), "{e}");
        // An SMTP relay may need no password (issue 16), but IMAP always signs in.
        let relay = GOOD.replace("password = \"pw\"", "");
        assert!(Config::parse(&relay, Path::new("c.toml")).is_ok());
        let bad = GOOD.replace("password_command = \"echo secret; echo ignored\"", "");
        let e = Config::parse(&bad, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("accounts.work.imap.password_command"), "{e}");
        let bad = GOOD.replace("display_name", "dispaly_name");
        let e = Config::parse(&bad, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("dispaly_name"), "{e}");
    }

    #[test]
    fn a_send_only_account_needs_no_imap_but_an_account_needs_a_server() {
        let smtp_only = "[accounts.out]\nemail = \"me@example.com\"\n[accounts.out.smtp]\n\
                         host = \"smtp.example.com\"\nport = 587\nuser = \"me\"\npassword = \"pw\"\n";
        let c = Config::parse(smtp_only, Path::new("c.toml")).unwrap();
        assert!(c.accounts["out"].imap.is_none());
        let neither = "[accounts.out]\nemail = \"me@example.com\"\n";
        let e = Config::parse(neither, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("accounts.out.imap"), "{e}");
    }

    const OAUTH: &str = "[accounts.work]\nemail = \"me@example.com\"\n\
        [accounts.work.imap]\nhost = \"imap.gmail.com\"\nport = 993\nuser = \"me@example.com\"\n\
        auth = \"oauth2\"\n\
        [accounts.work.smtp]\nhost = \"smtp.gmail.com\"\nport = 465\nuser = \"me@example.com\"\n\
        auth = \"oauth2\"\n\
        [accounts.work.oauth2]\nprovider = \"google\"\nclient_id = \"id.apps\"\n\
        client_secret = \"s3cret\"\n";

    #[test]
    fn oauth2_servers_need_no_password_and_know_their_account() {
        let mut c = Config::parse(OAUTH, Path::new("c.toml")).unwrap();
        c.bind_data_dir(Path::new("/data"));
        let imap = c.accounts["work"].imap.as_ref().unwrap();
        assert_eq!(imap.auth, AuthMethod::Oauth2);
        let b = imap.oauth2.as_ref().unwrap();
        assert_eq!(b.account, "work");
        assert_eq!(b.data_dir.as_deref(), Some(Path::new("/data")));
        assert_eq!(
            b.settings.resolve_client_secret().unwrap().as_deref(),
            Some("s3cret")
        );
        assert!(!format!("{c:?}").contains("s3cret"));
        let no_section = OAUTH.split("[accounts.work.oauth2]").next().unwrap();
        let e = Config::parse(no_section, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("accounts.work.oauth2"), "{e}");
        let custom = OAUTH.replace("\"google\"", "\"custom\"");
        let e = Config::parse(&custom, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("oauth2.authorization_url"), "{e}");
    }
}
