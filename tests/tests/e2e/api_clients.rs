//! API clients as a coordination office builds them: a Python client generated from the
//! served document by openapi-python-client runs a coordinator's audit workflow
//! (`clients/python/audit_workflow.py`), and schemathesis tests every operation against the
//! document, anonymously, as a case worker and as a coordinator.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, PASSWORD};
use tumaini_tests::skip::{Prerequisite, skip};
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{enrol, login, mfa_enrolled_token, next_code, token};

/// Whether the Python tools are installed (else the check is skipped, or fails in CI).
fn tools_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import openapi_python_client, schemathesis"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip(
            Prerequisite::ApiClientTools,
            "openapi-python-client or schemathesis is not installed",
        );
    }
    found
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The repository's root.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Generates the Python client from the document the server serves, into `dir`; fails on any
/// warning of the generator.
fn generate_client(server: &TestServer, dir: &Path) -> PathBuf {
    let document = server.get("/api/v1/openapi.json");
    assert_eq!(document.status, 200);
    let path = dir.join("openapi.json");
    std::fs::write(&path, &document.body).unwrap();
    // tus's `application/offset+octet-stream` (the bytes of a resumable upload) is binary: the
    // generator is told so, as a client project would configure it.
    let config = dir.join("generator.yaml");
    std::fs::write(
        &config,
        "content_type_overrides:\n  application/offset+octet-stream: application/octet-stream\n",
    )
    .unwrap();
    let output = Command::new("python3")
        .args(["-m", "openapi_python_client", "generate", "--config"])
        .arg(&config)
        .arg("--path")
        .arg(&path)
        .arg("--output-path")
        .arg(dir.join("client"))
        .output()
        .unwrap();
    let said = text(&output);
    println!("openapi-python-client: {}", said.trim());
    assert!(output.status.success(), "generation failed:\n{said}");
    assert!(
        !said.to_lowercase().contains("warning") && !said.contains("Unable to"),
        "the generator warned:\n{said}"
    );
    dir.join("client")
}

/// A shelter's case worker with open cases, a referral to another organisation, and a
/// coordinator of the same country with a second factor: an audit trail worth reading.
struct Office {
    coordination: tumaini_db::ids::OrgId,
    coordinator: seed::Account,
    coordinator_secret: Vec<u8>,
    worker_token: String,
}

fn person(n: usize) -> Value {
    json!({
        "summary": {
            "sex": if n.is_multiple_of(2) { "female" } else { "male" }, "age_band": "21_23",
            "citizenship": "UG", "exploitation_country": "KE", "region": "UG-202",
            "encountered_on": "2026-11-20", "exploitation_types": ["forced_labour"],
            "means_of_control": ["withholds_documents"]
        },
        "groups": {"identity": {"given_names": format!("Client{n}"), "family_name": "Workflow"}}
    })
}

fn office(db: &TestDb, server: &TestServer) -> Office {
    let shelter = seed::organisation_in(db, OrganisationKind::Shelter, "UG");
    let worker = seed::account_in(db, &shelter, Role::CaseWorker);
    let coordination = seed::organisation_in(db, OrganisationKind::CoordinationOffice, "UG");
    let coordinator = seed::account_in(db, &coordination, Role::Coordinator);
    let (worker_token, _) = token(server, &worker.email);
    for n in 0..5 {
        let created = server.post(Some(&worker_token), "/api/v1/cases", &person(n));
        assert_eq!(created.status, 201, "{}", created.text());
    }
    let (status, body) = login(server, &coordinator.email, PASSWORD);
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let coordinator_secret = enrol(server, &coordinator.email, &access);
    Office {
        coordination,
        coordinator,
        coordinator_secret,
        worker_token,
    }
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Waits for the next 30-second step: the code of the step the enrolment used is spent.
fn wait_for_a_fresh_totp_step() {
    let now = chrono::Utc::now().timestamp();
    let next = (now / 30 + 1) * 30;
    std::thread::sleep(std::time::Duration::from_millis(
        u64::try_from((next - now) * 1000 + 300).unwrap(),
    ));
}

fn a_generated_python_client_runs_the_coordinators_audit_workflow(db: TestDb) {
    if !tools_available() {
        return;
    }
    let server = TestServer::start(&db);
    let office = office(&db, &server);
    let dir = tempfile::tempdir().unwrap();
    let client = generate_client(&server, dir.path());
    wait_for_a_fresh_totp_step();
    let state = dir.path().join("position.json");
    let run = || {
        Command::new("python3")
            .arg(repository().join("clients/python/audit_workflow.py"))
            .env("PYTHONPATH", &client)
            .env("TUMAINI_URL", server.base_url())
            .env("TUMAINI_EMAIL", &office.coordinator.email)
            .env("TUMAINI_PASSWORD", PASSWORD)
            .env("TUMAINI_TOTP_SECRET", base32(&office.coordinator_secret))
            .env("TUMAINI_STATE", &state)
            .output()
            .unwrap()
    };
    let first = run();
    let said = text(&first);
    println!("audit workflow, first run:\n{said}");
    assert!(first.status.success(), "the workflow failed:\n{said}");
    for step in [
        "sign in: ok",
        "cases: 5 open in 3 pages",
        "who accessed",
        "audit events:",
        "verify: intact",
        "statistics:",
        "referral overview:",
        "audit workflow: done",
    ] {
        assert!(said.contains(step), "no `{step}` in:\n{said}");
    }
    // The next night's run starts where this one stopped: only the events since.
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let position = kept["after"].as_i64().unwrap();
    assert!(position > 0, "no position kept: {kept}");
    wait_for_a_fresh_totp_step();
    let second = run();
    let said = text(&second);
    println!("audit workflow, second run:\n{said}");
    assert!(second.status.success(), "the second run failed:\n{said}");
    assert!(
        said.contains(&format!("after position {position},")),
        "the second run did not start from the kept position {position}:\n{said}"
    );

    // The same workflow as a machine client of the coordination office, registered by an
    // administrator: no person signs in.
    let admin = seed::account(&db, Role::Admin);
    let admin_token = mfa_enrolled_token(&server, &admin.email);
    let (client_id, client_secret) = crate::clients::register(
        &server,
        &admin_token,
        office.coordination.as_str(),
        &[
            "audit:read",
            "statistics:read",
            "referrals:overview",
            "cases:summary",
        ],
        &["127.0.0.0/8", "::1"],
    );
    let machine = Command::new("python3")
        .arg(repository().join("clients/python/audit_workflow.py"))
        .env("PYTHONPATH", &client)
        .env("TUMAINI_URL", server.base_url())
        .env("TUMAINI_CLIENT_ID", &client_id)
        .env("TUMAINI_CLIENT_SECRET", &client_secret)
        .env("TUMAINI_STATE", &state)
        .output()
        .unwrap();
    let said = text(&machine);
    println!("audit workflow, as a machine client:\n{said}");
    assert!(machine.status.success(), "the client's run failed:\n{said}");
    for step in [
        "client credentials: ok",
        "cases: 5 open in 3 pages",
        "who accessed",
        "verify: intact",
        "statistics:",
        "referral overview:",
        "audit workflow: done",
    ] {
        assert!(said.contains(step), "no `{step}` in:\n{said}");
    }
    drop(office.worker_token);
}

both_engines!(a_generated_python_client_runs_the_coordinators_audit_workflow);

/// The checks the contract must pass on every operation.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance";

/// Runs schemathesis on every operation (but `exclude`), with `headers`; returns its output.
fn schemathesis(server: &TestServer, who: &str, headers: &[String], exclude: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    // tus's `application/offset+octet-stream` (the bytes of a resumable upload) is sent as any
    // binary body.
    std::fs::write(
        dir.path().join("tus_media.py"),
        "import schemathesis\n\
         schemathesis.serializer.alias('application/offset+octet-stream', 'application/octet-stream')\n",
    )
    .unwrap();
    let mut command = Command::new("python3");
    command
        .env("PYTHONPATH", dir.path())
        .env("SCHEMATHESIS_HOOKS", "tus_media")
        .args(["-m", "schemathesis.cli", "run"])
        .arg(format!("{}/api/v1/openapi.json", server.base_url()))
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "8", "--seed", "17", "--workers", "1"])
        .args(["--no-color", "--report", "json", "--report-json-path"])
        .arg(&report)
        .args(["--generation-database", "none"])
        .current_dir(dir.path());
    for header in headers {
        command.args(["-H", header]);
    }
    for path in exclude {
        command.args(["--exclude-path", path]);
    }
    let output = command.output().unwrap();
    let said = text(&output);
    let tail: Vec<&str> = said.lines().rev().take(40).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    println!("schemathesis as {who}:\n{}", tail.join("\n"));
    assert!(
        output.status.success(),
        "schemathesis found failures as {who}:\n{said}"
    );
    said
}

fn schemathesis_finds_no_contract_violation_as_any_caller(db: TestDb) {
    if !tools_available() {
        return;
    }
    let server = TestServer::start(&db);
    let office = office(&db, &server);
    let coordinator = coordinator_session(&server, &office);
    // The operations that end the caller's own session are tested anonymously only, so that
    // the signed-in runs keep their token to the end.
    let own_session = [
        "/api/v1/auth/logout",
        "/api/v1/auth/sessions/{id}",
        "/api/v1/auth/password",
        "/api/v1/auth/mfa/totp",
        "/api/v1/auth/mfa/totp/confirm",
    ];
    schemathesis(&server, "anyone", &[], &[]);
    schemathesis(
        &server,
        "a case worker",
        &[format!("Authorization: Bearer {}", office.worker_token)],
        &own_session,
    );
    schemathesis(
        &server,
        "a coordinator",
        &[format!("Authorization: Bearer {coordinator}")],
        &own_session,
    );
}

/// A fresh session of the office's coordinator, signed in with a second factor.
fn coordinator_session(server: &TestServer, office: &Office) -> String {
    let email = &office.coordinator.email;
    let response = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": email, "password": PASSWORD, "otp": next_code(email)}),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["access_token"].as_str().unwrap().to_owned()
}

both_engines!(schemathesis_finds_no_contract_violation_as_any_caller);
