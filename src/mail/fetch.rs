//! Pipelined UID FETCH in chunks: a scoped thread reads and parses chunk k+1 from the server
//! while the caller stores chunk k, so the link and the disk work at the same time. Shared by
//! the envelope phase (`sync`) and the body phase (`bodies`). [`raw_uid_fetch`] reads what the
//! `imap` crate parses but does not hand out (Gmail's X-GM-MSGID).

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

/// One message's attributes from a FETCH answer read by [`raw_uid_fetch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub uid: Option<u32>,
    /// Flags and keywords as the server spelled them.
    pub flags: Vec<String>,
    /// INTERNALDATE, unix seconds.
    pub internal: Option<i64>,
    pub size: Option<u32>,
    pub modseq: Option<u64>,
    /// Gmail's X-GM-MSGID: one id per message, whatever labels (folders) show it.
    pub gm_msgid: Option<u64>,
    /// The first `BODY[...]` section's bytes.
    pub section: Option<Vec<u8>>,
}

/// Sends `UID FETCH {set} {items}` itself and parses the untagged FETCH answers with
/// imap-proto: for items the `imap` crate reads but does not hand out (Gmail's X-GM-MSGID).
/// The answer is already bounded in size and time by the stream (`imap::MAX_ANSWER_BYTES`);
/// anything that does not parse is an error, never a panic; other untagged answers (EXISTS,
/// EXPUNGE) are skipped, as the next SELECT learns them again.
pub fn raw_uid_fetch(session: &mut Session, set: &str, items: &str) -> imap::Result<Vec<Fetched>> {
    let data = session.run_command_and_read_response(format!("UID FETCH {set} {items}"))?;
    parse_fetches(&data).map_err(|at| {
        imap::Error::Parse(imap::error::ParseError::Invalid(
            data[at..].iter().take(200).copied().collect(),
        ))
    })
}

/// The FETCH answers in `data` (untagged responses back to back); on a malformed one, the
/// offset where it starts.
pub fn parse_fetches(data: &[u8]) -> Result<Vec<Fetched>, usize> {
    use imap_proto::types::{AttributeValue, Response};
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let at = data.len() - rest.len();
        let (next, response) = imap_proto::parser::parse_response(rest).map_err(|_| at)?;
        if next.len() >= rest.len() {
            return Err(at);
        }
        rest = next;
        let Response::Fetch(_, attributes) = response else {
            continue;
        };
        let mut f = Fetched::default();
        for a in attributes {
            match a {
                AttributeValue::Uid(u) => f.uid = Some(u),
                AttributeValue::Flags(flags) => {
                    f.flags = flags.into_iter().map(|c| c.into_owned()).collect()
                }
                AttributeValue::InternalDate(d) => {
                    f.internal = chrono::DateTime::parse_from_str(&d, "%d-%b-%Y %H:%M:%S %z")
                        .ok()
                        .map(|d| d.timestamp())
                }
                AttributeValue::Rfc822Size(s) => f.size = Some(s),
                AttributeValue::ModSeq(m) => f.modseq = Some(m),
                AttributeValue::GmailMsgId(id) => f.gm_msgid = Some(id),
                AttributeValue::BodySection { data, .. } if f.section.is_none() => {
                    f.section = Some(data.map(|d| d.into_owned()).unwrap_or_default())
                }
                _ => {}
            }
        }
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_ids_flags_and_sections_are_read_and_other_answers_skipped() {
        let data = b"* 3 EXISTS\r\n\
            * 1 FETCH (UID 7 FLAGS (\\Seen $Work) INTERNALDATE \"07-Dec-2026 10:00:00 +0000\" \
            RFC822.SIZE 2048 X-GM-MSGID 1278455344230334865 MODSEQ (12))\r\n\
            * 2 FETCH (X-GM-MSGID 18446744073709551615 UID 9 FLAGS () \
            BODY[HEADER.FIELDS (MESSAGE-ID)] {21}\r\nMessage-ID: <a@b>\r\n\r\n)\r\n";
        let f = parse_fetches(data).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].uid, Some(7));
        assert_eq!(f[0].flags, vec!["\\Seen".to_string(), "$Work".to_string()]);
        assert_eq!(f[0].internal, Some(1_796_637_600));
        assert_eq!(f[0].size, Some(2048));
        assert_eq!(f[0].modseq, Some(12));
        assert_eq!(f[0].gm_msgid, Some(1_278_455_344_230_334_865));
        assert_eq!(f[1].gm_msgid, Some(u64::MAX));
        assert_eq!(
            f[1].section.as_deref(),
            Some(&b"Message-ID: <a@b>\r\n\r\n"[..])
        );
    }

    #[test]
    fn hostile_fetch_answers_are_errors_not_panics() {
        let hostile: [&[u8]; 7] = [
            b"* 1 FETCH (UID 7 X-GM-MSGID 99999999999999999999999)\r\n",
            b"* 1 FETCH (UID 7 X-GM-MSGID -1)\r\n",
            b"* 1 FETCH (UID 7 BODY[] {4000000000}\r\nshort)\r\n",
            b"* 1 FETCH (UID 7 FLAGS (\\Seen\r\n",
            b"* 1 FETCH (UID 7",
            b"\x1b[2J\r\n",
            b"* 1 FETCH ((((((((((((((((((((((((((((((((\r\n",
        ];
        for h in hostile {
            assert!(
                parse_fetches(h).is_err(),
                "{:?}",
                String::from_utf8_lossy(h)
            );
        }
        // A date that is not one is no date, not an error.
        let f = parse_fetches(b"* 1 FETCH (UID 7 INTERNALDATE \"yesterday\")\r\n").unwrap();
        assert_eq!((f[0].uid, f[0].internal), (Some(7), None));
    }
}
