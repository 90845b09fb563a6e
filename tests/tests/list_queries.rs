//! Lists in a constant number of statements per page (issue 24, item 2), on both engines: the
//! audit events (time-ordered pages, pages about one case, and the chain-ordered feed), the
//! disclosure report and the service directory each cost the same statements for a page of 5
//! as for a page of 50, counted with the pool's statement counter
//! (`tumaini_db::statements_run`, every statement any pooled connection of this
//! process sent, BEGIN and COMMIT included).
//!
//! A test binary of its own: the counter is process-wide and the end-to-end tests run in
//! parallel in theirs. Here the tests take turns (`TURN`, from their databases' migrations on),
//! no background job runs (the services are called directly on an `AppState`, without a
//! server), and every count is printed (`-- --nocapture`).

#![expect(
    clippy::unwrap_used,
    reason = "a failed set-up or query must stop the test loudly"
)]

use std::sync::Mutex;

use tumaini_api::audit::queries::{self, EventQuery};
use tumaini_api::auth::{Caller, Principal, RequestContext};
use tumaini_api::referrals::directory;
use tumaini_api::state::AppState;
use tumaini_db::audit_chain::{self, SealOptions};
use tumaini_db::country::CountryCode;
use tumaini_db::ids::CaseId;
use tumaini_db::models::audit::{self, AuditRecord};
use tumaini_db::models::case::{Case, NewCase, SummaryFields};
use tumaini_db::models::{
    DirectorySearch, ListingTerms, Organisation, ServiceListing, Session, User,
};
use tumaini_db::statements_run;
use tumaini_db::vocabulary::{
    AgeBand, AuditAction, Capacity, OrganisationKind, Role, ServesSex, ServiceType, Sex,
};
use tumaini_tests::seed::{self, Account};
use tumaini_tests::{Engine, TestDb, test_config};

/// One counting test at a time, from its database's migration on: the counter is the whole
/// process's.
static TURN: Mutex<()> = Mutex::new(());

/// As `tumaini_tests::both_engines!`, each half taking its turn before its database is made
/// (a migration running beside a count would be counted).
macro_rules! both_engines_in_turn {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::in_turn(tumaini_tests::Engine::Sqlite, super::$name);
            }

            #[test]
            fn postgres() {
                super::in_turn(tumaini_tests::Engine::Postgres, super::$name);
            }
        }
    };
}

/// `test` on a fresh database of `engine` (none on an unreachable PostgreSQL that is not
/// required), alone.
fn in_turn(engine: Engine, test: fn(TestDb)) {
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(db) = TestDb::migrated(engine) {
        test(db);
    }
}

/// The small and the large page.
const SMALL: i64 = 5;
const LARGE: i64 = 50;

/// The value of `work` and the statements the pool sent while it ran.
fn counted<T>(work: impl FnOnce() -> T) -> (T, u64) {
    let before = statements_run();
    let value = work();
    (value, statements_run() - before)
}

fn block<F: std::future::Future>(work: F) -> F::Output {
    actix_web::rt::System::new().block_on(work)
}

/// The application's state over `db`, as a server would hold it, without its jobs.
fn state(db: &TestDb) -> (AppState, tempfile::TempDir) {
    let mail = tempfile::tempdir().unwrap();
    let config = test_config(db, mail.path(), &[]);
    (AppState::new(db.pool(), &config).unwrap(), mail)
}

/// `account` signed in with a second factor, as the extractor would hand it to a service.
fn signed_in(db: &TestDb, state: &AppState, account: &Account) -> Principal {
    let mut conn = db.conn();
    let user = User::find(&mut conn, &account.id).unwrap();
    let organisation = Organisation::find(&mut conn, &account.organisation_id).unwrap();
    let session = Session::open(
        &mut conn,
        &user.id,
        true,
        "list_queries",
        tumaini_db::time::now_utc() + chrono::Duration::hours(1),
    )
    .unwrap();
    Principal::Person(Caller {
        user,
        organisation,
        session,
        context: RequestContext {
            request_id: "list-queries".to_owned(),
            client_hash: None,
            client_ip: None,
            client_request_id: None,
            audit_events: Some(state.audit_signer.event_key().clone()),
        },
    })
}

fn query(limit: i64) -> EventQuery {
    EventQuery {
        case_id: None,
        user_id: None,
        client_id: None,
        organisation_id: None,
        action: None,
        from: None,
        to: None,
        cursor: None,
        after: None,
        limit: Some(limit),
        format: None,
    }
}

/// A case owned by `owner`.
fn case(db: &TestDb, owner: &Account) -> CaseId {
    let id = CaseId::generate();
    Case::insert(
        &mut db.conn(),
        &NewCase {
            id: id.clone(),
            reference: format!("C-LQ-{}", &id.as_str()[24..]),
            owner: owner.organisation_id.clone(),
            created_by: owner.id.clone(),
            summary: SummaryFields {
                sex: Sex::Female,
                age_band: AgeBand::Age24To26,
                may_be_child: false,
                citizenship: None,
                recruitment_country: None,
                exploitation_country: None,
                region: "UG-102".to_owned(),
                encountered_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                exploitation_types: vec![],
                means_of_control: vec![],
            },
        },
    )
    .unwrap();
    id
}

/// 150 events by `actor`: a third about `case`, a third about a referral (named by an id that
/// names nothing), a third about nothing; every other one a refusal. Any five in a row name a
/// case and a referral, refused and not, so that every page, small or large, asks for what
/// the redaction looks up.
fn trail(db: &TestDb, state: &AppState, actor: &Account, case: &CaseId) {
    let mut conn = db.conn();
    conn.write_transaction(|conn| {
        for i in 0..150 {
            let mut event = AuditRecord::new(
                AuditAction::CaseRead,
                if i % 2 == 0 { "denied" } else { "success" },
            );
            event.actor_user_id = Some(actor.id.to_string());
            event.actor_organisation_id = Some(actor.organisation_id.to_string());
            event.actor_role = Some("supervisor".to_owned());
            match i % 3 {
                0 => {
                    event.resource_type = Some("case".to_owned());
                    event.resource_id = Some(case.to_string());
                }
                1 => {
                    event.resource_type = Some("referral".to_owned());
                    event.resource_id = Some(uuid::Uuid::now_v7().to_string());
                }
                _ => {}
            }
            audit::record(conn, &event, Some(state.audit_signer.event_key()))?;
        }
        Ok::<_, tumaini_db::DbError>(())
    })
    .unwrap();
    while audit_chain::unsealed_count(&mut conn).unwrap() > 0 {
        let options = SealOptions {
            full_sweep: true,
            ..SealOptions::default()
        };
        audit_chain::seal(&mut conn, &state.audit_signer, options).unwrap();
    }
}

/// The statements of one page of `limit` events as `caller` asks for them with `ask`, after
/// checking the page is full.
fn events_page(
    state: &AppState,
    caller: &Principal,
    limit: i64,
    ask: impl Fn(&mut EventQuery),
) -> u64 {
    let mut asked = query(limit);
    ask(&mut asked);
    let (page, statements) =
        counted(|| block(queries::events(state, caller.clone(), asked)).unwrap());
    assert_eq!(i64::try_from(page.items.len()).unwrap(), limit);
    statements
}

/// `what` costs `small` statements for a page of 5 and `large` for a page of 50: the same.
fn same(what: &str, engine: Engine, small: u64, large: u64) {
    println!("{engine:?}: {what}: {small} statements for {SMALL}, {large} for {LARGE}");
    assert_eq!(
        small, large,
        "{what} on {engine:?}: a page's statements grow with its size"
    );
}

fn audit_pages_cost_the_same_statements_whatever_their_size(db: TestDb) {
    let engine = db.engine();
    let (state, _mail) = state(&db);
    let shelter = seed::organisation(&db, OrganisationKind::Shelter);
    let supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
    let coordinator = seed::account(&db, Role::Coordinator);
    let the_case = case(&db, &supervisor);
    trail(&db, &state, &supervisor, &the_case);
    let national = signed_in(&db, &state, &coordinator);
    let local = signed_in(&db, &state, &supervisor);
    // A first page, so that the pool has its connection and nothing is done once only.
    events_page(&state, &national, SMALL, |_| {});

    for (who, caller) in [("coordinator", &national), ("supervisor", &local)] {
        let by_time = |limit| events_page(&state, caller, limit, |_| {});
        same(
            &format!("events by time ({who})"),
            engine,
            by_time(SMALL),
            by_time(LARGE),
        );
        let about_case = |limit| {
            events_page(&state, caller, limit, |q| {
                q.case_id = Some(the_case.clone());
            })
        };
        same(
            &format!("events about a case ({who})"),
            engine,
            about_case(SMALL),
            about_case(LARGE),
        );
        let feed = |limit| events_page(&state, caller, limit, |q| q.after = Some(0));
        same(
            &format!("the feed ({who})"),
            engine,
            feed(SMALL),
            feed(LARGE),
        );
    }

    // The disclosure report of a case read 5 times, and of one read 50 times.
    let report = |reads: usize| {
        let read = case(&db, &supervisor);
        let mut conn = db.conn();
        for _ in 0..reads {
            let mut event = AuditRecord::new(AuditAction::CaseRead, "success");
            event.actor_user_id = Some(supervisor.id.to_string());
            event.resource_type = Some("case".to_owned());
            event.resource_id = Some(read.to_string());
            audit::record(&mut conn, &event, Some(state.audit_signer.event_key())).unwrap();
        }
        let (report, statements) =
            counted(|| block(queries::disclosures(&state, national.clone(), read)).unwrap());
        assert_eq!(report.accessed_by[0].events, i64::try_from(reads).unwrap());
        statements
    };
    same(
        "the disclosure report (events in the trail)",
        engine,
        report(5),
        report(50),
    );
}

both_engines_in_turn!(audit_pages_cost_the_same_statements_whatever_their_size);

fn directory_pages_cost_the_same_statements_whatever_their_size(db: TestDb) {
    let engine = db.engine();
    let (state, _mail) = state(&db);
    let worker = seed::account(&db, Role::CaseWorker);
    let services = [
        ServiceType::Shelter,
        ServiceType::Health,
        ServiceType::Legal,
        ServiceType::Interpretation,
        ServiceType::SocialCare,
    ];
    let mut conn = db.conn();
    for _ in 0..12 {
        let org = seed::organisation(&db, OrganisationKind::Shelter);
        for service in services {
            let terms = ListingTerms {
                country: "UG".parse::<CountryCode>().unwrap(),
                region: String::new(),
                serves_adults: true,
                serves_children: true,
                serves_sex: ServesSex::Any,
                capacity: Capacity::Available,
            };
            ServiceListing::publish(&mut conn, &org, service, &terms).unwrap();
        }
    }
    let caller = signed_in(&db, &state, &worker);
    let search = |limit: i64| {
        let criteria = DirectorySearch {
            country: Some("UG".parse().unwrap()),
            limit,
            ..DirectorySearch::default()
        };
        let (found, statements) =
            counted(|| block(directory::search(&state, caller.clone(), criteria)).unwrap());
        assert_eq!(i64::try_from(found.len()).unwrap(), limit);
        statements
    };
    search(SMALL);
    same("directory search", engine, search(SMALL), search(LARGE));
}

both_engines_in_turn!(directory_pages_cost_the_same_statements_whatever_their_size);
