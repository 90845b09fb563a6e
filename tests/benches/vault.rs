//! Vault benchmark: `cargo bench -p tumaini-tests --bench vault` (figures go in the notes).
//!
//! 1. Encrypt and decrypt of a typical field group (~1 KiB of JSON) per second on one core.
//! 2. Blind-index look-up latency among `VAULT_BENCH_CASES` cases (default 1,000,000) on SQLite
//!    and on PostgreSQL, seeded with bulk SQL, through `Vault::find_by_index`.
//! 3. Time to rotate the KEK over `VAULT_BENCH_ROTATE` data keys (default 100,000), per engine.
//!
//! Each engine gets a fresh database, dropped at the end. PostgreSQL is skipped when
//! unreachable (see `TestDb`).

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failed step must stop it loudly"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl as _;
use diesel::connection::SimpleConnection as _;
use tumaini_db::DbConn;
use tumaini_db::ids::CaseId;
use tumaini_db::vault::envelope::{self, Binding};
use tumaini_db::vault::{
    IndexQuery, IndexTerms, KeyMaterial, KeyRing, KeyVersion, RotationOptions, Vault,
};
use tumaini_tests::bench::setting;
use tumaini_tests::{Engine, TestDb};

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let cases = setting("VAULT_BENCH_CASES", 1_000_000);
    let rotate = setting("VAULT_BENCH_ROTATE", 100_000);
    crypto();
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(db) = TestDb::migrated(engine) else {
            continue;
        };
        lookups(&db, cases);
        drop(db);
        let Some(db) = TestDb::migrated(engine) else {
            continue;
        };
        rotation(&db, rotate);
    }
}

fn crypto() {
    let key = KeyMaterial::generate();
    let case = CaseId::generate();
    let binding = Binding {
        table: "case_field_groups",
        column: "identity",
        row_id: case.as_str(),
        key_version: 1,
    };
    let group = serde_json::json!({
        "names": ["Nakato Namubiru", "Nakato N."],
        "date_of_birth": "1999-04-02",
        "documents": [{"kind": "passport", "number": "B7731942", "country": "UG"}],
        "narrative": "x".repeat(820),
    })
    .to_string();
    let rate = |mut op: Box<dyn FnMut()>| {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(2) {
            for _ in 0..1000 {
                op();
            }
            n += 1000;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    let plaintext = group.clone().into_bytes();
    let encrypt = rate(Box::new(move || {
        std::hint::black_box(envelope::seal(&key, &binding, &plaintext).unwrap());
    }));
    let key = KeyMaterial::generate();
    let stored = envelope::seal(&key, &binding, group.as_bytes()).unwrap();
    let decrypt = rate(Box::new(move || {
        std::hint::black_box(envelope::open(&key, &binding, &stored).unwrap());
    }));
    println!(
        "field group of {} bytes, one core: encrypt {encrypt:.0}/s, decrypt {decrypt:.0}/s",
        group.len()
    );
}

/// Bulk-seeds `count` cases with random data keys and random 20-bit document index values.
fn seed_bulk(conn: &mut DbConn, count: usize) {
    let sql = match conn {
        DbConn::Sqlite(_) => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
             INSERT INTO case_keys (case_id, data_key_version, kek_version, wrapped_key, created_at)
             SELECT printf('%08x-0000-7000-8000-%012x', i, i), 1, 1, randomblob(77), \
             '2026-01-01 00:00:00' FROM n;
             INSERT INTO blind_indexes (case_id, index_name, index_key_version, value)
             SELECT case_id, 'document', 1, randomblob(3) FROM case_keys;
             ANALYZE;"
        ),
        DbConn::Postgresql(_) => format!(
            "INSERT INTO case_keys (case_id, data_key_version, kek_version, wrapped_key, created_at)
             SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'), 1, 1,
                    decode(md5(i::text) || md5(i::text), 'hex'), '2026-01-01'
             FROM generate_series(1, {count}) AS i;
             INSERT INTO blind_indexes (case_id, index_name, index_key_version, value)
             SELECT case_id, 'document', 1, substring(decode(md5(case_id), 'hex') from 1 for 3) \
             FROM case_keys;
             ANALYZE;"
        ),
    };
    conn.batch_execute(&sql).unwrap();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn lookups(db: &TestDb, count: usize) {
    let mut conn = db.conn();
    let start = Instant::now();
    seed_bulk(&mut conn, count);
    let seeded = start.elapsed();
    let vault = Vault::new(Arc::new(KeyRing::single(
        KeyVersion::FIRST,
        KeyMaterial::generate(),
    )));
    vault.check(&mut conn).unwrap();
    let mut real = Vec::new();
    conn.write_transaction(|conn| -> Result<(), tumaini_db::vault::VaultError> {
        for i in 0..200 {
            let case = CaseId::generate();
            vault.create_case_key(conn, &case)?;
            let terms = IndexTerms {
                document_numbers: vec![format!("B{i:07}").as_str().into()],
                ..IndexTerms::default()
            };
            vault.set_index_terms(conn, &case, &terms)?;
            real.push(case);
        }
        Ok(())
    })
    .unwrap();
    let mut timings = Vec::new();
    let mut candidates = 0usize;
    for round in 0..2000 {
        let i = round % 200;
        let query = IndexQuery::DocumentNumber(format!("B{i:07}").as_str().into());
        let t = Instant::now();
        let found = vault.find_by_index(&mut conn, &query).unwrap();
        timings.push(t.elapsed());
        assert!(found.contains(&real[i]));
        candidates += found.len();
    }
    timings.sort();
    println!(
        "{}: blind-index look-up among {count} cases (seeded in {:.1?}): p50 {:.2?}, p99 {:.2?}, \
         max {:.2?}; {:.2} candidates per hit",
        db.engine(),
        seeded,
        percentile(&timings, 0.5),
        percentile(&timings, 0.99),
        timings.last().unwrap(),
        candidates as f64 / 2000.0,
    );
}

fn rotation(db: &TestDb, count: usize) {
    let v1 = KeyMaterial::generate();
    let old = Vault::new(Arc::new(KeyRing::single(KeyVersion::FIRST, v1.clone())));
    let mut conn = db.conn();
    old.check(&mut conn).unwrap();
    let start = Instant::now();
    for chunk in 0..count.div_ceil(5000) {
        conn.write_transaction(|conn| -> Result<(), tumaini_db::vault::VaultError> {
            for _ in (chunk * 5000)..((chunk + 1) * 5000).min(count) {
                old.create_case_key(conn, &CaseId::generate())?;
            }
            Ok(())
        })
        .unwrap();
    }
    let created = start.elapsed();
    let ring = KeyRing::single(KeyVersion::FIRST, v1)
        .with(KeyVersion::new(2).unwrap(), KeyMaterial::generate());
    let vault = Vault::new(Arc::new(ring));
    let start = Instant::now();
    let report = vault
        .rotate_data_keys(
            &mut conn,
            RotationOptions {
                batch_size: 1000,
                max_batches: None,
            },
            &mut |_, _| {},
        )
        .unwrap();
    let took = start.elapsed();
    assert_eq!(
        (report.rotated, report.remaining, report.failed),
        (count as u64, 0, 0)
    );
    let _ = diesel::sql_query("SELECT 1").execute(&mut conn);
    println!(
        "{}: KEK rotation of {count} data keys in batches of 1000: {took:.2?} ({:.0} keys/s; \
         created in {created:.1?})",
        db.engine(),
        count as f64 / took.as_secs_f64(),
    );
}
