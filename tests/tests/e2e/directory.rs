//! The service directory through real HTTP on both engines: publishing, searching by service,
//! place and whom a service is for, capacity, who may change a listing, refusals that change
//! nothing, and the audit events.

use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::models::audit;
use tumaini_db::schema::organisation_services;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

fn names(found: &Value) -> Vec<String> {
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}:{}",
                l["organisation_id"].as_str().unwrap(),
                l["service"].as_str().unwrap()
            )
        })
        .collect()
}

fn organisations_publish_their_services_and_every_member_of_staff_finds_them(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let shelter_supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
    let shelter_worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let clinic_supervisor = seed::account_in(&db, &clinic, Role::Supervisor);
    let officer = seed::account_in(&db, &police, Role::FirstResponder);
    let admin = seed::account_in(&db, &office, Role::Admin);
    let (s, _) = token(&server, &shelter_supervisor.email);
    let (w, _) = token(&server, &shelter_worker.email);
    let (cs, _) = token(&server, &clinic_supervisor.email);
    let (f, _) = token(&server, &officer.email);
    let a = mfa_enrolled_token(&server, &admin.email);

    // The shelter's supervisor publishes a shelter for women and girls in Arua with a few
    // places, and interpretation anywhere in Uganda.
    let shelter_listing = json!({"country": "UG", "region": "Arua", "serves_adults": true,
        "serves_children": true, "serves_sex": "female", "capacity": "limited"});
    let put = server.call(
        "PUT",
        &s,
        &format!("/api/v1/organisations/{shelter}/services/shelter"),
        Some(&shelter_listing),
    );
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json()["capacity"], "limited");
    assert_eq!(put.json()["region"], "Arua");
    let interp = json!({
        "country": "UG", "serves_adults": true, "serves_children": false, "capacity": "available"
    });
    assert_eq!(
        server
            .call(
                "PUT",
                &s,
                &format!("/api/v1/organisations/{shelter}/services/interpretation"),
                Some(&interp)
            )
            .status,
        200
    );
    // The clinic: health for adults in Arua, full for now.
    let clinic_listing = json!({"country": "UG", "region": "Arua", "serves_adults": true,
        "serves_children": false, "serves_sex": "any", "capacity": "full"});
    assert_eq!(
        server
            .call(
                "PUT",
                &cs,
                &format!("/api/v1/organisations/{clinic}/services/health"),
                Some(&clinic_listing)
            )
            .status,
        200
    );

    // Only the organisation's supervisor (or an administrator) changes its listings.
    let before: i64 = organisation_services::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    let takeover = json!({
        "country": "UG", "serves_adults": true, "serves_children": true, "capacity": "full"
    });
    for (who, t) in [
        ("a case worker", &w),
        ("another organisation's supervisor", &cs),
        ("a first responder", &f),
    ] {
        let refused = server.call(
            "PUT",
            t,
            &format!("/api/v1/organisations/{shelter}/services/shelter"),
            Some(&takeover),
        );
        assert_eq!(refused.status, 403, "{who}: {}", refused.text());
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            server
                .call(
                    "DELETE",
                    t,
                    &format!("/api/v1/organisations/{shelter}/services/interpretation"),
                    None
                )
                .status,
            403,
            "{who}"
        );
    }
    // Bad listings are refused with a problem and change nothing.
    for bad in [
        json!({
            "country": "UG", "serves_adults": false, "serves_children": false,
            "capacity": "available"
        }),
        json!({
            "country": "XX", "serves_adults": true, "serves_children": false,
            "capacity": "available"
        }),
        json!({
            "country": "UG", "serves_adults": true, "serves_children": false, "capacity": "plenty"
        }),
        json!({
            "country": "UG", "serves_adults": true, "serves_children": false, "capacity": "full",
            "name": "Atim"
        }),
        json!({
            "country": "UG", "region": "x".repeat(101), "serves_adults": true,
            "serves_children": false, "capacity": "full"
        }),
    ] {
        let refused = server.call(
            "PUT",
            &s,
            &format!("/api/v1/organisations/{shelter}/services/shelter"),
            Some(&bad),
        );
        assert!(
            matches!(refused.status, 400 | 422),
            "{bad}: {} {}",
            refused.status,
            refused.text()
        );
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json"),
            "{bad}"
        );
    }
    assert_eq!(
        server
            .call(
                "PUT",
                &s,
                &format!("/api/v1/organisations/{shelter}/services/spa"),
                Some(&interp)
            )
            .status,
        404,
        "no such service type"
    );
    assert_eq!(
        server
            .call(
                "PUT",
                &s,
                "/api/v1/organisations/01a20839-0000-7000-8000-000000000000/services/shelter",
                Some(&interp)
            )
            .status,
        404
    );
    let after: i64 = organisation_services::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(before, after);
    let listed = server
        .get_as(&f, &format!("/api/v1/organisations/{shelter}/services"))
        .json();
    let capacities: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["service"].as_str().unwrap(),
                l["capacity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        capacities,
        [("shelter", "limited"), ("interpretation", "available")],
        "unchanged"
    );

    // Any member of staff searches: a first responder looks for a shelter that takes a girl.
    let search = |t: &str, q: &str| {
        let r = server.get_as(t, &format!("/api/v1/directory/services?{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        r.json()
    };
    assert_eq!(
        names(&search(&f, "service=shelter&for=child&sex=female")),
        [format!("{shelter}:shelter")]
    );
    assert_eq!(
        names(&search(&f, "service=shelter&sex=male")),
        Vec::<String>::new(),
        "women and girls only"
    );
    assert_eq!(
        names(&search(&f, "country=UG&region=Arua&service=health")),
        [format!("{clinic}:health")]
    );
    assert_eq!(
        names(&search(&f, "service=health&with_room=true")),
        Vec::<String>::new(),
        "the clinic is full"
    );
    assert_eq!(
        names(&search(&f, "service=health&for=child")),
        Vec::<String>::new(),
        "adults only"
    );
    assert_eq!(
        names(&search(&f, "service=interpretation&region=Gulu")),
        [format!("{shelter}:interpretation")],
        "a listing without a region covers the whole country"
    );
    assert_eq!(names(&search(&f, "country=KE")), Vec::<String>::new());
    let all = search(&w, "country=UG");
    assert!(names(&all).contains(&format!("{clinic}:health")));
    let first = &all.as_array().unwrap()[0];
    assert!(
        first["organisation_name"].is_string()
            && first["organisation_kind"].is_string()
            && first["updated_at"].is_string()
    );
    for bad in [
        "service=spa",
        "for=elderly",
        "country=Uganda",
        "limit=0",
        "limit=501",
        "sex=female&colour=red",
    ] {
        let refused = server.get_as(&f, &format!("/api/v1/directory/services?{bad}"));
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text());
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json"),
            "{bad}"
        );
    }
    assert_eq!(server.get("/api/v1/directory/services").status, 401);

    // Capacity changes as places fill; the administrator may correct any listing.
    let full = json!({
        "country": "UG", "region": "Arua", "serves_adults": true, "serves_children": true,
        "serves_sex": "female", "capacity": "full"
    });
    assert_eq!(
        server
            .call(
                "PUT",
                &a,
                &format!("/api/v1/organisations/{shelter}/services/shelter"),
                Some(&full)
            )
            .status,
        200
    );
    assert_eq!(
        names(&search(&f, "service=shelter&with_room=true")),
        Vec::<String>::new()
    );
    // Withdrawn listings disappear; withdrawing twice is 404.
    let path = format!("/api/v1/organisations/{shelter}/services/interpretation");
    assert_eq!(server.call("DELETE", &s, &path, None).status, 204);
    assert_eq!(server.call("DELETE", &s, &path, None).status, 404);
    assert_eq!(
        names(&search(&f, "service=interpretation")),
        Vec::<String>::new()
    );

    // An organisation switched off drops out of the directory.
    assert_eq!(
        server
            .post(
                Some(&a),
                &format!("/api/v1/organisations/{clinic}/deactivate"),
                &json!({})
            )
            .status,
        204
    );
    assert_eq!(names(&search(&f, "service=health")), Vec::<String>::new());
    assert_eq!(
        server
            .get_as(&f, &format!("/api/v1/organisations/{clinic}/services"))
            .json(),
        json!([])
    );

    // Every search and change is audited; refusals as denials.
    let mut conn = db.conn();
    assert!(
        audit::with_action(&mut conn, "directory.search")
            .unwrap()
            .len()
            >= 10
    );
    assert_eq!(
        audit::with_action(&mut conn, "directory.publish")
            .unwrap()
            .iter()
            .filter(|e| e.outcome == "success")
            .count(),
        4
    );
    assert_eq!(
        audit::with_action(&mut conn, "directory.publish")
            .unwrap()
            .iter()
            .filter(|e| e.outcome == "denied")
            .count(),
        3
    );
    assert_eq!(
        audit::with_action(&mut conn, "directory.withdraw")
            .unwrap()
            .iter()
            .filter(|e| e.outcome == "denied")
            .count(),
        3
    );
    assert_eq!(
        audit::with_action(&mut conn, "directory.withdraw")
            .unwrap()
            .iter()
            .filter(|e| e.outcome == "success")
            .count(),
        1
    );
}

both_engines!(organisations_publish_their_services_and_every_member_of_staff_finds_them);
