//! The person's right of access over real HTTP on both engines: a supervisor of the owning
//! organisation exports everything held about the person of a case, as JSON and as a printable
//! page; the export's disclosure log is the case's audit trail exactly; nothing of another
//! person is in it; everyone else is answered 404; the export is a high-severity audit event.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::models::audit::AuditEvent;
use tumaini_db::models::case::Case;
use tumaini_db::schema::{audit_events, case_duplicates};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, Account};
use tumaini_tests::{TestDb, TestResponse, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

const PUBLIC_URL: &str = "https://tumaini.test";

/// What only the person of the exported case has: each must be in the export.
const ACHOLA: [&str; 12] = [
    "Achola",
    "+256 700 111 222",
    "A-HEALTH-Zq7",
    "A-CONSENT-DETAILS-Zq7",
    "A-SCREENING-Zq7",
    "A-REASONS-Zq7",
    "A-ASSIST-Zq7",
    "A-NOTE-Zq7",
    "A-PLAN-Zq7",
    "A-RISK-Zq7",
    "A-REFERRAL-REASON-Zq7",
    "A-JUSTIFICATION-Zq7",
];

/// What only the other person (same family name, same organisation) has: none may be in it.
const BIRUNGI: [&str; 5] = [
    "Birungi",
    "+256 700 999 888",
    "B-NOTE-Kq2",
    "B-ASSIST-Kq2",
    "B-HEALTH-Kq2",
];

/// The hostile note: shown as text, never as a tag.
const HOSTILE: &str = "<script>alert(1)</script>";

fn expect(response: &TestResponse, status: u16, what: &str) -> Value {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

fn post(server: &TestServer, token: &str, path: &str, body: &Value, status: u16) -> Value {
    expect(&server.post(Some(token), path, body), status, path)
}

fn person(given: &str, phone: &str, health: &str, born: bool) -> Value {
    let encountered = chrono::Utc::now().date_naive() - chrono::Duration::days(3);
    let mut identity = json!({"given_names": given, "family_name": "Ssempijja"});
    if born {
        identity["date_of_birth"] = json!("1998-02-03");
    }
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG",
            "exploitation_country": "UG", "region": "UG-102",
            "encountered_on": encountered.to_string(), "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": identity,
            "contact": {"phones": [phone]},
            "health": {"physical_health": health},
            "legal": {"immigration_status": "citizen"}
        }
    })
}

/// The path of the export of `case`.
fn export_path(case: &str, tail: &str) -> String {
    format!("/api/v1/cases/{case}/subject-access?purpose=subject_access{tail}")
}

/// Every event of the trail about `case` or one of `referrals`, oldest first, read directly.
fn trail_of(db: &TestDb, case: &str, referrals: &[String]) -> Vec<AuditEvent> {
    audit_events::table
        .select(AuditEvent::as_select())
        .order((audit_events::occurred_at, audit_events::id))
        .load::<AuditEvent>(&mut db.conn())
        .unwrap()
        .into_iter()
        .filter(
            |e| match (e.resource_type.as_deref(), e.resource_id.as_deref()) {
                (Some("case"), Some(id)) => id == case,
                (Some("referral"), Some(id)) => referrals.iter().any(|r| r == id),
                _ => false,
            },
        )
        .collect()
}

/// The staff of the test: the shelter that owns the case, a clinic and a refuge that receive
/// referrals, a police post, the competent authority, the coordinator and the administrator.
struct Staff {
    worker: (Account, String),
    reader: (Account, String),
    supervisor: (Account, String),
    clinic: (Account, String),
    refuge: (Account, String),
    responder: String,
    authority: (Account, String),
    coordinator: (Account, String),
    clinic_org: String,
    refuge_org: String,
}

fn staff(db: &TestDb, server: &TestServer) -> Staff {
    let shelter = seed::organisation(db, OrganisationKind::Shelter);
    let clinic = seed::organisation(db, OrganisationKind::Health);
    let refuge = seed::organisation(db, OrganisationKind::Shelter);
    let police = seed::organisation(db, OrganisationKind::Police);
    let panel = seed::organisation(db, OrganisationKind::CompetentAuthority);
    let office = seed::organisation(db, OrganisationKind::CoordinationOffice);
    let signed_in = |org, role| {
        let account = seed::account_in(db, org, role);
        let access = token(server, &account.email).0;
        (account, access)
    };
    let enrolled = |org, role| {
        let account = seed::account_in(db, org, role);
        let access = mfa_enrolled_token(server, &account.email);
        (account, access)
    };
    Staff {
        worker: signed_in(&shelter, Role::CaseWorker),
        reader: signed_in(&shelter, Role::CaseWorker),
        supervisor: signed_in(&shelter, Role::Supervisor),
        clinic: signed_in(&clinic, Role::CaseWorker),
        refuge: signed_in(&refuge, Role::CaseWorker),
        responder: signed_in(&police, Role::FirstResponder).1,
        authority: enrolled(&panel, Role::CompetentAuthority),
        coordinator: enrolled(&office, Role::Coordinator),
        clinic_org: clinic.to_string(),
        refuge_org: refuge.to_string(),
    }
}

/// A case of the shelter's with every kind of record, read by several people: its id, its
/// reference and its two referrals (completed, declined).
fn seeded_case(server: &TestServer, s: &Staff) -> (String, String, [String; 2]) {
    let w = &s.worker.1;
    let created = post(
        server,
        w,
        "/api/v1/cases",
        &person("Achola", "+256 700 111 222", "A-HEALTH-Zq7", true),
        201,
    );
    let case = created["id"].as_str().unwrap().to_owned();
    let reference = created["reference"].as_str().unwrap().to_owned();
    let path = |tail: &str| format!("/api/v1/cases/{case}{tail}");
    let today = chrono::Utc::now().date_naive();
    let later = (today + chrono::Duration::days(30)).to_string();

    // Consent in two versions: the second adds the legal group.
    let mut consent = json!({
        "given_by": "person", "method": "written",
        "purposes": ["assistance", "referral", "identification"],
        "groups": ["identity", "contact", "health"],
        "recipients": ["shelter", "health", "competent_authority"],
        "details": "Interpreter present: A-CONSENT-DETAILS-Zq7"
    });
    post(server, w, &path("/consents"), &consent, 201);
    consent["groups"] = json!(["identity", "contact", "health", "legal"]);
    consent["method"] = json!("verbal");
    consent.as_object_mut().unwrap().remove("details");
    post(server, w, &path("/consents"), &consent, 201);

    let screening = json!({
        "indicators": ["dr_nature_of_job", "cd_confiscation_of_documents"],
        "judgement": {"presumed": true, "reason": "a credible account"},
        "notes": "met at the bus park A-SCREENING-Zq7"
    });
    post(server, w, &path("/screenings"), &screening, 201);
    post(server, w, &path("/nrm-referral"), &json!({}), 200);
    let decision = json!({"decision": "reasonable_grounds_positive",
        "reasons": "interview held A-REASONS-Zq7"});
    post(
        server,
        &s.authority.1,
        &path("/identification-decisions"),
        &decision,
        200,
    );
    let assistance = json!({"service_type": "shelter", "status": "in_progress",
        "provided_on": today.to_string(), "details": "a bed A-ASSIST-Zq7"});
    post(server, w, &path("/assistance"), &assistance, 201);
    let note = json!({"text": format!("{HOSTILE} A-NOTE-Zq7")});
    post(server, w, &path("/notes"), &note, 201);
    let plan = json!({
        "goals": [{"service_type": "shelter", "action": "a safe bed A-PLAN-Zq7"}],
        "review_on": later, "agreed_with_person": true
    });
    expect(
        &server.call("PUT", w, &path("/plan"), Some(&plan)),
        200,
        "plan",
    );
    let risk = json!({"individual": "high", "household": "medium", "community": "low",
        "review_on": later, "details": "the recruiter lives nearby A-RISK-Zq7"});
    post(server, w, &path("/risk-assessments"), &risk, 201);

    // Two referrals: the clinic accepts (and reads), starts and completes; the refuge declines.
    let to_clinic = json!({
        "to_organisation_id": s.clinic_org, "services": ["health"],
        "groups": ["identity", "health"], "urgency": "normal",
        "reason": "a medical check A-REFERRAL-REASON-Zq7"
    });
    let sent = post(server, w, &path("/referrals"), &to_clinic, 201);
    let first = sent["id"].as_str().unwrap().to_owned();
    let step = |token: &str, referral: &str, step: &str, body: &Value| {
        let at = format!("/api/v1/referrals/{referral}/{step}");
        post(server, token, &at, body, 200);
    };
    step(&s.clinic.1, &first, "accept", &json!({}));
    let read = server.get_as(&s.clinic.1, &format!("/api/v1/referrals/{first}"));
    assert!(expect(&read, 200, "referral")["reason"].is_string());
    let groups = server.get_as(
        &s.clinic.1,
        &path("?groups=identity,health&purpose=assistance"),
    );
    assert_eq!(
        expect(&groups, 200, "clinic read")["groups"]["identity"]["given_names"],
        "Achola"
    );
    step(&s.clinic.1, &first, "start", &json!({}));
    step(&s.clinic.1, &first, "complete", &json!({}));
    let to_refuge = json!({
        "to_organisation_id": s.refuge_org, "services": ["shelter"],
        "groups": ["identity"], "urgency": "high", "reason": "a safe bed tonight"
    });
    let sent = post(server, w, &path("/referrals"), &to_refuge, 201);
    let second = sent["id"].as_str().unwrap().to_owned();
    step(
        &s.refuge.1,
        &second,
        "decline",
        &json!({"reason": "no_capacity"}),
    );

    // Reads by other people: the shelter's worker and a second worker (assigned to the case by
    // the supervisor: the shelter works on a need-to-know basis), and the coordinator under
    // break-glass.
    expect(
        &server.call(
            "PUT",
            &s.supervisor.1,
            &path(&format!("/assignments/{}", s.reader.0.id)),
            Some(&json!({})),
        ),
        200,
        "the second worker assigned",
    );
    let read = server.get_as(w, &path("?groups=identity,contact&purpose=assistance"));
    expect(&read, 200, "worker read");
    expect(
        &server.get_as(&s.reader.1, &path("/notes")),
        200,
        "second worker reads the notes",
    );
    let opening = json!({"groups": ["contact"], "minutes": 30,
        "justification": "She did not arrive at the shelter A-JUSTIFICATION-Zq7"});
    post(
        server,
        &s.coordinator.1,
        &path("/break-glass"),
        &opening,
        201,
    );
    let read = server.get_as(
        &s.coordinator.1,
        &path("?groups=contact&purpose=safeguarding"),
    );
    assert_eq!(
        expect(&read, 200, "break-glass read")["groups"]["contact"]["phones"][0],
        "+256 700 111 222"
    );
    (case, reference, [first, second])
}

fn an_export_holds_everything_about_the_person_and_nothing_else(db: TestDb) {
    let server = TestServer::start(&db);
    let s = staff(&db, &server);
    let (case, reference, referrals) = seeded_case(&server, &s);

    // Another person of the same family, at the same shelter, with records of her own.
    let other = post(
        &server,
        &s.worker.1,
        "/api/v1/cases",
        &person("Birungi", "+256 700 999 888", "B-HEALTH-Kq2", false),
        201,
    );
    let other_id = other["id"].as_str().unwrap().to_owned();
    let other_reference = other["reference"].as_str().unwrap().to_owned();
    let other_path = |tail: &str| format!("/api/v1/cases/{other_id}{tail}");
    post(
        &server,
        &s.worker.1,
        &other_path("/notes"),
        &json!({"text": "B-NOTE-Kq2"}),
        201,
    );
    let assistance = json!({"service_type": "health", "status": "planned",
        "provided_on": chrono::Utc::now().date_naive().to_string(), "details": "B-ASSIST-Kq2"});
    post(
        &server,
        &s.worker.1,
        &other_path("/assistance"),
        &assistance,
        201,
    );

    // The same person registered again by the shelter (a possible duplicate it sees), and by
    // the police post (one it may not see: never named).
    let same = person("Achola", "+256 700 111 222", "A-HEALTH-Zq7", true);
    let twin = post(&server, &s.worker.1, "/api/v1/cases", &same, 201);
    assert_eq!(twin["possible_duplicates"][0]["case_id"], case.as_str());
    let twin_reference = twin["reference"].as_str().unwrap().to_owned();
    let hidden = post(&server, &s.responder, "/api/v1/cases", &same, 201);
    let hidden_id = hidden["id"].as_str().unwrap().to_owned();
    let hidden_reference = hidden["reference"].as_str().unwrap().to_owned();
    let vault =
        tumaini_db::vault::Vault::new(tumaini_api::keyring::key_provider(&server.config).unwrap());
    tumaini_api::cases::duplicates::check_queued(
        &mut db.conn(),
        &vault,
        PUBLIC_URL,
        &server.audit_events(),
        100,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while case_duplicates::table
        .filter(case_duplicates::case_id.eq(&hidden_id))
        .filter(case_duplicates::other_case_id.eq(&case))
        .count()
        .get_result::<i64>(&mut db.conn())
        .unwrap()
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "the hidden match was never recorded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The export, as JSON.
    let answer = server.get_as(&s.supervisor.1, &export_path(&case, ""));
    let export = expect(&answer, 200, "export");
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let text = answer.text();
    for marker in ACHOLA.iter().chain([&HOSTILE, &reference.as_str()]) {
        assert!(text.contains(marker), "{marker} is missing from the export");
    }
    for marker in BIRUNGI
        .iter()
        .chain([&other_id.as_str(), &other_reference.as_str()])
        .chain([&hidden_id.as_str(), &hidden_reference.as_str()])
    {
        assert!(!text.contains(marker), "{marker} is in the export");
    }

    assert_eq!(export["case"]["id"], case.as_str());
    let data = &export["personal_data"];
    assert_eq!(data["identity"]["given_names"], "Achola", "{data}");
    assert_eq!(data["identity"]["date_of_birth"], "1998-02-03");
    assert_eq!(data["contact"]["phones"][0], "+256 700 111 222");
    assert_eq!(data["health"]["physical_health"], "A-HEALTH-Zq7");
    assert_eq!(data["legal"]["immigration_status"], "citizen");
    assert_eq!(data["withheld_groups"], json!([]));
    assert_eq!(data["erased_groups"], json!([]));
    assert_eq!(data["absent_groups"], json!(["exploitation", "notes"]));

    let consents = export["consents"].as_array().unwrap();
    assert_eq!(consents.len(), 2, "{consents:?}");
    assert_eq!(
        (&consents[0]["version"], &consents[1]["version"]),
        (&json!(1), &json!(2))
    );
    assert_eq!(
        consents[0]["details"],
        "Interpreter present: A-CONSENT-DETAILS-Zq7"
    );
    assert_eq!(consents[1]["method"], "verbal");
    assert_eq!(
        consents[1]["groups"],
        json!(["identity", "contact", "health", "legal"])
    );
    assert_eq!(export["consent_in_force_version"], 2);
    let screening = &export["screenings"][0];
    assert_eq!(screening["presumed"], true);
    assert_eq!(
        screening["answers"]["notes"],
        "met at the bus park A-SCREENING-Zq7"
    );
    assert_eq!(
        screening["answers"]["indicators"],
        json!(["dr_nature_of_job", "cd_confiscation_of_documents"])
    );
    assert_eq!(
        export["identification_decisions"][0]["reasons"],
        "interview held A-REASONS-Zq7"
    );
    assert_eq!(
        export["identification_decisions"][0]["decided_by"],
        s.authority.0.id.as_str()
    );
    assert_eq!(export["assistance"][0]["details"], "a bed A-ASSIST-Zq7");
    assert_eq!(
        export["notes"][0]["text"],
        format!("{HOSTILE} A-NOTE-Zq7").as_str()
    );
    assert_eq!(
        export["risk_assessments"][0]["details"],
        "the recruiter lives nearby A-RISK-Zq7"
    );
    assert_eq!(
        export["plan"]["plan"]["goals"][0]["action"],
        "a safe bed A-PLAN-Zq7"
    );
    let opening = &export["break_glass"][0];
    assert_eq!(opening["user_id"], s.coordinator.0.id.as_str());
    assert_eq!(opening["role"], "coordinator");
    assert_eq!(opening["groups"], json!(["contact"]));
    assert!(
        opening["justification"]
            .as_str()
            .unwrap()
            .contains("A-JUSTIFICATION-Zq7")
    );
    assert_eq!(
        export["possible_duplicates"],
        json!([{
            "reference": twin_reference, "status": "open",
            "found_at": export["possible_duplicates"][0]["found_at"], "resolved_at": null
        }]),
        "only the duplicate the supervisor may see, by reference"
    );

    let sent = export["referrals"].as_array().unwrap();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let completed = &sent[0];
    assert_eq!(completed["id"], referrals[0].as_str());
    assert_eq!(completed["to"]["id"], s.clinic_org.as_str());
    assert_eq!(completed["state"], "completed");
    assert_eq!(completed["services"], json!(["health"]));
    assert_eq!(completed["groups"], json!(["identity", "health"]));
    assert_eq!(completed["reason"], "a medical check A-REFERRAL-REASON-Zq7");
    for at in ["created_at", "answered_at", "started_at", "ended_at"] {
        assert!(completed[at].is_string(), "{at}: {completed}");
    }
    let steps: Vec<&str> = completed["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["sent", "accepted", "in_service", "completed"]);
    let declined = &sent[1];
    assert_eq!(declined["to"]["id"], s.refuge_org.as_str());
    assert_eq!(declined["state"], "declined");
    assert_eq!(declined["decline_reason"], "no_capacity");
    assert_eq!(declined["groups"], json!(["identity"]));

    // The disclosure log is the trail of the case and its referrals, exactly, up to the export.
    let referral_ids = referrals.to_vec();
    let trail = trail_of(&db, &case, &referral_ids);
    let exported_at = trail
        .iter()
        .position(|e| e.action == "case.subject_access" && e.outcome == "success")
        .expect("the export is audited");
    let export_event = &trail[exported_at];
    assert_eq!(export_event.severity, "high");
    assert_eq!(export_event.purpose.as_deref(), Some("subject_access"));
    assert_eq!(
        export_event.actor_user_id.as_deref(),
        Some(s.supervisor.0.id.as_str())
    );
    assert_eq!(
        export_event.field_groups,
        "identity,contact,exploitation,health,legal,notes,referral_reason"
    );
    assert_eq!(exported_at, trail.len() - 1, "nothing after the export");
    let expected: Vec<String> = trail[..exported_at]
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    let logged: Vec<String> = export["disclosures"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(logged, expected, "the disclosure log is the audit trail");
    for (event, stored) in export["disclosures"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&trail)
    {
        assert_eq!(event["action"], stored.action.as_str());
        assert_eq!(event["outcome"], stored.outcome.as_str());
        assert_eq!(event["actor_user_id"], json!(stored.actor_user_id));
        assert_eq!(
            event["actor_organisation_id"],
            json!(stored.actor_organisation_id)
        );
        assert_eq!(event["actor_role"], json!(stored.actor_role));
        assert_eq!(event["purpose"], json!(stored.purpose));
        assert_eq!(
            event["field_groups"].as_array().unwrap().len(),
            stored
                .field_groups
                .split(',')
                .filter(|g| !g.is_empty())
                .count()
        );
    }
    // Every reader is named, with their organisation and role.
    let readers: Vec<(&str, &str)> = export["disclosures"]["accessed_by"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| Some((a["user_id"].as_str()?, a["role"].as_str()?)))
        .collect();
    for (who, role) in [
        (&s.worker.0, "case_worker"),
        (&s.reader.0, "case_worker"),
        (&s.clinic.0, "case_worker"),
        (&s.refuge.0, "case_worker"),
        (&s.authority.0, "competent_authority"),
        (&s.coordinator.0, "coordinator"),
    ] {
        assert!(
            readers.contains(&(who.id.as_str(), role)),
            "{} ({role}) is not among {readers:?}",
            who.id
        );
    }
    let actions: Vec<&str> = export["disclosures"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "case.read",
        "case.note.read",
        "referral.reason.read",
        "referral.accept",
        "referral.complete",
        "referral.decline",
        "case.break_glass.open",
        "case.duplicate.flagged",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }

    // The printable page: the same content, every value escaped, nothing personal in a header.
    let page = server.send(|c, base| {
        c.get(format!("{base}{}", export_path(&case, "")))
            .bearer_auth(&s.supervisor.1)
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
    });
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let policy = page.header("content-security-policy").unwrap();
    assert!(
        policy.starts_with("default-src 'none'; style-src 'unsafe-inline'"),
        "{policy}"
    );
    assert!(!policy.contains("script-src"), "{policy}");
    assert_eq!(
        page.header("content-disposition"),
        Some(format!("attachment; filename=\"subject-access-{reference}.html\"").as_str())
    );
    for (name, value) in &page.headers {
        let value = value.to_str().unwrap_or_default();
        for personal in ["Achola", "Ssempijja", "+256"] {
            assert!(!value.contains(personal), "{personal} in the {name} header");
        }
    }
    let html = page.text();
    assert!(!html.contains("<script"), "a note became a tag");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; A-NOTE-Zq7"),
        "the hostile note is shown, escaped"
    );
    for marker in ACHOLA
        .iter()
        .chain([&reference.as_str(), &twin_reference.as_str()])
    {
        assert!(html.contains(marker), "{marker} is missing from the page");
    }
    for marker in BIRUNGI
        .iter()
        .chain([&other_id.as_str(), &other_reference.as_str()])
        .chain([&hidden_id.as_str(), &hidden_reference.as_str()])
    {
        assert!(!html.contains(marker), "{marker} is in the page");
    }
    for event in &expected {
        assert!(
            html.contains(event.as_str()),
            "event {event} not on the page"
        );
    }
    // `format` decides over `Accept`.
    let forced = server.send(|c, base| {
        c.get(format!("{base}{}", export_path(&case, "&format=json")))
            .bearer_auth(&s.supervisor.1)
            .header("accept", "text/html")
    });
    assert_eq!(
        expect(&forced, 200, "json")["case"]["reference"],
        reference.as_str()
    );
    let page = server.get_as(&s.supervisor.1, &export_path(&case, "&format=html"));
    assert!(page.text().starts_with("<!DOCTYPE html>"));
}

both_engines!(an_export_holds_everything_about_the_person_and_nothing_else);

fn only_the_owning_supervisor_exports_and_it_is_loud(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
    let supervisor_token = token(&server, &supervisor.email).0;
    let stranger = token(&server, &seed::account(&db, Role::Supervisor).email).0;
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let coordinator = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &office, Role::Coordinator).email,
    );
    let admin = mfa_enrolled_token(&server, &seed::account_in(&db, &office, Role::Admin).email);
    let created = post(
        &server,
        &worker,
        "/api/v1/cases",
        &person("Achola", "+256 700 111 222", "A-HEALTH-Zq7", false),
        201,
    );
    let case = created["id"].as_str().unwrap().to_owned();
    let case_id: tumaini_db::ids::CaseId = case.parse().unwrap();
    let before = Case::find(&mut db.conn(), &case_id).unwrap();

    let missing = export_path(&uuid::Uuid::now_v7().to_string(), "");
    let unknown = expect(
        &server.get_as(&supervisor_token, &missing),
        404,
        "no such case",
    );
    for (who, access) in [
        ("a case worker of the owning organisation", &worker),
        ("a supervisor of another organisation", &stranger),
        ("a coordinator", &coordinator),
        ("an administrator", &admin),
    ] {
        for tail in ["", "&format=html"] {
            let refused = expect(&server.get_as(access, &export_path(&case, tail)), 404, who);
            assert_eq!(
                without_request_id(refused),
                without_request_id(unknown.clone()),
                "{who} is answered as for no case"
            );
        }
    }
    let bad = server.get_as(
        &supervisor_token,
        &format!("/api/v1/cases/{case}/subject-access?purpose=assistance"),
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    let bad = server.get_as(
        &supervisor_token,
        &format!("/api/v1/cases/{case}/subject-access"),
    );
    assert_eq!(bad.status, 400, "the purpose is required");

    // Nothing changed, nothing was exported: every refusal is a denied event of its own.
    let after = Case::find(&mut db.conn(), &case_id).unwrap();
    assert_eq!(
        (after.version, after.updated_at),
        (before.version, before.updated_at)
    );
    let events =
        tumaini_db::models::audit::with_action(&mut db.conn(), "case.subject_access").unwrap();
    let outcomes: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.outcome.as_str(), e.field_groups.as_str()))
        .collect();
    // The unknown case, and four people twice each.
    assert_eq!(outcomes.len(), 9, "{outcomes:?}");
    assert!(
        events
            .iter()
            .all(|e| e.outcome == "denied" && e.field_groups.is_empty()),
        "{outcomes:?}"
    );

    let answer = server.get_as(&supervisor_token, &export_path(&case, ""));
    expect(&answer, 200, "the owning supervisor exports");
    let events =
        tumaini_db::models::audit::with_action(&mut db.conn(), "case.subject_access").unwrap();
    let exported: Vec<&AuditEvent> = events.iter().filter(|e| e.outcome == "success").collect();
    assert_eq!(exported.len(), 1);
    assert_eq!(
        exported[0].severity, "high",
        "an export is a high-severity event"
    );
    assert_eq!(exported[0].resource_id.as_deref(), Some(case.as_str()));
    assert_eq!(
        exported[0].actor_user_id.as_deref(),
        Some(supervisor.id.as_str())
    );
}

both_engines!(only_the_owning_supervisor_exports_and_it_is_loud);

/// A problem document without its request id (which differs from request to request).
fn without_request_id(mut problem: Value) -> Value {
    if let Some(fields) = problem.as_object_mut() {
        fields.remove("request_id");
    }
    problem
}

fn an_erased_case_shows_the_erased_marker(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let supervisor = token(
        &server,
        &seed::account_in(&db, &shelter, Role::Supervisor).email,
    )
    .0;
    let created = post(
        &server,
        &worker,
        "/api/v1/cases",
        &person("Achola", "+256 700 111 222", "A-HEALTH-Zq7", false),
        201,
    );
    let case = created["id"].as_str().unwrap().to_owned();
    let note = json!({"text": "A-NOTE-Zq7"});
    post(
        &server,
        &worker,
        &format!("/api/v1/cases/{case}/notes"),
        &note,
        201,
    );

    // Erased as the erasure work does it: the case's key destroyed, the case marked.
    let id: tumaini_db::ids::CaseId = case.parse().unwrap();
    let vault =
        tumaini_db::vault::Vault::new(tumaini_api::keyring::key_provider(&server.config).unwrap());
    vault.shred_case(&mut db.conn(), &id).unwrap();
    diesel::update(tumaini_db::schema::cases::table.find(&id))
        .set(tumaini_db::schema::cases::erased_at.eq(Some(chrono::Utc::now().naive_utc())))
        .execute(&mut db.conn())
        .unwrap();

    let answer = server.get_as(&supervisor, &export_path(&case, ""));
    let export = expect(&answer, 200, "export of an erased case");
    assert!(export["erased_at"].is_string(), "{export}");
    let data = &export["personal_data"];
    // Once the key is gone, which groups were ever recorded cannot be told either.
    assert_eq!(
        data["erased_groups"],
        json!([
            "identity",
            "contact",
            "exploitation",
            "health",
            "legal",
            "notes"
        ]),
        "{data}"
    );
    assert_eq!(data["identity"], Value::Null);
    assert_eq!(export["notes"][0]["text"], Value::Null, "the note is gone");
    for gone in ["Achola", "+256 700 111 222", "A-HEALTH-Zq7", "A-NOTE-Zq7"] {
        assert!(!answer.text().contains(gone), "{gone} survived the erasure");
    }
    let page = server
        .get_as(&supervisor, &export_path(&case, "&format=html"))
        .text();
    assert!(page.contains("<strong>erased</strong>"), "{page}");
    assert!(!page.contains("Achola"));
}

both_engines!(an_erased_case_shows_the_erased_marker);

fn groups_the_policies_refuse_are_withheld_not_failed(db: TestDb) {
    let server = TestServer::start(&db);
    // A case owned by a police post: without the person's consent to share with law
    // enforcement, even the post's own supervisor reads no personal group
    // (`guard.law-enforcement-needs-consent`), so an export for the person withholds them.
    let police = seed::organisation(&db, OrganisationKind::Police);
    let worker = token(
        &server,
        &seed::account_in(&db, &police, Role::FirstResponder).email,
    )
    .0;
    let supervisor = token(
        &server,
        &seed::account_in(&db, &police, Role::Supervisor).email,
    )
    .0;
    let created = post(
        &server,
        &worker,
        "/api/v1/cases",
        &person("Achola", "+256 700 111 222", "A-HEALTH-Zq7", false),
        201,
    );
    let case = created["id"].as_str().unwrap().to_owned();
    post(
        &server,
        &supervisor,
        &format!("/api/v1/cases/{case}/notes"),
        &json!({"text": "A-NOTE-Zq7"}),
        201,
    );

    let answer = server.get_as(&supervisor, &export_path(&case, ""));
    let export = expect(&answer, 200, "export of a case the exporter may not read");
    let data = &export["personal_data"];
    assert_eq!(
        data["withheld_groups"],
        json!([
            "identity",
            "contact",
            "exploitation",
            "health",
            "legal",
            "notes"
        ]),
        "{data}"
    );
    assert_eq!(export["notes"][0]["text"], Value::Null, "{export}");
    for withheld in ["Achola", "+256 700 111 222", "A-HEALTH-Zq7", "A-NOTE-Zq7"] {
        assert!(!answer.text().contains(withheld), "{withheld} was read");
    }
    // The refusal of the groups is audited, and the export lists no group it did not read.
    let refused =
        tumaini_db::models::audit::with_action(&mut db.conn(), "case.read_group").unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].outcome, "denied");
    assert_eq!(refused[0].purpose.as_deref(), Some("subject_access"));
    let exported =
        tumaini_db::models::audit::with_action(&mut db.conn(), "case.subject_access").unwrap();
    assert_eq!(
        (
            exported[0].outcome.as_str(),
            exported[0].field_groups.as_str()
        ),
        ("success", "")
    );
    let logged: Vec<&str> = export["disclosures"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(logged.last(), Some(&"case.read_group"), "{logged:?}");
    let page = server
        .get_as(&supervisor, &export_path(&case, "&format=html"))
        .text();
    assert!(page.contains("Withheld."), "{page}");
}

both_engines!(groups_the_policies_refuse_are_withheld_not_failed);

/// A restriction of processing does not suspend the person's own right of access: the owning
/// organisation's supervisor exports every group for them (purpose `subject_access`), while the
/// case worker's ordinary read is refused.
fn a_restricted_case_is_still_exported_for_the_person(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let supervisor = token(
        &server,
        &seed::account_in(&db, &shelter, Role::Supervisor).email,
    )
    .0;
    let created = post(
        &server,
        &worker,
        "/api/v1/cases",
        &person("Achola", "+256 700 111 222", "A-HEALTH-Zq7", false),
        201,
    );
    let case = created["id"].as_str().unwrap().to_owned();
    post(
        &server,
        &supervisor,
        &format!("/api/v1/cases/{case}/restriction"),
        &json!({"reason": "accuracy_contested"}),
        200,
    );
    let read = server.get_as(
        &worker,
        &format!("/api/v1/cases/{case}?groups=identity&purpose=case_management"),
    );
    let read = expect(&read, 200, "the case worker's read");
    assert_eq!(read["withheld_groups"], json!(["identity"]), "{read}");
    let answer = server.get_as(&supervisor, &export_path(&case, ""));
    let export = expect(&answer, 200, "export of a restricted case");
    assert_eq!(export["restricted"], true);
    let data = &export["personal_data"];
    assert_eq!(data["withheld_groups"], json!([]), "{data}");
    assert_eq!(data["identity"]["given_names"], "Achola", "{data}");
}

both_engines!(a_restricted_case_is_still_exported_for_the_person);
