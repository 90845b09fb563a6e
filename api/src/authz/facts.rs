//! The facts a decision is made on, as typed Rust values, and their translation into Cedar
//! entities. Handlers (and, later, the case and referral stores) fill these from the database;
//! nothing here comes from the caller's token.

use std::str::FromStr;

use cedar_policy::EntityUid;
use serde_json::{Value, json};
use tumaini_db::vocabulary::{OrganisationKind, Role};

/// A personal field group (DESIGN.md section 4). The summary is not one: it is plaintext and
/// read with `ReadSummary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldGroup {
    /// Names, date of birth, documents, photographs.
    Identity,
    /// Phones, addresses, location, emergency contact.
    Contact,
    /// The account of exploitation.
    Exploitation,
    /// Health.
    Health,
    /// Immigration status, proceedings, compensation.
    Legal,
    /// Notes, screening answers, risk, plans.
    Notes,
}

impl FieldGroup {
    /// Every group.
    pub const ALL: [FieldGroup; 6] = [
        Self::Identity,
        Self::Contact,
        Self::Exploitation,
        Self::Health,
        Self::Legal,
        Self::Notes,
    ];

    /// The code policies and consent use.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Contact => "contact",
            Self::Exploitation => "exploitation",
            Self::Health => "health",
            Self::Legal => "legal",
            Self::Notes => "notes",
        }
    }

    /// The action that reads this group.
    pub const fn read_action(self) -> Action {
        match self {
            Self::Identity => Action::ReadIdentity,
            Self::Contact => Action::ReadContact,
            Self::Exploitation => Action::ReadExploitation,
            Self::Health => Action::ReadHealth,
            Self::Legal => Action::ReadLegal,
            Self::Notes => Action::ReadNotes,
        }
    }
}

macro_rules! actions {
    ($($(#[$meta:meta])* $variant:ident),+ $(,)?) => {
        /// The actions of the API, as the schema names them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($(#[$meta])* $variant),+ }

        impl Action {
            /// Every action.
            pub const ALL: &'static [Action] = &[$(Self::$variant),+];

            /// The action's name in the schema.
            pub const fn name(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant)),+ }
            }
        }
    };
}

actions! {
    /// Read the identity group.
    ReadIdentity,
    /// Read the contact group.
    ReadContact,
    /// Read the exploitation group.
    ReadExploitation,
    /// Read the health group.
    ReadHealth,
    /// Read the legal group.
    ReadLegal,
    /// Read the notes group.
    ReadNotes,
    /// Read the summary.
    ReadSummary,
    /// Change case fields.
    UpdateCase,
    /// Record consent.
    RecordConsent,
    /// Record screening.
    RecordScreening,
    /// Record assistance, notes, plans, risk.
    RecordAssistance,
    /// Change the case status.
    ChangeCaseStatus,
    /// Approve closure.
    ApproveClosure,
    /// Decide identification.
    DecideIdentification,
    /// Refer the case to another organisation.
    CreateReferral,
    /// Register a case for an organisation.
    CreateCase,
    /// Read a referral.
    ReadReferral,
    /// Accept a referral.
    AcceptReferral,
    /// Decline a referral.
    DeclineReferral,
    /// Start the referred service.
    StartService,
    /// Complete the referral.
    CompleteReferral,
    /// Withdraw the referral.
    WithdrawReferral,
    /// Register or switch off organisations.
    ManageOrganisations,
    /// List organisations.
    ReadOrganisations,
    /// Manage an organisation's accounts.
    ManageUsers,
    /// Read statistics.
    ReadStatistics,
    /// Query the audit trail.
    QueryAudit,
    /// Search the service directory.
    ReadDirectory,
}

impl Action {
    /// The field group a read action names.
    pub const fn group(self) -> Option<FieldGroup> {
        match self {
            Self::ReadIdentity => Some(FieldGroup::Identity),
            Self::ReadContact => Some(FieldGroup::Contact),
            Self::ReadExploitation => Some(FieldGroup::Exploitation),
            Self::ReadHealth => Some(FieldGroup::Health),
            Self::ReadLegal => Some(FieldGroup::Legal),
            Self::ReadNotes => Some(FieldGroup::Notes),
            _ => None,
        }
    }

    /// What kind of resource the action applies to.
    pub const fn resource_kind(self) -> &'static str {
        match self {
            Self::CreateCase
            | Self::ManageOrganisations
            | Self::ReadOrganisations
            | Self::ManageUsers
            | Self::ReadStatistics
            | Self::QueryAudit
            | Self::ReadDirectory => "Organisation",
            Self::ReadReferral
            | Self::AcceptReferral
            | Self::DeclineReferral
            | Self::StartService
            | Self::CompleteReferral
            | Self::WithdrawReferral => "Referral",
            _ => "Case",
        }
    }
}

/// An organisation's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationFacts {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: OrganisationKind,
    /// Its country.
    pub country: String,
    /// Whether it is active.
    pub active: bool,
}

impl From<&tumaini_db::models::Organisation> for OrganisationFacts {
    fn from(org: &tumaini_db::models::Organisation) -> Self {
        Self {
            id: org.id.to_string(),
            kind: org.kind,
            country: org.country.to_string(),
            active: org.active,
        }
    }
}

/// The caller's facts, from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalFacts {
    /// The user's id.
    pub user_id: String,
    /// The user's role.
    pub role: Role,
    /// The user's organisation.
    pub organisation: OrganisationFacts,
    /// Whether the session passed a second factor.
    pub mfa: bool,
}

/// A case's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    /// Its id.
    pub id: String,
    /// The owning organisation.
    pub owner: OrganisationFacts,
    /// Who registered it.
    pub created_by: String,
    /// When (Unix seconds).
    pub created_at: i64,
    /// Whether the person is (or may be) a child.
    pub child: bool,
    /// Identification stage code.
    pub identification_stage: String,
    /// Case status code.
    pub status: String,
    /// Whether it has been referred into the NRM.
    pub referred_into_nrm: bool,
    /// Accepted, unfinished referrals: the receiving organisation and the groups it may see.
    pub referral_access: Vec<(OrganisationFacts, Vec<FieldGroup>)>,
    /// Current consent: (group, recipient kind code, e.g. `shelter`, `law_enforcement`,
    /// `abroad`).
    pub consent: Vec<(FieldGroup, String)>,
}

/// A referral's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralFacts {
    /// Its id.
    pub id: String,
    /// The case referred.
    pub case: CaseFacts,
    /// The referring organisation.
    pub from: OrganisationFacts,
    /// The receiving organisation.
    pub to: OrganisationFacts,
    /// State code.
    pub state: String,
    /// Field groups shared.
    pub groups: Vec<FieldGroup>,
}

/// What an action is done to.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// An organisation.
    Organisation(&'a OrganisationFacts),
    /// A case.
    Case(&'a CaseFacts),
    /// A referral.
    Referral(&'a ReferralFacts),
}

/// The request's circumstances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessContext {
    /// Now (Unix seconds).
    pub now: i64,
    /// The stated purpose of access.
    pub purpose: String,
    /// A justified break-glass opening is in force for this caller and case.
    pub break_glass: bool,
    /// How long a first responder keeps access to what they entered (seconds).
    pub first_responder_window: i64,
}

impl AccessContext {
    /// An ordinary request now, with the default first-responder window (72 hours).
    pub fn now(purpose: &str) -> Self {
        Self {
            now: chrono::Utc::now().timestamp(),
            purpose: purpose.to_owned(),
            break_glass: false,
            first_responder_window: 72 * 3600,
        }
    }

    pub(super) fn to_json(&self, action: Action) -> Value {
        json!({
            "now": self.now,
            "group": action.group().map_or("", FieldGroup::code),
            "purpose": self.purpose,
            "break_glass": self.break_glass,
            "first_responder_window": self.first_responder_window,
        })
    }
}

fn uid(kind: &str, id: &str) -> Value {
    json!({"type": format!("Tumaini::{kind}"), "id": id})
}

fn reference(kind: &str, id: &str) -> Value {
    json!({"__entity": uid(kind, id)})
}

fn organisation_json(org: &OrganisationFacts) -> Value {
    json!({
        "uid": uid("Organisation", &org.id),
        "attrs": {"kind": org.kind.code(), "country": org.country, "active": org.active},
        "parents": [],
    })
}

fn case_json(case: &CaseFacts, out: &mut Vec<Value>) {
    let mut grants = Vec::new();
    let mut holders = Vec::new();
    for (org, groups) in &case.referral_access {
        holders.push(reference("Organisation", &org.id));
        out.push(organisation_json(org));
        for group in groups {
            grants.push(
                json!({"organisation": reference("Organisation", &org.id), "group": group.code()}),
            );
        }
    }
    let consent: Vec<Value> = case
        .consent
        .iter()
        .map(|(group, kind)| json!({"group": group.code(), "recipient_kind": kind}))
        .collect();
    out.push(organisation_json(&case.owner));
    out.push(json!({
        "uid": uid("Case", &case.id),
        "attrs": {
            "owner": reference("Organisation", &case.owner.id),
            "created_by": reference("User", &case.created_by),
            "created_at": case.created_at,
            "child": case.child,
            "identification_stage": case.identification_stage,
            "status": case.status,
            "referred_into_nrm": case.referred_into_nrm,
            "referral_organisations": holders,
            "referral_access": grants,
            "consent": consent,
        },
        "parents": [],
    }));
}

/// The entities a decision needs: the principal, its organisation, and the resource with the
/// organisations it names.
pub(super) fn entities_json(principal: &PrincipalFacts, resource: &Resource<'_>) -> Value {
    let mut out = vec![
        organisation_json(&principal.organisation),
        json!({
            "uid": uid("User", &principal.user_id),
            "attrs": {
                "role": principal.role.code(),
                "organisation": reference("Organisation", &principal.organisation.id),
                "organisation_kind": principal.organisation.kind.code(),
                "law_enforcement": principal.organisation.kind.is_law_enforcement(),
                "mfa": principal.mfa,
            },
            "parents": [uid("Organisation", &principal.organisation.id)],
        }),
    ];
    match resource {
        Resource::Organisation(org) => out.push(organisation_json(org)),
        Resource::Case(case) => case_json(case, &mut out),
        Resource::Referral(referral) => {
            case_json(&referral.case, &mut out);
            out.push(organisation_json(&referral.from));
            out.push(organisation_json(&referral.to));
            out.push(json!({
                "uid": uid("Referral", &referral.id),
                "attrs": {
                    "case": reference("Case", &referral.case.id),
                    "from": reference("Organisation", &referral.from.id),
                    "to": reference("Organisation", &referral.to.id),
                    "state": referral.state,
                    "groups": referral.groups.iter().map(|g| g.code()).collect::<Vec<_>>(),
                },
                "parents": [],
            }));
        }
    }
    // The same organisation may appear several times (owner and principal's, say); keep the
    // first of each.
    let mut seen = std::collections::HashSet::new();
    out.retain(|entity| seen.insert(entity["uid"].to_string()));
    Value::Array(out)
}

pub(super) fn principal_uid(principal: &PrincipalFacts) -> Result<EntityUid, String> {
    EntityUid::from_str(&format!("Tumaini::User::{}", json!(principal.user_id)))
        .map_err(|e| e.to_string())
}

impl Resource<'_> {
    pub(super) fn uid(&self) -> Result<EntityUid, String> {
        let (kind, id) = match self {
            Self::Organisation(org) => ("Organisation", &org.id),
            Self::Case(case) => ("Case", &case.id),
            Self::Referral(referral) => ("Referral", &referral.id),
        };
        EntityUid::from_str(&format!("Tumaini::{kind}::{}", json!(id))).map_err(|e| e.to_string())
    }
}
