//! Where the tracker finds its PostgreSQL password when the URL carries none, so that no secret
//! has to be on a command line (where `ps` shows it to every user of the machine). In order: a
//! file named by `--db-password-file` (its first line), `PGPASSWORD`, then the password file
//! libpq reads (`PGPASSFILE`, else `~/.pgpass`) — the same rules as `psql`, so one setup serves
//! both. A password in the URL itself still wins, as it does for libpq.

use super::DbError;
use std::path::{Path, PathBuf};
use tokio_postgres::config::Host;

/// Largest password file read: a password is a line, not a document.
const MAX_PASSWORD_FILE_BYTES: u64 = 64 * 1024;

/// Sets `config`'s password from the first source that has one, if the URL had none. Finding
/// none is not an error here: the server may not ask for one (trust, peer), and if it does,
/// PostgreSQL's own "password missing" follows.
pub fn fill_password(
    config: &mut tokio_postgres::Config,
    password_file: Option<&Path>,
) -> Result<(), DbError> {
    if config.get_password().is_some() {
        return Ok(());
    }
    if let Some(path) = password_file {
        config.password(read_password_file(path)?);
        return Ok(());
    }
    if let Some(pw) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
        config.password(pw.as_encoded_bytes());
        return Ok(());
    }
    if let Some(path) = pgpass_path() {
        if let Some(pw) = pgpass_lookup(&path, &Target::of(config))? {
            config.password(pw);
        }
    }
    Ok(())
}

/// The first line of `path`, without its line end. Errors name the file, never its content.
pub fn read_password_file(path: &Path) -> Result<String, DbError> {
    read_first_line(path, "database password file")
}

/// The database URL kept in a file (`--db-url-file`), so a URL with a password stays off the
/// command line.
pub fn read_url_file(path: &Path) -> Result<String, DbError> {
    read_first_line(path, "database URL file")
}

fn read_first_line(path: &Path, what: &str) -> Result<String, DbError> {
    let fail = |why: String| DbError::Other(format!("{what} {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.len() > MAX_PASSWORD_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_PASSWORD_FILE_BYTES} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(fail("the first line is empty".into()));
    }
    Ok(line.to_string())
}

/// `PGPASSFILE`, else `~/.pgpass`.
fn pgpass_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".pgpass"))
}

/// What a `.pgpass` line is matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: String,
    pub database: String,
    pub user: String,
}

impl Target {
    /// As libpq does: a Unix socket matches the host name `localhost`; the database defaults
    /// to the user's name and the port to 5432.
    pub fn of(config: &tokio_postgres::Config) -> Target {
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            _ => "localhost".to_string(),
        };
        let user = config.get_user().unwrap_or_default().to_string();
        Target {
            host,
            port: config
                .get_ports()
                .first()
                .copied()
                .unwrap_or(5432)
                .to_string(),
            database: config
                .get_dbname()
                .map(str::to_string)
                .unwrap_or(user.clone()),
            user,
        }
    }
}

/// The password of the first line of the password file at `path` that matches `target`. A file
/// that does not exist is no error; one that others can read is ignored with a warning, as
/// libpq does: a password readable by the whole machine is not a secret to rely on.
pub fn pgpass_lookup(path: &Path, target: &Target) -> Result<Option<String>, DbError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(DbError::Other(format!(
                "password file {}: {e}",
                path.display()
            )));
        }
    };
    if !meta.is_file() || meta.len() > MAX_PASSWORD_FILE_BYTES {
        tracing::warn!(
            "password file {} is not a regular file of at most {MAX_PASSWORD_FILE_BYTES} bytes; ignored",
            path.display()
        );
        return Ok(None);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access; ignored (chmod 0600 it)",
                path.display()
            );
            return Ok(None);
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| DbError::Other(format!("password file {}: {e}", path.display())))?;
    Ok(text.lines().find_map(|line| match_line(line, target)))
}

/// `host:port:database:user:password`, `*` matching anything in the first four fields, `\`
/// escaping `:` and `\`; `#` starts a comment line.
fn match_line(line: &str, target: &Target) -> Option<String> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let fields = split_fields(line);
    let [host, port, database, user, password] = fields.as_slice() else {
        return None;
    };
    let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
    (matches(host, &target.host)
        && matches(port, &target.port)
        && matches(database, &target.database)
        && matches(user, &target.user))
    .then(|| password.clone())
}

fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            // The password is the rest of the line, colons and all.
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            host: "db.internal".into(),
            port: "5432".into(),
            database: "tracker".into(),
            user: "tracker".into(),
        }
    }

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes() {
        assert_eq!(
            match_line("db.internal:5432:tracker:tracker:s3cr:et", &target()).as_deref(),
            Some("s3cr:et")
        );
        assert_eq!(
            match_line("*:*:*:tracker:a\\:b\\\\c", &target()).as_deref(),
            Some("a:b\\c")
        );
        assert_eq!(match_line("other:5432:tracker:tracker:x", &target()), None);
        assert_eq!(match_line("db.internal:5433:*:*:x", &target()), None);
        assert_eq!(match_line("# db.internal:*:*:*:x", &target()), None);
        assert_eq!(match_line("db.internal:*:*", &target()), None);
    }

    #[test]
    fn a_pgpass_others_can_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "bad line\n*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(pgpass_lookup(&path, &target()).unwrap(), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            pgpass_lookup(&path, &target()).unwrap().as_deref(),
            Some("pw")
        );
        assert_eq!(
            pgpass_lookup(&dir.path().join("none"), &target()).unwrap(),
            None
        );
    }

    #[test]
    fn a_password_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "p@ss word\r\nignored\n").unwrap();
        assert_eq!(read_password_file(&path).unwrap(), "p@ss word");
        std::fs::write(&path, "\n").unwrap();
        let e = read_password_file(&path).unwrap_err().to_string();
        assert!(e.contains("empty") && e.contains("pw"), "{e}");
    }
}
