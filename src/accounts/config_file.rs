//! The config file as text: adding one `[accounts.NAME]` section and reading which accounts it
//! has. The section is built with toml_edit (so every value is quoted and escaped as TOML wants)
//! and appended to the file's text, so every other line, comment and blank stays byte for byte;
//! the result is parsed again before it replaces the file, atomically, keeping the file's mode.

use super::providers::AuthMethod;
use super::{security_name, Server};
use crate::config::{OAuth2Config, OAuth2Provider, SecretSource};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use toml_edit::{value, DocumentMut, Item, Table};

#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid TOML, so nothing was added (fix it first): {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: an account named {name:?} exists already (choose another name)")]
    Exists { path: PathBuf, name: String },
    #[error("{path}: the new section would not read back ({message}); nothing was written")]
    WouldBreak { path: PathBuf, message: String },
}

/// Where a new account's password comes from: the user's own command, or the secret store
/// (`password_source = "keyring"`), where the wizard saved the password it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordFrom {
    Command(String),
    Keyring,
}

/// What `tidings account add` writes.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub name: String,
    pub email: String,
    pub display_name: Option<String>,
    pub imap: Server,
    pub smtp: Server,
    pub user: String,
    pub auth: AuthMethod,
    /// For a password account: where its password comes from.
    pub password: Option<PasswordFrom>,
    /// For an OAuth2 account: the client the user registered (and endpoints, for `custom`).
    pub oauth2: Option<OAuth2Config>,
    pub server_saves_sent: bool,
}

fn server_table(acc: &NewAccount, server: &Server) -> Table {
    let mut t = Table::new();
    t.insert("host", value(server.host.as_str()));
    t.insert("port", value(i64::from(server.port)));
    t.insert("security", value(security_name(server.security)));
    t.insert("user", value(acc.user.as_str()));
    match acc.auth {
        AuthMethod::Password => match &acc.password {
            Some(PasswordFrom::Command(cmd)) => {
                t.insert("password_command", value(cmd.as_str()));
            }
            Some(PasswordFrom::Keyring) => {
                t.insert("password_source", value("keyring"));
            }
            None => {}
        },
        AuthMethod::OAuth2(_) => {
            t.insert("auth", value(acc.auth.config_name()));
        }
    }
    // A blank line before each sub-section, as people write them.
    t.decor_mut().set_prefix("\n");
    t
}

/// `[accounts.NAME.oauth2]`: the provider and client id, where the client secret is, and the
/// endpoints and scopes where they are not the provider's.
fn oauth2_table(o: &OAuth2Config) -> Table {
    let mut t = Table::new();
    let provider = match o.provider {
        OAuth2Provider::Google => "google",
        OAuth2Provider::Microsoft => "microsoft",
        OAuth2Provider::Custom => "custom",
    };
    t.insert("provider", value(provider));
    t.insert("client_id", value(o.client_id.as_str()));
    if o.client_secret_source == Some(SecretSource::Keyring) {
        t.insert("client_secret_source", value("keyring"));
    }
    if let Some(cmd) = &o.client_secret_command {
        t.insert("client_secret_command", value(cmd.as_str()));
    }
    let urls = [
        ("authorization_url", &o.authorization_url),
        ("token_url", &o.token_url),
        ("device_authorization_url", &o.device_authorization_url),
        ("tenant", &o.tenant),
    ];
    for (key, v) in urls {
        if let Some(v) = v {
            t.insert(key, value(v.as_str()));
        }
    }
    if let Some(scopes) = &o.scopes {
        t.insert("scopes", value(scopes.iter().collect::<toml_edit::Array>()));
    }
    t.decor_mut().set_prefix("\n");
    t
}

/// The section's text: `[accounts.NAME]`, `.imap`, `.smtp` and, for OAuth2, `.oauth2`.
pub fn section(acc: &NewAccount) -> String {
    let mut account = Table::new();
    account.insert("email", value(acc.email.as_str()));
    if let Some(n) = &acc.display_name {
        account.insert("display_name", value(n.as_str()));
    }
    if acc.server_saves_sent {
        account.insert("server_saves_sent", value(true));
    }
    account.insert("imap", Item::Table(server_table(acc, &acc.imap)));
    account.insert("smtp", Item::Table(server_table(acc, &acc.smtp)));
    if let (AuthMethod::OAuth2(_), Some(settings)) = (acc.auth, &acc.oauth2) {
        account.insert("oauth2", Item::Table(oauth2_table(settings)));
    }
    let mut accounts = Table::new();
    accounts.set_implicit(true);
    accounts.insert(&acc.name, Item::Table(account));
    let mut doc = DocumentMut::new();
    doc.insert("accounts", Item::Table(accounts));
    doc.to_string()
}

fn parse(text: &str, path: &Path) -> Result<DocumentMut, ConfigFileError> {
    text.parse::<DocumentMut>()
        .map_err(|e| ConfigFileError::Invalid {
            path: path.to_path_buf(),
            message: crate::sanitize::sanitize_line(&e.to_string()),
        })
}

fn has_account(doc: &DocumentMut, name: &str) -> bool {
    doc.get("accounts")
        .and_then(|a| a.as_table_like())
        .is_some_and(|a| a.contains_key(name))
}

/// `text` with the account's section appended (after one blank line), checked to read back.
pub fn append(text: &str, acc: &NewAccount, path: &Path) -> Result<String, ConfigFileError> {
    let doc = parse(text, path)?;
    if has_account(&doc, &acc.name) {
        return Err(ConfigFileError::Exists {
            path: path.to_path_buf(),
            name: acc.name.clone(),
        });
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&section(acc));
    // A file that set `accounts` some other way (an inline table, dotted keys) cannot take a
    // new `[accounts.NAME]` header: parse the result rather than guess.
    let would_break = |message: String| ConfigFileError::WouldBreak {
        path: path.to_path_buf(),
        message,
    };
    let back = out
        .parse::<DocumentMut>()
        .map_err(|e| would_break(crate::sanitize::sanitize_line(&e.to_string())))?;
    if !has_account(&back, &acc.name) {
        return Err(would_break("the account is missing".into()));
    }
    crate::config::Config::parse(&out, path).map_err(|e| would_break(e.to_string()))?;
    Ok(out)
}

/// Adds the account to the file at `path` (created 0600 if missing), reading the file afresh so
/// an edit made while the wizard ran is kept. A symlinked config is written through the link.
pub fn write_account(path: &Path, acc: &NewAccount) -> Result<(), ConfigFileError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ConfigFileError::Io { path, source }
    };
    let (target, text, mode) = match std::fs::canonicalize(path) {
        Ok(real) => {
            let text = std::fs::read_to_string(&real).map_err(io(&real))?;
            let mode = std::fs::metadata(&real)
                .map_err(io(&real))?
                .permissions()
                .mode();
            (real, text, mode)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (path.to_path_buf(), String::new(), 0o600)
        }
        Err(e) => return Err(io(path)(e)),
    };
    let new_text = append(&text, acc, &target)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io(&dir))?;
    tmp.write_all(new_text.as_bytes()).map_err(io(&target))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
        .map_err(io(&target))?;
    tmp.as_file().sync_all().map_err(io(&target))?;
    tmp.persist(&target).map_err(|e| io(&target)(e.error))?;
    Ok(())
}

/// One account as `tidings account list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAccount {
    pub name: String,
    pub email: String,
    /// `auth` of `[imap]` (else `[smtp]`): "password" when not set.
    pub auth: String,
    pub imap: Option<String>,
    pub smtp: Option<String>,
}

/// The accounts of a config file's text, in file order. Read from the text rather than the
/// typed config so that the list shows every account the file names, with its sign-in method.
pub fn list(text: &str, path: &Path) -> Result<Vec<ListedAccount>, ConfigFileError> {
    let doc = parse(text, path)?;
    let Some(accounts) = doc.get("accounts").and_then(|a| a.as_table_like()) else {
        return Ok(Vec::new());
    };
    let str_of = |t: &dyn toml_edit::TableLike, key: &str| {
        t.get(key)
            .and_then(|v| v.as_str())
            .map(crate::sanitize::sanitize_line)
    };
    let mut out = Vec::new();
    for (name, item) in accounts.iter() {
        let Some(acc) = item.as_table_like() else {
            continue;
        };
        let server = |key: &str| acc.get(key).and_then(|s| s.as_table_like());
        let addr = |key: &str| {
            let s = server(key)?;
            let host = str_of(s, "host")?;
            let port = s.get("port").and_then(|p| p.as_integer());
            Some(match port {
                Some(p) => format!("{host}:{p}"),
                None => host,
            })
        };
        let auth = ["imap", "smtp"]
            .iter()
            .find_map(|k| server(k).and_then(|s| str_of(s, "auth")))
            .unwrap_or_else(|| "password".into());
        out.push(ListedAccount {
            name: crate::sanitize::sanitize_line(name),
            email: str_of(acc, "email").unwrap_or_default(),
            auth,
            imap: addr("imap"),
            smtp: addr("smtp"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::providers::OAuthProvider;
    use crate::config::Security;

    fn account(auth: AuthMethod) -> NewAccount {
        NewAccount {
            name: "work".into(),
            email: "al\"ice@example.com".into(),
            display_name: Some("Alice \"Al\" Liddell".into()),
            imap: Server {
                host: "imap.example.com".into(),
                port: 993,
                security: Security::Tls,
            },
            smtp: Server {
                host: "smtp.example.com".into(),
                port: 587,
                security: Security::Starttls,
            },
            user: "alice".into(),
            auth,
            password: Some(PasswordFrom::Keyring),
            oauth2: match auth {
                AuthMethod::OAuth2(_) => Some(OAuth2Config {
                    client_secret_source: Some(SecretSource::Keyring),
                    ..OAuth2Config::new(OAuth2Provider::Google, "id-1".into())
                }),
                AuthMethod::Password => None,
            },
            server_saves_sent: false,
        }
    }

    const EXISTING: &str = "# my config\ntheme = \"dark\"   # keep this comment\n\n\
                            [accounts.home]\nemail = \"me@home.example\"\n\
                            [accounts.home.imap]\nhost = \"imap.home.example\"\nport = 993\n\
                            user = \"me\"\npassword = \"pw\"\n\n[ui]\nthreads = true";

    #[test]
    fn one_section_is_appended_and_everything_else_kept() {
        let acc = account(AuthMethod::Password);
        let out = append(EXISTING, &acc, Path::new("c.toml")).unwrap();
        assert!(out.starts_with(EXISTING), "{out}");
        let added = &out[EXISTING.len()..];
        assert_eq!(
            added,
            "\n\n[accounts.work]\nemail = 'al\"ice@example.com'\n\
             display_name = 'Alice \"Al\" Liddell'\n\n\
             [accounts.work.imap]\nhost = \"imap.example.com\"\nport = 993\nsecurity = \"tls\"\n\
             user = \"alice\"\npassword_source = \"keyring\"\n\n\
             [accounts.work.smtp]\nhost = \"smtp.example.com\"\nport = 587\n\
             security = \"starttls\"\nuser = \"alice\"\npassword_source = \"keyring\"\n"
        );
        let e = append(&out, &acc, Path::new("c.toml")).unwrap_err();
        assert!(matches!(e, ConfigFileError::Exists { .. }), "{e}");
    }

    #[test]
    fn an_oauth2_section_names_its_provider_and_client_id() {
        let acc = account(AuthMethod::OAuth2(OAuthProvider::Google));
        let text = section(&acc);
        assert!(text.contains("[accounts.work.imap]\n"), "{text}");
        assert!(text.contains("auth = \"oauth2\"\n"), "{text}");
        assert!(!text.contains("password"), "{text}");
        assert!(
            text.ends_with(
                "\n[accounts.work.oauth2]\nprovider = \"google\"\nclient_id = \"id-1\"\n\
                 client_secret_source = \"keyring\"\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_file_that_cannot_take_the_section_is_left_alone() {
        let acc = account(AuthMethod::Password);
        let inline = "accounts = { home = { email = \"a@b.c\" } }\n";
        assert!(matches!(
            append(inline, &acc, Path::new("c.toml")),
            Err(ConfigFileError::WouldBreak { .. })
        ));
        assert!(matches!(
            append("[x\n", &acc, Path::new("c.toml")),
            Err(ConfigFileError::Invalid { .. })
        ));
    }

    #[test]
    fn accounts_are_listed_with_their_sign_in() {
        let acc = account(AuthMethod::OAuth2(OAuthProvider::Microsoft));
        let text = format!("{EXISTING}\n{}", section(&acc));
        let listed = list(&text, Path::new("c.toml")).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].name, "home");
        assert_eq!(listed[0].auth, "password");
        assert_eq!(listed[0].smtp, None);
        assert_eq!(listed[1].auth, "oauth2");
        assert_eq!(listed[1].imap.as_deref(), Some("imap.example.com:993"));
    }
}
