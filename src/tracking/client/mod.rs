//! The tracking client, used by the inbox: [`rewrite`] turns a mail into per-recipient tracked
//! copies, [`api`] talks to the tracker's HTTP API, [`send`] plans tracked deliveries for the
//! outbox (consent, remembered choices, registration before the mail leaves), and [`poller`]
//! brings events into the local store and raises notifications.

pub mod api;
pub mod poller;
pub mod rewrite;
pub mod send;

impl rewrite::TrackedCopy {
    /// What the tracker must learn about this copy: its recipient and tokens.
    pub fn registration(&self, address: &str) -> super::wire::RecipientRegistration {
        super::wire::RecipientRegistration {
            address: address.to_string(),
            token: self.recipient_token.clone(),
            links: self.links.clone(),
        }
    }
}
