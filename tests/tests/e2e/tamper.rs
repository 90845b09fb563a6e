//! The audit trail against someone with the database owner's rights and none of the servers'
//! keys: every way of rewriting, shortening or extending it, each on a fresh trail of three
//! signed checkpoints and a few seconds' worth of events after the last, and whether it is
//! found by plain `verify` (the servers' audit key: chain, MACs, checkpoints and their
//! sequence), by `verify --against` the witness file the sealer keeps, and by an outside
//! auditor holding only the public key and the witness file. Printed as a table
//! (`--nocapture`); every row must be found by at least one, and each column finds exactly
//! what the design says it can.

use std::path::PathBuf;

use base64::Engine as _;
use diesel::prelude::*;
use tumaini_api::audit::witness::{WitnessFile, read_witness};
use tumaini_db::audit_chain::{self, AuditSigner, Keys, SealOptions};
use tumaini_db::ids::AuditEventId;
use tumaini_db::models::audit::{self, AuditEvent, AuditRecord};
use tumaini_db::schema::{audit_chain as chain, audit_checkpoints, audit_events};
use tumaini_db::vocabulary::AuditAction;
use tumaini_db::{DbConn, Engine};
use tumaini_tests::{TestDb, both_engines};

use crate::audit_trail::as_attacker;

/// Events per burst; each burst ends with a signed checkpoint (positions 4, 8, 12).
const BURST: i64 = 4;
/// Events sealed after the last checkpoint (positions 13 to 15): the unprovable seconds.
const TAIL: i64 = 3;
const LAST_CHECKPOINT: i64 = 3 * BURST;
const HEAD: i64 = LAST_CHECKPOINT + TAIL;

/// A trail as a server leaves it, with the witness file its sealer kept.
struct Trail {
    db: TestDb,
    key: AuditSigner,
    witness: PathBuf,
    _dir: tempfile::TempDir,
}

fn record(conn: &mut DbConn, key: &AuditSigner, n: i64) {
    let actions = [
        AuditAction::AuthLogin,
        AuditAction::CaseCreate,
        AuditAction::CaseRead,
        AuditAction::CaseUpdate,
    ];
    let mut event = AuditRecord::new(
        actions[usize::try_from(n).unwrap() % actions.len()],
        "success",
    );
    event.resource_type = Some("case".into());
    event.resource_id = Some(format!("case-{n}"));
    audit::record(conn, &event, Some(key.event_key())).unwrap();
}

/// Seals without signing (the interval is far away), as a round between checkpoints does.
fn seal_quietly(conn: &mut DbConn, key: &AuditSigner, full_sweep: bool) {
    audit_chain::seal(
        conn,
        key,
        SealOptions {
            full_sweep,
            checkpoint_every: chrono::Duration::days(365),
            ..SealOptions::default()
        },
    )
    .unwrap();
}

fn trail(engine: Engine) -> Trail {
    let db = TestDb::migrated(engine).expect("a database");
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    let key = AuditSigner::from_seed(&seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("witness.ndjson");
    let mut witness = WitnessFile::open(&path).unwrap();
    let mut conn = db.conn();
    let mut n = 0;
    for _ in 0..3 {
        for _ in 0..BURST {
            record(&mut conn, &key, n);
            n += 1;
        }
        seal_quietly(&mut conn, &key, false);
        audit_chain::checkpoint_now(&mut conn, &key).unwrap();
        witness.catch_up(&mut conn).unwrap();
    }
    for _ in 0..TAIL {
        record(&mut conn, &key, n);
        n += 1;
    }
    seal_quietly(&mut conn, &key, false);
    witness.catch_up(&mut conn).unwrap();
    let checkpoints: Vec<i64> = audit_checkpoints::table
        .select(audit_checkpoints::position)
        .order(audit_checkpoints::position)
        .load(&mut conn)
        .unwrap();
    assert_eq!(checkpoints, [BURST, 2 * BURST, LAST_CHECKPOINT]);
    assert_eq!(
        audit_chain::head(&mut conn).unwrap().unwrap().position,
        HEAD
    );
    Trail {
        db,
        key,
        witness: path,
        _dir: dir,
    }
}

/// (plain verify, verify --against the witness, outside auditor): whether each found anything.
fn verdicts(trail: &Trail) -> [bool; 3] {
    let public = [trail.key.verifying_key()];
    let server = Keys {
        checkpoints: &public,
        events: Some(trail.key.event_key()),
    };
    let auditor = Keys {
        checkpoints: &public,
        events: None,
    };
    let witness = read_witness(&trail.witness).unwrap();
    let found = |keys: Keys<'_>, witness: &audit_chain::Witness| {
        let report = audit_chain::verify(&mut trail.db.conn(), keys, witness, |_, _| {}).unwrap();
        !report.intact()
    };
    [
        found(server, &audit_chain::Witness::default()),
        found(server, &witness),
        found(auditor, &witness),
    ]
}

fn event_at(c: &mut DbConn, position: i64) -> AuditEvent {
    let id: AuditEventId = chain::table
        .find(position)
        .select(chain::event_id)
        .first(c)
        .unwrap();
    audit_events::table
        .find(&id)
        .select(AuditEvent::as_select())
        .first(c)
        .unwrap()
}

fn edit(c: &mut DbConn, position: i64) {
    let id = event_at(c, position).id;
    diesel::update(audit_events::table.find(&id))
        .set(audit_events::outcome.eq("denied"))
        .execute(c)
        .unwrap();
}

/// Recomputes every leaf and chain hash from `from` to the end, as an attacker who knows the
/// (public) algorithm would.
fn recompute(c: &mut DbConn, from: i64) {
    let mut previous: [u8; 32] = if from == 1 {
        audit_chain::GENESIS
    } else {
        audit_chain::chain_hash_at(c, from - 1)
            .unwrap()
            .unwrap()
            .try_into()
            .unwrap()
    };
    let last = audit_chain::head(c).unwrap().unwrap().position;
    for position in from..=last {
        let leaf = audit_chain::leaf_hash(&event_at(c, position));
        let next = audit_chain::chain_hash(&previous, &leaf);
        diesel::update(chain::table.find(position))
            .set((
                chain::leaf_hash.eq(leaf.to_vec()),
                chain::chain_hash.eq(next.to_vec()),
            ))
            .execute(c)
            .unwrap();
        previous = next;
    }
}

fn delete_events(c: &mut DbConn, positions: std::ops::RangeInclusive<i64>) {
    for position in positions.rev() {
        let id = event_at(c, position).id;
        diesel::delete(chain::table.find(position))
            .execute(c)
            .unwrap();
        diesel::delete(audit_events::table.find(&id))
            .execute(c)
            .unwrap();
    }
}

fn delete_checkpoint(c: &mut DbConn, position: i64) {
    diesel::delete(audit_checkpoints::table.find(position))
        .execute(c)
        .unwrap();
}

/// A MAC the attacker makes up (they do not have the key).
fn made_up_mac() -> String {
    base64::engine::general_purpose::STANDARD.encode([0x55u8; 32])
}

/// An event the attacker writes: plausible in every column, with a made-up MAC.
fn forged(occurred_at: chrono::NaiveDateTime) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::generate(),
        occurred_at,
        action: "case.read".into(),
        outcome: "success".into(),
        actor_user_id: None,
        actor_organisation_id: None,
        actor_role: Some("case_worker".into()),
        resource_type: Some("case".into()),
        resource_id: Some("case-forged".into()),
        field_groups: "identity".into(),
        purpose: Some("assistance".into()),
        decision: Some("allow".into()),
        policy_ids: "case.owner-staff".into(),
        request_id: None,
        client_hash: None,
        severity: "normal".into(),
        client_request_id: None,
        actor_client_id: None,
        mac: Some(made_up_mac()),
    }
}

/// Inserts `event` and a chain row at `position` naming the newest checkpoint, as the sealer's
/// rows do, with made-up hashes (see [`recompute`]) and a made-up MAC.
fn insert_row(c: &mut DbConn, position: i64, event: &AuditEvent) {
    let newest: Option<i64> = audit_checkpoints::table
        .select(diesel::dsl::max(audit_checkpoints::sequence))
        .first(c)
        .unwrap();
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(c)
        .unwrap();
    diesel::insert_into(chain::table)
        .values((
            chain::position.eq(position),
            chain::event_id.eq(&event.id),
            chain::leaf_hash.eq(vec![0u8; 32]),
            chain::chain_hash.eq(vec![0u8; 32]),
            chain::sealed_at.eq(tumaini_db::time::now_utc()),
            chain::checkpoint_sequence.eq(newest),
            chain::mac.eq(made_up_mac()),
        ))
        .execute(c)
        .unwrap();
}

fn swap(c: &mut DbConn, a: i64, b: i64) {
    let set = |c: &mut DbConn, from: i64, to: i64| {
        diesel::update(chain::table.find(from))
            .set(chain::position.eq(to))
            .execute(c)
            .unwrap();
    };
    set(c, a, 1_000_000);
    set(c, b, a);
    set(c, 1_000_000, b);
}

/// One tampering: its name, what it does, and what each column is expected to find.
struct Tampering {
    name: &'static str,
    /// (plain, against the witness, outside auditor)
    expected: [bool; 3],
    apply: fn(&Trail),
}

fn attack(trail: &Trail, work: impl FnOnce(&mut DbConn)) {
    as_attacker(&trail.db, work);
}

fn tamperings() -> Vec<Tampering> {
    vec![
        Tampering {
            name: "edit an event (covered by a checkpoint)",
            expected: [true, true, true],
            apply: |t| attack(t, |c| edit(c, 5)),
        },
        Tampering {
            name: "edit an event after the last checkpoint",
            expected: [true, true, true],
            apply: |t| attack(t, |c| edit(c, LAST_CHECKPOINT + 2)),
        },
        Tampering {
            name: "delete an event in the middle",
            expected: [true, true, true],
            apply: |t| attack(t, |c| delete_events(c, 6..=6)),
        },
        Tampering {
            name: "swap two events",
            expected: [true, true, true],
            apply: |t| attack(t, |c| swap(c, 2, 3)),
        },
        Tampering {
            name: "insert an event in the middle, chain recomputed",
            expected: [true, true, true],
            apply: |t| {
                attack(t, |c| {
                    let at = 6;
                    let when = event_at(c, at - 1).occurred_at;
                    for position in (at..=HEAD).rev() {
                        diesel::update(chain::table.find(position))
                            .set(chain::position.eq(position + 1))
                            .execute(c)
                            .unwrap();
                    }
                    insert_row(c, at, &forged(when));
                    recompute(c, at);
                });
            },
        },
        Tampering {
            name: "append a forged event with correct hashes",
            expected: [true, true, false],
            apply: |t| {
                attack(t, |c| {
                    insert_row(c, HEAD + 1, &forged(tumaini_db::time::now_utc()));
                    recompute(c, HEAD + 1);
                });
            },
        },
        Tampering {
            name: "insert an event backdated 5 minutes (the sealer seals and signs it)",
            expected: [true, true, false],
            apply: |t| {
                attack(t, |c| {
                    let when = tumaini_db::time::now_utc() - chrono::Duration::minutes(5);
                    diesel::insert_into(audit_events::table)
                        .values(&forged(when))
                        .execute(c)
                        .unwrap();
                });
                // The servers carry on: the next full sweep seals it, a checkpoint signs it,
                // the witness records that checkpoint.
                let mut conn = t.db.conn();
                seal_quietly(&mut conn, &t.key, true);
                audit_chain::checkpoint_now(&mut conn, &t.key).unwrap();
                WitnessFile::open(&t.witness)
                    .unwrap()
                    .catch_up(&mut conn)
                    .unwrap();
            },
        },
        Tampering {
            name: "delete the tail (events a checkpoint covers)",
            expected: [true, true, true],
            apply: |t| attack(t, |c| delete_events(c, LAST_CHECKPOINT - 1..=HEAD)),
        },
        Tampering {
            name: "delete the tail after the last checkpoint only",
            expected: [false, true, true],
            apply: |t| attack(t, |c| delete_events(c, LAST_CHECKPOINT + 1..=HEAD)),
        },
        Tampering {
            name: "delete a checkpoint in the middle",
            expected: [true, true, true],
            apply: |t| attack(t, |c| delete_checkpoint(c, 2 * BURST)),
        },
        Tampering {
            name: "delete the newest checkpoint (events sealed after it remain)",
            expected: [true, true, true],
            apply: |t| attack(t, |c| delete_checkpoint(c, LAST_CHECKPOINT)),
        },
        Tampering {
            name: "replace the newest checkpoint (deleted; the servers sign another)",
            expected: [true, true, true],
            apply: |t| {
                attack(t, |c| delete_checkpoint(c, LAST_CHECKPOINT));
                let mut conn = t.db.conn();
                audit_chain::checkpoint_now(&mut conn, &t.key).unwrap();
                WitnessFile::open(&t.witness)
                    .unwrap()
                    .catch_up(&mut conn)
                    .unwrap();
            },
        },
        Tampering {
            name: "roll back: delete the newest checkpoint and every event after the one before",
            expected: [false, true, true],
            apply: |t| {
                attack(t, |c| {
                    delete_checkpoint(c, LAST_CHECKPOINT);
                    delete_events(c, 2 * BURST + 1..=HEAD);
                });
            },
        },
        Tampering {
            name: "edit before the last checkpoint, chain recomputed",
            expected: [true, true, true],
            apply: |t| {
                attack(t, |c| {
                    edit(c, 5);
                    recompute(c, 5);
                });
            },
        },
        Tampering {
            name: "edit after the last checkpoint, chain recomputed",
            expected: [true, true, true],
            apply: |t| {
                attack(t, |c| {
                    edit(c, LAST_CHECKPOINT + 2);
                    recompute(c, LAST_CHECKPOINT + 2);
                });
            },
        },
    ]
}

fn each_tampering_is_found_by_plain_verify_or_the_witness(db: TestDb) {
    let engine = db.engine();
    drop(db);
    let untouched = trail(engine);
    assert_eq!(
        verdicts(&untouched),
        [false; 3],
        "an untouched trail verifies in every column"
    );
    let mark = |found: bool| if found { "found" } else { "-" };
    eprintln!(
        "\n{engine}: {:<78} | {:<5} | {:<7} | {:<7}",
        "tampering", "plain", "against", "auditor"
    );
    let mut unexpected = Vec::new();
    for tampering in tamperings() {
        let trail = trail(engine);
        (tampering.apply)(&trail);
        let found = verdicts(&trail);
        eprintln!(
            "{engine}: {:<78} | {:<5} | {:<7} | {:<7}",
            tampering.name,
            mark(found[0]),
            mark(found[1]),
            mark(found[2])
        );
        assert!(
            found.iter().any(|f| *f),
            "{}: found by nobody",
            tampering.name
        );
        if found != tampering.expected {
            unexpected.push(format!(
                "{}: found {found:?}, expected {:?}",
                tampering.name, tampering.expected
            ));
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}

both_engines!(each_tampering_is_found_by_plain_verify_or_the_witness);

/// Waits until the sealer has sealed everything and the witness file holds a checkpoint at the
/// head and the head itself.
fn wait_witnessed(db: &TestDb, path: &std::path::Path) -> audit_chain::Witness {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let head = audit_chain::head(&mut db.conn()).unwrap();
        let unsealed = audit_chain::unsealed_count(&mut db.conn()).unwrap();
        if let (Some(head), 0, Ok(witness)) = (head, unsealed, read_witness(path))
            && witness.checkpoints.last().map(|c| c.position) == Some(head.position)
            && witness.head.as_ref() == Some(&head)
        {
            return witness;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the witness file did not catch up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn the_sealer_keeps_the_witness_file_and_stops_at_a_cut(db: TestDb) {
    use tumaini_db::vocabulary::Role;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("witness").join("tumaini.witness");
    let settings = [
        ("TUMAINI_AUDIT_WITNESS_FILE", path.to_str().unwrap()),
        ("TUMAINI_AUDIT_CHECKPOINT_SECS", "1"),
    ];
    let server = tumaini_tests::TestServer::start_with(&db, &settings, |_| {});
    let worker = tumaini_tests::seed::account(&db, Role::CaseWorker);
    for _ in 0..3 {
        let (token, _) = crate::auth::token(&server, &worker.email);
        assert_eq!(server.get_as(&token, "/api/v1/cases").status, 200);
        std::thread::sleep(std::time::Duration::from_millis(1_100));
    }
    let witness = wait_witnessed(&db, &path);
    // Every checkpoint the database holds, in order, numbered one after another, each naming
    // its predecessor; the same documents the API serves.
    let stored = audit_chain::Checkpoint::all(&mut db.conn()).unwrap();
    assert!(stored.len() >= 2, "{stored:?}");
    assert_eq!(witness.checkpoints, stored);
    for (n, pair) in stored.windows(2).enumerate() {
        assert_eq!(pair[1].sequence, Some(i64::try_from(n).unwrap() + 2));
        assert_eq!(
            pair[1].previous_hash.as_deref(),
            Some(pair[0].note_hash().as_slice())
        );
    }
    let key = tumaini_api::keyring::audit_signer(&server.config.audit).unwrap();
    let keys = Keys {
        checkpoints: &[key.verifying_key()],
        events: Some(key.event_key()),
    };
    let report = audit_chain::verify(&mut db.conn(), keys, &witness, |_, _| {}).unwrap();
    assert!(report.intact(), "{report:?}");
    assert_eq!((report.proven, report.unprovable), (report.events, 0));
    drop(server);

    // Cut back to the checkpoint before the newest, then serve again: the sealer finds the
    // file's last checkpoint gone, says so, and appends nothing more.
    let before = std::fs::read(&path).unwrap();
    let keep = stored[stored.len() - 2].position;
    as_attacker(&db, |c| {
        delete_checkpoint(c, stored[stored.len() - 1].position);
        let head = audit_chain::head(c).unwrap().unwrap().position;
        delete_events(c, keep + 1..=head);
    });
    let server = tumaini_tests::TestServer::start_with(&db, &settings, |_| {});
    let (token, _) = crate::auth::token(&server, &worker.email);
    assert_eq!(server.get_as(&token, "/api/v1/cases").status, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while audit_chain::Checkpoint::all(&mut db.conn())
        .unwrap()
        .last()
        .map(|c| c.position)
        <= Some(keep)
    {
        assert!(std::time::Instant::now() < deadline, "no new checkpoint");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "nothing is appended after the cut"
    );
    let report = audit_chain::verify(
        &mut db.conn(),
        keys,
        &read_witness(&path).unwrap(),
        |_, _| {},
    )
    .unwrap();
    assert!(!report.intact());
    assert!(
        report
            .bad_checkpoints
            .iter()
            .any(|b| b.reason.starts_with("witness")),
        "{report:?}"
    );
}

both_engines!(the_sealer_keeps_the_witness_file_and_stops_at_a_cut);
