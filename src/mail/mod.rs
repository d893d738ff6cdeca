//! Mail protocols and formats: IMAP sync and operations, SMTP and the outbox, MIME parsing,
//! building and rendering, folder names. Knows the store; knows nothing of the screen.

pub mod account;
pub mod bodies;
pub mod compose;
pub mod credentials;
pub mod drafts;
pub mod fetch;
pub mod filing;
pub mod hidden_html;
pub mod html_depth;
pub mod imap;
pub mod local_mailbox;
pub mod mailbox_name;
pub mod mime_repair;
pub mod oauth2;
pub mod ops;
pub mod outbox;
pub mod parse;
pub mod render;
pub mod replies;
pub mod smtp;
pub mod snooze;
pub mod sync;
