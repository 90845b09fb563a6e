//! End-to-end tests: real databases (SQLite and PostgreSQL), real HTTP, the real binary.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a failed set-up or request must stop the test loudly"
)]

mod api_clients;
mod assignments;
mod audit_actions;
mod audit_trail;
mod auth;
mod binary;
mod break_glass;
mod cases;
mod clients;
mod console_browser;
mod console_cases;
mod console_oversight;
mod console_referrals;
mod console_security;
mod crash;
mod directory;
mod docs_links;
mod documents;
mod documents_matrix;
mod faults;
mod history;
mod http;
mod lifecycle;
mod mail;
mod matrix;
mod metrics;
mod migrations;
mod nrm;
mod openapi;
mod plaintext;
mod referrals;
mod restore;
mod resumable;
mod statistics;
mod storage;
mod subject_access;
mod tamper;
mod transfers;
mod trust_boundaries;
mod vault;
mod walkthrough;
mod webhooks;
mod work;
