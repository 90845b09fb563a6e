//! The holes found at the trust boundaries, each shut and held shut by a test named after its
//! item: sign-in throttling that locks at the default threshold, a password change that is not
//! an oracle, jurisdiction by country, consent to transfer abroad on every read, no existence
//! oracle at registration, no personal value in the idempotency cache or in an error, regions
//! from a list, rate limits that key the client behind a proxy and over IPv6, audited and
//! windowed bulk reads of referral reasons, and the smaller ones. Every test runs over real HTTP
//! on both engines, at the default settings unless it says why not.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::models::audit;
use tumaini_db::models::{Credentials, User};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, Account, PASSWORD};
use tumaini_tests::{Engine, TestDb, TestServer, both_engines};

use crate::auth::{enrol, login, mfa_enrolled_token, next_code, token};

fn person(family_name: &str, region: &str) -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG",
            "exploitation_country": "UG", "region": region, "encountered_on": "2026-11-20",
            "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": {
                "given_names": "Nakimuli", "family_name": family_name,
                "date_of_birth": "1999-04-12"
            },
            "contact": {"phones": ["+256 772 000 111"]}, "health": {"physical_health": "tired"}
        }
    })
}

fn register(server: &TestServer, token: &str, body: &Value) -> (String, Value) {
    let created = server.post(Some(token), "/api/v1/cases", body);
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    (body["id"].as_str().unwrap().to_owned(), body)
}

fn consent(server: &TestServer, token: &str, case: &str, recipients: &[&str]) {
    let given = server.post(
        Some(token),
        &format!("/api/v1/cases/{case}/consents"),
        &json!({
            "given_by": "person", "method": "written",
            "purposes": ["assistance", "referral", "identification"],
            "groups": ["identity", "contact", "health"], "recipients": recipients
        }),
    );
    assert_eq!(given.status, 201, "{}", given.text());
}

fn credentials(db: &TestDb, account: &Account) -> Credentials {
    User::credentials(&mut db.conn(), &account.id).unwrap()
}

fn addressees(server: &TestServer) -> Vec<String> {
    server
        .mail_files()
        .iter()
        .flat_map(|m| {
            m.lines()
                .filter(|l| l.to_ascii_lowercase().starts_with("to:"))
                .map(|l| l[3..].trim().to_lowercase())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Waits (a few seconds at most) until the outbox worker has written `count` messages.
fn wait_for_mail(server: &TestServer, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let files = server.mail_files();
        if files.len() >= count || Instant::now() > deadline {
            return files;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn item_01_the_lock_locks_at_the_default_threshold(db: TestDb) {
    // The default settings: five failures in fifteen minutes lock the account for fifteen.
    let server = TestServer::start(&db);
    let by_password = seed::account(&db, Role::CaseWorker);
    let by_code = seed::account(&db, Role::CaseWorker);
    let (access, _) = token(&server, &by_code.email);
    enrol(&server, &by_code.email, &access);
    // Six rounds, two seconds apart (longer than any delay the first failures set): a wrong
    // password for one account, the right password with a wrong code for the other.
    for round in 0..6 {
        if round > 0 {
            std::thread::sleep(Duration::from_millis(2100));
        }
        assert_eq!(
            login(&server, &by_password.email, "a wrong guess at the password").0,
            401
        );
        let guess = server.post(
            None,
            "/api/v1/auth/login",
            &json!({"email": by_code.email, "password": PASSWORD, "otp": "000000"}),
        );
        assert_eq!(guess.status, 401, "{}", guess.text());
    }
    // Locked (not merely delayed: past any delay the failures set), the right password, and
    // the right password with the right code, are refused.
    std::thread::sleep(Duration::from_millis(2100));
    let (status, body) = login(&server, &by_password.email, PASSWORD);
    assert_eq!(
        status, 401,
        "the right password signed in after six failures: {body}"
    );
    assert_eq!(body["type"], "urn:tumaini:problem:invalid-credentials");
    let right = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": by_code.email, "password": PASSWORD, "otp": next_code(&by_code.email)}),
    );
    assert_eq!(
        right.status,
        401,
        "the right code signed in after six wrong ones: {}",
        right.text()
    );
    let soon = chrono::Utc::now().naive_utc() + chrono::Duration::minutes(14);
    for account in [&by_password, &by_code] {
        let stored = credentials(&db, account);
        assert!(
            stored.locked_until.is_some_and(|until| until > soon),
            "{stored:?}"
        );
        assert_eq!(
            stored.failed_logins, 5,
            "the lock counts five failures: {stored:?}"
        );
    }
    let events = audit::with_action(&mut db.conn(), "auth.login").unwrap();
    let of = |account: &Account, outcome: &str| {
        events
            .iter()
            .filter(|e| {
                e.actor_user_id.as_deref() == Some(account.id.as_str()) && e.outcome == outcome
            })
            .count()
    };
    assert_eq!(of(&by_password, "failure"), 5);
    assert_eq!(
        of(&by_password, "denied"),
        2,
        "the sixth round and the right password"
    );
    assert_eq!(of(&by_code, "failure"), 5);
    // Each lock is loud: one high-severity event, and the account holder is told by e-mail
    // (the message names no address the attempts came from and no guess).
    let locks = audit::with_action(&mut db.conn(), "auth.account_locked").unwrap();
    for account in [&by_password, &by_code] {
        let theirs: Vec<_> = locks
            .iter()
            .filter(|e| e.resource_id.as_deref() == Some(account.id.as_str()))
            .collect();
        assert_eq!(theirs.len(), 1, "{locks:?}");
        assert_eq!(theirs[0].severity, "high");
    }
    let mail = wait_for_mail(&server, 2);
    for account in [&by_password, &by_code] {
        let told: Vec<_> = mail
            .iter()
            .filter(|m| m.to_lowercase().contains(&account.email.to_lowercase()))
            .collect();
        assert_eq!(told.len(), 1, "{mail:?}");
        assert!(told[0].contains("locked"), "{}", told[0]);
        assert!(
            !told[0].contains("a wrong guess") && !told[0].contains("127.0.0.1"),
            "{}",
            told[0]
        );
    }
}

both_engines!(item_01_the_lock_locks_at_the_default_threshold);

fn item_01_guesses_sent_at_once_lock_once_and_alert_once(db: TestDb) {
    // Slow hashes, one at a time (costs raised, lockout settings the defaults): twelve wrong
    // passwords sent at once are all read before the first is counted. Five lock the
    // account; the rest, recorded while the lock is in force, neither extend it nor raise
    // the alert again (else anyone could flood the holder's mailbox and the audit trail).
    let server = TestServer::start_with(
        &db,
        &[
            ("TUMAINI_ARGON2_ITERATIONS", "12"),
            ("TUMAINI_MAX_CONCURRENT_HASHES", "1"),
        ],
        |_| {},
    );
    let account = seed::account(&db, Role::CaseWorker);
    let url = format!("{}/api/v1/auth/login", server.base_url());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let statuses: Vec<u16> = runtime.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let guesses: Vec<_> = (0..12)
            .map(|i| {
                let (client, url, email) = (client.clone(), url.clone(), account.email.clone());
                tokio::spawn(async move {
                    client
                        .post(url)
                        .json(&json!({
                            "email": email, "password": format!("guess {i} at the password")
                        }))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for guess in guesses {
            statuses.push(guess.await.unwrap());
        }
        statuses
    });
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let stored = credentials(&db, &account);
    assert_eq!(stored.failed_logins, 5, "{stored:?}");
    let locks = audit::with_action(&mut db.conn(), "auth.account_locked").unwrap();
    assert_eq!(locks.len(), 1, "one lock, one alert: {locks:?}");
    let logins = audit::with_action(&mut db.conn(), "auth.login").unwrap();
    assert_eq!(logins.iter().filter(|e| e.outcome == "failure").count(), 5);
    assert_eq!(logins.iter().filter(|e| e.outcome == "denied").count(), 7);
    std::thread::sleep(Duration::from_millis(1500));
    let told = server
        .mail_files()
        .iter()
        .filter(|m| m.to_lowercase().contains(&account.email.to_lowercase()))
        .count();
    assert_eq!(told, 1, "the holder is told once");
}

both_engines!(item_01_guesses_sent_at_once_lock_once_and_alert_once);

fn item_01_failures_count_together_until_a_quiet_window(db: TestDb) {
    // The default throttle, driven with a clock: a slow trickle (one guess every ten
    // minutes, each inside fifteen of the last) adds up to the lock, where a window that
    // started at the first failure would have let it go on for ever; and a burst after a
    // quiet quarter of an hour starts afresh.
    let throttle = tumaini_api::config::Config::from_sources(|_| None, None)
        .unwrap()
        .auth
        .throttle();
    let account = seed::account(&db, Role::CaseWorker);
    let start = chrono::Utc::now().naive_utc() - chrono::Duration::hours(3);
    let at = |minutes: i64| start + chrono::Duration::minutes(minutes);
    let mut counted = Vec::new();
    for minutes in [0, 10, 20, 30, 40] {
        let failed =
            User::record_failed_login(&mut db.conn(), &account.id, &throttle, at(minutes)).unwrap();
        counted.push((failed.failures, failed.locked));
    }
    assert_eq!(
        counted,
        [(1, false), (2, false), (3, false), (4, false), (5, true)]
    );
    // After the lock and a quiet window, one failure does not lock again.
    let failed =
        User::record_failed_login(&mut db.conn(), &account.id, &throttle, at(40 + 15 + 16))
            .unwrap();
    assert_eq!((failed.failures, failed.locked), (1, false));
}

both_engines!(item_01_failures_count_together_until_a_quiet_window);

fn item_02_password_change_is_limited_per_account_and_per_session(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);
    let (stolen, _) = token(&server, &account.email);
    let (own, _) = token(&server, &account.email);
    let change = |token: &str, current: &str| {
        server.post(
            Some(token),
            "/api/v1/auth/password",
            &json!({"current_password": current, "new_password": "a brand new passphrase 42"}),
        )
    };
    // Twenty guesses as fast as they go, then the right password.
    let statuses: Vec<u16> = (0..20)
        .map(|i| change(&stolen, &format!("guess number {i} at it")).status)
        .collect();
    assert_eq!(&statuses[..3], &[401, 401, 401], "{statuses:?}");
    assert_eq!(
        &statuses[3..5],
        &[429, 429],
        "unchecked while the delay runs: {statuses:?}"
    );
    assert!(
        statuses[5..].iter().all(|s| *s == 401),
        "the session ended at the fifth: {statuses:?}"
    );
    let right = change(&stolen, PASSWORD);
    assert_eq!(
        right.status,
        401,
        "the guessing session may not change the password: {}",
        right.text()
    );
    assert_eq!(right.json()["type"], "urn:tumaini:problem:unauthenticated");
    assert_eq!(
        server.get_as(&stolen, "/api/v1/auth/me").status,
        401,
        "the session is over"
    );
    // The account holder is not locked out by it: their own session goes on, and after the
    // short delay the password still signs in.
    assert_eq!(server.get_as(&own, "/api/v1/auth/me").status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        login(&server, &account.email, PASSWORD).0,
        200,
        "the password is unchanged and not locked"
    );
    let events = audit::with_action(&mut db.conn(), "auth.password_change").unwrap();
    assert_eq!(events.iter().filter(|e| e.outcome == "failure").count(), 3);
    assert_eq!(events.iter().filter(|e| e.outcome == "denied").count(), 2);
    assert_eq!(
        events.iter().filter(|e| e.severity == "high").count(),
        1,
        "the ending is loud"
    );
}

both_engines!(item_02_password_change_is_limited_per_account_and_per_session);

fn item_02_guesses_sent_at_once_change_no_password(db: TestDb) {
    // One hash at a time, each slow (half a second or so): the nine guesses are all read
    // before the first is counted, and hashed one after the other. (Costs, not limits, are
    // raised: the lockout settings are the defaults.)
    let server = TestServer::start_with(
        &db,
        &[
            ("TUMAINI_ARGON2_ITERATIONS", "24"),
            ("TUMAINI_MAX_CONCURRENT_HASHES", "1"),
        ],
        |_| {},
    );
    let account = seed::account(&db, Role::CaseWorker);
    let (stolen, _) = token(&server, &account.email);
    let before = credentials(&db, &account).password_hash;
    // Eight wrong guesses at once, then (while they wait to be hashed) the right one: each
    // was checked before any was counted, but the right one comes last, when the others
    // have throttled the account and used the session's attempts up.
    let url = format!("{}/api/v1/auth/password", server.base_url());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let statuses: Vec<u16> =
        runtime.block_on(async {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let send =
                |current: String| {
                    let (client, url, stolen) = (client.clone(), url.clone(), stolen.clone());
                    tokio::spawn(async move {
                        client.post(url).bearer_auth(stolen)
                    .json(&json!({
                        "current_password": current, "new_password": "a brand new passphrase 42"
                    }))
                    .send().await.unwrap().status().as_u16()
                    })
                };
            let mut wrong: Vec<_> = (0..8)
                .map(|i| send(format!("wrong guess number {i} at it")))
                .collect();
            tokio::time::sleep(Duration::from_millis(60)).await;
            wrong.push(send(PASSWORD.to_owned()));
            let mut statuses = Vec::new();
            for task in wrong {
                statuses.push(task.await.unwrap());
            }
            statuses
        });
    assert_ne!(
        statuses[8], 204,
        "the right guess, last of nine sent at once, changed the password: {statuses:?}"
    );
    assert_eq!(
        credentials(&db, &account).password_hash,
        before,
        "{statuses:?}"
    );
}

both_engines!(item_02_guesses_sent_at_once_change_no_password);

/// A Ugandan case in the NRM, and the staff of two countries.
struct TwoCountries {
    server: TestServer,
    case: String,
    worker: String,
    ug_coordinator: (Account, String),
    ug_authority: String,
    ke_coordinator: (Account, String),
    ke_authority: String,
}

fn two_countries(db: &TestDb) -> TwoCountries {
    let server = TestServer::start(db);
    let shelter = seed::organisation(db, OrganisationKind::Shelter);
    let worker = seed::account_in(db, &shelter, Role::CaseWorker);
    let w = token(&server, &worker.email).0;
    let ug_office = seed::organisation(db, OrganisationKind::CoordinationOffice);
    let ug_panel = seed::organisation(db, OrganisationKind::CompetentAuthority);
    let ke_office = seed::organisation_in(db, OrganisationKind::CoordinationOffice, "KE");
    let ke_panel = seed::organisation_in(db, OrganisationKind::CompetentAuthority, "KE");
    let ug_coordinator = seed::account_in(db, &ug_office, Role::Coordinator);
    let ke_coordinator = seed::account_in(db, &ke_office, Role::Coordinator);
    let ug_authority = seed::account_in(db, &ug_panel, Role::CompetentAuthority);
    let ke_authority = seed::account_in(db, &ke_panel, Role::CompetentAuthority);
    let (case, _) = register(&server, &w, &person("Akello", "UG-202"));
    consent(&server, &w, &case, &["shelter", "competent_authority"]);
    let screened = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/screenings"),
        &json!({"indicators": [], "judgement": {"presumed": true, "reason": "a credible account"}}),
    );
    assert_eq!(screened.status, 201, "{}", screened.text());
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{case}/nrm-referral"),
                &json!({})
            )
            .status,
        200
    );
    TwoCountries {
        ug_coordinator: (
            ug_coordinator.clone(),
            mfa_enrolled_token(&server, &ug_coordinator.email),
        ),
        ke_coordinator: (
            ke_coordinator.clone(),
            mfa_enrolled_token(&server, &ke_coordinator.email),
        ),
        ug_authority: mfa_enrolled_token(&server, &ug_authority.email),
        ke_authority: mfa_enrolled_token(&server, &ke_authority.email),
        server,
        case,
        worker: w,
    }
}

fn item_03_coordinators_and_competent_authorities_are_bound_to_their_country(db: TestDb) {
    let f = two_countries(&db);
    let (server, case) = (&f.server, f.case.as_str());
    let ke = &f.ke_coordinator.1;
    let listed = |token: &str| -> Vec<String> {
        let page = server.get_as(token, "/api/v1/cases?limit=200");
        assert_eq!(page.status, 200, "{}", page.text());
        page.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // At home both see it.
    assert!(listed(&f.ug_coordinator.1).contains(&case.to_owned()));
    assert!(listed(&f.ug_authority).contains(&case.to_owned()));
    assert_eq!(
        server
            .get_as(&f.ug_coordinator.1, &format!("/api/v1/cases/{case}"))
            .status,
        200
    );
    assert_eq!(
        server
            .get_as(
                &f.ug_authority,
                &format!("/api/v1/cases/{case}?groups=identity&purpose=identification")
            )
            .status,
        200
    );
    // In Kenya: not listed, not readable, not decidable, not openable by break-glass.
    for token in [ke, &f.ke_authority] {
        assert!(!listed(token).contains(&case.to_owned()));
        assert_eq!(
            server
                .get_as(token, &format!("/api/v1/cases/{case}"))
                .status,
            404
        );
        assert_eq!(
            server
                .get_as(
                    token,
                    &format!("/api/v1/cases/{case}?groups=identity&purpose=identification")
                )
                .status,
            404
        );
    }
    let decided = server.post(
        Some(&f.ke_authority),
        &format!("/api/v1/cases/{case}/identification-decisions"),
        &json!({"decision": "reasonable_grounds_negative", "reasons": "decided from abroad"}),
    );
    assert_eq!(decided.status, 404, "{}", decided.text());
    let glass = server.post(
        Some(ke),
        &format!("/api/v1/cases/{case}/break-glass"),
        &json!({
            "groups": ["identity"],
            "justification": "an emergency that cannot wait for the rules at all"
        }),
    );
    assert_eq!(glass.status, 404, "{}", glass.text());
    let stage: String = tumaini_db::schema::cases::table
        .find(case)
        .select(tumaini_db::schema::cases::identification_stage)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(stage, "referred_to_nrm", "nothing was decided from abroad");
    // The audit trail: nothing about the case, nothing by Ugandan staff; no disclosures.
    let about = server.get_as(ke, &format!("/api/v1/audit/events?case_id={case}"));
    assert_eq!(about.status, 200);
    assert_eq!(about.json()["items"].as_array().unwrap().len(), 0);
    // (Kenya's own audit queries name what they asked about, whether it exists or not.)
    let everything = server.get_as(ke, "/api/v1/audit/events?limit=500").json();
    for event in everything["items"].as_array().unwrap() {
        if event.to_string().contains(case) {
            assert_eq!(
                event["action"], "audit.query",
                "a Ugandan case id in Kenya's audit view: {event}"
            );
            assert_eq!(event["actor_user_id"], f.ke_coordinator.0.id.as_str());
        }
    }
    assert!(
        everything["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "denied" && e["resource_id"].is_null()),
        "the refusals of Kenya's staff show, without the Ugandan case: {everything}"
    );
    assert_eq!(
        server
            .get_as(ke, &format!("/api/v1/audit/cases/{case}/disclosures"))
            .status,
        404
    );
    let ug_view = server
        .get_as(
            &f.ug_coordinator.1,
            &format!("/api/v1/audit/events?case_id={case}"),
        )
        .json();
    assert!(
        !ug_view["items"].as_array().unwrap().is_empty(),
        "Uganda's coordinator sees its case's events"
    );
    // Statistics and the anonymous notifications: Kenya's figures count Kenya's records.
    let total = |token: &str| {
        server
            .get_as(token, "/api/v1/statistics/tables?dimensions=sex")
            .json()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["values"][0].is_null())
            .map_or(Some(0), |e| e["count"].as_i64())
    };
    assert_eq!(total(ke), Some(0), "no Kenyan record");
    assert_eq!(
        f.server
            .get_as(ke, "/api/v1/anonymous-notifications")
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // E-mails: break-glass by Uganda's coordinator and the overdue decision reach Uganda's
    // coordinators, never Kenya's.
    let opened = server.post(
        Some(&f.ug_coordinator.1),
        &format!("/api/v1/cases/{case}/break-glass"),
        &json!({
            "groups": ["contact"],
            "justification": "she did not arrive at the shelter after the hearing"
        }),
    );
    assert_eq!(opened.status, 201, "{}", opened.text());
    diesel::update(tumaini_db::schema::cases::table.find(case))
        .set(
            tumaini_db::schema::cases::reasonable_grounds_due_at.eq(Some(
                chrono::Utc::now().naive_utc() - chrono::Duration::minutes(5),
            )),
        )
        .execute(&mut db.conn())
        .unwrap();
    // (The server's own scanner may find it first: either way it is marked once.)
    tumaini_api::jobs::deadlines::scan(
        &mut db.conn(),
        chrono::Utc::now().naive_utc(),
        "https://tumaini.test",
        &server.audit_events(),
    )
    .unwrap();
    wait_for_mail(server, 2);
    let to = addressees(server);
    assert!(
        to.iter().any(|a| a.contains(&f.ug_coordinator.0.email)),
        "{to:?}"
    );
    assert!(
        !to.iter().any(|a| a.contains(&f.ke_coordinator.0.email)),
        "{to:?}"
    );
    let _ = &f.worker;
}

both_engines!(item_03_coordinators_and_competent_authorities_are_bound_to_their_country);

fn item_04_a_foreign_reader_needs_consent_to_transfer_abroad_on_every_request(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let kenya = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let w = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let k = token(
        &server,
        &seed::account_in(&db, &kenya, Role::CaseWorker).email,
    )
    .0;
    let (case, _) = register(&server, &w, &person("Auma", "UG-202"));
    consent(&server, &w, &case, &["shelter", "abroad"]);
    let sent = server.post(
        Some(&w),
        &format!("/api/v1/cases/{case}/referrals"),
        &json!({
            "to_organisation_id": kenya.as_str(), "services": ["shelter"],
            "groups": ["identity", "contact", "health"], "urgency": "high",
            "reason": "she asked to be near her sister in Kisumu"
        }),
    );
    assert_eq!(sent.status, 201, "{}", sent.text());
    let referral = sent.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .post(
                Some(&k),
                &format!("/api/v1/referrals/{referral}/accept"),
                &json!({})
            )
            .status,
        200
    );
    let read = |token: &str| {
        server
            .get_as(
                token,
                &format!("/api/v1/cases/{case}?groups=identity,contact,health&purpose=assistance"),
            )
            .json()
    };
    assert_eq!(
        read(&k)["groups"]["identity"]["family_name"],
        "Auma",
        "shared abroad under consent"
    );
    assert!(
        server
            .get_as(&k, &format!("/api/v1/referrals/{referral}"))
            .json()["reason"]
            .is_string()
    );
    // A new consent version keeps shelters and drops transfer abroad.
    consent(&server, &w, &case, &["shelter"]);
    let after = read(&k);
    assert_eq!(after["groups"], json!({}), "{after}");
    assert_eq!(
        after["withheld_groups"],
        json!(["identity", "contact", "health"])
    );
    assert!(
        server
            .get_as(&k, &format!("/api/v1/referrals/{referral}"))
            .json()
            .get("reason")
            .is_none(),
        "the reason is not read abroad either"
    );
    // Nor may the shelter abroad refer her on within its own country: that is still a
    // transfer out of the country that owns the case.
    let onward_to = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let onward = server.post(
        Some(&k),
        &format!("/api/v1/cases/{case}/referrals"),
        &json!({
        "to_organisation_id": onward_to.as_str(), "services": ["shelter"], "groups": ["identity"],
        "urgency": "normal", "reason": "a bed nearer Nairobi"}),
    );
    assert_eq!(onward.status, 409, "{}", onward.text());
    assert!(onward.text().contains("abroad"), "{}", onward.text());
    // At home nothing changed.
    assert_eq!(read(&w)["groups"]["identity"]["family_name"], "Auma");
    // Kenya's coordinator oversees the Kenyan shelter's staff, but the Ugandan case they
    // worked on is not named in Kenya's audit view; Uganda's coordinator sees it.
    let ke_office = seed::organisation_in(&db, OrganisationKind::CoordinationOffice, "KE");
    let ke = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &ke_office, Role::Coordinator).email,
    );
    let view = server
        .get_as(&ke, "/api/v1/audit/events?limit=500&action=case.read")
        .json();
    let reads = view["items"].as_array().unwrap();
    assert!(
        !reads.is_empty(),
        "the Kenyan staff's reads are in Kenya's view"
    );
    assert!(
        reads
            .iter()
            .all(|e| e["resource_id"].is_null() && e["field_groups"] == json!([])),
        "{view}"
    );
    let ug_office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let ug = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &ug_office, Role::Coordinator).email,
    );
    assert!(
        server
            .get_as(&ug, "/api/v1/audit/events?limit=500&action=case.read")
            .text()
            .contains(&case)
    );
}

both_engines!(item_04_a_foreign_reader_needs_consent_to_transfer_abroad_on_every_request);

fn item_05_registration_tells_nothing_of_records_elsewhere(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let shelter_head = seed::account_in(&db, &shelter, Role::Supervisor);
    let police_head = seed::account_in(&db, &police, Role::Supervisor);
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    let w = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let r = token(
        &server,
        &seed::account_in(&db, &police, Role::FirstResponder).email,
    )
    .0;
    let (held, held_body) = register(&server, &w, &person("Namaganda", "UG-102"));
    // The police responder registers the same person, then someone no one else holds.
    let (mine, same) = register(&server, &r, &person("Namaganda", "UG-102"));
    let (_, fresh) = register(&server, &r, &person("Kisakye", "UG-102"));
    assert!(
        same.get("possible_duplicates_elsewhere").is_none(),
        "{same}"
    );
    assert_eq!(same["possible_duplicates"], json!([]));
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&same),
        keys(&fresh),
        "the answer has the same shape either way"
    );
    let listed = server.get_as(&r, &format!("/api/v1/cases/{mine}/duplicates"));
    assert_eq!(listed.json(), json!({"items": []}), "not even a count");
    // The same person registered in Kenya is no duplicate of Uganda's: nothing crosses the
    // border outside a referral.
    let kenya = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let k = token(
        &server,
        &seed::account_in(&db, &kenya, Role::CaseWorker).email,
    )
    .0;
    let (kenyan, _) = register(&server, &k, &person("Namaganda", "KE-17"));
    // Confirmed after the answer (by the background job, or here at once).
    let vault =
        tumaini_db::vault::Vault::new(tumaini_api::keyring::key_provider(&server.config).unwrap());
    tumaini_api::cases::duplicates::check_queued(
        &mut db.conn(),
        &vault,
        "https://tumaini.test",
        &server.audit_events(),
        100,
    )
    .unwrap();
    let pairs = |case: &str| {
        tumaini_db::models::duplicate::involving(&mut db.conn(), &case.parse().unwrap())
            .unwrap()
            .len()
    };
    assert_eq!(
        pairs(&held),
        1,
        "the Ugandan pair, and not the Kenyan registration"
    );
    assert_eq!(pairs(&kenyan), 0);
    // The holders hear of it: the shelter's supervisor (their case's reference only) and the
    // coordinators; the police's supervisor hears nothing.
    let mail = wait_for_mail(&server, 2);
    let to = addressees(&server);
    assert!(to.iter().any(|a| a.contains(&shelter_head.email)), "{to:?}");
    assert!(to.iter().any(|a| a.contains(&coordinator.email)), "{to:?}");
    assert!(!to.iter().any(|a| a.contains(&police_head.email)), "{to:?}");
    let reference = held_body["reference"].as_str().unwrap();
    assert!(mail.iter().any(|m| m.contains(reference)));
    assert!(mail.iter().all(|m| !m.contains("Namaganda")));
    let flagged = audit::with_action(&mut db.conn(), "case.duplicate.flagged").unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].resource_id.as_deref(), Some(held.as_str()));
    assert_eq!(
        flagged[0].actor_user_id, None,
        "recorded by the system, not the registrar"
    );
    // Neither the registrar's supervisor's audit view nor the registrar learn the held case.
    let p = token(&server, &police_head.email).0;
    let view = server.get_as(&p, "/api/v1/audit/events?limit=500");
    assert_eq!(view.status, 200);
    assert!(
        !view.text().contains(&held),
        "the held case's id in the police's audit view"
    );
    // The coordinator sees and resolves the pair.
    let c = mfa_enrolled_token(&server, &coordinator.email);
    let pairs = server
        .get_as(&c, &format!("/api/v1/cases/{held}/duplicates"))
        .json();
    assert_eq!(pairs["items"][0]["case_id"], mine.as_str(), "{pairs}");
}

both_engines!(item_05_registration_tells_nothing_of_records_elsewhere);

fn item_06_stored_answers_hold_no_personal_value_and_expire(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    let w = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let (case, _) = register(&server, &w, &person("Nansubuga", "UG-102"));
    consent(&server, &w, &case, &["health"]);
    let marker = "IDEMPOTENT-REASON-Kabalagala-7731";
    let body = json!({
        "to_organisation_id": clinic.as_str(), "services": ["health"], "groups": ["health"],
        "urgency": "normal", "reason": marker
    });
    let post = |key: &str, path: &str, body: &Value| {
        let (w, key, path, body) = (w.clone(), key.to_owned(), path.to_owned(), body.clone());
        server.send(move |c, base| {
            c.post(format!("{base}{path}"))
                .bearer_auth(w)
                .header("Idempotency-Key", key)
                .json(&body)
        })
    };
    let path = format!("/api/v1/cases/{case}/referrals");
    let first = post("referral-1", &path, &body);
    assert_eq!(first.status, 201, "{}", first.text());
    let stored: Vec<(Vec<u8>, Vec<u8>, Option<String>)> =
        tumaini_db::schema::idempotency_keys::table
            .select((
                tumaini_db::schema::idempotency_keys::body,
                tumaini_db::schema::idempotency_keys::request_hash,
                tumaini_db::schema::idempotency_keys::case_id,
            ))
            .load(&mut db.conn())
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !String::from_utf8_lossy(&stored[0].0).contains("Kabalagala"),
        "the reason is stored in clear"
    );
    assert_eq!(stored[0].2.as_deref(), Some(case.as_str()));
    // The request is remembered by a keyed hash, not a plain one anyone could test guesses against.
    use sha2::Digest as _;
    let plain = sha2::Sha256::digest(format!("POST\0{path}\0{body}"));
    assert_ne!(stored[0].1, plain.to_vec());
    // A retry gets the first answer, opened with the case's key (sealed even though it now
    // holds ids and vocabulary codes only).
    let again = post("referral-1", &path, &body);
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], first.json()["id"]);
    // (The answer leaves the reason out: the sender has it, and a later refusal to read it
    // abroad could not be kept by an answer stored before.)
    assert!(
        first.json().get("reason").is_none() && again.json().get("reason").is_none(),
        "{}",
        again.text()
    );
    // Shredding the case shreds its stored answers: a retry finds nothing to give.
    let note = format!("/api/v1/cases/{case}/notes");
    assert_eq!(
        post("note-1", &note, &json!({"text": "a note"})).status,
        201
    );
    let vault =
        tumaini_db::vault::Vault::new(tumaini_api::keyring::key_provider(&server.config).unwrap());
    vault
        .shred_case(&mut db.conn(), &case.parse().unwrap())
        .unwrap();
    assert_eq!(
        post("note-1", &note, &json!({"text": "a note"})).status,
        404
    );
    // Answers expire: those older than the lifetime (72 hours) are pruned.
    diesel::update(tumaini_db::schema::idempotency_keys::table)
        .set(
            tumaini_db::schema::idempotency_keys::created_at
                .eq(chrono::Utc::now().naive_utc() - chrono::Duration::hours(73)),
        )
        .execute(&mut db.conn())
        .unwrap();
    let pruned =
        tumaini_api::jobs::housekeeping::sweep(&mut db.conn(), server.config.cases.idempotency_ttl)
            .unwrap();
    assert_eq!(pruned, 2);
    assert_eq!(
        tumaini_db::models::idempotency::count(&mut db.conn()).unwrap(),
        0
    );
}

both_engines!(item_06_stored_answers_hold_no_personal_value_and_expire);

fn item_06_a_retry_is_answered_only_while_the_action_is_allowed(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let elsewhere = seed::organisation(&db, OrganisationKind::Shelter);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let w = token(&server, &worker.email).0;
    let (case, _) = register(&server, &w, &person("Nabukeera", "UG-102"));
    consent(&server, &w, &case, &["health"]);
    let marker = "RETRIED-REASON-Kisenyi-5520";
    let body = json!({
        "to_organisation_id": clinic.as_str(), "services": ["health"], "groups": ["health"],
        "urgency": "normal", "reason": marker
    });
    let path = format!("/api/v1/cases/{case}/referrals");
    let post = || {
        let (w, path, body) = (w.clone(), path.clone(), body.clone());
        server.send(move |c, base| {
            c.post(format!("{base}{path}"))
                .bearer_auth(w)
                .header("Idempotency-Key", "retried")
                .json(&body)
        })
    };
    assert_eq!(post().status, 201);
    // A retry while the action is allowed: the first answer, and an audited replay.
    let again = post();
    assert_eq!(
        (again.status, again.header("idempotent-replayed")),
        (201, Some("true"))
    );
    let events = audit::with_action(&mut db.conn(), "referral.create").unwrap();
    let outcomes: Vec<&str> = events.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(outcomes, ["success", "replayed"]);
    // The worker moves to another organisation (the same account and session): the case
    // is no longer theirs, and neither is the answer about it.
    diesel::update(tumaini_db::schema::users::table.find(&worker.id))
        .set(tumaini_db::schema::users::organisation_id.eq(&elsewhere))
        .execute(&mut db.conn())
        .unwrap();
    let gone = post();
    assert_eq!(gone.status, 404, "{}", gone.text());
    assert!(!gone.text().contains(marker), "{}", gone.text());
    let last = audit::with_action(&mut db.conn(), "referral.create").unwrap();
    assert_eq!(last.last().unwrap().outcome, "denied", "{last:?}");
    // Registration and anonymous reports are re-decided alike.
    let register_again = |token: &str| {
        let (token, body) = (token.to_owned(), person("Nabukeera", "UG-102"));
        server.send(move |c, base| {
            c.post(format!("{base}/api/v1/cases"))
                .bearer_auth(token)
                .header("Idempotency-Key", "registered")
                .json(&body)
        })
    };
    let responder = seed::account_in(&db, &shelter, Role::CaseWorker);
    let r = token(&server, &responder.email).0;
    assert_eq!(register_again(&r).status, 201);
    assert_eq!(
        register_again(&r).header("idempotent-replayed"),
        Some("true")
    );
    let created = audit::with_action(&mut db.conn(), "case.create").unwrap();
    assert!(
        created.iter().any(|e| e.outcome == "replayed"
            && e.actor_user_id.as_deref() == Some(responder.id.as_str()))
    );
    // Moved elsewhere, they may still register, but the case registered is no longer
    // theirs to see: no answer about it.
    diesel::update(tumaini_db::schema::users::table.find(&responder.id))
        .set(tumaini_db::schema::users::organisation_id.eq(&elsewhere))
        .execute(&mut db.conn())
        .unwrap();
    let moved = register_again(&r);
    assert_eq!(moved.status, 404, "{}", moved.text());
}

both_engines!(item_06_a_retry_is_answered_only_while_the_action_is_allowed);

fn item_07_regions_come_from_a_list(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let w = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let named = server.post(
        Some(&w),
        "/api/v1/cases",
        &person("Nabirye", "Amina Nakato house"),
    );
    assert_eq!(named.status, 422, "{}", named.text());
    assert!(!named.text().contains("Amina"), "{}", named.text());
    let cases_stored: i64 = tumaini_db::schema::cases::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(cases_stored, 0);
    let anonymous = server.post(
        Some(&w),
        "/api/v1/anonymous-notifications",
        &json!({
            "sex": "male", "age_band": "30_38", "region": "Amina Nakato house",
            "encountered_on": "2026-11-19"
        }),
    );
    assert_eq!(anonymous.status, 422, "{}", anonymous.text());
    let (case, body) = register(&server, &w, &person("Nabirye", "ug-202"));
    assert_eq!(body["region"], "UG-202");
    // The list, and an administrator's addition to it.
    let regions = server.get_as(&w, "/api/v1/regions?country=UG").json();
    assert!(
        regions
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "UG-202" && r["name"] == "Busia")
    );
    assert!(
        regions.as_array().unwrap().len() > 100,
        "Uganda's districts"
    );
    let admin_account = seed::account_in(&db, &office, Role::Admin);
    let admin = mfa_enrolled_token(&server, &admin_account.email);
    let new_district = json!({"code": "UG-Z01", "name": "Kassanda Town", "level": "district"});
    assert_eq!(
        server
            .post(Some(&w), "/api/v1/regions", &new_district)
            .status,
        403
    );
    assert_eq!(
        server
            .post(Some(&admin), "/api/v1/regions", &new_district)
            .status,
        201
    );
    assert_eq!(
        server
            .post(Some(&admin), "/api/v1/regions", &new_district)
            .status,
        409
    );
    register(&server, &w, &person("Nakato", "UG-Z01"));
    let added = audit::with_action(&mut db.conn(), "region.add").unwrap();
    assert_eq!(added.iter().filter(|e| e.outcome == "success").count(), 1);
    assert_eq!(
        added.iter().filter(|e| e.outcome == "denied").count(),
        1,
        "the case worker's attempt"
    );
    // Statistics label regions by name, from the list.
    let c = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &office, Role::Coordinator).email,
    );
    let table = server
        .get_as(&c, "/api/v1/statistics/tables?dimensions=region")
        .json();
    assert!(
        table["values"][0].as_array().unwrap().is_empty(),
        "two people: no region named: {table}"
    );
    // A region stored as free text before the list existed: brought onto it or dropped.
    diesel::update(tumaini_db::schema::cases::table.find(&case))
        .set(tumaini_db::schema::cases::region.eq("Busia District"))
        .execute(&mut db.conn())
        .unwrap();
    let (other, _) = register(&server, &w, &person("Nakku", "UG-102"));
    diesel::update(tumaini_db::schema::cases::table.find(&other))
        .set(tumaini_db::schema::cases::region.eq("Amina Nakato house"))
        .execute(&mut db.conn())
        .unwrap();
    assert_eq!(
        tumaini_db::vocabulary::region::normalise_stored(&mut db.conn()).unwrap(),
        2
    );
    assert_eq!(
        server.get_as(&w, &format!("/api/v1/cases/{case}")).json()["region"],
        "UG-202"
    );
    assert_eq!(
        server.get_as(&w, &format!("/api/v1/cases/{other}")).json()["region"],
        Value::Null
    );
}

both_engines!(item_07_regions_come_from_a_list);

/// The JSON schema of a field, with `$ref`s and nullable unions resolved.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array()
            && let Some(real) = options.iter().find(|o| o["type"] != "null")
        {
            return resolve(doc, real);
        }
    }
    schema
}

fn kind_of(schema: &Value) -> String {
    match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("object")
            .to_owned(),
        _ if schema["properties"].is_object() => "object".to_owned(),
        _ => "string".to_owned(),
    }
}

const TEXT_MARKER: &str = "QVXMARKERWJZ";
const NUMBER_MARKER: i64 = 7_391_846_205;

/// A value of the wrong type for a field of `kind`, carrying a marker: a number where text is
/// expected, text where anything else is.
fn wrong(kind: &str) -> Value {
    if kind == "string" {
        json!(NUMBER_MARKER)
    } else {
        json!(TEXT_MARKER)
    }
}

fn item_08_no_error_repeats_a_submitted_value(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let w = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let (case, _) = register(&server, &w, &person("Nampijja", "UG-102"));
    let doc = server.get("/api/v1/openapi.json").json();
    let summary = json!({
        "sex": "female", "age_band": "24_26", "region": "UG-102", "encountered_on": "2026-11-20"
    });
    let mut bodies: Vec<(String, String, Value)> = Vec::new();
    // Every field of every personal group, and one level into lists of objects and objects.
    let groups = resolve(&doc, &doc["components"]["schemas"]["PersonalGroups"]);
    for (group, group_schema) in groups["properties"].as_object().unwrap() {
        let fields = resolve(&doc, group_schema);
        for (field, field_schema) in fields["properties"].as_object().unwrap() {
            let field_schema = resolve(&doc, field_schema);
            let kind = kind_of(field_schema);
            let mut values = vec![wrong(&kind)];
            let inner = match kind.as_str() {
                "array" => Some((resolve(&doc, &field_schema["items"]), true)),
                "object" => Some((field_schema, false)),
                _ => None,
            };
            if let Some((inner, listed)) = inner
                && let Some(properties) = inner["properties"].as_object()
            {
                for (name, schema) in properties {
                    let value = json!({name: wrong(&kind_of(resolve(&doc, schema)))});
                    values.push(if listed { json!([value]) } else { value });
                }
            } else if kind == "array" {
                values.push(json!([wrong(&kind_of(resolve(
                    &doc,
                    &field_schema["items"]
                )))]));
            }
            for value in values {
                let groups = json!({group: {field: value}});
                bodies.push((
                    "POST".into(),
                    "/api/v1/cases".into(),
                    json!({"summary": summary, "groups": groups}),
                ));
                bodies.push((
                    "PATCH".into(),
                    format!("/api/v1/cases/{case}"),
                    json!({"groups": groups}),
                ));
            }
        }
    }
    // Every field of the summary.
    let summary_schema = resolve(&doc, &doc["components"]["schemas"]["SummaryInput"]);
    for (field, schema) in summary_schema["properties"].as_object().unwrap() {
        let mut broken = summary.clone();
        broken[field] = wrong(&kind_of(resolve(&doc, schema)));
        bodies.push((
            "POST".into(),
            "/api/v1/cases".into(),
            json!({"summary": broken}),
        ));
    }
    // Every other body that takes personal data.
    let c = |path: &str| format!("/api/v1/cases/{case}/{path}");
    for (path, body) in [
        (c("notes"), json!({"text": NUMBER_MARKER})),
        (
            c("consents"),
            json!({
                "given_by": TEXT_MARKER, "method": "written", "purposes": ["assistance"],
                "groups": [], "recipients": []
            }),
        ),
        (
            c("consents"),
            json!({
                "given_by": "person", "method": "written", "purposes": [TEXT_MARKER], "groups": [],
                "recipients": [], "details": NUMBER_MARKER
            }),
        ),
        (c("screenings"), json!({"indicators": [TEXT_MARKER]})),
        (
            c("screenings"),
            json!({
                "indicators": [], "notes": NUMBER_MARKER,
                "judgement": {"presumed": TEXT_MARKER, "reason": "x"}
            }),
        ),
        (
            c("risk-assessments"),
            json!({
                "individual": TEXT_MARKER, "household": "low", "community": "low",
                "review_on": "2099-01-01", "details": NUMBER_MARKER
            }),
        ),
        (
            c("assistance"),
            json!({
                "service_type": TEXT_MARKER, "status": "planned", "provided_on": "2026-11-20",
                "details": NUMBER_MARKER
            }),
        ),
        (
            c("identification-decisions"),
            json!({"decision": TEXT_MARKER, "reasons": NUMBER_MARKER}),
        ),
        (
            c("referrals"),
            json!({
                "to_organisation_id": TEXT_MARKER, "services": [TEXT_MARKER], "urgency": "high",
                "reason": NUMBER_MARKER
            }),
        ),
        (
            c("break-glass"),
            json!({"groups": [TEXT_MARKER], "justification": NUMBER_MARKER}),
        ),
        (c("status"), json!({"change": TEXT_MARKER})),
        (
            "/api/v1/anonymous-notifications".to_owned(),
            json!({
                "sex": TEXT_MARKER, "age_band": "30_38", "region": NUMBER_MARKER,
                "encountered_on": "2026-11-19"
            }),
        ),
        (
            "/api/v1/auth/login".to_owned(),
            json!({"email": NUMBER_MARKER, "password": "x"}),
        ),
    ] {
        bodies.push(("POST".into(), path, body));
    }
    bodies.push(("PUT".into(), c("plan"), json!({
        "goals": [{"service_type": "shelter", "action": NUMBER_MARKER}], "review_on": TEXT_MARKER,
        "agreed_with_person": true
    })));
    let mut refused = 0;
    for (method, path, body) in &bodies {
        let (m, p, b, w) = (method.clone(), path.clone(), body.clone(), w.clone());
        let response = server.send(move |client, base| {
            client
                .request(m.parse().unwrap(), format!("{base}{p}"))
                .bearer_auth(w)
                .header("If-Match", "\"v1\"")
                .json(&b)
        });
        assert!(
            response.status >= 400,
            "{method} {path} {body}: {}",
            response.status
        );
        let text = response.text();
        assert!(
            !text.contains(TEXT_MARKER) && !text.contains(&NUMBER_MARKER.to_string()),
            "{method} {path} echoes a value: {text}"
        );
        if response.status == 422 {
            let detail = response.json()["detail"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(
                detail.contains('`') || detail.starts_with("the body"),
                "names the field: {text}"
            );
        }
        refused += 1;
    }
    println!(
        "item_08 ({}): {refused} wrongly typed bodies, none echoed",
        db.engine()
    );
    assert!(refused > 80, "{refused}");
}

both_engines!(item_08_no_error_repeats_a_submitted_value);

fn item_09_sign_in_limits_key_the_client_behind_a_proxy_and_by_ipv6_64(db: TestDb) {
    let guesses = |server: &TestServer, forwarded: &str, n: usize| -> Vec<u16> {
        (0..n)
            .map(|_| {
                server
                    .send(|c, base| {
                        c.post(format!("{base}/api/v1/auth/login"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": "nobody@example.test", "password": "not a password"}))
                    })
                    .status
            })
            .collect()
    };
    // Behind a trusted proxy: each client its own bucket, an IPv6 client by its /64.
    let proxied = TestServer::start_with(
        &db,
        &[
            ("TUMAINI_LOGIN_RATE_PER_MINUTE", "4"),
            ("TUMAINI_TRUSTED_PROXIES", "127.0.0.1/32, ::1"),
        ],
        |_| {},
    );
    assert_eq!(
        guesses(&proxied, "203.0.113.7", 5),
        vec![401, 401, 401, 401, 429]
    );
    assert_eq!(
        guesses(&proxied, "203.0.113.8", 1),
        vec![401],
        "another client is not held up"
    );
    assert_eq!(
        guesses(&proxied, "198.51.100.9, 203.0.113.8", 1),
        vec![401],
        "a value put in front does not choose the bucket"
    );
    assert_eq!(
        guesses(&proxied, "2001:db8:1:2::1", 4),
        vec![401, 401, 401, 401]
    );
    assert_eq!(
        guesses(&proxied, "2001:db8:1:2:ffff:ffff:ffff:ffff", 1),
        vec![429],
        "the same /64"
    );
    assert_eq!(
        guesses(&proxied, "2001:db8:1:3::1", 1),
        vec![401],
        "another /64"
    );
    // The header the proxy does not write (here `Forwarded`) is not read: a client cannot
    // pick its bucket with it.
    let forged = |forwarded: &str| server_send_forged(&proxied, forwarded, "203.0.113.7");
    assert_eq!(
        forged("for=198.51.100.1"),
        429,
        "a forged Forwarded chose a new bucket"
    );
    assert_eq!(forged("for=198.51.100.2"), 429);
    // Without a trusted proxy the header is not believed: a spoofed address is no new bucket.
    let direct = TestServer::start_with(&db, &[("TUMAINI_LOGIN_RATE_PER_MINUTE", "4")], |_| {});
    assert_eq!(guesses(&direct, "203.0.113.7", 4), vec![401, 401, 401, 401]);
    assert_eq!(guesses(&direct, "203.0.113.99", 1), vec![429]);
    let refused = tumaini_api::config::Config::from_sources(
        |k| (k == "TUMAINI_TRUSTED_PROXIES").then(|| "proxy.example".to_owned()),
        None,
    );
    assert!(
        refused.is_err_and(|e| e.to_string().contains("TUMAINI_TRUSTED_PROXIES")),
        "a trusted proxy is an address or a block"
    );
}

both_engines!(item_09_sign_in_limits_key_the_client_behind_a_proxy_and_by_ipv6_64);

/// A sign-in through the trusted proxy for `client`, carrying a `Forwarded` header the client made
/// up.
fn server_send_forged(server: &TestServer, forwarded: &str, client: &str) -> u16 {
    server
        .send(|c, base| {
            c.post(format!("{base}/api/v1/auth/login"))
                .header("x-forwarded-for", client)
                .header("forwarded", forwarded)
                .json(&json!({"email": "nobody@example.test", "password": "not a password"}))
        })
        .status
}

fn item_10_bulk_reads_of_referral_reasons_are_audited_counted_and_windowed(db: TestDb) {
    let server = TestServer::start(&db);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let responder = seed::account_in(&db, &police, Role::FirstResponder);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let (r, w) = (
        token(&server, &responder.email).0,
        token(&server, &worker.email).0,
    );
    let mut cases = Vec::new();
    for name in ["Aciro", "Adong", "Akumu"] {
        let (case, _) = register(&server, &r, &person(name, "UG-202"));
        consent(&server, &r, &case, &["shelter"]);
        let sent = server.post(
            Some(&r),
            &format!("/api/v1/cases/{case}/referrals"),
            &json!({
            "to_organisation_id": shelter.as_str(), "services": ["shelter"], "groups": ["identity"],
            "urgency": "high", "reason": format!("reason for {name}")}),
        );
        assert_eq!(sent.status, 201, "{}", sent.text());
        cases.push(case);
    }
    let since = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(5);
    let inbox = server.get_as(&w, "/api/v1/referrals?box=inbox").json();
    assert_eq!(inbox["items"].as_array().unwrap().len(), 3);
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["reason"].is_string())
    );
    // Each reason is audited against its case, and counted by the misuse alert.
    let reads = audit::with_action(&mut db.conn(), "referral.reason.read").unwrap();
    for case in &cases {
        assert!(
            reads
                .iter()
                .any(|e| e.resource_id.as_deref() == Some(case.as_str())
                    && e.actor_user_id.as_deref() == Some(worker.id.as_str())
                    && e.field_groups == "referral_reason"),
            "no reason read recorded for {case}"
        );
    }
    assert_eq!(
        audit::cases_read_with_groups(&mut db.conn(), worker.id.as_str(), since).unwrap(),
        3
    );
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let c = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &office, Role::Coordinator).email,
    );
    let who = server
        .get_as(&c, &format!("/api/v1/audit/cases/{}/disclosures", cases[0]))
        .json();
    let reader = who["accessed_by"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_id"] == worker.id.as_str())
        .cloned()
        .unwrap();
    assert!(
        reader["groups"]
            .as_array()
            .unwrap()
            .contains(&json!("referral_reason")),
        "{reader}"
    );
    // The first responder reads the reasons of what they registered, within their window only.
    let outbox = |t: &str| server.get_as(t, "/api/v1/referrals?box=outbox").json();
    assert!(
        outbox(&r)["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["reason"].is_string())
    );
    diesel::update(tumaini_db::schema::cases::table)
        .set(
            tumaini_db::schema::cases::created_at
                .eq(chrono::Utc::now().naive_utc() - chrono::Duration::days(4)),
        )
        .execute(&mut db.conn())
        .unwrap();
    let late = outbox(&r);
    assert_eq!(
        late["items"].as_array().unwrap().len(),
        3,
        "the referrals are still listed"
    );
    assert!(
        late["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.get("reason").is_none()),
        "{late}"
    );
}

both_engines!(item_10_bulk_reads_of_referral_reasons_are_audited_counted_and_windowed);

fn item_11a_a_password_reset_answers_before_it_looks_the_account_up(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);
    // Hold the database so that any work on the account would wait for it.
    let url = db.url_string();
    let engine = db.engine();
    let (held, release) = (
        std::sync::mpsc::channel::<()>(),
        std::sync::mpsc::channel::<()>(),
    );
    let (held_tx, held_rx) = held;
    let (release_tx, release_rx) = release;
    let holder = std::thread::spawn(move || {
        use diesel::connection::SimpleConnection as _;
        let mut conn = tumaini_db::DatabaseUrl::parse(&url)
            .unwrap()
            .connect()
            .unwrap();
        let lock = match engine {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE",
        };
        conn.batch_execute(lock).unwrap();
        held_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(Duration::from_secs(4));
        conn.batch_execute("COMMIT").unwrap();
    });
    held_rx.recv().unwrap();
    for address in [account.email.as_str(), "nobody-at-all@example.test"] {
        let started = Instant::now();
        let answer = server.post(
            None,
            "/api/v1/auth/password-reset",
            &json!({"email": address}),
        );
        assert_eq!(answer.status, 202);
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "the answer waited for the account ({:?}): it tells whether one exists",
            started.elapsed()
        );
    }
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let mail = wait_for_mail(&server, 1);
    assert_eq!(
        mail.len(),
        1,
        "the reset for the real account is still sent"
    );
    assert!(mail[0].contains("reset-password#token="));
}

both_engines!(item_11a_a_password_reset_answers_before_it_looks_the_account_up);

fn item_11b_a_client_request_id_is_kept_apart_from_the_servers(db: TestDb) {
    let server = TestServer::start(&db);
    let w = token(&server, &seed::account(&db, Role::CaseWorker).email).0;
    let response = server.send(|c, base| {
        c.get(format!("{base}/api/v1/cases"))
            .bearer_auth(w)
            .header("x-request-id", "gateway-correlation-0042")
    });
    assert_eq!(response.status, 200);
    let own = response.header("x-request-id").unwrap().to_owned();
    assert_ne!(own, "gateway-correlation-0042");
    let events = audit::with_action(&mut db.conn(), "case.list").unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].request_id.as_deref(), Some(own.as_str()));
    assert_eq!(
        events[0].client_request_id.as_deref(),
        Some("gateway-correlation-0042")
    );
    let oversized = server.send(|c, base| {
        c.get(format!("{base}/healthz"))
            .header("x-request-id", "x".repeat(65))
    });
    assert_ne!(
        oversized.header("x-request-id"),
        Some("x".repeat(65).as_str())
    );
}

both_engines!(item_11b_a_client_request_id_is_kept_apart_from_the_servers);

fn item_11c_audit_cursors_are_signed(db: TestDb) {
    let server = TestServer::start(&db);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let c = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &office, Role::Coordinator).email,
    );
    let first = server.get_as(&c, "/api/v1/audit/events?limit=1").json();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .get_as(&c, &format!("/api/v1/audit/events?limit=1&cursor={cursor}"))
            .status,
        200
    );
    use base64::Engine as _;
    let forged =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("2000-01-01T00:00:00.000000|0");
    assert_eq!(
        server
            .get_as(&c, &format!("/api/v1/audit/events?cursor={forged}"))
            .status,
        400
    );
    let (payload, tag) = cursor.split_once('.').unwrap();
    let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let altered = format!(
        "{}.{tag}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    assert_eq!(
        server
            .get_as(&c, &format!("/api/v1/audit/events?cursor={altered}"))
            .status,
        400
    );
}

both_engines!(item_11c_audit_cursors_are_signed);

fn item_11d_the_reference_search_finds_any_case(db: TestDb) {
    let server = TestServer::start(&db);
    let w = token(&server, &seed::account(&db, Role::CaseWorker).email).0;
    let references: Vec<String> = (0..12)
        .map(|i| {
            register(&server, &w, &person(&format!("Search{i}"), "UG-102")).1["reference"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let found = server
        .get_as(
            &w,
            &format!("/api/v1/cases?reference={}&limit=1", references[0]),
        )
        .json();
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["items"][0]["reference"], references[0].as_str());
}

both_engines!(item_11d_the_reference_search_finds_any_case);

fn item_11e_a_case_list_does_not_hold_the_write_lock(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let w = token(&server, &worker.email).0;
    {
        let mut conn = db.conn();
        conn.write_transaction(|conn| {
            for i in 0..200 {
                tumaini_db::models::case::Case::insert(
                    conn,
                    &tumaini_db::models::case::NewCase {
                        id: tumaini_db::ids::CaseId::generate(),
                        reference: format!("C-LIST-{i:04}-X"),
                        owner: shelter.clone(),
                        created_by: worker.id.clone(),
                        summary: tumaini_db::models::case::SummaryFields {
                            sex: tumaini_db::vocabulary::Sex::Female,
                            age_band: tumaini_db::vocabulary::AgeBand::Age24To26,
                            may_be_child: false,
                            citizenship: None,
                            recruitment_country: None,
                            exploitation_country: None,
                            region: "UG-102".to_owned(),
                            encountered_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                            exploitation_types: vec![],
                            means_of_control: vec![],
                        },
                    },
                )?;
            }
            Ok::<_, tumaini_db::DbError>(())
        })
        .unwrap();
    }
    // While a 200-case page is listed, a writer tries the write lock again and again without
    // waiting: the list must leave it free (but for its audit event's moment).
    let url = db.url_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            use diesel::connection::SimpleConnection as _;
            let Ok(mut conn) = tumaini_db::DatabaseUrl::parse(&url).unwrap().connect() else {
                return (0, 0);
            };
            let sqlite = matches!(conn, tumaini_db::DbConn::Sqlite(_));
            if sqlite {
                conn.batch_execute("PRAGMA busy_timeout = 0").unwrap();
            }
            let (mut tries, mut busy) = (0, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let taken = if sqlite {
                    conn.batch_execute("BEGIN IMMEDIATE").is_ok()
                } else {
                    conn.batch_execute(
                        "BEGIN; SET LOCAL lock_timeout = '1ms'; \
                         SELECT 1 FROM users FOR UPDATE NOWAIT",
                    )
                    .is_ok()
                };
                tries += 1;
                if taken {
                    let _ = conn.batch_execute("ROLLBACK");
                } else {
                    busy += 1;
                    let _ = conn.batch_execute("ROLLBACK");
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            (tries, busy)
        })
    };
    let page = server.get_as(&w, "/api/v1/cases?limit=200");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (tries, busy) = probe.join().unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(page.json()["items"].as_array().unwrap().len(), 200);
    println!(
        "item_11e ({}): the writer found the lock taken {busy} times in {tries}",
        db.engine()
    );
    assert!(tries >= 20, "too few tries to tell: {tries}");
    assert!(
        busy * 4 < tries,
        "the list held the write lock {busy} of {tries} tries"
    );
    assert_eq!(
        audit::with_action(&mut db.conn(), "case.list")
            .unwrap()
            .len(),
        1
    );
}

both_engines!(item_11e_a_case_list_does_not_hold_the_write_lock);

fn item_11f_a_refused_foreign_case_is_not_named_in_the_organisations_audit_view(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let w = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let responder = seed::account_in(&db, &police, Role::FirstResponder);
    let r = token(&server, &responder.email).0;
    let head = token(
        &server,
        &seed::account_in(&db, &police, Role::Supervisor).email,
    )
    .0;
    let (foreign, _) = register(&server, &w, &person("Apio", "UG-102"));
    let nowhere = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        server
            .get_as(&r, &format!("/api/v1/cases/{foreign}"))
            .status,
        404
    );
    assert_eq!(
        server
            .get_as(&r, &format!("/api/v1/cases/{nowhere}"))
            .status,
        404
    );
    // The police supervisor sees both refusals alike, neither naming a case.
    let view = server
        .get_as(
            &head,
            &format!(
                "/api/v1/audit/events?user_id={}&action=case.read",
                responder.id
            ),
        )
        .json();
    let items = view["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{view}");
    let shape = |e: &Value| {
        (
            e["action"].clone(),
            e["outcome"].clone(),
            e["decision"].clone(),
            e["policy_ids"].clone(),
            e["field_groups"].clone(),
            e["resource_id"].clone(),
        )
    };
    assert_eq!(
        shape(&items[0]),
        shape(&items[1]),
        "the two refusals look alike: {view}"
    );
    assert!(
        items
            .iter()
            .all(|e| e["outcome"] == "denied" && e["resource_id"].is_null()),
        "{view}"
    );
    let asked = server
        .get_as(&head, &format!("/api/v1/audit/events?case_id={foreign}"))
        .json();
    assert_eq!(
        asked["items"],
        json!([]),
        "asking about the case tells nothing either"
    );
    // The coordinator of the case's country sees which of its cases was asked for (an id
    // that names no case stays unnamed for everyone, so that naming is no oracle either).
    let c = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &office, Role::Coordinator).email,
    );
    let whole = server
        .get_as(
            &c,
            &format!(
                "/api/v1/audit/events?user_id={}&action=case.read",
                responder.id
            ),
        )
        .text();
    assert!(
        whole.contains(&foreign) && !whole.contains(&nowhere),
        "{whole}"
    );
}

both_engines!(item_11f_a_refused_foreign_case_is_not_named_in_the_organisations_audit_view);

fn item_12a_supervisors_need_a_second_factor(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let head = seed::account_in(&db, &shelter, Role::Supervisor);
    let worker = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let (case, _) = register(&server, &worker, &person("Akot", "UG-102"));
    let (status, body) = login(&server, &head.email, PASSWORD);
    assert_eq!(status, 200);
    assert_eq!(body["mfa_enrolment_required"], true);
    let access = body["access_token"].as_str().unwrap().to_owned();
    for (method, path) in [
        ("GET", format!("/api/v1/cases/{case}")),
        ("GET", "/api/v1/users".to_owned()),
        ("POST", format!("/api/v1/cases/{case}/break-glass")),
    ] {
        let refused = server.call(method, &access, &path, Some(&json!({
            "groups": ["contact"], "justification": "an emergency that cannot wait for the rules"
        })));
        assert_eq!(refused.status, 403, "{method} {path}");
        assert_eq!(
            refused.json()["type"],
            "urn:tumaini:problem:mfa-enrolment-required"
        );
    }
    enrol(&server, &head.email, &access);
    assert_eq!(
        server
            .get_as(&access, &format!("/api/v1/cases/{case}"))
            .status,
        200
    );
    let (status, body) = login(&server, &head.email, PASSWORD);
    assert_eq!(
        (status, body["type"].as_str()),
        (401, Some("urn:tumaini:problem:mfa-required"))
    );
}

both_engines!(item_12a_supervisors_need_a_second_factor);

fn item_12b_an_administrator_grants_no_case_reading_role_alone(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let ke_office = seed::organisation_in(&db, OrganisationKind::CoordinationOffice, "KE");
    let admin_account = seed::account_in(&db, &office, Role::Admin);
    let admin = mfa_enrolled_token(&server, &admin_account.email);
    let head = token(
        &server,
        &seed::account_in(&db, &shelter, Role::Supervisor).email,
    )
    .0;
    let coordinator = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &office, Role::Coordinator).email,
    );
    let ke_coordinator = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &ke_office, Role::Coordinator).email,
    );
    // The administrator invites a case worker at an address they control: nothing is sent.
    let invited = server.post(
        Some(&admin),
        "/api/v1/users",
        &json!({"organisation_id": shelter.as_str(),
        "role": "case_worker", "email": "mine@admin.example", "display_name": "Not Really"}),
    );
    assert_eq!(invited.status, 201, "{}", invited.text());
    assert_eq!(invited.json()["status"], "awaiting_approval");
    let id = invited.json()["id"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !addressees(&server)
            .iter()
            .any(|a| a.contains("mine@admin.example")),
        "an invitation went out unapproved"
    );
    assert_eq!(login(&server, "mine@admin.example", PASSWORD).0, 401);
    // The administrator cannot approve, nor a coordinator of another country; the
    // organisation's supervisor (told by e-mail) can.
    let as_worker = json!({"role": "case_worker"});
    assert_eq!(
        server
            .post(
                Some(&admin),
                &format!("/api/v1/users/{id}/approve"),
                &as_worker
            )
            .status,
        404
    );
    assert_eq!(
        server
            .post(
                Some(&ke_coordinator),
                &format!("/api/v1/users/{id}/approve"),
                &as_worker
            )
            .status,
        404
    );
    let pending = server.get_as(&head, "/api/v1/users/approvals").json();
    let listed = pending
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id.as_str())
        .expect("listed for approval");
    assert_eq!(
        (
            listed["requested_role"].as_str(),
            listed["requested_by"].as_str()
        ),
        (Some("case_worker"), Some(admin_account.id.as_str()))
    );
    assert_eq!(
        listed["email"], "mine@admin.example",
        "the approver sees the address the invitation would go to"
    );
    // An approval names what it approves: another role is not granted.
    let other = server.post(
        Some(&head),
        &format!("/api/v1/users/{id}/approve"),
        &json!({"role": "supervisor"}),
    );
    assert_eq!(other.status, 409, "{}", other.text());
    let approved = server.post(
        Some(&head),
        &format!("/api/v1/users/{id}/approve"),
        &as_worker,
    );
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(approved.json()["status"], "invited");
    let again = server.post(
        Some(&coordinator),
        &format!("/api/v1/users/{id}/approve"),
        &as_worker,
    );
    assert_eq!(again.status, 409, "approved once only: {}", again.text());
    let mail = wait_for_mail(&server, 3);
    assert!(
        mail.iter()
            .any(|m| m.contains("mine@admin.example") && m.contains("accept-invitation#token=")),
        "{mail:?}"
    );
    // A coordinator's account: a supervisor may not approve it, a coordinator of the country may.
    let c2 = server.post(
        Some(&admin),
        "/api/v1/users",
        &json!({
            "organisation_id": office.as_str(), "role": "coordinator",
            "email": "new.coordinator@office.example", "display_name": "New Coordinator"
        }),
    );
    let c2 = c2.json()["id"].as_str().unwrap().to_owned();
    let office_head = token(
        &server,
        &seed::account_in(&db, &office, Role::Supervisor).email,
    )
    .0;
    assert_eq!(
        server
            .post(
                Some(&office_head),
                &format!("/api/v1/users/{c2}/approve"),
                &json!({"role": "coordinator"})
            )
            .status,
        403
    );
    let refusals = audit::with_action(&mut db.conn(), "user.grant_approve").unwrap();
    assert!(
        refusals
            .iter()
            .any(|e| e.outcome == "denied" && e.resource_id.as_deref() == Some(c2.as_str())),
        "the refusal is audited: {refusals:?}"
    );
    let refused = server.post(
        Some(&coordinator),
        &format!("/api/v1/users/{c2}/reject"),
        &json!({"role": "coordinator"}),
    );
    assert_eq!(refused.status, 200);
    assert_eq!(refused.json()["status"], "disabled");
    // A role change asked by the administrator waits too, and may be refused.
    let worker = seed::account_in(&db, &shelter, Role::FirstResponder);
    let asked = server.call(
        "PUT",
        &admin,
        &format!("/api/v1/users/{}/role", worker.id),
        Some(&json!({"role": "supervisor"})),
    );
    assert_eq!(asked.json()["role"], "first_responder");
    // The request changes after the approver read it: the approval of what they saw is
    // refused, and nothing is granted.
    let seen = server.get_as(&head, "/api/v1/users/approvals").json();
    assert!(
        seen.as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == worker.id.as_str() && u["requested_role"] == "supervisor"),
        "{seen}"
    );
    let changed = server.call(
        "PUT",
        &admin,
        &format!("/api/v1/users/{}/role", worker.id),
        Some(&json!({"role": "case_worker"})),
    );
    assert_eq!(
        changed.json()["requested_role"],
        "case_worker",
        "{}",
        changed.text()
    );
    let stale = server.post(
        Some(&head),
        &format!("/api/v1/users/{}/approve", worker.id),
        &json!({"role": "supervisor"}),
    );
    assert_eq!(stale.status, 409, "{}", stale.text());
    let now = User::find(&mut db.conn(), &worker.id).unwrap();
    assert_eq!(
        (now.role, now.requested_role),
        (Role::FirstResponder, Some(Role::CaseWorker))
    );
    assert_eq!(
        server
            .post(
                Some(&head),
                &format!("/api/v1/users/{}/reject", worker.id),
                &json!({"role": "case_worker"})
            )
            .json()["role"],
        "first_responder"
    );
    // An administrator's account never comes to read cases, whoever would approve it.
    let other_admin = seed::account_in(&db, &office, Role::Admin);
    let turned = server.call(
        "PUT",
        &admin,
        &format!("/api/v1/users/{}/role", other_admin.id),
        Some(&json!({"role": "coordinator"})),
    );
    assert_eq!(turned.status, 409, "{}", turned.text());
    assert_eq!(
        User::find(&mut db.conn(), &other_admin.id)
            .unwrap()
            .requested_role,
        None
    );
    // The approvers' e-mails say what is asked, of which organisation, and nothing more.
    let mail = wait_for_mail(&server, 5);
    assert!(
        mail.iter()
            .any(|m| m.contains("holding the first responder role be given the supervisor role")),
        "{mail:?}"
    );
    for action in [
        "user.grant_approve",
        "user.grant_reject",
        "user.role_request",
    ] {
        assert!(
            !audit::with_action(&mut db.conn(), action)
                .unwrap()
                .is_empty(),
            "{action}"
        );
    }
}

both_engines!(item_12b_an_administrator_grants_no_case_reading_role_alone);

fn item_12b_an_approval_racing_a_new_request_grants_nothing(db: TestDb) {
    // The administrator asks for a case worker's role for a first responder; the supervisor
    // approves what they saw while, at that very moment, the request is replaced (by a
    // supervisor's role). The approval must not grant the new request, nor the old one
    // over it. The replacing write holds its row lock (PostgreSQL) or the write lock
    // (SQLite) while the approval arrives, so the race is not left to chance.
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let admin_account = seed::account_in(&db, &office, Role::Admin);
    let admin = mfa_enrolled_token(&server, &admin_account.email);
    let head = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &shelter, Role::Supervisor).email,
    );
    let responder = seed::account_in(&db, &shelter, Role::FirstResponder);
    let asked = server.call(
        "PUT",
        &admin,
        &format!("/api/v1/users/{}/role", responder.id),
        Some(&json!({"role": "case_worker"})),
    );
    assert_eq!(
        asked.json()["requested_role"],
        "case_worker",
        "{}",
        asked.text()
    );
    let approval = {
        let mut conn = db.conn();
        conn.write_transaction(|conn| {
            use tumaini_db::schema::users;
            diesel::update(users::table.find(&responder.id))
                .set((
                    users::requested_role.eq(Some(Role::Supervisor)),
                    users::requested_at.eq(Some(chrono::Utc::now().naive_utc())),
                ))
                .execute(conn)?;
            let (head, url) = (
                head.clone(),
                format!(
                    "{}/api/v1/users/{}/approve",
                    server.base_url(),
                    responder.id
                ),
            );
            let approval = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let client = reqwest::Client::builder().no_proxy().build().unwrap();
                    let answer = client
                        .post(url)
                        .bearer_auth(head)
                        .json(&json!({"role": "case_worker"}))
                        .send()
                        .await
                        .unwrap();
                    (answer.status().as_u16(), answer.text().await.unwrap())
                })
            });
            std::thread::sleep(Duration::from_millis(800));
            Ok::<_, tumaini_db::DbError>(approval)
        })
        .unwrap()
    };
    let (status, text) = approval.join().unwrap();
    assert_eq!(status, 409, "{text}");
    let now = User::find(&mut db.conn(), &responder.id).unwrap();
    assert_eq!(
        (now.role, now.requested_role),
        (Role::FirstResponder, Some(Role::Supervisor))
    );
    assert!(
        audit::with_action(&mut db.conn(), "user.grant_approve")
            .unwrap()
            .iter()
            .all(|e| e.outcome != "success")
    );
}

both_engines!(item_12b_an_approval_racing_a_new_request_grants_nothing);
