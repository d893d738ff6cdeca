//! Desktop notifications (freedesktop, through notify-rust on the session D-Bus). Without a
//! session bus (a server, CI) nothing is shown and nothing fails: the event is only logged. What
//! to notify, and the throttle that keeps repeated opens from flooding the desktop, are decided in
//! the store by the poller (`crate::tracking::client::poller`), so that every process agrees.

use std::time::Duration;

/// What a notification says: the summary names who, the body names the mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopNotification {
    pub summary: String,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Shown,
    /// No session bus, or the notification daemon did not answer; logged, never an error.
    Unavailable,
}

const APP_NAME: &str = "tidings";
/// A notification daemon that hangs must not hold up the poller.
const SHOW_TIMEOUT: Duration = Duration::from_secs(5);

/// Shows `n` on the desktop. Never returns an error: a missing bus or daemon is logged and reported
/// as [`Delivery::Unavailable`].
pub async fn show_desktop(n: &DesktopNotification) -> Delivery {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
        && std::env::var_os("XDG_RUNTIME_DIR").is_none()
    {
        tracing::info!(summary = %n.summary, "no D-Bus session; desktop notification skipped");
        return Delivery::Unavailable;
    }
    let body = if body_is_markup().await {
        escape_markup(&n.body)
    } else {
        n.body.clone()
    };
    let mut note = notify_rust::Notification::new();
    note.appname(APP_NAME)
        .summary(&n.summary)
        .body(&body)
        .icon("mail-read");
    match tokio::time::timeout(SHOW_TIMEOUT, note.show_async()).await {
        Ok(Ok(_)) => Delivery::Shown,
        Ok(Err(e)) => {
            tracing::info!(error = %e, summary = %n.summary, "desktop notification not shown");
            Delivery::Unavailable
        }
        Err(_) => {
            tracing::info!(summary = %n.summary, "desktop notification timed out");
            Delivery::Unavailable
        }
    }
}

/// Whether the notification daemon reads the body as markup (its `body-markup` capability),
/// asked once per process. When it cannot be asked, the body is escaped: at worst a daemon
/// without markup shows `&lt;`, where an unescaped `<img src>` from a mail's subject would be
/// loaded by one with it.
async fn body_is_markup() -> bool {
    static MARKUP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if let Some(markup) = MARKUP.get() {
        return *markup;
    }
    let asked = tokio::task::spawn_blocking(notify_rust::get_capabilities);
    match tokio::time::timeout(SHOW_TIMEOUT, asked).await {
        Ok(Ok(Ok(caps))) => *MARKUP.get_or_init(|| caps.iter().any(|c| c == "body-markup")),
        _ => true,
    }
}

/// Text for a body the daemon reads as markup: a subject's `<b>`, `<a href>` and `<img src>`
/// are shown as written, never drawn, linked or fetched. Quotes only matter inside a tag, and
/// once `<` is escaped there is none.
fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// "2nd", "3rd", "11th", …
pub fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_body_is_shown_as_written() {
        assert_eq!(
            escape_markup("Re: <img src=\"x\"/> & <a href='y'>z</a>"),
            "Re: &lt;img src=\"x\"/&gt; &amp; &lt;a href='y'&gt;z&lt;/a&gt;"
        );
    }

    #[test]
    fn ordinals_read_naturally() {
        let got: Vec<_> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .map(ordinal)
            .to_vec();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }
}
