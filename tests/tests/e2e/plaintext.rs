//! No personal value in clear anywhere it could land. The real `tumaini` binary serves a real
//! database and writes its e-mail to a folder (the development transport); a unique marker goes
//! through every endpoint that accepts personal data (every field of every personal group,
//! referral reasons, break-glass justifications, notes, plans, decisions, screenings, risk
//! details, assistance details, consent notes, a retried request's stored answer, and wrongly
//! typed values that are refused); the case is read back, listed and referred, so that each
//! value passes through every handler that decrypts it. Then the raw SQLite file with its
//! write-ahead log (or a `pg_dump` of the PostgreSQL database), every line the server logged and
//! every e-mail it sent (headers and body, as a relay would receive them) are searched for every
//! marker: none may appear. A value that is not personal (the case's reference) is looked for
//! too, to show that the search finds what is there.

use std::time::Duration;

use serde_json::{Value, json};
use tumaini_api::auth::totp;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::console::ConsoleBrowser;
use tumaini_tests::mail_dir;
use tumaini_tests::seed::{self, PASSWORD};
use tumaini_tests::{TestDb, both_engines};

use crate::auth::base32_decode;
use crate::binary::{Served, call};

/// Signs in over HTTP, enrolling a second factor when the role needs one.
pub(crate) fn sign_in(addr: std::net::SocketAddr, email: &str) -> String {
    let (status, body) = call(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": PASSWORD})),
    );
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    if body["mfa_enrolment_required"] == true {
        let (_, enrolment) = call(
            addr,
            "POST",
            "/api/v1/auth/mfa/totp",
            Some(&token),
            Some(&json!({})),
        );
        let secret = base32_decode(enrolment["secret"].as_str().unwrap());
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
        let code = totp::code_at(&secret, now).unwrap();
        let (status, _) = call(
            addr,
            "POST",
            "/api/v1/auth/mfa/totp/confirm",
            Some(&token),
            Some(&json!({"code": code})),
        );
        assert_eq!(status, 200);
    }
    token
}

/// Markers: unique strings that can only be where a personal value was put.
struct Markers(Vec<String>);

impl Markers {
    fn next(&mut self) -> String {
        let marker = format!("PLXN{:03}QZ", self.0.len());
        self.0.push(marker.clone());
        marker
    }
}

fn call_ok(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Value {
    let (status, answer) = call(addr, method, path, Some(token), body);
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    answer
}

fn no_personal_value_is_stored_logged_or_mailed_in_clear(db: TestDb) {
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let police = seed::organisation(&db, OrganisationKind::Police);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let panel = seed::organisation(&db, OrganisationKind::CompetentAuthority);
    let kenya = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let accounts = [
        seed::account_in(&db, &shelter, Role::CaseWorker),
        seed::account_in(&db, &shelter, Role::Supervisor),
        seed::account_in(&db, &police, Role::FirstResponder),
        seed::account_in(&db, &clinic, Role::CaseWorker),
        seed::account_in(&db, &office, Role::Coordinator),
        seed::account_in(&db, &panel, Role::CompetentAuthority),
        seed::account_in(&db, &kenya, Role::CaseWorker),
    ];
    let cwd = tempfile::tempdir().unwrap();
    // E-mail is written whole (headers and body) to a folder by the development transport: what
    // is sent is under test here, not SMTP.
    let mail_folder = tempfile::tempdir().unwrap();
    let served = Served::start_with(
        cwd.path(),
        Some(&db.url_string()),
        &[
            ("TUMAINI_MAIL_DIR", mail_folder.path().to_str().unwrap()),
            ("TUMAINI_MAIL_POLL_MS", "100"),
            ("TUMAINI_PUBLIC_URL", "https://tumaini.test"),
            ("TUMAINI_LOGIN_RATE_PER_MINUTE", "1000"),
        ],
    );
    let addr = served.addr;
    let [
        worker,
        head,
        responder,
        clinician,
        coordinator,
        authority,
        kenyan,
    ] = accounts.each_ref().map(|a| sign_in(addr, &a.email));
    let mut m = Markers(Vec::new());
    let birth = "1987-06-05";
    m.0.push(birth.to_owned());

    // Registration: every field of every personal group.
    let person = json!({
        "summary": {
            "sex": "female", "age_band": "27_29", "citizenship": "UG",
            "exploitation_country": "KE", "region": "UG-202", "encountered_on": "2026-11-20",
            "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": {
                "given_names": m.next(), "family_name": m.next(), "aliases": [m.next()],
                "date_of_birth": birth,
                "documents": [{"kind": "passport", "number": m.next(), "issuing_country": "UG"}],
                "guardian": {"name": m.next(), "relationship": m.next(), "phone": m.next()},
                "languages": ["sw"]
            },
            "contact": {
                "phones": [m.next()], "address": m.next(), "current_location": m.next(),
                "emergency_contact": {"name": m.next(), "relationship": m.next(), "phone": m.next()}
            },
            "exploitation": {
                "narrative": m.next(), "recruitment_details": m.next(),
                "perpetrator_details": m.next(), "places": [m.next()]
            },
            "health": {
                "physical_health": m.next(), "mental_health": m.next(), "disability": m.next(),
                "pregnant": false
            },
            "legal": {
                "immigration_status": m.next(), "legal_proceedings": m.next(),
                "witness_status": m.next(), "compensation": m.next()
            },
            "notes": {"summary_note": m.next()}
        }
    });
    let created = call_ok(addr, "POST", "/api/v1/cases", &worker, Some(&person));
    let case = created["id"].as_str().unwrap().to_owned();
    let reference = created["reference"].as_str().unwrap().to_owned();
    let path = |rest: &str| format!("/api/v1/cases/{case}{rest}");
    // The same person again, by the police: a possible duplicate the shelter is told of.
    call_ok(addr, "POST", "/api/v1/cases", &responder, Some(&person));
    // An update of personal groups.
    let (status, _) = call(addr, "GET", &path(""), Some(&worker), None);
    assert_eq!(status, 200);
    let update = json!({
        "groups": {
            "identity": {"given_names": m.next(), "family_name": m.next(), "date_of_birth": birth},
            "notes": {"summary_note": m.next()}
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let patched = runtime.block_on(async {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .patch(format!("http://{addr}{}", path("")))
            .bearer_auth(&worker)
            .header("If-Match", "\"v1\"")
            .json(&update)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(patched, 200);
    // Consent (with its notes), screening (notes and judgement), the NRM and a decision.
    call_ok(
        addr,
        "POST",
        &path("/consents"),
        &worker,
        Some(&json!({
            "given_by": "person", "method": "written",
            "purposes": ["assistance", "referral", "identification"],
            "groups": ["identity", "contact", "health", "exploitation", "legal"],
            "recipients": ["shelter", "health", "competent_authority", "abroad"],
            "details": m.next()
        })),
    );
    call_ok(
        addr,
        "POST",
        &path("/screenings"),
        &worker,
        Some(&json!({"indicators": ["dr_wages"], "notes": m.next(),
        "judgement": {"presumed": true, "reason": m.next()}})),
    );
    call_ok(
        addr,
        "POST",
        &path("/nrm-referral"),
        &worker,
        Some(&json!({})),
    );
    call_ok(
        addr,
        "POST",
        &path("/identification-decisions"),
        &authority,
        Some(&json!({"decision": "reasonable_grounds_positive", "reasons": m.next()})),
    );
    // Case work: a note, risk, the plan, assistance.
    call_ok(
        addr,
        "POST",
        &path("/notes"),
        &worker,
        Some(&json!({"text": m.next()})),
    );
    call_ok(
        addr,
        "POST",
        &path("/risk-assessments"),
        &worker,
        Some(&json!({
            "individual": "high", "household": "low", "community": "low",
            "review_on": "2099-01-01", "details": m.next()
        })),
    );
    call_ok(
        addr,
        "PUT",
        &path("/plan"),
        &worker,
        Some(&json!({
            "goals": [{"service_type": "shelter", "action": m.next()}],
            "review_on": "2099-01-01", "agreed_with_person": true
        })),
    );
    call_ok(
        addr,
        "POST",
        &path("/assistance"),
        &worker,
        Some(&json!({
            "service_type": "shelter", "status": "in_progress", "provided_on": "2026-11-21",
            "details": m.next()
        })),
    );
    // Break-glass by the supervisor, with its justification.
    call_ok(
        addr,
        "POST",
        &path("/break-glass"),
        &head,
        Some(&json!({
            "groups": ["contact"],
            "justification": format!("{} must be reached tonight", m.next())
        })),
    );
    // Referrals, at home and abroad, one retried with an Idempotency-Key (its stored answer
    // holds the reason).
    let reason = m.next();
    let referral = json!({
        "to_organisation_id": clinic.as_str(), "services": ["health"],
        "groups": ["identity", "health"], "urgency": "high", "reason": reason
    });
    let send = || {
        runtime.block_on(async {
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap()
                .post(format!("http://{addr}{}", path("/referrals")))
                .bearer_auth(&worker)
                .header("Idempotency-Key", "plaintext-referral")
                .json(&referral)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    let first = send();
    assert_eq!(
        send()["reason"],
        first["reason"],
        "the retry gets the first answer"
    );
    let abroad = call_ok(
        addr,
        "POST",
        &path("/referrals"),
        &worker,
        Some(&json!({"to_organisation_id": kenya.as_str(),
        "services": ["shelter"], "groups": ["identity"], "urgency": "normal", "reason": m.next()})),
    );
    let abroad_id = abroad["id"].as_str().unwrap().to_owned();
    call_ok(
        addr,
        "POST",
        &format!("/api/v1/referrals/{abroad_id}/accept"),
        &kenyan,
        None,
    );
    // Reads that decrypt: every group, the records, the inbox, the timeline.
    call_ok(
        addr,
        "GET",
        &path("?groups=identity,contact,exploitation,health,legal,notes&purpose=assistance"),
        &worker,
        None,
    );
    for rest in [
        "/notes",
        "/plan",
        "/risk-assessments",
        "/assistance",
        "/screenings",
        "/consents",
        "/referrals",
    ] {
        call_ok(addr, "GET", &path(rest), &worker, None);
    }
    call_ok(addr, "GET", "/api/v1/referrals?box=inbox", &clinician, None);
    call_ok(
        addr,
        "GET",
        &path("?groups=identity&purpose=assistance"),
        &kenyan,
        None,
    );
    call_ok(
        addr,
        "GET",
        &format!("/api/v1/audit/cases/{case}/disclosures"),
        &coordinator,
        None,
    );
    // Values refused for their type: the error, and the log of it, repeat none.
    let (status, _) = call(
        addr,
        "POST",
        "/api/v1/cases",
        Some(&worker),
        Some(&json!({
            "summary": {
                "sex": m.next(), "age_band": "27_29", "region": m.next(),
                "encountered_on": "2026-11-20"
            }
        })),
    );
    assert_eq!(status, 422);
    let (status, _) = call(
        addr,
        "POST",
        &path("/notes"),
        Some(&worker),
        Some(&json!({"text": [m.next()]})),
    );
    assert_eq!(status, 422);

    // The web console: a person registered, read with a purpose and noted through its forms.
    // No value is ever in an address (requested or redirected to), and every page that shows
    // one is `no-store`.
    let mut browser = ConsoleBrowser::at(&format!("http://{addr}"));
    let landed = browser.sign_in(&accounts[0].email, PASSWORD, None);
    assert_eq!(landed.status, 200);
    browser.visit("/console/cases/new");
    let (given, family, story) = (m.next(), m.next(), m.next());
    let registered = browser.submit(
        "/console/cases/new",
        &[
            ("sex", "female"),
            ("age_band", "27_29"),
            ("citizenship", "UG"),
            ("exploitation_country", "KE"),
            ("region", "UG-202"),
            ("encountered_on", "2026-11-21"),
            ("exploitation_types", "forced_labour"),
            ("given_names", &given),
            ("family_name", &family),
            ("narrative", &story),
        ],
    );
    assert_eq!(registered.status, 200, "{}", registered.text());
    let console_case = browser
        .urls
        .iter()
        .rev()
        .find_map(|u| u.strip_prefix("/console/cases/"))
        .map(|rest| rest.split(['?', '/']).next().unwrap_or_default().to_owned())
        .expect("the case page after registration");
    let read = browser.visit(&format!("/console/cases/{console_case}?purpose=assistance"));
    assert_eq!(read.status, 200);
    assert!(read.text().contains(&family), "the page shows what it read");
    assert_eq!(read.header("cache-control"), Some("no-store"));
    let noted = browser.submit(
        &format!("/console/cases/{console_case}/notes"),
        &[("text", &m.next()), ("purpose", "assistance")],
    );
    assert_eq!(noted.status, 200, "{}", noted.text());
    assert_eq!(noted.header("cache-control"), Some("no-store"));
    let refused = browser.submit(
        "/console/cases/new",
        &[
            ("sex", &m.next()),
            ("age_band", "27_29"),
            ("encountered_on", "2026-11-21"),
        ],
    );
    assert_eq!(refused.status, 422);
    for url in &browser.urls {
        for marker in &m.0 {
            assert!(
                !url.contains(marker.as_str()),
                "a personal value in a console address"
            );
        }
    }

    // The e-mails: the referrals, break-glass, the duplicate, the child-free rest; then a
    // moment for any still on its way, and every message read whole.
    mail_dir::wait_for(mail_folder.path(), 4, Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(1));
    let mail = mail_dir::wait_for(mail_folder.path(), 4, Duration::from_secs(5));
    let log = served.stop();

    // Where values could land: the database's bytes, the log, the e-mails.
    let stored: Vec<u8> = db.stored_bytes();
    let stored = String::from_utf8_lossy(&stored).into_owned();
    let log = log.join("\n");
    let places = [
        ("database", &stored),
        ("log", &log),
        ("e-mail", &mail.join("\n")),
    ];
    let mut hits = Vec::new();
    for marker in &m.0 {
        for (place, text) in &places {
            if text.contains(marker.as_str()) {
                hits.push(format!("{marker} in the {place}"));
            }
        }
    }
    // The search finds what is there: the reference is stored, mailed, and a request id is
    // in the log.
    assert!(
        stored.contains(&reference),
        "the reference is not in the database bytes: is the search looking?"
    );
    assert!(
        mail.iter().any(|message| message.contains(&reference)),
        "no e-mail names the case's reference"
    );
    assert!(log.contains("request completed"), "no access log lines");
    println!(
        "plaintext scan ({}): {} markers through {} places ({} bytes stored, \
         {} log lines, {} e-mails): {} hits",
        db.engine(),
        m.0.len(),
        places.len(),
        stored.len(),
        log.lines().count(),
        mail.len(),
        hits.len()
    );
    assert!(
        hits.is_empty(),
        "personal values in clear:\n{}",
        hits.join("\n")
    );
}

both_engines!(no_personal_value_is_stored_logged_or_mailed_in_clear);
