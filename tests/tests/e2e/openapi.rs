//! The OpenAPI document: valid OpenAPI 3.1, listing every route the server answers.

use std::process::Command;

use serde_json::Value;
use tumaini_tests::skip::{Prerequisite, skip};
use tumaini_tests::{TestDb, TestServer, both_engines};

/// Every route the API serves today. A route added without a test here fails
/// `every_served_route_is_documented`'s reverse check below.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/docs"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/admin/clients"),
    ("get", "/api/v1/admin/clients"),
    ("get", "/api/v1/admin/clients/{id}"),
    ("post", "/api/v1/admin/clients/{id}/secrets"),
    (
        "post",
        "/api/v1/admin/clients/{id}/secrets/{secret_id}/retire",
    ),
    ("post", "/api/v1/admin/clients/{id}/revoke"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("get", "/api/v1/auth/sessions"),
    ("delete", "/api/v1/auth/sessions/{id}"),
    ("post", "/api/v1/auth/password"),
    ("post", "/api/v1/auth/mfa/totp"),
    ("post", "/api/v1/auth/mfa/totp/confirm"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/password-reset/confirm"),
    ("post", "/api/v1/auth/invitation/accept"),
    ("post", "/api/v1/organisations"),
    ("get", "/api/v1/organisations"),
    ("post", "/api/v1/organisations/{id}/deactivate"),
    ("put", "/api/v1/organisations/{id}/case-access"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("post", "/api/v1/webhooks/{id}/enable"),
    ("post", "/api/v1/webhooks/{id}/rotate-secret"),
    ("post", "/api/v1/users"),
    ("put", "/api/v1/users/{id}/role"),
    ("post", "/api/v1/users/{id}/disable"),
    ("get", "/api/v1/users/approvals"),
    ("post", "/api/v1/users/{id}/approve"),
    ("post", "/api/v1/users/{id}/reject"),
    ("get", "/api/v1/regions"),
    ("post", "/api/v1/regions"),
    ("get", "/api/v1/vocabularies"),
    ("get", "/api/v1/cases"),
    ("post", "/api/v1/cases"),
    ("get", "/api/v1/cases/{id}"),
    ("patch", "/api/v1/cases/{id}"),
    ("get", "/api/v1/cases/{id}/assistance"),
    ("post", "/api/v1/cases/{id}/assistance"),
    ("get", "/api/v1/cases/{id}/consents"),
    ("post", "/api/v1/cases/{id}/consents"),
    ("post", "/api/v1/cases/{id}/consents/withdrawal"),
    ("post", "/api/v1/cases/{id}/identification-decisions"),
    ("get", "/api/v1/cases/{id}/notes"),
    ("post", "/api/v1/cases/{id}/notes"),
    ("post", "/api/v1/cases/{id}/nrm-referral"),
    ("post", "/api/v1/cases/{id}/status"),
    ("get", "/api/v1/screening-indicators"),
    ("get", "/api/v1/cases/{id}/screenings"),
    ("post", "/api/v1/cases/{id}/screenings"),
    ("get", "/api/v1/cases/{id}/risk-assessments"),
    ("post", "/api/v1/cases/{id}/risk-assessments"),
    ("get", "/api/v1/cases/{id}/plan"),
    ("put", "/api/v1/cases/{id}/plan"),
    ("get", "/api/v1/cases/{id}/duplicates"),
    ("post", "/api/v1/cases/{id}/duplicates/{other}/link"),
    ("post", "/api/v1/cases/{id}/duplicates/{other}/dismiss"),
    ("get", "/api/v1/anonymous-notifications"),
    ("post", "/api/v1/anonymous-notifications"),
    ("post", "/api/v1/cases/{id}/break-glass"),
    ("get", "/api/v1/cases/{id}/history"),
    ("post", "/api/v1/cases/{id}/restriction"),
    ("delete", "/api/v1/cases/{id}/restriction"),
    ("get", "/api/v1/cases/{id}/subject-access"),
    ("get", "/api/v1/audit/events"),
    ("get", "/api/v1/audit/cases/{id}/disclosures"),
    ("get", "/api/v1/audit/verify"),
    ("get", "/api/v1/audit/checkpoints"),
    ("get", "/api/v1/audit/public-key"),
    ("get", "/api/v1/directory/services"),
    ("post", "/api/v1/cases/{id}/referrals"),
    ("get", "/api/v1/cases/{id}/referrals"),
    ("get", "/api/v1/referrals"),
    ("get", "/api/v1/referrals/overview"),
    ("get", "/api/v1/referrals/{id}"),
    ("post", "/api/v1/referrals/{id}/accept"),
    ("post", "/api/v1/referrals/{id}/decline"),
    ("post", "/api/v1/referrals/{id}/start"),
    ("post", "/api/v1/referrals/{id}/complete"),
    ("post", "/api/v1/referrals/{id}/withdraw"),
    ("post", "/api/v1/cases/{id}/transfers"),
    ("get", "/api/v1/cases/{id}/ownership"),
    ("get", "/api/v1/transfers"),
    ("get", "/api/v1/transfers/{id}"),
    ("post", "/api/v1/transfers/{id}/accept"),
    ("post", "/api/v1/transfers/{id}/decline"),
    ("post", "/api/v1/transfers/{id}/withdraw"),
    ("get", "/api/v1/auth/notifications"),
    ("put", "/api/v1/auth/notifications"),
    ("get", "/api/v1/statistics/tables"),
    ("get", "/api/v1/statistics/reports/referral-response-times"),
    ("get", "/api/v1/statistics/reports/{name}"),
    ("get", "/api/v1/statistics/export"),
    ("get", "/api/v1/statistics/research-export"),
    ("get", "/api/v1/organisations/{id}/services"),
    ("put", "/api/v1/organisations/{id}/services/{service}"),
    ("delete", "/api/v1/organisations/{id}/services/{service}"),
    ("post", "/api/v1/cases/{id}/erasure-requests"),
    (
        "post",
        "/api/v1/cases/{id}/erasure-requests/{request}/approve",
    ),
    (
        "post",
        "/api/v1/cases/{id}/erasure-requests/{request}/refuse",
    ),
    (
        "post",
        "/api/v1/cases/{id}/erasure-requests/{request}/cancel",
    ),
    ("get", "/api/v1/erasure-requests"),
    ("put", "/api/v1/cases/{id}/legal-hold"),
    ("delete", "/api/v1/cases/{id}/legal-hold"),
    ("get", "/api/v1/cases/{id}/assignments"),
    ("put", "/api/v1/cases/{id}/assignments/{user_id}"),
    ("delete", "/api/v1/cases/{id}/assignments/{user_id}"),
    ("post", "/api/v1/cases/{id}/follow-ups"),
    ("get", "/api/v1/cases/{id}/follow-ups"),
    ("post", "/api/v1/cases/{id}/follow-ups/{follow_up}/done"),
    ("post", "/api/v1/cases/{id}/follow-ups/{follow_up}/cancel"),
    ("get", "/api/v1/work"),
    ("post", "/api/v1/cases/{id}/documents"),
    ("get", "/api/v1/cases/{id}/documents"),
    ("get", "/api/v1/cases/{id}/documents/{document}/content"),
    ("post", "/api/v1/cases/{id}/documents/{document}/versions"),
    ("delete", "/api/v1/cases/{id}/documents/{document}"),
    ("post", "/api/v1/cases/{id}/uploads"),
    ("head", "/api/v1/cases/{id}/uploads/{upload}"),
    ("patch", "/api/v1/cases/{id}/uploads/{upload}"),
    ("delete", "/api/v1/cases/{id}/uploads/{upload}"),
];

/// The path with every `{parameter}` replaced by a fresh UUID.
fn concrete_path(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(&uuid::Uuid::now_v7().to_string());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn every_served_route_is_documented(db: TestDb) {
    // With a scrape token, `/metrics` is served on the main listener (401 without the token).
    let server = TestServer::start_with(
        &db,
        &[(
            "TUMAINI_METRICS_TOKEN",
            "scrape-0123456789abcdef0123456789abcdef",
        )],
        |_| {},
    );
    let response = server.get("/api/v1/openapi.json");
    assert_eq!(response.status, 200);
    let doc = response.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
            let concrete = concrete_path(path);
            let answer = server.send(|c, base| {
                c.request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{base}{concrete}"),
                )
                .json(&serde_json::json!({}))
            });
            assert_ne!(
                answer.status, 404,
                "{method} {path} is documented but not served"
            );
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);

    let page = server.get("/api/v1/docs");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text();
    for (_, path) in ROUTES {
        assert!(html.contains(path), "docs page lacks {path}");
    }
    assert!(!html.contains("<script"), "the docs page runs no script");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing is fetched from elsewhere"
    );
}

both_engines!(every_served_route_is_documented);

#[test]
fn the_document_validates_as_openapi_3_1() {
    let doc: Value =
        serde_json::from_str(&tumaini_api::routes::openapi().to_pretty_json().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();

    let available = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        skip(
            Prerequisite::OpenapiValidator,
            "openapi-spec-validator is not installed \
             (`python3 -c \"import openapi_spec_validator\"` failed)",
        );
        return;
    }
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--schema", "3.1.0"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator rejected the document:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_request_body_has_an_example() {
    let doc = serde_json::to_value(tumaini_api::routes::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let mut missing = Vec::new();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(schema) =
                operation["requestBody"]["content"]["application/json"]["schema"].as_object()
            else {
                continue;
            };
            checked += 1;
            let resolved = match schema.get("$ref").and_then(Value::as_str) {
                Some(reference) => &schemas[reference.trim_start_matches("#/components/schemas/")],
                None => &Value::Object(schema.clone()),
            };
            if resolved.get("example").is_none() && resolved.get("examples").is_none() {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    println!(
        "request bodies with examples: {} of {checked}",
        checked - missing.len()
    );
    let cases: Vec<&String> = missing
        .iter()
        .filter(|m| m.contains("/cases") || m.contains("anonymous"))
        .collect();
    assert!(
        cases.is_empty(),
        "case request bodies without an example: {cases:?}"
    );
}

/// What a client generator needs of every operation: a schema for every body it can receive,
/// every status the server's plumbing can answer, and no boolean schema (generators such as
/// openapi-python-client refuse `false` where a schema object is expected).
#[test]
fn every_operation_documents_its_bodies_and_statuses() {
    let doc = serde_json::to_value(tumaini_api::routes::openapi()).unwrap();
    let mut faults = Vec::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let name = format!("{method} {path}");
            let responses = operation["responses"].as_object().unwrap();
            // A HEAD answer never has a body: its headers are what it describes.
            let bodiless = method == "head";
            for (status, response) in responses.iter().filter(|_| !bodiless) {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    if content.get("schema").is_none() {
                        faults.push(format!("{name}: {status} {media} has no schema"));
                    }
                }
                if status.starts_with('2')
                    && status != "204"
                    && status != "202"
                    && response["content"].as_object().is_none_or(|c| c.is_empty())
                {
                    faults.push(format!("{name}: {status} has no body described"));
                }
                if !status.starts_with('2')
                    && !status.starts_with('3')
                    && response["content"]
                        .get("application/problem+json")
                        .is_none()
                {
                    faults.push(format!("{name}: {status} is not a problem document"));
                }
            }
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            let decided = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            let mut needed: Vec<&str> = Vec::new();
            if secured {
                needed.push("401");
            }
            if decided {
                needed.push("403");
            }
            if path.contains('{') {
                needed.push("404");
            }
            if operation.get("requestBody").is_some() {
                needed.extend(["400", "413", "415", "422"]);
            }
            let never_unavailable = [
                "/healthz",
                "/api/v1/openapi.json",
                "/api/v1/docs",
                "/metrics",
            ];
            if !never_unavailable.contains(&path.as_str()) {
                needed.push("503");
            }
            for status in needed {
                if !responses.contains_key(status) {
                    faults.push(format!("{name}: {status} undocumented"));
                }
            }
        }
    }
    let text = doc.to_string();
    for boolean in [":false}", ":true}"] {
        for key in ["\"items\"", "\"schema\""] {
            if text.contains(&format!("{key}{boolean}")) {
                faults.push(format!("a boolean schema: {key}{boolean}"));
            }
        }
    }
    println!("operations checked: {operations}, faults: {}", faults.len());
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}
