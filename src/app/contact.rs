//! The people views' state: the contacts list, the contact pane and the organization pane, stacked
//! over the inbox, and their messages and effects. Their update step is `update::people`; every
//! store read or write and every Superdata lookup is a [`PeopleEffect`] that `runtime::people`
//! runs off the UI loop and answers with a [`PeopleMsg`]. Superdata is fetched only when the user
//! presses "Smart data search" or "Refresh data".

use crate::config::SuperdataConfig;
// The records the people panes draw, so `ui` reads them from here.
pub use crate::store::{Contact, TrackingPreference};
pub use crate::superdata::details::{
    ContactDetails, OrganizationDetails, SuperdataSection, TrackingStats,
};
pub use crate::superdata::{Outcome, Source, SourceResult};
use crate::superdata::{Report, Target};

/// Which contact the `i` key means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactRef {
    Email(String),
    /// The sender of this message, or its first recipient when the user sent it.
    Message(i64),
}

/// Store and network work of the people views.
#[derive(Debug, Clone)]
pub enum PeopleEffect {
    /// Reads new mail into contacts (seconds on a big mailbox, hence never on the UI loop).
    RefreshContacts,
    LoadContacts,
    LoadContact {
        who: ContactRef,
        config: SuperdataConfig,
    },
    LoadOrganization {
        id: i64,
        config: SuperdataConfig,
    },
    /// "Smart data search" (`refresh = false`) or "Refresh data" (`refresh = true`).
    Lookup {
        target: Target,
        refresh: bool,
        config: SuperdataConfig,
    },
    SetTracking {
        email: String,
        preference: Option<TrackingPreference>,
    },
    Forget {
        email: String,
    },
}

#[derive(Debug, Clone)]
pub enum PeopleMsg {
    ContactsRefreshed(Result<(), String>),
    Contacts(Result<Vec<Contact>, String>),
    Contact {
        who: ContactRef,
        details: Result<Option<Box<ContactDetails>>, String>,
    },
    Organization {
        id: i64,
        details: Result<Option<Box<OrganizationDetails>>, String>,
    },
    LookedUp {
        target: Target,
        report: Result<Report, String>,
    },
    TrackingSet {
        email: String,
        preference: Option<TrackingPreference>,
        result: Result<(), String>,
    },
    Forgotten {
        email: String,
        result: Result<String, String>,
    },
}

/// A Superdata lookup in flight, for the progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Searching {
    pub target: Target,
    pub refresh: bool,
}

#[derive(Debug, Clone)]
pub struct ContactView {
    pub who: ContactRef,
    /// `None` while loading; `Some(None)` when the address is not (yet) a contact.
    pub details: Option<Option<Box<ContactDetails>>>,
    /// Cursor in the recent conversation.
    pub cursor: usize,
    pub scroll: u16,
    pub searching: Option<Searching>,
    /// "Forget" pressed: waiting for y/n.
    pub confirm_forget: bool,
}

#[derive(Debug, Clone)]
pub struct OrganizationView {
    pub id: i64,
    pub details: Option<Option<Box<OrganizationDetails>>>,
    /// Cursor over the contacts, then the recent messages.
    pub cursor: usize,
    pub scroll: u16,
    pub searching: Option<Searching>,
}

#[derive(Debug, Clone)]
pub enum PeopleView {
    Contacts {
        contacts: Option<Vec<Contact>>,
        cursor: usize,
    },
    Contact(ContactView),
    Organization(OrganizationView),
}

impl ContactView {
    pub(super) fn email(&self) -> Option<&str> {
        match (&self.details, &self.who) {
            (Some(Some(d)), _) => Some(&d.contact.email),
            (_, ContactRef::Email(e)) => Some(e),
            _ => None,
        }
    }
}

pub fn preference_label(p: Option<TrackingPreference>) -> &'static str {
    match p {
        None => "unset (the account default applies)",
        Some(TrackingPreference::Allow) => "allow",
        Some(TrackingPreference::Never) => "never",
    }
}
