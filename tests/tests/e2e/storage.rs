//! Organisations and users stored and read back on both engines.

use tumaini_db::DbError;
use tumaini_db::country::CountryCode;
use tumaini_db::ids::OrgId;
use tumaini_db::models::{NewOrganisation, NewUser, Organisation, User};
use tumaini_db::vocabulary::{OrganisationKind, Role, ServiceType, UserStatus};
use tumaini_tests::{TestDb, both_engines};

fn shelter(name: &str) -> NewOrganisation {
    NewOrganisation {
        name: name.to_owned(),
        kind: OrganisationKind::Shelter,
        country: "UG".parse::<CountryCode>().unwrap(),
        region: "Central".to_owned(),
        services: vec![
            ServiceType::Shelter,
            ServiceType::Health,
            ServiceType::Shelter,
        ],
    }
}

fn user(org: &OrgId, email: &str) -> NewUser {
    NewUser {
        organisation_id: org.clone(),
        role: Role::CaseWorker,
        email: email.parse().unwrap(),
        display_name: "Case Worker".to_owned(),
        status: UserStatus::Invited,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        password_must_change: true,
    }
}

fn organisations_round_trip(db: TestDb) {
    let mut conn = db.conn();
    let created = Organisation::create(&mut conn, &shelter("Kampala Shelter")).unwrap();
    let found = Organisation::find(&mut conn, &created.id).unwrap();
    assert_eq!(
        found, created,
        "a row reads back exactly as written, times included"
    );
    assert_eq!(found.kind, OrganisationKind::Shelter);
    assert_eq!(found.country.as_str(), "UG");
    assert!(found.active);
    assert_eq!(
        found.services(&mut conn).unwrap(),
        vec![ServiceType::Health, ServiceType::Shelter],
        "services are stored once each"
    );
    assert_eq!(Organisation::list(&mut conn).unwrap(), vec![created]);
    assert!(matches!(
        Organisation::find(&mut conn, &OrgId::generate()),
        Err(DbError::NotFound)
    ));
}

both_engines!(organisations_round_trip);

fn organisation_names_are_unique_per_country(db: TestDb) {
    let mut conn = db.conn();
    Organisation::create(&mut conn, &shelter("Hope House")).unwrap();
    let again = Organisation::create(&mut conn, &shelter("HOPE HOUSE"));
    assert!(matches!(again, Err(DbError::Conflict { .. })), "{again:?}");
    let mut in_kenya = shelter("Hope House");
    in_kenya.country = "KE".parse().unwrap();
    Organisation::create(&mut conn, &in_kenya).unwrap();
    assert_eq!(
        Organisation::list(&mut conn).unwrap().len(),
        2,
        "the failed insert left nothing"
    );
}

both_engines!(organisation_names_are_unique_per_country);

fn users_belong_to_an_existing_organisation_and_have_unique_emails(db: TestDb) {
    let mut conn = db.conn();
    let org = Organisation::create(&mut conn, &shelter("Kampala Shelter")).unwrap();
    let created = User::create(&mut conn, &user(&org.id, "Amina@Example.UG")).unwrap();
    assert_eq!(created.email.as_str(), "amina@example.ug");
    assert_eq!(created.status, UserStatus::Invited);
    assert!(created.password_must_change);
    let by_email = User::find_by_email(&mut conn, &"AMINA@example.ug".parse().unwrap()).unwrap();
    assert_eq!(by_email, created);
    assert_eq!(
        User::count_with_role(&mut conn, Role::CaseWorker).unwrap(),
        1
    );

    let duplicate = User::create(&mut conn, &user(&org.id, "amina@example.ug"));
    assert!(
        matches!(duplicate, Err(DbError::Conflict { .. })),
        "{duplicate:?}"
    );
    let orphan = User::create(&mut conn, &user(&OrgId::generate(), "other@example.ug"));
    assert!(
        matches!(orphan, Err(DbError::Conflict { .. })),
        "foreign keys are enforced: {orphan:?}"
    );
}

both_engines!(users_belong_to_an_existing_organisation_and_have_unique_emails);

fn a_failed_write_transaction_leaves_nothing(db: TestDb) {
    let mut conn = db.conn();
    let outcome: Result<(), DbError> = conn.write_transaction(|conn| {
        Organisation::create(conn, &shelter("Half Written"))?;
        Err(DbError::NotFound)
    });
    assert!(outcome.is_err());
    assert!(Organisation::list(&mut conn).unwrap().is_empty());
}

both_engines!(a_failed_write_transaction_leaves_nothing);

fn concurrent_writers_all_succeed(db: TestDb) {
    // Eight threads writing at once: SQLite serialises them with BEGIN IMMEDIATE and the
    // busy timeout, PostgreSQL runs them in parallel; none may fail.
    let pool = db.pool();
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let mut conn = pool.get().unwrap();
                    Organisation::create(&mut conn, &shelter(&format!("Shelter {worker}-{i}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(Organisation::list(&mut db.conn()).unwrap().len(), 80);
}

both_engines!(concurrent_writers_all_succeed);

fn a_read_transaction_sees_one_snapshot(db: TestDb) {
    // A list and the count beside it must agree: what another connection commits between
    // the two statements is not seen (PostgreSQL's default READ COMMITTED would see it).
    // (Connections as the server has them: on SQLite, WAL mode and a busy timeout.)
    let pool = db.pool();
    let mut reader = pool.get().unwrap();
    let mut writer = pool.get().unwrap();
    Organisation::create(&mut writer, &shelter("Before")).unwrap();
    let (first, second) = reader
        .read_transaction(|conn| {
            let first = Organisation::list(conn)?.len();
            Organisation::create(&mut writer, &shelter("Committed Meanwhile"))?;
            let second = Organisation::list(conn)?.len();
            Ok::<_, DbError>((first, second))
        })
        .unwrap();
    assert_eq!((first, second), (1, 1));
    assert_eq!(
        Organisation::list(&mut reader).unwrap().len(),
        2,
        "seen once the read is over"
    );
}

both_engines!(a_read_transaction_sees_one_snapshot);
