//! The tracker server, what `tidings tracker serve` runs: the HTTP endpoints ([`http`]) for pixels,
//! links, opt-outs and the API, its databases ([`db`]: SQLite or PostgreSQL) and the rules that tell
//! a person from a proxy or a machine ([`classify`]). Shares only [`super::wire`] and
//! [`super::token`] with the client.

pub mod classify;
#[cfg(test)]
mod corpus_tests;
pub mod db;
#[cfg(test)]
mod hardening_tests;
pub mod http;

pub use http::{
    check_ready, metrics_router, serve, serve_app, serve_with_limits, spawn_readiness_watch,
    ConnectionLimits, Metrics, ServerOptions,
};
