//! Who answered the mail this user sent: one row per real reply (automatic answers are judged in
//! `mail::replies` and never stored here), and what is known about each sent mail's recipients,
//! which decides whether an arriving message's sender may count as answering it.

use super::{Result, Store};
use crate::address::{normalize_email, parse_address_list};
use crate::message_id;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::HashSet;

/// A real reply to a mail the user sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// The account the reply arrived in.
    pub account: String,
    /// The user's mail that was answered, with angle brackets.
    pub sent_message_id: String,
    pub reply_message_id: String,
    /// Lower case.
    pub replied_by: String,
    pub replied_by_name: String,
    /// Unix seconds.
    pub replied_at: i64,
}

impl Reply {
    /// The name if there is one, else the address: "Dana Lee".
    pub fn who(&self) -> &str {
        if self.replied_by_name.trim().is_empty() {
            &self.replied_by
        } else {
            &self.replied_by_name
        }
    }
}

/// A sent mail as reply detection needs it: when it left and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub account: String,
    pub message_id: String,
    /// Lower-case addresses of To and Cc (and Bcc where the record kept them).
    pub recipients: Vec<String>,
    pub sent_at: Option<i64>,
}

impl Store {
    /// Stores `r`; false when this reply to this mail was already stored.
    pub fn record_reply(&self, r: &Reply) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO replies(account, sent_message_id, reply_message_id, replied_by,
                 replied_by_name, replied_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                r.account,
                message_id::bracketed(&r.sent_message_id),
                message_id::bracketed(&r.reply_message_id),
                normalize_email(&r.replied_by),
                r.replied_by_name,
                r.replied_at
            ],
        )?;
        Ok(n == 1)
    }

    /// The real replies to `sent_message_id`, earliest first.
    pub fn replies_to(&self, sent_message_id: &str) -> Result<Vec<Reply>> {
        let mut st = self.conn.prepare_cached(
            "SELECT account, sent_message_id, reply_message_id, replied_by, replied_by_name,
                    replied_at
             FROM replies WHERE sent_message_id = ?1 ORDER BY replied_at, reply_message_id",
        )?;
        let rows = st.query_map([message_id::bracketed(sent_message_id)], |r| {
            Ok(Reply {
                account: r.get(0)?,
                sent_message_id: r.get(1)?,
                reply_message_id: r.get(2)?,
                replied_by: r.get(3)?,
                replied_by_name: r.get(4)?,
                replied_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The first real reply to `sent_message_id`, if any.
    pub fn first_reply(&self, sent_message_id: &str) -> Result<Option<Reply>> {
        Ok(self.replies_to(sent_message_id)?.into_iter().next())
    }

    /// Every sent mail someone really answered.
    pub fn replied_message_ids(&self) -> Result<HashSet<String>> {
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT sent_message_id FROM replies")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// What is known about a mail the user sent with this Message-ID: its reminder, its tracking
    /// record, else its copy in a Sent folder. `None` when it is not the user's mail.
    pub fn sent_mail(&self, id: &str) -> Result<Option<SentMail>> {
        let id = message_id::bracketed(id);
        let remembered: Option<(String, String, i64)> = self
            .conn
            .query_row(
                "SELECT account, recipients, sent_at FROM reminders WHERE message_id = ?1 LIMIT 1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let mut found: Option<SentMail> = remembered.map(|(account, list, sent_at)| SentMail {
            account,
            message_id: id.clone(),
            recipients: list.split_whitespace().map(str::to_string).collect(),
            sent_at: Some(sent_at),
        });
        let tracked: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT account, sent_at FROM tracked_messages WHERE message_id = ?1 LIMIT 1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((account, sent_at)) = tracked {
            let mut st = self.conn.prepare_cached(
                "SELECT address FROM tracked_recipients WHERE account = ?1 AND message_id = ?2",
            )?;
            let addresses: Vec<String> = st
                .query_map(params![account, id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let m = found.get_or_insert_with(|| SentMail {
                account,
                message_id: id.clone(),
                recipients: Vec::new(),
                sent_at: Some(sent_at),
            });
            m.recipients.extend(addresses);
        }
        let filed: Option<(String, String, String, i64)> = self
            .conn
            .query_row(
                "SELECT a.name, m.to_addrs, m.cc_addrs, m.date FROM messages m
                 JOIN folders f ON f.id = m.folder_id JOIN accounts a ON a.id = f.account_id
                 WHERE m.message_id = ?1 AND f.role = 'sent' LIMIT 1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        if let Some((account, to, cc, date)) = filed {
            let m = found.get_or_insert_with(|| SentMail {
                account,
                message_id: id.clone(),
                recipients: Vec::new(),
                sent_at: Some(date),
            });
            for a in parse_address_list(&to)
                .into_iter()
                .chain(parse_address_list(&cc))
            {
                m.recipients.push(normalize_email(&a.email));
            }
        }
        if let Some(m) = &mut found {
            let mut seen = HashSet::new();
            m.recipients.retain(|a| seen.insert(a.clone()));
        }
        Ok(found)
    }

    /// Every Message-ID the user is known to have sent (reminders, tracked mail, Sent folders):
    /// what the one-time scan of mail cached before reply detection existed looks for.
    pub fn sent_message_ids(&self) -> Result<HashSet<String>> {
        let mut st = self.conn.prepare(
            "SELECT message_id FROM reminders
             UNION SELECT message_id FROM tracked_messages
             UNION SELECT m.message_id FROM messages m JOIN folders f ON f.id = m.folder_id
                 WHERE f.role = 'sent' AND m.message_id IS NOT NULL",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Sent-folder messages stored after row `after_id`, up to `limit`: (row id, Message-ID).
    pub fn sent_messages_after(&self, after_id: i64, limit: u32) -> Result<Vec<(i64, String)>> {
        let mut st = self.conn.prepare(
            "SELECT m.id, m.message_id FROM messages m JOIN folders f ON f.id = m.folder_id
             WHERE m.id > ?1 AND f.role = 'sent' AND m.message_id IS NOT NULL
             ORDER BY m.id LIMIT ?2",
        )?;
        let rows = st.query_map(params![after_id, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Cached messages (outside Sent and Drafts) that answer `sent_message_id` directly or
    /// belong to the thread it started: (row id, account, what each answers).
    pub fn answers_to(&self, sent_message_id: &str) -> Result<Vec<(i64, String, Vec<String>)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT m.id, a.name, m.in_reply_to, m.refs FROM messages m
             JOIN folders f ON f.id = m.folder_id JOIN accounts a ON a.id = f.account_id
             WHERE (m.in_reply_to = ?1 OR m.thread_root = ?1)
               AND coalesce(f.role, '') NOT IN ('sent', 'drafts')",
        )?;
        let rows = st.query_map([message_id::bracketed(sent_message_id)], answering_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Cached messages that answer something (In-Reply-To or References set), outside Sent and
    /// Drafts, after row `after_id`, up to `limit`: (row id, account, in_reply_to, references).
    pub fn answering_messages(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<(i64, String, Vec<String>)>> {
        let mut st = self.conn.prepare(
            "SELECT m.id, a.name, m.in_reply_to, m.refs FROM messages m
             JOIN folders f ON f.id = m.folder_id JOIN accounts a ON a.id = f.account_id
             WHERE m.id > ?1 AND (m.in_reply_to IS NOT NULL OR m.refs != '')
               AND coalesce(f.role, '') NOT IN ('sent', 'drafts')
             ORDER BY m.id LIMIT ?2",
        )?;
        let rows = st.query_map(params![after_id, limit], answering_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// (row id, account, In-Reply-To then References) from `m.id, a.name, m.in_reply_to, m.refs`.
fn answering_row(r: &rusqlite::Row) -> rusqlite::Result<(i64, String, Vec<String>)> {
    let in_reply_to: Option<String> = r.get(2)?;
    let refs: Option<String> = r.get(3)?;
    let ids = in_reply_to
        .into_iter()
        .chain(
            refs.unwrap_or_default()
                .split_whitespace()
                .map(str::to_string),
        )
        .collect();
    Ok((r.get(0)?, r.get(1)?, ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_stored_once_and_found_by_the_sent_mail() {
        let s = Store::open_in_memory().unwrap();
        let r = Reply {
            account: "work".into(),
            sent_message_id: "sent@x".into(),
            reply_message_id: "<re@y>".into(),
            replied_by: "Dana@Acme.test".into(),
            replied_by_name: "Dana Lee".into(),
            replied_at: 5000,
        };
        assert!(s.record_reply(&r).unwrap());
        assert!(!s.record_reply(&r).unwrap());
        let got = s.first_reply("<sent@x>").unwrap().unwrap();
        assert_eq!(got.replied_by, "dana@acme.test");
        assert_eq!(got.who(), "Dana Lee");
        assert!(s.first_reply("<other@x>").unwrap().is_none());
    }

    #[test]
    fn a_sent_mail_is_known_by_its_tracking_record() {
        let mut s = Store::open_in_memory().unwrap();
        assert!(s.sent_mail("<q3@x>").unwrap().is_none());
        let rec = crate::store::TrackedMessageRecord::q3_for_tests(
            "<q3@x>",
            &[("dana@acme.test", "Dana"), ("Lee@Acme.test", "")],
        );
        s.record_tracked_message(&rec).unwrap();
        let m = s.sent_mail("q3@x").unwrap().unwrap();
        assert_eq!(m.account, "work");
        assert_eq!(m.recipients, ["dana@acme.test", "lee@acme.test"]);
        assert!(s.sent_message_ids().unwrap().contains("<q3@x>"));
    }
}
