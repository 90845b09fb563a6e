//! Tumaini's API service: the `tumaini` command line, the actix-web application, its
//! configuration and the rules that sit between HTTP and storage.
//!
//! The layers, each depending only on those below it (`docs/architecture.md` has the map):
//! - `routes/` and `http/`: handlers parse the request into typed input, call one service
//!   function and shape the reply; `server` builds the application and runs it; `cli` is the
//!   command line.
//! - services: `cases`, `referrals`, `accounts`, `notifications`, `audit`, `statistics`,
//!   `webhooks`, each
//!   the one home of its rules; `guarded` is the one path every policy-decided action takes.
//! - `jobs/`: the background work (the outbox, webhook deliveries, the deadline scanner, the
//!   audit sealer, housekeeping), which calls services, never handlers.
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
pub mod clients;
pub mod config;
pub mod console;
pub mod documents;
pub mod guarded;
pub mod http;
pub mod jobs;
pub mod keyring;
pub mod metrics;
pub mod notifications;
pub mod referrals;
pub mod retention;
pub mod routes;
pub mod rules;
pub mod server;
pub mod state;
pub mod statistics;
pub mod telemetry;
pub mod transfers;
pub mod webhooks;
pub mod work;

pub use config::Config;
pub use server::{build_app, build_metrics_app};
pub use state::AppState;

#[cfg(test)]
mod layering {
    //! The dependency direction, checked on the sources: services, jobs and the rules below
    //! them never reach up into the HTTP handlers, the server or the command line; and this
    //! crate has no diesel dependency, so no SQL can be written outside `tumaini-db`.

    use std::path::{Path, PathBuf};

    /// Modules that may use `routes`, `server` and `cli`: the top of the stack.
    const TOP: &[&str] = &["routes", "server.rs", "cli", "lib.rs", "main.rs"];
    /// What nothing below the top may name.
    const UPWARD: &[&str] = &[
        "crate::routes",
        "super::routes",
        "crate::server",
        "crate::cli",
        "tumaini_api::routes",
    ];

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn services_and_jobs_never_import_the_handlers() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let mut checked = 0;
        let mut offences = Vec::new();
        for file in &files {
            let relative = file.strip_prefix(&root).unwrap_or(file);
            let first = relative
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .unwrap_or_default();
            if TOP.contains(&first.as_str()) {
                continue;
            }
            checked += 1;
            let text = std::fs::read_to_string(file).unwrap_or_default();
            for (number, line) in text.lines().enumerate() {
                if UPWARD.iter().any(|upward| line.contains(upward)) {
                    offences.push(format!(
                        "{}:{}: {}",
                        relative.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
        assert!(
            checked > 40,
            "only {checked} files checked: the walk found too few"
        );
        assert!(
            offences.is_empty(),
            "reaching up into the handlers:\n{}",
            offences.join("\n")
        );
    }

    #[test]
    fn the_api_crate_does_not_depend_on_diesel() {
        let manifest =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
                .unwrap_or_default();
        assert!(
            manifest.contains("[dependencies]"),
            "the manifest was not read"
        );
        assert!(
            !manifest
                .lines()
                .any(|line| line.trim_start().starts_with("diesel")),
            "tumaini-api depends on diesel: SQL belongs in tumaini-db"
        );
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let users: Vec<String> = files
            .iter()
            .filter(|f| {
                std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .contains(concat!("diesel", "::"))
            })
            .map(|f| f.display().to_string())
            .collect();
        assert!(users.is_empty(), "diesel named in {users:?}");
    }
}
