//! `tumaini seed --demo`: a realistic, entirely fictional data set so a newcomer can explore.
//! Organisations of every kind in Uganda and Kenya, users of every role sharing one printed
//! demo password, and cases in every identification stage and status with consent,
//! screenings, decisions, assistance, notes, risk assessments, follow-ups (one due tomorrow
//! with a reminder, some overdue), possible duplicates and anonymous notifications, and a
//! transfer of a case to Kenya waiting for an answer (`super::demo_transfer`). Personal groups
//! go through the vault exactly as the API writes
//! them. Names are combinations of common given and family names; no record describes a real
//! person. It refuses to run in production, and refuses a database already seeded.
//!
//! Each case is drawn through the stages of its life, one function each (`draw_case` lists
//! them): summary and person, screening, referral into the NRM and decisions, then assistance,
//! notes, risk and closure. `seal_case` then registers it as the API would: its own data key,
//! its personal groups, search terms and every record's value sealed by the vault, consent.
//!
//! The same generator fills the benchmark database (`--cases 100000`, up to a million), so it
//! works in chunks: drawing is sequential (a seeded random generator makes a run reproducible
//! apart from ids, references and keys), sealing runs on every core, and each chunk's rows are
//! written with multi-row `INSERT`s in one transaction (`tumaini_db::models::bulk`,
//! `tumaini_db::vault::VaultBatch`) instead of some seventy statements a case.

use std::collections::{HashMap, HashSet};

use anyhow::{Context as _, bail};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;
use tumaini_db::country::CountryCode;
use tumaini_db::ids::{CaseId, ConsentId, FollowUpId, NotificationId, OrgId, RecordId, UserId};
use tumaini_db::models::anonymous::AnonymousNotification;
use tumaini_db::models::bulk::{self, CaseBatch};
use tumaini_db::models::case::{CaseChanges, Deadline, NewCase, SummaryFields};
use tumaini_db::models::case_record::{Assistance, Decision, Note, RiskAssessment, Screening};
use tumaini_db::models::consent::NewConsent;
use tumaini_db::models::follow_up::FollowUp;
use tumaini_db::models::{EmailAddress, NewOrganisation, NewUser, Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::vault::{BulkSealer, NewCaseKey, RecordPlace, SecretBytes, Vault, VaultBatch};
use tumaini_db::vocabulary::{
    AgeBand, AssistanceStatus, CaseStatus, ClosureReason, ConsentGiver, ConsentMethod,
    ConsentPurpose, ConsentRecipient, ExploitationType, FieldGroup, FollowUpKind, FollowUpStatus,
    IdentificationDecision, IdentificationStage, MeansOfControl, OrganisationKind, RiskLevel, Role,
    ServiceType, Sex, UserStatus,
};
use tumaini_db::{DbConn, DbError};

use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::RequestContext;
use crate::cases::groups::{
    ContactGroup, ExploitationGroup, Guardian, HealthGroup, IdentityDocument, IdentityGroup,
    NotesGroup, PersonalGroups,
};
use crate::rules::deadlines::DeadlineRules;
use crate::rules::reference;
use crate::rules::screening::{self, IndicatorList};

/// What `seed --demo` created.
#[derive(Debug)]
pub struct Seeded {
    /// Users: (e-mail, role, organisation name).
    pub users: Vec<(String, Role, String)>,
    /// Cases written.
    pub cases: usize,
    /// Anonymous notifications written.
    pub anonymous: usize,
}

/// Cases drawn, sealed and written together: one write transaction, and one multi-row
/// `INSERT` per table (a few for the tables with several rows a case).
const CHUNK: usize = 1_000;

struct DemoOrg {
    name: &'static str,
    kind: OrganisationKind,
    country: &'static str,
    region: &'static str,
    /// The code of its region on the list cases take theirs from.
    area: &'static str,
    services: &'static [ServiceType],
    users: &'static [(Role, &'static str)],
}

const ORGS: &[DemoOrg] = &[
    DemoOrg {
        name: "COPTIP National Coordination Office (demo)",
        kind: OrganisationKind::CoordinationOffice,
        country: "UG",
        region: "Kampala",
        area: "UG-102",
        services: &[],
        users: &[(Role::Coordinator, "coordinator"), (Role::Admin, "admin")],
    },
    DemoOrg {
        name: "NRM Identification Panel (demo)",
        kind: OrganisationKind::CompetentAuthority,
        country: "UG",
        region: "Kampala",
        area: "UG-102",
        services: &[],
        users: &[(Role::CompetentAuthority, "authority")],
    },
    DemoOrg {
        name: "Busia Border Police Post (demo)",
        kind: OrganisationKind::Police,
        country: "UG",
        region: "Busia",
        area: "UG-202",
        services: &[],
        users: &[
            (Role::FirstResponder, "police.responder"),
            (Role::Supervisor, "police.supervisor"),
        ],
    },
    DemoOrg {
        name: "Entebbe Immigration Desk (demo)",
        kind: OrganisationKind::Immigration,
        country: "UG",
        region: "Wakiso",
        area: "UG-113",
        services: &[],
        users: &[(Role::FirstResponder, "immigration.responder")],
    },
    DemoOrg {
        name: "Jinja Labour Office (demo)",
        kind: OrganisationKind::LabourInspectorate,
        country: "UG",
        region: "Jinja",
        area: "UG-204",
        services: &[],
        users: &[(Role::FirstResponder, "labour.inspector")],
    },
    DemoOrg {
        name: "Mirembe Shelter (demo)",
        kind: OrganisationKind::Shelter,
        country: "UG",
        region: "Kampala",
        area: "UG-102",
        services: &[
            ServiceType::Shelter,
            ServiceType::SocialCare,
            ServiceType::RightsBasedTraining,
        ],
        users: &[
            (Role::CaseWorker, "shelter.worker"),
            (Role::CaseWorker, "shelter.counsellor"),
            (Role::Supervisor, "shelter.supervisor"),
        ],
    },
    DemoOrg {
        name: "Tujenge Outreach (demo)",
        kind: OrganisationKind::Ngo,
        country: "UG",
        region: "Mbale",
        area: "UG-209",
        services: &[ServiceType::Livelihood, ServiceType::Education],
        users: &[
            (Role::FirstResponder, "outreach.responder"),
            (Role::CaseWorker, "outreach.worker"),
            (Role::Supervisor, "outreach.supervisor"),
        ],
    },
    DemoOrg {
        name: "Tororo Health Centre (demo)",
        kind: OrganisationKind::Health,
        country: "UG",
        region: "Tororo",
        area: "UG-212",
        services: &[ServiceType::Health],
        users: &[(Role::CaseWorker, "health.worker")],
    },
    DemoOrg {
        name: "Haki Legal Aid (demo)",
        kind: OrganisationKind::LegalAid,
        country: "UG",
        region: "Kampala",
        area: "UG-102",
        services: &[ServiceType::Legal],
        users: &[(Role::CaseWorker, "legal.worker")],
    },
    DemoOrg {
        name: "Kampala Child Protection Unit (demo)",
        kind: OrganisationKind::ChildProtection,
        country: "UG",
        region: "Kampala",
        area: "UG-102",
        services: &[ServiceType::SocialCare],
        users: &[(Role::CaseWorker, "childprotection.worker")],
    },
    DemoOrg {
        name: "Interpreters' Cooperative (demo)",
        kind: OrganisationKind::Other,
        country: "UG",
        region: "Kampala",
        area: "UG-102",
        services: &[ServiceType::Interpretation],
        users: &[(Role::CaseWorker, "interpreter")],
    },
    DemoOrg {
        name: "Kenya Counter-Trafficking Secretariat (demo)",
        kind: OrganisationKind::CoordinationOffice,
        country: "KE",
        region: "Nairobi",
        area: "KE-30",
        services: &[],
        users: &[(Role::Coordinator, "ke.coordinator")],
    },
    DemoOrg {
        name: "Kenya NRM Identification Panel (demo)",
        kind: OrganisationKind::CompetentAuthority,
        country: "KE",
        region: "Nairobi",
        area: "KE-30",
        services: &[],
        users: &[(Role::CompetentAuthority, "ke.authority")],
    },
    DemoOrg {
        name: "Kisumu Safe House (demo)",
        kind: OrganisationKind::Shelter,
        country: "KE",
        region: "Kisumu",
        area: "KE-17",
        services: &[ServiceType::Shelter, ServiceType::ReturnAndReintegration],
        users: &[
            (Role::CaseWorker, "kisumu.worker"),
            (Role::Supervisor, "kisumu.supervisor"),
        ],
    },
    DemoOrg {
        name: "Malaba Border Police (demo)",
        kind: OrganisationKind::Police,
        country: "KE",
        region: "Busia",
        area: "KE-04",
        services: &[],
        users: &[(Role::FirstResponder, "malaba.responder")],
    },
];

/// The code of the region a demo organisation works in (the country's capital's, for one not
/// of the demo).
fn area_of(org: &Organisation) -> String {
    ORGS.iter()
        .find(|demo| demo.name == org.name)
        .map_or_else(
            || {
                if org.country.as_str() == "KE" {
                    "KE-30"
                } else {
                    "UG-102"
                }
            },
            |demo| demo.area,
        )
        .to_owned()
}

/// The e-mail address of a demo user.
pub fn demo_email(local: &str) -> String {
    format!("{local}@demo.tumaini.example")
}

const GIVEN_FEMALE: &[&str] = &[
    "Achieng",
    "Nakato",
    "Apio",
    "Namukasa",
    "Auma",
    "Nabirye",
    "Akello",
    "Wanjiru",
    "Atim",
    "Nansubuga",
    "Amina",
    "Grace",
    "Esther",
    "Sarah",
    "Faith",
    "Mercy",
];
const GIVEN_MALE: &[&str] = &[
    "Okello",
    "Mugisha",
    "Ochieng",
    "Kato",
    "Wasswa",
    "Otieno",
    "Byaruhanga",
    "Kamau",
    "Opio",
    "Ssemakula",
    "Joseph",
    "Moses",
    "Isaac",
    "Daniel",
    "Peter",
    "Samuel",
];
const FAMILY: &[&str] = &[
    "Okoth",
    "Nambi",
    "Tumusiime",
    "Mutesi",
    "Kiprono",
    "Ouma",
    "Namaganda",
    "Kibet",
    "Lubega",
    "Akena",
    "Asiimwe",
    "Wafula",
    "Odongo",
    "Nalubega",
    "Barasa",
    "Kyomuhendo",
];
/// Ugandan districts cases are met in (codes of the region list: Kampala, Busia, Tororo, Mbale,
/// Jinja, Gulu, Arua, Moroto, Mbarara, Kasese).
const REGIONS_UG: &[&str] = &[
    "UG-102", "UG-202", "UG-212", "UG-209", "UG-204", "UG-304", "UG-303", "UG-308", "UG-410",
    "UG-406",
];
const NEIGHBOURS: &[&str] = &["KE", "SS", "CD", "RW", "TZ", "BI"];
const DESTINATIONS: &[&str] = &["UG", "KE", "SA", "AE", "OM", "QA", "JO"];

/// Runs the seed on a migrated database.
///
/// Cases are drawn in chunks of [`CHUNK`]: the generator draws each case in turn (so a seed
/// gives the same data set), the vault seals the chunk's cases on every core, and the chunk is
/// written in one write transaction with one multi-row `INSERT` per table (a few, for tables
/// with more rows than one statement binds).
pub fn seed_demo(
    conn: &mut DbConn,
    vault: &Vault,
    password_hash: &str,
    cases: usize,
    rules: &DeadlineRules,
    context: &RequestContext,
) -> anyhow::Result<Seeded> {
    let mut rng = StdRng::seed_from_u64(0x0074_756d_6169_6e69);
    let (orgs, users) = create_people(conn, password_hash)?;
    let sealer = vault.bulk_sealer(conn).map_err(vault_error)?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut people = People::default();
    let mut written = 0usize;
    let progress = (cases >= 10_000).then(|| indicatif::ProgressBar::new(cases as u64));
    while written < cases {
        let n = CHUNK.min(cases - written);
        let drafts = (written..written + n)
            .map(|i| draw_case(&mut rng, rules, &orgs, &users, i, &mut people))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let references = fresh_references(conn, n)?;
        let (rows, sealed) = seal_chunk(&sealer, &drafts, references, threads)?;
        conn.write_transaction(|conn| -> anyhow::Result<()> {
            rows.insert(conn)?;
            sealed.insert(conn)?;
            Ok(())
        })?;
        written += n;
        if let Some(bar) = &progress {
            bar.set_position(written as u64);
        }
    }
    if let Some(bar) = progress {
        bar.finish();
    }
    let anonymous = (cases / 10).max(1);
    let notifications = (0..anonymous)
        .map(|i| draw_anonymous(&mut rng, &orgs, &users, i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    conn.write_transaction(|conn| -> anyhow::Result<()> {
        bulk::insert_anonymous(conn, &notifications)?;
        if let Some(worker) = users
            .iter()
            .find(|u| u.email == demo_email("shelter.worker"))
        {
            super::demo_transfer::seed(conn, vault, &orgs, &worker.id)?;
        }
        audit::record(
            conn,
            context,
            None,
            Event {
                action: AuditAction::DemoSeed,
                outcome: Outcome::Success,
                resource: None,
            },
        )?;
        Ok(())
    })?;
    Ok(Seeded {
        users: users
            .iter()
            .map(|u| (u.email.clone(), u.role, u.org_name.clone()))
            .collect(),
        cases,
        anonymous,
    })
}

/// `n` fresh case references, none already taken (checked in one query) nor drawn twice.
fn fresh_references(conn: &mut DbConn, n: usize) -> anyhow::Result<Vec<String>> {
    let mut drawn = HashSet::with_capacity(n);
    let mut references = Vec::with_capacity(n);
    loop {
        while references.len() < n {
            let candidate = reference::generate('C');
            if drawn.insert(candidate.clone()) {
                references.push(candidate);
            }
        }
        let taken = bulk::taken_case_references(conn, &references)?;
        if taken.is_empty() {
            return Ok(references);
        }
        references.retain(|r| !taken.contains(r));
    }
}

/// Seals the drafts on `threads` threads, each a contiguous part, and joins their rows in the
/// drafts' order. `references` are the cases' references, in the same order.
fn seal_chunk(
    sealer: &BulkSealer<'_>,
    drafts: &[CaseDraft<'_>],
    references: Vec<String>,
    threads: usize,
) -> anyhow::Result<(CaseBatch, VaultBatch)> {
    let per_thread = drafts.len().div_ceil(threads.max(1)).max(1);
    let mut references = references.into_iter();
    let parts: Vec<(&[CaseDraft<'_>], Vec<String>)> = drafts
        .chunks(per_thread)
        .map(|part| (part, references.by_ref().take(part.len()).collect()))
        .collect();
    let sealed = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|(part, references)| {
                scope.spawn(move || -> anyhow::Result<(CaseBatch, VaultBatch)> {
                    let mut rows = CaseBatch::default();
                    let mut sealed = VaultBatch::default();
                    for (draft, reference) in part.iter().zip(references) {
                        seal_case(sealer, draft, reference, &mut rows, &mut sealed)?;
                    }
                    Ok((rows, sealed))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("a thread sealing demo cases panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let mut rows = CaseBatch::default();
    let mut vault_rows = VaultBatch::default();
    for (part_rows, part_sealed) in sealed {
        rows.append(part_rows);
        vault_rows.append(part_sealed);
    }
    Ok((rows, vault_rows))
}

struct SeedUser {
    id: UserId,
    email: String,
    role: Role,
    org: OrgId,
    org_name: String,
}

fn create_people(
    conn: &mut DbConn,
    password_hash: &str,
) -> anyhow::Result<(Vec<Organisation>, Vec<SeedUser>)> {
    conn.write_transaction(|conn| -> anyhow::Result<_> {
        let mut orgs = Vec::new();
        let mut users = Vec::new();
        for demo in ORGS {
            let country: CountryCode = demo.country.parse().context("demo country")?;
            let org = Organisation::create(
                conn,
                &NewOrganisation {
                    name: demo.name.to_owned(),
                    kind: demo.kind,
                    country,
                    region: demo.region.to_owned(),
                    services: demo.services.to_vec(),
                },
            )
            .map_err(|err| match err {
                DbError::Conflict { .. } => anyhow::anyhow!(
                    "this database was already seeded (\"{}\" exists); seed a fresh database",
                    demo.name
                ),
                other => other.into(),
            })?;
            for (role, local) in demo.users {
                let email = demo_email(local);
                let user = User::create(
                    conn,
                    &NewUser {
                        organisation_id: org.id.clone(),
                        role: *role,
                        email: email.parse::<EmailAddress>().context("demo e-mail")?,
                        display_name: format!("Demo {}", role.label()),
                        status: UserStatus::Active,
                        password_hash: Some(password_hash.to_owned()),
                        password_must_change: false,
                    },
                )?;
                users.push(SeedUser {
                    id: user.id,
                    email,
                    role: *role,
                    org: org.id.clone(),
                    org_name: org.name.clone(),
                });
            }
            orgs.push(org);
        }
        Ok((orgs, users))
    })
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn country(code: &str) -> Option<CountryCode> {
    code.parse().ok()
}

fn pick_country(rng: &mut StdRng, codes: &[&str]) -> Option<CountryCode> {
    codes[rng.random_range(0..codes.len())].parse().ok()
}

const STAGES: [IdentificationStage; 9] = [
    IdentificationStage::NotScreened,
    IdentificationStage::ScreenedNotPresumed,
    IdentificationStage::Presumed,
    IdentificationStage::ReferredToNrm,
    IdentificationStage::ReasonableGroundsPositive,
    IdentificationStage::ReasonableGroundsNegative,
    IdentificationStage::ConclusiveGroundsPositive,
    IdentificationStage::ConclusiveGroundsNegative,
    IdentificationStage::NotAVictim,
];

const STATUSES: [CaseStatus; 5] = [
    CaseStatus::Open,
    CaseStatus::Active,
    CaseStatus::Reintegration,
    CaseStatus::Closed,
    CaseStatus::Withdrawn,
];

/// Indicator answers that give (or do not give) the presumption on `list`.
fn answers(list: IndicatorList, presumed: bool) -> &'static [&'static str] {
    match (list, presumed) {
        (IndicatorList::Adult, true) => &[
            "dr_nature_of_job",
            "dr_wages",
            "ex_excessive_hours",
            "ex_low_or_no_salary",
            "cd_confiscation_of_documents",
            "cd_isolation",
        ],
        (IndicatorList::Child, true) => &["ex_excessive_hours", "ex_no_access_to_education"],
        (_, false) => &["rv_economic_reasons", "ex_bad_living_conditions"],
    }
}

/// What one generated case is made from: its number, the clock, the people who act on it, and
/// what it is to become. `stage`, `status` and `child` follow from `i` alone.
struct CaseInputs<'a> {
    /// The case's number in the run.
    i: usize,
    now: NaiveDateTime,
    today: NaiveDate,
    rules: &'a DeadlineRules,
    /// The first responder or case worker who registers the case and works on it.
    author: &'a SeedUser,
    /// The author's organisation, which owns the case.
    owner_org: &'a Organisation,
    /// The author's supervisor, if the organisation has one: approves a closure.
    supervisor: Option<&'a SeedUser>,
    /// Another case worker of the author's organisation, if it has one.
    colleague: Option<&'a SeedUser>,
    /// The competent authority that decides on identification.
    authority: &'a SeedUser,
    /// Every fourth case is a child's.
    child: bool,
    /// How far identification went.
    stage: IdentificationStage,
    /// Where the case stands.
    status: CaseStatus,
}

impl<'a> CaseInputs<'a> {
    fn new(
        rules: &'a DeadlineRules,
        orgs: &'a [Organisation],
        users: &'a [SeedUser],
        i: usize,
    ) -> anyhow::Result<Self> {
        let now = now_utc();
        // Owners: the organisations that meet people first or look after them.
        let owners: Vec<&SeedUser> = users
            .iter()
            .filter(|u| matches!(u.role, Role::FirstResponder | Role::CaseWorker))
            .collect();
        let author = owners[i % owners.len()];
        let owner_org = orgs
            .iter()
            .find(|o| o.id == author.org)
            .context("owner organisation")?;
        let supervisor = users
            .iter()
            .find(|u| u.role == Role::Supervisor && u.org == author.org);
        let colleague = users
            .iter()
            .find(|u| u.role == Role::CaseWorker && u.org == author.org && u.id != author.id);
        let authority = users
            .iter()
            .find(|u| u.role == Role::CompetentAuthority)
            .context("competent authority")?;
        Ok(Self {
            i,
            now,
            today: now.date(),
            rules,
            author,
            owner_org,
            supervisor,
            colleague,
            authority,
            child: i.is_multiple_of(4),
            stage: STAGES[(i / 4 + i) % STAGES.len()],
            status: STATUSES[(i / 9) % STATUSES.len()],
        })
    }
}

/// A demo person: given name, family name (both from the lists above), date of birth.
type Person = (&'static str, &'static str, NaiveDate);

/// Everyone registered so far: in order (a person registered again is drawn from this list),
/// and the first case of each (the one a registration again is linked to as a duplicate).
#[derive(Default)]
struct People {
    registered: Vec<Person>,
    first_case: HashMap<Person, CaseId>,
}

/// One demo case as drawn, before the vault seals it: everything but its reference and its
/// ciphertexts. The records carry empty ciphertexts that [`seal_case`] fills.
struct CaseDraft<'a> {
    c: CaseInputs<'a>,
    id: CaseId,
    summary: SummaryFields,
    groups: PersonalGroups,
    /// The earlier case of the same person, for a registration again.
    duplicate_of: Option<CaseId>,
    /// The workflow the case went through (applied to the registered row).
    changes: CaseChanges,
    /// The decision already overdue when seeded.
    overdue: Option<Deadline>,
    /// The screening with the indicator codes its answers seal.
    screening: Option<(Screening, Vec<String>)>,
    decisions: Vec<Decision>,
    assistance: Vec<Assistance>,
    note: Option<Note>,
    follow_ups: Vec<FollowUp>,
    risk: Option<RiskAssessment>,
}

/// Draws one demo case through its life, each stage in its own step: the summary and the
/// person, the personal groups (and a possible duplicate), screening, referral into the NRM
/// and the decisions, then the case work (assistance, a note, a risk assessment, closure). The
/// steps draw from `rng` in this order, so a seed gives the same data set; nothing here needs
/// the database or the vault.
fn draw_case<'a>(
    rng: &mut StdRng,
    rules: &'a DeadlineRules,
    orgs: &'a [Organisation],
    users: &'a [SeedUser],
    i: usize,
    people: &mut People,
) -> anyhow::Result<CaseDraft<'a>> {
    let c = CaseInputs::new(rules, orgs, users, i)?;
    let (summary, age_years) = draw_summary(rng, &c);
    let person = draw_person(rng, &c, &summary, age_years, &people.registered);
    let groups = personal_groups(rng, &c, &summary, &person);
    let id = CaseId::generate();
    let duplicate_of = link_duplicate(&c, &id, person, people);

    let mut changes = CaseChanges {
        identification_stage: Some(c.stage),
        ..CaseChanges::default()
    };
    let base = summary.encountered_on.and_time(chrono::NaiveTime::MIN) + Duration::hours(12);
    let screening = screen(&c, &id, summary.is_child(), base)?;
    let (decisions, overdue) = refer_and_decide(&c, &id, base, &mut changes);
    let work = work_on(rng, &c, &id, summary.encountered_on, base);
    close(rng, &c, base, &mut changes);
    if summary.is_child() {
        changes.child_protection_notified_at = Some(Some(c.now));
    }
    Ok(CaseDraft {
        c,
        id,
        summary,
        groups,
        duplicate_of,
        changes,
        overdue,
        screening,
        decisions,
        assistance: work.assistance,
        note: work.note,
        follow_ups: work.follow_ups,
        risk: work.risk,
    })
}

/// Registers a drawn case as the API would, into `rows` and `sealed`: the case row (its
/// workflow applied), its data key, its personal groups and their search terms through the
/// vault, the possible duplicate and consent, then each record with its value sealed under the
/// case's key.
fn seal_case(
    sealer: &BulkSealer<'_>,
    d: &CaseDraft<'_>,
    reference: String,
    rows: &mut CaseBatch,
    sealed: &mut VaultBatch,
) -> anyhow::Result<()> {
    let c = &d.c;
    let key = sealer.new_case(&d.id, c.now, sealed).map_err(vault_error)?;
    register(&key, d, reference, rows, sealed)?;
    if let Some(earlier) = &d.duplicate_of {
        rows.push_duplicate(&d.id, earlier, c.now);
    }
    record_consent(
        c,
        &d.id,
        d.summary.is_child(),
        d.summary.encountered_on,
        rows,
    );
    if let Some((screening, codes)) = &d.screening {
        let mut screening = screening.clone();
        screening.answers = seal(
            &key,
            "screenings",
            "answers",
            &screening.id,
            &json!({"indicators": codes, "notes": null, "override_reason": null}),
        )?;
        rows.screenings.push(screening);
    }
    for decision in &d.decisions {
        let mut decision = decision.clone();
        decision.reasons = seal(
            &key,
            "identification_decisions",
            "reasons",
            &decision.id,
            &json!("Fictional reasons for a demo decision."),
        )?;
        rows.decisions.push(decision);
    }
    for assistance in &d.assistance {
        let mut assistance = assistance.clone();
        assistance.details = Some(seal(
            &key,
            "assistance_records",
            "details",
            &assistance.id,
            &json!("Fictional assistance details."),
        )?);
        rows.assistance.push(assistance);
    }
    if let Some(note) = &d.note {
        let mut note = note.clone();
        note.body = key
            .seal_record(
                RecordPlace {
                    table: "case_notes",
                    column: "body",
                    row_id: note.id.as_str(),
                },
                &SecretBytes::new(b"Fictional note: the person asked to call her sister.".to_vec()),
            )
            .map_err(vault_error)?;
        rows.notes.push(note);
    }
    for follow_up in &d.follow_ups {
        let mut follow_up = follow_up.clone();
        if follow_up.note.is_some() {
            follow_up.note = Some(
                key.seal_record(
                    RecordPlace {
                        table: "follow_ups",
                        column: "note",
                        row_id: follow_up.id.as_str(),
                    },
                    &SecretBytes::new(b"Fictional note: bring the school forms.".to_vec()),
                )
                .map_err(vault_error)?,
            );
        }
        rows.follow_ups.push(follow_up);
    }
    rows.risk_assessments.extend(d.risk.clone());
    Ok(())
}

/// The summary: sex and age, where the person comes from and was exploited, how, and where
/// they were met. Returns it with the person's age in years.
fn draw_summary(rng: &mut StdRng, c: &CaseInputs<'_>) -> (SummaryFields, u32) {
    let i = c.i;
    let sex = if i.is_multiple_of(3) {
        Sex::Male
    } else {
        Sex::Female
    };
    let (age_band, may_be_child, age_years) = if c.child {
        if i.is_multiple_of(12) {
            (AgeBand::Unknown, true, 16)
        } else {
            let age = rng.random_range(9..=17);
            (AgeBand::of_age(age), false, age)
        }
    } else {
        let age = rng.random_range(18..=52);
        (AgeBand::of_age(age), false, age)
    };
    let encountered_on = c.today - Duration::days(rng.random_range(3..720));
    let citizenship = if i.is_multiple_of(3) {
        pick_country(rng, NEIGHBOURS)
    } else {
        country(c.owner_org.country.as_str())
    };
    let exploitation_country = pick_country(rng, DESTINATIONS);
    let (exploitation_types, means_of_control) = draw_exploitation(rng, c.child);
    let summary = SummaryFields {
        sex,
        age_band,
        may_be_child,
        citizenship,
        recruitment_country: citizenship,
        exploitation_country,
        region: if c.owner_org.country.as_str() == "UG" {
            (*pick(rng, REGIONS_UG)).to_owned()
        } else {
            area_of(c.owner_org)
        },
        encountered_on,
        exploitation_types,
        means_of_control,
    };
    (summary, age_years)
}

/// The forms of exploitation (one more for a child) and the means of control.
fn draw_exploitation(
    rng: &mut StdRng,
    child: bool,
) -> (Vec<ExploitationType>, Vec<MeansOfControl>) {
    let mut exploitation_types = vec![*pick(
        rng,
        &[
            ExploitationType::ForcedLabour,
            ExploitationType::SexualExploitation,
            ExploitationType::Servitude,
            ExploitationType::ForcedMarriage,
        ],
    )];
    if child {
        exploitation_types.push(*pick(
            rng,
            &[
                ExploitationType::ChildLabour,
                ExploitationType::ChildMarriage,
            ],
        ));
    }
    let means_of_control = vec![*pick(
        rng,
        &[
            MeansOfControl::DebtBondage,
            MeansOfControl::FalsePromises,
            MeansOfControl::TakesEarnings,
            MeansOfControl::PhysicalThreats,
        ],
    )];
    (exploitation_types, means_of_control)
}

/// The person: every 40th registration is someone already registered (a duplicate).
fn draw_person(
    rng: &mut StdRng,
    c: &CaseInputs<'_>,
    summary: &SummaryFields,
    age_years: u32,
    people: &[Person],
) -> Person {
    let i = c.i;
    match people.get(i / 40 * 7 % people.len().max(1)) {
        Some(person) if i % 40 == 39 => *person,
        _ => {
            let given = if summary.sex == Sex::Male {
                pick(rng, GIVEN_MALE)
            } else {
                pick(rng, GIVEN_FEMALE)
            };
            let dob = summary.encountered_on
                - Duration::days(i64::from(age_years) * 365 + rng.random_range(0..365));
            (*given, *pick(rng, FAMILY), dob)
        }
    }
}

/// The personal groups, as the API would receive them: identity (a document for every other
/// case, a guardian for a child), contact, the account of exploitation, health for every third
/// case, and a note.
fn personal_groups(
    rng: &mut StdRng,
    c: &CaseInputs<'_>,
    summary: &SummaryFields,
    (given, family, dob): &Person,
) -> PersonalGroups {
    let i = c.i;
    PersonalGroups {
        identity: Some(IdentityGroup {
            given_names: Some((*given).to_owned()),
            family_name: Some((*family).to_owned()),
            aliases: Vec::new(),
            date_of_birth: Some(*dob),
            documents: if i.is_multiple_of(2) {
                vec![IdentityDocument {
                    kind: "national_id".to_owned(),
                    number: format!("DEMO{:08}", i),
                    issuing_country: summary.citizenship,
                }]
            } else {
                Vec::new()
            },
            guardian: c.child.then(|| Guardian {
                name: format!("{} {}", pick(rng, GIVEN_FEMALE), family),
                relationship: "aunt".to_owned(),
                phone: None,
            }),
            languages: vec!["sw".to_owned(), "en".to_owned()],
        }),
        contact: Some(ContactGroup {
            phones: vec![format!("+256 700 {:06}", i % 1_000_000)],
            address: None,
            current_location: Some(format!("{} (demo)", c.owner_org.name)),
            emergency_contact: None,
        }),
        exploitation: Some(ExploitationGroup {
            narrative: Some(
                "Fictional account: recruited with a promise of work abroad; documents taken \
                 on arrival; long hours without pay."
                    .to_owned(),
            ),
            recruitment_details: Some(
                "Fictional: approached through an acquaintance at a market.".to_owned(),
            ),
            perpetrator_details: None,
            places: vec![summary.region.clone()],
        }),
        health: (i % 3 == 1).then(|| HealthGroup {
            physical_health: Some("Fictional: treated for exhaustion.".to_owned()),
            mental_health: None,
            disability: None,
            pregnant: None,
        }),
        legal: None,
        notes: Some(NotesGroup {
            summary_note: Some("Fictional demo record.".to_owned()),
        }),
    }
}

fn vault_error(e: tumaini_db::vault::VaultError) -> anyhow::Error {
    anyhow::anyhow!("vault: {e}")
}

/// Registration: the case row with its summary (and the workflow it then went through), its
/// assignments, then its personal groups and their search terms through the vault under the
/// case's new data key.
fn register(
    key: &NewCaseKey<'_>,
    d: &CaseDraft<'_>,
    reference: String,
    rows: &mut CaseBatch,
    sealed: &mut VaultBatch,
) -> anyhow::Result<()> {
    let c = &d.c;
    let plaintexts = d
        .groups
        .plaintexts()
        .map_err(|e| anyhow::anyhow!("demo groups: {e:?}"))?;
    let terms = d.groups.identity.as_ref().map(IdentityGroup::index_terms);
    rows.push_case(
        &NewCase {
            id: d.id.clone(),
            reference,
            owner: c.author.org.clone(),
            created_by: c.author.id.clone(),
            summary: d.summary.clone(),
        },
        &d.changes,
        d.overdue,
        c.now,
    );
    // A case worker who registers a case leads it; every third case of theirs, a colleague
    // works on it too. Inside a shelter on a need-to-know basis (the default) the other
    // colleagues see its summary only.
    if matches!(c.author.role, Role::CaseWorker | Role::Supervisor) {
        rows.push_assignment(&d.id, &c.author.id, &c.author.org, true, c.now);
        if c.i.is_multiple_of(3)
            && let Some(colleague) = c.colleague
        {
            rows.push_assignment(&d.id, &colleague.id, &colleague.org, false, c.now);
        }
    }
    let change = tumaini_db::vault::GroupChange {
        by: Some(c.author.id.clone()),
        role: Some(c.author.role),
        organisation: Some(c.author.org.clone()),
        reason: None,
    };
    for (group, plain) in &plaintexts {
        key.write_group(*group, plain, &change, sealed)
            .map_err(vault_error)?;
    }
    if let Some(terms) = &terms {
        key.set_index_terms(terms, sealed).map_err(vault_error)?;
    }
    Ok(())
}

/// A person registered again is linked to their first case as a possible duplicate (returned);
/// every person is remembered for the registrations to come.
fn link_duplicate(
    c: &CaseInputs<'_>,
    id: &CaseId,
    person: Person,
    people: &mut People,
) -> Option<CaseId> {
    let earlier = if c.i % 40 == 39 {
        people.first_case.get(&person).cloned()
    } else {
        None
    };
    people.registered.push(person);
    people
        .first_case
        .entry(person)
        .or_insert_with(|| id.clone());
    earlier
}

/// Consent: an adult's own, a child's through a guardian or a best-interest basis.
fn record_consent(
    c: &CaseInputs<'_>,
    id: &CaseId,
    is_child: bool,
    encountered_on: NaiveDate,
    rows: &mut CaseBatch,
) {
    let i = c.i;
    let mut recipients = vec![
        ConsentRecipient::Shelter,
        ConsentRecipient::Ngo,
        ConsentRecipient::Health,
        ConsentRecipient::LegalAid,
        ConsentRecipient::ChildProtection,
        ConsentRecipient::CompetentAuthority,
    ];
    if i.is_multiple_of(3) {
        recipients.push(ConsentRecipient::LawEnforcement);
    }
    if i.is_multiple_of(5) {
        recipients.push(ConsentRecipient::Abroad);
    }
    rows.push_consent(
        &NewConsent {
            id: &ConsentId::generate(),
            case_id: id,
            withdrawal: false,
            given_by: if !is_child {
                ConsentGiver::Person
            } else if i.is_multiple_of(8) {
                ConsentGiver::BestInterest
            } else {
                ConsentGiver::Guardian
            },
            method: if i.is_multiple_of(2) {
                ConsentMethod::Written
            } else {
                ConsentMethod::Verbal
            },
            purposes: &[
                ConsentPurpose::Assistance,
                ConsentPurpose::Referral,
                ConsentPurpose::Identification,
                ConsentPurpose::Statistics,
            ],
            groups: &[
                FieldGroup::Identity,
                FieldGroup::Contact,
                FieldGroup::Exploitation,
                FieldGroup::Health,
            ],
            recipients: &recipients,
            given_at: encountered_on.and_time(chrono::NaiveTime::MIN) + Duration::hours(10),
            valid_until: None,
            recorded_by: &c.author.id,
            details: None,
        },
        c.now,
    );
}

/// Screening, unless the case is still unscreened: indicator answers that give the presumption
/// the stage says, assessed by the rules; returned with the codes its answers seal.
fn screen(
    c: &CaseInputs<'_>,
    id: &CaseId,
    is_child: bool,
    at: NaiveDateTime,
) -> anyhow::Result<Option<(Screening, Vec<String>)>> {
    if c.stage == IdentificationStage::NotScreened {
        return Ok(None);
    }
    let list = IndicatorList::for_case(is_child);
    let presumed = c.stage != IdentificationStage::ScreenedNotPresumed;
    let codes: Vec<String> = answers(list, presumed)
        .iter()
        .map(|code| (*code).to_owned())
        .collect();
    let present = screening::validate(list, &codes)?;
    let a = screening::assess(list, &present);
    let screening = Screening {
        id: RecordId::generate(),
        case_id: id.clone(),
        indicator_list: list.code().to_owned(),
        strong: i32::try_from(a.strong).unwrap_or(0),
        medium: i32::try_from(a.medium).unwrap_or(0),
        weak: i32::try_from(a.weak).unwrap_or(0),
        dimensions_met: a
            .dimensions_met
            .iter()
            .map(|d| d.code())
            .collect::<Vec<_>>()
            .join(","),
        computed_presumed: a.presumed,
        overridden: false,
        presumed: a.presumed,
        screened_by: c.author.id.clone(),
        screened_at: at,
        answers: Vec::new(),
    };
    Ok(Some((screening, codes)))
}

/// Referral into the NRM and the competent authority's decisions, as far as the stage goes,
/// with their deadlines in `changes`. Returns the decisions (their reasons to be sealed) and
/// the deadline already missed, if any.
fn refer_and_decide(
    c: &CaseInputs<'_>,
    id: &CaseId,
    base: NaiveDateTime,
    changes: &mut CaseChanges,
) -> (Vec<Decision>, Option<Deadline>) {
    let stage = c.stage;
    let mut decisions = Vec::new();
    if matches!(
        stage,
        IdentificationStage::NotScreened
            | IdentificationStage::ScreenedNotPresumed
            | IdentificationStage::Presumed
    ) {
        return (decisions, None);
    }
    let mut overdue = None;
    // A case still waiting is recent, so the deadlines page shows both due and overdue.
    let referred = if stage == IdentificationStage::ReferredToNrm {
        c.now - Duration::days(i64::try_from(c.i % 12).unwrap_or(0))
    } else {
        base + Duration::days(2)
    };
    let due = c.rules.reasonable_grounds_due(referred);
    changes.referred_into_nrm_at = Some(Some(referred));
    changes.reasonable_grounds_due_at = Some(Some(due));
    if stage == IdentificationStage::ReferredToNrm && due < c.now {
        overdue = Some(Deadline::ReasonableGrounds);
    }
    let rg_at = (referred + Duration::days(4)).min(c.now);
    let mut decide = |decision: IdentificationDecision, at: NaiveDateTime| {
        decisions.push(Decision {
            id: RecordId::generate(),
            case_id: id.clone(),
            decision,
            decided_by: c.authority.id.clone(),
            decided_by_organisation: c.authority.org.clone(),
            decided_at: at,
            reasons: Vec::new(),
        });
    };
    match stage {
        IdentificationStage::ReasonableGroundsPositive
        | IdentificationStage::ConclusiveGroundsPositive
        | IdentificationStage::ConclusiveGroundsNegative => {
            decide(IdentificationDecision::ReasonableGroundsPositive, rg_at);
            changes.reasonable_grounds_decided_at = Some(Some(rg_at));
            let ends = c.rules.recovery_period_end(rg_at);
            changes.recovery_period_ends_at = Some(Some(ends));
            if stage == IdentificationStage::ReasonableGroundsPositive && ends < c.now {
                overdue = Some(Deadline::ConclusiveGrounds);
            }
            if stage != IdentificationStage::ReasonableGroundsPositive {
                let cg_at = (ends + Duration::days(3)).min(c.now);
                let decision = if stage == IdentificationStage::ConclusiveGroundsPositive {
                    IdentificationDecision::ConclusiveGroundsPositive
                } else {
                    IdentificationDecision::ConclusiveGroundsNegative
                };
                decide(decision, cg_at);
                changes.conclusive_grounds_decided_at = Some(Some(cg_at));
            }
        }
        IdentificationStage::ReasonableGroundsNegative => {
            decide(IdentificationDecision::ReasonableGroundsNegative, rg_at);
            changes.reasonable_grounds_decided_at = Some(Some(rg_at));
        }
        IdentificationStage::NotAVictim => {
            decide(IdentificationDecision::NotAVictim, rg_at);
            changes.reasonable_grounds_decided_at = Some(Some(rg_at));
        }
        _ => {}
    }
    (decisions, overdue)
}

/// The case work that goes with the status, its values still to be sealed.
#[derive(Default)]
struct CaseWork {
    assistance: Vec<Assistance>,
    note: Option<Note>,
    follow_ups: Vec<FollowUp>,
    risk: Option<RiskAssessment>,
}

/// The case work that goes with the status: assistance once the case is past `open`, a note
/// on every other case, a risk assessment while the person is supported.
fn work_on(
    rng: &mut StdRng,
    c: &CaseInputs<'_>,
    id: &CaseId,
    encountered_on: NaiveDate,
    base: NaiveDateTime,
) -> CaseWork {
    let mut work = CaseWork::default();
    if c.status != CaseStatus::Open {
        work.assistance = record_assistance(rng, c, id, encountered_on, base);
    }
    if c.i.is_multiple_of(2) {
        work.note = Some(Note {
            id: RecordId::generate(),
            case_id: id.clone(),
            written_by: c.author.id.clone(),
            written_at: base + Duration::hours(3),
            body: Vec::new(),
        });
    }
    if c.author.role == Role::CaseWorker && c.status != CaseStatus::Closed {
        work.follow_ups = schedule_follow_ups(c, id);
    }
    if matches!(c.status, CaseStatus::Active | CaseStatus::Reintegration) {
        work.risk = Some(RiskAssessment {
            id: RecordId::generate(),
            case_id: id.clone(),
            individual: *pick(rng, &[RiskLevel::Low, RiskLevel::Medium, RiskLevel::High]),
            household: *pick(rng, &[RiskLevel::Low, RiskLevel::Medium]),
            community: RiskLevel::Low,
            review_on: c.today + Duration::days(rng.random_range(7..90)),
            assessed_by: c.author.id.clone(),
            assessed_at: base + Duration::days(2),
            details: None,
        });
    }
    work
}

/// Follow-ups for the case's worker, so that "my work" has something in it: on every fifth
/// case a visit tomorrow with a reminder the day before (and a note, sealed later: it carries
/// an empty one here), on every tenth a call that is already overdue.
fn schedule_follow_ups(c: &CaseInputs<'_>, id: &CaseId) -> Vec<FollowUp> {
    use crate::cases::follow_ups;
    let follow_up = |due_on: NaiveDate, kind: FollowUpKind| FollowUp {
        id: FollowUpId::generate(),
        case_id: id.clone(),
        organisation_id: c.author.org.clone(),
        assigned_to: c.author.id.clone(),
        created_by: c.author.id.clone(),
        created_at: c.now,
        due_on,
        kind,
        note: None,
        status: FollowUpStatus::Scheduled,
        closed_at: None,
        closed_by: None,
        remind_at: None,
        reminded_at: None,
        version: 1,
    };
    let mut out = Vec::new();
    if c.i.is_multiple_of(5) {
        let due_on = c.today + Duration::days(1);
        let mut visit = follow_up(due_on, FollowUpKind::Visit);
        visit.remind_at = Some(follow_ups::remind_at(due_on, c.now));
        visit.note = Some(Vec::new());
        out.push(visit);
    }
    if c.i.is_multiple_of(10) {
        out.push(follow_up(c.today - Duration::days(3), FollowUpKind::Call));
    }
    out
}

/// One to three services, the first completed, the others planned (details sealed later).
fn record_assistance(
    rng: &mut StdRng,
    c: &CaseInputs<'_>,
    id: &CaseId,
    encountered_on: NaiveDate,
    base: NaiveDateTime,
) -> Vec<Assistance> {
    (0..(1 + c.i % 3))
        .map(|k| {
            let service = *pick(
                rng,
                &[
                    ServiceType::Shelter,
                    ServiceType::Health,
                    ServiceType::Legal,
                    ServiceType::SocialCare,
                    ServiceType::Livelihood,
                ],
            );
            Assistance {
                id: RecordId::generate(),
                case_id: id.clone(),
                service_type: service,
                provider_organisation_id: c.author.org.clone(),
                status: if k == 0 {
                    AssistanceStatus::Completed
                } else {
                    AssistanceStatus::Planned
                },
                provided_on: (encountered_on + Duration::days(1 + i64::try_from(k).unwrap_or(0)))
                    .min(c.today),
                recorded_by: c.author.id.clone(),
                recorded_at: base + Duration::days(1),
                details: Some(Vec::new()),
            }
        })
        .collect()
}

/// The status in `changes`, and for a closed case the closure: asked for by the author,
/// approved by their supervisor (or the author, in an organisation without one).
fn close(rng: &mut StdRng, c: &CaseInputs<'_>, base: NaiveDateTime, changes: &mut CaseChanges) {
    changes.status = Some(c.status);
    if c.status != CaseStatus::Closed {
        return;
    }
    changes.closure_reason = Some(Some(if c.stage == IdentificationStage::NotAVictim {
        ClosureReason::NotAVictim
    } else {
        *pick(
            rng,
            &[
                ClosureReason::ServicesCompleted,
                ClosureReason::Reintegrated,
                ClosureReason::Returned,
            ],
        )
    }));
    changes.closure_requested_at = Some(Some(base + Duration::days(30)));
    changes.closure_requested_by = Some(Some(c.author.id.clone()));
    changes.closed_at = Some(Some(base + Duration::days(31)));
    changes.closure_approved_by = Some(Some(
        c.supervisor
            .map_or_else(|| c.author.id.clone(), |s| s.id.clone()),
    ));
}

/// A JSON value sealed under the case's key for its row's `table | column | row_id`.
fn seal(
    key: &NewCaseKey<'_>,
    table: &'static str,
    column: &'static str,
    row: &RecordId,
    value: &serde_json::Value,
) -> anyhow::Result<Vec<u8>> {
    key.seal_record(
        RecordPlace {
            table,
            column,
            row_id: row.as_str(),
        },
        &SecretBytes::new(value.to_string().into_bytes()),
    )
    .map_err(vault_error)
}

/// An anonymous notification by one of the first responders, in turn, of forced labour.
fn draw_anonymous(
    rng: &mut StdRng,
    orgs: &[Organisation],
    users: &[SeedUser],
    i: usize,
) -> anyhow::Result<(AnonymousNotification, Vec<ExploitationType>)> {
    let reporters: Vec<&SeedUser> = users
        .iter()
        .filter(|u| u.role == Role::FirstResponder)
        .collect();
    let reporter = reporters[i % reporters.len()];
    let org = orgs
        .iter()
        .find(|o| o.id == reporter.org)
        .context("reporting organisation")?;
    let notification = AnonymousNotification {
        id: NotificationId::generate(),
        reference: reference::generate('N'),
        organisation_id: org.id.clone(),
        reported_by: reporter.id.clone(),
        reported_at: now_utc() - Duration::days(rng.random_range(0..365)),
        sex: if i.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
        age_band: AgeBand::of_age(rng.random_range(18..=45)),
        citizenship: pick_country(rng, NEIGHBOURS),
        exploitation_country: pick_country(rng, DESTINATIONS),
        region: area_of(org),
        encountered_on: now_utc().date() - Duration::days(rng.random_range(1..365)),
    };
    Ok((notification, vec![ExploitationType::ForcedLabour]))
}

/// Refuses production; checks the count.
pub fn check_allowed(env: crate::config::Environment, cases: usize) -> anyhow::Result<()> {
    if env == crate::config::Environment::Production {
        bail!("seed --demo writes fictional data and refuses to run with TUMAINI_ENV=production");
    }
    if cases == 0 || cases > 1_000_000 {
        bail!("--cases must be between 1 and 1000000");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tumaini_db::models::case::Case;
    use tumaini_db::models::duplicate;
    use tumaini_db::vault::{
        GroupRead, IndexQuery, KeyMaterial, KeyRing, KeyVersion, SecretString,
    };

    use super::*;

    /// Cases written in bulk read back through the vault as registered ones do: every group
    /// (with its first version, by the author), the index terms, a sealed note; the workflow is
    /// on the case row; and a person registered again is found by the blind index duplicate
    /// detection searches, with the possible duplicate recorded.
    #[test]
    fn cases_written_in_bulk_read_back_as_registered_ones() {
        let dir = tempfile::tempdir().unwrap();
        let url = tumaini_db::DatabaseUrl::parse(&format!(
            "sqlite://{}",
            dir.path().join("seed.db").display()
        ))
        .unwrap();
        let mut conn = url.connect().unwrap();
        tumaini_db::migrations::run_pending(&mut conn).unwrap();
        let vault = Vault::new(Arc::new(KeyRing::single(
            KeyVersion::FIRST,
            KeyMaterial::generate(),
        )));
        vault.check(&mut conn).unwrap();
        let rules = DeadlineRules::default();
        let (orgs, users) = create_people(&mut conn, "not a password hash").unwrap();
        let sealer = vault.bulk_sealer(&mut conn).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut people = People::default();
        let drafts: Vec<CaseDraft<'_>> = (0..40)
            .map(|i| draw_case(&mut rng, &rules, &orgs, &users, i, &mut people).unwrap())
            .collect();
        let references = fresh_references(&mut conn, drafts.len()).unwrap();
        let (rows, sealed) = seal_chunk(&sealer, &drafts, references, 3).unwrap();
        conn.write_transaction(|conn| -> Result<(), DbError> {
            rows.insert(conn)?;
            sealed.insert(conn)
        })
        .unwrap();

        for d in &drafts {
            let case = Case::find(&mut conn, &d.id).unwrap();
            assert_eq!(case.identification_stage, d.c.stage);
            assert_eq!(case.status, d.c.status);
            assert_eq!(case.version, 2);
            let plaintexts = d.groups.plaintexts().unwrap();
            for (group, plain) in &plaintexts {
                assert_eq!(
                    vault.read_group(&mut conn, &d.id, *group).unwrap(),
                    GroupRead::Plain(plain.clone())
                );
            }
            let versions = vault.group_versions(&mut conn, &d.id).unwrap();
            assert_eq!(versions.len(), plaintexts.len());
            assert!(versions.iter().all(|v| v.current
                && v.version == 1
                && v.changed_by.as_ref() == Some(&d.c.author.id)));
            assert_eq!(
                vault.read_index_terms(&mut conn, &d.id).unwrap(),
                d.groups.identity.as_ref().map(IdentityGroup::index_terms)
            );
        }
        let first = &drafts[0];
        let note = tumaini_db::models::case_record::Note::for_case(&mut conn, &first.id)
            .unwrap()
            .pop()
            .unwrap();
        let place = RecordPlace {
            table: "case_notes",
            column: "body",
            row_id: note.id.as_str(),
        };
        assert_eq!(
            vault
                .open_record(&mut conn, &first.id, place, &note.body)
                .unwrap(),
            GroupRead::Plain(SecretBytes::new(
                b"Fictional note: the person asked to call her sister.".to_vec()
            ))
        );

        // The 40th registration is the first person again.
        let again = &drafts[39];
        assert_eq!(again.duplicate_of.as_ref(), Some(&first.id));
        let identity = again.groups.identity.as_ref().unwrap();
        let found = vault
            .find_by_index(
                &mut conn,
                &IndexQuery::NameAndBirthDate {
                    name: SecretString::new(format!(
                        "{} {}",
                        identity.given_names.as_deref().unwrap(),
                        identity.family_name.as_deref().unwrap()
                    )),
                    date_of_birth: identity.date_of_birth.unwrap(),
                },
            )
            .unwrap();
        assert!(found.contains(&first.id) && found.contains(&again.id));
        assert_eq!(duplicate::involving(&mut conn, &again.id).unwrap().len(), 1);
    }
}
