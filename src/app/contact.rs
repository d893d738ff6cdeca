//! The people views: the contacts list, the contact pane and the organization pane, stacked over
//! the inbox. Their state and update step live here; every store read or write and every
//! Superdata lookup is a [`PeopleEffect`] run off the UI loop and answered by a [`PeopleMsg`].
//! Superdata is fetched only when the user presses "Smart data search" or "Refresh data".

use super::action::Action;
use super::state::{App, Effect, InputKey};
use crate::address;
use crate::config::SuperdataConfig;
use crate::store::{Contact, Store, TrackingPreference};
use crate::superdata::details::{contact_details, organization_details, SuperdataSection};
pub use crate::superdata::details::{ContactDetails, OrganizationDetails};
use crate::superdata::{Report, Superdata, Target};

/// How many recent messages a pane lists.
pub const RECENT_LIMIT: u32 = 10;

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
    fn email(&self) -> Option<&str> {
        match (&self.details, &self.who) {
            (Some(Some(d)), _) => Some(&d.contact.email),
            (_, ContactRef::Email(e)) => Some(e),
            _ => None,
        }
    }
}

impl App {
    /// True while a y/n question of a people view waits for its answer.
    pub fn people_confirming(&self) -> bool {
        matches!(self.people.last(), Some(PeopleView::Contact(c)) if c.confirm_forget)
    }

    fn people_effect(e: PeopleEffect) -> Vec<Effect> {
        vec![Effect::People(e)]
    }

    /// `i`: the contact of the message under the cursor (or in the reader).
    pub(super) fn open_contact_of_message(&mut self) -> Vec<Effect> {
        let id = match (&self.reader, self.focus) {
            (Some(r), super::state::Pane::Reader) => Some(r.id),
            _ => self.selected_row().map(|r| r.msg.id),
        };
        match id {
            Some(id) => self.push_contact(ContactRef::Message(id)),
            None => {
                self.status = Some("no message selected".into());
                Vec::new()
            }
        }
    }

    /// `C`: the list of every contact.
    pub(super) fn open_contacts(&mut self) -> Vec<Effect> {
        self.people.push(PeopleView::Contacts {
            contacts: None,
            cursor: 0,
        });
        Self::people_effect(PeopleEffect::LoadContacts)
    }

    fn push_contact(&mut self, who: ContactRef) -> Vec<Effect> {
        self.people.push(PeopleView::Contact(ContactView {
            who: who.clone(),
            details: None,
            cursor: 0,
            scroll: 0,
            searching: None,
            confirm_forget: false,
        }));
        Self::people_effect(PeopleEffect::LoadContact {
            who,
            config: self.superdata.clone(),
        })
    }

    fn push_organization(&mut self, id: i64) -> Vec<Effect> {
        self.people.push(PeopleView::Organization(OrganizationView {
            id,
            details: None,
            cursor: 0,
            scroll: 0,
            searching: None,
        }));
        Self::people_effect(PeopleEffect::LoadOrganization {
            id,
            config: self.superdata.clone(),
        })
    }

    /// Keys while a people view is on top. Returns `None` for keys it leaves to the inbox.
    pub(super) fn on_people_action(&mut self, a: Action) -> Option<Vec<Effect>> {
        let view = self.people.last_mut()?;
        let fx = match a {
            Action::Quit | Action::Help => return None,
            Action::Back => {
                self.people.pop();
                Vec::new()
            }
            Action::Down => view_step(view, 1),
            Action::Up => view_step(view, -1),
            Action::Top => view_step(view, i64::MIN / 2),
            Action::Bottom => view_step(view, i64::MAX / 2),
            Action::PageDown => view_scroll(view, 10),
            Action::PageUp => view_scroll(view, -10),
            Action::Open => self.people_open(),
            Action::Contacts => self.open_contacts(),
            Action::SmartDataSearch => self.lookup(false),
            Action::RefreshData => self.lookup(true),
            Action::TrackingPreference => self.cycle_tracking(),
            Action::ForgetContact => match view {
                PeopleView::Contact(c) if c.email().is_some() => {
                    c.confirm_forget = true;
                    Vec::new()
                }
                _ => {
                    self.status = Some("forget works on a contact".into());
                    Vec::new()
                }
            },
            Action::Organization => {
                let org = match view {
                    PeopleView::Contact(ContactView {
                        details: Some(Some(d)),
                        ..
                    }) => d.organization.as_ref().map(|o| o.id),
                    _ => None,
                };
                match org {
                    Some(id) => self.push_organization(id),
                    None => {
                        self.status = Some("no organization for this contact".into());
                        Vec::new()
                    }
                }
            }
            _ => Vec::new(),
        };
        Some(fx)
    }

    /// y/n for "Forget".
    pub(super) fn on_people_input(&mut self, k: InputKey) -> Vec<Effect> {
        let Some(PeopleView::Contact(c)) = self.people.last_mut() else {
            return Vec::new();
        };
        c.confirm_forget = false;
        match (k, c.email()) {
            (InputKey::Char('y') | InputKey::Char('Y'), Some(email)) => {
                let email = email.to_string();
                self.status = Some(format!("forgetting {email}…"));
                Self::people_effect(PeopleEffect::Forget { email })
            }
            _ => {
                self.status = Some("not forgotten".into());
                Vec::new()
            }
        }
    }

    fn people_open(&mut self) -> Vec<Effect> {
        enum Next {
            Contact(String),
            Message(i64),
        }
        let next = match self.people.last() {
            Some(PeopleView::Contacts {
                contacts: Some(list),
                cursor,
            }) => list.get(*cursor).map(|c| Next::Contact(c.email.clone())),
            Some(PeopleView::Contact(ContactView {
                details: Some(Some(d)),
                cursor,
                ..
            })) => d.recent.get(*cursor).map(|m| Next::Message(m.id)),
            Some(PeopleView::Organization(OrganizationView {
                details: Some(Some(d)),
                cursor,
                ..
            })) => match d.contacts.get(*cursor) {
                Some(c) => Some(Next::Contact(c.email.clone())),
                None => d
                    .recent
                    .get(cursor - d.contacts.len())
                    .map(|m| Next::Message(m.id)),
            },
            _ => None,
        };
        match next {
            Some(Next::Contact(email)) => self.push_contact(ContactRef::Email(email)),
            Some(Next::Message(id)) => {
                // Jumping to a message leaves the people views for the reader.
                self.people.clear();
                self.open_message_by_id(id)
            }
            None => Vec::new(),
        }
    }

    fn lookup(&mut self, refresh: bool) -> Vec<Effect> {
        let config = self.superdata.clone();
        let (target, searching) = match self.people.last_mut() {
            Some(PeopleView::Contact(c)) => {
                let Some(Some(d)) = &c.details else {
                    return Vec::new();
                };
                if matches!(d.superdata, SuperdataSection::NonHuman) {
                    self.status = Some("machine addresses are never enriched".into());
                    return Vec::new();
                }
                (Target::parse(&d.contact.email).ok(), &mut c.searching)
            }
            Some(PeopleView::Organization(o)) => {
                let Some(Some(d)) = &o.details else {
                    return Vec::new();
                };
                (
                    Some(Target::Domain(d.organization.domain.clone())),
                    &mut o.searching,
                )
            }
            _ => return Vec::new(),
        };
        if !config.enabled {
            self.status = Some(crate::superdata::HOW_TO_ENABLE.into());
            return Vec::new();
        }
        let Some(target) = target else {
            return Vec::new();
        };
        if searching.is_some() {
            return Vec::new();
        }
        *searching = Some(Searching {
            target: target.clone(),
            refresh,
        });
        Self::people_effect(PeopleEffect::Lookup {
            target,
            refresh,
            config,
        })
    }

    fn cycle_tracking(&mut self) -> Vec<Effect> {
        let Some(PeopleView::Contact(ContactView {
            details: Some(Some(d)),
            ..
        })) = self.people.last()
        else {
            self.status = Some("the tracking preference is set on a contact".into());
            return Vec::new();
        };
        let next = match d.tracking_preference {
            None => Some(TrackingPreference::Allow),
            Some(TrackingPreference::Allow) => Some(TrackingPreference::Never),
            Some(TrackingPreference::Never) => None,
        };
        Self::people_effect(PeopleEffect::SetTracking {
            email: d.contact.email.clone(),
            preference: next,
        })
    }

    pub(super) fn on_people_msg(&mut self, m: PeopleMsg) -> Vec<Effect> {
        match m {
            PeopleMsg::ContactsRefreshed(Ok(())) => {
                // Views opened before the first scan finished show what it found.
                let mut fx = Vec::new();
                for v in &self.people {
                    match v {
                        PeopleView::Contacts { .. } => fx.push(PeopleEffect::LoadContacts),
                        PeopleView::Contact(c) if matches!(c.details, Some(None)) => {
                            fx.push(PeopleEffect::LoadContact {
                                who: c.who.clone(),
                                config: self.superdata.clone(),
                            })
                        }
                        _ => {}
                    }
                }
                fx.into_iter().map(Effect::People).collect()
            }
            PeopleMsg::ContactsRefreshed(Err(e)) => {
                self.last_error = Some(format!("gathering contacts: {e}"));
                Vec::new()
            }
            PeopleMsg::Contacts(r) => {
                match r {
                    Ok(list) => {
                        for v in &mut self.people {
                            if let PeopleView::Contacts { contacts, cursor } = v {
                                *cursor = (*cursor).min(list.len().saturating_sub(1));
                                *contacts = Some(list.clone());
                            }
                        }
                    }
                    Err(e) => self.last_error = Some(e),
                }
                Vec::new()
            }
            PeopleMsg::Contact { who, details } => {
                match details {
                    Ok(d) => {
                        for v in &mut self.people {
                            if let PeopleView::Contact(c) = v {
                                if c.who == who {
                                    c.details = Some(d.clone());
                                }
                            }
                        }
                    }
                    Err(e) => self.last_error = Some(e),
                }
                Vec::new()
            }
            PeopleMsg::Organization { id, details } => {
                match details {
                    Ok(d) => {
                        for v in &mut self.people {
                            if let PeopleView::Organization(o) = v {
                                if o.id == id {
                                    o.details = Some(d.clone());
                                }
                            }
                        }
                    }
                    Err(e) => self.last_error = Some(e),
                }
                Vec::new()
            }
            PeopleMsg::LookedUp { target, report } => self.on_looked_up(target, report),
            PeopleMsg::TrackingSet {
                email,
                preference,
                result,
            } => {
                match result {
                    Ok(()) => {
                        for v in &mut self.people {
                            if let PeopleView::Contact(ContactView {
                                details: Some(Some(d)),
                                ..
                            }) = v
                            {
                                if d.contact.email == email {
                                    d.tracking_preference = preference;
                                    d.contact.tracking = preference;
                                }
                            }
                        }
                        self.status = Some(format!(
                            "tracking for {email}: {}",
                            preference_label(preference)
                        ));
                    }
                    Err(e) => self.last_error = Some(format!("tracking preference: {e}")),
                }
                Vec::new()
            }
            PeopleMsg::Forgotten { email, result } => match result {
                Ok(what) => {
                    self.people.retain(|v| match v {
                        PeopleView::Contact(c) => c.email() != Some(email.as_str()),
                        _ => true,
                    });
                    self.status = Some(what);
                    // Lists and organizations still open lose the forgotten contact.
                    let config = self.superdata.clone();
                    self.people
                        .iter()
                        .filter_map(|v| match v {
                            PeopleView::Contacts { .. } => Some(PeopleEffect::LoadContacts),
                            PeopleView::Organization(o) => Some(PeopleEffect::LoadOrganization {
                                id: o.id,
                                config: config.clone(),
                            }),
                            _ => None,
                        })
                        .map(Effect::People)
                        .collect()
                }
                Err(e) => {
                    self.last_error = Some(format!("forget {email}: {e}"));
                    Vec::new()
                }
            },
        }
    }

    fn on_looked_up(&mut self, target: Target, report: Result<Report, String>) -> Vec<Effect> {
        for v in &mut self.people {
            let (searching, section) = match v {
                PeopleView::Contact(ContactView {
                    searching,
                    details: Some(Some(d)),
                    ..
                }) => (searching, &mut d.superdata),
                PeopleView::Organization(OrganizationView {
                    searching,
                    details: Some(Some(d)),
                    ..
                }) => (searching, &mut d.superdata),
                _ => continue,
            };
            if searching.as_ref().map(|s| &s.target) != Some(&target) {
                continue;
            }
            *searching = None;
            if let Ok(r) = &report {
                *section = SuperdataSection::Cached(r.clone());
            }
        }
        match report {
            Ok(r) => {
                let failed = r
                    .sources
                    .iter()
                    .filter(|(_, s)| {
                        s.as_ref().is_some_and(|s| {
                            matches!(s.outcome, crate::superdata::Outcome::Failed(_))
                        })
                    })
                    .count();
                self.status = Some(match failed {
                    0 => format!("smart data for {} updated", target.domain_or_email()),
                    n => format!("smart data: {n} source(s) failed; see the pane"),
                });
            }
            Err(e) => self.last_error = Some(format!("smart data search: {e}")),
        }
        Vec::new()
    }
}

impl Target {
    fn domain_or_email(&self) -> &str {
        self.email().unwrap_or(self.domain())
    }
}

pub fn preference_label(p: Option<TrackingPreference>) -> &'static str {
    match p {
        None => "unset (the account default applies)",
        Some(TrackingPreference::Allow) => "allow",
        Some(TrackingPreference::Never) => "never",
    }
}

/// Rows the cursor of a view walks over.
fn view_len(v: &PeopleView) -> usize {
    match v {
        PeopleView::Contacts { contacts, .. } => contacts.as_ref().map_or(0, |c| c.len()),
        PeopleView::Contact(c) => match &c.details {
            Some(Some(d)) => d.recent.len(),
            _ => 0,
        },
        PeopleView::Organization(o) => match &o.details {
            Some(Some(d)) => d.contacts.len() + d.recent.len(),
            _ => 0,
        },
    }
}

fn view_step(v: &mut PeopleView, delta: i64) -> Vec<Effect> {
    let len = view_len(v);
    let cursor = match v {
        PeopleView::Contacts { cursor, .. } => cursor,
        PeopleView::Contact(c) => &mut c.cursor,
        PeopleView::Organization(o) => &mut o.cursor,
    };
    let max = len.saturating_sub(1) as i64;
    *cursor = (*cursor as i64).saturating_add(delta).clamp(0, max) as usize;
    Vec::new()
}

fn view_scroll(v: &mut PeopleView, delta: i32) -> Vec<Effect> {
    match v {
        PeopleView::Contacts { .. } => return view_step(v, delta as i64),
        PeopleView::Contact(c) => c.scroll = (c.scroll as i32 + delta).clamp(0, 2000) as u16,
        PeopleView::Organization(o) => o.scroll = (o.scroll as i32 + delta).clamp(0, 2000) as u16,
    }
    Vec::new()
}

/// Runs one people effect to completion on the calling thread (a blocking-pool thread in the
/// runtime; the test's thread in snapshot tests). A lookup gets its own small tokio runtime
/// here; the [`super::runtime::Runtime`] runs lookups as tokio tasks instead.
pub fn perform_people(store: &Store, effect: PeopleEffect) -> PeopleMsg {
    match effect {
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
        PeopleEffect::Lookup {
            target,
            refresh,
            config,
        } => {
            let report = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|rt| {
                    rt.block_on(lookup_report(
                        store.path().to_path_buf(),
                        config,
                        target.clone(),
                        refresh,
                    ))
                });
            PeopleMsg::LookedUp { target, report }
        }
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
                    let mut text = format!(
                        "forgot {email}: {} message links, {} cached values",
                        f.message_links, f.superdata_rows
                    );
                    if let Some(org) = f.organization {
                        text.push_str(&format!(", organization {org}"));
                    }
                    text
                })
                .map_err(|e| e.to_string()),
            email,
        },
    }
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
