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
        // The server's warnings and errors (a 500's cause) on standard output, beside the
        // figures; `BENCH_LOG` sets another filter.
        tumaini_api::telemetry::init(
            tumaini_api::config::LogFormat::Pretty,
            &std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".to_owned()),
        );
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

/// What a constant-rate load measured.
#[derive(Debug, Clone)]
pub struct OpenLoop {
    /// The rate asked for, per second.
    pub rate: f64,
    /// Requests sent.
    pub sent: usize,
    /// Requests that failed (a wrong answer or no answer): none in a valid run.
    pub failed: usize,
    /// Latencies of those that completed, sorted, each from its *scheduled* start: a request
    /// the load could not send on time (all `in_flight` slots taken) waits, and the wait counts
    /// (no coordinated omission, as wrk2 and `oha -q` measure).
    pub latencies: Vec<Duration>,
}

impl OpenLoop {
    /// `name: rate, p50, p99, p99.9, max` on one line.
    pub fn print(&self, name: &str) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name} at a constant {:.1}/s: {} sent, {} completed, {} failed, p50 {:.2} ms, p99 \
             {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
            self.rate,
            self.sent,
            self.latencies.len(),
            self.failed,
            ms(percentile(&self.latencies, 0.5)),
            ms(percentile(&self.latencies, 0.99)),
            ms(percentile(&self.latencies, 0.999)),
            ms(self.latencies.last().copied().unwrap_or_default()),
        );
    }
}

/// A constant-rate (open-loop) load: request `k` is due at `k / rate` seconds after the start,
/// whether or not earlier ones have completed, for `window`; at most `in_flight` at once (a
/// request due while all are busy is sent when one frees, and its latency still counts from
/// when it was due). `request(k)` sends one and panics on a wrong answer.
pub async fn open_loop<F, Fut>(
    rate: f64,
    window: Duration,
    in_flight: usize,
    request: F,
) -> OpenLoop
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
    let start = tokio::time::Instant::now();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a count of requests in a bounded window"
    )]
    let total = (rate * window.as_secs_f64()) as u64;
    let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for k in 0..total {
        #[expect(clippy::cast_precision_loss, reason = "request numbers stay small")]
        let due = start + Duration::from_secs_f64(k as f64 / rate);
        tokio::time::sleep_until(due).await;
        let permit = Arc::clone(&slots)
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the semaphore is never closed"));
        let sending = request(k);
        tasks.push(tokio::spawn(async move {
            sending.await;
            drop(permit);
            due.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failed = 0;
    for task in tasks {
        match task.await {
            Ok(latency) => latencies.push(latency),
            Err(_) => failed += 1,
        }
    }
    latencies.sort();
    let measured = OpenLoop {
        rate,
        sent: usize::try_from(total).unwrap_or(0),
        failed,
        latencies,
    };
    // A failed request has no latency: leaving it out would flatter the tail.
    assert_eq!(
        measured.failed, 0,
        "{} of {} requests failed at a constant {rate:.1}/s",
        measured.failed, measured.sent
    );
    measured
}
