//! The web console's referral pages through real HTTP on both engines: a first responder finds
//! a shelter's service in the directory and refers a case to it through the console, and the
//! shelter's case worker accepts it through the console (the API then shows it accepted and the
//! accepter assigned, and the audit trail has both steps); a referral the consent does not
//! cover is refused with the plain-words explanation (in English and Swahili) and nothing is
//! created; a decline needs a reason and the sender may withdraw; another organisation's
//! referral and case answer the console's 404; a form without the CSRF token is refused with
//! 403 and changes nothing.

use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::country::CountryCode;
use tumaini_db::ids::OrgId;
use tumaini_db::models::{ListingTerms, ServiceListing, audit};
use tumaini_db::schema::{case_assignments, referrals};
use tumaini_db::vocabulary::{Capacity, OrganisationKind, Role, ServesSex, ServiceType};
use tumaini_tests::console::{ConsoleBrowser, hidden_field};
use tumaini_tests::seed::{self, Account};
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::token;

/// The reason a referral gives: personal, so never in a URL or a log.
const REASON: &str = "She needs a bed tonight; she speaks Runyankole.";

fn referral_count(db: &TestDb) -> i64 {
    referrals::table.count().get_result(&mut db.conn()).unwrap()
}

fn signed_in<'s>(server: &'s TestServer, account: &Account) -> ConsoleBrowser<'s> {
    let mut browser = ConsoleBrowser::new(server);
    let landed = browser.sign_in(&account.email, seed::PASSWORD, None);
    assert_eq!(landed.status, 200, "{}", landed.text());
    browser
}

/// Lists `service` of `organisation` in the directory, with room, for adults and children.
fn list_service(db: &TestDb, organisation: &OrgId, service: ServiceType) {
    ServiceListing::publish(
        &mut db.conn(),
        organisation,
        service,
        &ListingTerms {
            country: "UG".parse::<CountryCode>().unwrap(),
            region: "Kampala".to_owned(),
            serves_adults: true,
            serves_children: true,
            serves_sex: ServesSex::Any,
            capacity: Capacity::Available,
        },
    )
    .unwrap();
}

/// A case registered through the API by `account`, with the consent given (none if `None`).
fn case_with_consent(server: &TestServer, api: &str, recipients: Option<&[&str]>) -> String {
    let created = server.post(
        Some(api),
        "/api/v1/cases",
        &json!({
            "summary": {
                "sex": "female", "age_band": "24_26", "citizenship": "UG",
                "exploitation_country": "UG", "region": "UG-102", "encountered_on": "2026-11-20",
                "exploitation_types": ["forced_labour"]
            },
            "groups": {"identity": {"given_names": "Nyakato", "family_name": "Atwongyeire"}}
        }),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let case = created.json()["id"].as_str().unwrap().to_owned();
    if let Some(recipients) = recipients {
        let consented = server.post(
            Some(api),
            &format!("/api/v1/cases/{case}/consents"),
            &json!({
                "given_by": "person", "method": "written",
                "purposes": ["assistance", "referral"], "groups": ["identity", "contact"],
                "recipients": recipients
            }),
        );
        assert_eq!(consented.status, 201, "{}", consented.text());
    }
    case
}

/// Sends the "Refer here" form of the last page read (with its CSRF token), without following
/// the redirect.
fn refer(
    browser: &mut ConsoleBrowser<'_>,
    case: &str,
    to: &OrgId,
    groups: &[&str],
) -> tumaini_tests::TestResponse {
    let csrf = hidden_field(&browser.last_page, "csrf").unwrap();
    let to = to.to_string();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("to_organisation_id", to.as_str()),
        ("services", "shelter"),
        ("urgency", "high"),
        ("reason", REASON),
    ];
    for group in groups {
        fields.push(("groups", group));
    }
    browser.post_raw(&format!("/console/cases/{case}/refer"), &fields)
}

fn referral_of(server: &TestServer, api: &str, case: &str) -> Value {
    let listed = server.get_as(api, &format!("/api/v1/cases/{case}/referrals"));
    assert_eq!(listed.status, 200, "{}", listed.text());
    let items = listed.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{items:?}");
    items[0].clone()
}

fn a_first_responder_refers_and_the_shelter_accepts_through_the_console(db: TestDb) {
    let server = TestServer::start(&db);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    list_service(&db, &shelter, ServiceType::Shelter);
    let responder = seed::account_in(&db, &police, Role::FirstResponder);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let fr = token(&server, &responder.email).0;
    let case = case_with_consent(&server, &fr, Some(&["shelter"]));

    // A first visit searches for this person: an adult woman.
    let mut browser = signed_in(&server, &responder);
    let first = browser.visit(&format!("/console/cases/{case}/refer"));
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.text();
    assert!(
        first.contains("<option value=\"adult\" selected>"),
        "{first}"
    );
    assert!(
        first.contains("<option value=\"female\" selected>"),
        "{first}"
    );
    assert!(first.contains("Refer here"), "{first}");

    // The responder finds the shelter in the directory, next to the consent in force.
    let page = browser.visit(&format!(
        "/console/cases/{case}/refer?service=shelter&region=Kampala&for=adult&with_room=true"
    ));
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("Refer here"), "{html}");
    assert!(html.contains(&format!("name=\"to_organisation_id\" value=\"{shelter}\"")));
    assert!(
        html.contains("Shelters"),
        "the consent's recipients: {html}"
    );
    assert!(html.contains("name=\"groups\" value=\"identity\""));
    assert_eq!(referral_count(&db), 0);

    let sent = refer(&mut browser, &case, &shelter, &["identity"]);
    assert_eq!(sent.status, 303, "{}", sent.text());
    assert_eq!(
        sent.header("location"),
        Some(format!("/console/cases/{case}").as_str())
    );
    let referral = referral_of(&server, &fr, &case);
    assert_eq!(referral["state"], "sent");
    assert_eq!(referral["to"]["id"], shelter.to_string());
    assert_eq!(referral["groups"], json!(["identity"]));
    assert_eq!(referral["urgency"], "high");
    let id = referral["id"].as_str().unwrap().to_owned();
    let reference = referral["reference"].as_str().unwrap().to_owned();
    let case_reference = referral["case_reference"].as_str().unwrap();
    assert!(
        first.contains(&format!("<h1>Refer case {case_reference}</h1>")),
        "{first}"
    );

    // The sender's outbox lists it; the referral's page offers withdrawal, not acceptance.
    let outbox = browser.visit("/console/referrals?box=outbox");
    assert_eq!(outbox.status, 200);
    assert!(outbox.text().contains(&reference));
    let own = browser.visit(&format!("/console/referrals/{id}"));
    assert_eq!(own.status, 200);
    assert!(
        own.text()
            .contains(&format!("/console/referrals/{id}/withdraw"))
    );
    assert!(
        !own.text()
            .contains(&format!("/console/referrals/{id}/accept"))
    );

    // The shelter's case worker finds it in the inbox, reads the reason and accepts it.
    let mut shelter_browser = signed_in(&server, &worker);
    let inbox = shelter_browser.visit("/console/referrals");
    assert_eq!(inbox.status, 200);
    assert!(inbox.text().contains(&reference), "{}", inbox.text());
    assert!(inbox.text().contains(&format!("/console/referrals/{id}")));
    let page = shelter_browser.visit(&format!("/console/referrals/{id}"));
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains(REASON.split(';').next().unwrap()));
    assert!(
        page.text()
            .contains(&format!("/console/referrals/{id}/decline"))
    );
    let accepted = shelter_browser.submit(&format!("/console/referrals/{id}/accept"), &[]);
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert!(accepted.text().contains("Accepted"), "{}", accepted.text());
    assert!(
        !accepted
            .text()
            .contains(&format!("/console/referrals/{id}/accept"))
    );
    assert!(
        accepted
            .text()
            .contains(&format!("/console/referrals/{id}/start"))
    );

    // The API agrees; the accepter works on the case now; both steps are audited.
    let sw = token(&server, &worker.email).0;
    let read = server.get_as(&sw, &format!("/api/v1/referrals/{id}"));
    assert_eq!(read.json()["state"], "accepted", "{}", read.text());
    let mut conn = db.conn();
    let assigned: i64 = case_assignments::table
        .filter(case_assignments::case_id.eq(&case))
        .filter(case_assignments::user_id.eq(worker.id.to_string()))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(assigned, 1, "whoever accepts works on the case");
    let created = audit::with_action(&mut conn, "referral.create").unwrap();
    assert!(
        created.iter().any(|e| e.outcome == "success"
            && e.actor_user_id.as_deref() == Some(responder.id.to_string().as_str())),
        "{created:?}"
    );
    let accepts = audit::with_action(&mut conn, "referral.accept").unwrap();
    assert!(
        accepts.iter().any(|e| e.outcome == "success"
            && e.actor_user_id.as_deref() == Some(worker.id.to_string().as_str())
            && e.resource_id.as_deref() == Some(id.as_str())),
        "{accepts:?}"
    );
    // Nothing personal in an address the console used.
    assert!(!browser.set_cookies.iter().any(|c| c.contains("Nyakato")));
}

both_engines!(a_first_responder_refers_and_the_shelter_accepts_through_the_console);

fn a_referral_the_consent_does_not_cover_is_explained_and_not_created(db: TestDb) {
    let server = TestServer::start(&db);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    list_service(&db, &shelter, ServiceType::Shelter);
    let responder = seed::account_in(&db, &police, Role::FirstResponder);
    let fr = token(&server, &responder.email).0;
    // Consent to share with NGOs only: not with a shelter.
    let case = case_with_consent(&server, &fr, Some(&["ngo"]));

    let mut browser = signed_in(&server, &responder);
    let page = browser.visit(&format!("/console/cases/{case}/refer?service=shelter"));
    assert_eq!(page.status, 200);
    let refused = refer(&mut browser, &case, &shelter, &["identity"]);
    assert_eq!(refused.status, 409, "{}", refused.text());
    let html = refused.text();
    assert!(
        html.contains(
            "The person has not agreed to share their information with a shelter. Record their consent first."
        ),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"/console/cases/{case}/consent\"")));
    assert!(html.contains("role=\"alert\""));
    // The form is shown again as it was filled in, next to the explanation.
    assert!(html.contains(REASON), "{html}");
    assert!(!html.contains("urn:tumaini"), "no problem document: {html}");
    assert_eq!(referral_count(&db), 0);

    // In Swahili too.
    browser.accept_language = "sw".to_owned();
    browser.visit(&format!("/console/cases/{case}/refer?service=shelter"));
    let refused = refer(&mut browser, &case, &shelter, &["identity"]);
    assert_eq!(refused.status, 409);
    assert!(
        refused
            .text()
            .contains("hajakubali taarifa zake zishirikishwe na makazi salama"),
        "{}",
        refused.text()
    );
    assert_eq!(referral_count(&db), 0);

    // No consent at all; and a group the consent does not cover.
    browser.accept_language = "en".to_owned();
    let bare = case_with_consent(&server, &fr, None);
    browser.visit(&format!("/console/cases/{bare}/refer?service=shelter"));
    assert!(browser.last_page.contains("No consent is in force"));
    let refused = refer(&mut browser, &bare, &shelter, &[]);
    assert_eq!(refused.status, 409);
    assert!(
        refused
            .text()
            .contains("Record their consent to be referred first")
    );
    let shelters = case_with_consent(&server, &fr, Some(&["shelter"]));
    browser.visit(&format!("/console/cases/{shelters}/refer?service=shelter"));
    let refused = refer(&mut browser, &shelters, &shelter, &["identity", "health"]);
    assert_eq!(refused.status, 409);
    assert!(
        refused
            .text()
            .contains("The person has not agreed to share: Health."),
        "{}",
        refused.text()
    );
    // An empty reason is named next to its field.
    let csrf = hidden_field(&browser.last_page, "csrf").unwrap();
    let shelter_id = shelter.to_string();
    let empty = browser.post_raw(
        &format!("/console/cases/{shelters}/refer"),
        &[
            ("csrf", csrf.as_str()),
            ("to_organisation_id", shelter_id.as_str()),
            ("services", "shelter"),
            ("urgency", "normal"),
            ("reason", " "),
        ],
    );
    assert_eq!(empty.status, 422, "{}", empty.text());
    assert!(empty.text().contains("Write why you refer the person"));
    assert_eq!(referral_count(&db), 0);
}

both_engines!(a_referral_the_consent_does_not_cover_is_explained_and_not_created);

fn a_decline_needs_a_reason_and_the_sender_may_withdraw(db: TestDb) {
    let server = TestServer::start(&db);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    list_service(&db, &shelter, ServiceType::Shelter);
    let responder = seed::account_in(&db, &police, Role::FirstResponder);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let fr = token(&server, &responder.email).0;
    let first = case_with_consent(&server, &fr, Some(&["shelter"]));
    let second = case_with_consent(&server, &fr, Some(&["shelter"]));
    let mut browser = signed_in(&server, &responder);
    for case in [&first, &second] {
        browser.visit(&format!("/console/cases/{case}/refer?service=shelter"));
        assert_eq!(refer(&mut browser, case, &shelter, &[]).status, 303);
    }
    let declined = referral_of(&server, &fr, &first)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let withdrawn = referral_of(&server, &fr, &second)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut shelter_browser = signed_in(&server, &worker);
    shelter_browser.visit(&format!("/console/referrals/{declined}"));
    let no_reason = shelter_browser.submit(&format!("/console/referrals/{declined}/decline"), &[]);
    assert_eq!(no_reason.status, 422, "{}", no_reason.text());
    assert!(
        no_reason.text().contains("Choose why you decline."),
        "{}",
        no_reason.text()
    );
    let done = shelter_browser.submit(
        &format!("/console/referrals/{declined}/decline"),
        &[("reason", "no_capacity")],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("No capacity now"), "{}", done.text());
    let read = server.get_as(&fr, &format!("/api/v1/referrals/{declined}"));
    assert_eq!(read.json()["state"], "declined");
    assert_eq!(read.json()["decline_reason"], "no_capacity");

    // The sender withdraws the other; a second try finds it no longer possible.
    browser.visit(&format!("/console/referrals/{withdrawn}"));
    let done = browser.submit(&format!("/console/referrals/{withdrawn}/withdraw"), &[]);
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(
        server
            .get_as(&fr, &format!("/api/v1/referrals/{withdrawn}"))
            .json()["state"],
        "withdrawn"
    );
    let again = browser.submit(&format!("/console/referrals/{withdrawn}/withdraw"), &[]);
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(again.text().contains("no longer possible"));
}

both_engines!(a_decline_needs_a_reason_and_the_sender_may_withdraw);

fn another_organisation_sees_404_and_a_form_without_its_token_changes_nothing(db: TestDb) {
    let server = TestServer::start(&db);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    list_service(&db, &shelter, ServiceType::Shelter);
    let responder = seed::account_in(&db, &police, Role::FirstResponder);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let nurse = seed::account_in(&db, &clinic, Role::CaseWorker);
    let fr = token(&server, &responder.email).0;
    let case = case_with_consent(&server, &fr, Some(&["shelter"]));
    let mut browser = signed_in(&server, &responder);
    browser.visit(&format!("/console/cases/{case}/refer?service=shelter"));

    // Without the CSRF token: 403, no referral.
    let shelter_id = shelter.to_string();
    let forged = browser.post_raw(
        &format!("/console/cases/{case}/refer"),
        &[
            ("to_organisation_id", shelter_id.as_str()),
            ("services", "shelter"),
            ("urgency", "high"),
            ("reason", REASON),
        ],
    );
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert_eq!(referral_count(&db), 0);
    browser.visit(&format!("/console/cases/{case}/refer?service=shelter"));
    assert_eq!(refer(&mut browser, &case, &shelter, &[]).status, 303);
    let id = referral_of(&server, &fr, &case)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another organisation: the referral, its steps and the case's refer page are not there.
    let mut outsider = signed_in(&server, &nurse);
    let page = outsider.visit(&format!("/console/referrals/{id}"));
    assert_eq!(page.status, 404, "{}", page.text());
    assert!(page.text().contains("Not found"));
    assert!(!page.text().contains(REASON));
    assert_eq!(
        outsider
            .visit(&format!("/console/cases/{case}/refer"))
            .status,
        404
    );
    outsider.visit("/console/referrals");
    let step = outsider.submit(&format!("/console/referrals/{id}/accept"), &[]);
    assert_eq!(step.status, 404, "{}", step.text());
    let inbox = outsider.visit("/console/referrals");
    assert!(!inbox.text().contains(&id));

    // The receiver without the token: 403, still waiting for an answer.
    let mut receiver = signed_in(&server, &worker);
    receiver.visit(&format!("/console/referrals/{id}"));
    let forged = receiver.post_raw(&format!("/console/referrals/{id}/accept"), &[]);
    assert_eq!(forged.status, 403, "{}", forged.text());
    let wrong = receiver.post_raw(
        &format!("/console/referrals/{id}/accept"),
        &[("csrf", "not-the-token")],
    );
    assert_eq!(wrong.status, 403);
    let sw = token(&server, &worker.email).0;
    assert_eq!(
        server
            .get_as(&sw, &format!("/api/v1/referrals/{id}"))
            .json()["state"],
        "sent"
    );
    assert!(
        audit::with_action(&mut db.conn(), "referral.accept")
            .unwrap()
            .iter()
            .all(|e| e.outcome != "success")
    );
}

both_engines!(another_organisation_sees_404_and_a_form_without_its_token_changes_nothing);
