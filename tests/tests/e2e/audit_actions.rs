//! Every audited action, walked from `AuditAction::ALL` on both engines: each is produced by
//! the real request, background job or command that claims it, and the test checks that it
//! wrote at least one new event with exactly that action code, about the kind of resource and
//! with the outcome that code path records. [`exercise`] is an exhaustive `match` without a
//! wildcard arm, so an action added to the vocabulary without a way to produce it here does
//! not compile.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tumaini_api::audit::AuditAction;
use tumaini_db::ids::OrgId;
use tumaini_db::models::audit::{self, AuditEvent};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, Account, PASSWORD};
use tumaini_tests::{TestDb, TestResponse, TestServer, both_engines};

use crate::auth::{login, mfa_enrolled_token, token};

/// The data-sharing agreement the server is configured to allow a research export under.
const AGREEMENT: &str = "DSA-AUDIT-1";

/// Where the e-mails' links point (the test server's `TUMAINI_PUBLIC_URL`).
const PUBLIC_URL: &str = "https://tumaini.test";

/// How long an action may take to be written by a background job (the sealer's misuse watch,
/// housekeeping, a password reset issued after its answer).
const ASYNC_DEADLINE: Duration = Duration::from_secs(20);

/// A server and the staff who act in it: a shelter (the owning organisation), a clinic (the
/// receiver of referrals), a police post (an organisation that cannot see the shelter's cases),
/// and the country's coordinator, competent authority and administrator.
struct World<'a> {
    db: &'a TestDb,
    server: TestServer,
    shelter: OrgId,
    clinic: OrgId,
    /// The coordination office (the coordinator's and the administrator's).
    office: OrgId,
    /// The shelter's case worker.
    worker: String,
    /// The shelter's supervisor (second factor enrolled).
    supervisor: String,
    /// The clinic's case worker.
    clinic_worker: String,
    /// The police post's first responder.
    responder: String,
    coordinator: String,
    authority: String,
    admin: String,
    /// Makes names, addresses and codes unique within the test.
    serial: Cell<u32>,
    /// The database the last action wrote its event into, when not this one: a restore
    /// records itself in the database it restored.
    elsewhere: RefCell<Option<TestDb>>,
}

/// The expected status, then the body as JSON (`null` when there is none).
fn expect(response: &TestResponse, status: u16, what: &str) -> Value {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

/// `n` as letters (a, b, ... z, ba, bb ...): a name part that is nobody else's.
fn letters(mut n: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + u8::try_from(n % 26).unwrap());
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

impl<'a> World<'a> {
    fn new(db: &'a TestDb) -> Self {
        // The research export exists only where a deployment configures its k and the
        // agreements it may be made under: this server does, so that its audited path runs.
        let server = TestServer::start_with(
            db,
            &[
                ("TUMAINI_RESEARCH_EXPORT_K", "5"),
                ("TUMAINI_RESEARCH_AGREEMENTS", AGREEMENT),
                // Webhooks to a closed port on loopback, switched off after a second of
                // failing.
                ("TUMAINI_WEBHOOK_ALLOW_LOOPBACK", "true"),
                ("TUMAINI_WEBHOOK_POLL_MS", "100"),
                ("TUMAINI_WEBHOOK_RETRY_BASE_SECS", "1"),
                ("TUMAINI_WEBHOOK_RETRY_MAX_SECS", "1"),
                ("TUMAINI_WEBHOOK_DISABLE_AFTER_SECS", "1"),
            ],
            |_| {},
        );
        let shelter = seed::organisation(db, OrganisationKind::Shelter);
        let clinic = seed::organisation(db, OrganisationKind::Health);
        let police = seed::organisation(db, OrganisationKind::Police);
        let office = seed::organisation(db, OrganisationKind::CoordinationOffice);
        let panel = seed::organisation(db, OrganisationKind::CompetentAuthority);
        let sign_in =
            |org: &OrgId, role: Role| token(&server, &seed::account_in(db, org, role).email).0;
        let worker = sign_in(&shelter, Role::CaseWorker);
        // A supervisor enrols a second factor in the first session.
        let supervisor = sign_in(&shelter, Role::Supervisor);
        let clinic_worker = sign_in(&clinic, Role::CaseWorker);
        let responder = sign_in(&police, Role::FirstResponder);
        let enrolled = |org: &OrgId, role: Role| {
            mfa_enrolled_token(&server, &seed::account_in(db, org, role).email)
        };
        let coordinator = enrolled(&office, Role::Coordinator);
        let authority = enrolled(&panel, Role::CompetentAuthority);
        let admin = enrolled(&office, Role::Admin);
        World {
            db,
            server,
            shelter,
            clinic,
            office,
            worker,
            supervisor,
            clinic_worker,
            responder,
            coordinator,
            authority,
            admin,
            serial: Cell::new(0),
            elsewhere: RefCell::new(None),
        }
    }

    /// A machine client of the coordination office with every scope, from the loopback: its
    /// id and secret.
    fn client(&self) -> (String, String) {
        crate::clients::register(
            &self.server,
            &self.admin,
            self.office.as_str(),
            &crate::clients::ALL_SCOPES,
            &["127.0.0.0/8", "::1"],
        )
    }

    fn next(&self) -> u32 {
        let n = self.serial.get() + 1;
        self.serial.set(n);
        n
    }

    fn get(&self, token: &str, path: &str, status: u16) -> Value {
        let response = self.server.get_as(token, path);
        expect(&response, status, &format!("GET {path}"))
    }

    fn post(&self, token: &str, path: &str, body: &Value, status: u16) -> Value {
        let response = self.server.post(Some(token), path, body);
        expect(&response, status, &format!("POST {path}"))
    }

    /// A POST without a token (sign-in, refresh, resets, invitations).
    fn post_anonymously(&self, path: &str, body: &Value, status: u16) -> Value {
        let response = self.server.post(None, path, body);
        expect(&response, status, &format!("POST {path}"))
    }

    fn call(&self, method: &str, token: &str, path: &str, body: Option<&Value>, status: u16) {
        let response = self.server.call(method, token, path, body);
        expect(&response, status, &format!("{method} {path}"));
    }

    /// A new account of the shelter.
    fn account(&self, role: Role) -> Account {
        seed::account_in(self.db, &self.shelter, role)
    }

    /// A new case worker of the shelter, signed in: the account, its access and refresh tokens.
    fn session(&self) -> (Account, String, String) {
        let account = self.account(Role::CaseWorker);
        let (access, refresh) = token(&self.server, &account.email);
        (account, access, refresh)
    }

    /// A person no other case names (with a date of birth, so that duplicates are looked for).
    fn person(&self, born: bool) -> Value {
        let encountered = chrono::Utc::now().date_naive() - chrono::Duration::days(3);
        let family_name = format!("Audit{}", letters(self.next()));
        let mut identity = json!({"given_names": "Nakato", "family_name": family_name});
        if born {
            identity["date_of_birth"] = json!("1999-04-12");
        }
        json!({
            "summary": {
                "sex": "female", "age_band": "24_26", "citizenship": "UG",
                "exploitation_country": "UG", "region": "UG-102",
                "encountered_on": encountered.to_string(), "exploitation_types": ["forced_labour"]
            },
            "groups": {"identity": identity, "contact": {"phones": ["+256 772 000 111"]}}
        })
    }

    fn register(&self, token: &str, person: &Value) -> String {
        let created = self.post(token, "/api/v1/cases", person, 201);
        created["id"].as_str().unwrap().to_owned()
    }

    /// A new case of the shelter's.
    fn case(&self) -> String {
        self.register(&self.worker, &self.person(false))
    }

    /// A new case with the person's consent to assistance, referral and identification.
    fn consented_case(&self) -> String {
        let case = self.case();
        let consent = json!({
            "given_by": "person", "method": "written",
            "purposes": ["assistance", "referral", "identification"],
            "groups": ["identity", "contact", "health"],
            "recipients": ["shelter", "health", "competent_authority"]
        });
        let path = format!("/api/v1/cases/{case}/consents");
        self.post(&self.worker, &path, &consent, 201);
        case
    }

    /// A new case screened as a presumed victim and referred into the NRM.
    fn referred_case(&self) -> String {
        let case = self.consented_case();
        let judged = json!({
            "indicators": [], "judgement": {"presumed": true, "reason": "a credible account"}
        });
        let path = |tail: &str| format!("/api/v1/cases/{case}{tail}");
        self.post(&self.worker, &path("/screenings"), &judged, 201);
        self.post(&self.worker, &path("/nrm-referral"), &json!({}), 200);
        case
    }

    /// A referred case with a positive reasonable-grounds decision.
    fn reasonable_grounds_case(&self) -> String {
        let case = self.referred_case();
        let decision =
            json!({"decision": "reasonable_grounds_positive", "reasons": "interview held"});
        let path = format!("/api/v1/cases/{case}/identification-decisions");
        self.post(&self.authority, &path, &decision, 200);
        case
    }

    /// A new case and a referral of it to the clinic, sent: the case and the referral.
    fn referral(&self) -> (String, String) {
        let case = self.consented_case();
        let body = json!({
            "to_organisation_id": self.clinic.as_str(), "services": ["health"],
            "groups": ["identity", "health"], "urgency": "normal",
            "reason": "She needs a medical check this week."
        });
        let path = format!("/api/v1/cases/{case}/referrals");
        let sent = self.post(&self.worker, &path, &body, 201);
        (case, sent["id"].as_str().unwrap().to_owned())
    }

    /// A new case and a request that the clinic take it over, with a note: the case and the
    /// transfer.
    fn transfer(&self) -> (String, String) {
        let case = self.consented_case();
        let body = json!({
            "to_organisation": self.clinic.as_str(), "reason": "specialised_care",
            "groups": ["identity", "health"], "note": "She asked to be near her sister."
        });
        let path = format!("/api/v1/cases/{case}/transfers");
        let asked = self.post(&self.worker, &path, &body, 201);
        (case, asked["id"].as_str().unwrap().to_owned())
    }

    /// A step on a referral by the clinic's case worker.
    fn step(&self, referral: &str, step: &str, body: &Value) {
        let path = format!("/api/v1/referrals/{referral}/{step}");
        self.post(&self.clinic_worker, &path, body, 200);
    }

    fn status(&self, token: &str, case: &str, change: &Value) {
        self.post(token, &format!("/api/v1/cases/{case}/status"), change, 200);
    }

    /// A new case whose closure the case worker asked for.
    fn closure_requested(&self) -> String {
        let case = self.case();
        let request = json!({"change": "request_closure", "reason": "services_completed"});
        self.status(&self.worker, &case, &request);
        case
    }

    /// A new first responder of the shelter for whom the administrator asked a case worker's
    /// role, waiting for a second person: the account and the decision naming that role.
    fn grant_awaiting_approval(&self) -> (Account, Value) {
        let target = self.account(Role::FirstResponder);
        let asked = json!({"role": "case_worker"});
        let path = format!("/api/v1/users/{}/role", target.id);
        self.call("PUT", &self.admin, &path, Some(&asked), 200);
        (target, asked)
    }

    /// Two cases of the shelter's for one person: a possible duplicate, recorded at once.
    fn twins(&self) -> (String, String) {
        let person = self.person(true);
        let first = self.register(&self.worker, &person);
        let second = self.post(&self.worker, "/api/v1/cases", &person, 201);
        assert_eq!(
            second["possible_duplicates"][0]["case_id"],
            first.as_str(),
            "{second}"
        );
        (first, second["id"].as_str().unwrap().to_owned())
    }

    /// The assistance plan of `case`, written for the first time.
    fn plan(&self, case: &str) {
        let review_on = chrono::Utc::now().date_naive() + chrono::Duration::days(30);
        let plan = json!({
            "goals": [{"service_type": "shelter", "action": "a safe bed"}],
            "review_on": review_on.to_string(), "agreed_with_person": true
        });
        let path = format!("/api/v1/cases/{case}/plan");
        self.call("PUT", &self.worker, &path, Some(&plan), 200);
    }

    /// The shelter's supervisor publishes its shelter listing.
    fn publish_listing(&self) {
        let listing = json!({
            "country": "UG", "region": "", "serves_adults": true, "serves_children": false,
            "serves_sex": "female", "capacity": "limited"
        });
        let path = format!("/api/v1/organisations/{}/services/shelter", self.shelter);
        self.call("PUT", &self.supervisor, &path, Some(&listing), 200);
    }

    /// An endpoint the administrator registered for `organisation`'s `events`, at a loopback
    /// port nothing listens on: its id.
    fn webhook(&self, organisation: &OrgId, events: &[&str]) -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let endpoint = json!({
            "organisation_id": organisation.as_str(),
            "url": format!("http://127.0.0.1:{port}/hook"),
            "event_types": events
        });
        let created = self.post(&self.admin, "/api/v1/webhooks", &endpoint, 201);
        created["endpoint"]["id"].as_str().unwrap().to_owned()
    }

    /// An endpoint of the clinic's that failed for longer than the server allows (a referral
    /// arrived while nothing listened) and was switched off: its id.
    fn disabled_webhook(&self) -> String {
        let id = self.webhook(&self.clinic, &["referral.received"]);
        self.referral();
        let path = format!("/api/v1/webhooks?organisation_id={}", self.clinic);
        let deadline = Instant::now() + ASYNC_DEADLINE;
        loop {
            let listed = self.get(&self.admin, &path, 200);
            let off = listed
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["id"] == id.as_str() && e["status"] == "disabled");
            if off {
                return id;
            }
            assert!(Instant::now() < deadline, "never switched off: {listed}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The deadline scanner's round, as another replica would run it, at a moment two months
    /// ahead: every reasonable-grounds deadline, recovery period and referral response
    /// deadline of the cases made so far has passed by then.
    fn scan_two_months_ahead(&self) {
        let later = chrono::Utc::now().naive_utc() + chrono::Duration::days(60);
        tumaini_api::jobs::deadlines::scan(
            &mut self.db.conn(),
            later,
            PUBLIC_URL,
            &self.server.audit_events(),
        )
        .unwrap();
    }

    /// The first e-mail to `address` containing `marker`, once the outbox has written it
    /// whole (a file is written in one go but not atomically: read until two reads agree).
    fn mail_to(&self, address: &str, marker: &str) -> String {
        let deadline = Instant::now() + ASYNC_DEADLINE;
        let mut last: Option<String> = None;
        loop {
            let found =
                self.server.mail_files().into_iter().find(|m| {
                    m.to_lowercase().contains(&address.to_lowercase()) && m.contains(marker)
                });
            if let Some(mail) = &found
                && last.as_ref() == Some(mail)
            {
                return mail.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no e-mail to {address} with {marker}"
            );
            last = found;
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits out the delay the last failed sign-in of `account` set, if any.
    fn wait_out_delay(&self, account: &Account) {
        let stored =
            tumaini_db::models::User::credentials(&mut self.db.conn(), &account.id).unwrap();
        if let Some(until) = stored.login_delay_until {
            let left = until - chrono::Utc::now().naive_utc();
            if let Ok(left) = left.to_std() {
                std::thread::sleep(left + Duration::from_millis(50));
            }
        }
    }

    /// One case worker reads the personal groups of more cases within the window than the
    /// misuse threshold allows. The default threshold (50) is kept: its 51 cases are registered
    /// and read in about a second, and the sealer's watch (which counts a reader at most every
    /// 5 s) raises the alert about 5 s later.
    fn read_too_many_cases(&self) {
        let threshold = self.server.config.audit.misuse_threshold;
        let (_, reader, _) = self.session();
        for _ in 0..=threshold {
            let case = self.register(&reader, &self.person(false));
            let path = format!("/api/v1/cases/{case}?groups=identity&purpose=assistance");
            let read = self.get(&reader, &path, 200);
            assert!(read["groups"]["identity"].is_object(), "{read}");
        }
    }

    /// The servers' audit key, as the environment gives it.
    fn audit_key(&self) -> String {
        match &self.server.config.audit.key {
            tumaini_api::config::AuditKeySource::Inline(key) => key.clone(),
            other => panic!("the test server's audit key is inline, not {other:?}"),
        }
    }

    /// `tumaini admin create-user`, the real binary, on this database.
    fn create_user_from_the_command_line(&self) {
        let cwd = tempfile::tempdir().unwrap();
        let email = format!(
            "cli-{}-{}@example.test",
            self.next(),
            uuid::Uuid::now_v7().simple()
        );
        let output = std::process::Command::new(tumaini_tests::binary())
            .args([
                "admin",
                "create-user",
                "--org",
                self.shelter.as_str(),
                "--role",
                "case_worker",
            ])
            .args(["--email", &email, "--display-name", "Created On The Server"])
            .current_dir(cwd.path())
            .env("DATABASE_URL", self.db.url_string())
            // The command line writes its event under the deployment's audit key, as the
            // servers do: one key for the whole trail.
            .env("TUMAINI_AUDIT_KEY", self.audit_key())
            .env_remove("TUMAINI_CONFIG")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}{stderr}");
        assert!(stdout.contains("one-time password: "), "{stdout}");
    }

    /// A `tumaini` command, the real binary, on the database at `url` with this server's
    /// master and audit keys: its standard output.
    fn command_line(&self, cwd: &std::path::Path, url: &str, args: &[&str]) -> String {
        use tumaini_api::config::MasterKeySource;
        let mut command = std::process::Command::new(tumaini_tests::binary());
        command
            .args(args)
            .current_dir(cwd)
            .env("DATABASE_URL", url)
            .env_remove("TUMAINI_CONFIG");
        if let MasterKeySource::Inline(key) = &self.server.config.master_key {
            command.env("TUMAINI_MASTER_KEY", key.expose());
        }
        command.env("TUMAINI_AUDIT_KEY", self.audit_key());
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stdout}{stderr}");
        stdout
    }

    /// A new case of the shelter's with an erasure asked for by its supervisor: the case and the
    /// request's id.
    fn erasure_requested(&self) -> (String, String) {
        let case = self.case();
        let path = format!("/api/v1/cases/{case}/erasure-requests");
        let body = json!({"reason": "persons_request"});
        let request = self.post(&self.supervisor, &path, &body, 201);
        (case, request["id"].as_str().unwrap().to_owned())
    }

    /// `tumaini retention` with `args`, the real binary, on this database.
    fn retention(&self, args: &[&str]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let url = self.db.url_string();
        let mut all = vec!["retention"];
        all.extend_from_slice(args);
        self.command_line(dir.path(), &url, &all)
    }

    /// `tumaini backup` of this database while the server serves it: the backup, in `dir`.
    fn backup(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let out = dir.join("tumaini.backup");
        let url = self.db.url_string();
        self.command_line(dir, &url, &["backup", "--out", out.to_str().unwrap()]);
        out
    }

    /// `tumaini restore` of a backup of this database into a fresh one, which is kept in
    /// `elsewhere`: the restore's event is there.
    fn restore_into_a_fresh_database(&self) {
        let dir = tempfile::tempdir().unwrap();
        let backup = self.backup(dir.path());
        let fresh = TestDb::empty(self.db.engine()).unwrap();
        let restored = self.command_line(
            dir.path(),
            &fresh.url_string(),
            &["restore", "--from", backup.to_str().unwrap()],
        );
        assert!(restored.contains("every check passed"), "{restored}");
        *self.elsewhere.borrow_mut() = Some(fresh);
    }

    /// `tumaini seed --demo`'s work, with the server's own master key.
    fn seed_demo(&self) {
        let config = &self.server.config;
        let vault =
            tumaini_db::vault::Vault::new(tumaini_api::keyring::key_provider(config).unwrap());
        let rules = tumaini_api::rules::deadlines::DeadlineRules::new(
            config.cases.reasonable_grounds_working_days,
            config.cases.recovery_period_days,
            &config.cases.public_holidays,
        )
        .unwrap();
        let hash = tumaini_api::accounts::hash_password(PASSWORD).unwrap();
        let context = tumaini_api::auth::RequestContext::command_line(&self.server.audit_events());
        let seeded = tumaini_api::cli::seed::seed_demo(
            &mut self.db.conn(),
            &vault,
            &hash,
            2,
            &rules,
            &context,
        )
        .unwrap();
        assert_eq!(seeded.cases, 2);
    }

    /// A resumable (tus) upload of 16 bytes of text opened by the case worker on a new case:
    /// its `Location`.
    fn resumable_upload(&self) -> String {
        use base64::Engine as _;
        let case = self.case();
        let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        let metadata = format!(
            "filetype {},filename {}",
            b64("text/plain"),
            b64("note.txt")
        );
        let (path, token) = (
            format!("/api/v1/cases/{case}/uploads?kind=other"),
            self.worker.clone(),
        );
        let opened = self.server.send(move |c, base| {
            c.post(format!("{base}{path}"))
                .bearer_auth(token)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", "16")
                .header("Upload-Metadata", metadata)
        });
        expect(&opened, 201, "a resumable upload opened");
        opened.header("location").unwrap().to_owned()
    }

    /// A tus request to a resumable upload's `location`.
    fn tus(&self, method: &str, location: &str, body: Option<&[u8]>) -> TestResponse {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let (location, token) = (location.to_owned(), self.worker.clone());
        let body = body.map(<[u8]>::to_vec);
        self.server.send(move |c, base| {
            let request = c
                .request(method, format!("{base}{location}"))
                .bearer_auth(token)
                .header("Tus-Resumable", "1.0.0");
            match body {
                Some(body) => request
                    .header("Content-Type", "application/offset+octet-stream")
                    .header("Upload-Offset", "0")
                    .body(body),
                None => request,
            }
        })
    }

    /// A new case with a medical report uploaded by the case worker: the case and the
    /// document's id.
    fn document(&self) -> (String, String) {
        let case = self.case();
        let http = crate::documents::Http::of(&self.server);
        let doc = http.text_document(&self.worker, &case, "health", b"a medical report");
        (case, doc["id"].as_str().unwrap().to_owned())
    }
}

/// Makes the real request(s), or runs the real job or command, that should write `action`.
fn exercise(action: AuditAction, w: &World<'_>) {
    let case_path = |case: &str, tail: &str| format!("/api/v1/cases/{case}{tail}");
    match action {
        AuditAction::AuthLogin => {
            let account = w.account(Role::CaseWorker);
            assert_eq!(login(&w.server, &account.email, PASSWORD).0, 200);
        }
        AuditAction::AuthRefresh => {
            let (_, _, refresh) = w.session();
            let body = json!({"refresh_token": refresh});
            w.post_anonymously("/api/v1/auth/refresh", &body, 200);
        }
        AuditAction::AuthRefreshReuse => {
            let (_, _, first) = w.session();
            let body = json!({"refresh_token": first});
            w.post_anonymously("/api/v1/auth/refresh", &body, 200);
            // The spent token again: someone copied it.
            w.post_anonymously("/api/v1/auth/refresh", &body, 401);
        }
        AuditAction::AuthLogout => {
            let (_, access, _) = w.session();
            w.post(&access, "/api/v1/auth/logout", &json!({}), 204);
        }
        AuditAction::AuthSessionRevoke => {
            let (account, phone, _) = w.session();
            let (laptop, _) = token(&w.server, &account.email);
            let sessions = w.get(&laptop, "/api/v1/auth/sessions", 200);
            let other = sessions
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["current"] == false)
                .unwrap();
            let path = format!("/api/v1/auth/sessions/{}", other["id"].as_str().unwrap());
            w.call("DELETE", &laptop, &path, None, 204);
            assert_eq!(w.server.get_as(&phone, "/api/v1/auth/me").status, 401);
        }
        AuditAction::AuthAccountLocked => {
            // The default throttle: five wrong passwords, each after the delay the one before
            // set (none after the first two, then 1 s and 2 s), lock the account.
            let account = w.account(Role::CaseWorker);
            for _ in 0..5 {
                w.wait_out_delay(&account);
                assert_eq!(
                    login(&w.server, &account.email, "a wrong guess at the password").0,
                    401
                );
            }
        }
        AuditAction::AuthMfaEnrolStart => {
            let account = w.account(Role::Supervisor);
            let (status, body) = login(&w.server, &account.email, PASSWORD);
            assert_eq!(
                (status, &body["mfa_enrolment_required"]),
                (200, &json!(true)),
                "{body}"
            );
            let access = body["access_token"].as_str().unwrap();
            let enrolment = w.post(access, "/api/v1/auth/mfa/totp", &json!({}), 200);
            assert!(enrolment["provisioning_uri"].is_string(), "{enrolment}");
        }
        AuditAction::AuthMfaEnrol => {
            mfa_enrolled_token(&w.server, &w.account(Role::Supervisor).email);
        }
        AuditAction::AuthPasswordChange => {
            let (_, access, _) = w.session();
            let change =
                json!({"current_password": PASSWORD, "new_password": "an entirely new passphrase"});
            w.post(&access, "/api/v1/auth/password", &change, 204);
        }
        AuditAction::AuthPasswordResetRequest => {
            let account = w.account(Role::CaseWorker);
            let body = json!({"email": account.email});
            w.post_anonymously("/api/v1/auth/password-reset", &body, 202);
        }
        AuditAction::AuthPasswordReset => {
            let account = w.account(Role::CaseWorker);
            let body = json!({"email": account.email});
            w.post_anonymously("/api/v1/auth/password-reset", &body, 202);
            let mail = w.mail_to(&account.email, "reset-password#token=");
            let token = tumaini_tests::smtp::token_in(&mail);
            let confirm = json!({"token": token, "password": "a freshly chosen passphrase"});
            w.post_anonymously("/api/v1/auth/password-reset/confirm", &confirm, 204);
        }
        AuditAction::AuthInvitationAccept => {
            let address = format!(
                "invitee-{}-{}@example.test",
                w.next(),
                uuid::Uuid::now_v7().simple()
            );
            let invitation =
                json!({"role": "case_worker", "email": address, "display_name": "New Worker"});
            w.post(&w.supervisor, "/api/v1/users", &invitation, 201);
            let mail = w.mail_to(&address, "accept-invitation#token=");
            let token = tumaini_tests::smtp::token_in(&mail);
            let accept = json!({"token": token, "password": "my own long passphrase"});
            w.post_anonymously("/api/v1/auth/invitation/accept", &accept, 204);
        }
        AuditAction::AccountNotificationsUpdate => {
            let (_, access, _) = w.session();
            let change = json!({"referral_answered": false});
            w.call(
                "PUT",
                &access,
                "/api/v1/auth/notifications",
                Some(&change),
                200,
            );
        }
        AuditAction::OrganisationCreate => {
            let name = format!("Audit Shelter {}", letters(w.next()));
            let body =
                json!({"name": name, "kind": "shelter", "country": "UG", "region": "Central"});
            w.post(&w.admin, "/api/v1/organisations", &body, 201);
        }
        AuditAction::OrganisationList => {
            // Both the list and its refusal are audited.
            w.get(&w.admin, "/api/v1/organisations", 200);
            w.get(&w.worker, "/api/v1/organisations", 403);
        }
        AuditAction::OrganisationCaseAccess => {
            let path = format!("/api/v1/organisations/{}/case-access", w.shelter);
            let body = json!({"case_access": "all_staff"});
            w.call("PUT", &w.supervisor, &path, Some(&body), 200);
            let body = json!({"case_access": "need_to_know"});
            w.call("PUT", &w.supervisor, &path, Some(&body), 200);
        }
        AuditAction::OrganisationDeactivate => {
            let ngo = seed::organisation(w.db, OrganisationKind::Ngo);
            let path = format!("/api/v1/organisations/{ngo}/deactivate");
            w.call("POST", &w.admin, &path, None, 204);
        }
        AuditAction::UserCreate => w.create_user_from_the_command_line(),
        AuditAction::UserInvite => {
            let address = format!(
                "invited-{}-{}@example.test",
                w.next(),
                uuid::Uuid::now_v7().simple()
            );
            let invitation =
                json!({"role": "case_worker", "email": address, "display_name": "Invited Worker"});
            w.post(&w.supervisor, "/api/v1/users", &invitation, 201);
        }
        AuditAction::UserList => {
            // As for organisations: the list and its refusal.
            w.get(&w.admin, "/api/v1/users", 200);
            w.get(&w.worker, "/api/v1/users", 403);
        }
        AuditAction::UserRoleChange => {
            // A supervisor's grant within their organisation takes effect at once.
            let target = w.account(Role::CaseWorker);
            let path = format!("/api/v1/users/{}/role", target.id);
            w.call(
                "PUT",
                &w.supervisor,
                &path,
                Some(&json!({"role": "first_responder"})),
                200,
            );
        }
        AuditAction::UserRoleRequest => {
            // An administrator's grant of a case-reading role waits for a second person.
            let target = w.account(Role::CaseWorker);
            let path = format!("/api/v1/users/{}/role", target.id);
            w.call(
                "PUT",
                &w.admin,
                &path,
                Some(&json!({"role": "supervisor"})),
                200,
            );
        }
        AuditAction::UserGrantList => {
            // As for organisations: the list and its refusal.
            w.get(&w.supervisor, "/api/v1/users/approvals", 200);
            w.get(&w.worker, "/api/v1/users/approvals", 403);
        }
        AuditAction::UserGrantApprove => {
            let (target, asked) = w.grant_awaiting_approval();
            let path = format!("/api/v1/users/{}/approve", target.id);
            w.post(&w.supervisor, &path, &asked, 200);
        }
        AuditAction::UserGrantReject => {
            let (target, asked) = w.grant_awaiting_approval();
            let path = format!("/api/v1/users/{}/reject", target.id);
            w.post(&w.supervisor, &path, &asked, 200);
        }
        AuditAction::UserDisable => {
            let target = w.account(Role::CaseWorker);
            let path = format!("/api/v1/users/{}/disable", target.id);
            w.call("POST", &w.supervisor, &path, None, 204);
        }
        AuditAction::RegionAdd => {
            let code = format!("UG-T{:03}", w.next());
            let region = json!({"code": code, "name": "New Town", "level": "district"});
            w.post(&w.admin, "/api/v1/regions", &region, 201);
        }
        AuditAction::DirectorySearch => {
            w.get(&w.worker, "/api/v1/directory/services?service=shelter", 200);
        }
        AuditAction::DirectoryRead => {
            w.get(
                &w.worker,
                &format!("/api/v1/organisations/{}/services", w.shelter),
                200,
            );
        }
        AuditAction::DirectoryPublish => w.publish_listing(),
        AuditAction::DirectoryWithdraw => {
            w.publish_listing();
            let path = format!("/api/v1/organisations/{}/services/shelter", w.shelter);
            w.call("DELETE", &w.supervisor, &path, None, 204);
        }
        AuditAction::CaseCreate => {
            w.case();
        }
        AuditAction::CaseList => {
            w.get(&w.worker, "/api/v1/cases", 200);
        }
        AuditAction::CaseRead => {
            let case = w.case();
            w.get(
                &w.worker,
                &case_path(&case, "?groups=identity&purpose=assistance"),
                200,
            );
        }
        AuditAction::CaseReadGroup => {
            // A coordinator sees the summary, not the personal groups: the group asked for is
            // refused, and that refusal is an event of its own.
            let case = w.case();
            let read = w.get(
                &w.coordinator,
                &case_path(&case, "?groups=identity&purpose=safeguarding"),
                200,
            );
            assert_eq!(read["withheld_groups"], json!(["identity"]), "{read}");
        }
        AuditAction::CaseUpdate => {
            let case = w.case();
            let path = case_path(&case, "");
            let etag = w
                .server
                .get_as(&w.worker, &path)
                .header("etag")
                .unwrap()
                .to_owned();
            let change = json!({"groups": {"health": {"pregnant": false}}});
            let worker = w.worker.clone();
            let updated = w.server.send(move |c, base| {
                c.patch(format!("{base}{path}"))
                    .bearer_auth(worker)
                    .header("If-Match", etag)
                    .json(&change)
            });
            expect(&updated, 200, "PATCH case");
        }
        AuditAction::CaseConsentRecord => {
            w.consented_case();
        }
        AuditAction::CaseConsentRead => {
            let case = w.consented_case();
            w.get(&w.worker, &case_path(&case, "/consents"), 200);
        }
        AuditAction::CaseConsentWithdraw => {
            let case = w.consented_case();
            let withdrawal = json!({"given_by": "person", "method": "verbal"});
            w.post(
                &w.worker,
                &case_path(&case, "/consents/withdrawal"),
                &withdrawal,
                201,
            );
        }
        AuditAction::CaseScreeningRecord => {
            let case = w.case();
            let screening = json!({"indicators": ["rv_economic_reasons"]});
            w.post(&w.worker, &case_path(&case, "/screenings"), &screening, 201);
        }
        AuditAction::CaseScreeningRead => {
            let case = w.referred_case();
            w.get(&w.worker, &case_path(&case, "/screenings"), 200);
        }
        AuditAction::CaseNrmReferral => {
            w.referred_case();
        }
        AuditAction::CaseIdentificationDecision => {
            w.reasonable_grounds_case();
        }
        AuditAction::CaseStatus => {
            w.status(&w.worker, &w.case(), &json!({"change": "activate"}));
        }
        AuditAction::CaseClosureRequest => {
            w.closure_requested();
        }
        AuditAction::CaseClosureApprove => {
            w.status(
                &w.supervisor,
                &w.closure_requested(),
                &json!({"change": "approve_closure"}),
            );
        }
        AuditAction::CaseClosureReject => {
            w.status(
                &w.supervisor,
                &w.closure_requested(),
                &json!({"change": "reject_closure"}),
            );
        }
        AuditAction::CaseReopen => {
            let case = w.closure_requested();
            w.status(&w.supervisor, &case, &json!({"change": "approve_closure"}));
            w.status(&w.supervisor, &case, &json!({"change": "reopen"}));
        }
        AuditAction::CaseAssistanceRecord => {
            let given = json!({"service_type": "shelter", "status": "in_progress",
                "provided_on": chrono::Utc::now().date_naive().to_string(), "details": "a bed"});
            w.post(&w.worker, &case_path(&w.case(), "/assistance"), &given, 201);
        }
        AuditAction::CaseAssistanceRead => {
            w.get(&w.worker, &case_path(&w.case(), "/assistance"), 200);
        }
        AuditAction::CaseNoteWrite => {
            let note = json!({"text": "settled in well"});
            w.post(&w.worker, &case_path(&w.case(), "/notes"), &note, 201);
        }
        AuditAction::CaseNoteRead => {
            w.get(&w.worker, &case_path(&w.case(), "/notes"), 200);
        }
        AuditAction::CaseRiskRecord => {
            let review_on = chrono::Utc::now().date_naive() + chrono::Duration::days(30);
            let risk = json!({"individual": "high", "household": "medium", "community": "low",
                "review_on": review_on.to_string()});
            w.post(
                &w.worker,
                &case_path(&w.case(), "/risk-assessments"),
                &risk,
                201,
            );
        }
        AuditAction::CaseRiskRead => {
            w.get(&w.worker, &case_path(&w.case(), "/risk-assessments"), 200);
        }
        AuditAction::CasePlanWrite => w.plan(&w.case()),
        AuditAction::CasePlanRead => {
            let case = w.case();
            w.plan(&case);
            w.get(&w.worker, &case_path(&case, "/plan"), 200);
        }
        AuditAction::CaseBreakGlassOpen => {
            let opening = json!({"groups": ["contact"], "minutes": 30,
                "justification": "She did not arrive at the shelter; the police need a contact."});
            w.post(
                &w.coordinator,
                &case_path(&w.case(), "/break-glass"),
                &opening,
                201,
            );
        }
        AuditAction::CaseDuplicatesRead => {
            let (first, _) = w.twins();
            let listed = w.get(&w.worker, &case_path(&first, "/duplicates"), 200);
            assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
        }
        AuditAction::CaseDuplicateLink => {
            let (first, second) = w.twins();
            let path = case_path(&second, &format!("/duplicates/{first}/link"));
            w.post(&w.supervisor, &path, &json!({}), 200);
        }
        AuditAction::CaseDuplicateDismiss => {
            let (first, second) = w.twins();
            let path = case_path(&second, &format!("/duplicates/{first}/dismiss"));
            w.post(&w.supervisor, &path, &json!({}), 200);
        }
        AuditAction::CaseDuplicateFlagged => {
            // The same person registered by the shelter and by the police post, which may not
            // see the shelter's case: the match is queued, and the housekeeping job's check
            // (run here as another replica would; the server's own may be first) tells the
            // shelter.
            let person = w.person(true);
            w.register(&w.worker, &person);
            let theirs = w.post(&w.responder, "/api/v1/cases", &person, 201);
            assert_eq!(theirs["possible_duplicates"], json!([]), "{theirs}");
            let vault = tumaini_db::vault::Vault::new(
                tumaini_api::keyring::key_provider(&w.server.config).unwrap(),
            );
            tumaini_api::cases::duplicates::check_queued(
                &mut w.db.conn(),
                &vault,
                PUBLIC_URL,
                &w.server.audit_events(),
                100,
            )
            .unwrap();
        }
        AuditAction::CaseReferralsRead => {
            let (case, _) = w.referral();
            let timeline = w.get(&w.worker, &case_path(&case, "/referrals"), 200);
            assert_eq!(timeline["items"].as_array().unwrap().len(), 1, "{timeline}");
        }
        AuditAction::CaseSubjectAccess => {
            // The owning organisation's supervisor exports everything held about the person.
            let path = case_path(&w.case(), "/subject-access?purpose=subject_access");
            let export = w.get(&w.supervisor, &path, 200);
            assert!(export["personal_data"]["identity"].is_object(), "{export}");
        }
        AuditAction::DocumentUpload => {
            w.document();
        }
        AuditAction::DocumentReplace => {
            let (case, doc) = w.document();
            let http = crate::documents::Http::of(&w.server);
            let replaced = http.post_file(
                &w.worker,
                &crate::documents::documents_path(&case, &format!("/{doc}/versions")),
                "text/plain",
                Some("report.txt"),
                None,
                crate::documents::Content::Bytes(b"a corrected medical report".to_vec()),
            );
            expect(&replaced, 201, "a new version");
        }
        AuditAction::DocumentList => {
            let (case, doc) = w.document();
            let list = w.get(&w.worker, &crate::documents::documents_path(&case, ""), 200);
            assert_eq!(list["documents"][0]["id"], doc.as_str(), "{list}");
        }
        AuditAction::DocumentDownload => {
            let (case, doc) = w.document();
            let http = crate::documents::Http::of(&w.server);
            let fetched = http.download(
                &w.worker,
                &crate::documents::content_path(&case, &doc, None),
            );
            assert_eq!(fetched.status, 200, "{}", fetched.text());
            assert_eq!(fetched.body, b"a medical report");
        }
        AuditAction::DocumentUploadOpen => {
            w.resumable_upload();
        }
        AuditAction::DocumentUploadAppend => {
            // All 16 bytes in one request: received, then completed as a document.
            let location = w.resumable_upload();
            let sent = w.tus("PATCH", &location, Some(b"sixteen bytes.\n."));
            expect(&sent, 204, "the bytes of a resumable upload");
            assert_eq!(sent.header("upload-offset"), Some("16"));
            assert!(sent.header("tumaini-document").is_some(), "completed");
        }
        AuditAction::DocumentUploadCancel => {
            let location = w.resumable_upload();
            expect(&w.tus("DELETE", &location, None), 204, "cancelled");
        }
        AuditAction::DocumentDelete => {
            let (case, doc) = w.document();
            let path = crate::documents::documents_path(&case, &format!("/{doc}"));
            w.call("DELETE", &w.worker, &path, None, 204);
        }
        AuditAction::CaseDeadlineReasonableGroundsOverdue => {
            w.referred_case();
            w.scan_two_months_ahead();
        }
        AuditAction::CaseDeadlineConclusiveGroundsOverdue => {
            w.reasonable_grounds_case();
            w.scan_two_months_ahead();
        }
        AuditAction::CaseHistoryRead => {
            // The versions of the groups, and identity's earlier values.
            let case = w.case();
            let history = w.get(
                &w.worker,
                &case_path(&case, "/history?groups=identity&purpose=case_management"),
                200,
            );
            assert!(
                history["versions"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|v| v["value"].is_object())),
                "{history}"
            );
        }
        AuditAction::CaseRestrict => {
            let placed = w.post(
                &w.supervisor,
                &case_path(&w.case(), "/restriction"),
                &json!({"reason": "objection"}),
                200,
            );
            assert_eq!(placed["restricted"], true, "{placed}");
        }
        AuditAction::CaseAssignmentsRead => {
            let case = w.case();
            w.get(&w.worker, &case_path(&case, "/assignments"), 200);
        }
        AuditAction::CaseAssign | AuditAction::CaseUnassign => {
            let case = w.case();
            let colleague = w.account(Role::CaseWorker);
            let path = case_path(&case, &format!("/assignments/{}", colleague.id));
            w.call("PUT", &w.supervisor, &path, Some(&json!({})), 200);
            if action == AuditAction::CaseUnassign {
                w.call("DELETE", &w.supervisor, &path, None, 200);
            }
        }
        AuditAction::CaseFollowUpSchedule
        | AuditAction::CaseFollowUpRead
        | AuditAction::CaseFollowUpDone
        | AuditAction::CaseFollowUpCancel
        | AuditAction::FollowUpRemind => {
            let case = w.case();
            let tomorrow = chrono::Utc::now().date_naive() + chrono::Duration::days(1);
            let body = json!({"due_on": tomorrow.to_string(), "kind": "visit",
                "note": "bring the school forms"});
            let path = case_path(&case, "/follow-ups");
            let scheduled = w.post(&w.worker, &path, &body, 201);
            let id = scheduled["id"].as_str().unwrap();
            match action {
                AuditAction::CaseFollowUpRead => {
                    w.get(&w.worker, &path, 200);
                }
                AuditAction::CaseFollowUpDone => {
                    w.post(&w.worker, &format!("{path}/{id}/done"), &json!({}), 200);
                }
                AuditAction::CaseFollowUpCancel => {
                    w.post(&w.worker, &format!("{path}/{id}/cancel"), &json!({}), 200);
                }
                AuditAction::FollowUpRemind => w.scan_two_months_ahead(),
                _ => {}
            }
        }
        AuditAction::WorkRead => {
            w.get(&w.worker, "/api/v1/work", 200);
        }
        AuditAction::CaseRestrictionLift => {
            let case = w.case();
            let path = case_path(&case, "/restriction");
            w.post(&w.supervisor, &path, &json!({"reason": "objection"}), 200);
            w.call("DELETE", &w.supervisor, &path, None, 200);
        }
        AuditAction::TransferRequest => {
            w.transfer();
        }
        AuditAction::TransferRead | AuditAction::TransferNoteRead => {
            // One read of a transfer by the receiver: the transfer, and the sender's note
            // decrypted for the reader.
            let (_, transfer) = w.transfer();
            let read = w.get(
                &w.clinic_worker,
                &format!("/api/v1/transfers/{transfer}"),
                200,
            );
            assert!(read["note"].is_string(), "{read}");
        }
        AuditAction::TransferAccept | AuditAction::TransferDecline => {
            let (_, transfer) = w.transfer();
            let (step, body) = if action == AuditAction::TransferAccept {
                ("accept", json!({}))
            } else {
                ("decline", json!({"reason": "no_capacity"}))
            };
            let path = format!("/api/v1/transfers/{transfer}/{step}");
            w.post(&w.clinic_worker, &path, &body, 200);
        }
        AuditAction::TransferWithdraw => {
            let (_, transfer) = w.transfer();
            let path = format!("/api/v1/transfers/{transfer}/withdraw");
            w.post(&w.worker, &path, &json!({}), 200);
        }
        AuditAction::CaseOwnershipRead => {
            let case = w.case();
            w.get(&w.worker, &format!("/api/v1/cases/{case}/ownership"), 200);
        }
        AuditAction::ReferralCreate => {
            w.referral();
        }
        AuditAction::ReferralRead | AuditAction::ReferralReasonRead => {
            // One read of a referral: the referral, and its reason decrypted for the reader.
            let (_, referral) = w.referral();
            let read = w.get(
                &w.clinic_worker,
                &format!("/api/v1/referrals/{referral}"),
                200,
            );
            assert!(read["reason"].is_string(), "{read}");
        }
        AuditAction::ReferralInbox => {
            w.get(&w.clinic_worker, "/api/v1/referrals?box=inbox", 200);
        }
        AuditAction::ReferralOutbox => {
            w.get(&w.worker, "/api/v1/referrals?box=outbox", 200);
        }
        AuditAction::ReferralOverview => {
            w.get(&w.coordinator, "/api/v1/referrals/overview", 200);
        }
        AuditAction::ReferralAccept => w.step(&w.referral().1, "accept", &json!({})),
        AuditAction::ReferralDecline => {
            w.step(
                &w.referral().1,
                "decline",
                &json!({"reason": "no_capacity"}),
            );
        }
        AuditAction::ReferralStart => {
            let (_, referral) = w.referral();
            w.step(&referral, "accept", &json!({}));
            w.step(&referral, "start", &json!({}));
        }
        AuditAction::ReferralComplete => {
            let (_, referral) = w.referral();
            w.step(&referral, "accept", &json!({}));
            w.step(&referral, "start", &json!({}));
            w.step(&referral, "complete", &json!({}));
        }
        AuditAction::ReferralWithdraw => {
            let path = format!("/api/v1/referrals/{}/withdraw", w.referral().1);
            w.post(&w.worker, &path, &json!({}), 200);
        }
        AuditAction::ReferralExpired => {
            w.referral();
            w.scan_two_months_ahead();
        }
        AuditAction::AnonymousNotificationCreate => {
            let encountered = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
            let notice = json!({"sex": "male", "age_band": "30_38", "citizenship": "KE",
                "exploitation_country": "UG", "region": "UG-202",
                "encountered_on": encountered.to_string(),
                "exploitation_types": ["forced_labour"]});
            w.post(
                &w.responder,
                "/api/v1/anonymous-notifications",
                &notice,
                201,
            );
        }
        AuditAction::AnonymousNotificationList => {
            w.get(&w.responder, "/api/v1/anonymous-notifications", 200);
        }
        AuditAction::StatisticsTable => {
            w.get(
                &w.coordinator,
                "/api/v1/statistics/tables?dimensions=sex",
                200,
            );
        }
        AuditAction::StatisticsReport => {
            w.get(&w.coordinator, "/api/v1/statistics/reports/sdg-16-2-2", 200);
        }
        AuditAction::StatisticsExport => {
            w.get(&w.coordinator, "/api/v1/statistics/export", 200);
        }
        AuditAction::StatisticsResearchExport => {
            let path = format!("/api/v1/statistics/research-export?agreement={AGREEMENT}");
            w.get(&w.coordinator, &path, 200);
        }
        AuditAction::AuditQuery => {
            let path = format!("/api/v1/audit/events?case_id={}", w.case());
            w.get(&w.coordinator, &path, 200);
        }
        AuditAction::AuditDisclosures => {
            let path = format!("/api/v1/audit/cases/{}/disclosures", w.case());
            w.get(&w.coordinator, &path, 200);
        }
        AuditAction::AuditVerify => {
            let report = w.get(&w.coordinator, "/api/v1/audit/verify", 200);
            assert_eq!(report["intact"], true, "{report}");
        }
        AuditAction::AuditCheckpoints => {
            w.get(&w.coordinator, "/api/v1/audit/checkpoints", 200);
        }
        AuditAction::AuditMisuseAlert => w.read_too_many_cases(),
        AuditAction::DemoSeed => w.seed_demo(),
        AuditAction::DatabaseBackup => {
            let dir = tempfile::tempdir().unwrap();
            w.backup(dir.path());
        }
        AuditAction::DatabaseRestore => w.restore_into_a_fresh_database(),
        AuditAction::CaseErasureRequest => {
            w.erasure_requested();
        }
        AuditAction::CaseErasureApprove | AuditAction::CaseErasureRefuse => {
            let (case, request) = w.erasure_requested();
            let verb = if action == AuditAction::CaseErasureApprove {
                "approve"
            } else {
                "refuse"
            };
            let path = case_path(&case, &format!("/erasure-requests/{request}/{verb}"));
            // Never by the person who asked.
            w.post(&w.supervisor, &path, &json!({}), 403);
            w.post(&w.coordinator, &path, &json!({}), 200);
        }
        AuditAction::CaseErasureCancel => {
            let (case, request) = w.erasure_requested();
            let path = case_path(&case, &format!("/erasure-requests/{request}/cancel"));
            w.post(&w.supervisor, &path, &json!({}), 200);
        }
        AuditAction::CaseErasureExpired => {
            let (_, request) = w.erasure_requested();
            crate::lifecycle::backdate_erasure_request(w.db, &request, 30);
            w.retention(&["run"]);
        }
        AuditAction::CaseErasureRetention => {
            let case = w.case();
            crate::lifecycle::withdrawn_days_ago(w.db, &case, 400);
            let erased = w.retention(&["run"]);
            assert!(erased.contains("withdrawn_case"), "{erased}");
            let read = w.get(&w.worker, &case_path(&case, ""), 200);
            assert!(read["erased_at"].is_string(), "{read}");
        }
        AuditAction::ErasureList => {
            w.erasure_requested();
            let list = w.get(&w.coordinator, "/api/v1/erasure-requests", 200);
            assert!(!list["items"].as_array().unwrap().is_empty(), "{list}");
        }
        AuditAction::CaseLegalHoldPlace | AuditAction::CaseLegalHoldLift => {
            let case = w.case();
            let path = case_path(&case, "/legal-hold");
            let hold = json!({"reason": "prosecution"});
            w.call("PUT", &w.coordinator, &path, Some(&hold), 201);
            if action == AuditAction::CaseLegalHoldLift {
                w.call("DELETE", &w.coordinator, &path, None, 200);
            }
        }
        AuditAction::RetentionPlan => {
            let plan = w.retention(&["plan"]);
            assert!(plan.contains("would erase"), "{plan}");
        }
        AuditAction::RetentionRun => {
            w.retention(&["run"]);
        }
        AuditAction::WebhookCreate => {
            w.webhook(&w.shelter, &["referral.received"]);
        }
        AuditAction::WebhookList => {
            // The list and its refusal.
            w.get(&w.admin, "/api/v1/webhooks", 200);
            w.get(&w.worker, "/api/v1/webhooks", 403);
        }
        AuditAction::WebhookRotateSecret => {
            let id = w.webhook(&w.shelter, &["referral.received"]);
            let path = format!("/api/v1/webhooks/{id}/rotate-secret");
            let rotated = w.post(&w.admin, &path, &json!({}), 200);
            assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_"));
        }
        AuditAction::WebhookDelete => {
            let id = w.webhook(&w.shelter, &["referral.received"]);
            w.call(
                "DELETE",
                &w.admin,
                &format!("/api/v1/webhooks/{id}"),
                None,
                204,
            );
        }
        AuditAction::WebhookEnable => {
            let id = w.disabled_webhook();
            let path = format!("/api/v1/webhooks/{id}/enable");
            w.post(&w.admin, &path, &json!({}), 200);
        }
        AuditAction::WebhookDisable => {
            w.disabled_webhook();
        }
        AuditAction::AuthClientToken => {
            let (id, secret) = w.client();
            crate::clients::client_token(&w.server, &id, &secret, None);
        }
        AuditAction::ClientCreate => {
            w.client();
        }
        AuditAction::ClientList => {
            w.get(&w.admin, "/api/v1/admin/clients", 200);
        }
        AuditAction::ClientRead => {
            let (id, _) = w.client();
            w.get(&w.admin, &format!("/api/v1/admin/clients/{id}"), 200);
        }
        AuditAction::ClientSecretRotate => {
            let (id, _) = w.client();
            w.post(
                &w.admin,
                &format!("/api/v1/admin/clients/{id}/secrets"),
                &json!({}),
                201,
            );
        }
        AuditAction::ClientSecretRetire => {
            let (id, _) = w.client();
            let rotated = w.post(
                &w.admin,
                &format!("/api/v1/admin/clients/{id}/secrets"),
                &json!({}),
                201,
            );
            let old = rotated["client"]["secrets"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let path = format!("/api/v1/admin/clients/{id}/secrets/{old}/retire");
            w.post(&w.admin, &path, &json!({}), 200);
        }
        AuditAction::ClientRevoke => {
            let (id, _) = w.client();
            w.post(
                &w.admin,
                &format!("/api/v1/admin/clients/{id}/revoke"),
                &json!({}),
                200,
            );
        }
    }
}

/// The resource type and the outcome of the event the path that claims `action` writes, as
/// that code sets them (`None`: the path names no resource).
fn expected(action: AuditAction) -> (Option<&'static str>, &'static str) {
    const SUCCESS: &str = "success";
    match action {
        AuditAction::AuthLogin
        | AuditAction::AuthRefresh
        | AuditAction::AuthLogout
        | AuditAction::AuthSessionRevoke => (Some("session"), SUCCESS),
        // A reused refresh token: the session ended, by its holder, high-severity.
        AuditAction::AuthRefreshReuse => (Some("session"), "denied"),
        AuditAction::AuthAccountLocked
        | AuditAction::AuthMfaEnrolStart
        | AuditAction::AuthMfaEnrol
        | AuditAction::AuthPasswordChange
        | AuditAction::AuthPasswordResetRequest
        | AuditAction::AuthPasswordReset
        | AuditAction::AuthInvitationAccept
        | AuditAction::AccountNotificationsUpdate
        | AuditAction::UserCreate
        | AuditAction::UserInvite
        | AuditAction::UserRoleChange
        | AuditAction::UserRoleRequest
        | AuditAction::UserGrantApprove
        | AuditAction::UserGrantReject
        | AuditAction::UserDisable => (Some("user"), SUCCESS),
        AuditAction::OrganisationCreate
        | AuditAction::OrganisationDeactivate
        | AuditAction::OrganisationCaseAccess
        | AuditAction::DirectoryRead
        | AuditAction::DirectoryPublish
        | AuditAction::DirectoryWithdraw
        | AuditAction::ReferralInbox
        | AuditAction::ReferralOutbox
        | AuditAction::AnonymousNotificationList => (Some("organisation"), SUCCESS),
        // The list as the caller was allowed it (an administrator's: every organisation).
        AuditAction::OrganisationList
        | AuditAction::UserList
        | AuditAction::UserGrantList
        | AuditAction::WebhookList => (None, SUCCESS),
        AuditAction::WebhookCreate
        | AuditAction::WebhookRotateSecret
        | AuditAction::WebhookDelete
        | AuditAction::WebhookEnable
        | AuditAction::WebhookDisable => (Some("webhook"), SUCCESS),
        AuditAction::RegionAdd => (Some("region"), SUCCESS),
        AuditAction::DirectorySearch
        | AuditAction::CaseList
        | AuditAction::ReferralOverview
        | AuditAction::StatisticsTable
        | AuditAction::StatisticsReport
        | AuditAction::StatisticsExport
        | AuditAction::AuditVerify
        | AuditAction::AuditCheckpoints
        | AuditAction::DemoSeed
        | AuditAction::DatabaseBackup
        | AuditAction::DatabaseRestore
        | AuditAction::ErasureList
        | AuditAction::RetentionPlan
        | AuditAction::RetentionRun => (None, SUCCESS),
        AuditAction::CaseReadGroup => (Some("case"), "denied"),
        AuditAction::CaseCreate
        | AuditAction::CaseRead
        | AuditAction::CaseUpdate
        | AuditAction::CaseAssignmentsRead
        | AuditAction::CaseFollowUpSchedule
        | AuditAction::CaseFollowUpRead
        | AuditAction::CaseFollowUpDone
        | AuditAction::CaseFollowUpCancel
        | AuditAction::CaseAssign
        | AuditAction::CaseUnassign
        | AuditAction::CaseConsentRecord
        | AuditAction::CaseConsentRead
        | AuditAction::CaseConsentWithdraw
        | AuditAction::CaseScreeningRecord
        | AuditAction::CaseScreeningRead
        | AuditAction::CaseNrmReferral
        | AuditAction::CaseIdentificationDecision
        | AuditAction::CaseStatus
        | AuditAction::CaseClosureRequest
        | AuditAction::CaseClosureApprove
        | AuditAction::CaseClosureReject
        | AuditAction::CaseReopen
        | AuditAction::CaseAssistanceRecord
        | AuditAction::CaseAssistanceRead
        | AuditAction::CaseNoteWrite
        | AuditAction::CaseNoteRead
        | AuditAction::CaseRiskRecord
        | AuditAction::CaseRiskRead
        | AuditAction::CasePlanWrite
        | AuditAction::CasePlanRead
        | AuditAction::CaseBreakGlassOpen
        | AuditAction::CaseDuplicatesRead
        | AuditAction::CaseDuplicateLink
        | AuditAction::CaseDuplicateDismiss
        | AuditAction::CaseDuplicateFlagged
        | AuditAction::CaseReferralsRead
        | AuditAction::CaseSubjectAccess
        // Documents are acted on through their case.
        | AuditAction::DocumentUpload
        | AuditAction::DocumentReplace
        | AuditAction::DocumentList
        | AuditAction::DocumentDownload
        | AuditAction::DocumentDelete
        | AuditAction::DocumentUploadOpen
        | AuditAction::DocumentUploadAppend
        | AuditAction::DocumentUploadCancel
        | AuditAction::CaseDeadlineReasonableGroundsOverdue
        | AuditAction::CaseDeadlineConclusiveGroundsOverdue
        | AuditAction::CaseErasureRequest
        | AuditAction::CaseErasureApprove
        | AuditAction::CaseErasureRefuse
        | AuditAction::CaseErasureCancel
        | AuditAction::CaseErasureExpired
        | AuditAction::CaseErasureRetention
        | AuditAction::CaseLegalHoldPlace
        | AuditAction::CaseLegalHoldLift
        | AuditAction::CaseHistoryRead
        | AuditAction::CaseRestrict
        | AuditAction::CaseRestrictionLift
        // A referral is sent from its case, and its reason is read against the case.
        | AuditAction::ReferralCreate
        | AuditAction::ReferralReasonRead
        // A transfer is asked for from its case, and its note is read against the case.
        | AuditAction::TransferRequest
        | AuditAction::TransferNoteRead
        | AuditAction::CaseOwnershipRead
        // With `case_id`, a query of the trail is about that case.
        | AuditAction::AuditQuery
        | AuditAction::AuditDisclosures => (Some("case"), SUCCESS),
        AuditAction::ReferralRead
        | AuditAction::ReferralAccept
        | AuditAction::ReferralDecline
        | AuditAction::ReferralStart
        | AuditAction::ReferralComplete
        | AuditAction::ReferralWithdraw
        | AuditAction::ReferralExpired => (Some("referral"), SUCCESS),
        AuditAction::FollowUpRemind => (Some("follow_up"), SUCCESS),
        AuditAction::WorkRead => (Some("organisation"), SUCCESS),
        AuditAction::TransferRead
        | AuditAction::TransferAccept
        | AuditAction::TransferDecline
        | AuditAction::TransferWithdraw => (Some("transfer"), SUCCESS),
        AuditAction::AnonymousNotificationCreate => (Some("anonymous_notification"), SUCCESS),
        AuditAction::StatisticsResearchExport => (Some("research_agreement"), SUCCESS),
        AuditAction::AuditMisuseAlert => (Some("user"), "flagged"),
        AuditAction::AuthClientToken
        | AuditAction::ClientCreate
        | AuditAction::ClientRead
        | AuditAction::ClientSecretRotate
        | AuditAction::ClientSecretRetire
        | AuditAction::ClientRevoke => (Some("client"), SUCCESS),
        AuditAction::ClientList => (None, SUCCESS),
    }
}

fn event_ids(db: &TestDb, action: AuditAction) -> BTreeSet<String> {
    audit::with_action(&mut db.conn(), action.code())
        .unwrap()
        .into_iter()
        .map(|e| e.id.to_string())
        .collect()
}

/// The events of `action` not in `before`, once one of them is what `want` says (or the
/// deadline passed: background jobs write some actions after the request that caused them).
fn new_events(
    db: &TestDb,
    action: AuditAction,
    before: &BTreeSet<String>,
    want: (Option<&str>, &str),
) -> Vec<AuditEvent> {
    let deadline = Instant::now() + ASYNC_DEADLINE;
    loop {
        let new: Vec<AuditEvent> = audit::with_action(&mut db.conn(), action.code())
            .unwrap()
            .into_iter()
            .filter(|e| !before.contains(&e.id.to_string()))
            .collect();
        let found = new
            .iter()
            .any(|e| e.resource_type.as_deref() == want.0 && e.outcome == want.1);
        if found || Instant::now() > deadline {
            return new;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// For each action of `AuditAction::ALL`: the events with that action already written are
/// remembered, the action's way is exercised, and at least one new event with exactly that
/// action, the resource type and the outcome its path records must follow.
fn every_audit_action_is_written_by_its_own_code_path(db: TestDb) {
    let started = Instant::now();
    let world = World::new(&db);
    let mut written = 0;
    let mut failures = Vec::new();
    for &action in AuditAction::ALL {
        let before = event_ids(&db, action);
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| exercise(action, &world)))
        {
            eprintln!("the way to produce `{}` failed", action.code());
            std::panic::resume_unwind(panic);
        }
        let want = expected(action);
        let new = match world.elsewhere.borrow_mut().take() {
            Some(elsewhere) => new_events(&elsewhere, action, &before, want),
            None => new_events(&db, action, &before, want),
        };
        let seen: Vec<(Option<&str>, &str)> = new
            .iter()
            .map(|e| (e.resource_type.as_deref(), e.outcome.as_str()))
            .collect();
        if seen.is_empty() {
            failures.push(format!("{}: not written", action.code()));
        } else if !seen.contains(&want) {
            failures.push(format!(
                "{}: written as {seen:?}, not as {want:?}",
                action.code()
            ));
        } else {
            written += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "audit actions not written by their own code path ({}):\n{}",
        db.engine(),
        failures.join("\n")
    );
    assert_eq!(written, AuditAction::ALL.len());
    println!(
        "audit actions: {written} of {} written by their own code path ({}) in {:.1} s",
        AuditAction::ALL.len(),
        db.engine(),
        started.elapsed().as_secs_f64()
    );
}

both_engines!(every_audit_action_is_written_by_its_own_code_path);
