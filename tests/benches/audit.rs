//! Audit-trail benchmark: `cargo bench -p tumaini-tests --bench audit` (figures go in the notes).
//!
//! On PostgreSQL only (the production engine), each step on a fresh, migrated database dropped
//! at its end:
//!
//! 1. Audited appends. `AUDIT_BENCH_WRITERS` writer threads (default 32), each with its own
//!    connection, for `AUDIT_BENCH_SECS` seconds (default 15), each iteration one transaction
//!    holding one `audit::record` of a realistic `case.read` event (one case worker per writer,
//!    a random case among 10,000, groups `identity,contact`, purpose, decision, policies, a
//!    request id). Run A: plain inserts, no sealer. Run B: a new database, the same writers,
//!    and the real `AuditSealer` the server runs (production settings: a poll every
//!    `AUDIT_BENCH_SEAL_MS`, default 500, batches of 2,000, a checkpoint a minute, and the
//!    insider-misuse check over the sealed events, whose users and their coordinator exist).
//!    Printed: appends per second, p50 and p99 latency of one append transaction, the ratio
//!    B/A (target at least 0.7), the sealer's backlog each second, and once the writers stop,
//!    how long the sealer needs to seal everything and at what rate. Run B's chain is then
//!    verified (a correctness check, not a target).
//! 2. `verify` over `AUDIT_BENCH_EVENTS` events (default 1,000,000): the events are inserted by
//!    one bulk SQL statement, sealed by `seal` in rounds of 10,000 (a checkpoint each round),
//!    then `verify` recomputes the whole chain (target under 10 s). The CPU time of this process
//!    and of its PostgreSQL backend, and the hashing cost alone, show where the time goes.
//!
//! 3. Growth (`AUDIT_BENCH_GROWTH`, default `10000,1000000,10000000` events already in the
//!    trail, each on a fresh database): what a sealing round, the sealer's look-backs and the
//!    insider-misuse recount cost as the trail grows (see [`growth_table`]).
//!
//! `AUDIT_BENCH_STEPS` (default `1,2,3`) picks the steps (1 and 2 run together).
//!
//! CPU time comes from /proc: this process's writer threads and sealer thread, every
//! `postgres` process, and the rest of the machine ("other": anything else running, which
//! skews the figures). PostgreSQL is skipped when unreachable (see `TestDb`).

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failed step must stop it loudly"
)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection as _;
use diesel::sql_types::BigInt;
use diesel::{PgConnection, QueryableByName, RunQueryDsl as _};
use rand::Rng as _;
use tumaini_api::jobs::audit_sealer::AuditSealer;
use tumaini_api::keyring::audit_signer as signer;
use tumaini_db::DbConn;
use tumaini_db::audit_chain::{self, AuditSigner, SealOptions};
use tumaini_db::country::CountryCode;
use tumaini_db::ids::AuditEventId;
use tumaini_db::models::audit::{self, AuditEvent, AuditRecord};
use tumaini_db::models::{NewOrganisation, NewUser, Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::AuditAction;
use tumaini_db::vocabulary::{OrganisationKind, Role, UserStatus};
use tumaini_db::{PoolOptions, build_pool};
use tumaini_tests::bench::{percentile, setting};
use tumaini_tests::{Engine, TestDb, test_config};

/// Distinct cases the writers read.
const CASES: usize = 10_000;
/// Events per `seal` round when sealing the bulk-inserted events.
const SEAL_BATCH: i64 = 10_000;

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let secs = setting("AUDIT_BENCH_SECS", 15);
    let writers = setting("AUDIT_BENCH_WRITERS", 32);
    let events = setting("AUDIT_BENCH_EVENTS", 1_000_000);
    let seal_ms = setting("AUDIT_BENCH_SEAL_MS", 500);
    let steps = std::env::var("AUDIT_BENCH_STEPS").unwrap_or_else(|_| "1,2,3".to_owned());
    let step = |n: &str| steps.split(',').any(|s| s.trim() == n);
    let sizes: Vec<usize> = std::env::var("AUDIT_BENCH_GROWTH")
        .unwrap_or_else(|_| "10000,1000000,10000000".to_owned())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let Some(db) = TestDb::migrated(Engine::Postgres) else {
        println!("PostgreSQL is unreachable: nothing measured");
        return;
    };
    machine(&db);
    if step("1") && step("2") {
        appends_and_verify(db, writers, secs, seal_ms, events);
    } else {
        drop(db);
    }
    if step("3") {
        println!();
        growth_table(&sizes);
    }
    println!(
        "load average after the run: {}",
        load_average().unwrap_or_default()
    );
}

/// Steps 1 and 2, and their summary.
fn appends_and_verify(db: TestDb, writers: usize, secs: usize, seal_ms: usize, events: usize) {
    println!();
    println!(
        "1. Audited appends: {writers} writers, one connection each, {secs} s per run, one \
         `case.read` event per transaction"
    );
    let plain = appends(&db, writers, secs, None);
    drop(db);
    let db = TestDb::migrated(Engine::Postgres).unwrap();
    let sealed = appends(&db, writers, secs, Some(seal_ms));
    drop(db);
    let ratio = sealed.rate() / plain.rate();
    println!(
        "ratio B/A = {ratio:.2} (target >= 0.7: {})",
        if ratio >= 0.7 { "met" } else { "NOT met" }
    );
    cpu_table(&[("A plain", &plain), ("B sealed", &sealed)]);

    println!();
    println!("2. verify over {events} events");
    let db = TestDb::migrated(Engine::Postgres).unwrap();
    let verified = verification(&db, events);
    drop(db);

    println!();
    summary(writers, &plain, &sealed, &verified);
}

fn machine(db: &TestDb) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut conn = db.conn();
    let pg = pg(&mut conn);
    println!(
        "machine: {cores} cores (available_parallelism), load average before the run {}",
        load_average().unwrap_or_default()
    );
    println!(
        "PostgreSQL: {}; shared_buffers {}, synchronous_commit {}, fsync {}, max_connections {}",
        text(pg, "SELECT version() AS v")
            .split(" on ")
            .next()
            .unwrap_or_default(),
        text(pg, "SELECT current_setting('shared_buffers') AS v"),
        text(pg, "SELECT current_setting('synchronous_commit') AS v"),
        text(pg, "SELECT current_setting('fsync') AS v"),
        text(pg, "SELECT current_setting('max_connections') AS v"),
    );
    println!(
        "build: {}",
        if cfg!(debug_assertions) {
            "debug assertions on (not a release build: figures are not representative)"
        } else {
            "optimised"
        }
    );
}

fn load_average() -> Option<String> {
    Some(
        std::fs::read_to_string("/proc/loadavg")
            .ok()?
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn pg(conn: &mut DbConn) -> &mut PgConnection {
    match conn {
        DbConn::Postgresql(pg) => pg,
        DbConn::Sqlite(_) => unreachable!("PostgreSQL only"),
    }
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

fn text(pg: &mut PgConnection, sql: &str) -> String {
    diesel::sql_query(sql).get_result::<TextRow>(pg).unwrap().v
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn number(pg: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<CountRow>(pg).unwrap().n
}

// ---------------------------------------------------------------------------------------------
// 1. Appends.

/// What one append run measured.
struct AppendRun {
    label: &'static str,
    done: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
    cpu: Cpu,
    /// With the sealer: (seconds since the start, appended, sealed), once a second.
    backlog: Vec<(f64, u64, i64)>,
    /// With the sealer: unsealed events when the writers stopped, and how long sealing them
    /// took.
    catch_up: Option<(i64, Duration)>,
    /// With the sealer: events in the chain at the end, and how long `verify` took.
    verified: Option<(i64, Duration)>,
}

impl AppendRun {
    fn rate(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }
}

/// One case worker per writer in a shelter, and a coordinator of the same country (the
/// misuse alert looks the readers up and e-mails their coordinators).
fn seed_actors(db: &TestDb, writers: usize) -> (String, Vec<String>) {
    let mut conn = db.conn();
    let mut organisation = |name: &str, kind| {
        Organisation::create(
            &mut conn,
            &NewOrganisation {
                name: name.to_owned(),
                kind,
                country: "UG".parse::<CountryCode>().unwrap(),
                region: "Central".to_owned(),
                services: vec![],
            },
        )
        .unwrap()
        .id
    };
    let shelter = organisation("Bench Shelter", OrganisationKind::Shelter);
    let office = organisation("Bench Office", OrganisationKind::CoordinationOffice);
    let mut user = |organisation: &tumaini_db::ids::OrgId, role: Role, n: usize| {
        User::create(
            &mut conn,
            &NewUser {
                organisation_id: organisation.clone(),
                role,
                email: format!("{}-{n}@example.test", role.code().replace('_', "-"))
                    .parse()
                    .unwrap(),
                display_name: format!("Bench {} {n}", role.label()),
                status: UserStatus::Active,
                password_hash: None,
                password_must_change: false,
            },
        )
        .unwrap()
        .id
        .to_string()
    };
    user(&office, Role::Coordinator, 0);
    let workers = (0..writers)
        .map(|n| user(&shelter, Role::CaseWorker, n))
        .collect();
    (shelter.to_string(), workers)
}

/// Runs the writers (and, with `seal_ms`, the real sealer) on `db`.
fn appends(db: &TestDb, writers: usize, secs: usize, seal_ms: Option<usize>) -> AppendRun {
    let label = if seal_ms.is_some() {
        "B: with the AuditSealer"
    } else {
        "A: plain inserts, no sealer"
    };
    let (organisation, actors) = seed_actors(db, writers);
    let cases: Arc<Vec<String>> = Arc::new(
        (0..CASES)
            .map(|_| uuid::Uuid::now_v7().hyphenated().to_string())
            .collect(),
    );
    let mail_dir = tempfile::tempdir().unwrap();
    let sealer = seal_ms.map(|ms| {
        let ms = ms.to_string();
        let config = test_config(db, mail_dir.path(), &[("TUMAINI_AUDIT_SEAL_MS", &ms)]);
        let pool = build_pool(
            &db.url,
            PoolOptions {
                max_size: 2,
                ..PoolOptions::default()
            },
        )
        .unwrap();
        let signer = signer(&config.audit).unwrap();
        (config, pool, signer)
    });

    let event_key = sealer.as_ref().map(|(_, _, s)| s.event_key().clone());
    let stop = Arc::new(AtomicBool::new(false));
    let appended = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(writers + 1));
    let finished = Arc::new(Barrier::new(writers + 1));
    let threads: Vec<_> = actors
        .into_iter()
        .enumerate()
        .map(|(n, actor)| {
            let mut conn = db.conn();
            let organisation = organisation.clone();
            let cases = Arc::clone(&cases);
            let event_key = event_key.clone();
            let (stop, appended, barrier, finished) = (
                Arc::clone(&stop),
                Arc::clone(&appended),
                Arc::clone(&barrier),
                Arc::clone(&finished),
            );
            std::thread::Builder::new()
                .name(format!("audit-writer-{n}"))
                .spawn(move || {
                    let mut rng = rand::rng();
                    let mut latencies = Vec::with_capacity(50_000);
                    barrier.wait();
                    while !stop.load(Ordering::Relaxed) {
                        let record = AuditRecord {
                            action: AuditAction::CaseRead,
                            outcome: "success".to_owned(),
                            actor_user_id: Some(actor.clone()),
                            actor_organisation_id: Some(organisation.clone()),
                            actor_role: Some("case_worker".to_owned()),
                            resource_type: Some("case".to_owned()),
                            resource_id: Some(cases[rng.random_range(0..cases.len())].clone()),
                            field_groups: "identity,contact".to_owned(),
                            purpose: Some("assistance".to_owned()),
                            decision: Some("allow".to_owned()),
                            policy_ids: "case.owner-staff,case.groups-by-role".to_owned(),
                            request_id: Some(uuid::Uuid::now_v7().hyphenated().to_string()),
                            client_hash: None,
                            high_severity: false,
                            client_request_id: None,
                            actor_client_id: None,
                        };
                        let start = Instant::now();
                        conn.write_transaction(|c| audit::record(c, &record, event_key.as_ref()))
                            .unwrap();
                        latencies.push(start.elapsed());
                        appended.fetch_add(1, Ordering::Relaxed);
                    }
                    // Alive until the CPU time of the writer threads has been read: the first
                    // wait says this writer is done, the second that the main thread has read.
                    finished.wait();
                    finished.wait();
                    latencies
                })
                .unwrap()
        })
        .collect();

    let mut running = sealer.as_ref().map(|(config, pool, signer)| {
        AuditSealer::start(
            pool.clone(),
            Arc::clone(signer),
            &config.audit,
            config.public_url.clone(),
            tumaini_api::metrics::Metrics::new(&config.metrics).unwrap(),
        )
        .unwrap()
    });
    let mut watch = db.conn();
    let cpu_before = Cpu::sample();
    barrier.wait();
    let start = Instant::now();
    let mut backlog = Vec::new();
    let deadline = start + Duration::from_secs(secs as u64);
    while Instant::now() < deadline {
        std::thread::sleep(
            Duration::from_secs(1).min(deadline.saturating_duration_since(Instant::now())),
        );
        // The chain's head: a look-up in the primary key, cheap enough not to disturb.
        let sealed = number(
            pg(&mut watch),
            "SELECT coalesce(max(position), 0) AS n FROM audit_chain",
        );
        backlog.push((
            start.elapsed().as_secs_f64(),
            appended.load(Ordering::Relaxed),
            sealed,
        ));
    }
    stop.store(true, Ordering::Relaxed);
    finished.wait();
    let elapsed = start.elapsed();
    let cpu = Cpu::sample().since(&cpu_before);
    finished.wait();
    let mut latencies = Vec::new();
    for thread in threads {
        latencies.extend(thread.join().unwrap());
    }
    latencies.sort_unstable();
    let done = latencies.len() as u64;

    let mut catch_up = None;
    let mut verified = None;
    if let Some(sealer) = running.as_mut() {
        let left = audit_chain::unsealed_count(&mut watch).unwrap();
        let start = Instant::now();
        while audit_chain::unsealed_count(&mut watch).unwrap() > 0 {
            std::thread::sleep(Duration::from_millis(50));
        }
        catch_up = Some((left, start.elapsed()));
        sealer.stop();
    }
    drop(running);
    if let Some((_, _, signer)) = &sealer {
        audit_chain::checkpoint_now(&mut watch, signer).unwrap();
        let start = Instant::now();
        let keys = audit_chain::Keys {
            checkpoints: &[signer.verifying_key()],
            events: Some(signer.event_key()),
        };
        let report = audit_chain::verify(&mut watch, keys, &Default::default(), |_, _| {}).unwrap();
        let took = start.elapsed();
        assert!(report.intact(), "run B's chain is broken: {report:?}");
        let total = number(pg(&mut watch), "SELECT count(*) AS n FROM audit_events");
        assert_eq!(report.events, total, "every event is sealed");
        verified = Some((report.events, took));
    }
    let run = AppendRun {
        label,
        done,
        elapsed,
        latencies,
        cpu,
        backlog,
        catch_up,
        verified,
    };
    print_appends(&run);
    run
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn print_appends(run: &AppendRun) {
    println!(
        "{}: {} appends in {:.2} s = {:.0} appends/s; latency p50 {}, p99 {}, max {}",
        run.label,
        run.done,
        run.elapsed.as_secs_f64(),
        run.rate(),
        ms(percentile(&run.latencies, 0.5)),
        ms(percentile(&run.latencies, 0.99)),
        ms(run.latencies.last().copied().unwrap_or_default()),
    );
    if let Some((left, took)) = run.catch_up {
        let line = run
            .backlog
            .iter()
            .map(|(_, appended, sealed)| (*appended as i64 - sealed).to_string())
            .collect::<Vec<_>>()
            .join(" ");
        println!("   sealer backlog (appended - sealed) each second: {line}");
        let sealed_while_writing = run.backlog.last().map_or(0, |b| b.2);
        println!(
            "   sealed while the writers ran: {sealed_while_writing} of {} ({:.0} events/s)",
            run.done,
            sealed_while_writing as f64 / run.elapsed.as_secs_f64()
        );
        println!(
            "   after the writers stopped: {left} unsealed, all sealed {:.2} s later ({:.0} \
             events/s with the writers gone; includes up to one poll interval)",
            took.as_secs_f64(),
            left as f64 / took.as_secs_f64().max(1e-9)
        );
    }
    if let Some((events, took)) = run.verified {
        println!(
            "   run B's chain verified intact: {events} events in {:.2} s",
            took.as_secs_f64()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Verify.

struct Verification {
    events: usize,
    fill: Duration,
    seal: Duration,
    seal_rounds: Vec<Duration>,
    verify: Duration,
    own_cpu: f64,
    backend_cpu: f64,
    hashing: Duration,
    checkpoints: usize,
}

/// Inserts `count` `case.read` events one millisecond apart, in one statement.
fn fill(pg: &mut PgConnection, count: usize) {
    pg.batch_execute(&format!(
        "INSERT INTO audit_events (id, occurred_at, action, outcome, actor_user_id,
             actor_organisation_id, actor_role, resource_type, resource_id, field_groups, purpose,
             decision, policy_ids, request_id, client_hash, severity)
         SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'),
                timestamp '2026-01-01' + i * interval '1 millisecond',
                'case.read', 'success',
                '0190a000-0000-7000-8000-' || lpad(to_hex(i % 500), 12, '0'),
                '0190b000-0000-7000-8000-' || lpad(to_hex(i % 20), 12, '0'),
                'case_worker', 'case',
                '0190c000-0000-7000-8000-' || lpad(to_hex(i % 100000), 12, '0'),
                'identity,contact', 'assistance', 'allow', 'case.owner-staff,case.groups-by-role',
                gen_random_uuid()::text, NULL, 'normal'
         FROM generate_series(1, {count}) AS i;
         ANALYZE audit_events;"
    ))
    .unwrap();
}

/// CPU seconds of a process or thread, from its /proc stat file.
fn cpu_seconds(path: &str) -> f64 {
    stat_fields(path).map_or(0.0, |(_, f)| (f[11] + f[12]) as f64 / TICKS_PER_SECOND)
}

fn verification(db: &TestDb, count: usize) -> Verification {
    let mut conn = db.conn();
    let start = Instant::now();
    fill(pg(&mut conn), count);
    let filled = start.elapsed();
    println!(
        "filled {count} events by bulk SQL in {:.1} s",
        filled.as_secs_f64()
    );

    let signer = AuditSigner::from_seed(&[42; 32]);
    // Ordinary rounds, as the server's sealer runs most of the time (it looks further back
    // only now and then).
    let options = SealOptions {
        batch: SEAL_BATCH,
        full_sweep: false,
        straggler_window: None,
        checkpoint_every: chrono::Duration::zero(),
    };
    let start = Instant::now();
    let mut rounds = Vec::new();
    let mut sealed = 0usize;
    loop {
        let round = Instant::now();
        let done = audit_chain::seal(&mut conn, &signer, options).unwrap();
        rounds.push(round.elapsed());
        assert!(!done.busy);
        sealed += done.events.len();
        if done.events.len() < SEAL_BATCH as usize {
            break;
        }
    }
    let seal = start.elapsed();
    assert_eq!(sealed, count);
    audit_chain::checkpoint_now(&mut conn, &signer).unwrap();
    println!(
        "sealed {sealed} events by `seal` in {} rounds of up to {SEAL_BATCH}: {:.1} s = {:.0} \
         events/s; round time first {}, median {}, last full {}",
        rounds.len(),
        seal.as_secs_f64(),
        sealed as f64 / seal.as_secs_f64(),
        ms(rounds[0]),
        ms({
            let mut sorted = rounds.clone();
            sorted.sort_unstable();
            percentile(&sorted, 0.5)
        }),
        ms(rounds[rounds.len().saturating_sub(2)]),
    );
    pg(&mut conn).batch_execute("VACUUM ANALYZE").unwrap();

    // Verify on a fresh connection, as `tumaini audit verify` would.
    let mut conn = db.conn();
    let backend = number(pg(&mut conn), "SELECT pg_backend_pid()::bigint AS n");
    let backend_stat = format!("/proc/{backend}/stat");
    let own_stat = "/proc/thread-self/stat";
    let (own_before, backend_before) = (cpu_seconds(own_stat), cpu_seconds(&backend_stat));
    let mut pages = 0usize;
    let start = Instant::now();
    let keys = audit_chain::Keys {
        checkpoints: &[signer.verifying_key()],
        events: Some(signer.event_key()),
    };
    let report = audit_chain::verify(&mut conn, keys, &Default::default(), |_, _| {
        pages += 1;
    })
    .unwrap();
    let verify = start.elapsed();
    let own_cpu = cpu_seconds(own_stat) - own_before;
    let backend_cpu = cpu_seconds(&backend_stat) - backend_before;
    assert!(report.intact(), "the chain is broken: {report:?}");
    assert_eq!(report.events, count as i64);
    println!(
        "verify: {} events, {} checkpoints, {pages} pages in {:.2} s = {:.0} events/s (target < \
         10 s: {})",
        report.events,
        report.checkpoints,
        verify.as_secs_f64(),
        report.events as f64 / verify.as_secs_f64(),
        if verify < Duration::from_secs(10) {
            "met"
        } else {
            "NOT met"
        }
    );

    // The hashing alone: encode, leaf and chain hash of one typical event, in memory.
    let event = AuditEvent {
        id: AuditEventId::generate(),
        occurred_at: now_utc(),
        action: "case.read".to_owned(),
        outcome: "success".to_owned(),
        actor_user_id: Some(uuid::Uuid::now_v7().hyphenated().to_string()),
        actor_organisation_id: Some(uuid::Uuid::now_v7().hyphenated().to_string()),
        actor_role: Some("case_worker".to_owned()),
        resource_type: Some("case".to_owned()),
        resource_id: Some(uuid::Uuid::now_v7().hyphenated().to_string()),
        field_groups: "identity,contact".to_owned(),
        purpose: Some("assistance".to_owned()),
        decision: Some("allow".to_owned()),
        policy_ids: "case.owner-staff,case.groups-by-role".to_owned(),
        request_id: Some(uuid::Uuid::now_v7().hyphenated().to_string()),
        client_hash: None,
        severity: "normal".to_owned(),
        client_request_id: None,
        actor_client_id: None,
        mac: None,
    };
    let hashed = count.min(200_000);
    let start = Instant::now();
    let mut chain = audit_chain::GENESIS;
    for _ in 0..hashed {
        let leaf = audit_chain::leaf_hash(std::hint::black_box(&event));
        chain = audit_chain::chain_hash(&chain, &leaf);
    }
    std::hint::black_box(chain);
    let hashing = start.elapsed().mul_f64(count as f64 / hashed as f64);
    println!(
        "where verify's time goes: this thread {own_cpu:.2} s CPU (decoding rows, encoding and \
         hashing), its PostgreSQL backend {backend_cpu:.2} s CPU (the two queries per page), \
         the rest ({:.2} s) waiting (round trips, the other core's load); encoding and hashing \
         alone would take {:.2} s for {count} events ({:.2} us each)",
        (verify.as_secs_f64() - own_cpu - backend_cpu).max(0.0),
        hashing.as_secs_f64(),
        hashing.as_secs_f64() * 1e6 / count as f64,
    );
    Verification {
        events: count,
        fill: filled,
        seal,
        seal_rounds: rounds,
        verify,
        own_cpu,
        backend_cpu,
        hashing,
        checkpoints: report.checkpoints,
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Growth: what the sealer and the misuse recount read as the trail grows.

/// New events per measured sealing round (a busy second of a national deployment).
const GROWTH_BATCH: usize = 2_000;
/// Readers of the new events (each reads `GROWTH_BATCH / GROWTH_READERS` cases in the window).
const GROWTH_READERS: usize = 20;
/// Measured repetitions per trail size (the median is printed).
const GROWTH_REPEATS: usize = 5;

/// What one trail size measured: medians over the repetitions, but the first round's full
/// sweep (measured once).
struct Growth {
    trail: usize,
    fill: Duration,
    start_check: Duration,
    full_sweep: Duration,
    round: Duration,
    straggler: Duration,
    sweep: Duration,
    reader_recount: Duration,
    client_recount: Duration,
    alert_lookup: Duration,
}

/// Fills a trail of `count` events, spread evenly over the year that ended two hours ago (so
/// the misuse window holds only what the measurement adds), already sealed: a chain row per
/// event. A shortcut, said in the output: the chain rows carry made-up hashes (SHA-256 of the
/// position) and no MAC, so this chain does not verify; the sealer only reads its last row
/// and carries on from it. 500 readers, as in step 2; one event in a hundred by one of five
/// machine clients.
fn fill_sealed(pg: &mut PgConnection, count: usize) {
    let end = (now_utc() - chrono::Duration::hours(2)).format("%Y-%m-%d %H:%M:%S%.6f");
    pg.batch_execute(&format!(
        "INSERT INTO audit_events (id, occurred_at, action, outcome, actor_user_id,
             actor_organisation_id, actor_role, resource_type, resource_id, field_groups, purpose,
             decision, policy_ids, request_id, client_hash, severity, actor_client_id)
         SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'),
                timestamp '{end}' - ({count} - i) * (interval '365 days' / {count}),
                'case.read', 'success',
                CASE WHEN i % 100 = 0 THEN NULL
                     ELSE '0190a000-0000-7000-8000-' || lpad(to_hex(i % 500), 12, '0') END,
                '0190b000-0000-7000-8000-' || lpad(to_hex(i % 20), 12, '0'),
                'case_worker', 'case',
                '0190c000-0000-7000-8000-' || lpad(to_hex(i % 100000), 12, '0'),
                'identity,contact', 'assistance', 'allow', 'case.owner-staff,case.groups-by-role',
                gen_random_uuid()::text, NULL, 'normal',
                CASE WHEN i % 100 = 0
                     THEN '0190d000-0000-7000-8000-' || lpad(to_hex(i / 100 % 5), 12, '0') END
         FROM generate_series(1, {count}) AS i;
         INSERT INTO audit_chain (position, event_id, leaf_hash, chain_hash, sealed_at)
         SELECT i, lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'),
                sha256(int8send(i::bigint)), sha256(int8send(i::bigint)), timestamp '{end}'
         FROM generate_series(1, {count}) AS i;"
    ))
    .unwrap();
    // One statement each: VACUUM runs outside a transaction (it sets the visibility map the
    // index-only counts rely on, as autovacuum would on a trail this old).
    pg.batch_execute("VACUUM ANALYZE audit_events").unwrap();
    pg.batch_execute("VACUUM ANALYZE audit_chain").unwrap();
}

/// The reader `n` of the filled trail (it has a year of history there).
fn growth_reader(n: usize) -> String {
    format!("0190a000-0000-7000-8000-{n:012x}")
}

/// The machine client `n` of the filled trail.
fn growth_client(n: usize) -> String {
    format!("0190d000-0000-7000-8000-{n:012x}")
}

/// Records `GROWTH_BATCH` new reads now, as the servers do (one `audit::record` each, with its
/// MAC), in one transaction: each reader reads distinct cases; one read in a hundred is a
/// machine client's.
fn record_batch(conn: &mut DbConn, key: &audit_chain::EventKey, round: usize) {
    conn.write_transaction(|conn| {
        for i in 0..GROWTH_BATCH {
            let mut event = AuditRecord::new(AuditAction::CaseRead, "success");
            if i % 100 == 0 {
                event.actor_client_id = Some(growth_client(i / 100 % 5));
            } else {
                event.actor_user_id = Some(growth_reader(i % GROWTH_READERS));
                event.actor_role = Some("case_worker".to_owned());
                event.field_groups = "identity,contact".to_owned();
            }
            event.actor_organisation_id = Some("0190b000-0000-7000-8000-000000000001".to_owned());
            event.resource_type = Some("case".to_owned());
            event.resource_id = Some(format!(
                "0190e000-0000-7000-8000-{:012x}",
                round * GROWTH_BATCH + i
            ));
            event.purpose = Some("assistance".to_owned());
            event.decision = Some("allow".to_owned());
            event.policy_ids = "case.owner-staff,case.groups-by-role".to_owned();
            audit::record(conn, &event, Some(key))?;
        }
        Ok::<_, tumaini_db::DbError>(())
    })
    .unwrap();
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    percentile(&times, 0.5)
}

fn growth(count: usize) -> Growth {
    let db = TestDb::migrated(Engine::Postgres).unwrap();
    let mut conn = db.conn();
    let ((), fill) = timed(|| fill_sealed(pg(&mut conn), count));
    let signer = AuditSigner::from_seed(&[42; 32]);
    // As the server's sealer runs (`jobs::audit_sealer`): batches of 2,000, a checkpoint a
    // minute, a straggler look-back of 120 s every twentieth round, a sweep of the tolerance
    // (15 min) every hour, a full sweep once at start.
    let round = SealOptions {
        checkpoint_every: chrono::Duration::seconds(60),
        ..SealOptions::default()
    };
    let look_back = |window| SealOptions {
        straggler_window: Some(window),
        ..round
    };
    // The first round after a start: the count that decides whether to sweep everything
    // (here nothing old is left behind: it says no), then, timed anyway, that full sweep, with
    // a batch waiting.
    record_batch(&mut conn, signer.event_key(), 0);
    let (behind, start_check) =
        timed(|| audit_chain::left_behind(&mut conn, audit_chain::BACKDATING_TOLERANCE).unwrap());
    assert!(!behind, "only the new batch waits");
    let (first, full_sweep) = timed(|| {
        audit_chain::seal(
            &mut conn,
            &signer,
            SealOptions {
                full_sweep: true,
                ..round
            },
        )
        .unwrap()
    });
    assert_eq!(first.events.len(), GROWTH_BATCH);
    let since = now_utc() - chrono::Duration::hours(1);
    let mut times: [Vec<Duration>; 6] = Default::default();
    for repeat in 1..=GROWTH_REPEATS {
        record_batch(&mut conn, signer.event_key(), repeat);
        let (sealed, took) = timed(|| audit_chain::seal(&mut conn, &signer, round).unwrap());
        assert_eq!(sealed.events.len(), GROWTH_BATCH, "the batch is sealed");
        times[0].push(took);
        let (sealed, took) = timed(|| {
            audit_chain::seal(
                &mut conn,
                &signer,
                look_back(chrono::Duration::seconds(120)),
            )
            .unwrap()
        });
        assert!(sealed.events.is_empty());
        times[1].push(took);
        let (sealed, took) = timed(|| {
            audit_chain::seal(
                &mut conn,
                &signer,
                look_back(audit_chain::BACKDATING_TOLERANCE),
            )
            .unwrap()
        });
        assert!(sealed.events.is_empty());
        times[2].push(took);
        let reader = growth_reader(repeat % GROWTH_READERS);
        let (cases, took) =
            timed(|| audit::cases_read_with_groups(&mut conn, &reader, since).unwrap());
        assert_eq!(
            cases,
            (repeat as i64 + 1) * (GROWTH_BATCH / GROWTH_READERS) as i64,
            "the reader's reads of the window, none of its history"
        );
        times[3].push(took);
        let client = growth_client(repeat % 5);
        let (_, took) = timed(|| audit::cases_read_by_client(&mut conn, &client, since).unwrap());
        times[4].push(took);
        let (_, took) = timed(|| {
            audit::recorded_since(
                &mut conn,
                AuditAction::AuditMisuseAlert,
                "user",
                &reader,
                since,
            )
            .unwrap()
        });
        times[5].push(took);
    }
    let [
        round,
        straggler,
        sweep,
        reader_recount,
        client_recount,
        alert_lookup,
    ] = times.map(median);
    Growth {
        trail: count,
        fill,
        start_check,
        full_sweep,
        round,
        straggler,
        sweep,
        reader_recount,
        client_recount,
        alert_lookup,
    }
}

/// Step 3: each trail size on a fresh database, and the table.
fn growth_table(sizes: &[usize]) {
    println!(
        "3. Growth: a trail of N events already sealed (bulk SQL, spread over a year; \
         SHORTCUT: the chain rows have made-up hashes and no MACs, so that chain does not \
         verify: the sealer reads only its last row); per size, {GROWTH_REPEATS} times: \
         {GROWTH_BATCH} new reads recorded by `audit::record`, then timed: the round sealing \
         them, a straggler look-back (120 s) and an hourly sweep (15 min) finding nothing, the \
         misuse recount of one of {GROWTH_READERS} readers (1 h window, its year of history \
         outside it), a machine client's recount, the alert look-up; medians printed. Timed \
         once, with a batch waiting: the sealer's start-up count (`left_behind`) and the full \
         sweep it spares."
    );
    let rows: Vec<Growth> = sizes.iter().map(|&n| growth(n)).collect();
    println!(
        "{:>12} | {:>8} | {:>11} | {:>10} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9}",
        "trail",
        "fill s",
        "start count",
        "full sweep",
        "round",
        "look 120s",
        "sweep 15m",
        "reader",
        "client",
        "alert?"
    );
    for g in &rows {
        println!(
            "{:>12} | {:>8.1} | {:>11} | {:>10} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9}",
            g.trail,
            g.fill.as_secs_f64(),
            ms(g.start_check),
            ms(g.full_sweep),
            ms(g.round),
            ms(g.straggler),
            ms(g.sweep),
            ms(g.reader_recount),
            ms(g.client_recount),
            ms(g.alert_lookup),
        );
    }
    if let Some(base) = rows.first() {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        for g in rows.iter().skip(1) {
            println!(
                "{:>12} / {}: round x{:.2}, look-back x{:.2}, sweep x{:.2}, reader x{:.2}, \
                 client x{:.2}, alert x{:.2}; at start: count x{:.1}, full sweep x{:.1} (target: \
                 none of the first six more than x1.20)",
                g.trail,
                base.trail,
                ratio(g.round, base.round),
                ratio(g.straggler, base.straggler),
                ratio(g.sweep, base.sweep),
                ratio(g.reader_recount, base.reader_recount),
                ratio(g.client_recount, base.client_recount),
                ratio(g.alert_lookup, base.alert_lookup),
                ratio(g.start_check, base.start_check),
                ratio(g.full_sweep, base.full_sweep),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Summary.

fn summary(writers: usize, plain: &AppendRun, sealed: &AppendRun, verified: &Verification) {
    let ratio = sealed.rate() / plain.rate();
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    println!("Summary");
    println!("{:<52} | {:>22} | {:>14}", "measure", "value", "target");
    let row = |name: &str, value: String, target: &str| {
        println!("{name:<52} | {value:>22} | {target:>14}");
    };
    row(
        &format!("A: appends/s, {writers} writers, no sealer"),
        format!("{:.0}/s", plain.rate()),
        "",
    );
    row(
        "A: append latency p50 / p99",
        format!(
            "{} / {}",
            ms(percentile(&plain.latencies, 0.5)),
            ms(percentile(&plain.latencies, 0.99))
        ),
        "",
    );
    row(
        &format!("B: appends/s, {writers} writers, AuditSealer running"),
        format!("{:.0}/s", sealed.rate()),
        "",
    );
    row(
        "B: append latency p50 / p99",
        format!(
            "{} / {}",
            ms(percentile(&sealed.latencies, 0.5)),
            ms(percentile(&sealed.latencies, 0.99))
        ),
        "",
    );
    row(
        "ratio B/A",
        format!("{ratio:.2}"),
        &format!(">= 0.7 {}", met(ratio >= 0.7)),
    );
    if let Some((left, took)) = sealed.catch_up {
        let sealed_while_writing = sealed.backlog.last().map_or(0, |b| b.2);
        row(
            "B: sealing rate while the writers ran",
            format!(
                "{:.0}/s",
                sealed_while_writing as f64 / sealed.elapsed.as_secs_f64()
            ),
            "",
        );
        row(
            "B: unsealed when writers stopped / caught up in",
            format!("{left} / {:.2} s", took.as_secs_f64()),
            "",
        );
        let total = sealed.done as f64;
        row(
            "B: sealing rate, whole run (events / (run + catch-up))",
            format!(
                "{:.0}/s",
                total / (sealed.elapsed + took).as_secs_f64().max(1e-9)
            ),
            "",
        );
    }
    row(
        &format!("bulk fill of {} events (SQL)", verified.events),
        format!("{:.1} s", verified.fill.as_secs_f64()),
        "",
    );
    row(
        &format!(
            "seal() in {} rounds of {SEAL_BATCH}",
            verified.seal_rounds.len()
        ),
        format!(
            "{:.1} s, {:.0}/s",
            verified.seal.as_secs_f64(),
            verified.events as f64 / verified.seal.as_secs_f64()
        ),
        "",
    );
    row(
        &format!(
            "verify, {} events, {} checkpoints",
            verified.events, verified.checkpoints
        ),
        format!(
            "{:.2} s, {:.0}/s",
            verified.verify.as_secs_f64(),
            verified.events as f64 / verified.verify.as_secs_f64()
        ),
        &format!("< 10 s {}", met(verified.verify < Duration::from_secs(10))),
    );
    row(
        "verify: own CPU / PostgreSQL CPU / hashing alone",
        format!(
            "{:.1} / {:.1} / {:.1} s",
            verified.own_cpu,
            verified.backend_cpu,
            verified.hashing.as_secs_f64()
        ),
        "",
    );
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc, in clock ticks.

/// `sysconf(_SC_CLK_TCK)` on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time used, by consumer.
#[derive(Debug, Default, Clone)]
struct Cpu {
    /// This process.
    own: u64,
    /// Its `audit-writer` threads.
    writers: u64,
    /// Its `audit-sealer` thread.
    sealer: u64,
    /// Every `postgres` process, and the exited backends the postmaster reaped.
    postgres: u64,
    /// The whole machine, busy.
    busy: u64,
    /// The whole machine, idle.
    idle: u64,
}

impl Cpu {
    fn sample() -> Cpu {
        let mut cpu = Cpu::default();
        if let Some((_, f)) = stat_fields("/proc/self/stat") {
            cpu.own = f[11] + f[12];
        }
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let Some((name, f)) = stat_fields(&task.path().join("stat").display().to_string())
                else {
                    continue;
                };
                if name.starts_with("audit-writer") {
                    cpu.writers += f[11] + f[12];
                } else if name.starts_with("audit-sealer") {
                    cpu.sealer += f[11] + f[12];
                }
            }
        }
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
                    cpu.postgres += f[11] + f[12] + f[13] + f[14];
                }
            }
        }
        if let Some((busy, idle)) = std::fs::read_to_string("/proc/stat").ok().and_then(|text| {
            let v: Vec<u64> = text
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal
            let idle = v.get(3)? + v.get(4)?;
            Some((v.iter().take(8).sum::<u64>() - idle, idle))
        }) {
            cpu.busy = busy;
            cpu.idle = idle;
        }
        cpu
    }

    fn since(&self, before: &Cpu) -> Cpu {
        Cpu {
            own: self.own.saturating_sub(before.own),
            writers: self.writers.saturating_sub(before.writers),
            sealer: self.sealer.saturating_sub(before.sealer),
            postgres: self.postgres.saturating_sub(before.postgres),
            busy: self.busy.saturating_sub(before.busy),
            idle: self.idle.saturating_sub(before.idle),
        }
    }
}

fn cpu_table(runs: &[(&str, &AppendRun)]) {
    println!(
        "CPU time per append in us ({} cores), from /proc; other = everything else on the machine, \
         idle = CPU left unused",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "{:<10} | {:>9} | {:>9} | {:>10} | {:>9} | {:>9} | {:>9}",
        "", "writers", "sealer", "PostgreSQL", "rest", "other", "idle"
    );
    for (name, run) in runs {
        let c = &run.cpu;
        let per = |ticks: u64| ticks as f64 * 1e6 / TICKS_PER_SECOND / run.done.max(1) as f64;
        println!(
            "{:<10} | {:>9.1} | {:>9.1} | {:>10.1} | {:>9.1} | {:>9.1} | {:>9.1}",
            name,
            per(c.writers),
            per(c.sealer),
            per(c.postgres),
            per(c.own.saturating_sub(c.writers + c.sealer)),
            per(c.busy.saturating_sub(c.own + c.postgres)),
            per(c.idle),
        );
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
