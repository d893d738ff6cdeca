//! The composer pane: TestBackend snapshots driven by keys through the real keymap (new mail,
//! reply with quote and References, forward with attachments, the ask-on-leave dialog), autosave
//! reaching the store, and the real binary in tmux writing and sending a mail to a real SMTP
//! server.

use crate::support::mailbox::{seed, NOW};
use crate::support::smtp::{free_port, SmtpServer};
use crate::support::tmux::Tmux;
use crossterm::event::KeyEvent;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::{HashMap, VecDeque};
use tidings::app::compose::ComposeEffect;
use tidings::app::outbox_view::OutboxEffect;
use tidings::app::runtime::{perform_with, OpsBackend};
use tidings::app::{App, Effect, Msg};
use tidings::config::Config;
use tidings::mail::drafts::{self, Autosaver};
use tidings::store::Store;
use tidings::ui::{keymap::parse_key, keymap::Keymap, theme::Theme, Ui};

struct Harness {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    store: Store,
    app: App,
    config: Config,
    savers: HashMap<String, Autosaver>,
    ui: Ui,
    term: Terminal<TestBackend>,
    /// Effects the harness does not run (the event loop's `$EDITOR` hook).
    held: Vec<Effect>,
}

fn config() -> Config {
    toml::from_str(
        "[accounts.work]\nemail = \"me@example.com\"\ndisplay_name = \"Me\"\n\
         signature = \"Me\\nExample Corp\"\n\
         [accounts.work.imap]\nhost = \"127.0.0.1\"\nport = 9\nsecurity = \"none\"\n\
         user = \"me\"\npassword = \"x\"\n",
    )
    .unwrap()
}

impl Harness {
    fn new() -> Harness {
        Harness::with_config(config())
    }

    fn with_config(config: Config) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cache.sqlite3");
        let store = seed(&db, "work");
        let mut app = App::new(false);
        app.now = NOW;
        let mut h = Harness {
            _dir: dir,
            db,
            store,
            app,
            config,
            savers: HashMap::new(),
            ui: Ui::new(Theme::default(), Keymap::default(), true),
            term: Terminal::new(TestBackend::new(100, 30)).unwrap(),
            held: Vec::new(),
        };
        let start = h.app.start();
        h.run(start);
        h
    }

    fn run(&mut self, effects: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            if matches!(e, Effect::Compose(ComposeEffect::ExternalEditor { .. })) {
                self.held.push(e);
                continue;
            }
            let msgs = perform_with(
                &self.store,
                &OpsBackend::local_only(),
                &self.config,
                &mut self.savers,
                e,
            );
            for m in msgs {
                queue.extend(self.app.update(m));
            }
        }
    }

    fn send(&mut self, msg: Msg) {
        let fx = self.app.update(msg);
        self.run(fx);
    }

    fn press(&mut self, keys: &[&str]) {
        for k in keys {
            let key = parse_key(k).unwrap();
            let ev = KeyEvent::new(key.code, key.mods);
            self.screen();
            if let Some(m) = self.ui.key(&self.app, &ev) {
                self.send(m);
            }
        }
    }

    fn type_text(&mut self, text: &str) {
        for k in crate::tui_snapshots::typed_keys(text) {
            self.press(&[&k]);
        }
    }

    fn screen(&mut self) -> String {
        self.term.draw(|f| self.ui.draw(f, &mut self.app)).unwrap();
        crate::tui_snapshots::buffer_text(self.term.backend().buffer())
    }

    fn draft(&self) -> tidings::mail::compose::Draft {
        self.app.compose.as_ref().expect("composer open").current()
    }
}

#[test]
fn composer_new_mail_takes_fields_and_body_and_signs_it() {
    let mut h = Harness::new();
    h.press(&["c"]);
    h.type_text("dana@acme.test");
    h.press(&["Tab", "Tab", "Tab"]);
    h.type_text("Lunch");
    // Subject → Body: no stop in between that would swallow the text (issue 14).
    h.press(&["Tab"]);
    h.type_text("Thursday works.");
    let d = h.draft();
    assert_eq!(d.to[0].email, "dana@acme.test");
    assert_eq!(d.subject, "Lunch");
    assert!(d.body.starts_with("Thursday works."), "{:?}", d.body);
    assert!(d.body.contains("-- \nMe\nExample Corp"), "{:?}", d.body);
    crate::tui_snapshots::snap!("composer_new_mail", h.screen());
}

#[test]
fn composer_reply_prefills_quote_recipients_and_references() {
    let mut h = Harness::new();
    // The newest message is Dana's "Re: Proposal for Q3", itself a reply to p1.
    h.press(&["r"]);
    let d = h.draft();
    assert_eq!(d.to[0].email, "dana@acme.test");
    assert_eq!(d.subject, "Re: Proposal for Q3");
    assert_eq!(d.in_reply_to.as_deref(), Some("<p3@acme.test>"));
    assert_eq!(d.references, vec!["<p1@acme.test>", "<p3@acme.test>"]);
    assert!(d.body.contains("> A week is fine."), "{:?}", d.body);
    // The signature sits above the quote in a reply.
    let sig = d.body.find("Example Corp").unwrap();
    assert!(sig < d.body.find("> A week").unwrap(), "{:?}", d.body);
    crate::tui_snapshots::snap!("composer_reply", h.screen());
}

#[test]
fn composer_forward_keeps_attachments_and_can_remove_one() {
    let mut h = Harness::new();
    h.press(&["j", "j", "f"]);
    let d = h.draft();
    assert_eq!(d.subject, "Fwd: Proposal for Q3");
    assert_eq!(d.attachments.len(), 1);
    assert_eq!(d.attachments[0].filename, "proposal.txt");
    crate::tui_snapshots::snap!("composer_forward", h.screen());
    h.press(&["C-x"]);
    assert!(h.draft().attachments.is_empty());
}

#[test]
fn composer_paste_lands_whole_as_one_undo_step() {
    let mut h = Harness::new();
    h.press(&["r"]);
    let before = h.draft().body;
    let page: String = (1..=150)
        .map(|i| format!("line {i}: {}\r\n", "x".repeat(110)))
        .collect();
    for m in h.ui.paste(&h.app, &page) {
        h.send(m);
    }
    let body = h.draft().body;
    assert!(body.contains("line 1: ") && body.contains("line 150: "));
    assert!(!body.contains('\r'));
    // One undo takes the whole paste back.
    h.press(&["C-u"]);
    assert_eq!(h.draft().body, before);
}

#[test]
fn composer_attaches_a_file_by_path_with_completion() {
    let mut h = Harness::new();
    let file = h._dir.path().join("report-2026.txt");
    std::fs::write(&file, b"numbers").unwrap();
    h.press(&["c", "C-t"]);
    let dir = h._dir.path().display().to_string();
    h.type_text(&format!("{dir}/rep"));
    h.press(&["Tab"]);
    assert!(h.screen().contains("report-2026.txt"));
    h.press(&["Enter"]);
    let d = h.draft();
    assert_eq!(d.attachments.len(), 1);
    assert_eq!(d.attachments[0].data, b"numbers");
}

#[test]
fn composer_leaving_a_changed_draft_asks_and_saves_on_request() {
    let mut h = Harness::new();
    h.press(&["c"]);
    h.type_text("sam@globex.test");
    assert!(!h.app.compose.as_ref().unwrap().suggestions.is_empty());
    h.press(&["Esc"]);
    assert!(
        h.app.compose.as_ref().unwrap().prompt.is_none(),
        "the first Esc only closes the suggestions"
    );
    assert!(h.app.compose.as_ref().unwrap().suggestions.is_empty());
    h.press(&["Esc"]);
    crate::tui_snapshots::snap!("composer_ask_on_leave", h.screen());
    h.press(&["c"]);
    assert!(h.app.compose.is_some(), "c cancels the question");
    h.press(&["Tab", "Tab", "Tab"]);
    h.type_text("Plan");
    h.press(&["Esc", "s"]);
    assert!(h.app.compose.is_none());
    let saved = drafts::list(&h.store, None).unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].draft.subject, "Plan");
    // Leaving an untouched composer asks nothing.
    h.press(&["c", "Esc"]);
    assert!(h.app.compose.is_none());
    // And `D` brings the saved draft back.
    h.press(&["E"]);
    assert_eq!(h.draft().subject, "Plan");
}

#[test]
fn composer_autosave_reaches_the_store_and_is_offered_after_a_restart() {
    let mut h = Harness::new();
    h.press(&["c"]);
    h.type_text("priya@acme.test");
    h.press(&["Tab", "Tab", "Tab"]);
    h.type_text("Ramen");
    // No key for a while: the UI tick autosaves.
    h.send(Msg::Tick(NOW + 10));
    let reopened = Store::open(&h.db).unwrap();
    let saved = drafts::list(&reopened, None).unwrap();
    assert_eq!(saved.len(), 1, "the tick saved the draft");
    assert_eq!(saved[0].draft.subject, "Ramen");
    assert_eq!(saved[0].draft.to[0].email, "priya@acme.test");
    // A fresh app (as after a crash) offers it, and E resumes it.
    let mut app = App::new(false);
    for e in app.start() {
        for m in perform_with(
            &reopened,
            &OpsBackend::local_only(),
            &h.config,
            &mut HashMap::new(),
            e,
        ) {
            app.update(m);
        }
    }
    assert!(
        app.status.as_deref().unwrap_or("").contains("E to resume"),
        "{:?}",
        app.status
    );
}

#[test]
fn composer_send_commits_to_the_outbox_and_invalid_recipients_stay_in_the_composer() {
    let mut h = Harness::new();
    h.press(&["c"]);
    h.type_text("not an address");
    h.press(&["C-s"]);
    assert!(h.app.compose.is_some());
    assert!(h.app.status.as_deref().unwrap().contains("cannot send"));
    h.press(&["C-u"]);
    h.type_text("sam@globex.test");
    h.press(&["Tab", "Tab", "Tab"]);
    h.type_text("Numbers");
    // No text and no attachment: it asks, and the answer key goes nowhere else.
    h.press(&["C-s"]);
    assert!(h.screen().contains("Send with no text"), "{}", h.screen());
    h.press(&["y"]);
    assert!(h.app.compose.is_none());
    let n: i64 = h
        .store
        .conn
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    assert!(h.held.is_empty());
}

/// The real binary in tmux on the seeded mailbox, sending through `smtp`.
fn tmux_app(name: &str, smtp: &SmtpServer) -> Tmux {
    // IMAP on a closed port: the server files Sent itself, so sending never needs IMAP.
    let config = format!(
        "[accounts.work]\nemail = \"me@example.com\"\ndisplay_name = \"Me Sender\"\n\
         server_saves_sent = true\n\
         [accounts.work.imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
         user = \"me\"\npassword = \"x\"\n[accounts.work.smtp]\n{}",
        free_port(),
        smtp.config_section()
    );
    Tmux::app(name, &config, Some("work"))
}

#[test]
fn tmux_composer_writes_and_sends_one_mail_over_smtp() {
    let smtp = SmtpServer::start();
    let t = tmux_app("compose", &smtp);
    t.wait_for("INBOX");
    t.compose("dana@acme.test", "Tmux hello", "Written in tmux.");
    t.keys(&["C-s"]);
    t.wait_for("sent \"");
    let log = smtp.deliveries();
    assert_eq!(log.len(), 1, "exactly one mail: {log:?}");
    assert_eq!(log[0]["rcpt_tos"], serde_json::json!(["dana@acme.test"]));
    let raw = SmtpServer::maildir_messages(&smtp.maildir).remove(0);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Subject: Tmux hello"), "{text}");
    assert!(text.contains("Me Sender"), "{text}");
    assert!(text.contains("Written in tmux."), "{text}");
}

#[test]
fn tmux_a_pasted_page_lands_at_once_and_c_s_right_after_sends_it_whole() {
    let smtp = SmtpServer::start();
    let t = tmux_app("paste", &smtp);
    t.wait_for("INBOX");
    t.compose("dana@acme.test", "Pasted", "Hello Dana,");
    t.keys(&["Enter"]);
    // 150 lines, 18 KB: typed key by key this took over half a minute to land.
    let page: String = (1..=150)
        .map(|i| format!("pasted line {i:03} {}\n", "lorem ipsum ".repeat(9)))
        .collect();
    t.paste(&page);
    t.keys(&["C-s"]);
    t.wait_for("sent \"");
    let raw = SmtpServer::maildir_messages(&smtp.maildir).remove(0);
    let text = String::from_utf8_lossy(&raw);
    for line in ["Hello Dana,", "pasted line 001 ", "pasted line 150 "] {
        assert!(text.contains(line), "{line:?} missing:\n{text}");
    }
}

#[test]
fn outbox_view_lists_waiting_mail_with_attempts() {
    let mut h = Harness::new();
    h.press(&["c"]);
    h.type_text("sam@globex.test");
    h.press(&["Tab", "Tab", "Tab"]);
    h.type_text("Waiting mail");
    h.press(&["C-s", "y"]);
    h.press(&["w"]);
    let v = h.app.outbox.as_ref().expect("outbox view open");
    assert_eq!(v.lines.len(), 1);
    assert_eq!(v.lines[0].state, "queued");
    assert_eq!(v.lines[0].to, "sam@globex.test");
    let screen = h.screen();
    assert!(
        screen.contains("Outbox") && screen.contains("Waiting mail"),
        "{screen}"
    );
    // On a queued mail the retry key wakes the worker at once.
    let fx = h.app.update(Msg::Action(tidings::app::Action::RetrySend));
    assert!(
        matches!(fx.as_slice(), [Effect::Outbox(OutboxEffect::Flush { account })] if account == "work"),
        "{fx:?}"
    );
    h.press(&["q"]);
    assert!(h.app.outbox.is_none());
}

#[test]
fn composer_tracking_toggles_reach_the_outbox_and_become_the_next_default() {
    let mut h = Harness::new();
    h.press(&["c"]);
    assert!(h.screen().contains("opens off"), "{}", h.screen());
    h.type_text("sam@globex.test");
    h.press(&["Tab", "Tab", "Tab"]);
    h.type_text("Proposal");
    // Track opens on, links stay off: the header shows it before sending.
    h.press(&["C-o"]);
    let screen = h.screen();
    assert!(
        screen.contains("opens on") && screen.contains("links off"),
        "{screen}"
    );
    h.press(&["C-s", "y"]);
    assert!(h.app.compose.is_none());
    let tracking: Option<String> = h
        .store
        .conn
        .query_row("SELECT tracking FROM outbox", [], |r| r.get(0))
        .unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&tracking.expect("a tracking record")).unwrap();
    assert_eq!(record["opens"], true, "{record}");
    assert_eq!(record["links"], false, "{record}");
    // The next mail starts with the choice just used.
    h.press(&["c"]);
    let screen = h.screen();
    assert!(
        screen.contains("opens on") && screen.contains("links off"),
        "{screen}"
    );
}

// ---- The Outbox view: edit, cancel, confirm, untrack ----

use tidings::app::outbox_view::Question;
use tidings::mail::compose::{Attachment, Draft, Mailbox, Sender};
use tidings::mail::outbox;

/// A mail put into the outbox as the outbox itself would leave it: `state`, with one delivery in
/// `delivery` (if any) and `error` as the last error. Tracked (opens) when `tracked`.
fn put_in_outbox(
    h: &mut Harness,
    subject: &str,
    state: &str,
    delivery: Option<&str>,
    error: Option<&str>,
    tracked: bool,
) -> i64 {
    let sender = Sender {
        account: "work".into(),
        from: Mailbox::new(Some("Me"), "me@example.com"),
        signature: None,
    };
    let mut d = Draft::new(&sender);
    d.to = Mailbox::parse_list("Sam <sam@globex.test>").unwrap();
    d.cc = Mailbox::parse_list("dana@acme.test").unwrap();
    d.bcc = Mailbox::parse_list("boss@example.com").unwrap();
    d.subject = subject.into();
    d.body = format!("Body of {subject}.\n");
    d.attachments.push(Attachment {
        filename: "plan.txt".into(),
        content_type: "text/plain".into(),
        data: b"the plan".to_vec(),
    });
    let tracking = tracked.then(|| {
        serde_json::json!({"opens": true, "links": false, "opt_out_link": false}).to_string()
    });
    let id = outbox::enqueue(&h.store, &d, tracking.as_deref(), NOW).unwrap();
    if let Some(ds) = delivery {
        h.store
            .outbox_add_deliveries(id, &[(d.recipients(), None)], NOW)
            .unwrap();
        let did = h.store.outbox_deliveries(id).unwrap()[0].id;
        h.store.outbox_set_delivery(did, ds, error, NOW).unwrap();
    }
    if state != outbox::state::QUEUED || error.is_some() {
        h.store.outbox_begin_attempt(id, NOW).unwrap();
        h.store
            .outbox_finish_attempt(id, state, error, NOW + 90, None)
            .unwrap();
    }
    id
}

fn outbox_state(h: &Harness, id: i64) -> Option<String> {
    h.store.outbox_entry(id).unwrap().map(|e| e.state)
}

#[test]
fn outbox_view_shows_every_state_with_its_keys_and_the_arrived_question() {
    let mut h = Harness::new();
    put_in_outbox(
        &mut h,
        "Tracked, tracker down",
        "queued",
        None,
        Some("tracking: the tracker is unreachable"),
        true,
    );
    put_in_outbox(
        &mut h,
        "On its way",
        "sending",
        Some("pending"),
        None,
        false,
    );
    put_in_outbox(
        &mut h,
        "Refused",
        "failed",
        Some("failed"),
        Some("550 5.1.1 no such user"),
        false,
    );
    put_in_outbox(
        &mut h,
        "Maybe arrived",
        "unconfirmed",
        Some("unconfirmed"),
        Some("the connection broke after DATA"),
        false,
    );
    h.press(&["w"]);
    assert_eq!(h.app.outbox.as_ref().unwrap().lines.len(), 4);
    crate::tui_snapshots::snap!("outbox_states", h.screen());
    h.press(&["G", "y"]);
    let asking = h
        .app
        .outbox
        .as_ref()
        .unwrap()
        .asking
        .clone()
        .expect("retry asks first");
    assert_eq!(asking.question, Question::Arrived);
    crate::tui_snapshots::snap!("outbox_arrived_question", h.screen());
    // A key that is not an answer changes nothing; Esc leaves it for later.
    h.press(&["x"]);
    assert!(h.app.outbox.as_ref().unwrap().asking.is_some());
    h.press(&["Esc"]);
    assert!(h.app.outbox.as_ref().unwrap().asking.is_none());
    assert_eq!(h.app.outbox.as_ref().unwrap().lines[3].state, "unconfirmed");
}

#[test]
fn outbox_edit_reopens_a_refused_mail_with_everything_and_sending_replaces_it() {
    let mut h = Harness::new();
    let id = put_in_outbox(
        &mut h,
        "Refused",
        "failed",
        Some("failed"),
        Some("550 no such user"),
        true,
    );
    let message_id = h.store.outbox_entry(id).unwrap().unwrap().message_id;
    h.press(&["w", "e"]);
    let d = h.draft();
    assert_eq!(Mailbox::format_list(&d.to), "Sam <sam@globex.test>");
    assert_eq!(d.cc[0].email, "dana@acme.test");
    assert_eq!(d.bcc[0].email, "boss@example.com");
    assert_eq!(d.subject, "Refused");
    assert_eq!(d.body, "Body of Refused.\n");
    assert_eq!(d.attachments.len(), 1);
    assert_eq!(d.attachments[0].data, b"the plan");
    assert_eq!(
        d.message_id, message_id,
        "the same mail: it was never delivered"
    );
    let c = h.app.compose.as_ref().unwrap();
    assert!(c.tracking.opens && !c.tracking.links, "{:?}", c.tracking);
    assert!(h.screen().contains("opens on"));
    // While it is being edited it is a draft, not in the outbox: nothing can send it.
    assert_eq!(outbox_state(&h, id), None);
    assert_eq!(drafts::list(&h.store, None).unwrap().len(), 1);
    // Fix the address and send: one outbox entry, the same Message-ID, queued again.
    // Round the fields (To, Cc, Bcc, Subject, Body) back to To.
    h.press(&["Tab", "Tab", "Tab", "Tab", "Tab"]);
    h.press(&["C-u"]);
    h.type_text("sam@globex.example");
    h.press(&["C-s"]);
    assert!(h.app.compose.is_none(), "{:?}", h.app.status);
    let all = h.store.outbox_entries(&[]).unwrap();
    assert_eq!(all.len(), 1, "the edit replaced the entry");
    assert_eq!(all[0].message_id, message_id);
    assert_eq!(all[0].state, "queued");
    assert!(all[0].draft_json.contains("sam@globex.example"));
    assert!(all[0].tracking.is_some(), "tracking kept");
    assert!(drafts::list(&h.store, None).unwrap().is_empty());
    // The view is back, showing the queued mail.
    assert_eq!(h.app.outbox.as_ref().unwrap().lines[0].state, "queued");
}

#[test]
fn outbox_mail_that_may_have_been_delivered_cannot_be_edited_or_cancelled() {
    let mut h = Harness::new();
    let sending = put_in_outbox(&mut h, "On its way", "sending", Some("data"), None, false);
    let unconfirmed = put_in_outbox(
        &mut h,
        "Maybe",
        "unconfirmed",
        Some("unconfirmed"),
        Some("cut"),
        false,
    );
    h.press(&["w", "e"]);
    assert!(h.app.compose.is_none());
    assert!(
        h.app.status.as_deref().unwrap().contains("being sent"),
        "{:?}",
        h.app.status
    );
    h.press(&["d"]);
    assert!(h.app.outbox.as_ref().unwrap().asking.is_none());
    h.press(&["j", "e", "d", "U"]);
    assert!(h.app.compose.is_none());
    assert!(h.app.outbox.as_ref().unwrap().asking.is_none());
    // Even if the view were stale, the library refuses: the entry stays.
    h.send(Msg::Action(tidings::app::Action::Back));
    let fx = vec![Effect::Outbox(OutboxEffect::Change {
        id: sending,
        account: "work".into(),
        change: tidings::app::outbox_view::OutboxChange::Edit,
    })];
    h.run(fx);
    assert!(h.app.compose.is_none());
    assert!(
        h.app.status.as_deref().unwrap().contains("outbox:"),
        "{:?}",
        h.app.status
    );
    assert_eq!(outbox_state(&h, sending).as_deref(), Some("sending"));
    assert_eq!(
        outbox_state(&h, unconfirmed).as_deref(),
        Some("unconfirmed")
    );
    assert!(drafts::list(&h.store, None).unwrap().is_empty());
}

#[test]
fn outbox_confirm_asks_then_counts_an_unconfirmed_mail_as_sent_or_sends_it_again() {
    let mut h = Harness::new();
    let a = put_in_outbox(
        &mut h,
        "Arrived",
        "unconfirmed",
        Some("unconfirmed"),
        Some("cut"),
        false,
    );
    let b = put_in_outbox(
        &mut h,
        "Lost",
        "unconfirmed",
        Some("unconfirmed"),
        Some("cut"),
        false,
    );
    h.press(&["w", "M"]);
    assert_eq!(
        outbox_state(&h, a).as_deref(),
        Some("unconfirmed"),
        "only asked"
    );
    h.press(&["y"]);
    assert_eq!(outbox_state(&h, a).as_deref(), Some("sent"));
    assert!(h.app.status.as_deref().unwrap().contains("counted as sent"));
    // The sent one leaves the view; the cursor is on the other.
    let v = h.app.outbox.as_ref().unwrap();
    assert_eq!(v.lines.len(), 1);
    h.press(&["M", "n"]);
    assert_eq!(outbox_state(&h, b).as_deref(), Some("queued"), "sent again");
    let d = h.store.outbox_deliveries(b).unwrap();
    assert_eq!(d[0].state, "pending");
}

#[test]
fn outbox_cancel_asks_and_puts_the_mail_back_in_the_drafts() {
    let mut h = Harness::new();
    let id = put_in_outbox(&mut h, "Second thoughts", "queued", None, None, false);
    h.press(&["w", "d"]);
    crate::tui_snapshots::snap!("outbox_cancel_question", h.screen());
    h.press(&["n"]);
    assert_eq!(outbox_state(&h, id).as_deref(), Some("queued"));
    h.press(&["d", "y"]);
    assert_eq!(outbox_state(&h, id), None);
    let saved = drafts::list(&h.store, None).unwrap();
    assert_eq!(saved.len(), 1, "never lost: a draft again");
    assert_eq!(saved[0].draft.subject, "Second thoughts");
    assert_eq!(saved[0].draft.attachments.len(), 1);
    assert!(h.app.outbox.as_ref().unwrap().lines.is_empty());
    h.press(&["q", "E"]);
    assert_eq!(h.draft().subject, "Second thoughts");
}

#[test]
fn outbox_untrack_asks_warns_and_lets_the_mail_go_without_tracking() {
    let mut h = Harness::new();
    let plain = put_in_outbox(&mut h, "Plain", "queued", None, None, false);
    let id = put_in_outbox(
        &mut h,
        "Tracked",
        "queued",
        None,
        Some("tracking: unreachable"),
        true,
    );
    h.press(&["w", "U"]);
    assert!(
        h.app.outbox.as_ref().unwrap().asking.is_none(),
        "not tracked: nothing to ask"
    );
    assert_eq!(h.store.outbox_entry(plain).unwrap().unwrap().tracking, None);
    h.press(&["j", "U"]);
    let screen = h.screen();
    assert!(screen.contains("WITHOUT tracking"), "{screen}");
    let fx = h.app.update(Msg::Input(tidings::app::InputKey::Char('y')));
    assert!(
        matches!(fx.as_slice(), [Effect::Outbox(OutboxEffect::Change { .. })]),
        "{fx:?}"
    );
    h.run(fx);
    let status = h.app.status.clone().unwrap();
    assert!(
        status.contains("NOT TRACKED") && status.contains("Tracked"),
        "{status}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&h.store.outbox_entry(id).unwrap().unwrap().tracking.unwrap())
            .unwrap();
    assert!(record["sent_untracked"].is_string(), "{record}");
    let line = &h.app.outbox.as_ref().unwrap().lines[1];
    assert!(!line.tracked && !line.untrackable);
}

#[test]
fn composer_save_draft_key_keeps_the_draft_and_reports_a_server_failure() {
    let mut h = Harness::new();
    h.press(&["c"]);
    h.type_text("sam@globex.test");
    h.press(&["Tab", "Tab", "Tab"]);
    h.type_text("Kept");
    // IMAP points at a closed port: the server copy fails, the local one is there.
    h.press(&["M-s"]);
    assert!(h.app.compose.is_some(), "saving keeps writing");
    let status = h.app.status.clone().unwrap();
    assert!(status.contains("not in the server's Drafts"), "{status}");
    let saved = drafts::list(&h.store, None).unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].draft.subject, "Kept");
    assert!(!saved[0].on_server);
    // Leaving with "save" does the same.
    h.type_text(" too");
    h.press(&["Esc", "s"]);
    assert!(h.app.compose.is_none());
    assert!(h
        .app
        .status
        .as_deref()
        .unwrap()
        .contains("not in the server's Drafts"));
    assert_eq!(
        drafts::list(&h.store, None).unwrap()[0].draft.subject,
        "Kept too"
    );
}

#[test]
fn composer_reply_all_from_the_reader_prefills_everyone_but_me() {
    let mut h = Harness::new();
    h.press(&["Enter"]);
    assert!(h.app.reader.is_some());
    h.press(&["R"]);
    let d = h.draft();
    assert_eq!(d.subject, "Re: Proposal for Q3");
    assert_eq!(d.in_reply_to.as_deref(), Some("<p3@acme.test>"));
    let everyone: Vec<String> = d.to.iter().chain(&d.cc).map(|m| m.email.clone()).collect();
    assert!(
        everyone.contains(&"dana@acme.test".to_string()),
        "{everyone:?}"
    );
    assert!(
        !everyone.contains(&"me@example.com".to_string()),
        "{everyone:?}"
    );
    assert!(d.body.contains("> A week is fine."), "{:?}", d.body);
}

#[test]
fn tmux_a_refused_mail_is_edited_in_the_outbox_and_delivered_exactly_once() {
    let smtp = SmtpServer::start();
    smtp.set_mode("5xx");
    let t = tmux_app("outbox-edit", &smtp);
    t.wait_for("INBOX");
    t.compose("dana@acme.test", "Budget", "The numbers.");
    t.keys(&["C-s"]);
    t.wait_for("refused \"Budget\"");
    assert!(smtp.deliveries().is_empty());
    t.keys(&["w"]);
    t.wait_for("no such user");
    // The server takes mail again; the user fixes the subject and sends the same mail.
    smtp.set_mode("ok");
    t.keys(&["e"]);
    t.wait_for("New message");
    t.keys(&["Tab", "Tab", "Tab"]);
    t.type_text(" (final)");
    t.wait_for("Budget (final)");
    t.keys(&["C-s"]);
    t.wait_for("sent \"");
    // Back in the Outbox view, which follows the worker: nothing waits.
    t.wait_for("nothing waiting");
    let log = smtp.deliveries();
    assert_eq!(log.len(), 1, "exactly one mail: {log:?}");
    let raw = SmtpServer::maildir_messages(&smtp.maildir).remove(0);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Subject: Budget (final)"), "{text}");
    assert!(text.contains("The numbers."), "{text}");
    let store = t.store();
    let all = store.outbox_entries(&[]).unwrap();
    assert_eq!(all.len(), 1, "the edit replaced the entry: {all:?}");
    assert_eq!(all[0].state, "sent");
    assert_eq!(log[0]["message_id"], serde_json::json!(all[0].message_id));
    assert!(drafts::list(&store, None).unwrap().is_empty());
    // Nothing more goes out later.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(smtp.deliveries().len(), 1);
}

/// A Dovecot with a Drafts folder, and the composer open on a new mail to sam, at its subject.
fn with_a_drafts_folder() -> (crate::support::dovecot::Dovecot, Harness) {
    let dc = crate::support::dovecot::Dovecot::start();
    dc.add_user("alice", "secret");
    dc.create_folder("alice", "Drafts");
    let h =
        Harness::with_config(toml::from_str(&dc.config_toml("work", "alice", "secret")).unwrap());
    (dc, h)
}

fn composing_with_a_drafts_folder() -> (crate::support::dovecot::Dovecot, Harness) {
    let (dc, mut h) = with_a_drafts_folder();
    h.press(&["c"]);
    h.type_text("sam@globex.test");
    h.press(&["Tab", "Tab", "Tab"]);
    (dc, h)
}

#[test]
fn composer_save_draft_key_files_the_draft_in_the_servers_drafts_once() {
    let (dc, mut h) = composing_with_a_drafts_folder();
    h.type_text("On the server");
    h.press(&["M-s"]);
    let status = h.app.status.clone().unwrap();
    assert!(status.contains("in \"Drafts\" on the server"), "{status}");
    let id = h.draft().message_id;
    assert_eq!(dc.message_ids("alice", "Drafts"), vec![id.clone()]);
    // A later version replaces the server copy; leaving with "save" files it too.
    h.type_text(" v2");
    h.press(&["Esc", "s"]);
    assert!(h.app.status.as_deref().unwrap().contains("on the server"));
    assert_eq!(dc.message_ids("alice", "Drafts"), vec![id]);
    let saved = drafts::list(&h.store, None).unwrap();
    assert_eq!(saved[0].draft.subject, "On the server v2");
    assert!(saved[0].on_server);
    // Discarding it takes the server copy too, not only the local one. (From the body: in a
    // header field M-d is the line editor's delete-word.)
    h.press(&["E", "Up", "M-d", "d"]);
    let status = h.app.status.clone().unwrap();
    assert!(status.contains("in the server's Drafts"), "{status}");
    assert!(dc.message_ids("alice", "Drafts").is_empty());
    assert!(drafts::list(&h.store, None).unwrap().is_empty());
}

#[test]
fn composer_draft_keeps_recipients_as_typed_here_and_on_the_server_and_esc_after_saving_asks_nothing(
) {
    use tidings::mail::compose::{AddressField, Draft, Mailbox, Sender};
    let typed_to = "Dana Lee <dana.lee@acme.test>, one@x.test two@y.test";
    let (dc, mut h) = with_a_drafts_folder();
    h.press(&["c"]);
    h.type_text(typed_to);
    h.press(&["Tab", "Tab", "Tab"]);
    h.type_text("T2");
    h.press(&["M-s"]);
    let status = h.app.status.clone().unwrap();
    assert!(status.contains("on the server"), "{status}");
    // Just saved: Esc leaves without the save/discard question.
    h.press(&["Esc"]);
    assert!(h.app.compose.is_none(), "{}", h.screen());
    let saved = drafts::list(&h.store, None).unwrap();
    assert_eq!(saved.len(), 1, "kept, not discarded");
    assert_eq!(saved[0].draft.address_text(AddressField::To), typed_to);
    // The server's copy brings the typed text back too, as another machine would recall it.
    let filed = dc.messages("alice", "Drafts");
    assert_eq!(filed.len(), 1);
    let me = Sender {
        account: "work".into(),
        from: Mailbox::new(None, "alice@example.com"),
        signature: None,
    };
    let recalled = Draft::recall(&me, &filed[0].raw).unwrap();
    assert_eq!(recalled.address_text(AddressField::To), typed_to);
    // E resumes it as typed; an edit to it is what the next save keeps, not the older text.
    h.press(&["E"]);
    assert!(
        h.screen().contains("one@x.test two@y.test"),
        "{}",
        h.screen()
    );
    h.press(&["C-e"]);
    h.type_text("dE");
    h.press(&["Esc", "s"]);
    let saved = drafts::list(&h.store, None).unwrap();
    assert_eq!(
        saved[0].draft.address_text(AddressField::To),
        format!("{typed_to}dE")
    );
}

#[test]
fn composer_discard_keeps_the_draft_when_its_server_copy_cannot_be_removed() {
    let (dc, mut h) = composing_with_a_drafts_folder();
    h.type_text("Kept");
    h.press(&["Esc", "s"]);
    assert!(drafts::list(&h.store, None).unwrap()[0].on_server);
    drop(dc);
    h.press(&["E", "Up", "M-d", "d"]);
    let status = h.app.status.clone().unwrap();
    assert!(status.contains("the draft is kept"), "{status}");
    let saved = drafts::list(&h.store, None).unwrap();
    assert_eq!(saved.len(), 1, "never lost while the server still has it");
    assert_eq!(saved[0].draft.subject, "Kept");
}

#[test]
fn composer_reply_and_forward_go_out_with_threading_headers_and_attachments() {
    let mut h = Harness::new();
    h.press(&["r"]);
    h.type_text("Sounds good.");
    h.press(&["C-s"]);
    h.press(&["j", "j", "f"]);
    h.type_text("sam@globex.test");
    h.press(&["C-s"]);
    assert!(h.app.compose.is_none(), "{:?}", h.app.status);
    let entries = h.store.outbox_entries(&[]).unwrap();
    assert_eq!(entries.len(), 2);
    let raw = |id| {
        let (raw, _) = h.store.outbox_bytes(id).unwrap().unwrap();
        String::from_utf8_lossy(&raw).into_owned()
    };
    let reply = raw(entries[0].id);
    assert!(reply.contains("In-Reply-To: <p3@acme.test>"), "{reply}");
    assert!(
        reply.contains("References: <p1@acme.test> <p3@acme.test>"),
        "{reply}"
    );
    assert!(reply.contains("Subject: Re: Proposal for Q3"), "{reply}");
    assert!(reply.contains("> A week is fine."), "{reply}");
    let fwd = raw(entries[1].id);
    assert!(fwd.contains("Subject: Fwd: Proposal for Q3"), "{fwd}");
    assert!(
        fwd.contains("proposal.txt"),
        "the attachment goes along: {fwd}"
    );
}

#[test]
fn outbox_keys_follow_the_keys_config_in_the_view_and_its_hint() {
    let mut h = Harness::new();
    let mut keys = std::collections::BTreeMap::new();
    keys.insert(
        "outbox_confirm".to_string(),
        tidings::config::KeySpec::One("A".into()),
    );
    h.ui = Ui::new(Theme::default(), Keymap::new(&keys).unwrap(), true);
    let id = put_in_outbox(
        &mut h,
        "Maybe",
        "unconfirmed",
        Some("unconfirmed"),
        Some("cut"),
        false,
    );
    h.press(&["w"]);
    assert!(h.screen().contains("A arrived?"), "{}", h.screen());
    h.press(&["M"]);
    assert!(
        h.app.outbox.as_ref().unwrap().asking.is_none(),
        "M is unbound now"
    );
    h.press(&["A", "y"]);
    assert_eq!(outbox_state(&h, id).as_deref(), Some("sent"));
}

#[test]
fn e_in_a_drafts_folder_recalls_the_selected_draft_with_its_message_id() {
    let mut h = Harness::new();
    let acc = h.store.account_id("work").unwrap();
    let drafts_folder = h
        .store
        .upsert_folder(acc, "Drafts", Some("/"), Some("drafts"), true)
        .unwrap();
    let raw = b"From: Me <me@example.com>\r\nTo: Sam Ortiz <sam@globex.test>\r\n\
Bcc: boss@example.com\r\nSubject: Half-written offer\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n\
Message-ID: <draft-1@other-client.test>\r\n\r\nDear Sam,\r\n\r\nthe price is\r\n";
    let parsed = tidings::mail::parse::parse_message(1, raw.to_vec(), Default::default(), None);
    h.store.put_message(drafts_folder, &parsed).unwrap();
    h.send(Msg::Sync(tidings::mail::sync::SyncEvent::FolderChanged {
        account: "work".into(),
        folder: "Drafts".into(),
    }));
    // Walk the folder pane to Drafts.
    h.press(&["Tab"]);
    for _ in 0..10 {
        if h.app.list.folders[h.app.list.folder_cursor].name == "Drafts" {
            break;
        }
        h.press(&["j"]);
    }
    h.press(&["Enter"]);
    assert_eq!(h.app.list.current.as_ref().unwrap().1, "Drafts");
    h.press(&["E"]);
    let d = h.draft();
    assert_eq!(d.message_id, "<draft-1@other-client.test>");
    assert_eq!(d.subject, "Half-written offer");
    assert_eq!(d.to[0].email, "sam@globex.test");
    assert_eq!(d.bcc[0].email, "boss@example.com");
    assert!(d.body.contains("the price is"), "{:?}", d.body);
    // Unchanged, leaving loses nothing: no question, and the draft stays where it was.
    h.press(&["Esc"]);
    assert!(h.app.compose.is_none(), "{:?}", h.app.status);
    assert_eq!(h.app.list.rows.len(), 1, "the draft is still in Drafts");
    // Changed, leaving asks.
    h.press(&["E"]);
    h.type_text("!");
    h.press(&["Esc"]);
    assert!(h.app.compose.as_ref().unwrap().prompt.is_some());
}

#[test]
fn composer_header_fields_scroll_to_the_cursor_and_take_a_paste_as_one_line() {
    let mut h = Harness::new();
    h.press(&["c", "Tab", "Tab", "Tab"]);
    let long = "Quarterly numbers for the whole northern region, with the late invoices ";
    h.type_text(&format!("{long}{long}end"));
    let row = |s: &str| {
        s.lines()
            .find(|l| l.contains("Subject: "))
            .unwrap_or_default()
            .to_string()
    };
    let screen = h.screen();
    assert!(
        row(&screen).contains("…") && row(&screen).contains("invoices end▏"),
        "{screen}"
    );
    h.press(&["C-a"]);
    let screen = h.screen();
    assert!(
        row(&screen).contains("Subject: ▏Quarterly numbers"),
        "{screen}"
    );
    // A paste goes in at the cursor; its line breaks do not reach the header.
    for m in h.ui.paste(&h.app, "Re:\r\nfwd:\n") {
        h.send(m);
    }
    h.press(&["C-e", "M-Backspace", "C-w"]);
    let subject = h.draft().subject;
    assert!(subject.starts_with("Re: fwd:Quarterly"), "{subject:?}");
    assert!(subject.ends_with("late "), "{subject:?}");
    assert!(!subject.contains(['\r', '\n']));
}
