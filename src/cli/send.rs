//! `send`, `outbox` and `drafts`: headless sending through the durable outbox. Exit codes: 0 delivered,
//! 75 (EX_TEMPFAIL) left in the outbox to be flushed later, 1 refused or failed, 2 usage.

use super::mail::rfc3339;
use super::{Context, DraftsArgs, OutboxAction, OutboxArgs, SendArgs};
use crate::mail::compose::{AddressField, Draft, Mailbox, Sender};
use crate::mail::outbox::{self, FlushResult, Outbox, OutboxItem, Outcome, Which};
use crate::tracking::client as tracking;
use crate::tracking::client::send::{SharedPlanner, TrackedPlanner, TrackingChoice};
use anyhow::Context as _;
use serde_json::json;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// sysexits' EX_TEMPFAIL: "try again later" — here, the outbox will.
const EXIT_QUEUED: u8 = 75;
/// A body read from stdin or a file is refused above this size.
const MAX_BODY_BYTES: u64 = 20 * 1024 * 1024;

/// A subject, address or reason as one line of a text list: what was typed or pasted into a
/// draft may hold line breaks and escape sequences, which must not break or drive the terminal.
fn line(text: &str) -> String {
    crate::sanitize::sanitize_line(text)
}

fn now() -> i64 {
    crate::clock::now().timestamp()
}

fn read_text(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    let shown = || format!("{what} {}", path.display());
    // Read up to the limit rather than trusting the file's size: a pipe (`<(cmd)`) or a device
    // has none, and would otherwise be read until the memory runs out.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BODY_BYTES + 1).read_to_end(&mut bytes))
        .with_context(shown)?;
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_BODY_BYTES,
        "{} is larger than {MAX_BODY_BYTES} bytes",
        shown()
    );
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", shown()))
}

/// Each flag value may itself be a comma-separated list, as typed in a mail client.
fn addresses(list: &[String]) -> anyhow::Result<Vec<Mailbox>> {
    let mut out = Vec::new();
    for a in list {
        out.extend(Mailbox::parse_list(a)?);
    }
    Ok(out)
}

fn draft_from_args(ctx: &Context, args: &SendArgs) -> anyhow::Result<Draft> {
    let (name, acc) = ctx
        .config
        .account(args.account.as_deref())
        .map_err(|e| anyhow::anyhow!("{e} in {}", ctx.config_file_note()))?;
    anyhow::ensure!(
        acc.smtp.is_some(),
        "account {name:?} has no [accounts.{name}.smtp] section"
    );
    let mut draft = Draft::new(&Sender::from_config(name, acc));
    draft.to = addresses(&args.to)?;
    draft.cc = addresses(&args.cc)?;
    draft.bcc = addresses(&args.bcc)?;
    if let Some(name) = &args.template {
        let (subject, body) = from_template(ctx, &draft, name)?;
        draft.subject = args.subject.clone().or(subject).ok_or_else(|| {
            anyhow::anyhow!("template {name:?} has no Subject: line; give --subject")
        })?;
        draft.body = body;
        return finish_draft(draft, acc, args);
    }
    draft.subject = args.subject.clone().unwrap_or_default();
    let body = match &args.body_file {
        Some(p) => read_text(p, "body file")?,
        None => {
            if std::io::stdin().is_terminal() {
                // Otherwise `tidings send --to … --subject …` looks like it hangs.
                eprintln!(
                    "tidings: type the body, then Ctrl-D on a line of its own (or use --body-file)"
                );
            }
            let mut s = String::new();
            std::io::stdin()
                .take(MAX_BODY_BYTES + 1)
                .read_to_string(&mut s)
                .context("reading the body from stdin")?;
            anyhow::ensure!(
                s.len() as u64 <= MAX_BODY_BYTES,
                "the body on stdin is larger than {MAX_BODY_BYTES} bytes"
            );
            s
        }
    };
    draft.body = body;
    finish_draft(draft, acc, args)
}

/// The signature, the HTML part and the attachments, whatever the body came from.
fn finish_draft(
    mut draft: Draft,
    acc: &crate::config::AccountConfig,
    args: &SendArgs,
) -> anyhow::Result<Draft> {
    if let Some(sig) = acc.signature.as_deref().filter(|s| !s.trim().is_empty()) {
        if !draft.body.ends_with('\n') && !draft.body.is_empty() {
            draft.body.push('\n');
        }
        draft.body.push_str(&format!("-- \n{}\n", sig.trim_end()));
    }
    if let Some(p) = &args.html_file {
        draft.html = Some(read_text(p, "HTML file")?);
    }
    for p in &args.attach {
        draft.attach_file(p)?;
    }
    Ok(draft)
}

/// The template's subject and body, filled for the first To recipient; refused while any
/// placeholder has no value, naming it (a raw `{company}` must never reach a customer).
fn from_template(
    ctx: &Context,
    draft: &Draft,
    name: &str,
) -> anyhow::Result<(Option<String>, String)> {
    use crate::app::templates;
    let dir = templates::default_dir()
        .ok_or_else(|| anyhow::anyhow!("no home directory: cannot find the templates"))?;
    let template = templates::find(&dir, name)?;
    let store = ctx.open_store()?;
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let to = draft.to.first();
    let values = templates::values_for(&store, &draft.from, to, &today);
    let filled = templates::fill(&template, &values);
    if !filled.unfilled.is_empty() {
        let names: Vec<String> = filled.unfilled.iter().map(|u| format!("{{{u}}}")).collect();
        let who = to.map(|m| m.email.as_str()).unwrap_or("the recipient");
        anyhow::bail!(
            "template {name:?}: nothing fills {} for {who} (not sent; known placeholders: {};              `tidings superdata {who}` fetches company data, or edit the template)",
            names.join(", "),
            templates::PLACEHOLDERS
                .iter()
                .map(|(p, _)| *p)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok((filled.subject, filled.body))
}

/// `--at`: the time the mail goes, which must be ahead.
fn send_time(args: &SendArgs) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    let Some(text) = &args.at else {
        return Ok(None);
    };
    let now = crate::clock::now();
    let at = crate::clock::parse_time(text, now)?;
    anyhow::ensure!(
        at > now,
        "{} is not in the future: leave out --at to send now",
        crate::clock::format_local(at)
    );
    Ok(Some(at))
}

/// `--track-x` / `--no-track-x` over the account's remembered choice.
fn tracking_choice(
    store: &crate::store::Store,
    ctx: &Context,
    account: &str,
    args: &SendArgs,
) -> anyhow::Result<TrackingChoice> {
    let mut choice = tracking::send::defaults(store, account, &ctx.config.tracking_for(account))?;
    if args.track_opens || args.no_track_opens {
        choice.opens = args.track_opens;
    }
    if args.track_links || args.no_track_links {
        choice.links = args.track_links;
    }
    Ok(choice)
}

/// An outbox whose planner makes per-recipient tracked copies; the handle yields its warnings.
fn tracked_outbox(
    ctx: &Context,
    store: &crate::store::Store,
    untracked_if_tracker_down: bool,
) -> (Outbox, Arc<Mutex<TrackedPlanner>>) {
    let planner = Arc::new(Mutex::new(
        TrackedPlanner::for_config(&ctx.config, store.path().to_path_buf())
            .untracked_if_tracker_down(untracked_if_tracker_down),
    ));
    let ob = Outbox::new(ctx.config.clone(), store)
        .with_planner(Box::new(SharedPlanner(planner.clone())));
    (ob, planner)
}

/// Says out loud which mails went out untracked on the user's word.
fn print_warnings(planner: &Mutex<TrackedPlanner>) {
    if let Ok(mut p) = planner.lock() {
        for w in p.take_warnings() {
            eprintln!("tidings: warning: NOT TRACKED: {w}");
        }
    }
}

pub fn send(ctx: &Context, args: &SendArgs) -> anyhow::Result<ExitCode> {
    let at = send_time(args)?;
    let draft = draft_from_args(ctx, args)?;
    let mut store = ctx.open_store()?;
    let choice = tracking_choice(&store, ctx, &draft.account, args)?;
    let record = tracking::send::record_for_draft(
        &store,
        &ctx.config.tracking_for(&draft.account),
        &draft,
        choice,
    )?;
    let json = record.as_ref().map(|r| r.to_json());
    let id = outbox::enqueue_at(
        &store,
        &draft,
        json.as_deref(),
        now(),
        at.map(|t| t.timestamp()),
    )?;
    tracking::send::remember_choice(&store, &draft.account, choice)?;
    if let Some(after) = args.remind_after {
        let due = crate::app::runtime::followups::set_reminder(
            &store,
            &draft,
            after,
            args.remind_if.into(),
            at.map(|t| t.timestamp()),
        )?;
        if std::io::stderr().is_terminal() {
            let due = chrono::DateTime::from_timestamp(due, 0).unwrap_or_default();
            eprintln!(
                "tidings: reminder at {} unless someone answers",
                crate::clock::format_local(due)
            );
        }
    }
    if let Some(at) = at {
        // Tracking (if chosen) is registered when it goes, by whichever process sends it.
        writeln!(
            std::io::stdout(),
            "scheduled #{id} for {} {}",
            crate::clock::format_local(at),
            draft.message_id
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let (mut ob, planner) = tracked_outbox(ctx, &store, args.untracked_if_tracker_down);
    let results = ob.flush(&mut store, Which::One(id), now())?;
    print_warnings(&planner);
    report_one(results.first())
}

fn item_json(i: &OutboxItem) -> serde_json::Value {
    let e = &i.entry;
    let opt_time = |t: Option<i64>| t.map(rfc3339);
    json!({
        "id": e.id,
        "account": e.account,
        "message_id": e.message_id,
        "subject": i.draft.as_ref().map(|d| d.subject.clone()),
        "recipients": i.draft.as_ref().map(|d| d.recipients()),
        "state": e.state,
        "attempts": e.attempts,
        "last_error": e.last_error,
        "created_at": rfc3339(e.created_at),
        "last_attempt_at": opt_time(e.last_attempt_at),
        "next_attempt_at": (e.state == outbox::state::QUEUED).then(|| rfc3339(e.next_attempt_at)),
        "sent_at": opt_time(e.sent_at),
        "send_at": opt_time(e.send_at),
        "filed": e.filed,
        "filed_error": e.filed_error,
        "tracked": e.tracking.is_some(),
        "tracking": e.tracking.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()),
        "deliveries": i.deliveries.iter().map(|d| json!({
            "recipients": d.recipients,
            "state": d.state,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "delivered_at": opt_time(d.delivered_at),
        })).collect::<Vec<_>>(),
    })
}

fn result_json(r: &FlushResult) -> serde_json::Value {
    let (state, error) = match &r.outcome {
        Outcome::Sent => ("sent", None),
        Outcome::Queued(e) => ("queued", Some(e)),
        Outcome::Failed(e) => ("failed", Some(e)),
        Outcome::Unconfirmed(e) => ("unconfirmed", Some(e)),
    };
    json!({"id": r.id, "message_id": r.message_id, "state": state, "error": error,
           "filing_error": r.filing_error})
}

pub fn outbox(ctx: &Context, args: &OutboxArgs) -> anyhow::Result<ExitCode> {
    let mut store = ctx.open_store()?;
    let (mut ob, planner) = tracked_outbox(ctx, &store, false);
    let mut out = std::io::stdout().lock();
    let code = match &args.action {
        None => {
            let items = ob.list(&store, args.all)?;
            if args.json {
                let arr: Vec<_> = items.iter().map(item_json).collect();
                serde_json::to_writer(&mut out, &arr)?;
                writeln!(out)?;
            } else if items.is_empty() {
                writeln!(out, "The outbox is empty.")?;
            } else {
                for i in &items {
                    let e = &i.entry;
                    let (to, subject) = i
                        .draft
                        .as_ref()
                        .map(|d| (line(&d.recipients().join(", ")), line(&d.subject)))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "#{:<5} {:<11} attempts {:<3} {:<30.30} {}",
                        e.id, e.state, e.attempts, to, subject
                    )?;
                    if let Some(err) = &e.last_error {
                        writeln!(out, "       last error: {}", line(err))?;
                    }
                    if let Some(at) = e.send_at.filter(|_| e.state == outbox::state::QUEUED) {
                        let at = chrono::DateTime::from_timestamp(at, 0).unwrap_or_default();
                        writeln!(out, "       scheduled: {}", crate::clock::format_local(at))?;
                    } else if e.state == outbox::state::QUEUED {
                        writeln!(out, "       next attempt: {}", rfc3339(e.next_attempt_at))?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(OutboxAction::Flush) => {
            let results = ob.flush(&mut store, Which::AllWaiting, now())?;
            if args.json {
                let arr: Vec<_> = results.iter().map(result_json).collect();
                serde_json::to_writer(&mut out, &arr)?;
                writeln!(out)?;
            } else {
                for r in &results {
                    let what = match &r.outcome {
                        Outcome::Sent => "sent".to_string(),
                        Outcome::Queued(e) => format!("still waiting: {e}"),
                        Outcome::Failed(e) => format!("refused: {e}"),
                        Outcome::Unconfirmed(e) => format!("unconfirmed: {e}"),
                    };
                    writeln!(out, "#{} {}: {}", r.id, r.message_id, line(&what))?;
                    if let Some(w) = &r.filing_error {
                        eprintln!("tidings: warning: {}", line(w));
                    }
                }
            }
            let waiting = results
                .iter()
                .any(|r| matches!(r.outcome, Outcome::Queued(_) | Outcome::Unconfirmed(_)));
            let failed = results
                .iter()
                .any(|r| matches!(r.outcome, Outcome::Failed(_)));
            Ok(if failed {
                ExitCode::from(1)
            } else if waiting {
                ExitCode::from(EXIT_QUEUED)
            } else {
                ExitCode::SUCCESS
            })
        }
        Some(OutboxAction::Retry { id }) => {
            ob.retry(&mut store, *id, now())?;
            let r = ob.flush(&mut store, Which::One(*id), now())?;
            drop(out);
            report_one(r.first())
        }
        Some(OutboxAction::Confirm { id }) => {
            ob.confirm(&mut store, *id, now())?;
            writeln!(out, "#{id} marked as sent")?;
            Ok(ExitCode::SUCCESS)
        }
        Some(OutboxAction::Edit { id }) => {
            let (draft_id, _) = ob.edit(&mut store, *id, now())?;
            writeln!(out, "#{id} moved back to the drafts as draft {draft_id}")?;
            Ok(ExitCode::SUCCESS)
        }
        Some(OutboxAction::Cancel { id }) => {
            let subject = ob.cancel(&mut store, *id)?;
            writeln!(
                out,
                "#{id} {:?} cancelled: it will not be sent",
                line(&subject)
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Some(OutboxAction::Untrack { id }) => {
            anyhow::ensure!(
                tracking::send::mark_untracked(&store, *id, "the user chose to send it untracked")?,
                "#{id} is not a tracked mail waiting to be planned (it is not in the outbox, is \
                 untracked, or its tracked copies are already made)"
            );
            let r = ob.flush(&mut store, Which::One(*id), now())?;
            drop(out);
            print_warnings(&planner);
            report_one(r.first())
        }
    };
    print_warnings(&planner);
    code
}

/// Prints what became of one mail and picks the exit code.
fn report_one(r: Option<&FlushResult>) -> anyhow::Result<ExitCode> {
    let Some(r) = r else {
        anyhow::bail!("the outbox entry vanished while sending");
    };
    let id = r.id;
    if let Some(w) = &r.filing_error {
        eprintln!("tidings: warning: {}", line(w));
    }
    Ok(match &r.outcome {
        Outcome::Sent => {
            // The mail is sent: a reader gone from stdout must not turn that into a failure.
            let _ = writeln!(std::io::stdout(), "{}", r.message_id);
            ExitCode::SUCCESS
        }
        Outcome::Queued(why) => {
            let why = line(why);
            eprintln!(
                "tidings: not sent yet ({why}); the mail waits in the outbox as #{id} — \
                 `tidings outbox flush` tries again"
            );
            ExitCode::from(EXIT_QUEUED)
        }
        Outcome::Unconfirmed(why) => {
            let why = line(why);
            eprintln!(
                "tidings: {why}; the mail stays in the outbox as #{id} — check whether it \
                 arrived, then `tidings outbox confirm {id}` or `tidings outbox retry {id}`"
            );
            ExitCode::from(EXIT_QUEUED)
        }
        Outcome::Failed(why) => {
            let why = line(why);
            eprintln!(
                "tidings: the server refused the mail: {why} (kept in the outbox as #{id}; \
                 `tidings outbox retry {id}` or `tidings outbox edit {id}`)"
            );
            ExitCode::from(1)
        }
    })
}

pub fn drafts(ctx: &Context, args: &DraftsArgs) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store()?;
    let list = crate::mail::drafts::list(&store, args.account.as_deref())?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let arr: Vec<_> = list
            .iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "account": d.draft.account,
                    "message_id": d.draft.message_id,
                    "subject": d.draft.subject,
                    "to": d.draft.to.iter().map(Mailbox::display).collect::<Vec<_>>(),
                    "cc": d.draft.cc.iter().map(Mailbox::display).collect::<Vec<_>>(),
                    "bcc": d.draft.bcc.iter().map(Mailbox::display).collect::<Vec<_>>(),
                    "body": d.draft.body,
                    "attachments": d.draft.attachments.iter().map(|a| &a.filename).collect::<Vec<_>>(),
                    "in_reply_to": d.draft.in_reply_to,
                    "updated_at": rfc3339(d.updated_at),
                    "on_server": d.on_server,
                })
            })
            .collect();
        serde_json::to_writer(&mut out, &arr)?;
        writeln!(out)?;
    } else if list.is_empty() {
        writeln!(out, "No drafts.")?;
    } else {
        for d in &list {
            writeln!(
                out,
                "{:>5} {:<16} {:<30.30} {}",
                d.id,
                rfc3339(d.updated_at).get(..16).unwrap_or(""),
                line(&d.draft.address_text(AddressField::To)),
                line(&d.draft.subject)
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
