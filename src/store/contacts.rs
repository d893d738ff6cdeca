//! Contacts and organizations derived from the mail in the store: who the user writes to and
//! hears from, when, how often, and the organization of their domain; plus the user's tracking
//! preference per contact. [`Store::refresh_contacts`] reads only messages not read before, and
//! message deletions reach the counts through foreign-key cascades and triggers (see the schema).

use super::{MessageSummary, Result, Store};
use crate::address::{
    domain_of, is_freemail, is_non_human, is_valid_email, normalize_email, parse_address_list,
};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use std::collections::HashSet;

/// Whether mail to this contact may carry open/link tracking. Unset means the global default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackingPreference {
    Allow,
    Never,
}

impl TrackingPreference {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackingPreference::Allow => "allow",
            TrackingPreference::Never => "never",
        }
    }

    pub fn parse(s: &str) -> Option<TrackingPreference> {
        match s {
            "allow" => Some(TrackingPreference::Allow),
            "never" => Some(TrackingPreference::Never),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// Lower-cased address; the key.
    pub email: String,
    /// The most recent non-empty display name seen in mail.
    pub display_name: String,
    pub domain: String,
    pub organization_id: Option<i64>,
    /// The organization's domain (the one Superdata uses), when there is one.
    pub organization_domain: Option<String>,
    /// noreply, bounces, notifications, …: never enriched.
    pub non_human: bool,
    pub free_mail: bool,
    /// Unix seconds of the oldest and newest message they appear in.
    pub first_contact: Option<i64>,
    pub last_contact: Option<i64>,
    /// Messages the user sent them.
    pub sent_count: u64,
    /// Messages they sent the user.
    pub received_count: u64,
    /// Every message they appear in (From, To or Cc).
    pub message_count: u64,
    pub tracking: Option<TrackingPreference>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: i64,
    /// The domain of the first contact added to it.
    pub domain: String,
    pub first_contact: String,
    pub created_at: i64,
    pub contact_count: u64,
}

/// What one [`Store::refresh_contacts`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactsRefresh {
    pub messages_scanned: u64,
    pub contacts_updated: u64,
}

/// What [`Store::forget_contact`] deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Forgotten {
    pub contact: bool,
    pub message_links: u64,
    pub superdata_rows: u64,
    /// The organization removed with its cached data because this was its last contact.
    pub organization: Option<String>,
}

const CONTACT_COLUMNS: &str = "c.email, c.display_name, c.domain, c.organization_id, o.domain,
    c.non_human, c.first_contact, c.last_contact, c.sent_count, c.received_count,
    c.message_count, c.tracking, c.created_at";

fn contact_from_row(r: &Row<'_>) -> rusqlite::Result<Contact> {
    let domain: String = r.get(2)?;
    Ok(Contact {
        email: r.get(0)?,
        display_name: r.get(1)?,
        free_mail: is_freemail(&domain),
        domain,
        organization_id: r.get(3)?,
        organization_domain: r.get(4)?,
        non_human: r.get(5)?,
        first_contact: r.get(6)?,
        last_contact: r.get(7)?,
        sent_count: r.get::<_, i64>(8)? as u64,
        received_count: r.get::<_, i64>(9)? as u64,
        message_count: r.get::<_, i64>(10)? as u64,
        tracking: r
            .get::<_, Option<String>>(11)?
            .as_deref()
            .and_then(TrackingPreference::parse),
        created_at: r.get(12)?,
    })
}

const ORG_COLUMNS: &str = "o.id, o.domain, o.first_contact, o.created_at,
    (SELECT count(*) FROM contacts c WHERE c.organization_id = o.id)";

fn org_from_row(r: &Row<'_>) -> rusqlite::Result<Organization> {
    Ok(Organization {
        id: r.get(0)?,
        domain: r.get(1)?,
        first_contact: r.get(2)?,
        created_at: r.get(3)?,
        contact_count: r.get::<_, i64>(4)? as u64,
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Reads the messages not read before into contact links, then recomputes the contacts whose
    /// links changed (new mail, or mail deleted since). Cheap when nothing changed; call it after
    /// each sync and before showing contacts.
    pub fn refresh_contacts(&mut self) -> Result<ContactsRefresh> {
        let own: HashSet<String> = {
            let mut st = self.conn.prepare("SELECT email FROM accounts")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.filter_map(|r| r.ok())
                .map(|e| normalize_email(&e))
                .collect()
        };
        let mut stats = ContactsRefresh::default();
        // Short transactions, so a first scan of a big mailbox never holds the write lock long
        // enough to stall the sync engine.
        let mut after = 0;
        loop {
            let tx = self.conn.transaction()?;
            let n = scan_batch(&tx, &own, &mut after, SCAN_BATCH)?;
            tx.commit()?;
            stats.messages_scanned += n;
            if n < SCAN_BATCH {
                break;
            }
        }
        let tx = self.conn.transaction()?;
        stats.contacts_updated = recompute_dirty(&tx)?;
        tx.execute(
            "DELETE FROM organizations WHERE NOT EXISTS
                 (SELECT 1 FROM contacts c WHERE c.organization_id = organizations.id)",
            [],
        )?;
        tx.commit()?;
        Ok(stats)
    }

    /// Every contact, most recent first.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c
             LEFT JOIN organizations o ON o.id = c.organization_id
             ORDER BY c.last_contact IS NULL, c.last_contact DESC, c.email"
        ))?;
        let rows = st.query_map([], contact_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn contact(&self, email: &str) -> Result<Option<Contact>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {CONTACT_COLUMNS} FROM contacts c
                     LEFT JOIN organizations o ON o.id = c.organization_id WHERE c.email = ?1"
                ),
                [normalize_email(email)],
                contact_from_row,
            )
            .optional()?)
    }

    pub fn organizations(&self) -> Result<Vec<Organization>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {ORG_COLUMNS} FROM organizations o ORDER BY o.domain"
        ))?;
        let rows = st.query_map([], org_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn organization(&self, id: i64) -> Result<Option<Organization>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.id = ?1"),
                [id],
                org_from_row,
            )
            .optional()?)
    }

    pub fn organization_by_domain(&self, domain: &str) -> Result<Option<Organization>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.domain = ?1"),
                [domain.to_ascii_lowercase()],
                org_from_row,
            )
            .optional()?)
    }

    /// The organization's contacts, most recent first.
    pub fn organization_contacts(&self, organization_id: i64) -> Result<Vec<Contact>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c
             LEFT JOIN organizations o ON o.id = c.organization_id
             WHERE c.organization_id = ?1
             ORDER BY c.last_contact IS NULL, c.last_contact DESC, c.email"
        ))?;
        let rows = st.query_map([organization_id], contact_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest messages a contact appears in (the pane's "recent conversation").
    pub fn contact_recent_messages(&self, email: &str, limit: u32) -> Result<Vec<MessageSummary>> {
        let ids: Vec<i64> = {
            let mut st = self.conn.prepare(
                "SELECT message_id FROM contact_messages WHERE email = ?1
                 GROUP BY message_id ORDER BY max(date) DESC, message_id DESC LIMIT ?2",
            )?;
            let rows = st.query_map(params![normalize_email(email), limit], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        ids.into_iter().map(|id| self.message(id)).collect()
    }

    /// The newest messages any contact of the organization appears in.
    pub fn organization_recent_messages(
        &self,
        organization_id: i64,
        limit: u32,
    ) -> Result<Vec<MessageSummary>> {
        let ids: Vec<i64> = {
            let mut st = self.conn.prepare(
                "SELECT cm.message_id FROM contact_messages cm
                 JOIN contacts c ON c.email = cm.email
                 WHERE c.organization_id = ?1
                 GROUP BY cm.message_id ORDER BY max(cm.date) DESC, cm.message_id DESC LIMIT ?2",
            )?;
            let rows = st.query_map(params![organization_id, limit], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        ids.into_iter().map(|id| self.message(id)).collect()
    }

    /// The user's tracking choice for mail to `email` (`None` = not set: use the global default).
    pub fn tracking_preference(&self, email: &str) -> Result<Option<TrackingPreference>> {
        let v: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT tracking FROM contacts WHERE email = ?1",
                [normalize_email(email)],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.flatten().as_deref().and_then(TrackingPreference::parse))
    }

    /// Sets or clears the choice. An address not yet a contact (a first message to someone)
    /// becomes one, so the choice is kept.
    pub fn set_tracking_preference(
        &self,
        email: &str,
        preference: Option<TrackingPreference>,
    ) -> Result<()> {
        let email = normalize_email(email);
        let domain = domain_of(&email).unwrap_or_default();
        self.conn.execute(
            "INSERT INTO contacts(email, domain, non_human, tracking, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(email) DO UPDATE SET tracking = excluded.tracking",
            params![
                email,
                domain,
                is_non_human(&email),
                preference.map(TrackingPreference::as_str),
                now()
            ],
        )?;
        Ok(())
    }

    /// Deletes everything stored about `email` except the mail itself: the contact, its links to
    /// messages, its tracking preference, its cached Superdata, and its organization (with the
    /// organization's cached data) when it was the only member. Messages already in the store are
    /// not read for contacts again; new mail from or to them makes a new contact.
    pub fn forget_contact(&mut self, email: &str) -> Result<Forgotten> {
        let email = normalize_email(email);
        let tx = self.conn.transaction()?;
        let org: Option<(i64, String)> = tx
            .query_row(
                "SELECT o.id, o.domain FROM contacts c JOIN organizations o ON o.id = c.organization_id
                 WHERE c.email = ?1",
                [&email],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let mut out = Forgotten {
            message_links: tx.execute("DELETE FROM contact_messages WHERE email = ?1", [&email])?
                as u64,
            ..Default::default()
        };
        tx.execute("DELETE FROM contacts_dirty WHERE email = ?1", [&email])?;
        out.contact = tx.execute("DELETE FROM contacts WHERE email = ?1", [&email])? > 0;
        out.superdata_rows =
            tx.execute("DELETE FROM superdata_cache WHERE subject = ?1", [&email])? as u64;
        if let Some((org_id, domain)) = org {
            let left: i64 = tx.query_row(
                "SELECT count(*) FROM contacts WHERE organization_id = ?1",
                [org_id],
                |r| r.get(0),
            )?;
            if left == 0 {
                tx.execute("DELETE FROM organizations WHERE id = ?1", [org_id])?;
                out.superdata_rows +=
                    tx.execute("DELETE FROM superdata_cache WHERE subject = ?1", [&domain])? as u64;
                out.organization = Some(domain);
            }
        }
        tx.commit()?;
        Ok(out)
    }
}

/// Messages read for contacts per transaction.
const SCAN_BATCH: u64 = 5000;

/// Reads up to `limit` messages not read before, with ids above `*after`, into contact links and
/// marks the addresses seen for recomputation; moves `*after` to the last id read and returns how
/// many messages it read.
fn scan_batch(
    tx: &rusqlite::Transaction<'_>,
    own: &HashSet<String>,
    after: &mut i64,
    limit: u64,
) -> Result<u64> {
    let mut scanned_count = 0;
    {
        let mut new_messages = tx.prepare(
            "SELECT m.id, m.from_name, m.from_addr, m.to_addrs, m.cc_addrs, m.date,
                    m.message_id, f.role
             FROM messages m JOIN folders f ON f.id = m.folder_id
             LEFT JOIN contacts_scanned s ON s.message_id = m.id
             WHERE s.message_id IS NULL AND m.id > ?1 ORDER BY m.id LIMIT ?2",
        )?;
        let mut link = tx.prepare(
            "INSERT OR IGNORE INTO contact_messages(email, message_id, direction, name, date, msgid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut scanned =
            tx.prepare("INSERT OR IGNORE INTO contacts_scanned(message_id) VALUES (?1)")?;
        let mut rows = new_messages.query(params![*after, limit])?;
        let mut touched: HashSet<String> = HashSet::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let from_name: String = r.get(1)?;
            let from_addr: String = r.get(2)?;
            let to: String = r.get(3)?;
            let cc: String = r.get(4)?;
            let date: i64 = r.get(5)?;
            let msgid: Option<String> = r.get(6)?;
            let role: Option<String> = r.get(7)?;
            scanned_count += 1;
            *after = id;
            scanned.execute([id])?;
            // Drafts were never sent and junk is not people the user deals with.
            if matches!(role.as_deref(), Some("drafts" | "junk")) {
                continue;
            }
            let from = normalize_email(&from_addr);
            let outgoing = role.as_deref() == Some("sent") || own.contains(&from);
            let mut add = |email: &str, direction: &str, name: &str| -> Result<()> {
                if own.contains(email) || !is_valid_email(email) {
                    return Ok(());
                }
                link.execute(params![email, id, direction, name, date, msgid])?;
                if !touched.contains(email) {
                    touched.insert(email.to_string());
                }
                Ok(())
            };
            if !outgoing && !from.is_empty() {
                add(&from, "received", &from_name)?;
            }
            let direction = if outgoing { "sent" } else { "cc" };
            for a in parse_address_list(&to)
                .into_iter()
                .chain(parse_address_list(&cc))
            {
                add(&a.email, direction, &a.name)?;
            }
        }
        drop(rows);
        let mut dirty = tx.prepare("INSERT OR IGNORE INTO contacts_dirty(email) VALUES (?1)")?;
        for email in &touched {
            dirty.execute([email])?;
        }
    }
    Ok(scanned_count)
}

/// Recomputes every contact marked dirty (by a scan, or by the trigger when mail went); returns how
/// many.
fn recompute_dirty(tx: &rusqlite::Transaction<'_>) -> Result<u64> {
    let dirty: Vec<String> = {
        // Oldest first, senders before those copied, so an organization's first contact is the
        // person the user dealt with first.
        let mut st = tx.prepare(
            "SELECT d.email FROM contacts_dirty d LEFT JOIN contact_messages cm ON cm.email = d.email
             GROUP BY d.email
             ORDER BY min(cm.date), max(cm.direction = 'received') DESC, d.email",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut aggregate = tx.prepare(
        "SELECT count(DISTINCT CASE WHEN direction = 'sent' THEN coalesce(msgid, message_id) END),
                count(DISTINCT CASE WHEN direction = 'received' THEN coalesce(msgid, message_id) END),
                count(DISTINCT coalesce(msgid, message_id)), min(date), max(date)
         FROM contact_messages WHERE email = ?1",
    )?;
    let mut latest_name = tx.prepare(
        "SELECT name FROM contact_messages WHERE email = ?1 AND name <> ''
         ORDER BY date DESC LIMIT 1",
    )?;
    let mut upsert = tx.prepare(
        "INSERT INTO contacts(email, display_name, domain, non_human, first_contact, last_contact,
             sent_count, received_count, message_count, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(email) DO UPDATE SET
             display_name = CASE WHEN excluded.display_name <> '' THEN excluded.display_name
                                 ELSE contacts.display_name END,
             first_contact = excluded.first_contact, last_contact = excluded.last_contact,
             sent_count = excluded.sent_count, received_count = excluded.received_count,
             message_count = excluded.message_count",
    )?;
    let mut n = 0;
    for email in &dirty {
        let (sent, received, total, first, last): (i64, i64, i64, Option<i64>, Option<i64>) =
            aggregate.query_row([email], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
        n += 1;
        if total == 0 {
            // No mail left: the row goes unless the user set a preference on it.
            tx.execute(
                "DELETE FROM contacts WHERE email = ?1 AND tracking IS NULL",
                [email],
            )?;
            tx.execute(
                "UPDATE contacts SET first_contact = NULL, last_contact = NULL, sent_count = 0,
                     received_count = 0, message_count = 0 WHERE email = ?1",
                [email],
            )?;
            continue;
        }
        let name: String = latest_name
            .query_row([email], |r| r.get(0))
            .optional()?
            .unwrap_or_default();
        let domain = domain_of(email).unwrap_or_default();
        let non_human = is_non_human(email);
        upsert.execute(params![
            email,
            name,
            domain,
            non_human,
            first,
            last,
            sent,
            received,
            total,
            now()
        ])?;
        if !non_human && !domain.is_empty() && !is_freemail(&domain) {
            attach_organization(tx, email, &domain)?;
        }
    }
    tx.execute("DELETE FROM contacts_dirty", [])?;
    Ok(n)
}

/// Puts a contact without an organization into the one of its domain, creating it (with this
/// contact as its first) when there is none.
fn attach_organization(tx: &rusqlite::Transaction<'_>, email: &str, domain: &str) -> Result<()> {
    let has: Option<i64> = tx.query_row(
        "SELECT organization_id FROM contacts WHERE email = ?1",
        [email],
        |r| r.get(0),
    )?;
    if has.is_some() {
        return Ok(());
    }
    tx.execute(
        "INSERT OR IGNORE INTO organizations(domain, first_contact, created_at) VALUES (?1, ?2, ?3)",
        params![domain, email, now()],
    )?;
    tx.execute(
        "UPDATE contacts SET organization_id = (SELECT id FROM organizations WHERE domain = ?2)
         WHERE email = ?1",
        params![email, domain],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewMessage;

    fn msg(uid: u32, from: (&str, &str), to: &str, cc: &str, date: i64, id: &str) -> NewMessage {
        NewMessage {
            uid,
            message_id: Some(id.into()),
            from_name: from.0.into(),
            from_addr: from.1.into(),
            to: to.into(),
            cc: cc.into(),
            subject: "s".into(),
            date,
            ..Default::default()
        }
    }

    fn seeded() -> (Store, i64, i64) {
        let s = Store::open_in_memory().unwrap();
        let acc = s.ensure_account("me", "me@mine.test", None).unwrap();
        let inbox = s
            .upsert_folder(acc, "INBOX", None, Some("inbox"), true)
            .unwrap();
        let sent = s
            .upsert_folder(acc, "Sent", None, Some("sent"), true)
            .unwrap();
        s.put_message(
            inbox,
            &msg(
                1,
                ("Dana Lee", "Dana.Lee@acme.test"),
                "Me <me@mine.test>",
                "Bob <bob@acme.test>, pal@gmail.com",
                100,
                "<1@x>",
            ),
        )
        .unwrap();
        s.put_message(
            inbox,
            &msg(
                2,
                ("GitHub", "noreply@github.com"),
                "me@mine.test",
                "",
                150,
                "<2@x>",
            ),
        )
        .unwrap();
        s.put_message(
            sent,
            &msg(
                1,
                ("Me", "me@mine.test"),
                "Lee, Dana <dana.lee@acme.test>",
                "",
                200,
                "<3@x>",
            ),
        )
        .unwrap();
        (s, inbox, sent)
    }

    #[test]
    fn contacts_count_each_way_and_group_by_organization() {
        let (mut s, _, _) = seeded();
        let r = s.refresh_contacts().unwrap();
        assert_eq!(r.messages_scanned, 3);
        let dana = s.contact("dana.lee@acme.test").unwrap().unwrap();
        assert_eq!(
            (dana.sent_count, dana.received_count, dana.message_count),
            (1, 1, 2)
        );
        assert_eq!(
            (dana.first_contact, dana.last_contact),
            (Some(100), Some(200))
        );
        assert_eq!(dana.display_name, "Lee, Dana");
        assert_eq!(dana.organization_domain.as_deref(), Some("acme.test"));
        let org = s.organization_by_domain("acme.test").unwrap().unwrap();
        assert_eq!(org.first_contact, "dana.lee@acme.test");
        assert_eq!(org.contact_count, 2);
        let pal = s.contact("pal@gmail.com").unwrap().unwrap();
        assert!(pal.free_mail && pal.organization_id.is_none());
        let bot = s.contact("noreply@github.com").unwrap().unwrap();
        assert!(bot.non_human && bot.organization_id.is_none());
        assert!(s.contact("me@mine.test").unwrap().is_none(), "own address");
        assert_eq!(s.organizations().unwrap().len(), 1);
        assert_eq!(
            s.contact_recent_messages("dana.lee@acme.test", 10)
                .unwrap()
                .len(),
            2
        );
        // Nothing new: nothing scanned.
        assert_eq!(s.refresh_contacts().unwrap().messages_scanned, 0);
    }

    #[test]
    fn deleted_mail_updates_counts_and_drops_empty_contacts() {
        let (mut s, inbox, sent) = seeded();
        s.refresh_contacts().unwrap();
        s.delete_uids(sent, &[1]).unwrap();
        s.refresh_contacts().unwrap();
        let dana = s.contact("dana.lee@acme.test").unwrap().unwrap();
        assert_eq!((dana.sent_count, dana.received_count), (0, 1));
        assert_eq!(dana.last_contact, Some(100));
        s.delete_uids(inbox, &[1]).unwrap();
        s.refresh_contacts().unwrap();
        assert!(s.contact("dana.lee@acme.test").unwrap().is_none());
        assert!(s.organization_by_domain("acme.test").unwrap().is_none());
    }

    #[test]
    fn tracking_preference_is_kept_and_forget_removes_everything() {
        let (mut s, _, _) = seeded();
        s.refresh_contacts().unwrap();
        assert_eq!(s.tracking_preference("dana.lee@acme.test").unwrap(), None);
        s.set_tracking_preference("Dana.Lee@acme.test", Some(TrackingPreference::Never))
            .unwrap();
        s.set_tracking_preference("new@else.test", Some(TrackingPreference::Allow))
            .unwrap();
        assert_eq!(
            s.tracking_preference("dana.lee@acme.test").unwrap(),
            Some(TrackingPreference::Never)
        );
        assert_eq!(
            s.tracking_preference("new@else.test").unwrap(),
            Some(TrackingPreference::Allow)
        );
        s.refresh_contacts().unwrap();
        assert_eq!(
            s.tracking_preference("dana.lee@acme.test").unwrap(),
            Some(TrackingPreference::Never)
        );
        s.superdata_put(&crate::store::SuperdataRow {
            subject: "dana.lee@acme.test".into(),
            source: "gravatar".into(),
            fetched_at: 1,
            url: "u".into(),
            status: "not_found".into(),
            data: None,
            error: None,
            demo: false,
        })
        .unwrap();
        let f = s.forget_contact("dana.lee@acme.test").unwrap();
        assert!(f.contact);
        assert_eq!(f.message_links, 2);
        assert_eq!(f.superdata_rows, 1);
        assert_eq!(f.organization, None, "bob is still at acme.test");
        s.refresh_contacts().unwrap();
        assert!(s.contact("dana.lee@acme.test").unwrap().is_none());
        assert_eq!(s.tracking_preference("dana.lee@acme.test").unwrap(), None);
        assert_eq!(
            s.message(1).unwrap().from_addr,
            "Dana.Lee@acme.test",
            "mail stays"
        );
    }
}
