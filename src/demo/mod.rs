//! Everything `tidings demo` runs, in one place and nowhere else: the sample mailbox
//! ([`mailbox`]), the SMTP receiver that files mail sent in the demo ([`smtp`]), the in-process
//! tracker ([`tracker`]) with its scripted traffic ([`traffic`]), and the offline Superdata sources
//! ([`superdata`]). The rest of the program sees only ordinary configuration and data.

pub mod mailbox;
pub mod smtp;
pub mod superdata;
pub mod tracker;
pub mod traffic;
