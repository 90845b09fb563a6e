//! Break-glass through real HTTP on both engines: who may open, what it opens and for how long,
//! the high-severity audit events and the e-mails (reference and link only).

use chrono::Duration;
use diesel::prelude::*;
use serde_json::json;
use tumaini_db::models::audit;
use tumaini_db::schema::break_glass_grants;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

fn break_glass_opens_named_groups_for_a_while_and_is_loud(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
    let stranger = seed::account(&db, Role::Supervisor);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    let admin = seed::account_in(&db, &office, Role::Admin);
    let (w, _) = token(&server, &worker.email);
    let (x, _) = token(&server, &stranger.email);
    let c = mfa_enrolled_token(&server, &coordinator.email);
    let a = mfa_enrolled_token(&server, &admin.email);

    let created = server
        .post(
            Some(&w),
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
        )
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let reference = created["reference"].as_str().unwrap().to_owned();
    let read = |token: &str| {
        server
            .get_as(
                token,
                &format!("/api/v1/cases/{id}?groups=identity,contact&purpose=safeguarding"),
            )
            .json()
    };
    assert_eq!(
        read(&c)["withheld_groups"],
        json!(["identity", "contact"]),
        "a coordinator sees the summary only"
    );

    let path = format!("/api/v1/cases/{id}/break-glass");
    let why = "She did not arrive at the shelter after the hearing; \
               the police need a reachable contact tonight.";
    for bad in [
        json!({"groups": ["contact"], "justification": "urgent"}),
        json!({"groups": [], "justification": why}),
        json!({"groups": ["summary"], "justification": why}),
        json!({"groups": ["contact"], "justification": why, "minutes": 100000}),
    ] {
        assert_eq!(server.post(Some(&c), &path, &bad).status, 422, "{bad}");
    }
    let body = json!({"groups": ["contact"], "justification": why, "minutes": 30});
    assert_eq!(
        server.post(Some(&w), &path, &body).status,
        403,
        "a case worker does not break glass"
    );
    assert_eq!(
        server.post(Some(&x), &path, &body).status,
        404,
        "another organisation cannot tell the case exists"
    );
    assert_eq!(
        server.post(Some(&a), &path, &body).status,
        404,
        "administrators never touch cases"
    );
    assert_eq!(
        break_glass_grants::table
            .count()
            .get_result::<i64>(&mut db.conn())
            .unwrap(),
        0
    );

    let opened = server.post(Some(&c), &path, &body);
    assert_eq!(opened.status, 201, "{}", opened.text());
    assert!(
        !opened.text().contains("hearing"),
        "the justification is not echoed"
    );
    let after = read(&c);
    assert_eq!(
        after["groups"]["contact"]["phones"][0], "+256 772 123 456",
        "{after}"
    );
    assert_eq!(
        after["withheld_groups"],
        json!(["identity"]),
        "only the groups named are open"
    );

    // High-severity events: the opening and the read under it; ordinary reads stay normal.
    let opening = audit::with_action(&mut db.conn(), "case.break_glass.open").unwrap();
    let outcomes: Vec<(&str, &str)> = opening
        .iter()
        .map(|e| (e.outcome.as_str(), e.severity.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("denied", "normal"),
            ("denied", "normal"),
            ("denied", "normal"),
            ("success", "high")
        ]
    );
    let reads = audit::with_action(&mut db.conn(), "case.read").unwrap();
    let by_coordinator: Vec<&str> = reads
        .iter()
        .filter(|e| e.actor_user_id.as_deref() == Some(coordinator.id.as_str()))
        .map(|e| e.severity.as_str())
        .collect();
    assert_eq!(by_coordinator, ["normal", "high"]);
    let sealed: Vec<Vec<u8>> = break_glass_grants::table
        .select(break_glass_grants::justification)
        .load(&mut db.conn())
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&sealed[0]).contains("hearing"),
        "the justification is sealed at rest"
    );

    // The coordinators and the owning organisation's supervisor are told: reference and link only.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mails = loop {
        let found: Vec<String> = server
            .mail_files()
            .into_iter()
            .filter(|m| m.contains("Break-glass"))
            .collect();
        if found.len() >= 2 || std::time::Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails.iter().any(|m| m.contains(&supervisor.email))
            && mails.iter().any(|m| m.contains(&coordinator.email))
    );
    for mail in &mails {
        assert!(mail.contains(&reference));
        for personal in ["Atim", "Odongo", "772 123 456", "hearing", "Arua"] {
            assert!(!mail.contains(personal), "{personal} in {mail}");
        }
    }

    // When the time is up the group closes again.
    diesel::update(break_glass_grants::table)
        .set((
            break_glass_grants::opened_at
                .eq(chrono::Utc::now().naive_utc() - Duration::minutes(31)),
            break_glass_grants::expires_at
                .eq(chrono::Utc::now().naive_utc() - Duration::seconds(1)),
        ))
        .execute(&mut db.conn())
        .unwrap();
    assert_eq!(read(&c)["withheld_groups"], json!(["identity", "contact"]));
}

both_engines!(break_glass_opens_named_groups_for_a_while_and_is_loud);
