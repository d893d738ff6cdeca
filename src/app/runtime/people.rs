//! The people views' effects: contacts gathered and read, a contact's or an organization's
//! details, the tracking preference, forgetting a contact, and the Superdata lookup (network).

use crate::address;
use crate::app::contact::{ContactRef, PeopleEffect, PeopleMsg};
use crate::config::SuperdataConfig;
use crate::store::Store;
use crate::superdata::details::{contact_details, organization_details};
use crate::superdata::{Report, Superdata, Target};

/// How many recent messages a pane lists.
pub const RECENT_LIMIT: u32 = 10;

/// Runs one store-side people effect to completion on the calling thread (a blocking-pool
/// thread or the writer). A lookup is network work: the runtime runs it as a tokio task
/// ([`lookup_report`]); here it is `None`.
pub fn perform(store: &Store, effect: PeopleEffect) -> Option<PeopleMsg> {
    Some(match effect {
        PeopleEffect::RefreshContacts => PeopleMsg::ContactsRefreshed(
            Store::open(store.path())
                .and_then(|mut s| s.refresh_contacts())
                .map(|_| ())
                .map_err(|e| e.to_string()),
        ),
        PeopleEffect::LoadContacts => {
            PeopleMsg::Contacts(store.contacts().map_err(|e| e.to_string()))
        }
        PeopleEffect::LoadContact { who, config } => {
            let details = contact_email(store, &who).and_then(|email| match email {
                None => Ok(None),
                Some(email) => contact_details(store, &config, &email, RECENT_LIMIT)
                    .map(|d| d.map(Box::new))
                    .map_err(|e| e.to_string()),
            });
            PeopleMsg::Contact { who, details }
        }
        PeopleEffect::LoadOrganization { id, config } => PeopleMsg::Organization {
            id,
            details: organization_details(store, &config, id, RECENT_LIMIT)
                .map(|d| d.map(Box::new))
                .map_err(|e| e.to_string()),
        },
        PeopleEffect::Lookup { .. } => return None,
        PeopleEffect::SetTracking { email, preference } => PeopleMsg::TrackingSet {
            result: store
                .set_tracking_preference(&email, preference)
                .map_err(|e| e.to_string()),
            email,
            preference,
        },
        PeopleEffect::Forget { email } => PeopleMsg::Forgotten {
            result: Store::open(store.path())
                .and_then(|mut s| s.forget_contact(&email))
                .map(|f| {
                    let n = |n: usize, one: &str, many: &str| {
                        format!("{n} {}", if n == 1 { one } else { many })
                    };
                    let mut text = format!(
                        "forgot {email}: {}, {}",
                        n(f.message_links as usize, "message link", "message links"),
                        n(f.superdata_rows as usize, "cached value", "cached values")
                    );
                    if let Some(org) = f.organization {
                        text.push_str(&format!(", organization {org}"));
                    }
                    text
                })
                .map_err(|e| e.to_string()),
            email,
        },
    })
}

/// The Superdata lookup itself (network; a Send future for a tokio task).
pub async fn lookup_report(
    db: std::path::PathBuf,
    config: SuperdataConfig,
    target: Target,
    refresh: bool,
) -> Result<Report, String> {
    let sd = Superdata::new(&config).map_err(|e| e.to_string())?;
    sd.lookup(&db, &target, refresh)
        .await
        .map_err(|e| e.to_string())
}

/// The address `who` means: the given one, or the message's sender — its first recipient when
/// the user sent it.
fn contact_email(store: &Store, who: &ContactRef) -> Result<Option<String>, String> {
    let id = match who {
        ContactRef::Email(e) => return Ok(Some(address::normalize_email(e))),
        ContactRef::Message(id) => *id,
    };
    let m = store.message(id).map_err(|e| e.to_string())?;
    let from = address::normalize_email(&m.from_addr);
    let own: Vec<String> = {
        let mut st = store
            .conn
            .prepare("SELECT email FROM accounts")
            .map_err(|e| e.to_string())?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| e.to_string())?;
        rows.filter_map(|r| r.ok())
            .map(|e| address::normalize_email(&e))
            .collect()
    };
    if !own.contains(&from) {
        return Ok(Some(from));
    }
    Ok(address::parse_address_list(&m.to)
        .into_iter()
        .chain(address::parse_address_list(&m.cc))
        .map(|a| address::normalize_email(&a.email))
        .find(|e| !own.contains(e))
        .or(Some(from)))
}
