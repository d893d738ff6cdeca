//! The timeline of one tracked mail, as Enter in the Tracked filter shows it in the reader's
//! place: a summary per recipient (opens, first and last open, clicks per link) and every event,
//! newest first, with its classification. Loaded off the UI loop; reloaded when the poller stores
//! new events. Also the words both tracking panes use for a classification and a time.

// The records the tracking panes draw, so `ui` reads them from here.
pub use crate::store::{ActivityEvent, MessageTimeline, RecipientTimeline};
pub use crate::tracking_event::{Classification, Confidence, EventKind};

/// The open timeline pane.
#[derive(Debug, Clone)]
pub struct TimelineView {
    pub account: String,
    /// With angle brackets.
    pub message_id: String,
    /// The list's subject, shown while the timeline loads.
    pub subject: String,
    /// `None` while loading; the error when it could not be read.
    pub data: Option<Result<MessageTimeline, String>>,
    pub scroll: u16,
}

impl TimelineView {
    pub fn new(account: &str, message_id: &str, subject: &str) -> TimelineView {
        TimelineView {
            account: account.to_string(),
            message_id: crate::message_id::bracketed(message_id),
            subject: subject.to_string(),
            data: None,
            scroll: 0,
        }
    }

    /// The subject to title the pane with.
    pub fn title(&self) -> &str {
        match &self.data {
            Some(Ok(t)) if !t.subject.trim().is_empty() => &t.subject,
            _ if !self.subject.trim().is_empty() => &self.subject,
            _ => "(no subject)",
        }
    }
}

/// Removes what a hostile tracker could have put in an event's text (escape sequences, control
/// characters) before a pane shows it.
pub fn sanitize_event(e: &mut ActivityEvent) {
    let clean = crate::sanitize::sanitize_line;
    e.recipient = clean(&e.recipient);
    e.name = clean(&e.name);
    e.url = e.url.as_deref().map(clean);
    e.user_agent = clean(&e.user_agent);
    e.reason = clean(&e.reason);
    e.client = clean(&e.client);
    e.subject = clean(&e.subject);
    e.message_id = clean(&e.message_id);
}

pub fn sanitize_timeline(t: &mut MessageTimeline) {
    let clean = crate::sanitize::sanitize_line;
    t.subject = clean(&t.subject);
    for r in &mut t.recipients {
        r.address = clean(&r.address);
        r.name = clean(&r.name);
        for (url, _) in &mut r.clicks_by_link {
            *url = clean(url);
        }
    }
    t.events.iter_mut().for_each(sanitize_event);
    for r in &mut t.replies {
        r.replied_by = clean(&r.replied_by);
        r.replied_by_name = clean(&r.replied_by_name);
    }
}

/// "Dana Lee <dana@acme.test>", or the address alone.
pub fn person(name: &str, address: &str) -> String {
    if name.trim().is_empty() {
        address.to_string()
    } else {
        format!("{name} <{address}>")
    }
}

/// The name, else the address: who, in a line that is short of room.
pub fn short_person(name: &str, address: &str) -> String {
    if name.trim().is_empty() {
        address.to_string()
    } else {
        name.to_string()
    }
}

/// What a classification means for the user, with its reason: "human", "proxy — Google image
/// proxy, cached: later opens invisible", "automated — Apple Mail Privacy Protection …".
pub fn classification_label(c: Classification, reason: &str, user_agent: &str) -> String {
    match c {
        Classification::Human => "human".into(),
        Classification::Proxy if user_agent.to_ascii_lowercase().contains("googleimageproxy") => {
            "proxy — Gmail's image proxy, cached: later opens invisible".into()
        }
        Classification::Proxy if reason.is_empty() => {
            "proxy — cached: later opens may be invisible".into()
        }
        Classification::Proxy => format!("proxy — {reason}"),
        Classification::Automated if reason.is_empty() => "automated".into(),
        Classification::Automated => format!("automated — {reason}"),
    }
}

/// An event's verdict in words, for one column: "human — Outlook on Windows from an ordinary
/// network, no scanner signs (likely)", "automated — Microsoft Defender Safe Links: … (certain)".
pub fn verdict_label(e: &ActivityEvent) -> String {
    let class = e.classification.as_str();
    match verdict_note(e) {
        Some(detail) => format!("{class} — {detail}"),
        None => classification_label(e.classification, &e.reason, &e.user_agent),
    }
}

/// What the verdict rests on, for a line under the event: the client (unless the reason names
/// it), the reason, and how sure the tracker is. `None` for an event that carries neither client
/// nor reason (stored before the tracker gave them).
pub fn verdict_note(e: &ActivityEvent) -> Option<String> {
    let reason = match e.classification {
        Classification::Human => e.reason.trim().to_string(),
        c => classification_note(c, &e.reason, &e.user_agent).unwrap_or_default(),
    };
    let client = e.client.trim();
    let detail = if client.is_empty() || reason.contains(client) {
        reason
    } else if reason.is_empty() {
        client.to_string()
    } else {
        format!("{client}: {reason}")
    };
    (!detail.is_empty()).then(|| format!("{detail} ({})", e.confidence.as_str()))
}

/// What a machine or proxy event means, for a line of its own under it: `None` for a person.
pub fn classification_note(c: Classification, reason: &str, user_agent: &str) -> Option<String> {
    classification_label(c, reason, user_agent)
        .split_once(" — ")
        .map(|(_, note)| note.to_string())
}

/// A time of day today, else the date and time: "14:05", "28 Nov 09:12", "2025-03-01 09:12".
pub fn event_time(ts: i64, now: i64, utc_offset_secs: i32) -> String {
    let Some((d, n)) = super::dates::local_pair(ts, now, utc_offset_secs) else {
        return String::new();
    };
    if d.date_naive() == n.date_naive() {
        d.format("%H:%M").to_string()
    } else if d.format("%Y").to_string() == n.format("%Y").to_string() {
        d.format("%d %b %H:%M").to_string()
    } else {
        d.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// One recipient's summary line: "2 opens · first 09:10 · last 14:05 · 1 click".
pub fn recipient_summary(r: &RecipientTimeline, now: i64, utc_offset_secs: i32) -> String {
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    if r.opens == 0 {
        parts.push("not opened".to_string());
    } else {
        parts.push(plural(r.opens, "open"));
        if let Some(t) = r.first_open {
            parts.push(format!("first {}", event_time(t, now, utc_offset_secs)));
        }
        if r.last_open != r.first_open {
            if let Some(t) = r.last_open {
                parts.push(format!("last {}", event_time(t, now, utc_offset_secs)));
            }
        }
    }
    if r.clicks > 0 {
        parts.push(plural(r.clicks, "click"));
    }
    if r.automated > 0 {
        parts.push(format!("{} automated", r.automated));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_say_what_a_machine_or_proxy_open_means() {
        assert_eq!(classification_label(Classification::Human, "", ""), "human");
        let gmail = classification_label(
            Classification::Proxy,
            "Gmail image proxy",
            "Mozilla/5.0 (via ggpht.com GoogleImageProxy)",
        );
        assert!(gmail.contains("cached: later opens invisible"), "{gmail}");
        let apple = classification_label(
            Classification::Automated,
            "Apple Mail Privacy Protection prefetch",
            "Mozilla/5.0",
        );
        assert_eq!(apple, "automated — Apple Mail Privacy Protection prefetch");
    }

    fn event(
        class: Classification,
        confidence: Confidence,
        client: &str,
        reason: &str,
    ) -> ActivityEvent {
        ActivityEvent {
            account: "w".into(),
            event_id: 1,
            at: 0,
            kind: EventKind::Open,
            recipient: "dana@acme.test".into(),
            name: "Dana Lee".into(),
            url: None,
            user_agent: String::new(),
            classification: class,
            reason: reason.into(),
            message_id: "<a@b>".into(),
            subject: "S".into(),
            unread: false,
            confidence,
            client: client.into(),
        }
    }

    #[test]
    fn every_verdict_shows_its_client_reason_and_confidence() {
        let person = event(
            Classification::Human,
            Confidence::Likely,
            "Outlook on Windows",
            "Outlook on Windows from an ordinary network, no scanner signs",
        );
        assert_eq!(
            verdict_label(&person),
            "human — Outlook on Windows from an ordinary network, no scanner signs (likely)"
        );
        let scanner = event(
            Classification::Automated,
            Confidence::Certain,
            "Microsoft Defender Safe Links",
            "from Microsoft's mail protection network: a scanner, not the recipient",
        );
        assert_eq!(
            verdict_note(&scanner).unwrap(),
            "Microsoft Defender Safe Links: from Microsoft's mail protection network: a scanner, \
             not the recipient (certain)"
        );
        // An event stored before verdicts had reasons says only what it is.
        let old = event(Classification::Human, Confidence::Likely, "", "");
        assert_eq!(verdict_note(&old), None);
        assert_eq!(verdict_label(&old), "human");
        let client_only = event(Classification::Human, Confidence::Likely, "Thunderbird", "");
        assert_eq!(verdict_label(&client_only), "human — Thunderbird (likely)");
    }

    #[test]
    fn hostile_event_text_is_made_inert() {
        let mut e = ActivityEvent {
            account: "w".into(),
            event_id: 1,
            at: 0,
            kind: crate::tracking_event::EventKind::Click,
            recipient: "x@y.test".into(),
            name: "Eve\u{1b}]0;pwned\u{7}".into(),
            url: Some("https://y.test/\u{1b}[2J".into()),
            user_agent: String::new(),
            classification: Classification::Human,
            reason: String::new(),
            message_id: "<a@b>".into(),
            subject: "S".into(),
            unread: false,
            confidence: Default::default(),
            client: "Evil\u{1b}[2J".into(),
        };
        sanitize_event(&mut e);
        assert!(crate::sanitize::is_terminal_safe(&e.name), "{:?}", e.name);
        assert!(
            crate::sanitize::is_terminal_safe(&e.client),
            "{:?}",
            e.client
        );
        assert!(crate::sanitize::is_terminal_safe(e.url.as_deref().unwrap()));
    }
}
