//! Harnesses for the servers the integration tests start (one file per server).
