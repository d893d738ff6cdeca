//! `tidings account login` and `logout`: signing an account in and out. `login` runs the browser
//! flow (PKCE, loopback redirect) or, with `--device`, the device-code flow — or, for an account
//! whose password tidings keeps (`password_source = "keyring"`), asks for the password; `logout`
//! forgets the tokens and the password. (`account add` and `list` are `account_add.rs`.)
//! The OAuth2 work is `mail::oauth2`'s; this file picks the account and says what happened.

use super::account_add::{say_where_saved, show_server, Prompter};
use super::Context;
use crate::accounts::check::{self, Credential};
use crate::accounts::Server;
use crate::config::{AccountConfig, AuthMethod, OAuth2Binding, ServerConfig};
use crate::mail::credentials;
use crate::mail::oauth2::{self, login};
use crate::secrets::Place;
use anyhow::{anyhow, bail, Result};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The account's name in the config ([accounts.NAME])
    pub name: String,
    /// Device-code flow for SSH sessions: prints `url: …` and `code: …`, waits for approval
    #[arg(long)]
    pub device: bool,
    /// Print the URL only; do not start a browser
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The account's name in the config ([accounts.NAME])
    pub name: String,
}

/// The OAuth2 binding of account `name`: its IMAP server's, else its SMTP server's.
fn oauth2_of(acc: &AccountConfig) -> Option<&OAuth2Binding> {
    [acc.imap.as_ref(), acc.smtp.as_ref()]
        .into_iter()
        .flatten()
        .filter(|s| s.auth == AuthMethod::Oauth2)
        .find_map(|s| s.oauth2.as_ref())
}

/// The servers of `acc` whose password tidings keeps (`password_source = "keyring"`), one per
/// user name (IMAP and SMTP usually share it).
fn saved_password_servers(acc: &AccountConfig) -> Vec<&ServerConfig> {
    let mut out: Vec<&ServerConfig> = Vec::new();
    for s in [acc.imap.as_ref(), acc.smtp.as_ref()].into_iter().flatten() {
        if s.auth == AuthMethod::Password
            && s.password_source.is_some()
            && !out.iter().any(|o| o.user == s.user)
        {
            out.push(s);
        }
    }
    out
}

fn nothing_kept(ctx: &Context, name: &str) -> anyhow::Error {
    anyhow!(
        "account {name:?} keeps no secret in tidings: it signs in with password or \
         password_command in {} (to sign in with OAuth2 or keep the password in the keyring, \
         see docs/accounts.md)",
        ctx.config_file_note()
    )
}

/// `tidings account login NAME [--device]`: OAuth2 in the browser or by device code; for a
/// `password_source = "keyring"` account, asks for the password, checks it, and saves it.
pub fn login(ctx: &Context, args: &LoginArgs) -> Result<ExitCode> {
    let (name, acc) = ctx
        .config
        .account(Some(&args.name))
        .map_err(|e| anyhow!(e))?;
    let Some(binding) = oauth2_of(acc) else {
        let servers = saved_password_servers(acc);
        if servers.is_empty() {
            return Err(nothing_kept(ctx, name));
        }
        return login_with_password(ctx, name, acc, &servers);
    };
    // A config copied from another machine: the client secret `account add` saved there is
    // not here yet.
    if oauth2::client_secret_missing(binding)? {
        let secret = Prompter::new().hidden("OAuth2 client secret", "client secret")?;
        oauth2::save_client_secret(binding, &secret)?;
    }
    let mut out = std::io::stdout();
    let place = if args.device {
        login::login_with_device_code(binding, &mut out)?
    } else {
        login::login_in_browser(binding, &mut out, !args.no_browser)?
    };
    match place {
        Place::Keyring => println!(
            "Signed in as {}; tokens saved in the system keyring.",
            binding.email
        ),
        Place::File { .. } => {
            // The one-line warning: the user should know their token is in a file.
            say_where_saved(&place, "the tokens");
            println!("Signed in as {}.", binding.email);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks for each user's password, checks it with the server (IMAP, else SMTP) and saves it only
/// when the server took it.
fn login_with_password(
    ctx: &Context,
    name: &str,
    acc: &AccountConfig,
    servers: &[&ServerConfig],
) -> Result<ExitCode> {
    let data_dir = &ctx.paths.data_dir;
    let mut p = Prompter::new();
    for s in servers {
        let password = p.password(&format!("Password for {} ({name})", s.user))?;
        let server = Server {
            host: s.host.clone(),
            port: s.port,
            security: s.security,
        };
        let is_imap = acc.imap.as_ref().is_some_and(|i| std::ptr::eq(i, *s));
        let checked = if is_imap {
            check::check_imap(
                &server,
                &s.user,
                Credential::Password(&password),
                &ctx.paths.config_file,
            )
        } else {
            check::check_smtp(
                &server,
                &s.user,
                Credential::Password(&password),
                &acc.email,
            )
        };
        if let Err(e) = checked {
            bail!(
                "{}; nothing saved",
                crate::sanitize::sanitize_line(&e.to_string())
            );
        }
        let place = credentials::save(data_dir, name, &s.user, &password)?;
        println!(
            "  {} {}: signed in",
            if is_imap { "IMAP" } else { "SMTP" },
            show_server(&server)
        );
        say_where_saved(&place, "the password");
    }
    Ok(ExitCode::SUCCESS)
}

/// `tidings account logout NAME`: forgets the OAuth2 tokens and the saved passwords.
pub fn logout(ctx: &Context, args: &LogoutArgs) -> Result<ExitCode> {
    let (name, acc) = ctx
        .config
        .account(Some(&args.name))
        .map_err(|e| anyhow!(e))?;
    let binding = oauth2_of(acc);
    let servers = saved_password_servers(acc);
    if binding.is_none() && servers.is_empty() {
        return Err(nothing_kept(ctx, name));
    }
    let mut forgot = Vec::new();
    if let Some(b) = binding {
        if oauth2::forget(b)? {
            forgot.push("tokens");
        }
    }
    for s in &servers {
        if credentials::forget(&ctx.paths.data_dir, name, &s.user)? && !forgot.contains(&"password")
        {
            forgot.push("password");
        }
    }
    if forgot.is_empty() {
        println!("{name} was not signed in.");
    } else {
        println!("Signed out of {name}: {} forgotten.", forgot.join(" and "));
    }
    Ok(ExitCode::SUCCESS)
}
