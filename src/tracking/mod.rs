//! Email open and link tracking, as two programs that share only the wire format:
//!
//! - [`server`] is what `tidings tracker serve` runs: the HTTP endpoints for pixels, links and the
//!   API, the tracker's own databases (SQLite or PostgreSQL) and machine-open classification.
//! - [`client`] is what the inbox uses: the per-recipient rewriting of a mail into tracked copies,
//!   registration through the API, tracked sending as the outbox's planner, and the poller that
//!   brings events into the local store.
//!
//! [`wire`] holds the API's JSON types and limits, [`token`] the shape of tokens; both sides use
//! them, and neither side imports the other. Knows nothing of the screen.
//!
//! The composer/outbox uses it like this, once per recipient of a tracked mail:
//! [`client::rewrite::rewrite_for_recipient`] → send that copy; collect
//! [`TrackedCopy::registration`](client::rewrite::TrackedCopy::registration) for every recipient
//! into a [`wire::Registration`] and [`client::api::TrackerClient::register_message`] it before
//! the mail leaves.

pub mod client;
pub mod server;
pub mod token;
pub mod wire;
