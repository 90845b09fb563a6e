//! Possible duplicates: the same person registered twice, found through the vault's blind
//! indexes (name with date of birth, identity-document numbers) and confirmed on the decrypted
//! index terms (the indexes are truncated, so they also match unrelated people).
//!
//! Whoever registers a person hears only of the duplicates they may see, at once. Of the others
//! they learn nothing, not even by how long the answer takes: those candidates are queued in the
//! registration's transaction and confirmed afterwards by a background job
//! ([`check_queued`]), which records the pair and tells its holders (the supervisors of the
//! organisation holding the other case, and the coordinators of its country: references only),
//! with an audit event on that case that names no one of the registering organisation.
//! Duplicates are looked for within one country only: a case crosses a border only through a
//! referral, under consent.

use tumaini_db::ids::CaseId;
use tumaini_db::models::case::Case;
use tumaini_db::models::{Organisation, User, duplicate};
use tumaini_db::vault::{IndexQuery, IndexTerms, Vault, normalise};
use tumaini_db::vocabulary::Role;
use tumaini_db::{DbConn, DbError};

use super::vault_error;
use crate::audit::AuditAction;
use crate::auth::RequestContext;
use crate::http::ApiError;

/// The cases whose blind indexes match `terms` (the case `id` itself left out): candidates,
/// not yet confirmed.
pub fn candidates(
    conn: &mut DbConn,
    vault: &Vault,
    id: &CaseId,
    terms: &IndexTerms,
) -> Result<Vec<CaseId>, ApiError> {
    let mut queries = Vec::new();
    if let Some(dob) = terms.date_of_birth {
        for name in &terms.names {
            queries.push(IndexQuery::NameAndBirthDate {
                name: name.clone(),
                date_of_birth: dob,
            });
        }
    }
    for number in &terms.document_numbers {
        queries.push(IndexQuery::DocumentNumber(number.clone()));
    }
    let found = vault.find_by_indexes(conn, &queries).map_err(vault_error)?;
    Ok(found.into_iter().filter(|case| case != id).collect())
}

/// Whether `candidate` is the person `terms` describe: the same document number, or the same
/// name and date of birth, on its decrypted index terms. A candidate whose terms are gone
/// (erased) is not.
pub fn confirmed(
    conn: &mut DbConn,
    vault: &Vault,
    terms: &IndexTerms,
    candidate: &CaseId,
) -> Result<bool, ApiError> {
    let Some(theirs) = vault
        .read_index_terms(conn, candidate)
        .map_err(vault_error)?
    else {
        return Ok(false);
    };
    let same_document = terms.document_numbers.iter().any(|mine| {
        theirs.document_numbers.iter().any(|other| {
            normalise::normalise_document(mine.expose())
                == normalise::normalise_document(other.expose())
        })
    });
    let same_person = terms.date_of_birth.is_some()
        && terms.date_of_birth == theirs.date_of_birth
        && terms.names.iter().any(|mine| {
            theirs.names.iter().any(|other| {
                normalise::normalise_name(mine.expose())
                    == normalise::normalise_name(other.expose())
            })
        });
    Ok(same_document || same_person)
}

/// Works through the queued checks, at most `limit`, each in a transaction of its own:
/// confirmed pairs are recorded and their holders told. Safe with several replicas (a check is
/// taken off the queue by exactly one). Returns how many pairs were confirmed.
pub fn check_queued(
    conn: &mut DbConn,
    vault: &Vault,
    public_url: &str,
    audit_events: &tumaini_db::audit_chain::EventKey,
    limit: i64,
) -> Result<usize, ApiError> {
    let mut confirmed_pairs = 0;
    for (case, candidate) in duplicate::queued_checks(conn, limit)? {
        let pair = conn.write_transaction(|conn| -> Result<bool, ApiError> {
            if !duplicate::take_check(conn, &case, &candidate)? {
                return Ok(false);
            }
            let Some(terms) = vault.read_index_terms(conn, &case).map_err(vault_error)? else {
                return Ok(false);
            };
            if !confirmed(conn, vault, &terms, &candidate)? {
                return Ok(false);
            }
            duplicate::record(conn, &case, &candidate)?;
            let new = Case::find(conn, &case)?;
            let existing = Case::find(conn, &candidate)?;
            tell_holders(conn, &existing, &new, public_url, audit_events)?;
            Ok(true)
        })?;
        confirmed_pairs += usize::from(pair);
    }
    Ok(confirmed_pairs)
}

/// Tells the holders of `existing` that `new`, registered by an organisation that may not see
/// `existing`, may concern the same person: the supervisors of the organisation holding it
/// (their own case's reference only) and the coordinators of its country (both references), by
/// e-mail; and an audit event on `existing`, recorded by the system, so that it shows in the
/// holders' and the coordinators' audit views and in no view of the registering organisation's.
fn tell_holders(
    conn: &mut DbConn,
    existing: &Case,
    new: &Case,
    public_url: &str,
    audit_events: &tumaini_db::audit_chain::EventKey,
) -> Result<(), DbError> {
    let holder = Organisation::find(conn, &existing.owner_organisation_id)?;
    let supervisors: Vec<User> =
        User::notification_recipients(conn, &[Role::Supervisor], None, None)?
            .into_iter()
            .filter(|u| u.organisation_id == holder.id)
            .collect();
    crate::notifications::notify(
        conn,
        &supervisors,
        "A possible duplicate of one of your cases",
        &format!(
            "A case registered by another organisation may concern the same person as your case \
             {}.\n\nThe coordinators of {} resolve possible duplicates between organisations and \
             have been told. Sign in to Tumaini to see your case: {public_url}/cases/{}\n",
            existing.reference, holder.country, existing.id
        ),
    )?;
    let coordinators =
        User::notification_recipients(conn, &[Role::Coordinator], None, Some(&holder.country))?;
    crate::notifications::notify(
        conn,
        &coordinators,
        "Possible duplicate cases to resolve",
        &format!(
            "Case {} and case {} may concern the same person; they are held by different \
             organisations.\n\nSign in to Tumaini to resolve it: {public_url}/cases/{}/duplicates\n",
            existing.reference, new.reference, existing.id
        ),
    )?;
    crate::audit::record(
        conn,
        &RequestContext::system(audit_events),
        None,
        crate::audit::Event {
            action: AuditAction::CaseDuplicateFlagged,
            outcome: crate::audit::Outcome::Success,
            resource: Some(("case", existing.id.to_string())),
        },
    )?;
    Ok(())
}
