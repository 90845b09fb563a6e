//! Referral benchmark: `cargo bench --workspace --offline --bench referrals` (figures go in the
//! notes).
//!
//! On a fresh PostgreSQL database, dropped at the end:
//!
//! 1. Referral creations over HTTP, `POST /api/v1/cases/{id}/referrals` (services `health`,
//!    groups `identity,health`, urgency `high`): the consent check, the reason sealed in the
//!    vault, the referral and its first event, two e-mails queued in the transactional outbox
//!    (each receiving organisation has an active case worker and supervisor) and the audit
//!    event, all in the request's transaction. `REFERRALS_BENCH_CLIENTS` concurrent clients
//!    (default 32) send them back to back for `REFERRALS_BENCH_SECS` seconds (default 20) after
//!    `REFERRALS_BENCH_WARMUP` seconds (default 2): requests per second, p50, p99, and the
//!    number of answers other than 201 (which must be none; any fails the run after the
//!    report).
//!
//!    The server refuses a second open referral from a case to the same organisation, so every
//!    request takes its own (case, receiving organisation) pair from a shared counter:
//!    `REFERRALS_BENCH_CASES` cases (default 1,000) times `REFERRALS_BENCH_RECEIVERS` health
//!    organisations (default 16), case first, so consecutive requests touch different cases.
//!    Warm-up requests use pairs too. The run stops when the time is up or the pairs run out,
//!    and says which; when they run out the window ends with the last request.
//!
//!    Set-up, not measured but timed: a shelter with a case worker (who refers), the receiving
//!    organisations and their staff (through `tumaini_tests::seed`), then over HTTP, by the same
//!    number of concurrent clients, each case registered by the case worker (`POST
//!    /api/v1/cases`, an adult) and its consent recorded (`POST /api/v1/cases/{id}/consents`:
//!    assistance and referral; identity, contact and health; to health organisations).
//! 2. The inbox page, `GET /api/v1/referrals?box=inbox&limit=N`, read by a case worker of the
//!    first receiving organisation (topped up first to 100 referrals if step 1 sent it fewer,
//!    by referring more cases to it; each row's reason is the caller's to read, so each is
//!    decrypted and its read audited against its case):
//!    - **statements per page**, for pages of 10 and 100 rows: one request at a time,
//!      `REFERRALS_BENCH_INBOX_SAMPLES` times (default 20), the growth of
//!      `tumaini_db::statements_run()` (every statement any pooled connection of
//!      this process ran: BEGIN and COMMIT count, and so do the session check and the audit
//!      events) across each request: the least, the median and the most (the audit sealer
//!      runs alongside and may add to a sample, never take away);
//!    - **the peak rate** of 100-row pages: `REFERRALS_BENCH_INBOX_CLIENTS` clients (default:
//!      as many as step 1) back to back for `REFERRALS_BENCH_INBOX_SECS` seconds (default 15)
//!      after the warm-up: pages per second, p50, p99;
//!    - **latency at half that rate**, open loop (wrk2's and oha's `-q`): request k is sent at
//!      t0 + k/rate whatever became of the others (each its own task, at most
//!      `REFERRALS_BENCH_INBOX_IN_FLIGHT` at once, default 512), and its latency runs from that
//!      scheduled moment to its answer, so a stall counts against every request it delayed
//!      (coordinated omission avoided): p50, p99, p99.9, max, the rate achieved, and how often
//!      the scheduler found the in-flight bound reached (then the bound, not the server, set
//!      the pace: the latencies still run from the schedule).
//!
//!    Any answer other than 200, or a page shorter than asked, fails the run after the report.
//! 3. The outbox's delivery rate to a real SMTP server on loopback: nothing is delivered during
//!    step 1 (no mail worker runs). Then the server stops, an aiosmtpd sink starts
//!    (`tumaini_tests::smtp::SmtpSink`) and `tumaini_api::jobs::outbox::OutboxWorker` delivers the
//!    queued messages to it, as `tumaini serve` would with `TUMAINI_SMTP_URL` set, until the
//!    outbox is empty or `REFERRALS_BENCH_OUTBOX_MAX_SECS` seconds (default 120) have passed:
//!    messages delivered, seconds, messages per second, and whether the outbox drained (if not,
//!    the rate over the bound still stands). The sink must have received exactly as many
//!    messages as were marked sent, and the outbox must have held two messages per referral.
//!
//! Everything runs on this machine: the HTTP clients, the server (`TUMAINI_WORKERS` actix
//! workers, default one per core; a pool of `REFERRALS_BENCH_POOL` connections, default 32;
//! the audit sealer running, as in production), PostgreSQL and the SMTP sink share its cores.
//! The core count and the load average before and after are printed. The server is built here
//! as `tumaini serve` builds it (not `TestServer`, whose pool is fixed at 4 connections and
//! which runs the mail worker from the start).

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failed step must stop it loudly"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::{QueryDsl as _, RunQueryDsl as _};
use serde_json::{Value, json};
use tumaini_api::config::{Config, MailTransport};
use tumaini_api::jobs::outbox::OutboxWorker;
use tumaini_db::models::outbox;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_db::{PoolOptions, build_pool};
use tumaini_tests::bench::{ServedApp, loadavg, percentile, setting};
use tumaini_tests::seed::{self, PASSWORD};
use tumaini_tests::smtp::SmtpSink;
use tumaini_tests::{Engine, TestDb, test_config};

/// Refused answers whose bodies are kept for the report.
const KEPT_FAILURES: usize = 5;

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let secs = setting("REFERRALS_BENCH_SECS", 20);
    let warmup = setting("REFERRALS_BENCH_WARMUP", 2);
    let clients = setting("REFERRALS_BENCH_CLIENTS", 32).max(1);
    let pool = setting("REFERRALS_BENCH_POOL", 32).max(1);
    let case_count = setting("REFERRALS_BENCH_CASES", 1000).max(1);
    let receiver_count = setting("REFERRALS_BENCH_RECEIVERS", 16).max(1);
    let outbox_max = setting("REFERRALS_BENCH_OUTBOX_MAX_SECS", 120);
    let Some(db) = TestDb::migrated(Engine::Postgres) else {
        println!("PostgreSQL is unreachable: nothing measured");
        return;
    };
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "machine: {cores} cores (available_parallelism), load average before the run {}",
        loadavg()
    );
    let mail_dir = tempfile::tempdir().unwrap();
    let pool_setting = pool.to_string();
    let config = test_config(
        &db,
        mail_dir.path(),
        &[
            ("TUMAINI_DB_POOL_SIZE", pool_setting.as_str()),
            ("TUMAINI_ACCESS_TOKEN_SECS", "3600"),
        ],
    );
    println!(
        "settings: {case_count} cases x {receiver_count} receiving organisations = {} pairs; \
         {clients} clients; {secs} s measured after {warmup} s of warm-up; server: {} actix \
         workers, a pool of {} connections; outbox drain bounded by {outbox_max} s",
        case_count * receiver_count,
        config
            .workers
            .map_or_else(|| format!("{cores} (one per core)"), |w| w.to_string()),
        config.db_pool_size,
    );

    // 1. Accounts: the referring shelter and the receiving health organisations.
    let start = Instant::now();
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let mut receiving_workers = Vec::new();
    let receivers: Vec<String> = (0..receiver_count)
        .map(|_| {
            let org = seed::organisation(&db, OrganisationKind::Health);
            receiving_workers.push(seed::account_in(&db, &org, Role::CaseWorker));
            seed::account_in(&db, &org, Role::Supervisor);
            org.as_str().to_owned()
        })
        .collect();
    println!(
        "accounts: 1 shelter with its case worker, {receiver_count} health organisations with 2 \
         staff each, in {:.1?}",
        start.elapsed()
    );

    // 2. Serve, sign in, register the cases and their consents.
    let server = ServedApp::start(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        // Idle connections are dropped before the server's keep-alive (5 s) closes them: one
        // it is closing as a request goes out is a failed request that is no fault of either.
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let base = format!("http://{}", server.addr);
    let token = runtime.block_on(sign_in(&client, &base, &worker.email));
    let start = Instant::now();
    let cases = runtime.block_on(register(&client, &base, &token, case_count, clients));
    let setup = start.elapsed();
    println!(
        "set-up over HTTP: {} cases registered and their consents recorded in {setup:.1?} ({:.0} \
         cases/s, 2 requests each; not measured)",
        cases.len(),
        cases.len() as f64 / setup.as_secs_f64(),
    );

    // 3. Referrals.
    let target = Arc::new(Target {
        base,
        token,
        client,
        cases,
        receivers,
        next: AtomicUsize::new(0),
    });
    let run = Run {
        clients,
        window: Duration::from_secs(secs as u64),
        warmup: Duration::from_secs(warmup as u64),
    };
    let measured = runtime.block_on(load(&target, &run));
    let mut problems = measured.print(&target);

    // 4. The first receiving organisation's inbox, a page at a time.
    let inbox = InboxRun {
        window: Duration::from_secs(setting("REFERRALS_BENCH_INBOX_SECS", 15) as u64),
        warmup: run.warmup,
        clients: setting("REFERRALS_BENCH_INBOX_CLIENTS", clients).max(1),
        in_flight: setting("REFERRALS_BENCH_INBOX_IN_FLIGHT", 512).max(1),
        samples: setting("REFERRALS_BENCH_INBOX_SAMPLES", 20).max(1),
    };
    let (topped_up, inbox_problems) =
        runtime.block_on(inbox_pages(&target, &receiving_workers[0].email, &inbox));
    problems.extend(inbox_problems);

    let mut conn = db.conn();
    let referrals: i64 = tumaini_db::schema::referrals::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    let created = measured.created_total + topped_up;
    if referrals != created as i64 {
        problems.push(format!(
            "{referrals} referrals in the database, {created} answered 201"
        ));
    }
    drop(server);
    drop(runtime);

    // 5. The outbox, delivered to a real SMTP server.
    let queued = outbox::pending_count(&mut conn).unwrap();
    println!(
        "outbox: {queued} messages queued for {referrals} referrals ({} expected, 2 per referral)",
        2 * referrals
    );
    if queued != 2 * referrals {
        problems.push(format!(
            "{queued} messages queued, {} expected",
            2 * referrals
        ));
    }
    match SmtpSink::start() {
        Some(sink) => {
            problems.extend(drain(
                &config,
                &sink,
                &mut conn,
                queued,
                Duration::from_secs(outbox_max as u64),
            ));
        }
        None => println!("outbox: not measured (aiosmtpd is not installed)"),
    }

    println!("load average after the run {}", loadavg());
    drop(conn);
    drop(db);
    assert!(
        problems.is_empty(),
        "the run FAILED:\n  {}",
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Set-up over HTTP.

async fn sign_in(client: &reqwest::Client, base: &str, email: &str) -> String {
    let response = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "sign-in: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// `POST url` with `body`, expecting 201; returns the answer.
async fn created(client: &reqwest::Client, token: &str, url: String, body: &Value) -> Value {
    let response = client
        .post(&url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 201, "POST {url}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Registers `count` cases, each with a consent to referral to health organisations, by
/// `clients` concurrent clients. Returns their ids.
async fn register(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    count: usize,
    clients: usize,
) -> Vec<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let encountered_on = (chrono::Utc::now().date_naive() - chrono::Duration::days(3)).to_string();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, base, token) = (client.clone(), base.to_owned(), token.to_owned());
            let (next, encountered_on) = (Arc::clone(&next), encountered_on.clone());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return ids;
                    }
                    let case = json!({
                        "summary": {
                            "sex": "female", "age_band": "24_26", "citizenship": "UG",
                            "region": "UG-102", "encountered_on": encountered_on
                        },
                        "groups": {
                            "identity": {
                                "given_names": "Bench", "family_name": format!("Person{n}"),
                                "date_of_birth": "1999-04-12"
                            }
                        }
                    });
                    let case =
                        created(&client, &token, format!("{base}/api/v1/cases"), &case).await;
                    let id = case["id"].as_str().unwrap().to_owned();
                    let consent = json!({
                        "given_by": "person", "method": "written",
                        "purposes": ["assistance", "referral"],
                        "groups": ["identity", "contact", "health"], "recipients": ["health"]
                    });
                    created(
                        &client,
                        &token,
                        format!("{base}/api/v1/cases/{id}/consents"),
                        &consent,
                    )
                    .await;
                    ids.push((n, id));
                }
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    ids.sort();
    ids.into_iter().map(|(_, id)| id).collect()
}

// ---------------------------------------------------------------------------------------------
// HTTP load.

/// What every client shares.
struct Target {
    base: String,
    token: String,
    client: reqwest::Client,
    cases: Vec<String>,
    receivers: Vec<String>,
    /// The next (case, receiving organisation) pair to use.
    next: AtomicUsize,
}

impl Target {
    fn pairs(&self) -> usize {
        self.cases.len() * self.receivers.len()
    }

    /// Pair `i`: cases vary fastest, so consecutive requests touch different cases.
    fn pair(&self, i: usize) -> (&str, &str) {
        let n = self.cases.len();
        (&self.cases[i % n], &self.receivers[i / n])
    }
}

struct Run {
    clients: usize,
    window: Duration,
    warmup: Duration,
}

/// When a request ran, relative to the measured window.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Started before the window.
    Warmup,
    /// Started and finished inside it.
    Measured,
    /// Started inside it, finished after it.
    Late,
}

/// One client's results.
#[derive(Default)]
struct Tally {
    /// Latencies of the requests inside the window, whatever the answer.
    latencies: Vec<Duration>,
    /// 201s inside the window.
    created: usize,
    /// 201s in total.
    created_total: usize,
    /// Pairs used per phase: warm-up, measured, late.
    used: [usize; 3],
    /// Answers other than 201 (status 0: no answer), with the first few bodies.
    failures: usize,
    failure_samples: Vec<String>,
    /// When this client's last request ended.
    last_end: Option<Instant>,
    /// It stopped because the pairs ran out.
    ran_out: bool,
}

/// The referrals phase, measured.
struct Measured {
    /// 201s inside the window.
    created: usize,
    created_total: usize,
    /// The window: `run.window`, or shorter when the pairs ran out.
    window: Duration,
    latencies: Vec<Duration>,
    used: [usize; 3],
    failures: usize,
    failure_samples: Vec<String>,
    ran_out: bool,
}

/// One referral, on pair `i`. Returns the status (0 when no answer came) and, unless 201,
/// the answer.
async fn refer(target: &Target, i: usize) -> (u16, Option<String>) {
    let (case, to) = target.pair(i);
    let body = json!({
        "to_organisation_id": to, "services": ["health"], "groups": ["identity", "health"],
        "urgency": "high", "reason": "bench"
    });
    let sent = target
        .client
        .post(format!("{}/api/v1/cases/{case}/referrals", target.base))
        .bearer_auth(&target.token)
        .json(&body)
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            (status, (status != 201).then_some(text))
        }
        Err(err) => (0, Some(format!("no answer: {err}"))),
    }
}

/// `clients` tasks send referrals back to back, each on the next unused pair; those started
/// after the warm-up and finished inside the window count.
async fn load(target: &Arc<Target>, run: &Run) -> Measured {
    let from = Instant::now() + run.warmup;
    let until = from + run.window;
    let tasks: Vec<_> = (0..run.clients)
        .map(|_| {
            let target = Arc::clone(target);
            tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let started = Instant::now();
                    if started >= until {
                        return tally;
                    }
                    let i = target.next.fetch_add(1, Ordering::Relaxed);
                    if i >= target.pairs() {
                        tally.ran_out = true;
                        return tally;
                    }
                    let (status, failure) = refer(&target, i).await;
                    let ended = Instant::now();
                    tally.last_end = Some(ended);
                    let phase = if started < from {
                        Phase::Warmup
                    } else if ended <= until {
                        Phase::Measured
                    } else {
                        Phase::Late
                    };
                    tally.used[phase as usize] += 1;
                    if let Some(failure) = failure {
                        tally.failures += 1;
                        if tally.failure_samples.len() < KEPT_FAILURES {
                            tally
                                .failure_samples
                                .push(format!("pair {i}: {status} {failure}"));
                        }
                    } else {
                        tally.created_total += 1;
                    }
                    if phase == Phase::Measured {
                        tally.latencies.push(ended - started);
                        if status == 201 {
                            tally.created += 1;
                        }
                    }
                }
            })
        })
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await.unwrap();
        all.latencies.extend(tally.latencies);
        all.created += tally.created;
        all.created_total += tally.created_total;
        for (sum, n) in all.used.iter_mut().zip(tally.used) {
            *sum += n;
        }
        all.failures += tally.failures;
        all.failure_samples.extend(tally.failure_samples);
        all.last_end = all.last_end.max(tally.last_end);
        all.ran_out |= tally.ran_out;
    }
    all.latencies.sort();
    // When the pairs ran out, the window ends with the last request.
    let end = if all.ran_out {
        all.last_end.map_or(from, |e| e.clamp(from, until))
    } else {
        until
    };
    Measured {
        created: all.created,
        created_total: all.created_total,
        window: end - from,
        latencies: all.latencies,
        used: all.used,
        failures: all.failures,
        failure_samples: all.failure_samples,
        ran_out: all.ran_out,
    }
}

impl Measured {
    fn rate(&self) -> f64 {
        if self.window.is_zero() {
            return 0.0;
        }
        self.created as f64 / self.window.as_secs_f64()
    }

    /// Prints the results; returns what went wrong.
    fn print(&self, target: &Target) -> Vec<String> {
        let [warmup, measured, late] = self.used;
        println!(
            "Tumaini referral create: {} created (201) in {:.2?}, {:.1}/s, p50 {:.2?}, p99 \
             {:.2?}, max {:.2?}",
            self.created,
            self.window,
            self.rate(),
            percentile(&self.latencies, 0.5),
            percentile(&self.latencies, 0.99),
            self.latencies.last().copied().unwrap_or_default(),
        );
        println!(
            "pairs: {} of {} used ({warmup} in the warm-up, {measured} in the window, {late} \
             finished after it); {}",
            warmup + measured + late,
            target.pairs(),
            if self.ran_out {
                "stopped: the pairs ran out (raise REFERRALS_BENCH_CASES or \
                 REFERRALS_BENCH_RECEIVERS)"
            } else {
                "stopped: the time was up"
            }
        );
        println!("answers other than 201: {}", self.failures);
        for sample in &self.failure_samples {
            println!("    {}", sample.chars().take(300).collect::<String>());
        }
        let mut problems = Vec::new();
        if self.failures > 0 {
            problems.push(format!(
                "{} referrals were not created (201)",
                self.failures
            ));
        }
        if self.created == 0 {
            problems.push(
                "no referral was measured (too short a window, or the pairs ran out during the \
                 warm-up)"
                    .to_owned(),
            );
        }
        problems
    }
}

// ---------------------------------------------------------------------------------------------
// The inbox page.

/// The inbox phase's settings.
struct InboxRun {
    window: Duration,
    warmup: Duration,
    clients: usize,
    in_flight: usize,
    samples: usize,
}

/// Who reads which inbox.
struct Inbox {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Inbox {
    /// One page of `limit` rows: the status, the number of rows (when asked to count them,
    /// else 0) and, unless 200, the answer.
    async fn page(&self, limit: usize, count: bool) -> (u16, usize, Option<String>) {
        let sent = self
            .client
            .get(format!("{}&limit={limit}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                if status != 200 {
                    return (status, 0, Some(String::from_utf8_lossy(&body).into_owned()));
                }
                let rows = if count {
                    serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|page| page["items"].as_array().map(Vec::len))
                        .unwrap_or(0)
                } else {
                    0
                };
                (status, rows, None)
            }
            Err(err) => (0, 0, Some(format!("no answer: {err}"))),
        }
    }
}

/// Tops the first receiving organisation's inbox up to a full page, then measures its pages;
/// returns the referrals created to top it up and what went wrong.
async fn inbox_pages(target: &Arc<Target>, reader: &str, run: &InboxRun) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    // Pairs below the number of cases all go to the first receiver.
    let wanted = full_page().min(target.cases.len());
    let mut topped_up = 0;
    loop {
        let i = target.next.load(Ordering::Relaxed);
        if i >= wanted {
            break;
        }
        target.next.store(i + 1, Ordering::Relaxed);
        let (status, failure) = refer(target, i).await;
        if let Some(failure) = failure {
            problems.push(format!(
                "topping the inbox up, pair {i}: {status} {failure}"
            ));
            break;
        }
        topped_up += 1;
    }
    let inbox = Arc::new(Inbox {
        client: target.client.clone(),
        url: format!("{}/api/v1/referrals?box=inbox", target.base),
        token: sign_in(&target.client, &target.base, reader).await,
    });
    println!(
        "inbox: the first receiving organisation's case worker reads its inbox ({} referrals, \
         {topped_up} sent to top it up); load average now {}",
        target.next.load(Ordering::Relaxed).min(target.cases.len()),
        loadavg()
    );

    // Statements per page, one request at a time.
    for limit in [10, full_page()] {
        inbox.page(limit, false).await; // the session and the connections warmed
        let mut counts = Vec::with_capacity(run.samples);
        let mut rows = usize::MAX;
        for _ in 0..run.samples {
            let before = tumaini_db::statements_run();
            let (status, n, failure) = inbox.page(limit, true).await;
            counts.push(tumaini_db::statements_run() - before);
            rows = rows.min(n);
            if let Some(failure) = failure {
                problems.push(format!("inbox page of {limit}: {status} {failure}"));
                break;
            }
        }
        counts.sort_unstable();
        println!(
            "Tumaini inbox page of {limit} rows: {} statements per request (least of {} requests; \
             median {}, most {}), {rows} rows per page",
            counts.first().copied().unwrap_or(0),
            counts.len(),
            counts[counts.len() / 2],
            counts.last().copied().unwrap_or(0),
        );
        if rows != limit {
            problems.push(format!("an inbox page of {limit} held {rows} rows"));
        }
    }

    // The peak: closed loop.
    let limit = full_page();
    let peak = closed_loop(&inbox, limit, run).await;
    println!(
        "Tumaini inbox page of {limit} rows, peak (closed loop, {} clients): {} pages in {:.2?}, \
         {:.1}/s, p50 {:.2?}, p99 {:.2?}, max {:.2?}; answers other than 200: {}",
        run.clients,
        peak.ok,
        run.window,
        peak.rate,
        percentile(&peak.latencies, 0.5),
        percentile(&peak.latencies, 0.99),
        peak.latencies.last().copied().unwrap_or_default(),
        peak.failures.len(),
    );
    problems.extend(peak.failures);

    // Half the peak: open loop, latencies from the schedule.
    let rate = peak.rate / 2.0;
    if rate > 0.0 {
        let half = open_loop(&inbox, limit, rate, run).await;
        println!(
            "Tumaini inbox page of {limit} rows at half the peak (open loop, {rate:.1}/s \
             scheduled, latency from the scheduled start): {} pages, {:.1}/s achieved, p50 \
             {:.2?}, p99 {:.2?}, p99.9 {:.2?}, max {:.2?}; the in-flight bound ({}) reached {} \
             times; answers other than 200: {}",
            half.ok,
            half.rate,
            percentile(&half.latencies, 0.5),
            percentile(&half.latencies, 0.99),
            percentile(&half.latencies, 0.999),
            half.latencies.last().copied().unwrap_or_default(),
            run.in_flight,
            half.saturated,
            half.failures.len(),
        );
        problems.extend(half.failures);
    } else {
        problems.push("no inbox page was measured at the peak".to_owned());
    }
    (topped_up, problems)
}

/// The largest page the API serves.
fn full_page() -> usize {
    usize::try_from(tumaini_api::referrals::MAX_PAGE).unwrap()
}

/// What a load phase of the inbox measured.
#[derive(Default)]
struct PageLoad {
    /// 200s inside the window.
    ok: usize,
    /// Per second of the window.
    rate: f64,
    /// Latencies inside the window, sorted.
    latencies: Vec<Duration>,
    /// Times the open loop's scheduler waited for the in-flight bound.
    saturated: usize,
    /// The first few answers other than 200, and a count of the rest.
    failures: Vec<String>,
}

impl PageLoad {
    fn failed(&mut self, status: u16, failure: String) {
        if self.failures.len() < KEPT_FAILURES {
            self.failures.push(format!(
                "inbox page: {status} {}",
                failure.chars().take(300).collect::<String>()
            ));
        }
    }
}

/// `run.clients` tasks read pages back to back; those started after the warm-up and finished
/// inside the window count.
async fn closed_loop(inbox: &Arc<Inbox>, limit: usize, run: &InboxRun) -> PageLoad {
    let from = Instant::now() + run.warmup;
    let until = from + run.window;
    let tasks: Vec<_> = (0..run.clients)
        .map(|_| {
            let inbox = Arc::clone(inbox);
            tokio::spawn(async move {
                let mut load = PageLoad::default();
                loop {
                    let started = Instant::now();
                    if started >= until {
                        return load;
                    }
                    let (status, _, failure) = inbox.page(limit, false).await;
                    let ended = Instant::now();
                    if let Some(failure) = failure {
                        load.failed(status, failure);
                    } else if started >= from && ended <= until {
                        load.ok += 1;
                        load.latencies.push(ended - started);
                    }
                }
            })
        })
        .collect();
    let mut all = PageLoad::default();
    for task in tasks {
        let load = task.await.unwrap();
        all.ok += load.ok;
        all.latencies.extend(load.latencies);
        all.failures.extend(load.failures);
    }
    all.latencies.sort();
    all.rate = all.ok as f64 / run.window.as_secs_f64();
    all
}

/// Pages sent at `rate` per second on a fixed schedule for the warm-up and the window, each in
/// its own task whatever became of the others; a page's latency runs from its scheduled start.
/// Those scheduled inside the window count.
async fn open_loop(inbox: &Arc<Inbox>, limit: usize, rate: f64, run: &InboxRun) -> PageLoad {
    let bound = Arc::new(tokio::sync::Semaphore::new(run.in_flight));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let t0 = tokio::time::Instant::now();
    let from = t0 + run.warmup;
    let until = from + run.window;
    let mut saturated = 0;
    for k in 0u64.. {
        #[expect(
            clippy::cast_precision_loss,
            reason = "a request's number in the schedule"
        )]
        let scheduled = t0 + Duration::from_secs_f64(k as f64 / rate);
        if scheduled >= until {
            break;
        }
        tokio::time::sleep_until(scheduled).await;
        let permit = match Arc::clone(&bound).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                saturated += 1;
                Arc::clone(&bound).acquire_owned().await.unwrap()
            }
        };
        let (inbox, tx) = (Arc::clone(inbox), tx.clone());
        tokio::spawn(async move {
            let (status, _, failure) = inbox.page(limit, false).await;
            let latency = tokio::time::Instant::now() - scheduled;
            drop(permit);
            let _ = tx.send((scheduled >= from, status, failure, latency));
        });
    }
    drop(tx);
    let mut all = PageLoad {
        saturated,
        ..PageLoad::default()
    };
    while let Some((measured, status, failure, latency)) = rx.recv().await {
        if let Some(failure) = failure {
            all.failed(status, failure);
        } else if measured {
            all.ok += 1;
            all.latencies.push(latency);
        }
    }
    all.latencies.sort();
    // Achieved: the pages scheduled in the window over the time until the last answered.
    let elapsed = tokio::time::Instant::now() - from;
    all.rate = all.ok as f64 / elapsed.as_secs_f64().max(run.window.as_secs_f64());
    all
}

// ---------------------------------------------------------------------------------------------
// The outbox.

/// Delivers the `queued` messages to `sink` with the server's outbox worker, reporting each
/// 5 s and at the end; returns what went wrong.
fn drain(
    config: &Config,
    sink: &SmtpSink,
    conn: &mut tumaini_db::DbConn,
    queued: i64,
    bound: Duration,
) -> Vec<String> {
    let mut settings = config.mail.clone();
    settings.transport = MailTransport::Smtp(sink.url());
    let pool = build_pool(
        &config.database_url,
        PoolOptions {
            max_size: 2,
            ..PoolOptions::default()
        },
    )
    .unwrap();
    println!(
        "outbox: delivering to aiosmtpd at {} (polling every {:?} when idle)",
        sink.url(),
        settings.poll_interval
    );
    let start = Instant::now();
    let metrics = tumaini_api::metrics::Metrics::new(&Default::default()).unwrap();
    let mut worker = OutboxWorker::start(pool, settings, metrics).unwrap();
    let mut report = start + Duration::from_secs(5);
    let (elapsed, drained) = loop {
        let pending = outbox::pending_count(conn).unwrap();
        let now = Instant::now();
        if pending == 0 || now - start >= bound {
            break (now - start, pending == 0);
        }
        if now >= report {
            println!(
                "    after {:.0?}: {} delivered, {pending} pending",
                now - start,
                queued - pending
            );
            report += Duration::from_secs(5);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    worker.stop();
    let pending = outbox::pending_count(conn).unwrap();
    let delivered = queued - pending;
    let received = sink.messages().len();
    println!(
        "outbox: {delivered} messages delivered in {elapsed:.2?}, {:.1}/s; {}; the sink received \
         {received}",
        delivered as f64 / elapsed.as_secs_f64(),
        if drained {
            "drained".to_owned()
        } else {
            format!("NOT drained: {pending} still pending after {bound:?}")
        },
    );
    // Not draining within the bound is a result (the rate stands), not a failure.
    let mut problems = Vec::new();
    if received as i64 != delivered {
        problems.push(format!(
            "the sink received {received} messages, the outbox marked {delivered} sent"
        ));
    }
    problems
}
