//! Case benchmark: `cargo bench -p tumaini-tests --bench cases` (figures go in the notes).
//!
//! On a fresh PostgreSQL database seeded with `CASES_BENCH_CASES` demo cases (default 100,000,
//! through `tumaini_api::cli::seed::seed_demo` and the same vault keys the server then uses):
//!
//! 1. Case reads over HTTP,
//!    `GET /api/v1/cases/{id}?groups=identity,exploitation&purpose=assistance`
//!    (authentication, policy decisions, two groups decrypted, the audit event written in the
//!    read's transaction), by `CASES_BENCH_CLIENTS` concurrent clients (default 32) on random
//!    cases the signed-in case worker's organisation owns and they are assigned to, for `CASES_BENCH_SECS` seconds
//!    (default 20) after `CASES_BENCH_WARMUP` seconds (default 3): requests per second, p50,
//!    p99.
//! 2. Case registrations over HTTP, `POST /api/v1/cases` (summary, identity with a document,
//!    contact; a new person each time so duplicate detection finds nobody), the same way.
//! 3. For each, `pgbench` in the same run, on the same database, with the same number of
//!    connections, running the statements the application runs for one request (session
//!    look-up, then one transaction with every SELECT and INSERT, savepoints included), in
//!    prepared mode like diesel's statement cache; ciphertexts and audit values are copied from
//!    rows the application wrote. p50 and p99 come from pgbench's per-transaction log.
//!
//! pgbench finds its random case through a helper table `bench_ids` (the owned cases, numbered)
//! joined into the case's SELECT, so it runs no statement the application does not. Both connect
//! through libpq with the same settings (TLS when the server offers it), and each measurement
//! starts after a CHECKPOINT. `pgbench` must be on the PATH.
//!
//! Reads are measured `CASES_BENCH_ROUNDS` times (default 3), each round Tumaini then pgbench;
//! the round with the median ratio is reported. Then each operation runs at a constant rate of
//! half its measured peak (an open loop: request k is due at k / rate, and its latency counts
//! from then, so a stall is not hidden by the clients waiting: no coordinated omission), with
//! p50, p99 and p99.9. Tumaini's statements per request are counted by the connections
//! themselves (`tumaini_db::statements_run`; the audit sealer's included) and
//! printed beside pgbench's script length. `CASES_BENCH_TRAIL=N` first adds N earlier audit
//! events to the trail (sealed), for the growth measurements.
//!
//! The ratio is Tumaini's rate over pgbench's. Everything runs on this machine: the HTTP
//! clients, the server (`TUMAINI_WORKERS` actix workers, default one per core; a pool of
//! `CASES_BENCH_POOL` connections, default 32) and PostgreSQL share its cores, as do pgbench
//! and PostgreSQL. CPU time per operation is printed per consumer (from /proc) to show where
//! the time goes and whether anything else was running. The server is built here as
//! `tumaini serve` builds it (not `TestServer`, whose pool is fixed at 4 connections), with the
//! audit sealer running (sealing is part of what an audited read costs) and without the mail
//! and deadline workers, which have nothing to do here. The database is dropped at the end.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failed step must stop it loudly"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection as _;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection as _, PgConnection, QueryableByName, RunQueryDsl as _};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};
use tumaini_db::statements_run;
use tumaini_db::vault::Vault;
use tumaini_tests::bench::{OpenLoop, ServedApp, open_loop, percentile, setting};
use tumaini_tests::seed::PASSWORD;
use tumaini_tests::{Engine, TestDb, test_config};

/// The organisation whose case worker reads and registers.
const ORGANISATION: &str = "Mirembe Shelter (demo)";
/// Its case worker.
const WORKER: &str = "shelter.worker";

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let cases = setting("CASES_BENCH_CASES", 100_000);
    let secs = setting("CASES_BENCH_SECS", 20);
    let warmup = setting("CASES_BENCH_WARMUP", 3);
    let clients = setting("CASES_BENCH_CLIENTS", 32);
    let pool = setting("CASES_BENCH_POOL", 32);
    let Some(db) = TestDb::migrated(Engine::Postgres) else {
        println!("PostgreSQL is unreachable: nothing measured");
        return;
    };
    let run = Run {
        url: db.url_string(),
        clients,
        window: Duration::from_secs(secs as u64),
        warmup: Duration::from_secs(warmup as u64),
    };
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
    let mut pg = PgConnection::establish(&run.url).unwrap();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "machine: {cores} cores (available_parallelism), load average before the run {}; {}; \
         shared_buffers {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        one(&mut pg, "SELECT version() AS v")
            .split(" on ")
            .next()
            .unwrap_or_default(),
        one(&mut pg, "SELECT current_setting('shared_buffers') AS v"),
    );

    // 1. Seed through a vault over the server's keys.
    let start = Instant::now();
    let vault = Vault::new(tumaini_api::keyring::key_provider(&config).unwrap());
    let mut conn = db.conn();
    vault.check(&mut conn).unwrap();
    let seeded = tumaini_api::cli::seed::seed_demo(
        &mut conn,
        &vault,
        &tumaini_api::accounts::hash_password(PASSWORD).unwrap(),
        cases,
        &tumaini_api::rules::deadlines::DeadlineRules::default(),
        &tumaini_api::auth::RequestContext::command_line(
            tumaini_api::keyring::audit_signer(&config.audit)
                .unwrap()
                .event_key(),
        ),
    )
    .unwrap();
    drop((conn, vault));
    let seed_time = start.elapsed();
    pg.batch_execute("VACUUM ANALYZE").unwrap();
    pg.batch_execute("CHECKPOINT").unwrap();
    pg.batch_execute(&format!(
        "CREATE TABLE bench_ids (n SERIAL PRIMARY KEY, id TEXT NOT NULL);
         INSERT INTO bench_ids (id)
         SELECT c.id FROM cases c JOIN organisations o ON o.id = c.owner_organisation_id
         JOIN case_assignments a ON a.case_id = c.id
         JOIN users u ON u.id = a.user_id
         WHERE o.name = '{ORGANISATION}' AND u.email = '{WORKER}@demo.tumaini.example'
         ORDER BY random();
         ANALYZE bench_ids;"
    ))
    .unwrap();
    let trail = setting("CASES_BENCH_TRAIL", 0);
    if trail > 0 {
        let start = Instant::now();
        fill_trail(&mut pg, trail);
        println!(
            "the trail: {trail} earlier audit events added, sealed, in {:.1?}",
            start.elapsed()
        );
    }
    let ids = many(&mut pg, "SELECT id AS v FROM bench_ids ORDER BY n");
    let row_count = |pg: &mut PgConnection, table: &str| {
        count(pg, &format!("SELECT count(*) AS n FROM {table}"))
    };
    println!(
        "seeded {} cases ({} of them owned by {ORGANISATION}, {} anonymous notifications, {} \
         audit events, {} blind-index rows) in {seed_time:.1?} ({:.0} cases/s)",
        seeded.cases,
        ids.len(),
        seeded.anonymous,
        row_count(&mut pg, "audit_events"),
        row_count(&mut pg, "blind_indexes"),
        seeded.cases as f64 / seed_time.as_secs_f64(),
    );

    // 2. Serve, sign in.
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
    let email = tumaini_api::cli::seed::demo_email(WORKER);
    let base = format!("http://{}", server.addr);
    let token = runtime.block_on(sign_in(&client, &base, &email));
    let worker = Worker::of(&mut pg, &email);
    println!(
        "server: {} actix workers, a pool of {} connections; {} clients; {} s measured after {} s \
         of warm-up",
        config
            .workers
            .map_or_else(|| format!("{cores} (one per core)"), |w| w.to_string()),
        config.db_pool_size,
        run.clients,
        run.window.as_secs(),
        run.warmup.as_secs(),
    );
    let target = Arc::new(Target {
        base,
        token,
        ids,
        client,
        seq: AtomicU64::new(0),
        encountered_on: (chrono::Utc::now().date_naive() - chrono::Duration::days(3)).to_string(),
    });
    let scratch = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();

    // 3. Reads, then pgbench's equivalent, `rounds` times; the round with the median ratio is
    // the one reported. Each measurement starts once the sealer has sealed what the one
    // before wrote, right after a checkpoint ([`settle`]), so none pays for another's writes.
    let mut rounds = Vec::new();
    let mut script = None;
    for round in 1..=setting("CASES_BENCH_ROUNDS", 3).max(1) {
        settle(&mut pg);
        let http = runtime.block_on(load(&target, Op::Read, &run));
        http.print(&format!("Tumaini read, round {round}"));
        let script = script.get_or_insert_with(|| read_script(&mut pg));
        settle(&mut pg);
        let bench = run.pgbench(script, "read", scratch.path(), &worker, &target);
        println!(
            "round {round}: ratio {:.2} (Tumaini {:.1} reads/s, pgbench {:.1} tps)",
            http.rate() / bench.rate(),
            http.rate(),
            bench.rate()
        );
        rounds.push((http, bench));
    }
    rounds.sort_by(|a, b| (a.0.rate() / a.1.rate()).total_cmp(&(b.0.rate() / b.1.rate())));
    println!(
        "read ratios of the {} rounds: {}",
        rounds.len(),
        rounds
            .iter()
            .map(|(a, b)| format!("{:.2}", a.rate() / b.rate()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let reads = rounds.swap_remove(rounds.len() / 2);
    let read_peak = reads.0.rate();
    rows.push(("read, 2 groups", reads));

    // 4. Registrations, then pgbench's equivalent.
    settle(&mut pg);
    let http = runtime.block_on(load(&target, Op::Create, &run));
    http.print("Tumaini create");
    let create_peak = http.rate();
    let script = create_script(&mut pg);
    settle(&mut pg);
    let creates = (
        http,
        run.pgbench(&script, "create", scratch.path(), &worker, &target),
    );
    pg.batch_execute(PGBENCH_INDEXES_GONE).unwrap();
    rows.push(("create", creates));

    // 5. Latency at a given load: half of each peak, at a constant rate.
    let mut constant = Vec::new();
    for (op, peak) in [(Op::Read, read_peak), (Op::Create, create_peak)] {
        settle(&mut pg);
        let measured = runtime.block_on(at_constant_rate(&target, op, peak / 2.0, &run));
        measured.print(&format!("Tumaini {op:?} at half its peak"));
        constant.push((op, measured));
    }

    drop(server);
    report(&rows);
    println!();
    println!("at half the peak rate, a constant load (latency from each request's due time):");
    for (op, m) in &constant {
        m.print(&format!("  {op:?}"));
    }
    drop(pg);
    drop(db);
}

/// Waits (up to two minutes) until the sealer has sealed the audit events written so far (the
/// last measurement's, or pgbench's), then checkpoints: the next measurement neither competes
/// with that catching up nor pays for the writes before it. Prints how long it waited when it
/// had to.
fn settle(pg: &mut PgConnection) {
    let start = Instant::now();
    let waiting = |pg: &mut PgConnection| {
        count(
            pg,
            "SELECT count(*) AS n FROM audit_events WHERE occurred_at > COALESCE((SELECT \
             e.occurred_at FROM audit_chain c JOIN audit_events e ON e.id = c.event_id ORDER BY \
             c.position DESC LIMIT 1), '-infinity')",
        )
    };
    let mut left = waiting(pg);
    while left > 0 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(250));
        left = waiting(pg);
    }
    if start.elapsed() >= Duration::from_secs(1) {
        println!(
            "(waited {:.1?} for the sealer; {left} events still unsealed)",
            start.elapsed()
        );
    }
    pg.batch_execute("CHECKPOINT").unwrap();
}

/// Adds `n` audit events before the seeded ones' time (one a millisecond up to a minute ago,
/// by 1,000 other readers, copied from the oldest event), with chain rows after the last
/// sealed position, so that the trail the requests append to is `n` events longer and the
/// sealer starts after them. The chain rows' hashes are not a valid chain: a benchmark's
/// shortcut, never verified.
fn fill_trail(pg: &mut PgConnection, n: usize) {
    pg.batch_execute(&format!(
        "INSERT INTO audit_events (id, occurred_at, action, outcome, actor_user_id,
           actor_organisation_id, actor_role, resource_type, resource_id, field_groups, purpose,
           decision, policy_ids, request_id, client_hash, severity, client_request_id,
           actor_client_id, mac)
         SELECT md5('trail-' || i)::uuid::text, (now() AT TIME ZONE 'UTC') - interval '1 minute'
             - ({n} - i) * interval '1 millisecond',
           t.action, t.outcome, 'trail-reader-' || (i % 1000), t.actor_organisation_id,
           t.actor_role, t.resource_type, t.resource_id, t.field_groups, t.purpose, t.decision,
           t.policy_ids, md5('trail-' || i)::uuid::text, t.client_hash, t.severity, NULL, NULL, t.mac
         FROM generate_series(1, {n}) i,
           (SELECT * FROM audit_events ORDER BY occurred_at LIMIT 1) t;
         INSERT INTO audit_chain (position, event_id, leaf_hash, chain_hash, sealed_at,
           checkpoint_sequence, mac)
         SELECT (SELECT coalesce(max(position), 0) FROM audit_chain) + i,
           md5('trail-' || i)::uuid::text,
           sha256(('leaf' || i)::bytea), sha256(('chain' || i)::bytea),
           now() AT TIME ZONE 'UTC', NULL, NULL
         FROM generate_series(1, {n}) i;"
    ))
    .unwrap();
    // Each on its own: VACUUM cannot run inside the transaction of a multi-statement batch.
    pg.batch_execute("VACUUM ANALYZE audit_events").unwrap();
    pg.batch_execute("VACUUM ANALYZE audit_chain").unwrap();
}

/// What every measurement shares.
struct Run {
    url: String,
    clients: usize,
    window: Duration,
    warmup: Duration,
}

/// One measured phase.
struct Measured {
    /// Operations completed inside the window.
    done: usize,
    /// The window.
    window: Duration,
    /// Sorted latencies of those operations.
    latencies: Vec<Duration>,
    /// CPU used during the window.
    cpu: Cpu,
    /// Statements per operation: pgbench's script; for Tumaini, those its connections sent
    /// during the window (the audit sealer's included) over the requests completed in it.
    statements: Option<f64>,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.done as f64 / self.window.as_secs_f64()
    }

    fn print(&self, name: &str) {
        println!(
            "{name}: {} requests in {:?}, {:.1}/s, {:.1} statements each, p50 {:.2?}, p99 {:.2?}, \
             max {:.2?}",
            self.done,
            self.window,
            self.rate(),
            self.statements.unwrap_or_default(),
            percentile(&self.latencies, 0.5),
            percentile(&self.latencies, 0.99),
            self.latencies.last().copied().unwrap_or_default(),
        );
    }
}

fn report(rows: &[(&str, (Measured, Measured))]) {
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    println!();
    println!(
        "{:<16} | {:>13} | {:>9} | {:>9} | {:>11} | {:>9} | {:>9} | {:>5}",
        "operation", "Tumaini req/s", "p50", "p99", "pgbench tps", "p50", "p99", "ratio"
    );
    println!("{}", "-".repeat(104));
    for (name, (app, pg)) in rows {
        println!(
            "{:<16} | {:>13.1} | {:>9} | {:>9} | {:>11.1} | {:>9} | {:>9} | {:>5.2}",
            name,
            app.rate(),
            ms(percentile(&app.latencies, 0.5)),
            ms(percentile(&app.latencies, 0.99)),
            pg.rate(),
            ms(percentile(&pg.latencies, 0.5)),
            ms(percentile(&pg.latencies, 0.99)),
            app.rate() / pg.rate(),
        );
    }
    let ratio = |row: usize| rows[row].1.0.rate() / rows[row].1.1.rate();
    let met = |r: f64| if r >= 0.8 { "met" } else { "NOT met" };
    println!(
        "ratio = Tumaini req/s / pgbench tps, same statements, same run (reads: the median of the \
         rounds). Target >= 0.8: reads {} ({:.2}), creations {} ({:.2})",
        met(ratio(0)),
        ratio(0),
        met(ratio(1)),
        ratio(1)
    );
    println!();
    println!(
        "CPU time per operation in ms ({} cores), from /proc: server = this process but its \
         client threads; other = everything else on the machine; idle = CPU left unused",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "{:<36} | {:>9} | {:>9} | {:>9} | {:>10} | {:>9} | {:>9}",
        "", "server", "clients", "pgbench", "PostgreSQL", "other", "idle"
    );
    for (name, (app, pg)) in rows {
        for (who, m) in [("Tumaini", app), ("pgbench", pg)] {
            let per = |ticks: u64| ticks as f64 * 1000.0 / TICKS_PER_SECOND / m.done.max(1) as f64;
            let c = &m.cpu;
            let label = match m.statements {
                Some(n) => format!("{name}: {who} ({n:.1} stmts)"),
                None => format!("{name}: {who}"),
            };
            println!(
                "{:<36} | {:>9.3} | {:>9.3} | {:>9.3} | {:>10.3} | {:>9.3} | {:>9.3}",
                label,
                per(c.own.saturating_sub(c.client)),
                per(c.client),
                per(c.children),
                per(c.postgres),
                per(c.other()),
                per(c.idle),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP load.

/// What the clients need.
struct Target {
    base: String,
    token: String,
    ids: Vec<String>,
    client: reqwest::Client,
    seq: AtomicU64,
    encountered_on: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Create,
}

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

/// A family name of letters only, new for every `n`.
fn family_name(mut n: u64) -> String {
    let mut name = String::from("Bench");
    loop {
        name.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return name;
        }
    }
}

fn new_case(n: u64, encountered_on: &str) -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": "21_23", "citizenship": "UG",
            "exploitation_country": "KE", "region": "UG-202", "encountered_on": encountered_on,
            "exploitation_types": ["forced_labour", "debt_bondage"],
            "means_of_control": ["withholds_documents"]
        },
        "groups": {
            "identity": {
                "given_names": "Nakato", "family_name": family_name(n),
                "date_of_birth": "2003-04-02",
                "documents": [{"kind": "national_id", "number": format!("BN{n:010}")}]
            },
            "contact": {"phones": ["+256 700 000 001"]}
        }
    })
}

/// One request; every `check`-th answer is also read as JSON and checked.
async fn request(target: &Target, op: Op, rng: &mut StdRng, check: bool) {
    let (response, expected) = match op {
        Op::Read => {
            let id = &target.ids[rng.random_range(0..target.ids.len())];
            let url = format!(
                "{}/api/v1/cases/{id}?groups=identity,exploitation&purpose=assistance",
                target.base
            );
            (target.client.get(url).bearer_auth(&target.token), 200)
        }
        Op::Create => {
            let n = target.seq.fetch_add(1, Ordering::Relaxed);
            let url = format!("{}/api/v1/cases", target.base);
            let body = new_case(n, &target.encountered_on);
            (
                target
                    .client
                    .post(url)
                    .bearer_auth(&target.token)
                    .json(&body),
                201,
            )
        }
    };
    let response = response.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    assert_eq!(
        status,
        expected,
        "{op:?}: {}",
        String::from_utf8_lossy(&body)
    );
    if check {
        let value: Value = serde_json::from_slice(&body).unwrap();
        match op {
            Op::Read => assert!(
                value["groups"]["identity"].is_object()
                    && value["groups"]["exploitation"].is_object(),
                "both groups decrypted: {value}"
            ),
            Op::Create => assert_eq!(
                value["possible_duplicates"],
                json!([]),
                "a new person: {value}"
            ),
        }
    }
}

/// A constant-rate load of `op` at `rate` per second for the run's window, after a warm-up
/// at the same rate.
async fn at_constant_rate(target: &Arc<Target>, op: Op, rate: f64, run: &Run) -> OpenLoop {
    let send = |k: u64| {
        let target = Arc::clone(target);
        async move {
            let mut rng = StdRng::seed_from_u64(k);
            request(&target, op, &mut rng, k.is_multiple_of(64)).await;
        }
    };
    open_loop(rate, run.warmup, IN_FLIGHT, send).await;
    open_loop(rate, run.window, IN_FLIGHT, send).await
}

/// Requests of a constant-rate load in flight at most.
const IN_FLIGHT: usize = 512;

/// `clients` tasks send requests back to back; those started after the warm-up and finished
/// inside the window count.
async fn load(target: &Arc<Target>, op: Op, run: &Run) -> Measured {
    let from = Instant::now() + run.warmup;
    let until = from + run.window;
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(from.into()).await;
        let (before, statements) = (Cpu::sample(), statements_run());
        tokio::time::sleep_until(until.into()).await;
        (Cpu::sample().since(&before), statements_run() - statements)
    });
    let tasks: Vec<_> = (0..run.clients)
        .map(|i| {
            let target = Arc::clone(target);
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(i as u64);
                let mut latencies = Vec::new();
                let mut k = 0u64;
                loop {
                    let started = Instant::now();
                    if started >= until {
                        return latencies;
                    }
                    request(&target, op, &mut rng, k.is_multiple_of(64)).await;
                    k += 1;
                    let ended = Instant::now();
                    if started >= from && ended <= until {
                        latencies.push(ended - started);
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    latencies.sort();
    let (cpu, statements) = sampler.await.unwrap();
    Measured {
        done: latencies.len(),
        window: run.window,
        statements: Some(statements as f64 / latencies.len().max(1) as f64),
        latencies,
        cpu,
    }
}

// ---------------------------------------------------------------------------------------------
// pgbench.

/// The signed-in case worker as the database knows them.
struct Worker {
    user: String,
    organisation: String,
    session: String,
}

impl Worker {
    fn of(pg: &mut PgConnection, email: &str) -> Worker {
        let user = one(
            pg,
            &format!("SELECT id AS v FROM users WHERE email = '{email}'"),
        );
        Worker {
            organisation: one(
                pg,
                &format!("SELECT organisation_id AS v FROM users WHERE id = '{user}'"),
            ),
            session: one(
                pg,
                &format!(
                    "SELECT id AS v FROM sessions WHERE user_id = '{user}' ORDER BY created_at \
                     DESC LIMIT 1"
                ),
            ),
            user,
        }
    }
}

/// The authentication look-up every request starts with (`Session::find_live`), outside the
/// request's transaction.
const SESSION: &str = "SELECT s.*, u.*, o.* FROM sessions s
  INNER JOIN users u ON u.id = s.user_id INNER JOIN organisations o ON o.id = u.organisation_id
  WHERE s.id = :sid AND o.active = true AND s.revoked_at IS NULL AND s.expires_at > now()
    AND u.status <> 'disabled' LIMIT 1;\n";

/// The live blind-index keys (`store::live_vault_keys`).
const INDEX_KEYS: &str = "SELECT version, kek_version, wrapped_key FROM vault_keys
  WHERE purpose = 'blind_index' AND retired_at IS NULL ORDER BY version;\n";

/// `audit::record`: an INSERT for case `:cid` by the worker, with every other column copied
/// from the newest event with `action` the application wrote.
fn audit_insert(pg: &mut PgConnection, action: &str) -> String {
    let template = one(
        pg,
        &format!(
            "SELECT id AS v FROM audit_events WHERE action = '{action}' ORDER BY occurred_at DESC \
             LIMIT 1"
        ),
    );
    let columns = many(
        pg,
        "SELECT column_name::text AS v FROM information_schema.columns\n         WHERE \
         table_schema = current_schema() AND table_name = 'audit_events' ORDER BY ordinal_position",
    );
    let values: Vec<String> = columns
        .iter()
        .map(|column| match column.as_str() {
            "id" | "request_id" => "gen_random_uuid()::text".to_owned(),
            "occurred_at" => "now()".to_owned(),
            "actor_user_id" => ":uid".to_owned(),
            "actor_organisation_id" => ":org".to_owned(),
            "resource_id" => ":cid".to_owned(),
            other => {
                let value = one(
                    pg,
                    &format!(
                        "SELECT quote_nullable(\"{other}\") AS v FROM audit_events WHERE id = \
                         '{template}'"
                    ),
                );
                assert!(
                    !value.contains(':'),
                    "pgbench would read {value} as a variable"
                );
                value
            }
        })
        .collect();
    format!(
        "INSERT INTO audit_events ({}) VALUES ({});\n",
        columns.join(", "),
        values.join(", ")
    )
}

/// The case's policy facts as `case_facts::load` reads them for one case (`cid`): the
/// consents, then the referrals in force, assignments, accepted transfers and the summary's
/// lists in one `UNION ALL`.
const FACTS: &str = "SELECT * FROM consents WHERE case_id = ANY(ARRAY[:cid]::text[]);
SELECT 'r'::text, case_id, to_organisation_id, field_groups, NULL::text, NULL::timestamp, id
  FROM referrals WHERE case_id = ANY(ARRAY[:cid]::text[])
  AND state = ANY(ARRAY['accepted', 'in_service']::text[])
UNION ALL SELECT 'a'::text, case_id, user_id, NULL::text, NULL::text, NULL::timestamp, NULL::text
  FROM case_assignments WHERE case_id = ANY(ARRAY[:cid]::text[])
UNION ALL SELECT 't'::text, case_id, from_organisation_id, groups, sender_keeps, decided_at, id
  FROM case_transfers WHERE case_id = ANY(ARRAY[:cid]::text[]) AND state = 'accepted'
UNION ALL SELECT 'e'::text, case_id, exploitation_type, NULL::text, NULL::text, NULL::timestamp,
  NULL::text FROM case_exploitation_types WHERE case_id = ANY(ARRAY[:cid]::text[])
UNION ALL SELECT 'm'::text, case_id, means_of_control, NULL::text, NULL::text, NULL::timestamp,
  NULL::text FROM case_means_of_control WHERE case_id = ANY(ARRAY[:cid]::text[]);\n";

/// What `read_case` runs: the session, then in one transaction the case with its owner
/// (`case_facts::case_with_owner`; here found through `bench_ids` by a random number, in the
/// same statement), its facts and lists ([`FACTS`]), the key with both groups
/// (`store::case_key_and_groups`), and the audit event.
fn read_script(pg: &mut PgConnection) -> String {
    let mut s = String::from("\\set k random(1, :ids)\n");
    s.push_str(SESSION);
    s.push_str("BEGIN;\n");
    s.push_str(
        "SELECT c.*, o.*, c.id AS cid FROM bench_ids b JOIN cases c ON c.id = b.id \
         JOIN organisations o ON o.id = c.owner_organisation_id WHERE b.n = :k LIMIT 1 \\gset\n",
    );
    s.push_str(FACTS);
    s.push_str(
        "SELECT k.case_id, k.data_key_version, k.kek_version, k.wrapped_key, k.shredded_at, \
         g.field_group, g.ciphertext\n  FROM case_keys k LEFT JOIN case_field_groups g ON \
         g.case_id = k.case_id\n  AND g.field_group = ANY(ARRAY['identity', \
         'exploitation']::text[]) WHERE k.case_id = :cid;\n",
    );
    s.push_str(&audit_insert(pg, "case.read"));
    s.push_str("COMMIT;\n");
    s
}

/// What `cases::register` runs (read off PostgreSQL's statement log of a registration), with
/// the stored bytes of a case the application registered: the session, then in one
/// transaction the reference check (cases and anonymous notifications in one statement), the
/// case read back with `RETURNING`, its two lists, the lead assignment, the blind-index keys,
/// the vault's rows one `INSERT` per table (key, groups, their first versions, index terms,
/// blind indexes), the duplicate look-up (keys, then one query for every name and document),
/// and the audit event.
///
/// Its cases have references starting `P-` (the application's start `C-`): after the run
/// their blind-index rows are deleted ([`PGBENCH_INDEXES_GONE`]), as their random values
/// would otherwise make possible duplicates of later registrations whose index terms, copied
/// from another case, cannot be decrypted.
fn create_script(pg: &mut PgConnection) -> String {
    let template = one(
        pg,
        "SELECT resource_id AS v FROM audit_events WHERE action = 'case.create' ORDER BY \
         occurred_at DESC LIMIT 1",
    );
    let hex = |pg: &mut PgConnection, sql: String| format!("'\\x{}'::bytea", one(pg, &sql));
    let wrapped = hex(
        pg,
        format!(
            "SELECT encode(wrapped_key, 'hex') AS v FROM case_keys WHERE case_id = '{template}'"
        ),
    );
    let terms = hex(
        pg,
        format!(
            "SELECT encode(ciphertext, 'hex') AS v FROM case_index_terms WHERE case_id = \
             '{template}'"
        ),
    );
    let groups = many(
        pg,
        &format!(
            "SELECT field_group || ' ' || encode(ciphertext, 'hex') AS v FROM case_field_groups \
             WHERE case_id = '{template}' ORDER BY field_group"
        ),
    );
    let indexes = many(
        pg,
        &format!(
            "SELECT index_name || ' ' || length(value) AS v FROM blind_indexes WHERE case_id = \
             '{template}' ORDER BY index_name, value"
        ),
    );
    // One random base, then consecutive values: two index rows of the same name (a name's two
    // tokens) never draw the same value, which would break the primary key.
    let mut s = String::from("\\set base random(0, 4294967295)\n");
    for (i, row) in indexes.iter().enumerate() {
        let (_, bytes) = row.split_once(' ').unwrap();
        let bits = 8 * bytes.parse::<u32>().unwrap();
        assert!(bits < 64, "a blind index of {bytes} bytes");
        writeln!(s, "\\set b{i} (:base + {i}) % {}", 1u64 << bits).unwrap();
    }
    let value = |i: usize, row: &str| {
        let bytes: usize = row.split_once(' ').unwrap().1.parse().unwrap();
        format!(
            "decode(lpad(to_hex(:b{i}::bigint), {}, '0'), 'hex')",
            2 * bytes
        )
    };
    s.push_str(SESSION);
    s.push_str("BEGIN;\n");
    s.push_str(
        "SELECT r.cid, r.ref, (EXISTS (SELECT 1 FROM cases WHERE reference = r.ref) OR EXISTS \
         (SELECT 1\n  FROM anonymous_notifications WHERE reference = r.ref)) AS taken\n  FROM \
         (SELECT gen_random_uuid()::text AS cid, 'P-' || upper(substr(md5(random()::text), 1, \
         11)) AS ref) r \\gset\nINSERT INTO cases (id, reference, owner_organisation_id, \
         created_by, created_at, updated_at, version, sex,\n  age_band, may_be_child, is_child, \
         citizenship, recruitment_country, exploitation_country, region,\n  encountered_on, \
         identification_stage, referred_into_nrm_at, reasonable_grounds_due_at,\n  \
         reasonable_grounds_decided_at, recovery_period_ends_at, conclusive_grounds_decided_at,\n  \
         reasonable_grounds_overdue_at, conclusive_grounds_overdue_at, status, closure_reason,\n  \
         closure_requested_at, closure_requested_by, closed_at, closure_approved_by,\n  \
         child_protection_notified_at, exploitation_forms)\n  VALUES (:cid, :ref, :org, :uid, \
         now(), now(), 1, 'female', '21_23', false, false, 'UG', NULL, 'KE',\n  'UG-202', \
         current_date - 3, 'not_screened', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'open',\n  \
         NULL, NULL, NULL, NULL, NULL, NULL, 'debt_bondage,forced_labour') RETURNING *;\nINSERT \
         INTO case_exploitation_types (case_id, exploitation_type) VALUES (:cid, \
         'debt_bondage'),\n  (:cid, 'forced_labour');\nINSERT INTO case_means_of_control \
         (case_id, means_of_control) VALUES (:cid, 'withholds_documents');\nINSERT INTO \
         case_assignments (case_id, user_id, organisation_id, lead, assigned_by, assigned_at)\n  \
         VALUES (:cid, :uid, :org, true, NULL, now());\n",
    );
    s.push_str(INDEX_KEYS);
    writeln!(
        s,
        "INSERT INTO case_keys (case_id, data_key_version, kek_version, wrapped_key, created_at) \
         VALUES (:cid, 1, 1, {wrapped}, now());"
    )
    .unwrap();
    let rows: Vec<String> = groups
        .iter()
        .map(|row| {
            let (group, bytes) = row.split_once(' ').unwrap();
            format!("(:cid, '{group}', '\\x{bytes}'::bytea, now())")
        })
        .collect();
    writeln!(
        s,
        "INSERT INTO case_field_groups (case_id, field_group, ciphertext, updated_at) VALUES\n  \
         {};",
        rows.join(",\n  ")
    )
    .unwrap();
    let rows: Vec<String> = groups
        .iter()
        .map(|row| {
            let (group, _) = row.split_once(' ').unwrap();
            format!("(:cid, '{group}', 1, NULL, :uid, 'case_worker', :org, now(), NULL)")
        })
        .collect();
    writeln!(
        s,
        "INSERT INTO case_group_versions (case_id, field_group, version, ciphertext, changed_by,\n  \
         changed_by_role, changed_by_organisation_id, changed_at, reason) VALUES\n  {};",
        rows.join(",\n  ")
    )
    .unwrap();
    writeln!(
        s,
        "INSERT INTO case_index_terms (case_id, index_key_version, ciphertext, updated_at) VALUES \
         (:cid, 1,\n  {terms}, now());"
    )
    .unwrap();
    let rows: Vec<String> = indexes
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (name, _) = row.split_once(' ').unwrap();
            format!("(:cid, '{name}', 1, {})", value(i, row))
        })
        .collect();
    writeln!(
        s,
        "INSERT INTO blind_indexes (case_id, index_name, index_key_version, value) VALUES\n  {};",
        rows.join(",\n  ")
    )
    .unwrap();
    // Duplicate detection: the keys again, then one look-up for the names with the birth date
    // and the documents.
    s.push_str(INDEX_KEYS);
    let looked_up: Vec<String> = indexes
        .iter()
        .enumerate()
        .filter(|(_, row)| row.starts_with("name_dob ") || row.starts_with("document "))
        .map(|(i, row)| value(i, row))
        .collect();
    writeln!(
        s,
        "SELECT case_id, index_name, value FROM blind_indexes WHERE index_name = \
         ANY(ARRAY['name_dob',\n  'document']) AND value = ANY(ARRAY[{}]) AND index_key_version \
         = 1;",
        looked_up.join(", ")
    )
    .unwrap();
    s.push_str(&audit_insert(pg, "case.create"));
    s.push_str("COMMIT;\n");
    s
}

/// Deletes the blind-index rows of the cases pgbench registered (see [`create_script`]).
const PGBENCH_INDEXES_GONE: &str = "DELETE FROM blind_indexes b USING cases c
  WHERE c.id = b.case_id AND c.reference LIKE 'P-%'";

impl Run {
    /// Runs `script` with pgbench: a warm-up, then the measured window with a
    /// per-transaction log.
    fn pgbench(
        &self,
        script: &str,
        name: &str,
        scratch: &Path,
        worker: &Worker,
        target: &Target,
    ) -> Measured {
        let file = scratch.join(format!("{name}.sql"));
        std::fs::write(&file, script).unwrap();
        let statements = script
            .lines()
            .filter(|l| {
                let l = l.trim_end();
                l.ends_with(';') || l.ends_with("\\gset")
            })
            .count();
        // A fresh log directory for each run: a round must not count an earlier round's lines.
        let logs = scratch.join(name);
        if logs.exists() {
            std::fs::remove_dir_all(&logs).unwrap();
        }
        std::fs::create_dir_all(&logs).unwrap();
        let run = |secs: u64, log: bool| {
            let mut command = Command::new("pgbench");
            command
                .args(["-n", "-M", "prepared", "-j", "2"])
                .arg("-c")
                .arg(self.clients.to_string())
                .arg("-T")
                .arg(secs.to_string())
                .arg("-f")
                .arg(&file)
                .arg("-D")
                .arg(format!("ids={}", target.ids.len()))
                .arg("-D")
                .arg(format!("sid={}", worker.session))
                .arg("-D")
                .arg(format!("uid={}", worker.user))
                .arg("-D")
                .arg(format!("org={}", worker.organisation));
            if log {
                command
                    .args(["-r", "--log"])
                    .arg(format!("--log-prefix={}", logs.join("tx").display()));
            }
            command.arg(&self.url);
            let before = Cpu::sample();
            let output = command.output().unwrap();
            let cpu = Cpu::sample().since(&before);
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            assert!(
                output.status.success() && !stderr.contains("aborted"),
                "pgbench {name} failed: {stdout}\n{stderr}"
            );
            (stdout, cpu)
        };
        run(self.warmup.as_secs().max(1), false);
        let (stdout, cpu) = run(self.window.as_secs(), true);
        let field = |label: &str| {
            stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix(label))
                .map(|rest| rest.trim().to_owned())
                .unwrap_or_else(|| panic!("pgbench printed no `{label}`: {stdout}"))
        };
        let processed: usize = field("number of transactions actually processed:")
            .parse()
            .unwrap();
        let failed = field("number of failed transactions:");
        assert!(failed.starts_with("0 "), "pgbench {name}: {failed} failed");
        let tps: f64 = field("tps =")
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let average = field("latency average =");
        let mut latencies = Vec::new();
        for entry in std::fs::read_dir(&logs).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                // client_id transaction_no time script_no time_epoch time_us
                let micros: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
                latencies.push(Duration::from_micros(micros));
            }
        }
        latencies.sort();
        assert_eq!(latencies.len(), processed, "one log line per transaction");
        println!(
            "pgbench {name}: {processed} transactions of {statements} statements, tps = {tps:.1} \
             (without connection time), latency average = {average}"
        );
        print_slowest_statements(&stdout);
        Measured {
            // pgbench's rate: transactions over the time its clients ran (connections excluded).
            done: (tps * self.window.as_secs_f64()).round() as usize,
            window: self.window,
            latencies,
            cpu,
            statements: Some(statements as f64),
        }
    }
}

/// The five statements with the highest average latency in pgbench's `-r` report, with their
/// share of the script's summed statement latencies.
fn print_slowest_statements(stdout: &str) {
    let mut statements: Vec<(f64, String)> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("statement latencies"))
        .skip(1)
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let latency: f64 = parts.next()?.parse().ok()?;
            let _failures = parts.next()?;
            let text: String = parts.collect::<Vec<_>>().join(" ");
            Some((latency, text))
        })
        .collect();
    let total: f64 = statements.iter().map(|(l, _)| l).sum();
    statements.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (latency, text) in statements.iter().take(5) {
        println!(
            "    {latency:>7.3} ms ({:>4.1}%)  {}",
            100.0 * latency / total.max(f64::MIN_POSITIVE),
            text.chars().take(100).collect::<String>()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Small queries.

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    v: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn one(pg: &mut PgConnection, sql: &str) -> String {
    diesel::sql_query(sql).get_result::<TextRow>(pg).unwrap().v
}

fn many(pg: &mut PgConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<TextRow>(pg)
        .unwrap()
        .into_iter()
        .map(|r| r.v)
        .collect()
}

fn count(pg: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<CountRow>(pg).unwrap().n
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc, in clock ticks.

/// `sysconf(_SC_CLK_TCK)` on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time used, by consumer.
#[derive(Debug, Default, Clone)]
struct Cpu {
    /// This process (server and HTTP clients).
    own: u64,
    /// This process's `bench-client` threads.
    client: u64,
    /// Children this process waited for (pgbench).
    children: u64,
    /// Every `postgres` process, and the exited backends the postmaster reaped.
    postgres: u64,
    /// The whole machine, busy.
    busy: u64,
    /// The whole machine, idle.
    idle: u64,
}

impl Cpu {
    fn other(&self) -> u64 {
        self.busy
            .saturating_sub(self.own + self.children + self.postgres)
    }

    fn sample() -> Cpu {
        let own = stat_fields("/proc/self/stat");
        let mut client = 0;
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let path = task.path();
                let Some((name, fields)) = stat_fields(&path.join("stat").display().to_string())
                else {
                    continue;
                };
                if name.starts_with("bench-client") {
                    client += fields[11] + fields[12];
                }
            }
        }
        let mut postgres = 0;
        if let Ok(procs) = std::fs::read_dir("/proc") {
            for entry in procs.flatten() {
                if !entry
                    .file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                {
                    continue;
                }
                if let Some((name, f)) =
                    stat_fields(&entry.path().join("stat").display().to_string())
                    && name == "postgres"
                {
                    postgres += f[11] + f[12] + f[13] + f[14];
                }
            }
        }
        let (busy, idle) = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|text| {
                let line = text.lines().next()?.to_owned();
                let v: Vec<u64> = line
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|x| x.parse().ok())
                    .collect();
                // user nice system idle iowait irq softirq steal
                let idle = v.get(3)? + v.get(4)?;
                let busy = v.iter().take(8).sum::<u64>() - idle;
                Some((busy, idle))
            })
            .unwrap_or_default();
        let (own, children) = own.map_or((0, 0), |(_, f)| (f[11] + f[12], f[13] + f[14]));
        Cpu {
            own,
            client,
            children,
            postgres,
            busy,
            idle,
        }
    }

    fn since(&self, before: &Cpu) -> Cpu {
        Cpu {
            own: self.own.saturating_sub(before.own),
            client: self.client.saturating_sub(before.client),
            children: self.children.saturating_sub(before.children),
            postgres: self.postgres.saturating_sub(before.postgres),
            busy: self.busy.saturating_sub(before.busy),
            idle: self.idle.saturating_sub(before.idle),
        }
    }
}

/// A `/proc/.../stat` file: the command name and the numeric fields after it (field 3 on, so
/// utime, stime, cutime, cstime are at 11, 12, 13, 14).
fn stat_fields(path: &str) -> Option<(String, Vec<u64>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text[open + 1..close].to_owned();
    let fields = text[close + 1..]
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect::<Vec<u64>>();
    (fields.len() > 14).then_some((name, fields))
}
