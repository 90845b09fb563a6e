//! Monitoring: the Prometheus metrics of one server process and the scrape of `/metrics`.
//!
//! Every label comes from a fixed, small set (route patterns of the route table, HTTP methods,
//! status codes, named reasons and outcomes), never from a request's content: no id, e-mail
//! address or personal value can reach a label or a value. Counters count in this process
//! (Prometheus adds up the replicas); the figures of the database (the outbox backlog,
//! unsealed audit events, overdue decisions, locked accounts) are read at scrape time through
//! `tumaini_db::models::monitoring`, at most once every [`BACKLOG_TTL`], and are the same in
//! every replica. Each [`Metrics`] has a registry of its own, so several servers in one process
//! (the tests) never mix their figures.

mod requests;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus::core::Collector;
use prometheus::{
    Encoder as _, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tumaini_db::models::monitoring::Backlog;
use tumaini_db::time::now_utc;
use tumaini_db::{Pool, PoolObserver};

use crate::config::MetricsSettings;
use crate::http::{ApiError, ProblemType, with_conn};

pub use requests::track_requests;

/// The media type of the exposition: Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// How long figures read from the database are reused between scrapes.
pub const BACKLOG_TTL: Duration = Duration::from_secs(5);

/// Latency buckets of HTTP requests, in seconds.
const REQUEST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Buckets of the wait for a database connection, in seconds.
const POOL_WAIT_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0,
];

/// Which listener a scrape arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// The API's own listener (`TUMAINI_BIND`).
    Main,
    /// The listener of its own (`TUMAINI_METRICS_BIND`).
    Dedicated,
}

/// Why a sign-in was refused, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFailure {
    /// Wrong or unknown address, wrong password or second factor, locked or disabled account:
    /// the one `invalid-credentials` answer.
    InvalidCredentials,
    /// Too many attempts from the client's address.
    RateLimited,
}

impl SignInFailure {
    const fn label(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// How a background round or attempt ended, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did its work.
    Ok,
    /// It failed (the reason is in the log).
    Failed,
}

impl Outcome {
    const fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
        }
    }

    /// `Ok` or `Failed` after a result.
    pub fn of<T, E>(result: &Result<T, E>) -> Self {
        if result.is_ok() {
            Self::Ok
        } else {
            Self::Failed
        }
    }
}

/// The metrics of one server: cheap to clone, shared by the handlers, the middleware, the
/// pool and the jobs.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("settings", &self.0.settings)
            .finish_non_exhaustive()
    }
}

struct Inner {
    registry: Registry,
    settings: MetricsSettings,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    pool_wait: Arc<PoolWait>,
    outbox_pending: IntGauge,
    outbox_oldest_age: Gauge,
    outbox_failing: IntGauge,
    outbox_attempts: IntCounterVec,
    audit_unsealed: IntGauge,
    audit_checkpoint_age: Gauge,
    audit_seal_rounds: IntCounterVec,
    deadline_scans: IntCounterVec,
    deadline_marks: IntCounter,
    nrm_overdue: IntGaugeVec,
    sign_in_failures: IntCounterVec,
    account_locks: IntCounter,
    accounts_locked: IntGauge,
    misuse_alerts: IntCounter,
    break_glass_openings: IntCounter,
    database_up: IntGauge,
    /// When the database's figures were last read (or a read was started).
    backlog_read_at: Mutex<Option<Instant>>,
    /// When the audit sealer last finished a round without error (at first: when these
    /// metrics were made, so that a sealer that never succeeds shows as lagging).
    last_seal_ok: Mutex<Instant>,
}

/// The wait for database connections, fed by the pool.
#[derive(Debug)]
struct PoolWait {
    wait: Histogram,
    timeouts: IntCounter,
}

impl PoolObserver for PoolWait {
    fn checked_out(&self, waited: Duration) {
        self.wait.observe(waited.as_secs_f64());
    }

    fn timed_out(&self, waited: Duration) {
        self.wait.observe(waited.as_secs_f64());
        self.timeouts.inc();
    }
}

/// Registers `collector` in `registry` and hands it back.
fn registered<C: Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> prometheus::Result<C> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    registered(registry, IntCounter::new(name, help)?)
}

fn counters(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    registered(registry, IntCounterVec::new(Opts::new(name, help), labels)?)
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    registered(registry, IntGauge::new(name, help)?)
}

impl Metrics {
    /// A fresh registry with every metric of the server, served as `settings` say.
    pub fn new(settings: &MetricsSettings) -> anyhow::Result<Self> {
        Ok(Self(Arc::new(Inner::new(settings.clone())?)))
    }

    /// The observer to hand the pool (`tumaini_db::PoolOptions::observer`): it times every
    /// wait for a connection.
    pub fn pool_observer(&self) -> Arc<dyn PoolObserver> {
        Arc::clone(&self.0.pool_wait) as Arc<dyn PoolObserver>
    }

    /// Where and how `/metrics` is served.
    pub fn settings(&self) -> &MetricsSettings {
        &self.0.settings
    }

    /// Counts one HTTP request: its route pattern (or `unmatched`), method, status, duration.
    pub fn request_served(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let status = status.to_string();
        self.0
            .http_requests
            .with_label_values(&[route, method, status.as_str()])
            .inc();
        self.0
            .http_duration
            .with_label_values(&[route, method])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a refused sign-in.
    pub fn sign_in_failed(&self, reason: SignInFailure) {
        self.0
            .sign_in_failures
            .with_label_values(&[reason.label()])
            .inc();
    }

    /// Counts an account locked after failed attempts.
    pub fn account_locked(&self) {
        self.0.account_locks.inc();
    }

    /// Counts a misuse alert raised.
    pub fn misuse_alert(&self) {
        self.0.misuse_alerts.inc();
    }

    /// Counts a break-glass opening.
    pub fn break_glass_opened(&self) {
        self.0.break_glass_openings.inc();
    }

    /// Counts one delivery attempt of the outbox.
    pub fn outbox_attempt(&self, outcome: Outcome) {
        self.0
            .outbox_attempts
            .with_label_values(&[outcome.label()])
            .inc();
    }

    /// Counts one round of the audit sealer, and remembers when one last succeeded (for
    /// readiness).
    pub fn seal_round(&self, outcome: Outcome) {
        self.0
            .audit_seal_rounds
            .with_label_values(&[outcome.label()])
            .inc();
        if outcome == Outcome::Ok
            && let Ok(mut last) = self.0.last_seal_ok.lock()
        {
            *last = Instant::now();
        }
    }

    /// How long since the audit sealer last finished a round without error.
    pub fn since_last_seal(&self) -> Duration {
        self.0
            .last_seal_ok
            .lock()
            .map_or(Duration::MAX, |last| last.elapsed())
    }

    /// Counts one round of the deadline scanner and the records it marked.
    pub fn deadline_scan(&self, outcome: Outcome, marked: usize) {
        self.0
            .deadline_scans
            .with_label_values(&[outcome.label()])
            .inc();
        self.0
            .deadline_marks
            .inc_by(u64::try_from(marked).unwrap_or(u64::MAX));
    }

    /// Reads the pool's state now.
    fn observe_pool(&self, pool: &Pool) {
        let state = pool.state();
        let idle = i64::from(state.idle_connections);
        let open = i64::from(state.connections);
        self.0
            .pool_connections
            .with_label_values(&["idle"])
            .set(idle);
        self.0
            .pool_connections
            .with_label_values(&["in_use"])
            .set(open.saturating_sub(idle));
        self.0.pool_max.set(i64::from(pool.max_size()));
    }

    /// Whether the figures of the database are due for a read; if so, marks them as being
    /// read, so that concurrent scrapes do not all query.
    fn backlog_due(&self) -> bool {
        let Ok(mut read_at) = self.0.backlog_read_at.lock() else {
            return true;
        };
        if read_at.is_some_and(|at| at.elapsed() < BACKLOG_TTL) {
            return false;
        }
        *read_at = Some(Instant::now());
        true
    }

    /// Reads the database's figures, unless read within [`BACKLOG_TTL`]. A failed read keeps
    /// the last figures and sets `tumaini_metrics_database_up` to 0.
    async fn refresh_backlog(&self, pool: &Pool) {
        if !self.backlog_due() {
            return;
        }
        let read = with_conn(pool, |conn| Ok(Backlog::read(conn, now_utc())?)).await;
        match read {
            Ok(backlog) => {
                self.set_backlog(&backlog);
                self.0.database_up.set(1);
            }
            Err(err) => {
                tracing::warn!(error = %err, "metrics: cannot read the database's figures");
                self.0.database_up.set(0);
            }
        }
    }

    fn set_backlog(&self, backlog: &Backlog) {
        let now = now_utc();
        let age = |at: Option<chrono::NaiveDateTime>| {
            at.map(|at| (now - at).num_milliseconds().max(0) as f64 / 1000.0)
        };
        let inner = &self.0;
        inner.outbox_pending.set(backlog.outbox_pending);
        inner
            .outbox_oldest_age
            .set(age(backlog.outbox_oldest_pending).unwrap_or(0.0));
        inner.outbox_failing.set(backlog.outbox_failing);
        inner.audit_unsealed.set(backlog.audit_unsealed);
        inner
            .audit_checkpoint_age
            .set(age(backlog.audit_last_checkpoint).unwrap_or(f64::INFINITY));
        inner
            .nrm_overdue
            .with_label_values(&["reasonable_grounds"])
            .set(backlog.overdue_reasonable_grounds);
        inner
            .nrm_overdue
            .with_label_values(&["conclusive_grounds"])
            .set(backlog.overdue_conclusive_grounds);
        inner.accounts_locked.set(backlog.accounts_locked);
    }

    /// The exposition of every metric, in the Prometheus text format.
    fn render(&self) -> Result<String, ApiError> {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.0.registry.gather(), &mut buffer)
            .map_err(|err| ApiError::Internal(err.into()))?;
        String::from_utf8(buffer).map_err(|err| ApiError::Internal(err.into()))
    }

    /// Whether a scrape on `listener` presenting `token` may read the metrics: 404 where they
    /// are not served, 401 without the right token. The token is compared in constant time
    /// (as SHA-256 digests, so its length does not show either).
    fn admit(&self, listener: Listener, token: Option<&str>) -> Result<(), ApiError> {
        let settings = &self.0.settings;
        if listener == Listener::Main && !settings.on_main_listener() {
            return Err(ApiError::bare(ProblemType::NotFound));
        }
        let Some(expected) = &settings.token else {
            return Ok(());
        };
        let expected = Sha256::digest(expected.expose().as_bytes());
        let given = Sha256::digest(token.unwrap_or_default().as_bytes());
        if token.is_some() && bool::from(expected.as_slice().ct_eq(given.as_slice())) {
            Ok(())
        } else {
            Err(ApiError::problem(
                ProblemType::Unauthenticated,
                "send the scrape token as `Authorization: Bearer <token>`",
            ))
        }
    }
}

/// A scrape of `/metrics` on `listener` presenting the bearer `token`: admitted (see
/// [`Metrics::admit`]), the pool and the database's figures read, every metric rendered.
pub async fn scrape(
    metrics: &Metrics,
    pool: &Pool,
    listener: Listener,
    token: Option<&str>,
) -> Result<String, ApiError> {
    metrics.admit(listener, token)?;
    metrics.observe_pool(pool);
    metrics.refresh_backlog(pool).await;
    metrics.render()
}

impl Inner {
    fn new(settings: MetricsSettings) -> prometheus::Result<Self> {
        let registry = Registry::new();
        let r = &registry;
        if let Some(dropped) = crate::telemetry::dropped_lines() {
            registered(r, dropped.clone())?;
        }
        let pool_wait = Arc::new(PoolWait {
            wait: registered(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "tumaini_db_pool_wait_seconds",
                        "Time spent waiting for a database connection from the pool.",
                    )
                    .buckets(POOL_WAIT_BUCKETS.to_vec()),
                )?,
            )?,
            timeouts: counter(
                r,
                "tumaini_db_pool_timeouts_total",
                "Waits for a database connection that timed out.",
            )?,
        });
        Ok(Self {
            http_requests: counters(
                r,
                "tumaini_http_requests_total",
                "HTTP requests answered, by route pattern (`unmatched` when no route matched), \
                 method and status.",
                &["route", "method", "status"],
            )?,
            http_duration: registered(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "tumaini_http_request_duration_seconds",
                        "Time to answer an HTTP request, by route pattern and method.",
                    )
                    .buckets(REQUEST_BUCKETS.to_vec()),
                    &["route", "method"],
                )?,
            )?,
            pool_connections: registered(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "tumaini_db_pool_connections",
                        "Open database connections of the pool, idle or in use.",
                    ),
                    &["state"],
                )?,
            )?,
            pool_max: gauge(
                r,
                "tumaini_db_pool_max_connections",
                "Most database connections the pool opens.",
            )?,
            pool_wait,
            outbox_pending: gauge(
                r,
                "tumaini_outbox_pending_messages",
                "E-mail messages queued and not yet delivered.",
            )?,
            outbox_oldest_age: registered(
                r,
                Gauge::new(
                    "tumaini_outbox_oldest_pending_age_seconds",
                    "Age of the oldest undelivered e-mail message (0 when none waits).",
                )?,
            )?,
            outbox_failing: gauge(
                r,
                "tumaini_outbox_failing_messages",
                "Undelivered e-mail messages whose delivery failed at least once.",
            )?,
            outbox_attempts: counters(
                r,
                "tumaini_outbox_delivery_attempts_total",
                "Delivery attempts of e-mail messages by this process, by outcome.",
                &["outcome"],
            )?,
            audit_unsealed: gauge(
                r,
                "tumaini_audit_unsealed_events",
                "Audit events not yet sealed into the hash chain.",
            )?,
            audit_checkpoint_age: registered(
                r,
                Gauge::new(
                    "tumaini_audit_checkpoint_age_seconds",
                    "Seconds since the newest signed checkpoint of the audit chain (+Inf when \
                     none was signed yet).",
                )?,
            )?,
            audit_seal_rounds: counters(
                r,
                "tumaini_audit_seal_rounds_total",
                "Rounds of the audit sealer in this process, by outcome.",
                &["outcome"],
            )?,
            deadline_scans: counters(
                r,
                "tumaini_deadline_scans_total",
                "Runs of the deadline scanner in this process, by outcome.",
                &["outcome"],
            )?,
            deadline_marks: counter(
                r,
                "tumaini_deadline_marked_total",
                "NRM decisions marked overdue and referrals marked expired by this process.",
            )?,
            nrm_overdue: registered(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "tumaini_nrm_decisions_overdue",
                        "Cases whose NRM decision is overdue and not yet made, by decision.",
                    ),
                    &["decision"],
                )?,
            )?,
            sign_in_failures: counters(
                r,
                "tumaini_sign_in_failures_total",
                "Refused sign-ins, by reason.",
                &["reason"],
            )?,
            account_locks: counter(
                r,
                "tumaini_account_locks_total",
                "Accounts locked after repeated failed attempts.",
            )?,
            accounts_locked: gauge(
                r,
                "tumaini_accounts_locked",
                "Accounts whose lock after failed attempts is in force now.",
            )?,
            misuse_alerts: counter(
                r,
                "tumaini_misuse_alerts_total",
                "Insider-misuse alerts raised by this process's audit sealer.",
            )?,
            break_glass_openings: counter(
                r,
                "tumaini_break_glass_openings_total",
                "Break-glass openings of a case's personal groups.",
            )?,
            database_up: gauge(
                r,
                "tumaini_metrics_database_up",
                "1 when the figures of the database were read at the last scrape, else 0.",
            )?,
            backlog_read_at: Mutex::new(None),
            last_seal_ok: Mutex::new(Instant::now()),
            registry,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(bind: Option<&str>, token: Option<&str>) -> MetricsSettings {
        MetricsSettings {
            bind: bind.map(str::to_owned),
            token: token.map(tumaini_db::vault::SecretString::new),
        }
    }

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn unconfigured_metrics_are_not_served() {
        let metrics = Metrics::new(&settings(None, None)).unwrap();
        let err = metrics.admit(Listener::Main, Some(TOKEN)).unwrap_err();
        assert!(matches!(
            err,
            ApiError::Problem {
                kind: ProblemType::NotFound,
                ..
            }
        ));
    }

    #[test]
    fn the_token_is_required_and_compared_whole() {
        let metrics = Metrics::new(&settings(None, Some(TOKEN))).unwrap();
        assert!(metrics.admit(Listener::Main, Some(TOKEN)).is_ok());
        for wrong in [
            None,
            Some(""),
            Some(&TOKEN[..31]),
            Some("0123456789abcdef0123456789abcdeF"),
        ] {
            let err = metrics.admit(Listener::Main, wrong).unwrap_err();
            assert!(
                matches!(
                    err,
                    ApiError::Problem {
                        kind: ProblemType::Unauthenticated,
                        ..
                    }
                ),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn a_listener_of_its_own_moves_the_endpoint_off_the_main_listener() {
        let open = Metrics::new(&settings(Some("127.0.0.1:0"), None)).unwrap();
        assert!(open.admit(Listener::Dedicated, None).is_ok());
        assert!(open.admit(Listener::Main, None).is_err());
        let guarded = Metrics::new(&settings(Some("127.0.0.1:0"), Some(TOKEN))).unwrap();
        assert!(guarded.admit(Listener::Dedicated, None).is_err());
        assert!(guarded.admit(Listener::Dedicated, Some(TOKEN)).is_ok());
        assert!(guarded.admit(Listener::Main, Some(TOKEN)).is_err());
    }

    #[test]
    fn two_servers_in_one_process_keep_their_own_counts() {
        let one = Metrics::new(&MetricsSettings::default()).unwrap();
        let two = Metrics::new(&MetricsSettings::default()).unwrap();
        one.break_glass_opened();
        assert_eq!(one.0.break_glass_openings.get(), 1);
        assert_eq!(two.0.break_glass_openings.get(), 0);
        let text = one.render().unwrap();
        assert!(
            text.contains("tumaini_break_glass_openings_total 1"),
            "{text}"
        );
    }
}
