//! A restore drill with the real binary, on both engines: a server on one machine writes cases
//! with personal groups; a backup is taken while it serves and while writes go on; the audit
//! checkpoints go to a witness; the database is destroyed; a fresh machine holding only copies
//! of the three keys restores the backup, serves it, decrypts every case written before the
//! backup, and verifies the audit trail on its own and against the witness.
//!
//! [`Machine`] and [`Writer`] serve the crash test too (`crash.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel::RunQueryDsl as _;
use serde_json::{Value, json};
use tumaini_db::DatabaseUrl;
use tumaini_db::models::audit;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::{TestDb, binary, both_engines, pg_admin_url, seed};

use crate::binary::{Served, call};

/// The three keys' settings and the files they name, inside a machine's `keys/` folder.
const KEY_FILES: [(&str, &str); 3] = [
    ("TUMAINI_MASTER_KEY_FILE", "master.key"),
    ("TUMAINI_AUDIT_KEY_FILE", "audit.key"),
    ("TUMAINI_SECRET_KEY_FILE", "secret.key"),
];

/// A host: a working directory with the three keys installed in files (mode 0600), as an
/// operator installs them, apart from the database.
pub(crate) struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    /// A machine with three freshly generated keys.
    pub(crate) fn new() -> Self {
        let machine = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(machine.path().join("keys")).unwrap();
        tumaini_db::vault::generate_key_file(&machine.key("master.key")).unwrap();
        for file in ["audit.key", "secret.key"] {
            let bytes: [u8; 32] = rand::random();
            write_private(&machine.key(file), BASE64.encode(bytes).as_bytes());
        }
        machine
    }

    /// A fresh machine holding copies of `other`'s keys (taken from their backups).
    pub(crate) fn with_keys_of(other: &Machine) -> Self {
        let machine = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir(machine.path().join("keys")).unwrap();
        for (_, file) in KEY_FILES {
            write_private(&machine.key(file), &std::fs::read(other.key(file)).unwrap());
        }
        machine
    }

    /// The working directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    fn key(&self, file: &str) -> PathBuf {
        self.path().join("keys").join(file)
    }

    /// The settings naming this machine's key files.
    fn key_settings(&self) -> Vec<(&'static str, String)> {
        KEY_FILES
            .iter()
            .map(|(name, file)| (*name, self.key(file).display().to_string()))
            .collect()
    }

    /// `tumaini serve` on this machine, on the database at `url`, with `extra` settings.
    pub(crate) fn serve(&self, url: &str, extra: &[(&str, &str)]) -> Served {
        let keys = self.key_settings();
        let mut settings: Vec<(&str, &str)> = keys.iter().map(|(n, v)| (*n, v.as_str())).collect();
        settings.extend_from_slice(extra);
        Served::start_with(self.path(), Some(url), &settings)
    }

    /// A `tumaini` command on this machine, on the database at `url`.
    pub(crate) fn tumaini(&self, url: &str, args: &[&str]) -> Output {
        Command::new(binary())
            .args(args)
            .current_dir(self.path())
            .env("DATABASE_URL", url)
            .env_remove("TUMAINI_CONFIG")
            .env_remove("TUMAINI_MASTER_KEY")
            .env_remove("TUMAINI_AUDIT_KEY")
            .env_remove("TUMAINI_SECRET_KEY")
            .envs(self.key_settings())
            .output()
            .unwrap()
    }

    /// Like [`Machine::tumaini`], which must succeed: its standard output.
    pub(crate) fn run_ok(&self, url: &str, args: &[&str]) -> String {
        let output = self.tumaini(url, args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "tumaini {args:?} failed:\n{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }
}

fn write_private(path: &Path, contents: &[u8]) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    file.write_all(contents).unwrap();
}

/// Signs in on a served process: the access token.
pub(crate) fn sign_in(addr: std::net::SocketAddr, email: &str) -> String {
    let login = json!({"email": email, "password": seed::PASSWORD});
    let (status, body) = call(addr, "POST", "/api/v1/auth/login", None, Some(&login));
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A new case with an identity group: the family name is what is read back.
pub(crate) fn case_body(family_name: &str) -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "region": "UG-304",
            "encountered_on": "2026-11-10"
        },
        "groups": {"identity": {"given_names": "Drill", "family_name": family_name}}
    })
}

/// The family name in a case's identity group as the served process decrypts it, or the
/// status when the case cannot be read.
pub(crate) fn read_family_name(
    addr: std::net::SocketAddr,
    token: &str,
    id: &str,
) -> Result<String, u16> {
    let path = format!("/api/v1/cases/{id}?groups=identity&purpose=assistance");
    let (status, body) = call(addr, "GET", &path, Some(token), None);
    if status != 200 {
        return Err(status);
    }
    Ok(body["groups"]["identity"]["family_name"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// A case the server acknowledged (201) and when the answer arrived.
#[derive(Debug, Clone)]
pub(crate) struct Acknowledged {
    pub(crate) id: String,
    pub(crate) family_name: String,
    pub(crate) at: Instant,
}

/// Registers cases one after another on a thread until stopped, keeping each one the server
/// acknowledged. A refused or cut-off request is counted, never a panic: the server may be
/// killed under it.
pub(crate) struct Writer {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<Acknowledged>>>,
    cut_off: Arc<AtomicUsize>,
    thread: JoinHandle<()>,
}

impl Writer {
    /// Starts writing to `addr` as the holder of `token`; family names start with `prefix`.
    pub(crate) fn start(addr: std::net::SocketAddr, token: String, prefix: String) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let cut_off = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, acknowledged, cut_off) = (
                Arc::clone(&stop),
                Arc::clone(&acknowledged),
                Arc::clone(&cut_off),
            );
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let url = format!("http://{addr}/api/v1/cases");
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let family_name = format!("{prefix}{n}");
                    let answer = runtime.block_on(async {
                        let response = client
                            .post(&url)
                            .bearer_auth(&token)
                            .json(&case_body(&family_name))
                            .send()
                            .await?;
                        let status = response.status().as_u16();
                        Ok::<_, reqwest::Error>((status, response.json::<Value>().await?))
                    });
                    match answer {
                        Ok((201, body)) => acknowledged.lock().unwrap().push(Acknowledged {
                            id: body["id"].as_str().unwrap().to_owned(),
                            family_name,
                            at: Instant::now(),
                        }),
                        _ => {
                            cut_off.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            })
        };
        Writer {
            stop,
            acknowledged,
            cut_off,
            thread,
        }
    }

    /// How many writes were acknowledged so far.
    pub(crate) fn acknowledged(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    /// Waits until at least `n` writes were acknowledged (at most 30 s).
    pub(crate) fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.acknowledged() < n {
            assert!(Instant::now() < deadline, "fewer than {n} writes in 30 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops writing: the acknowledged writes, and how many attempts were refused or cut off.
    pub(crate) fn stop(self) -> (Vec<Acknowledged>, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
        let acknowledged = std::mem::take(&mut *self.acknowledged.lock().unwrap());
        (acknowledged, self.cut_off.load(Ordering::SeqCst))
    }
}

/// Destroys the database: the SQLite file and its side files are deleted; the PostgreSQL
/// database is dropped and created again, empty, under the same name (as an operator creates
/// the empty database to restore into).
fn destroy(db: &TestDb) {
    if let Some(path) = db.url.sqlite_path() {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(file));
        }
        assert!(!path.exists());
        return;
    }
    let url = db.url_string();
    let name = url
        .rsplit('/')
        .next()
        .and_then(|tail| tail.split('?').next())
        .unwrap()
        .to_owned();
    let mut admin = DatabaseUrl::parse(&pg_admin_url())
        .unwrap()
        .connect()
        .unwrap();
    diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .unwrap();
}

/// The witness copies the restored trail is held to: the checkpoints exported after the
/// backup, and the witness file the server kept on another host.
fn witness_copies(first: &Machine, witness_host: &Path) -> Vec<PathBuf> {
    vec![
        first.path().join("witness.json"),
        witness_host.join("tumaini.witness"),
    ]
}

/// `tumaini audit verify --against` a witness copy taken after the backup, on the restored
/// database: the witness must agree with everything the backup holds, and may only report what
/// came after it (the audit history lost since the backup). Returns how many such reports.
fn lost_since_the_backup(output: &str) -> usize {
    assert!(!output.contains("BROKEN"), "{output}");
    let problems: Vec<&str> = output
        .lines()
        .filter(|l| l.starts_with("BAD CHECKPOINT"))
        .collect();
    for line in &problems {
        assert!(
            line.contains("which the chain no longer has")
                || line.contains("events removed at the end")
                || line.contains("signed after this copy of the database was taken"),
            "the witness disagrees with the restored trail, not only about its end: {line}\n{output}"
        );
    }
    problems.len()
}

fn a_backup_taken_while_serving_restores_on_a_fresh_machine(db: TestDb) {
    let started = Instant::now();
    let url = db.url_string();
    let first = Machine::new();
    let org = seed::organisation(&db, OrganisationKind::Shelter);
    let account = seed::account_in(&db, &org, Role::CaseWorker);
    // The witness file lives on another host, apart from the database and its backups.
    let witness_host = tempfile::tempdir().unwrap();
    let witness_file = witness_host.path().join("tumaini.witness");
    let served = first.serve(
        &url,
        &[("TUMAINI_AUDIT_WITNESS_FILE", witness_file.to_str().unwrap())],
    );
    let token = sign_in(served.addr, &account.email);
    let mut written = Vec::new();
    for n in 0..12 {
        let family_name = format!("Before{n}");
        let body = case_body(&family_name);
        let (status, body) = call(
            served.addr,
            "POST",
            "/api/v1/cases",
            Some(&token),
            Some(&body),
        );
        assert_eq!(status, 201, "{body}");
        written.push((body["id"].as_str().unwrap().to_owned(), family_name));
    }
    first.run_ok(&url, &["audit", "seal"]);

    // The backup, while the writer keeps registering cases.
    let writer = Writer::start(served.addr, token, "During".to_owned());
    writer.wait_for(3);
    let backup = first.path().join("tumaini.backup");
    let backup_arg = backup.to_str().unwrap();
    let backup_started = Instant::now();
    let backed_up = first.run_ok(&url, &["backup", "--out", backup_arg]);
    let backup_finished = Instant::now();
    let during = writer.acknowledged();
    writer.wait_for(during + 3);
    let (concurrent, _) = writer.stop();
    eprintln!("{backed_up}");
    assert!(backed_up.contains("backed up"), "{backed_up}");
    let again = first.tumaini(&url, &["backup", "--out", backup_arg]);
    assert!(
        !again.status.success(),
        "an existing backup is never overwritten"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let witness = first.path().join("witness.json");
    first.run_ok(
        &url,
        &[
            "audit",
            "export-checkpoints",
            "--out",
            witness.to_str().unwrap(),
        ],
    );
    drop(served.stop());
    let backups = audit::with_action(&mut db.conn(), "database.backup").unwrap();
    assert_eq!(
        backups.len(),
        1,
        "the backup is audited in the copied database"
    );

    // A restore never overwrites a database that holds tables unless forced.
    let refused = first.tumaini(&url, &["restore", "--from", backup_arg]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--force"), "{stderr}");

    // The database is lost; a fresh machine gets the backup and copies of the keys.
    destroy(&db);
    let second = Machine::with_keys_of(&first);
    let copy = second.path().join("tumaini.backup");
    std::fs::copy(&backup, &copy).unwrap();
    let restore_started = Instant::now();
    let restored = second.run_ok(&url, &["restore", "--from", copy.to_str().unwrap()]);
    let restore_secs = restore_started.elapsed().as_secs_f64();
    eprintln!("{restored}");
    assert!(restored.contains("every check passed"), "{restored}");
    for check in ["schema", "master key", "audit trail"] {
        assert!(restored.contains(&format!("ok   {check}")), "{restored}");
    }
    // Held to the witness copies before anything new is sealed: they agree with everything
    // the backup holds and name only what was recorded after it.
    let mut lost = Vec::new();
    for copy in witness_copies(&first, witness_host.path()) {
        let checked = second.tumaini(
            &url,
            &["audit", "verify", "--against", copy.to_str().unwrap()],
        );
        let out = String::from_utf8_lossy(&checked.stdout).into_owned();
        let problems = lost_since_the_backup(&out);
        assert_eq!(checked.status.success(), problems == 0, "{out}");
        lost.push(problems);
    }
    let restores = audit::with_action(&mut db.conn(), "database.restore").unwrap();
    assert_eq!(
        restores.len(),
        1,
        "the restore is audited in the restored database"
    );
    assert_eq!(restores[0].outcome, "success");

    // Served there: every case acknowledged before the backup began decrypts; none
    // acknowledged after it finished is there.
    let served = second.serve(&url, &[]);
    let token = sign_in(served.addr, &account.email);
    let before: Vec<(String, String)> = written
        .iter()
        .cloned()
        .chain(
            concurrent
                .iter()
                .filter(|w| w.at < backup_started)
                .map(|w| (w.id.clone(), w.family_name.clone())),
        )
        .collect();
    for (id, family_name) in &before {
        assert_eq!(
            read_family_name(served.addr, &token, id).as_deref(),
            Ok(family_name.as_str()),
            "case {id} written before the backup"
        );
    }
    let after: Vec<&Acknowledged> = concurrent
        .iter()
        .filter(|w| w.at > backup_finished)
        .collect();
    assert!(!after.is_empty());
    for write in &after {
        assert_eq!(read_family_name(served.addr, &token, &write.id), Err(404));
    }
    let in_between = concurrent.len() - after.len() - (before.len() - written.len());
    drop(served.stop());

    let verified = second.run_ok(&url, &["audit", "verify"]);
    assert!(verified.contains("intact"), "{verified}");
    eprintln!(
        "restore drill ({}): the export and the witness file agree with the restored trail; \
         after the backup they name {} and {} checkpoints or heads the backup lacks",
        db.engine(),
        lost[0],
        lost[1]
    );
    eprintln!(
        "restore drill ({}): {} cases decrypted after the restore ({} written during the backup \
         before it began, {in_between} while it ran, {} after it: absent); restore {restore_secs:.2} s, \
         drill {:.1} s",
        db.engine(),
        before.len(),
        before.len() - written.len(),
        after.len(),
        started.elapsed().as_secs_f64()
    );
}

both_engines!(a_backup_taken_while_serving_restores_on_a_fresh_machine);
