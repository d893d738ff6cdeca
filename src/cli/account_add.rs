//! `tidings account add` (the setup wizard), `tidings account list`, and the offer `tidings`
//! makes on a first run. The prompts live here; discovery, the login check and the config edit
//! are `accounts`'. Prompts read lines from stdin (so a script or a test can pipe answers in),
//! the password without echo when stdin is a terminal.

use crate::accounts::check::{self, Credential};
use crate::accounts::config_file::{self, NewAccount, PasswordFrom};
use crate::accounts::discover::{self, DiscoverOptions, Discovery};
use crate::accounts::providers::{AuthMethod, OAuthProvider};
use crate::accounts::{self, Found, Server};
use crate::config::{
    AccountConfig, AuthMethod as ServerAuth, Config, OAuth2Binding, OAuth2Config, OAuth2Provider,
    Paths, SecretSource, Security, ServerConfig,
};
use crate::mail::credentials::{self, PasswordError};
use crate::mail::oauth2;
use crate::secrets::Place;
use anyhow::{bail, Context as _};
use clap::ValueEnum;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// The longest the whole discovery may take.
const DISCOVERY_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, clap::Args, Default)]
pub struct AddArgs {
    /// The address to set up (asked for when left out)
    pub email: Option<String>,
    /// The account's name in the config, [accounts.NAME] (default: from the domain)
    #[arg(long)]
    pub name: Option<String>,
    /// Your name as recipients see it
    #[arg(long)]
    pub display_name: Option<String>,
    /// Accept what discovery found without asking (for scripts; a password account then needs
    /// --password-command, an OAuth2 one --client-id)
    #[arg(long)]
    pub yes: bool,
    /// A command that prints the password (`pass show mail`): written to the config as
    /// password_command and run once to check the login
    #[arg(long, value_name = "CMD")]
    pub password_command: Option<String>,
    /// Sign in with a password or with OAuth2 (default: what the provider wants)
    #[arg(long, value_enum)]
    pub auth: Option<AuthArg>,
    /// The OAuth2 client id you registered with Google or Microsoft (see docs/accounts.md)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// OAuth2: sign in with a device code (for SSH sessions) instead of the browser
    #[arg(long)]
    pub device: bool,
    /// OAuth2: print the sign-in URL only; do not start a browser
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuthArg {
    Password,
    Oauth2,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {}

/// Questions on stdout, answers from stdin.
pub(super) struct Prompter {
    stdin: std::io::StdinLock<'static>,
    terminal: bool,
}

impl Prompter {
    pub(super) fn new() -> Prompter {
        let stdin = std::io::stdin();
        let terminal = stdin.is_terminal();
        Prompter {
            stdin: stdin.lock(),
            terminal,
        }
    }

    fn line(&mut self) -> anyhow::Result<String> {
        let mut s = String::new();
        // A line longer than any host name, user name or password is not an answer.
        let n = std::io::Read::take(&mut self.stdin, 4096)
            .read_line(&mut s)
            .context("reading the answer")?;
        if n == 0 {
            bail!("input ended before the setup was done; nothing written");
        }
        Ok(s.trim().to_string())
    }

    /// Asks; an empty answer takes `default`.
    fn ask(&mut self, question: &str, default: Option<&str>) -> anyhow::Result<String> {
        let mut out = std::io::stdout().lock();
        match default {
            Some(d) => write!(out, "{question} [{d}]: ")?,
            None => write!(out, "{question}: ")?,
        }
        out.flush()?;
        drop(out);
        let answer = self.line()?;
        Ok(match (answer.is_empty(), default) {
            (true, Some(d)) => d.to_string(),
            _ => answer,
        })
    }

    /// Asks until `parse` accepts the answer.
    fn ask_valid<T>(
        &mut self,
        question: &str,
        default: Option<&str>,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> anyhow::Result<T> {
        for _ in 0..5 {
            let answer = self.ask(question, default)?;
            if let Some(v) = parse(&answer) {
                return Ok(v);
            }
            println!("  not {what}: {}", crate::sanitize::sanitize_line(&answer));
        }
        bail!("no {what} given; nothing written")
    }

    fn yes_no(&mut self, question: &str) -> anyhow::Result<bool> {
        let answer = self.ask(&format!("{question} (y/N)"), None)?;
        Ok(matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"))
    }

    /// The password: without echo on a terminal, else the next line of stdin.
    pub(super) fn password(&mut self, question: &str) -> anyhow::Result<String> {
        self.hidden(question, "password")
    }

    /// A secret (`what`): without echo on a terminal, else the next line of stdin.
    pub(super) fn hidden(&mut self, question: &str, what: &str) -> anyhow::Result<String> {
        let secret = if self.terminal {
            rpassword::prompt_password(format!("{question}: "))
                .with_context(|| format!("reading the {what}"))?
        } else {
            print!("{question}: ");
            std::io::stdout().flush()?;
            let p = self.line()?;
            println!();
            p
        };
        if secret.is_empty() {
            bail!("no {what} given; nothing written");
        }
        Ok(secret)
    }
}

pub(super) fn show_server(s: &Server) -> String {
    format!(
        "{}:{} {}",
        s.host,
        s.port,
        accounts::security_name(s.security)
    )
}

fn print_discovery(d: &Discovery) {
    let row = |what: &str, value: Option<String>, source: Option<&str>| match (value, source) {
        (Some(v), Some(s)) => println!(
            "  {what:<8} {:<40} from {}",
            crate::sanitize::sanitize_line(&v),
            crate::sanitize::sanitize_line(s)
        ),
        _ => println!("  {what:<8} not found"),
    };
    println!("Settings for {}:", d.domain);
    row(
        "IMAP",
        d.imap.as_ref().map(|f| show_server(&f.value)),
        d.imap.as_ref().map(|f| f.source.as_str()),
    );
    row(
        "SMTP",
        d.smtp.as_ref().map(|f| show_server(&f.value)),
        d.smtp.as_ref().map(|f| f.source.as_str()),
    );
    row("user", Some(d.user.value.clone()), Some(&d.user.source));
    row(
        "sign-in",
        Some(d.auth.value.config_name().into()),
        Some(&d.auth.source),
    );
    if d.imap.is_none() || d.smtp.is_none() {
        let mut shown = std::collections::HashSet::new();
        for t in d.tried.iter().filter(|t| shown.insert(t.as_str())) {
            println!("    asked: {}", crate::sanitize::sanitize_line(t));
        }
    }
}

fn discovery_options(config: &Config) -> anyhow::Result<DiscoverOptions> {
    let mut opts = DiscoverOptions::from_config(&config.superdata);
    if let Ok(port) = std::env::var(discover::AUTOCONFIG_HTTP_PORT_ENV) {
        opts.autoconfig_http_port = Some(
            accounts::valid_port(&port)
                .with_context(|| format!("{}: not a port", discover::AUTOCONFIG_HTTP_PORT_ENV))?,
        );
    }
    Ok(opts)
}

/// A server as discovered, or as the user corrects it.
fn settle_server(
    p: &mut Prompter,
    kind: &str,
    found: Option<&Found<Server>>,
    yes: bool,
    domain: &str,
) -> anyhow::Result<Server> {
    if yes {
        return match found {
            Some(f) => Ok(f.value.clone()),
            None => {
                bail!("could not find the {kind} server of {domain}; run without --yes to type it")
            }
        };
    }
    let d = found.map(|f| &f.value);
    let host = p.ask_valid(
        &format!("{kind} server"),
        d.map(|s| s.host.as_str()),
        "a host name",
        accounts::valid_host,
    )?;
    let default_port = d.map(|s| s.port.to_string());
    let port = p.ask_valid(
        &format!("{kind} port"),
        default_port
            .as_deref()
            .or(Some(if kind == "IMAP" { "993" } else { "587" })),
        "a port (1-65535)",
        accounts::valid_port,
    )?;
    let default_security = d.map_or(
        if matches!(port, 25 | 143 | 587) {
            "starttls"
        } else {
            "tls"
        },
        |s| accounts::security_name(s.security),
    );
    let security = p.ask_valid(
        &format!("{kind} security (tls, starttls, none)"),
        Some(default_security),
        "tls, starttls or none",
        accounts::parse_security,
    )?;
    let server = Server {
        host,
        port,
        security,
    };
    if security == Security::None && !server.is_loopback() {
        println!("  warning: {kind} without encryption sends your password in clear");
    }
    Ok(server)
}

/// `example` for alice@example.com, `gmail` for gmail.com.
fn default_name(domain: &str) -> String {
    let label = domain.split('.').next().unwrap_or("mail");
    let name: String = label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(32)
        .collect();
    if name.is_empty() {
        "mail".into()
    } else {
        name
    }
}

fn existing_accounts(paths: &Paths) -> anyhow::Result<Vec<String>> {
    let text = match std::fs::read_to_string(&paths.config_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(paths.config_file.display().to_string()),
    };
    Ok(config_file::list(&text, &paths.config_file)?
        .into_iter()
        .map(|a| a.name)
        .collect())
}

fn settle_name(
    p: &mut Prompter,
    args: &AddArgs,
    domain: &str,
    paths: &Paths,
) -> anyhow::Result<String> {
    let taken = existing_accounts(paths)?;
    let check = |n: &str| -> Result<(), String> {
        if !accounts::valid_account_name(n) {
            Err("letters, digits, - and _ only".into())
        } else if taken.iter().any(|t| t == n) {
            Err(format!("{n:?} is taken"))
        } else {
            Ok(())
        }
    };
    if let Some(n) = &args.name {
        check(n).map_err(|why| anyhow::anyhow!("--name {n:?}: {why}"))?;
        return Ok(n.clone());
    }
    let mut default = default_name(domain);
    let mut i = 2;
    while taken.contains(&default) {
        default = format!("{}-{i}", default_name(domain));
        i += 1;
    }
    if args.yes {
        return Ok(default);
    }
    p.ask_valid(
        "Account name (for --account and the config)",
        Some(&default),
        "a free account name (letters, digits, - and _)",
        |n| check(n).ok().map(|()| n.to_string()),
    )
}

/// `tidings account …`.
pub fn run(paths: &Paths, args: &super::AccountArgs) -> anyhow::Result<ExitCode> {
    match &args.action {
        super::AccountAction::Add(add_args) => add(paths, add_args),
        super::AccountAction::List(_) => list(paths),
        // Dispatched by cli::run with the typed config (cli::account).
        super::AccountAction::Login(_) | super::AccountAction::Logout(_) => {
            anyhow::bail!("account login and logout need the typed config")
        }
    }
}

/// `tidings account add`.
pub fn add(paths: &Paths, args: &AddArgs) -> anyhow::Result<ExitCode> {
    add_account(paths, args).map(|_| ExitCode::SUCCESS)
}

/// The wizard; true when the new account is signed in (the inbox can open on it).
fn add_account(paths: &Paths, args: &AddArgs) -> anyhow::Result<bool> {
    let config = Config::load(&paths.config_file)?;
    let mut p = Prompter::new();
    let email = match &args.email {
        Some(e) => e.trim().to_string(),
        None if args.yes => bail!("--yes needs the address: tidings account add EMAIL --yes"),
        None => p.ask_valid("Email address", None, "an email address", |a| {
            accounts::email_domain(a).map(|_| a.to_string())
        })?,
    };
    let display_name = match &args.display_name {
        Some(n) => Some(n.trim().to_string()),
        None if args.yes => None,
        None => Some(p.ask("Your name (as recipients see it; empty for none)", None)?),
    }
    .map(|n| crate::sanitize::sanitize_line(&n))
    .filter(|n| !n.is_empty());

    println!("Looking up the mail servers of {email} …");
    let opts = discovery_options(&config)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Each question has its own timeout; this bounds them all, for a DNS server that never
    // answers.
    let d = rt
        .block_on(async {
            tokio::time::timeout(DISCOVERY_LIMIT, discover::discover(&email, &opts)).await
        })
        .map_err(|_| {
            anyhow::anyhow!(
                "looking up the servers took more than {} s; is the DNS server ([superdata] \
                 dns_server) reachable? nothing written",
                DISCOVERY_LIMIT.as_secs()
            )
        })??;
    drop(rt);
    print_discovery(&d);

    let imap = settle_server(&mut p, "IMAP", d.imap.as_ref(), args.yes, &d.domain)?;
    let smtp = settle_server(&mut p, "SMTP", d.smtp.as_ref(), args.yes, &d.domain)?;
    let user = if args.yes {
        d.user.value.clone()
    } else {
        p.ask_valid("User name", Some(&d.user.value), "a user name", |u| {
            (!u.is_empty() && !u.chars().any(char::is_control)).then(|| u.to_string())
        })?
    };
    let auth = settle_auth(&mut p, args, &d)?;
    let name = settle_name(&mut p, args, &d.domain, paths)?;

    let mut account = NewAccount {
        name: name.clone(),
        email: email.clone(),
        display_name,
        imap,
        smtp,
        user,
        auth,
        password: args.password_command.clone().map(PasswordFrom::Command),
        oauth2: None,
        server_saves_sent: d.server_saves_sent,
    };

    match auth {
        AuthMethod::OAuth2(provider) if !args.yes => {
            let (settings, client_secret) = oauth2_settings(&mut p, args, provider)?;
            account.oauth2 = Some(settings);
            sign_in_and_write(&mut p, args, &account, client_secret.as_deref(), paths)?;
            println!("Open your inbox: tidings");
            return Ok(true);
        }
        AuthMethod::OAuth2(provider) => {
            // A script has no one to sign in in the browser: that is the next step.
            account.oauth2 = Some(oauth2_settings(&mut p, args, provider)?.0);
            config_file::write_account(&paths.config_file, &account)?;
            println!(
                "Added [accounts.{name}] to {} (sign-in: OAuth2 with {}).",
                paths.config_file.display(),
                provider.config_name()
            );
            if provider == OAuthProvider::Google {
                println!(
                    "Google also asks for the client's secret: add client_secret (or \
                     client_secret_command) to [accounts.{name}.oauth2] (docs/accounts.md)."
                );
            }
            println!("Next, sign in in your browser: tidings account login {name}");
        }
        AuthMethod::Password => {
            let password = match &args.password_command {
                Some(cmd) => crate::config::secret_from_command(cmd, "--password-command")
                    .map_err(|e| anyhow::anyhow!(e))?,
                None if args.yes => bail!(
                    "--yes needs --password-command CMD for a password account (or run without --yes)"
                ),
                None => {
                    if let Some(note) = d.provider.and_then(|p| p.password_note) {
                        println!("  {note}");
                    }
                    p.password(&format!("Password for {}", account.user))?
                }
            };
            check_login(
                &mut p,
                args,
                &account,
                Credential::Password(&password),
                paths,
            )?;
            write_password_account(paths, &mut account, &password)?;
            println!("Open your inbox: tidings   (or fetch the mail first: tidings sync --account {name})");
            return Ok(true);
        }
    }
    Ok(false)
}

/// What the first-run offer came to.
pub enum FirstRun {
    /// Not on a terminal: nothing was asked.
    NotAsked,
    /// An account was added and signed in: the inbox can open on it now.
    Added,
    /// Done (the demo ran or the user quit).
    Exit(ExitCode),
}

fn settle_auth(p: &mut Prompter, args: &AddArgs, d: &Discovery) -> anyhow::Result<AuthMethod> {
    // OAuth2 needs an identity provider whose endpoints tidings knows: Google's or Microsoft's.
    let oauth = match d.auth.value {
        AuthMethod::OAuth2(o) => Some(o),
        AuthMethod::Password => None,
    };
    let pick = |want: AuthArg| -> anyhow::Result<AuthMethod> {
        match (want, oauth) {
            (AuthArg::Password, _) => Ok(AuthMethod::Password),
            (AuthArg::Oauth2, Some(o)) => Ok(AuthMethod::OAuth2(o)),
            (AuthArg::Oauth2, None) => bail!(
                "{} does not sign in with Google's or Microsoft's OAuth2; use a password",
                d.domain
            ),
        }
    };
    if let Some(a) = args.auth {
        return pick(a);
    }
    if args.yes || oauth.is_none() {
        return Ok(d.auth.value);
    }
    p.ask_valid(
        "Sign in with (oauth2, password)",
        Some("oauth2"),
        "oauth2 or password",
        |a| match a {
            "oauth2" => pick(AuthArg::Oauth2).ok(),
            "password" => Some(AuthMethod::Password),
            _ => None,
        },
    )
}

/// The OAuth2 client for the account: the client id the user registered, the client secret
/// where the provider wants one (Google; saved in the secret store, never the config) and the
/// tenant for Microsoft. Returns the settings and the secret to save.
fn oauth2_settings(
    p: &mut Prompter,
    args: &AddArgs,
    provider: OAuthProvider,
) -> anyhow::Result<(OAuth2Config, Option<String>)> {
    let valid = |id: &str| {
        let id = id.trim();
        (!id.is_empty() && id.len() <= 256 && id.chars().all(|c| c.is_ascii_graphic()))
            .then(|| id.to_string())
    };
    let client_id = match &args.client_id {
        Some(id) => valid(id).context("--client-id: not a client id")?,
        None if args.yes => bail!(
            "--yes needs --client-id for an OAuth2 account (docs/accounts.md shows how to register one)"
        ),
        None => {
            println!(
                "  tidings ships no OAuth2 client of its own: docs/accounts.md shows how to register one with {}.",
                match provider {
                    OAuthProvider::Google => "Google Cloud",
                    OAuthProvider::Microsoft => "Microsoft Entra",
                }
            );
            p.ask_valid("OAuth2 client id", None, "a client id", valid)?
        }
    };
    let mut settings = OAuth2Config::new(
        match provider {
            OAuthProvider::Google => OAuth2Provider::Google,
            OAuthProvider::Microsoft => OAuth2Provider::Microsoft,
        },
        client_id,
    );
    let mut secret = None;
    if !args.yes {
        match provider {
            OAuthProvider::Google => {
                secret = Some(p.hidden(
                    "OAuth2 client secret (next to the client id in the Google Cloud console)",
                    "client secret",
                )?);
                settings.client_secret_source = Some(SecretSource::Keyring);
            }
            OAuthProvider::Microsoft => {
                let tenant = p.ask_valid(
                    "Microsoft tenant: the directory (tenant) id of a single-tenant app, or common",
                    Some("common"),
                    "a tenant id or domain",
                    |t| {
                        valid(t).filter(|t| {
                            t.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
                        })
                    },
                )?;
                settings.tenant = (tenant != "common").then_some(tenant);
            }
        }
    }
    if let Ok(endpoints) = std::env::var(TEST_OAUTH2_ENDPOINTS_ENV) {
        test_endpoints(&mut settings, &endpoints)?;
    }
    Ok((settings, secret))
}

/// Tests run their own authorization server: with this set to "AUTHORIZATION_URL TOKEN_URL
/// DEVICE_AUTHORIZATION_URL SCOPE", the wizard's OAuth2 client uses them (as `custom`, written to
/// the config so the account keeps working). Not documented for users.
const TEST_OAUTH2_ENDPOINTS_ENV: &str = "TIDINGS_TEST_OAUTH2_ENDPOINTS";

fn test_endpoints(settings: &mut OAuth2Config, value: &str) -> anyhow::Result<()> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [auth, token, device, scope] = parts[..] else {
        bail!("{TEST_OAUTH2_ENDPOINTS_ENV}: four words expected");
    };
    settings.provider = OAuth2Provider::Custom;
    settings.authorization_url = Some(auth.into());
    settings.token_url = Some(token.into());
    settings.device_authorization_url = Some(device.into());
    settings.scopes = Some(vec![scope.into()]);
    Ok(())
}

/// Signs in (browser or device code), checks IMAP and SMTP with the tokens, then writes the
/// section. Whatever fails before the section is written takes the saved secrets away again.
fn sign_in_and_write(
    p: &mut Prompter,
    args: &AddArgs,
    account: &NewAccount,
    client_secret: Option<&str>,
    paths: &Paths,
) -> anyhow::Result<()> {
    let Some(settings) = account.oauth2.clone() else {
        bail!("internal: no OAuth2 settings");
    };
    let binding = OAuth2Binding {
        account: account.name.clone(),
        email: account.email.clone(),
        settings,
        data_dir: Some(paths.data_dir.clone()),
    };
    let forget = || {
        let _ = oauth2::forget(&binding);
        let _ = oauth2::forget_client_secret(&binding);
    };
    let result = (|| -> anyhow::Result<Place> {
        if let Some(secret) = client_secret {
            oauth2::save_client_secret(&binding, secret)?;
        }
        let mut out = std::io::stdout();
        let place = if args.device {
            oauth2::login::login_with_device_code(&binding, &mut out)?
        } else {
            oauth2::login::login_in_browser(&binding, &mut out, !args.no_browser)?
        };
        check_login(p, args, account, Credential::OAuth2(&binding), paths)?;
        config_file::write_account(&paths.config_file, account)?;
        Ok(place)
    })();
    let place = match result {
        Ok(place) => place,
        Err(e) => {
            forget();
            let line = e.to_string();
            if line.contains("nothing written") {
                return Err(e);
            }
            bail!("{}; nothing written", crate::sanitize::sanitize_line(&line));
        }
    };
    println!(
        "Added [accounts.{}] to {} (sign-in: OAuth2).",
        account.name,
        paths.config_file.display()
    );
    say_where_saved(&place, "the tokens");
    Ok(())
}

/// IMAP and SMTP sign-ins with the password or the tokens; a failure writes nothing unless the
/// user insists.
fn check_login(
    p: &mut Prompter,
    args: &AddArgs,
    account: &NewAccount,
    credential: Credential<'_>,
    paths: &Paths,
) -> anyhow::Result<()> {
    let mut failures = Vec::new();
    let mut report =
        |what: &str, server: &Server, result: &Result<(), check::CheckError>| match result {
            Ok(()) => println!("  {what} {}: signed in", show_server(server)),
            Err(e) => {
                let line = crate::sanitize::sanitize_line(&e.to_string());
                println!("  {what} {}: FAILED: {line}", show_server(server));
                failures.push(format!("{what}: {line}"));
            }
        };
    println!("Checking the login …");
    let imap = check::check_imap(&account.imap, &account.user, credential, &paths.config_file);
    report("IMAP", &account.imap, &imap);
    // The same user and password: once IMAP refused them, SMTP would only refuse them again
    // (some servers answer a failed AUTH only after a long delay).
    if imap
        .as_ref()
        .is_err_and(check::CheckError::is_login_refused)
    {
        println!(
            "  SMTP {}: not checked (the IMAP login was refused)",
            show_server(&account.smtp)
        );
    } else {
        let smtp = check::check_smtp(&account.smtp, &account.user, credential, &account.email);
        report("SMTP", &account.smtp, &smtp);
    }
    if failures.is_empty() {
        return Ok(());
    }
    if !args.yes && p.yes_no("The login failed. Write the account anyway?")? {
        return Ok(());
    }
    bail!("nothing written: {}", failures.join("; "))
}

/// Saves a typed password in the secret store, then writes the section; a failed write takes
/// the password away again.
fn write_password_account(
    paths: &Paths,
    account: &mut NewAccount,
    password: &str,
) -> anyhow::Result<()> {
    let saved = if account.password.is_none() {
        let place = credentials::save(&paths.data_dir, &account.name, &account.user, password)?;
        account.password = Some(PasswordFrom::Keyring);
        Some(place)
    } else {
        None
    };
    if let Err(e) = config_file::write_account(&paths.config_file, account) {
        if saved.is_some() {
            let _ = credentials::forget(&paths.data_dir, &account.name, &account.user);
        }
        return Err(e.into());
    }
    println!(
        "Added [accounts.{}] to {}.",
        account.name,
        paths.config_file.display()
    );
    if let Some(place) = saved {
        say_where_saved(&place, "the password");
    }
    Ok(())
}

/// Where a secret went: the keyring on stdout; the file as the one-line warning on stderr.
pub(super) fn say_where_saved(place: &Place, what: &str) {
    match place {
        Place::Keyring => println!("Saved {what} in the system keyring."),
        Place::File { path, reason } => eprintln!(
            "tidings: warning: no system keyring ({}); saved {what} in {} (readable only by you)",
            crate::sanitize::sanitize_line(reason),
            path.display()
        ),
    }
}

/// `tidings account list`.
pub fn list(paths: &Paths) -> anyhow::Result<ExitCode> {
    let text = match std::fs::read_to_string(&paths.config_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).context(paths.config_file.display().to_string()),
    };
    let listed = config_file::list(&text, &paths.config_file)?;
    if listed.is_empty() {
        println!(
            "No accounts in {}. Set one up: tidings account add",
            paths.config_file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    // The text lists every account the file names; whether one can sign in needs the typed
    // config (its OAuth2 binding, its password source).
    let typed = Config::parse(&text, &paths.config_file).map(|mut c| {
        c.bind_data_dir(&paths.data_dir);
        c
    });
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<16} {:<32} {:<9} SIGNED IN",
        "NAME", "EMAIL", "AUTH"
    )?;
    for a in listed {
        let (auth, signed_in) = match &typed {
            Ok(c) => match c.accounts.get(&a.name) {
                Some(acc) => sign_in_state(&a.name, acc),
                None => (a.auth, "unknown".into()),
            },
            Err(_) => (a.auth, "unknown (the config has an error)".into()),
        };
        writeln!(out, "{:<16} {:<32} {auth:<9} {signed_in}", a.name, a.email)?;
    }
    drop(out);
    if let Err(e) = typed {
        eprintln!(
            "tidings: {}",
            crate::sanitize::sanitize_line(&e.to_string())
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// True when tidings signs in to `s` at all: an SMTP relay without credentials takes mail
/// without AUTH.
fn signs_in(s: &ServerConfig) -> bool {
    match s.auth {
        ServerAuth::Oauth2 => true,
        ServerAuth::Password => s.has_password(),
        ServerAuth::None => false,
    }
}

/// The account's sign-in method and whether it is signed in, for `account list`: OAuth2 when a
/// usable token is saved, a password when its source gives one (it is never shown). Nothing
/// is sent to the mail servers.
fn sign_in_state(name: &str, acc: &AccountConfig) -> (String, String) {
    let servers: Vec<&ServerConfig> = [acc.imap.as_ref(), acc.smtp.as_ref()]
        .into_iter()
        .flatten()
        .filter(|s| signs_in(s))
        .collect();
    let Some(first) = servers.first() else {
        return ("none".into(), "not needed (no sign-in)".into());
    };
    let auth = match first.auth {
        ServerAuth::Oauth2 => "oauth2",
        _ => "password",
    };
    let login_hint = format!("no: tidings account login {name}");
    let mut checked: Vec<(ServerAuth, &str, Option<&str>, bool)> = Vec::new();
    for s in servers {
        // SMTP usually signs in as IMAP does: that password (command) is asked for once.
        let same = (
            s.auth,
            s.user.as_str(),
            s.password_command.as_deref(),
            s.password_source.is_some(),
        );
        if checked.contains(&same) {
            continue;
        }
        checked.push(same);
        let state = match (&s.auth, &s.oauth2) {
            (ServerAuth::Oauth2, Some(b)) => match oauth2::is_signed_in(b) {
                Ok(true) => None,
                Ok(false) => Some(login_hint.clone()),
                Err(e) => Some(format!("unknown ({e})")),
            },
            (ServerAuth::Oauth2, None) => Some("no ([oauth2] is missing)".into()),
            _ => match credentials::password(s) {
                Ok(_) => None,
                Err(PasswordError::NotSaved { .. }) => Some(login_hint.clone()),
                Err(PasswordError::Other(e)) => Some(format!("no ({e})")),
            },
        };
        if let Some(state) = state {
            return (auth.into(), crate::sanitize::sanitize_line(&state));
        }
    }
    (auth.into(), "yes".into())
}

/// `tidings` with no account: on a terminal, offer to set one up or try the demo.
pub fn first_run(paths: &Paths) -> anyhow::Result<FirstRun> {
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Ok(FirstRun::NotAsked);
    }
    println!(
        "No account is set up yet ({}).\n  a  set one up now (tidings account add)\n  \
         d  try tidings on a demo mailbox (tidings demo)\n  q  quit",
        paths.config_file.display()
    );
    // The wizard takes stdin's lock itself: this one is let go first.
    let choice = Prompter::new().ask("Choice", Some("a"))?;
    match choice.as_str() {
        "a" => Ok(match add_account(paths, &AddArgs::default())? {
            true => FirstRun::Added,
            false => FirstRun::Exit(ExitCode::SUCCESS),
        }),
        "d" => super::demo::demo(
            &super::DemoArgs {
                dir: None,
                theme: None,
            },
            Some(paths.config_file.clone()),
        )
        .map(FirstRun::Exit),
        _ => Ok(FirstRun::Exit(ExitCode::SUCCESS)),
    }
}
