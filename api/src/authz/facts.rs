//! The facts a decision is made on, as typed Rust values, and their translation into Cedar
//! entities. Handlers (and, later, the case and referral stores) fill these from the database;
//! nothing here comes from the caller's token.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::LazyLock;

use cedar_policy::{
    Context, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression as R,
};
use tumaini_db::vocabulary::{ClientScope, OrganisationKind, Role};

/// A personal field group. The summary is not one: it is plaintext and
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

    /// The group with this code (`summary` is not a personal group).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.code() == code)
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
    /// Link or dismiss a possible duplicate.
    ResolveDuplicate,
    /// Open personal groups by break-glass.
    OpenBreakGlass,
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
    /// Read the reason given for a referral, in the referrer's words.
    ReadReferralReason,
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
    /// Read the referral overview (how each organisation answers the referrals it receives).
    ReadReferralOverview,
    /// Search the service directory.
    ReadDirectory,
    /// Publish, change or withdraw an organisation's listings in the service directory.
    ManageServices,
    /// Approve a role that reads cases, granted to a member of an organisation by someone who
    /// may not read cases.
    ApproveAccountGrant,
    /// Register, list and delete an organisation's webhook endpoints.
    ManageWebhooks,
    /// Choose who inside one's organisation reads the personal groups of its cases.
    SetCaseAccess,
    /// Ask for a case's erasure (the first of two people).
    RequestErasure,
    /// Approve (and so execute) or refuse a case's erasure (the second person).
    ApproveErasure,
    /// Place or lift a legal hold on a case.
    ManageLegalHold,
    /// Export everything held about the person of a case (subject access).
    ExportSubjectAccess,
    /// List the versions of a case's personal groups (who, when, which groups, why).
    ReadHistory,
    /// Restrict processing of a case, or lift the restriction.
    RestrictProcessing,
    /// Assign staff of one's organisation to a case (the lead and others), or end an assignment.
    AssignStaff,
    /// Ask another organisation to take a case over.
    RequestTransfer,
    /// Read a transfer.
    ReadTransfer,
    /// Accept a transfer: the case becomes the receiver's.
    AcceptTransfer,
    /// Decline a transfer.
    DeclineTransfer,
    /// Withdraw a transfer still waiting.
    WithdrawTransfer,
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
            | Self::ReadReferralOverview
            | Self::ReadDirectory
            | Self::ManageServices
            | Self::ApproveAccountGrant
            | Self::ManageWebhooks
            | Self::SetCaseAccess => "Organisation",
            Self::ReadReferral
            | Self::AcceptReferral
            | Self::DeclineReferral
            | Self::StartService
            | Self::CompleteReferral
            | Self::WithdrawReferral
            | Self::ReadReferralReason => "Referral",
            Self::ReadTransfer
            | Self::AcceptTransfer
            | Self::DeclineTransfer
            | Self::WithdrawTransfer => "Transfer",
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
    /// Its case workers read a case's personal groups only when assigned to it.
    pub need_to_know: bool,
}

impl From<&tumaini_db::models::Organisation> for OrganisationFacts {
    fn from(org: &tumaini_db::models::Organisation) -> Self {
        Self {
            id: org.id.to_string(),
            kind: org.kind,
            country: org.country.to_string(),
            active: org.active,
            need_to_know: org.case_access == tumaini_db::vocabulary::CaseAccessMode::NeedToKnow,
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

/// A machine client's facts, from the database (never from its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFacts {
    /// The client's id.
    pub client_id: String,
    /// Its organisation.
    pub organisation: OrganisationFacts,
    /// The scopes in force for this request: granted to the client and named by its token.
    pub scopes: Vec<ClientScope>,
}

/// Who asks the policies: a person or a machine client.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A signed-in person.
    User(&'a PrincipalFacts),
    /// A machine client.
    Client(&'a ClientFacts),
}

impl<'a> From<&'a PrincipalFacts> for Subject<'a> {
    fn from(user: &'a PrincipalFacts) -> Self {
        Self::User(user)
    }
}

impl<'a> From<&'a ClientFacts> for Subject<'a> {
    fn from(client: &'a ClientFacts) -> Self {
        Self::Client(client)
    }
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
    /// Its personal data was erased: only the summary (or less) remains.
    pub erased: bool,
    /// Processing is restricted while a dispute about it is resolved.
    pub restricted: bool,
    /// The staff assigned to it (user ids, every organisation).
    pub assigned: Vec<String>,
    /// The groups its owner reads: all six, or for a case that came by transfer the groups the
    /// last transfer handed over.
    pub owner_groups: Vec<FieldGroup>,
    /// Organisations that transferred it away keeping its summary.
    pub former_owners: Vec<OrganisationFacts>,
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

/// A transfer's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFacts {
    /// Its id.
    pub id: String,
    /// The case transferred.
    pub case: CaseFacts,
    /// The sending organisation.
    pub from: OrganisationFacts,
    /// The receiving organisation.
    pub to: OrganisationFacts,
    /// State code.
    pub state: String,
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
    /// A transfer.
    Transfer(&'a TransferFacts),
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

    pub(super) fn to_context(&self, action: Action) -> Result<Context, String> {
        Context::from_pairs([
            ("now".to_owned(), R::new_long(self.now)),
            (
                "group".to_owned(),
                R::new_string(action.group().map_or("", FieldGroup::code).to_owned()),
            ),
            ("purpose".to_owned(), R::new_string(self.purpose.clone())),
            ("break_glass".to_owned(), R::new_bool(self.break_glass)),
            (
                "first_responder_window".to_owned(),
                R::new_long(self.first_responder_window),
            ),
        ])
        .map_err(|e| e.to_string())
    }
}

static TYPES: LazyLock<[EntityTypeName; 6]> = LazyLock::new(|| {
    [
        "Organisation",
        "User",
        "Case",
        "Referral",
        "Client",
        "Transfer",
    ]
    .map(|kind| {
        EntityTypeName::from_str(&format!("Tumaini::{kind}"))
            .unwrap_or_else(|_| unreachable!("a valid type name"))
    })
});

#[derive(Clone, Copy)]
enum Kind {
    Organisation = 0,
    User = 1,
    Case = 2,
    Referral = 3,
    Client = 4,
    Transfer = 5,
}

fn uid(kind: Kind, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(TYPES[kind as usize].clone(), EntityId::new(id))
}

fn reference(kind: Kind, id: &str) -> R {
    R::new_entity_uid(uid(kind, id))
}

fn entity(
    kind: Kind,
    id: &str,
    attrs: Vec<(&str, R)>,
    parents: Vec<EntityUid>,
) -> Result<Entity, String> {
    Entity::new(
        uid(kind, id),
        attrs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<HashMap<_, _>>(),
        parents.into_iter().collect::<HashSet<_>>(),
    )
    .map_err(|e| e.to_string())
}

fn organisation_entity(org: &OrganisationFacts) -> Result<Entity, String> {
    entity(
        Kind::Organisation,
        &org.id,
        vec![
            ("kind", R::new_string(org.kind.code().to_owned())),
            ("country", R::new_string(org.country.clone())),
            ("active", R::new_bool(org.active)),
            ("need_to_know", R::new_bool(org.need_to_know)),
        ],
        vec![],
    )
}

fn case_entities(case: &CaseFacts, out: &mut Vec<Entity>) -> Result<(), String> {
    let mut grants = Vec::new();
    let mut holders = Vec::new();
    for (org, groups) in &case.referral_access {
        holders.push(reference(Kind::Organisation, &org.id));
        out.push(organisation_entity(org)?);
        for group in groups {
            grants.push(
                R::new_record([
                    (
                        "organisation".to_owned(),
                        reference(Kind::Organisation, &org.id),
                    ),
                    ("group".to_owned(), R::new_string(group.code().to_owned())),
                ])
                .map_err(|e| e.to_string())?,
            );
        }
    }
    let consent = case
        .consent
        .iter()
        .map(|(group, kind)| {
            R::new_record([
                ("group".to_owned(), R::new_string(group.code().to_owned())),
                ("recipient_kind".to_owned(), R::new_string(kind.clone())),
            ])
            .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    out.push(organisation_entity(&case.owner)?);
    let mut former = Vec::new();
    for org in &case.former_owners {
        former.push(reference(Kind::Organisation, &org.id));
        out.push(organisation_entity(org)?);
    }
    out.push(entity(
        Kind::Case,
        &case.id,
        vec![
            ("owner", reference(Kind::Organisation, &case.owner.id)),
            ("created_by", reference(Kind::User, &case.created_by)),
            ("created_at", R::new_long(case.created_at)),
            ("child", R::new_bool(case.child)),
            (
                "identification_stage",
                R::new_string(case.identification_stage.clone()),
            ),
            ("status", R::new_string(case.status.clone())),
            ("referred_into_nrm", R::new_bool(case.referred_into_nrm)),
            ("referral_organisations", R::new_set(holders)),
            ("referral_access", R::new_set(grants)),
            ("consent", R::new_set(consent)),
            ("erased", R::new_bool(case.erased)),
            ("restricted", R::new_bool(case.restricted)),
            (
                "assigned",
                R::new_set(case.assigned.iter().map(|u| reference(Kind::User, u))),
            ),
            (
                "owner_groups",
                R::new_set(
                    case.owner_groups
                        .iter()
                        .map(|g| R::new_string(g.code().to_owned())),
                ),
            ),
            ("former_owners", R::new_set(former)),
        ],
        vec![],
    )?);
    Ok(())
}

fn client_entity(client: &ClientFacts) -> Result<Entity, String> {
    entity(
        Kind::Client,
        &client.client_id,
        vec![
            (
                "organisation",
                reference(Kind::Organisation, &client.organisation.id),
            ),
            (
                "organisation_kind",
                R::new_string(client.organisation.kind.code().to_owned()),
            ),
            (
                "scopes",
                R::new_set(
                    client
                        .scopes
                        .iter()
                        .map(|s| R::new_string(s.code().to_owned())),
                ),
            ),
        ],
        vec![uid(Kind::Organisation, &client.organisation.id)],
    )
}

fn subject_entities(subject: Subject<'_>) -> Result<Vec<Entity>, String> {
    let principal = match subject {
        Subject::User(user) => user,
        Subject::Client(client) => {
            return Ok(vec![
                organisation_entity(&client.organisation)?,
                client_entity(client)?,
            ]);
        }
    };
    Ok(vec![
        organisation_entity(&principal.organisation)?,
        entity(
            Kind::User,
            &principal.user_id,
            vec![
                ("role", R::new_string(principal.role.code().to_owned())),
                (
                    "organisation",
                    reference(Kind::Organisation, &principal.organisation.id),
                ),
                (
                    "organisation_kind",
                    R::new_string(principal.organisation.kind.code().to_owned()),
                ),
                (
                    "law_enforcement",
                    R::new_bool(principal.organisation.kind.is_law_enforcement()),
                ),
                ("mfa", R::new_bool(principal.mfa)),
            ],
            vec![uid(Kind::Organisation, &principal.organisation.id)],
        )?,
    ])
}

/// The entities a decision needs: the principal, its organisation, and the resource with the
/// organisations it names.
pub(super) fn entities(
    subject: Subject<'_>,
    resource: &Resource<'_>,
) -> Result<Vec<Entity>, String> {
    let mut out = subject_entities(subject)?;
    match resource {
        Resource::Organisation(org) => out.push(organisation_entity(org)?),
        Resource::Case(case) => case_entities(case, &mut out)?,
        Resource::Referral(referral) => {
            case_entities(&referral.case, &mut out)?;
            out.push(organisation_entity(&referral.from)?);
            out.push(organisation_entity(&referral.to)?);
            out.push(entity(
                Kind::Referral,
                &referral.id,
                vec![
                    ("case", reference(Kind::Case, &referral.case.id)),
                    ("from", reference(Kind::Organisation, &referral.from.id)),
                    ("to", reference(Kind::Organisation, &referral.to.id)),
                    ("state", R::new_string(referral.state.clone())),
                    (
                        "groups",
                        R::new_set(
                            referral
                                .groups
                                .iter()
                                .map(|g| R::new_string(g.code().to_owned())),
                        ),
                    ),
                ],
                vec![],
            )?);
        }
        Resource::Transfer(transfer) => {
            case_entities(&transfer.case, &mut out)?;
            out.push(organisation_entity(&transfer.from)?);
            out.push(organisation_entity(&transfer.to)?);
            out.push(entity(
                Kind::Transfer,
                &transfer.id,
                vec![
                    ("case", reference(Kind::Case, &transfer.case.id)),
                    ("from", reference(Kind::Organisation, &transfer.from.id)),
                    ("to", reference(Kind::Organisation, &transfer.to.id)),
                    ("state", R::new_string(transfer.state.clone())),
                ],
                vec![],
            )?);
        }
    }
    // The same organisation may appear several times (owner and principal's, say); keep the
    // first of each.
    let mut seen = HashSet::new();
    out.retain(|entity| seen.insert(entity.uid()));
    Ok(out)
}

pub(super) fn principal_uid(subject: Subject<'_>) -> EntityUid {
    match subject {
        Subject::User(user) => uid(Kind::User, &user.user_id),
        Subject::Client(client) => uid(Kind::Client, &client.client_id),
    }
}

impl Resource<'_> {
    pub(super) fn uid(&self) -> EntityUid {
        match self {
            Self::Organisation(org) => uid(Kind::Organisation, &org.id),
            Self::Case(case) => uid(Kind::Case, &case.id),
            Self::Referral(referral) => uid(Kind::Referral, &referral.id),
            Self::Transfer(transfer) => uid(Kind::Transfer, &transfer.id),
        }
    }
}
