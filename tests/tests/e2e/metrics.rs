//! `/metrics` over real HTTP on both engines, scraped behind a token on the main listener and on
//! a listener of its own, parsed by a real Prometheus text parser (`prometheus-parse`). Traffic
//! is driven first: refused sign-ins (one of them locking an account), a case registered with
//! personal markers in every group and read back, a consent and a referral, a break-glass
//! opening, mistyped URLs, queries and an invented method carrying markers. The exposition must
//! count them under fixed labels only, and hold none of the markers, none of the ids (users,
//! organisations, the case, the referral, the break-glass grant) and none of the e-mail
//! addresses. Unconfigured, `/metrics` is 404; without the token, or with a wrong one, 401.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use prom_text_format_parser::{Scrape, ValueType};
use serde_json::{Value, json};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::{TestDb, TestResponse, TestServer, both_engines};

use crate::auth::{login, mfa_enrolled_token, token};

/// The scrape token of the token-mode server.
const TOKEN: &str = "scrape-5f0c2e7a9b13d4e6f8a0c2e4b6d8f0a2";

/// Markers: unique strings that can only be where a personal value was put.
#[derive(Default)]
struct Markers(Vec<String>);

impl Markers {
    fn next(&mut self) -> String {
        let marker = format!("MTRX{:03}QZ", self.0.len());
        self.0.push(marker.clone());
        marker
    }
}

/// `GET path` on `addr` with an optional bearer token, through the server's client.
fn get_at(server: &TestServer, addr: SocketAddr, path: &str, bearer: Option<&str>) -> TestResponse {
    server.send(|client, _| {
        let request = client.get(format!("http://{addr}{path}"));
        match bearer {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    })
}

/// A scrape, parsed by a grammar of the text format: any malformed line fails the parse.
struct Exposition {
    text: String,
    scrape: Scrape,
}

impl Exposition {
    fn parse(response: &TestResponse) -> Self {
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; version=0.0.4"),
        );
        let text = response.text();
        let scrape = Scrape::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert_eq!(
            scrape.to_string(),
            text,
            "the parse keeps every line: printed again, it is the exposition"
        );
        for metric in &scrape.metrics {
            assert!(metric.name.starts_with("tumaini_"), "{}", metric.name);
            assert!(metric.help_desc.is_some(), "{} has no help", metric.name);
        }
        Self { text, scrape }
    }

    /// The samples of the family `metric` of `kind` whose labels include `labels`.
    fn samples<'a>(
        &'a self,
        metric: &'a str,
        kind: ValueType,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a prom_text_format_parser::Sample> + 'a {
        self.scrape
            .metrics
            .iter()
            .filter(move |m| m.name == metric)
            .flat_map(|m| m.samples.iter())
            .filter(move |s| s.value.value_type == kind)
            .filter(move |s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
            })
    }

    /// The sum of the samples of a counter or gauge `metric` whose labels include `labels`.
    fn value(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples(metric, ValueType::Sample, labels)
            .map(|s| s.value.value.as_f64())
            .reduce(|a, b| a + b)
    }

    /// The number of observations of a histogram `metric` whose labels include `labels`.
    fn observations(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples(metric, ValueType::Count, labels)
            .map(|s| s.value.value.as_f64())
            .sum()
    }

    /// The families present.
    fn families(&self) -> BTreeSet<&str> {
        self.scrape
            .metrics
            .iter()
            .map(|m| m.name.as_str())
            .collect()
    }

    /// The number of samples.
    fn sample_count(&self) -> usize {
        self.scrape.metrics.iter().map(|m| m.samples.len()).sum()
    }

    /// Every label value must come from a fixed set: route patterns of the route table (or
    /// `unmatched`), the usual methods, status codes, named states and outcomes, and the
    /// histograms' bucket bounds.
    fn assert_fixed_labels(&self) {
        let methods = [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
        ];
        let words = [
            "idle",
            "in_use",
            "ok",
            "failed",
            "invalid_credentials",
            "rate_limited",
            "reasonable_grounds",
            "conclusive_grounds",
        ];
        let patterns = route_patterns();
        for metric in &self.scrape.metrics {
            for label in metric.samples.iter().flat_map(|s| s.labels.iter()) {
                let value = label.value.as_str();
                let fixed = match label.key.as_str() {
                    "route" => value == "unmatched" || patterns.contains(value),
                    "method" => methods.contains(&value),
                    "status" => value.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)),
                    "state" | "outcome" | "reason" | "decision" => words.contains(&value),
                    "le" => value == "+Inf" || value.parse::<f64>().is_ok(),
                    _ => false,
                };
                assert!(fixed, "{} has label {}={value:?}", metric.name, label.key);
            }
        }
    }

    /// How often `needle` occurs in the exposition (also in lower case).
    fn hits(&self, needle: &str) -> usize {
        let lower = needle.to_lowercase();
        self.text.matches(needle).count()
            + if lower == needle {
                0
            } else {
                self.text.matches(&lower).count()
            }
    }
}

/// The patterns of the route table, as the API description lists them: nothing a request could
/// have chosen.
fn route_patterns() -> BTreeSet<String> {
    tumaini_api::routes::openapi()
        .paths
        .paths
        .keys()
        .cloned()
        .collect()
}

/// Searches the exposition for each needle, prints the counts and fails on any hit.
fn assert_none_found(exposition: &Exposition, what: &str, needles: &[String]) {
    let hits: Vec<(&String, usize)> = needles
        .iter()
        .map(|n| (n, exposition.hits(n)))
        .filter(|(_, count)| *count > 0)
        .collect();
    println!(
        "metrics: searched {} bytes for {} {what}: {} hits",
        exposition.text.len(),
        needles.len(),
        hits.len()
    );
    assert!(hits.is_empty(), "{what} found in /metrics: {hits:?}");
}

fn person(m: &mut Markers) -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG",
            "exploitation_country": "UG", "region": "UG-102", "encountered_on": "2026-11-20",
            "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": {"given_names": m.next(), "family_name": m.next(), "aliases": [m.next()]},
            "contact": {"phones": [m.next()], "address": m.next()},
            "exploitation": {"narrative": m.next()},
            "notes": {"summary_note": m.next()}
        }
    })
}

/// What the traffic left behind to look for.
struct Traffic {
    markers: Markers,
    ids: Vec<String>,
    emails: Vec<String>,
    case_reads: usize,
}

/// Drives traffic that touches every counted path and plants markers and ids in it.
fn drive_traffic(server: &TestServer, db: &TestDb) -> Traffic {
    let mut m = Markers::default();
    let shelter = seed::organisation(db, OrganisationKind::Shelter);
    let refuge = seed::organisation(db, OrganisationKind::Shelter);
    let office = seed::organisation(db, OrganisationKind::CoordinationOffice);
    let worker = seed::account_in(db, &shelter, Role::CaseWorker);
    let locked = seed::account_in(db, &refuge, Role::CaseWorker);
    let coordinator = seed::account_in(db, &office, Role::Coordinator);
    let sw = token(server, &worker.email).0;
    let c = mfa_enrolled_token(server, &coordinator.email);

    // Refused sign-ins: an unknown address that is a marker, a wrong password that is one, and
    // three wrong passwords that lock an account (threshold 3).
    let unknown = format!("{}@example.test", m.next());
    let guess = |m: &mut Markers| format!("{} is my guess", m.next());
    assert_eq!(login(server, &unknown, &guess(&mut m)).0, 401);
    for _ in 0..3 {
        assert_eq!(login(server, &locked.email, &guess(&mut m)).0, 401);
    }

    // A case with personal markers in every group, read back with them.
    let given_names = m.0.len();
    let created = server.post(Some(&sw), "/api/v1/cases", &person(&mut m));
    assert_eq!(created.status, 201, "{}", created.text());
    let case = created.json()["id"].as_str().unwrap().to_owned();
    let reference = created.json()["reference"].as_str().unwrap().to_owned();
    let case_reads = 3;
    for _ in 0..case_reads {
        let read = server.get_as(
            &sw,
            &format!("/api/v1/cases/{case}?groups=identity,contact&purpose=assistance"),
        );
        assert_eq!(read.status, 200, "{}", read.text());
        assert!(
            read.text().contains(&m.0[given_names]),
            "the markers are in the case: {}",
            read.text()
        );
    }

    // Consent and a referral with a marker in its reason.
    let consented = server.post(
        Some(&sw),
        &format!("/api/v1/cases/{case}/consents"),
        &json!({
            "given_by": "person", "method": "written", "purposes": ["assistance", "referral"],
            "groups": ["identity", "contact"], "recipients": ["shelter"], "details": m.next()
        }),
    );
    assert_eq!(consented.status, 201, "{}", consented.text());
    let referred = server.post(
        Some(&sw),
        &format!("/api/v1/cases/{case}/referrals"),
        &json!({
            "to_organisation_id": refuge.as_str(), "services": ["shelter"],
            "groups": ["identity"], "urgency": "emergency",
            "reason": format!("She needs a bed tonight: {}", m.next())
        }),
    );
    assert_eq!(referred.status, 201, "{}", referred.text());
    let referral = referred.json()["id"].as_str().unwrap().to_owned();

    // A break-glass opening with a marker in its justification.
    let opened = server.post(
        Some(&c),
        &format!("/api/v1/cases/{case}/break-glass"),
        &json!({
            "groups": ["contact"], "minutes": 30,
            "justification": format!("She did not arrive after the hearing tonight {}", m.next())
        }),
    );
    assert_eq!(opened.status, 201, "{}", opened.text());
    let grant = opened.json()["id"].as_str().unwrap().to_owned();

    // URLs a person typed: a marker as a case id, as a path, in a query, as a method.
    let marker_path = m.next();
    assert_eq!(
        server
            .get_as(&sw, &format!("/api/v1/cases/{marker_path}"))
            .status,
        404
    );
    let unmatched = m.next();
    assert_eq!(
        server.get(&format!("/api/v1/{unmatched}/nowhere")).status,
        404
    );
    let query = m.next();
    let listed = server.get_as(&sw, &format!("/api/v1/cases?q={query}&{query}=1"));
    assert!(listed.status < 500, "{}", listed.text());
    let method = m.next();
    let invented = server.send(|client, base| {
        client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{base}/api/v1/cases/{case}"),
            )
            .header("x-request-id", format!("req-{}", m.0[0]))
    });
    assert!(invented.status >= 400, "{}", invented.status);

    // The lock's e-mail (and the others) delivered: the outbox's attempts are counted.
    server.wait_for_mail(1, std::time::Duration::from_secs(20));

    let ids = vec![
        case,
        reference,
        referral,
        grant,
        shelter.as_str().to_owned(),
        refuge.as_str().to_owned(),
        office.as_str().to_owned(),
        worker.id.as_str().to_owned(),
        locked.id.as_str().to_owned(),
        coordinator.id.as_str().to_owned(),
    ];
    let emails = vec![worker.email, locked.email, coordinator.email, unknown];
    Traffic {
        markers: m,
        ids,
        emails,
        case_reads,
    }
}

/// The families and values the traffic must have produced, and nothing it planted.
fn assert_counted_without_personal_values(exposition: &Exposition, traffic: &Traffic) {
    let families = exposition.families();
    for family in [
        "tumaini_http_requests_total",
        "tumaini_http_request_duration_seconds",
        "tumaini_db_pool_connections",
        "tumaini_db_pool_max_connections",
        "tumaini_db_pool_wait_seconds",
        "tumaini_outbox_pending_messages",
        "tumaini_outbox_oldest_pending_age_seconds",
        "tumaini_outbox_failing_messages",
        "tumaini_audit_unsealed_events",
        "tumaini_audit_checkpoint_age_seconds",
        "tumaini_audit_seal_rounds_total",
        "tumaini_outbox_delivery_attempts_total",
        "tumaini_deadline_scans_total",
        "tumaini_deadline_marked_total",
        "tumaini_nrm_decisions_overdue",
        "tumaini_sign_in_failures_total",
        "tumaini_account_locks_total",
        "tumaini_accounts_locked",
        "tumaini_break_glass_openings_total",
        "tumaini_metrics_database_up",
    ] {
        assert!(
            families.contains(family),
            "{family} missing from {families:?}"
        );
    }
    let case_route = [("route", "/api/v1/cases/{id}"), ("method", "GET")];
    let reads = exposition
        .value(
            "tumaini_http_requests_total",
            &[case_route[0], case_route[1], ("status", "200")],
        )
        .unwrap_or(0.0);
    assert!(
        reads >= traffic.case_reads as f64,
        "case reads counted: {reads}"
    );
    let failures = exposition
        .value(
            "tumaini_sign_in_failures_total",
            &[("reason", "invalid_credentials")],
        )
        .unwrap_or(0.0);
    assert!(failures >= 4.0, "refused sign-ins counted: {failures}");
    assert_eq!(
        exposition.value("tumaini_account_locks_total", &[]),
        Some(1.0)
    );
    assert_eq!(exposition.value("tumaini_accounts_locked", &[]), Some(1.0));
    assert_eq!(
        exposition.value("tumaini_break_glass_openings_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        exposition.value("tumaini_metrics_database_up", &[]),
        Some(1.0)
    );
    let unmatched = exposition
        .value(
            "tumaini_http_requests_total",
            &[("route", "unmatched"), ("status", "404")],
        )
        .unwrap_or(0.0);
    assert!(
        unmatched >= 1.0,
        "a URL no route matches is counted as unmatched"
    );
    let invented = exposition
        .value("tumaini_http_requests_total", &[("method", "OTHER")])
        .unwrap_or(0.0);
    assert!(invented >= 1.0, "an invented method is counted as OTHER");
    let timed = exposition.observations(
        "tumaini_http_request_duration_seconds",
        &[("route", "/api/v1/cases/{id}"), ("method", "GET")],
    );
    assert!(
        timed >= traffic.case_reads as f64,
        "case reads timed: {timed}"
    );
    let delivered = exposition
        .value(
            "tumaini_outbox_delivery_attempts_total",
            &[("outcome", "ok")],
        )
        .unwrap_or(0.0);
    assert!(delivered >= 1.0, "delivered e-mail is counted: {delivered}");
    let scans = exposition
        .value("tumaini_deadline_scans_total", &[("outcome", "ok")])
        .unwrap_or(0.0);
    assert!(
        scans >= 1.0,
        "the deadline scanner's runs are counted: {scans}"
    );
    let waits = exposition.observations("tumaini_db_pool_wait_seconds", &[]);
    assert!(
        waits > 0.0,
        "connections taken from the pool are timed: {waits}"
    );
    exposition.assert_fixed_labels();

    // The search finds what is there: the route pattern of the case.
    assert!(exposition.hits("/api/v1/cases/{id}") > 0);
    assert_none_found(exposition, "personal markers", &traffic.markers.0);
    assert_none_found(exposition, "ids and references", &traffic.ids);
    assert_none_found(exposition, "e-mail addresses", &traffic.emails);
}

fn metrics_behind_a_token_count_traffic_and_name_no_one(db: TestDb) {
    let server = TestServer::start_with(
        &db,
        &[
            ("TUMAINI_METRICS_TOKEN", TOKEN),
            ("TUMAINI_LOCKOUT_THRESHOLD", "3"),
        ],
        |_| {},
    );
    assert!(server.metrics_addr.is_none());
    let traffic = drive_traffic(&server, &db);
    let scraped = server.get_as(TOKEN, "/metrics");
    let exposition = Exposition::parse(&scraped);
    println!(
        "metrics ({}): token mode, {} families, {} samples",
        db.engine().name(),
        exposition.families().len(),
        exposition.sample_count()
    );
    assert_counted_without_personal_values(&exposition, &traffic);

    // Without the token, with a wrong one, with one differing in one character: 401.
    let mut near = TOKEN.to_owned();
    near.pop();
    near.push('3');
    for bearer in [None, Some("wrong"), Some(near.as_str()), Some(&TOKEN[..20])] {
        let refused = get_at(&server, server.addr, "/metrics", bearer);
        assert_eq!(refused.status, 401, "{bearer:?}");
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json")
        );
        assert!(refused.header("www-authenticate").is_some());
        assert!(
            !refused.text().contains("tumaini_"),
            "no figure leaks with a 401"
        );
    }
    // A session's access token is not a scrape token.
    let account = seed::account(&db, Role::CaseWorker);
    let access = token(&server, &account.email).0;
    assert_eq!(server.get_as(&access, "/metrics").status, 401);
}

both_engines!(metrics_behind_a_token_count_traffic_and_name_no_one);

fn metrics_on_a_listener_of_their_own(db: TestDb) {
    let server = TestServer::start_with(
        &db,
        &[
            ("TUMAINI_METRICS_BIND", "127.0.0.1:0"),
            ("TUMAINI_LOCKOUT_THRESHOLD", "3"),
        ],
        |_| {},
    );
    let metrics_addr = server.metrics_addr.expect("a metrics listener");
    assert_ne!(metrics_addr, server.addr);
    let traffic = drive_traffic(&server, &db);
    let scraped = get_at(&server, metrics_addr, "/metrics", None);
    let exposition = Exposition::parse(&scraped);
    println!(
        "metrics ({}): own listener, {} families, {} samples",
        db.engine().name(),
        exposition.families().len(),
        exposition.sample_count()
    );
    assert_counted_without_personal_values(&exposition, &traffic);
    // The main listener does not serve them, and the metrics listener serves nothing else.
    assert_eq!(server.get("/metrics").status, 404);
    assert_eq!(server.get_as(TOKEN, "/metrics").status, 404);
    assert_eq!(
        get_at(&server, metrics_addr, "/api/v1/cases", None).status,
        404
    );
    assert_eq!(get_at(&server, metrics_addr, "/healthz", None).status, 404);
}

both_engines!(metrics_on_a_listener_of_their_own);

fn metrics_are_not_served_unless_configured(db: TestDb) {
    let server = TestServer::start(&db);
    assert!(server.metrics_addr.is_none());
    for bearer in [None, Some(TOKEN)] {
        let answer = get_at(&server, server.addr, "/metrics", bearer);
        assert_eq!(answer.status, 404, "{bearer:?}");
        assert!(!answer.text().contains("tumaini_"));
    }
}

both_engines!(metrics_are_not_served_unless_configured);

/// The figures read from the database at scrape time, on each engine: the outbox backlog and its
/// oldest age, failing messages, unsealed audit events and the newest checkpoint.
fn backlog_figures_are_read_from_the_database(db: TestDb) {
    use tumaini_db::audit_chain;
    use tumaini_db::models::monitoring::Backlog;
    use tumaini_db::models::outbox;
    use tumaini_db::time::now_utc;

    let mut conn = db.conn();
    let empty = Backlog::read(&mut conn, now_utc()).unwrap();
    assert_eq!(empty.outbox_pending, 0);
    assert_eq!(empty.outbox_oldest_pending, None);
    assert_eq!(empty.accounts_locked, 0);
    assert_eq!(
        (
            empty.overdue_reasonable_grounds,
            empty.overdue_conclusive_grounds
        ),
        (0, 0)
    );

    let to = "someone@example.test".parse().unwrap();
    let first = outbox::enqueue(&mut conn, &to, "one", "body").unwrap();
    let second = outbox::enqueue(&mut conn, &to, "two", "body").unwrap();
    let third = outbox::enqueue(&mut conn, &to, "three", "body").unwrap();
    outbox::mark_failed(&mut conn, &second, 1, now_utc(), "smtp transient failure").unwrap();
    outbox::mark_sent(&mut conn, &third).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let backlog = Backlog::read(&mut conn, now_utc()).unwrap();
    assert_eq!(backlog.outbox_pending, 2);
    assert_eq!(backlog.outbox_failing, 1);
    let oldest = backlog.outbox_oldest_pending.expect("an oldest message");
    assert!(now_utc() - oldest >= chrono::Duration::milliseconds(50));
    outbox::mark_sent(&mut conn, &first).unwrap();
    outbox::mark_sent(&mut conn, &second).unwrap();
    let drained = Backlog::read(&mut conn, now_utc()).unwrap();
    assert_eq!((drained.outbox_pending, drained.outbox_failing), (0, 0));
    assert_eq!(
        drained.audit_unsealed,
        audit_chain::unsealed_count(&mut conn).unwrap()
    );
    println!(
        "metrics ({}): backlog {:?} then {:?}",
        db.engine().name(),
        backlog,
        drained
    );
}

both_engines!(backlog_figures_are_read_from_the_database);
