//! Email open and link tracking: tokens, the pure rewriting of a mail into per-recipient tracked
//! copies, machine-open classification, the tracker's storage and HTTP server, and the client for
//! its API, and the poller that brings events into the local store. Knows nothing of the screen.
//!
//! The composer/outbox uses it like this, once per recipient of a tracked mail:
//! [`rewrite::rewrite_for_recipient`] → send that copy; collect
//! [`TrackedCopy::registration`](rewrite::TrackedCopy::registration) for every recipient into a
//! [`db::Registration`] and [`api::TrackerClient::register_message`] it before the mail leaves.

pub mod api;
pub mod classify;
pub mod db;
pub mod demo_seed;
pub mod embedded;
pub mod poller;
pub mod rewrite;
pub mod send;
pub mod server;
pub mod token;

impl rewrite::TrackedCopy {
    /// What the tracker must learn about this copy: its recipient and tokens.
    pub fn registration(&self, address: &str) -> db::RecipientRegistration {
        db::RecipientRegistration {
            address: address.to_string(),
            token: self.recipient_token.clone(),
            links: self.links.clone(),
        }
    }
}
