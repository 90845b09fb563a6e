//! Machine clients (OAuth 2.0 client credentials) over real HTTP on both engines: an
//! administrator registers a client, the client gets a token at `/api/v1/auth/token` (HTTP Basic
//! or form fields) and reads what its scopes name; the token endpoint's refusals carry the
//! RFC 6749 codes; a revoked, expired or switched-off client, or one calling from outside its
//! networks, is refused at the next request; a rotated secret works beside the old one until
//! that is retired; the events it causes name it; its secret is stored only as a keyed hash.

use serde_json::{Value, json};
use tumaini_db::ids::ClientId;
use tumaini_db::models::ApiClient;
use tumaini_db::models::audit;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, Account};
use tumaini_tests::{TestDb, TestResponse, TestServer, both_engines};

use crate::auth::token;

/// Every scope.
pub(crate) const ALL_SCOPES: [&str; 5] = [
    "audit:read",
    "statistics:read",
    "referrals:overview",
    "cases:summary",
    "directory:read",
];

/// Registers a client for `organisation` as `admin`: its id and its secret.
pub(crate) fn register(
    server: &TestServer,
    admin: &str,
    organisation: &str,
    scopes: &[&str],
    networks: &[&str],
) -> (String, String) {
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let response = server.post(
        Some(admin),
        "/api/v1/admin/clients",
        &json!({
            "organisation_id": organisation, "name": "Nightly audit export",
            "scopes": scopes, "legal_basis": "legal_obligation",
            "legal_reference": "Prevention of Trafficking in Persons Act 2009, s. 21",
            "allowed_networks": networks, "expires_at": expires,
        }),
    );
    assert_eq!(response.status, 201, "{}", response.text());
    let body = response.json();
    (
        body["client"]["id"].as_str().unwrap().to_owned(),
        body["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// `POST /api/v1/auth/token` with a form, by HTTP Basic when `basic` is given, from the
/// address `forwarded_for` names (when the server trusts the loopback proxy).
pub(crate) fn token_request(
    server: &TestServer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
    forwarded_for: Option<&str>,
) -> TestResponse {
    let form: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let basic = basic.map(|(id, secret)| (id.to_owned(), secret.to_owned()));
    let forwarded_for = forwarded_for.map(str::to_owned);
    server.send(move |c, base| {
        let mut request = c.post(format!("{base}/api/v1/auth/token")).form(&form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        if let Some(address) = forwarded_for {
            request = request.header("x-forwarded-for", address);
        }
        request
    })
}

/// A client's access token (all its scopes, or those named), asserting success.
pub(crate) fn client_token(
    server: &TestServer,
    id: &str,
    secret: &str,
    scope: Option<&str>,
) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = token_request(server, Some((id, secret)), &form, None);
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["access_token"].as_str().unwrap().to_owned()
}

/// `GET path` with a bearer token from the address `forwarded_for` names.
fn get_from(server: &TestServer, token: &str, path: &str, forwarded_for: &str) -> u16 {
    let (token, path, address) = (token.to_owned(), path.to_owned(), forwarded_for.to_owned());
    server
        .send(move |c, base| {
            c.get(format!("{base}{path}"))
                .bearer_auth(token)
                .header("x-forwarded-for", address)
        })
        .status
}

/// An administrator (second factor enrolled) and a coordination office with a coordinator.
pub(crate) struct Setup {
    pub(crate) admin: String,
    pub(crate) office: String,
    pub(crate) coordinator: Account,
}

pub(crate) fn setup(server: &TestServer, db: &TestDb) -> Setup {
    let admin = seed::account(db, Role::Admin);
    let office = seed::organisation(db, OrganisationKind::CoordinationOffice);
    let coordinator = seed::account_in(db, &office, Role::Coordinator);
    Setup {
        admin: token(server, &admin.email).0,
        office: office.to_string(),
        coordinator,
    }
}

/// The secret with its last character changed (to one it is not).
fn altered(secret: &str) -> String {
    let last = if secret.ends_with('A') { 'B' } else { 'A' };
    format!("{}{last}", &secret[..secret.len() - 1])
}

fn problem_error(response: &TestResponse) -> Value {
    response.json()["error"].clone()
}

fn client_registered_gets_a_token_reads_and_is_revoked(db: TestDb) {
    let server = TestServer::start(&db);
    let s = setup(&server, &db);
    let (id, secret) = register(
        &server,
        &s.admin,
        &s.office,
        &ALL_SCOPES,
        &["127.0.0.0/8", "::1"],
    );
    assert!(secret.starts_with("tumaini_cs_"), "a scannable prefix");

    // The list and the client itself never show the secret.
    let listed = server.get_as(&s.admin, "/api/v1/admin/clients");
    assert_eq!(listed.status, 200);
    assert!(!listed.text().contains(&secret));
    let one = server.get_as(&s.admin, &format!("/api/v1/admin/clients/{id}"));
    assert_eq!(one.status, 200);
    assert!(!one.text().contains(&secret));
    assert_eq!(one.json()["legal_basis"], "legal_obligation");
    assert!(one.json()["expires_at"].as_str().unwrap().ends_with('Z'));

    // HTTP Basic and form fields both work; the answer is RFC 6749 §5.1.
    let by_basic = token_request(
        &server,
        Some((&id, &secret)),
        &[("grant_type", "client_credentials")],
        None,
    );
    assert_eq!(by_basic.status, 200, "{}", by_basic.text());
    let body = by_basic.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(by_basic.header("cache-control"), Some("no-store"));
    let by_form = token_request(
        &server,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "audit:read"),
        ],
        None,
    );
    assert_eq!(by_form.status, 200, "{}", by_form.text());
    assert_eq!(by_form.json()["scope"], "audit:read");

    // The refusals, with their RFC 6749 codes.
    let wrong = altered(&secret);
    let refused = token_request(
        &server,
        Some((&id, &wrong)),
        &[("grant_type", "client_credentials")],
        None,
    );
    assert_eq!(refused.status, 401);
    assert_eq!(problem_error(&refused), "invalid_client");
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    assert!(
        !refused.text().contains(&wrong),
        "the secret is never echoed"
    );
    let other_id = ClientId::generate().to_string();
    let refused = token_request(
        &server,
        Some((&other_id, &secret)),
        &[("grant_type", "client_credentials")],
        None,
    );
    assert_eq!(
        (refused.status, problem_error(&refused)),
        (401, json!("invalid_client"))
    );
    let refused = token_request(&server, None, &[("grant_type", "client_credentials")], None);
    assert_eq!(
        (refused.status, problem_error(&refused)),
        (401, json!("invalid_client"))
    );
    let refused = token_request(
        &server,
        Some((&id, &secret)),
        &[("grant_type", "password")],
        None,
    );
    assert_eq!(
        (refused.status, problem_error(&refused)),
        (400, json!("unsupported_grant_type"))
    );
    let refused = token_request(
        &server,
        Some((&id, &secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "cases:groups"),
        ],
        None,
    );
    assert_eq!(
        (refused.status, problem_error(&refused)),
        (400, json!("invalid_scope"))
    );
    let refused = token_request(
        &server,
        Some((&id, &secret)),
        &[("grant_type", "client_credentials"), ("client_id", &id)],
        None,
    );
    assert_eq!(
        (refused.status, problem_error(&refused)),
        (400, json!("invalid_request"))
    );
    let as_json = server.post(
        None,
        "/api/v1/auth/token",
        &json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}),
    );
    assert_eq!(as_json.status, 415);

    // The token reads the audit trail, and the event of that reading names the client.
    let access = body["access_token"].as_str().unwrap().to_owned();
    let events = server.get_as(&access, "/api/v1/audit/events?action=auth.client_token");
    assert_eq!(events.status, 200, "{}", events.text());
    let items = events.json()["items"].as_array().unwrap().clone();
    assert!(
        items
            .iter()
            .any(|e| e["actor_client_id"] == id.as_str() && e["outcome"] == "success"),
        "the token grants are in the trail, naming the client"
    );
    let queries = audit::with_action(&mut db.conn(), "audit.query").unwrap();
    let by_client = queries
        .iter()
        .filter(|e| e.actor_client_id.as_deref() == Some(id.as_str()))
        .count();
    assert_eq!(
        by_client, 1,
        "the client's own reading is audited under its name"
    );
    assert!(
        queries
            .iter()
            .all(|e| e.actor_user_id.is_none() || e.actor_client_id.is_none())
    );
    // The coordinator sees the client's reading in the trail.
    let coordinator = token(&server, &s.coordinator.email).0;
    let seen = server.get_as(
        &coordinator,
        &format!("/api/v1/audit/events?action=audit.query&client_id={id}"),
    );
    let seen_items = seen.json()["items"].as_array().unwrap().clone();
    assert_eq!(seen_items.len(), 1, "filtered by the client");
    assert!(
        seen.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor_client_id"] == id.as_str())
    );

    // A client's token is no person's: every person-only endpoint refuses it.
    for path in [
        "/api/v1/auth/me",
        "/api/v1/organisations",
        "/api/v1/users",
        "/api/v1/auth/sessions",
    ] {
        assert_eq!(server.get_as(&access, path).status, 401, "{path}");
    }

    // Revoked: the very next request is refused, and no new token is issued.
    let revoked = server.post(
        Some(&s.admin),
        &format!("/api/v1/admin/clients/{id}/revoke"),
        &json!({}),
    );
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    assert!(revoked.json()["revoked_at"].is_string());
    assert_eq!(server.get_as(&access, "/api/v1/audit/events").status, 401);
    let refused = token_request(
        &server,
        Some((&id, &secret)),
        &[("grant_type", "client_credentials")],
        None,
    );
    assert_eq!(
        (refused.status, problem_error(&refused)),
        (401, json!("invalid_client"))
    );
}

both_engines!(client_registered_gets_a_token_reads_and_is_revoked);

fn only_administrators_manage_clients(db: TestDb) {
    let server = TestServer::start(&db);
    let s = setup(&server, &db);
    let (id, _) = register(
        &server,
        &s.admin,
        &s.office,
        &["audit:read"],
        &["127.0.0.1"],
    );
    let coordinator = token(&server, &s.coordinator.email).0;
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let attempt = server.post(
        Some(&coordinator),
        "/api/v1/admin/clients",
        &json!({
            "organisation_id": s.office, "name": "mine", "scopes": ["audit:read"],
            "legal_basis": "public_task", "legal_reference": "x",
            "allowed_networks": ["0.0.0.0/0"], "expires_at": expires,
        }),
    );
    assert_eq!(attempt.status, 403);
    assert_eq!(
        server.get_as(&coordinator, "/api/v1/admin/clients").status,
        403
    );
    for (method, path) in [
        ("GET", format!("/api/v1/admin/clients/{id}")),
        ("POST", format!("/api/v1/admin/clients/{id}/secrets")),
        ("POST", format!("/api/v1/admin/clients/{id}/revoke")),
    ] {
        let response = server.call(method, &coordinator, &path, None);
        assert_eq!(response.status, 404, "{method} {path}");
    }
    let client = ApiClient::find(&mut db.conn(), &id.parse().unwrap()).unwrap();
    assert!(client.revoked_at.is_none(), "nothing changed");
    // An unknown scope, a bad network or a past expiry are refused, naming the field only.
    let bad = server.post(
        Some(&s.admin),
        "/api/v1/admin/clients",
        &json!({
            "organisation_id": s.office, "name": "x", "scopes": ["audit:read"],
            "legal_basis": "public_task", "legal_reference": "x",
            "allowed_networks": ["10.0.0.0/33"], "expires_at": expires,
        }),
    );
    assert_eq!(bad.status, 422);
    assert!(bad.text().contains("allowed_networks") && !bad.text().contains("10.0.0.0/33"));
    let bad = server.post(
        Some(&s.admin),
        "/api/v1/admin/clients",
        &json!({
            "organisation_id": s.office, "name": "x", "scopes": ["cases:groups"],
            "legal_basis": "public_task", "legal_reference": "x",
            "allowed_networks": ["10.0.0.0/8"], "expires_at": expires,
        }),
    );
    assert_eq!(bad.status, 422);
}

both_engines!(only_administrators_manage_clients);

fn networks_expiry_rotation_and_a_switched_off_organisation(db: TestDb) {
    // The loopback is a trusted proxy: `X-Forwarded-For` names the client's address.
    let server = TestServer::start_with(
        &db,
        &[("TUMAINI_TRUSTED_PROXIES", "127.0.0.1/32, ::1")],
        |_| {},
    );
    let s = setup(&server, &db);
    let (id, old) = register(
        &server,
        &s.admin,
        &s.office,
        &["audit:read"],
        &["10.1.0.0/16"],
    );
    let grant = [("grant_type", "client_credentials")];

    // Outside the allowed networks: no token, and a token is refused from there.
    let outside = token_request(&server, Some((&id, &old)), &grant, Some("192.0.2.7"));
    assert_eq!(
        (outside.status, problem_error(&outside)),
        (401, json!("invalid_client"))
    );
    let direct = token_request(&server, Some((&id, &old)), &grant, None);
    assert_eq!(
        direct.status, 401,
        "the proxy itself is not in the client's networks"
    );
    let inside = token_request(&server, Some((&id, &old)), &grant, Some("10.1.2.3"));
    assert_eq!(inside.status, 200, "{}", inside.text());
    let access = inside.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_from(&server, &access, "/api/v1/audit/events", "10.1.2.3"),
        200
    );
    assert_eq!(
        get_from(&server, &access, "/api/v1/audit/events", "192.0.2.7"),
        401
    );
    assert_eq!(
        get_from(&server, &access, "/api/v1/audit/events", "10.2.0.1"),
        401
    );

    // Rotation: both secrets work until the old one is retired; then only the new one.
    let rotated = server.post(
        Some(&s.admin),
        &format!("/api/v1/admin/clients/{id}/secrets"),
        &json!({}),
    );
    assert_eq!(rotated.status, 201, "{}", rotated.text());
    let new = rotated.json()["client_secret"].as_str().unwrap().to_owned();
    let old_secret_id = rotated.json()["client"]["secrets"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    for secret in [&old, &new] {
        let response = token_request(&server, Some((&id, secret)), &grant, Some("10.1.2.3"));
        assert_eq!(response.status, 200, "both secrets live");
    }
    let retired = server.post(
        Some(&s.admin),
        &format!("/api/v1/admin/clients/{id}/secrets/{old_secret_id}/retire"),
        &json!({}),
    );
    assert_eq!(retired.status, 200, "{}", retired.text());
    let response = token_request(&server, Some((&id, &old)), &grant, Some("10.1.2.3"));
    assert_eq!(
        (response.status, problem_error(&response)),
        (401, json!("invalid_client"))
    );
    let response = token_request(&server, Some((&id, &new)), &grant, Some("10.1.2.3"));
    assert_eq!(response.status, 200);
    let new_secret_id = rotated.json()["secret_id"].as_str().unwrap().to_owned();
    let last = server.post(
        Some(&s.admin),
        &format!("/api/v1/admin/clients/{id}/secrets/{new_secret_id}/retire"),
        &json!({}),
    );
    assert_eq!(last.status, 409, "the last live secret is not retired");

    // Expired: the next request with a live token is refused, and no token is issued.
    let access = response.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_from(&server, &access, "/api/v1/audit/events", "10.1.2.3"),
        200
    );
    let client_id: ClientId = id.parse().unwrap();
    let expiry = ApiClient::find(&mut db.conn(), &client_id)
        .unwrap()
        .expires_at;
    ApiClient::set_expiry(&mut db.conn(), &client_id, tumaini_db::time::now_utc()).unwrap();
    assert_eq!(
        get_from(&server, &access, "/api/v1/audit/events", "10.1.2.3"),
        401
    );
    let response = token_request(&server, Some((&id, &new)), &grant, Some("10.1.2.3"));
    assert_eq!(response.status, 401);
    ApiClient::set_expiry(&mut db.conn(), &client_id, expiry).unwrap();
    assert_eq!(
        get_from(&server, &access, "/api/v1/audit/events", "10.1.2.3"),
        200
    );

    // The organisation switched off: its client is refused at once.
    let off = server.post(
        Some(&s.admin),
        &format!("/api/v1/organisations/{}/deactivate", s.office),
        &json!({}),
    );
    assert_eq!(off.status, 204, "{}", off.text());
    assert_eq!(
        get_from(&server, &access, "/api/v1/audit/events", "10.1.2.3"),
        401
    );
    let response = token_request(&server, Some((&id, &new)), &grant, Some("10.1.2.3"));
    assert_eq!(response.status, 401);
}

both_engines!(networks_expiry_rotation_and_a_switched_off_organisation);

fn failed_client_authentication_counts_toward_the_sign_in_limit(db: TestDb) {
    let server = TestServer::start_with(&db, &[("TUMAINI_LOGIN_RATE_PER_MINUTE", "5")], |_| {});
    let grant = [("grant_type", "client_credentials")];
    let id = ClientId::generate().to_string();
    let statuses: Vec<u16> = (0..8)
        .map(|_| token_request(&server, Some((&id, "tumaini_cs_guess")), &grant, None).status)
        .collect();
    assert!(statuses.iter().take(5).all(|s| *s == 401), "{statuses:?}");
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
    // And the address's sign-in attempts share the bucket.
    let login = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": "nobody@example.test", "password": "whatever it is"}),
    );
    assert_eq!(login.status, 429);
}

both_engines!(failed_client_authentication_counts_toward_the_sign_in_limit);

/// `POST /api/v1/auth/token` to a served process, by HTTP Basic: the status.
fn served_token(addr: std::net::SocketAddr, id: &str, secret: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("http://{addr}/api/v1/auth/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn client_secrets_are_stored_and_logged_only_as_hashes(db: TestDb) {
    use crate::binary::{Served, call};
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let admin = seed::account(&db, Role::Admin);
    let cwd = tempfile::tempdir().unwrap();
    let served = Served::start_with(
        cwd.path(),
        Some(&db.url_string()),
        &[
            ("TUMAINI_LOGIN_RATE_PER_MINUTE", "1000"),
            ("TUMAINI_LOG", "debug"),
        ],
    );
    let addr = served.addr;
    let admin = crate::plaintext::sign_in(addr, &admin.email);
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let (status, created) = call(
        addr,
        "POST",
        "/api/v1/admin/clients",
        Some(&admin),
        Some(&json!({
            "organisation_id": office, "name": "Nightly audit export",
            "scopes": ["audit:read"], "legal_basis": "data_sharing_agreement",
            "legal_reference": "DSA-2026-014", "allowed_networks": ["127.0.0.0/8", "::1"],
            "expires_at": expires,
        })),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["client"]["id"].as_str().unwrap().to_owned();
    let first = created["client_secret"].as_str().unwrap().to_owned();
    let (status, rotated) = call(
        addr,
        "POST",
        &format!("/api/v1/admin/clients/{id}/secrets"),
        Some(&admin),
        None,
    );
    assert_eq!(status, 201, "{rotated}");
    let second = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(served_token(addr, &id, &first), 200);
    assert_eq!(served_token(addr, &id, &second), 200);
    let wrong = altered(&second);
    assert_eq!(served_token(addr, &id, &wrong), 401);
    let log = served.stop().join("\n");

    let stored: Vec<u8> = db.stored_bytes();
    let stored = String::from_utf8_lossy(&stored).into_owned();
    // The search sees what is there: the keyed hashes are stored, the requests logged.
    let client_id: ClientId = id.parse().unwrap();
    let hashes = ApiClient::secrets(&mut db.conn(), &client_id).unwrap();
    assert_eq!(hashes.len(), 2);
    for hash in &hashes {
        assert!(
            stored.contains(&hash.secret_hash),
            "the hash is in the database bytes"
        );
    }
    assert!(
        log.contains("/api/v1/auth/token"),
        "the token requests are in the log"
    );
    let mut hits = Vec::new();
    for secret in [&first, &second, &wrong] {
        // `tumaini_cs_<32 hex digits of the lookup id>_<random>`: the random part is base64url,
        // which may itself hold `_`, so it is cut by position, not at the last `_` (a short
        // fragment after one would be found in any large dump by chance).
        let random = &secret["tumaini_cs_".len() + 33..];
        assert!(random.len() >= 43, "{random}");
        for (place, text) in [("database", &stored), ("log", &log)] {
            if text.contains(secret.as_str()) || text.contains(random) {
                hits.push(format!("a secret in the {place}"));
            }
        }
    }
    println!(
        "client secrets scan ({}): 3 secrets through {} stored bytes and {} log lines: {} hits",
        db.engine(),
        stored.len(),
        log.lines().count(),
        hits.len()
    );
    assert!(hits.is_empty(), "{hits:?}");
}

both_engines!(client_secrets_are_stored_and_logged_only_as_hashes);

fn a_client_reading_about_too_many_cases_is_flagged(db: TestDb) {
    let server = TestServer::start_with(&db, &[("TUMAINI_MISUSE_THRESHOLD", "2")], |_| {});
    let s = setup(&server, &db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let cases: Vec<String> = (0..3)
        .map(|n| {
            let person = json!({
                "summary": {
                    "sex": "male", "age_band": "27_29", "region": "UG-304",
                    "encountered_on": "2026-11-12"
                },
                "groups": {"identity": {"given_names": "Opio", "family_name": format!("Misuse{n}")}}
            });
            let created = server.post(Some(&worker), "/api/v1/cases", &person);
            assert_eq!(created.status, 201, "{}", created.text());
            created.json()["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let (id, secret) = register(
        &server,
        &s.admin,
        &s.office,
        &["audit:read"],
        &["127.0.0.0/8", "::1"],
    );
    let access = client_token(&server, &id, &secret, None);
    let alerts = |db: &TestDb| {
        audit::with_action(&mut db.conn(), "audit.misuse_alert")
            .unwrap()
            .into_iter()
            .filter(|e| e.resource_type.as_deref() == Some("client"))
            .filter(|e| e.resource_id.as_deref() == Some(id.as_str()))
            .collect::<Vec<_>>()
    };
    let read = |case: &str| {
        let path = format!("/api/v1/audit/cases/{case}/disclosures");
        assert_eq!(server.get_as(&access, &path).status, 200);
    };
    // At the threshold: nothing.
    read(&cases[0]);
    read(&cases[1]);
    read(&cases[0]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        alerts(&db).is_empty(),
        "two cases are not more than the threshold"
    );
    // Over it: flagged once, high severity.
    read(&cases[2]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while alerts(&db).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no alert for the client"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let flagged = alerts(&db);
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].severity, "high");
    assert_eq!(
        flagged[0].actor_organisation_id.as_deref(),
        Some(s.office.as_str())
    );
    // The coordinators are told: the client, never a case.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let told = loop {
        // Quoted-printable soft line breaks undone, so that an id cut across lines is found.
        let found = server
            .mail_files()
            .into_iter()
            .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
            .find(|m| m.contains("Possible misuse"));
        if let Some(message) = found {
            break message;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no e-mail to the coordinators"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(told.contains(&id), "the e-mail names the client");
    assert!(told.contains(&s.coordinator.email));
    assert!(cases.iter().all(|c| !told.contains(c.as_str())) && !told.contains("Misuse"));
}

both_engines!(a_client_reading_about_too_many_cases_is_flagged);
