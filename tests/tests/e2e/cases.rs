//! Cases through real HTTP on both engines: registration with encrypted groups, reads by field
//! group, 404 for other organisations, If-Match, idempotent retries, consent rules for children
//! and withdrawal, closure with a supervisor's approval, assistance and notes.

use serde_json::{Value, json};
use tumaini_db::models::audit;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::token;

fn new_case(child: bool) -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": if child { "9_17" } else { "21_23" }, "citizenship": "UG",
            "exploitation_country": "KE", "region": "UG-202", "encountered_on": "2026-11-20",
            "exploitation_types": ["forced_labour", "debt_bondage"],
            "means_of_control": ["withholds_documents"]
        },
        "groups": {
            "identity": {
                "given_names": "Nakato", "family_name": "Namubiru", "date_of_birth": "2003-04-02",
                "documents": [{"kind": "national_id", "number": "CM9901234567XY"}]
            },
            "contact": {"phones": ["+256 700 000 001"]}
        }
    })
}

pub(crate) fn with_key(
    server: &TestServer,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> tumaini_tests::TestResponse {
    let (path, body, key, token) = (
        path.to_owned(),
        body.clone(),
        key.to_owned(),
        token.to_owned(),
    );
    server.send(move |c, base| {
        c.post(format!("{base}{path}"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&body)
    })
}

fn a_case_is_registered_read_updated_and_closed(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let other = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
    let stranger = seed::account_in(&db, &other, Role::Supervisor);
    let (w, _) = token(&server, &worker.email);
    let (s, _) = token(&server, &supervisor.email);
    let (x, _) = token(&server, &stranger.email);

    // Registration, retried with the same key: one case, the same answer.
    let first = with_key(&server, &w, "/api/v1/cases", "k-1", &new_case(false));
    assert_eq!(first.status, 201, "{}", first.text());
    let again = with_key(&server, &w, "/api/v1/cases", "k-1", &new_case(false));
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.json()["id"], again.json()["id"]);
    let reused = with_key(&server, &w, "/api/v1/cases", "k-1", &new_case(true));
    assert_eq!(reused.status, 422, "a key names one request");
    let case = first.json();
    let id = case["id"].as_str().unwrap().to_owned();
    let reference = case["reference"].as_str().unwrap();
    assert!(
        reference.starts_with("C-") && reference.len() == 13,
        "{reference}"
    );
    assert!(
        !first.text().contains("Nakato"),
        "a POST answer carries no personal data"
    );
    assert_eq!(case["child"], false);
    assert_eq!(case["identification_stage"], "not_screened");
    assert_eq!(
        case["exploitation_types"],
        json!(["forced_labour", "debt_bondage"])
    );

    // The same person registered again is reported as a possible duplicate, by reference.
    let twin = server.post(Some(&w), "/api/v1/cases", &new_case(false));
    assert_eq!(twin.status, 201, "{}", twin.text());
    assert_eq!(
        twin.json()["possible_duplicates"][0]["reference"],
        case["reference"]
    );

    // Stored encrypted: the name is nowhere in the database in clear.
    let read = server.get_as(
        &w,
        &format!("/api/v1/cases/{id}?groups=identity,contact&purpose=assistance"),
    );
    assert_eq!(read.status, 200, "{}", read.text());
    let body = read.json();
    assert_eq!(body["groups"]["identity"]["given_names"], "Nakato");
    assert_eq!(body["groups"]["contact"]["phones"][0], "+256 700 000 001");
    let etag = read.header("etag").unwrap().to_owned();
    let no_purpose = server.get_as(&w, &format!("/api/v1/cases/{id}?groups=identity"));
    assert_eq!(no_purpose.status, 400, "personal groups need a purpose");
    let events = audit::with_action(&mut db.conn(), "case.read").unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.resource_id.as_deref() == Some(id.as_str()))
    );

    // Another organisation cannot tell the case exists.
    let hidden = server.get_as(&x, &format!("/api/v1/cases/{id}"));
    assert_eq!(hidden.status, 404);
    let missing = server.get_as(&x, &format!("/api/v1/cases/{}", uuid::Uuid::now_v7()));
    assert_eq!(hidden.json()["type"], missing.json()["type"]);
    assert_eq!(
        server.get_as(&x, "/api/v1/cases").json()["items"],
        json!([])
    );
    assert_eq!(
        server.get_as(&w, "/api/v1/cases").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Updates need the current ETag.
    let change = json!({"groups": {"health": {"pregnant": false}}});
    let path = format!("/api/v1/cases/{id}");
    assert_eq!(server.call("PATCH", &w, &path, Some(&change)).status, 428);
    let send_if_match = |tag: &str| {
        let (path, tag, w, change) = (path.clone(), tag.to_owned(), w.clone(), change.clone());
        server.send(move |c, base| {
            c.patch(format!("{base}{path}"))
                .bearer_auth(w)
                .header("If-Match", tag)
                .json(&change)
        })
    };
    let updated = send_if_match(&etag);
    assert_eq!(updated.status, 200, "{}", updated.text());
    assert_eq!(send_if_match(&etag).status, 412, "a stale ETag is refused");

    // Assistance and a note; the open case becomes active.
    let assisted = server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/assistance"),
        &json!({
            "service_type": "shelter", "status": "in_progress", "provided_on": "2026-11-21",
            "details": "bed in dormitory B"
        }),
    );
    assert_eq!(assisted.status, 201, "{}", assisted.text());
    let note = server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/notes"),
        &json!({"text": "settled in well"}),
    );
    assert_eq!(note.status, 201);
    let notes = server.get_as(&w, &format!("/api/v1/cases/{id}/notes"));
    assert_eq!(notes.json()["items"][0]["text"], "settled in well");
    assert_eq!(server.get_as(&w, &path).json()["status"], "active");

    // Closure: requested by the case worker, approved only by the supervisor.
    let status = format!("/api/v1/cases/{id}/status");
    let approve_early = server.post(Some(&w), &status, &json!({"change": "approve_closure"}));
    assert_eq!(approve_early.status, 403, "{}", approve_early.text());
    let requested = server.post(
        Some(&w),
        &status,
        &json!({"change": "request_closure", "reason": "services_completed"}),
    );
    assert_eq!(requested.status, 200, "{}", requested.text());
    assert_eq!(requested.json()["closure_pending"], true);
    let twice = server.post(
        Some(&w),
        &status,
        &json!({"change": "request_closure", "reason": "other"}),
    );
    assert_eq!(twice.status, 409);
    assert_eq!(
        twice.json()["type"],
        "urn:tumaini:problem:transition-refused"
    );
    let approved = server.post(Some(&s), &status, &json!({"change": "approve_closure"}));
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(approved.json()["status"], "closed");
    let more = server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/notes"),
        &json!({"text": "late"}),
    );
    assert_eq!(
        more.status, 409,
        "a closed case takes no records until reopened"
    );
    let reopened = server.post(Some(&s), &status, &json!({"change": "reopen"}));
    assert_eq!(reopened.json()["status"], "active");
    let approvals = audit::with_action(&mut db.conn(), "case.closure.approve").unwrap();
    let outcomes: Vec<&str> = approvals.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        ["denied", "success"],
        "the refusal and the approval, one event each"
    );
}

both_engines!(a_case_is_registered_read_updated_and_closed);

fn consent_follows_the_child_rules_and_withdrawal_ends_it(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let (w, _) = token(&server, &worker.email);
    let child = server.post(Some(&w), "/api/v1/cases", &new_case(true));
    assert_eq!(child.status, 201, "{}", child.text());
    assert_eq!(child.json()["child"], true);
    let id = child.json()["id"].as_str().unwrap().to_owned();
    let consents = format!("/api/v1/cases/{id}/consents");
    let grant = |given_by: &str| {
        json!({
            "given_by": given_by, "method": "written",
            "purposes": ["assistance", "referral", "identification"],
            "groups": ["identity", "health"], "recipients": ["shelter", "health"]
        })
    };
    let own = server.post(Some(&w), &consents, &grant("person"));
    assert_eq!(
        own.status,
        422,
        "a child does not consent alone: {}",
        own.text()
    );
    let guardian = server.post(Some(&w), &consents, &grant("guardian"));
    assert_eq!(guardian.status, 201, "{}", guardian.text());
    let history = server.get_as(&w, &consents).json();
    assert_eq!(history["in_force_version"], 1);

    let withdraw = format!("/api/v1/cases/{id}/consents/withdrawal");
    let withdrawn = server.post(
        Some(&w),
        &withdraw,
        &json!({"given_by": "guardian", "method": "verbal"}),
    );
    assert_eq!(withdrawn.status, 201, "{}", withdrawn.text());
    assert_eq!(
        server.get_as(&w, &consents).json()["in_force_version"],
        Value::Null
    );
    let nothing = server.post(
        Some(&w),
        &withdraw,
        &json!({"given_by": "guardian", "method": "verbal"}),
    );
    assert_eq!(nothing.status, 409, "nothing left to withdraw");

    // Without consent for identification the case cannot enter the NRM (and it must be
    // presumed first).
    let refer = server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/nrm-referral"),
        &json!({}),
    );
    assert_eq!(refer.status, 409, "{}", refer.text());

    // An adult's own consent is accepted; a guardian's is not.
    let adult = server
        .post(Some(&w), "/api/v1/cases", &new_case(false))
        .json();
    let adult_consents = format!("/api/v1/cases/{}/consents", adult["id"].as_str().unwrap());
    assert_eq!(
        server
            .post(Some(&w), &adult_consents, &grant("guardian"))
            .status,
        422
    );
    assert_eq!(
        server
            .post(Some(&w), &adult_consents, &grant("person"))
            .status,
        201
    );
}

both_engines!(consent_follows_the_child_rules_and_withdrawal_ends_it);

fn vocabularies_are_served_with_codes_and_labels(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = seed::account(&db, Role::CaseWorker);
    let (w, _) = token(&server, &worker.email);
    let response = server.get_as(&w, "/api/v1/vocabularies");
    assert_eq!(response.status, 200);
    let body = response.json();
    assert!(
        body["exploitation_type"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["code"] == "human_sacrifice")
    );
    assert_eq!(
        body["age_band"][0],
        json!({"code": "0_8", "label": "0 to 8"})
    );
    assert_eq!(server.get("/api/v1/vocabularies").status, 401);
}

both_engines!(vocabularies_are_served_with_codes_and_labels);
