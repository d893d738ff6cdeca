//! The composer's effects: a draft prepared from the message it answers, address suggestions,
//! attached files and completed paths, autosave and discard, saving a draft to the server, and the
//! one way a finished draft enters the outbox.

use crate::app::compose::{ComposeEffect, ComposeMsg, ComposeOpen, AUTOSAVE_SECONDS, SUGGESTIONS};
use crate::app::input::expand_home;
use crate::app::msg::Msg;
use crate::app::view::{ComposeKind, ComposeRequest};
use crate::config::Config;
use crate::mail::compose::{Attachment, Draft, Mailbox, ReplyKind, Sender};
use crate::mail::{drafts, outbox};
use crate::store::Store;
use crate::tracking::client::send::{self as send_tracking, TrackingChoice};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub(super) fn senders(config: &Config) -> Vec<(String, Mailbox)> {
    config
        .accounts
        .iter()
        .map(|(name, acc)| (name.clone(), Sender::from_config(name, acc).from))
        .collect()
}

/// The draft a compose request starts from: blank, or prefilled from the source message's raw
/// bytes, with the account's signature. Blocking (reads the store, and downloads the source's
/// body when the sync has only its envelope so far: a reply must quote what was written).
pub fn prepare(
    store: &Store,
    config: &Config,
    config_path: &Path,
    req: &ComposeRequest,
) -> Result<ComposeOpen, String> {
    let source_account = match req.source {
        Some(id) => Some(store.message(id).map_err(|e| e.to_string())?.account),
        None => None,
    };
    let account = source_account
        .or_else(|| req.account.clone())
        .or_else(|| config.accounts.keys().next().cloned())
        .ok_or("no account to send from")?;
    let sender = match config.accounts.get(&account) {
        Some(acc) => Sender::from_config(&account, acc),
        // An account only in the store (the demo's): its address, no signature.
        None => {
            let (email, name) = store
                .account_identity(&account)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("account {account} is not in the config"))?;
            Sender {
                account: account.clone(),
                from: Mailbox::new(name.as_deref(), &email),
                signature: None,
            }
        }
    };
    let mut accounts = senders(config);
    if !accounts.iter().any(|(a, _)| *a == account) {
        accounts.insert(0, (account.clone(), sender.from.clone()));
    }
    let raw = match req.source {
        Some(id) => Some(
            crate::mail::bodies::raw_message_or_fetch(config, config_path, store, id)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let draft = match (&req.kind, raw) {
        (ComposeKind::Reply, Some(raw)) => Draft::reply(&sender, &raw, ReplyKind::Sender),
        (ComposeKind::ReplyAll, Some(raw)) => Draft::reply(&sender, &raw, ReplyKind::All),
        (ComposeKind::Forward, Some(raw)) => Draft::forward(&sender, &raw),
        (ComposeKind::Recall, Some(raw)) => Draft::recall(&sender, &raw),
        _ => Ok(Draft::new(&sender)),
    }
    .map_err(|e| e.to_string())?;
    let mut draft = draft;
    if matches!(req.kind, ComposeKind::Reply | ComposeKind::ReplyAll) {
        draft.body = signature_above_quote(&draft.body, sender.signature.as_deref());
    }
    let tracking = tracking_defaults(store, config, &draft.account);
    let remind = super::followups::remind_default(store, &draft.account);
    Ok(ComposeOpen {
        kind: req.kind.clone(),
        draft,
        accounts,
        // A recalled draft is the user's own unsent text: leaving it asks, like a resumed one.
        resumed: req.kind == ComposeKind::Recall,
        tracking,
        remind,
    })
}

/// A reply is written on top: the signature goes between the text and the quote.
fn signature_above_quote(body: &str, signature: Option<&str>) -> String {
    let Some(sig) = signature.map(str::trim_end).filter(|s| !s.is_empty()) else {
        return body.to_string();
    };
    let block = format!("-- \n{sig}\n");
    match body.rfind(&block) {
        Some(at) => {
            let quote = body[..at].trim();
            format!("\n\n{block}\n{quote}\n")
        }
        None => body.to_string(),
    }
}

/// The account's saved tracking choice; a store error falls back to the config's defaults.
fn tracking_defaults(store: &Store, config: &Config, account: &str) -> TrackingChoice {
    let tracking = config.tracking_for(account);
    send_tracking::defaults(store, account, &tracking).unwrap_or(TrackingChoice {
        opens: tracking.track_opens,
        links: tracking.track_links,
    })
}

/// Commits the draft to the outbox with its tracking record (consent applied per recipient) and
/// remembers the choice as the account's default for the next mail.
pub fn queue_draft(
    store: &Store,
    config: &Config,
    draft: &Draft,
    tracking: TrackingChoice,
    now: i64,
) -> Result<i64, String> {
    queue_draft_at(store, config, draft, tracking, now, None)
}

/// [`queue_draft`] for a mail that waits until `send_at` (unix seconds), when given.
pub fn queue_draft_at(
    store: &Store,
    config: &Config,
    draft: &Draft,
    tracking: TrackingChoice,
    now: i64,
    send_at: Option<i64>,
) -> Result<i64, String> {
    let record = send_tracking::record_for_draft(
        store,
        &config.tracking_for(&draft.account),
        draft,
        tracking,
    )
    .map_err(|e| e.to_string())?;
    let json = record.map(|r| r.to_json());
    let id = outbox::enqueue_at(store, draft, json.as_deref(), now, send_at)
        .map_err(|e| e.to_string())?;
    send_tracking::remember_choice(store, &draft.account, tracking).map_err(|e| e.to_string())?;
    Ok(id)
}

/// Composer effects that only read (prefill, suggestions, files): run on any thread.
pub fn perform_read(
    store: &Store,
    config: &Config,
    config_path: &Path,
    effect: ComposeEffect,
) -> Vec<Msg> {
    match effect {
        ComposeEffect::Open(req) => vec![Msg::Compose(ComposeMsg::Ready(
            prepare(store, config, config_path, &req).map(Box::new),
        ))],
        ComposeEffect::LoadTemplates { from, to } => vec![Msg::Compose(ComposeMsg::Templates(
            super::schedule::filled_templates(store, &from, to.as_ref()),
        ))],
        ComposeEffect::Suggest { prefix } => {
            match store.address_suggestions(&prefix, SUGGESTIONS) {
                Ok(found) => vec![Msg::Compose(ComposeMsg::Suggestions {
                    prefix,
                    list: found
                        .into_iter()
                        .map(|(name, email)| {
                            Mailbox::new((!name.is_empty()).then_some(name.as_str()), &email)
                                .display()
                        })
                        .collect(),
                })],
                Err(e) => vec![Msg::Error(e.to_string())],
            }
        }
        ComposeEffect::AttachFile { path } => vec![Msg::Compose(ComposeMsg::Attached(
            Attachment::from_path(&path)
                .map(Box::new)
                .map_err(|e| e.to_string()),
        ))],
        ComposeEffect::CompletePath { input } => vec![Msg::Compose(ComposeMsg::PathCompleted {
            completed: complete_path(&input),
            input,
        })],
        ComposeEffect::FindDrafts => match drafts::list(store, None) {
            Ok(list) => vec![Msg::Compose(ComposeMsg::DraftsFound(
                list.into_iter().map(|s| (s.id, s.draft.subject)).collect(),
            ))],
            Err(e) => vec![Msg::Error(e.to_string())],
        },
        ComposeEffect::UploadDraft { id } => vec![Msg::Compose(ComposeMsg::DraftUploaded(
            upload_draft(store, config, id),
        ))],
        ComposeEffect::DiscardServerDraft { id } => {
            vec![Msg::Compose(ComposeMsg::ServerDraftDiscarded(
                drafts::discard_everywhere(config, store, id)
                    .map(|_| ())
                    .map_err(|e| {
                        tracing::warn!(id, error = %e, "removing a draft from the server failed");
                        e.to_string()
                    }),
            ))]
        }
        ComposeEffect::ResumeDraft => vec![Msg::Compose(ComposeMsg::Ready(
            drafts::list(store, None)
                .map_err(|e| e.to_string())
                .and_then(|list| list.into_iter().next().ok_or("no saved drafts".to_string()))
                .map(|s| {
                    let tracking = tracking_defaults(store, config, &s.draft.account);
                    let remind = super::followups::remind_default(store, &s.draft.account);
                    Box::new(ComposeOpen {
                        kind: ComposeKind::New,
                        draft: s.draft,
                        accounts: senders(config),
                        resumed: true,
                        tracking,
                        remind,
                    })
                }),
        ))],
        _ => Vec::new(),
    }
}

/// Composer effects that write; run in order on the runtime's writer, which keeps one
/// `Autosaver` per draft (by Message-ID).
pub fn perform_write(
    store: &Store,
    config: &Config,
    savers: &mut HashMap<String, drafts::Autosaver>,
    effect: ComposeEffect,
) -> Vec<Msg> {
    match effect {
        ComposeEffect::Autosave { draft, now, flush } => {
            let saver = savers
                .entry(draft.message_id.clone())
                .or_insert_with(|| drafts::Autosaver::new(AUTOSAVE_SECONDS));
            let saved = if flush {
                saver.flush(store, &draft, now)
            } else {
                saver.tick(store, &draft, now)
            };
            match saved {
                Ok(_) => Vec::new(),
                Err(e) => vec![Msg::Error(format!("saving the draft: {e}"))],
            }
        }
        ComposeEffect::DiscardDraft { message_id } => {
            savers.remove(&message_id);
            match store.draft_by_message_id(&message_id) {
                // A copy on the server is removed first, off this writer: the network may hang.
                Ok(Some(d)) if d.server_folder.is_some() => {
                    vec![Msg::Compose(ComposeMsg::DraftOnServer { id: d.id })]
                }
                Ok(Some(d)) => match drafts::discard(store, d.id) {
                    Ok(_) => Vec::new(),
                    Err(e) => vec![Msg::Error(e.to_string())],
                },
                Ok(None) => Vec::new(),
                Err(e) => vec![Msg::Error(e.to_string())],
            }
        }
        ComposeEffect::DraftToServer { message_id } => match store.draft_by_message_id(&message_id)
        {
            Ok(Some(d)) => vec![Msg::Compose(ComposeMsg::DraftStored { id: d.id })],
            Ok(None) => vec![Msg::Notice("an empty draft is not saved".into())],
            Err(e) => vec![Msg::Error(format!("saving the draft: {e}"))],
        },
        ComposeEffect::QueueDraft {
            draft,
            tracking,
            remind,
            now,
            send_at,
        } => {
            savers.remove(&draft.message_id);
            let queued =
                queue_draft_at(store, config, &draft, tracking, now, send_at).and_then(|_| {
                    super::followups::on_queued(store, &draft, remind, send_at)
                        .map_err(|e| e.to_string())
                });
            vec![Msg::Compose(ComposeMsg::Queued(
                queued.map(|_| draft.account.clone()),
            ))]
        }
        _ => Vec::new(),
    }
}

/// The server copy of stored draft `id` (blocking: IMAP). An account without IMAP (the demo's)
/// has no server to save to; that is not a failure.
fn upload_draft(store: &Store, config: &Config, id: i64) -> Result<String, String> {
    match drafts::save_to_server(config, store, id) {
        Ok(folder) => Ok(format!(
            "draft saved here and in {:?} on the server — E resumes it",
            crate::mail::mailbox_name::display(&folder)
        )),
        Err(drafts::DraftError::NoSuchAccount(account) | drafts::DraftError::NoServer(account)) => {
            Ok(format!(
                "draft saved here — E resumes it (account {account} has no server to save it to)"
            ))
        }
        Err(e) => {
            tracing::warn!(id, error = %e, "saving a draft to the server failed");
            Err(e.to_string())
        }
    }
}

/// Completes the last path component of `input` as far as the matching entries agree.
pub fn complete_path(input: &str) -> String {
    let path = expand_home(input);
    let (dir, stem) = if input.ends_with('/') {
        (path.clone(), String::new())
    } else {
        (
            path.parent()
                .map(Path::to_path_buf)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from(".")),
            path.file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return input.to_string();
    };
    let mut matches: Vec<(String, bool)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            name.starts_with(&stem).then_some((name, is_dir))
        })
        .collect();
    matches.sort();
    let Some((first, _)) = matches.first() else {
        return input.to_string();
    };
    let mut common = first.clone();
    for (m, _) in &matches[1..] {
        while !m.starts_with(&common) {
            common.pop();
        }
    }
    let mut out = input
        .get(..input.len().saturating_sub(stem.len()))
        .unwrap_or("")
        .to_string();
    out.push_str(&common);
    if matches.len() == 1 && matches[0].1 {
        out.push('/');
    }
    out
}
