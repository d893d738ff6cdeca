//! The tracked mail this user sent, as the client knows it: the record written when the tracker
//! accepted a mail's registration (by a send or by `tidings demo`'s seed) with its recipients,
//! each recipient's pixel, opt-out and link URLs (so the reader can show them even when the outbox
//! row that first held them is gone), the outbox's tracking record looked up by Message-ID (the
//! reader asks for it for every message it opens, so it reads one indexed row), and where the
//! mail's cached copy is. What happened to the mail afterwards — events, notifications — is in
//! `tracking_events`.

use super::{Result, Store};
use crate::address::normalize_email;
use crate::message_id;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

/// A tracked mail as the sending side records it when the tracker accepted its registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackedMessageRecord {
    pub account: String,
    /// The Message-ID header; stored with angle brackets whether or not they are given.
    pub message_id: String,
    pub subject: String,
    /// Unix seconds.
    pub sent_at: i64,
    pub track_opens: bool,
    pub track_links: bool,
    pub recipients: Vec<TrackedRecipient>,
}

#[cfg(test)]
impl TrackedMessageRecord {
    /// The unit tests' tracked mail: "Proposal for Q3" from account `work`, sent at 1000 with
    /// opens and links tracked, to `recipients` as (address, name).
    pub(crate) fn q3_for_tests(message_id: &str, recipients: &[(&str, &str)]) -> Self {
        TrackedMessageRecord {
            account: "work".into(),
            message_id: message_id.into(),
            subject: "Proposal for Q3".into(),
            sent_at: 1000,
            track_opens: true,
            track_links: true,
            recipients: recipients
                .iter()
                .map(|(address, name)| TrackedRecipient {
                    address: address.to_string(),
                    name: name.to_string(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackedRecipient {
    pub address: String,
    /// Display name as addressed; empty when none.
    pub name: String,
}

impl Store {
    /// Records (or replaces) a tracked mail and its recipients.
    pub fn record_tracked_message(&mut self, r: &TrackedMessageRecord) -> Result<()> {
        let id = message_id::bracketed(&r.message_id);
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO tracked_messages(account, message_id, subject, sent_at, track_opens, track_links)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(account, message_id) DO UPDATE SET subject = excluded.subject,
                 sent_at = excluded.sent_at, track_opens = excluded.track_opens,
                 track_links = excluded.track_links",
            params![r.account, id, r.subject, r.sent_at, r.track_opens, r.track_links],
        )?;
        tx.execute(
            "DELETE FROM tracked_recipients WHERE account = ?1 AND message_id = ?2",
            params![r.account, id],
        )?;
        for rec in &r.recipients {
            tx.execute(
                "INSERT OR REPLACE INTO tracked_recipients(account, message_id, address, name)
                 VALUES (?1, ?2, ?3, ?4)",
                params![r.account, id, normalize_email(&rec.address), rec.name],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn tracked_message(
        &self,
        account: &str,
        message_id: &str,
    ) -> Result<Option<TrackedMessageRecord>> {
        let id = message_id::bracketed(message_id);
        let row = self
            .conn
            .query_row(
                "SELECT subject, sent_at, track_opens, track_links FROM tracked_messages
                 WHERE account = ?1 AND message_id = ?2",
                params![account, id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, bool>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((subject, sent_at, track_opens, track_links)) = row else {
            return Ok(None);
        };
        let mut st = self.conn.prepare(
            "SELECT address, name FROM tracked_recipients WHERE account = ?1 AND message_id = ?2
             ORDER BY address",
        )?;
        let recipients = st
            .query_map(params![account, id], |r| {
                Ok(TrackedRecipient {
                    address: r.get(0)?,
                    name: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(TrackedMessageRecord {
            account: account.to_string(),
            message_id: id,
            subject,
            sent_at,
            track_opens,
            track_links,
            recipients,
        }))
    }

    /// The subject of a cached copy of `message_id` (with brackets), preferring the Sent folder.
    pub fn subject_by_message_id(&self, message_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT m.subject FROM messages m JOIN folders f ON f.id = m.folder_id
                 WHERE m.message_id = ?1 ORDER BY (f.role = 'sent') DESC LIMIT 1",
                [message_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The id of the cached copy of `message_id` in `account`'s folders, preferring Sent.
    pub fn cached_copy(&self, account: &str, message_id: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT m.id FROM messages m JOIN folders f ON f.id = m.folder_id
                 JOIN accounts a ON a.id = f.account_id
                 WHERE a.name = ?1 AND m.message_id = ?2 AND m.deleted = 0
                 ORDER BY (f.role = 'sent') DESC, m.id LIMIT 1",
                params![account, message_id::bracketed(message_id)],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// What the tracking report needs of an outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentTracking {
    /// The tracking record (JSON).
    pub tracking: String,
    /// The entry's state (`sent` once every copy was accepted).
    pub state: String,
    pub envelope_from: String,
}

impl Store {
    /// The tracking record of the outbox entry with this Message-ID (angle brackets optional);
    /// None when there is no such entry or it was sent untracked.
    pub fn sent_tracking(&self, message_id: &str) -> Result<Option<SentTracking>> {
        let bare = crate::message_id::bare(message_id);
        Ok(self
            .conn
            .query_row(
                "SELECT tracking, state, envelope_from FROM outbox
                 WHERE tracking IS NOT NULL AND message_id IN (?1, ?2)",
                [bare.to_string(), format!("<{bare}>")],
                |r| {
                    Ok(SentTracking {
                        tracking: r.get(0)?,
                        state: r.get(1)?,
                        envelope_from: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }
}

/// One rewritten link of a recipient's copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyLink {
    /// The tracker URL the copy links to.
    pub tracked_url: String,
    /// Where it redirects.
    pub target: String,
}

/// The URLs of one recipient's tracked copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyUrls {
    pub pixel_url: Option<String>,
    pub opt_out_url: Option<String>,
    pub links: Vec<CopyLink>,
}

/// A tracked recipient and, when recorded, the URLs of their copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientCopy {
    pub address: String,
    /// None for mail tracked before the URLs were kept client-side.
    pub urls: Option<CopyUrls>,
}

impl Store {
    /// Records (or replaces) the URLs of each recipient's copy of a tracked mail already
    /// recorded with [`Store::record_tracked_message`].
    pub fn record_tracked_copy_urls(
        &mut self,
        account: &str,
        message_id: &str,
        copies: &[(String, CopyUrls)],
    ) -> Result<()> {
        let id = message_id::bracketed(message_id);
        let tx = self.conn.transaction()?;
        for (address, urls) in copies {
            // A Vec of string pairs always serializes.
            let links = serde_json::to_string(&urls.links).unwrap_or_else(|_| "[]".into());
            tx.execute(
                "INSERT OR REPLACE INTO tracked_copy_urls
                     (account, message_id, address, pixel_url, opt_out_url, links)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    account,
                    id,
                    normalize_email(address),
                    urls.pixel_url,
                    urls.opt_out_url,
                    links
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The recipients of the client-side tracked mail with this Message-ID (under any account),
    /// with their copies' URLs where recorded, in address order; None when the client knows no
    /// tracked mail with this id.
    pub fn tracked_copies(&self, message_id: &str) -> Result<Option<Vec<RecipientCopy>>> {
        let id = message_id::bracketed(message_id);
        let mut st = self.conn.prepare(
            "SELECT r.address, c.address IS NOT NULL, c.pixel_url, c.opt_out_url, c.links
             FROM tracked_messages m
             LEFT JOIN tracked_recipients r
                 ON r.account = m.account AND r.message_id = m.message_id
             LEFT JOIN tracked_copy_urls c ON c.account = m.account
                 AND c.message_id = m.message_id AND c.address = r.address
             WHERE m.message_id = ?1
             ORDER BY m.account, r.address",
        )?;
        let rows = st
            .query_map([&id], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if rows.is_empty() {
            return Ok(None);
        }
        let copies = rows
            .into_iter()
            .filter_map(|(address, recorded, pixel_url, opt_out_url, links)| {
                let urls = recorded.then(|| CopyUrls {
                    pixel_url,
                    opt_out_url,
                    // Written by this module only; an unreadable value shows no links.
                    links: links
                        .and_then(|l| serde_json::from_str(&l).ok())
                        .unwrap_or_default(),
                });
                Some(RecipientCopy {
                    address: address?,
                    urls,
                })
            })
            .collect();
        Ok(Some(copies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{TrackedMessageRecord, TrackedRecipient};

    #[test]
    fn copy_urls_come_back_per_recipient_and_unrecorded_ones_say_so() {
        let mut s = Store::open_in_memory().unwrap();
        assert_eq!(s.tracked_copies("<m@x>").unwrap(), None);
        s.record_tracked_message(&TrackedMessageRecord {
            account: "work".into(),
            message_id: "m@x".into(),
            subject: "s".into(),
            sent_at: 1,
            track_opens: true,
            track_links: true,
            recipients: ["Ann@X.test", "bob@x.test"]
                .iter()
                .map(|a| TrackedRecipient {
                    address: a.to_string(),
                    name: String::new(),
                })
                .collect(),
        })
        .unwrap();
        let urls = CopyUrls {
            pixel_url: Some("http://t/p/a.gif".into()),
            opt_out_url: None,
            links: vec![CopyLink {
                tracked_url: "http://t/l/k".into(),
                target: "https://e.test/".into(),
            }],
        };
        s.record_tracked_copy_urls("work", "<m@x>", &[("ANN@x.test".into(), urls.clone())])
            .unwrap();
        assert_eq!(
            s.tracked_copies("m@x").unwrap().unwrap(),
            vec![
                RecipientCopy {
                    address: "ann@x.test".into(),
                    urls: Some(urls),
                },
                RecipientCopy {
                    address: "bob@x.test".into(),
                    urls: None,
                },
            ]
        );
    }
}
