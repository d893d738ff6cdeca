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
        link_targets: link_targets(store, id),
        all_headers: all_headers(raw),
    }
}

/// At most this many headers are kept for the all-headers view (a hostile mail can have
/// thousands), each value cut at [`MAX_HEADER_CHARS`].
const MAX_HEADERS: usize = 200;
const MAX_HEADER_CHARS: usize = 2000;

/// The message's header block as received: one (name, value) per field, continuation lines
/// unfolded, control characters removed. Encoded words stay as sent, as mutt's full headers show.
fn all_headers(raw: &[u8]) -> Vec<(String, String)> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let text = String::from_utf8_lossy(&raw[..end]);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                if v.chars().count() < MAX_HEADER_CHARS {
                    v.push(' ');
                    v.push_str(line.trim());
                }
            }
            continue;
        }
        if out.len() == MAX_HEADERS {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    out.into_iter()
        .map(|(k, v)| {
            let v: String = v.chars().take(MAX_HEADER_CHARS).collect();
            (
                crate::sanitize::sanitize_line(&k),
                crate::sanitize::sanitize_line(&v),
            )
        })
        .collect()
}

/// Every tracker redirect of a tracked mail the user sent, with where it leads (a copy sent to
/// oneself links to the tracker).
fn link_targets(store: &Store, id: i64) -> Vec<(String, String)> {
    let Some(message_id) = store.message(id).ok().and_then(|m| m.message_id) else {
        return Vec::new();
    };
    let copies = store.tracked_copies(&message_id).ok().flatten();
    copies
        .into_iter()
        .flatten()
        .filter_map(|c| c.urls)
        .flat_map(|u| u.links)
        .map(|l| (l.tracked_url, l.target))
        .collect()
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
    write_for_opening(&name, &bytes)
}

/// Writes an attachment where the system's viewer can open it: in a directory only the user can
/// enter, under a name no one can guess, made once per process and kept (the viewer reads the
/// file after we return). A fixed `/tmp/tidings-PID` could be made first by another local user,
/// with a symlink inside where the attachment would be written, over the user's own file.
fn write_for_opening(name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = match DIR.get() {
        Some(dir) => dir,
        None => {
            let mut builder = tempfile::Builder::new();
            builder.prefix("tidings-");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                builder.permissions(std::fs::Permissions::from_mode(0o700));
            }
            let made = builder
                .tempdir()
                .map_err(|e| format!("temporary folder: {e}"))?
                .keep();
            DIR.get_or_init(|| made)
        }
    };
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
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

/// Opens `url` (already checked to be a web or mail address) with `opener` (words: a command and
/// its arguments, the URL last; no shell) or the system's, its output kept off the terminal.
pub(super) async fn open_url(opener: Option<&str>, url: &str) -> Msg {
    if !crate::app::links::openable(url) {
        return Msg::Error(format!("not opened: {url} is not a web or mail address"));
    }
    let default = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let mut words = opener.unwrap_or(default).split_whitespace();
    let Some(program) = words.next() else {
        return Msg::Error("[ui] opener is empty".into());
    };
    let status = tokio::process::Command::new(program)
        .args(words)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    match status {
        Ok(s) if s.success() => Msg::Notice(format!("opened {url}")),
        Ok(s) => Msg::Error(format!("{program} {url} exited with {s}")),
        Err(e) => Msg::Error(format!("cannot run {program} (set [ui] opener): {e}")),
    }
}

/// Clipboard tools tried in order, with their arguments.
const CLIPBOARD_TOOLS: &[(&str, &[&str])] = &[
    ("wl-copy", &[]),
    ("xclip", &["-selection", "clipboard"]),
    ("xsel", &["--clipboard", "--input"]),
    ("pbcopy", &[]),
];

/// Puts `text` on the clipboard: through the terminal (OSC 52) when the user asked for it with
/// `[ui] osc52`, else with the first clipboard tool that runs. The answer says which happened,
/// so the bar never claims a copy that failed.
pub(super) async fn copy(text: &str, osc52: bool) -> Msg {
    use std::io::Write;
    use tokio::io::AsyncWriteExt;
    if osc52 {
        use base64::Engine;
        let seq = format!(
            "\x1b]52;c;{}\x07",
            base64::engine::general_purpose::STANDARD.encode(text)
        );
        let mut out = std::io::stdout().lock();
        return match out.write_all(seq.as_bytes()).and_then(|_| out.flush()) {
            Ok(()) => Msg::Notice(format!("copied {text} (through the terminal)")),
            Err(e) => Msg::Error(format!("nothing copied: through the terminal: {e}")),
        };
    }
    for (tool, args) in CLIPBOARD_TOOLS {
        let child = tokio::process::Command::new(tool)
            .args(*args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(mut child) = child else { continue };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(text.as_bytes()).await;
        }
        if matches!(child.wait().await, Ok(s) if s.success()) {
            return Msg::Notice(format!("copied {text}"));
        }
    }
    Msg::Error(
        "nothing copied: no clipboard tool (wl-copy, xclip, xsel, pbcopy); \
         [ui] osc52 = true copies through the terminal"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_headers_are_unfolded_sanitized_and_bounded() {
        let mut raw = b"Received: from a\r\n\tby b\r\nX-Evil: \x1b]0;pwned\x07ok\r\nSubject: =?utf-8?q?hi?=\r\n"
            .to_vec();
        for i in 0..500 {
            raw.extend(format!("X-Spam-{i}: {}\r\n", "y".repeat(5000)).as_bytes());
        }
        raw.extend(b"\r\nBody: not a header\r\n");
        let h = all_headers(&raw);
        assert_eq!(h[0], ("Received".into(), "from a by b".into()));
        assert_eq!(h[1], ("X-Evil".into(), "]0;pwnedok".into()));
        assert_eq!(h[2], ("Subject".into(), "=?utf-8?q?hi?=".into()));
        assert_eq!(h.len(), MAX_HEADERS);
        assert!(h.iter().all(|(_, v)| v.chars().count() <= MAX_HEADER_CHARS));
        assert!(!h.iter().any(|(k, _)| k == "Body"));
    }

    #[cfg(unix)]
    #[test]
    fn an_opened_attachment_never_follows_a_symlink_planted_in_a_guessable_folder() {
        use std::os::unix::fs::PermissionsExt;
        let victim = tempfile::tempdir().unwrap();
        let bashrc = victim.path().join(".bashrc");
        std::fs::write(&bashrc, "mine").unwrap();
        // Another local user got there first: the folder tidings used to write into, with a
        // symlink named like the attachment.
        let planted = std::env::temp_dir().join(format!("tidings-{}", std::process::id()));
        std::fs::create_dir_all(&planted).unwrap();
        let _ = std::fs::remove_file(planted.join("invoice.pdf"));
        std::os::unix::fs::symlink(&bashrc, planted.join("invoice.pdf")).unwrap();
        let path = write_for_opening("invoice.pdf", b"attacker's bytes").unwrap();
        let _ = std::fs::remove_dir_all(&planted);
        assert_eq!(std::fs::read_to_string(&bashrc).unwrap(), "mine");
        assert_eq!(std::fs::read(&path).unwrap(), b"attacker's bytes");
        let mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[tokio::test]
    async fn links_open_with_the_configured_opener_and_never_a_file_url() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("opened");
        let script = dir.path().join("opener");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s|%s' \"$1\" \"$2\" > {}\n",
                out.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let opener = format!("{} --new-tab", script.display());
        let msg = open_url(Some(&opener), "https://acme.test/a?b=1&c=$(x)").await;
        assert!(matches!(msg, Msg::Notice(_)), "{msg:?}");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "--new-tab|https://acme.test/a?b=1&c=$(x)"
        );
        std::fs::remove_file(&out).unwrap();
        let msg = open_url(Some(&opener), "file:///etc/passwd").await;
        assert!(matches!(msg, Msg::Error(_)), "{msg:?}");
        assert!(!out.exists());
        let msg = open_url(Some("/nonexistent/opener"), "https://acme.test/").await;
        assert!(
            matches!(&msg, Msg::Error(e) if e.contains("/nonexistent/opener")),
            "{msg:?}"
        );
    }
}
