//! The sync engine, ops queue and watcher against a real Dovecot.

use crate::support::dovecot::{message, Dovecot};
use std::collections::HashSet;

use std::time::{Duration, Instant};
use tidings::config::Config;
use tidings::mail::ops::{self, Action};
use tidings::mail::sync::{spawn_watcher, sync_account, MailAccount, SyncEvent, SyncReport};
use tidings::mail::{filing, mailbox_name};
use tidings::store::{ListQuery, MessageSummary, Store};

struct Fixture {
    dc: Dovecot,
    account: MailAccount,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_config(|toml| toml)
    }

    fn with_config(edit: impl FnOnce(String) -> String) -> Fixture {
        let dc = Dovecot::start();
        dc.add_user("alice", "secret");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let toml = edit(dc.config_toml("work", "alice", "secret"));
        std::fs::write(&path, &toml).unwrap();
        let config = Config::load(&path).unwrap();
        let account = MailAccount::new(&config, &path, "work").unwrap();
        Fixture { dc, account, dir }
    }

    fn store(&self) -> Store {
        Store::open(&self.dir.path().join("tidings.sqlite3")).unwrap()
    }

    fn sync(&self) -> SyncReport {
        let mut events = Vec::new();
        let r = sync_account(&self.account, &self.store(), &mut |e| events.push(e))
            .unwrap_or_else(|e| panic!("sync: {e}\n{}", self.dc.log()));
        r
    }

    fn local(&self, folder: &str) -> Vec<MessageSummary> {
        let mut v = self
            .store()
            .list_messages(&ListQuery {
                folder: Some(folder.into()),
                ..Default::default()
            })
            .unwrap();
        v.sort_by_key(|m| m.uid);
        v
    }

    fn local_uids(&self, folder: &str) -> Vec<u32> {
        self.local(folder).iter().map(|m| m.uid).collect()
    }
}

#[test]
fn first_sync_stores_every_folder_message_and_flag_with_special_use_roles() {
    let f = Fixture::new();
    let u1 = f.dc.append("alice", "INBOX", &message(1, "Hello"));
    let u2 = f.dc.append("alice", "INBOX", &message(2, "Lunch"));
    f.dc.set_flags("alice", "INBOX", u2, "\\Seen \\Flagged", true);
    f.dc.append("alice", "Sent", &message(3, "Sent one"));
    let r = f.sync();
    assert_eq!(r.new_messages, 3);
    let inbox = f.local("INBOX");
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].uid, u1);
    assert_eq!(inbox[0].subject, "Hello 1");
    assert_eq!(inbox[0].from_addr, "dana@acme.test");
    assert!(!inbox[0].seen && !inbox[0].flagged);
    assert!(inbox[1].seen && inbox[1].flagged);
    assert_eq!(f.local("Sent").len(), 1);
    let store = f.store();
    let acc = store.account_id("work").unwrap();
    for (role, name) in [
        ("inbox", "INBOX"),
        ("sent", "Sent"),
        ("trash", "Trash"),
        ("archive", "Archive"),
        ("drafts", "Drafts"),
        ("junk", "Junk"),
    ] {
        let folder = store.folder_by_role(acc, role).unwrap();
        assert_eq!(folder.map(|f| f.name).as_deref(), Some(name), "role {role}");
    }
    let inbox_folder = store.folder(acc, "INBOX").unwrap();
    assert!(inbox_folder.uidvalidity.is_some() && inbox_folder.highestmodseq.is_some());
}

#[test]
fn incremental_sync_brings_new_mail_flag_changes_expunges_and_removed_folders() {
    let f = Fixture::new();
    let uids: Vec<u32> = (0..4)
        .map(|i| f.dc.append("alice", "INBOX", &message(i, "Batch")))
        .collect();
    f.dc.create_folder("alice", "Projects");
    f.sync();
    assert_eq!(f.local_uids("INBOX"), uids);

    // Nothing changed: nothing fetched.
    let r = f.sync();
    assert_eq!((r.new_messages, r.flag_updates, r.expunged), (0, 0, 0));

    let new_uid = f.dc.append("alice", "INBOX", &message(9, "Late"));
    f.dc.set_flags("alice", "INBOX", uids[1], "\\Seen", true);
    f.dc.set_flags("alice", "INBOX", uids[2], "\\Flagged $Work", true);
    f.dc.expunge("alice", "INBOX", uids[3]);
    let mut s = f.dc.session("alice", "secret");
    s.delete("Projects").unwrap();
    s.logout().unwrap();

    let r = f.sync();
    assert_eq!(r.new_messages, 1);
    assert_eq!(r.expunged, 1);
    assert_eq!(r.flag_updates, 2);
    assert_eq!(r.removed_folders, 1);
    assert_eq!(
        f.local_uids("INBOX"),
        vec![uids[0], uids[1], uids[2], new_uid]
    );
    let inbox = f.local("INBOX");
    assert!(inbox[1].seen);
    assert!(inbox[2].flagged && !inbox[2].seen);
    let store = f.store();
    let acc = store.account_id("work").unwrap();
    assert!(store.folder(acc, "Projects").is_err());
}

#[test]
fn uidvalidity_reset_replaces_the_folder_without_duplicates() {
    let f = Fixture::new();
    for i in 0..3 {
        f.dc.append("alice", "INBOX", &message(i, "Gen"));
    }
    f.sync();
    let store = f.store();
    let acc = store.account_id("work").unwrap();
    let before = store.folder(acc, "INBOX").unwrap().uidvalidity;
    f.dc.reset_uidvalidity("alice", "INBOX");
    f.dc.append("alice", "INBOX", &message(3, "Gen"));
    f.sync();
    let after = store.folder(acc, "INBOX").unwrap().uidvalidity;
    assert_ne!(before, after);
    let local = f.local("INBOX");
    assert_eq!(local.len(), 4);
    let ids: HashSet<_> = local.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids.len(), 4, "no duplicates");
    assert_eq!(f.local_uids("INBOX"), f.dc.uids("alice", "INBOX"));
}

#[test]
fn ten_thousand_message_folder_syncs_completely_in_chunks() {
    let f = Fixture::new();
    f.dc.seed_maildir("alice", "Big", 10_000, |i| message(i, "Bulk"));
    let mut progress = Vec::new();
    let r = sync_account(&f.account, &f.store(), &mut |e| {
        if let SyncEvent::Progress {
            folder,
            done,
            total,
            ..
        } = e
        {
            if folder == "Big" {
                progress.push((done, total));
            }
        }
    })
    .unwrap();
    assert_eq!(r.new_messages, 10_000);
    // Default chunk_size 500: progress after each of 20 chunks, plus the start.
    assert_eq!(progress.len(), 21);
    assert_eq!(progress.last(), Some(&(10_000, 10_000)));
    let store = f.store();
    let acc = store.account_id("work").unwrap();
    let big = store.folder(acc, "Big").unwrap();
    assert_eq!(store.folder_row_count(big.id).unwrap(), 10_000);
    let seen = f.local("Big").iter().filter(|m| m.seen).count();
    assert_eq!(seen, 3334);
    let r = f.sync();
    assert_eq!((r.new_messages, r.flag_updates, r.expunged), (0, 0, 0));
}

#[test]
fn queued_flag_and_move_reach_the_server_on_the_next_sync() {
    let f = Fixture::new();
    let u1 = f.dc.append("alice", "INBOX", &message(1, "Queue"));
    f.dc.append("alice", "INBOX", &message(2, "Queue"));
    f.sync();
    let store = f.store();
    let local = f.local("INBOX");
    ops::queue(&store, &[local[0].id], &Action::Flagged(true)).unwrap();
    ops::queue(&store, &[local[1].id], &Action::Archive).unwrap();
    // Optimistic: the store shows the change before the server has it.
    let now = f.local("INBOX");
    assert_eq!(now.len(), 1);
    assert!(now[0].flagged);
    assert_eq!(f.dc.flags("alice", "INBOX", u1), Vec::<String>::new());

    let r = f.sync();
    assert_eq!(r.ops_replayed, 2);
    assert_eq!(f.dc.flags("alice", "INBOX", u1), vec!["\\Flagged"]);
    assert_eq!(f.dc.uids("alice", "INBOX"), vec![u1]);
    assert_eq!(f.dc.uids("alice", "Archive").len(), 1);
    let archived = f.local("Archive");
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].message_id, local[1].message_id);
    assert!(f.local("INBOX")[0].flagged);
    assert_eq!(store.pending_op_count().unwrap(), 0);
}

#[test]
fn a_refused_queued_move_is_rolled_back_and_reported() {
    let f = Fixture::new();
    f.dc.append("alice", "INBOX", &message(1, "Refused"));
    f.dc.create_folder("alice", "Clients");
    f.sync();
    let store = f.store();
    let id = f.local("INBOX")[0].id;
    ops::queue(&store, &[id], &Action::Move("Clients".into())).unwrap();
    assert!(f.local("INBOX").is_empty());
    let mut s = f.dc.session("alice", "secret");
    s.delete("Clients").unwrap();
    s.logout().unwrap();
    let mut events = Vec::new();
    let r = sync_account(&f.account, &store, &mut |e| events.push(e)).unwrap();
    assert_eq!(r.ops_rolled_back, 1);
    assert!(
        events.iter().any(
            |e| matches!(e, SyncEvent::OpRolledBack { message_row: Some(row), .. } if *row == id)
        ),
        "{events:?}"
    );
    let back = f.local("INBOX");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].id, id);
    assert_eq!(f.dc.uids("alice", "INBOX").len(), 1);
}

#[test]
fn undo_moves_a_replayed_message_back_and_cancels_a_queued_one() {
    let f = Fixture::new();
    f.dc.append("alice", "INBOX", &message(1, "Undo"));
    f.dc.append("alice", "INBOX", &message(2, "Undo"));
    f.sync();
    let store = f.store();
    let local = f.local("INBOX");
    // Replayed, then undone: found in Trash by Message-ID and moved back.
    let undo = ops::queue(&store, &[local[0].id], &Action::Delete).unwrap();
    f.sync();
    assert_eq!(f.dc.message_ids("alice", "Trash").len(), 1);
    ops::queue_undo(&store, &undo).unwrap();
    f.sync();
    assert!(f.dc.message_ids("alice", "Trash").is_empty());
    assert_eq!(f.dc.message_ids("alice", "INBOX").len(), 2);
    assert_eq!(f.local("INBOX").len(), 2);
    assert!(f.local("Trash").is_empty());
    // Undone before any sync: the op never reaches the server.
    let id = f.local("INBOX")[0].id;
    let undo = ops::queue(&store, &[id], &Action::Archive).unwrap();
    assert_eq!(f.local("INBOX").len(), 1);
    ops::queue_undo(&store, &undo).unwrap();
    assert_eq!(f.local("INBOX").len(), 2);
    assert_eq!(store.pending_op_count().unwrap(), 0);
    f.sync();
    assert!(f.dc.uids("alice", "Archive").is_empty());
}

#[test]
fn watcher_syncs_then_idle_brings_new_mail_and_stops_promptly() {
    let f = Fixture::new();
    f.dc.append("alice", "INBOX", &message(1, "Idle"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let started = Instant::now();
    let w = spawn_watcher(f.account.clone(), f.dir.path().join("tidings.sqlite3"), tx);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "spawn must not block"
    );
    let wait_for = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<SyncEvent>,
                    want: &dyn Fn(&SyncEvent) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match rx.try_recv() {
                Ok(SyncEvent::Error { message, .. }) => panic!("watcher error: {message}"),
                Ok(e) if want(&e) => return,
                Ok(_) => {}
                Err(_) => {
                    assert!(Instant::now() < deadline, "timed out waiting for an event");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    };
    wait_for(&mut rx, &|e| matches!(e, SyncEvent::Finished { .. }));
    assert_eq!(f.local("INBOX").len(), 1);
    // Give the watcher a moment to enter IDLE, then deliver mail.
    std::thread::sleep(Duration::from_millis(300));
    f.dc.append("alice", "INBOX", &message(2, "Idle"));
    wait_for(
        &mut rx,
        &|e| matches!(e, SyncEvent::FolderChanged { folder, .. } if folder == "INBOX"),
    );
    assert_eq!(f.local("INBOX").len(), 2);
    // A queued op replays on sync_now without waiting for the server to change.
    let store = f.store();
    let id = f.local("INBOX")[0].id;
    ops::queue(&store, &[id], &Action::Seen(true)).unwrap();
    w.sync_now();
    let deadline = Instant::now() + Duration::from_secs(15);
    while store.pending_op_count().unwrap() > 0 {
        assert!(Instant::now() < deadline, "queued op not replayed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopping = Instant::now();
    w.join();
    assert!(stopping.elapsed() < Duration::from_secs(3));
}

#[test]
fn tls_and_starttls_connect_with_accept_invalid_certs() {
    for (security, tls_port) in [("tls", true), ("starttls", false)] {
        let f = Fixture::with_config(|toml| toml);
        let port = if tls_port { f.dc.tls_port } else { f.dc.port };
        let toml =
            f.dc.config_toml("work", "alice", "secret")
                .replace(&format!("port = {}", f.dc.port), &format!("port = {port}"))
                .replace(
                    "security = \"none\"",
                    &format!("security = \"{security}\"\naccept_invalid_certs = true"),
                );
        let path = f.dir.path().join("tls.toml");
        std::fs::write(&path, &toml).unwrap();
        let account = MailAccount::new(&Config::load(&path).unwrap(), &path, "work").unwrap();
        f.dc.append("alice", "INBOX", &message(1, "Secure"));
        sync_account(&account, &f.store(), &mut |_| {})
            .unwrap_or_else(|e| panic!("{security}: {e}"));
        assert_eq!(f.local("INBOX").len(), 1, "{security}");

        // Without accept_invalid_certs the self-signed certificate is refused, naming the server.
        std::fs::write(&path, toml.replace("accept_invalid_certs = true", "")).unwrap();
        let strict = MailAccount::new(&Config::load(&path).unwrap(), &path, "work").unwrap();
        let e = sync_account(&strict, &f.store(), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("127.0.0.1:{port}")) && e.contains("TLS"),
            "{e}"
        );
    }
}

#[test]
fn a_wrong_password_names_server_user_and_config_file() {
    let f = Fixture::with_config(|t| t.replace("password = \"secret\"", "password = \"nope\""));
    let e = sync_account(&f.account, &f.store(), &mut |_| {})
        .unwrap_err()
        .to_string();
    let cfg = f.dir.path().join("config.toml");
    assert!(e.contains(&format!("127.0.0.1:{}", f.dc.port)), "{e}");
    assert!(e.contains("login failed for alice"), "{e}");
    assert!(e.contains(&cfg.display().to_string()), "{e}");
    assert!(!e.contains("nope"), "the password must not appear: {e}");
}

/// The international folders of the mailbox tests, as people read them and as Dovecot names
/// them on the wire (modified UTF-7, RFC 3501 §5.1.3).
const INTERNATIONAL: [(&str, &str); 4] = [
    ("Entwürfe", "Entw&APw-rfe"),
    ("Архив", "&BBAEQARFBDgEMg-"),
    ("R&D", "R&-D"),
    ("日本語/子", "&ZeVnLIqe-/&W1A-"),
];

fn with_international_folders(f: &Fixture) {
    for (i, (_, wire)) in INTERNATIONAL.iter().enumerate() {
        f.dc.create_folder("alice", wire);
        f.dc.append("alice", wire, &message(i, "Intl"));
    }
}

#[test]
fn non_ascii_folders_keep_their_wire_names_as_identity_and_show_decoded() {
    let f = Fixture::new();
    // The server only takes modified UTF-7: raw UTF-8 (what tidings used to send) is refused.
    let mut s = f.dc.session("alice", "secret");
    assert!(
        s.create("Архив").is_err(),
        "Dovecot refuses a raw UTF-8 name"
    );
    s.logout().unwrap();
    with_international_folders(&f);
    let mut events = Vec::new();
    let r = sync_account(&f.account, &f.store(), &mut |e| events.push(e)).unwrap();
    assert_eq!(r.new_messages, 4);
    let store = f.store();
    let acc = store.account_id("work").unwrap();
    let folders = store.folders(acc).unwrap();
    for (shown, wire) in INTERNATIONAL {
        let folder = folders
            .iter()
            .find(|x| x.name == wire)
            .unwrap_or_else(|| panic!("{wire} in {folders:?}"));
        assert_eq!(mailbox_name::display(&folder.name), shown);
        assert_eq!(
            f.local(wire).len(),
            1,
            "{shown}'s message stored under {wire}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, SyncEvent::Progress { folder, .. } if folder == shown)),
            "progress shows {shown}: {events:?}"
        );
    }
    // Same identity on the next sync: nothing re-fetched, no folder dropped.
    let r = f.sync();
    assert_eq!((r.new_messages, r.removed_folders), (0, 0));
}

#[test]
fn queued_move_to_a_non_ascii_folder_and_configured_archive_reach_the_server() {
    let f = Fixture::with_config(|toml| {
        format!("{toml}[accounts.work.folders]\narchive = \"Архив\"\n")
    });
    with_international_folders(&f);
    f.dc.append("alice", "INBOX", &message(7, "Move"));
    f.dc.append("alice", "INBOX", &message(8, "Archive"));
    f.sync();
    let store = f.store();
    let acc = store.account_id("work").unwrap();
    // The configured (decoded) name wins over Dovecot's SPECIAL-USE \Archive folder.
    let archive = store.folder_by_role(acc, "archive").unwrap().unwrap();
    assert_eq!(archive.name, "&BBAEQARFBDgEMg-");
    let inbox = f.local("INBOX");
    let by_subject = |s: &str| inbox.iter().find(|m| m.subject == s).unwrap().id;
    ops::queue(
        &store,
        &[by_subject("Move 7")],
        &Action::Move("日本語/子".into()),
    )
    .unwrap();
    ops::queue(&store, &[by_subject("Archive 8")], &Action::Archive).unwrap();
    let r = f.sync();
    assert_eq!((r.ops_replayed, r.ops_rolled_back), (2, 0));
    assert!(f.dc.uids("alice", "INBOX").is_empty());
    assert_eq!(
        f.dc.message_ids("alice", "&ZeVnLIqe-/&W1A-"),
        vec!["<msg3.Intl@acme.test>", "<msg7.Move@acme.test>"]
    );
    assert_eq!(
        f.dc.message_ids("alice", "&BBAEQARFBDgEMg-"),
        vec!["<msg1.Intl@acme.test>", "<msg8.Archive@acme.test>"]
    );
    assert!(f.dc.uids("alice", "Archive").is_empty());
    assert_eq!(f.local("&BBAEQARFBDgEMg-").len(), 2);
}

#[test]
fn drafts_are_filed_in_a_configured_non_ascii_folder_synced_or_not() {
    let f = Fixture::with_config(|toml| {
        format!("{toml}[accounts.work.folders]\ndrafts = \"Entwürfe\"\nsent = \"Gesendet ✓\"\n")
    });
    let acc = &f.account.config;
    let imap = acc.imap.as_ref().unwrap();
    // Never synced: the configured name is encoded, and the missing folder created as such.
    let drafts = filing::target("work", acc, None, filing::Role::Drafts);
    assert_eq!(drafts.known.as_deref(), Some("Entw&APw-rfe"));
    assert_eq!(drafts.display_name().as_deref(), Some("Entwürfe"));
    let raw = message(1, "Draft");
    let folder = filing::save_draft(imap, &drafts, "<msg1.Draft@acme.test>", raw).unwrap();
    assert_eq!(folder, "Entw&APw-rfe");
    let sent = filing::target("work", acc, None, filing::Role::Sent);
    let filed = filing::file_sent(
        acc,
        &sent,
        &drafts,
        "<msg2.Sent@acme.test>",
        message(2, "Sent"),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", f.dc.log()));
    assert_eq!(filed, filing::SentFiling::Appended("Gesendet &JxM-".into()));
    assert_eq!(
        f.dc.message_ids("alice", "Gesendet &JxM-"),
        vec!["<msg2.Sent@acme.test>"]
    );
    // Synced: the name is matched to the folder the server listed.
    f.sync();
    let store = f.store();
    let drafts = filing::target("work", acc, Some(&store), filing::Role::Drafts);
    assert_eq!(drafts.known.as_deref(), Some("Entw&APw-rfe"));
    filing::save_draft(imap, &drafts, "<msg1.Draft@acme.test>", message(1, "Draft")).unwrap();
    assert_eq!(
        f.dc.message_ids("alice", "Entw&APw-rfe"),
        vec!["<msg1.Draft@acme.test>"],
        "one copy per draft"
    );
    assert_eq!(
        filing::count_message_id(imap, &sent, "<msg2.Sent@acme.test>").unwrap(),
        1
    );
}

#[test]
fn a_queued_move_to_a_non_ascii_folder_gone_from_the_server_is_rolled_back_not_retried() {
    let f = Fixture::new();
    f.dc.append("alice", "INBOX", &message(1, "Gone"));
    f.dc.create_folder("alice", "&BBAEQARFBDgEMg-");
    f.sync();
    let store = f.store();
    let id = f.local("INBOX")[0].id;
    ops::queue(&store, &[id], &Action::Move("Архив".into())).unwrap();
    let mut s = f.dc.session("alice", "secret");
    s.delete("&BBAEQARFBDgEMg-").unwrap();
    s.logout().unwrap();
    // Dovecot's NO names the folder in UTF-8, which the IMAP parser cannot read: still a refusal.
    let mut events = Vec::new();
    let r = sync_account(&f.account, &store, &mut |e| events.push(e))
        .unwrap_or_else(|e| panic!("sync: {e}"));
    assert_eq!(r.ops_rolled_back, 1, "{events:?}");
    let reason = events
        .iter()
        .find_map(|e| match e {
            SyncEvent::OpRolledBack { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("INBOX → Архив"), "{reason}");
    assert_eq!(store.pending_op_count().unwrap(), 0);
    assert_eq!(f.local("INBOX").len(), 1);
}

#[test]
fn the_folder_pane_shows_decoded_names_and_a_malformed_one_as_sent() {
    use tidings::app::Msg;
    let mut h = crate::tui_snapshots::Harness::new(120, 30);
    let acc = h.store.account_id("work").unwrap();
    for wire in ["&BBAEQARFBDgEMg-", "&ZeVnLIqe-/&W1A-", "Bad&Name"] {
        h.store
            .upsert_folder(acc, wire, Some("/"), None, true)
            .unwrap();
    }
    h.send(Msg::Sync(SyncEvent::FolderChanged {
        account: "work".into(),
        folder: "&BBAEQARFBDgEMg-".into(),
    }));
    let screen = h.screen();
    assert!(screen.contains("Архив"), "{screen}");
    assert!(screen.contains("日本語/子"), "{screen}");
    assert!(screen.contains("Bad&Name"), "{screen}");
    assert!(!screen.contains("&BBAEQARFBDgEMg-"), "{screen}");
    // Sorted as shown, not by wire name (where "&BBAE…" would come before "Bad&Name").
    let at = |name: &str| screen.find(name).unwrap();
    assert!(
        at("Bad&Name") < at("Архив") && at("Архив") < at("日本語/子"),
        "{screen}"
    );
}

/// `tidings sync` against a hostile IMAP server, killed if it outlives `limit`: its exit code
/// (None when it had to be killed), stderr, and how long it ran.
fn sync_against_hostile(mode: &str, limit: std::time::Duration) -> (Option<i32>, String) {
    use std::time::Instant;
    let server = crate::support::hostile_imap::HostileImap::start(mode);
    let env = crate::support::TidingsEnv::new(&server.config_toml(1));
    let mut child = env
        .command()
        .arg("sync")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    (None, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A server that trickles a FETCH answer a byte at a time (each read well inside the timeout)
/// does not hold `tidings sync` for ever: it fails with a reason.
#[test]
fn a_fetch_answer_trickled_for_ever_fails_the_sync_with_a_reason() {
    let (code, err) = sync_against_hostile("trickle", std::time::Duration::from_secs(15));
    assert_eq!(code, Some(1), "sync still running after 15 s: {err}");
    assert!(err.contains("too slow"), "{err}");
}

/// A LIST of a million folders is refused with the count, not synced folder by folder for days.
#[test]
fn a_million_folders_fail_the_sync_with_the_count() {
    let (code, err) = sync_against_hostile("list_flood", std::time::Duration::from_secs(30));
    assert_eq!(code, Some(1), "sync still running after 30 s: {err}");
    assert!(err.contains("1000000 folders"), "{err}");
}

/// Folder names with terminal controls are skipped, and no escape byte reaches the terminal.
#[test]
fn folder_names_with_escapes_never_reach_the_terminal() {
    let (code, err) = sync_against_hostile("folder_esc", std::time::Duration::from_secs(15));
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
}

/// Mail nested 10,000 multiparts deep, or with megabyte header lines full of escapes, is synced
/// and shown without an escape byte.
#[test]
fn deep_and_long_header_mail_from_a_hostile_server_syncs_and_shows_safely() {
    for (mode, expected) in [("deep_mime", "innermost"), ("long_header", "short body")] {
        let server = crate::support::hostile_imap::HostileImap::start(mode);
        let env = crate::support::TidingsEnv::new(&server.config_toml(5));
        env.ok(&["sync"]);
        let id = env.list_json("INBOX")[0]["id"].to_string();
        let shown = env.ok(&["show", &id]);
        assert!(
            shown.contains(expected),
            "{mode}: {}",
            &shown[..shown.len().min(300)]
        );
        assert!(!shown.contains('\u{1b}'), "{mode}: escape shown");
    }
}
