//! Data at rest is the user's alone: the cache holds all of their mail, the secrets file their
//! tokens. Everything tidings writes is created 0600 in 0700 directories whatever the umask, and
//! a data dir left wider by an older version (or by hand) is tightened at start, as mbsync and
//! OpenSSH do. On systems without Unix modes these are no-ops.

use std::io;
use std::path::{Path, PathBuf};

/// Files: read and write for the owner only.
pub const FILE_MODE: u32 = 0o600;
/// Directories: the owner only.
pub const DIR_MODE: u32 = 0o700;

/// Makes every file and directory this process creates from now on private (umask 077), so
/// files written by libraries we do not control — SQLite's WAL and SHM, the log appender — are
/// private too. Called first thing by the binary.
pub fn restrict_umask() {
    #[cfg(unix)]
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates `dir` and its missing parents with mode 0700. A directory that exists already is left
/// as it is: it may be shared (`--db sqlite:/tmp/x.sqlite3` names /tmp), and the data dir's own
/// modes are [`tighten_data_dir`]'s business.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
        // Whatever the umask was, the directory we made is ours alone.
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != DIR_MODE {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Creates `path` empty with mode 0600 if it does not exist, so that a program that opens it
/// afterwards (SQLite) keeps that mode — and gives its journal files the same one. An existing
/// file is not opened at all: it may be read-only on purpose, and SQLite then opens it read-only.
pub fn precreate_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path` through a private temporary file renamed over it, so a reader never
/// sees half a file and the file is never readable by others, not even for a moment.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tidings-")
        .tempfile_in(dir)?;
    // tempfile creates 0600 files; said again so the guarantee does not rest on its default.
    set_private(tmp.path(), FILE_MODE)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn set_private(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// What tidings keeps in its data dir: the cache (`tidings.sqlite3` and its `-wal`/`-shm`) and
/// these directories. Only they are tightened: a data dir pointed at a shared place (`--data-dir
/// ~`) must not have the user's other files changed.
const DATA_DIR_SUBDIRS: &[&str] = &["logs", "secrets"];
const DATA_DIR_FILE_PREFIX: &str = "tidings.";

/// Tightens the data dir (0700) and what tidings keeps in it — the cache files (0600), the logs
/// and secrets directories with everything below them — where others may read, write or enter.
/// Returns the paths that were changed, so the caller can say so once in the log. A missing
/// `dir` is no error.
pub fn tighten_data_dir(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(changed),
        Err(e) => return Err(e),
    };
    changed.extend(tighten_one(dir)?);
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() && DATA_DIR_SUBDIRS.contains(&name.as_ref()) {
            changed.extend(tighten_tree(&path)?);
        } else if kind.is_file() && name.starts_with(DATA_DIR_FILE_PREFIX) {
            changed.extend(tighten_one(&path)?);
        }
    }
    Ok(changed)
}

/// Tightens one file (to 0600 at most) or directory (0700); symlinks are left alone.
fn tighten_one(path: &Path) -> io::Result<Option<PathBuf>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::symlink_metadata(path)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 || meta.file_type().is_symlink() {
            return Ok(None);
        }
        let private = if meta.is_dir() {
            mode & 0o700 | DIR_MODE
        } else {
            mode & 0o700
        };
        set_private(path, private)?;
        Ok(Some(path.to_path_buf()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

/// Tightens `dir` and everything below it that others may read, write or enter: directories to
/// 0700, files to 0600 (symlinks are not followed). Returns the paths that were changed.
fn tighten_tree(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        changed.extend(tighten_one(&path)?);
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
        }
    }
    Ok(changed)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_wide_data_dir_is_tightened_and_reported_but_not_what_it_does_not_own() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        std::fs::create_dir_all(dir.join("photos")).unwrap();
        for f in ["logs/a.log", "tidings.sqlite3", "notes.txt"] {
            std::fs::write(dir.join(f), "x").unwrap();
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(dir.join("photos"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let changed = tighten_data_dir(&dir).unwrap();
        assert!(changed.contains(&dir), "{changed:?}");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("logs/a.log")), 0o600);
        assert_eq!(mode(&dir.join("tidings.sqlite3")), 0o600);
        // Not tidings' own: left as the user made them.
        assert_eq!(mode(&dir.join("notes.txt")), 0o644);
        assert_eq!(mode(&dir.join("photos")), 0o755);
        assert!(tighten_data_dir(&dir).unwrap().is_empty());
    }

    #[test]
    fn written_files_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("secrets/tokens.json");
        write_private_file(&path, b"{}").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }
}
