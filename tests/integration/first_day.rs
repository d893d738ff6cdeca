//! A first sync as a new user lives it, against a real Dovecot: the newest envelopes first, the
//! bodies after them (or on demand), a kill -9 in either phase converging on the next run.

use crate::support::dovecot::{message, Dovecot};
use crate::support::hostile_imap::HostileImap;
use crate::support::TidingsEnv;
use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use tidings::app::msg::{Effect, Msg};
use tidings::app::runtime::{perform_with, OpsBackend};
use tidings::app::{Action, App};
use tidings::config::Config;
use tidings::mail::sync::{sync_account, MailAccount, SyncEvent};
use tidings::store::{ListQuery, Store, StoreError};

/// A message of about 7 KB: bigger than what rides along with its envelope, so its body comes
/// in the body phase.
fn big(i: usize, subject: &str) -> Vec<u8> {
    let mut raw = message(i, subject);
    for line in 0..150 {
        raw.extend_from_slice(
            format!("Padding line {line} of the quarterly report.\r\n").as_bytes(),
        );
    }
    raw
}

/// A Dovecot with `alice`, and a config for her whose `[sync]` section is `sync_toml`.
fn account(sync_toml: &str) -> (Dovecot, tempfile::TempDir, Config, MailAccount) {
    let dc = Dovecot::start();
    dc.add_user("alice", "secret");
    let (dir, config, account) = account_on(&dc, sync_toml);
    (dc, dir, config, account)
}

/// A data dir and a config for `alice` on `dc`, whose `[sync]` section is `sync_toml`.
fn account_on(dc: &Dovecot, sync_toml: &str) -> (tempfile::TempDir, Config, MailAccount) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let toml = format!(
        "{}\n[sync]\n{sync_toml}\n",
        dc.config_toml("work", "alice", "secret")
    );
    std::fs::write(&path, toml).unwrap();
    let config = Config::load(&path).unwrap();
    let account = MailAccount::new(&config, &path, "work").unwrap();
    (dir, config, account)
}

fn stored_uids(store: &Store, folder: &str) -> Vec<u32> {
    let mut v: Vec<u32> = store
        .list_messages(&ListQuery {
            folder: Some(folder.into()),
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|m| m.uid)
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn newest_envelopes_are_stored_before_the_oldest_and_bodies_follow() {
    let (dc, dir, _, account) = account("chunk_size = 50\nbodies = \"all\"");
    dc.seed_maildir("alice", "INBOX", 300, |i| big(i, "Order"));
    let db = dir.path().join("tidings.sqlite3");
    let store = Store::open(&db).unwrap();
    let mut server = dc.uids("alice", "INBOX");
    server.sort_unstable();
    let newest: Vec<u32> = server[server.len() - 50..].to_vec();
    let mut after_first_chunk = None;
    let mut body_events = 0;
    sync_account(&account, &store, &mut |e| match e {
        SyncEvent::Progress {
            folder, done: 50, ..
        } if folder == "INBOX" && after_first_chunk.is_none() => {
            // What another process (the TUI) sees once the first chunk is committed.
            let look = Store::open(&db).unwrap();
            after_first_chunk = Some((
                stored_uids(&look, "INBOX"),
                look.count_without_body(None).unwrap(),
            ));
        }
        SyncEvent::BodyProgress { .. } => body_events += 1,
        _ => {}
    })
    .unwrap_or_else(|e| panic!("sync: {e}\n{}", dc.log()));
    let (first, without_body) = after_first_chunk.expect("a progress report after 50");
    assert_eq!(first, newest, "the first chunk holds the newest 50 UIDs");
    assert_eq!(without_body, 50, "envelopes come before any body");
    assert_eq!(stored_uids(&store, "INBOX"), server);
    assert_eq!(store.count_without_body(None).unwrap(), 0);
    assert!(body_events >= 7, "bodies reported chunk by chunk");
}

/// Runs `tidings sync` and kills it (SIGKILL) at the first stderr line that `kill_at` accepts;
/// returns that line.
fn sync_and_kill(env: &TidingsEnv, kill_at: impl Fn(&str) -> bool) -> String {
    let mut child = env
        .command()
        .arg("sync")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut killed = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if kill_at(&line) {
            child.kill().unwrap();
            killed = Some(line);
            break;
        }
    }
    child.wait().unwrap();
    killed.expect("the sync was killed mid-way")
}

/// `done` of a progress line such as `work: INBOX: 300/2000 envelopes`.
fn done_of(line: &str, prefix: &str) -> Option<u64> {
    line.strip_prefix(prefix)?.split('/').next()?.parse().ok()
}

#[test]
fn kill_9_in_the_envelope_and_in_the_body_phase_then_resume_converges() {
    let dc = Dovecot::start();
    dc.add_user("alice", "secret");
    dc.seed_maildir("alice", "INBOX", 1500, |i| big(i, "Resume"));
    let env = TidingsEnv::new(&format!(
        "{}\n[sync]\nchunk_size = 50\nbodies = \"all\"\n",
        dc.config_toml("work", "alice", "secret")
    ));
    let mut server = dc.uids("alice", "INBOX");
    server.sort_unstable();

    // Killed among the envelopes: what is stored is the newest part, with no body yet.
    sync_and_kill(&env, |l| {
        done_of(l, "work: INBOX: ").is_some_and(|d| (300..1500).contains(&d))
    });
    let store = Store::open(&env.db_path()).unwrap();
    let partial = stored_uids(&store, "INBOX");
    assert!((300..1500).contains(&partial.len()), "{}", partial.len());
    assert_eq!(partial, server[server.len() - partial.len()..].to_vec());

    // Killed among the bodies: every envelope is stored, some bodies are.
    sync_and_kill(&env, |l| {
        done_of(l, "work: INBOX (bodies): ").is_some_and(|d| d >= 300)
    });
    assert_eq!(stored_uids(&store, "INBOX"), server);
    let missing = store.count_without_body(Some("work")).unwrap();
    assert!((1..1500).contains(&missing), "{missing} bodies missing");

    env.ok(&["sync"]);
    let list = env.list_json("INBOX");
    let uids: HashSet<u64> = list.iter().map(|m| m["uid"].as_u64().unwrap()).collect();
    assert_eq!(list.len(), 1500);
    assert_eq!(uids, server.iter().map(|u| u64::from(*u)).collect());
    assert_eq!(store.count_without_body(None).unwrap(), 0);
    // Every body is in the search index, once.
    let found: Vec<serde_json::Value> = serde_json::from_str(
        &env.ok(&["list", "--folder", "INBOX", "--search", "Regards", "--json"]),
    )
    .unwrap();
    assert_eq!(found.len(), 1500);
}

#[test]
fn a_message_opened_before_its_body_arrived_shows_its_body() {
    let (dc, dir, config, account) = account("bodies = \"on-demand\"");
    dc.append("alice", "INBOX", &message(7, "Later"));
    let db = dir.path().join("tidings.sqlite3");
    let store = Store::open(&db).unwrap();
    let r = sync_account(&account, &store, &mut |_| {}).unwrap();
    assert_eq!((r.new_messages, r.bodies), (1, 0));
    let id = store.list_messages(&ListQuery::default()).unwrap()[0].id;
    assert!(matches!(
        store.raw_message(id),
        Err(StoreError::BodyNotCached(_))
    ));

    let mut app = App::new(false);
    let mut savers = Default::default();
    let backend = OpsBackend::local_only();
    let mut run = |app: &mut App, effects: Vec<Effect>, until_fetch: bool| {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            if until_fetch && matches!(e, Effect::FetchBody { .. }) {
                return Some(e);
            }
            for m in perform_with(&store, &backend, &config, &mut savers, e) {
                queue.extend(app.update(m));
            }
        }
        None
    };
    let start = app.start();
    run(&mut app, start, false);
    let open = app.update(Msg::Action(Action::Open));
    let fetch = run(&mut app, open, true).expect("opening asks for the body");
    let reader = app.reader.as_ref().expect("the reader is open");
    assert!(
        reader.downloading && reader.content.is_none(),
        "a visible loading state"
    );

    run(&mut app, vec![fetch], false);
    let reader = app.reader.as_ref().unwrap();
    assert!(!reader.downloading);
    let body = &reader.content.as_ref().expect("the body arrived").body;
    assert!(body.contains("Hello, this is message number 7."), "{body}");
    // Cached now, and searchable by its body.
    assert!(store.raw_message(id).is_ok());
    let hits = store
        .list_messages(&ListQuery {
            search: Some("Regards".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hits.len(), 1);
}

#[test]
fn a_reply_to_a_message_whose_body_is_not_downloaded_quotes_its_body() {
    let (dc, dir, config, account) = account("bodies = \"on-demand\"");
    dc.append("alice", "INBOX", &message(8, "Quote me"));
    let store = Store::open(&dir.path().join("tidings.sqlite3")).unwrap();
    sync_account(&account, &store, &mut |_| {}).unwrap();
    let id = store.list_messages(&ListQuery::default()).unwrap()[0].id;
    assert!(matches!(
        store.raw_message(id),
        Err(StoreError::BodyNotCached(_))
    ));

    let mut app = App::new(false);
    let mut savers = Default::default();
    let backend = OpsBackend::local_only();
    let mut queue: VecDeque<Effect> = app.start().into();
    let mut replied = false;
    loop {
        while let Some(e) = queue.pop_front() {
            for m in perform_with(&store, &backend, &config, &mut savers, e) {
                queue.extend(app.update(m));
            }
        }
        if replied {
            break;
        }
        // Reply from the list, without opening the message first.
        queue.extend(app.update(Msg::Action(Action::Reply)));
        replied = true;
    }
    let composer = app.compose.as_ref().expect("the composer opened");
    assert!(
        composer
            .draft
            .body
            .contains("> Hello, this is message number 8."),
        "{}",
        composer.draft.body
    );
    assert!(store.raw_message(id).is_ok(), "the body is cached now");
}

#[test]
fn show_downloads_a_body_the_sync_left_on_the_server() {
    let dc = Dovecot::start();
    dc.add_user("alice", "secret");
    dc.append("alice", "INBOX", &message(3, "Shown"));
    let env = TidingsEnv::new(&format!(
        "{}\n[sync]\nbodies = \"on-demand\"\n",
        dc.config_toml("work", "alice", "secret")
    ));
    env.ok(&["sync"]);
    let search = |word: &str| {
        let out = env.run(&["list", "--search", word]);
        assert!(out.status.success());
        (
            String::from_utf8_lossy(&out.stdout).lines().count(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (hits, note) = search("Regards");
    assert_eq!(hits, 0);
    assert!(
        note.contains("1 message not yet downloaded is searched by headers only"),
        "{note}"
    );
    let id = env.list_json("INBOX")[0]["id"].as_i64().unwrap();
    let shown = env.ok(&["show", &id.to_string()]);
    assert!(
        shown.contains("Hello, this is message number 3."),
        "{shown}"
    );
    let (hits, note) = search("Regards");
    assert_eq!(hits, 1, "the body shown is cached and indexed");
    assert!(!note.contains("not yet downloaded"), "{note}");
}

/// A Dovecot shaped like Gmail: "All Mail" (`\All`) holds every message, "Important"
/// (`\Important`) and "Starred" (`\Flagged`) hold copies of INBOX's, and there is no `\Archive`.
const GMAIL_LIKE: &str = r#"
namespace inbox {
  mailbox Archive {
    auto = no
    special_use =
  }
  mailbox "All Mail" {
    special_use = \All
    auto = create
  }
  mailbox Important {
    special_use = \Important
    auto = create
  }
  mailbox Starred {
    special_use = \Flagged
    auto = create
  }
}
"#;

/// A message whose body holds a word nothing else has.
fn with_body_word(i: usize, subject: &str, word: &str) -> Vec<u8> {
    let base = String::from_utf8(message(i, subject)).unwrap();
    base.replace("Regards, Dana", &format!("Regards, Dana. {word}"))
        .into_bytes()
}

#[test]
fn a_gmail_like_account_downloads_each_message_once_keeps_archived_mail_archives_to_all_mail_deletes_to_trash(
) {
    let dc = Dovecot::start_with(GMAIL_LIKE);
    dc.add_user("alice", "secret");
    for i in 0..3 {
        let raw = message(i, "Labelled");
        for folder in ["INBOX", "All Mail", "Important", "Starred"] {
            dc.append("alice", folder, &raw);
        }
    }
    // Archived: in All Mail only.
    dc.append(
        "alice",
        "All Mail",
        &with_body_word(9, "Old", "pomegranate"),
    );
    let (dir, _, account) = account_on(&dc, "");
    let store = Store::open(&dir.path().join("tidings.sqlite3")).unwrap();

    let r = sync_account(&account, &store, &mut |_| {})
        .unwrap_or_else(|e| panic!("sync: {e}\n{}", dc.log()));
    assert_eq!(
        r.bodies, 4,
        "four distinct messages, each body downloaded once"
    );
    // INBOX comes first; All Mail's copies of its three messages cost UID, flags and
    // Message-ID only: one envelope fetched there, the archived one.
    assert_eq!((r.new_messages, r.envelopes_copied), (7, 3));
    assert_eq!(store.count_without_body(None).unwrap(), 0);
    let acc = store.account_id("work").unwrap();
    let names: Vec<String> = store
        .folders(acc)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert!(names.contains(&"All Mail".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n == "Important" || n == "Starred"),
        "views are not folders: {names:?}"
    );
    assert_eq!(stored_uids(&store, "INBOX").len(), 3);
    assert_eq!(stored_uids(&store, "All Mail").len(), 4);
    // Archived mail is listed and found by a word of its body.
    let hits = store
        .list_messages(&ListQuery {
            search: Some("pomegranate".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].folder, "All Mail");
    // An INBOX copy reads the body downloaded once, and is found by its words too.
    let inbox = store
        .list_messages(&ListQuery {
            folder: Some("INBOX".into()),
            search: Some("Regards".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(inbox.len(), 3);
    let raw = store.raw_message(inbox[0].id).unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("Hello, this is message number"));
    // A second sync downloads nothing again.
    let again = sync_account(&account, &store, &mut |_| {}).unwrap();
    assert_eq!((again.new_messages, again.bodies), (0, 0));

    // Archive: out of INBOX, into All Mail; delete: into \Trash.
    use tidings::mail::ops::{apply_now, Action};
    for (m, action, into) in [
        (&inbox[0], Action::Archive, "All Mail"),
        (&inbox[1], Action::Delete, "Trash"),
    ] {
        let mid = m.message_id.clone().unwrap();
        apply_now(std::slice::from_ref(&account), &store, &[m.id], &action)
            .unwrap_or_else(|e| panic!("{action:?}: {e}\n{}", dc.log()));
        assert!(!dc.message_ids("alice", "INBOX").contains(&mid));
        assert!(dc.message_ids("alice", into).contains(&mid), "{into}");
    }
}

#[test]
fn microsoft_folder_names_get_their_roles_without_special_use() {
    // Exchange's names, and no SPECIAL-USE attributes on any folder.
    let mut conf = String::from("namespace inbox {\n");
    for name in ["Sent", "Drafts", "Trash", "Archive", "Junk"] {
        conf.push_str(&format!(
            "  mailbox {name} {{\n    auto = no\n    special_use =\n  }}\n"
        ));
    }
    conf.push_str("}\n");
    let dc = Dovecot::start_with(&conf);
    dc.add_user("alice", "secret");
    for name in [
        "Sent Items",
        "Deleted Items",
        "Junk Email",
        "Archive",
        "Drafts",
    ] {
        dc.create_folder("alice", name);
    }
    let (dir, _, account) = account_on(&dc, "");
    let store = Store::open(&dir.path().join("tidings.sqlite3")).unwrap();
    sync_account(&account, &store, &mut |_| {})
        .unwrap_or_else(|e| panic!("sync: {e}\n{}", dc.log()));
    let acc = store.account_id("work").unwrap();
    for (role, name) in [
        ("sent", "Sent Items"),
        ("trash", "Deleted Items"),
        ("junk", "Junk Email"),
        ("archive", "Archive"),
        ("drafts", "Drafts"),
    ] {
        let folder = store.folder_by_role(acc, role).unwrap();
        assert_eq!(folder.map(|f| f.name).as_deref(), Some(name), "role {role}");
    }
}

#[test]
fn qresync_brings_expunges_as_vanished_and_new_mail_after_a_completed_sync() {
    let (dc, dir, _, account) = account("");
    let uids: Vec<u32> = (0..6)
        .map(|i| dc.append("alice", "INBOX", &message(i, "Q")))
        .collect();
    let store = Store::open(&dir.path().join("tidings.sqlite3")).unwrap();
    sync_account(&account, &store, &mut |_| {}).unwrap();
    dc.expunge("alice", "INBOX", uids[1]);
    dc.expunge("alice", "INBOX", uids[4]);
    dc.set_flags("alice", "INBOX", uids[2], "\\Seen", true);
    let late = dc.append("alice", "INBOX", &message(7, "Q"));
    let r = sync_account(&account, &store, &mut |_| {}).unwrap();
    assert_eq!((r.expunged, r.vanished), (2, 2), "{r:?}");
    assert_eq!((r.new_messages, r.flag_updates), (1, 1), "{r:?}");
    assert_eq!(
        stored_uids(&store, "INBOX"),
        vec![uids[0], uids[2], uids[3], uids[5], late]
    );
}

#[test]
fn an_attachment_of_a_message_not_downloaded_is_saved_from_the_server() {
    let (dc, dir, config, account) = account("bodies = \"on-demand\"");
    let raw = b"From: Dana Lee <dana@acme.test>\r\nTo: alice@example.test\r\nSubject: Q3\r\n\
Message-ID: <att1@acme.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n\
--XX\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=q3.pdf\r\n\r\n\
%PDF-1.4 figures\r\n--XX--\r\n";
    dc.append("alice", "INBOX", raw);
    let store = Store::open(&dir.path().join("tidings.sqlite3")).unwrap();
    sync_account(&account, &store, &mut |_| {}).unwrap();
    let id = store.list_messages(&ListQuery::default()).unwrap()[0].id;
    let path = dir.path().join("saved").join("q3.pdf");
    let msgs = perform_with(
        &store,
        &OpsBackend::local_only(),
        &config,
        &mut Default::default(),
        Effect::SaveAttachment {
            id,
            index: 0,
            path: path.clone(),
        },
    );
    assert!(
        matches!(&msgs[..], [Msg::Notice(n)] if n.starts_with("saved")),
        "{msgs:?}"
    );
    assert!(std::fs::read(&path)
        .unwrap()
        .starts_with(b"%PDF-1.4 figures"));
}

#[test]
fn on_gmail_all_mail_costs_only_uids_flags_and_x_gm_msgid_for_what_inbox_holds() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("commands.log");
    // tests/support/fake_gmail.py: X-GM-EXT-1; INBOX and "[Gmail]/All Mail" over the same four
    // messages, three of them in INBOX; every command it gets is logged.
    let gmail = HostileImap::run("fake_gmail.py", log.as_os_str());
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[accounts.g]\nemail = \"alice@example.test\"\n[accounts.g.imap]\nhost = \"127.0.0.1\"\n\
             port = {}\nsecurity = \"none\"\nuser = \"alice\"\npassword = \"pw\"\n\
             timeout_seconds = 10\n[sync]\nbodies = \"all\"\n",
            gmail.port
        ),
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    let account = MailAccount::new(&config, &path, "g").unwrap();
    let store = Store::open(&dir.path().join("tidings.sqlite3")).unwrap();
    let r = sync_account(&account, &store, &mut |_| {}).unwrap();
    assert_eq!((r.new_messages, r.envelopes_copied, r.bodies), (7, 3, 4));
    let log = std::fs::read_to_string(&log).unwrap();
    let fetches: Vec<&str> = log.lines().filter(|l| l.contains("UID FETCH")).collect();
    // All Mail (UIDs 100..103) is asked for ids first, then for the one envelope it alone
    // holds; bodies: INBOX's three, then the archived one, never a copy's twice.
    let all_mail: Vec<&&str> = fetches
        .iter()
        .filter(|l| l.starts_with("[Gmail]/All Mail|"))
        .collect();
    assert!(
        all_mail[0].contains("X-GM-MSGID") && !all_mail[0].contains("HEADER"),
        "{fetches:#?}"
    );
    assert!(
        all_mail[1].contains("UID FETCH 103 ") && all_mail[1].contains("HEADER.FIELDS"),
        "{fetches:#?}"
    );
    let bodies: Vec<&&str> = fetches
        .iter()
        .filter(|l| l.contains("BODY.PEEK[]"))
        .collect();
    assert_eq!(bodies.len(), 2, "{fetches:#?}");
    assert!(bodies[0].starts_with("INBOX|") && bodies[0].contains("10:12"));
    assert!(bodies[1].starts_with("[Gmail]/All Mail|") && bodies[1].contains("FETCH 103 "));
    // The copies keep their own flags, list and read the one body.
    let inbox = store
        .list_messages(&ListQuery {
            folder: Some("[Gmail]/All Mail".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(inbox.len(), 4);
    let first = inbox.iter().find(|m| m.subject == "Labelled 0").unwrap();
    assert!(first.seen);
    let raw = store.raw_message(first.id).unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("Hello, this is message 0."));
    let hits = store
        .list_messages(&ListQuery {
            search: Some("Labelled".into()),
            ..Default::default()
        })
        .unwrap();
    // Across folders each is found once, as its INBOX copy; in All Mail, as its copy there.
    assert_eq!(hits.len(), 3, "three messages, once each: {hits:#?}");
    assert!(hits.iter().all(|m| m.folder == "INBOX"), "{hits:#?}");
    let in_all_mail = store
        .list_messages(&ListQuery {
            folder: Some("[Gmail]/All Mail".into()),
            search: Some("Labelled".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(in_all_mail.len(), 3, "{in_all_mail:#?}");
}

#[test]
fn a_server_that_advertises_x_gm_ext_1_but_refuses_x_gm_msgid_tells_copies_by_message_id() {
    let dc = Dovecot::start_with(&format!("{GMAIL_LIKE}\nimap_capability = +X-GM-EXT-1\n"));
    dc.add_user("alice", "secret");
    for i in 0..2 {
        let raw = big(i, "Labelled");
        dc.append("alice", "INBOX", &raw);
        dc.append("alice", "All Mail", &raw);
    }
    let (dir, _, account) = account_on(&dc, "bodies = \"all\"");
    let store = Store::open(&dir.path().join("tidings.sqlite3")).unwrap();
    let r = sync_account(&account, &store, &mut |_| {})
        .unwrap_or_else(|e| panic!("sync: {e}\n{}", dc.log()));
    assert_eq!((r.new_messages, r.envelopes_copied, r.bodies), (4, 2, 2));
    assert_eq!(store.count_without_body(None).unwrap(), 0);
}

#[test]
fn the_status_line_reads_envelopes_then_bodies_n_of_n_and_clears_when_the_sync_ends() {
    let mut h = crate::tui_snapshots::Harness::new(120, 20);
    let status = |h: &mut crate::tui_snapshots::Harness| {
        h.screen().lines().last().unwrap_or_default().to_string()
    };
    h.send(Msg::Sync(SyncEvent::Progress {
        account: "work".into(),
        folder: "INBOX".into(),
        done: 500,
        total: 4000,
    }));
    assert!(
        status(&mut h).contains("sync work INBOX envelopes 500/4000"),
        "{}",
        h.screen()
    );
    h.send(Msg::Sync(SyncEvent::BodyProgress {
        account: "work".into(),
        folder: "Sent".into(),
        done: 120,
        total: 600,
    }));
    assert!(
        status(&mut h).contains("sync work Sent bodies 120/600"),
        "{}",
        h.screen()
    );
    // The list stays usable meanwhile: keys move the cursor.
    h.press(&["j"]);
    h.send(Msg::Sync(SyncEvent::Finished {
        account: "work".into(),
    }));
    assert!(!status(&mut h).contains("sync work"), "{}", h.screen());
}

#[test]
fn kill_9_while_all_mail_stores_copies_then_resume_converges_with_each_body_once() {
    let dc = Dovecot::start_with(GMAIL_LIKE);
    dc.add_user("alice", "secret");
    dc.seed_maildir("alice", "INBOX", 300, |i| big(i, "Labelled"));
    dc.seed_maildir("alice", "All Mail", 360, |i| big(i, "Labelled"));
    let env = TidingsEnv::new(&format!(
        "{}\n[sync]\nchunk_size = 20\nbodies = \"all\"\n",
        dc.config_toml("work", "alice", "secret")
    ));
    // All Mail comes after INBOX: its 300 copies cost ids only; killed among them.
    sync_and_kill(&env, |l| {
        done_of(l, "work: All Mail: ").is_some_and(|d| (40..300).contains(&d))
    });
    env.ok(&["sync"]);
    let store = Store::open(&env.db_path()).unwrap();
    let mut server = dc.uids("alice", "All Mail");
    server.sort_unstable();
    assert_eq!(stored_uids(&store, "All Mail"), server);
    assert_eq!(stored_uids(&store, "INBOX").len(), 300);
    assert_eq!(store.count_without_body(None).unwrap(), 0);
    let bodies: i64 = store
        .conn
        .query_row("SELECT COUNT(*) FROM bodies", [], |r| r.get(0))
        .unwrap();
    assert_eq!(bodies, 360, "one body per distinct message");
}
