//! `tidings account login` and `logout`: signing an account in and out. `login` runs the browser
//! flow (PKCE, loopback redirect) or, with `--device`, the device-code flow; `logout` forgets the
//! tokens. (`account add` and `list` are `account_add.rs`.)
//! The OAuth2 work is `mail::oauth2`'s; this file picks the account and says what happened.

use super::Context;
use crate::config::{AuthMethod, OAuth2Binding};
use crate::mail::oauth2::{self, login};
use crate::secrets::Place;
use anyhow::{anyhow, Result};
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
pub fn oauth2_binding(ctx: &Context, name: &str) -> Result<OAuth2Binding> {
    let (_, acc) = ctx.config.account(Some(name)).map_err(|e| anyhow!(e))?;
    [acc.imap.as_ref(), acc.smtp.as_ref()]
        .into_iter()
        .flatten()
        .filter(|s| s.auth == AuthMethod::Oauth2)
        .find_map(|s| s.oauth2.clone())
        .ok_or_else(|| {
            anyhow!(
                "account {name:?} does not sign in with OAuth2 (set auth = \"oauth2\" under \
                 [accounts.{name}.imap] and add [accounts.{name}.oauth2] in {}; see docs/accounts.md)",
                ctx.config_file_note()
            )
        })
}

/// `tidings account login NAME [--device]`.
pub fn login(ctx: &Context, args: &LoginArgs) -> Result<ExitCode> {
    let binding = oauth2_binding(ctx, &args.name)?;
    let mut out = std::io::stdout();
    let place = if args.device {
        login::login_with_device_code(&binding, &mut out)?
    } else {
        login::login_in_browser(&binding, &mut out, !args.no_browser)?
    };
    match place {
        Place::Keyring => println!(
            "Signed in as {}; tokens saved in the system keyring.",
            binding.email
        ),
        Place::File { path, reason } => {
            // The one-line warning: the user should know their token is in a file.
            eprintln!(
                "tidings: warning: no system keyring ({reason}); tokens saved in {} (readable only by you)",
                path.display()
            );
            println!("Signed in as {}.", binding.email);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tidings account logout NAME`.
pub fn logout(ctx: &Context, args: &LogoutArgs) -> Result<ExitCode> {
    let binding = oauth2_binding(ctx, &args.name)?;
    if oauth2::forget(&binding)? {
        println!("Signed out of {}: tokens forgotten.", args.name);
    } else {
        println!("{} was not signed in.", args.name);
    }
    Ok(ExitCode::SUCCESS)
}
