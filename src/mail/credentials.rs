//! A server's password, wherever the config says it is: `password`, `password_command`, or —
//! with `password_source = "keyring"` — the one tidings saved itself (`tidings account add`,
//! `tidings account login`) in the system keyring, else in the private secrets file of the data
//! dir ([`crate::secrets`]). A password never appears in an error: errors say where it was
//! looked for and what to do.

use crate::config::{SavedPassword, ServerConfig};
use crate::secrets::{Place, SecretError, SecretStore};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// No password is saved for the account: only the user can give one.
    #[error("sign in again: tidings account login {account}")]
    NotSaved { account: String },
    #[error("{0}")]
    Other(String),
}

/// The key a saved password has in the keyring and the file. The user name is part of it: a
/// password saved for one login is never sent for another the config was changed to.
fn secret_key(account: &str, user: &str) -> String {
    format!("password:{account}:{user}")
}

/// The password `server` signs in with.
pub fn password(server: &ServerConfig) -> Result<String, PasswordError> {
    if server.password_source.is_none() {
        return server.resolve_password().map_err(PasswordError::Other);
    }
    let Some(SavedPassword {
        account,
        data_dir: Some(dir),
    }) = &server.saved_password
    else {
        return Err(PasswordError::Other(
            "password_source: no data dir to read it from (internal: Config::bind_data_dir not \
             called)"
                .into(),
        ));
    };
    match SecretStore::new(dir).get(&secret_key(account, &server.user)) {
        Ok(Some(p)) if !p.is_empty() => Ok(p),
        Ok(_) => Err(PasswordError::NotSaved {
            account: account.clone(),
        }),
        Err(e) => Err(PasswordError::Other(format!("password_source: {e}"))),
    }
}

/// Saves the password of `user` at `account` for `password_source = "keyring"`.
pub fn save(
    data_dir: &Path,
    account: &str,
    user: &str,
    password: &str,
) -> Result<Place, SecretError> {
    SecretStore::new(data_dir).set(&secret_key(account, user), password)
}

/// Forgets the saved password of `user` at `account`; true when one was saved.
pub fn forget(data_dir: &Path, account: &str, user: &str) -> Result<bool, SecretError> {
    SecretStore::new(data_dir).delete(&secret_key(account, user))
}
