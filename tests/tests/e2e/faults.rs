//! Faults of the storage and of the log destination, reproduced against the real `tumaini`
//! binary over real HTTP while signed-in users read cases:
//!
//! - PostgreSQL **stopped** (`pg_ctl stop -m fast`: sessions end with 57P01), then started;
//! - PostgreSQL **frozen** (SIGSTOP to every process of the cluster) for longer than the
//!   server's bound on database work, then thawed;
//! - SQLite on a **full disk** (a small tmpfs filled with a ballast file), then freed;
//! - standard output and standard error both on **`/dev/full`**.
//!
//! PostgreSQL runs in a cluster of the test's own (initdb in a temporary directory, a free
//! port), so that stopping and freezing it touches nothing else. For each fault: no answer is a
//! 500, every request is answered within the bound (`TUMAINI_DB_TIMEOUT_MS`) plus a margin,
//! every 503 carries `Retry-After`, `/readyz` says 503 during the fault and 200 within a few
//! seconds after it clears, and the server is never restarted. The figures are printed (see
//! them with `--nocapture`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tumaini_db::models::{NewOrganisation, NewUser, Organisation, User};
use tumaini_db::vocabulary::{OrganisationKind, Role, UserStatus};
use tumaini_db::{DatabaseUrl, migrations};
use tumaini_tests::binary;
use tumaini_tests::seed::PASSWORD;
use tumaini_tests::skip::{Prerequisite, skip};

use crate::plaintext::sign_in;

/// The servers here wait this long on the database before answering 503: the default bound
/// (`TUMAINI_DB_TIMEOUT_MS`), with every database timeout at its default.
const DB_TIMEOUT: Duration = Duration::from_millis(5000);
/// Every answer comes within the bound and this margin (scheduling on a busy machine, the
/// answer itself).
const MARGIN: Duration = Duration::from_millis(1500);
/// After the fault clears, `/readyz` says 200 within this.
const RECOVERY: Duration = Duration::from_secs(10);
/// A request not answered after this counts as unanswered (the test never hangs).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// Concurrent readers.
const READERS: usize = 6;

/// The fault tests measure latencies: one at a time, so that they do not slow each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn postgres_stopped_under_read_load_answers_503_then_recovers() {
    let _turn = one_at_a_time();
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let (url, email) = cluster.seeded_database();
    let server = Server::start(&url, &[]);
    let token = sign_in(server.addr, &email);
    let load = Load::start(server.addr, &token);
    std::thread::sleep(Duration::from_secs(2));
    let fault_at = load.mark();
    cluster.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "20"]);
    std::thread::sleep(Duration::from_secs(5));
    cluster.pg_ctl(&["start", "-w", "-t", "20"]);
    let cleared_at = load.mark();
    let recovered_after = load.wait_ready_after(cleared_at, RECOVERY);
    std::thread::sleep(Duration::from_secs(2));
    let samples = load.stop();
    Verdict::of(
        "postgres stopped",
        &samples,
        fault_at,
        cleared_at,
        recovered_after,
    )
    .check();
    server.assert_running();
}

#[test]
fn postgres_frozen_longer_than_the_bound_answers_503_in_time_then_recovers() {
    let _turn = one_at_a_time();
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let (url, email) = cluster.seeded_database();
    let server = Server::start(&url, &[]);
    let token = sign_in(server.addr, &email);
    let load = Load::start(server.addr, &token);
    std::thread::sleep(Duration::from_secs(2));
    let fault_at = load.mark();
    let frozen = cluster.freeze();
    std::thread::sleep(DB_TIMEOUT * 2);
    drop(frozen);
    let cleared_at = load.mark();
    let recovered_after = load.wait_ready_after(cleared_at, RECOVERY);
    std::thread::sleep(Duration::from_secs(2));
    let samples = load.stop();
    Verdict::of(
        "postgres frozen",
        &samples,
        fault_at,
        cleared_at,
        recovered_after,
    )
    .check();
    server.assert_running();
}

#[test]
fn sqlite_on_a_full_disk_answers_503_and_readiness_says_why_then_recovers() {
    let _turn = one_at_a_time();
    // Room for what the load writes before and after the fault (every read writes an audit
    // event: a few MB of database and write-ahead log in these seconds), so that the disk is
    // full only while the ballast is there. A smaller one filled up with the load's own writes
    // after the ballast was removed, and nothing could recover that.
    let Some(disk) = Tmpfs::mount("128m") else {
        return;
    };
    let url = format!("sqlite://{}", disk.path().join("tumaini.db").display());
    let email = seed(&url);
    let server = Server::start(&url, &[]);
    let token = sign_in(server.addr, &email);
    let load = Load::start(server.addr, &token);
    std::thread::sleep(Duration::from_secs(2));
    let fault_at = load.mark();
    let ballast = disk.fill();
    std::thread::sleep(Duration::from_secs(5));
    let (status, detail) = get_once(server.addr, "/readyz", None);
    std::fs::remove_file(&ballast).unwrap();
    let cleared_at = load.mark();
    let recovered_after = load.wait_ready_after(cleared_at, RECOVERY);
    std::thread::sleep(Duration::from_secs(2));
    let samples = load.stop();
    eprintln!("faults: sqlite disk full: /readyz while full: {status} {detail}");
    assert_eq!(status, 503, "{detail}");
    assert!(
        detail.contains("disk"),
        "readiness says what is wrong: {detail}"
    );
    Verdict::of(
        "sqlite disk full",
        &samples,
        fault_at,
        cleared_at,
        recovered_after,
    )
    .check();
    server.assert_running();
}

#[test]
fn logs_on_dev_full_cost_no_answer() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tumaini.db").display());
    let email = seed(&url);
    let token_for_metrics = "faults-metrics-token-0123456789abcdef";
    let server = Server::start_with_output(
        &url,
        &[("TUMAINI_METRICS_TOKEN", token_for_metrics)],
        LogTo::DevFull,
    );
    let token = sign_in(server.addr, &email);
    let started = Instant::now();
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    for i in 0..50 {
        let (path, bearer) = match i % 5 {
            0 => ("/healthz", None),
            1 => ("/readyz", None),
            2 => ("/api/v1/no-such-route", None),
            _ => ("/api/v1/cases", Some(token.as_str())),
        };
        let asked = Instant::now();
        let (status, _) = get_once(server.addr, path, bearer);
        slowest = slowest.max(asked.elapsed());
        *by_status.entry(status.to_string()).or_default() += 1;
    }
    let (status, metrics) = get_once(server.addr, "/metrics", Some(token_for_metrics));
    let dropped = metrics
        .lines()
        .find_map(|line| line.strip_prefix("tumaini_log_lines_dropped_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .unwrap_or(-1.0);
    eprintln!(
        "faults: logs on /dev/full: 50 requests in {} ms: answers by status {by_status:?}, \
         max latency {} ms; /metrics {status}, tumaini_log_lines_dropped_total {dropped}",
        started.elapsed().as_millis(),
        slowest.as_millis()
    );
    assert_eq!(by_status.get("0"), None, "every request is answered");
    assert_eq!(by_status.get("500"), None, "{by_status:?}");
    assert_eq!(by_status.values().sum::<usize>(), 50);
    assert_eq!(by_status.get("200"), Some(&40), "{by_status:?}");
    assert_eq!(status, 200);
    assert!(
        dropped >= 50.0,
        "every request's access-log line was dropped and counted: {dropped}"
    );
    server.assert_running();
}

/// A fresh migrated database at `url` with one case worker (no second factor needed);
/// returns the worker's e-mail address.
fn seed(url: &str) -> String {
    let mut conn = DatabaseUrl::parse(url)
        .unwrap()
        .connect()
        .expect("connect to seed");
    migrations::run_pending(&mut conn).expect("migrations apply");
    let organisation = Organisation::create(
        &mut conn,
        &NewOrganisation {
            name: format!("Shelter {}", uuid::Uuid::now_v7().simple()),
            kind: OrganisationKind::Shelter,
            country: "UG".parse().unwrap(),
            region: "Central".to_owned(),
            services: vec![],
        },
    )
    .unwrap();
    let email = format!("reader-{}@example.test", uuid::Uuid::now_v7().simple());
    User::create(
        &mut conn,
        &NewUser {
            organisation_id: organisation.id,
            role: Role::CaseWorker,
            email: email.parse().unwrap(),
            display_name: "Fault reader".to_owned(),
            status: UserStatus::Active,
            password_hash: Some(tumaini_api::accounts::hash_password(PASSWORD).unwrap()),
            password_must_change: false,
        },
    )
    .unwrap();
    email
}

/// Where the server's standard output and standard error go.
enum LogTo {
    /// A log file in the server's working directory.
    File,
    /// `/dev/full`: every write fails with ENOSPC.
    DevFull,
}

/// A `tumaini serve` process on a free loopback port, with the bounds of this file; killed
/// when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    cwd: tempfile::TempDir,
}

impl Server {
    fn start(database_url: &str, settings: &[(&str, &str)]) -> Server {
        Self::start_with_output(database_url, settings, LogTo::File)
    }

    fn start_with_output(database_url: &str, settings: &[(&str, &str)], output: LogTo) -> Server {
        let cwd = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let (stdout, stderr) = match output {
            LogTo::File => {
                let log = File::create(cwd.path().join("server.log")).unwrap();
                (Stdio::from(log.try_clone().unwrap()), Stdio::from(log))
            }
            LogTo::DevFull => {
                let full = || {
                    File::options()
                        .write(true)
                        .open("/dev/full")
                        .expect("/dev/full")
                };
                (Stdio::from(full()), Stdio::from(full()))
            }
        };
        let mut command = Command::new(binary());
        command
            .args(["serve", "--bind", &addr.to_string()])
            .current_dir(cwd.path())
            .env_remove("TUMAINI_CONFIG")
            .env("DATABASE_URL", database_url)
            .env("TUMAINI_LOG_FORMAT", "json")
            .env("TUMAINI_LOG", "info")
            .env("TUMAINI_WORKERS", "2")
            .env("TUMAINI_DB_POOL_SIZE", "4")
            .env("TUMAINI_LOGIN_RATE_PER_MINUTE", "1000")
            .env("TUMAINI_AUDIT_SEAL_MS", "200")
            .env("TUMAINI_READY_MIN_FREE_DISK_MB", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("spawn tumaini");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(exit) = child.try_wait().unwrap() {
                panic!(
                    "the server exited at start ({exit}); log: {}",
                    std::fs::read_to_string(cwd.path().join("server.log")).unwrap_or_default()
                );
            }
            if get_once(addr, "/readyz", None).0 == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the server was not ready in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { child, addr, cwd }
    }

    /// The same process still serves: no restart hid the fault.
    fn assert_running(mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the server exited; log: {}",
            std::fs::read_to_string(self.cwd.path().join("server.log")).unwrap_or_default()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `GET` with a short-lived client: the status (0 when there was no answer) and the body.
fn get_once(addr: SocketAddr, path: &str, bearer: Option<&str>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .unwrap();
        let mut request = client.get(format!("http://{addr}{path}"));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        }
    })
}

/// One answer (or none) measured by the load.
#[derive(Debug, Clone)]
struct Sample {
    /// `/readyz` rather than a read of cases.
    readiness: bool,
    /// When it was asked, from the start of the load.
    at: Duration,
    /// 0 for no answer within [`CLIENT_TIMEOUT`].
    status: u16,
    latency: Duration,
    /// A 503 without `Retry-After`.
    missing_retry_after: bool,
}

/// Readers listing cases as fast as they are answered, and a probe of `/readyz` every 200 ms,
/// on a thread of their own.
struct Load {
    started: Instant,
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(addr: SocketAddr, token: &str) -> Load {
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (flag, into, token) = (Arc::clone(&stop), Arc::clone(&samples), token.to_owned());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(CLIENT_TIMEOUT)
                    .build()
                    .unwrap();
                let mut tasks = Vec::new();
                for reader in 0..=READERS {
                    let (client, flag, into, token) = (
                        client.clone(),
                        Arc::clone(&flag),
                        Arc::clone(&into),
                        token.clone(),
                    );
                    let readiness = reader == READERS;
                    tasks.push(tokio::spawn(async move {
                        while !flag.load(Ordering::Relaxed) {
                            let asked = Instant::now();
                            let request = if readiness {
                                client.get(format!("http://{addr}/readyz"))
                            } else {
                                client
                                    .get(format!("http://{addr}/api/v1/cases"))
                                    .bearer_auth(&token)
                            };
                            let (status, missing_retry_after) = match request.send().await {
                                Ok(response) => {
                                    let status = response.status().as_u16();
                                    let retry = response.headers().contains_key("retry-after");
                                    let _ = response.bytes().await;
                                    (status, status == 503 && !retry)
                                }
                                Err(_) => (0, false),
                            };
                            let sample = Sample {
                                readiness,
                                at: asked - started,
                                status,
                                latency: asked.elapsed(),
                                missing_retry_after,
                            };
                            into.lock().unwrap().push(sample);
                            if readiness {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                    }));
                }
                for task in tasks {
                    let _ = task.await;
                }
            });
        });
        Load {
            started,
            stop,
            samples,
            thread: Some(thread),
        }
    }

    /// Now, on the load's clock.
    fn mark(&self) -> Duration {
        self.started.elapsed()
    }

    /// Waits until a `/readyz` asked after `cleared` says 200; how long after `cleared` it
    /// was asked, or `None` within `limit`.
    fn wait_ready_after(&self, cleared: Duration, limit: Duration) -> Option<Duration> {
        let deadline = Instant::now() + limit + CLIENT_TIMEOUT;
        while Instant::now() < deadline {
            let ready = self
                .samples
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.readiness && s.at >= cleared && s.status == 200)
                .map(|s| s.at - cleared)
                .min();
            if ready.is_some() {
                return ready;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    fn stop(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        std::mem::take(&mut *self.samples.lock().unwrap())
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a fault did to the answers, and the checks every fault must pass.
struct Verdict {
    name: &'static str,
    reads: BTreeMap<u16, usize>,
    reads_during: BTreeMap<u16, usize>,
    readiness: BTreeMap<u16, usize>,
    readiness_503_during: usize,
    max_latency: Duration,
    missing_retry_after: usize,
    recovered_after: Option<Duration>,
    reads_ok_after_recovery: usize,
}

impl Verdict {
    fn of(
        name: &'static str,
        samples: &[Sample],
        fault_at: Duration,
        cleared_at: Duration,
        recovered_after: Option<Duration>,
    ) -> Verdict {
        let count = |filter: &dyn Fn(&Sample) -> bool| {
            let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
            for sample in samples.iter().filter(|s| filter(s)) {
                *by_status.entry(sample.status).or_default() += 1;
            }
            by_status
        };
        let during = |s: &Sample| s.at >= fault_at && s.at < cleared_at;
        let ready_at = recovered_after.map(|after| cleared_at + after);
        Verdict {
            name,
            reads: count(&|s: &Sample| !s.readiness),
            reads_during: count(&|s: &Sample| !s.readiness && during(s)),
            readiness: count(&|s: &Sample| s.readiness),
            readiness_503_during: samples
                .iter()
                .filter(|s| s.readiness && during(s) && s.status == 503)
                .count(),
            max_latency: samples.iter().map(|s| s.latency).max().unwrap_or_default(),
            missing_retry_after: samples.iter().filter(|s| s.missing_retry_after).count(),
            recovered_after,
            reads_ok_after_recovery: samples
                .iter()
                .filter(|s| !s.readiness && s.status == 200)
                .filter(|s| ready_at.is_some_and(|at| s.at >= at))
                .count(),
        }
    }

    fn check(&self) {
        eprintln!(
            "faults: {}: reads by status {:?} (during the fault {:?}); /readyz by status {:?} \
             ({} x 503 during the fault); max latency {} ms (bound {} ms + margin {} ms); \
             503 without Retry-After: {}; ready again {} ms after the fault cleared; \
             reads answered 200 after that: {}",
            self.name,
            self.reads,
            self.reads_during,
            self.readiness,
            self.readiness_503_during,
            self.max_latency.as_millis(),
            DB_TIMEOUT.as_millis(),
            MARGIN.as_millis(),
            self.missing_retry_after,
            self.recovered_after
                .map_or_else(|| "never".to_owned(), |d| d.as_millis().to_string()),
            self.reads_ok_after_recovery,
        );
        for by_status in [&self.reads, &self.readiness] {
            assert_eq!(by_status.get(&500), None, "{}: no 500", self.name);
            assert_eq!(
                by_status.get(&0),
                None,
                "{}: every request answered",
                self.name
            );
            assert!(
                by_status.keys().all(|s| *s == 200 || *s == 503),
                "{}: only 200 and 503: {by_status:?}",
                self.name
            );
        }
        assert!(
            self.max_latency <= DB_TIMEOUT + MARGIN,
            "{}: every answer within the bound",
            self.name
        );
        assert_eq!(
            self.missing_retry_after, 0,
            "{}: every 503 says when to retry",
            self.name
        );
        assert!(
            self.readiness_503_during > 0,
            "{}: /readyz said 503 during the fault",
            self.name
        );
        assert!(
            self.recovered_after.is_some_and(|d| d <= RECOVERY),
            "{}: ready again within {} s",
            self.name,
            RECOVERY.as_secs()
        );
        assert!(
            self.reads_ok_after_recovery > 0,
            "{}: reads succeed again once ready",
            self.name
        );
    }
}

/// A PostgreSQL cluster of this test's own, stopped (with every process thawed first) when
/// dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    /// initdb and start, or `None` after reporting the skipped check.
    fn start() -> Option<Cluster> {
        let Some(bin) = postgres_bin() else {
            skip(
                Prerequisite::PrivateCluster,
                "no initdb and pg_ctl found (TUMAINI_PG_BIN or /usr/lib/postgresql/*/bin)",
            );
            return None;
        };
        let as_postgres = is_root();
        let dir = tempfile::tempdir().unwrap();
        if as_postgres {
            let chowned = Command::new("chown")
                .args(["postgres:postgres", &dir.path().display().to_string()])
                .output();
            if !chowned.as_ref().is_ok_and(|o| o.status.success()) {
                skip(
                    Prerequisite::PrivateCluster,
                    &format!("cannot hand a directory to the postgres user: {chowned:?}"),
                );
                return None;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.data().display().to_string();
        let initdb = cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        if !initdb.status.success() {
            skip(
                Prerequisite::PrivateCluster,
                &format!("initdb failed: {}", String::from_utf8_lossy(&initdb.stderr)),
            );
            return None;
        }
        cluster.pg_ctl(&["start", "-w", "-t", "30"]);
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the cluster's programs, as the postgres user when the test runs as root
    /// (initdb refuses root).
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        command.args(args).stdin(Stdio::null()).output().unwrap()
    }

    /// `pg_ctl` on this cluster; fails the test when it fails.
    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data().display().to_string();
        let log = self.dir.path().join("postgres.log").display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        let mut all = vec!["-D", &data, "-l", &log, "-o", &options];
        all.extend_from_slice(args);
        let output = self.run("pg_ctl", &all);
        assert!(
            output.status.success(),
            "pg_ctl {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A new database with the schema and a reader: its URL and the reader's e-mail.
    fn seeded_database(&self) -> (String, String) {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = DatabaseUrl::parse(&admin).unwrap().connect().unwrap();
        diesel::RunQueryDsl::execute(diesel::sql_query("CREATE DATABASE tumaini"), &mut conn)
            .unwrap();
        let url = format!("postgres://postgres@127.0.0.1:{}/tumaini", self.port);
        let email = seed(&url);
        (url, email)
    }

    /// Every process of the cluster: the postmaster and its children.
    fn processes(&self) -> Vec<String> {
        let Ok(pid_file) = std::fs::read_to_string(self.data().join("postmaster.pid")) else {
            return Vec::new();
        };
        let Some(postmaster) = pid_file.lines().next().map(str::trim).map(str::to_owned) else {
            return Vec::new();
        };
        let mut pids = vec![postmaster.clone()];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid ...: the name may hold spaces, so read after the last ')'.
            let parent = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1));
            if parent == Some(postmaster.as_str()) {
                pids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        pids
    }

    fn signal(&self, signal: &str) {
        let pids = self.processes();
        if !pids.is_empty() {
            // A child may have ended since it was listed: that is no failure.
            let _ = Command::new("kill")
                .arg(signal)
                .args(&pids)
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Stops every process of the cluster until the guard is dropped.
    fn freeze(&self) -> Frozen<'_> {
        self.signal("-STOP");
        Frozen(self)
    }
}

/// A frozen cluster; thawed when dropped (also when the test fails).
struct Frozen<'a>(&'a Cluster);

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        self.0.signal("-CONT");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.signal("-CONT");
        let data = self.data().display().to_string();
        let _ = self.run(
            "pg_ctl",
            &["-D", &data, "stop", "-m", "immediate", "-w", "-t", "10"],
        );
    }
}

fn postgres_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("TUMAINI_PG_BIN") {
        return Some(dir.into());
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A small tmpfs mounted on a temporary directory; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one of `size` (`8m`), or `None` after reporting the skipped check.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Tmpfs { dir }),
            other => {
                let reason = other.map_or_else(
                    |e| e.to_string(),
                    |o| String::from_utf8_lossy(&o.stderr).into_owned(),
                );
                skip(
                    Prerequisite::Tmpfs,
                    &format!("cannot mount a tmpfs: {reason}"),
                );
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system with a ballast file; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("ballast");
        let mut ballast = File::create(&path).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while ballast.write_all(&chunk).is_ok() {}
        let _ = ballast.flush();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
