//! Tumaini's API service: the `tumaini` command line, the actix-web application, its
//! configuration and the rules that sit between HTTP and storage.
//!
//! The layers, each depending only on those below it (`docs/architecture.md` has the map):
//! - `routes/` and `http/`: handlers parse the request into typed input, call one service
//!   function and shape the reply; `server` builds the application and runs it; `cli` is the
//!   command line.
//! - services: `cases`, `referrals`, `accounts`, `notifications`, `audit`, `statistics`, each
//!   the one home of its rules; `guarded` is the one path every policy-decided action takes.
//! - `jobs/`: the background work (the outbox, the deadline scanner, the audit sealer,
//!   housekeeping), which calls services, never handlers.
//! - `rules/` (pure domain rules: consent, deadlines, lifecycle, screening), `authz` (the Cedar
//!   policies), `auth` (sign-in and tokens), `config`, `keyring`, `state`.
//!
//! All SQL lives in `tumaini-db`; this crate does not depend on diesel.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod cases;
pub mod cli;
pub mod config;
pub mod guarded;
pub mod http;
pub mod jobs;
pub mod keyring;
pub mod notifications;
pub mod referrals;
pub mod routes;
pub mod rules;
pub mod server;
pub mod state;
pub mod statistics;
pub mod telemetry;

pub use config::Config;
pub use server::build_app;
pub use state::AppState;
