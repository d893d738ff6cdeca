//! The one integration-test binary: each area's tests live in `integration/<area>.rs`, the
//! servers they talk to in `support/<server>.rs`.

mod support;

#[path = "integration/cli_mail.rs"]
mod cli_mail;
#[path = "integration/sync.rs"]
mod sync;
