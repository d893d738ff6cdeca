//! The reader's effects: a message read and rendered with its tracking URLs, and its attachments
//! saved to a file or opened with the system's viewer.

use crate::app::msg::Msg;
use crate::app::tracking_urls::{bounded, ReaderContent, TrackingUrls};
use crate::config::Config;
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};

/// Reads and renders message `id` (sanitized, HTML as text), with its tracking URLs when it was
/// sent tracked.
pub fn reader_content(store: &Store, id: i64) -> Result<ReaderContent, String> {
    let raw = store.raw_message(id).map_err(|e| e.to_string())?;
    Ok(render(store, id, &raw))
}

fn render(store: &Store, id: i64, raw: &[u8]) -> ReaderContent {
    ReaderContent {
        message: crate::mail::render::render_message(raw),
        tracking: tracking_urls(store, id),
    }
}

/// The answer to `LoadMessage`: the rendered message, or `BodyNotCached` when only its envelope
/// is stored, so the app can show that it is downloading and ask for it.
pub fn load_message(store: &Store, id: i64) -> Msg {
    match store.raw_message(id) {
        Err(StoreError::BodyNotCached(_)) => Msg::BodyNotCached { id },
        raw => Msg::MessageLoaded {
            id,
            content: raw
                .map(|raw| render(store, id, &raw))
                .map_err(|e| e.to_string()),
        },
    }
}

/// The answer to `FetchBody`: downloads the body of `id` on a connection of its own (network
/// and disk: run off the UI loop), then renders it.
pub fn fetch_body(store: &Store, config: &Config, config_path: &Path, id: i64) -> Msg {
    Msg::MessageLoaded {
        id,
        content: crate::mail::bodies::fetch_body_now(config, config_path, store, id)
            .map(|raw| render(store, id, &raw))
            .map_err(|e| format!("downloading the message: {e}")),
    }
}

/// The tracking section for message `id`; None when it is not a mail sent tracked.
fn tracking_urls(store: &Store, id: i64) -> Option<TrackingUrls> {
    let message_id = store.message(id).ok()?.message_id?;
    let report = match crate::tracking::client::send::tracking_report(store, &message_id) {
        Ok(report) => report?,
        Err(e) => format!("cannot be read ({e})"),
    };
    Some(bounded(&report))
}

/// Where attachments come from: the cache, or the server when the message's body is not
/// downloaded yet (an attachment too big for `[sync] bodies` is fetched when saved or opened).
pub(super) struct AttachmentSource<'a> {
    pub store: &'a Store,
    pub config: &'a Config,
    pub config_path: &'a Path,
}

fn attachment_bytes(
    src: &AttachmentSource<'_>,
    id: i64,
    index: usize,
) -> Result<(String, Vec<u8>), String> {
    let raw = crate::mail::bodies::raw_message_or_fetch(src.config, src.config_path, src.store, id)
        .map_err(|e| e.to_string())?;
    crate::mail::render::attachment_bytes(&raw, index)
        .ok_or_else(|| format!("no attachment {}", index + 1))
}

pub(super) fn save_attachment(
    src: &AttachmentSource<'_>,
    id: i64,
    index: usize,
    path: &Path,
) -> Result<usize, String> {
    let (_, bytes) = attachment_bytes(src, id, index)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(path, &bytes).map_err(|e| e.to_string())?;
    Ok(bytes.len())
}

pub(super) fn attachment_to_temp(
    src: &AttachmentSource<'_>,
    id: i64,
    index: usize,
) -> Result<PathBuf, String> {
    let (name, bytes) = attachment_bytes(src, id, index)?;
    let dir = std::env::temp_dir().join(format!("tidings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(name);
    std::fs::write(&path, &bytes).map_err(|e| e.to_string())?;
    Ok(path)
}

/// xdg-open with its output kept off the terminal the TUI draws on.
pub(super) async fn open_with_system(path: &Path) -> Msg {
    let child = tokio::process::Command::new("xdg-open")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut c) => match c.wait().await {
            Ok(s) if s.success() => Msg::Notice(format!("opened {}", path.display())),
            Ok(s) => Msg::Error(format!("xdg-open {} exited with {s}", path.display())),
            Err(e) => Msg::Error(format!("xdg-open: {e}")),
        },
        Err(e) => Msg::Error(format!("cannot run xdg-open: {e}")),
    }
}
