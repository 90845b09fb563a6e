//! Tumaini's API service: the `tumaini` command line, the actix-web application, its
//! configuration and the rules that sit between HTTP and storage.
//!
//! Handlers are thin: parse, authorise, call a workflow function, shape the response. All SQL
//! lives in `tumaini-db`.

pub mod accounts;
pub mod audit;
pub mod audit_trail;
pub mod auth;
pub mod authz;
pub mod cases;
pub mod cli;
pub mod config;
pub mod deadline_scan;
pub mod housekeeping;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod mail;
pub mod routes;
pub mod seed;
pub mod server;
pub mod statistics;
pub mod telemetry;
pub mod workflow;

pub use config::Config;
pub use server::{AppState, build_app};
