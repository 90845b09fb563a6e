//! What the policies decide a case request on, read for one case or for a page of cases in a
//! fixed number of queries whatever the number of cases: the owner, the newest consent, the
//! referrals in force, the assigned staff and the accepted transfers. A list page does not pay
//! a round trip per row, and a single read pays the same few.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, OrgId, UserId};
use crate::models::Organisation;
use crate::models::case::Case;
use crate::models::case::SummaryLists;
use crate::models::consent::{Consent, ConsentRow};
use crate::models::referral::split;
use crate::models::transfer::{OwnershipFacts, ownership_of};
use crate::schema::{
    case_assignments, case_exploitation_types, case_means_of_control, case_transfers, consents,
    organisations, referrals,
};
use crate::vocabulary::{FieldGroup, ReferralState, SenderKeeps, TransferState};
use crate::{DbConn, DbError};

/// A case with what the policies need to know about it, as stored.
#[derive(Debug, Clone)]
pub struct CaseFactRows {
    /// The case.
    pub case: Case,
    /// Its owner.
    pub owner: Organisation,
    /// Its newest consent record (possibly a withdrawal), if any.
    pub newest_consent: Option<Consent>,
    /// The organisations holding it through an accepted or in-service referral, with the
    /// groups each was sent.
    pub referral_access: Vec<(Organisation, Vec<FieldGroup>)>,
    /// The staff assigned to it.
    pub assigned: Vec<UserId>,
    /// What its accepted transfers mean for access now.
    pub ownership: OwnershipFacts,
    /// The former owners that kept its summary (those of `ownership`), as stored.
    pub former_owners: Vec<Organisation>,
    /// The summary's lists: its exploitation types and means of control, sorted.
    pub lists: SummaryLists,
}

const REFERRAL: &str = "r";
const ASSIGNED: &str = "a";
const TRANSFER: &str = "t";
const EXPLOITATION: &str = "e";
const MEANS: &str = "m";

/// An accepted transfer, with what orders them.
struct Transfer {
    at: Option<NaiveDateTime>,
    tie: String,
    from: OrgId,
    groups: String,
    keeps: SenderKeeps,
}

fn undecodable(what: &str) -> DbError {
    DbError::Query(diesel::result::Error::DeserializationError(
        format!("unknown code in {what}").into(),
    ))
}

/// One row of [`related`]: a kind, the case, up to three values, and a transfer's order.
type Related = (
    String,
    CaseId,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<String>,
);

/// The rows of `ids`' referrals in force (to, groups), assignments (user), accepted
/// transfers (from, groups, sender keeps, decided at, id) and summary lists (code), as one
/// `UNION ALL` that diesel prepares once per connection.
fn related(conn: &mut DbConn, ids: &[CaseId]) -> Result<Vec<Related>, DbError> {
    use diesel::sql_types::{Nullable, Text, Timestamp};
    let none = || None::<String>.into_sql::<Nullable<Text>>();
    let never = || None::<NaiveDateTime>.into_sql::<Nullable<Timestamp>>();
    macro_rules! related_query {
        () => {
            referrals::table
                .filter(referrals::case_id.eq_any(ids))
                .filter(
                    referrals::state.eq_any([ReferralState::Accepted, ReferralState::InService]),
                )
                .select((
                    REFERRAL.into_sql::<Text>(),
                    referrals::case_id,
                    referrals::to_organisation_id.nullable(),
                    referrals::field_groups.nullable(),
                    none(),
                    never(),
                    none(),
                ))
                .union_all(
                    case_assignments::table
                        .filter(case_assignments::case_id.eq_any(ids))
                        .select((
                            ASSIGNED.into_sql::<Text>(),
                            case_assignments::case_id,
                            case_assignments::user_id.nullable(),
                            none(),
                            none(),
                            never(),
                            none(),
                        )),
                )
                .union_all(
                    case_transfers::table
                        .filter(case_transfers::case_id.eq_any(ids))
                        .filter(case_transfers::state.eq(TransferState::Accepted))
                        .select((
                            TRANSFER.into_sql::<Text>(),
                            case_transfers::case_id,
                            case_transfers::from_organisation_id.nullable(),
                            case_transfers::groups.nullable(),
                            case_transfers::sender_keeps.nullable(),
                            case_transfers::decided_at,
                            case_transfers::id.nullable(),
                        )),
                )
                .union_all(
                    case_exploitation_types::table
                        .filter(case_exploitation_types::case_id.eq_any(ids))
                        .select((
                            EXPLOITATION.into_sql::<Text>(),
                            case_exploitation_types::case_id,
                            case_exploitation_types::exploitation_type.nullable(),
                            none(),
                            none(),
                            never(),
                            none(),
                        )),
                )
                .union_all(
                    case_means_of_control::table
                        .filter(case_means_of_control::case_id.eq_any(ids))
                        .select((
                            MEANS.into_sql::<Text>(),
                            case_means_of_control::case_id,
                            case_means_of_control::means_of_control.nullable(),
                            none(),
                            none(),
                            never(),
                            none(),
                        )),
                )
        };
    }
    Ok(match conn {
        DbConn::Postgresql(pg) => related_query!().load::<Related>(pg)?,
        DbConn::Sqlite(lite) => related_query!().load::<Related>(lite)?,
    })
}

/// The cases `ids` that exist, in one query (in no particular order).
pub fn cases(conn: &mut DbConn, ids: &[CaseId]) -> Result<Vec<Case>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(crate::schema::cases::table
        .filter(crate::schema::cases::id.eq_any(ids))
        .select(Case::as_select())
        .load(conn)?)
}

/// The facts of `cases`, in their order, in three queries whatever their number (none for no
/// cases): the consents, the related rows ([`related`]) and the organisations they name.
pub fn load(conn: &mut DbConn, cases: Vec<Case>) -> Result<Vec<CaseFactRows>, DbError> {
    load_with_owners(conn, cases.into_iter().map(|c| (c, None)).collect())
}

/// The case `id` with its owner, in one statement (not locked: a read's).
pub fn case_with_owner(conn: &mut DbConn, id: &CaseId) -> Result<(Case, Organisation), DbError> {
    Ok(crate::schema::cases::table
        .inner_join(
            organisations::table
                .on(organisations::id.eq(crate::schema::cases::owner_organisation_id)),
        )
        .filter(crate::schema::cases::id.eq(id))
        .select((Case::as_select(), Organisation::as_select()))
        .first(conn)?)
}

/// [`load`] for cases whose owner may already be loaded (by [`case_with_owner`]): the
/// organisations' query then runs only for the others the cases name (referral holders,
/// former owners), if any.
pub fn load_with_owners(
    conn: &mut DbConn,
    cases: Vec<(Case, Option<Organisation>)>,
) -> Result<Vec<CaseFactRows>, DbError> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let mut known: HashMap<OrgId, Organisation> = HashMap::new();
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|(case, owner)| {
            if let Some(owner) = owner {
                known.insert(owner.id.clone(), owner);
            }
            case
        })
        .collect();
    let ids: Vec<CaseId> = cases.iter().map(|c| c.id.clone()).collect();

    let mut newest: HashMap<CaseId, ConsentRow> = HashMap::new();
    for row in consents::table
        .filter(consents::case_id.eq_any(&ids))
        .select(ConsentRow::as_select())
        .load::<ConsentRow>(conn)?
    {
        match newest.get(&row.case_id) {
            Some(kept) if kept.version >= row.version => {}
            _ => {
                newest.insert(row.case_id.clone(), row);
            }
        }
    }

    // The referrals in force, the assignments, the accepted transfers and the summary's lists
    // of every case, in one statement.
    let mut held: Vec<(CaseId, OrgId, String)> = Vec::new();
    let mut assigned: HashMap<CaseId, Vec<UserId>> = HashMap::new();
    let mut transfers: HashMap<CaseId, Vec<Transfer>> = HashMap::new();
    let mut lists: HashMap<CaseId, SummaryLists> = HashMap::new();
    for row in related(conn, &ids)? {
        let (kind, case, a, b, c, at, tie) = row;
        let a = a.unwrap_or_default();
        match kind.as_str() {
            REFERRAL => held.push((
                case,
                a.parse().map_err(|_| undecodable("an organisation id"))?,
                b.unwrap_or_default(),
            )),
            ASSIGNED => assigned
                .entry(case)
                .or_default()
                .push(a.parse().map_err(|_| undecodable("a user id"))?),
            TRANSFER => {
                let keeps = c
                    .as_deref()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|_| undecodable("a transfer's sender_keeps"))?;
                transfers.entry(case).or_default().push(Transfer {
                    at,
                    tie: tie.unwrap_or_default(),
                    from: a.parse().map_err(|_| undecodable("an organisation id"))?,
                    groups: b.unwrap_or_default(),
                    keeps,
                });
            }
            EXPLOITATION => lists
                .entry(case)
                .or_default()
                .0
                .push(a.parse().map_err(|_| undecodable("an exploitation type"))?),
            MEANS => lists
                .entry(case)
                .or_default()
                .1
                .push(a.parse().map_err(|_| undecodable("a means of control"))?),
            _ => return Err(undecodable("a fact's kind")),
        }
    }
    for users in assigned.values_mut() {
        users.sort();
    }
    for (kinds, means) in lists.values_mut() {
        kinds.sort();
        means.sort();
    }
    let mut transfers: HashMap<CaseId, Vec<(OrgId, String, SenderKeeps)>> = transfers
        .into_iter()
        .map(|(case, mut list)| {
            // Oldest first, as `transfer::ownership_facts` reads them.
            list.sort_by(|x, y| (x.at, &x.tie).cmp(&(y.at, &y.tie)));
            let list = list
                .into_iter()
                .map(|t| (t.from, t.groups, t.keeps))
                .collect();
            (case, list)
        })
        .collect();
    let ownership: HashMap<CaseId, OwnershipFacts> = cases
        .iter()
        .map(|c| {
            let accepted = transfers.remove(&c.id).unwrap_or_default();
            (
                c.id.clone(),
                ownership_of(&accepted, &c.owner_organisation_id),
            )
        })
        .collect();

    // Every organisation the page names (owners, referral holders, former owners), in one query.
    let mut wanted: HashSet<OrgId> = cases
        .iter()
        .map(|c| c.owner_organisation_id.clone())
        .collect();
    wanted.extend(held.iter().map(|(_, org, _)| org.clone()));
    wanted.extend(
        ownership
            .values()
            .flat_map(|o| o.former_owners_with_summary.iter().cloned()),
    );
    let wanted: Vec<OrgId> = wanted
        .into_iter()
        .filter(|id| !known.contains_key(id))
        .collect();
    let mut organisations = known;
    if !wanted.is_empty() {
        organisations.extend(
            organisations::table
                .filter(organisations::id.eq_any(&wanted))
                .select(Organisation::as_select())
                .load::<Organisation>(conn)?
                .into_iter()
                .map(|o| (o.id.clone(), o)),
        );
    }
    let organisation = |id: &OrgId| organisations.get(id).cloned().ok_or(DbError::NotFound);

    let mut access: HashMap<CaseId, Vec<(Organisation, Vec<FieldGroup>)>> = HashMap::new();
    for (case, org, groups) in &held {
        access
            .entry(case.clone())
            .or_default()
            .push((organisation(org)?, split(groups)?));
    }

    let mut ownership = ownership;
    cases
        .into_iter()
        .map(|case| {
            let owned = ownership.remove(&case.id).unwrap_or_default();
            Ok(CaseFactRows {
                owner: organisation(&case.owner_organisation_id)?,
                newest_consent: newest.remove(&case.id).map(Consent::try_from).transpose()?,
                referral_access: access.remove(&case.id).unwrap_or_default(),
                assigned: assigned.remove(&case.id).unwrap_or_default(),
                former_owners: owned
                    .former_owners_with_summary
                    .iter()
                    .map(organisation)
                    .collect::<Result<_, _>>()?,
                ownership: owned,
                lists: lists.remove(&case.id).unwrap_or_default(),
                case,
            })
        })
        .collect()
}
