//! The people views' update step: their keys, the forget question, and the runtime's answers.

use crate::app::action::Action;
use crate::app::contact::{
    preference_label, ContactRef, ContactView, OrganizationView, PeopleEffect, PeopleMsg,
    PeopleView, Searching,
};
use crate::app::input::InputKey;
use crate::app::msg::Effect;
use crate::app::state::App;
use crate::app::view::Pane;
use crate::store::TrackingPreference;
use crate::superdata::details::SuperdataSection;
use crate::superdata::{Report, Target};

impl App {
    fn people_effect(e: PeopleEffect) -> Vec<Effect> {
        vec![Effect::People(e)]
    }

    /// `i`: the contact of the message under the cursor (or in the reader).
    pub(super) fn open_contact_of_message(&mut self) -> Vec<Effect> {
        let id = match (&self.reader, self.focus) {
            (Some(r), Pane::Reader) => Some(r.id),
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
