//! The HTTP plumbing over real HTTP on both engines: health, readiness, problems, limits,
//! request ids and security headers.

use actix_web::web;
use serde_json::{Value, json};
use tumaini_tests::{Engine, TestDb, TestResponse, TestServer, both_engines};

/// A JSON route added for these tests only, with a numeric field, so that every kind of bad
/// body can be provoked; the extractor configuration is the application's own (the binary
/// test provokes the same problems on the real sign-in endpoint).
fn echo_route(cfg: &mut web::ServiceConfig) {
    #[derive(serde::Deserialize, serde::Serialize)]
    struct Echo {
        count: u32,
    }
    cfg.route(
        "/test/echo",
        web::post().to(|body: web::Json<Echo>| async move { web::Json(body.into_inner()) }),
    );
}

/// Asserts a problem+json response of the given status and type, whose request id matches
/// the header, and returns its body.
fn assert_problem(response: &TestResponse, status: u16, problem_type: &str) -> Value {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    let body = response.json();
    assert_eq!(body["type"], problem_type, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    let request_id = response.header("x-request-id").expect("request id header");
    assert_eq!(body["request_id"], request_id);
    body
}

fn health_and_readiness(db: TestDb) {
    let server = TestServer::start(&db);
    let health = server.get("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({"status": "alive"}));
    let ready = server.get("/readyz");
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(
        ready.json(),
        json!({"status": "ready", "database": db.engine().name(), "migrations": "current"})
    );
}

both_engines!(health_and_readiness);

#[test]
fn readiness_reports_pending_migrations() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(db) = TestDb::empty(engine) else {
            continue;
        };
        let server = TestServer::start(&db);
        let body = assert_problem(
            &server.get("/readyz"),
            503,
            "urn:tumaini:problem:service-unavailable",
        );
        assert!(
            body["detail"].as_str().unwrap().contains("tumaini migrate"),
            "{body}"
        );
        assert_eq!(
            server.get("/healthz").status,
            200,
            "liveness does not depend on the database"
        );
    }
}

#[test]
fn readiness_reports_an_unreachable_database() {
    // Nothing listens on port 1 of the loopback interface.
    let url = tumaini_db::DatabaseUrl::parse("postgres://tumaini@127.0.0.1:1/none").unwrap();
    let pool = tumaini_db::build_pool(&url, tumaini_db::PoolOptions::default()).unwrap();
    let config = tumaini_api::Config::from_sources(
        |k| match k {
            "DATABASE_URL" => Some("postgres://tumaini@127.0.0.1:1/none".to_owned()),
            "TUMAINI_SECRET_KEY" => Some("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".to_owned()),
            "TUMAINI_AUDIT_KEY" => Some("YXVkaXQta2V5LW1hdGVyaWFsLTMyLWJ5dGVzLWxvbmc=".to_owned()),
            _ => None,
        },
        None,
    )
    .unwrap();
    let state = tumaini_api::AppState::new(pool, &config).unwrap();
    let app = actix_web::HttpServer::new(move || tumaini_api::build_app(state.clone(), |_| {}))
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = app.addrs()[0];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body) = actix_web::rt::System::new().block_on(async move {
        let server = app.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let answer = std::thread::spawn(move || {
            runtime.block_on(async {
                let response = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .unwrap()
                    .get(format!("http://{addr}/readyz"))
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            })
        });
        let outcome = loop {
            if answer.is_finished() {
                break answer.join().unwrap();
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        handle.stop(false).await;
        outcome
    });
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not reachable"), "{body}");
    assert!(
        !body.contains("127.0.0.1:1"),
        "no connection detail leaks: {body}"
    );
}

fn unknown_routes_and_methods_are_problems(db: TestDb) {
    let server = TestServer::start(&db);
    assert_problem(
        &server.get("/no/such/route"),
        404,
        "urn:tumaini:problem:not-found",
    );
    // A name pasted into a case URL is never echoed back, signed in or not.
    let pasted = server.get("/api/v1/cases/Amina%20Okello");
    assert_problem(&pasted, 401, "urn:tumaini:problem:unauthenticated");
    assert!(!pasted.text().contains("Amina"));
    let wrong_method = server.send(|c, base| c.delete(format!("{base}/healthz")));
    assert!(wrong_method.status == 404 || wrong_method.status == 405);
    assert_eq!(
        wrong_method.header("content-type"),
        Some("application/problem+json")
    );
}

both_engines!(unknown_routes_and_methods_are_problems);

fn bad_bodies_are_problems_that_change_nothing(db: TestDb) {
    let server = TestServer::start_with(&db, &[("TUMAINI_MAX_BODY_BYTES", "2048")], echo_route);
    let echoed = server.raw(
        "POST",
        "/test/echo",
        "application/json",
        br#"{"count": 3}"#.to_vec(),
    );
    assert_eq!(echoed.status, 200, "{}", echoed.text());
    assert_eq!(echoed.json(), json!({"count": 3}));

    let malformed = server.raw(
        "POST",
        "/test/echo",
        "application/json",
        b"{\"count\": 3".to_vec(),
    );
    assert_problem(&malformed, 400, "urn:tumaini:problem:malformed-json");

    let wrong_shape = server.raw(
        "POST",
        "/test/echo",
        "application/json",
        br#"{"count": "Amina Okello"}"#.to_vec(),
    );
    let body = assert_problem(&wrong_shape, 422, "urn:tumaini:problem:invalid-body");
    assert!(
        !body.to_string().contains("Amina"),
        "a submitted value is never echoed: {body}"
    );

    let wrong_type = server.raw(
        "POST",
        "/test/echo",
        "text/plain",
        br#"{"count": 3}"#.to_vec(),
    );
    assert_problem(
        &wrong_type,
        415,
        "urn:tumaini:problem:unsupported-media-type",
    );
    let form = server.raw(
        "POST",
        "/test/echo",
        "application/x-www-form-urlencoded",
        b"count=3".to_vec(),
    );
    assert_problem(&form, 415, "urn:tumaini:problem:unsupported-media-type");

    let oversized = format!(r#"{{"count": 3, "pad": "{}"}}"#, "x".repeat(4096));
    let too_big = server.raw(
        "POST",
        "/test/echo",
        "application/json",
        oversized.clone().into_bytes(),
    );
    assert_problem(&too_big, 413, "urn:tumaini:problem:payload-too-large");

    // Without a Content-Length the extractor's own limit applies.
    let stream = futures_util::stream::iter(
        oversized
            .into_bytes()
            .chunks(512)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let chunked = server.send(|c, base| {
        c.post(format!("{base}/test/echo"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
    });
    assert_problem(&chunked, 413, "urn:tumaini:problem:payload-too-large");
}

both_engines!(bad_bodies_are_problems_that_change_nothing);

fn request_ids_and_security_headers(db: TestDb) {
    let server = TestServer::start(&db);
    let first = server.get("/healthz");
    let second = server.get("/healthz");
    let id = first.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_ne!(
        Some(id),
        second.header("x-request-id"),
        "each request has its own id"
    );

    // The id is always the server's own: a client's (a gateway's) is kept beside it in the
    // audit trail, never in its place (item 11b's test has the audit side).
    let forwarded = server.send(|c, base| {
        c.get(format!("{base}/healthz"))
            .header("x-request-id", "gateway-1234-abcd")
    });
    let own = forwarded.header("x-request-id").unwrap();
    assert_ne!(own, "gateway-1234-abcd");
    assert!(uuid::Uuid::parse_str(own).is_ok(), "{own}");
    let hostile = server.send(|c, base| {
        c.get(format!("{base}/healthz"))
            .header("x-request-id", "<script>alert(1)</script>")
    });
    let replaced = hostile.header("x-request-id").unwrap();
    assert!(
        uuid::Uuid::parse_str(replaced).is_ok(),
        "an unsafe id is replaced: {replaced}"
    );

    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(first.header(name), Some(value), "{name}");
    }
    let csp = first.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let problem = server.get("/nowhere");
    assert_eq!(
        problem.header("x-content-type-options"),
        Some("nosniff"),
        "errors too"
    );
}

both_engines!(request_ids_and_security_headers);
