//! Filing our own mail on the IMAP server: the Sent copy after a send (once, never twice), drafts
//! in Drafts (one copy per draft), and counting a Message-ID in Sent (to confirm an ambiguous
//! send). Each call logs in with [`super::imap::connect`] — the sync engine's TLS/STARTTLS, auth
//! and per-read timeouts — on a worker thread, and gives up after an overall deadline, cutting the
//! connection, so a hung or trickling server can never block the outbox. Folders are named on
//! the wire in modified UTF-7 (`super::mailbox_name`), configured names included.

use super::imap::{self as imapconn, Connection, ImapError, Interrupter};
use super::mailbox_name;
use crate::config::{AccountConfig, ServerConfig};
use crate::store::Store;
use imap::types::Flag;
use imap_proto::NameAttribute;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum FilingError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error("IMAP {addr}: no answer within {seconds}s while {doing}")]
    Timeout {
        addr: String,
        seconds: u64,
        doing: &'static str,
    },
    #[error("Message-ID {0:?} cannot be searched for (line break)")]
    BadMessageId(String),
    #[error("the account has no [imap] section: no server to file on")]
    NoServer,
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

    fn attribute(self) -> NameAttribute<'static> {
        match self {
            Role::Sent => NameAttribute::Sent,
            Role::Drafts => NameAttribute::Drafts,
        }
    }

    fn conventional_name(self) -> &'static str {
        match self {
            Role::Sent => "Sent",
            Role::Drafts => "Drafts",
        }
    }
}

/// Where a copy goes: the config's override, else what sync learned from SPECIAL-USE; when
/// neither is known (never synced) the server is asked (LIST, SPECIAL-USE attributes) in the
/// same session, and only then the conventional name is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub role: Role,
    /// The folder's wire name (modified UTF-7), what every command here sends; see
    /// [`Target::display_name`] for what to show.
    pub known: Option<String>,
}

impl Target {
    /// The known folder as people read it ("Entwürfe" for `Entw&APw-rfe`).
    pub fn display_name(&self) -> Option<String> {
        self.known
            .as_deref()
            .map(|w| mailbox_name::display(w).into_owned())
    }
}

/// The [`Target`] for `role` in `account`. A configured name is the folder as shown (`drafts =
/// "Entwürfe"`) or its wire name, matched against the synced folders; one not synced yet is
/// encoded, so a non-ASCII name never goes out as raw UTF-8.
pub fn target(account: &str, acc: &AccountConfig, store: Option<&Store>, role: Role) -> Target {
    let configured = match role {
        Role::Sent => acc.folders.sent.clone(),
        Role::Drafts => acc.folders.drafts.clone(),
    };
    let folders = store
        .and_then(|s| s.folders(s.account_id(account).ok()?).ok())
        .unwrap_or_default();
    let known = match configured {
        Some(name) => Some(mailbox_name::wire_for(&folders, &name)),
        None => folders
            .into_iter()
            .find(|f| f.role.as_deref() == Some(role.name()))
            .map(|f| f.name),
    };
    Target { role, known }
}

/// The folder name `target` resolves to on this connection.
fn resolve(conn: &mut Connection, target: &Target) -> Result<String, ImapError> {
    if let Some(name) = &target.known {
        return Ok(name.clone());
    }
    let want = target.role.attribute();
    let names = conn
        .session
        .list(Some(""), Some("*"))
        .map_err(conn.err("LIST"))?;
    let special = names
        .iter()
        .find(|n| n.attributes().contains(&want))
        .map(|n| n.name().to_string())
        .filter(|n| !n.chars().any(char::is_control));
    Ok(special.unwrap_or_else(|| target.role.conventional_name().to_string()))
}

/// Config-file hint for connection errors: the filing code does not know the file's path.
const CONFIG_HINT: &str = "the config file";

/// Runs `op` on a fresh logged-in connection on a worker thread. Every read and write already
/// times out; the overall deadline (a few command timeouts plus time for `payload` bytes at a
/// slow 64 KiB/s) also stops a server that trickles: when it passes, the connection is cut (so
/// the worker ends too) and `Timeout` is returned.
pub(super) fn with_connection<T: Send + 'static>(
    cfg: &ServerConfig,
    doing: &'static str,
    payload: usize,
    op: impl FnOnce(&mut Connection) -> Result<T, FilingError> + Send + 'static,
) -> Result<T, FilingError> {
    let cfg_thread = cfg.clone();
    let (tx, rx) = mpsc::channel();
    let (cut_tx, cut_rx) = mpsc::channel::<Interrupter>();
    std::thread::spawn(move || {
        let run = || -> Result<T, FilingError> {
            let mut conn =
                imapconn::connect_with_interrupter(&cfg_thread, Path::new(CONFIG_HINT), |i| {
                    let _ = cut_tx.send(i);
                })?;
            let out = op(&mut conn);
            conn.logout();
            out
        };
        let _ = tx.send(run());
    });
    let seconds = cfg.timeout_seconds.max(1) * 3 + (payload / 65_536) as u64;
    match rx.recv_timeout(Duration::from_secs(seconds)) {
        Ok(r) => r,
        Err(_) => {
            if let Ok(i) = cut_rx.try_recv() {
                i.interrupt();
            }
            Err(FilingError::Timeout {
                addr: format!("{}:{}", cfg.host, cfg.port),
                seconds,
                doing,
            })
        }
    }
}

/// `HEADER Message-ID "<id>"`, quoted so that nothing in the id can break out of the string.
pub(super) fn message_id_query(message_id: &str) -> Result<String, FilingError> {
    let quoted = imapconn::quote(message_id)
        .ok_or_else(|| FilingError::BadMessageId(message_id.to_string()))?;
    Ok(format!("HEADER Message-ID {quoted}"))
}

/// UIDs in the selected folder carrying the Message-ID, ascending.
fn uids_with(conn: &mut Connection, query: &str, folder: &str) -> Result<Vec<u32>, ImapError> {
    let set = conn
        .session
        .uid_search(query)
        .map_err(conn.err(format!("SEARCH in {:?}", mailbox_name::display(folder))))?;
    let mut uids: Vec<u32> = set.into_iter().collect();
    uids.sort_unstable();
    Ok(uids)
}

/// SELECTs (`writable`) or EXAMINEs `folder` and returns the UIDs matching `query`.
pub(super) fn open_and_search(
    conn: &mut Connection,
    folder: &str,
    query: &str,
    writable: bool,
) -> Result<Vec<u32>, ImapError> {
    let opened = if writable {
        conn.session.select(folder)
    } else {
        conn.session.examine(folder)
    };
    let verb = if writable { "SELECT" } else { "EXAMINE" };
    opened.map_err(conn.err(format!("{verb} {:?}", mailbox_name::display(folder))))?;
    uids_with(conn, query, folder)
}

/// Marks `uids` \Deleted in the selected folder and expunges them: UID EXPUNGE (UIDPLUS)
/// touches only these; without it a plain EXPUNGE also removes what other clients marked
/// \Deleted there, which is what they asked for anyway.
pub(super) fn remove(conn: &mut Connection, uids: &[u32], folder: &str) -> Result<(), ImapError> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = imapconn::uid_set(uids);
    let folder = mailbox_name::display(folder);
    conn.session
        .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
        .map_err(conn.err(format!("STORE in {folder:?}")))?;
    let expunged = if conn.caps.uidplus {
        conn.session.uid_expunge(&set).map(|_| ())
    } else {
        conn.session.expunge().map(|_| ())
    };
    expunged.map_err(conn.err(format!("EXPUNGE in {folder:?}")))
}

/// The UID an APPEND got, when the server says (UIDPLUS).
fn appended_uid(appended: &imap::types::Appended) -> Option<u32> {
    match appended.uids.as_ref()?.first()? {
        imap_proto::UidSetMember::Uid(u) => Some(*u),
        imap_proto::UidSetMember::UidRange(r) => Some(*r.end()),
    }
}

/// What became of a Sent copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentFiling {
    /// APPENDed to this folder.
    Appended(String),
    /// A copy with this Message-ID was already there (an earlier APPEND whose result was lost,
    /// or a server that files sent mail itself): nothing added.
    AlreadyThere(String),
    /// The server files sent mail itself (Gmail, Microsoft 365; see [`server_files_sent`]):
    /// nothing added.
    ServerFiles,
}

/// Microsoft's SMTP submission hosts: Exchange Online and Outlook.com store what is submitted
/// there in the mailbox's Sent Items themselves (since June 2018), so an APPEND would file it
/// twice — and the server's copy may land after our Message-ID search, so that cannot tell.
const MICROSOFT_SUBMISSION: [&str; 2] = ["smtp.office365.com", "smtp-mail.outlook.com"];

/// Whether the server files what the account sends in Sent by itself: the account's
/// `server_saves_sent` when set; else Gmail (its IMAP advertises X-GM-EXT-1, `gmail`) or
/// Microsoft 365 / Outlook.com (mail submitted through Microsoft's SMTP hosts).
pub fn server_files_sent(acc: &AccountConfig, gmail: bool) -> bool {
    acc.server_saves_sent.unwrap_or_else(|| {
        gmail
            || acc.smtp.as_ref().is_some_and(|smtp| {
                let host = smtp.host.trim_end_matches('.');
                MICROSOFT_SUBMISSION
                    .iter()
                    .any(|m| host.eq_ignore_ascii_case(m))
            })
    })
}

/// Files the Sent copy of a sent mail, exactly once: in one session, looks for the Message-ID in
/// the Sent folder first and APPENDs (flag \Seen) only when it is not there. With
/// `server_saves_sent` unset, a server that files sent mail itself ([`server_files_sent`]) is
/// left to. A missing Sent folder is
/// created. Afterwards the mail's draft copies are removed from Drafts (best effort: the mail is
/// sent and filed either way).
pub fn file_sent(
    acc: &AccountConfig,
    sent: &Target,
    drafts: &Target,
    message_id: &str,
    raw: Vec<u8>,
) -> Result<SentFiling, FilingError> {
    let query = message_id_query(message_id)?;
    let acc_thread = acc.clone();
    let (sent, drafts) = (sent.clone(), drafts.clone());
    let imap = acc.imap.as_ref().ok_or(FilingError::NoServer)?;
    with_connection(imap, "filing in Sent", raw.len(), move |conn| {
        let filing = if server_files_sent(&acc_thread, conn.caps.gmail) {
            SentFiling::ServerFiles
        } else {
            let folder = resolve(conn, &sent)?;
            let shown = mailbox_name::display(&folder).into_owned();
            creating_on_refusal(conn, &folder, |c| {
                c.session
                    .examine(&folder)
                    .map(|_| ())
                    .map_err(c.err(format!("EXAMINE {shown:?}")))
            })?;
            if uids_with(conn, &query, &folder)?.is_empty() {
                conn.session
                    .append(&folder, &raw)
                    .flag(Flag::Seen)
                    .finish()
                    .map_err(conn.err(format!("APPEND to {shown:?}")))?;
                SentFiling::Appended(folder)
            } else {
                SentFiling::AlreadyThere(folder)
            }
        };
        if let Err(e) = remove_drafts(conn, &drafts, &query) {
            tracing::warn!("could not remove the sent mail's drafts from the server: {e}");
        }
        Ok(filing)
    })
}

/// Runs `f`; when the server refuses it (typically: the folder does not exist — a fresh account
/// without Sent or Drafts, or a configured name never created) creates `folder` and runs `f`
/// once more. If the CREATE is refused too, the first refusal is the error.
fn creating_on_refusal<T>(
    conn: &mut Connection,
    folder: &str,
    mut f: impl FnMut(&mut Connection) -> Result<T, ImapError>,
) -> Result<T, ImapError> {
    match f(conn) {
        // The imap crate reports a refused APPEND (NO [TRYCREATE] instead of "+") as `Append`.
        Err(e)
            if e.is_refusal()
                || matches!(&e, ImapError::Protocol { source, .. }
                    if matches!(**source, imap::Error::Append)) =>
        {
            if conn.session.create(folder).is_err() {
                return Err(e);
            }
            tracing::info!(folder = %mailbox_name::display(folder), "created the missing folder");
            f(conn)
        }
        other => other,
    }
}

fn remove_drafts(conn: &mut Connection, drafts: &Target, query: &str) -> Result<(), ImapError> {
    let folder = resolve(conn, drafts)?;
    if let Err(e) = conn.session.select(&folder) {
        // No Drafts folder: nothing to remove.
        tracing::debug!("SELECT {:?}: {e}", mailbox_name::display(&folder));
        return Ok(());
    }
    let uids = uids_with(conn, query, &folder)?;
    remove(conn, &uids, &folder)
}

/// APPENDs a draft (flags \Draft \Seen) and removes every older copy with the same Message-ID,
/// so the Drafts folder holds one copy per draft however often it is saved. Returns the folder's
/// wire name (what [`delete_message_id`] takes; `mailbox_name::display` shows it).
pub fn save_draft(
    cfg: &ServerConfig,
    drafts: &Target,
    message_id: &str,
    raw: Vec<u8>,
) -> Result<String, FilingError> {
    let query = message_id_query(message_id)?;
    let drafts = drafts.clone();
    with_connection(cfg, "saving a draft", raw.len(), move |conn| {
        let folder = resolve(conn, &drafts)?;
        let shown = mailbox_name::display(&folder).into_owned();
        let appended = creating_on_refusal(conn, &folder, |c| {
            c.session
                .append(&folder, &raw)
                .flag(Flag::Draft)
                .flag(Flag::Seen)
                .finish()
                .map_err(c.err(format!("APPEND to {shown:?}")))
        })?;
        let mut older = open_and_search(conn, &folder, &query, true)?;
        // Without APPENDUID the newest copy is the one with the highest UID (UIDs only grow).
        match appended_uid(&appended) {
            Some(new) => older.retain(|u| *u != new),
            None => {
                older.pop();
            }
        }
        remove(conn, &older, &folder)?;
        Ok(folder)
    })
}

/// Removes every copy with this Message-ID from `folder`, a wire name (a discarded draft).
/// Returns how many.
pub fn delete_message_id(
    cfg: &ServerConfig,
    folder: &str,
    message_id: &str,
) -> Result<usize, FilingError> {
    let query = message_id_query(message_id)?;
    let folder = folder.to_string();
    with_connection(cfg, "removing a draft", 0, move |conn| {
        let uids = open_and_search(conn, &folder, &query, true)?;
        remove(conn, &uids, &folder)?;
        Ok(uids.len())
    })
}

/// How many messages in the `target` folder carry this Message-ID (with angle brackets).
pub fn count_message_id(
    cfg: &ServerConfig,
    target: &Target,
    message_id: &str,
) -> Result<usize, FilingError> {
    let query = message_id_query(message_id)?;
    let target = target.clone();
    with_connection(cfg, "searching for a Message-ID", 0, move |conn| {
        let folder = resolve(conn, &target)?;
        Ok(open_and_search(conn, &folder, &query, false)?.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsoft_and_gmail_file_sent_mail_themselves_unless_the_config_says_otherwise() {
        let account = |smtp_host: &str, saves: &str| {
            let text = format!(
                "[accounts.a]\nemail = \"me@contoso.test\"\n{saves}\n\
                 [accounts.a.smtp]\nhost = \"{smtp_host}\"\nport = 587\nuser = \"me\"\n\
                 password = \"pw\"\n"
            );
            let config = crate::config::Config::parse(&text, Path::new("t.toml")).unwrap();
            config.accounts["a"].clone()
        };
        assert!(server_files_sent(&account("smtp.office365.com", ""), false));
        assert!(server_files_sent(
            &account("SMTP-Mail.Outlook.com.", ""),
            false
        ));
        assert!(!server_files_sent(&account("smtp.example.com", ""), false));
        assert!(server_files_sent(&account("smtp.example.com", ""), true));
        let relay = "server_saves_sent = false";
        assert!(!server_files_sent(
            &account("smtp.office365.com", relay),
            true
        ));
        let says = "server_saves_sent = true";
        assert!(server_files_sent(&account("smtp.example.com", says), false));
    }

    #[test]
    fn a_message_id_with_a_line_break_is_refused_and_quotes_are_escaped() {
        assert!(message_id_query("<a@b>\r\nA1 LOGOUT").is_err());
        assert_eq!(
            message_id_query("<a\"b@c>").unwrap(),
            r#"HEADER Message-ID "<a\"b@c>""#
        );
    }
}
