//! Benchmark: sign-ins per second with the configured argon2id parameters, and the latency of
//! `/readyz` while a flood of sign-ins runs.
//!
//! It starts the real server binary (build it first with `cargo build --release`), seeds one
//! account through `tumaini admin`, then for a fixed time runs `--clients` concurrent sign-in
//! loops and one `/readyz` probe every 10 ms, all on loopback, and prints the figures.
//!
//! ```sh
//! cargo build --release
//! cargo run -p tumaini-tests --bin login-flood -- --seconds 20 --clients 16
//! ```

#![expect(
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark prints and stops on set-up failure"
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn main() {
    let seconds = arg("--seconds", 20);
    let clients = arg("--clients", 16);
    let binary =
        std::env::var("TUMAINI_BIN").unwrap_or_else(|_| "target/release/tumaini".to_owned());
    let binary = std::fs::canonicalize(&binary)
        .unwrap_or_else(|_| panic!("{binary} is missing: run `cargo build --release` first"));
    let dir = tempfile::tempdir().expect("temporary directory");
    let env = |command: &mut Command| {
        command
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env("TUMAINI_LOGIN_RATE_PER_MINUTE", "100000000")
            .env("TUMAINI_LOG", "warn")
            .env("TUMAINI_LOG_FORMAT", "json");
    };

    // Seed an organisation and an account.
    let mut create_org = Command::new(&binary);
    env(&mut create_org);
    let org = create_org
        .args([
            "admin",
            "create-org",
            "--name",
            "Bench Shelter",
            "--kind",
            "shelter",
            "--country",
            "UG",
            "--region",
            "Central",
        ])
        .output()
        .expect("create-org");
    let org_id = String::from_utf8_lossy(&org.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("id: ").map(str::to_owned))
        .expect("organisation id");
    let mut create_user = Command::new(&binary);
    env(&mut create_user);
    let user = create_user
        .args([
            "admin",
            "create-user",
            "--org",
            &org_id,
            "--role",
            "case_worker",
            "--email",
            "bench@example.test",
            "--display-name",
            "Bench",
        ])
        .output()
        .expect("create-user");
    let password = String::from_utf8_lossy(&user.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: ").map(str::to_owned))
        .expect("password");

    let mut serve = Command::new(&binary);
    env(&mut serve);
    let mut server = serve
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("TUMAINI_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve");
    let stdout = server.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server output").expect("line");
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if parsed["message"] == "listening" {
            break parsed["addr"].as_str().expect("addr").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        let stop = Arc::new(AtomicBool::new(false));
        let logins = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicU64::new(0));
        let login_url = format!("http://{addr}/api/v1/auth/login");
        let ready_url = format!("http://{addr}/readyz");
        let body = serde_json::json!({"email": "bench@example.test", "password": password});

        // Warm up: one sign-in, and readiness.
        let warm = client
            .post(&login_url)
            .json(&body)
            .send()
            .await
            .expect("warm-up");
        assert_eq!(warm.status().as_u16(), 200, "warm-up sign-in");

        let mut quiet = Vec::new();
        for _ in 0..200 {
            let started = Instant::now();
            let r = client.get(&ready_url).send().await.expect("readyz");
            assert!(r.status().is_success());
            quiet.push(started.elapsed().as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        let started = Instant::now();
        let mut tasks = Vec::new();
        let mut login_latencies = Vec::new();
        for _ in 0..clients {
            let (client, stop, logins, failures, url, body) = (
                client.clone(),
                stop.clone(),
                logins.clone(),
                failures.clone(),
                login_url.clone(),
                body.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    match client.post(&url).json(&body).send().await {
                        Ok(r) if r.status().is_success() => {
                            logins.fetch_add(1, Ordering::Relaxed);
                            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
            }));
        }
        let mut ready = Vec::new();
        while started.elapsed() < Duration::from_secs(seconds) {
            let t = Instant::now();
            let r = client.get(&ready_url).send().await.expect("readyz");
            assert!(r.status().is_success());
            ready.push(t.elapsed().as_secs_f64() * 1000.0);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let elapsed = started.elapsed().as_secs_f64();
        for task in tasks {
            login_latencies.extend(task.await.expect("login loop"));
        }
        for list in [&mut quiet, &mut ready, &mut login_latencies] {
            list.sort_by(f64::total_cmp);
        }
        let total = logins.load(Ordering::Relaxed);
        println!(
            "machine: {} cores; argon2id m=19456 KiB t=2 p=1 (the defaults); {clients} concurrent \
             sign-in loops for {seconds} s",
            std::thread::available_parallelism().map_or(1, usize::from)
        );
        println!(
            "sign-ins: {total} succeeded, {} failed, {:.1} per second",
            failures.load(Ordering::Relaxed),
            total as f64 / elapsed
        );
        println!(
            "sign-in latency ms: p50 {:.1}  p99 {:.1}",
            percentile(&login_latencies, 50.0),
            percentile(&login_latencies, 99.0)
        );
        println!(
            "/readyz idle ms:       p50 {:.2}  p99 {:.2}  max {:.2}  ({} probes)",
            percentile(&quiet, 50.0),
            percentile(&quiet, 99.0),
            quiet.last().copied().unwrap_or(f64::NAN),
            quiet.len()
        );
        println!(
            "/readyz under flood ms: p50 {:.2}  p99 {:.2}  max {:.2}  ({} probes)",
            percentile(&ready, 50.0),
            percentile(&ready, 99.0),
            ready.last().copied().unwrap_or(f64::NAN),
            ready.len()
        );
    });
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
}
