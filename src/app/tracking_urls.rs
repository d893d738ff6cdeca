//! What the reader shows for one message: the rendered mail and, for a mail the user sent
//! tracked, its tracking URLs — per recipient the pixel URL and each link's tracked URL, the
//! same report `tidings show` prints ([`crate::tracking::client::send::tracking_report`]) — so a user
//! can open a pixel in a browser and watch the open arrive. Bounded for mails with many
//! recipients or links.

use crate::mail::render::Rendered;
use crate::sanitize::sanitize_line;

/// Lines of tracking URLs the reader shows at most; the rest are counted.
pub const MAX_TRACKING_LINES: usize = 40;
/// Characters of one line shown at most (a registered link may be very long).
const MAX_LINE_CHARS: usize = 500;

/// One line of the tracking section, terminal-safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackingLine {
    /// A recipient, or what a URL below is for (`pixel:`, `link to https://…:`).
    Label(String),
    /// A URL alone on its line, so it can be copied whole.
    Url(String),
}

/// The tracking section of a sent tracked mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackingUrls {
    pub lines: Vec<TrackingLine>,
    /// Lines left out beyond [`MAX_TRACKING_LINES`].
    pub omitted: usize,
}

/// A message as the reader shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderContent {
    pub message: Rendered,
    /// Set only for a mail sent tracked from this cache.
    pub tracking: Option<TrackingUrls>,
    /// (tracker redirect URL, where it leads) of a tracked mail the user sent: the link list
    /// shows the target.
    pub link_targets: Vec<(String, String)>,
    /// Every header as received (name, value unfolded and sanitized), for the reader's `H`.
    pub all_headers: Vec<(String, String)>,
}

impl ReaderContent {
    /// What the reader says when a message cannot be loaded.
    pub fn unreadable(reason: &str) -> ReaderContent {
        ReaderContent {
            message: Rendered {
                body: format!("This message cannot be shown: {reason}"),
                ..Default::default()
            },
            tracking: None,
            link_targets: Vec::new(),
            all_headers: Vec::new(),
        }
    }
}

impl std::ops::Deref for ReaderContent {
    type Target = Rendered;

    fn deref(&self) -> &Rendered {
        &self.message
    }
}

/// The report without its title, at most [`MAX_TRACKING_LINES`] lines. The report's
/// `label: URL` lines become a label line and a URL line: a URL is longer than the reader is
/// wide, and wrapped mid-line it could not be copied.
pub fn bounded(report: &str) -> TrackingUrls {
    let mut lines = report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Tracking")
        .flat_map(split_url);
    let shown: Vec<TrackingLine> = lines.by_ref().take(MAX_TRACKING_LINES).collect();
    TrackingUrls {
        lines: shown,
        omitted: lines.count(),
    }
}

/// `pixel: URL`, `link: URL -> TARGET`, `opt-out: URL` → label and URL; anything else (a
/// recipient, a note) stays one label.
fn split_url(line: &str) -> Vec<TrackingLine> {
    let safe = |s: &str| {
        let text = sanitize_line(s.trim());
        match text.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    };
    if let Some(rest) = line.strip_prefix("link:") {
        if let Some((url, target)) = rest.split_once(" -> ") {
            return vec![
                TrackingLine::Label(format!("  link to {}", safe(target))),
                TrackingLine::Url(safe(url)),
            ];
        }
    }
    for label in ["pixel:", "opt-out:"] {
        if let Some(url) = line.strip_prefix(label) {
            return vec![
                TrackingLine::Label(format!("  {label}")),
                TrackingLine::Url(safe(url)),
            ];
        }
    }
    vec![TrackingLine::Label(safe(line))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_report_is_cut_and_counted_and_made_safe() {
        let mut report = String::from("\nTracking\n");
        for i in 0..30 {
            report.push_str(&format!("  r{i}@x.test\n    pixel: http://t/p/{i}.gif\n"));
        }
        report.push_str("    link:  http://t/l/a -> https://evil.test/\x1b[2J\n");
        let t = bounded(&report);
        assert_eq!(t.lines.len(), MAX_TRACKING_LINES);
        assert_eq!(t.omitted, 92 - MAX_TRACKING_LINES);
        assert_eq!(t.lines[0], TrackingLine::Label("r0@x.test".into()));
        assert_eq!(t.lines[1], TrackingLine::Label("  pixel:".into()));
        assert_eq!(t.lines[2], TrackingLine::Url("http://t/p/0.gif".into()));
        let short = bounded("\nTracking\n    link:  http://t/l/a -> https://e.test/\x1b[2J\n");
        assert_eq!(short.lines[1], TrackingLine::Url("http://t/l/a".into()));
        let TrackingLine::Label(target) = &short.lines[0] else {
            panic!("{:?}", short.lines)
        };
        assert!(target.starts_with("  link to https://e.test/") && !target.contains('\x1b'));
        let long = bounded(&format!("  {}\n", "u".repeat(2000)));
        assert_eq!(
            long.lines[0],
            TrackingLine::Label(format!("{}…", "u".repeat(MAX_LINE_CHARS)))
        );
    }
}
