//! The IMAP → SQLite sync engine (RFC 4549 style) and the background watcher the TUI runs.
//!
//! # One sync ([`sync_account`])
//! Replays queued local changes ([`super::ops::replay_pending`]), LISTs every folder (roles from
//! SPECIAL-USE, else `[accounts.X.folders]`, else common names), forgets folders the server no
//! longer has, then per folder: SELECT; a new UIDVALIDITY drops the folder's rows; new UIDs are
//! fetched in chunks (`[sync] chunk_size`), each chunk stored in one transaction, so a kill at
//! any moment leaves a consistent cache that the next sync resumes (rows are keyed by
//! (folder, uid): never duplicated); then flags (skipped when HIGHESTMODSEQ is unchanged,
//! CHANGEDSINCE otherwise) and expunges (UID SEARCH ALL against local UIDs). UIDNEXT and
//! HIGHESTMODSEQ are saved only after the data they describe is committed. In an account with
//! an `\All` folder (Gmail), a message another folder already holds is stored from its UID,
//! flags and X-GM-MSGID (else Message-ID and size) alone, as a copy sharing the stored envelope
//! and body (`Plan::fetch`, `Store::put_copy`).
//! Network fetching runs on a scoped thread one chunk ahead of parsing-and-storing.
//!
//! # In the background ([`spawn_watcher`])
//! ```no_run
//! # use tidings::mail::sync::{spawn_watcher, MailAccount, SyncEvent};
//! # fn f(account: MailAccount, db: std::path::PathBuf) {
//! let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
//! let watcher = spawn_watcher(account, db, tx); // returns at once; work runs on a thread
//! // in the UI loop: `while let Ok(ev) = rx.try_recv() { ... }` (or `rx.recv().await`)
//! watcher.sync_now(); // after queuing ops: replay them and sync without waiting for IDLE
//! watcher.stop();     // or drop it; the thread ends within a moment
//! # }
//! ```
//! The watcher syncs once, then IDLEs on INBOX (re-issued every 25 minutes) or, when the server
//! lacks IDLE, polls every `[sync] poll_seconds`; each change triggers a sync (which first
//! replays pending ops). Connection errors are reported as [`SyncEvent::Error`] and retried.

pub use super::account::{MailAccount, SyncError, SyncEvent};
use super::fetch::{pipelined, raw_uid_fetch, Fetched};
use super::imap::{self as imapconn, Connection, ImapError};
use super::mailbox_name;
use super::parse::{parse_envelope, parse_message};
use super::replies;
use crate::config::BodyPolicy;
use crate::store::{Flags, Folder, Store};
use imap::types::UnsolicitedResponse;
use imap::types::{Fetch, Flag};
use imap_proto::NameAttribute;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// The watcher fetches bodies for at most this long before it looks for new mail again, so a
/// first sync of a big mailbox does not hold back today's mail for hours.
const BODY_PASS: Duration = Duration::from_secs(60);
/// A message no bigger than this, whose body `[sync] bodies` wants, is fetched whole with its
/// envelope: about the size of a few header lines, so the envelope phase barely slows, and
/// one write instead of two.
const INLINE_BODY_BYTES: u64 = 4 * 1024;
/// After the first chunk, envelopes are asked for this many chunks per round trip.
const ENVELOPE_CHUNKS_PER_FETCH: usize = 4;
/// While a folder's envelopes stream in, the list is told to reload at most this often.
const RELOAD_EVERY: Duration = Duration::from_secs(2);
/// RFC 2177 asks clients to re-issue IDLE before 29 minutes.
const IDLE_REISSUE: Duration = Duration::from_secs(25 * 60);

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub folders: usize,
    pub new_messages: u64,
    pub flag_updates: u64,
    pub expunged: u64,
    pub removed_folders: usize,
    pub ops_replayed: u64,
    pub ops_rolled_back: u64,
    /// Of `expunged`, those learned from QRESYNC's VANISHED (no UID list asked for).
    pub vanished: u64,
    /// Bodies downloaded (`[sync] bodies`): small ones with their envelopes, the rest after.
    pub bodies: u64,
    /// Of `new_messages`, copies of messages another folder holds (Gmail's labels): stored from
    /// their UID, flags and id, with no envelope fetched.
    pub envelopes_copied: u64,
    /// True when the body phase stopped at its time budget with bodies left to fetch (the
    /// watcher then syncs again at once instead of waiting for news).
    pub bodies_pending: bool,
}

/// Connects and runs one full sync of the account (replaying queued ops first).
pub fn sync_account(
    account: &MailAccount,
    store: &Store,
    on_event: &mut dyn FnMut(SyncEvent),
) -> Result<SyncReport, SyncError> {
    let mut conn = account.connect()?;
    let report = sync_connected(
        &mut conn,
        account,
        store,
        on_event,
        &AtomicBool::new(false),
        None,
    );
    conn.logout();
    report
}

/// One full sync over an open connection. `stop` is checked between chunks and folders; the
/// body phase ends at `body_deadline` (None: when every body the policy asks for is stored).
pub fn sync_connected(
    conn: &mut Connection,
    account: &MailAccount,
    store: &Store,
    on_event: &mut dyn FnMut(SyncEvent),
    stop: &AtomicBool,
    body_deadline: Option<Instant>,
) -> Result<SyncReport, SyncError> {
    let account_id = account.ensure_in_store(store)?;
    let mut report = SyncReport::default();
    let replay = super::ops::replay_pending(conn, store, account, on_event)?;
    report.ops_replayed = replay.done;
    report.ops_rolled_back = replay.rolled_back;

    let folders = list_folders(conn, account)?;
    let names: Vec<String> = folders.iter().map(|f| f.name.clone()).collect();
    // With an \All folder the other folders are views over it (Gmail's labels): a message's
    // copies share one body, downloaded once.
    let share_bodies = folders.iter().any(|f| f.role == Some("all"));
    {
        let tx = store.conn.unchecked_transaction()?;
        for f in &folders {
            store.upsert_folder(
                account_id,
                &f.name,
                f.delimiter.as_deref(),
                f.role,
                f.selectable,
            )?;
        }
        report.removed_folders = store.remove_folders_except(account_id, &names)?;
        tx.commit()?;
    }
    // INBOX first: it is what the user looks at; then Sent, which threads and replies need.
    let mut order: Vec<&ListedFolder> = folders.iter().filter(|f| f.selectable).collect();
    order.sort_by_key(|f| match f.role {
        Some("inbox") => 0,
        Some("sent") => 1,
        _ => 2,
    });
    for f in &order {
        if stop.load(Ordering::Relaxed) {
            return Err(SyncError::Stopped);
        }
        let local = store.folder(account_id, &f.name)?;
        let job = Job {
            account,
            store,
            share_bodies,
            stop,
        };
        let changed = sync_folder(conn, job, &local, on_event, &mut report)?;
        report.folders += 1;
        if changed {
            on_event(SyncEvent::FolderChanged {
                account: account.name.clone(),
                folder: f.name.clone(),
            });
        }
    }
    // Every envelope is stored: now the bodies, in the same folder order, newest first.
    let synced: Vec<Folder> = order
        .iter()
        .map(|f| store.folder(account_id, &f.name))
        .collect::<Result<_, _>>()?;
    let bodies =
        super::bodies::sync_bodies(conn, account, store, &synced, on_event, stop, body_deadline)?;
    report.bodies += bodies.stored;
    report.bodies_pending = bodies.pending;
    Ok(report)
}

#[derive(Debug, Clone)]
struct ListedFolder {
    /// The wire name (modified UTF-7), as LIST gave it.
    name: String,
    delimiter: Option<String>,
    role: Option<&'static str>,
    selectable: bool,
}

impl mailbox_name::WireName for ListedFolder {
    fn wire_name(&self) -> &str {
        &self.name
    }
}

const ROLES: [&str; 6] = ["sent", "drafts", "trash", "archive", "junk", "all"];

fn common_names(role: &str) -> &'static [&'static str] {
    match role {
        "sent" => &[
            "Sent",
            "Sent Items",
            "Sent Messages",
            "Sent Mail",
            "INBOX.Sent",
        ],
        "drafts" => &["Drafts", "INBOX.Drafts"],
        "trash" => &[
            "Trash",
            "Deleted Items",
            "Deleted Messages",
            "Bin",
            "INBOX.Trash",
        ],
        "archive" => &["Archive", "Archives", "INBOX.Archive"],
        "junk" => &[
            "Junk",
            "Spam",
            "Junk Email",
            "Junk E-mail",
            "INBOX.Junk",
            "INBOX.Spam",
        ],
        // Every message, whatever its labels: Gmail's, for servers that do not say \All.
        "all" => &["[Gmail]/All Mail", "[Google Mail]/All Mail", "All Mail"],
        _ => &[],
    }
}

/// Most folders one account may have.
pub const MAX_FOLDERS: usize = 10_000;

fn list_folders(
    conn: &mut Connection,
    account: &MailAccount,
) -> Result<Vec<ListedFolder>, SyncError> {
    let names = conn
        .session
        .list(Some(""), Some("*"))
        .map_err(conn.err("LIST"))?;
    // Each folder is selected and stored: a million of them is an attack or a broken server,
    // not a mailbox, and syncing them would take days.
    if names.len() > MAX_FOLDERS {
        return Err(SyncError::Invalid(format!(
            "{}: the server lists {} folders; tidings syncs at most {MAX_FOLDERS}",
            conn.addr,
            names.len()
        )));
    }
    let overrides = &account.config.folders;
    let override_for = |role: &str| -> Option<&String> {
        match role {
            "sent" => overrides.sent.as_ref(),
            "drafts" => overrides.drafts.as_ref(),
            "trash" => overrides.trash.as_ref(),
            "archive" => overrides.archive.as_ref(),
            "junk" => overrides.junk.as_ref(),
            _ => None,
        }
    };
    let mut out: Vec<ListedFolder> = Vec::new();
    let mut special: Vec<(usize, &'static str)> = Vec::new();
    for n in names.iter() {
        let name = n.name().to_string();
        // A name with control characters could not be quoted safely nor shown harmlessly.
        if name.chars().any(char::is_control) {
            tracing::warn!("skipping a folder whose name holds control characters");
            continue;
        }
        let mut selectable = true;
        // \Flagged and \Important folders are views over mail that All Mail holds (Gmail's
        // Starred and Important): syncing them would list and fetch each message again.
        let view = n.attributes().iter().any(|a| match a {
            NameAttribute::Flagged => true,
            NameAttribute::Extension(e) => e.eq_ignore_ascii_case("\\Important"),
            _ => false,
        });
        if view && !account.sync.view_folders {
            continue;
        }
        for a in n.attributes() {
            let role = match a {
                NameAttribute::NoSelect => {
                    selectable = false;
                    None
                }
                NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\NonExistent") => {
                    selectable = false;
                    None
                }
                NameAttribute::Sent => Some("sent"),
                NameAttribute::Drafts => Some("drafts"),
                NameAttribute::Trash => Some("trash"),
                NameAttribute::Archive => Some("archive"),
                NameAttribute::Junk => Some("junk"),
                NameAttribute::All => Some("all"),
                _ => None,
            };
            if let Some(r) = role {
                special.push((out.len(), r));
            }
        }
        out.push(ListedFolder {
            role: name.eq_ignore_ascii_case("INBOX").then_some("inbox"),
            name: if name.eq_ignore_ascii_case("INBOX") {
                "INBOX".into()
            } else {
                name
            },
            delimiter: n.delimiter().map(str::to_string),
            selectable,
        });
    }
    // Precedence per role: the user's override (as shown, e.g. "Архив", or the wire name),
    // then SPECIAL-USE, then a common name.
    for role in ROLES {
        let pick = override_for(role)
            .and_then(|want| mailbox_name::find(&out, want).ok())
            .and_then(|f| out.iter().position(|o| o.name == f.name))
            .or_else(|| special.iter().find(|(_, r)| *r == role).map(|(i, _)| *i))
            .or_else(|| {
                common_names(role).iter().find_map(|c| {
                    out.iter()
                        .position(|f| f.name.eq_ignore_ascii_case(c) && f.role.is_none())
                })
            });
        if let Some(i) = pick {
            if out[i].role.is_none() {
                out[i].role = Some(role);
            }
        }
    }
    Ok(out)
}

pub(crate) fn flags_from_imap(flags: &[Flag<'_>]) -> Flags {
    let mut f = Flags::default();
    let mut keywords: Vec<String> = Vec::new();
    for fl in flags {
        match fl {
            Flag::Seen => f.seen = true,
            Flag::Flagged => f.flagged = true,
            Flag::Answered => f.answered = true,
            Flag::Draft => f.draft = true,
            Flag::Deleted => f.deleted = true,
            Flag::Recent | Flag::MayCreate => {}
            Flag::Custom(c) => {
                let k = crate::sanitize::sanitize_line(c);
                if !k.is_empty() && !k.contains(' ') {
                    keywords.push(k);
                }
            }
            _ => {}
        }
    }
    keywords.sort();
    keywords.dedup();
    f.keywords = keywords.join(" ");
    f
}

/// What every folder of one sync shares.
#[derive(Clone, Copy)]
struct Job<'a> {
    account: &'a MailAccount,
    store: &'a Store,
    /// The account has an `\All` folder: copies of a message share one body.
    share_bodies: bool,
    stop: &'a AtomicBool,
}

/// Every UID in the selected folder.
fn search_all(conn: &mut Connection, shown: &str) -> Result<HashSet<u32>, SyncError> {
    Ok(conn
        .session
        .uid_search("ALL")
        .map_err(conn.err(format!("UID SEARCH in {shown}")))?)
}

/// Syncs one folder; true when anything changed locally.
fn sync_folder(
    conn: &mut Connection,
    job: Job<'_>,
    local: &Folder,
    on_event: &mut dyn FnMut(SyncEvent),
    report: &mut SyncReport,
) -> Result<bool, SyncError> {
    let store = job.store;
    // Untagged responses we do not act on would otherwise pile up for the session's lifetime.
    drop(conn.session.take_all_unsolicited());
    let shown = mailbox_name::display(&local.name).into_owned();
    let mb = conn
        .session
        .select(&local.name)
        .map_err(conn.err(format!("SELECT {shown}")))?;
    let caps = conn.caps;
    let Some(uidvalidity) = mb.uid_validity else {
        return Err(SyncError::Invalid(format!(
            "{}: the server gave no UIDVALIDITY for {shown}",
            conn.addr
        )));
    };
    let mut changed = false;
    let mut local = local.clone();
    if local.uidvalidity != Some(uidvalidity) {
        let dropped = store.reset_folder_generation(local.id, uidvalidity)?;
        if dropped > 0 {
            tracing::info!(folder = %shown, dropped, "UIDVALIDITY changed; re-syncing the folder");
            changed = true;
        }
        local.uidnext = None;
        local.highestmodseq = None;
    }
    let modseq_unchanged = caps.condstore
        && local.highestmodseq.is_some()
        && mb.highest_mod_seq == local.highestmodseq;
    let uidnext_unchanged = mb.uid_next.is_some() && mb.uid_next == local.uidnext;
    let rows_before = store.folder_row_count(local.id)?;
    if modseq_unchanged && uidnext_unchanged && u64::from(mb.exists) == rows_before {
        return Ok(changed);
    }

    let old_max = store.max_uid(local.id)?;
    // The server's UIDs, asked once and used for both the missing envelopes and the expunges.
    let mut on_server: Option<HashSet<u32>> = None;
    // 1. Envelopes of the messages we do not hold, newest first. "Missing" is the difference
    // between the server's UIDs and the stored ones, not "above the largest stored": a first
    // sync goes downwards, so after a kill the gap is below what is stored, and the difference
    // finds it again with nothing to remember and nothing fetched twice.
    if (!uidnext_unchanged || u64::from(mb.exists) != rows_before) && mb.exists > 0 {
        let candidates = match local.uidnext {
            // Every UID below the UIDNEXT of the last completed sync of this folder is stored
            // (or expunged since, which step 3 handles): only UIDs from it on can be missing,
            // a gap left by a kill among them. Cheap however big the folder.
            Some(next) => conn
                .session
                .uid_search(format!("UID {next}:*"))
                .map_err(conn.err(format!("UID SEARCH in {shown}")))?
                .into_iter()
                .filter(|u| *u >= next)
                .collect(),
            None => {
                let all = search_all(conn, &shown)?;
                on_server = Some(all.clone());
                all
            }
        };
        let held: HashSet<u32> = store.local_uids(local.id)?.into_iter().collect();
        let mut missing: Vec<u32> = candidates
            .into_iter()
            .filter(|u| !held.contains(u))
            .collect();
        missing.sort_unstable_by(|a, b| b.cmp(a));
        if !missing.is_empty() {
            let stored = fetch_envelopes(conn, job, &local, &missing, on_event)?;
            report.new_messages += stored.rows;
            report.bodies += stored.whole;
            report.envelopes_copied += stored.copies;
            changed |= stored.rows > 0;
        }
    }
    // 2. Flags of the messages we had; with QRESYNC, the expunges since then come with them.
    let mut vanished: Option<HashSet<u32>> = None;
    if old_max > 0 && !modseq_unchanged {
        let query = match (caps.condstore, local.highestmodseq) {
            (true, Some(h)) if caps.qresync => format!("(UID FLAGS) (CHANGEDSINCE {h} VANISHED)"),
            (true, Some(h)) => format!("(UID FLAGS) (CHANGEDSINCE {h})"),
            (true, None) => "(UID FLAGS MODSEQ)".to_string(),
            (false, _) => "(UID FLAGS)".to_string(),
        };
        let fetches = conn
            .session
            .uid_fetch(format!("1:{old_max}"), &query)
            .map_err(conn.err(format!("UID FETCH flags in {shown}")))?;
        let known: BTreeMap<u32, Flags> = store
            .folder_uids(local.id)?
            .into_iter()
            .map(|(uid, f, _)| (uid, f))
            .collect();
        let tx = store.conn.unchecked_transaction()?;
        let mut n = 0;
        for f in fetches.iter() {
            let Some(uid) = f.uid else { continue };
            if uid > old_max {
                continue;
            }
            let flags = flags_from_imap(f.flags());
            if known.get(&uid).is_some_and(|k| *k != flags) {
                store.set_flags_from_server(local.id, uid, &flags, f.mod_seq())?;
                n += 1;
            }
        }
        tx.commit()?;
        report.flag_updates += n;
        changed |= n > 0;
        if caps.qresync && local.highestmodseq.is_some() {
            let mut gone = HashSet::new();
            for r in conn.session.take_all_unsolicited() {
                if let UnsolicitedResponse::Vanished { uids, .. } = r {
                    // Bounded by what we hold: a hostile "1:4294967295" costs nothing, and a
                    // reversed range (which BTreeMap::range would panic on) means nothing.
                    for range in uids.into_iter().filter(|r| r.start() <= r.end()) {
                        gone.extend(known.range(range).map(|(u, _)| *u));
                    }
                }
            }
            vanished = Some(gone);
        }
    }
    // 3. Expunges: QRESYNC's VANISHED when it came, then a full comparison only if the counts
    // still disagree.
    if let Some(gone) = vanished.filter(|g| !g.is_empty()) {
        let gone: Vec<u32> = gone.into_iter().collect();
        let tx = store.conn.unchecked_transaction()?;
        let n = store.delete_uids(local.id, &gone)?;
        tx.commit()?;
        report.expunged += n as u64;
        report.vanished += n as u64;
        changed |= n > 0;
    }
    let rows_now = store.folder_row_count(local.id)?;
    let settled = caps.qresync && local.highestmodseq.is_some();
    if !((modseq_unchanged || settled) && u64::from(mb.exists) == rows_now) && rows_now > 0 {
        let on_server = match on_server {
            Some(all) => all,
            None => search_all(conn, &shown)?,
        };
        let gone: Vec<u32> = store
            .local_uids(local.id)?
            .into_iter()
            .filter(|u| !on_server.contains(u))
            .collect();
        if !gone.is_empty() {
            let tx = store.conn.unchecked_transaction()?;
            let n = store.delete_uids(local.id, &gone)?;
            tx.commit()?;
            report.expunged += n as u64;
            changed = true;
        }
    }
    store.set_folder_state(local.id, Some(uidvalidity), mb.uid_next, mb.highest_mod_seq)?;
    Ok(changed)
}

/// The header fields the list, threading and search need (and, with them, reply detection's
/// `replies::AUTOMATIC_ANSWER_FIELDS`): fetched for every message before any body, so a first
/// sync lists the newest mail after one round trip per chunk.
const ENVELOPE_FIELDS: &str =
    "FROM TO CC SUBJECT DATE MESSAGE-ID IN-REPLY-TO REFERENCES CONTENT-TYPE";

/// One envelope as read off the wire: copied out on the fetching thread, parsed on the storing
/// one, so the link is not idle while headers are decoded.
struct RawEnvelope {
    uid: u32,
    header: Vec<u8>,
    size: u64,
    flags: Flags,
    internal: Option<i64>,
    modseq: Option<u64>,
    /// The whole message, for one small enough to ride along (see [`INLINE_BODY_BYTES`]).
    body: Option<Vec<u8>>,
    /// The body key the server's own id gives (Gmail's X-GM-MSGID); without one, the key
    /// comes from the Message-ID when the envelope is stored.
    key: Option<String>,
}

/// One message of a chunk, as it is to be stored.
enum Arrival {
    /// Fetched: its envelope, and perhaps its whole body.
    New(RawEnvelope),
    /// Another folder's view of a message already stored under `key` (a Gmail label of it):
    /// only its UID, flags and id came over the link.
    Copy {
        uid: u32,
        key: String,
        flags: Flags,
        modseq: Option<u64>,
    },
}

impl Arrival {
    fn uid(&self) -> u32 {
        match self {
            Arrival::New(r) => r.uid,
            Arrival::Copy { uid, .. } => *uid,
        }
    }
}

fn raw_envelope(f: &Fetch<'_>) -> Option<RawEnvelope> {
    Some(RawEnvelope {
        uid: f.uid?,
        header: f.header().unwrap_or_default().to_vec(),
        size: u64::from(f.size.unwrap_or(0)),
        flags: flags_from_imap(f.flags()),
        internal: f.internal_date().map(|d| d.timestamp()),
        modseq: f.mod_seq(),
        body: None,
        key: None,
    })
}

fn gmail_key(msgid: u64) -> String {
    format!("gm:{msgid}")
}

fn flags_of(names: &[String]) -> Flags {
    let flags: Vec<Flag<'_>> = names.iter().map(|s| Flag::from(s.as_str())).collect();
    flags_from_imap(&flags)
}

fn raw_from_gmail(f: Fetched) -> Option<RawEnvelope> {
    Some(RawEnvelope {
        uid: f.uid?,
        header: f.section.unwrap_or_default(),
        size: u64::from(f.size.unwrap_or(0)),
        flags: flags_of(&f.flags),
        internal: f.internal,
        modseq: f.modseq,
        body: None,
        key: f.gm_msgid.map(gmail_key),
    })
}

/// The key copies of one message share where the server has no id of its own for it: the
/// Message-ID alone could be forged to pass one mail off as another; with the exact size too,
/// two copies are the same message.
fn message_id_key(m: &crate::store::NewMessage) -> Option<String> {
    m.message_id.as_ref().map(|id| format!("{id} {}", m.size))
}

/// Whether `[sync] bodies` wants the body of a message that reached the server at `internal`.
fn body_wanted(sync: &crate::config::SyncConfig, internal: Option<i64>) -> bool {
    match sync.bodies {
        BodyPolicy::All => true,
        BodyPolicy::OnDemand => false,
        BodyPolicy::Recent => internal.is_some_and(|t| {
            t >= chrono::Utc::now().timestamp() - i64::from(sync.body_days) * 86_400
        }),
    }
}

/// How one folder's envelopes are fetched.
struct Plan<'a> {
    sync: &'a crate::config::SyncConfig,
    share_bodies: bool,
    /// " MODSEQ" where the server has CONDSTORE, else "".
    modseq: &'static str,
}

/// Which stored messages a chunk's may be copies of: a second, read-only connection to the
/// store (the storing thread writes on the first) and the account.
type Known<'a> = Option<(&'a Store, i64)>;

impl Plan<'_> {
    fn envelope_items(&self) -> String {
        format!(
            "(UID FLAGS INTERNALDATE RFC822.SIZE{} BODY.PEEK[HEADER.FIELDS ({ENVELOPE_FIELDS} {})])",
            self.modseq,
            replies::AUTOMATIC_ANSWER_FIELDS
        )
    }

    /// Fetches one chunk. In an account with an `\All` folder whose other folders hold
    /// messages already (`known`), a message stored there costs only its UID, flags and id —
    /// X-GM-MSGID on Gmail (`gmail`, cleared when the server refuses it), else the Message-ID
    /// and size — and only the others' envelopes are fetched.
    fn fetch(
        &self,
        session: &mut imapconn::Session,
        set: &str,
        gmail: &mut bool,
        known: Known<'_>,
    ) -> imap::Result<Vec<Arrival>> {
        if self.share_bodies && *gmail {
            match self.fetch_gmail(session, set, known) {
                Err(imap::Error::Bad(_) | imap::Error::No(_)) => {
                    tracing::info!("the server refuses X-GM-MSGID; copies are told by Message-ID");
                    *gmail = false;
                }
                other => return other,
            }
        }
        match known.filter(|_| self.share_bodies) {
            Some(known) => {
                let ids = session.uid_fetch(
                    set,
                    format!(
                        "(UID FLAGS RFC822.SIZE{} BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
                        self.modseq
                    ),
                )?;
                let ids = ids.iter().filter_map(|f| {
                    let uid = f.uid?;
                    let size = u64::from(f.size.unwrap_or(0));
                    let header = f.header().unwrap_or_default();
                    let id = parse_envelope(uid, header, size, Flags::default(), None);
                    Some((
                        uid,
                        message_id_key(&id),
                        flags_from_imap(f.flags()),
                        f.mod_seq(),
                    ))
                });
                let (mut out, fresh) = split_copies(ids.collect(), known);
                if !fresh.is_empty() {
                    out.extend(self.fetch_new(session, &imapconn::uid_set(&fresh))?);
                }
                Ok(out)
            }
            None => self.fetch_new(session, set),
        }
    }

    /// Gmail: every envelope comes with its X-GM-MSGID, the key its copies share.
    fn fetch_gmail(
        &self,
        session: &mut imapconn::Session,
        set: &str,
        known: Known<'_>,
    ) -> imap::Result<Vec<Arrival>> {
        let items = format!(
            "(UID X-GM-MSGID FLAGS INTERNALDATE RFC822.SIZE{} BODY.PEEK[HEADER.FIELDS ({ENVELOPE_FIELDS} {})])",
            self.modseq,
            replies::AUTOMATIC_ANSWER_FIELDS
        );
        let whole = |session: &mut imapconn::Session, set: &str| -> imap::Result<Vec<Arrival>> {
            Ok(raw_uid_fetch(session, set, &items)?
                .into_iter()
                .filter_map(raw_from_gmail)
                .map(Arrival::New)
                .collect())
        };
        let Some(known) = known else {
            return whole(session, set);
        };
        let ids = raw_uid_fetch(
            session,
            set,
            &format!("(UID X-GM-MSGID FLAGS{})", self.modseq),
        )?;
        let ids = ids.into_iter().filter_map(|f| {
            Some((
                f.uid?,
                f.gm_msgid.map(gmail_key),
                flags_of(&f.flags),
                f.modseq,
            ))
        });
        let (mut out, fresh) = split_copies(ids.collect(), known);
        if !fresh.is_empty() {
            out.extend(whole(session, &imapconn::uid_set(&fresh))?);
        }
        Ok(out)
    }

    /// Envelopes of messages not stored anywhere yet. A message hardly bigger than its headers
    /// is fetched whole right away: a second pass for its body would cost more in round trips
    /// and writes than its bytes.
    fn fetch_new(&self, session: &mut imapconn::Session, set: &str) -> imap::Result<Vec<Arrival>> {
        let mut raws: Vec<RawEnvelope> = session
            .uid_fetch(set, self.envelope_items())?
            .iter()
            .filter_map(raw_envelope)
            .collect();
        let small: Vec<u32> = raws
            .iter()
            // Not where copies share a body: that one is downloaded once, after all.
            .filter(|r| {
                !self.share_bodies
                    && r.size <= INLINE_BODY_BYTES
                    && body_wanted(self.sync, r.internal)
            })
            .map(|r| r.uid)
            .collect();
        if !small.is_empty() {
            let fetched = session.uid_fetch(imapconn::uid_set(&small), "(UID BODY.PEEK[])")?;
            let mut bodies: std::collections::HashMap<u32, Vec<u8>> = fetched
                .iter()
                .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
                .collect();
            for r in &mut raws {
                r.body = bodies.remove(&r.uid);
            }
        }
        Ok(raws.into_iter().map(Arrival::New).collect())
    }
}

/// Splits (uid, key, flags, modseq) into copies of stored messages and the UIDs (sorted) whose
/// envelopes are still to be fetched. A lookup that fails costs bytes, not correctness: those
/// messages are fetched whole.
fn split_copies(
    ids: Vec<(u32, Option<String>, Flags, Option<u64>)>,
    (reader, account_id): (&Store, i64),
) -> (Vec<Arrival>, Vec<u32>) {
    let keys: Vec<String> = ids.iter().filter_map(|(_, k, _, _)| k.clone()).collect();
    let stored = reader
        .known_body_keys(account_id, &keys)
        .unwrap_or_else(|e| {
            tracing::warn!("looking up stored copies: {e}");
            HashSet::new()
        });
    let (mut copies, mut fresh) = (Vec::new(), Vec::new());
    for (uid, key, flags, modseq) in ids {
        match key.filter(|k| stored.contains(k)) {
            Some(key) => copies.push(Arrival::Copy {
                uid,
                key,
                flags,
                modseq,
            }),
            None => fresh.push(uid),
        }
    }
    fresh.sort_unstable();
    (copies, fresh)
}

/// What [`fetch_envelopes`] stored.
#[derive(Debug, Default, Clone, Copy)]
struct Stored {
    /// Rows added.
    rows: u64,
    /// Of them, messages that came whole (small bodies).
    whole: u64,
    /// Of them, copies of messages stored in another folder (UID, flags and id only).
    copies: u64,
}

/// Fetches the envelopes of `missing` (newest first) in chunks, each stored in one transaction.
/// The list is told to reload after the first chunk and then every [`RELOAD_EVERY`], so the
/// newest mail shows while the rest streams in.
fn fetch_envelopes(
    conn: &mut Connection,
    job: Job<'_>,
    local: &Folder,
    missing: &[u32],
    on_event: &mut dyn FnMut(SyncEvent),
) -> Result<Stored, SyncError> {
    let Job {
        account,
        store,
        share_bodies,
        stop,
    } = job;
    let shown = mailbox_name::display(&local.name).into_owned();
    let total = missing.len() as u64;
    let plan = Plan {
        sync: &account.sync,
        share_bodies,
        modseq: if conn.caps.condstore { " MODSEQ" } else { "" },
    };
    let mut gmail = conn.caps.gmail;
    // Only where other folders hold messages can this one's be copies of them; a lookup
    // connection of its own, since the storing thread holds the first.
    let reader = if share_bodies && store.account_has_body_keys(local.account_id, local.id)? {
        store.reader()?
    } else {
        None
    };
    // Header fields are a few hundred bytes each: the count bounds a chunk, and the answer
    // budget of one command (`imap::MAX_ANSWER_BYTES`) bounds a hostile one. The first chunk
    // (the newest mail, what the list shows first) is `chunk_size`; later ones ask for
    // ENVELOPE_CHUNKS_PER_FETCH times that per round trip, since on a distant server the round
    // trips, not the bytes, are what envelopes cost. Each is still stored and reported
    // `chunk_size` at a time.
    let step = account.sync.chunk_size.max(1) as usize;
    let (first, rest) = missing.split_at(step.min(missing.len()));
    let mut chunks = vec![first.to_vec()];
    chunks.extend(
        rest.chunks(step * ENVELOPE_CHUNKS_PER_FETCH)
            .map(<[u32]>::to_vec),
    );
    chunks.retain(|c| !c.is_empty());
    let mut stored = Stored::default();
    let progress = |done| SyncEvent::Progress {
        account: account.name.clone(),
        folder: shown.clone(),
        done,
        total,
    };
    on_event(progress(0));
    let mut last_reload: Option<Instant> = None;
    // Copies whose original vanished between the lookup and the store: fetched whole after.
    let orphans = std::cell::RefCell::new(Vec::new());
    // Checkpoints fsync the database; during a bulk fetch one every ~80 MB of WAL instead of
    // every 4 MB keeps the disk out of the critical path. Restored below.
    store
        .conn
        .execute_batch("PRAGMA wal_autocheckpoint = 20000;")?;
    let mut store_batch = |mut batch: Vec<Arrival>| -> Result<(), SyncError> {
        // The server answers in UID order; newest first is ours to keep, so that what a kill
        // leaves stored is always the newest part.
        batch.sort_unstable_by_key(|a| std::cmp::Reverse(a.uid()));
        let mut batch = batch.into_iter().peekable();
        while batch.peek().is_some() {
            let txn = store.conn.unchecked_transaction()?;
            let mut count = 0;
            for a in batch.by_ref().take(step) {
                let r = match a {
                    Arrival::Copy {
                        uid,
                        key,
                        flags,
                        modseq,
                    } => {
                        if store
                            .put_copy(local.id, uid, &key, &flags, modseq)?
                            .is_some()
                        {
                            stored.copies += 1;
                            count += 1;
                        } else if store.message_row(local.id, uid)?.is_none() {
                            orphans.borrow_mut().push(uid);
                        }
                        continue;
                    }
                    Arrival::New(r) => r,
                };
                let whole = r.body.is_some();
                let mut m = match r.body {
                    Some(raw) => {
                        let mut m = parse_message(r.uid, raw, r.flags, r.internal);
                        m.size = r.size;
                        m
                    }
                    None => parse_envelope(r.uid, &r.header, r.size, r.flags, r.internal),
                };
                m.modseq = r.modseq;
                if share_bodies {
                    m.body_key = r.key.or_else(|| message_id_key(&m));
                }
                if whole {
                    store.put_message(local.id, &m)?;
                    stored.whole += 1;
                } else {
                    store.put_envelope(local.id, &m)?;
                }
                let own = std::slice::from_ref(&account.config.email);
                if let Err(e) = replies::note_arrival(store, &account.name, own, &m, &r.header) {
                    tracing::warn!(error = %e, "reply detection failed for one message");
                }
                count += 1;
            }
            txn.commit()?;
            stored.rows += count;
            on_event(progress(stored.rows));
            if last_reload.is_none_or(|t| t.elapsed() >= RELOAD_EVERY) && stored.rows < total {
                last_reload = Some(Instant::now());
                on_event(SyncEvent::FolderChanged {
                    account: account.name.clone(),
                    folder: local.name.clone(),
                });
            }
        }
        Ok(())
    };
    let (gmail_flag, plan_ref, account_id) = (&mut gmail, &plan, local.account_id);
    let mut result = pipelined(
        conn,
        &chunks,
        &format!("UID FETCH envelopes in {shown}"),
        // The reader moves to the fetching thread: a connection is not shared between threads.
        move |session, set| {
            let known = reader.as_ref().map(|r| (r, account_id));
            plan_ref.fetch(session, set, gmail_flag, known)
        },
        || stop.load(Ordering::Relaxed),
        &mut store_batch,
    );
    let mut orphans = orphans.take();
    if result.is_ok() && !orphans.is_empty() {
        orphans.sort_unstable();
        result = plan
            .fetch(
                &mut conn.session,
                &imapconn::uid_set(&orphans),
                &mut gmail,
                None,
            )
            .map_err(|e| conn.err(format!("UID FETCH envelopes in {shown}"))(e).into())
            .and_then(&mut store_batch);
    }
    store
        .conn
        .execute_batch("PRAGMA wal_autocheckpoint = 1000;")?;
    result.map(|()| stored)
}

/// Controls a running watcher. Dropping it stops the watcher too.
pub struct WatcherHandle {
    shared: Arc<WatcherShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct WatcherShared {
    stop: AtomicBool,
    wake: AtomicBool,
    /// Cuts the current connection so a blocked IDLE returns at once.
    interrupter: Mutex<Option<imapconn::Interrupter>>,
    wakeup: (Mutex<()>, std::sync::Condvar),
}

impl WatcherShared {
    fn poke(&self) {
        if let Ok(guard) = self.interrupter.lock() {
            if let Some(i) = guard.as_ref() {
                i.interrupt();
            }
        }
        self.wakeup.1.notify_all();
    }

    /// Sleeps up to `d`, returning early when stopped or woken.
    fn sleep(&self, d: Duration) {
        let deadline = Instant::now() + d;
        let Ok(mut guard) = self.wakeup.0.lock() else {
            return;
        };
        while !self.stop.load(Ordering::Relaxed) && !self.wake.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            match self.wakeup.1.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => guard = g,
                Err(_) => return,
            }
        }
    }
}

impl WatcherHandle {
    /// Asks for a sync (and a replay of queued ops) now instead of at the next server change.
    pub fn sync_now(&self) {
        self.shared.wake.store(true, Ordering::Relaxed);
        self.shared.poke();
    }

    /// Stops the watcher; returns at once (the thread finishes its current step in the background).
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.poke();
    }

    /// Stops and waits for the thread to end.
    pub fn join(mut self) {
        self.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WatcherHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the long-running watcher for one account on its own thread and returns at once.
/// It opens its own [`Store`] at `db_path` and reports on `events`.
pub fn spawn_watcher(
    account: MailAccount,
    db_path: PathBuf,
    events: UnboundedSender<SyncEvent>,
) -> WatcherHandle {
    let shared = Arc::new(WatcherShared {
        stop: AtomicBool::new(false),
        wake: AtomicBool::new(false),
        interrupter: Mutex::new(None),
        wakeup: (Mutex::new(()), std::sync::Condvar::new()),
    });
    let thread_shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name(format!("sync-{}", account.name))
        .spawn(move || watch(account, db_path, events, thread_shared))
        .ok();
    WatcherHandle { shared, thread }
}

fn watch(
    account: MailAccount,
    db_path: PathBuf,
    events: UnboundedSender<SyncEvent>,
    shared: Arc<WatcherShared>,
) {
    let name = account.name.clone();
    let send = |ev: SyncEvent| {
        let _ = events.send(ev);
    };
    let store = match Store::open(&db_path) {
        Ok(s) => s,
        Err(e) => {
            send(SyncEvent::Error {
                account: name.clone(),
                message: e.to_string(),
            });
            return;
        }
    };
    let poll = Duration::from_secs(account.sync.poll_seconds.max(1));
    let mut backoff = Duration::from_secs(2);
    while !shared.stop.load(Ordering::Relaxed) {
        shared.wake.store(false, Ordering::Relaxed);
        let result = watch_connection(&account, &store, &events, &shared, poll);
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        match result {
            Ok(()) => backoff = Duration::from_secs(2),
            Err(e) => {
                // An interruption we asked for (sync_now) is not an error worth showing.
                if !shared.wake.load(Ordering::Relaxed) {
                    tracing::warn!(account = %name, "sync: {e}");
                    send(SyncEvent::Error {
                        account: name.clone(),
                        message: e.to_string(),
                    });
                    shared.sleep(backoff);
                    backoff = (backoff * 2).min(poll.max(Duration::from_secs(2)));
                }
            }
        }
    }
}

/// One connection's life: sync, then wait for changes and sync again, until an error or stop.
fn watch_connection(
    account: &MailAccount,
    store: &Store,
    events: &UnboundedSender<SyncEvent>,
    shared: &WatcherShared,
    poll: Duration,
) -> Result<(), SyncError> {
    let mut conn = account.connect()?;
    if let Ok(mut guard) = shared.interrupter.lock() {
        *guard = conn.interrupter().ok();
    }
    let mut on_event = |ev: SyncEvent| {
        let _ = events.send(ev);
    };
    loop {
        shared.wake.store(false, Ordering::Relaxed);
        let report = sync_connected(
            &mut conn,
            account,
            store,
            &mut on_event,
            &shared.stop,
            Some(Instant::now() + BODY_PASS),
        )?;
        on_event(SyncEvent::Finished {
            account: account.name.clone(),
        });
        if report.bodies_pending {
            // Bodies remain: look for news (cheap when nothing changed), then fetch more.
            continue;
        }
        if shared.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if shared.wake.load(Ordering::Relaxed) {
            // A wake request arrived during the sync: run another one straight away, but on a
            // fresh connection, since the poke may have cut this one.
            return Ok(());
        }
        if conn.caps.idle {
            conn.session
                .select("INBOX")
                .map_err(conn.err("SELECT INBOX"))?;
            let mut idle = conn.session.idle();
            idle.timeout(IDLE_REISSUE).keepalive(false);
            // Any untagged response (EXISTS, EXPUNGE, FETCH) means a change worth a sync.
            let outcome = idle.wait_while(|_| false);
            drop(idle);
            match outcome {
                Ok(_) => {}
                Err(e) => {
                    return if shared.stop.load(Ordering::Relaxed)
                        || shared.wake.load(Ordering::Relaxed)
                    {
                        Ok(())
                    } else {
                        Err(SyncError::Imap(ImapError::Protocol {
                            addr: conn.addr.clone(),
                            context: "IDLE".into(),
                            source: Box::new(e),
                        }))
                    };
                }
            }
        } else {
            shared.sleep(poll);
        }
        if shared.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_sorted_and_system_flags_mapped() {
        let f = flags_from_imap(&[
            Flag::Custom("$Label2".into()),
            Flag::Seen,
            Flag::Recent,
            Flag::Custom("$Label1".into()),
            Flag::Flagged,
        ]);
        assert!(f.seen && f.flagged && !f.answered);
        assert_eq!(f.keywords, "$Label1 $Label2");
    }
}
