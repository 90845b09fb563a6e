//! Referrals between organisations through real HTTP on both engines: the consent each needs
//! (and the problem naming what is missing), every step and every refused step, access to the
//! groups shared granted on acceptance and gone after completion, withdrawal or a withdrawal of
//! consent, cross-border referrals, expiry and escalation, the views, and the notifications
//! sent, read whole (headers and body) from the development mail transport's folder and
//! searched for every personal value of the case.

use std::time::Duration;

use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::models::audit;
use tumaini_db::schema::referrals;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, Account};
use tumaini_tests::smtp::body_of;
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

/// Every personal value of the case [`person`] registers; none may appear in an e-mail.
const PERSONAL: &[&str] = &[
    "Nyakato",
    "Atwongyeire",
    "1999-04-12",
    "+256 772 123 456",
    "locked in a hotel laundry in Kisenyi",
    "Kisenyi",
    "needs a bed tonight",
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
            "contact": {"phones": ["+256 772 123 456"]},
            "exploitation": {"narrative": "locked in a hotel laundry in Kisenyi"}
        }
    })
}

fn consent(given_by: &str, groups: &[&str], recipients: &[&str]) -> Value {
    json!({
        "given_by": given_by, "method": "written",
        "purposes": ["assistance", "referral"], "groups": groups, "recipients": recipients
    })
}

fn referral(to: &str, services: &[&str], groups: &[&str], urgency: &str) -> Value {
    json!({
        "to_organisation_id": to, "services": services, "groups": groups, "urgency": urgency,
        "reason": "She needs a bed tonight and a medical check; she speaks Runyankole."
    })
}

fn referral_count(db: &TestDb) -> i64 {
    referrals::table.count().get_result(&mut db.conn()).unwrap()
}

fn login(server: &TestServer, account: &Account) -> String {
    token(server, &account.email).0
}

/// Reads a case asking for `groups` and returns which came back readable.
fn readable(server: &TestServer, token: &str, case: &str, groups: &str) -> (u16, Vec<String>) {
    let response = server.get_as(
        token,
        &format!("/api/v1/cases/{case}?groups={groups}&purpose=assistance"),
    );
    if response.status != 200 {
        return (response.status, Vec::new());
    }
    let body = response.json();
    let mut seen: Vec<String> = body["groups"]
        .as_object()
        .map(|groups| groups.keys().cloned().collect())
        .unwrap_or_default();
    seen.sort();
    (200, seen)
}

fn a_referral_needs_consent_and_goes_through_every_step(db: TestDb) {
    // E-mail goes to the development transport's folder: what is sent is under test here, not
    // SMTP (the `mail` tests deliver to a real relay).
    let server = TestServer::start(&db);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    let kenya = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let responder = seed::account_in(&db, &police, Role::FirstResponder);
    let shelter_worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let shelter_head = seed::account_in(&db, &shelter, Role::Supervisor);
    let clinic_worker = seed::account_in(&db, &clinic, Role::CaseWorker);
    let (fr, sw, cw) = (
        login(&server, &responder),
        login(&server, &shelter_worker),
        login(&server, &clinic_worker),
    );

    let created = server.post(Some(&fr), "/api/v1/cases", &person());
    assert_eq!(created.status, 201, "{}", created.text());
    let case = created.json()["id"].as_str().unwrap().to_owned();
    let refer =
        |body: &Value| server.post(Some(&fr), &format!("/api/v1/cases/{case}/referrals"), body);

    // No consent at all: refused, naming what to record.
    let none = refer(&referral(
        shelter.as_str(),
        &["shelter"],
        &["identity"],
        "emergency",
    ));
    assert_eq!(none.status, 409, "{}", none.text());
    assert_eq!(none.json()["type"], "urn:tumaini:problem:consent-required");
    assert!(
        none.json()["detail"]
            .as_str()
            .unwrap()
            .contains("no consent is in force")
    );

    // Consent to share identity and contact with shelters only.
    let consented = server.post(
        Some(&fr),
        &format!("/api/v1/cases/{case}/consents"),
        &consent("person", &["identity", "contact"], &["shelter"]),
    );
    assert_eq!(consented.status, 201, "{}", consented.text());

    // Each gap is named: a group, a kind of organisation, transfer abroad.
    let health_group = refer(&referral(
        shelter.as_str(),
        &["shelter"],
        &["identity", "health"],
        "high",
    ));
    assert_eq!(health_group.status, 409);
    assert!(
        health_group.json()["detail"]
            .as_str()
            .unwrap()
            .contains("`health`"),
        "{}",
        health_group.text()
    );
    let to_clinic = refer(&referral(
        clinic.as_str(),
        &["health"],
        &["identity"],
        "high",
    ));
    assert_eq!(to_clinic.status, 409);
    assert!(
        to_clinic.json()["detail"]
            .as_str()
            .unwrap()
            .contains("`health` organisations"),
        "{}",
        to_clinic.text()
    );
    let abroad = refer(&referral(
        kenya.as_str(),
        &["shelter"],
        &["identity"],
        "normal",
    ));
    assert_eq!(abroad.status, 409);
    assert!(
        abroad.json()["detail"]
            .as_str()
            .unwrap()
            .contains("transfer abroad"),
        "{}",
        abroad.text()
    );
    // More than the services need, whatever the consent.
    let too_much = refer(&referral(
        shelter.as_str(),
        &["interpretation"],
        &["identity", "contact"],
        "normal",
    ));
    assert_eq!(too_much.status, 422, "{}", too_much.text());
    assert!(
        too_much.json()["detail"]
            .as_str()
            .unwrap()
            .contains("`contact`")
    );
    // Bad input changes nothing.
    for body in [
        json!({
            "to_organisation_id": shelter.as_str(), "services": [], "urgency": "high",
            "reason": "x"
        }),
        json!({
            "to_organisation_id": shelter.as_str(), "services": ["shelter"], "urgency": "soon",
            "reason": "x"
        }),
        json!({
            "to_organisation_id": shelter.as_str(), "services": ["shelter"], "urgency": "high",
            "reason": "  "
        }),
        json!({
            "to_organisation_id": police.as_str(), "services": ["shelter"], "urgency": "high",
            "reason": "x"
        }),
    ] {
        assert_eq!(refer(&body).status, 422, "{body}");
    }
    assert_eq!(referral_count(&db), 0, "no refusal left a referral behind");

    // A valid emergency referral: due in four hours, the shelter's staff told.
    let sent = refer(&referral(
        shelter.as_str(),
        &["shelter"],
        &["identity", "contact"],
        "emergency",
    ));
    assert_eq!(sent.status, 201, "{}", sent.text());
    let sent = sent.json();
    let id = sent["id"].as_str().unwrap().to_owned();
    let reference = sent["reference"].as_str().unwrap().to_owned();
    assert_eq!(sent["state"], "sent");
    assert!(reference.starts_with("R-"), "{reference}");
    let created_at = chrono::DateTime::parse_from_rfc3339(sent["created_at"].as_str().unwrap())
        .unwrap()
        .naive_utc();
    let respond_by = chrono::DateTime::parse_from_rfc3339(sent["respond_by"].as_str().unwrap())
        .unwrap()
        .naive_utc();
    assert_eq!((respond_by - created_at).num_minutes(), 240);
    let twice = refer(&referral(
        shelter.as_str(),
        &["shelter"],
        &["identity"],
        "high",
    ));
    assert_eq!(
        twice.status, 409,
        "one open referral per organisation and case"
    );

    // Before accepting, the shelter sees the referral (with the reason) but not the case.
    let seen = server.get_as(&sw, &format!("/api/v1/referrals/{id}"));
    assert_eq!(seen.status, 200, "{}", seen.text());
    assert!(
        seen.json()["reason"]
            .as_str()
            .unwrap()
            .contains("bed tonight")
    );
    assert_eq!(seen.json()["person"]["child"], false);
    assert_eq!(readable(&server, &sw, &case, "identity").0, 404);
    // Not a party: 404 for the referral; the sender may not answer it: 403.
    assert_eq!(
        server
            .get_as(&cw, &format!("/api/v1/referrals/{id}"))
            .status,
        404
    );
    assert_eq!(
        server
            .post(
                Some(&cw),
                &format!("/api/v1/referrals/{id}/accept"),
                &json!({})
            )
            .status,
        404
    );
    assert_eq!(
        server
            .post(
                Some(&fr),
                &format!("/api/v1/referrals/{id}/accept"),
                &json!({})
            )
            .status,
        403
    );
    // Out of order: nothing to start or complete yet.
    let early = server.post(
        Some(&sw),
        &format!("/api/v1/referrals/{id}/start"),
        &json!({}),
    );
    assert_eq!(early.status, 409, "{}", early.text());
    assert!(early.json()["detail"].as_str().unwrap().contains("`sent`"));

    // Accepted: the shelter reads exactly the groups shared.
    let accepted = server.post(
        Some(&sw),
        &format!("/api/v1/referrals/{id}/accept"),
        &json!({}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert_eq!(accepted.json()["state"], "accepted");
    let (status, groups) = readable(&server, &sw, &case, "identity,contact,exploitation");
    assert_eq!(status, 200);
    assert_eq!(
        groups,
        ["contact", "identity"],
        "exploitation was not shared"
    );
    let listed = server.get_as(&sw, "/api/v1/cases?limit=50").json();
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == case.as_str()),
        "the case is in the shelter's list"
    );
    assert_eq!(
        server
            .post(
                Some(&sw),
                &format!("/api/v1/referrals/{id}/accept"),
                &json!({})
            )
            .status,
        409,
        "accepted once"
    );
    let decline_late = server.post(
        Some(&sw),
        &format!("/api/v1/referrals/{id}/decline"),
        &json!({"reason": "no_capacity"}),
    );
    assert_eq!(decline_late.status, 409);

    let started = server.post(
        Some(&sw),
        &format!("/api/v1/referrals/{id}/start"),
        &json!({}),
    );
    assert_eq!(started.status, 200, "{}", started.text());
    assert_eq!(started.json()["state"], "in_service");
    let completed = server.post(
        Some(&sw),
        &format!("/api/v1/referrals/{id}/complete"),
        &json!({}),
    );
    assert_eq!(completed.status, 200, "{}", completed.text());
    let completed = completed.json();
    assert_eq!(completed["state"], "completed");
    let steps: Vec<&str> = completed["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["sent", "accepted", "in_service", "completed"]);
    // Completion ends access at once.
    assert_eq!(readable(&server, &sw, &case, "identity").0, 404);
    assert_eq!(
        server
            .post(
                Some(&fr),
                &format!("/api/v1/referrals/{id}/withdraw"),
                &json!({})
            )
            .status,
        409,
        "nothing left to withdraw"
    );

    // Each step and each refusal is in the audit trail.
    let mut conn = db.conn();
    for action in [
        "referral.create",
        "referral.accept",
        "referral.start",
        "referral.complete",
    ] {
        let events = audit::with_action(&mut conn, action).unwrap();
        assert!(events.iter().any(|e| e.outcome == "success"), "{action}");
    }
    assert!(
        audit::with_action(&mut conn, "referral.accept")
            .unwrap()
            .iter()
            .any(|e| e.outcome == "denied")
    );
    drop(conn);

    // E-mail: the shelter's two members of staff on arrival, the sender on each answer;
    // only the reference and a link, and no personal value anywhere (headers or body).
    let messages = server.wait_for_mail(5, Duration::from_secs(20));
    let to_shelter: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains("arrived for your organisation"))
        .collect();
    assert_eq!(to_shelter.len(), 2, "case worker and supervisor");
    assert!(to_shelter.iter().any(|m| m.contains(&shelter_head.email)));
    assert!(to_shelter.iter().any(|m| m.contains(&shelter_worker.email)));
    let to_sender: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains(&responder.email))
        .collect();
    assert_eq!(to_sender.len(), 3, "accepted, in service, completed");
    for message in &messages {
        let body = body_of(message);
        assert!(
            body.contains(&reference)
                && body.contains(&format!("https://tumaini.test/referrals/{id}")),
            "{body}"
        );
        for value in PERSONAL {
            assert!(
                !message.contains(value) && !body.contains(value),
                "{value} in an e-mail:\n{message}"
            );
        }
        assert!(!body.contains(&case), "not even the case id");
    }
}

both_engines!(a_referral_needs_consent_and_goes_through_every_step);

fn access_ends_with_consent_withdrawal_and_with_the_referral(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    let lawyers = seed::organisation(&db, OrganisationKind::LegalAid);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let nurse = seed::account_in(&db, &clinic, Role::CaseWorker);
    let lawyer = seed::account_in(&db, &lawyers, Role::Supervisor);
    let (w, n, l) = (
        login(&server, &worker),
        login(&server, &nurse),
        login(&server, &lawyer),
    );
    let case = server.post(Some(&w), "/api/v1/cases", &person()).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{case}/consents"),
                &consent(
                    "person",
                    &["identity", "contact", "exploitation", "health"],
                    &["health", "legal_aid"]
                )
            )
            .status,
        201
    );

    // The clinic accepts and reads identity; then the person withdraws consent.
    let to_clinic = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/referrals"),
        &referral(
            clinic.as_str(),
            &["health"],
            &["identity", "health"],
            "high",
        ),
    );
    assert_eq!(to_clinic.status, 201, "{}", to_clinic.text());
    let clinic_referral = to_clinic.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .post(
                Some(&n),
                &format!("/api/v1/referrals/{clinic_referral}/accept"),
                &json!({})
            )
            .status,
        200
    );
    assert_eq!(readable(&server, &n, &case, "identity").1, ["identity"]);

    // Legal aid accepts too, then the shelter withdraws that referral: gone at once.
    let to_lawyers = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/referrals"),
        &referral(
            lawyers.as_str(),
            &["legal"],
            &["identity", "exploitation"],
            "normal",
        ),
    );
    assert_eq!(to_lawyers.status, 201, "{}", to_lawyers.text());
    let lawyer_referral = to_lawyers.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .post(
                Some(&l),
                &format!("/api/v1/referrals/{lawyer_referral}/accept"),
                &json!({})
            )
            .status,
        200
    );
    assert_eq!(
        readable(&server, &l, &case, "identity,exploitation").1,
        ["exploitation", "identity"]
    );
    // The receiver may not withdraw; the sender may.
    assert_eq!(
        server
            .post(
                Some(&l),
                &format!("/api/v1/referrals/{lawyer_referral}/withdraw"),
                &json!({})
            )
            .status,
        403
    );
    let withdrawn = server.post(
        Some(&w),
        &format!("/api/v1/referrals/{lawyer_referral}/withdraw"),
        &json!({}),
    );
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text());
    assert_eq!(withdrawn.json()["state"], "withdrawn");
    assert_eq!(
        readable(&server, &l, &case, "identity").0,
        404,
        "withdrawal ends access"
    );

    // Consent withdrawn: the clinic still holds the referral but sees no personal group.
    let withdrawal = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/consents/withdrawal"),
        &json!({"given_by": "person", "method": "verbal"}),
    );
    assert_eq!(withdrawal.status, 201, "{}", withdrawal.text());
    let (status, groups) = readable(&server, &n, &case, "identity,health");
    assert_eq!(status, 200, "the summary stays");
    assert!(
        groups.is_empty(),
        "no group after consent was withdrawn: {groups:?}"
    );
    // And no new referral can be sent on it.
    let again = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/referrals"),
        &referral(lawyers.as_str(), &["legal"], &["identity"], "normal"),
    );
    assert_eq!(again.status, 409);
    assert!(
        again.json()["detail"]
            .as_str()
            .unwrap()
            .contains("no consent is in force")
    );

    // The case's timeline: both referrals, oldest first, with their steps.
    let timeline = server.get_as(&w, &format!("/api/v1/cases/{case}/referrals"));
    assert_eq!(timeline.status, 200, "{}", timeline.text());
    let items = timeline.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], clinic_referral.as_str());
    assert_eq!(items[1]["state"], "withdrawn");
    // The clinic sees only its own referral in it.
    let theirs = server
        .get_as(&n, &format!("/api/v1/cases/{case}/referrals"))
        .json();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1, "{theirs}");
}

both_engines!(access_ends_with_consent_withdrawal_and_with_the_referral);

fn children_and_cross_border_referrals_need_their_own_consent(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let kenya = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let kenyan = seed::account_in(&db, &kenya, Role::CaseWorker);
    let (w, k) = (login(&server, &worker), login(&server, &kenyan));
    let created = server.post(Some(&w), "/api/v1/cases", &person());
    let case = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{case}/consents"),
                &consent("person", &["identity", "contact"], &["shelter", "abroad"])
            )
            .status,
        201
    );

    // Her age is re-assessed: possibly under 18. Her own consent no longer carries a referral.
    let etag = server
        .get_as(&w, &format!("/api/v1/cases/{case}"))
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
    let patched = server.send(move |c, base| {
        c.patch(format!("{base}{path}"))
            .bearer_auth(w.clone())
            .header("If-Match", etag)
            .json(&change)
    });
    assert_eq!(patched.status, 200, "{}", patched.text());
    let w = login(&server, &worker);
    let child = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/referrals"),
        &referral(
            kenya.as_str(),
            &["return_and_reintegration"],
            &["identity"],
            "normal",
        ),
    );
    assert_eq!(child.status, 409);
    assert!(
        child.json()["detail"]
            .as_str()
            .unwrap()
            .contains("guardian"),
        "{}",
        child.text()
    );

    // A best-interest basis for shelters only: abroad is still missing.
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{case}/consents"),
                &consent("best_interest", &["identity", "contact"], &["shelter"])
            )
            .status,
        201
    );
    let abroad = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/referrals"),
        &referral(
            kenya.as_str(),
            &["return_and_reintegration"],
            &["identity"],
            "normal",
        ),
    );
    assert_eq!(abroad.status, 409);
    assert!(
        abroad.json()["detail"].as_str().unwrap().contains("(KE)"),
        "{}",
        abroad.text()
    );

    // With transfer abroad on the basis, the Kenyan shelter gets it and, once it accepts,
    // sees identity.
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{case}/consents"),
                &consent(
                    "best_interest",
                    &["identity", "contact"],
                    &["shelter", "abroad"]
                )
            )
            .status,
        201
    );
    let sent = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/referrals"),
        &referral(
            kenya.as_str(),
            &["return_and_reintegration"],
            &["identity"],
            "normal",
        ),
    );
    assert_eq!(sent.status, 201, "{}", sent.text());
    assert_eq!(sent.json()["cross_border"], true);
    assert_eq!(sent.json()["person"]["child"], true);
    let id = sent.json()["id"].as_str().unwrap().to_owned();
    // Declining needs a reason from the vocabulary.
    assert_eq!(
        server
            .post(
                Some(&k),
                &format!("/api/v1/referrals/{id}/decline"),
                &json!({"reason": "busy"})
            )
            .status,
        422
    );
    assert_eq!(
        server
            .post(
                Some(&k),
                &format!("/api/v1/referrals/{id}/accept"),
                &json!({})
            )
            .status,
        200
    );
    assert_eq!(
        readable(&server, &k, &case, "identity,contact").1,
        ["identity"]
    );
}

both_engines!(children_and_cross_border_referrals_need_their_own_consent);

fn unanswered_referrals_expire_and_coordinators_hear_once(db: TestDb) {
    let server = TestServer::start_with(&db, &[("TUMAINI_DEADLINE_SCAN_SECS", "1")], |_| {});
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let ngo = seed::organisation(&db, OrganisationKind::Ngo);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let ngo_worker = seed::account_in(&db, &ngo, Role::CaseWorker);
    let ngo_head = seed::account_in(&db, &ngo, Role::Supervisor);
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    let quiet = seed::account_in(&db, &office, Role::Coordinator);
    let (w, nw, nh) = (
        login(&server, &worker),
        login(&server, &ngo_worker),
        login(&server, &ngo_head),
    );
    let c = mfa_enrolled_token(&server, &coordinator.email);
    let q = mfa_enrolled_token(&server, &quiet.email);

    // One coordinator switches escalations off; unknown kinds are refused.
    let settings = server.call(
        "PUT",
        &q,
        "/api/v1/auth/notifications",
        Some(&json!({"referral_overdue": false})),
    );
    assert_eq!(settings.status, 200, "{}", settings.text());
    assert!(
        settings.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["kind"] == "referral_overdue" && i["on"] == false)
    );
    assert_eq!(
        server
            .call(
                "PUT",
                &q,
                "/api/v1/auth/notifications",
                Some(&json!({"everything": false}))
            )
            .status,
        422
    );
    assert_eq!(
        server.get_as(&c, "/api/v1/auth/notifications").json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["on"] == true)
            .count(),
        // Every kind, the follow-up reminder included.
        5
    );

    let case = server.post(Some(&w), "/api/v1/cases", &person()).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{case}/consents"),
                &consent("person", &["identity"], &["ngo"])
            )
            .status,
        201
    );
    let sent = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/referrals"),
        &referral(ngo.as_str(), &["livelihood"], &["identity"], "normal"),
    );
    assert_eq!(sent.status, 201, "{}", sent.text());
    let id = sent.json()["id"].as_str().unwrap().to_owned();
    let reference = sent.json()["reference"].as_str().unwrap().to_owned();

    // The views: the NGO's inbox, the shelter's outbox, the national picture.
    let inbox = server.get_as(&nw, "/api/v1/referrals?box=inbox").json();
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1, "{inbox}");
    assert_eq!(
        server.get_as(&nw, "/api/v1/referrals?box=outbox").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        server
            .get_as(&w, "/api/v1/referrals?box=outbox&state=sent")
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        server
            .get_as(&w, "/api/v1/referrals?box=outbox&state=accepted")
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(server.get_as(&w, "/api/v1/referrals?limit=0").status, 400);

    // The deadline passes unanswered.
    diesel::update(referrals::table.filter(referrals::id.eq(&id)))
        .set((
            referrals::created_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::hours(73)),
            referrals::respond_by.eq(chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1)),
        ))
        .execute(&mut db.conn())
        .unwrap();
    let overview = server.get_as(&c, "/api/v1/referrals/overview");
    assert_eq!(overview.status, 200, "{}", overview.text());
    let waited = std::time::Instant::now() + Duration::from_secs(20);
    let state = loop {
        let state: String = referrals::table
            .filter(referrals::id.eq(&id))
            .select(referrals::state)
            .first(&mut db.conn())
            .unwrap();
        if state == "expired" || std::time::Instant::now() > waited {
            break state;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(state, "expired");
    let late = server.post(
        Some(&nw),
        &format!("/api/v1/referrals/{id}/accept"),
        &json!({}),
    );
    assert_eq!(late.status, 409, "{}", late.text());
    assert_eq!(
        tumaini_api::jobs::deadlines::scan(
            &mut db.conn(),
            chrono::Utc::now().naive_utc(),
            "http://x",
            &server.audit_events(),
        )
        .unwrap(),
        0,
        "once"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let mails = server.mail_files();
    let escalations: Vec<&String> = mails
        .iter()
        .filter(|m| m.contains("went unanswered"))
        .collect();
    assert_eq!(
        escalations.len(),
        1,
        "one coordinator, once; the other switched it off: {escalations:?}"
    );
    assert!(escalations[0].contains(&coordinator.email) && escalations[0].contains(&reference));
    assert!(
        mails
            .iter()
            .any(|m| m.contains(&worker.email) && m.contains(&reference)),
        "the sender hears it expired"
    );
    for mail in &mails {
        for value in PERSONAL {
            assert!(!mail.contains(value), "{value} in an e-mail");
        }
    }
    assert_eq!(
        audit::with_action(&mut db.conn(), "referral.expired")
            .unwrap()
            .len(),
        1
    );

    // The national picture: the NGO's row shows one expired referral; no personal data.
    let overview = server.get_as(&c, "/api/v1/referrals/overview").json();
    let row = overview["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["organisation"]["id"] == ngo.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["received"], 1);
    assert_eq!(row["expired"], 1);
    assert_eq!(row["open"], 0);
    let text = overview.to_string();
    for value in PERSONAL {
        assert!(!text.contains(value));
    }
    // A supervisor sees their own organisation's row; a case worker may not read it.
    let own = server.get_as(&nh, "/api/v1/referrals/overview").json();
    assert!(
        own["organisations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["organisation"]["id"] == ngo.as_str()),
        "{own}"
    );
    assert_eq!(own["organisations"].as_array().unwrap().len(), 1);
    assert_eq!(server.get_as(&nw, "/api/v1/referrals/overview").status, 403);
    // A coordinator reads the referral, but never its reason.
    let as_coordinator = server.get_as(&c, &format!("/api/v1/referrals/{id}")).json();
    assert_eq!(as_coordinator["state"], "expired");
    assert!(as_coordinator.get("reason").is_none(), "{as_coordinator}");

    // A new referral answered in time counts towards the mean time to answer.
    let again = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/referrals"),
        &referral(ngo.as_str(), &["livelihood"], &["identity"], "emergency"),
    );
    assert_eq!(again.status, 201, "{}", again.text());
    let again = again.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .post(
                Some(&nh),
                &format!("/api/v1/referrals/{again}/decline"),
                &json!({"reason": "no_capacity"})
            )
            .status,
        200
    );
    let overview = server.get_as(&c, "/api/v1/referrals/overview").json();
    let row = overview["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["organisation"]["id"] == ngo.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["declined"], 1);
    assert!(row["mean_hours_to_answer"].as_f64().unwrap() >= 0.0);
}

both_engines!(unanswered_referrals_expire_and_coordinators_hear_once);
