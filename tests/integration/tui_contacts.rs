//! The contact, contacts-list and organization panes, driven by keys through the real keymap on a
//! seeded cache: Superdata off (the how-to), a Smart data search against the demo sources served on
//! 127.0.0.1, the tracking preference written to the store, and "Forget" asking first.

use crate::tui_snapshots::{snap, Harness};
use tidings::demo::superdata::{serve_demo_sources, DemoSources};
use tidings::store::TrackingPreference;

/// Fetch dates are the real clock's and the demo server's port is ephemeral: both replaced so
/// snapshots stay stable.
fn without_fetch_dates(screen: &str) -> String {
    let mut out = String::new();
    let ported = without_ports(screen);
    let screen: &str = &ported;
    let mut rest = screen;
    while let Some(i) = rest.find("fetched ") {
        let start = i + "fetched ".len();
        out.push_str(&rest[..start]);
        let date = rest[start..].get(..16).unwrap_or("");
        assert!(
            date.len() == 16 && date.as_bytes()[4] == b'-' && date.as_bytes()[13] == b':',
            "not a fetch date: {date:?}"
        );
        out.push_str("YYYY-MM-DD HH:MM");
        rest = &rest[start + 16..];
    }
    out.push_str(rest);
    out
}

fn without_ports(screen: &str) -> String {
    let mut out = String::new();
    let mut rest = screen;
    while let Some(i) = rest.find("127.0.0.1:") {
        let start = i + "127.0.0.1:".len();
        out.push_str(&rest[..start]);
        out.push_str("PORT");
        rest = rest[start..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// Puts one more message into folder `folder` of the harness's account (created if missing),
/// gathers contacts again and reloads folders and the list, as a sync would.
fn add_message(h: &mut Harness, folder: &str, role: Option<&str>, date: i64, raw: &str) {
    let account = h.store.account_id("work").unwrap();
    let folder = h
        .store
        .upsert_folder(account, folder, Some("/"), role, true)
        .unwrap();
    let uid = h.store.folders(account).unwrap().len() as u32 + 100;
    let msg = tidings::mail::parse::parse_message(
        uid,
        raw.as_bytes().to_vec(),
        Default::default(),
        Some(date),
    );
    h.store.put_message(folder, &msg).unwrap();
    h.store.refresh_contacts().unwrap();
    let folders = tidings::app::runtime::load_folders(&h.store);
    h.send(tidings::app::Msg::FoldersLoaded(folders));
    h.send(tidings::app::Msg::Action(tidings::app::Action::FilterAll));
}

/// The demo sources on their own runtime, as the TUI's lookups run on another one.
fn demo_sources() -> (tokio::runtime::Runtime, DemoSources) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sources = rt.block_on(serve_demo_sources()).unwrap();
    (rt, sources)
}

#[test]
fn contact_pane_shows_details_and_how_to_enable_superdata_when_off() {
    let mut h = Harness::new(140, 30);
    // The newest message is Dana's.
    h.press(&["i"]);
    let screen = h.screen();
    assert!(screen.contains("dana@acme.test"), "{screen}");
    assert!(screen.contains("enabled = true"), "{screen}");
    snap!("contact_superdata_off", screen);
    // S does not fetch while Superdata is off: the status says how to enable it.
    h.press(&["S"]);
    assert!(h.screen().contains("superdata is off"));
}

#[test]
fn smart_data_search_shows_each_value_with_source_date_and_demo_mark() {
    let (rt, sources) = demo_sources();
    // Lookups run on the runtime the harness is in, as the app's runtime runs them as tasks.
    let _in_runtime = rt.enter();
    let mut h = Harness::new(150, 48);
    h.app.superdata = sources.config.clone();
    // Dana Lee's address in the demo mailbox, which has a demo Gravatar profile.
    add_message(
        &mut h,
        "INBOX",
        Some("inbox"),
        crate::support::mailbox::NOW + 1800,
        "From: Dana Lee <dana.lee@acme.test>\r\nTo: Me <me@example.com>\r\nSubject: From my other address\r\n\
         Date: Mon, 30 Nov 2026 12:30:00 +0000\r\nMessage-ID: <other@acme.test>\r\n\r\nhi\r\n",
    );
    h.press(&["g", "i"]);
    let before = h.screen();
    assert!(before.contains("Nothing fetched. Press S"), "{before}");
    h.press(&["S"]);
    let screen = without_fetch_dates(&h.screen());
    assert!(screen.contains("DEMO DATA"), "{screen}");
    assert!(screen.contains("CTO"), "{screen}");
    assert!(screen.contains("Acme Corporation"), "{screen}");
    assert!(screen.contains("Demo Registrar Inc."), "{screen}");
    assert!(screen.contains("Google Workspace"), "{screen}");
    snap!("contact_superdata_demo", screen);
    // Cached now: reopening the pane shows it without asking the network.
    h.press(&["q", "i"]);
    assert!(h.screen().contains("Acme Corporation") && h.screen().contains("CTO"));
}

#[test]
fn organization_pane_lists_its_contacts_and_looks_up_the_domain() {
    let (rt, sources) = demo_sources();
    // Lookups run on the runtime the harness is in, as the app's runtime runs them as tasks.
    let _in_runtime = rt.enter();
    let mut h = Harness::new(150, 40);
    h.app.superdata = sources.config.clone();
    h.press(&["i", "O"]);
    let screen = h.screen();
    assert!(screen.contains("Organization: acme.test"), "{screen}");
    assert!(screen.contains("priya@acme.test"), "{screen}");
    h.press(&["S"]);
    snap!("organization_pane", without_fetch_dates(&h.screen()));
    // Enter on a contact of the organization opens that contact.
    h.press(&["Enter"]);
    assert!(h.screen().contains("Contact: "));
}

#[test]
fn tracking_preference_key_cycles_allow_never_unset_and_is_stored() {
    let mut h = Harness::new(140, 30);
    h.press(&["i", "T"]);
    assert_eq!(
        h.store.tracking_preference("dana@acme.test").unwrap(),
        Some(TrackingPreference::Allow)
    );
    h.press(&["T"]);
    assert_eq!(
        h.store.tracking_preference("dana@acme.test").unwrap(),
        Some(TrackingPreference::Never)
    );
    assert!(h.screen().contains("Track mail    never"));
    h.press(&["T"]);
    assert_eq!(h.store.tracking_preference("dana@acme.test").unwrap(), None);
}

#[test]
fn forget_asks_first_then_removes_the_contact_and_closes_the_pane() {
    let mut h = Harness::new(140, 30);
    h.press(&["i", "X"]);
    assert!(h.screen().contains("Forget dana@acme.test?"));
    h.press(&["n"]);
    assert!(h.store.contact("dana@acme.test").unwrap().is_some());
    assert!(h.screen().contains("Contact: dana@acme.test"));
    h.press(&["X", "y"]);
    assert!(h.store.contact("dana@acme.test").unwrap().is_none());
    let screen = h.screen();
    assert!(!screen.contains("Contact: dana@acme.test"), "{screen}");
    assert!(screen.contains("forgot dana@acme.test"), "{screen}");
}

#[test]
fn contacts_list_opens_a_contact_whose_recent_mail_opens_in_the_reader() {
    let mut h = Harness::new(140, 30);
    h.press(&["C"]);
    snap!("contacts_list", h.screen());
    h.press(&["Enter"]);
    assert!(h.screen().contains("Recent conversation"));
    h.press(&["Enter"]);
    let screen = h.screen();
    assert!(
        h.app.people.is_empty() && h.app.reader.is_some(),
        "{screen}"
    );
}

#[test]
fn contact_of_a_sent_message_is_its_first_recipient() {
    let mut h = Harness::new(140, 30);
    let sent = "From: Me <me@example.com>\r\nTo: Joe <joe@initech.test>, kim@acme.test\r\n\
                Subject: hi\r\nDate: Mon, 30 Nov 2026 12:30:00 +0000\r\nMessage-ID: <s@x>\r\n\r\nhi\r\n";
    add_message(
        &mut h,
        "Sent",
        Some("sent"),
        crate::support::mailbox::NOW,
        sent,
    );
    // Open the Sent folder from the folder pane and ask for the contact.
    h.press(&["Tab"]);
    let idx = h
        .app
        .list
        .folders
        .iter()
        .position(|f| f.name == "Sent")
        .unwrap();
    h.press(&["g"]);
    for _ in 0..idx {
        h.press(&["j"]);
    }
    h.press(&["Enter", "i"]);
    assert!(
        h.screen().contains("Contact: joe@initech.test"),
        "{}",
        h.screen()
    );
}
