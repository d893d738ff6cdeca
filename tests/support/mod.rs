//! Harnesses that start real servers on 127.0.0.1 for the integration tests.

#![allow(dead_code)]

pub mod postgres;
pub mod tracker;
