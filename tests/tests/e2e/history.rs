//! Rectification with history, and restriction of processing, through real HTTP on both
//! engines: every change of a personal group keeps the value it replaced (sealed again under
//! the case's key for its history row, never in plaintext, gone with the key), the history
//! lists who changed what when and why and shows earlier values only where the group may be
//! read; a restricted case is referred nowhere new, no pending referral of it is accepted, its
//! groups are read only by a supervisor of its owner for the dispute, and assistance goes on.

use std::sync::Arc;

use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::ids::CaseId;
use tumaini_db::models::audit;
use tumaini_db::schema::{case_group_versions, cases, referrals};
use tumaini_db::vault::{
    GroupChange, GroupRead, KeyMaterial, KeyRing, KeyVersion, SecretBytes, ShredOutcome, Vault,
    VaultError,
};
use tumaini_db::vocabulary::{FieldGroup, OrganisationKind, RectificationReason, Role};
use tumaini_tests::seed::{self, Account};
use tumaini_tests::{TestDb, TestResponse, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

/// The family names of the three versions of the identity group: markers searched for in every
/// answer that must not carry a value, and in the stored bytes.
const FIRST: &str = "Nsubuga-Marker-One";
const SECOND: &str = "Nsubuga-Marker-Two";
const THIRD: &str = "Nsubuga-Marker-Three";

fn person() -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG",
            "exploitation_country": "UG", "region": "UG-102", "encountered_on": "2026-11-20",
            "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": {"given_names": "Namazzi", "family_name": FIRST},
            "health": {"physical_health": "a sprained wrist"}
        }
    })
}

fn login(server: &TestServer, account: &Account) -> String {
    token(server, &account.email).0
}

fn case_path(case: &str, tail: &str) -> String {
    format!("/api/v1/cases/{case}{tail}")
}

/// `PATCH` with the case's current `ETag`.
fn patch(server: &TestServer, token: &str, case: &str, body: &Value) -> TestResponse {
    let path = case_path(case, "");
    let etag = server
        .get_as(token, &path)
        .header("etag")
        .expect("an ETag")
        .to_owned();
    let (token, body) = (token.to_owned(), body.clone());
    server.send(move |c, base| {
        c.patch(format!("{base}{path}"))
            .bearer_auth(token)
            .header("If-Match", etag)
            .json(&body)
    })
}

fn identity(family_name: &str) -> Value {
    json!({"given_names": "Namazzi", "family_name": family_name})
}

/// Registers [`person`] and consents to sharing identity and health with health services.
fn consented_case(server: &TestServer, worker: &str) -> String {
    let created = server.post(Some(worker), "/api/v1/cases", &person());
    assert_eq!(created.status, 201, "{}", created.text());
    let case = created.json()["id"].as_str().unwrap().to_owned();
    let consent = json!({
        "given_by": "person", "method": "written", "purposes": ["assistance", "referral"],
        "groups": ["identity", "health"], "recipients": ["health"]
    });
    let consented = server.post(Some(worker), &case_path(&case, "/consents"), &consent);
    assert_eq!(consented.status, 201, "{}", consented.text());
    case
}

fn referral_to(clinic: &tumaini_db::ids::OrgId) -> Value {
    json!({
        "to_organisation_id": clinic.as_str(), "services": ["health"], "groups": ["health"],
        "urgency": "normal", "reason": "A check of her wrist this week."
    })
}

fn ring(key: &KeyMaterial) -> Arc<KeyRing> {
    Arc::new(KeyRing::single(KeyVersion::FIRST, key.clone()))
}

fn history_rows(db: &TestDb, case: &str) -> Vec<(String, i32, Option<Vec<u8>>)> {
    case_group_versions::table
        .filter(case_group_versions::case_id.eq(case))
        .order((
            case_group_versions::field_group,
            case_group_versions::version,
        ))
        .select((
            case_group_versions::field_group,
            case_group_versions::version,
            case_group_versions::ciphertext,
        ))
        .load(&mut db.conn())
        .unwrap()
}

fn every_change_of_a_group_is_kept_and_read_as_the_group_is(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    let elsewhere = seed::organisation(&db, OrganisationKind::Shelter);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let clinic_worker = seed::account_in(&db, &clinic, Role::CaseWorker);
    let stranger = seed::account_in(&db, &elsewhere, Role::CaseWorker);
    let stranger_head = seed::account_in(&db, &elsewhere, Role::Supervisor);
    let responder = seed::account(&db, Role::FirstResponder);
    let (w, cw, x, xs, fr) = (
        login(&server, &worker),
        login(&server, &clinic_worker),
        login(&server, &stranger),
        login(&server, &stranger_head),
        login(&server, &responder),
    );
    let case = consented_case(&server, &w);

    // A rectification reason is checked at the edge, and only goes with groups.
    let bad = patch(
        &server,
        &w,
        &case,
        &json!({"groups": {"identity": identity(SECOND)}, "rectification_reason": "whim"}),
    );
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert!(
        bad.text().contains("rectification_reason"),
        "{}",
        bad.text()
    );
    let alone = patch(
        &server,
        &w,
        &case,
        &json!({"rectification_reason": "correction"}),
    );
    assert_eq!(alone.status, 422, "{}", alone.text());
    assert_eq!(history_rows(&db, &case).len(), 2, "nothing was written");

    // Two rectifications of the identity group.
    let first = patch(
        &server,
        &w,
        &case,
        &json!({"groups": {"identity": identity(SECOND)}, "rectification_reason": "correction"}),
    );
    assert_eq!(first.status, 200, "{}", first.text());
    let second = patch(
        &server,
        &w,
        &case,
        &json!({"groups": {"identity": identity(THIRD)}, "rectification_reason": "person_request"}),
    );
    assert_eq!(second.status, 200, "{}", second.text());

    // The list: who, when, which group, which version, why; never a value.
    let listed = server.get_as(&w, &case_path(&case, "/history"));
    assert_eq!(listed.status, 200, "{}", listed.text());
    for marker in [FIRST, SECOND, THIRD, "Namazzi", "sprained"] {
        assert!(!listed.text().contains(marker), "{marker} in the list");
    }
    let body = listed.json();
    let versions = body["versions"].as_array().unwrap();
    let of_identity: Vec<&Value> = versions
        .iter()
        .filter(|v| v["group"] == "identity")
        .collect();
    assert_eq!(of_identity.len(), 3, "{body}");
    let numbers: Vec<i64> = of_identity
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    let reasons: Vec<&Value> = of_identity.iter().map(|v| &v["reason"]).collect();
    assert_eq!(
        reasons,
        [&Value::Null, &json!("correction"), &json!("person_request")]
    );
    let current: Vec<bool> = of_identity
        .iter()
        .map(|v| v["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current, [false, false, true]);
    for version in &of_identity {
        assert_eq!(version["changed_by"]["user_id"], worker.id.as_str());
        assert_eq!(version["changed_by"]["role"], "case_worker");
        assert_eq!(version["changed_by"]["organisation_id"], shelter.as_str());
        assert!(version["changed_at"].as_str().is_some());
        assert!(version.get("value").is_none(), "{version}");
    }
    assert_eq!(
        versions.iter().filter(|v| v["group"] == "health").count(),
        1,
        "health was written once"
    );

    // Earlier values, for the owner's case worker, audited with the group touched.
    let with_values = server.get_as(
        &w,
        &case_path(&case, "/history?groups=identity&purpose=case_management"),
    );
    assert_eq!(with_values.status, 200, "{}", with_values.text());
    let body = with_values.json();
    let values: Vec<&Value> = body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["group"] == "identity")
        .map(|v| &v["value"]["family_name"])
        .collect();
    assert_eq!(values, [&json!(FIRST), &json!(SECOND), &json!(THIRD)]);
    assert!(
        body["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["group"] == "health")
            .all(|v| v.get("value").is_none()),
        "only the groups asked for carry values"
    );
    assert_eq!(body["withheld_groups"], json!([]));
    let reads = audit::with_action(&mut db.conn(), "case.history.read").unwrap();
    let last = reads.last().unwrap();
    assert_eq!(last.outcome, "success");
    assert_eq!(last.resource_id.as_deref(), Some(case.as_str()));
    assert!(
        last.field_groups.contains("identity"),
        "{}",
        last.field_groups
    );
    assert_eq!(last.purpose.as_deref(), Some("case_management"));
    assert!(
        !reads[reads.len() - 2].field_groups.contains("identity"),
        "the list alone touches no group"
    );
    assert_eq!(
        server
            .get_as(&w, &case_path(&case, "/history?groups=identity"))
            .status,
        400,
        "values need a purpose"
    );

    // A referral holder whose referral shares health only: the list, not identity's values.
    let sent = server.post(
        Some(&w),
        &case_path(&case, "/referrals"),
        &referral_to(&clinic),
    );
    assert_eq!(sent.status, 201, "{}", sent.text());
    let referral = sent.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        server.get_as(&cw, &case_path(&case, "/history")).status,
        404,
        "a referral not yet accepted gives nothing"
    );
    let accepted = server.post(
        Some(&cw),
        &format!("/api/v1/referrals/{referral}/accept"),
        &json!({}),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    let held = server.get_as(
        &cw,
        &case_path(&case, "/history?groups=identity,health&purpose=assistance"),
    );
    assert_eq!(held.status, 200, "{}", held.text());
    let body = held.json();
    assert_eq!(body["withheld_groups"], json!(["identity"]));
    assert_eq!(
        body["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["group"] == "identity")
            .count(),
        3,
        "the holder sees that identity changed"
    );
    for marker in [FIRST, SECOND, THIRD, "Namazzi"] {
        assert!(
            !held.text().contains(marker),
            "{marker} shown to the holder"
        );
    }
    assert!(
        held.text().contains("sprained"),
        "the group shared is shown"
    );
    let refused = audit::with_action(&mut db.conn(), "case.read_group").unwrap();
    assert!(
        refused.iter().any(|e| e.outcome == "denied"
            && e.actor_user_id.as_deref() == Some(clinic_worker.id.as_str())
            && e.field_groups.contains("identity")),
        "the refused group is audited"
    );

    // Another organisation cannot tell the case exists; a first responder who did not
    // register it neither.
    for (who, token) in [("case worker", &x), ("supervisor", &xs), ("responder", &fr)] {
        for tail in [
            "/history",
            "/history?groups=identity&purpose=case_management",
        ] {
            let response = server.get_as(token, &case_path(&case, tail));
            assert_eq!(response.status, 404, "{who} elsewhere: {tail}");
            assert!(!response.text().contains(FIRST));
        }
    }

    // At rest: the earlier versions are ciphertexts with no plaintext in them; the current one
    // has none here (it is the group itself).
    let rows = history_rows(&db, &case);
    let identity_rows: Vec<&(String, i32, Option<Vec<u8>>)> =
        rows.iter().filter(|(g, _, _)| g == "identity").collect();
    assert_eq!(identity_rows.len(), 3);
    assert!(identity_rows[0].2.is_some() && identity_rows[1].2.is_some());
    assert!(identity_rows[2].2.is_none());
    for (_, _, bytes) in &rows {
        let text = String::from_utf8_lossy(bytes.as_deref().unwrap_or_default()).into_owned();
        for marker in [FIRST, SECOND, THIRD, "Namazzi", "Nsubuga", "sprained"] {
            assert!(!text.contains(marker), "{marker} stored in plaintext");
        }
    }

    // Crypto-shredding removes the history with the rest.
    let shredder = Vault::new(ring(&KeyMaterial::generate()));
    let id: CaseId = case.parse().unwrap();
    assert_eq!(
        shredder.shred_case(&mut db.conn(), &id).unwrap(),
        ShredOutcome::Shredded
    );
    assert!(
        history_rows(&db, &case).is_empty(),
        "history outlived the key"
    );
    let after = server.get_as(
        &w,
        &case_path(&case, "/history?groups=identity&purpose=case_management"),
    );
    assert_eq!(after.status, 200, "{}", after.text());
    assert_eq!(after.json()["versions"], json!([]));
}

both_engines!(every_change_of_a_group_is_kept_and_read_as_the_group_is);

/// The vault keeps each earlier version sealed for its own history row: moved to another
/// version, or back into the group, it fails to decrypt.
fn earlier_versions_decrypt_only_where_they_are_kept(db: TestDb) {
    let vault = Vault::new(ring(&KeyMaterial::generate()));
    let mut conn = db.conn();
    vault.check(&mut conn).unwrap();
    let case = CaseId::generate();
    vault.create_case_key(&mut conn, &case).unwrap();
    for name in ["one", "two", "three"] {
        let value = SecretBytes::new(format!(r#"{{"family_name":"{name}"}}"#).into_bytes());
        vault
            .write_group(&mut conn, &case, FieldGroup::Identity, &value)
            .unwrap();
    }
    let read: Vec<(i32, String)> = vault
        .read_group_versions(&mut conn, &case, FieldGroup::Identity)
        .unwrap()
        .into_iter()
        .map(|(version, read)| match read {
            GroupRead::Plain(bytes) => {
                (version, String::from_utf8(bytes.expose().to_vec()).unwrap())
            }
            other => panic!("version {version}: {other:?}"),
        })
        .collect();
    assert_eq!(
        read,
        [
            (1, r#"{"family_name":"one"}"#.to_owned()),
            (2, r#"{"family_name":"two"}"#.to_owned()),
            (3, r#"{"family_name":"three"}"#.to_owned()),
        ]
    );
    let versions = vault.group_versions(&mut conn, &case).unwrap();
    assert_eq!(versions.len(), 3);
    assert!(
        versions
            .iter()
            .all(|v| v.changed_by.is_none() && v.reason.is_none())
    );

    // A group written before history was kept (no version rows) becomes version 1, by nobody
    // known, when it is first changed; the change names its author and reason.
    let legacy = CaseId::generate();
    vault.create_case_key(&mut conn, &legacy).unwrap();
    let old = SecretBytes::new(br#"{"family_name":"before"}"#.to_vec());
    vault
        .write_group(&mut conn, &legacy, FieldGroup::Identity, &old)
        .unwrap();
    diesel::delete(case_group_versions::table.filter(case_group_versions::case_id.eq(&legacy)))
        .execute(&mut conn)
        .unwrap();
    let author = seed::account(&db, Role::CaseWorker);
    let user = tumaini_db::models::User::find(&mut conn, &author.id).unwrap();
    let change = GroupChange::by(&user, Some(RectificationReason::Completion));
    let new = SecretBytes::new(br#"{"family_name":"after"}"#.to_vec());
    vault
        .write_group_as(&mut conn, &legacy, FieldGroup::Identity, &new, &change)
        .unwrap();
    let versions = vault.group_versions(&mut conn, &legacy).unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].changed_by, None);
    assert!(!versions[0].current && versions[1].current);
    assert_eq!(versions[1].changed_by.as_ref(), Some(&author.id));
    assert_eq!(versions[1].changed_by_role, Some(Role::CaseWorker));
    assert_eq!(versions[1].reason, Some(RectificationReason::Completion));
    let values: Vec<String> = vault
        .read_group_versions(&mut conn, &legacy, FieldGroup::Identity)
        .unwrap()
        .into_iter()
        .map(|(_, read)| match read {
            GroupRead::Plain(bytes) => String::from_utf8(bytes.expose().to_vec()).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        values,
        [r#"{"family_name":"before"}"#, r#"{"family_name":"after"}"#]
    );

    let kept = |version: i32| -> Vec<u8> {
        case_group_versions::table
            .find((case.as_str(), "identity", version))
            .select(case_group_versions::ciphertext)
            .first::<Option<Vec<u8>>>(&mut db.conn())
            .unwrap()
            .unwrap()
    };
    let first = kept(1);
    // Another version's row.
    diesel::update(case_group_versions::table.find((case.as_str(), "identity", 2)))
        .set(case_group_versions::ciphertext.eq(&first))
        .execute(&mut conn)
        .unwrap();
    assert!(matches!(
        vault.read_group_versions(&mut conn, &case, FieldGroup::Identity),
        Err(VaultError::Integrity)
    ));
    // The group itself.
    diesel::update(tumaini_db::schema::case_field_groups::table.find((case.as_str(), "identity")))
        .set(tumaini_db::schema::case_field_groups::ciphertext.eq(&first))
        .execute(&mut conn)
        .unwrap();
    assert!(matches!(
        vault.read_group(&mut conn, &case, FieldGroup::Identity),
        Err(VaultError::Integrity)
    ));
}

both_engines!(earlier_versions_decrypt_only_where_they_are_kept);

fn version_of(db: &TestDb, case: &str) -> i32 {
    cases::table
        .find(case)
        .select(cases::version)
        .first(&mut db.conn())
        .unwrap()
}

fn referral_count(db: &TestDb) -> i64 {
    referrals::table.count().get_result(&mut db.conn()).unwrap()
}

fn a_restricted_case_is_kept_but_not_processed(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let clinic = seed::organisation(&db, OrganisationKind::Health);
    let other_clinic = seed::organisation(&db, OrganisationKind::Health);
    let elsewhere = seed::organisation(&db, OrganisationKind::Shelter);
    let office = seed::organisation(&db, OrganisationKind::CoordinationOffice);
    let worker = seed::account_in(&db, &shelter, Role::CaseWorker);
    let head = seed::account_in(&db, &shelter, Role::Supervisor);
    let clinic_worker = seed::account_in(&db, &clinic, Role::CaseWorker);
    let stranger_head = seed::account_in(&db, &elsewhere, Role::Supervisor);
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    let (w, s, cw, xs) = (
        login(&server, &worker),
        login(&server, &head),
        login(&server, &clinic_worker),
        login(&server, &stranger_head),
    );
    let c = mfa_enrolled_token(&server, &coordinator.email);
    let case = consented_case(&server, &w);
    // A referral sent before the restriction, still pending.
    let sent = server.post(
        Some(&w),
        &case_path(&case, "/referrals"),
        &referral_to(&clinic),
    );
    assert_eq!(sent.status, 201, "{}", sent.text());
    let pending = sent.json()["id"].as_str().unwrap().to_owned();

    let restriction = case_path(&case, "/restriction");
    let reason = json!({"reason": "accuracy_contested"});
    let before = version_of(&db, &case);
    // Who may not: a case worker who sees the case hears so; another organisation's
    // supervisor cannot tell the case exists. A reason outside the vocabulary is 422.
    assert_eq!(server.post(Some(&w), &restriction, &reason).status, 403);
    assert_eq!(
        server.call("DELETE", &w, &restriction, None).status,
        403,
        "nor lift"
    );
    assert_eq!(server.post(Some(&xs), &restriction, &reason).status, 404);
    assert_eq!(server.call("DELETE", &xs, &restriction, None).status, 404);
    let bad = server.post(Some(&s), &restriction, &json!({"reason": "because"}));
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert_eq!(
        server.post(Some(&s), &restriction, &json!({})).status,
        422,
        "a reason is required"
    );
    assert_eq!(version_of(&db, &case), before, "nothing changed");
    let denied = audit::with_action(&mut db.conn(), "case.restriction.place").unwrap();
    assert_eq!(
        denied.iter().filter(|e| e.outcome == "denied").count(),
        2,
        "both refusals are audited"
    );

    // Placed by the owner's supervisor; the summary says so to whoever sees the case.
    let placed = server.post(Some(&s), &restriction, &reason);
    assert_eq!(placed.status, 200, "{}", placed.text());
    let placed = placed.json();
    assert_eq!(placed["restricted"], true);
    assert_eq!(placed["restriction"]["reason"], "accuracy_contested");
    assert_eq!(placed["restriction"]["restricted_by"], head.id.as_str());
    assert!(placed["restriction"]["since"].as_str().is_some());
    let summary = server.get_as(&w, &case_path(&case, "")).json();
    assert_eq!(summary["restricted"], true);
    assert_eq!(summary["restriction"]["reason"], "accuracy_contested");
    let events = audit::with_action(&mut db.conn(), "case.restriction.place").unwrap();
    let success = events.iter().find(|e| e.outcome == "success").unwrap();
    assert_eq!(success.actor_user_id.as_deref(), Some(head.id.as_str()));
    assert_eq!(success.resource_id.as_deref(), Some(case.as_str()));

    // Placing again changes nothing.
    let restricted_version = version_of(&db, &case);
    let again = server.post(Some(&s), &restriction, &reason);
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(again.json()["type"], "urn:tumaini:problem:conflict");
    assert_eq!(version_of(&db, &case), restricted_version);

    // No new referral, no acceptance of the pending one.
    let referrals_before = referral_count(&db);
    let refused = server.post(
        Some(&w),
        &case_path(&case, "/referrals"),
        &referral_to(&other_clinic),
    );
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(referral_count(&db), referrals_before);
    let accept = format!("/api/v1/referrals/{pending}/accept");
    let refused = server.post(Some(&cw), &accept, &json!({}));
    assert_eq!(refused.status, 403, "{}", refused.text());
    let state: String = referrals::table
        .find(&pending)
        .select(referrals::state)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(state, "sent");

    // The groups: refused to the owner's case worker (audited), and to the supervisor unless
    // for the dispute.
    let read = |token: &str, purpose: &str| {
        server.get_as(
            token,
            &case_path(&case, &format!("?groups=identity,health&purpose={purpose}")),
        )
    };
    let refused = read(&w, "case_management");
    assert_eq!(refused.status, 200);
    assert_eq!(
        refused.json()["withheld_groups"],
        json!(["identity", "health"])
    );
    assert!(!refused.text().contains(FIRST));
    let group_refusals = audit::with_action(&mut db.conn(), "case.read_group").unwrap();
    let last = group_refusals.last().unwrap();
    assert_eq!(last.outcome, "denied");
    assert_eq!(last.actor_user_id.as_deref(), Some(worker.id.as_str()));
    assert!(last.field_groups.contains("identity") && last.field_groups.contains("health"));
    assert_eq!(
        read(&w, "restriction_dispute").json()["withheld_groups"],
        json!(["identity", "health"]),
        "the dispute is the supervisor's"
    );
    assert_eq!(
        read(&s, "case_management").json()["withheld_groups"],
        json!(["identity", "health"])
    );
    let dispute = read(&s, "restriction_dispute");
    assert_eq!(dispute.status, 200);
    let dispute = dispute.json();
    assert_eq!(dispute["withheld_groups"], json!([]));
    assert_eq!(dispute["groups"]["identity"]["family_name"], FIRST);
    // The history's values too.
    let history = server.get_as(
        &w,
        &case_path(&case, "/history?groups=identity&purpose=case_management"),
    );
    assert_eq!(history.status, 200, "{}", history.text());
    assert_eq!(history.json()["withheld_groups"], json!(["identity"]));
    assert!(!history.text().contains(FIRST));
    let history = server.get_as(
        &s,
        &case_path(
            &case,
            "/history?groups=identity&purpose=restriction_dispute",
        ),
    );
    assert!(history.text().contains(FIRST), "{}", history.text());
    // And the notes (the `notes` group): written still, not read.
    let note = server.post(
        Some(&w),
        &case_path(&case, "/notes"),
        &json!({"text": "She asked for the restriction herself."}),
    );
    assert_eq!(
        note.status,
        201,
        "assistance under way goes on: {}",
        note.text()
    );
    let notes = server.get_as(&w, &case_path(&case, "/notes"));
    assert_eq!(notes.status, 403, "{}", notes.text());
    assert!(!notes.text().contains("asked for the restriction"));

    // Assistance under way goes on.
    let assistance = server.post(
        Some(&w),
        &case_path(&case, "/assistance"),
        &json!({"service_type": "health", "status": "in_progress", "provided_on": "2026-11-21"}),
    );
    assert_eq!(assistance.status, 201, "{}", assistance.text());

    // A coordinator of the country may lift it; lifting twice changes nothing.
    let lifted = server.call("DELETE", &c, &restriction, None);
    assert_eq!(lifted.status, 200, "{}", lifted.text());
    assert_eq!(lifted.json()["restricted"], false);
    assert_eq!(lifted.json()["restriction"], Value::Null);
    let lifted_version = version_of(&db, &case);
    let again = server.call("DELETE", &s, &restriction, None);
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(version_of(&db, &case), lifted_version);
    let lifts = audit::with_action(&mut db.conn(), "case.restriction.lift").unwrap();
    assert_eq!(
        lifts.iter().filter(|e| e.outcome == "success").count(),
        1,
        "{lifts:?}"
    );

    // Everything works again.
    let read_again = read(&w, "case_management").json();
    assert_eq!(read_again["withheld_groups"], json!([]));
    assert_eq!(read_again["groups"]["identity"]["family_name"], FIRST);
    assert!(
        server
            .get_as(&w, &case_path(&case, "/notes"))
            .text()
            .contains("asked for the restriction")
    );
    assert_eq!(server.post(Some(&cw), &accept, &json!({})).status, 200);
    let another = server.post(
        Some(&w),
        &case_path(&case, "/referrals"),
        &referral_to(&other_clinic),
    );
    assert_eq!(another.status, 201, "{}", another.text());
    // And the owner's supervisor can restrict it again.
    assert_eq!(server.post(Some(&s), &restriction, &reason).status, 200);
}

both_engines!(a_restricted_case_is_kept_but_not_processed);
