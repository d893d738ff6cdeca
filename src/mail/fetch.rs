//! Pipelined UID FETCH in chunks: a scoped thread reads and parses chunk k+1 from the server
//! while the caller stores chunk k, so the link and the disk work at the same time. Shared by
//! the envelope phase (`sync`) and the body phase (`bodies`).

use super::account::SyncError;
use super::imap::{self as imapconn, Connection, ImapError, Session};

/// A chunk is also cut when its messages add up to this many bytes, so memory stays bounded
/// whatever `chunk_size` and the message sizes are.
pub const MAX_CHUNK_BYTES: u64 = 32 * 1024 * 1024;

/// Cuts `uids` (in the order they are to be fetched, each with its expected size) into chunks
/// of at most `chunk_size` messages and [`MAX_CHUNK_BYTES`] bytes.
pub fn plan_chunks(uids: impl IntoIterator<Item = (u32, u64)>, chunk_size: u32) -> Vec<Vec<u32>> {
    let chunk_size = chunk_size.max(1) as usize;
    let mut chunks: Vec<Vec<u32>> = Vec::new();
    let (mut cur, mut bytes) = (Vec::new(), 0u64);
    for (uid, size) in uids {
        if !cur.is_empty() && (cur.len() >= chunk_size || bytes + size > MAX_CHUNK_BYTES) {
            chunks.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(uid);
        bytes += size;
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    chunks
}

/// Fetches each chunk with `fetch` on a scoped thread (which should only copy bytes out of the
/// answers, not decode them) and hands each chunk's results to `store` on this one, in order,
/// so the link is busy with chunk k+1 while chunk k is parsed and stored. `stop` is asked before
/// each chunk; when it says so the result is [`SyncError::Stopped`]. `what` names the step in
/// errors ("UID FETCH bodies in INBOX").
pub fn pipelined<T: Send>(
    conn: &mut Connection,
    chunks: &[Vec<u32>],
    what: &str,
    fetch: impl FnMut(&mut Session, &str) -> imap::Result<Vec<T>> + Send,
    stop: impl Fn() -> bool + Sync,
    mut store: impl FnMut(Vec<T>) -> Result<(), SyncError>,
) -> Result<(), SyncError> {
    let addr = conn.addr.clone();
    let session = &mut conn.session;
    let stop = &stop;
    let mut fetch = fetch;
    std::thread::scope(|scope| -> Result<(), SyncError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<T>, SyncError>>(1);
        let fetcher = scope.spawn(move || {
            for chunk in chunks {
                if stop() {
                    let _ = tx.send(Err(SyncError::Stopped));
                    return;
                }
                // A chunk runs newest first; the set on the wire is sorted to compress runs.
                let mut sorted = chunk.clone();
                sorted.sort_unstable();
                let result = fetch(session, &imapconn::uid_set(&sorted)).map_err(|source| {
                    SyncError::Imap(ImapError::Protocol {
                        addr: addr.clone(),
                        context: what.to_string(),
                        source: Box::new(source),
                    })
                });
                let failed = result.is_err();
                if tx.send(result).is_err() || failed {
                    return;
                }
            }
        });
        let mut outcome = Ok(());
        for batch in rx.iter() {
            if let Err(e) = batch.and_then(&mut store) {
                outcome = Err(e);
                break;
            }
        }
        drop(rx);
        let _ = fetcher.join();
        outcome
    })
}
