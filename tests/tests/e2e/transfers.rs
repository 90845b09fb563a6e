//! Transfers of a case between organisations through real HTTP on both engines: the consent a
//! transfer needs (abroad, a child's guardian or best-interest basis), ownership moving on
//! acceptance with only the groups the transfer names, what the sender keeps (the summary or
//! nothing), the ownership history after two transfers, declines, withdrawals, a consent
//! withdrawn before acceptance, the view of an outsider, and the e-mails sent (references and
//! links, never a name or the sender's note).

use std::time::Duration;

use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::models::audit;
use tumaini_db::schema::{case_transfers, cases};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, Account};
use tumaini_tests::smtp::body_of;
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::token;

/// The sender's note: free text that goes to the two organisations only, never into an e-mail.
const NOTE: &str = "She will stay with her aunt near the Kondele market";

/// Every personal value of the case [`person`] registers, and the note; none may appear in an
/// e-mail.
const PERSONAL: &[&str] = &[
    "Nyakato",
    "Atwongyeire",
    "1999-04-12",
    "+256 772 123 456",
    "Kisenyi",
    "Kondele",
    "asthma",
];

fn person() -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG",
            "exploitation_country": "UG", "region": "UG-102", "encountered_on": "2026-11-20",
            "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": {
                "given_names": "Nyakato", "family_name": "Atwongyeire",
                "date_of_birth": "1999-04-12"
            },
            "contact": {"phones": ["+256 772 123 456"], "address": "Kisenyi"},
            "health": {"physical_health": "asthma"}
        }
    })
}

fn consent(given_by: &str, groups: &[&str], recipients: &[&str]) -> Value {
    json!({
        "given_by": given_by, "method": "written",
        "purposes": ["assistance", "referral"], "groups": groups, "recipients": recipients
    })
}

fn login(server: &TestServer, account: &Account) -> String {
    token(server, &account.email).0
}

fn transfer_count(db: &TestDb) -> i64 {
    case_transfers::table
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn owner_of(db: &TestDb, case: &str) -> String {
    cases::table
        .filter(cases::id.eq(case))
        .select(cases::owner_organisation_id)
        .first::<tumaini_db::ids::OrgId>(&mut db.conn())
        .unwrap()
        .to_string()
}

/// Reads a case asking for `groups`: the status and the groups that came back.
fn readable(server: &TestServer, token: &str, case: &str, groups: &str) -> (u16, Vec<String>) {
    let response = server.get_as(
        token,
        &format!("/api/v1/cases/{case}?groups={groups}&purpose=assistance"),
    );
    if response.status != 200 {
        return (response.status, Vec::new());
    }
    let mut seen: Vec<String> = response.json()["groups"]
        .as_object()
        .map(|groups| groups.keys().cloned().collect())
        .unwrap_or_default();
    seen.sort();
    (200, seen)
}

fn register(server: &TestServer, token: &str) -> String {
    let created = server.post(Some(token), "/api/v1/cases", &person());
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()["id"].as_str().unwrap().to_owned()
}

fn record_consent(server: &TestServer, token: &str, case: &str, body: &Value) {
    let recorded = server.post(Some(token), &format!("/api/v1/cases/{case}/consents"), body);
    assert_eq!(recorded.status, 201, "{}", recorded.text());
}

fn step(server: &TestServer, token: &str, transfer: &str, step: &str, body: &Value) -> u16 {
    server
        .post(
            Some(token),
            &format!("/api/v1/transfers/{transfer}/{step}"),
            body,
        )
        .status
}

/// The case's summary re-assessed: possibly under 18.
fn reassess_as_child(server: &TestServer, token: &str, case: &str) {
    let etag = server
        .get_as(token, &format!("/api/v1/cases/{case}"))
        .header("etag")
        .unwrap()
        .to_owned();
    let change = json!({
        "summary": {
            "sex": "female", "age_band": "9_17", "citizenship": "UG", "region": "UG-102",
            "encountered_on": "2026-11-20"
        }
    });
    let path = format!("/api/v1/cases/{case}");
    let token = token.to_owned();
    let patched = server.send(move |c, base| {
        c.patch(format!("{base}{path}"))
            .bearer_auth(token)
            .header("If-Match", etag)
            .json(&change)
    });
    assert_eq!(patched.status, 200, "{}", patched.text());
}

fn a_transfer_abroad_needs_consent_to_abroad_and_moves_the_case(db: TestDb) {
    let server = TestServer::start(&db);
    let uganda = seed::organisation(&db, OrganisationKind::Shelter);
    let kenya = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let police = seed::organisation(&db, OrganisationKind::Police);
    let outsider_org = seed::organisation_in(&db, OrganisationKind::Shelter, "TZ");
    let sender = seed::account_in(&db, &uganda, Role::CaseWorker);
    let sender_head = seed::account_in(&db, &uganda, Role::Supervisor);
    let receiver = seed::account_in(&db, &kenya, Role::CaseWorker);
    let receiver_head = seed::account_in(&db, &kenya, Role::Supervisor);
    let outsider = seed::account_in(&db, &outsider_org, Role::Supervisor);
    let (s, sh, r, o) = (
        login(&server, &sender),
        login(&server, &sender_head),
        login(&server, &receiver),
        login(&server, &outsider),
    );
    let case = register(&server, &s);
    let case_reference = server.get_as(&s, &format!("/api/v1/cases/{case}")).json()["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let request =
        |body: &Value| server.post(Some(&s), &format!("/api/v1/cases/{case}/transfers"), body);
    let to_kenya = json!({
        "to_organisation": kenya.as_str(), "reason": "person_moved",
        "groups": ["identity", "contact"], "note": NOTE
    });

    // Consent to shelters at home only: across the border, refused and named.
    record_consent(
        &server,
        &s,
        &case,
        &consent("person", &["identity", "contact", "health"], &["shelter"]),
    );
    let refused = request(&to_kenya);
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert_eq!(
        refused.json()["type"],
        "urn:tumaini:problem:consent-required"
    );
    let detail = refused.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("transfer abroad"), "{detail}");
    assert!(!detail.contains("Nyakato"));
    // Invalid transfers, whatever the consent.
    for (body, status) in [
        (
            json!({"to_organisation": uganda.as_str(), "reason": "capacity"}),
            422,
        ),
        (
            json!({"to_organisation": police.as_str(), "reason": "capacity"}),
            422,
        ),
        (
            json!({"to_organisation": tumaini_db::ids::OrgId::generate().as_str(), "reason": "capacity"}),
            422,
        ),
        (
            json!({"to_organisation": kenya.as_str(), "reason": "capacity", "groups": ["summary"]}),
            422,
        ),
        (
            json!({"to_organisation": kenya.as_str(), "reason": "bored"}),
            422,
        ),
        (
            json!({"to_organisation": kenya.as_str(), "reason": "capacity", "sender_keeps": "all"}),
            422,
        ),
        (
            json!({"to_organisation": kenya.as_str(), "reason": "capacity", "owner": "me"}),
            422,
        ),
    ] {
        let answer = request(&body);
        assert_eq!(answer.status, status, "{body}: {}", answer.text());
    }
    assert_eq!(transfer_count(&db), 0, "no refusal left a transfer behind");

    // With consent to transfer abroad: requested, due in the normal referral time.
    record_consent(
        &server,
        &s,
        &case,
        &consent(
            "person",
            &["identity", "contact", "health"],
            &["shelter", "abroad"],
        ),
    );
    let requested = request(&to_kenya);
    assert_eq!(requested.status, 201, "{}", requested.text());
    let requested = requested.json();
    let id = requested["id"].as_str().unwrap().to_owned();
    assert_eq!(requested["state"], "requested");
    assert_eq!(requested["cross_border"], true);
    assert_eq!(requested["sender_keeps"], "nothing");
    assert_eq!(requested["groups"], json!(["identity", "contact"]));
    let reference = requested["reference"].as_str().unwrap().to_owned();
    let at = |field: &str| {
        chrono::DateTime::parse_from_rfc3339(requested[field].as_str().unwrap()).unwrap()
    };
    assert_eq!((at("respond_by") - at("requested_at")).num_hours(), 72);
    let twice = request(&json!({"to_organisation": kenya.as_str(), "reason": "capacity"}));
    assert_eq!(
        twice.status,
        409,
        "one open transfer per case: {}",
        twice.text()
    );

    // An outsider abroad learns nothing: neither the transfer nor the case.
    assert_eq!(
        server.get_as(&o, &format!("/api/v1/transfers/{id}")).status,
        404
    );
    assert_eq!(step(&server, &o, &id, "accept", &json!({})), 404);
    assert_eq!(
        server.get_as(&o, &format!("/api/v1/cases/{case}")).status,
        404
    );
    let foreign = server.post(
        Some(&o),
        &format!("/api/v1/cases/{case}/transfers"),
        &json!({"to_organisation": outsider_org.as_str(), "reason": "capacity"}),
    );
    assert_eq!(foreign.status, 404, "{}", foreign.text());
    assert!(
        server
            .get_as(&o, "/api/v1/transfers?direction=incoming")
            .json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The receiver reads the request and its note, not yet the case; the sender may not
    // answer it.
    let seen = server.get_as(&r, &format!("/api/v1/transfers/{id}"));
    assert_eq!(seen.status, 200, "{}", seen.text());
    assert_eq!(seen.json()["note"], NOTE);
    assert_eq!(readable(&server, &r, &case, "identity").0, 404);
    assert_eq!(step(&server, &s, &id, "accept", &json!({})), 403);
    let incoming = server.get_as(&r, "/api/v1/transfers?direction=incoming&state=requested");
    assert_eq!(incoming.status, 200, "{}", incoming.text());
    assert_eq!(incoming.json()["items"][0]["id"], id.as_str());

    // Accepted: the Kenyan shelter owns the case and reads exactly the groups handed over; the
    // Ugandan shelter, keeping nothing, no longer sees the case at all.
    let accepted = server.post(
        Some(&r),
        &format!("/api/v1/transfers/{id}/accept"),
        &json!({}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert_eq!(accepted.json()["state"], "accepted");
    assert_eq!(owner_of(&db, &case), kenya.as_str());
    let (status, groups) = readable(&server, &r, &case, "identity,contact,health");
    assert_eq!(status, 200);
    assert_eq!(
        groups,
        ["contact", "identity"],
        "health was not handed over"
    );
    for token in [&s, &sh] {
        assert_eq!(readable(&server, token, &case, "identity").0, 404);
        assert_eq!(
            server
                .get_as(token, &format!("/api/v1/cases/{case}"))
                .status,
            404
        );
    }
    assert_eq!(
        step(&server, &r, &id, "accept", &json!({})),
        409,
        "accepted once"
    );
    assert_eq!(
        step(&server, &s, &id, "withdraw", &json!({})),
        409,
        "too late"
    );
    // The new owner may not write a group it may not read.
    let etag = server
        .get_as(&r, &format!("/api/v1/cases/{case}"))
        .header("etag")
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/cases/{case}");
    let token_r = r.clone();
    let patched = server.send(move |c, base| {
        c.patch(format!("{base}{path}"))
            .bearer_auth(token_r)
            .header("If-Match", etag)
            .json(&json!({"groups": {"health": {"physical_health": "well"}}}))
    });
    assert_eq!(patched.status, 403, "{}", patched.text());
    // The sender's outgoing list still shows the transfer, without the note.
    let outgoing = server.get_as(&s, "/api/v1/transfers?direction=outgoing");
    assert_eq!(outgoing.status, 200, "{}", outgoing.text());
    assert_eq!(outgoing.json()["items"][0]["state"], "accepted");
    assert!(
        outgoing.json()["items"][0]
            .get("note")
            .is_none_or(Value::is_null)
    );

    // Each step and each refusal is in the audit trail, with no personal value.
    let mut conn = db.conn();
    for action in [
        "transfer.request",
        "transfer.accept",
        "transfer.read",
        "transfer.note.read",
    ] {
        let events = audit::with_action(&mut conn, action).unwrap();
        assert!(events.iter().any(|e| e.outcome == "success"), "{action}");
    }
    for action in ["transfer.accept", "transfer.request"] {
        assert!(
            audit::with_action(&mut conn, action)
                .unwrap()
                .iter()
                .any(|e| e.outcome == "denied"),
            "{action} denied"
        );
    }
    drop(conn);

    // E-mail: the Kenyan shelter's staff on the request, the sender and the Ugandan supervisor
    // on acceptance; references and links only.
    let messages = server.wait_for_mail(4, Duration::from_secs(20));
    let arrived: Vec<&String> = messages
        .iter()
        .filter(|m| {
            m.contains("transfer")
                && (m.contains(&receiver.email) || m.contains(&receiver_head.email))
        })
        .collect();
    assert_eq!(arrived.len(), 2, "{messages:?}");
    assert!(messages.iter().any(|m| m.contains(&sender.email)));
    assert!(messages.iter().any(|m| m.contains(&sender_head.email)));
    for message in &messages {
        let body = body_of(message);
        assert!(
            body.contains(&reference)
                && body.contains(&format!("https://tumaini.test/transfers/{id}")),
            "{body}"
        );
        assert!(!body.contains(&case_reference), "{body}");
        for value in PERSONAL {
            assert!(
                !message.contains(value) && !body.contains(value),
                "{value} in an e-mail: {message}"
            );
        }
    }
}

both_engines!(a_transfer_abroad_needs_consent_to_abroad_and_moves_the_case);

fn a_childs_transfer_needs_a_guardian_or_a_best_interest_basis(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let ngo = seed::organisation(&db, OrganisationKind::Ngo);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let ngo_worker = seed::account_in(&db, &ngo, Role::CaseWorker);
    let (w, n) = (login(&server, &worker), login(&server, &ngo_worker));
    let case = register(&server, &w);
    record_consent(
        &server,
        &w,
        &case,
        &consent("person", &["identity", "contact"], &["shelter", "ngo"]),
    );
    reassess_as_child(&server, &w, &case);
    let w = login(&server, &worker);
    let body = json!({"to_organisation": ngo.as_str(), "reason": "specialised_care"});
    let request = || server.post(Some(&w), &format!("/api/v1/cases/{case}/transfers"), &body);

    // Her own consent does not carry a child's transfer.
    let own = request();
    assert_eq!(own.status, 409, "{}", own.text());
    assert!(
        own.json()["detail"].as_str().unwrap().contains("guardian"),
        "{}",
        own.text()
    );
    assert_eq!(transfer_count(&db), 0);

    // A guardian's consent does; the request withdrawn, a best-interest basis does too.
    record_consent(
        &server,
        &w,
        &case,
        &consent("guardian", &["identity", "contact"], &["shelter", "ngo"]),
    );
    let by_guardian = request();
    assert_eq!(by_guardian.status, 201, "{}", by_guardian.text());
    let first = by_guardian.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        by_guardian.json()["groups"],
        json!(["identity", "contact"]),
        "the default: what the consent covers"
    );
    assert_eq!(step(&server, &w, &first, "withdraw", &json!({})), 200);
    assert_eq!(
        step(&server, &n, &first, "accept", &json!({})),
        409,
        "withdrawn"
    );
    record_consent(
        &server,
        &w,
        &case,
        &consent("best_interest", &["identity"], &["shelter", "ngo"]),
    );
    let on_basis = request();
    assert_eq!(on_basis.status, 201, "{}", on_basis.text());
    assert_eq!(on_basis.json()["groups"], json!(["identity"]));
    let second = on_basis.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(step(&server, &n, &second, "accept", &json!({})), 200);
    assert_eq!(
        readable(&server, &n, &case, "identity,contact"),
        (200, vec!["identity".to_owned()])
    );
}

both_engines!(a_childs_transfer_needs_a_guardian_or_a_best_interest_basis);

fn two_transfers_leave_an_ownership_history(db: TestDb) {
    let server = TestServer::start(&db);
    let first = seed::organisation(&db, OrganisationKind::Shelter);
    let second = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let third = seed::organisation_in(&db, OrganisationKind::Ngo, "KE");
    let a = seed::account_in(&db, &first, Role::CaseWorker);
    let b = seed::account_in(&db, &second, Role::CaseWorker);
    let b_head = seed::account_in(&db, &second, Role::Supervisor);
    let c = seed::account_in(&db, &third, Role::CaseWorker);
    let (a, b, bh, c) = (
        login(&server, &a),
        login(&server, &b),
        login(&server, &b_head),
        login(&server, &c),
    );
    let case = register(&server, &a);
    record_consent(
        &server,
        &a,
        &case,
        &consent(
            "person",
            &["identity", "contact", "health"],
            &["shelter", "ngo", "abroad"],
        ),
    );

    // A to B, keeping the summary; every group the consent covers goes by default.
    let ab = server.post(
        Some(&a),
        &format!("/api/v1/cases/{case}/transfers"),
        &json!({"to_organisation": second.as_str(), "reason": "person_moved", "sender_keeps": "summary"}),
    );
    assert_eq!(ab.status, 201, "{}", ab.text());
    assert_eq!(
        ab.json()["groups"],
        json!(["identity", "contact", "health"])
    );
    let ab = ab.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(step(&server, &b, &ab, "accept", &json!({})), 200);
    assert_eq!(
        readable(&server, &b, &case, "identity,contact,health").1,
        ["contact", "health", "identity"]
    );

    // B to C, within Kenya, handing over identity only and keeping nothing; B may not hand
    // over what it does not hold.
    let bc = server.post(
        Some(&bh),
        &format!("/api/v1/cases/{case}/transfers"),
        &json!({"to_organisation": third.as_str(), "reason": "specialised_care", "groups": ["identity"]}),
    );
    assert_eq!(bc.status, 201, "{}", bc.text());
    assert_eq!(bc.json()["cross_border"], false);
    let bc = bc.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(step(&server, &c, &bc, "accept", &json!({})), 200);

    // C reads identity only; B nothing at all; A the summary and nothing more.
    assert_eq!(
        readable(&server, &c, &case, "identity,contact,health").1,
        ["identity"]
    );
    assert_eq!(readable(&server, &b, &case, "identity").0, 404);
    assert_eq!(readable(&server, &bh, &case, "identity").0, 404);
    assert_eq!(
        readable(&server, &a, &case, "identity,contact,health"),
        (200, vec![])
    );
    let summary = server.get_as(&a, &format!("/api/v1/cases/{case}"));
    assert_eq!(summary.status, 200);
    assert_eq!(summary.json()["owner_organisation_id"], third.as_str());
    // C cannot hand over a group it does not hold.
    let beyond = server.post(
        Some(&c),
        &format!("/api/v1/cases/{case}/transfers"),
        &json!({"to_organisation": second.as_str(), "reason": "return_home", "groups": ["health"]}),
    );
    assert_eq!(beyond.status, 422, "{}", beyond.text());

    // The history: A (registration), then B, then C.
    for token in [&c, &a] {
        let history = server.get_as(token, &format!("/api/v1/cases/{case}/ownership"));
        assert_eq!(history.status, 200, "{}", history.text());
        let owners: Vec<String> = history.json()["owners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["organisation"]["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(owners, [first.as_str(), second.as_str(), third.as_str()]);
        let history = history.json();
        assert!(history["owners"][0]["transfer_id"].is_null());
        assert_eq!(history["owners"][1]["transfer_id"], ab.as_str());
        assert_eq!(history["owners"][1]["reason"], "person_moved");
        assert_eq!(history["owners"][2]["transfer_id"], bc.as_str());
        assert_eq!(history["owners"][2]["from"]["id"], second.as_str());
    }
    assert_eq!(
        server
            .get_as(&b, &format!("/api/v1/cases/{case}/ownership"))
            .status,
        404
    );
    let read = audit::with_action(&mut db.conn(), "case.ownership.read").unwrap();
    assert!(read.iter().any(|e| e.outcome == "success"));
}

both_engines!(two_transfers_leave_an_ownership_history);

fn declines_withdrawals_and_a_consent_withdrawn_before_acceptance(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let other = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let receiver = seed::account_in(&db, &other, Role::CaseWorker);
    let (w, r) = (login(&server, &worker), login(&server, &receiver));
    let case = register(&server, &w);
    record_consent(
        &server,
        &w,
        &case,
        &consent("person", &["identity"], &["shelter"]),
    );
    let request = || {
        let sent = server.post(
            Some(&w),
            &format!("/api/v1/cases/{case}/transfers"),
            &json!({"to_organisation": other.as_str(), "reason": "capacity", "note": NOTE}),
        );
        assert_eq!(sent.status, 201, "{}", sent.text());
        sent.json()["id"].as_str().unwrap().to_owned()
    };

    // Declined, with a reason from the vocabulary only; then nothing more can happen to it.
    let declined = request();
    assert_eq!(
        step(
            &server,
            &r,
            &declined,
            "decline",
            &json!({"reason": "busy"})
        ),
        422
    );
    assert_eq!(
        step(
            &server,
            &w,
            &declined,
            "decline",
            &json!({"reason": "no_capacity"})
        ),
        403
    );
    let answer = server.post(
        Some(&r),
        &format!("/api/v1/transfers/{declined}/decline"),
        &json!({"reason": "no_capacity"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["state"], "declined");
    assert_eq!(answer.json()["decline_reason"], "no_capacity");
    assert_eq!(step(&server, &w, &declined, "withdraw", &json!({})), 409);
    assert_eq!(step(&server, &r, &declined, "accept", &json!({})), 409);

    // Withdrawn by the sender; the receiver may not withdraw it.
    let withdrawn = request();
    assert_eq!(step(&server, &r, &withdrawn, "withdraw", &json!({})), 403);
    assert_eq!(step(&server, &w, &withdrawn, "withdraw", &json!({})), 200);
    assert_eq!(step(&server, &r, &withdrawn, "accept", &json!({})), 409);
    // Once answered, the receiver no longer reads the note.
    let seen = server.get_as(&r, &format!("/api/v1/transfers/{withdrawn}"));
    assert_eq!(seen.status, 200);
    assert!(
        seen.json().get("note").is_none_or(Value::is_null),
        "{}",
        seen.text()
    );

    // Consent withdrawn between request and acceptance: the acceptance is refused and nothing
    // changes.
    let pending = request();
    let withdrawal = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/consents/withdrawal"),
        &json!({"given_by": "person", "method": "verbal"}),
    );
    assert_eq!(withdrawal.status, 201, "{}", withdrawal.text());
    let refused = server.post(
        Some(&r),
        &format!("/api/v1/transfers/{pending}/accept"),
        &json!({}),
    );
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert_eq!(
        refused.json()["type"],
        "urn:tumaini:problem:consent-required"
    );
    assert_eq!(owner_of(&db, &case), shelter.as_str());
    assert_eq!(
        server
            .get_as(&r, &format!("/api/v1/transfers/{pending}"))
            .json()["state"],
        "requested"
    );
    assert_eq!(readable(&server, &r, &case, "identity").0, 404);
    assert_eq!(readable(&server, &w, &case, "identity").0, 200);

    let mut conn = db.conn();
    for action in ["transfer.decline", "transfer.withdraw"] {
        assert!(
            audit::with_action(&mut conn, action)
                .unwrap()
                .iter()
                .any(|e| e.outcome == "success"),
            "{action}"
        );
    }
}

both_engines!(declines_withdrawals_and_a_consent_withdrawn_before_acceptance);
