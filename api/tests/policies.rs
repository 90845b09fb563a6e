//! ALLOW/DENY fixtures for every policy in `policies/`.
//!
//! Fixtures: organisations of every kind that holds a role in two countries (Uganda and Kenya;
//! one deactivated), users of every role in both (privileged roles with and without a second
//! factor), cases owned in both countries in every identification stage and every status,
//! adult and child, with six consent patterns (transfer abroad granted or not) and with or
//! without an accepted referral at home or across the border, created recently or long ago,
//! with case workers assigned or not (some organisations on a need-to-know basis), and cases
//! that came by transfer; referrals in every state between five pairs of organisations, of cases
//! owned in either country; transfers in every state at home and across the border. Every (principal, action, resource, field group, break-glass) cell is
//! decided by Cedar and compared with `expected`, a plain-Rust statement of the access rules
//! (README.md and policies/README.md) kept beside the fixtures: the expected-access table. The
//! test prints the count of cells and fails on any unexpected grant or denial, and on any
//! policy that no cell exercised.

#![expect(
    clippy::expect_used,
    reason = "fixtures: a broken set-up must stop the test loudly"
)]

use std::collections::{BTreeMap, BTreeSet};

use tumaini_api::authz::{
    AccessContext, Action, Authorizer, CaseFacts, ClientFacts, Decision, FieldGroup,
    OrganisationFacts, PrincipalFacts, ReferralFacts, Resource, TransferFacts,
};
use tumaini_db::vocabulary::{ClientScope, OrganisationKind, Role};

const NOW: i64 = 1_795_000_000;
const WINDOW: i64 = 72 * 3600;

fn org(id: &str, kind: OrganisationKind, country: &str, active: bool) -> OrganisationFacts {
    OrganisationFacts {
        id: id.to_owned(),
        kind,
        country: country.to_owned(),
        active,
        need_to_know: false,
    }
}

struct World {
    orgs: Vec<OrganisationFacts>,
    principals: Vec<PrincipalFacts>,
    clients: Vec<ClientFacts>,
    cases: Vec<CaseFacts>,
    referrals: Vec<ReferralFacts>,
    transfers: Vec<TransferFacts>,
}

fn world() -> World {
    use OrganisationKind as K;
    let orgs = vec![
        org("shelter-ug", K::Shelter, "UG", true),
        org("health-ug", K::Health, "UG", true),
        org("police-ug", K::Police, "UG", true),
        org("ca-ug", K::CompetentAuthority, "UG", true),
        org("coptip", K::CoordinationOffice, "UG", true),
        org("shelter-ke", K::Shelter, "KE", true),
        org("health-ke", K::Health, "KE", true),
        org("police-ke", K::Police, "KE", true),
        org("ca-ke", K::CompetentAuthority, "KE", true),
        org("coordination-ke", K::CoordinationOffice, "KE", true),
        org("ngo-closed", K::Ngo, "UG", false),
    ]
    .into_iter()
    .map(|mut o| {
        // Need-to-know inside the Ugandan shelter and clinic and the Kenyan shelter; every case
        // worker reads the cases of the others.
        o.need_to_know = ["shelter-ug", "health-ug", "shelter-ke"].contains(&o.id.as_str());
        o
    })
    .collect::<Vec<_>>();
    let find = |id: &str| {
        orgs.iter()
            .find(|o| o.id == id)
            .expect("organisation")
            .clone()
    };
    let user = |id: &str, role: Role, org_id: &str, mfa: bool| PrincipalFacts {
        user_id: id.to_owned(),
        role,
        organisation: find(org_id),
        mfa,
    };
    let principals = vec![
        user("shelter-worker", Role::CaseWorker, "shelter-ug", false),
        user(
            "shelter-worker-unassigned",
            Role::CaseWorker,
            "shelter-ug",
            false,
        ),
        user("shelter-supervisor", Role::Supervisor, "shelter-ug", true),
        user(
            "shelter-supervisor-no-mfa",
            Role::Supervisor,
            "shelter-ug",
            false,
        ),
        user("health-worker", Role::CaseWorker, "health-ug", false),
        user("health-supervisor", Role::Supervisor, "health-ug", true),
        user("police-responder", Role::FirstResponder, "police-ug", false),
        user(
            "police-responder-2",
            Role::FirstResponder,
            "police-ug",
            false,
        ),
        user("police-supervisor", Role::Supervisor, "police-ug", true),
        user("ca-officer", Role::CompetentAuthority, "ca-ug", true),
        user(
            "ca-officer-no-mfa",
            Role::CompetentAuthority,
            "ca-ug",
            false,
        ),
        user("coordinator", Role::Coordinator, "coptip", true),
        user("coordinator-no-mfa", Role::Coordinator, "coptip", false),
        user("admin", Role::Admin, "coptip", true),
        user("kenya-worker", Role::CaseWorker, "shelter-ke", false),
        user(
            "kenya-worker-unassigned",
            Role::CaseWorker,
            "shelter-ke",
            false,
        ),
        user("kenya-supervisor", Role::Supervisor, "shelter-ke", true),
        user("kenya-health-worker", Role::CaseWorker, "health-ke", false),
        user("kenya-responder", Role::FirstResponder, "police-ke", false),
        user("kenya-ca-officer", Role::CompetentAuthority, "ca-ke", true),
        user(
            "kenya-coordinator",
            Role::Coordinator,
            "coordination-ke",
            true,
        ),
        user("closed-worker", Role::CaseWorker, "ngo-closed", false),
    ];

    let stages = [
        "not_screened",
        "presumed",
        "referred_to_nrm",
        "reasonable_grounds_positive",
        "reasonable_grounds_negative",
        "conclusive_grounds_positive",
        "conclusive_grounds_negative",
        "not_a_victim",
    ];
    let statuses = ["open", "active", "reintegration", "closed", "withdrawn"];
    let mut states: Vec<(&str, &str)> = stages.iter().map(|s| (*s, "active")).collect();
    states.extend(statuses.iter().map(|s| ("presumed", *s)));
    let consents: Vec<Vec<(FieldGroup, String)>> = vec![
        vec![],
        FieldGroup::ALL
            .iter()
            .map(|g| (*g, "health".to_owned()))
            .collect(),
        vec![
            (FieldGroup::Identity, "health".into()),
            (FieldGroup::Health, "health".into()),
            (FieldGroup::Identity, "law_enforcement".into()),
        ],
        FieldGroup::ALL
            .iter()
            .map(|g| (*g, "law_enforcement".to_owned()))
            .collect(),
        // Shelters at home and abroad, with transfer abroad for some groups.
        FieldGroup::ALL
            .iter()
            .flat_map(|g| [(*g, "shelter".to_owned()), (*g, "health".to_owned())])
            .chain([
                (FieldGroup::Identity, "abroad".to_owned()),
                (FieldGroup::Health, "abroad".to_owned()),
            ])
            .collect(),
        // The same after a new version dropped `abroad`.
        FieldGroup::ALL
            .iter()
            .flat_map(|g| [(*g, "shelter".to_owned()), (*g, "health".to_owned())])
            .collect(),
    ];
    // Every (stage, status) pair, adult and child, from three owners/ages, rotating through the
    // consent and referral patterns; and for two pivotal states (before and after referral into
    // the NRM) every combination.
    let mut combinations = Vec::new();
    for (i, (stage, status)) in states.iter().enumerate() {
        for child in [false, true] {
            combinations.push((*stage, *status, child, i % consents.len(), i % 2 == 0));
        }
    }
    for (stage, status) in [("presumed", "active"), ("referred_to_nrm", "active")] {
        for child in [false, true] {
            for c in 0..consents.len() {
                for referral in [false, true] {
                    combinations.push((stage, status, child, c, referral));
                }
            }
        }
    }
    let mut cases = Vec::new();
    for (stage, status, child, c, referral) in combinations {
        // Owned in Uganda (by a shelter, or registered by police long ago or just now), and
        // in Kenya; a Ugandan case's referral goes to a clinic at home or a shelter across the
        // border, a Kenyan case's to a Kenyan clinic.
        for (owner, creator, created_at, holder) in [
            ("shelter-ug", "police-responder", NOW - 3600, "health-ug"),
            (
                "police-ug",
                "police-responder",
                NOW - 10 * 86_400,
                "health-ug",
            ),
            ("police-ug", "police-responder", NOW - 60, "shelter-ke"),
            ("shelter-ke", "kenya-responder", NOW - 60, "health-ke"),
            ("police-ke", "kenya-responder", NOW - 3600, "shelter-ug"),
        ] {
            let referred_into_nrm = !["not_screened", "presumed"].contains(&stage);
            cases.push(CaseFacts {
                id: format!("case-{stage}-{status}-{child}-{c}-{referral}-{owner}-{created_at}"),
                owner: find(owner),
                created_by: creator.to_owned(),
                created_at,
                child,
                identification_stage: stage.to_owned(),
                status: status.to_owned(),
                referred_into_nrm,
                referral_access: if referral {
                    vec![(
                        find(holder),
                        vec![FieldGroup::Identity, FieldGroup::Health, FieldGroup::Notes],
                    )]
                } else {
                    vec![]
                },
                consent: consents[c].clone(),
                erased: false,
                restricted: false,
                // Every other case has its organisations' first case workers assigned.
                assigned: if cases.len() % 2 == 0 {
                    [
                        "shelter-worker",
                        "health-worker",
                        "kenya-worker",
                        "kenya-health-worker",
                    ]
                    .map(str::to_owned)
                    .to_vec()
                } else {
                    vec![]
                },
                owner_groups: FieldGroup::ALL.to_vec(),
                former_owners: vec![],
            });
        }
    }
    // Erased and restricted cases: owned at home and abroad, with and without a referral held,
    // with consent to shelters and clinics at home and abroad.
    let lifecycle: Vec<CaseFacts> = cases
        .iter()
        .filter(|c| {
            c.identification_stage == "referred_to_nrm" && c.consent == consents[4] && !c.child
        })
        .flat_map(|c| {
            let mut erased = c.clone();
            erased.id = format!("{}-erased", c.id);
            erased.erased = true;
            let mut restricted = c.clone();
            restricted.id = format!("{}-restricted", c.id);
            restricted.restricted = true;
            [erased, restricted]
        })
        .collect();
    cases.extend(lifecycle);
    // Cases that came by transfer: the new owner reads the groups handed over (identity and
    // notes), the former owner kept the summary or nothing.
    let transferred: Vec<CaseFacts> = cases
        .iter()
        .filter(|c| {
            c.identification_stage == "presumed"
                && c.status == "active"
                && !c.child
                && !c.erased
                && !c.restricted
        })
        .flat_map(|c| {
            let former = if c.owner.id == "shelter-ug" {
                "police-ug"
            } else {
                "shelter-ug"
            };
            let mut kept = c.clone();
            kept.id = format!("{}-transferred-kept", c.id);
            kept.owner_groups = vec![FieldGroup::Identity, FieldGroup::Notes];
            kept.former_owners = vec![find(former)];
            let mut nothing = c.clone();
            nothing.id = format!("{}-transferred", c.id);
            nothing.owner_groups = vec![FieldGroup::Identity, FieldGroup::Notes];
            [kept, nothing]
        })
        .collect();
    cases.extend(transferred);
    let mut referrals = Vec::new();
    let referral_states = [
        "sent",
        "accepted",
        "declined",
        "expired",
        "in_service",
        "completed",
        "withdrawn",
    ];
    // A Ugandan case and a Kenyan one, each with consent to shelters abroad, and the Ugandan
    // one again after `abroad` was dropped.
    let case_of = |owner: &str, consent: usize| {
        let mut case = cases
            .iter()
            .find(|c| c.owner.id == owner && c.created_at >= NOW - 3600)
            .expect("a case")
            .clone();
        case.consent = consents[consent].clone();
        case
    };
    let (ugandan, ugandan_not_abroad, kenyan) = (
        case_of("police-ug", 4),
        case_of("police-ug", 5),
        case_of("shelter-ke", 4),
    );
    let mut ugandan_restricted = ugandan.clone();
    ugandan_restricted.id = format!("{}-restricted", ugandan.id);
    ugandan_restricted.restricted = true;
    let mut ugandan_erased = ugandan.clone();
    ugandan_erased.id = format!("{}-erased", ugandan.id);
    ugandan_erased.erased = true;
    // The same case with the first case workers assigned and with nobody assigned.
    let mut ugandan_assigned = ugandan.clone();
    ugandan_assigned.id = format!("{}-assigned", ugandan.id);
    ugandan_assigned.assigned = ["shelter-worker", "health-worker", "kenya-worker"]
        .map(str::to_owned)
        .to_vec();
    let mut ugandan_unassigned = ugandan.clone();
    ugandan_unassigned.id = format!("{}-unassigned", ugandan.id);
    ugandan_unassigned.assigned = vec![];
    for (from, to, case) in [
        ("shelter-ug", "health-ug", &ugandan_assigned),
        ("shelter-ug", "health-ug", &ugandan_unassigned),
        ("shelter-ug", "shelter-ke", &ugandan_assigned),
        ("shelter-ug", "health-ug", &ugandan_restricted),
        ("police-ug", "shelter-ug", &ugandan_restricted),
        ("shelter-ug", "health-ug", &ugandan_erased),
        ("police-ug", "shelter-ug", &ugandan),
        ("shelter-ug", "health-ug", &ugandan),
        ("shelter-ug", "shelter-ke", &ugandan),
        ("shelter-ug", "shelter-ke", &ugandan_not_abroad),
        ("shelter-ke", "health-ke", &kenyan),
        ("police-ke", "shelter-ug", &kenyan),
    ] {
        for state in referral_states {
            referrals.push(ReferralFacts {
                id: format!(
                    "referral-{from}-{to}-{state}-{}-{}-{}-{}",
                    case.consent.len(),
                    case.restricted,
                    case.erased,
                    case.assigned.len()
                ),
                case: case.clone(),
                from: find(from),
                to: find(to),
                state: state.to_owned(),
                groups: vec![FieldGroup::Identity],
            });
        }
    }
    let client = |id: &str, org_id: &str, scopes: &[ClientScope]| ClientFacts {
        client_id: id.to_owned(),
        organisation: find(org_id),
        scopes: scopes.to_vec(),
    };
    let every = ClientScope::ALL;
    let mut clients = vec![
        client("client-coptip-all", "coptip", every),
        client("client-coptip-none", "coptip", &[]),
        client("client-shelter-all", "shelter-ug", every),
        client("client-police-all", "police-ug", every),
        client("client-kenya-all", "coordination-ke", every),
        client("client-closed-all", "ngo-closed", every),
    ];
    for scope in every {
        clients.push(client(
            &format!("client-coptip-{}", scope.code()),
            "coptip",
            &[*scope],
        ));
        clients.push(client(
            &format!("client-shelter-{}", scope.code()),
            "shelter-ug",
            &[*scope],
        ));
    }
    // Transfers in every state between organisations at home and across the border, of a
    // Ugandan case, restricted and erased too.
    let mut transfers = Vec::new();
    for (from, to, case) in [
        ("police-ug", "shelter-ug", &ugandan),
        ("police-ug", "shelter-ke", &ugandan),
        ("police-ug", "health-ug", &ugandan_restricted),
        ("police-ug", "shelter-ug", &ugandan_erased),
        ("shelter-ke", "shelter-ug", &kenyan),
    ] {
        for state in ["requested", "accepted", "declined", "withdrawn"] {
            transfers.push(TransferFacts {
                id: format!(
                    "transfer-{from}-{to}-{state}-{}-{}",
                    case.restricted, case.erased
                ),
                case: case.clone(),
                from: find(from),
                to: find(to),
                state: state.to_owned(),
            });
        }
    }
    World {
        orgs,
        principals,
        clients,
        cases,
        referrals,
        transfers,
    }
}

/// The expected-access table of machine clients: only what a scope names, with the
/// jurisdiction of a national coordinator (a coordination office's client) or of its own
/// organisation (any other); never a personal group, never a change, never a referral.
fn expected_client(c: &ClientFacts, action: Action, resource: &Resource<'_>) -> bool {
    if !c.organisation.active {
        return false;
    }
    let has = |scope: ClientScope| c.scopes.contains(&scope);
    let national = c.organisation.kind == OrganisationKind::CoordinationOffice;
    let reaches = |org: &OrganisationFacts| {
        if national {
            c.organisation.country == org.country
        } else {
            c.organisation.id == org.id
        }
    };
    match (action, resource) {
        (Action::QueryAudit, Resource::Organisation(o)) => {
            has(ClientScope::AuditRead) && reaches(o)
        }
        (Action::ReadStatistics, Resource::Organisation(o)) => {
            has(ClientScope::StatisticsRead) && reaches(o)
        }
        (Action::ReadReferralOverview, Resource::Organisation(o)) => {
            has(ClientScope::ReferralsOverview) && reaches(o)
        }
        (Action::ReadDirectory, Resource::Organisation(_)) => has(ClientScope::DirectoryRead),
        (Action::ReadSummary, Resource::Case(case)) => {
            has(ClientScope::CasesSummary) && reaches(&case.owner)
        }
        _ => false,
    }
}

/// The expected-access table: the roles and access rules, stated plainly.
fn expected(
    p: &PrincipalFacts,
    action: Action,
    resource: &Resource<'_>,
    ctx: &AccessContext,
) -> bool {
    use Role::*;
    if !p.organisation.active {
        return false; // staff of a deactivated organisation do nothing
    }
    if matches!(
        p.role,
        Coordinator | CompetentAuthority | Supervisor | Admin
    ) && !p.mfa
    {
        return false; // privileged roles only after a second factor
    }
    let staff = matches!(p.role, CaseWorker | Supervisor);
    // Coordinators and competent authorities act within their own country only.
    let national = matches!(p.role, Coordinator | CompetentAuthority);
    match resource {
        Resource::Organisation(o) => {
            let own = p.organisation.id == o.id;
            match action {
                Action::CreateCase => {
                    matches!(p.role, FirstResponder | CaseWorker | Supervisor) && own
                }
                Action::ManageOrganisations => p.role == Admin,
                Action::ReadOrganisations => matches!(p.role, Admin | Coordinator),
                Action::ManageUsers => p.role == Admin || (p.role == Supervisor && own),
                Action::ReadDirectory => true,
                Action::SetCaseAccess => p.role == Supervisor && own,
                Action::ManageServices | Action::ManageWebhooks => {
                    p.role == Admin || (p.role == Supervisor && own)
                }
                Action::ReadStatistics
                | Action::QueryAudit
                | Action::ReadReferralOverview
                | Action::ApproveAccountGrant => {
                    (p.role == Coordinator && p.organisation.country == o.country)
                        || (p.role == Supervisor && own)
                }
                _ => unreachable!("not an organisation action"),
            }
        }
        Resource::Case(c) => {
            if p.role == Admin {
                return false; // separation of duties
            }
            if national && p.organisation.country != c.owner.country {
                return false; // jurisdiction
            }
            let owner = p.organisation.id == c.owner.id;
            let holder = c
                .referral_access
                .iter()
                .any(|(o, _)| o.id == p.organisation.id);
            let holder_group = |g: FieldGroup| {
                c.referral_access
                    .iter()
                    .any(|(o, groups)| o.id == p.organisation.id && groups.contains(&g))
            };
            let consented =
                |g: FieldGroup, kind: &str| c.consent.iter().any(|(cg, k)| *cg == g && k == kind);
            let recent_responder = p.role == FirstResponder
                && c.created_by == p.user_id
                && ctx.now < c.created_at + ctx.first_responder_window;
            let authority = p.role == CompetentAuthority
                && p.organisation.kind == OrganisationKind::CompetentAuthority
                && c.referred_into_nrm;
            let former_owner = c.former_owners.iter().any(|o| o.id == p.organisation.id);
            // Need-to-know: a case worker of such an organisation not assigned to the case.
            let unassigned = p.role == CaseWorker
                && p.organisation.need_to_know
                && !c.assigned.contains(&p.user_id);
            if let Some(g) = action.group() {
                if unassigned {
                    return false; // need-to-know: a case worker reads only assigned cases
                }
                if p.organisation.kind.is_law_enforcement() && !consented(g, "law_enforcement") {
                    return false;
                }
                if p.organisation.country != c.owner.country && !consented(g, "abroad") {
                    return false; // a reader abroad needs consent to transfer abroad
                }
                let inside = owner
                    || holder
                    || c.created_by == p.user_id
                    || (p.role == CompetentAuthority && c.referred_into_nrm)
                    || (ctx.break_glass && matches!(p.role, Coordinator | Supervisor));
                if !inside {
                    return false;
                }
                let dispute_or_access =
                    ["restriction_dispute", "subject_access"].contains(&ctx.purpose.as_str());
                if c.restricted && !(p.role == Supervisor && owner && dispute_or_access) {
                    // restricted: only the owner's supervisors, for the dispute or the person's
                    // own access
                    return false;
                }
                return (staff && owner && c.owner_groups.contains(&g))
                    || (staff && holder_group(g) && consented(g, p.organisation.kind.code()))
                    || recent_responder
                    || (p.role == Coordinator && ctx.break_glass)
                    || (p.role == Supervisor && ctx.break_glass && (owner || holder))
                    || (authority
                        && matches!(
                            g,
                            FieldGroup::Identity | FieldGroup::Exploitation | FieldGroup::Legal
                        ));
            }
            let is_final = matches!(
                action,
                Action::UpdateCase
                    | Action::RecordConsent
                    | Action::RecordScreening
                    | Action::RecordAssistance
                    | Action::ChangeCaseStatus
                    | Action::ApproveClosure
                    | Action::DecideIdentification
                    | Action::CreateReferral
                    | Action::ResolveDuplicate
                    | Action::OpenBreakGlass
                    | Action::RequestErasure
                    | Action::ApproveErasure
                    | Action::ManageLegalHold
                    | Action::RestrictProcessing
                    | Action::AssignStaff
                    | Action::RequestTransfer
            );
            if c.erased && is_final {
                return false; // an erased case is final
            }
            match action {
                Action::ReadSummary => {
                    (staff && (owner || holder || former_owner))
                        || recent_responder
                        || p.role == Coordinator
                        || authority
                }
                Action::UpdateCase | Action::RecordConsent | Action::RecordScreening => {
                    (staff && owner) || recent_responder
                }
                Action::RecordAssistance => staff && (owner || holder),
                Action::ChangeCaseStatus => staff && owner,
                Action::ApproveClosure => p.role == Supervisor && owner,
                Action::DecideIdentification => authority,
                Action::CreateReferral => {
                    !c.restricted && ((staff && (owner || holder)) || recent_responder)
                }
                Action::ResolveDuplicate => {
                    (p.role == Supervisor && owner) || p.role == Coordinator
                }
                Action::OpenBreakGlass => {
                    p.role == Coordinator || (p.role == Supervisor && (owner || holder))
                }
                Action::RequestErasure | Action::ExportSubjectAccess => {
                    p.role == Supervisor && owner
                }
                Action::ApproveErasure | Action::RestrictProcessing => {
                    p.role == Coordinator || (p.role == Supervisor && owner)
                }
                Action::ManageLegalHold => p.role == Coordinator,
                Action::ReadHistory => staff && (owner || holder) && !unassigned,
                Action::AssignStaff => p.role == Supervisor && (owner || holder),
                Action::RequestTransfer => staff && owner && !c.restricted && !unassigned,
                _ => unreachable!("not a case action"),
            }
        }
        Resource::Transfer(t) => {
            if p.role == Admin {
                return false;
            }
            if national
                && p.organisation.country != t.from.country
                && p.organisation.country != t.to.country
            {
                return false; // jurisdiction: transfers leaving or coming into the country
            }
            let to = p.organisation.id == t.to.id;
            let from = p.organisation.id == t.from.id;
            let waiting = t.state == "requested";
            match action {
                Action::ReadTransfer => (staff && (to || from)) || p.role == Coordinator,
                Action::AcceptTransfer => {
                    staff && to && waiting && !t.case.erased && !t.case.restricted
                }
                Action::DeclineTransfer => staff && to && waiting,
                Action::WithdrawTransfer => staff && from && waiting,
                _ => unreachable!("not a transfer action"),
            }
        }
        Resource::Referral(r) => {
            if p.role == Admin {
                return false;
            }
            if national && p.organisation.country != r.case.owner.country {
                return false; // jurisdiction
            }
            let party_role = matches!(p.role, FirstResponder | CaseWorker | Supervisor);
            let to = p.organisation.id == r.to.id;
            let from = p.organisation.id == r.from.id;
            if r.case.erased
                && matches!(
                    action,
                    Action::AcceptReferral
                        | Action::DeclineReferral
                        | Action::StartService
                        | Action::CompleteReferral
                        | Action::ReadReferralReason
                )
            {
                return false; // the referrals of an erased case ended with it
            }
            if action == Action::ReadReferralReason
                && r.case.restricted
                && !(p.role == Supervisor
                    && p.organisation.id == r.case.owner.id
                    && ["restriction_dispute", "subject_access"].contains(&ctx.purpose.as_str()))
            {
                return false; // restricted: the reason is read as the personal groups are
            }
            if action == Action::ReadReferralReason
                && p.role == CaseWorker
                && p.organisation.need_to_know
                && !r.case.assigned.contains(&p.user_id)
                && (from || r.state != "sent")
            {
                return false; // need-to-know: once answered, only the assigned read the reason
            }
            match action {
                Action::ReadReferralReason => {
                    let abroad_consent = r.case.consent.iter().any(|(_, k)| k == "abroad");
                    let reader = (staff && (to || from))
                        || (p.role == FirstResponder
                            && from
                            && r.case.created_by == p.user_id
                            && ctx.now < r.case.created_at + ctx.first_responder_window);
                    reader && (p.organisation.country == r.case.owner.country || abroad_consent)
                }
                Action::ReadReferral => (party_role && (to || from)) || p.role == Coordinator,
                Action::AcceptReferral => staff && to && r.state == "sent" && !r.case.restricted,
                Action::DeclineReferral => staff && to && r.state == "sent",
                Action::StartService => staff && to && r.state == "accepted",
                Action::CompleteReferral => staff && to && r.state == "in_service",
                Action::WithdrawReferral => {
                    party_role
                        && from
                        && ["sent", "accepted", "in_service"].contains(&r.state.as_str())
                }
                _ => unreachable!("not a referral action"),
            }
        }
    }
}

/// The cells decided and what was unexpected.
#[derive(Default)]
struct Tally {
    cells: usize,
    allowed: usize,
    client_cells: usize,
    client_allowed: usize,
    unexpected_grants: Vec<String>,
    unexpected_denials: Vec<String>,
    exercised: BTreeSet<String>,
}

impl Tally {
    fn add(
        &mut self,
        who: &str,
        action: Action,
        label: &str,
        ctx: &AccessContext,
        decision: &Decision,
        want: bool,
    ) {
        self.cells += 1;
        self.allowed += usize::from(decision.allowed);
        // Almost every cell is decided by policies already seen: look before copying an id.
        for id in &decision.policy_ids {
            if !self.exercised.contains(id) {
                self.exercised.insert(id.clone());
            }
        }
        let line = |verb: &str| {
            format!(
                "{who} {} {label} break_glass={} purpose={} {verb} {:?}",
                action.name(),
                ctx.break_glass,
                ctx.purpose,
                decision.policy_ids
            )
        };
        if decision.allowed && !want {
            self.unexpected_grants.push(line("by"));
        } else if !decision.allowed && want {
            self.unexpected_denials.push(line("forbids"));
        }
    }

    /// Another worker's cells added to these.
    fn merge(&mut self, other: Self) {
        self.cells += other.cells;
        self.allowed += other.allowed;
        self.client_cells += other.client_cells;
        self.client_allowed += other.client_allowed;
        self.unexpected_grants.extend(other.unexpected_grants);
        self.unexpected_denials.extend(other.unexpected_denials);
        self.exercised.extend(other.exercised);
    }
}

/// The circumstances every cell is decided in: an ordinary request, one under break-glass, and
/// the two purposes that open a restricted case.
fn contexts() -> Vec<AccessContext> {
    [
        (false, "case_management"),
        (true, "case_management"),
        (false, "restriction_dispute"),
        (false, "subject_access"),
    ]
    .into_iter()
    .map(|(break_glass, purpose)| AccessContext {
        now: NOW,
        purpose: purpose.into(),
        break_glass,
        first_responder_window: WINDOW,
    })
    .collect()
}

/// Whether the table asks about `action` in `ctx`: the purpose changes a decision only for the
/// personal groups of a restricted case (and the reason given for one of its referrals).
fn asked_in(action: Action, ctx: &AccessContext) -> bool {
    ctx.purpose == "case_management"
        || action.group().is_some()
        || action == Action::ReadReferralReason
}

/// Every resource of a kind (as `Action::resource_kind` names it) in the world, with a label.
fn resources<'w>(world: &'w World, kind: &str) -> Vec<(Resource<'w>, &'w str)> {
    match kind {
        "Organisation" => world
            .orgs
            .iter()
            .map(|o| (Resource::Organisation(o), o.id.as_str()))
            .collect(),
        "Referral" => world
            .referrals
            .iter()
            .map(|r| (Resource::Referral(r), r.id.as_str()))
            .collect(),
        "Transfer" => world
            .transfers
            .iter()
            .map(|t| (Resource::Transfer(t), t.id.as_str()))
            .collect(),
        _ => world
            .cases
            .iter()
            .map(|c| (Resource::Case(c), c.id.as_str()))
            .collect(),
    }
}

/// One resource of the world, with its label and the actions that apply to it.
type Target<'w> = (Resource<'w>, &'w str, &'w [Action]);

/// Every cell of one resource: each subject, each of its actions, each context. A subject's
/// entities are prepared once for all of them, as a request that asks several questions
/// about one resource does.
fn decide_every_cell_of(
    authorizer: &Authorizer,
    world: &World,
    contexts: &[AccessContext],
    (resource, label, actions): &Target<'_>,
    tally: &mut Tally,
) {
    for p in &world.principals {
        let prepared = authorizer.prepare(p, resource);
        for ctx in contexts {
            for &action in actions.iter().filter(|a| asked_in(**a, ctx)) {
                let decision = authorizer.decide_prepared(&prepared, p, action, resource, ctx);
                let want = expected(p, action, resource, ctx);
                tally.add(&p.user_id, action, label, ctx, &decision, want);
            }
        }
    }
    for c in &world.clients {
        let prepared = authorizer.prepare(c, resource);
        for ctx in contexts {
            for &action in actions.iter().filter(|a| asked_in(**a, ctx)) {
                let decision = authorizer.decide_prepared(&prepared, c, action, resource, ctx);
                let want = expected_client(c, action, resource);
                tally.client_cells += 1;
                tally.client_allowed += usize::from(decision.allowed);
                tally.add(&c.client_id, action, label, ctx, &decision, want);
            }
        }
    }
}

#[test]
fn every_cell_matches_the_expected_access_table() {
    let authorizer = Authorizer::embedded().expect("policies");
    let world = world();
    let contexts = contexts();
    let mut actions_by_kind: BTreeMap<&str, Vec<Action>> = BTreeMap::new();
    for &action in Action::ALL {
        actions_by_kind
            .entry(action.resource_kind())
            .or_default()
            .push(action);
    }
    let targets: Vec<Target<'_>> = actions_by_kind
        .iter()
        .flat_map(|(kind, actions)| {
            resources(&world, kind)
                .into_iter()
                .map(|(resource, label)| (resource, label, actions.as_slice()))
        })
        .collect();
    // Over a million cells: every core takes every n-th resource, and the tallies are summed.
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let tally = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let (authorizer, world, contexts, targets) =
                    (&authorizer, &world, &contexts, &targets);
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    for target in targets.iter().skip(worker).step_by(workers) {
                        decide_every_cell_of(authorizer, world, contexts, target, &mut tally);
                    }
                    tally
                })
            })
            .collect();
        let mut total = Tally::default();
        for handle in handles {
            total.merge(
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        total
    });
    let Tally {
        cells,
        allowed,
        client_cells,
        client_allowed,
        mut unexpected_grants,
        mut unexpected_denials,
        exercised,
    } = tally;
    // The workers finish in any order; the lines shown do not depend on it.
    unexpected_grants.sort();
    unexpected_denials.sort();
    println!(
        "policy fixtures: {cells} cells ({allowed} allowed, {} denied), of which {client_cells} \
         for machine clients ({client_allowed} allowed); {} unexpected grants, {} unexpected \
         denials",
        cells - allowed,
        unexpected_grants.len(),
        unexpected_denials.len()
    );
    assert!(
        unexpected_grants.is_empty(),
        "unexpected grants:\n{}",
        unexpected_grants
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        unexpected_denials.is_empty(),
        "unexpected denials:\n{}",
        unexpected_denials
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let unused: Vec<String> = authorizer
        .policy_ids()
        .into_iter()
        .filter(|id| !exercised.contains(id))
        .collect();
    assert!(unused.is_empty(), "policies no cell exercised: {unused:?}");
}
