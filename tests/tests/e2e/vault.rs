//! The vault on both engines: ciphertexts bound to their place, shredding, blind indexes, no
//! plaintext anywhere in the stored bytes, and key rotation under load and after a crash.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::NaiveDate;
use diesel::prelude::*;
use tumaini_db::DbConn;
use tumaini_db::ids::CaseId;
use tumaini_db::schema::{case_field_groups, case_keys};
use tumaini_db::vault::{
    GroupRead, IndexQuery, IndexTerms, KeyMaterial, KeyRing, KeyVersion, RotationOptions,
    SecretBytes, ShredOutcome, Vault, VaultError,
};
use tumaini_db::vocabulary::FieldGroup;
use tumaini_tests::{Engine, TestDb, both_engines};

fn ring(versions: &[(i64, &KeyMaterial)]) -> Arc<KeyRing> {
    let mut ring: Option<KeyRing> = None;
    for (version, key) in versions {
        let version = KeyVersion::new(*version).unwrap();
        ring = Some(match ring {
            Some(r) => r.with(version, (*key).clone()),
            None => KeyRing::single(version, (*key).clone()),
        });
    }
    Arc::new(ring.unwrap())
}

fn identity_json(name: &str) -> SecretBytes {
    SecretBytes::new(format!(r#"{{"names":["{name}"],"passport":"B7731942"}}"#).into_bytes())
}

fn new_case(vault: &Vault, conn: &mut DbConn, name: &str) -> CaseId {
    let case = CaseId::generate();
    vault.create_case_key(conn, &case).unwrap();
    vault
        .write_group(conn, &case, FieldGroup::Identity, &identity_json(name))
        .unwrap();
    case
}

fn plain(read: GroupRead) -> String {
    match read {
        GroupRead::Plain(bytes) => String::from_utf8(bytes.expose().to_vec()).unwrap(),
        other => panic!("expected plaintext, got {other:?}"),
    }
}

fn stored(conn: &mut DbConn, case: &CaseId, group: FieldGroup) -> Vec<u8> {
    case_field_groups::table
        .find((case, group))
        .select(case_field_groups::ciphertext)
        .first(conn)
        .unwrap()
}

fn put_raw(conn: &mut DbConn, case: &CaseId, group: FieldGroup, bytes: &[u8]) {
    let updated = diesel::update(case_field_groups::table.find((case, group)))
        .set(case_field_groups::ciphertext.eq(bytes))
        .execute(conn)
        .unwrap();
    if updated == 0 {
        diesel::insert_into(case_field_groups::table)
            .values((
                case_field_groups::case_id.eq(case),
                case_field_groups::field_group.eq(group),
                case_field_groups::ciphertext.eq(bytes),
                case_field_groups::updated_at.eq(tumaini_db::time::now_utc()),
            ))
            .execute(conn)
            .unwrap();
    }
}

fn groups_round_trip_and_ciphertexts_do_not_travel(db: TestDb) {
    let key = KeyMaterial::generate();
    let vault = Vault::new(ring(&[(1, &key)]));
    let mut conn = db.conn();
    vault.check(&mut conn).unwrap();
    let a = new_case(&vault, &mut conn, "Nakato Namubiru");
    let b = new_case(&vault, &mut conn, "Achieng Atieno");
    assert!(
        plain(
            vault
                .read_group(&mut conn, &a, FieldGroup::Identity)
                .unwrap()
        )
        .contains("Nakato")
    );
    assert_eq!(
        vault.read_group(&mut conn, &a, FieldGroup::Health).unwrap(),
        GroupRead::Absent
    );
    assert_eq!(
        vault
            .read_group(&mut conn, &CaseId::generate(), FieldGroup::Health)
            .unwrap(),
        GroupRead::Absent
    );
    assert!(matches!(
        vault.write_group(&mut conn, &a, FieldGroup::Summary, &identity_json("x")),
        Err(VaultError::NotEncrypted(FieldGroup::Summary))
    ));
    assert!(matches!(
        vault.write_group(
            &mut conn,
            &CaseId::generate(),
            FieldGroup::Notes,
            &identity_json("x")
        ),
        Err(VaultError::NoCaseKey)
    ));

    let original = stored(&mut conn, &a, FieldGroup::Identity);
    // Another case (another data key and row id).
    put_raw(&mut conn, &b, FieldGroup::Identity, &original);
    assert!(matches!(
        vault.read_group(&mut conn, &b, FieldGroup::Identity),
        Err(VaultError::Integrity)
    ));
    // Another column of the same case (same key).
    put_raw(&mut conn, &a, FieldGroup::Contact, &original);
    assert!(matches!(
        vault.read_group(&mut conn, &a, FieldGroup::Contact),
        Err(VaultError::Integrity)
    ));
    // Another row with the same data key: impossible by construction (one key per case),
    // so move the wrapped data key too and the ciphertext still fails on its row id.
    let wrapped: Vec<u8> = case_keys::table
        .find(&a)
        .select(case_keys::wrapped_key)
        .first(&mut conn)
        .unwrap();
    diesel::update(case_keys::table.find(&b))
        .set(case_keys::wrapped_key.eq(&wrapped))
        .execute(&mut conn)
        .unwrap();
    let fresh = Vault::new(ring(&[(1, &key)]));
    assert!(matches!(
        fresh.read_group(&mut conn, &b, FieldGroup::Identity),
        Err(VaultError::Integrity)
    ));

    // One flipped bit, anywhere.
    for position in [0usize, 3, 10, original.len() / 2, original.len() - 1] {
        let mut flipped = original.clone();
        flipped[position] ^= 0x10;
        put_raw(&mut conn, &a, FieldGroup::Identity, &flipped);
        assert!(
            vault
                .read_group(&mut conn, &a, FieldGroup::Identity)
                .is_err(),
            "bit at byte {position}"
        );
    }
    let mut future_format = original.clone();
    future_format[0] = 0x07;
    put_raw(&mut conn, &a, FieldGroup::Identity, &future_format);
    assert!(matches!(
        vault.read_group(&mut conn, &a, FieldGroup::Identity),
        Err(VaultError::UnknownFormat(7))
    ));
    let mut other_version = original.clone();
    other_version[4] = 2;
    put_raw(&mut conn, &a, FieldGroup::Identity, &other_version);
    assert!(matches!(
        vault.read_group(&mut conn, &a, FieldGroup::Identity),
        Err(VaultError::UnknownKeyVersion(2))
    ));
    put_raw(&mut conn, &a, FieldGroup::Identity, &original);
    assert!(
        plain(
            vault
                .read_group(&mut conn, &a, FieldGroup::Identity)
                .unwrap()
        )
        .contains("Nakato")
    );

    // A vault with another master key cannot read, and says so at start.
    let stranger = Vault::new(ring(&[(1, &KeyMaterial::generate())]));
    assert!(matches!(
        stranger.check(&mut conn),
        Err(VaultError::Integrity)
    ));
    assert!(
        stranger
            .read_group(&mut conn, &a, FieldGroup::Identity)
            .is_err()
    );
    let missing_version = Vault::new(ring(&[(2, &key)]));
    assert!(matches!(
        missing_version.check(&mut conn),
        Err(VaultError::KeyUnavailable(_))
    ));
}

both_engines!(groups_round_trip_and_ciphertexts_do_not_travel);

fn terms(name: &str, dob: (i32, u32, u32), document: &str) -> IndexTerms {
    IndexTerms {
        names: vec![name.into()],
        date_of_birth: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2),
        document_numbers: vec![document.into()],
    }
}

fn blind_indexes_find_candidates_and_shredding_erases(db: TestDb) {
    let vault = Vault::new(ring(&[(1, &KeyMaterial::generate())]));
    let mut conn = db.conn();
    let a = new_case(&vault, &mut conn, "Nakato Namubiru");
    vault
        .set_index_terms(
            &mut conn,
            &a,
            &terms("Nakato Namubiru", (1999, 4, 2), "B7731942"),
        )
        .unwrap();
    let b = new_case(&vault, &mut conn, "Mohammed Ssemakula");
    vault
        .set_index_terms(
            &mut conn,
            &b,
            &terms("Mohammed Ssemakula", (1987, 11, 23), "UG-0042-17"),
        )
        .unwrap();

    let dob = NaiveDate::from_ymd_opt(1999, 4, 2).unwrap();
    let find = |conn: &mut DbConn, query: IndexQuery| vault.find_by_index(conn, &query).unwrap();
    assert_eq!(
        find(
            &mut conn,
            IndexQuery::NameAndBirthDate {
                name: "NAMUBIRU, nakato".into(),
                date_of_birth: dob
            }
        ),
        vec![a.clone()]
    );
    assert!(
        find(
            &mut conn,
            IndexQuery::NameAndBirthDate {
                name: "Nakato Namubiru".into(),
                date_of_birth: dob.succ_opt().unwrap()
            }
        )
        .is_empty()
    );
    assert_eq!(
        find(&mut conn, IndexQuery::DocumentNumber("b 773-1942".into())),
        vec![a.clone()]
    );
    assert_eq!(
        find(&mut conn, IndexQuery::DocumentNumber("ug004217".into())),
        vec![b.clone()]
    );
    assert_eq!(
        find(
            &mut conn,
            IndexQuery::NameSoundsLike("Muhammad Semakula".into())
        ),
        vec![b.clone()]
    );
    assert_eq!(
        find(&mut conn, IndexQuery::NameSoundsLike("Nakkato".into())),
        vec![a.clone()]
    );
    let read_back = vault.read_index_terms(&mut conn, &a).unwrap().unwrap();
    assert_eq!(read_back.document_numbers[0].expose(), "B7731942");

    vault
        .write_group(
            &mut conn,
            &a,
            FieldGroup::Health,
            &SecretBytes::new(b"{}".to_vec()),
        )
        .unwrap();
    assert_eq!(
        vault.shred_case(&mut conn, &a).unwrap(),
        ShredOutcome::Shredded
    );
    assert_eq!(
        vault.shred_case(&mut conn, &a).unwrap(),
        ShredOutcome::AlreadyShredded
    );
    assert_eq!(
        vault.shred_case(&mut conn, &CaseId::generate()).unwrap(),
        ShredOutcome::NoSuchCase
    );
    for group in [FieldGroup::Identity, FieldGroup::Health, FieldGroup::Legal] {
        assert_eq!(
            vault.read_group(&mut conn, &a, group).unwrap(),
            GroupRead::Erased
        );
    }
    assert!(matches!(
        vault.write_group(&mut conn, &a, FieldGroup::Identity, &identity_json("again")),
        Err(VaultError::Erased)
    ));
    assert!(find(&mut conn, IndexQuery::DocumentNumber("B7731942".into())).is_empty());
    assert!(vault.read_index_terms(&mut conn, &a).unwrap().is_none());
    let wrapped: Vec<u8> = case_keys::table
        .find(&a)
        .select(case_keys::wrapped_key)
        .first(&mut conn)
        .unwrap();
    assert!(
        wrapped.is_empty(),
        "the data key is destroyed, not just marked"
    );
    assert!(
        plain(
            vault
                .read_group(&mut conn, &b, FieldGroup::Identity)
                .unwrap()
        )
        .contains("Ssemakula")
    );
    let status = vault.status(&mut conn).unwrap();
    assert_eq!(status.shredded, 1);
    assert_eq!(status.data_keys_by_kek, vec![(1, 1)]);
}

both_engines!(blind_indexes_find_candidates_and_shredding_erases);

/// Values that must never appear in the stored bytes.
const RECOGNISABLE: &[&str] = &[
    "Nakato Namubiru",
    "Namubiru",
    "nakato namubiru",
    "B7731942",
    "b7731942",
    "+256 772 123456",
    "256772123456",
    "Kisenyi, Kampala",
    "1999-04-02",
];

fn no_plaintext_reaches_the_database(db: TestDb) {
    let vault = Vault::new(ring(&[(1, &KeyMaterial::generate())]));
    {
        let mut conn = db.conn();
        for i in 0..5 {
            let case = CaseId::generate();
            vault.create_case_key(&mut conn, &case).unwrap();
            vault
                .write_group(
                    &mut conn,
                    &case,
                    FieldGroup::Identity,
                    &SecretBytes::new(
                        format!(
                            "{{\"name\":\"Nakato Namubiru\",\"passport\":\"B7731942\",\
                             \"dob\":\"1999-04-02\",\"n\":{i}}}"
                        )
                        .into_bytes(),
                    ),
                )
                .unwrap();
            vault
                .write_group(
                    &mut conn,
                    &case,
                    FieldGroup::Contact,
                    &SecretBytes::new(
                        br#"{"phone":"+256 772 123456","address":"Kisenyi, Kampala"}"#.to_vec(),
                    ),
                )
                .unwrap();
            vault
                .set_index_terms(
                    &mut conn,
                    &case,
                    &terms("Nakato Namubiru", (1999, 4, 2), "B7731942"),
                )
                .unwrap();
        }
    }
    let haystack: Vec<u8> = match db.engine() {
        Engine::Sqlite => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(db.dir().unwrap()).unwrap() {
                let path = entry.unwrap().path();
                bytes.extend(std::fs::read(&path).unwrap());
            }
            assert!(bytes.len() > 4096);
            bytes
        }
        Engine::Postgres => {
            let output = std::process::Command::new("pg_dump")
                .arg("--no-owner")
                .arg(db.url_string())
                .output()
                .expect("pg_dump runs");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(String::from_utf8_lossy(&output.stdout).contains("case_field_groups"));
            output.stdout
        }
    };
    let text = String::from_utf8_lossy(&haystack).to_lowercase();
    for value in RECOGNISABLE {
        assert!(
            !text.contains(&value.to_lowercase()),
            "{value:?} found in the stored bytes"
        );
        let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(
            !text.contains(&hex),
            "{value:?} found hex-encoded in the stored bytes"
        );
    }
}

both_engines!(no_plaintext_reaches_the_database);

/// Cases with readable groups under KEK version 1.
fn seed(vault: &Vault, conn: &mut DbConn, count: usize) -> Vec<CaseId> {
    (0..count)
        .map(|i| new_case(vault, conn, &format!("Person {i}")))
        .collect()
}

fn rotation_under_concurrent_reads_and_writes_loses_nothing(db: TestDb) {
    let v1 = KeyMaterial::generate();
    let v2 = KeyMaterial::generate();
    let old = Vault::new(ring(&[(1, &v1)]));
    let cases = seed(&old, &mut db.conn(), 300);
    // Every replica now holds both versions; the newest wraps new keys.
    let vault = Arc::new(Vault::new(ring(&[(1, &v1), (2, &v2)])));
    let pool = db.pool();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..2 {
        let (vault, pool, stop, reads, cases) = (
            vault.clone(),
            pool.clone(),
            stop.clone(),
            reads.clone(),
            cases.clone(),
        );
        workers.push(std::thread::spawn(move || -> Vec<CaseId> {
            let mut written = Vec::new();
            let mut i = worker;
            while !stop.load(Ordering::Relaxed) || i < 40 {
                let mut conn = pool.get().unwrap();
                let case = &cases[i % cases.len()];
                let text = plain(
                    vault
                        .read_group(&mut conn, case, FieldGroup::Identity)
                        .unwrap(),
                );
                assert!(text.contains("Person "), "read during rotation");
                reads.fetch_add(1, Ordering::Relaxed);
                if i % 5 == 0 {
                    written.push(new_case(&vault, &mut conn, "Written During Rotation"));
                    vault
                        .write_group(
                            &mut conn,
                            case,
                            FieldGroup::Notes,
                            &SecretBytes::new(b"note".to_vec()),
                        )
                        .unwrap();
                }
                i += 2;
            }
            written
        }));
    }
    let mut conn = db.conn();
    let report = vault
        .rotate_data_keys(
            &mut conn,
            RotationOptions {
                batch_size: 25,
                max_batches: None,
            },
            &mut |_, _| {},
        )
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let written: Vec<CaseId> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert_eq!(report.failed, 0);
    assert_eq!(report.remaining, 0);
    assert_eq!(report.rotated, 300);
    assert!(reads.load(Ordering::Relaxed) >= 40);
    // Everything readable with version 2 alone: version 1 can be retired.
    let only_v2 = Vault::new(ring(&[(2, &v2)]));
    only_v2.check(&mut conn).unwrap();
    for case in cases.iter().chain(&written) {
        assert!(
            !plain(
                only_v2
                    .read_group(&mut conn, case, FieldGroup::Identity)
                    .unwrap()
            )
            .is_empty()
        );
    }
    let status = only_v2.status(&mut conn).unwrap();
    assert_eq!(
        status.data_keys_by_kek,
        vec![(2, i64::try_from(300 + written.len()).unwrap())]
    );
}

both_engines!(rotation_under_concurrent_reads_and_writes_loses_nothing);

fn rotation_killed_halfway_completes_when_rerun(db: TestDb) {
    let v1 = KeyMaterial::generate();
    let v2 = KeyMaterial::generate();
    let mut conn = db.conn();
    let old = Vault::new(ring(&[(1, &v1)]));
    let cases = seed(&old, &mut conn, 120);
    old.set_index_terms(
        &mut conn,
        &cases[7],
        &terms("Nakato Namubiru", (1999, 4, 2), "B7731942"),
    )
    .unwrap();
    let vault = Vault::new(ring(&[(1, &v1), (2, &v2)]));
    assert!(vault.kek_rotation_unfinished(&mut conn).unwrap());
    let crashed = vault
        .rotate_data_keys(
            &mut conn,
            RotationOptions {
                batch_size: 50,
                max_batches: Some(1),
            },
            &mut |_, _| {},
        )
        .unwrap();
    assert_eq!((crashed.rotated, crashed.remaining), (50, 70));
    for case in &cases {
        assert!(
            !plain(
                vault
                    .read_group(&mut conn, case, FieldGroup::Identity)
                    .unwrap()
            )
            .is_empty()
        );
    }
    let mut seen = Vec::new();
    let rerun = vault
        .rotate_data_keys(
            &mut conn,
            RotationOptions {
                batch_size: 50,
                max_batches: None,
            },
            &mut |done, total| seen.push((done, total)),
        )
        .unwrap();
    assert_eq!((rerun.rotated, rerun.remaining, rerun.failed), (70, 0, 0));
    assert_eq!(seen.last(), Some(&(70, 70)));
    assert!(!vault.kek_rotation_unfinished(&mut conn).unwrap());
    let only_v2 = Vault::new(ring(&[(2, &v2)]));
    only_v2.check(&mut conn).unwrap();
    for case in &cases {
        assert!(
            !plain(
                only_v2
                    .read_group(&mut conn, case, FieldGroup::Identity)
                    .unwrap()
            )
            .is_empty()
        );
    }
    assert_eq!(
        only_v2
            .find_by_index(&mut conn, &IndexQuery::DocumentNumber("B7731942".into()))
            .unwrap(),
        vec![cases[7].clone()]
    );
}

both_engines!(rotation_killed_halfway_completes_when_rerun);

fn blind_index_key_rotation_is_resumable_and_lookups_keep_working(db: TestDb) {
    let vault = Vault::new(ring(&[(1, &KeyMaterial::generate())]));
    let mut conn = db.conn();
    let cases = seed(&vault, &mut conn, 30);
    for (i, case) in cases.iter().enumerate() {
        vault
            .set_index_terms(
                &mut conn,
                case,
                &terms(
                    &format!("Person Number{i}"),
                    (1990, 1, 1),
                    &format!("DOC{i:04}"),
                ),
            )
            .unwrap();
    }
    let lookup = |conn: &mut DbConn, i: usize| {
        vault
            .find_by_index(
                conn,
                &IndexQuery::DocumentNumber(format!("doc{i:04}").as_str().into()),
            )
            .unwrap()
    };
    let stopped = vault
        .rotate_index_key(
            &mut conn,
            RotationOptions {
                batch_size: 10,
                max_batches: Some(1),
            },
            &mut |_, _| {},
        )
        .unwrap();
    assert_eq!(
        (stopped.rotated, stopped.remaining, stopped.target.get()),
        (10, 20, 2)
    );
    assert!(vault.index_rotation_unfinished(&mut conn).unwrap());
    for (i, case) in cases.iter().enumerate() {
        assert!(
            lookup(&mut conn, i).contains(case),
            "mid-rotation look-up {i}"
        );
    }
    let done = vault
        .rotate_index_key(&mut conn, RotationOptions::default(), &mut |_, _| {})
        .unwrap();
    assert_eq!(
        (done.rotated, done.remaining, done.target.get()),
        (20, 0, 2),
        "the rerun resumes, no third version"
    );
    assert!(!vault.index_rotation_unfinished(&mut conn).unwrap());
    let status = vault.status(&mut conn).unwrap();
    assert_eq!(status.index_key_versions, vec![2]);
    assert_eq!(status.indexed_cases_by_version, vec![(2, 30)]);
    for (i, case) in cases.iter().enumerate() {
        assert!(lookup(&mut conn, i).contains(case));
    }
}

both_engines!(blind_index_key_rotation_is_resumable_and_lookups_keep_working);

fn tumaini_keys(cwd: &std::path::Path, url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(tumaini_tests::binary())
        .arg("keys")
        .args(args)
        .current_dir(cwd)
        .env("DATABASE_URL", url)
        .env_remove("TUMAINI_MASTER_KEY")
        .env_remove("TUMAINI_MASTER_KEY_FILE")
        .env_remove("TUMAINI_ENV")
        .output()
        .unwrap()
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn the_keys_command_rotates_and_a_killed_run_completes_when_rerun(db: TestDb) {
    let cwd = tempfile::tempdir().unwrap();
    let url = db.url_string();
    let first = stdout(&tumaini_keys(cwd.path(), &url, &["status"]));
    assert!(first.contains("newest encrypts: v1"), "{first}");
    let key_file = cwd.path().join("data/master.key");
    assert!(key_file.exists(), "the embedded default generates its key");

    // A running server's vault, opened before any rotation.
    let server = Vault::new(Arc::new(
        tumaini_db::vault::KeyFileProvider::open(&key_file).unwrap(),
    ));
    let mut conn = db.conn();
    let cases = seed(&server, &mut conn, 1000);

    let partial = stdout(&tumaini_keys(
        cwd.path(),
        &url,
        &["rotate", "--batch-size", "100", "--max-batches", "1"],
    ));
    assert!(partial.contains("Added key-encryption key v2"), "{partial}");
    assert!(
        partial.contains("100 data keys re-wrapped under key-encryption key v2"),
        "{partial}"
    );
    assert!(partial.contains("900 remain"), "{partial}");

    // Killed for real: a rotation in one-key batches, stopped mid-way.
    let mut child = std::process::Command::new(tumaini_tests::binary())
        .args(["keys", "rotate", "--batch-size", "1"])
        .current_dir(cwd.path())
        .env("DATABASE_URL", &url)
        .env_remove("TUMAINI_MASTER_KEY")
        .env_remove("TUMAINI_MASTER_KEY_FILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let under_v2 = |conn: &mut DbConn| {
        server
            .status(conn)
            .unwrap()
            .data_keys_by_kek
            .iter()
            .find(|(v, _)| *v == 2)
            .map_or(0, |(_, n)| *n)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while under_v2(&mut conn) < 150 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    let killed_midway = under_v2(&mut conn) < 1000;
    println!(
        "killed with {} of 1000 keys re-wrapped",
        under_v2(&mut conn)
    );

    let rerun = stdout(&tumaini_keys(cwd.path(), &url, &["rotate"]));
    assert!(rerun.contains("Done: nothing remains"), "{rerun}");
    if killed_midway {
        assert!(rerun.contains("Resuming"), "{rerun}");
        assert!(
            !rerun.contains("Added"),
            "a rerun finishes the rotation, it does not start another: {rerun}"
        );
    }
    let status = stdout(&tumaini_keys(cwd.path(), &url, &["status"]));
    let newest = if killed_midway {
        "v2: 1000"
    } else {
        "v3: 1000"
    };
    assert!(status.contains(newest), "{status}");
    // The server's vault picks the new version up from the file without a restart.
    for case in &cases {
        assert!(
            plain(
                server
                    .read_group(&mut conn, case, FieldGroup::Identity)
                    .unwrap()
            )
            .contains("Person ")
        );
    }

    let index = stdout(&tumaini_keys(cwd.path(), &url, &["rotate-index"]));
    assert!(index.contains("under blind-index key v2"), "{index}");
    let status = stdout(&tumaini_keys(cwd.path(), &url, &["status"]));
    assert!(
        status.contains("Blind-index key versions live: v2"),
        "{status}"
    );
}

both_engines!(the_keys_command_rotates_and_a_killed_run_completes_when_rerun);

fn vault_writes_join_a_callers_transaction(db: TestDb) {
    let vault = Vault::new(ring(&[(1, &KeyMaterial::generate())]));
    let mut conn = db.conn();
    let case = CaseId::generate();
    conn.write_transaction(|conn| -> Result<(), VaultError> {
        vault.create_case_key(conn, &case)?;
        vault.write_group(
            conn,
            &case,
            FieldGroup::Identity,
            &identity_json("Nakato Namubiru"),
        )?;
        vault.set_index_terms(
            conn,
            &case,
            &terms("Nakato Namubiru", (1999, 4, 2), "B7731942"),
        )
    })
    .unwrap();
    assert!(
        plain(
            vault
                .read_group(&mut conn, &case, FieldGroup::Identity)
                .unwrap()
        )
        .contains("Nakato")
    );
    let rolled_back = CaseId::generate();
    let outcome = conn.write_transaction(|conn| -> Result<(), VaultError> {
        vault.create_case_key(conn, &rolled_back)?;
        vault.write_group(conn, &rolled_back, FieldGroup::Contact, &identity_json("x"))?;
        Err(VaultError::Malformed)
    });
    assert!(outcome.is_err());
    assert_eq!(
        vault
            .read_group(&mut conn, &rolled_back, FieldGroup::Contact)
            .unwrap(),
        GroupRead::Absent
    );
}

both_engines!(vault_writes_join_a_callers_transaction);
