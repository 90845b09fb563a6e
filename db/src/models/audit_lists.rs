//! What the audit trail's reports look up besides the events themselves, each in one statement
//! whatever the size of the answer: a report costs the same number of round trips for a case
//! read twice as for one read ten thousand times.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::schema::{cases, organisations, referrals};
use crate::{DbConn, DbError};

/// The reference of `case` when it is in scope: owned by `organisation` (when given) and in
/// `country` (when given); `None` when it is not, or does not exist (the two must look alike to
/// whoever asks), in one statement.
pub fn case_reference_in_scope(
    conn: &mut DbConn,
    case: &str,
    organisation: Option<&str>,
    country: Option<&str>,
) -> Result<Option<String>, DbError> {
    let mut query = cases::table
        .inner_join(organisations::table)
        .filter(cases::id.eq(case))
        .select(cases::reference)
        .into_boxed();
    if let Some(org) = organisation {
        query = query.filter(cases::owner_organisation_id.eq(org));
    }
    if let Some(country) = country {
        query = query.filter(organisations::country.eq(country));
    }
    Ok(query.first::<String>(conn).optional()?)
}

/// Of the cases and referrals a page of events names, those in scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InScope {
    /// The cases owned by the organisation, or in the country, of the scope.
    pub cases: BTreeSet<String>,
    /// The referrals of such cases.
    pub referrals: BTreeSet<String>,
}

/// Of these cases and referrals, those whose case is owned by `organisation` (when given) and
/// in `country` (when given): what a page of audit events is redacted by, in one statement
/// (`UNION ALL`, which diesel's engine-neutral connection does not offer: the same query in
/// each engine's arm), whatever the size of the page. None when the page names neither.
pub fn in_scope(
    conn: &mut DbConn,
    case_ids: &[String],
    referral_ids: &[String],
    organisation: Option<&str>,
    country: Option<&str>,
) -> Result<InScope, DbError> {
    const CASE: &str = "case";
    const REFERRAL: &str = "referral";
    if case_ids.is_empty() && referral_ids.is_empty() {
        return Ok(InScope::default());
    }
    macro_rules! named_in_scope {
        ($conn:expr) => {{
            let mut cases_there = cases::table
                .inner_join(organisations::table)
                .filter(cases::id.eq_any(case_ids))
                .select((CASE.into_sql::<Text>(), cases::id))
                .into_boxed();
            let mut referrals_there = referrals::table
                .inner_join(cases::table.inner_join(organisations::table))
                .filter(referrals::id.eq_any(referral_ids))
                .select((REFERRAL.into_sql::<Text>(), referrals::id))
                .into_boxed();
            if let Some(org) = organisation {
                cases_there = cases_there.filter(cases::owner_organisation_id.eq(org));
                referrals_there = referrals_there.filter(cases::owner_organisation_id.eq(org));
            }
            if let Some(country) = country {
                cases_there = cases_there.filter(organisations::country.eq(country));
                referrals_there = referrals_there.filter(organisations::country.eq(country));
            }
            cases_there
                .union_all(referrals_there)
                .load::<(String, String)>($conn)?
        }};
    }
    let rows = match conn {
        DbConn::Postgresql(pg) => named_in_scope!(pg),
        DbConn::Sqlite(sqlite) => named_in_scope!(sqlite),
    };
    let mut found = InScope::default();
    for (kind, id) in rows {
        if kind == CASE {
            found.cases.insert(id);
        } else {
            found.referrals.insert(id);
        }
    }
    Ok(found)
}
