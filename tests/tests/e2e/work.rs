//! "My work" and follow-ups through real HTTP on both engines: the work list of a case worker,
//! a supervisor and a coordinator compared with the items this test computes on its own from
//! the tables; the deadline scanner and the list agreeing on every overdue item; a follow-up's
//! reminder sent once with the reference and no note; the note sealed in the database; and
//! another organisation's staff answered 404.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde_json::{Value, json};
use tumaini_db::schema::{
    assistance_plans, case_assignments, case_duplicates, case_transfers, cases, erasure_requests,
    follow_ups, organisations, referrals, risk_assessments,
};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed::{self, Account};
use tumaini_tests::smtp::body_of;
use tumaini_tests::{TestDb, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

/// The background scanner runs once at start, on an empty database; the test runs its rounds.
const QUIET_SCANNER: (&str, &str) = ("TUMAINI_DEADLINE_SCAN_SECS", "86400");

/// A follow-up note: never in an e-mail, a work list or the database in clear.
const NOTE: &str = "ask about the landlord in Kisenyi";

/// One item of a work list, as compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    kind: String,
    case: String,
    object: Option<String>,
    due: NaiveDateTime,
    overdue: bool,
}

/// The end of `day` in East Africa Time (UTC+3), as UTC.
fn end_of_day(day: NaiveDate) -> NaiveDateTime {
    (day + Duration::days(1)).and_time(NaiveTime::MIN)
        - Duration::hours(3)
        - Duration::microseconds(1)
}

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn item(kind: &str, case: &str, object: Option<String>, due: NaiveDateTime, overdue: bool) -> Item {
    Item {
        kind: kind.to_owned(),
        case: case.to_owned(),
        object,
        due,
        overdue,
    }
}

/// The items of a work list answer, checked to be sorted by due time.
fn items_of(list: &Value) -> Vec<Item> {
    let items: Vec<Item> = list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|i| {
            let object = [
                "referral_id",
                "follow_up_id",
                "transfer_id",
                "erasure_request_id",
            ]
            .iter()
            .find_map(|k| i[*k].as_str().map(str::to_owned));
            assert_eq!(
                i["case"].as_object().unwrap().len(),
                2,
                "only the id and reference: {i}"
            );
            assert!(i["link"].as_str().unwrap().starts_with("/api/v1/"), "{i}");
            Item {
                kind: i["kind"].as_str().unwrap().to_owned(),
                case: i["case"]["id"].as_str().unwrap().to_owned(),
                object,
                due: chrono::DateTime::parse_from_rfc3339(i["due_at"].as_str().unwrap())
                    .unwrap()
                    .naive_utc(),
                overdue: i["overdue"].as_bool().unwrap(),
            }
        })
        .collect();
    assert!(
        items.windows(2).all(|w| w[0].due <= w[1].due),
        "sorted by due time: {list}"
    );
    items
}

fn set(items: Vec<Item>) -> BTreeSet<Item> {
    items.into_iter().collect()
}

type CaseRow = (
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

/// What the tables say is due on `ids`, for the staff of the organisation working on them
/// (`supervisor`: also closures and duplicates), computed from the rows alone.
fn case_items(db: &TestDb, ids: &[String], supervisor: bool, at: NaiveDateTime) -> Vec<Item> {
    let mut conn = db.conn();
    let rows: Vec<CaseRow> = cases::table
        .filter(cases::id.eq_any(ids))
        .filter(cases::erased_at.is_null())
        .select((
            cases::id,
            cases::status,
            cases::identification_stage,
            cases::reasonable_grounds_due_at,
            cases::reasonable_grounds_decided_at,
            cases::recovery_period_ends_at,
            cases::conclusive_grounds_decided_at,
            cases::closure_requested_at,
            cases::erased_at,
        ))
        .load(&mut conn)
        .unwrap();
    let mut out = Vec::new();
    for (id, status, stage, rg_due, rg_done, recovery, cg_done, closure, _) in rows {
        if ["open", "active", "reintegration"].contains(&status.as_str()) {
            let newest: Option<NaiveDate> = risk_assessments::table
                .filter(risk_assessments::case_id.eq(&id))
                .order((
                    risk_assessments::assessed_at.desc(),
                    risk_assessments::id.desc(),
                ))
                .select(risk_assessments::review_on)
                .first(&mut conn)
                .optional()
                .unwrap();
            if let Some(day) = newest {
                let due = end_of_day(day);
                out.push(item("risk_assessment_review", &id, None, due, due < at));
            }
            let plan: Option<NaiveDate> = assistance_plans::table
                .find(&id)
                .select(assistance_plans::review_on)
                .first(&mut conn)
                .optional()
                .unwrap();
            if let Some(day) = plan {
                let due = end_of_day(day);
                out.push(item("plan_review", &id, None, due, due < at));
            }
        }
        if stage == "referred_to_nrm"
            && rg_done.is_none()
            && let Some(due) = rg_due
        {
            out.push(item(
                "reasonable_grounds_decision",
                &id,
                None,
                due,
                due < at,
            ));
        }
        if stage == "reasonable_grounds_positive"
            && cg_done.is_none()
            && let Some(due) = recovery
        {
            out.push(item("recovery_period_end", &id, None, due, due < at));
        }
        if supervisor {
            if let Some(asked) = closure {
                out.push(item("closure_approval", &id, None, asked, false));
            }
            let found: Option<NaiveDateTime> = case_duplicates::table
                .filter(case_duplicates::status.eq("open"))
                .filter(
                    case_duplicates::case_id
                        .eq(&id)
                        .or(case_duplicates::other_case_id.eq(&id)),
                )
                .select(diesel::dsl::min(case_duplicates::found_at))
                .first(&mut conn)
                .unwrap();
            if let Some(found) = found {
                out.push(item("duplicate_to_resolve", &id, None, found, false));
            }
        }
    }
    out
}

/// Scheduled follow-ups (of `assignee`, or of `organisation`), as work items.
fn follow_up_items(
    db: &TestDb,
    assignee: Option<&str>,
    organisation: Option<&str>,
    at: NaiveDateTime,
) -> Vec<Item> {
    let mut query = follow_ups::table
        .filter(follow_ups::status.eq("scheduled"))
        .select((follow_ups::id, follow_ups::case_id, follow_ups::due_on))
        .into_boxed();
    if let Some(user) = assignee {
        query = query.filter(follow_ups::assigned_to.eq(user.to_owned()));
    }
    if let Some(org) = organisation {
        query = query.filter(follow_ups::organisation_id.eq(org.to_owned()));
    }
    query
        .load::<(String, String, NaiveDate)>(&mut db.conn())
        .unwrap()
        .into_iter()
        .map(|(id, case, day)| {
            let due = end_of_day(day);
            item("follow_up", &case, Some(id), due, due < at)
        })
        .collect()
}

/// Referrals still waiting for an answer: to `to`, or from `from` (sent by `sender`).
fn referral_items(
    db: &TestDb,
    to: Option<&str>,
    from: Option<&str>,
    sender: Option<&str>,
    at: NaiveDateTime,
) -> Vec<Item> {
    let mut query = referrals::table
        .filter(referrals::state.eq("sent"))
        .select((referrals::id, referrals::case_id, referrals::respond_by))
        .into_boxed();
    if let Some(org) = to {
        query = query.filter(referrals::to_organisation_id.eq(org.to_owned()));
    }
    if let Some(org) = from {
        query = query.filter(referrals::from_organisation_id.eq(org.to_owned()));
    }
    if let Some(user) = sender {
        query = query.filter(referrals::created_by.eq(user.to_owned()));
    }
    let kind = if to.is_some() {
        "referral_to_answer"
    } else {
        "referral_unanswered"
    };
    query
        .load::<(String, String, NaiveDateTime)>(&mut db.conn())
        .unwrap()
        .into_iter()
        .map(|(id, case, due)| item(kind, &case, Some(id), due, due <= at))
        .collect()
}

/// Transfers to `organisation` waiting for its answer.
fn transfer_items(db: &TestDb, organisation: &str, at: NaiveDateTime) -> Vec<Item> {
    case_transfers::table
        .filter(case_transfers::state.eq("requested"))
        .filter(case_transfers::to_organisation_id.eq(organisation))
        .select((
            case_transfers::id,
            case_transfers::case_id,
            case_transfers::respond_by,
        ))
        .load::<(String, String, NaiveDateTime)>(&mut db.conn())
        .unwrap()
        .into_iter()
        .map(|(id, case, due)| item("transfer_to_answer", &case, Some(id), due, due <= at))
        .collect()
}

/// The NRM decisions awaited in `country`, and its erasure requests waiting for a second person.
fn coordinator_items(db: &TestDb, country: &str, at: NaiveDateTime) -> Vec<Item> {
    let mut conn = db.conn();
    let there: Vec<String> = cases::table
        .inner_join(organisations::table.on(organisations::id.eq(cases::owner_organisation_id)))
        .filter(organisations::country.eq(country))
        .filter(cases::erased_at.is_null())
        .select(cases::id)
        .load(&mut conn)
        .unwrap();
    let mut out: Vec<Item> = case_items(db, &there, false, at)
        .into_iter()
        .filter_map(|mut i| match i.kind.as_str() {
            "reasonable_grounds_decision" => Some(i),
            "recovery_period_end" => {
                i.kind = "conclusive_grounds_decision".to_owned();
                Some(i)
            }
            _ => None,
        })
        .collect();
    for (id, case, expires) in erasure_requests::table
        .filter(erasure_requests::state.eq("pending"))
        .filter(erasure_requests::expires_at.gt(at))
        .filter(erasure_requests::case_id.eq_any(&there))
        .select((
            erasure_requests::id,
            erasure_requests::case_id,
            erasure_requests::expires_at,
        ))
        .load::<(String, String, NaiveDateTime)>(&mut conn)
        .unwrap()
    {
        out.push(item("erasure_approval", &case, Some(id), expires, false));
    }
    out
}

fn consent_body() -> Value {
    json!({
        "given_by": "person", "method": "written",
        "purposes": ["assistance", "referral", "identification"],
        "groups": ["identity", "contact", "health"],
        "recipients": ["shelter", "health", "competent_authority"]
    })
}

fn person(name: &str, born: bool) -> Value {
    let mut identity = json!({"given_names": "Nakato", "family_name": name});
    if born {
        identity["date_of_birth"] = json!("1998-02-03");
    }
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG",
            "exploitation_country": "UG", "region": "UG-102",
            "encountered_on": (today() - Duration::days(3)).to_string(),
            "exploitation_types": ["forced_labour"]
        },
        "groups": {"identity": identity}
    })
}

/// A shelter with two case workers and a supervisor, a clinic, a competent authority, and the
/// coordinators of Uganda and Kenya.
struct World {
    server: TestServer,
    shelter: String,
    clinic: String,
    worker: Account,
    colleague: Account,
    supervisor: Account,
    w: String,
    b: String,
    s: String,
    s2: String,
    cw: String,
    ca: String,
    coordinator: Account,
    co: String,
    kenyan: String,
}

impl World {
    fn new(db: &TestDb) -> Self {
        let server = TestServer::start_with(db, &[QUIET_SCANNER], |_| {});
        let shelter = seed::organisation(db, OrganisationKind::Shelter);
        let clinic = seed::organisation(db, OrganisationKind::Health);
        let panel = seed::organisation(db, OrganisationKind::CompetentAuthority);
        let office = seed::organisation(db, OrganisationKind::CoordinationOffice);
        let office_ke = seed::organisation_in(db, OrganisationKind::CoordinationOffice, "KE");
        let worker = seed::account_in(db, &shelter, Role::CaseWorker);
        let colleague = seed::account_in(db, &shelter, Role::CaseWorker);
        let supervisor = seed::account_in(db, &shelter, Role::Supervisor);
        let second_supervisor = seed::account_in(db, &shelter, Role::Supervisor);
        let clinic_worker = seed::account_in(db, &clinic, Role::CaseWorker);
        let authority = seed::account_in(db, &panel, Role::CompetentAuthority);
        let coordinator = seed::account_in(db, &office, Role::Coordinator);
        let kenyan = seed::account_in(db, &office_ke, Role::Coordinator);
        let w = token(&server, &worker.email).0;
        let b = token(&server, &colleague.email).0;
        let s = mfa_enrolled_token(&server, &supervisor.email);
        let s2 = mfa_enrolled_token(&server, &second_supervisor.email);
        let cw = token(&server, &clinic_worker.email).0;
        let ca = mfa_enrolled_token(&server, &authority.email);
        let co = mfa_enrolled_token(&server, &coordinator.email);
        let kenyan = mfa_enrolled_token(&server, &kenyan.email);
        World {
            server,
            shelter: shelter.to_string(),
            clinic: clinic.to_string(),
            worker,
            colleague,
            supervisor,
            w,
            b,
            s,
            s2,
            cw,
            ca,
            coordinator,
            co,
            kenyan,
        }
    }

    fn post(&self, token: &str, path: &str, body: &Value, status: u16) -> Value {
        let response = self.server.post(Some(token), path, body);
        assert_eq!(response.status, status, "POST {path}: {}", response.text());
        response.json()
    }

    fn work(&self, token: &str, query: &str) -> Value {
        let response = self.server.get_as(token, &format!("/api/v1/work{query}"));
        assert_eq!(response.status, 200, "{}", response.text());
        let text = response.text();
        for personal in ["Nakato", "Kisenyi", NOTE] {
            assert!(
                !text.contains(personal),
                "a personal value in my work: {text}"
            );
        }
        response.json()
    }

    /// A case the worker registers (they become its lead), with consent.
    fn case(&self, name: &str) -> String {
        let created = self.post(&self.w, "/api/v1/cases", &person(name, false), 201);
        let id = created["id"].as_str().unwrap().to_owned();
        self.post(
            &self.w,
            &format!("/api/v1/cases/{id}/consents"),
            &consent_body(),
            201,
        );
        id
    }

    fn referred(&self, name: &str) -> String {
        let id = self.case(name);
        let judged = json!({"indicators": [], "judgement": {"presumed": true, "reason": "a credible account"}});
        self.post(
            &self.w,
            &format!("/api/v1/cases/{id}/screenings"),
            &judged,
            201,
        );
        self.post(
            &self.w,
            &format!("/api/v1/cases/{id}/nrm-referral"),
            &json!({}),
            200,
        );
        id
    }

    fn refer_to_clinic(&self, case: &str) -> String {
        let body = json!({
            "to_organisation_id": self.clinic, "services": ["health"],
            "groups": ["identity", "health"], "urgency": "normal",
            "reason": "She needs a medical check this week."
        });
        let sent = self.post(
            &self.w,
            &format!("/api/v1/cases/{case}/referrals"),
            &body,
            201,
        );
        sent["id"].as_str().unwrap().to_owned()
    }

    fn follow_up(&self, token: &str, case: &str, body: &Value) -> String {
        let created = self.post(
            token,
            &format!("/api/v1/cases/{case}/follow-ups"),
            body,
            201,
        );
        created["id"].as_str().unwrap().to_owned()
    }
}

/// Today in East Africa Time, the server's calendar for due dates: between 21:00 and
/// midnight UTC it is already tomorrow there.
fn today() -> NaiveDate {
    (chrono::Utc::now() + Duration::hours(3)).date_naive()
}

fn in_days(days: i64) -> String {
    (today() + Duration::days(days)).to_string()
}

fn my_work_lists_what_the_records_say_and_agrees_with_the_scanner(db: TestDb) {
    let w = World::new(&db);
    let (shelter, clinic) = (w.shelter.clone(), w.clinic.clone());
    // Reviews and follow-ups.
    let reviewed = w.case("Reviewed");
    let path = |case: &str, tail: &str| format!("/api/v1/cases/{case}{tail}");
    let risk = json!({"individual": "high", "household": "medium", "community": "low", "review_on": in_days(10)});
    w.post(&w.w, &path(&reviewed, "/risk-assessments"), &risk, 201);
    let later = json!({"individual": "medium", "household": "low", "community": "low", "review_on": in_days(12)});
    w.post(&w.w, &path(&reviewed, "/risk-assessments"), &later, 201);
    let plan = json!({"goals": [{"service_type": "shelter", "action": "a safe bed"}], "review_on": in_days(20), "agreed_with_person": true});
    let put = w
        .server
        .call("PUT", &w.w, &path(&reviewed, "/plan"), Some(&plan));
    assert_eq!(put.status, 200, "{}", put.text());
    let assign = w.server.call(
        "PUT",
        &w.s,
        &path(&reviewed, &format!("/assignments/{}", w.colleague.id)),
        Some(&json!({})),
    );
    assert_eq!(assign.status, 200, "{}", assign.text());
    w.follow_up(
        &w.w,
        &reviewed,
        &json!({"due_on": in_days(1), "kind": "visit", "note": NOTE}),
    );
    let for_colleague = w.follow_up(
        &w.w,
        &reviewed,
        &json!({"due_on": in_days(3), "kind": "call", "assigned_to": w.colleague.id.to_string(), "remind": false}),
    );
    let overdue_visit = w.follow_up(
        &w.w,
        &reviewed,
        &json!({"due_on": in_days(0), "kind": "court_date"}),
    );
    diesel::update(follow_ups::table.find(&overdue_visit))
        .set(follow_ups::due_on.eq(today() - Duration::days(2)))
        .execute(&mut db.conn())
        .unwrap();
    // NRM deadlines: one overdue, one recovery period running.
    let awaiting = w.referred("Awaiting");
    diesel::update(cases::table.find(&awaiting))
        .set(cases::reasonable_grounds_due_at.eq(Some(now() - Duration::hours(2))))
        .execute(&mut db.conn())
        .unwrap();
    let recovering = w.referred("Recovering");
    let decision = json!({"decision": "reasonable_grounds_positive", "reasons": "interview held"});
    w.post(
        &w.ca,
        &path(&recovering, "/identification-decisions"),
        &decision,
        200,
    );
    // A closure to approve, a duplicate to resolve, an erasure to approve.
    let closing = w.case("Closing");
    w.post(
        &w.w,
        &path(&closing, "/status"),
        &json!({"change": "request_closure", "reason": "services_completed"}),
        200,
    );
    let first = w.post(&w.w, "/api/v1/cases", &person("Twin", true), 201);
    let second = w.post(&w.w, "/api/v1/cases", &person("Twin", true), 201);
    assert_eq!(
        second["possible_duplicates"][0]["case_id"], first["id"],
        "{second}"
    );
    let erased = w.case("Erasing");
    w.post(
        &w.s2,
        &path(&erased, "/erasure-requests"),
        &json!({"reason": "persons_request"}),
        201,
    );
    // Referrals: one waiting, one past its deadline.
    let referred_case = w.case("Referred");
    w.refer_to_clinic(&referred_case);
    let late_case = w.case("Late");
    let late = w.refer_to_clinic(&late_case);
    diesel::update(referrals::table.find(&late))
        .set((
            referrals::created_at.eq(now() - Duration::days(5)),
            referrals::respond_by.eq(now() - Duration::hours(1)),
        ))
        .execute(&mut db.conn())
        .unwrap();
    // A transfer to the shelter from another shelter, waiting for its answer.
    let elsewhere = seed::organisation(&db, OrganisationKind::Shelter);
    let other_worker = seed::account_in(&db, &elsewhere, Role::CaseWorker);
    let ow = token(&w.server, &other_worker.email).0;
    let moving = w.post(&ow, "/api/v1/cases", &person("Moving", false), 201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let transfer = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(case_transfers::table)
        .values((
            case_transfers::id.eq(&transfer),
            case_transfers::case_id.eq(&moving),
            case_transfers::from_organisation_id.eq(elsewhere.as_str()),
            case_transfers::to_organisation_id.eq(&shelter),
            case_transfers::reason.eq("person_moved"),
            case_transfers::groups.eq("identity"),
            case_transfers::sender_keeps.eq("nothing"),
            case_transfers::state.eq("requested"),
            case_transfers::requested_by.eq(other_worker.id.as_str()),
            case_transfers::requested_at.eq(now()),
            case_transfers::respond_by.eq(now() + Duration::days(2)),
        ))
        .execute(&mut db.conn())
        .unwrap();

    let at = now();
    // The case worker: the cases assigned to them, their follow-ups, the shelter's inbox,
    // the referrals they sent, the transfers to the shelter.
    let mine: Vec<String> = case_assignments::table
        .filter(case_assignments::user_id.eq(w.worker.id.as_str()))
        .select(case_assignments::case_id)
        .load(&mut db.conn())
        .unwrap();
    let mut expected = case_items(&db, &mine, false, at);
    expected.extend(follow_up_items(&db, Some(w.worker.id.as_str()), None, at));
    expected.extend(referral_items(&db, Some(&shelter), None, None, at));
    expected.extend(referral_items(
        &db,
        None,
        Some(&shelter),
        Some(w.worker.id.as_str()),
        at,
    ));
    expected.extend(transfer_items(&db, &shelter, at));
    let listed = w.work(&w.w, "");
    assert_eq!(set(items_of(&listed)), set(expected.clone()), "{listed}");
    let kinds: BTreeSet<&str> = expected.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "follow_up",
            "plan_review",
            "reasonable_grounds_decision",
            "recovery_period_end",
            "referral_unanswered",
            "risk_assessment_review",
            "transfer_to_answer"
        ]),
        "every kind a case worker sees is exercised"
    );
    assert!(
        listed["items"][0].get("held_by").is_none(),
        "only supervisors see who holds"
    );
    // The newest risk assessment's review date, not the first's.
    assert!(
        expected.iter().any(|i| i.kind == "risk_assessment_review"
            && i.due == end_of_day(today() + Duration::days(12)))
    );

    // Filters.
    let overdue = items_of(&w.work(&w.w, "?overdue=true"));
    assert_eq!(
        set(overdue.clone()),
        set(expected.iter().filter(|i| i.overdue).cloned().collect()),
    );
    assert_eq!(
        overdue.len(),
        3,
        "the late referral, the NRM decision and the court date: {overdue:?}"
    );
    let only = items_of(&w.work(&w.w, "?kind=follow_up&limit=1"));
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].object.as_deref(), Some(overdue_visit.as_str()));
    let soon = items_of(&w.work(&w.w, &format!("?due_before={}", in_days(2))));
    assert!(
        soon.iter()
            .all(|i| i.due < end_of_day(today() + Duration::days(1)) + Duration::microseconds(1))
    );
    assert!(
        soon.iter().any(|i| i.kind == "follow_up") && !soon.iter().any(|i| i.kind == "plan_review")
    );
    let bad = w.server.get_as(&w.w, "/api/v1/work?kind=gossip");
    assert_eq!(bad.status, 400, "{}", bad.text());

    // The colleague: the follow-up assigned to them on the case they were assigned.
    let theirs = items_of(&w.work(&w.b, "?kind=follow_up"));
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].object.as_deref(), Some(for_colleague.as_str()));

    // The supervisor: every case of the shelter, closures, duplicates; who holds each; no
    // erasure at default settings (a coordinator approves).
    let owned: Vec<String> = cases::table
        .filter(cases::owner_organisation_id.eq(&shelter))
        .select(cases::id)
        .load(&mut db.conn())
        .unwrap();
    let mut expected = case_items(&db, &owned, true, at);
    expected.extend(follow_up_items(&db, None, Some(&shelter), at));
    expected.extend(referral_items(&db, Some(&shelter), None, None, at));
    expected.extend(referral_items(&db, None, Some(&shelter), None, at));
    expected.extend(transfer_items(&db, &shelter, at));
    let listed = w.work(&w.s, "");
    assert_eq!(set(items_of(&listed)), set(expected.clone()), "{listed}");
    for kind in ["closure_approval", "duplicate_to_resolve"] {
        assert!(expected.iter().any(|i| i.kind == kind), "{kind} exercised");
    }
    let holders = |item: &Value| -> Vec<String> {
        item["held_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["user_id"].as_str().unwrap().to_owned())
            .collect()
    };
    for item in listed["items"].as_array().unwrap() {
        if item["case"]["id"] == reviewed.as_str() && item["kind"] == "plan_review" {
            assert_eq!(
                holders(item),
                [w.worker.id.to_string(), w.colleague.id.to_string()],
                "the lead first: {item}"
            );
            assert_eq!(item["held_by"][0]["lead"], true);
        }
        if item["follow_up_id"] == for_colleague.as_str() {
            assert_eq!(holders(item), [w.colleague.id.to_string()]);
        }
    }
    let by_colleague = items_of(&w.work(&w.s, &format!("?assignee={}", w.colleague.id)));
    assert!(
        !by_colleague.is_empty() && by_colleague.iter().all(|i| i.case == reviewed),
        "{by_colleague:?}"
    );

    // The clinic's case worker: the two referrals to answer.
    let clinic_items = items_of(&w.work(&w.cw, ""));
    assert_eq!(
        set(clinic_items),
        set(referral_items(&db, Some(&clinic), None, None, at))
    );

    // The coordinators: Uganda's NRM deadlines and erasure; Kenya's sees none of Uganda's.
    let national = w.work(&w.co, "");
    let expected = coordinator_items(&db, "UG", at);
    assert_eq!(
        set(items_of(&national)),
        set(expected.clone()),
        "{national}"
    );
    assert!(
        expected
            .iter()
            .any(|i| i.kind == "conclusive_grounds_decision")
    );
    assert!(
        expected
            .iter()
            .any(|i| i.kind == "erasure_approval" && i.case == erased)
    );
    assert_eq!(w.work(&w.kenyan, "")["items"], json!([]));
    let _ = &w.coordinator;

    // The scanner and my work agree: what the lists call overdue (NRM decisions and
    // referrals) is exactly what one scanner round marks.
    diesel::update(cases::table.find(&recovering))
        .set(cases::recovery_period_ends_at.eq(Some(now() - Duration::minutes(1))))
        .execute(&mut db.conn())
        .unwrap();
    let at = now();
    let mut listed_overdue: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for item in items_of(&w.work(&w.co, "?overdue=true"))
        .into_iter()
        .chain(items_of(&w.work(&w.s, "?overdue=true")))
        .chain(items_of(&w.work(&w.cw, "?overdue=true")))
    {
        let key = match item.kind.as_str() {
            "reasonable_grounds_decision"
            | "conclusive_grounds_decision"
            | "recovery_period_end" => {
                format!(
                    "{}:{}",
                    item.kind
                        .replace("recovery_period_end", "conclusive_grounds_decision"),
                    item.case
                )
            }
            "referral_to_answer" | "referral_unanswered" => {
                format!("referral:{}", item.object.unwrap())
            }
            _ => continue,
        };
        listed_overdue.entry("all".into()).or_default().insert(key);
    }
    let reminders_due: i64 = follow_ups::table
        .filter(follow_ups::status.eq("scheduled"))
        .filter(follow_ups::reminded_at.is_null())
        .filter(follow_ups::remind_at.le(at))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    let marked = tumaini_api::jobs::deadlines::scan(
        &mut db.conn(),
        at + Duration::seconds(1),
        "https://tumaini.test",
        &w.server.audit_events(),
    )
    .unwrap();
    let mut scanned = BTreeSet::new();
    for (id, rg, cg) in cases::table
        .select((
            cases::id,
            cases::reasonable_grounds_overdue_at,
            cases::conclusive_grounds_overdue_at,
        ))
        .load::<(String, Option<NaiveDateTime>, Option<NaiveDateTime>)>(&mut db.conn())
        .unwrap()
    {
        if rg.is_some() {
            scanned.insert(format!("reasonable_grounds_decision:{id}"));
        }
        if cg.is_some() {
            scanned.insert(format!("conclusive_grounds_decision:{id}"));
        }
    }
    for id in referrals::table
        .filter(referrals::state.eq("expired"))
        .select(referrals::id)
        .load::<String>(&mut db.conn())
        .unwrap()
    {
        scanned.insert(format!("referral:{id}"));
    }
    let listed = listed_overdue.remove("all").unwrap_or_default();
    assert_eq!(listed, scanned);
    assert_eq!(listed.len(), 3, "{listed:?}");
    // The scanner also sent the follow-ups' reminders that were due (those due today or
    // tomorrow that asked for one).
    assert_eq!(reminders_due, 2);
    assert_eq!(marked, 3 + 2);
    // What it expired has left the lists.
    let after = items_of(&w.work(&w.s, "?kind=referral_unanswered"));
    assert!(
        after
            .iter()
            .all(|i| i.object.as_deref() != Some(late.as_str()))
    );
    let _ = &w.supervisor;
}

both_engines!(my_work_lists_what_the_records_say_and_agrees_with_the_scanner);

fn a_follow_up_is_reminded_once_and_its_note_stays_sealed(db: TestDb) {
    let w = World::new(&db);
    let case = w.case("Reminded");
    let reference: String = cases::table
        .find(&case)
        .select(cases::reference)
        .first(&mut db.conn())
        .unwrap();
    let path = format!("/api/v1/cases/{case}/follow-ups");
    // Refused input names the field, never the value.
    let past = w.server.post(
        Some(&w.w),
        &path,
        &json!({"due_on": in_days(-1), "kind": "visit"}),
    );
    assert_eq!(past.status, 422, "{}", past.text());
    assert!(past.text().contains("due_on"));
    let stranger = w.server.post(
        Some(&w.w),
        &path,
        &json!({"due_on": in_days(2), "kind": "visit", "assigned_to": w.colleague.id.to_string()}),
    );
    assert_eq!(
        stranger.status,
        422,
        "not assigned to the case: {}",
        stranger.text()
    );
    let unknown = w.server.post(
        Some(&w.w),
        &path,
        &json!({"due_on": in_days(2), "kind": "party"}),
    );
    assert_eq!(unknown.status, 422, "{}", unknown.text());

    let tomorrow = w.follow_up(
        &w.w,
        &case,
        &json!({"due_on": in_days(1), "kind": "medical_appointment", "note": NOTE}),
    );
    let quiet = w.follow_up(
        &w.w,
        &case,
        &json!({"due_on": in_days(1), "kind": "call", "remind": false}),
    );
    let later = w.follow_up(&w.w, &case, &json!({"due_on": in_days(9), "kind": "visit"}));

    // The list: the note for the case's worker; not for a colleague who is not assigned
    // (need-to-know), who still sees the follow-ups.
    let listed = w.server.get_as(&w.w, &path).json();
    let with_note = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == tomorrow.as_str())
        .unwrap();
    assert_eq!(with_note["note"], NOTE);
    assert_eq!(listed["notes_withheld"], false);
    let colleague_view = w.server.get_as(&w.b, &path);
    assert_eq!(colleague_view.status, 200, "{}", colleague_view.text());
    assert!(
        !colleague_view.text().contains(NOTE),
        "{}",
        colleague_view.text()
    );
    assert_eq!(colleague_view.json()["notes_withheld"], true);
    assert_eq!(colleague_view.json()["items"].as_array().unwrap().len(), 3);

    // Another organisation's staff: 404, as for a case that does not exist.
    let kenya = seed::organisation_in(&db, OrganisationKind::Shelter, "KE");
    let attacker = token(
        &w.server,
        &seed::account_in(&db, &kenya, Role::CaseWorker).email,
    )
    .0;
    for (token, who) in [
        (&attacker, "a Kenyan shelter"),
        (&w.cw, "a clinic without a referral"),
    ] {
        assert_eq!(w.server.get_as(token, &path).status, 404, "{who}");
        let scheduled = w.server.post(
            Some(token),
            &path,
            &json!({"due_on": in_days(2), "kind": "visit"}),
        );
        assert_eq!(scheduled.status, 404, "{who}");
        let done = w
            .server
            .post(Some(token), &format!("{path}/{tomorrow}/done"), &json!({}));
        assert_eq!(done.status, 404, "{who}");
    }
    let missing = w.server.post(
        Some(&w.w),
        &format!("{path}/{}/done", uuid::Uuid::now_v7()),
        &json!({}),
    );
    assert_eq!(missing.status, 404);

    // The note is sealed: not in the stored bytes, in clear or as hex.
    let stored = String::from_utf8_lossy(&db.stored_bytes()).into_owned();
    let hex: String = NOTE.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(
        !stored.contains(NOTE) && !stored.contains(&hex),
        "the note is in the database in clear"
    );

    // A scanner round sends the one reminder due (the other is off, the third not yet due);
    // a second round sends nothing more.
    let audit_key = w.server.audit_events();
    let first = tumaini_api::jobs::deadlines::scan(
        &mut db.conn(),
        now(),
        "https://tumaini.test",
        &audit_key,
    )
    .unwrap();
    assert_eq!(first, 1);
    let second = tumaini_api::jobs::deadlines::scan(
        &mut db.conn(),
        now(),
        "https://tumaini.test",
        &audit_key,
    )
    .unwrap();
    assert_eq!(second, 0);
    let reminders = || -> Vec<String> {
        w.server
            .mail_files()
            .into_iter()
            .filter(|m| m.contains("A follow-up is due soon"))
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while reminders().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Long enough for the outbox to deliver a second message, were one queued.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let mails: Vec<String> = reminders()
        .iter()
        .map(|m| format!("{m}\n{}", body_of(m)))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0]
            .to_lowercase()
            .contains(&w.worker.email.to_lowercase())
    );
    assert!(
        mails[0].contains(&reference)
            && mails[0].contains(&format!("https://tumaini.test/cases/{case}/follow-ups"))
    );
    for personal in [NOTE, "Nakato", "Reminded"] {
        assert!(!mails[0].contains(personal), "{personal} in a reminder");
    }
    let reminded: Vec<(String, Option<NaiveDateTime>)> = follow_ups::table
        .select((follow_ups::id, follow_ups::reminded_at))
        .load(&mut db.conn())
        .unwrap();
    for (id, at) in reminded {
        assert_eq!(at.is_some(), id == tomorrow, "{id}");
    }
    let _ = (quiet, later);

    // Done, then done again: a conflict; cancelled follow-ups leave the work list.
    w.post(&w.w, &format!("{path}/{tomorrow}/done"), &json!({}), 200);
    assert_eq!(
        w.server
            .post(Some(&w.w), &format!("{path}/{tomorrow}/cancel"), &json!({}))
            .status,
        409
    );
    let left = items_of(&w.work(&w.w, "?kind=follow_up"));
    assert_eq!(left.len(), 2);
    assert!(
        left.iter()
            .all(|i| i.object.as_deref() != Some(tomorrow.as_str()))
    );
    let _ = w.supervisor;
}

both_engines!(a_follow_up_is_reminded_once_and_its_note_stays_sealed);
