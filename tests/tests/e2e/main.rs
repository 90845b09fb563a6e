//! End-to-end tests: real databases (SQLite and PostgreSQL), real HTTP, the real binary.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed set-up or request must stop the test loudly"
)]

mod auth;
mod binary;
mod cases;
mod http;
mod mail;
mod matrix;
mod migrations;
mod openapi;
mod storage;
mod vault;
