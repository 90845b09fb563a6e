//! Document benchmark: `cargo bench -p tumaini-tests --bench documents` (figures go in the
//! notes).
//!
//! Upload and download throughput of one large file (`DOCUMENTS_BENCH_MIB`, default 64 MiB of
//! plain text) over HTTP on loopback, to a server with one worker (`TUMAINI_WORKERS=1`), for
//! `DOCUMENTS_BENCH_ROUNDS` rounds (default 3), with its chunks stored:
//!
//! 1. in the database (SQLite, a fresh file in a temporary directory);
//! 2. in a `file://` directory next to it (same disk).
//!
//! Beside each, `cp` of the same file on the same disk (into the page cache, as the server's
//! writes are; and `cp` followed by `sync` of the copy, for scale), so that the ratio says what
//! the encryption, chunking, HTTP and storage cost over copying the bytes. Figures are MiB/s,
//! the median of the rounds; the ratio is Tumaini's over `cp`'s. The server is built here as
//! `tumaini serve` builds it (`ServedApp`). Everything runs on this machine, the HTTP client
//! included.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a failed step must stop it loudly"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use tumaini_db::vocabulary::Role;
use tumaini_tests::bench::{ServedApp, loadavg, setting};
use tumaini_tests::seed::{self, PASSWORD};
use tumaini_tests::{Engine, TestDb, test_config};

const MIB: usize = 1024 * 1024;

fn main() {
    let mib = setting("DOCUMENTS_BENCH_MIB", 64);
    let rounds = setting("DOCUMENTS_BENCH_ROUNDS", 3).max(1);
    let file = text(mib * MIB);
    let file: &'static [u8] = Box::leak(file.into_boxed_slice());
    println!(
        "documents: {mib} MiB of text, {rounds} rounds, one server worker; load average {}",
        loadavg()
    );
    for store in ["database", "file"] {
        let db = TestDb::migrated(Engine::Sqlite).expect("SQLite is embedded");
        let dir = db.dir().unwrap().to_owned();
        let objects = dir.join("objects");
        let setting = match store {
            "database" => "database".to_owned(),
            _ => format!("file://{}", objects.display()),
        };
        let limit = (mib * 2).max(64).to_string();
        let case_limit = (mib * 2 * (rounds + 1)).max(1024).to_string();
        let mail = tempfile::tempdir().unwrap();
        let config = test_config(
            &db,
            mail.path(),
            &[
                ("TUMAINI_WORKERS", "1"),
                ("TUMAINI_DOCUMENT_STORE", setting.as_str()),
                ("TUMAINI_DOCUMENT_MAX_MB", limit.as_str()),
                ("TUMAINI_DOCUMENT_CASE_MAX_MB", case_limit.as_str()),
            ],
        );
        let served = ServedApp::start(&config);
        let account = seed::account(&db, Role::CaseWorker);
        let client = Client::new(&format!("http://{}", served.addr));
        let token = client.sign_in(&account.email);
        let case = client.case(&token);

        let (mut up, mut down, mut last) = (Vec::new(), Vec::new(), String::new());
        for round in 0..rounds {
            let started = Instant::now();
            let id = client.upload(&token, &case, file);
            up.push(started.elapsed());
            let started = Instant::now();
            let (len, _) = client.download(&token, &case, &id, false);
            down.push(started.elapsed());
            assert_eq!(len, file.len(), "round {round}: the whole file came back");
            last = id;
        }
        // The same bytes (checked outside the timing: hashing is the client's cost).
        let (_, sha) = client.download(&token, &case, &last, true);
        assert_eq!(sha, <sha2::Sha256 as sha2::Digest>::digest(file).to_vec());
        let (cp, cp_sync) = copies(&dir, file, rounds);
        let rate = |d: Duration| (mib as f64) / d.as_secs_f64();
        let (up, down, cp, cp_sync) = (median(up), median(down), median(cp), median(cp_sync));
        println!(
            "{store:>8} store (SQLite): upload {:.0} MiB/s ({:.2} of cp), download {:.0} MiB/s \
             ({:.2} of cp); cp {:.0} MiB/s, cp + sync {:.0} MiB/s",
            rate(up),
            rate(up) / rate(cp),
            rate(down),
            rate(down) / rate(cp),
            rate(cp),
            rate(cp_sync),
        );
        drop(served);
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Numbered lines of text, `size` bytes.
fn text(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 80);
    let mut n = 0u64;
    while out.len() < size {
        let mut line =
            format!("{n:010} haba na haba hujaza kibaba; the quick brown fox jumps").into_bytes();
        line.resize(79, b'.');
        line.push(b'\n');
        out.extend_from_slice(&line);
        n += 1;
    }
    out.truncate(size);
    out
}

/// `cp` of the file on the same disk as the database, `rounds` times: plain, and with `sync`
/// of the copy.
fn copies(dir: &Path, file: &[u8], rounds: usize) -> (Vec<Duration>, Vec<Duration>) {
    let source = dir.join("source.txt");
    std::fs::write(&source, file).unwrap();
    let (mut plain, mut synced) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let target = dir.join(format!("copy-{round}.txt"));
        let started = Instant::now();
        let status = std::process::Command::new("cp")
            .arg(&source)
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success());
        plain.push(started.elapsed());
        std::fs::remove_file(&target).unwrap();
        let started = Instant::now();
        let status = std::process::Command::new("cp")
            .arg(&source)
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success());
        let status = std::process::Command::new("sync")
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success());
        synced.push(started.elapsed());
        std::fs::remove_file(&target).unwrap();
    }
    std::fs::remove_file(&source).unwrap();
    (plain, synced)
}

/// An HTTP client with its own runtime.
struct Client {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(base: &str) -> Client {
        Client {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: base.to_owned(),
        }
    }

    fn json(&self, token: Option<&str>, path: &str, body: &serde_json::Value) -> serde_json::Value {
        self.runtime.block_on(async {
            let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            assert!(status.is_success(), "{path}: {status} {body}");
            body
        })
    }

    fn sign_in(&self, email: &str) -> String {
        let body = serde_json::json!({"email": email, "password": PASSWORD});
        self.json(None, "/api/v1/auth/login", &body)["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn case(&self, token: &str) -> String {
        let person = serde_json::json!({
            "summary": {
                "sex": "female", "age_band": "24_26", "citizenship": "UG",
                "region": "UG-102", "encountered_on": "2026-11-20"
            },
            "groups": {"identity": {"given_names": "Bench", "family_name": "Documents"}}
        });
        self.json(Some(token), "/api/v1/cases", &person)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn upload(&self, token: &str, case: &str, file: &'static [u8]) -> String {
        self.runtime.block_on(async {
            let response = self
                .http
                .post(format!(
                    "{}/api/v1/cases/{case}/documents?kind=evidence",
                    self.base
                ))
                .bearer_auth(token)
                .header("content-type", "text/plain")
                .header("tumaini-file-name", "ledger.txt")
                .body(file)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(status.as_u16(), 201, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
    }

    /// Downloads, streamed: the length and (when `hashed`) the SHA-256 of what came.
    fn download(&self, token: &str, case: &str, id: &str, hashed: bool) -> (usize, Vec<u8>) {
        use sha2::Digest as _;
        self.runtime.block_on(async {
            let mut response = self
                .http
                .get(format!(
                    "{}/api/v1/cases/{case}/documents/{id}/content",
                    self.base
                ))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let (mut len, mut hash) = (0, sha2::Sha256::new());
            while let Some(chunk) = response.chunk().await.unwrap() {
                len += chunk.len();
                if hashed {
                    hash.update(&chunk);
                }
            }
            (len, hash.finalize().to_vec())
        })
    }
}
