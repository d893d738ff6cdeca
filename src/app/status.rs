//! The status bar's messages over time: each one shown is logged (errors marked), and fades after
//! [`STATUS_SECONDS`] (errors after [`ERROR_SECONDS`]) or at the next key, so the bar goes back
//! to the folder and the help hint. The log keeps the last [`LOG_LIMIT`] for the message log
//! (`L`), where an error that faded is still there to read.

use std::collections::VecDeque;

/// How long a notice stays in the status bar.
pub const STATUS_SECONDS: i64 = 5;
/// How long an error stays: longer, it may need reading.
pub const ERROR_SECONDS: i64 = 15;
/// Messages the log keeps.
pub const LOG_LIMIT: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Unix seconds (the app's clock) when it was shown.
    pub at: i64,
    pub text: String,
    pub error: bool,
}

#[derive(Debug, Clone, Default)]
pub struct MessageLog {
    pub entries: VecDeque<LogEntry>,
    /// When the status and the error now shown went up.
    pub(crate) status_since: Option<i64>,
    pub(crate) error_since: Option<i64>,
}

impl MessageLog {
    pub(crate) fn push(&mut self, at: i64, text: &str, error: bool) {
        if self.entries.len() == LOG_LIMIT {
            self.entries.pop_front();
        }
        self.entries.push_back(LogEntry {
            at,
            text: text.to_string(),
            error,
        });
    }
}
