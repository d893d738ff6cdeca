//! Each tracked recipient's pixel, opt-out and link URLs, recorded with the client-side tracked
//! mail (tracked_messages) when the tracker registered it — by a send or by `tidings demo`'s
//! seed — so the reader can show them for every tracked mail the client knows, even when the
//! outbox row that first held them is gone.

use super::{Result, Store};
use crate::address::normalize_email;
use crate::message_id;
use rusqlite::params;
use serde::{Deserialize, Serialize};

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
