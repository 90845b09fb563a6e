//! Statistics benchmark: `cargo bench -p tumaini-tests --bench statistics` (figures go in the
//! notes).
//!
//! On a fresh database of each engine (PostgreSQL, then SQLite) seeded with
//! `STATISTICS_BENCH_CASES` cases (default 1,000,000; one or two forms of exploitation each,
//! spread over five years, every sex and age band, 40 regions) by one bulk SQL statement, it
//! times the national table by sex × age band × form of exploitation × year as the endpoint
//! computes it: `tumaini_api::statistics::table`, which counts in the database (one GROUP BY
//! over the summary columns, cases and anonymous notifications together) and then applies
//! disclosure control (primary and complementary suppression over the extended table) in the
//! server. `STATISTICS_BENCH_RUNS` runs (default 5) after one warm-up; the minimum and the
//! median are printed, with the database's share. Targets: under 1 s on PostgreSQL, under 3 s
//! on SQLite. The databases are dropped at the end.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failed step must stop it loudly"
)]

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection as _;
use diesel::{QueryDsl as _, RunQueryDsl as _};
use tumaini_api::statistics::{self, TableRequest};
use tumaini_db::DbConn;
use tumaini_db::models::statistics::{Dimension, Subject, count_cells};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::bench::setting;
use tumaini_tests::{Engine, TestDb, seed};

/// Inserts `n` cases and their forms of exploitation in bulk.
fn seed_cases(conn: &mut DbConn, engine: Engine, org: &str, user: &str, n: usize) {
    let (series, id, pick) = match engine {
        Engine::Postgres => (
            format!("SELECT g AS n FROM generate_series(1, {n}) g"),
            "'00000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0')",
            "(ARRAY[{}])[1 + (n * {mul} % {len})]",
        ),
        Engine::Sqlite => (
            format!(
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) \
                 SELECT n FROM s"
            ),
            "printf('00000000-0000-7000-8000-%012x', n)",
            "json_extract('[{}]', '$[' || (n * {mul} % {len}) || ']')",
        ),
    };
    let choose = |values: &[&str], mul: usize| {
        let quoted: Vec<String> = match engine {
            Engine::Postgres => values.iter().map(|v| format!("'{v}'")).collect(),
            Engine::Sqlite => values.iter().map(|v| format!("\"{v}\"")).collect(),
        };
        pick.replace("{}", &quoted.join(", "))
            .replace("{mul}", &mul.to_string())
            .replace("{len}", &values.len().to_string())
    };
    let sex = choose(
        &[
            "female",
            "male",
            "female",
            "male",
            "transgender_female",
            "unknown",
        ],
        7,
    );
    let age = choose(
        &[
            "0_8", "9_17", "18_20", "21_23", "24_26", "27_29", "30_38", "39_47", "48_plus",
            "unknown",
        ],
        13,
    );
    let region = "'Region ' || (n % 40)";
    let date = match engine {
        Engine::Postgres => "DATE '2022-01-01' + (n % 1826)::integer".to_owned(),
        Engine::Sqlite => "date('2022-01-01', '+' || (n % 1826) || ' days')".to_owned(),
    };
    let (yes, no) = match engine {
        Engine::Postgres => ("TRUE", "FALSE"),
        Engine::Sqlite => ("1", "0"),
    };
    let forms = [
        "forced_labour",
        "sexual_exploitation",
        "servitude",
        "forced_marriage",
        "illegal_activities",
        "forced_begging",
    ];
    let first = choose(&forms, 5);
    // The same position in the list turned by one: always another form.
    let mut turned = forms;
    turned.rotate_left(1);
    let second = choose(&turned, 5);
    // Every third case has the two forms; the case's list of forms is sorted.
    let (low, high) = match engine {
        Engine::Postgres => ("LEAST", "GREATEST"),
        Engine::Sqlite => ("min", "max"),
    };
    let listed = format!(
        "CASE WHEN n % 3 = 0 THEN {low}({first}, {second}) || ',' || {high}({first}, {second}) \
         ELSE {first} END"
    );
    let now = "'2026-11-23 12:00:00'";
    let sql = format!(
        "INSERT INTO cases (id, reference, owner_organisation_id, created_by, created_at, \
         updated_at, version, sex, age_band, may_be_child, is_child, citizenship, \
         exploitation_country, region, encountered_on, identification_stage, status, \
         exploitation_forms) SELECT {id}, 'C-BENCH-' || n, '{org}', '{user}', {now}, {now}, 1, \
         {sex}, {age}, {no}, CASE WHEN n * 13 % 10 < 2 THEN {yes} ELSE {no} END, 'UG', CASE WHEN \
         n % 4 = 0 THEN 'KE' ELSE 'UG' END, {region}, {date}, 'presumed', 'open', {listed} FROM \
         ({series}) x"
    );
    conn.batch_execute(&sql).unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO case_exploitation_types (case_id, exploitation_type) SELECT {id}, {first} \
         FROM ({series}) x"
    ))
    .unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO case_exploitation_types (case_id, exploitation_type) \
         SELECT {id}, {second} FROM ({series}) x WHERE n % 3 = 0"
    ))
    .unwrap();
    // As a running database would be: statistics gathered and, on PostgreSQL, the new rows
    // vacuumed (visibility map and hint bits set), so autovacuum does not run during the runs.
    conn.batch_execute(match engine {
        Engine::Postgres => "VACUUM ANALYZE",
        Engine::Sqlite => "ANALYZE",
    })
    .unwrap();
}

fn main() {
    let n = setting("STATISTICS_BENCH_CASES", 1_000_000);
    let runs = setting("STATISTICS_BENCH_RUNS", 5).max(1);
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "statistics bench: {n} cases, {runs} runs, {cores} cores, load {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let request = TableRequest {
        subject: Subject::People,
        dimensions: vec![
            Dimension::Sex,
            Dimension::AgeBand,
            Dimension::ExploitationType,
            Dimension::Year,
        ],
        filters: Vec::new(),
        threshold: 10,
    };
    for engine in [Engine::Postgres, Engine::Sqlite] {
        let Some(db) = TestDb::migrated(engine) else {
            println!("{engine:?}: not available, skipped");
            continue;
        };
        let org = seed::organisation(&db, OrganisationKind::Shelter);
        let user = seed::account_in(&db, &org, Role::CaseWorker);
        let mut conn = db.conn();
        // A coordinator's national figures are those of their country's records.
        let uganda: tumaini_db::country::CountryCode = "UG".parse().unwrap();
        let started = Instant::now();
        seed_cases(&mut conn, engine, org.as_str(), user.id.as_str(), n);
        println!(
            "{engine:?}: seeded {n} cases in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let table = statistics::table(&mut conn, &request, Some(&uganda))
            .unwrap()
            .unwrap();
        let cells = table.entries.len();
        let mut totals = Vec::new();
        let mut database = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let counted = count_cells(
                &mut conn,
                Subject::People,
                &request.dimensions,
                Some(&uganda),
            )
            .unwrap();
            database.push(started.elapsed());
            assert!(!counted.is_empty());
            let started = Instant::now();
            let again = statistics::table(&mut conn, &request, Some(&uganda))
                .unwrap()
                .unwrap();
            totals.push(started.elapsed());
            assert_eq!(again.entries.len(), cells);
        }
        totals.sort();
        database.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let grand = table
            .entries
            .iter()
            .find(|e| e.values.iter().all(Option::is_none))
            .and_then(|e| e.count)
            .unwrap_or(0);
        // Each case has one or two forms, so the grand total counts people by form: at least n.
        let people = statistics::table(
            &mut conn,
            &TableRequest {
                dimensions: vec![Dimension::Sex],
                ..request.clone()
            },
            Some(&uganda),
        )
        .unwrap()
        .unwrap();
        let everyone = people
            .entries
            .iter()
            .find(|e| e.values == [None])
            .and_then(|e| e.count);
        assert_eq!(everyone, Some(n as i64), "every seeded case counted once");
        let forms: i64 = tumaini_db::schema::case_exploitation_types::table
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(grand, forms, "people by form: one per form recorded");
        println!(
            "{engine:?}: sex x age band x exploitation type x year: {cells} published entries ({} \
             suppressed), total {grand}; table min {:.0} ms, median {:.0} ms (of which the GROUP \
             BY: min {:.0} ms, median {:.0} ms)",
            table.suppressed.values().sum::<usize>(),
            ms(totals[0]),
            ms(totals[totals.len() / 2]),
            ms(database[0]),
            ms(database[database.len() / 2]),
        );
    }
    println!(
        "load after: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
