//! Need-to-know inside an organisation, over real HTTP on both engines, at the default settings
//! (a newly registered organisation works on a need-to-know basis): a case worker not assigned
//! to a case sees its summary and nothing personal, one assigned reads it; a supervisor's
//! assignment and its end take effect on the next request; the organisation's setting restores
//! the earlier behaviour; a referral's receiver works the same way; nobody else assigns.

use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::schema::{case_assignments, organisations};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::{TestDb, TestResponse, TestServer, both_engines};

use crate::auth::token;

/// Every personal value the case holds: none may reach a caller who may not read it.
const PERSONAL: &[&str] = &[
    "Akello",
    "Adongo",
    "1998-02-03",
    "+256 771 000 111",
    "brick kiln",
];

fn person() -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG", "region": "UG-102",
            "encountered_on": "2026-11-20", "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": {"given_names": "Akello", "family_name": "Adongo", "date_of_birth": "1998-02-03"},
            "contact": {"phones": ["+256 771 000 111"]},
            "exploitation": {"narrative": "made to work at a brick kiln"}
        }
    })
}

fn status(response: &TestResponse, want: u16, what: &str) -> Value {
    assert_eq!(response.status, want, "{what}: {}", response.text());
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

fn leaks(response: &TestResponse) -> Vec<&'static str> {
    let text = response.text();
    PERSONAL
        .iter()
        .copied()
        .filter(|v| text.contains(v))
        .collect()
}

/// What a case worker gets from the case: the summary's status, the identity group readable
/// in a group read, and the status of the notes (a personal record list).
fn reach(server: &TestServer, token: &str, case: &str) -> (u16, bool, u16) {
    let summary = server.get_as(token, &format!("/api/v1/cases/{case}"));
    let grouped = server.get_as(
        token,
        &format!("/api/v1/cases/{case}?groups=identity,contact,exploitation&purpose=assistance"),
    );
    let identity = grouped.status == 200 && !grouped.json()["groups"]["identity"].is_null();
    if !identity {
        assert!(leaks(&grouped).is_empty(), "{}", grouped.text());
    }
    let notes = server.get_as(token, &format!("/api/v1/cases/{case}/notes"));
    if notes.status != 200 {
        assert!(leaks(&notes).is_empty(), "{}", notes.text());
    }
    (summary.status, identity, notes.status)
}

fn only_the_assigned_colleagues_read_a_case(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    let kenya = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let lead = seed::account_in(&db, &shelter, Role::CaseWorker);
    let colleague = seed::account_in(&db, &shelter, Role::CaseWorker);
    let head = seed::account_in(&db, &shelter, Role::Supervisor);
    let clinic_taker = seed::account_in(&db, &clinic, Role::CaseWorker);
    let clinic_other = seed::account_in(&db, &clinic, Role::CaseWorker);
    let kenyan_head = seed::account_in(&db, &kenya, Role::Supervisor);
    let outsider = seed::account_in(&db, &kenya, Role::CaseWorker);
    let [lead_t, colleague_t, head_t, taker_t, other_t, kenyan_t] = [
        &lead,
        &colleague,
        &head,
        &clinic_taker,
        &clinic_other,
        &kenyan_head,
    ]
    .map(|a| token(&server, &a.email).0);

    // A new organisation works on a need-to-know basis.
    let mode: String = organisations::table
        .find(shelter.as_str())
        .select(organisations::case_access)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(mode, "need_to_know");

    let case = status(
        &server.post(Some(&lead_t), "/api/v1/cases", &person()),
        201,
        "register",
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let assignments = format!("/api/v1/cases/{case}/assignments");

    // The registrant leads the case; the colleague is not assigned.
    let listed = status(&server.get_as(&lead_t, &assignments), 200, "assignments");
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["user_id"], lead.id.as_str());
    assert_eq!(listed["items"][0]["lead"], true);
    assert_eq!(reach(&server, &lead_t, &case), (200, true, 200));
    // The colleague: the summary, nothing personal, the personal records as if absent.
    assert_eq!(reach(&server, &colleague_t, &case), (200, false, 404));
    // The supervisor reads it, assigned or not.
    assert_eq!(reach(&server, &head_t, &case), (200, true, 200));

    // Assigned: the next request reads it.
    let mine = format!("{assignments}/{}", colleague.id);
    let after = status(
        &server.call("PUT", &head_t, &mine, Some(&json!({}))),
        200,
        "assign",
    );
    assert_eq!(after["items"].as_array().unwrap().len(), 2, "{after}");
    assert_eq!(reach(&server, &colleague_t, &case), (200, true, 200));
    // Made the lead: the previous lead stays assigned, no longer leading.
    let after = status(
        &server.call("PUT", &head_t, &mine, Some(&json!({"lead": true}))),
        200,
        "lead",
    );
    assert_eq!(after["items"][0]["user_id"], colleague.id.as_str());
    assert_eq!(after["items"][0]["lead"], true);
    assert_eq!(after["items"][1]["lead"], false);
    assert_eq!(reach(&server, &lead_t, &case), (200, true, 200));
    // Unassigned: the next request is shut out again.
    let lead_path = format!("{assignments}/{}", lead.id);
    status(
        &server.call("DELETE", &head_t, &lead_path, None),
        200,
        "unassign",
    );
    assert_eq!(reach(&server, &lead_t, &case), (200, false, 404));
    status(
        &server.call("DELETE", &head_t, &lead_path, None),
        409,
        "unassign twice",
    );

    // The organisation's setting restores every case worker's reading, and back.
    let setting = format!("/api/v1/organisations/{shelter}/case-access");
    let view = status(
        &server.call(
            "PUT",
            &head_t,
            &setting,
            Some(&json!({"case_access": "all_staff"})),
        ),
        200,
        "all staff",
    );
    assert_eq!(view["case_access"], "all_staff");
    assert_eq!(reach(&server, &lead_t, &case), (200, true, 200));
    status(
        &server.call(
            "PUT",
            &head_t,
            &setting,
            Some(&json!({"case_access": "need_to_know"})),
        ),
        200,
        "need to know",
    );
    assert_eq!(reach(&server, &lead_t, &case), (200, false, 404));
    // A bad code: refused naming the field, nothing changed.
    let bad = server.call(
        "PUT",
        &head_t,
        &setting,
        Some(&json!({"case_access": "everyone"})),
    );
    assert_eq!(bad.status, 422, "{}", bad.text());
    // Nobody else sets it: a case worker, another organisation's supervisor.
    status(
        &server.call(
            "PUT",
            &lead_t,
            &setting,
            Some(&json!({"case_access": "all_staff"})),
        ),
        403,
        "a case worker",
    );
    status(
        &server.call(
            "PUT",
            &kenyan_t,
            &setting,
            Some(&json!({"case_access": "all_staff"})),
        ),
        403,
        "another organisation's supervisor",
    );

    // Nobody else assigns: a case worker (403: they see the case), another organisation's
    // supervisor (404: they do not); nobody of another organisation is assigned.
    let colleague_path = format!("{assignments}/{}", colleague.id);
    status(
        &server.call("PUT", &colleague_t, &lead_path, Some(&json!({}))),
        403,
        "a case worker assigns",
    );
    status(
        &server.call("PUT", &kenyan_t, &colleague_path, Some(&json!({}))),
        404,
        "a foreign supervisor assigns",
    );
    status(
        &server.get_as(&kenyan_t, &assignments),
        404,
        "a foreign list",
    );
    let foreign = format!("{assignments}/{}", outsider.id);
    let refused = server.call("PUT", &head_t, &foreign, Some(&json!({})));
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(!refused.text().contains(outsider.id.as_str()));
    let missing = format!("{assignments}/{}", uuid::Uuid::now_v7());
    status(
        &server.call("PUT", &head_t, &missing, Some(&json!({}))),
        422,
        "nobody",
    );

    // A referral: who accepts it reads what was shared; a colleague of theirs does not.
    let consent = json!({
        "given_by": "person", "method": "written", "purposes": ["assistance", "referral"],
        "groups": ["identity", "contact"], "recipients": ["shelter", "health"]
    });
    status(
        &server.post(
            Some(&head_t),
            &format!("/api/v1/cases/{case}/consents"),
            &consent,
        ),
        201,
        "consent",
    );
    let referral = status(
        &server.post(
            Some(&head_t),
            &format!("/api/v1/cases/{case}/referrals"),
            &json!({
                "to_organisation_id": clinic.as_str(), "services": ["health"],
                "groups": ["identity"], "urgency": "normal", "reason": "A check-up."
            }),
        ),
        201,
        "refer",
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    status(
        &server.post(
            Some(&taker_t),
            &format!("/api/v1/referrals/{referral}/accept"),
            &json!({}),
        ),
        200,
        "accept",
    );
    let read = |t: &str| {
        let r = server.get_as(
            t,
            &format!("/api/v1/cases/{case}?groups=identity&purpose=assistance"),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        !r.json()["groups"]["identity"].is_null()
    };
    assert!(read(&taker_t), "the one who accepted reads what was shared");
    assert!(!read(&other_t), "a colleague of theirs does not");
    let rows: i64 = case_assignments::table
        .filter(case_assignments::case_id.eq(&case))
        .filter(case_assignments::organisation_id.eq(clinic.as_str()))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(rows, 1);
}

both_engines!(only_the_assigned_colleagues_read_a_case);
