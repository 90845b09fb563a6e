//! The NRM workflow through real HTTP on both engines: screening with indicators and a
//! professional override, referral into the NRM, the competent authority's decisions and the
//! recovery period, every refused transition; the deadline scanner; the anonymous route;
//! possible duplicates; risk assessments and the assistance plan; consent withdrawal cutting
//! law enforcement off; the child rules.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::models::audit;
use tumaini_db::schema::cases;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

fn person(family_name: &str, child: bool) -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": if child { "9_17" } else { "24_26" }, "citizenship": "UG",
            "exploitation_country": "AE", "region": "UG-212", "encountered_on": "2026-11-18",
            "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": {
                "given_names": "Auma", "family_name": family_name,
                "date_of_birth": if child { "2013-02-01" } else { "2001-06-15" }
            },
            "exploitation": {"narrative": "kept in a compound in Tororo"}
        }
    })
}

fn consent(given_by: &str, recipients: &[&str]) -> Value {
    json!({
        "given_by": given_by, "method": "written",
        "purposes": ["assistance", "referral", "identification"],
        "groups": ["identity", "exploitation", "legal"], "recipients": recipients
    })
}

fn set_case(db: &tumaini_tests::TestDb, id: &str, column: &str, at: chrono::NaiveDateTime) {
    let mut conn = db.conn();
    let target = cases::table.filter(cases::id.eq(id));
    let updated = match column {
        "reasonable_grounds_due_at" => diesel::update(target)
            .set(cases::reasonable_grounds_due_at.eq(Some(at)))
            .execute(&mut conn),
        "recovery_period_ends_at" => diesel::update(target)
            .set(cases::recovery_period_ends_at.eq(Some(at)))
            .execute(&mut conn),
        _ => unreachable!("column"),
    };
    assert_eq!(updated.unwrap(), 1);
}

fn a_case_goes_from_screening_to_a_conclusive_decision(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let authority_org = seed::organisation(&db, OrganisationKind::CompetentAuthority);
    let officer = seed::account_in(&db, &authority_org, Role::CompetentAuthority);
    let (w, _) = token(&server, &worker.email);
    let ca = mfa_enrolled_token(&server, &officer.email);

    let created = server.post(Some(&w), "/api/v1/cases", &person("Okoth", false));
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let path = |tail: &str| format!("/api/v1/cases/{id}{tail}");

    // The competent authority cannot see a case before it enters the NRM.
    assert_eq!(server.get_as(&ca, &path("")).status, 404);
    // No consent for identification yet: the case cannot enter the NRM.
    let early = server.post(Some(&w), &path("/nrm-referral"), &json!({}));
    assert_eq!(early.status, 409, "{}", early.text());
    assert_eq!(
        server
            .post(
                Some(&w),
                &path("/consents"),
                &consent("person", &["shelter", "competent_authority"])
            )
            .status,
        201
    );
    let unscreened = server.post(Some(&w), &path("/nrm-referral"), &json!({}));
    assert_eq!(
        unscreened.status,
        409,
        "only a presumed victim is referred: {}",
        unscreened.text()
    );
    assert_eq!(
        unscreened.json()["type"],
        "urn:tumaini:problem:transition-refused"
    );

    // The catalogue, and screening answers checked against it.
    let catalogue = server
        .get_as(&w, "/api/v1/screening-indicators?list=adult")
        .json();
    assert_eq!(catalogue["dimensions"].as_array().unwrap().len(), 6);
    let unknown = server.post(
        Some(&w),
        &path("/screenings"),
        &json!({"indicators": ["made_up"]}),
    );
    assert_eq!(unknown.status, 422, "{}", unknown.text());
    let weak = server.post(
        Some(&w),
        &path("/screenings"),
        &json!({
            "indicators": ["rv_economic_reasons", "ex_bad_living_conditions"],
            "notes": "met at the bus park"
        }),
    );
    assert_eq!(weak.status, 201, "{}", weak.text());
    let weak = weak.json();
    assert_eq!(
        (
            weak["presumed"].clone(),
            weak["identification_stage"].clone()
        ),
        (json!(false), json!("screened_not_presumed"))
    );
    assert!(
        !weak.to_string().contains("bus park"),
        "answers stay sealed in the answer"
    );
    assert_eq!(
        server
            .post(Some(&w), &path("/nrm-referral"), &json!({}))
            .status,
        409
    );

    // A professional judgement overrides the computed result, with a reason.
    let no_reason = server.post(
        Some(&w),
        &path("/screenings"),
        &json!({"indicators": [], "judgement": {"presumed": true, "reason": " "}}),
    );
    assert_eq!(no_reason.status, 422);
    let judged = server.post(
        Some(&w),
        &path("/screenings"),
        &json!({
            "indicators": ["rv_economic_reasons"],
            "judgement": {"presumed": true, "reason": "passport held by the employer"}
        }),
    );
    assert_eq!(judged.status, 201, "{}", judged.text());
    let judged = judged.json();
    assert_eq!(
        (
            judged["computed_presumed"].clone(),
            judged["overridden"].clone(),
            judged["presumed"].clone()
        ),
        (json!(false), json!(true), json!(true))
    );
    assert_eq!(judged["identification_stage"], "presumed");
    let screenings = server.get_as(&w, &path("/screenings")).json();
    assert_eq!(screenings["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        screenings["items"][1]["answers"]["override_reason"],
        "passport held by the employer"
    );
    assert_eq!(
        screenings["items"][0]["answers"]["indicators"],
        json!(["rv_economic_reasons", "ex_bad_living_conditions"])
    );
    let sealed: Vec<Vec<u8>> = tumaini_db::schema::screenings::table
        .select(tumaini_db::schema::screenings::answers)
        .load(&mut db.conn())
        .unwrap();
    assert!(
        sealed
            .iter()
            .all(|s| !String::from_utf8_lossy(s).contains("passport")),
        "answers are encrypted at rest"
    );

    // Into the NRM: the reasonable-grounds deadline is set.
    let referred = server.post(Some(&w), &path("/nrm-referral"), &json!({}));
    assert_eq!(referred.status, 200, "{}", referred.text());
    let referred = referred.json();
    assert_eq!(referred["identification_stage"], "referred_to_nrm");
    assert!(
        referred["deadlines"]["reasonable_grounds_due_at"].is_string(),
        "{referred}"
    );
    assert_eq!(
        server
            .post(Some(&w), &path("/nrm-referral"), &json!({}))
            .status,
        409,
        "referred once"
    );
    let rescreen = server.post(Some(&w), &path("/screenings"), &json!({"indicators": []}));
    assert_eq!(
        rescreen.status, 409,
        "a case in the NRM is not screened again"
    );

    // Decisions: the competent authority only, in order, after the recovery period.
    let decide = |token: &str, decision: &str| {
        server.post(
            Some(token),
            &path("/identification-decisions"),
            &json!({"decision": decision, "reasons": "interview of 20 November"}),
        )
    };
    assert_eq!(
        server
            .get_as(
                &ca,
                &path("?groups=identity,exploitation&purpose=identification")
            )
            .status,
        200
    );
    assert_eq!(
        decide(&w, "reasonable_grounds_positive").status,
        403,
        "a case worker does not decide"
    );
    assert_eq!(
        decide(&ca, "conclusive_grounds_positive").status,
        409,
        "a conclusive decision needs reasonable grounds first"
    );
    let rg = decide(&ca, "reasonable_grounds_positive");
    assert_eq!(rg.status, 200, "{}", rg.text());
    assert_eq!(
        rg.json()["identification_stage"],
        "reasonable_grounds_positive"
    );
    let ends = rg.json()["deadlines"]["recovery_period_ends_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let ends = chrono::DateTime::parse_from_rfc3339(&ends)
        .unwrap()
        .naive_utc();
    assert!(
        ends - chrono::Utc::now().naive_utc() > Duration::days(29),
        "at least 30 days of recovery"
    );
    assert_eq!(
        decide(&ca, "reasonable_grounds_negative").status,
        409,
        "decided once"
    );
    let waiting = decide(&ca, "conclusive_grounds_positive");
    assert_eq!(waiting.status, 409, "{}", waiting.text());
    assert!(
        waiting.json()["detail"]
            .as_str()
            .unwrap()
            .contains("recovery")
    );

    // Assistance is never blocked by the identification stage.
    let assisted = server.post(
        Some(&w),
        &path("/assistance"),
        &json!({"service_type": "health", "status": "completed", "provided_on": "2026-11-21"}),
    );
    assert_eq!(assisted.status, 201, "{}", assisted.text());

    set_case(
        &db,
        &id,
        "recovery_period_ends_at",
        chrono::Utc::now().naive_utc() - Duration::hours(1),
    );
    let cg = decide(&ca, "conclusive_grounds_positive");
    assert_eq!(cg.status, 200, "{}", cg.text());
    assert_eq!(
        cg.json()["identification_stage"],
        "conclusive_grounds_positive"
    );
    assert_eq!(decide(&ca, "conclusive_grounds_negative").status, 409);

    let events = |action: &str| {
        audit::with_action(&mut db.conn(), action)
            .unwrap()
            .iter()
            .map(|e| e.outcome.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        events("case.screening.record"),
        ["success", "success"].map(String::from),
        "the refused ones (409, 422) change nothing and are not successes"
    );
    assert!(
        events("case.identification_decision").contains(&"denied".to_owned()),
        "the case worker's attempt is audited as a denial"
    );
}

both_engines!(a_case_goes_from_screening_to_a_conclusive_decision);

fn the_deadline_scanner_tells_coordinators_once(db: TestDb) {
    let server = TestServer::start_with(&db, &[("TUMAINI_DEADLINE_SCAN_SECS", "1")], |_| {});
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    let (w, _) = token(&server, &worker.email);
    let created = server
        .post(Some(&w), "/api/v1/cases", &person("Nambi", false))
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let reference = created["reference"].as_str().unwrap().to_owned();
    server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/consents"),
        &consent("person", &["competent_authority"]),
    );
    server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/screenings"),
        &json!({
            "indicators": [],
            "judgement": {"presumed": true, "reason": "clear account of forced labour"}
        }),
    );
    let referred = server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/nrm-referral"),
        &json!({}),
    );
    assert_eq!(referred.status, 200, "{}", referred.text());
    assert_eq!(referred.json()["deadlines"]["overdue"], false);

    set_case(
        &db,
        &id,
        "reasonable_grounds_due_at",
        chrono::Utc::now().naive_utc() - Duration::minutes(5),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let overdue = loop {
        let marked: Option<chrono::NaiveDateTime> = cases::table
            .filter(cases::id.eq(&id))
            .select(cases::reasonable_grounds_overdue_at)
            .first(&mut db.conn())
            .unwrap();
        if marked.is_some() || std::time::Instant::now() > deadline {
            break marked;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(overdue.is_some(), "the scanner marked the decision overdue");
    // A second scanner (another replica) finds nothing left to do.
    let again = tumaini_api::jobs::deadlines::scan(
        &mut db.conn(),
        chrono::Utc::now().naive_utc(),
        "http://x",
        &server.audit_events(),
    )
    .unwrap();
    assert_eq!(again, 0);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mails: Vec<String> = server
        .mail_files()
        .into_iter()
        .filter(|m| m.contains("overdue"))
        .collect();
    assert_eq!(
        mails.len(),
        1,
        "one message to the one coordinator, once: {mails:?}"
    );
    assert!(mails[0].contains(&coordinator.email));
    assert!(mails[0].contains(&reference));
    assert!(
        !mails[0].contains("Nambi") && !mails[0].contains("Auma"),
        "no personal data in e-mail"
    );
    assert_eq!(
        audit::with_action(&mut db.conn(), "case.deadline.reasonable_grounds_overdue")
            .unwrap()
            .len(),
        1
    );

    let c = mfa_enrolled_token(&server, &coordinator.email);
    let listed = server.get_as(&c, "/api/v1/cases?overdue=true").json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        server.get_as(&c, &format!("/api/v1/cases/{id}")).json()["deadlines"]["overdue"],
        true
    );
}

both_engines!(the_deadline_scanner_tells_coordinators_once);

fn an_adult_who_does_not_consent_is_notified_anonymously(db: TestDb) {
    let server = TestServer::start(&db);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let responder = seed::account_in(&db, &police, Role::FirstResponder);
    let shelter_worker = seed::account(&db, Role::CaseWorker);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    let admin = seed::account_in(&db, &office, Role::Admin);
    let (r, _) = token(&server, &responder.email);
    let notice = json!({
        "sex": "male", "age_band": "30_38", "citizenship": "KE", "exploitation_country": "UG",
        "region": "UG-202", "encountered_on": "2026-11-19", "exploitation_types": ["forced_labour"]
    });
    let sent = server.post(Some(&r), "/api/v1/anonymous-notifications", &notice);
    assert_eq!(sent.status, 201, "{}", sent.text());
    assert!(sent.json()["reference"].as_str().unwrap().starts_with("N-"));
    // A child is never notified anonymously, nor a person of unknown age.
    for band in ["9_17", "unknown"] {
        let mut child = notice.clone();
        child["age_band"] = json!(band);
        assert_eq!(
            server
                .post(Some(&r), "/api/v1/anonymous-notifications", &child)
                .status,
            422
        );
    }
    let mut with_name = notice.clone();
    with_name["name"] = json!("Ouma");
    assert_eq!(
        server
            .post(Some(&r), "/api/v1/anonymous-notifications", &with_name)
            .status,
        422,
        "no field for a person"
    );

    let own = server.get_as(&r, "/api/v1/anonymous-notifications").json();
    assert_eq!(own["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        own["items"][0]["exploitation_types"],
        json!(["forced_labour"])
    );
    let (s, _) = token(&server, &shelter_worker.email);
    assert_eq!(
        server.get_as(&s, "/api/v1/anonymous-notifications").json()["items"],
        json!([]),
        "another organisation's are not listed"
    );
    let c = mfa_enrolled_token(&server, &coordinator.email);
    assert_eq!(
        server.get_as(&c, "/api/v1/anonymous-notifications").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let a = mfa_enrolled_token(&server, &admin.email);
    assert_eq!(
        server.get_as(&a, "/api/v1/anonymous-notifications").status,
        403
    );
    assert_eq!(
        server
            .post(Some(&a), "/api/v1/anonymous-notifications", &notice)
            .status,
        403
    );
    // No person and no key: nothing was written to the vault, and it counts.
    let keys: i64 = tumaini_db::schema::case_keys::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(keys, 0);
    assert_eq!(
        tumaini_db::models::anonymous::AnonymousNotification::count(&mut db.conn()).unwrap(),
        1
    );
    let outcomes: Vec<String> = audit::with_action(&mut db.conn(), "anonymous_notification.create")
        .unwrap()
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, ["success", "denied"].map(String::from));
}

both_engines!(an_adult_who_does_not_consent_is_notified_anonymously);

fn duplicates_are_linked_or_dismissed_by_a_supervisor(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
    let (w, _) = token(&server, &worker.email);
    let (s, _) = token(&server, &supervisor.email);
    let first = server
        .post(Some(&w), "/api/v1/cases", &person("Lubega", false))
        .json();
    let second = server
        .post(Some(&w), "/api/v1/cases", &person("Lubega", false))
        .json();
    let third = server
        .post(Some(&w), "/api/v1/cases", &person("Lubega", false))
        .json();
    let (a, b, c) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
        third["id"].as_str().unwrap(),
    );
    assert_eq!(third["possible_duplicates"].as_array().unwrap().len(), 2);
    let listed = server
        .get_as(&w, &format!("/api/v1/cases/{b}/duplicates"))
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(listed["items"][0]["status"], "open");

    let link = format!("/api/v1/cases/{b}/duplicates/{a}/link");
    assert_eq!(
        server.post(Some(&w), &link, &json!({})).status,
        403,
        "a case worker does not resolve"
    );
    let linked = server.post(Some(&s), &link, &json!({}));
    assert_eq!(linked.status, 200, "{}", linked.text());
    assert_eq!(
        server.post(Some(&s), &link, &json!({})).status,
        404,
        "no open pair left"
    );
    let dismissed = server.post(
        Some(&s),
        &format!("/api/v1/cases/{a}/duplicates/{c}/dismiss"),
        &json!({}),
    );
    assert_eq!(dismissed.status, 200, "{}", dismissed.text());
    let statuses: Vec<Value> = server
        .get_as(&s, &format!("/api/v1/cases/{a}/duplicates"))
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("linked"), json!("dismissed")]);
    // Both records stay: never merged.
    assert_eq!(server.get_as(&w, &format!("/api/v1/cases/{a}")).status, 200);
    assert_eq!(server.get_as(&w, &format!("/api/v1/cases/{b}")).status, 200);

    // Another organisation's supervisor neither sees nor resolves them.
    let stranger = seed::account(&db, Role::Supervisor);
    let (x, _) = token(&server, &stranger.email);
    assert_eq!(
        server
            .post(
                Some(&x),
                &format!("/api/v1/cases/{c}/duplicates/{b}/dismiss"),
                &json!({})
            )
            .status,
        404
    );
    assert_eq!(
        server
            .get_as(&x, &format!("/api/v1/cases/{c}/duplicates"))
            .status,
        404
    );
}

both_engines!(duplicates_are_linked_or_dismissed_by_a_supervisor);

fn risk_and_the_plan_are_recorded_with_if_match(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let (w, _) = token(&server, &worker.email);
    let id = server
        .post(Some(&w), "/api/v1/cases", &person("Asiimwe", false))
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let review_on = (chrono::Utc::now().date_naive() + Duration::days(30)).to_string();
    let risk = server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/risk-assessments"),
        &json!({
            "individual": "high", "household": "medium", "community": "low", "review_on": review_on,
            "details": "recruiter lives nearby"
        }),
    );
    assert_eq!(risk.status, 201, "{}", risk.text());
    let past = server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/risk-assessments"),
        &json!({
        "individual": "low", "household": "low", "community": "low", "review_on": "2020-01-01"}),
    );
    assert_eq!(past.status, 422);
    let listed = server
        .get_as(&w, &format!("/api/v1/cases/{id}/risk-assessments"))
        .json();
    assert_eq!(listed["items"][0]["individual"], "high");
    assert_eq!(listed["items"][0]["details"], "recruiter lives nearby");

    let plan_path = format!("/api/v1/cases/{id}/plan");
    assert_eq!(server.get_as(&w, &plan_path).status, 404, "no plan yet");
    let plan = json!({
        "goals": [{"service_type": "shelter", "action": "safe bed until the hearing"}],
        "review_on": review_on, "agreed_with_person": true
    });
    let put = |etag: Option<&str>, body: &Value| {
        let (path, w, body, etag) = (
            plan_path.clone(),
            w.clone(),
            body.clone(),
            etag.map(str::to_owned),
        );
        server.send(move |c, base| {
            let request = c.put(format!("{base}{path}")).bearer_auth(w).json(&body);
            match etag {
                Some(tag) => request.header("If-Match", tag),
                None => request,
            }
        })
    };
    let first = put(None, &plan);
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("etag"), Some("\"v1\""));
    assert_eq!(put(None, &plan).status, 428, "replacing needs If-Match");
    assert_eq!(put(Some("\"v7\""), &plan).status, 412);
    let second = put(
        Some("\"v1\""),
        &json!({"goals": [], "review_on": review_on, "agreed_with_person": false}),
    );
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(
        put(Some("\"v1\""), &plan).status,
        412,
        "a stale ETag is refused"
    );
    let read = server.get_as(&w, &plan_path);
    assert_eq!(read.header("etag"), Some("\"v2\""));
    assert_eq!(read.json()["plan"]["agreed_with_person"], false);
    let unreadable = put(
        Some("\"v2\""),
        &json!({
            "goals": [{"service_type": "shelter", "action": " "}], "review_on": review_on,
            "agreed_with_person": true
        }),
    );
    assert_eq!(unreadable.status, 422);
}

both_engines!(risk_and_the_plan_are_recorded_with_if_match);

fn withdrawing_consent_cuts_law_enforcement_off_at_once(db: TestDb) {
    let server = TestServer::start(&db);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let responder = seed::account_in(&db, &police, Role::FirstResponder);
    let (r, _) = token(&server, &responder.email);
    let id = server
        .post(Some(&r), "/api/v1/cases", &person("Wafula", false))
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = || {
        server
            .get_as(
                &r,
                &format!("/api/v1/cases/{id}?groups=identity&purpose=safeguarding"),
            )
            .json()
    };
    // Police see no personal group without the person's law-enforcement consent, even
    // their own registration.
    assert_eq!(read()["withheld_groups"], json!(["identity"]));
    let granted = server.post(
        Some(&r),
        &format!("/api/v1/cases/{id}/consents"),
        &consent("person", &["law_enforcement"]),
    );
    assert_eq!(granted.status, 201, "{}", granted.text());
    assert_eq!(read()["groups"]["identity"]["family_name"], "Wafula");
    let withdrawn = server.post(
        Some(&r),
        &format!("/api/v1/cases/{id}/consents/withdrawal"),
        &json!({"given_by": "person", "method": "verbal"}),
    );
    assert_eq!(withdrawn.status, 201, "{}", withdrawn.text());
    let after = read();
    assert_eq!(
        after["withheld_groups"],
        json!(["identity"]),
        "the next request already sees the withdrawal: {after}"
    );
    assert!(!after.to_string().contains("Wafula"));
}

both_engines!(withdrawing_consent_cuts_law_enforcement_off_at_once);

fn a_child_is_protected_from_registration_on(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let protection = seed::organisation(&db, OrganisationKind::ChildProtection);
    let officer = seed::account_in(&db, &protection, Role::CaseWorker);
    let (w, _) = token(&server, &worker.email);
    let mut unsure = person("Kyomuhendo", false);
    unsure["summary"]["age_band"] = json!("unknown");
    unsure["summary"]["may_be_child"] = json!(true);
    let created = server.post(Some(&w), "/api/v1/cases", &unsure);
    assert_eq!(created.status, 201, "{}", created.text());
    let created = created.json();
    assert_eq!(
        created["child"], true,
        "uncertain and possibly under 18 is a child"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let reference = created["reference"].as_str().unwrap().to_owned();

    // Child protection is told, with a reference and a link only.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mail = loop {
        let found: Vec<String> = server
            .mail_files()
            .into_iter()
            .filter(|m| m.contains(&officer.email))
            .collect();
        if !found.is_empty() || std::time::Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains(&reference));
    assert!(
        !mail[0].contains("Kyomuhendo") && !mail[0].contains("Auma") && !mail[0].contains("Tororo")
    );

    // The child list of indicators applies, and a child's own consent is not enough.
    let adult_only = server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/screenings"),
        &json!({"indicators": ["ex_no_social_protection"]}),
    );
    assert_eq!(
        adult_only.status,
        422,
        "not on the child list: {}",
        adult_only.text()
    );
    let screened = server
        .post(
            Some(&w),
            &format!("/api/v1/cases/{id}/screenings"),
            &json!({"indicators": ["ex_excessive_hours", "ex_no_access_to_education"]}),
        )
        .json();
    assert_eq!(
        (
            screened["indicator_list"].clone(),
            screened["presumed"].clone()
        ),
        (json!("child"), json!(true)),
        "for a child exploitation alone presumes: {screened}"
    );
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{id}/consents"),
                &consent("person", &["competent_authority"])
            )
            .status,
        422
    );
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{id}/consents"),
                &consent("best_interest", &["competent_authority"])
            )
            .status,
        201
    );
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{id}/nrm-referral"),
                &json!({})
            )
            .status,
        200
    );
}

both_engines!(a_child_is_protected_from_registration_on);

fn a_plan_is_written_only_by_someone_who_may_read_it(db: TestDb) {
    let server = TestServer::start(&db);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let supervisor = seed::account_in(&db, &police, Role::Supervisor);
    let (s, _) = token(&server, &supervisor.email);
    let id = server
        .post(Some(&s), "/api/v1/cases", &person("Barasa", false))
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Police staff record assistance for their own case, but without the person's
    // law-enforcement consent they may not read the `notes` group, so not replace the plan.
    let plan = json!({"goals": [], "review_on": "2099-01-01", "agreed_with_person": true});
    let refused = server.call("PUT", &s, &format!("/api/v1/cases/{id}/plan"), Some(&plan));
    assert_eq!(refused.status, 403, "{}", refused.text());
    let outcomes: Vec<String> = audit::with_action(&mut db.conn(), "case.plan.write")
        .unwrap()
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, ["denied"], "the refusal is audited");
    let plans: i64 = tumaini_db::schema::assistance_plans::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(plans, 0);
}

both_engines!(a_plan_is_written_only_by_someone_who_may_read_it);

fn set_state(
    db: &tumaini_tests::TestDb,
    id: &str,
    status: tumaini_db::vocabulary::CaseStatus,
    pending: bool,
    stage: tumaini_db::vocabulary::IdentificationStage,
) {
    let now = chrono::Utc::now().naive_utc();
    diesel::update(cases::table.filter(cases::id.eq(id)))
        .set((
            cases::status.eq(status),
            cases::closure_requested_at.eq(pending.then_some(now)),
            cases::closure_reason
                .eq(pending.then_some(tumaini_db::vocabulary::ClosureReason::Other)),
            cases::identification_stage.eq(stage),
            cases::referred_into_nrm_at.eq(Some(now - Duration::days(40))),
            cases::recovery_period_ends_at.eq(Some(now - Duration::days(1))),
        ))
        .execute(&mut db.conn())
        .unwrap();
}

fn every_status_change_and_decision_follows_the_state_machines_through_http(db: TestDb) {
    use tumaini_api::rules::lifecycle::{self, StatusChange, StatusState};
    use tumaini_db::vocabulary::{CaseStatus, IdentificationDecision, IdentificationStage};
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
    let authority_org = seed::organisation(&db, OrganisationKind::CompetentAuthority);
    let officer = seed::account_in(&db, &authority_org, Role::CompetentAuthority);
    let (s, _) = token(&server, &supervisor.email);
    let ca = mfa_enrolled_token(&server, &officer.email);
    let id = server
        .post(Some(&s), "/api/v1/cases", &person("Ouma", false))
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let changes = [
        (StatusChange::Activate, json!({"change": "activate"})),
        (
            StatusChange::StartReintegration,
            json!({"change": "start_reintegration"}),
        ),
        (StatusChange::Withdraw, json!({"change": "withdraw"})),
        (
            StatusChange::RequestClosure,
            json!({"change": "request_closure", "reason": "services_completed"}),
        ),
        (
            StatusChange::ApproveClosure,
            json!({"change": "approve_closure"}),
        ),
        (
            StatusChange::RejectClosure,
            json!({"change": "reject_closure"}),
        ),
        (StatusChange::Reopen, json!({"change": "reopen"})),
    ];
    let (mut allowed, mut refused) = (0, 0);
    for status in CaseStatus::ALL.iter().copied() {
        let in_progress = matches!(
            status,
            CaseStatus::Open | CaseStatus::Active | CaseStatus::Reintegration
        );
        for pending in [false, true].into_iter().filter(|p| !*p || in_progress) {
            for (change, body) in &changes {
                set_state(&db, &id, status, pending, IdentificationStage::Presumed);
                let want = lifecycle::change_status(
                    StatusState {
                        status,
                        closure_pending: pending,
                    },
                    *change,
                );
                let got = server.post(Some(&s), &format!("/api/v1/cases/{id}/status"), body);
                match want {
                    Ok(next) => {
                        allowed += 1;
                        assert_eq!(
                            got.status,
                            200,
                            "{status} pending={pending} {change:?}: {}",
                            got.text()
                        );
                        let body = got.json();
                        assert_eq!(
                            (body["status"].clone(), body["closure_pending"].clone()),
                            (json!(next.status), json!(next.closure_pending)),
                            "{status} {change:?}"
                        );
                    }
                    Err(_) => {
                        refused += 1;
                        assert_eq!(
                            got.status,
                            409,
                            "{status} pending={pending} {change:?}: {}",
                            got.text()
                        );
                        assert_eq!(got.json()["type"], "urn:tumaini:problem:transition-refused");
                    }
                }
            }
        }
    }
    let now = chrono::Utc::now().naive_utc();
    for stage in IdentificationStage::ALL.iter().copied() {
        for decision in IdentificationDecision::ALL.iter().copied() {
            set_state(&db, &id, CaseStatus::Active, false, stage);
            let want = lifecycle::decide(stage, decision, now, Some(now - Duration::days(1)));
            let got = server.post(
                Some(&ca),
                &format!("/api/v1/cases/{id}/identification-decisions"),
                &json!({"decision": decision, "reasons": "matrix of decisions"}),
            );
            match want {
                Ok(next) => {
                    allowed += 1;
                    assert_eq!(got.status, 200, "{stage} {decision}: {}", got.text());
                    assert_eq!(
                        got.json()["identification_stage"],
                        json!(next),
                        "{stage} {decision}"
                    );
                }
                Err(_) => {
                    refused += 1;
                    assert!(
                        matches!(got.status, 404 | 409),
                        "{stage} {decision}: {} {}",
                        got.status,
                        got.text()
                    );
                }
            }
        }
    }
    println!(
        "state machines through HTTP ({}): {allowed} allowed and {refused} refused transitions, \
         each as the rules say",
        db.engine()
    );
    assert!(allowed > 10 && refused > 40);
}

both_engines!(every_status_change_and_decision_follows_the_state_machines_through_http);
