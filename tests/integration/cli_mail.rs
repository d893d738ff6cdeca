//! The headless CLI (`sync`, `list --json`, `flag`, `move`, `archive`, `delete`) as scripts use
//! it, against a real Dovecot.

use crate::support::dovecot::{message, Dovecot};
use crate::support::TidingsEnv;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

fn setup() -> (Dovecot, TidingsEnv) {
    let dc = Dovecot::start();
    dc.add_user("alice", "secret");
    let env = TidingsEnv::new(&dc.config_toml("work", "alice", "secret"));
    (dc, env)
}

fn ids_by_subject(env: &TidingsEnv, folder: &str) -> Vec<(i64, String)> {
    let mut v: Vec<(i64, String)> = env
        .list_json(folder)
        .iter()
        .map(|m| {
            (
                m["id"].as_i64().unwrap(),
                m["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    v
}

#[test]
fn sync_then_list_json_has_the_documented_fields_and_server_flags() {
    let (dc, env) = setup();
    let uid = dc.append("alice", "INBOX", &message(1, "Fields"));
    dc.set_flags("alice", "INBOX", uid, "\\Flagged", true);
    let out = env.run(&["sync"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("work: INBOX: 1/1"),
        "progress on stderr: {stderr}"
    );
    assert!(out.stdout.is_empty(), "sync prints nothing on stdout");
    let list = env.list_json("INBOX");
    assert_eq!(list.len(), 1);
    let m = &list[0];
    for key in [
        "id",
        "account",
        "folder",
        "uid",
        "message_id",
        "from",
        "to",
        "subject",
        "date",
        "seen",
        "flagged",
        "has_attachments",
    ] {
        assert!(m.get(key).is_some(), "missing {key} in {m}");
    }
    assert_eq!(m["account"], "work");
    assert_eq!(m["folder"], "INBOX");
    assert_eq!(m["uid"], uid);
    assert_eq!(m["message_id"], "<msg1.Fields@acme.test>");
    assert_eq!(m["from"], "Dana Lee <dana@acme.test>");
    assert_eq!(m["subject"], "Fields 1");
    assert_eq!(m["date"], "2026-09-01T10:01:00+00:00");
    assert_eq!(m["seen"], false);
    assert_eq!(m["flagged"], true);
    assert_eq!(m["has_attachments"], false);
}

#[test]
fn flag_move_archive_and_delete_change_the_server_and_the_cache() {
    let (dc, env) = setup();
    for i in 0..5 {
        dc.append("alice", "INBOX", &message(i, "Triage"));
    }
    dc.create_folder("alice", "Clients");
    env.ok(&["sync"]);
    let ids = ids_by_subject(&env, "INBOX");
    let id = |n: usize| ids[n].0.to_string();

    env.ok(&["flag", &id(0), &id(1), "--seen"]);
    env.ok(&["flag", &id(1), "--flagged"]);
    let uids = dc.uids("alice", "INBOX");
    assert_eq!(dc.flags("alice", "INBOX", uids[0]), vec!["\\Seen"]);
    assert_eq!(
        dc.flags("alice", "INBOX", uids[1]),
        vec!["\\Flagged", "\\Seen"]
    );
    let list = env.list_json("INBOX");
    let row = |sub: &str| list.iter().find(|m| m["subject"] == sub).unwrap().clone();
    assert_eq!(row("Triage 1")["seen"], true);
    assert_eq!(row("Triage 1")["flagged"], true);
    env.ok(&["flag", &id(0), "--unseen"]);
    assert_eq!(dc.flags("alice", "INBOX", uids[0]), Vec::<String>::new());

    env.ok(&["move", &id(2), "Clients"]);
    env.ok(&["archive", &id(3)]);
    env.ok(&["delete", &id(4)]);
    assert_eq!(dc.message_ids("alice", "INBOX").len(), 2);
    assert_eq!(
        dc.message_ids("alice", "Clients"),
        vec!["<msg2.Triage@acme.test>"]
    );
    assert_eq!(
        dc.message_ids("alice", "Archive"),
        vec!["<msg3.Triage@acme.test>"]
    );
    assert_eq!(
        dc.message_ids("alice", "Trash"),
        vec!["<msg4.Triage@acme.test>"]
    );
    assert_eq!(
        env.list_json("INBOX").len(),
        2,
        "moved rows leave the source at once"
    );
    env.ok(&["sync"]);
    let trash = ids_by_subject(&env, "Trash");
    assert_eq!(trash.len(), 1);
    // Delete from Trash: gone for good.
    env.ok(&["delete", &trash[0].0.to_string()]);
    assert!(dc.uids("alice", "Trash").is_empty());
    assert!(env.list_json("Trash").is_empty());
}

#[test]
fn exit_codes_are_1_for_failures_and_2_for_usage() {
    let (dc, env) = setup();
    dc.append("alice", "INBOX", &message(1, "Codes"));
    dc.create_folder("alice", "Clients");
    env.ok(&["sync"]);
    let id = ids_by_subject(&env, "INBOX")[0].0.to_string();

    let usage = [
        vec!["flag", &id],                       // no change given
        vec!["flag", &id, "--seen", "--unseen"], // two changes
        vec!["move", "Clients"],                 // no ids
        vec!["archive"],
        vec!["move", "x", "Clients"],
    ];
    for args in usage {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let failures: [&[&str]; 4] = [
        &["flag", "999999", "--seen"],
        &["move", &id, "NoSuchFolder"],
        &["sync", "--account", "nope"],
        &["archive", "999999"],
    ];
    for args in failures {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");
    }
    // The server refuses (the folder is gone there): store unchanged, exit 1.
    let mut s = dc.session("alice", "secret");
    s.delete("Clients").unwrap();
    s.logout().unwrap();
    let out = env.run(&["move", &id, "Clients"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("UID MOVE INBOX → Clients"), "{err}");
    assert_eq!(
        env.list_json("INBOX").len(),
        1,
        "store unchanged when the server refuses"
    );

    // Wrong password: exit 1, naming server, user and config file.
    let bad = TidingsEnv::new(&dc.config_toml("work", "alice", "wrong"));
    let out = bad.run(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("login failed for alice"), "{err}");
    assert!(
        err.contains(&bad.config_path().display().to_string()),
        "{err}"
    );
}

#[test]
fn kill_9_during_sync_then_resume_converges_without_duplicates() {
    let (dc, env) = setup();
    dc.seed_maildir("alice", "INBOX", 4000, |i| message(i, "Kill"));
    // Small chunks so the kill lands between commits and mid-chunk.
    std::fs::write(
        env.config_path(),
        format!(
            "{}\n[sync]\nchunk_size = 50\n",
            dc.config_toml("work", "alice", "secret")
        ),
    )
    .unwrap();
    let mut child = env
        .command()
        .arg("sync")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    // Kill once some chunks are committed but far from all.
    let mut killed_at = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("work: INBOX: ") {
            let done: u64 = rest.split('/').next().unwrap().parse().unwrap();
            if done >= 500 {
                child.kill().unwrap(); // SIGKILL
                killed_at = Some(done);
                break;
            }
        }
    }
    child.wait().unwrap();
    let killed_at = killed_at.expect("sync showed progress before finishing");
    assert!(killed_at < 4000, "the kill landed mid-sync");
    let partial = env.list_json("INBOX").len();
    assert!((500..4000).contains(&partial), "partial = {partial}");

    env.ok(&["sync"]);
    let list = env.list_json("INBOX");
    assert_eq!(list.len(), 4000);
    let uids: HashSet<u64> = list.iter().map(|m| m["uid"].as_u64().unwrap()).collect();
    let mids: HashSet<&str> = list
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(uids.len(), 4000);
    assert_eq!(mids.len(), 4000);
    let server: HashSet<u64> = dc
        .uids("alice", "INBOX")
        .into_iter()
        .map(u64::from)
        .collect();
    assert_eq!(uids, server);
}

/// A config for one account whose IMAP port nothing listens on: for errors found before any
/// network round trip.
fn offline_env() -> TidingsEnv {
    let port = crate::support::smtp::free_port();
    TidingsEnv::new(&format!(
        "[accounts.work]\nemail = \"me@example.test\"\n[accounts.work.imap]\nhost = \"127.0.0.1\"\n\
         port = {port}\nsecurity = \"none\"\nuser = \"me\"\npassword = \"x\"\ntimeout_seconds = 2\n"
    ))
}

#[test]
fn an_error_states_its_cause_once() {
    let env = offline_env();
    let out = env.run(&["flag", "999999", "--seen"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tidings: local cache: no message with id 999999\n"
    );
}

/// Every time in `list --filter tracked --json` is RFC 3339, the per-recipient ones included.
#[test]
fn tracked_list_json_gives_every_time_as_rfc3339() {
    use tidings::store::{Store, TrackedMessageRecord, TrackedRecipient};
    use tidings::tracking::server::classify::{Classification, EventKind};
    use tidings::tracking::server::db::Event;
    let env = offline_env();
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
        .unwrap()
        .to_utc();
    let mut store = Store::open(&env.db_path()).unwrap();
    store
        .record_tracked_message(&TrackedMessageRecord {
            account: "work".into(),
            message_id: "<q3@example.test>".into(),
            subject: "Proposal".into(),
            sent_at: at.timestamp() - 3600,
            track_opens: true,
            track_links: false,
            recipients: vec![TrackedRecipient {
                address: "dana@acme.test".into(),
                name: "Dana".into(),
            }],
        })
        .unwrap();
    let open = Event {
        id: 1,
        kind: EventKind::Open,
        message_id: "<q3@example.test>".into(),
        recipient: "dana@acme.test".into(),
        url: None,
        at,
        user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
        ip: None,
        classification: Classification::Human,
        reason: String::new(),
        confidence: Default::default(),
        client: String::new(),
        reclassified: Vec::new(),
    };
    store.store_events_page("work", None, &[open], "1").unwrap();
    drop(store);
    let out = env.ok(&["list", "--filter", "tracked", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["last_open"], "2026-11-30T10:00:00+00:00");
    let dana = &list[0]["recipients"][0];
    assert_eq!(dana["address"], "dana@acme.test");
    assert_eq!(dana["first_open"], "2026-11-30T10:00:00+00:00", "{dana}");
    assert_eq!(dana["last_open"], "2026-11-30T10:00:00+00:00", "{dana}");
}

/// `tidings … | head` : a reader that stops early is not a failure — exit 0, nothing on stderr,
/// never a panic — for plain text and for JSON.
#[test]
fn a_closed_stdout_pipe_is_not_a_failure() {
    let env = offline_env();
    // More JSON than stdout's buffer, so the pipe breaks inside serde_json's writer.
    let store = tidings::store::Store::open(&env.db_path()).unwrap();
    let me = tidings::mail::compose::Sender {
        account: "work".into(),
        from: tidings::mail::compose::Mailbox::new(None, "me@example.test"),
        signature: None,
    };
    for i in 0..10 {
        let mut draft = tidings::mail::compose::Draft::new(&me);
        draft.to = vec![tidings::mail::compose::Mailbox::new(None, "dana@acme.test")];
        draft.subject = format!("{i} {}", "long subject ".repeat(20));
        tidings::mail::outbox::enqueue(&store, &draft, None, 100).unwrap();
    }
    drop(store);
    let args: [&[&str]; 4] = [
        &["forget", "nobody@example.test"],
        &["outbox", "--json", "--all"],
        &["contacts", "--json"],
        &["list", "--json"],
    ];
    for args in args {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env
            .command()
            .args(args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A mistyped `--config` path must not look like an empty config: the error names the file and
/// says it does not exist.
#[test]
fn a_missing_config_file_is_named_in_the_error() {
    let env = offline_env();
    let missing = env.path("conifg.toml");
    for args in [
        &[
            "send",
            "--to",
            "dana@acme.test",
            "--subject",
            "x",
            "--body-file",
            "/dev/null",
        ][..],
        &["watch", "--once"],
        &["sync"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
            .arg("--config")
            .arg(&missing)
            .arg("--data-dir")
            .arg(env.data_dir())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{} (no such file)", missing.display())),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn non_ascii_folders_are_listed_moved_to_and_archived_to_by_their_decoded_names() {
    let dc = Dovecot::start();
    dc.add_user("alice", "secret");
    let env = TidingsEnv::new(&format!(
        "{}[accounts.work.folders]\narchive = \"Архив\"\n",
        dc.config_toml("work", "alice", "secret")
    ));
    // Created as another client would: Dovecot names them in modified UTF-7 on the wire.
    dc.create_folder("alice", "&BBAEQARFBDgEMg-"); // Архив
    dc.create_folder("alice", "Entw&APw-rfe"); // Entwürfe
    dc.append("alice", "&BBAEQARFBDgEMg-", &message(1, "Old"));
    dc.append("alice", "INBOX", &message(2, "Move"));
    dc.append("alice", "INBOX", &message(3, "Archive"));
    let out = env.run(&["sync"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("work: Архив: 1/1"), "{stderr}");

    // --folder takes the decoded name and the wire name; JSON shows the decoded one.
    let by_name = env.list_json("Архив");
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0]["folder"], "Архив");
    assert_eq!(by_name[0]["subject"], "Old 1");
    assert_eq!(env.list_json("&BBAEQARFBDgEMg-"), by_name);

    let ids = ids_by_subject(&env, "INBOX");
    env.ok(&["move", &ids[1].0.to_string(), "Entwürfe"]);
    assert_eq!(
        dc.message_ids("alice", "Entw&APw-rfe"),
        vec!["<msg2.Move@acme.test>"]
    );
    // The configured archive = "Архив" beats Dovecot's SPECIAL-USE \Archive folder.
    env.ok(&["archive", &ids[0].0.to_string()]);
    assert_eq!(
        dc.message_ids("alice", "&BBAEQARFBDgEMg-"),
        vec!["<msg1.Old@acme.test>", "<msg3.Archive@acme.test>"]
    );
    assert!(dc.uids("alice", "Archive").is_empty());
    assert!(dc.uids("alice", "INBOX").is_empty());
    env.ok(&["sync"]);
    let moved = env.list_json("Entwürfe");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["folder"], "Entwürfe");
    assert_eq!(env.list_json("Архив").len(), 2);

    // An unknown name fails with the known folders as people read them.
    let out = env.run(&["move", &moved[0]["id"].to_string(), "Черновики"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Entwürfe") && err.contains("Архив"), "{err}");
    assert!(!err.contains("&BBAEQARFBDgEMg-"), "{err}");
}

#[test]
fn list_takes_inbox_in_any_case_and_refuses_a_folder_no_account_has() {
    let (dc, env) = setup();
    dc.append("alice", "INBOX", &message(1, "Any case"));
    assert!(env.run(&["sync"]).status.success());
    assert_eq!(env.list_json("inbox").len(), 1, "INBOX is case-insensitive");
    let out = env.run(&["list", "--folder", "Nope"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no folder \"Nope\"") && stderr.contains("INBOX"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_renamed_accounts_stale_cache_is_hidden_named_by_sync_and_forgotten_on_request() {
    let (dc, env) = setup();
    dc.append("alice", "INBOX", &message(1, "Once"));
    env.ok(&["sync"]);
    // `[accounts.work]` renamed to `[accounts.other]`: same server, new name.
    std::fs::write(
        env.config_path(),
        dc.config_toml("other", "alice", "secret"),
    )
    .unwrap();
    let out = env.run(&["sync"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let note: Vec<&str> = stderr.lines().filter(|l| l.contains("not in")).collect();
    assert_eq!(note.len(), 1, "{stderr}");
    assert!(
        note[0].contains(": work (") && note[0].contains("tidings forget-account"),
        "{stderr}"
    );
    let accounts = |env: &TidingsEnv| -> Vec<String> {
        env.list_json("INBOX")
            .iter()
            .map(|m| m["account"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(accounts(&env), vec!["other"], "shown once, not twice");
    // The contact is counted once: the same mail in both caches is one message.
    let contacts: serde_json::Value =
        serde_json::from_str(&env.ok(&["contacts", "--json"])).unwrap();
    let dana = contacts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["email"] == "dana@acme.test")
        .unwrap_or_else(|| panic!("{contacts}"));
    assert_eq!(dana["messages"], 1, "{dana}");
    // Still reachable by name while cached.
    let old = env.ok(&["list", "--account", "work", "--json"]);
    assert!(old.contains("Once 1"), "{old}");

    // A change queued for the old account's server blocks forgetting it without --force.
    let store = tidings::store::Store::open(&env.db_path()).unwrap();
    let work = store.account_id("work").unwrap();
    store
        .queue_op(&tidings::store::NewOp {
            account_id: work,
            folder: "INBOX",
            uid: 1,
            uidvalidity: 1,
            kind: "flag",
            arg: "+\\Seen",
            message_row: None,
            prev_value: None,
        })
        .unwrap();
    // The TUI's folder pane hides it too; with no account configured, nothing is hidden.
    let config = tidings::config::Config::load(&env.config_path()).unwrap();
    let pane = |config: &tidings::config::Config| -> HashSet<String> {
        tidings::app::runtime::load_configured_folders(&store, config)
            .unwrap()
            .into_iter()
            .map(|f| f.account)
            .collect()
    };
    assert_eq!(pane(&config), HashSet::from(["other".to_string()]));
    assert_eq!(
        pane(&tidings::config::Config::default()),
        HashSet::from(["other".to_string(), "work".to_string()])
    );
    let refused = env.run(&["forget-account", "work"]);
    assert_eq!(refused.status.code(), Some(1));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("1 changes queued") && why.contains("--force"),
        "{why}"
    );
    let configured = env.run(&["forget-account", "other"]);
    assert_eq!(
        configured.status.code(),
        Some(1),
        "a configured account is kept"
    );

    env.ok(&["forget-account", "work", "--force"]);
    assert_eq!(
        store.account_names().unwrap(),
        vec!["other"],
        "the old cache is gone"
    );
    let out = env.run(&["sync"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not in"));
    assert_eq!(accounts(&env), vec!["other"]);
    let missing = env.run(&["forget-account", "work"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn list_search_speaks_the_language_across_folders_and_names_each_folder() {
    let (dc, env) = setup();
    dc.append("alice", "INBOX", &message(1, "Quarterly plan"));
    let read = dc.append("alice", "INBOX", &message(2, "Lunch"));
    dc.set_flags("alice", "INBOX", read, "\\Seen", true);
    dc.append("alice", "Archive", &message(3, "Quarterly numbers"));
    let other = "From: Billing <billing@shop.test>\r\nTo: alice@example.test\r\n\
                 Subject: Quarterly invoice\r\nDate: Tue, 1 Sep 2026 11:00:00 +0000\r\n\
                 Message-ID: <bill@shop.test>\r\n\r\nPay \"within 30\" days.\r\n";
    dc.append("alice", "INBOX", other.as_bytes());
    assert!(env.run(&["sync"]).status.success());
    let subjects = |search: &str| -> Vec<String> {
        let out = env.ok(&["list", "--json", "--search", search]);
        let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        let mut s: Vec<String> = v
            .iter()
            .map(|m| {
                format!(
                    "{} in {}",
                    m["subject"].as_str().unwrap(),
                    m["folder"].as_str().unwrap()
                )
            })
            .collect();
        s.sort();
        s
    };
    assert_eq!(
        subjects("quarterly from:dana"),
        [
            "Quarterly numbers 3 in Archive",
            "Quarterly plan 1 in INBOX"
        ]
    );
    assert_eq!(
        subjects("quarterly -from:dana"),
        ["Quarterly invoice in INBOX"]
    );
    assert_eq!(subjects("is:read"), ["Lunch 2 in INBOX"]);
    assert_eq!(
        subjects("quarterly folder:archive"),
        ["Quarterly numbers 3 in Archive"]
    );
    assert_eq!(
        subjects("\"within 30\" on:2026-09-01"),
        ["Quarterly invoice in INBOX"]
    );
    assert!(subjects("before:2026-09-01").is_empty());
    // --folder still narrows a search to one folder.
    let out = env.ok(&["list", "--folder", "Archive", "--search", "quarterly"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    // Text output names each result's folder; a bad term is a note, not a failure.
    let out = env.run(&["list", "--search", "quarterly is:purple \"unbalanced"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is:purple"), "{stderr}");
    let out = env.ok(&["list", "--search", "quarterly"]);
    assert!(out.contains("[Archive] Quarterly numbers 3"), "{out}");
    assert!(out.contains("[INBOX] Quarterly plan 1"), "{out}");
}
