//! Sign-in, tokens and sessions over real HTTP on both engines: every way a token can be wrong
//! is refused with 401, sessions end when they should, refresh tokens are single-use, TOTP
//! codes cannot be replayed, accounts lock and unlock, and failures do not reveal accounts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tumaini_api::auth::tokens::{AUDIENCE, AccessClaims, ISSUER};
use tumaini_api::auth::totp;
use tumaini_db::models::audit;
use tumaini_db::vocabulary::Role;
use tumaini_tests::seed::{self, PASSWORD};
use tumaini_tests::{TestDb, TestServer, both_engines};

pub(crate) fn login(server: &TestServer, email: &str, password: &str) -> (u16, Value) {
    let response = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": email, "password": password}),
    );
    let status = response.status;
    (status, response.json())
}

/// The TOTP secret each test account enrolled, and the last time step it used: the tests act
/// as the account holder's authenticator app.
static AUTHENTICATORS: std::sync::LazyLock<std::sync::Mutex<Authenticators>> =
    std::sync::LazyLock::new(Default::default);

/// Each account's TOTP secret and the last time step a code of it was used.
type Authenticators = std::collections::HashMap<String, (Vec<u8>, u64)>;

/// A code for `email`'s enrolled second factor, at a time step not used before (waiting for
/// the next one if need be: a code is accepted once).
pub(crate) fn next_code(email: &str) -> String {
    let mut authenticators = AUTHENTICATORS.lock().unwrap();
    let (secret, last) = authenticators
        .get_mut(email)
        .unwrap_or_else(|| panic!("{email} enrolled no second factor in this test"));
    let mut current = u64::try_from(chrono::Utc::now().timestamp()).unwrap() / 30;
    let step = (*last + 1).max(current.saturating_sub(1));
    while step > current + 1 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        current = u64::try_from(chrono::Utc::now().timestamp()).unwrap() / 30;
    }
    *last = step;
    totp::code_at(secret, step * 30).unwrap()
}

/// Signs in with the seeded password (and, for an account that enrolled a second factor in
/// this test, a code); an account whose role needs a second factor not yet enrolled (a
/// supervisor, say) enrols one in the same session.
pub(crate) fn token(server: &TestServer, email: &str) -> (String, String) {
    let (mut status, mut body) = login(server, email, PASSWORD);
    if status == 401 && body["type"] == "urn:tumaini:problem:mfa-required" {
        let response = server.post(
            None,
            "/api/v1/auth/login",
            &json!({"email": email, "password": PASSWORD, "otp": next_code(email)}),
        );
        (status, body) = (response.status, response.json());
    }
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    if body["mfa_enrolment_required"] == true {
        enrol(server, email, &access);
    }
    (access, body["refresh_token"].as_str().unwrap().to_owned())
}

/// Enrols TOTP for `email` in the session of `access`; returns the secret (also kept for
/// [`next_code`]).
pub(crate) fn enrol(server: &TestServer, email: &str, access: &str) -> Vec<u8> {
    let enrolment = server
        .post(Some(access), "/api/v1/auth/mfa/totp", &json!({}))
        .json();
    let secret = base32_decode(enrolment["secret"].as_str().unwrap());
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    let code = totp::code_at(&secret, now).unwrap();
    let confirmed = server.post(
        Some(access),
        "/api/v1/auth/mfa/totp/confirm",
        &json!({"code": code}),
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    AUTHENTICATORS
        .lock()
        .unwrap()
        .insert(email.to_owned(), (secret.clone(), now / 30));
    secret
}

fn assert_unauthenticated(server: &TestServer, token: &str, why: &str) {
    let response = server.get_as(token, "/api/v1/auth/me");
    assert_eq!(response.status, 401, "{why}: {}", response.text());
    assert_eq!(
        response.json()["type"],
        "urn:tumaini:problem:unauthenticated",
        "{why}"
    );
    assert!(
        response
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
}

fn without_request_id(mut body: Value) -> Value {
    body.as_object_mut().unwrap().remove("request_id");
    body
}

fn sign_in_and_who_am_i(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);
    let (access, _) = token(&server, &account.email.to_uppercase());
    let me = server.get_as(&access, "/api/v1/auth/me");
    assert_eq!(me.status, 200, "{}", me.text());
    assert_eq!(me.json()["id"], account.id.as_str());
    assert_eq!(me.json()["role"], "case_worker");

    let events = audit::with_action(&mut db.conn(), "auth.login").unwrap();
    assert_eq!(events.len(), 1, "exactly one audit event for one sign-in");
    assert_eq!(events[0].outcome, "success");
    assert_eq!(
        events[0].actor_user_id.as_deref(),
        Some(account.id.as_str())
    );
    assert!(
        events[0]
            .client_hash
            .as_ref()
            .is_some_and(|h| !h.contains("127.0.0.1"))
    );
}

both_engines!(sign_in_and_who_am_i);

fn a_one_time_password_must_be_replaced_first(db: TestDb) {
    // As `tumaini admin create-user` leaves an account: invited, with a one-time password.
    let org = seed::organisation(&db, tumaini_db::vocabulary::OrganisationKind::Shelter);
    let one_time = "kwHZ7kQ2zPLhkn8qKj3j";
    tumaini_db::models::User::create(
        &mut db.conn(),
        &tumaini_db::models::NewUser {
            organisation_id: org,
            role: Role::Supervisor,
            email: "head@example.test".parse().unwrap(),
            display_name: "Head".into(),
            status: tumaini_db::vocabulary::UserStatus::Invited,
            password_hash: Some(tumaini_api::accounts::hash_password(one_time).unwrap()),
            password_must_change: true,
        },
    )
    .unwrap();
    let server = TestServer::start(&db);
    let (status, body) = login(&server, "head@example.test", one_time);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["password_must_change"], true);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let me = server.get_as(&access, "/api/v1/auth/me");
    assert_eq!(me.status, 200, "the profile is readable: {}", me.text());
    let users = server.get_as(&access, "/api/v1/users");
    assert_eq!(
        users.status, 403,
        "nothing else until the password is changed"
    );
    let changed = server.post(
        Some(&access),
        "/api/v1/auth/password",
        &json!({"current_password": one_time, "new_password": "a passphrase only I know"}),
    );
    assert_eq!(changed.status, 204, "{}", changed.text());
    let (status, body) = login(&server, "head@example.test", "a passphrase only I know");
    assert_eq!(status, 200);
    assert_eq!(body["password_must_change"], false);
    let access = body["access_token"].as_str().unwrap().to_owned();
    // A supervisor then enrols a second factor before anything else.
    assert_eq!(body["mfa_enrolment_required"], true);
    assert_eq!(server.get_as(&access, "/api/v1/users").status, 403);
    enrol(&server, "head@example.test", &access);
    assert_eq!(server.get_as(&access, "/api/v1/users").status, 200);
    assert_eq!(
        server.get_as(&access, "/api/v1/auth/me").json()["role"],
        "supervisor"
    );
    assert_eq!(
        login(&server, "head@example.test", one_time).0,
        401,
        "the one-time password is gone"
    );
}

both_engines!(a_one_time_password_must_be_replaced_first);

fn unknown_account_and_wrong_password_look_the_same(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);
    let (wrong_status, wrong) = login(&server, &account.email, "not the password at all");
    let (unknown_status, unknown) =
        login(&server, "nobody@example.test", "not the password at all");
    let (malformed_status, malformed) = login(&server, "not an address", "whatever it is");
    assert_eq!(
        (wrong_status, unknown_status, malformed_status),
        (401, 401, 401)
    );
    assert_eq!(
        without_request_id(wrong.clone()),
        without_request_id(unknown)
    );
    assert_eq!(
        without_request_id(wrong.clone()),
        without_request_id(malformed)
    );
    assert_eq!(wrong["type"], "urn:tumaini:problem:invalid-credentials");
}

both_engines!(unknown_account_and_wrong_password_look_the_same);

fn forged_and_stale_tokens_are_refused(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);
    let (access, _) = token(&server, &account.email);
    let keys = server.keys();
    let parts: Vec<&str> = access.split('.').collect();
    let claims: AccessClaims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let now = chrono::Utc::now().timestamp();

    // alg: none, with and without a signature.
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    assert_unauthenticated(&server, &format!("{none_header}.{}.", parts[1]), "alg none");
    assert_unauthenticated(
        &server,
        &format!("{none_header}.{}.{}", parts[1], parts[2]),
        "alg none, signed",
    );
    // Algorithm confusion: another algorithm named in the header, signature kept or remade.
    for alg in ["HS512", "RS256", "ES256", "EdDSA"] {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"at+jwt"}}"#));
        assert_unauthenticated(&server, &format!("{header}.{}.{}", parts[1], parts[2]), alg);
    }
    // Another typ.
    let jwt_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    assert_unauthenticated(
        &server,
        &format!("{jwt_header}.{}.{}", parts[1], parts[2]),
        "typ JWT",
    );
    // A tampered signature, and tampered claims under the old signature.
    let mut signature = parts[2].to_owned();
    let flipped = if signature.ends_with('A') { 'B' } else { 'A' };
    signature.pop();
    signature.push(flipped);
    assert_unauthenticated(
        &server,
        &format!("{}.{}.{signature}", parts[0], parts[1]),
        "tampered signature",
    );
    let mut other = claims.clone();
    other.sub = uuid::Uuid::now_v7().to_string();
    let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
    assert_unauthenticated(
        &server,
        &format!("{}.{forged_body}.{}", parts[0], parts[2]),
        "tampered claims",
    );

    // Correctly signed, but expired, not yet valid, or for another audience or issuer.
    let cases = [
        (
            "expired",
            AccessClaims {
                exp: now - 120,
                iat: now - 720,
                nbf: now - 720,
                ..claims.clone()
            },
        ),
        (
            "not yet valid",
            AccessClaims {
                nbf: now + 600,
                exp: now + 1200,
                ..claims.clone()
            },
        ),
        (
            "wrong audience",
            AccessClaims {
                aud: "another-api".into(),
                ..claims.clone()
            },
        ),
        (
            "wrong issuer",
            AccessClaims {
                iss: "someone-else".into(),
                ..claims.clone()
            },
        ),
        (
            "another user's id",
            AccessClaims {
                sub: uuid::Uuid::now_v7().to_string(),
                ..claims.clone()
            },
        ),
        (
            "unknown session",
            AccessClaims {
                sid: uuid::Uuid::now_v7().to_string(),
                ..claims.clone()
            },
        ),
    ];
    for (why, forged) in cases {
        assert_unauthenticated(&server, &keys.sign(&forged).unwrap(), why);
    }
    assert_eq!(
        (ISSUER, AUDIENCE),
        (claims.iss.as_str(), claims.aud.as_str())
    );
    // The genuine token still works.
    assert_eq!(server.get_as(&access, "/api/v1/auth/me").status, 200);
    assert_unauthenticated(&server, "", "no token");
}

both_engines!(forged_and_stale_tokens_are_refused);

fn logout_password_change_and_disabling_end_access(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);

    let (access, refresh) = token(&server, &account.email);
    assert_eq!(
        server
            .post(Some(&access), "/api/v1/auth/logout", &json!({}))
            .status,
        204
    );
    assert_unauthenticated(&server, &access, "after logout");
    assert_eq!(
        server
            .post(
                None,
                "/api/v1/auth/refresh",
                &json!({"refresh_token": refresh})
            )
            .status,
        401
    );

    let (access, _) = token(&server, &account.email);
    let (other_session, _) = token(&server, &account.email);
    let weak = server.post(
        Some(&access),
        "/api/v1/auth/password",
        &json!({"current_password": PASSWORD, "new_password": "password1234"}),
    );
    assert_eq!(weak.status, 422, "{}", weak.text());
    let changed = server.post(
        Some(&access),
        "/api/v1/auth/password",
        &json!({"current_password": PASSWORD, "new_password": "an entirely new passphrase"}),
    );
    assert_eq!(changed.status, 204, "{}", changed.text());
    assert_unauthenticated(&server, &access, "after password change");
    assert_unauthenticated(
        &server,
        &other_session,
        "other session after password change",
    );
    assert_eq!(login(&server, &account.email, PASSWORD).0, 401);
    let (status, body) = login(&server, &account.email, "an entirely new passphrase");
    assert_eq!(status, 200);
    let access = body["access_token"].as_str().unwrap().to_owned();

    let admin = seed::account_in(
        &db,
        &seed::organisation(
            &db,
            tumaini_db::vocabulary::OrganisationKind::CoordinationOffice,
        ),
        Role::Admin,
    );
    let admin_token = mfa_enrolled_token(&server, &admin.email);
    let disabled = server.call(
        "POST",
        &admin_token,
        &format!("/api/v1/users/{}/disable", account.id),
        None,
    );
    assert_eq!(disabled.status, 204, "{}", disabled.text());
    assert_unauthenticated(&server, &access, "after the user is disabled");
    assert_eq!(
        login(&server, &account.email, "an entirely new passphrase").0,
        401
    );
}

both_engines!(logout_password_change_and_disabling_end_access);

fn role_changes_and_disabled_organisations_end_access(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);
    let admin = seed::account(&db, Role::Admin);
    let admin_token = mfa_enrolled_token(&server, &admin.email);

    let (access, _) = token(&server, &account.email);
    // An administrator only asks for a role that reads cases; a coordinator of the
    // country approves it, and then it takes effect.
    let changed = server.call(
        "PUT",
        &admin_token,
        &format!("/api/v1/users/{}/role", account.id),
        Some(&json!({"role": "supervisor"})),
    );
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(changed.json()["role"], "case_worker");
    assert_eq!(changed.json()["requested_role"], "supervisor");
    assert_eq!(
        server.get_as(&access, "/api/v1/auth/me").json()["role"],
        "case_worker"
    );
    let coordinator = seed::account(&db, Role::Coordinator);
    let coordinator_token = mfa_enrolled_token(&server, &coordinator.email);
    let approved = server.post(
        Some(&coordinator_token),
        &format!("/api/v1/users/{}/approve", account.id),
        &json!({"role": "supervisor"}),
    );
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(approved.json()["role"], "supervisor");
    assert_unauthenticated(&server, &access, "after a role change");

    let (access, _) = token(&server, &account.email);
    assert_eq!(
        server.get_as(&access, "/api/v1/auth/me").json()["role"],
        "supervisor",
        "the role comes from the database"
    );
    let off = server.call(
        "POST",
        &admin_token,
        &format!(
            "/api/v1/organisations/{}/deactivate",
            account.organisation_id
        ),
        None,
    );
    assert_eq!(off.status, 204, "{}", off.text());
    assert_unauthenticated(&server, &access, "after the organisation is deactivated");
}

both_engines!(role_changes_and_disabled_organisations_end_access);

fn identity_comes_from_the_database_not_from_the_token(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = seed::account(&db, Role::CaseWorker);
    let (access, _) = token(&server, &worker.email);
    // A correctly signed token that also claims to be an administrator of another
    // organisation: the extra claims are ignored, the stored role and organisation rule.
    let parts: Vec<&str> = access.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let elsewhere = seed::organisation(
        &db,
        tumaini_db::vocabulary::OrganisationKind::CoordinationOffice,
    );
    claims["role"] = json!("admin");
    claims["organisation_id"] = json!(elsewhere.as_str());
    claims["mfa"] = json!(true);
    let forged = server.keys().sign(&claims).unwrap();
    let me = server.get_as(&forged, "/api/v1/auth/me").json();
    assert_eq!(me["role"], "case_worker");
    assert_eq!(me["organisation_id"], worker.organisation_id.as_str());
    assert_eq!(server.get_as(&forged, "/api/v1/organisations").status, 403);
    assert_eq!(server.get_as(&forged, "/api/v1/users").status, 403);

    // A role that is not in the vocabulary (written into the database by hand) is denied.
    use diesel::RunQueryDsl as _;
    diesel::sql_query(format!(
        "UPDATE users SET role = 'root' WHERE id = '{}'",
        worker.id
    ))
    .execute(&mut db.conn())
    .unwrap();
    assert_unauthenticated(&server, &access, "an unknown role");
}

both_engines!(identity_comes_from_the_database_not_from_the_token);

fn a_reused_refresh_token_revokes_the_session(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);
    let (access, first) = token(&server, &account.email);
    let rotated = server.post(
        None,
        "/api/v1/auth/refresh",
        &json!({"refresh_token": first}),
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    let second = rotated.json()["refresh_token"].as_str().unwrap().to_owned();
    let new_access = rotated.json()["access_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(server.get_as(&new_access, "/api/v1/auth/me").status, 200);

    // The old token again: someone copied it. The whole session ends.
    assert_eq!(
        server
            .post(
                None,
                "/api/v1/auth/refresh",
                &json!({"refresh_token": first})
            )
            .status,
        401
    );
    assert_eq!(
        server
            .post(
                None,
                "/api/v1/auth/refresh",
                &json!({"refresh_token": second})
            )
            .status,
        401
    );
    assert_unauthenticated(&server, &new_access, "access token of a revoked family");
    assert_unauthenticated(&server, &access, "first access token of a revoked family");
    assert_eq!(
        audit::with_action(&mut db.conn(), "auth.refresh_reuse")
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        server
            .post(
                None,
                "/api/v1/auth/refresh",
                &json!({"refresh_token": "made-up"})
            )
            .status,
        401
    );
}

both_engines!(a_reused_refresh_token_revokes_the_session);

fn sessions_can_be_listed_and_revoked(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);
    let (phone, _) = token(&server, &account.email);
    let (laptop, _) = token(&server, &account.email);
    let sessions = server.get_as(&laptop, "/api/v1/auth/sessions").json();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let phone_session = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        server
            .call(
                "DELETE",
                &laptop,
                &format!("/api/v1/auth/sessions/{phone_session}"),
                None
            )
            .status,
        204
    );
    assert_unauthenticated(&server, &phone, "a session revoked from another device");
    assert_eq!(server.get_as(&laptop, "/api/v1/auth/me").status, 200);
    // Someone else's session id is simply not found.
    let stranger = seed::account(&db, Role::CaseWorker);
    let (stranger_token, _) = token(&server, &stranger.email);
    let mine = server.get_as(&laptop, "/api/v1/auth/sessions").json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        server
            .call(
                "DELETE",
                &stranger_token,
                &format!("/api/v1/auth/sessions/{mine}"),
                None
            )
            .status,
        404
    );
    assert_eq!(server.get_as(&laptop, "/api/v1/auth/me").status, 200);
}

both_engines!(sessions_can_be_listed_and_revoked);

/// Signs in an account whose role needs MFA, enrols TOTP, and returns a token that passes.
pub(crate) fn mfa_enrolled_token(server: &TestServer, email: &str) -> String {
    let (status, body) = login(server, email, PASSWORD);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa_enrolment_required"], true);
    let access = body["access_token"].as_str().unwrap().to_owned();
    enrol(server, email, &access);
    access
}

pub(crate) fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .unwrap() as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

fn mfa_is_mandatory_for_admins_and_codes_work_once(db: TestDb) {
    let server = TestServer::start(&db);
    let admin = seed::account(&db, Role::Admin);
    let (status, body) = login(&server, &admin.email, PASSWORD);
    assert_eq!(status, 200);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let blocked = server.get_as(&access, "/api/v1/users");
    assert_eq!(blocked.status, 403);
    assert_eq!(
        blocked.json()["type"],
        "urn:tumaini:problem:mfa-enrolment-required"
    );

    let enrolment = server
        .post(Some(&access), "/api/v1/auth/mfa/totp", &json!({}))
        .json();
    assert!(
        enrolment["provisioning_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let secret = base32_decode(enrolment["secret"].as_str().unwrap());
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    let wrong = server.post(
        Some(&access),
        "/api/v1/auth/mfa/totp/confirm",
        &json!({"code": "000000"}),
    );
    assert_eq!(wrong.status, 401);
    let code = totp::code_at(&secret, now).unwrap();
    let confirmed = server.post(
        Some(&access),
        "/api/v1/auth/mfa/totp/confirm",
        &json!({"code": code}),
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.text());
    let recovery: Vec<String> =
        serde_json::from_value(confirmed.json()["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    assert_eq!(
        server.get_as(&access, "/api/v1/users").status,
        200,
        "enrolled in this session"
    );

    // Next sign-in: the password alone is not enough.
    let (status, body) = login(&server, &admin.email, PASSWORD);
    assert_eq!(status, 401);
    assert_eq!(body["type"], "urn:tumaini:problem:mfa-required");
    // The code used to confirm is spent: replaying it fails.
    let replay = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": admin.email, "password": PASSWORD, "otp": code}),
    );
    assert_eq!(replay.status, 401);
    assert_eq!(
        replay.json()["type"],
        "urn:tumaini:problem:invalid-credentials"
    );
    // The next step's code works once.
    let next = totp::code_at(&secret, now + 30).unwrap();
    let ok = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": admin.email, "password": PASSWORD, "otp": next}),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let again = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": admin.email, "password": PASSWORD, "otp": next}),
    );
    assert_eq!(again.status, 401, "a TOTP code is accepted once");
    // A recovery code works once, whatever its case.
    let first = recovery[0].to_uppercase();
    let ok = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": admin.email, "password": PASSWORD, "otp": first}),
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    let token = ok.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.get_as(&token, "/api/v1/users").status, 200);
    let again = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": admin.email, "password": PASSWORD, "otp": recovery[0]}),
    );
    assert_eq!(again.status, 401, "a recovery code is accepted once");
}

both_engines!(mfa_is_mandatory_for_admins_and_codes_work_once);

fn repeated_failures_lock_the_account_until_the_lock_expires(db: TestDb) {
    let server = TestServer::start_with(
        &db,
        &[
            ("TUMAINI_LOCKOUT_THRESHOLD", "3"),
            ("TUMAINI_LOCKOUT_SECS", "2"),
        ],
        |_| {},
    );
    let account = seed::account(&db, Role::CaseWorker);
    for _ in 0..3 {
        assert_eq!(
            login(&server, &account.email, "wrong guess number one").0,
            401
        );
    }
    let (status, locked) = login(&server, &account.email, PASSWORD);
    assert_eq!(status, 401, "the right password is refused while locked");
    let (_, wrong) = login(&server, &account.email, "wrong guess number two");
    assert_eq!(
        without_request_id(locked),
        without_request_id(wrong),
        "a lock looks like a wrong password"
    );
    std::thread::sleep(std::time::Duration::from_millis(2300));
    assert_eq!(
        login(&server, &account.email, PASSWORD).0,
        200,
        "the lock expires"
    );
    let denied = audit::with_action(&mut db.conn(), "auth.login").unwrap();
    assert_eq!(denied.iter().filter(|e| e.outcome == "denied").count(), 2);
    assert_eq!(denied.iter().filter(|e| e.outcome == "failure").count(), 3);
}

both_engines!(repeated_failures_lock_the_account_until_the_lock_expires);

fn each_client_address_is_rate_limited(db: TestDb) {
    let server = TestServer::start_with(&db, &[("TUMAINI_LOGIN_RATE_PER_MINUTE", "4")], |_| {});
    let statuses: Vec<u16> = (0..6)
        .map(|_| login(&server, "nobody@example.test", "some password here").0)
        .collect();
    assert_eq!(&statuses[..4], &[401, 401, 401, 401]);
    assert_eq!(statuses[5], 429, "{statuses:?}");
    let limited = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": "x@example.test", "password": "y"}),
    );
    assert_eq!(
        limited.json()["type"],
        "urn:tumaini:problem:too-many-requests"
    );
}

both_engines!(each_client_address_is_rate_limited);

fn administrators_and_supervisors_manage_accounts_in_their_scope(db: TestDb) {
    let server = TestServer::start(&db);
    let admin = seed::account(&db, Role::Admin);
    let admin_token = mfa_enrolled_token(&server, &admin.email);
    let created = server.post(
        Some(&admin_token),
        "/api/v1/organisations",
        &json!({
            "name": "Gulu Hope Shelter", "kind": "shelter", "country": "UG", "region": "Northern",
            "services": ["shelter", "health"]
        }),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let shelter = created.json()["id"].as_str().unwrap().to_owned();
    let duplicate = server.post(
        Some(&admin_token),
        "/api/v1/organisations",
        &json!({
            "name": "gulu hope shelter", "kind": "shelter", "country": "UG", "region": "Northern"
        }),
    );
    assert_eq!(duplicate.status, 409);

    let invited = server.post(
        Some(&admin_token),
        "/api/v1/users",
        &json!({
            "organisation_id": shelter, "role": "supervisor", "email": "head@gulu.example",
            "display_name": "Head of Shelter"
        }),
    );
    assert_eq!(invited.status, 201, "{}", invited.text());
    // A role that reads cases, asked for by an administrator: it waits for a second person.
    assert_eq!(invited.json()["status"], "awaiting_approval");
    assert_eq!(invited.json()["requested_role"], "supervisor");
    let misplaced = server.post(
        Some(&admin_token),
        "/api/v1/users",
        &json!({
            "organisation_id": shelter, "role": "coordinator", "email": "c@gulu.example",
            "display_name": "C"
        }),
    );
    assert_eq!(misplaced.status, 422, "{}", misplaced.text());

    // The supervisor of another organisation sees only their own.
    let supervisor = seed::account(&db, Role::Supervisor);
    let (supervisor_token, _) = token(&server, &supervisor.email);
    let mine = server.get_as(&supervisor_token, "/api/v1/users").json();
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|u| u["organisation_id"] == supervisor.organisation_id.as_str())
    );
    let head = invited.json()["id"].as_str().unwrap().to_owned();
    let elsewhere = server.call(
        "POST",
        &supervisor_token,
        &format!("/api/v1/users/{head}/disable"),
        None,
    );
    assert_eq!(
        elsewhere.status, 404,
        "another organisation's account is not found"
    );
    let into_other = server.post(
        Some(&supervisor_token),
        "/api/v1/users",
        &json!({
            "organisation_id": shelter, "role": "case_worker", "email": "x@gulu.example",
            "display_name": "X"
        }),
    );
    assert_eq!(into_other.status, 404);
    let promote = server.post(
        Some(&supervisor_token),
        "/api/v1/users",
        &json!({"role": "admin", "email": "y@example.test", "display_name": "Y"}),
    );
    assert_eq!(promote.status, 403);
    let own = server.post(
        Some(&supervisor_token),
        "/api/v1/users",
        &json!({
            "role": "case_worker", "email": "new.worker@example.test", "display_name": "New Worker"
        }),
    );
    assert_eq!(own.status, 201, "{}", own.text());
    assert_eq!(
        own.json()["organisation_id"],
        supervisor.organisation_id.as_str()
    );

    // A case worker administers nothing.
    let worker = seed::account(&db, Role::CaseWorker);
    let (worker_token, _) = token(&server, &worker.email);
    assert_eq!(server.get_as(&worker_token, "/api/v1/users").status, 403);
    assert_eq!(
        server.get_as(&worker_token, "/api/v1/organisations").status,
        403
    );

    // Every administrative action carries the policy decision that let it happen; every
    // refusal is audited with the policy that refused it (or none: default deny).
    let invites = audit::with_action(&mut db.conn(), "user.invite").unwrap();
    let allowed: Vec<_> = invites.iter().filter(|e| e.outcome == "success").collect();
    assert_eq!(allowed.len(), 2);
    assert!(
        allowed
            .iter()
            .all(|e| e.decision.as_deref() == Some("allow"))
    );
    assert!(
        allowed
            .iter()
            .any(|e| e.policy_ids == "admin.manage-all-users")
    );
    assert!(
        allowed
            .iter()
            .any(|e| e.policy_ids == "admin.supervisor-manages-own-users")
    );
    let refused = audit::with_action(&mut db.conn(), "user.list").unwrap();
    assert!(
        refused
            .iter()
            .any(|e| e.outcome == "denied" && e.decision.as_deref() == Some("deny"))
    );
}

both_engines!(administrators_and_supervisors_manage_accounts_in_their_scope);
