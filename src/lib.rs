//! tidings: a keyboard-driven terminal inbox that tells you when your mail is read.
//!
//! Layers, with arrows pointing one way: `ui → app → {mail, tracking, superdata, store}`.
//! `cli` is an edge like `ui`: it parses arguments and calls into the layers below.

pub mod accounts;
pub mod address;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod logging;
pub mod mail;
pub mod message_id;
pub mod notify;
pub mod private_files;
pub mod sanitize;
pub mod secrets;
pub mod store;
pub mod superdata;
pub mod tracking;
pub mod tracking_event;
pub mod ui;
