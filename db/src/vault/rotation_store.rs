//! The SQL of key rotation and of `tumaini keys status`: batches in case id order, conditional
//! updates that never undo a shred, counts per key version.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::provider::{KeyVersion, WrappedKey};
use super::store::{CASE_KEY_COLUMNS, CaseKeyRow, VaultKeyRow};
use crate::ids::CaseId;
use crate::schema::{case_index_terms, case_keys, vault_keys};
use crate::{DbConn, DbError};

/// Retires the live keys of a purpose older than `keep`, destroying their wrapped bytes.
pub fn retire_vault_keys_before(
    conn: &mut DbConn,
    purpose: &str,
    keep: KeyVersion,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        vault_keys::table
            .filter(vault_keys::purpose.eq(purpose))
            .filter(vault_keys::version.lt(keep.as_i32()))
            .filter(vault_keys::retired_at.is_null()),
    )
    .set((
        vault_keys::retired_at.eq(now),
        vault_keys::wrapped_key.eq(Vec::<u8>::new()),
    ))
    .execute(conn)?)
}

/// Re-wraps one vault key, if it is still under `old_kek`.
pub fn rewrap_vault_key(
    conn: &mut DbConn,
    purpose: &str,
    version: i32,
    old_kek: i32,
    wrapped: &WrappedKey,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        vault_keys::table
            .find((purpose, version))
            .filter(vault_keys::kek_version.eq(old_kek)),
    )
    .set((
        vault_keys::kek_version.eq(wrapped.kek_version.as_i32()),
        vault_keys::wrapped_key.eq(&wrapped.bytes),
    ))
    .execute(conn)?)
}

/// Up to `limit` live data keys under a KEK older than `target`, after `cursor`, in id order.
pub fn data_keys_to_rewrap(
    conn: &mut DbConn,
    target: KeyVersion,
    cursor: Option<&CaseId>,
    limit: i64,
) -> Result<Vec<CaseKeyRow>, DbError> {
    let mut query = case_keys::table
        .filter(case_keys::kek_version.lt(target.as_i32()))
        .filter(case_keys::shredded_at.is_null())
        .order(case_keys::case_id)
        .select(CASE_KEY_COLUMNS)
        .limit(limit)
        .into_boxed();
    if let Some(cursor) = cursor {
        query = query.filter(case_keys::case_id.gt(cursor.clone()));
    }
    Ok(query.load(conn)?)
}

/// Stores a re-wrapped data key, unless the row changed since it was read (shredded, or
/// re-wrapped by someone else): a shredded key is never brought back.
pub fn store_rewrapped_data_key(
    conn: &mut DbConn,
    case: &CaseId,
    old_kek: i32,
    wrapped: &WrappedKey,
    now: NaiveDateTime,
) -> Result<bool, DbError> {
    let updated = diesel::update(
        case_keys::table
            .find(case)
            .filter(case_keys::kek_version.eq(old_kek))
            .filter(case_keys::shredded_at.is_null()),
    )
    .set((
        case_keys::kek_version.eq(wrapped.kek_version.as_i32()),
        case_keys::wrapped_key.eq(&wrapped.bytes),
        case_keys::rotated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// How many live data keys sit under a KEK older than `target`.
pub fn count_data_keys_below(conn: &mut DbConn, target: KeyVersion) -> Result<i64, DbError> {
    Ok(case_keys::table
        .filter(case_keys::kek_version.lt(target.as_i32()))
        .filter(case_keys::shredded_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Live vault keys under a KEK older than `target`.
pub fn vault_keys_below(
    conn: &mut DbConn,
    target: KeyVersion,
) -> Result<Vec<(String, VaultKeyRow)>, DbError> {
    Ok(vault_keys::table
        .filter(vault_keys::kek_version.lt(target.as_i32()))
        .filter(vault_keys::retired_at.is_null())
        .select((
            vault_keys::purpose,
            (
                vault_keys::version,
                vault_keys::kek_version,
                vault_keys::wrapped_key,
            ),
        ))
        .load(conn)?)
}

/// Up to `limit` cases whose indexes are under an index key older than `target`, after
/// `cursor`, in id order.
pub fn index_terms_to_recompute(
    conn: &mut DbConn,
    target: KeyVersion,
    cursor: Option<&CaseId>,
    limit: i64,
) -> Result<Vec<(CaseId, i32)>, DbError> {
    let mut query = case_index_terms::table
        .filter(case_index_terms::index_key_version.lt(target.as_i32()))
        .order(case_index_terms::case_id)
        .select((
            case_index_terms::case_id,
            case_index_terms::index_key_version,
        ))
        .limit(limit)
        .into_boxed();
    if let Some(cursor) = cursor {
        query = query.filter(case_index_terms::case_id.gt(cursor.clone()));
    }
    Ok(query.load(conn)?)
}

pub fn count_index_terms_below(conn: &mut DbConn, target: KeyVersion) -> Result<i64, DbError> {
    Ok(case_index_terms::table
        .filter(case_index_terms::index_key_version.lt(target.as_i32()))
        .count()
        .get_result(conn)?)
}

/// Marks a case's indexes as recomputed under `version`, if still under `old`.
pub fn mark_index_terms(
    conn: &mut DbConn,
    case: &CaseId,
    old: i32,
    version: KeyVersion,
) -> Result<bool, DbError> {
    let updated = diesel::update(
        case_index_terms::table
            .find(case)
            .filter(case_index_terms::index_key_version.eq(old)),
    )
    .set(case_index_terms::index_key_version.eq(version.as_i32()))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Live data keys per KEK version, and the number of shredded keys.
pub fn data_key_counts(conn: &mut DbConn) -> Result<(Vec<(i32, i64)>, i64), DbError> {
    let per_version = case_keys::table
        .filter(case_keys::shredded_at.is_null())
        .group_by(case_keys::kek_version)
        .select((case_keys::kek_version, diesel::dsl::count_star()))
        .order(case_keys::kek_version)
        .load(conn)?;
    let shredded = case_keys::table
        .filter(case_keys::shredded_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok((per_version, shredded))
}

/// Cases per blind-index key version.
pub fn index_term_counts(conn: &mut DbConn) -> Result<Vec<(i32, i64)>, DbError> {
    Ok(case_index_terms::table
        .group_by(case_index_terms::index_key_version)
        .select((
            case_index_terms::index_key_version,
            diesel::dsl::count_star(),
        ))
        .order(case_index_terms::index_key_version)
        .load(conn)?)
}

/// Every KEK version some stored key depends on.
pub fn kek_versions_in_use(conn: &mut DbConn) -> Result<Vec<i32>, DbError> {
    let mut versions: Vec<i32> = case_keys::table
        .filter(case_keys::shredded_at.is_null())
        .select(case_keys::kek_version)
        .distinct()
        .load(conn)?;
    versions.extend(
        vault_keys::table
            .filter(vault_keys::retired_at.is_null())
            .select(vault_keys::kek_version)
            .distinct()
            .load::<i32>(conn)?,
    );
    // Webhook signing secrets are wrapped under a KEK too.
    versions.extend(crate::models::webhook::WebhookEndpoint::kek_versions_in_use(conn)?);
    versions.sort_unstable();
    versions.dedup();
    Ok(versions)
}
