//! What the contact and organization panes show, gathered from the store in one call each with
//! no network access: the contact or organization, recent conversation, the tracking preference,
//! and the Superdata section (cached answers with source and date, or why there are none).

use super::{cached_report, Report, SuperdataError, Target, HOW_TO_ENABLE};
use crate::config::SuperdataConfig;
use crate::store::{Contact, MessageSummary, Organization, Store, TrackingPreference};

/// The Superdata section of a pane.
#[derive(Debug, Clone, PartialEq)]
pub enum SuperdataSection {
    /// `[superdata] enabled` is false; `how_to` is the line to show.
    Disabled { how_to: &'static str },
    /// A machine address: never enriched.
    NonHuman,
    /// Enabled, nothing fetched yet: the pane offers the "Smart data search" key.
    NotFetched,
    /// Cached answers (each with source, date, and demo mark); the pane offers "Refresh data".
    Cached(Report),
}

/// Open/click figures for mail sent to a contact or an organization (automated opens not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackingStats {
    pub tracked_sent: u64,
    pub opens: u64,
    pub clicks: u64,
    /// Unix seconds of the last open or click.
    pub last_activity: Option<i64>,
}

impl From<crate::store::ContactTracking> for TrackingStats {
    fn from(t: crate::store::ContactTracking) -> Self {
        TrackingStats {
            tracked_sent: t.tracked_sent,
            opens: t.opens,
            clicks: t.clicks,
            last_activity: t.last_activity,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactDetails {
    pub contact: Contact,
    pub organization: Option<Organization>,
    /// Newest first.
    pub recent: Vec<MessageSummary>,
    pub tracking: Option<TrackingStats>,
    pub tracking_preference: Option<TrackingPreference>,
    pub superdata: SuperdataSection,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationDetails {
    pub organization: Organization,
    /// Most recent first.
    pub contacts: Vec<Contact>,
    pub recent: Vec<MessageSummary>,
    pub tracking: Option<TrackingStats>,
    /// For the organization's domain (that of its first contact).
    pub superdata: SuperdataSection,
}

fn section(
    store: &Store,
    config: &SuperdataConfig,
    target: &Target,
) -> Result<SuperdataSection, SuperdataError> {
    if !config.enabled {
        return Ok(SuperdataSection::Disabled {
            how_to: HOW_TO_ENABLE,
        });
    }
    if target.email().is_some_and(crate::address::is_non_human) {
        return Ok(SuperdataSection::NonHuman);
    }
    let report = cached_report(store, target)?;
    Ok(if report.is_empty() {
        SuperdataSection::NotFetched
    } else {
        SuperdataSection::Cached(report)
    })
}

/// Everything the contact pane shows for `email`, or `None` when it is not a contact.
pub fn contact_details(
    store: &Store,
    config: &SuperdataConfig,
    email: &str,
    recent_limit: u32,
) -> Result<Option<ContactDetails>, SuperdataError> {
    let Some(contact) = store.contact(email)? else {
        return Ok(None);
    };
    let organization = match contact.organization_id {
        Some(id) => store.organization(id)?,
        None => None,
    };
    let target = Target::parse(&contact.email)?;
    Ok(Some(ContactDetails {
        recent: store.contact_recent_messages(&contact.email, recent_limit)?,
        tracking: Some(store.contact_tracking(&contact.email)?.into()),
        tracking_preference: contact.tracking,
        superdata: section(store, config, &target)?,
        organization,
        contact,
    }))
}

/// Everything the organization pane shows, or `None` when there is no such organization.
pub fn organization_details(
    store: &Store,
    config: &SuperdataConfig,
    organization_id: i64,
    recent_limit: u32,
) -> Result<Option<OrganizationDetails>, SuperdataError> {
    let Some(organization) = store.organization(organization_id)? else {
        return Ok(None);
    };
    let target = Target::Domain(organization.domain.clone());
    Ok(Some(OrganizationDetails {
        contacts: store.organization_contacts(organization.id)?,
        recent: store.organization_recent_messages(organization.id, recent_limit)?,
        tracking: Some(store.organization_tracking(&organization.domain)?.into()),
        superdata: section(store, config, &target)?,
        organization,
    }))
}
