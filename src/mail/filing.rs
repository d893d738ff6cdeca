//! Filing our own mail on the IMAP server: APPEND a sent mail to Sent or a draft to Drafts, and
//! look a Message-ID up in a folder (to confirm an ambiguous send). Each call opens its own short
//! IMAP session on a worker thread and gives up after the account's timeout, so a hung server
//! can never block the outbox. (The sync engine keeps its own long-lived sessions.)

use crate::config::{AccountConfig, Security, ServerConfig};
use crate::store::Store;
use imap::types::Flag;
use imap::{ClientBuilder, ConnectionMode, TlsKind};
use std::sync::mpsc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("IMAP {host}:{port}: {message}")]
pub struct FilingError {
    pub host: String,
    pub port: u16,
    pub message: String,
}

/// Which special folder a copy goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Sent,
    Drafts,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Sent => "sent",
            Role::Drafts => "drafts",
        }
    }
}

/// The folder for `role`: the config's override, else what sync learned from SPECIAL-USE, else
/// the conventional name.
pub fn folder_for(account: &str, acc: &AccountConfig, store: Option<&Store>, role: Role) -> String {
    let configured = match role {
        Role::Sent => acc.folders.sent.clone(),
        Role::Drafts => acc.folders.drafts.clone(),
    };
    if let Some(f) = configured {
        return f;
    }
    let learned = store.and_then(|s| {
        let id = s.account_id(account).ok()?;
        s.folder_by_role(id, role.name()).ok().flatten()
    });
    match (learned, role) {
        (Some(f), _) => f.name,
        (None, Role::Sent) => "Sent".into(),
        (None, Role::Drafts) => "Drafts".into(),
    }
}

type Session = imap::Session<imap::Connection>;

/// Runs `op` in a fresh logged-in session on a worker thread, with an overall deadline of a few
/// timeouts (connect, login, command).
fn with_session<T: Send + 'static>(
    cfg: &ServerConfig,
    op: impl FnOnce(&mut Session) -> Result<T, String> + Send + 'static,
) -> Result<T, FilingError> {
    let err = |message: String| FilingError {
        host: cfg.host.clone(),
        port: cfg.port,
        message,
    };
    let password = cfg.resolve_password().map_err(err)?;
    let cfg_thread = cfg.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let run = || -> Result<T, String> {
            let mode = match cfg_thread.security {
                Security::Tls => ConnectionMode::Tls,
                Security::Starttls => ConnectionMode::StartTls,
                Security::None => ConnectionMode::Plaintext,
            };
            let client = ClientBuilder::new(cfg_thread.host.as_str(), cfg_thread.port)
                .mode(mode)
                .tls_kind(TlsKind::Rust)
                .danger_skip_tls_verify(cfg_thread.accept_invalid_certs)
                .connect()
                .map_err(|e| format!("connect: {e}"))?;
            let mut session = client
                .login(&cfg_thread.user, &password)
                .map_err(|(e, _)| format!("login: {e}"))?;
            let out = op(&mut session);
            let _ = session.logout();
            out
        };
        let _ = tx.send(run());
    });
    let deadline = Duration::from_secs(cfg.timeout_seconds.max(1) * 3);
    match rx.recv_timeout(deadline) {
        Ok(r) => r.map_err(|m| err(crate::mail::sanitize::sanitize_line(&m))),
        Err(_) => Err(err(format!("no answer within {}s", deadline.as_secs()))),
    }
}

/// APPENDs `raw` to `folder`, flagged \Seen (and \Draft for drafts).
pub fn append(
    cfg: &ServerConfig,
    folder: &str,
    raw: Vec<u8>,
    role: Role,
) -> Result<(), FilingError> {
    let folder = folder.to_string();
    with_session(cfg, move |s| {
        let mut cmd = s.append(&folder, &raw);
        cmd.flag(Flag::Seen);
        if role == Role::Drafts {
            cmd.flag(Flag::Draft);
        }
        cmd.finish()
            .map(|_| ())
            .map_err(|e| format!("APPEND to {folder:?}: {e}"))
    })
}

/// `HEADER Message-ID "<id>"`. Our Message-IDs are generated (hex@domain), but a quote,
/// backslash or line break must never break out of the quoted search string.
fn message_id_query(message_id: &str) -> String {
    let id: String = message_id
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n'))
        .collect();
    format!("HEADER Message-ID \"{id}\"")
}

/// How many messages in `folder` carry this Message-ID (with angle brackets).
pub fn count_message_id(
    cfg: &ServerConfig,
    folder: &str,
    message_id: &str,
) -> Result<usize, FilingError> {
    let folder = folder.to_string();
    let query = message_id_query(message_id);
    with_session(cfg, move |s| {
        s.examine(&folder)
            .map_err(|e| format!("EXAMINE {folder:?}: {e}"))?;
        s.uid_search(&query)
            .map(|set| set.len())
            .map_err(|e| format!("SEARCH in {folder:?}: {e}"))
    })
}

/// Removes every draft copy with this Message-ID from `folder` (after a newer version was
/// appended, or once the mail is sent).
pub fn delete_message_id(
    cfg: &ServerConfig,
    folder: &str,
    message_id: &str,
    keep_newest: bool,
) -> Result<(), FilingError> {
    let folder = folder.to_string();
    let query = message_id_query(message_id);
    with_session(cfg, move |s| {
        s.select(&folder)
            .map_err(|e| format!("SELECT {folder:?}: {e}"))?;
        let mut uids: Vec<u32> = s
            .uid_search(&query)
            .map_err(|e| format!("SEARCH in {folder:?}: {e}"))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        if keep_newest {
            uids.pop();
        }
        if uids.is_empty() {
            return Ok(());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .map_err(|e| format!("STORE in {folder:?}: {e}"))?;
        // UID EXPUNGE (UIDPLUS) touches only these; without it a plain EXPUNGE also removes
        // what other clients marked \Deleted in Drafts, which is what they asked for anyway.
        s.uid_expunge(&set)
            .map(|_| ())
            .or_else(|_| s.expunge().map(|_| ()))
            .map_err(|e| format!("EXPUNGE in {folder:?}: {e}"))
    })
}
