//! The web console's case pages through real HTTP on both engines: a case worker registers a
//! person through the console (and the API then finds the values), reads the case with a
//! purpose (audited with it), records consent (the words to read aloud first), screening and
//! assistance; another organisation's case answers the console's 404; a form without the CSRF
//! token is refused and changes nothing; a registration with a bad value shows the error next
//! to its field and registers nothing.

#![expect(clippy::unwrap_used, reason = "tests")]

use diesel::prelude::*;
use serde_json::json;
use tumaini_db::schema::{audit_events, cases};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::console::{ConsoleBrowser, hidden_field};
use tumaini_tests::seed::{self, Account};
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{next_code, token};

/// The registration form as a person fills it in.
const REGISTRATION: [(&str, &str); 13] = [
    ("sex", "female"),
    ("age_band", "21_23"),
    ("citizenship", "UG"),
    ("exploitation_country", "KE"),
    ("region", "UG-202"),
    ("encountered_on", "2026-11-20"),
    ("exploitation_types", "forced_labour"),
    ("exploitation_types", "debt_bondage"),
    ("means_of_control", "withholds_documents"),
    ("given_names", "Nakato"),
    ("family_name", "Namubiru"),
    ("phones", "+256 700 000 001"),
    ("current_location", "the shelter in Busia"),
];

fn count_cases(db: &TestDb) -> i64 {
    cases::table.count().get_result(&mut db.conn()).unwrap()
}

fn signed_in<'s>(server: &'s TestServer, account: &Account) -> ConsoleBrowser<'s> {
    let mut browser = ConsoleBrowser::new(server);
    let landed = browser.sign_in(&account.email, seed::PASSWORD, None);
    assert_eq!(landed.status, 200, "{}", landed.text());
    browser
}

/// Registers through the console and returns the new case's id.
fn register(browser: &mut ConsoleBrowser<'_>) -> String {
    let form = browser.visit("/console/cases/new");
    assert_eq!(form.status, 200);
    let page = browser.submit("/console/cases/new", &REGISTRATION);
    assert_eq!(page.status, 200, "{}", page.text());
    let text = page.text();
    assert!(text.contains("consent"), "the case page: {text}");
    let start = text.find("href=\"/console/cases/").unwrap() + "href=\"/console/cases/".len();
    let end = text[start..].find(['/', '?', '"']).unwrap() + start;
    text[start..end].to_owned()
}

fn a_case_worker_does_the_daily_work_through_the_console(db: TestDb) {
    let server = TestServer::start(&db);
    let org = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &org, Role::CaseWorker);
    let mut browser = signed_in(&server, &worker);

    let list = browser.visit("/console/cases");
    assert_eq!(list.status, 200);
    assert!(
        list.text().contains("href=\"/console/cases/new\""),
        "a case worker may register"
    );

    let id = register(&mut browser);
    let (api, _) = token(&server, &worker.email);
    let read = server.get_as(
        &api,
        &format!("/api/v1/cases/{id}?groups=identity,contact&purpose=case_management"),
    );
    assert_eq!(read.status, 200);
    let case = read.json();
    assert_eq!(case["sex"], "female");
    assert_eq!(case["region"], "UG-202");
    assert_eq!(
        case["exploitation_types"],
        json!(["forced_labour", "debt_bondage"])
    );
    assert_eq!(case["groups"]["identity"]["family_name"], "Namubiru");
    assert_eq!(
        case["groups"]["contact"]["phones"],
        json!(["+256 700 000 001"])
    );
    assert_eq!(
        case["groups"]["contact"]["current_location"],
        "the shelter in Busia"
    );
    let reference = case["reference"].as_str().unwrap().to_owned();

    // The list and its search by reference.
    let found = browser.visit(&format!("/console/cases?reference={reference}"));
    assert_eq!(found.status, 200);
    assert!(found.text().contains(&reference));

    // The summary without a purpose; the groups with one, audited with it.
    let page = browser.visit(&format!("/console/cases/{id}"));
    assert_eq!(page.status, 200);
    assert!(
        !page.text().contains("Namubiru"),
        "no personal group without a purpose"
    );
    let page = browser.visit(&format!("/console/cases/{id}?purpose=assistance"));
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Namubiru"));
    assert!(
        page.text()
            .contains(&format!("/console/cases/{id}/consent?purpose=assistance"))
    );
    let audited: i64 = audit_events::table
        .filter(audit_events::action.eq("case.read"))
        .filter(audit_events::resource_id.eq(&id))
        .filter(audit_events::purpose.eq("assistance"))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(audited, 1, "one read per page view, with its purpose");

    // Consent: the words to read aloud first, then the record.
    let choices = "given_by=person&method=verbal&purposes=assistance&purposes=referral\
                   &groups=identity&recipients=shelter&recipients=health&purpose=assistance";
    let preview = browser.visit(&format!("/console/cases/{id}/consent?{choices}"));
    assert_eq!(preview.status, 200);
    let text = preview.text();
    assert!(text.contains("read-aloud"), "{text}");
    assert!(text.contains("You can say no"), "{text}");
    let done = browser.submit(
        &format!("/console/cases/{id}/consent"),
        &[
            ("given_by", "person"),
            ("method", "verbal"),
            ("purposes", "assistance"),
            ("purposes", "referral"),
            ("groups", "identity"),
            ("recipients", "shelter"),
            ("recipients", "health"),
            ("details", "interpreter present"),
            ("purpose", "assistance"),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let consents = server
        .get_as(&api, &format!("/api/v1/cases/{id}/consents"))
        .json();
    let consents = consents.to_string();
    assert!(
        consents.contains("referral") && consents.contains("health"),
        "{consents}"
    );

    // Screening with the indicator list.
    let form = browser.visit(&format!("/console/cases/{id}/screening"));
    assert_eq!(form.status, 200);
    assert!(form.text().contains("value=\"ex_excessive_hours\""));
    let done = browser.submit(
        &format!("/console/cases/{id}/screening"),
        &[
            ("indicators", "dr_nature_of_job"),
            ("indicators", "ex_excessive_hours"),
            ("indicators", "cd_confiscation_of_documents"),
            ("notes", "met at the bus park"),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let screenings = server
        .get_as(&api, &format!("/api/v1/cases/{id}/screenings"))
        .json();
    assert!(
        screenings.to_string().contains("screened_at"),
        "{screenings}"
    );

    // Assistance.
    let form = browser.visit(&format!("/console/cases/{id}/assistance"));
    assert_eq!(form.status, 200);
    let done = browser.submit(
        &format!("/console/cases/{id}/assistance"),
        &[
            ("service_type", "shelter"),
            ("status", "in_progress"),
            ("provided_on", "2026-11-21"),
            ("details", "a bed at the shelter"),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let assistance = server
        .get_as(&api, &format!("/api/v1/cases/{id}/assistance"))
        .json();
    assert!(
        assistance.to_string().contains("a bed at the shelter"),
        "{assistance}"
    );

    // A note, and a closure request.
    browser.visit(&format!("/console/cases/{id}/notes"));
    let done = browser.submit(
        &format!("/console/cases/{id}/notes"),
        &[("text", "settled in well")],
    );
    assert_eq!(done.status, 200);
    let done = browser.submit(
        &format!("/console/cases/{id}/status"),
        &[
            ("change", "request_closure"),
            ("reason", "services_completed"),
        ],
    );
    assert_eq!(done.status, 200);
    let case = server.get_as(&api, &format!("/api/v1/cases/{id}")).json();
    assert_eq!(case["closure_pending"], true, "{case}");
}

fn another_organisations_case_answers_not_found(db: TestDb) {
    let server = TestServer::start(&db);
    let ours = seed::organisation(&db, OrganisationKind::Shelter);
    let theirs = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &ours, Role::CaseWorker);
    let other = seed::account_in(&db, &theirs, Role::CaseWorker);
    let mut theirs_browser = signed_in(&server, &other);
    let id = register(&mut theirs_browser);

    let mut browser = signed_in(&server, &worker);
    for path in [
        format!("/console/cases/{id}"),
        format!("/console/cases/{id}?purpose=assistance"),
        format!("/console/cases/{id}/consent"),
        format!("/console/cases/{id}/screening"),
        format!("/console/cases/{id}/assistance"),
    ] {
        let page = browser.visit(&path);
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html"),
            "the console's own 404 page: {path}"
        );
        assert!(!page.text().contains("Namubiru"));
    }
    browser.visit("/console/cases");
    let refused = browser.submit(&format!("/console/cases/{id}/notes"), &[("text", "x")]);
    assert_eq!(refused.status, 404);
    assert!(browser.visit("/console/cases").status == 200);
    assert!(!browser.last_page.contains(&id), "not in the list either");
}

fn a_form_without_its_token_changes_nothing(db: TestDb) {
    let server = TestServer::start(&db);
    let org = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &org, Role::CaseWorker);
    let mut browser = signed_in(&server, &worker);
    browser.visit("/console/cases/new");
    let refused = browser.post_raw("/console/cases/new", &REGISTRATION);
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(count_cases(&db), 0);

    let id = register(&mut browser);
    let mut forged: Vec<(&str, &str)> = vec![("csrf", "not-the-token")];
    forged.extend([
        ("change", "request_closure"),
        ("reason", "services_completed"),
    ]);
    let refused = browser.post_raw(&format!("/console/cases/{id}/status"), &forged);
    assert_eq!(refused.status, 403);
    let (api, _) = token(&server, &worker.email);
    let case = server.get_as(&api, &format!("/api/v1/cases/{id}")).json();
    assert_eq!(case["closure_pending"], false);
    assert_eq!(count_cases(&db), 1);
}

fn a_bad_value_is_shown_next_to_its_field(db: TestDb) {
    let server = TestServer::start(&db);
    let org = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &org, Role::CaseWorker);
    let mut browser = signed_in(&server, &worker);
    browser.visit("/console/cases/new");
    let mut fields = REGISTRATION.to_vec();
    for field in &mut fields {
        if field.0 == "region" {
            field.1 = "Kisenyi market";
        }
    }
    let page = browser.submit("/console/cases/new", &fields);
    assert_eq!(page.status, 422);
    let text = page.text();
    assert!(text.contains("id=\"region-error\""), "{text}");
    assert!(
        text.contains("aria-describedby=\"region-hint region-error\""),
        "{text}"
    );
    assert!(!text.contains("span class=\"error\" id=\"sex-error\""));
    assert_eq!(count_cases(&db), 0);

    // A required answer left out is named too.
    let fields: Vec<(&str, &str)> = REGISTRATION
        .iter()
        .copied()
        .filter(|(name, _)| *name != "sex")
        .collect();
    let page = browser.submit("/console/cases/new", &fields);
    assert_eq!(page.status, 422);
    assert!(page.text().contains("id=\"sex-error\""), "{}", page.text());
    assert_eq!(count_cases(&db), 0);
}

fn risk_plan_and_a_supervisors_closure_in_swahili(db: TestDb) {
    let server = TestServer::start(&db);
    let org = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &org, Role::CaseWorker);
    let supervisor = seed::account_in(&db, &org, Role::Supervisor);
    let mut browser = signed_in(&server, &worker);
    let id = register(&mut browser);

    browser.visit(&format!("/console/cases/{id}/risk?purpose=safeguarding"));
    let done = browser.submit(
        &format!("/console/cases/{id}/risk"),
        &[
            ("individual", "high"),
            ("household", "medium"),
            ("community", "low"),
            ("review_on", "2099-01-31"),
            ("details", "the recruiter lives nearby"),
            ("purpose", "safeguarding"),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    for goal in ["a safe bed until the hearing", "tailoring course"] {
        let form = browser.visit(&format!("/console/cases/{id}/plan"));
        assert_eq!(form.status, 200);
        // The version read, as the page's hidden field carries it (none before the first plan).
        let version = hidden_field(&form.text(), "version").unwrap_or_default();
        let done = browser.submit(
            &format!("/console/cases/{id}/plan"),
            &[
                ("service_type", "shelter"),
                ("action", goal),
                ("review_on", "2099-01-31"),
                ("agreed_with_person", "true"),
                ("version", &version),
            ],
        );
        assert_eq!(done.status, 200, "{}", done.text());
    }
    let plan = browser.visit(&format!("/console/cases/{id}/plan"));
    assert!(plan.text().contains("a safe bed until the hearing"));
    assert!(
        plan.text().contains("tailoring course"),
        "the goal was added to the plan"
    );
    let (api, _) = token(&server, &worker.email);
    let risk = server
        .get_as(&api, &format!("/api/v1/cases/{id}/risk-assessments"))
        .json();
    assert!(
        risk.to_string().contains("the recruiter lives nearby"),
        "{risk}"
    );

    browser.visit(&format!("/console/cases/{id}"));
    let done = browser.submit(
        &format!("/console/cases/{id}/status"),
        &[
            ("change", "request_closure"),
            ("reason", "services_completed"),
        ],
    );
    assert_eq!(done.status, 200);

    // The supervisor, reading Swahili, approves the closure.
    token(&server, &supervisor.email);
    let mut overseer = ConsoleBrowser::new(&server);
    overseer.accept_language = "sw".to_owned();
    let landed = overseer.sign_in(
        &supervisor.email,
        seed::PASSWORD,
        Some(&next_code(&supervisor.email)),
    );
    assert_eq!(landed.status, 200);
    let page = overseer.visit(&format!("/console/cases/{id}"));
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("Idhinisha kufunga"), "{text}");
    assert!(
        text.contains("Huduma zimekamilika"),
        "the reason in Swahili: {text}"
    );
    assert!(text.contains(&format!("/console/cases/{id}/assignments")));
    let done = overseer.submit(
        &format!("/console/cases/{id}/status"),
        &[("change", "approve_closure")],
    );
    assert_eq!(done.status, 200);
    let case = server.get_as(&api, &format!("/api/v1/cases/{id}")).json();
    assert_eq!(case["status"], "closed", "{case}");
}

fn registering_the_same_person_twice_lists_the_possible_duplicate(db: TestDb) {
    let server = TestServer::start(&db);
    let org = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &org, Role::CaseWorker);
    let mut browser = signed_in(&server, &worker);
    let mut fields = REGISTRATION.to_vec();
    fields.push(("date_of_birth", "2003-04-02"));
    browser.visit("/console/cases/new");
    let first = browser.submit("/console/cases/new", &fields);
    assert_eq!(first.status, 200);
    let (api, _) = token(&server, &worker.email);
    let listed = server.get_as(&api, "/api/v1/cases").json();
    let reference = listed["items"][0]["reference"].as_str().unwrap().to_owned();

    browser.visit("/console/cases/new");
    let second = browser.submit("/console/cases/new", &fields);
    assert_eq!(second.status, 200);
    let text = second.text();
    assert!(text.contains("Possible duplicates"), "{text}");
    assert!(
        text.contains(&reference),
        "the first case by its reference: {text}"
    );
    assert!(!text.contains("Namubiru"), "no personal value on the page");
    assert_eq!(count_cases(&db), 2);
}

both_engines!(a_case_worker_does_the_daily_work_through_the_console);
both_engines!(registering_the_same_person_twice_lists_the_possible_duplicate);
both_engines!(risk_plan_and_a_supervisors_closure_in_swahili);
both_engines!(another_organisations_case_answers_not_found);
both_engines!(a_form_without_its_token_changes_nothing);
both_engines!(a_bad_value_is_shown_next_to_its_field);
