//! Where secrets that tidings keeps itself (OAuth2 refresh tokens) live: the system keyring —
//! Secret Service on Linux and the BSDs, the macOS Keychain, the Windows Credential Manager —
//! through `keyring-core` and its platform stores; where none is reachable (a headless server),
//! a file readable only by the user in the data dir (`secrets/secrets.json`, 0600 in 0700).
//! A secret's value never appears in an error or a log line: errors name the key and the place.
//!
//! Tests set the hidden variable `TIDINGS_TEST_KEYRING=PATH` to use keyring-core's file-backed
//! sample store at PATH as "the keyring", so the keyring path runs without a desktop session.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The keyring's service name for every entry tidings writes.
const SERVICE: &str = "tidings";
/// The hidden test switch (see the module docs).
const TEST_KEYRING_ENV: &str = "TIDINGS_TEST_KEYRING";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{path}: {action}: {source}")]
    File {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: not a secrets file tidings wrote ({reason}); move it away and sign in again")]
    BadFile { path: PathBuf, reason: String },
    #[error("system keyring: {action} {key:?}: {reason}")]
    Keyring {
        action: &'static str,
        key: String,
        reason: String,
    },
}

/// Where a secret was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Keyring,
    /// No keyring was reachable; the reason says why, for the one-line warning.
    File {
        path: PathBuf,
        reason: String,
    },
}

enum Keyring {
    Platform(Arc<keyring_core::CredentialStore>),
    /// The sample store is saved to its file only when asked.
    Test(Arc<keyring_core::sample::Store>),
}

impl Keyring {
    fn store(&self) -> Arc<keyring_core::CredentialStore> {
        match self {
            Keyring::Platform(s) => s.clone(),
            Keyring::Test(s) => s.clone(),
        }
    }

    fn saved(&self) -> Result<(), keyring_core::Error> {
        match self {
            Keyring::Platform(_) => Ok(()),
            Keyring::Test(s) => s.save(),
        }
    }
}

/// The keyring of this process, opened once: connecting to Secret Service costs a D-Bus round
/// trip, and a missing one fails the same way every time.
fn keyring() -> &'static Result<Keyring, String> {
    static KEYRING: OnceLock<Result<Keyring, String>> = OnceLock::new();
    KEYRING.get_or_init(|| {
        if let Some(path) = std::env::var_os(TEST_KEYRING_ENV) {
            let path = path.to_string_lossy().into_owned();
            return keyring_core::sample::Store::new_with_backing(&path)
                .map(Keyring::Test)
                .map_err(|e| e.to_string());
        }
        platform_store().map(Keyring::Platform)
    })
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    // Without a session bus there is no Secret Service; asking would only wait for nothing.
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
        && !std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d).join("bus").exists())
    {
        return Err("no D-Bus session (Secret Service) is reachable".into());
    }
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| e.to_string())?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    let store = apple_native_keyring_store::keychain::Store::new().map_err(|e| e.to_string())?;
    Ok(store)
}

#[cfg(target_os = "windows")]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    let store = windows_native_keyring_store::Store::new().map_err(|e| e.to_string())?;
    Ok(store)
}

#[cfg(not(any(unix, windows)))]
fn platform_store() -> Result<Arc<keyring_core::CredentialStore>, String> {
    Err("this system has no keyring tidings knows".into())
}

/// Serialises the read-modify-write of the secrets file within one process; across processes
/// the rename in `write_private_file` keeps the file whole.
static FILE_LOCK: Mutex<()> = Mutex::new(());

/// The secrets of one data dir: the keyring first, the private file where there is none.
#[derive(Debug, Clone)]
pub struct SecretStore {
    file: PathBuf,
}

impl SecretStore {
    pub fn new(data_dir: &Path) -> SecretStore {
        SecretStore {
            file: data_dir.join("secrets").join("secrets.json"),
        }
    }

    /// The fallback file (which may not exist).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The secret saved under `key`: the keyring's, else the file's; `None` when neither has it.
    pub fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        if let Ok(k) = keyring() {
            match off_runtime(|| entry(k, key).map(|e| e.get_password()))? {
                Ok(v) => return Ok(Some(v)),
                Err(keyring_core::Error::NoEntry) => {}
                Err(e) => {
                    // A locked or broken keyring: the file may still hold it; say why in the log.
                    tracing::warn!(key, "system keyring could not be read: {e}");
                }
            }
        }
        Ok(self.read_file()?.remove(key))
    }

    /// Saves `value` under `key`, in the keyring when one answers, else in the private file.
    pub fn set(&self, key: &str, value: &str) -> Result<Place, SecretError> {
        let why = match keyring() {
            Ok(k) => match off_runtime(|| {
                entry(k, key).map(|e| e.set_password(value).and_then(|()| k.saved()))
            })? {
                Ok(()) => {
                    // A copy left in the file by an earlier run without a keyring is stale now.
                    self.remove_from_file(key)?;
                    return Ok(Place::Keyring);
                }
                Err(e) => e.to_string(),
            },
            Err(e) => e.clone(),
        };
        let _guard = FILE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut all = self.read_file()?;
        all.insert(key.to_string(), value.to_string());
        self.write_file(&all)?;
        Ok(Place::File {
            path: self.file.clone(),
            reason: why,
        })
    }

    /// Forgets `key` everywhere; true when something was there.
    pub fn delete(&self, key: &str) -> Result<bool, SecretError> {
        let mut found = false;
        if let Ok(k) = keyring() {
            match off_runtime(|| entry(k, key).map(|e| e.delete_credential()))? {
                Ok(()) => {
                    found = true;
                    k.saved().map_err(|e| keyring_error("deleting", key, e))?;
                }
                Err(keyring_core::Error::NoEntry) => {}
                Err(e) => return Err(keyring_error("deleting", key, e)),
            }
        }
        Ok(self.remove_from_file(key)? || found)
    }

    fn remove_from_file(&self, key: &str) -> Result<bool, SecretError> {
        let _guard = FILE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut all = self.read_file()?;
        if all.remove(key).is_none() {
            return Ok(false);
        }
        self.write_file(&all)?;
        Ok(true)
    }

    fn read_file(&self) -> Result<BTreeMap<String, String>, SecretError> {
        let text = match std::fs::read_to_string(&self.file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(source) => {
                return Err(SecretError::File {
                    path: self.file.clone(),
                    action: "cannot read",
                    source,
                })
            }
        };
        // serde_json's message names a line and column, never the text around it.
        serde_json::from_str(&text).map_err(|e| SecretError::BadFile {
            path: self.file.clone(),
            reason: e.to_string(),
        })
    }

    fn write_file(&self, all: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let text = serde_json::to_vec_pretty(all).map_err(|e| SecretError::BadFile {
            path: self.file.clone(),
            reason: e.to_string(),
        })?;
        crate::private_files::write_private_file(&self.file, &text).map_err(|source| {
            SecretError::File {
                path: self.file.clone(),
                action: "cannot write",
                source,
            }
        })
    }
}

/// Runs a keyring call on a thread of its own when the caller is inside a tokio runtime (the
/// inbox's blocking tasks): the Secret Service client blocks on D-Bus with its own executor,
/// which must not run on a thread that tokio drives.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn entry(k: &Keyring, key: &str) -> Result<keyring_core::Entry, SecretError> {
    keyring_core::Entry::new_in_store(&k.store(), SERVICE, key)
        .map_err(|e| keyring_error("opening", key, e))
}

fn keyring_error(action: &'static str, key: &str, e: keyring_core::Error) -> SecretError {
    SecretError::Keyring {
        action,
        key: key.to_string(),
        reason: e.to_string(),
    }
}
