//! What the benchmarks (`tests/benches/`) share: their settings from the environment, a
//! percentile, the load average, and the server built as `tumaini serve` builds it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::HttpServer;
use tumaini_api::config::Config;
use tumaini_api::jobs::audit_sealer::AuditSealer;
use tumaini_db::vault::Vault;
use tumaini_db::{PoolOptions, build_pool};

/// A whole-number setting of a benchmark from the environment, or `default`.
pub fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `p` percentile (0 to 1) of sorted durations; zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into the list, within its length"
    )]
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), for the report.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The application served over HTTP on a loopback port as `tumaini serve` builds it (its
/// pool of `config.db_pool_size`, `config.workers` actix workers, the audit sealer running, as
/// in production: sealing is part of what an audited request costs), without the mail and
/// deadline workers. Stopped when dropped.
#[derive(Debug)]
pub struct ServedApp {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
    sealer: Option<AuditSealer>,
}

impl ServedApp {
    /// Builds and starts it; panics on any failure (a benchmark stops loudly).
    pub fn start(config: &Config) -> ServedApp {
        let pool = build_pool(
            &config.database_url,
            PoolOptions {
                max_size: config.db_pool_size,
                ..PoolOptions::default()
            },
        )
        .expect("database pool");
        let vault = Arc::new(Vault::new(
            tumaini_api::keyring::key_provider(config).expect("master key"),
        ));
        vault
            .check(&mut pool.get().expect("a connection"))
            .expect("the vault's key");
        let state = tumaini_api::AppState::new(pool.clone(), config)
            .expect("application state")
            .with_vault(vault);
        let sealer = AuditSealer::start(
            pool,
            Arc::clone(&state.audit_signer),
            &config.audit,
            config.public_url.clone(),
            state.metrics.clone(),
        )
        .expect("audit sealer");
        let workers = config.workers;
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let mut server = HttpServer::new(move || {
                    tumaini_api::build_app(
                        state.clone(),
                        |_: &mut actix_web::web::ServiceConfig| {},
                    )
                })
                .shutdown_timeout(5);
                if let Some(workers) = workers {
                    server = server.workers(workers);
                }
                let server = server.bind("127.0.0.1:0").expect("a loopback port");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle())).expect("the starter waits");
                server.await.expect("the server runs");
            });
        });
        let (addr, handle) = rx.recv().expect("the server started");
        ServedApp {
            addr,
            handle,
            thread: Some(thread),
            sealer: Some(sealer),
        }
    }
}

impl Drop for ServedApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(mut sealer) = self.sealer.take() {
            sealer.stop();
        }
    }
}
