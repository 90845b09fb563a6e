//! Signed webhooks over real HTTP on both engines, with a real receiver on loopback
//! (`tumaini_tests::webhook_sink`): every request's signature is checked with the secret
//! answered at registration, by an HMAC written here (not the server's); the receiver is down
//! (connections refused), then failing (503), then up while events happen, and every event
//! arrives, none is lost, a repeat only ever carries the same `webhook-id` and body, and no
//! personal value of the case is in any body or header. An endpoint of another organisation
//! receives nothing that is not its own; destinations on private addresses are refused with a
//! problem naming the field; a failing endpoint is switched off after the configured period,
//! its supervisors are told, and once switched back on its events arrive.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tumaini_db::ids::OrgId;
use tumaini_db::schema::{audit_events, webhook_deliveries, webhook_endpoints};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::webhook_sink::{Received, WebhookSink};
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

/// Personal values planted in the case and the referrals' reasons; none may leave in a webhook.
const MARKERS: &[&str] = &[
    "WHKQZgiven",
    "WHKQZfamily",
    "+256 700 909 808",
    "WHKQZnarrative",
    "WHKQZreasonA",
    "WHKQZreasonB",
    "WHKQZreasonC",
    "1998-03-17",
];

/// Every referral event and the NRM deadline: what an ordinary organisation subscribes to.
const EVENTS: &[&str] = &[
    "referral.received",
    "referral.accepted",
    "referral.declined",
    "referral.expired",
    "nrm.decision_overdue",
];

/// Fast retries, endpoints on loopback allowed (tests only).
const SETTINGS: &[(&str, &str)] = &[
    ("TUMAINI_WEBHOOK_ALLOW_LOOPBACK", "true"),
    ("TUMAINI_WEBHOOK_POLL_MS", "100"),
    ("TUMAINI_WEBHOOK_RETRY_BASE_SECS", "1"),
    ("TUMAINI_WEBHOOK_RETRY_MAX_SECS", "2"),
];

/// HMAC-SHA256 (RFC 2104), written here so that the server's own signing code is not what
/// checks it.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// Whether a received request carries a valid Standard Webhooks signature under `secret`
/// (`whsec_...`), with a timestamp within five minutes.
fn verifies(secret: &str, request: &Received) -> bool {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    assert!(
        (24..=64).contains(&key.len()),
        "secret of {} bytes",
        key.len()
    );
    let Ok(timestamp) = request.timestamp.parse::<i64>() else {
        return false;
    };
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return false;
    }
    let mut signed = format!("{}.{}.", request.id, request.timestamp).into_bytes();
    signed.extend_from_slice(&request.body);
    let expected = format!("v1,{}", BASE64.encode(hmac_sha256(&key, &signed)));
    request.signature.split(' ').any(|s| s == expected)
}

/// The staff and organisations of a test, and its receiver.
struct World {
    server: TestServer,
    sink: WebhookSink,
    shelter: OrgId,
    clinics: [OrgId; 3],
    worker: String,
    clinic_workers: [String; 3],
}

impl World {
    fn new(db: &TestDb, settings: &[(&str, &str)]) -> World {
        let server = TestServer::start_with(db, settings, |_| {});
        let shelter = seed::organisation(db, OrganisationKind::Shelter);
        let clinics = [(); 3].map(|()| seed::organisation(db, OrganisationKind::Health));
        let sign_in =
            |org: &OrgId, role: Role| token(&server, &seed::account_in(db, org, role).email).0;
        let worker = sign_in(&shelter, Role::CaseWorker);
        let clinic_workers = clinics.clone().map(|c| sign_in(&c, Role::CaseWorker));
        World {
            server,
            sink: WebhookSink::start(),
            shelter,
            clinics,
            worker,
            clinic_workers,
        }
    }

    fn supervisor(&self, db: &TestDb, org: &OrgId) -> String {
        mfa_enrolled_token(
            &self.server,
            &seed::account_in(db, org, Role::Supervisor).email,
        )
    }

    fn post(&self, token: &str, path: &str, body: &Value, status: u16) -> Value {
        let response = self.server.post(Some(token), path, body);
        assert_eq!(response.status, status, "POST {path}: {}", response.text());
        serde_json::from_slice(&response.body).unwrap_or(Value::Null)
    }

    /// Registers an endpoint at the sink's `path`: its id and secret.
    fn register(&self, token: &str, path: &str, events: &[&str]) -> (String, String) {
        let created = self.post(
            token,
            "/api/v1/webhooks",
            &json!({"url": self.sink.url(path), "event_types": events}),
            201,
        );
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"), "{created}");
        (
            created["endpoint"]["id"].as_str().unwrap().to_owned(),
            secret,
        )
    }

    /// A case of the shelter's carrying the markers, consented for referral to health
    /// services and for identification, screened and referred into the NRM.
    fn case(&self) -> String {
        let encountered = chrono::Utc::now().date_naive() - chrono::Duration::days(3);
        let person = json!({
            "summary": {
                "sex": "female", "age_band": "24_26", "citizenship": "UG",
                "exploitation_country": "UG", "region": "UG-102",
                "encountered_on": encountered.to_string(), "exploitation_types": ["forced_labour"]
            },
            "groups": {
                "identity": {
                    "given_names": MARKERS[0], "family_name": MARKERS[1],
                    "date_of_birth": MARKERS[7]
                },
                "contact": {"phones": [MARKERS[2]]},
                "exploitation": {"narrative": MARKERS[3]}
            }
        });
        let case = self.post(&self.worker, "/api/v1/cases", &person, 201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = |tail: &str| format!("/api/v1/cases/{case}{tail}");
        let consent = json!({
            "given_by": "person", "method": "written",
            "purposes": ["assistance", "referral", "identification"],
            "groups": ["identity", "contact", "health"],
            "recipients": ["shelter", "health", "competent_authority"]
        });
        self.post(&self.worker, &path("/consents"), &consent, 201);
        let judged = json!({
            "indicators": [], "judgement": {"presumed": true, "reason": "a credible account"}
        });
        self.post(&self.worker, &path("/screenings"), &judged, 201);
        self.post(&self.worker, &path("/nrm-referral"), &json!({}), 200);
        case
    }

    /// Refers `case` to the `n`th clinic with a reason carrying `marker`: the referral's id.
    fn refer(&self, case: &str, n: usize, marker: &str) -> String {
        let body = json!({
            "to_organisation_id": self.clinics[n].as_str(), "services": ["health"],
            "groups": ["identity", "health"], "urgency": "normal",
            "reason": format!("She needs a medical check this week. {marker}")
        });
        let path = format!("/api/v1/cases/{case}/referrals");
        self.post(&self.worker, &path, &body, 201)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn step(&self, referral: &str, n: usize, step: &str, body: &Value) {
        let path = format!("/api/v1/referrals/{referral}/{step}");
        self.post(&self.clinic_workers[n], &path, body, 200);
    }
}

/// What an event is about: its type and the referral or case it names.
fn subject(request: &Received) -> (String, String, String) {
    let body: Value = serde_json::from_slice(&request.body).expect("a JSON body");
    let about = body["data"]["referral_id"]
        .as_str()
        .or(body["data"]["case_id"].as_str())
        .unwrap_or_default()
        .to_owned();
    (
        request.path.clone(),
        body["type"].as_str().unwrap_or_default().to_owned(),
        about,
    )
}

fn undelivered(db: &TestDb) -> Vec<(i32, Option<chrono::NaiveDateTime>)> {
    webhook_deliveries::table
        .select((
            webhook_deliveries::attempts,
            webhook_deliveries::delivered_at,
        ))
        .load(&mut db.conn())
        .unwrap()
}

fn deliveries_survive_an_outage_signed_and_without_personal_values(db: TestDb) {
    let mut w = World::new(&db, SETTINGS);
    let police = seed::organisation(&db, OrganisationKind::Police);
    // The receiver is down while endpoints are registered and events happen.
    w.sink.stop();
    let mut secrets = BTreeMap::new();
    let shelter_head = w.supervisor(&db, &w.shelter);
    secrets.insert("/shelter", w.register(&shelter_head, "/shelter", EVENTS).1);
    let clinic_head = w.supervisor(&db, &w.clinics[0]);
    secrets.insert("/clinic", w.register(&clinic_head, "/clinic", EVENTS).1);
    // An organisation with no part in any of it, subscribed to everything it may.
    let police_head = w.supervisor(&db, &police);
    secrets.insert("/police", w.register(&police_head, "/police", EVENTS).1);

    let case = w.case();
    let accepted = w.refer(&case, 0, MARKERS[4]);
    w.step(&accepted, 0, "accept", &json!({}));
    let declined = w.refer(&case, 1, MARKERS[5]);
    w.step(&declined, 1, "decline", &json!({"reason": "no_capacity"}));
    let expired = w.refer(&case, 2, MARKERS[6]);
    // The deadline scanner, as another replica would run it two months ahead: the unanswered
    // referral expires and the reasonable-grounds decision is overdue.
    let later = chrono::Utc::now().naive_utc() + chrono::Duration::days(60);
    tumaini_api::jobs::deadlines::scan(
        &mut db.conn(),
        later,
        "https://tumaini.test",
        &w.server.audit_events(),
    )
    .unwrap();

    let expected: BTreeSet<(String, String, String)> = [
        ("/clinic", "referral.received", &accepted),
        ("/shelter", "referral.accepted", &accepted),
        ("/shelter", "referral.declined", &declined),
        ("/shelter", "referral.expired", &expired),
        ("/shelter", "nrm.decision_overdue", &case),
    ]
    .into_iter()
    .map(|(p, t, s)| (p.to_owned(), t.to_owned(), s.clone()))
    .collect();

    // Down: every delivery is attempted and fails (connection refused), none is lost.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows = undelivered(&db);
        if rows.len() == expected.len() && rows.iter().all(|(attempts, _)| *attempts >= 1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "attempts while down: {rows:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(undelivered(&db).iter().all(|(_, at)| at.is_none()));
    assert!(w.sink.received().is_empty());

    // Up but failing: answered 503, retried.
    w.sink.answer(503);
    w.sink.resume();
    let failing = w
        .sink
        .wait_until(Duration::from_secs(30), |r| r.len() >= expected.len());
    assert!(
        failing.len() >= expected.len(),
        "{} requests while failing",
        failing.len()
    );
    std::thread::sleep(Duration::from_millis(1500));

    // Up: everything arrives.
    w.sink.answer(204);
    let done = |received: &[Received]| {
        let delivered: BTreeSet<_> = received
            .iter()
            .filter(|r| r.answered == 204)
            .map(subject)
            .collect();
        delivered.len() >= expected.len()
    };
    w.sink.wait_until(Duration::from_secs(60), done);
    // Any straggler lands now, so that it is checked too.
    std::thread::sleep(Duration::from_millis(1500));
    let received = w.sink.received();

    let delivered: BTreeSet<_> = received
        .iter()
        .filter(|r| r.answered == 204)
        .map(subject)
        .collect();
    assert_eq!(delivered, expected, "delivered events");
    let seen: BTreeSet<_> = received.iter().map(subject).collect();
    assert_eq!(seen, expected, "nothing else was ever sent, to anyone");
    assert!(
        received.iter().all(|r| r.path != "/police"),
        "an organisation with no part in the events received one"
    );
    assert!(
        received.iter().any(|r| r.answered == 503),
        "the receiver failed for a while"
    );

    // Every request is signed with its endpoint's secret; one event, one id, one body.
    let mut by_id: BTreeMap<&str, (&str, &[u8])> = BTreeMap::new();
    for request in &received {
        let secret = &secrets[request.path.as_str()];
        assert!(verifies(secret, request), "bad signature on {request:?}");
        let other = secrets
            .iter()
            .filter(|(p, _)| **p != request.path.as_str())
            .all(|(_, s)| !verifies(s, request));
        assert!(other, "a request verifies under another endpoint's secret");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body["id"],
            request.id.as_str(),
            "the body names its event id"
        );
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'), "{body}");
        let first = by_id
            .entry(request.id.as_str())
            .or_insert((request.path.as_str(), request.body.as_slice()));
        assert_eq!(*first, (request.path.as_str(), request.body.as_slice()));
    }
    assert_eq!(
        by_id.len(),
        expected.len(),
        "one webhook-id per event and endpoint"
    );
    let retried = by_id.len() < received.len();
    assert!(retried, "attempts were repeated with the same webhook-id");

    // No personal value anywhere in what was sent.
    for request in &received {
        let text = format!(
            "{}{}",
            request.headers,
            String::from_utf8_lossy(&request.body)
        );
        for marker in MARKERS {
            assert!(!text.contains(marker), "{marker} in a webhook: {text}");
        }
    }
    // And the search finds what is there: the referral's reference is in its event.
    assert!(
        received
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains(&accepted)),
        "the search would find a planted value"
    );
    let rows = undelivered(&db);
    assert!(rows.iter().all(|(_, at)| at.is_some()), "{rows:?}");
}

both_engines!(deliveries_survive_an_outage_signed_and_without_personal_values);

fn destinations_on_private_addresses_are_refused_and_endpoints_stay_in_their_organisation(
    db: TestDb,
) {
    // No loopback allowance: a production-like server.
    let w = World::new(&db, &[]);
    let head = w.supervisor(&db, &w.shelter);
    for url in [
        "https://10.0.0.7/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[::1]/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "http://127.0.0.1:9/hook",
        "http://hooks.example.org/hook",
        "https://user:secret@hooks.example.org/hook",
    ] {
        let refused = w.server.post(
            Some(&head),
            "/api/v1/webhooks",
            &json!({"url": url, "event_types": ["referral.received"]}),
        );
        assert_eq!(refused.status, 422, "{url}: {}", refused.text());
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json")
        );
        let detail = refused.json()["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("`url`"), "{url}: {detail}");
        let host = url.split('/').nth(2).unwrap();
        assert!(
            !refused.text().contains(host),
            "the value is echoed: {}",
            refused.text()
        );
    }
    let none: i64 = webhook_endpoints::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(none, 0);

    // The misuse alert is for a coordination office.
    let misuse = w.server.post(
        Some(&head),
        "/api/v1/webhooks",
        &json!({"url": "https://93.184.215.14/x", "event_types": ["audit.misuse_alert"]}),
    );
    // (A public address written as such: nothing is resolved, nothing is sent.)
    assert_eq!(misuse.status, 422, "{}", misuse.text());
    assert!(
        misuse.json()["detail"]
            .as_str()
            .unwrap()
            .contains("`event_types`")
    );

    // Case workers manage no endpoints (refused and audited); supervisors see their own only.
    let refused = w.server.get_as(&w.worker, "/api/v1/webhooks");
    assert_eq!(refused.status, 403, "{}", refused.text());
    let denied: i64 = audit_events::table
        .filter(audit_events::action.eq("webhook.list"))
        .filter(audit_events::outcome.eq("denied"))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(denied, 1);
}

both_engines!(
    destinations_on_private_addresses_are_refused_and_endpoints_stay_in_their_organisation
);

fn endpoints_are_listed_deleted_and_rotated_within_their_organisation(db: TestDb) {
    let w = World::new(&db, SETTINGS);
    let head = w.supervisor(&db, &w.shelter);
    let other_head = w.supervisor(&db, &w.clinics[0]);
    let (id, secret) = w.register(&head, "/shelter", &["referral.accepted"]);
    let (other, _) = w.register(&other_head, "/clinic", &["referral.received"]);

    // The secret is shown once, and stored only wrapped.
    let listed = w.server.get_as(&head, "/api/v1/webhooks");
    assert_eq!(listed.status, 200);
    assert!(!listed.text().contains(&secret[6..]), "{}", listed.text());
    let items = listed.json();
    let ids: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [id.as_str()],
        "a supervisor lists their organisation's only"
    );
    assert!(items[0]["created_at"].as_str().unwrap().ends_with('Z'));
    let raw = BASE64.decode(&secret[6..]).unwrap();
    let stored: Vec<Vec<u8>> = webhook_endpoints::table
        .select(webhook_endpoints::secret_wrapped)
        .load(&mut db.conn())
        .unwrap();
    for bytes in stored {
        assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_slice()));
        assert!(!String::from_utf8_lossy(&bytes).contains(&secret[6..]));
    }

    // Another organisation's endpoint: 404, as if it did not exist.
    for (method, path) in [
        ("DELETE", format!("/api/v1/webhooks/{other}")),
        ("POST", format!("/api/v1/webhooks/{other}/rotate-secret")),
        ("POST", format!("/api/v1/webhooks/{other}/enable")),
    ] {
        let response = w.server.call(method, &head, &path, None);
        assert_eq!(response.status, 404, "{method} {path}: {}", response.text());
    }

    // A rotated secret signs from now; the old one does not.
    let rotated = w.server.call(
        "POST",
        &head,
        &format!("/api/v1/webhooks/{id}/rotate-secret"),
        None,
    );
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    let new_secret = rotated.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let case = w.case();
    let referral = w.refer(&case, 0, "rotation");
    w.step(&referral, 0, "accept", &json!({}));
    let received = w.sink.wait_until(Duration::from_secs(30), |r| {
        r.iter().any(|r| r.path == "/shelter")
    });
    let request = received.iter().find(|r| r.path == "/shelter").unwrap();
    assert!(verifies(&new_secret, request));
    assert!(!verifies(&secret, request));

    // Deleted: gone from the list, nothing more is sent.
    let deleted = w
        .server
        .call("DELETE", &head, &format!("/api/v1/webhooks/{id}"), None);
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    let listed = w.server.get_as(&head, "/api/v1/webhooks").json();
    assert_eq!(listed, json!([]));
    let again = w
        .server
        .call("DELETE", &head, &format!("/api/v1/webhooks/{id}"), None);
    assert_eq!(again.status, 404);
}

both_engines!(endpoints_are_listed_deleted_and_rotated_within_their_organisation);

fn a_failing_endpoint_is_switched_off_its_supervisors_told_and_switched_on_again(db: TestDb) {
    let settings = [
        SETTINGS,
        &[
            ("TUMAINI_WEBHOOK_DISABLE_AFTER_SECS", "2"),
            ("TUMAINI_WEBHOOK_RETRY_MAX_SECS", "1"),
        ],
    ]
    .concat();
    let mut w = World::new(&db, &settings);
    let supervisor = seed::account_in(&db, &w.clinics[0], Role::Supervisor);
    let head = mfa_enrolled_token(&w.server, &supervisor.email);
    let (id, secret) = w.register(&head, "/clinic", &["referral.received"]);
    w.sink.stop();
    let case = w.case();
    let referral = w.refer(&case, 0, MARKERS[4]);

    // Failing for longer than the period: switched off, once, and audited.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let disabled = loop {
        let at: Option<chrono::NaiveDateTime> = webhook_endpoints::table
            .select(webhook_endpoints::disabled_at)
            .first(&mut db.conn())
            .unwrap();
        if let Some(at) = at {
            break at;
        }
        assert!(std::time::Instant::now() < deadline, "never switched off");
        std::thread::sleep(Duration::from_millis(100));
    };
    let listed = w.server.get_as(&head, "/api/v1/webhooks").json();
    assert_eq!(listed[0]["status"], "disabled", "{listed}");
    assert!(listed[0]["disabled_at"].as_str().unwrap().ends_with('Z'));
    let audited: Vec<(Option<String>, Option<String>)> = audit_events::table
        .filter(audit_events::action.eq("webhook.disable"))
        .select((
            audit_events::resource_id,
            audit_events::actor_organisation_id,
        ))
        .load(&mut db.conn())
        .unwrap();
    assert_eq!(
        audited,
        [(Some(id.clone()), Some(w.clinics[0].to_string()))]
    );

    // The supervisors are told, with nothing personal and not the URL.
    let subject_line = "A webhook endpoint was switched off";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let told = loop {
        // Read until two reads agree: a file is written in one go but not atomically.
        let told: Vec<String> = w
            .server
            .mail_files()
            .into_iter()
            .filter(|m| m.contains(subject_line))
            .collect();
        if !told.is_empty()
            && told
                == w.server
                    .mail_files()
                    .into_iter()
                    .filter(|m| m.contains(subject_line))
                    .collect::<Vec<_>>()
        {
            break told;
        }
        assert!(std::time::Instant::now() < deadline, "nobody was told");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(told.len(), 1, "{told:?}");
    let mail = &told[0];
    assert!(
        mail.to_lowercase()
            .contains(&supervisor.email.to_lowercase())
    );
    assert!(mail.contains(&id));
    assert!(!mail.contains(&w.sink.addr.to_string()), "{mail}");
    for marker in MARKERS {
        assert!(!mail.contains(marker), "{marker} in {mail}");
    }

    // Nothing is attempted while switched off, nothing is lost: switched back on once the
    // receiver is up, the event arrives.
    w.sink.resume();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(w.sink.received().is_empty());
    let enabled = w.server.call(
        "POST",
        &head,
        &format!("/api/v1/webhooks/{id}/enable"),
        None,
    );
    assert_eq!(enabled.status, 200, "{}", enabled.text());
    assert_eq!(enabled.json()["status"], "active");
    let received = w.sink.wait_until(Duration::from_secs(30), |r| {
        r.iter().any(|r| r.answered == 204)
    });
    let request = received.iter().find(|r| r.answered == 204).unwrap();
    assert!(verifies(&secret, request));
    assert_eq!(subject(request).2, referral);
    assert!(disabled <= chrono::Utc::now().naive_utc());
}

both_engines!(a_failing_endpoint_is_switched_off_its_supervisors_told_and_switched_on_again);

fn a_misuse_alert_reaches_the_coordination_offices_of_its_country_only(db: TestDb) {
    let settings = [SETTINGS, &[("TUMAINI_MISUSE_THRESHOLD", "2")]].concat();
    let w = World::new(&db, &settings);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let abroad = seed::organisation_in(&db, OrganisationKind::CoordinationOffice, "KE");
    let admin = mfa_enrolled_token(
        &w.server,
        &seed::account_in(&db, &office, Role::Admin).email,
    );
    let mut secrets = BTreeMap::new();
    for (org, path) in [(&office, "/office"), (&abroad, "/abroad")] {
        let created = w.post(
            &admin,
            "/api/v1/webhooks",
            &json!({
                "organisation_id": org.as_str(),
                "url": w.sink.url(path),
                "event_types": ["audit.misuse_alert"]
            }),
            201,
        );
        secrets.insert(path, created["secret"].as_str().unwrap().to_owned());
    }
    // A case worker of the shelter reads the identity of more cases than the threshold (the
    // shelter lets every case worker read its cases).
    diesel::update(tumaini_db::schema::organisations::table.find(w.shelter.as_str()))
        .set(tumaini_db::schema::organisations::case_access.eq("all_staff"))
        .execute(&mut db.conn())
        .unwrap();
    let reader = seed::account_in(&db, &w.shelter, Role::CaseWorker);
    let (reader_token, _) = token(&w.server, &reader.email);
    for _ in 0..3 {
        let case = w.case();
        let path = format!("/api/v1/cases/{case}?groups=identity&purpose=assistance");
        let read = w.server.get_as(&reader_token, &path);
        assert_eq!(read.status, 200, "{}", read.text());
    }
    let received = w.sink.wait_until(Duration::from_secs(30), |r| {
        r.iter().any(|r| r.answered == 204)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let received = [received, w.sink.received()].concat();
    let alert = received
        .iter()
        .find(|r| r.path == "/office")
        .expect("the office was told");
    assert!(verifies(&secrets["/office"], alert));
    let body: Value = serde_json::from_slice(&alert.body).unwrap();
    assert_eq!(body["type"], "audit.misuse_alert");
    assert_eq!(body["data"]["user_id"], reader.id.as_str());
    assert_eq!(body["data"]["organisation_id"], w.shelter.as_str());
    assert!(
        received.iter().all(|r| r.path == "/office"),
        "another country's office was told"
    );
    for request in &received {
        let text = format!(
            "{}{}",
            request.headers,
            String::from_utf8_lossy(&request.body)
        );
        for marker in MARKERS {
            assert!(!text.contains(marker), "{marker} in a webhook: {text}");
        }
        assert!(
            !text.contains(&reader.email),
            "an e-mail address in a webhook"
        );
    }
}

both_engines!(a_misuse_alert_reaches_the_coordination_offices_of_its_country_only);

/// Switching an organisation off stops its endpoints at once, as it stops its people and its
/// machine clients: an event about it afterwards is not queued for it, and one queued before is
/// not sent while it is off.
fn a_switched_off_organisation_is_sent_nothing(db: TestDb) {
    use tumaini_db::models::organisation::Organisation;

    let mut w = World::new(&db, SETTINGS);
    let shelter_head = w.supervisor(&db, &w.shelter);
    w.register(&shelter_head, "/shelter", EVENTS);
    let clinic_head = w.supervisor(&db, &w.clinics[1]);
    w.register(&clinic_head, "/clinic", EVENTS);
    let case = w.case();
    // Queued while the clinic was on, then the clinic is switched off before it is sent: the
    // worker may already be sending it, so stop the receiver first and count what arrives.
    w.sink.stop();
    let _received_by_the_clinic = w.refer(&case, 1, MARKERS[4]);
    Organisation::set_active(&mut db.conn(), &w.clinics[1], false).unwrap();
    // The shelter is switched off too; the clinic's answer would be news for it.
    let declined = w.refer(&case, 0, MARKERS[5]);
    Organisation::set_active(&mut db.conn(), &w.shelter, false).unwrap();
    w.step(&declined, 0, "decline", &json!({"reason": "no_capacity"}));
    w.sink.resume();
    std::thread::sleep(Duration::from_secs(3));
    let received = w.sink.received();
    let subjects: BTreeSet<_> = received.iter().map(subject).collect();
    assert!(
        !subjects.iter().any(|(path, _, _)| path == "/clinic"),
        "a switched-off clinic was sent {subjects:?}"
    );
    assert!(
        !subjects
            .iter()
            .any(|(path, kind, _)| path == "/shelter" && kind == "referral.declined"),
        "a switched-off shelter was told of a decline: {subjects:?}"
    );
}

both_engines!(a_switched_off_organisation_is_sent_nothing);
