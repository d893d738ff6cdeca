//! Where the wizard keeps a password it was given: a file readable only by the user, in a
//! directory only the user can enter, under the data dir — never the config file. The config
//! gets a `password_command` that prints it, so every command that reads passwords (sync, send,
//! the inbox) finds it the ordinary way.
//!
//! The system keyring is the better home (issue 15); this is the fallback the keyring's absence
//! on a headless server needs anyway, and the one place to change when a shared secret store
//! exists.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot store the password: {source}")]
pub struct SecretFileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The directory the password files live in.
pub fn secrets_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets")
}

/// The file holding `account`'s password (`account` is a checked account name).
pub fn password_path(data_dir: &Path, account: &str) -> PathBuf {
    secrets_dir(data_dir).join(format!("{account}.password"))
}

/// Writes the password, mode 0600 in a 0700 directory whatever the umask, replacing an earlier
/// file whole (a reader never sees half of one), and returns its path.
pub fn store_password(
    data_dir: &Path,
    account: &str,
    password: &str,
) -> Result<PathBuf, SecretFileError> {
    let dir = secrets_dir(data_dir);
    let path = password_path(data_dir, account);
    let err = |source| SecretFileError {
        path: path.clone(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(err)?;
    // An existing directory keeps its mode through create(): tighten it.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    // tempfile creates its files 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(err)?;
    tmp.write_all(password.as_bytes()).map_err(err)?;
    tmp.write_all(b"\n").map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(&path).map_err(|e| err(e.error))?;
    Ok(path)
}

/// The `password_command` that prints the file: `cat` of its path, quoted for `sh -c`.
pub fn password_command(path: &Path) -> String {
    format!("cat {}", shell_quote(&path.to_string_lossy()))
}

/// Single quotes, with each `'` written as `'\''`: nothing inside is special to sh.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_password_file_is_private_and_its_command_prints_it() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("it's data");
        let path = store_password(&data, "work", "s3cret 'x'").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(secrets_dir(&data)).unwrap().mode() & 0o777,
            0o700
        );
        let cmd = password_command(&path);
        assert_eq!(
            crate::config::secret_from_command(&cmd, "password_command").unwrap(),
            "s3cret 'x'"
        );
        store_password(&data, "work", "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }
}
