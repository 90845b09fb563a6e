//! The web console's oversight pages through real HTTP on both engines: a supervisor assigns
//! and unassigns a case worker (the API then lists the change) and sees the closure waiting for
//! them; break-glass opened through the console shows its expiry in East Africa Time and writes
//! its high-severity audit event; a coordinator's statistics table marks every suppressed
//! figure with a symbol, a legend and words, and states the threshold; a case worker is refused
//! these pages, another organisation's supervisor finds no such case, and a form without its
//! CSRF token changes nothing.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::ids::{CaseId, OrgId, UserId};
use tumaini_db::models::audit;
use tumaini_db::models::case::{Case, NewCase, SummaryFields};
use tumaini_db::schema::break_glass_grants;
use tumaini_db::vocabulary::{AgeBand, ExploitationType, OrganisationKind, Role, Sex};
use tumaini_tests::console::ConsoleBrowser;
use tumaini_tests::seed::{self, Account, PASSWORD};
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{next_code, token};

const JUSTIFICATION: &str = "She did not arrive at the shelter after the hearing; \
                             the police need a reachable contact tonight.";

/// Registers a case through the API as `worker`; its id and reference.
fn register(server: &TestServer, worker: &str) -> (String, String) {
    let created = server.post(
        Some(worker),
        "/api/v1/cases",
        &json!({
            "summary": {
                "sex": "female", "age_band": "21_23", "region": "UG-303",
                "encountered_on": "2026-11-15"
            },
            "groups": {
                "identity": {"given_names": "Atim", "family_name": "Odongo"},
                "contact": {"phones": ["+256 772 123 456"]}
            }
        }),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["reference"].as_str().unwrap().to_owned(),
    )
}

/// A browser signed in as `account`, whose role needs a second factor (enrolled through the
/// API first): its API token and the browser.
fn signed_in_with_code<'s>(
    server: &'s TestServer,
    account: &Account,
) -> (String, ConsoleBrowser<'s>) {
    let (access, _) = token(server, &account.email);
    let mut browser = ConsoleBrowser::new(server);
    let landed = browser.sign_in(&account.email, PASSWORD, Some(&next_code(&account.email)));
    assert_eq!(landed.status, 200, "{}", landed.text());
    assert!(
        browser.last_page.contains("<h1>My work</h1>"),
        "{}",
        browser.last_page
    );
    (access, browser)
}

/// The user ids the API lists as assigned to `case`, each with whether they lead.
fn assigned(server: &TestServer, token: &str, case: &str) -> Vec<(String, bool)> {
    let listed = server.get_as(token, &format!("/api/v1/cases/{case}/assignments"));
    assert_eq!(listed.status, 200, "{}", listed.text());
    listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i: &Value| {
            (
                i["user_id"].as_str().unwrap().to_owned(),
                i["lead"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn a_supervisor_assigns_staff_and_sees_what_waits(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let colleague = seed::account_in(&db, &shelter, Role::CaseWorker);
    let head = seed::account_in(&db, &shelter, Role::Supervisor);
    let elsewhere = seed::account(&db, Role::Supervisor);
    let (w, _) = token(&server, &worker.email);
    let (case, reference) = register(&server, &w);
    let (h, mut browser) = signed_in_with_code(&server, &head);
    let page = format!("/console/cases/{case}/assignments");

    // The page: the registrant assigned and leading; the colleague offered.
    let shown = browser.visit(&page);
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert!(
        browser.last_page.contains("Lead case worker"),
        "{}",
        browser.last_page
    );
    assert!(
        browser
            .last_page
            .contains(&format!("<option value=\"{}\">", colleague.id)),
        "{}",
        browser.last_page
    );
    assert!(
        !browser.last_page.contains(&worker.email),
        "no e-mail address on the page"
    );

    // Without the form's token: 403, nothing changes.
    let forged = browser.post_raw(
        &page,
        &[("user_id", colleague.id.as_str()), ("lead", "true")],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(
        assigned(&server, &h, &case),
        [(worker.id.to_string(), true)]
    );

    // Assigned as the lead: the API lists it, the previous lead stays assigned.
    browser.visit(&page);
    let done = browser.submit(
        &page,
        &[("user_id", colleague.id.as_str()), ("lead", "true")],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let mut now = assigned(&server, &h, &case);
    now.sort();
    let mut expected = vec![
        (worker.id.to_string(), false),
        (colleague.id.to_string(), true),
    ];
    expected.sort();
    assert_eq!(now, expected);
    let events = audit::with_action(&mut db.conn(), "case.assign").unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.outcome == "success"
                && e.resource_id.as_deref() == Some(colleague.id.as_str())),
        "the assignment names the member of staff in the audit trail"
    );

    // Someone not of the organisation: refused on the page, nothing changes.
    let refused = browser.submit(&page, &[("user_id", elsewhere.id.as_str())]);
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(
        browser.last_page.contains("role=\"alert\""),
        "{}",
        browser.last_page
    );
    assert_eq!(assigned(&server, &h, &case).len(), 2);

    // Unassigned: the API no longer lists them.
    let undone = browser.submit(
        &format!("{page}/unassign"),
        &[("user_id", colleague.id.as_str())],
    );
    assert_eq!(undone.status, 200, "{}", undone.text());
    assert_eq!(
        assigned(&server, &h, &case),
        [(worker.id.to_string(), false)]
    );

    // A closure requested: it waits on the supervision page, with who holds the case.
    let asked = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/status"),
        &json!({"change": "request_closure", "reason": "services_completed"}),
    );
    assert_eq!(asked.status, 200, "{}", asked.text());
    let supervision = browser.visit("/console/supervision");
    assert_eq!(supervision.status, 200, "{}", supervision.text());
    let text = &browser.last_page;
    assert!(text.contains("Closure to approve"), "{text}");
    assert!(text.contains(&reference), "{text}");
    assert!(
        text.contains(&format!("href=\"/console/cases/{case}\"")),
        "{text}"
    );
    assert!(text.contains("Staff of your organisation"), "{text}");

    // Another organisation's supervisor: no such case.
    let (_, mut stranger) = signed_in_with_code(&server, &elsewhere);
    assert_eq!(stranger.get(&page).status, 404);
    assert_eq!(
        stranger
            .get(&format!("/console/cases/{case}/break-glass"))
            .status,
        404
    );

    // A case worker: not their pages.
    let mut plain = ConsoleBrowser::new(&server);
    plain.sign_in(&worker.email, PASSWORD, None);
    for path in [
        page.clone(),
        format!("/console/cases/{case}/break-glass"),
        "/console/supervision".to_owned(),
        "/console/coordination".to_owned(),
    ] {
        let status = plain.get(&path).status;
        assert!(status == 403 || status == 404, "{path}: {status}");
    }
}

both_engines!(a_supervisor_assigns_staff_and_sees_what_waits);

fn break_glass_through_the_console_shows_its_limit_and_is_audited(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let head = seed::account_in(&db, &shelter, Role::Supervisor);
    let (w, _) = token(&server, &worker.email);
    let (case, _) = register(&server, &w);
    let (_, mut browser) = signed_in_with_code(&server, &head);
    let page = format!("/console/cases/{case}/break-glass");
    let grants = |db: &TestDb| {
        break_glass_grants::table
            .count()
            .get_result::<i64>(&mut db.conn())
            .unwrap()
    };

    // Before: the limit, the audit and the review said plainly.
    let before = browser.visit(&page);
    assert_eq!(before.status, 200, "{}", before.text());
    let text = browser.last_page.clone();
    assert!(text.contains("at most 4 hours"), "{text}");
    assert!(text.contains("high severity"), "{text}");
    assert!(text.contains("reviewed"), "{text}");

    // Without the token: 403 and nothing opened.
    let forged = browser.post_raw(
        &page,
        &[
            ("groups", "contact"),
            ("justification", JUSTIFICATION),
            ("minutes", "30"),
        ],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(grants(&db), 0);

    // Too short a justification: shown again with the reason, nothing opened.
    browser.visit(&page);
    let short = browser.submit(
        &page,
        &[
            ("groups", "contact"),
            ("justification", "urgent"),
            ("minutes", "30"),
        ],
    );
    assert_eq!(short.status, 422, "{}", short.text());
    assert!(
        browser.last_page.contains("role=\"alert\""),
        "{}",
        browser.last_page
    );
    assert_eq!(grants(&db), 0);

    // Opened: the expiry shown in East Africa Time, the audit event high-severity.
    let opened = browser.submit(
        &page,
        &[
            ("groups", "contact"),
            ("groups", "health"),
            ("justification", JUSTIFICATION),
            ("minutes", "30"),
        ],
    );
    assert_eq!(opened.status, 200, "{}", opened.text());
    let text = browser.last_page.clone();
    assert!(text.contains("Break-glass access is open"), "{text}");
    assert!(text.contains("East Africa Time"), "{text}");
    assert!(
        !text.contains("hearing"),
        "the justification is not echoed after opening"
    );
    let (expires, groups): (NaiveDateTime, String) = break_glass_grants::table
        .select((
            break_glass_grants::expires_at,
            break_glass_grants::field_groups,
        ))
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(groups, "contact,health");
    let local = (expires + Duration::hours(3)).format("%H:%M").to_string();
    assert!(text.contains(&local), "the expiry {local} in EAT: {text}");
    let remaining = expires - chrono::Utc::now().naive_utc();
    assert!(remaining <= Duration::minutes(30) && remaining > Duration::minutes(25));
    let events = audit::with_action(&mut db.conn(), "case.break_glass.open").unwrap();
    let successes: Vec<_> = events.iter().filter(|e| e.outcome == "success").collect();
    assert_eq!(successes.len(), 1);
    assert_eq!(
        successes[0].severity, "high",
        "break-glass is a high-severity event"
    );
    assert_eq!(
        successes[0].actor_user_id.as_deref(),
        Some(head.id.as_str())
    );
    assert_eq!(grants(&db), 1);
}

both_engines!(break_glass_through_the_console_shows_its_limit_and_is_audited);

/// `count` cases of one sex, registered directly (the statistics read summary columns only).
fn cases(db: &TestDb, owner: &OrgId, by: &UserId, count: usize, sex: Sex) {
    let mut conn = db.conn();
    for _ in 0..count {
        Case::insert(
            &mut conn,
            &NewCase {
                id: CaseId::generate(),
                reference: format!("C-OV-{}", uuid::Uuid::now_v7().simple()),
                owner: owner.clone(),
                created_by: by.clone(),
                summary: SummaryFields {
                    sex,
                    age_band: AgeBand::Age24To26,
                    may_be_child: false,
                    citizenship: Some("UG".parse().unwrap()),
                    recruitment_country: None,
                    exploitation_country: Some("UG".parse().unwrap()),
                    region: "Kampala".to_owned(),
                    encountered_on: NaiveDate::from_ymd_opt(2026, 5, 10).unwrap(),
                    exploitation_types: vec![ExploitationType::ForcedLabour],
                    means_of_control: vec![],
                },
            },
        )
        .unwrap();
    }
}

fn a_coordinator_sees_suppressed_figures_marked(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    cases(&db, &shelter, &worker.id, 14, Sex::Female);
    cases(&db, &shelter, &worker.id, 3, Sex::Male);
    let (_, mut browser) = signed_in_with_code(&server, &coordinator);

    let plain = browser.visit("/console/coordination");
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert!(browser.last_page.contains("NRM deadlines"));
    assert!(
        browser
            .last_page
            .contains("Referrals by receiving organisation")
    );

    // By sex: three men are below the threshold of 10, and the women's figure would give them
    // away from the total: both are marked, with the legend and words for screen readers.
    let table = browser.visit("/console/coordination?subject=people&rows=sex");
    assert_eq!(table.status, 200, "{}", table.text());
    let text = browser.last_page.clone();
    assert!(
        text.contains("Figures of fewer than 10 are not shown"),
        "{text}"
    );
    assert!(
        text.contains("<span aria-hidden=\"true\">✱</span>"),
        "{text}"
    );
    assert!(text.contains("suppressed, fewer than 10"), "{text}");
    assert!(
        text.contains("Suppressed: fewer than 10."),
        "the legend: {text}"
    );
    assert!(
        !text.contains(">3<"),
        "the small figure is not shown: {text}"
    );
    assert!(text.contains(">17<"), "the total is: {text}");
    let events = audit::with_action(&mut db.conn(), "statistics.table").unwrap();
    assert!(
        events.iter().any(|e| e.outcome == "success"
            && e.actor_user_id.as_deref() == Some(coordinator.id.as_str())),
        "the table is audited as the API's"
    );

    // In Swahili: the threshold, the marks' words and the legend.
    browser.accept_language = "sw".to_owned();
    let swahili = browser.visit("/console/coordination?subject=people&rows=sex");
    assert_eq!(swahili.status, 200, "{}", swahili.text());
    let text = browser.last_page.clone();
    assert!(text.contains("imefichwa, chini ya 10"), "{text}");
    assert!(text.contains("Ufunguo"), "{text}");
    assert!(
        text.contains("Takwimu zilizo chini ya 10 hazionyeshwi"),
        "{text}"
    );
    browser.accept_language = "en".to_owned();

    // Two dimensions.
    let two = browser.visit("/console/coordination?subject=people&rows=sex&columns=age_group");
    assert_eq!(two.status, 200, "{}", two.text());
    assert!(browser.last_page.contains("Adult"), "{}", browser.last_page);

    // A breakdown the statistics refuse: said on the page.
    let refused = browser.visit("/console/coordination?subject=people&rows=organisation");
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        browser.last_page.contains("role=\"alert\""),
        "{}",
        browser.last_page
    );
}

both_engines!(a_coordinator_sees_suppressed_figures_marked);
