//! Everything `tidings demo` runs, in one place and nowhere else: one run of it ([`session`]:
//! the demo dir, its servers, the configuration handed to the inbox), who is in it ([`people`]),
//! the sample mailbox ([`mailbox`]), the SMTP receiver that files mail sent in the demo
//! ([`smtp`]), the in-process tracker ([`tracker`]) with its scripted traffic ([`traffic`]), and
//! the offline Superdata sources ([`superdata`]). The rest of the program sees only ordinary
//! configuration and data.

pub mod mailbox;
pub mod people;
pub mod session;
pub mod smtp;
pub mod superdata;
pub mod tracker;
pub mod traffic;
