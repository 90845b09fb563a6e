//! Both migration trees build the same schema, and every migration goes up, down and up again.

use std::collections::BTreeSet;

use tumaini_db::introspection::{self, ColumnInfo};
use tumaini_db::migrations;
use tumaini_tests::{Engine, TestDb, both_engines};

/// (table, column, portable type, not null) for every application column.
fn shape(columns: &[ColumnInfo]) -> BTreeSet<(String, String, String, bool)> {
    columns
        .iter()
        .map(|c| {
            (
                c.table_name.clone(),
                c.column_name.clone(),
                c.portable_type(),
                c.not_null,
            )
        })
        .collect()
}

#[test]
fn both_trees_yield_the_same_tables_and_columns() {
    let sqlite = TestDb::migrated(Engine::Sqlite).unwrap();
    let Some(postgres) = TestDb::migrated(Engine::Postgres) else {
        return;
    };
    let sqlite_shape = shape(&introspection::columns(&mut sqlite.conn()).unwrap());
    let postgres_shape = shape(&introspection::columns(&mut postgres.conn()).unwrap());
    assert!(!sqlite_shape.is_empty());
    let only_sqlite: Vec<_> = sqlite_shape.difference(&postgres_shape).collect();
    let only_postgres: Vec<_> = postgres_shape.difference(&sqlite_shape).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas differ\n  only in SQLite: {only_sqlite:?}\n  only in PostgreSQL: {only_postgres:?}"
    );
    for (_, _, portable, _) in &sqlite_shape {
        assert!(
            [
                "text",
                "boolean",
                "timestamp",
                "date",
                "binary",
                "integer",
                "bigint"
            ]
            .contains(&portable.as_str()),
            "non-portable column type {portable}"
        );
    }
}

#[test]
fn both_trees_have_the_same_migration_names() {
    let names = |dir: &str| -> BTreeSet<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../migrations")
            .join(dir);
        std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

fn migrations_run_up_down_and_up_again(db: TestDb) {
    let mut conn = db.conn();
    let after_first_up = introspection::columns(&mut conn).unwrap();
    assert!(!after_first_up.is_empty());
    assert!(migrations::pending(&mut conn).unwrap().is_empty());

    let reverted = migrations::revert_all(&mut conn).unwrap();
    assert!(!reverted.is_empty());
    assert!(
        introspection::columns(&mut conn).unwrap().is_empty(),
        "down migrations leave tables behind"
    );
    assert_eq!(
        migrations::pending(&mut conn).unwrap().len(),
        reverted.len()
    );

    let reapplied = migrations::run_pending(&mut conn).unwrap();
    assert_eq!(reapplied.len(), reverted.len());
    assert_eq!(introspection::columns(&mut conn).unwrap(), after_first_up);
    assert!(
        migrations::run_pending(&mut conn).unwrap().is_empty(),
        "a second run applies nothing"
    );
}

both_engines!(migrations_run_up_down_and_up_again);

fn upgrading_brings_free_text_regions_onto_the_list(db: TestDb) {
    use diesel::prelude::*;
    use tumaini_db::schema::cases;
    let shelter =
        tumaini_tests::seed::organisation(&db, tumaini_db::vocabulary::OrganisationKind::Shelter);
    let worker =
        tumaini_tests::seed::account_in(&db, &shelter, tumaini_db::vocabulary::Role::CaseWorker);
    // The schema before regions were a list, with regions typed in as they were then.
    // Newer migrations are reverted first, down to the one that made regions a list.
    let mut reverted = Vec::new();
    while reverted.last().map(String::as_str) != Some("20261206001000") {
        assert!(reverted.len() < 20, "the regions migration was not found");
        reverted.push(migrations::revert_last(&mut db.conn()).unwrap());
    }
    let mut ids = Vec::new();
    for (i, typed) in ["Busia", "busia district", "Amina Nakato house", "UG-ZZ9"]
        .into_iter()
        .enumerate()
    {
        let id = tumaini_db::ids::CaseId::generate();
        diesel::sql_query(format!(
            "INSERT INTO cases (id, reference, owner_organisation_id, created_by, version, sex, \
             age_band, may_be_child, is_child, region, encountered_on, identification_stage, \
             status, created_at, updated_at) \
             VALUES ('{id}', 'C-OLD{i}-AAAA-A', '{shelter}', '{}', 1, 'female', '24_26', false, \
             false, '{typed}', '2026-01-01', 'presumed', 'open', '2026-01-01 00:00:00', \
             '2026-01-01 00:00:00')",
            worker.id
        ))
        .execute(&mut db.conn())
        .unwrap();
        ids.push(id);
    }
    let applied = migrations::run_pending(&mut db.conn()).unwrap();
    reverted.reverse();
    assert_eq!(applied, reverted);
    let regions: Vec<String> = ids
        .iter()
        .map(|id| {
            cases::table
                .find(id)
                .select(cases::region)
                .first(&mut db.conn())
                .unwrap()
        })
        .collect();
    assert_eq!(
        regions,
        vec!["UG-202", "UG-202", "", "UG-ZZ9"],
        "named regions mapped, other free text dropped, a code (even one no longer listed) kept"
    );
    // An upgrade that stopped after the schema changed but before the regions were brought
    // onto the list finishes on the next run, which has no migration left to apply.
    diesel::update(cases::table.find(&ids[0]))
        .set(cases::region.eq("Busia"))
        .execute(&mut db.conn())
        .unwrap();
    assert_eq!(
        migrations::run_pending(&mut db.conn()).unwrap(),
        Vec::<String>::new()
    );
    let region: String = cases::table
        .find(&ids[0])
        .select(cases::region)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(region, "UG-202");
}

both_engines!(upgrading_brings_free_text_regions_onto_the_list);

fn upgrading_keeps_every_case_worker_reading_and_assigns_the_registrants(db: TestDb) {
    use diesel::prelude::*;
    use tumaini_db::schema::{case_assignments, organisations};
    use tumaini_db::vocabulary::{OrganisationKind, Role};
    let shelter = tumaini_tests::seed::organisation(&db, OrganisationKind::Shelter);
    let worker = tumaini_tests::seed::account_in(&db, &shelter, Role::CaseWorker);
    let police = tumaini_tests::seed::organisation(&db, OrganisationKind::Police);
    let responder = tumaini_tests::seed::account_in(&db, &police, Role::FirstResponder);
    // The schema before need-to-know, with a case a case worker registered and one a police
    // first responder did.
    let mut reverted = Vec::new();
    while reverted.last().map(String::as_str) != Some("20261207001700") {
        assert!(reverted.len() < 20, "the case-work migration was not found");
        reverted.push(migrations::revert_last(&mut db.conn()).unwrap());
    }
    let mut ids = Vec::new();
    for (i, (org, by)) in [(&shelter, &worker.id), (&police, &responder.id)]
        .into_iter()
        .enumerate()
    {
        let id = tumaini_db::ids::CaseId::generate();
        diesel::sql_query(format!(
            "INSERT INTO cases (id, reference, owner_organisation_id, created_by, version, sex, \
             age_band, may_be_child, is_child, region, encountered_on, identification_stage, \
             status, created_at, updated_at) \
             VALUES ('{id}', 'C-OLD{i}-BBBB-B', '{org}', '{by}', 1, 'female', '24_26', false, \
             false, 'UG-202', '2026-01-01', 'presumed', 'open', '2026-01-01 00:00:00', \
             '2026-01-01 00:00:00')"
        ))
        .execute(&mut db.conn())
        .unwrap();
        ids.push(id);
    }
    migrations::run_pending(&mut db.conn()).unwrap();
    // Organisations that existed keep every case worker reading; the new default is for
    // organisations registered from now on.
    for org in [&shelter, &police] {
        let mode: String = organisations::table
            .find(org.as_str())
            .select(organisations::case_access)
            .first(&mut db.conn())
            .unwrap();
        assert_eq!(mode, "all_staff");
    }
    let fresh = tumaini_tests::seed::organisation(&db, OrganisationKind::Shelter);
    let mode: String = organisations::table
        .find(fresh.as_str())
        .select(organisations::case_access)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(mode, "need_to_know");
    // The case worker who registered a case leads it; a first responder is not assigned.
    let assigned: Vec<(String, String, bool)> = case_assignments::table
        .filter(case_assignments::case_id.eq_any(ids.iter().map(|id| id.to_string())))
        .select((
            case_assignments::case_id,
            case_assignments::user_id,
            case_assignments::lead,
        ))
        .load(&mut db.conn())
        .unwrap();
    assert_eq!(
        assigned,
        vec![(ids[0].to_string(), worker.id.to_string(), true)]
    );
}

both_engines!(upgrading_keeps_every_case_worker_reading_and_assigns_the_registrants);
