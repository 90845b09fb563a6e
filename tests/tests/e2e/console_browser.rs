//! The web console in a real browser: headless Chromium (the system's, driven by playwright-core
//! from `tests/console/flows.mjs`) goes through the flows on a real server, the way
//! staff would, each step screenshotted to `target/console-screenshots/<engine>/`; on every page
//! it visits axe-core must find no WCAG 2.2 AA violation, and no page may hold a `<script>`.
//!
//! This test seeds the people and organisations (in Uganda: a police unit, a shelter listed in
//! the directory, a clinic for a referral that consent does not cover, a coordination office),
//! enrols the supervisors' and the coordinator's second factor through the API, hands node a description of them on its standard input (node
//! computes the TOTP codes itself), and then checks in the database what the clicks did: the
//! rows written and their audit events. Skipped without Chromium, node or `tests/console`'s
//! npm packages (`.ci/run` installs them and sets `TUMAINI_REQUIRE_BROWSER=1`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};
use tumaini_api::auth::totp;
use tumaini_db::ids::OrgId;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, Account, PASSWORD};
use tumaini_tests::skip::{Prerequisite, skip};
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{base32_decode, login};

/// The region of Uganda the shelter serves (as the directory lists it).
const REGION: &str = "Arua";

/// The repository's root.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The Chromium to drive: `TUMAINI_CHROMIUM`, else the system's.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TUMAINI_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Chromium, node and the npm packages, or `None` (the test is then skipped, or fails when
/// `TUMAINI_REQUIRE_BROWSER=1`).
fn browser() -> Option<PathBuf> {
    let Some(chromium) = chromium().filter(|p| p.exists()) else {
        skip(
            Prerequisite::Browser,
            "no Chromium at /usr/bin/chromium (or at TUMAINI_CHROMIUM)",
        );
        return None;
    };
    let node = Command::new("node").arg("--version").output();
    if !node.as_ref().is_ok_and(|o| o.status.success()) {
        skip(Prerequisite::Browser, "node is not installed");
        return None;
    }
    let modules = repository().join("tests/console/node_modules");
    if !["playwright-core/package.json", "axe-core/axe.min.js"]
        .iter()
        .all(|f| modules.join(f).exists())
    {
        skip(
            Prerequisite::Browser,
            "tests/console/node_modules lacks playwright-core or axe-core",
        );
        return None;
    }
    Some(chromium)
}

/// Where this engine's screenshots go (emptied first: a run leaves its own pictures only).
fn screenshot_folder(db: &TestDb) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| repository().join("target"), PathBuf::from);
    let folder = target.join("console-screenshots").join(db.engine().name());
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// A supervisor (or coordinator) signed in through the API with a second factor enrolled
/// there: the access token, the secret in base32 (for node's authenticator) and the last time
/// step used.
fn enrolled_supervisor(server: &TestServer, account: &Account) -> (String, Value) {
    let (status, body) = login(server, &account.email, PASSWORD);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa_enrolment_required"], true, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let enrolment = server.post(Some(&access), "/api/v1/auth/mfa/totp", &json!({}));
    assert_eq!(enrolment.status, 200, "{}", enrolment.text());
    let secret = enrolment.json()["secret"].as_str().unwrap().to_owned();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    let code = totp::code_at(&base32_decode(&secret), now).unwrap();
    let confirmed = server.post(
        Some(&access),
        "/api/v1/auth/mfa/totp/confirm",
        &json!({"code": code}),
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    (access, json!({"secret": secret, "last_step": now / 30}))
}

/// A case the shelter owns (a person who came to its door), registered by its case worker
/// through the API: the one whose closure the flows ask for and approve (only the owning
/// organisation's staff may change a case's status).
fn shelter_case(server: &TestServer, worker: &Account) -> Value {
    let (token, _) = crate::auth::token(server, &worker.email);
    let person = json!({"summary": {
        "sex": "male", "age_band": "18_20", "citizenship": "UG", "exploitation_country": "UG",
        "region": "UG-303", "encountered_on": "2026-11-02", "exploitation_types": ["forced_labour"]
    }, "groups": {}});
    let created = server.post(Some(&token), "/api/v1/cases", &person);
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    json!({"id": body["id"], "reference": body["reference"]})
}

/// The organisation's supervisor lists `service` in the directory.
fn publish(server: &TestServer, supervisor: &str, org: &OrgId, service: &str, region: &str) {
    let listing = json!({"country": "UG", "region": region, "serves_adults": true,
        "serves_children": true, "serves_sex": "any", "capacity": "available"});
    let put = server.call(
        "PUT",
        supervisor,
        &format!("/api/v1/organisations/{org}/services/{service}"),
        Some(&listing),
    );
    assert_eq!(put.status, 200, "{}", put.text());
}

/// Runs `tests/console/flows.mjs` with `description` on its standard input; returns what it
/// printed (and panics with it when it fails).
fn run_flows(description: &Value) -> String {
    let started = Instant::now();
    let mut child = Command::new("node")
        .arg(repository().join("tests/console/flows.mjs"))
        .current_dir(repository())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(description.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{said}");
    println!("flows.mjs took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        output.status.success(),
        "the browser flows failed (their output is above)"
    );
    said
}

/// What node reports at the end: one line `RESULT {json}`.
fn result_of(said: &str) -> Value {
    said.lines()
        .rev()
        .find_map(|l| l.strip_prefix("RESULT "))
        .map(|r| serde_json::from_str(r).unwrap())
        .unwrap_or_else(|| panic!("no RESULT line:\n{said}"))
}

fn staff_go_through_the_console_in_a_browser(db: TestDb) {
    let Some(chromium) = browser() else {
        return;
    };
    let server = TestServer::start(&db);
    let police = seed::organisation_in(&db, OrganisationKind::Police, "UG");
    let shelter = seed::organisation_in(&db, OrganisationKind::Shelter, "UG");
    let clinic = seed::organisation_in(&db, OrganisationKind::Health, "UG");

    // One team per language, so that one's choice of language does not change the other's.
    let mut accounts = serde_json::Map::new();
    let mut authenticators = serde_json::Map::new();
    let mut shelter_cases = serde_json::Map::new();
    let mut supervisor_token = String::new();
    for language in ["en", "sw"] {
        let responder = seed::account_in(&db, &police, Role::FirstResponder);
        let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
        let supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
        let (token, authenticator) = enrolled_supervisor(&server, &supervisor);
        supervisor_token = token;
        authenticators.insert(supervisor.email.clone(), authenticator);
        accounts.insert(
            language.to_owned(),
            json!({"responder": responder.email, "worker": worker.email,
                "supervisor": supervisor.email}),
        );
        shelter_cases.insert(language.to_owned(), shelter_case(&server, &worker));
    }
    publish(&server, &supervisor_token, &shelter, "shelter", REGION);
    let clinic_supervisor = seed::account_in(&db, &clinic, Role::Supervisor);
    let (clinic_token, _) = enrolled_supervisor(&server, &clinic_supervisor);
    publish(&server, &clinic_token, &clinic, "health", REGION);
    let office = seed::organisation_in(&db, OrganisationKind::CoordinationOffice, "UG");
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    let (_, authenticator) = enrolled_supervisor(&server, &coordinator);
    authenticators.insert(coordinator.email.clone(), authenticator);
    accounts.insert("coordinator".to_owned(), json!(coordinator.email));

    let organisation = |id: &OrgId| {
        let name: String = {
            use diesel::prelude::*;
            use tumaini_db::schema::organisations;
            organisations::table
                .find(id.as_str())
                .select(organisations::name)
                .first(&mut db.conn())
                .unwrap()
        };
        json!({"id": id.as_str(), "name": name})
    };
    let description = json!({
        "base_url": server.base_url(),
        "chromium": chromium,
        "screenshots": screenshot_folder(&db),
        "password": PASSWORD,
        "accounts": accounts,
        "authenticators": authenticators,
        "shelter_cases": shelter_cases,
        "organisations": {
            "police": organisation(&police),
            "shelter": organisation(&shelter),
            "clinic": organisation(&clinic),
        },
        "region": REGION,
    });
    let said = run_flows(&description);
    let result = result_of(&said);
    assert!(
        result["pages"].as_u64().unwrap() > 0,
        "no page was checked: {result}"
    );
    for language in ["en", "sw"] {
        let made = &result[language];
        assert!(
            made.is_object(),
            "the {language} flows made no case: {result}"
        );
        check_case_made_through_the_console(&db, made, &shelter);
        check_shelter_work(&db, made, &description["shelter_cases"][language]);
    }
    no_referral_of(&db, result["refused_case"].as_str().unwrap());
}

/// What the clicks of flows (a) and (b) did, as the database holds it: the case registered,
/// its consent, screening and assistance recorded and audited with their actors, the referral
/// accepted by the shelter, the closure requested and approved.
fn check_case_made_through_the_console(db: &TestDb, made: &Value, shelter: &OrgId) {
    use diesel::prelude::*;
    use tumaini_db::schema::{cases, referrals};
    let mut conn = db.conn();
    let case = made["id"].as_str().unwrap();
    let (reference, status): (String, String) = cases::table
        .find(case)
        .select((cases::reference, cases::status))
        .first(&mut conn)
        .unwrap();
    assert_eq!(reference, made["reference"].as_str().unwrap());
    let (to, state): (String, String) = referrals::table
        .find(made["referral"].as_str().unwrap())
        .select((referrals::to_organisation_id, referrals::state))
        .first(&mut conn)
        .unwrap();
    assert_eq!(to, shelter.as_str());
    assert_ne!(status, "closed", "only the shelter's own case is closed");
    let done = audited(&mut conn, case);
    for action in [
        "case.create",
        "case.consent.record",
        "case.screening.record",
        "case.read",
    ] {
        assert!(
            done.iter().any(|a| a == action),
            "{action} of {case} not audited: {done:?}"
        );
    }
    if made["shelter_done"] == true {
        assert_eq!(state, "accepted", "the shelter accepted the referral");
        assert!(
            done.iter().any(|a| a == "case.assistance.record"),
            "{done:?}"
        );
    }
}

/// The successful actions audited about `case`.
fn audited(conn: &mut tumaini_db::DbConn, case: &str) -> Vec<String> {
    tumaini_db::models::audit::about_case(conn, case, &[], None, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome == "success")
        .map(|e| e.action)
        .collect()
}

/// Flow (b)'s closure: the shelter's own case closed, asked for and approved in the console.
fn check_shelter_work(db: &TestDb, made: &Value, own: &Value) {
    use diesel::prelude::*;
    use tumaini_db::schema::cases;
    if made["shelter_done"] != true {
        return;
    }
    let mut conn = db.conn();
    let case = own["id"].as_str().unwrap();
    let status: String = cases::table
        .find(case)
        .select(cases::status)
        .first(&mut conn)
        .unwrap();
    assert_eq!(status, "closed", "the supervisor approved the closure");
    let done = audited(&mut conn, case);
    for action in ["case.closure.request", "case.closure.approve"] {
        assert!(
            done.iter().any(|a| a == action),
            "{action} of {case} not audited: {done:?}"
        );
    }
}

/// A refused referral created nothing.
fn no_referral_of(db: &TestDb, case: &str) {
    use diesel::prelude::*;
    use tumaini_db::schema::referrals;
    let count: i64 = referrals::table
        .filter(referrals::case_id.eq(case))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(count, 0, "a refused referral of {case} was stored");
}

both_engines!(staff_go_through_the_console_in_a_browser);
