//! The real `tumaini` binary as a process: it serves, migrates, administers, logs without
//! bodies and shuts down gracefully.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tumaini_tests::{Engine, TestDb, binary, both_engines};

/// A `tumaini serve` child process on a loopback port, with its log lines collected.
pub(crate) struct Served {
    child: Child,
    pub(crate) addr: SocketAddr,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Served {
    fn start(cwd: &Path, database_url: Option<&str>) -> Served {
        Self::start_with(cwd, database_url, &[])
    }

    /// Serves with settings in the environment besides the test's defaults; standard output
    /// and standard error are both collected as the log.
    pub(crate) fn start_with(
        cwd: &Path,
        database_url: Option<&str>,
        settings: &[(&str, &str)],
    ) -> Served {
        let mut command = Command::new(binary());
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .current_dir(cwd)
            .env_remove("DATABASE_URL")
            .env_remove("TUMAINI_CONFIG")
            .env("TUMAINI_LOG_FORMAT", "json")
            .env("TUMAINI_LOG", "info")
            .env("TUMAINI_WORKERS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("spawn tumaini");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        let errors = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                if errors.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no 'listening' line; log so far: {seen:#?}"));
            let parsed: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            seen.push(line);
            if parsed["message"] == "listening" {
                break parsed["addr"].as_str().unwrap().parse().unwrap();
            }
        };
        Served {
            child,
            addr,
            lines,
            seen,
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> (u16, String, Value) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let mut request = client
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("http://{}{path}", self.addr),
                )
                .body(body.to_vec());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let id = response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            let body = response.json::<Value>().await.unwrap_or(Value::Null);
            (status, id, body)
        })
    }
}

/// A JSON request to a served process, with an optional bearer token: status and body.
pub(crate) fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("http://{addr}{path}"),
        );
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    })
}

impl Served {
    /// Sends SIGTERM, waits for a clean exit and returns every log line.
    pub(crate) fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
        self.seen.extend(self.lines.try_iter());
        std::mem::take(&mut self.seen)
    }
}

impl Served {
    /// Kills the process with SIGKILL, as a crash or a power cut would end it: no shutdown,
    /// no flush, nothing. Returns once it is gone.
    pub(crate) fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tumaini(cwd: &Path, database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .env("DATABASE_URL", database_url)
        .env_remove("TUMAINI_CONFIG")
        .output()
        .expect("run tumaini")
}

#[test]
fn a_fresh_checkout_serves_on_the_embedded_default() {
    let cwd = tempfile::tempdir().unwrap();
    let served = Served::start(cwd.path(), None);
    let (status, _, body) = served.request("GET", "/readyz", None, b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "sqlite");
    assert!(
        cwd.path().join("data/tumaini.db").exists(),
        "the default database is ./data/tumaini.db"
    );

    // Bad requests: a problem each, logged with the request id and never with the body.
    let marker = "Amina-Okello-1997-05-04";
    let wrong_type = served.request("POST", "/healthz", Some("text/plain"), marker.as_bytes());
    let oversized = served.request(
        "POST",
        "/healthz",
        Some("application/json"),
        format!(
            "{{\"name\":\"{marker}\",\"pad\":\"{}\"}}",
            "x".repeat(1_100_000)
        )
        .as_bytes(),
    );
    let unknown = served.request("GET", "/api/v1/nothing-here", None, b"");
    let malformed = served.request(
        "POST",
        "/api/v1/auth/login",
        Some("application/json"),
        format!("{{\"email\": \"{marker}@example.test\", \"password\": ").as_bytes(),
    );
    assert_eq!(
        (wrong_type.0, oversized.0, unknown.0, malformed.0),
        (415, 413, 404, 400)
    );
    assert_eq!(malformed.2["type"], "urn:tumaini:problem:malformed-json");
    for (_, _, body) in [&wrong_type, &oversized, &unknown, &malformed] {
        assert!(
            body["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:tumaini:problem:"),
            "{body}"
        );
    }

    let log = served.stop();
    for (_, request_id, _) in [&wrong_type, &oversized, &unknown, &malformed] {
        let line = log
            .iter()
            .find(|l| l.contains(request_id.as_str()) && l.contains("request completed"))
            .unwrap_or_else(|| panic!("no access-log line for {request_id}: {log:#?}"));
        let parsed: Value = serde_json::from_str(line).unwrap();
        assert_eq!(parsed["span"]["request_id"], request_id.as_str());
    }
    let everything = log.join("\n");
    assert!(
        !everything.contains(marker),
        "a request body reached the log"
    );
    assert!(
        !everything.contains("nothing-here"),
        "an unmatched raw path reached the log"
    );
}

#[test]
fn postgres_serves_after_migrate() {
    let Some(db) = TestDb::empty(Engine::Postgres) else {
        return;
    };
    let cwd = tempfile::tempdir().unwrap();
    let url = db.url_string();
    let before = Served::start(cwd.path(), Some(&url));
    let (status, _, body) = before.request("GET", "/readyz", None, b"");
    assert_eq!(status, 503, "not ready before `tumaini migrate`: {body}");
    drop(before.stop());

    let migrate = tumaini(cwd.path(), &url, &["migrate"]);
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let out = String::from_utf8_lossy(&migrate.stdout);
    assert!(out.contains("applied"), "{out}");
    assert!(!out.contains("postgres@") || !url.contains(':') || !out.contains("password"));

    let after = Served::start(cwd.path(), Some(&url));
    let (status, _, body) = after.request("GET", "/readyz", None, b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "postgres");
    drop(after.stop());
}

fn admin_creates_the_first_organisation_and_administrator(db: TestDb) {
    let cwd = tempfile::tempdir().unwrap();
    let url = db.url_string();
    let org = tumaini(
        cwd.path(),
        &url,
        &[
            "admin",
            "create-org",
            "--name",
            "COPTIP",
            "--kind",
            "coordination_office",
            "--country",
            "ug",
            "--region",
            "Central",
            "--service",
            "legal",
        ],
    );
    assert!(
        org.status.success(),
        "{}",
        String::from_utf8_lossy(&org.stderr)
    );
    let stdout = String::from_utf8_lossy(&org.stdout).into_owned();
    let org_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .to_owned();

    let admin = tumaini(
        cwd.path(),
        &url,
        &[
            "admin",
            "create-user",
            "--org",
            &org_id,
            "--role",
            "admin",
            "--email",
            "Root@Example.UG",
            "--display-name",
            "First Administrator",
        ],
    );
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    let stdout = String::from_utf8_lossy(&admin.stdout).into_owned();
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .unwrap();
    assert!(password.len() >= 20);

    let mut conn = db.conn();
    let user =
        tumaini_db::models::User::find_by_email(&mut conn, &"root@example.ug".parse().unwrap())
            .unwrap();
    assert_eq!(user.role, tumaini_db::vocabulary::Role::Admin);
    assert_eq!(user.status, tumaini_db::vocabulary::UserStatus::Invited);
    assert!(user.password_must_change);
    for action in ["organisation.create", "user.create"] {
        let events = tumaini_db::models::audit::with_action(&mut conn, action).unwrap();
        assert_eq!(events.len(), 1, "{action} is audited once");
        assert!(
            events[0]
                .request_id
                .as_deref()
                .is_some_and(|r| r.starts_with("cli-"))
        );
    }

    let again = tumaini(
        cwd.path(),
        &url,
        &[
            "admin",
            "create-user",
            "--org",
            &org_id,
            "--role",
            "case_worker",
            "--email",
            "root@example.ug",
            "--display-name",
            "Someone Else",
        ],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let misplaced = tumaini(
        cwd.path(),
        &url,
        &[
            "admin",
            "create-org",
            "--name",
            "Hope Shelter",
            "--kind",
            "shelter",
            "--country",
            "UG",
            "--region",
            "Central",
        ],
    );
    let shelter_id = String::from_utf8_lossy(&misplaced.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("id: ").map(str::to_owned))
        .unwrap();
    let coordinator_in_shelter = tumaini(
        cwd.path(),
        &url,
        &[
            "admin",
            "create-user",
            "--org",
            &shelter_id,
            "--role",
            "coordinator",
            "--email",
            "c@example.ug",
            "--display-name",
            "C",
        ],
    );
    assert!(!coordinator_in_shelter.status.success());
    assert!(
        String::from_utf8_lossy(&coordinator_in_shelter.stderr).contains("coordination_office")
    );
}

both_engines!(admin_creates_the_first_organisation_and_administrator);

#[test]
fn admin_commands_work_on_a_fresh_checkout() {
    // No data/ folder yet: the embedded default creates it, as `serve` does.
    let cwd = tempfile::tempdir().unwrap();
    let output = Command::new(binary())
        .args([
            "admin",
            "create-org",
            "--name",
            "COPTIP",
            "--kind",
            "coordination_office",
            "--country",
            "UG",
            "--region",
            "Central",
        ])
        .current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .env_remove("TUMAINI_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(cwd.path().join("data/tumaini.db").exists());
}

#[test]
fn an_invalid_policy_stops_the_server_with_a_clear_message() {
    let cwd = tempfile::tempdir().unwrap();
    let policies = cwd.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    std::fs::copy(
        root.join("schema.cedarschema"),
        policies.join("schema.cedarschema"),
    )
    .unwrap();
    std::fs::write(
        policies.join("mistake.cedar"),
        "@id(\"case.typo\")\n\
         permit (principal, action == Tumaini::Action::\"ReadSummary\", \
         resource is Tumaini::Case)\n\
         when { principal.rol == \"coordinator\" };\n",
    )
    .unwrap();
    let output = Command::new(binary())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .env("TUMAINI_POLICY_DIR", &policies)
        .output()
        .unwrap();
    assert!(!output.status.success(), "the server must not start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("case.typo") && stderr.contains("policies"),
        "{stderr}"
    );
}

#[test]
fn production_refuses_development_defaults() {
    let cwd = tempfile::tempdir().unwrap();
    let output = Command::new(binary())
        .arg("serve")
        .current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .env("TUMAINI_ENV", "production")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!cwd.path().join("data").exists(), "nothing was created");

    let output = Command::new(binary())
        .arg("serve")
        .current_dir(cwd.path())
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .env(
            "TUMAINI_SECRET_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env("TUMAINI_SMTP_URL", "smtp://127.0.0.1:25")
        .env_remove("TUMAINI_MASTER_KEY")
        .env_remove("TUMAINI_MASTER_KEY_FILE")
        .env("TUMAINI_ENV", "production")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TUMAINI_MASTER_KEY"),
        "a generated key is refused: {stderr}"
    );
    assert!(!cwd.path().join("data").exists(), "no key was generated");
}

fn seed_demo_fills_a_fresh_database_once_and_never_in_production(db: TestDb) {
    use diesel::prelude::*;
    use tumaini_db::schema::{anonymous_notifications, cases, users};
    let cwd = tempfile::tempdir().unwrap();
    let url = db.url_string();
    let seeded = tumaini(cwd.path(), &url, &["seed", "--demo", "--cases", "90"]);
    let stdout = String::from_utf8_lossy(&seeded.stdout).into_owned();
    assert!(
        seeded.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("demo password: "))
        .unwrap()
        .to_owned();

    let mut conn = db.conn();
    let stages: Vec<String> = cases::table
        .select(cases::identification_stage)
        .distinct()
        .load::<tumaini_db::vocabulary::IdentificationStage>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|s| s.code().to_owned())
        .collect();
    assert_eq!(
        stages.len(),
        tumaini_db::vocabulary::IdentificationStage::ALL.len(),
        "every stage: {stages:?}"
    );
    let statuses: Vec<tumaini_db::vocabulary::CaseStatus> = cases::table
        .select(cases::status)
        .distinct()
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        statuses.len(),
        tumaini_db::vocabulary::CaseStatus::ALL.len()
    );
    let roles: Vec<tumaini_db::vocabulary::Role> = users::table
        .select(users::role)
        .distinct()
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        roles.len(),
        tumaini_db::vocabulary::Role::ALL.len(),
        "users of every role"
    );
    let children: i64 = cases::table
        .filter(cases::is_child.eq(true))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(children > 0);
    assert_eq!(
        cases::table.count().get_result::<i64>(&mut conn).unwrap(),
        90
    );
    assert_eq!(
        anonymous_notifications::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap(),
        9
    );
    let kinds: Vec<tumaini_db::vocabulary::OrganisationKind> =
        tumaini_db::schema::organisations::table
            .select(tumaini_db::schema::organisations::kind)
            .distinct()
            .load(&mut conn)
            .unwrap();
    assert_eq!(
        kinds.len(),
        tumaini_db::vocabulary::OrganisationKind::ALL.len(),
        "organisations of every kind"
    );
    // A coordination office and a competent authority in Kenya too, with their staff, so that
    // jurisdiction by country shows; every region is one of the list's.
    use tumaini_db::schema::organisations;
    let kenyan: Vec<tumaini_db::vocabulary::OrganisationKind> = organisations::table
        .filter(organisations::country.eq("KE"))
        .select(organisations::kind)
        .load(&mut conn)
        .unwrap();
    for kind in [
        tumaini_db::vocabulary::OrganisationKind::CoordinationOffice,
        tumaini_db::vocabulary::OrganisationKind::CompetentAuthority,
    ] {
        assert!(kenyan.contains(&kind), "{kind:?} in Kenya");
    }
    assert!(
        stdout.contains("ke.coordinator@demo.tumaini.example")
            && stdout.contains("ke.authority@demo.tumaini.example"),
        "{stdout}"
    );
    let regions: Vec<String> = cases::table
        .select(cases::region)
        .distinct()
        .load(&mut conn)
        .unwrap();
    for region in &regions {
        let code: tumaini_db::vocabulary::region::RegionCode = region.parse().unwrap();
        assert!(
            tumaini_db::vocabulary::region::find(&mut conn, &code)
                .unwrap()
                .is_some(),
            "{region}"
        );
    }

    // A transfer waits for an answer: Mirembe Shelter asked Kisumu Safe House, in Kenya.
    use tumaini_db::schema::case_transfers;
    let waiting: Vec<(String, String)> = case_transfers::table
        .filter(case_transfers::state.eq("requested"))
        .inner_join(
            organisations::table.on(organisations::id.eq(case_transfers::to_organisation_id)),
        )
        .select((organisations::name, organisations::country))
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        waiting,
        [("Kisumu Safe House (demo)".to_owned(), "KE".to_owned())]
    );

    // The shelter works on a need-to-know basis: its case workers lead the cases they
    // registered, a colleague is assigned to some of them and not to others.
    {
        use tumaini_db::schema::case_assignments;
        let shelter: String = organisations::table
            .filter(organisations::name.eq("Mirembe Shelter (demo)"))
            .select(organisations::id)
            .first(&mut conn)
            .unwrap();
        let owned: i64 = cases::table
            .filter(cases::owner_organisation_id.eq(&shelter))
            .count()
            .get_result(&mut conn)
            .unwrap();
        let per_worker: Vec<(String, bool)> = case_assignments::table
            .inner_join(users::table.on(users::id.eq(case_assignments::user_id)))
            .filter(case_assignments::organisation_id.eq(&shelter))
            .select((users::email, case_assignments::lead))
            .load(&mut conn)
            .unwrap();
        let count = |email: &str, lead: bool| {
            per_worker
                .iter()
                .filter(|(e, l)| e == email && *l == lead)
                .count()
        };
        let worker = "shelter.worker@demo.tumaini.example";
        let counsellor = "shelter.counsellor@demo.tumaini.example";
        assert!(count(worker, true) > 0 && count(counsellor, true) > 0);
        assert!(count(worker, false) + count(counsellor, false) > 0);
        assert!(
            (count(counsellor, true) + count(counsellor, false)) < usize::try_from(owned).unwrap(),
            "the counsellor is not on every case of the shelter"
        );
    }

    // The demo users sign in with the printed password.
    let server = tumaini_tests::TestServer::start(&db);
    let login = server.post(
        None,
        "/api/v1/auth/login",
        &serde_json::json!({"email": "shelter.worker@demo.tumaini.example", "password": password}),
    );
    assert_eq!(login.status, 200, "{}", login.text());

    let again = tumaini(cwd.path(), &url, &["seed", "--demo"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already seeded"));
    let bare = tumaini(cwd.path(), &url, &["seed"]);
    assert!(!bare.status.success(), "seeding is never implicit");

    let production = Command::new(binary())
        .args(["seed", "--demo"])
        .current_dir(cwd.path())
        .env("DATABASE_URL", &url)
        .env("TUMAINI_ENV", "production")
        .env_remove("TUMAINI_CONFIG")
        .output()
        .unwrap();
    assert!(!production.status.success());
    assert!(String::from_utf8_lossy(&production.stderr).contains("production"));
    assert_eq!(
        cases::table.count().get_result::<i64>(&mut conn).unwrap(),
        90,
        "nothing more was written"
    );
}

both_engines!(seed_demo_fills_a_fresh_database_once_and_never_in_production);

fn audit_commands_seal_export_and_verify_against_a_witness(db: TestDb) {
    let cwd = tempfile::tempdir().unwrap();
    let url = db.url_string();
    for args in [
        &[
            "admin",
            "create-org",
            "--name",
            "COPTIP",
            "--kind",
            "coordination_office",
            "--country",
            "UG",
            "--region",
            "Central",
        ][..],
        &[
            "admin",
            "create-org",
            "--name",
            "Hope",
            "--kind",
            "shelter",
            "--country",
            "UG",
            "--region",
            "Central",
        ][..],
    ] {
        assert!(tumaini(cwd.path(), &url, args).status.success());
    }
    let sealed = tumaini(cwd.path(), &url, &["audit", "seal"]);
    let out = String::from_utf8_lossy(&sealed.stdout).into_owned();
    assert!(
        sealed.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&sealed.stderr)
    );
    assert!(
        out.contains("sealed 2 events; checkpoint at position 2"),
        "{out}"
    );
    // An event after the last checkpoint: the export seals and signs it first, so that the
    // witness's copy covers everything recorded until now.
    assert!(
        tumaini(
            cwd.path(),
            &url,
            &[
                "admin",
                "create-org",
                "--name",
                "Later",
                "--kind",
                "shelter",
                "--country",
                "UG",
                "--region",
                "Central",
            ],
        )
        .status
        .success()
    );

    let witness = cwd.path().join("witness.json");
    let exported = tumaini(
        cwd.path(),
        &url,
        &[
            "audit",
            "export-checkpoints",
            "--out",
            witness.to_str().unwrap(),
        ],
    );
    assert!(exported.status.success());
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&witness).unwrap()).unwrap();
    let note = document["checkpoints"][0]["note"].as_str().unwrap();
    assert!(note.starts_with("tumaini-audit-v1\n2\n"), "{note}");
    assert_eq!(document["checkpoints"][0]["sequence"], 1);
    let head = &document["checkpoints"][1];
    assert_eq!(
        (head["position"].as_i64(), head["sequence"].as_i64()),
        (Some(3), Some(2)),
        "{document}"
    );
    assert!(
        head["note"]
            .as_str()
            .unwrap()
            .starts_with("tumaini-audit-v1\n3\n"),
        "{head}"
    );
    let public = tumaini(cwd.path(), &url, &["audit", "public-key"]);
    assert!(
        String::from_utf8_lossy(&public.stdout).contains(document["public_key"].as_str().unwrap())
    );

    let verified = tumaini(
        cwd.path(),
        &url,
        &["audit", "verify", "--against", witness.to_str().unwrap()],
    );
    let out = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(verified.status.success(), "{out}");
    assert!(
        out.contains("3 events and 4 checkpoints (2 from the witness) checked")
            && out.contains("proven by a signed checkpoint: positions 1 to 3")
            && out.contains("intact"),
        "{out}"
    );
    // An outside auditor: the public key only, nothing that could sign or authenticate.
    let auditor = tumaini(
        cwd.path(),
        &url,
        &[
            "audit",
            "verify",
            "--public-key",
            document["public_key"].as_str().unwrap(),
            "--against",
            witness.to_str().unwrap(),
        ],
    );
    let out = String::from_utf8_lossy(&auditor.stdout).into_owned();
    assert!(auditor.status.success(), "{out}");
    assert!(
        out.contains("event MACs not checked") && out.contains("intact"),
        "{out}"
    );

    // A witness copy that disagrees with the database is reported at its position.
    let mut forged = document.clone();
    forged["checkpoints"][0]["chain_hash"] = serde_json::json!(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        [7u8; 32]
    ));
    std::fs::write(&witness, forged.to_string()).unwrap();
    let refused = tumaini(
        cwd.path(),
        &url,
        &["audit", "verify", "--against", witness.to_str().unwrap()],
    );
    let out = String::from_utf8_lossy(&refused.stdout).into_owned();
    assert!(!refused.status.success());
    assert!(
        out.contains("BAD CHECKPOINT at position 2: witness checkpoint"),
        "{out}"
    );
}

both_engines!(audit_commands_seal_export_and_verify_against_a_witness);

#[test]
fn two_serve_processes_seal_one_consistent_chain_under_load() {
    use diesel::prelude::*;
    use tumaini_db::schema::{audit_chain, audit_events};
    let Some(db) = TestDb::migrated(Engine::Postgres) else {
        return;
    };
    let cwd = tempfile::tempdir().unwrap();
    let url = db.url_string();
    // The first process generates the development keys in `cwd`; the second shares them, as
    // replicas share their configured keys.
    let first = Served::start(cwd.path(), Some(&url));
    let second = Served::start(cwd.path(), Some(&url));
    let org =
        tumaini_tests::seed::organisation(&db, tumaini_db::vocabulary::OrganisationKind::Shelter);
    let accounts: Vec<_> = (0..4)
        .map(|_| {
            tumaini_tests::seed::account_in(&db, &org, tumaini_db::vocabulary::Role::CaseWorker)
        })
        .collect();
    std::thread::scope(|scope| {
        for (n, account) in accounts.iter().enumerate() {
            let server = if n % 2 == 0 { first.addr } else { second.addr };
            scope.spawn(move || {
                let login = serde_json::json!({
                    "email": account.email, "password": tumaini_tests::seed::PASSWORD
                });
                let (status, body) = call(server, "POST", "/api/v1/auth/login", None, Some(&login));
                assert_eq!(status, 200, "{body}");
                let token = body["access_token"].as_str().unwrap().to_owned();
                for k in 0..15 {
                    let case = serde_json::json!({
                        "summary": {
                            "sex": "female", "age_band": "24_26", "region": "UG-304",
                            "encountered_on": "2026-11-10"
                        },
                        "groups": {
                            "identity": {
                                "given_names": "Load", "family_name": format!("Process{n}x{k}")
                            }
                        }
                    });
                    let (status, body) =
                        call(server, "POST", "/api/v1/cases", Some(&token), Some(&case));
                    assert_eq!(status, 201, "{body}");
                    let id = body["id"].as_str().unwrap();
                    let (status, _) = call(
                        server,
                        "GET",
                        &format!("/api/v1/cases/{id}?groups=identity&purpose=assistance"),
                        Some(&token),
                        None,
                    );
                    assert_eq!(status, 200);
                }
            });
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while tumaini_db::audit_chain::unsealed_count(&mut db.conn()).unwrap() > 0 {
        assert!(Instant::now() < deadline, "the sealers did not catch up");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(first.stop());
    drop(second.stop());
    let total: i64 = audit_events::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    let positions: Vec<i64> = audit_chain::table
        .order(audit_chain::position)
        .select(audit_chain::position)
        .load(&mut db.conn())
        .unwrap();
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "one position per event, no gap, no repeat"
    );
    let verified = tumaini(cwd.path(), &url, &["audit", "verify"]);
    let out = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(
        verified.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(
        out.contains(&format!("{total} events")) && out.contains("intact"),
        "{out}"
    );
    println!(
        "two serve processes: {total} events in one chain; {}",
        out.lines().next().unwrap_or("")
    );
}
