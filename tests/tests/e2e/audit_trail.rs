//! The tamper-evident audit trail on both engines: one event per action in the action's
//! transaction; the sealer's chain; `verify` finding a changed, deleted, reordered or inserted
//! row at its position and a checkpoint signed with another key; the database refusing the
//! application role's UPDATE, DELETE and TRUNCATE; the query API, the disclosure report and the
//! misuse alert; two servers sealing one chain under concurrent load.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::audit_chain::{self, AuditSigner, Checkpoint};
use tumaini_db::models::audit;
use tumaini_db::schema::{audit_chain as chain, audit_events, case_notes};
use tumaini_db::vocabulary::{AuditAction, OrganisationKind, Role};
use tumaini_db::{DbConn, Engine};
use tumaini_tests::seed;
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

fn person(family: &str) -> Value {
    json!({
        "summary": {
            "sex": "male", "age_band": "27_29", "region": "UG-304", "encountered_on": "2026-11-12"
        },
        "groups": {"identity": {"given_names": "Opio", "family_name": family}}
    })
}

fn signer(server: &TestServer) -> std::sync::Arc<AuditSigner> {
    tumaini_api::keyring::audit_signer(&server.config.audit).unwrap()
}

/// Waits until the sealer has sealed every event.
fn wait_sealed(db: &TestDb) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while audit_chain::unsealed_count(&mut db.conn()).unwrap() > 0 {
        assert!(Instant::now() < deadline, "the sealer did not catch up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lets the test play the attacker with the database owner's rights: the append-only triggers
/// off while `work` runs, back on afterwards.
pub(crate) fn as_attacker(db: &TestDb, work: impl FnOnce(&mut DbConn)) {
    let mut conn = db.conn();
    let tables = ["audit_events", "audit_chain", "audit_checkpoints"];
    match db.engine() {
        Engine::Postgres => {
            for t in tables {
                conn.batch_execute(&format!("ALTER TABLE {t} DISABLE TRIGGER USER"))
                    .unwrap();
            }
            work(&mut conn);
            for t in tables {
                conn.batch_execute(&format!("ALTER TABLE {t} ENABLE TRIGGER USER"))
                    .unwrap();
            }
        }
        Engine::Sqlite => {
            let triggers = [
                (
                    "audit_events_no_update",
                    "BEFORE UPDATE ON audit_events",
                    "audit_events",
                ),
                (
                    "audit_events_no_delete",
                    "BEFORE DELETE ON audit_events",
                    "audit_events",
                ),
                (
                    "audit_chain_no_update",
                    "BEFORE UPDATE ON audit_chain",
                    "audit_chain",
                ),
                (
                    "audit_chain_no_delete",
                    "BEFORE DELETE ON audit_chain",
                    "audit_chain",
                ),
                (
                    "audit_checkpoints_no_update",
                    "BEFORE UPDATE ON audit_checkpoints",
                    "audit_checkpoints",
                ),
                (
                    "audit_checkpoints_no_delete",
                    "BEFORE DELETE ON audit_checkpoints",
                    "audit_checkpoints",
                ),
            ];
            for (name, _, _) in triggers {
                conn.batch_execute(&format!("DROP TRIGGER {name}")).unwrap();
            }
            work(&mut conn);
            for (name, when, table) in triggers {
                conn.batch_execute(&format!(
                    "CREATE TRIGGER {name} {when} \
                     BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
                ))
                .unwrap();
            }
        }
    }
}

pub(crate) fn verify(db: &TestDb, key: &AuditSigner) -> audit_chain::Report {
    let keys = audit_chain::Keys {
        checkpoints: &[key.verifying_key()],
        events: Some(key.event_key()),
    };
    audit_chain::verify(&mut db.conn(), keys, &Default::default(), |_, _| {}).unwrap()
}

fn row_at(conn: &mut DbConn, position: i64) -> (String, Vec<u8>, Vec<u8>) {
    chain::table
        .find(position)
        .select((chain::event_id, chain::leaf_hash, chain::chain_hash))
        .first(conn)
        .unwrap()
}

fn every_action_leaves_one_event_in_its_own_transaction(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = seed::account(&db, Role::CaseWorker);
    let (w, _) = token(&server, &worker.email);
    let id = server
        .post(Some(&w), "/api/v1/cases", &person("Akena"))
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let events = audit::with_action(&mut db.conn(), "case.create").unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.resource_id.as_deref() == Some(id.as_str()))
            .count(),
        1
    );

    // If the event cannot be written, the action does not happen.
    let mut conn = db.conn();
    match db.engine() {
        Engine::Sqlite => conn
            .batch_execute(
                "CREATE TRIGGER refuse_note_events BEFORE INSERT ON audit_events WHEN \
                 NEW.action = 'case.note.write'
                 BEGIN SELECT RAISE(ABORT, 'forced failure'); END;",
            )
            .unwrap(),
        Engine::Postgres => conn
            .batch_execute(
                "CREATE FUNCTION refuse_note_events() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN IF NEW.action = 'case.note.write' THEN RAISE EXCEPTION 'forced failure'; \
                 END IF; RETURN NEW; END; $$;
                 CREATE TRIGGER refuse_note_events BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse_note_events();",
            )
            .unwrap(),
    }
    let note = server.post(
        Some(&w),
        &format!("/api/v1/cases/{id}/notes"),
        &json!({"text": "a note"}),
    );
    assert_eq!(note.status, 500, "{}", note.text());
    let notes: i64 = case_notes::table.count().get_result(&mut conn).unwrap();
    assert_eq!(notes, 0, "the note was rolled back with its event");
    conn.batch_execute(match db.engine() {
        Engine::Sqlite => "DROP TRIGGER refuse_note_events",
        Engine::Postgres => {
            "DROP TRIGGER refuse_note_events ON audit_events; DROP FUNCTION refuse_note_events();"
        }
    })
    .unwrap();
    assert_eq!(
        server
            .post(
                Some(&w),
                &format!("/api/v1/cases/{id}/notes"),
                &json!({"text": "a note"})
            )
            .status,
        201
    );
    assert_eq!(
        audit::with_action(&mut conn, "case.note.write")
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        case_notes::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap(),
        1
    );
}

both_engines!(every_action_leaves_one_event_in_its_own_transaction);

fn verify_finds_each_kind_of_tampering_at_its_position(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = seed::account(&db, Role::CaseWorker);
    let (w, _) = token(&server, &worker.email);
    for n in 0..4 {
        let id = server
            .post(Some(&w), "/api/v1/cases", &person(&format!("Lubega{n}")))
            .json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        server.get_as(
            &w,
            &format!("/api/v1/cases/{id}?groups=identity&purpose=assistance"),
        );
    }
    wait_sealed(&db);
    let key = signer(&server);
    // The server's sealer may hold the chain's lock at this moment (`None`): ask again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let head = loop {
        if let Some(head) = audit_chain::checkpoint_now(&mut db.conn(), &key).unwrap() {
            break head;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint within 20 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let total: i64 = audit_events::table
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(head, total, "every event is in the chain");
    let clean = verify(&db, &key);
    assert!(clean.intact(), "{clean:?}");
    assert_eq!((clean.events, clean.unsealed), (total, 0));
    // From here on the test plays the attacker on a quiet database: no sealer racing it.
    drop(server);
    let first_break =
        |report: &audit_chain::Report| report.first_break.clone().map(|b| (b.position, b.reason));

    // The database itself refuses changes to sealed rows.
    let refused = diesel::update(audit_events::table)
        .set(audit_events::action.eq("x"))
        .execute(&mut db.conn());
    assert!(refused.is_err(), "audit_events is append-only");
    assert!(
        diesel::delete(chain::table)
            .execute(&mut db.conn())
            .is_err(),
        "audit_chain is append-only"
    );

    // 1. A changed event.
    let (victim, _, _) = row_at(&mut db.conn(), 3);
    let original: String = audit_events::table
        .find(&victim)
        .select(audit_events::action)
        .first(&mut db.conn())
        .unwrap();
    as_attacker(&db, |c| {
        diesel::update(audit_events::table.find(&victim))
            .set(audit_events::action.eq("auth.login"))
            .execute(c)
            .unwrap();
    });
    let (position, reason) = first_break(&verify(&db, &key)).expect("the change is found");
    assert_eq!(position, 3);
    assert!(reason.starts_with("changed"), "{reason}");
    as_attacker(&db, |c| {
        diesel::update(audit_events::table.find(&victim))
            .set(audit_events::action.eq(&original))
            .execute(c)
            .unwrap();
    });
    assert!(verify(&db, &key).intact());

    // 2. Two rows reordered: positions 2 and 4 swapped, each row keeping its hashes.
    let move_row = |c: &mut DbConn, from: i64, to: i64| {
        diesel::update(chain::table.find(from))
            .set(chain::position.eq(to))
            .execute(c)
            .unwrap();
    };
    let swap = |c: &mut DbConn| {
        move_row(c, 2, 1_000_002);
        move_row(c, 4, 2);
        move_row(c, 1_000_002, 4);
    };
    as_attacker(&db, swap);
    let (position, reason) = first_break(&verify(&db, &key)).expect("the reordering is found");
    assert_eq!(position, 2);
    assert!(reason.starts_with("broken"), "{reason}");
    as_attacker(&db, swap);
    assert!(verify(&db, &key).intact());

    // 3. An event inserted in the middle (the later rows shifted by one, hashes left alone).
    let inserted = tumaini_db::ids::AuditEventId::generate();
    let before: Vec<i64> = chain::table
        .filter(chain::position.ge(5))
        .order(chain::position.desc())
        .select(chain::position)
        .load(&mut db.conn())
        .unwrap();
    as_attacker(&db, |c| {
        let occurred: chrono::NaiveDateTime = audit_events::table
            .find(&row_at(c, 4).0)
            .select(audit_events::occurred_at)
            .first(c)
            .unwrap();
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::id.eq(&inserted),
                audit_events::occurred_at.eq(occurred),
                audit_events::action.eq("case.read"),
                audit_events::outcome.eq("success"),
                audit_events::field_groups.eq(""),
                audit_events::policy_ids.eq(""),
            ))
            .execute(c)
            .unwrap();
        for position in &before {
            diesel::update(chain::table.find(*position))
                .set(chain::position.eq(position + 1))
                .execute(c)
                .unwrap();
        }
        diesel::insert_into(chain::table)
            .values((
                chain::position.eq(5),
                chain::event_id.eq(&inserted),
                chain::leaf_hash.eq(vec![0u8; 32]),
                chain::chain_hash.eq(vec![0u8; 32]),
                chain::sealed_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(c)
            .unwrap();
    });
    let report = verify(&db, &key);
    let (position, reason) = first_break(&report).expect("the insertion is found");
    assert_eq!(position, 5, "{reason}");
    as_attacker(&db, |c| {
        diesel::delete(chain::table.find(5)).execute(c).unwrap();
        for position in before.iter().rev() {
            diesel::update(chain::table.find(position + 1))
                .set(chain::position.eq(*position))
                .execute(c)
                .unwrap();
        }
        diesel::delete(audit_events::table.find(&inserted))
            .execute(c)
            .unwrap();
    });
    assert!(verify(&db, &key).intact(), "{:?}", verify(&db, &key));

    // 4. A deleted row (the event and its chain row).
    let (gone, gone_leaf, gone_chain) = row_at(&mut db.conn(), 6);
    let (gone_sequence, gone_mac): (Option<i64>, Option<String>) = chain::table
        .find(6)
        .select((chain::checkpoint_sequence, chain::mac))
        .first(&mut db.conn())
        .unwrap();
    let gone_event: tumaini_db::models::audit::AuditEvent = audit_events::table
        .find(&gone)
        .select(tumaini_db::models::audit::AuditEvent::as_select())
        .first(&mut db.conn())
        .unwrap();
    as_attacker(&db, |c| {
        diesel::delete(chain::table.find(6)).execute(c).unwrap();
        diesel::delete(audit_events::table.find(&gone))
            .execute(c)
            .unwrap();
    });
    let (position, reason) = first_break(&verify(&db, &key)).expect("the deletion is found");
    assert_eq!(position, 6);
    assert!(reason.starts_with("missing"), "{reason}");
    as_attacker(&db, |c| {
        diesel::insert_into(audit_events::table)
            .values(&gone_event)
            .execute(c)
            .unwrap();
        diesel::insert_into(chain::table)
            .values((
                chain::position.eq(6),
                chain::event_id.eq(&gone),
                chain::leaf_hash.eq(&gone_leaf),
                chain::chain_hash.eq(&gone_chain),
                chain::sealed_at.eq(chrono::Utc::now().naive_utc()),
                chain::checkpoint_sequence.eq(gone_sequence),
                chain::mac.eq(&gone_mac),
            ))
            .execute(c)
            .unwrap();
    });
    assert!(verify(&db, &key).intact());

    // 5. A checkpoint signed with another key is rejected, at its position.
    audit::record(
        &mut db.conn(),
        &audit::AuditRecord::new(AuditAction::AuthLogin, "success"),
        Some(key.event_key()),
    )
    .unwrap();
    assert_eq!(
        audit_chain::seal(&mut db.conn(), &key, audit_chain::SealOptions::default())
            .unwrap()
            .events
            .len(),
        1
    );
    let forger = AuditSigner::from_seed(&[42; 32]);
    let head_now: i64 = chain::table.count().get_result(&mut db.conn()).unwrap();
    let forged = audit_chain::checkpoint_now(&mut db.conn(), &forger)
        .unwrap()
        .unwrap();
    assert_eq!(forged, head_now);
    let report = verify(&db, &key);
    assert!(report.first_break.is_none());
    assert_eq!(report.bad_checkpoints.len(), 1, "{report:?}");
    assert_eq!(report.bad_checkpoints[0].position, head_now);
    assert!(report.bad_checkpoints[0].reason.contains("signature"));
    // ... and the one signed by the real key still holds.
    assert!(
        Checkpoint::all(&mut db.conn())
            .unwrap()
            .iter()
            .any(|c| c.position == head && c.signed_by(&key.verifying_key()))
    );
}

both_engines!(verify_finds_each_kind_of_tampering_at_its_position);

fn coordinators_and_supervisors_query_the_trail_and_are_audited_doing_so(db: TestDb) {
    let server = TestServer::start_with(
        &db,
        &[
            ("TUMAINI_MISUSE_THRESHOLD", "2"),
            ("TUMAINI_MISUSE_WINDOW_MINUTES", "60"),
        ],
        |_| {},
    );
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
    let other_supervisor = seed::account(&db, Role::Supervisor);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    let (w, _) = token(&server, &worker.email);
    let (s, _) = token(&server, &supervisor.email);
    let (o, _) = token(&server, &other_supervisor.email);
    let c = mfa_enrolled_token(&server, &coordinator.email);
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = server
            .post(Some(&w), "/api/v1/cases", &person(&format!("Kibet{n}")))
            .json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            server
                .get_as(
                    &w,
                    &format!("/api/v1/cases/{id}?groups=identity&purpose=assistance")
                )
                .status,
            200
        );
        ids.push(id);
    }
    let id = &ids[0];

    let by_case = server.get_as(&c, &format!("/api/v1/audit/events?case_id={id}"));
    assert_eq!(by_case.status, 200, "{}", by_case.text());
    let actions: Vec<String> = by_case.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["case.create", "case.read"]);
    assert!(
        !by_case.text().contains("Kibet"),
        "no personal data in the trail"
    );
    let seen: Vec<String> = server
        .get_as(&s, &format!("/api/v1/audit/events?case_id={id}"))
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        seen,
        ["case.create", "case.read", "audit.query"],
        "the owner's supervisor also sees that the coordinator looked"
    );
    assert_eq!(
        server
            .get_as(&o, &format!("/api/v1/audit/events?case_id={id}"))
            .json()["items"],
        json!([]),
        "another organisation's supervisor sees nothing of it"
    );
    assert_eq!(server.get_as(&w, "/api/v1/audit/events").status, 403);

    // Pages follow the cursor without overlap.
    let first = server
        .get_as(
            &c,
            &format!("/api/v1/audit/events?user_id={}&limit=2", worker.id),
        )
        .json();
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = server
        .get_as(
            &c,
            &format!(
                "/api/v1/audit/events?user_id={}&limit=2&cursor={cursor}",
                worker.id
            ),
        )
        .json();
    let first_ids: Vec<&Value> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert!(
        second["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !first_ids.contains(&&e["id"]))
    );
    assert_eq!(second["items"].as_array().unwrap().len(), 2);

    // Who accessed this case.
    let report = server.get_as(&s, &format!("/api/v1/audit/cases/{id}/disclosures"));
    assert_eq!(report.status, 200, "{}", report.text());
    let report = report.json();
    let entry = report["accessed_by"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_id"] == json!(worker.id.as_str()))
        .unwrap()
        .clone();
    assert_eq!(entry["groups"], json!(["identity"]));
    assert!(
        entry["purposes"]
            .as_array()
            .unwrap()
            .contains(&json!("assistance"))
    );
    assert_eq!(
        server
            .get_as(&o, &format!("/api/v1/audit/cases/{id}/disclosures"))
            .status,
        404
    );
    assert!(
        audit::with_action(&mut db.conn(), "audit.query")
            .unwrap()
            .len()
            >= 5,
        "reading the trail is audited"
    );
    assert_eq!(
        audit::with_action(&mut db.conn(), "audit.disclosures")
            .unwrap()
            .len(),
        2
    );

    // The chain verifies through the API (coordinators only).
    wait_sealed(&db);
    let verified = server.get_as(&c, "/api/v1/audit/verify");
    assert_eq!(verified.status, 200, "{}", verified.text());
    assert_eq!(verified.json()["intact"], true, "{}", verified.text());
    assert_eq!(server.get_as(&s, "/api/v1/audit/verify").status, 403);

    // Three cases' personal groups read by one person within the hour, threshold two: an alert.
    let deadline = Instant::now() + Duration::from_secs(20);
    let alerts = loop {
        let found = audit::with_action(&mut db.conn(), "audit.misuse_alert").unwrap();
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].resource_id.as_deref(), Some(worker.id.as_str()));
    assert_eq!(alerts[0].severity, "high");
    server.get_as(
        &w,
        &format!(
            "/api/v1/cases/{}?groups=identity&purpose=assistance",
            ids[1]
        ),
    );
    wait_sealed(&db);
    assert_eq!(
        audit::with_action(&mut db.conn(), "audit.misuse_alert")
            .unwrap()
            .len(),
        1,
        "once per window"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mail = loop {
        let found: Vec<String> = server
            .mail_files()
            .into_iter()
            .filter(|m| m.contains("Possible misuse"))
            .collect();
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains(&coordinator.email) && !mail[0].contains("Kibet"));
}

both_engines!(coordinators_and_supervisors_query_the_trail_and_are_audited_doing_so);

#[test]
fn the_application_role_cannot_change_audit_rows_on_postgres() {
    let Some(db) = TestDb::migrated(Engine::Postgres) else {
        return;
    };
    let role = format!("tumaini_app_{}", uuid::Uuid::now_v7().simple());
    let mut owner = db.conn();
    owner
        .batch_execute(&format!("CREATE ROLE {role} LOGIN PASSWORD 'test-only'"))
        .unwrap();
    tumaini_db::migrations::grant_app_role(&mut owner, &role).unwrap();
    let url = db.url_string();
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    let app_url = format!("{scheme}://{role}:test-only@{host}");
    let mut app: DbConn = tumaini_db::DatabaseUrl::parse(&app_url)
        .unwrap()
        .connect()
        .unwrap();
    // It may append.
    audit::record(
        &mut app,
        &audit::AuditRecord::new(AuditAction::AuthLogin, "success"),
        None,
    )
    .unwrap();
    for statement in [
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events CASCADE",
        "UPDATE audit_chain SET sealed_at = now()",
        "DELETE FROM audit_chain",
        "TRUNCATE audit_checkpoints",
    ] {
        let err = app
            .batch_execute(statement)
            .expect_err(statement)
            .to_string();
        assert!(err.contains("permission denied"), "{statement}: {err}");
    }
    // Even the owner's UPDATE, DELETE and TRUNCATE are refused by the triggers.
    for statement in [
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events CASCADE",
    ] {
        let err = owner
            .batch_execute(statement)
            .expect_err(statement)
            .to_string();
        assert!(err.contains("append-only"), "{statement}: {err}");
    }
    drop(app);
    owner
        .batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .unwrap();
}

fn late_commits_are_sealed_by_the_straggler_look_back(db: TestDb) {
    let key = AuditSigner::from_seed(&[5; 32]);
    let mut conn = db.conn();
    let record = |conn: &mut DbConn, action: AuditAction| {
        audit::record(
            conn,
            &audit::AuditRecord::new(action, "success"),
            Some(key.event_key()),
        )
        .unwrap()
    };
    record(&mut conn, AuditAction::AuthLogin);
    assert_eq!(
        audit_chain::seal(&mut conn, &key, audit_chain::SealOptions::default())
            .unwrap()
            .events
            .len(),
        1
    );
    // An event whose transaction began a minute ago and committed only now.
    let late = tumaini_db::ids::AuditEventId::generate();
    let mut event = tumaini_db::models::audit::AuditEvent {
        id: late.clone(),
        occurred_at: tumaini_db::time::now_utc() - chrono::Duration::seconds(60),
        action: "late".into(),
        outcome: "success".into(),
        actor_user_id: None,
        actor_organisation_id: None,
        actor_role: None,
        resource_type: None,
        resource_id: None,
        field_groups: String::new(),
        purpose: None,
        decision: None,
        policy_ids: String::new(),
        request_id: None,
        client_hash: None,
        severity: "normal".into(),
        client_request_id: None,
        actor_client_id: None,
        mac: None,
    };
    event.mac = Some(key.event_key().mac(&event));
    diesel::insert_into(audit_events::table)
        .values(&event)
        .execute(&mut conn)
        .unwrap();
    let quick = audit_chain::seal(&mut conn, &key, audit_chain::SealOptions::default()).unwrap();
    assert!(
        quick.events.is_empty(),
        "an ordinary round looks only forward"
    );
    let look_back = audit_chain::SealOptions {
        straggler_window: Some(chrono::Duration::seconds(120)),
        ..Default::default()
    };
    let sealed = audit_chain::seal(&mut conn, &key, look_back).unwrap();
    assert_eq!(sealed.events.len(), 1);
    assert_eq!(sealed.events[0].1.id, late);
    let keys = audit_chain::Keys {
        checkpoints: &[key.verifying_key()],
        events: Some(key.event_key()),
    };
    let report = audit_chain::verify(&mut conn, keys, &Default::default(), |_, _| {}).unwrap();
    assert!(
        report.intact(),
        "a late commit a minute back is within the tolerance: {report:?}"
    );
    assert_eq!(audit_chain::unsealed_count(&mut conn).unwrap(), 0);
}

both_engines!(late_commits_are_sealed_by_the_straggler_look_back);
