//! The data's lifetime, over real HTTP and the real binary, on both engines: erasure by two
//! people (and what is left to find afterwards, byte for byte, in the SQLite file with its
//! write-ahead log and in a `pg_dump`), legal holds, and the retention schedule (`plan` counts
//! exactly what `run` then erases; a held case survives; a second run erases nothing more).

use std::process::Command;

use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::Engine;
use tumaini_db::models::statistics::{self, Subject};
use tumaini_db::schema::{
    blind_indexes, case_field_groups, case_group_versions, case_index_terms, case_keys, case_notes,
    cases, erasure_requests, idempotency_keys, referrals,
};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::{TestDb, TestResponse, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

/// Moves an erasure request's time back `days`, past its approval window.
pub(crate) fn backdate_erasure_request(db: &TestDb, id: &str, days: i64) {
    let back = now_utc() - chrono::Duration::days(days);
    diesel::update(erasure_requests::table.filter(erasure_requests::id.eq(id)))
        .set((
            erasure_requests::requested_at.eq(back),
            erasure_requests::expires_at.eq(back + chrono::Duration::days(1)),
        ))
        .execute(&mut db.conn())
        .unwrap();
}

/// Records that the person withdrew from a case `days` ago.
pub(crate) fn withdrawn_days_ago(db: &TestDb, case: &str, days: i64) {
    let at = now_utc() - chrono::Duration::days(days);
    diesel::update(cases::table.filter(cases::id.eq(case)))
        .set((
            cases::status.eq("withdrawn"),
            cases::withdrawn_at.eq(at),
            cases::updated_at.eq(at),
        ))
        .execute(&mut db.conn())
        .unwrap();
}

/// Records that a case was closed (services completed) `days` ago.
fn closed_days_ago(db: &TestDb, case: &str, days: i64) {
    let at = now_utc() - chrono::Duration::days(days);
    diesel::update(cases::table.filter(cases::id.eq(case)))
        .set((
            cases::status.eq("closed"),
            cases::closure_reason.eq("services_completed"),
            cases::closed_at.eq(at),
            cases::updated_at.eq(at),
        ))
        .execute(&mut db.conn())
        .unwrap();
}

fn ok(response: &TestResponse, status: u16, what: &str) -> Value {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

/// A person no other case names, with `tag` in every personal value.
fn person(tag: &str) -> Value {
    let encountered = chrono::Utc::now().date_naive() - chrono::Duration::days(3);
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG",
            "exploitation_country": "UG", "region": "UG-102",
            "encountered_on": encountered.to_string(), "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": {
                "given_names": format!("Given{tag}"), "family_name": format!("Family{tag}"),
                "date_of_birth": "1994-03-17",
                "documents": [{"kind": "passport", "number": format!("PP{tag}"), "issuing_country": "UG"}]
            },
            "contact": {"phones": [format!("+256 700 {tag}")], "address": format!("Plot {tag}")},
            "health": {"physical_health": format!("Health{tag}")},
            "notes": {"summary_note": format!("Note{tag}")}
        }
    })
}

/// Every stored byte string computed from or sealed under a case's key: its groups, index
/// terms, blind-index values, stored idempotent answers, note bodies, and its wrapped key.
fn sealed_values(db: &TestDb, case: &str) -> Vec<Vec<u8>> {
    let conn = &mut db.conn();
    let mut out: Vec<Vec<u8>> = case_field_groups::table
        .filter(case_field_groups::case_id.eq(case))
        .select(case_field_groups::ciphertext)
        .load(conn)
        .unwrap();
    out.extend(
        case_index_terms::table
            .filter(case_index_terms::case_id.eq(case))
            .select(case_index_terms::ciphertext)
            .load::<Vec<u8>>(conn)
            .unwrap(),
    );
    out.extend(
        blind_indexes::table
            .filter(blind_indexes::case_id.eq(case))
            .select(blind_indexes::value)
            .load::<Vec<u8>>(conn)
            .unwrap(),
    );
    out.extend(
        idempotency_keys::table
            .filter(idempotency_keys::case_id.eq(case))
            .select(idempotency_keys::body)
            .load::<Vec<u8>>(conn)
            .unwrap(),
    );
    out.extend(
        case_notes::table
            .filter(case_notes::case_id.eq(case))
            .select(case_notes::body)
            .load::<Vec<u8>>(conn)
            .unwrap(),
    );
    out.extend(
        referrals::table
            .filter(referrals::case_id.eq(case))
            .select(referrals::reason)
            .load::<Vec<u8>>(conn)
            .unwrap(),
    );
    out.extend(
        case_group_versions::table
            .filter(case_group_versions::case_id.eq(case))
            .select(case_group_versions::ciphertext)
            .load::<Option<Vec<u8>>>(conn)
            .unwrap()
            .into_iter()
            .flatten(),
    );
    out.extend(
        case_keys::table
            .filter(case_keys::case_id.eq(case))
            .select(case_keys::wrapped_key)
            .load::<Vec<u8>>(conn)
            .unwrap(),
    );
    // Blind-index values are 16 bytes or more; everything else longer still.
    out.retain(|bytes| bytes.len() >= 16);
    out
}

/// How `bytes` would appear in the storage: as they are in SQLite, as lower-case hex in a dump.
fn as_stored(db: &TestDb, bytes: &[u8]) -> Vec<u8> {
    match db.engine() {
        Engine::Sqlite => bytes.to_vec(),
        Engine::Postgres => bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes(),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The people the national figures count (all of them, before any suppression).
fn people_counted(db: &TestDb) -> i64 {
    statistics::count_cells(&mut db.conn(), Subject::People, &[], None)
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}

fn erasure_leaves_nothing_to_find(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation_in(&db, OrganisationKind::Shelter, "UG");
    let clinic = seed::organisation_in(&db, OrganisationKind::Health, "UG");
    let office = seed::organisation_in(&db, OrganisationKind::CoordinationOffice, "UG");
    let kenya_office = seed::organisation_in(&db, OrganisationKind::CoordinationOffice, "KE");
    let worker = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let supervisor = token(
        &server,
        &seed::account_in(&db, &shelter, Role::Supervisor).email,
    )
    .0;
    let second_supervisor = token(
        &server,
        &seed::account_in(&db, &shelter, Role::Supervisor).email,
    )
    .0;
    let clinician = token(
        &server,
        &seed::account_in(&db, &clinic, Role::CaseWorker).email,
    )
    .0;
    let coordinator = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &office, Role::Coordinator).email,
    );
    let kenyan = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &kenya_office, Role::Coordinator).email,
    );

    // The case, registered with an Idempotency-Key (its stored answer is sealed under the case's
    // key), with consent, a note and a referral the clinic accepted.
    let tag = format!("{:08}", rand_tag());
    let created =
        crate::cases::with_key(&server, &worker, "/api/v1/cases", "erase-me", &person(&tag));
    let created = ok(&created, 201, "register");
    let case = created["id"].as_str().unwrap().to_owned();
    let path = |tail: &str| format!("/api/v1/cases/{case}{tail}");
    let consent = json!({
        "given_by": "person", "method": "written",
        "purposes": ["assistance", "referral", "statistics"],
        "groups": ["identity", "contact", "health"], "recipients": ["health"]
    });
    ok(
        &server.post(Some(&worker), &path("/consents"), &consent),
        201,
        "consent",
    );
    // A rectification: the replaced identity is kept in the history, sealed under the key.
    let current = ok(&server.get_as(&worker, &path("")), 200, "read");
    let version = current["version"].as_i64().unwrap();
    let corrected = json!({
        "groups": {"identity": {"given_names": format!("Given{tag}"), "family_name": format!("Rectified{tag}")}},
        "rectification_reason": "correction"
    });
    let (patch_path, patch_token, etag) = (path(""), worker.clone(), format!("\"v{version}\""));
    let patched = server.send(move |c, base| {
        c.patch(format!("{base}{patch_path}"))
            .bearer_auth(patch_token)
            .header("If-Match", etag)
            .json(&corrected)
    });
    ok(&patched, 200, "rectify");
    let note = json!({"text": format!("NoteBody{tag}")});
    ok(
        &server.post(Some(&worker), &path("/notes"), &note),
        201,
        "note",
    );
    let referral = json!({
        "to_organisation_id": clinic.as_str(), "services": ["health"],
        "groups": ["identity", "health"], "urgency": "normal",
        "reason": format!("Reason{tag}")
    });
    let referral = ok(
        &server.post(Some(&worker), &path("/referrals"), &referral),
        201,
        "refer",
    );
    let referral = referral["id"].as_str().unwrap().to_owned();
    let accept = format!("/api/v1/referrals/{referral}/accept");
    ok(
        &server.post(Some(&clinician), &accept, &json!({})),
        200,
        "accept",
    );
    let read = path("?groups=identity&purpose=assistance");
    ok(&server.get_as(&clinician, &read), 200, "the clinic reads");

    // A second case, to be erased whole.
    let other_tag = format!("{:08}", rand_tag());
    let other = ok(
        &server.post(Some(&worker), "/api/v1/cases", &person(&other_tag)),
        201,
        "register",
    );
    let other = other["id"].as_str().unwrap().to_owned();

    let counted_before = people_counted(&db);
    let sealed = sealed_values(&db, &case);
    assert!(
        sealed.len() >= 8,
        "too few sealed values found: {}",
        sealed.len()
    );
    let markers: Vec<String> = [
        "Given",
        "Family",
        "Rectified",
        "PP",
        "Plot ",
        "Health",
        "Note",
        "NoteBody",
        "Reason",
    ]
    .iter()
    .map(|m| format!("{m}{tag}"))
    .collect();
    // The search looks: before the erasure, the sealed values are in the storage.
    let _ = tumaini_db::models::lifecycle::truncate_log(&mut db.conn());
    let before = db.stored_bytes();
    let present = sealed
        .iter()
        .filter(|v| contains(&before, &as_stored(&db, v)))
        .count();
    assert!(
        present >= sealed.len() / 2,
        "only {present} of {} sealed values seen before",
        sealed.len()
    );

    // Asked for by a supervisor of the owning organisation ...
    let ask = json!({"reason": "persons_request"});
    let request = ok(
        &server.post(Some(&supervisor), &path("/erasure-requests"), &ask),
        201,
        "ask",
    );
    assert_eq!(request["state"], "pending");
    assert_eq!(request["scope"], "personal_data");
    let id = request["id"].as_str().unwrap().to_owned();
    let again = server.post(Some(&second_supervisor), &path("/erasure-requests"), &ask);
    assert_eq!(
        again.status,
        409,
        "a second pending request: {}",
        again.text()
    );
    // ... refused to the requester, to the case worker, to another supervisor (the deployment
    // lets only coordinators approve), and unknown to a coordinator abroad.
    let approve = path(&format!("/erasure-requests/{id}/approve"));
    assert_eq!(
        server.post(Some(&supervisor), &approve, &json!({})).status,
        403
    );
    assert_eq!(server.post(Some(&worker), &approve, &json!({})).status, 403);
    assert_eq!(
        server
            .post(Some(&second_supervisor), &approve, &json!({}))
            .status,
        403
    );
    assert_eq!(server.post(Some(&kenyan), &approve, &json!({})).status, 404);
    ok(&server.get_as(&clinician, &read), 200, "nothing erased yet");
    // The coordinator sees it waiting, and approves: executed at once.
    let waiting = ok(
        &server.get_as(&coordinator, "/api/v1/erasure-requests"),
        200,
        "list",
    );
    assert!(
        waiting["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str()),
        "{waiting}"
    );
    let kenyan_list = ok(
        &server.get_as(&kenyan, "/api/v1/erasure-requests"),
        200,
        "list abroad",
    );
    assert!(
        kenyan_list["items"].as_array().unwrap().is_empty(),
        "{kenyan_list}"
    );
    let done = ok(
        &server.post(Some(&coordinator), &approve, &json!({})),
        200,
        "approve",
    );
    assert_eq!(done["state"], "executed");
    assert!(done["executed_at"].is_string());
    // Approved twice: the case is erased, nothing more is done to it.
    assert_eq!(
        server.post(Some(&coordinator), &approve, &json!({})).status,
        403
    );

    // The whole-record erasure of the second case.
    let whole = json!({"reason": "recorded_in_error", "scope": "whole_record"});
    let other_path = |tail: &str| format!("/api/v1/cases/{other}{tail}");
    let request = ok(
        &server.post(Some(&supervisor), &other_path("/erasure-requests"), &whole),
        201,
        "ask whole",
    );
    let whole_id = request["id"].as_str().unwrap().to_owned();
    let approve_whole = other_path(&format!("/erasure-requests/{whole_id}/approve"));
    ok(
        &server.post(Some(&coordinator), &approve_whole, &json!({})),
        200,
        "approve whole",
    );

    // Reads answer the erased marker, never a failure.
    let summary = ok(&server.get_as(&worker, &path("")), 200, "summary");
    assert!(summary["erased_at"].is_string(), "{summary}");
    assert_eq!(summary["erasure_scope"], "personal_data");
    assert_eq!(summary["sex"], "female", "the summary stays");
    let groups = ok(
        &server.get_as(
            &worker,
            &path("?groups=identity,contact,health,notes&purpose=case_management"),
        ),
        200,
        "groups",
    );
    assert_eq!(
        groups["erased_groups"],
        json!(["identity", "contact", "health", "notes"]),
        "{groups}"
    );
    let notes = ok(&server.get_as(&worker, &path("/notes")), 200, "notes");
    assert!(!notes.to_string().contains(&tag), "{notes}");
    let tombstone = ok(&server.get_as(&worker, &other_path("")), 200, "tombstone");
    assert_eq!(tombstone["erasure_scope"], "whole_record");
    assert_eq!(tombstone["sex"], "unknown");
    assert!(
        tombstone["exploitation_types"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Nothing changes an erased case any more.
    let update = server.call(
        "PATCH",
        &worker,
        &path(""),
        Some(&json!({"summary": {"sex": "male"}})),
    );
    assert_ne!(update.status, 200, "{}", update.text());

    // The referral holder lost access; its referral ended.
    assert_eq!(server.get_as(&clinician, &read).status, 404);
    assert_eq!(server.get_as(&clinician, &path("")).status, 404);
    let state: String = referrals::table
        .filter(referrals::id.eq(&referral))
        .select(referrals::state)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(state, "withdrawn");

    // The statistics still count the case erased in its personal data; not the whole one.
    assert_eq!(people_counted(&db), counted_before - 1);

    // Storage: none of the sealed values, none of the markers.
    let after = db.stored_bytes();
    let found: Vec<usize> = sealed
        .iter()
        .enumerate()
        .filter(|(_, v)| contains(&after, &as_stored(&db, v)))
        .map(|(i, _)| i)
        .collect();
    assert!(
        found.is_empty(),
        "sealed values still stored after erasure: {found:?} of {}",
        sealed.len()
    );
    for marker in &markers {
        assert!(!contains(&after, marker.as_bytes()), "{marker} stored");
    }
    println!(
        "erasure ({}): {} sealed values of the case found in storage before, 0 of {} after \
         ({} bytes scanned); {} markers absent",
        db.engine(),
        present,
        sealed.len(),
        after.len(),
        markers.len()
    );
}

both_engines!(erasure_leaves_nothing_to_find);

fn rand_tag() -> u32 {
    let id = uuid::Uuid::now_v7();
    let bytes = id.as_bytes();
    u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) % 100_000_000
}

/// `tumaini retention ARGS` on this database with the server's keys and `settings`: its output
/// as `(kind, count)` lines.
fn retention(
    server: &TestServer,
    db: &TestDb,
    args: &[&str],
    settings: &[(&str, &str)],
) -> Vec<(String, i64)> {
    use tumaini_api::config::{AuditKeySource, MasterKeySource};
    let cwd = tempfile::tempdir().unwrap();
    let mut command = Command::new(tumaini_tests::binary());
    command
        .arg("retention")
        .args(args)
        .current_dir(cwd.path())
        .env("DATABASE_URL", db.url_string())
        .env_remove("TUMAINI_CONFIG");
    if let MasterKeySource::Inline(key) = &server.config.master_key {
        command.env("TUMAINI_MASTER_KEY", key.expose());
    }
    if let AuditKeySource::Inline(key) = &server.config.audit.key {
        command.env("TUMAINI_AUDIT_KEY", key);
    }
    for (name, value) in settings {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| {
            let (label, count) = line.trim_end().rsplit_once(' ')?;
            Some((label.trim().to_owned(), count.trim().parse().ok()?))
        })
        .collect()
}

fn count(lines: &[(String, i64)], label: &str) -> i64 {
    lines
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, n)| *n)
        .unwrap_or_else(|| panic!("no `{label}` line in {lines:?}"))
}

fn retention_plan_counts_what_run_erases(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation_in(&db, OrganisationKind::Shelter, "UG");
    let office = seed::organisation_in(&db, OrganisationKind::CoordinationOffice, "UG");
    let worker = token(
        &server,
        &seed::account_in(&db, &shelter, Role::CaseWorker).email,
    )
    .0;
    let coordinator = mfa_enrolled_token(
        &server,
        &seed::account_in(&db, &office, Role::Coordinator).email,
    );
    let register = |tag: &str| {
        let created = ok(
            &server.post(Some(&worker), "/api/v1/cases", &person(tag)),
            201,
            "register",
        );
        created["id"].as_str().unwrap().to_owned()
    };
    // Closed 40 days ago, withdrawn 40 days ago, withdrawn 40 days ago but held, withdrawn
    // yesterday, and an open case.
    let closed = register("R0000001");
    let withdrawn = register("R0000002");
    let held = register("R0000003");
    let recent = register("R0000004");
    let open = register("R0000005");
    // Screened and not presumed, never assisted, untouched for 800 days: due under the default
    // 730 days; the same but assisted (active): never due on that rule.
    let not_identified = register("R0000006");
    let assisted = register("R0000007");
    for (case, status) in [(&not_identified, "open"), (&assisted, "active")] {
        let at = now_utc() - chrono::Duration::days(800);
        diesel::update(cases::table.filter(cases::id.eq(case)))
            .set((
                cases::identification_stage.eq("screened_not_presumed"),
                cases::status.eq(status),
                cases::updated_at.eq(at),
            ))
            .execute(&mut db.conn())
            .unwrap();
    }
    closed_days_ago(&db, &closed, 40);
    withdrawn_days_ago(&db, &withdrawn, 40);
    withdrawn_days_ago(&db, &held, 40);
    withdrawn_days_ago(&db, &recent, 1);
    let hold = format!("/api/v1/cases/{held}/legal-hold");
    let placed = server.call(
        "PUT",
        &coordinator,
        &hold,
        Some(&json!({"reason": "prosecution"})),
    );
    ok(&placed, 201, "hold");
    // A held case cannot be erased on request either.
    let supervisor = token(
        &server,
        &seed::account_in(&db, &shelter, Role::Supervisor).email,
    )
    .0;
    let ask = server.post(
        Some(&supervisor),
        &format!("/api/v1/cases/{held}/erasure-requests"),
        &json!({"reason": "persons_request"}),
    );
    assert_eq!(ask.status, 409, "{}", ask.text());
    // A request nobody approved in time does not block the next one, whether or not a
    // retention round marked it expired yet.
    let ask_open = format!("/api/v1/cases/{open}/erasure-requests");
    let first = ok(
        &server.post(
            Some(&supervisor),
            &ask_open,
            &json!({"reason": "persons_request"}),
        ),
        201,
        "ask",
    );
    backdate_erasure_request(&db, first["id"].as_str().unwrap(), 30);
    let second = ok(
        &server.post(
            Some(&supervisor),
            &ask_open,
            &json!({"reason": "persons_request"}),
        ),
        201,
        "ask again",
    );
    let cancel = format!(
        "/api/v1/cases/{open}/erasure-requests/{}/cancel",
        second["id"].as_str().unwrap()
    );
    ok(
        &server.post(Some(&supervisor), &cancel, &json!({})),
        200,
        "cancel",
    );

    // The schedule shortened to 30 days for cases (and 1 for idempotent answers: hours).
    // Records that are not cases, aged past 30 days: a session that ended, every e-mail sent
    // so far, and an account's last failed sign-in.
    let leaver = seed::account_in(&db, &shelter, Role::CaseWorker);
    token(&server, &leaver.email);
    let long_ago = now_utc() - chrono::Duration::days(40);
    {
        use tumaini_db::schema::{outbox, sessions, users};
        let conn = &mut db.conn();
        // The outbox worker first sends what is queued: a message it sends after being aged
        // here would be stamped as sent now, and not be due.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let queued: i64 = outbox::table
                .filter(outbox::sent_at.is_null())
                .count()
                .get_result(conn)
                .unwrap();
            if queued == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{queued} e-mails still queued after 20 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let leaver_id = users::table
            .filter(users::email.eq(&leaver.email))
            .select(users::id)
            .first::<String>(conn)
            .unwrap();
        diesel::update(sessions::table.filter(sessions::user_id.eq(&leaver_id)))
            .set(sessions::revoked_at.eq(long_ago))
            .execute(conn)
            .unwrap();
        diesel::update(users::table.filter(users::id.eq(&leaver_id)))
            .set(users::last_failed_login_at.eq(long_ago))
            .execute(conn)
            .unwrap();
        diesel::update(outbox::table)
            .set((
                outbox::created_at.eq(long_ago),
                outbox::sent_at.eq(long_ago),
            ))
            .execute(conn)
            .unwrap();
    }
    let settings = [
        ("TUMAINI_RETENTION_CLOSED_CASE_DAYS", "30"),
        ("TUMAINI_RETENTION_WITHDRAWN_CASE_DAYS", "30"),
        ("TUMAINI_RETENTION_SESSION_DAYS", "30"),
        ("TUMAINI_RETENTION_OUTBOX_DAYS", "30"),
        ("TUMAINI_RETENTION_SIGN_IN_DAYS", "30"),
    ];
    let plan = retention(&server, &db, &["plan"], &settings);
    assert!(count(&plan, "session") >= 1, "{plan:?}");
    assert!(count(&plan, "outbox") >= 1, "{plan:?}");
    assert!(count(&plan, "sign_in_record") >= 1, "{plan:?}");
    assert_eq!(count(&plan, "closed_case"), 1, "{plan:?}");
    assert_eq!(count(&plan, "withdrawn_case"), 1, "{plan:?}");
    assert_eq!(count(&plan, "not_identified"), 1, "{plan:?}");
    assert_eq!(count(&plan, "held (legal hold)"), 1, "{plan:?}");
    let run = retention(&server, &db, &["run"], &settings);
    for kind in [
        "closed_case",
        "withdrawn_case",
        "not_identified",
        "anonymous_notification",
        "outbox",
        "session",
        "idempotency_response",
        "sign_in_record",
        "held (legal hold)",
        "failed",
    ] {
        assert_eq!(
            count(&run, kind),
            count(&plan, kind),
            "{kind}: plan {plan:?}, run {run:?}"
        );
    }
    let erased = |case: &str| {
        cases::table
            .filter(cases::id.eq(case))
            .select(cases::erased_at)
            .first::<Option<chrono::NaiveDateTime>>(&mut db.conn())
            .unwrap()
            .is_some()
    };
    assert!(erased(&closed) && erased(&withdrawn) && erased(&not_identified));
    assert!(!erased(&held) && !erased(&recent) && !erased(&open) && !erased(&assisted));
    let read = format!("/api/v1/cases/{held}?groups=identity&purpose=case_management");
    let read = ok(&server.get_as(&worker, &read), 200, "held case");
    assert_eq!(read["groups"]["identity"]["given_names"], "GivenR0000003");

    // Nothing more the second time.
    let again = retention(&server, &db, &["run"], &settings);
    for kind in ["session", "outbox", "sign_in_record"] {
        assert_eq!(count(&again, kind), 0, "{kind}: {again:?}");
    }
    assert_eq!(
        count(&again, "closed_case")
            + count(&again, "withdrawn_case")
            + count(&again, "not_identified"),
        0,
        "{again:?}"
    );
    let replan = retention(&server, &db, &["plan"], &settings);
    assert_eq!(
        count(&replan, "closed_case") + count(&replan, "withdrawn_case"),
        0
    );

    // Lifting the hold lets the next run erase it.
    ok(
        &server.call("DELETE", &coordinator, &hold, None),
        200,
        "lift",
    );
    let last = retention(&server, &db, &["run"], &settings);
    assert_eq!(count(&last, "withdrawn_case"), 1, "{last:?}");
    assert!(erased(&held));
    println!(
        "retention ({}): plan {:?}; run {:?}; second run {:?}",
        db.engine(),
        plan,
        run,
        again
    );
}

both_engines!(retention_plan_counts_what_run_erases);
