//! Every SQL statement the vault runs. Portable diesel DSL except where noted; no statement
//! here ever carries plaintext.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::blind_index::{BlindIndexValue, IndexName};
use super::provider::{KeyVersion, WrappedKey};
use crate::ids::{CaseId, OrgId, UserId};
use crate::schema::{
    blind_indexes, case_field_groups, case_group_versions, case_index_terms, case_keys, vault_keys,
};
use crate::vocabulary::{FieldGroup, RectificationReason, Role};
use crate::{DbConn, DbError};

/// `vault_keys.purpose` of the blind-index root key.
pub const BLIND_INDEX_PURPOSE: &str = "blind_index";

/// A `case_keys` row as the vault needs it.
#[derive(Debug, Clone, Queryable)]
pub struct CaseKeyRow {
    pub case_id: CaseId,
    pub data_key_version: i32,
    pub kek_version: i32,
    pub wrapped_key: Vec<u8>,
    pub shredded_at: Option<NaiveDateTime>,
}

pub type CaseKeyColumns = (
    case_keys::case_id,
    case_keys::data_key_version,
    case_keys::kek_version,
    case_keys::wrapped_key,
    case_keys::shredded_at,
);
pub const CASE_KEY_COLUMNS: CaseKeyColumns = (
    case_keys::case_id,
    case_keys::data_key_version,
    case_keys::kek_version,
    case_keys::wrapped_key,
    case_keys::shredded_at,
);

pub fn insert_case_key(
    conn: &mut DbConn,
    case: &CaseId,
    data_key_version: KeyVersion,
    wrapped: &WrappedKey,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(case_keys::table)
        .values((
            case_keys::case_id.eq(case),
            case_keys::data_key_version.eq(data_key_version.as_i32()),
            case_keys::kek_version.eq(wrapped.kek_version.as_i32()),
            case_keys::wrapped_key.eq(&wrapped.bytes),
            case_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn case_key(conn: &mut DbConn, case: &CaseId) -> Result<Option<CaseKeyRow>, DbError> {
    Ok(case_keys::table
        .find(case)
        .select(CASE_KEY_COLUMNS)
        .first(conn)
        .optional()?)
}

/// The key rows of these cases (those that have one), in one statement.
pub fn case_keys(conn: &mut DbConn, cases: &[CaseId]) -> Result<Vec<CaseKeyRow>, DbError> {
    Ok(case_keys::table
        .filter(case_keys::case_id.eq_any(cases))
        .select(CASE_KEY_COLUMNS)
        .load(conn)?)
}

/// A case's key row and, when stored, one group's ciphertext.
pub type KeyAndGroup = (CaseKeyRow, Option<Vec<u8>>);

/// The case's key row and one group's ciphertext, read in one statement so that a concurrent
/// shred is seen either entirely or not at all.
pub fn case_key_and_group(
    conn: &mut DbConn,
    case: &CaseId,
    group: FieldGroup,
) -> Result<Option<KeyAndGroup>, DbError> {
    Ok(case_keys::table
        .left_join(
            case_field_groups::table.on(case_field_groups::case_id
                .eq(case_keys::case_id)
                .and(case_field_groups::field_group.eq(group))),
        )
        .filter(case_keys::case_id.eq(case))
        .select((CASE_KEY_COLUMNS, case_field_groups::ciphertext.nullable()))
        .first(conn)
        .optional()?)
}

/// A case's key row with the ciphertexts of some of its groups.
pub type KeyAndGroups = (CaseKeyRow, Vec<(FieldGroup, Vec<u8>)>);

/// The case's key row with the ciphertexts of those of `groups` it has, in one query; `None`
/// when the case has no key.
pub fn case_key_and_groups(
    conn: &mut DbConn,
    case: &CaseId,
    groups: &[FieldGroup],
) -> Result<Option<KeyAndGroups>, DbError> {
    let rows: Vec<(CaseKeyRow, Option<FieldGroup>, Option<Vec<u8>>)> = case_keys::table
        .left_join(
            case_field_groups::table.on(case_field_groups::case_id
                .eq(case_keys::case_id)
                .and(case_field_groups::field_group.eq_any(groups))),
        )
        .filter(case_keys::case_id.eq(case))
        .select((
            CASE_KEY_COLUMNS,
            case_field_groups::field_group.nullable(),
            case_field_groups::ciphertext.nullable(),
        ))
        .load(conn)?;
    let mut rows = rows.into_iter();
    let Some((key, group, ciphertext)) = rows.next() else {
        return Ok(None);
    };
    let found = std::iter::once((group, ciphertext))
        .chain(rows.map(|(_, g, c)| (g, c)))
        .filter_map(|(g, c)| Some((g?, c?)))
        .collect();
    Ok(Some((key, found)))
}

/// Inserts or replaces a group's ciphertext (update first, insert when absent: portable, and
/// safe inside the caller's write transaction).
pub fn put_group(
    conn: &mut DbConn,
    case: &CaseId,
    group: FieldGroup,
    ciphertext: &[u8],
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let updated = diesel::update(case_field_groups::table.find((case, group)))
        .set((
            case_field_groups::ciphertext.eq(ciphertext),
            case_field_groups::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(case_field_groups::table)
            .values((
                case_field_groups::case_id.eq(case),
                case_field_groups::field_group.eq(group),
                case_field_groups::ciphertext.eq(ciphertext),
                case_field_groups::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A group's stored ciphertext and when it was written.
pub fn group_ciphertext(
    conn: &mut DbConn,
    case: &CaseId,
    group: FieldGroup,
) -> Result<Option<(Vec<u8>, NaiveDateTime)>, DbError> {
    Ok(case_field_groups::table
        .find((case, group))
        .select((case_field_groups::ciphertext, case_field_groups::updated_at))
        .first(conn)
        .optional()?)
}

/// The newest version number of a group's history, if it has any.
pub fn newest_group_version(
    conn: &mut DbConn,
    case: &CaseId,
    group: FieldGroup,
) -> Result<Option<i32>, DbError> {
    Ok(case_group_versions::table
        .filter(case_group_versions::case_id.eq(case))
        .filter(case_group_versions::field_group.eq(group))
        .select(diesel::dsl::max(case_group_versions::version))
        .first(conn)?)
}

/// Who wrote a version, and why (a row of `case_group_versions` without its ciphertext).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionAuthor {
    pub changed_by: Option<UserId>,
    pub changed_by_role: Option<Role>,
    pub changed_by_organisation_id: Option<OrgId>,
    pub reason: Option<RectificationReason>,
}

/// Adds a version row to a group's history, without a ciphertext (it is the current version).
pub fn insert_group_version(
    conn: &mut DbConn,
    case: &CaseId,
    group: FieldGroup,
    version: i32,
    author: &VersionAuthor,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(case_group_versions::table)
        .values((
            case_group_versions::case_id.eq(case),
            case_group_versions::field_group.eq(group),
            case_group_versions::version.eq(version),
            case_group_versions::changed_by.eq(author.changed_by.as_ref()),
            case_group_versions::changed_by_role.eq(author.changed_by_role),
            case_group_versions::changed_by_organisation_id
                .eq(author.changed_by_organisation_id.as_ref()),
            case_group_versions::changed_at.eq(at),
            case_group_versions::reason.eq(author.reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores the ciphertext of a version that is no longer the current one.
pub fn keep_group_version(
    conn: &mut DbConn,
    case: &CaseId,
    group: FieldGroup,
    version: i32,
    ciphertext: &[u8],
) -> Result<(), DbError> {
    let updated = diesel::update(case_group_versions::table.find((case, group, version)))
        .set(case_group_versions::ciphertext.eq(ciphertext))
        .execute(conn)?;
    if updated == 1 {
        Ok(())
    } else {
        Err(DbError::NotFound)
    }
}

/// A version row as the history lists it: group, number, author, time, reason.
pub type VersionRow = (
    FieldGroup,
    i32,
    Option<UserId>,
    Option<Role>,
    Option<OrgId>,
    NaiveDateTime,
    Option<RectificationReason>,
);

/// Every version row of a case, by group then version (no ciphertext).
pub fn group_versions(conn: &mut DbConn, case: &CaseId) -> Result<Vec<VersionRow>, DbError> {
    Ok(case_group_versions::table
        .filter(case_group_versions::case_id.eq(case))
        .order((
            case_group_versions::field_group,
            case_group_versions::version,
        ))
        .select((
            case_group_versions::field_group,
            case_group_versions::version,
            case_group_versions::changed_by,
            case_group_versions::changed_by_role,
            case_group_versions::changed_by_organisation_id,
            case_group_versions::changed_at,
            case_group_versions::reason,
        ))
        .load(conn)?)
}

/// A version's number and its ciphertext (none for the current version).
pub type KeptVersion = (i32, Option<Vec<u8>>);

/// The versions of one group with their ciphertexts (none for the current version), oldest
/// first.
pub fn group_version_ciphertexts(
    conn: &mut DbConn,
    case: &CaseId,
    group: FieldGroup,
) -> Result<Vec<KeptVersion>, DbError> {
    Ok(case_group_versions::table
        .filter(case_group_versions::case_id.eq(case))
        .filter(case_group_versions::field_group.eq(group))
        .order(case_group_versions::version)
        .select((
            case_group_versions::version,
            case_group_versions::ciphertext,
        ))
        .load(conn)?)
}

/// Replaces a case's index terms and every blind-index row computed from them.
pub fn put_index_terms(
    conn: &mut DbConn,
    case: &CaseId,
    index_key_version: KeyVersion,
    ciphertext: &[u8],
    entries: &[(IndexName, BlindIndexValue)],
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let updated = diesel::update(case_index_terms::table.find(case))
        .set((
            case_index_terms::index_key_version.eq(index_key_version.as_i32()),
            case_index_terms::ciphertext.eq(ciphertext),
            case_index_terms::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(case_index_terms::table)
            .values((
                case_index_terms::case_id.eq(case),
                case_index_terms::index_key_version.eq(index_key_version.as_i32()),
                case_index_terms::ciphertext.eq(ciphertext),
                case_index_terms::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    replace_indexes(conn, case, index_key_version, entries)
}

/// Deletes a case's blind-index rows and writes `entries` under `version` (one insert per row:
/// the multi-engine connection has no batch insert).
pub fn replace_indexes(
    conn: &mut DbConn,
    case: &CaseId,
    version: KeyVersion,
    entries: &[(IndexName, BlindIndexValue)],
) -> Result<(), DbError> {
    diesel::delete(blind_indexes::table.filter(blind_indexes::case_id.eq(case))).execute(conn)?;
    for (name, value) in entries {
        diesel::insert_into(blind_indexes::table)
            .values((
                blind_indexes::case_id.eq(case),
                blind_indexes::index_name.eq(name),
                blind_indexes::index_key_version.eq(version.as_i32()),
                blind_indexes::value.eq(value.as_bytes()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The blind-index rows under key `version` with one of `names` and one of `values`: case,
/// name and value of each, for [`super::Vault::find_by_indexes`].
pub fn index_hits(
    conn: &mut DbConn,
    version: KeyVersion,
    names: &[IndexName],
    values: &[&[u8]],
) -> Result<Vec<(CaseId, IndexName, Vec<u8>)>, DbError> {
    Ok(blind_indexes::table
        .filter(blind_indexes::index_name.eq_any(names))
        .filter(blind_indexes::value.eq_any(values))
        .filter(blind_indexes::index_key_version.eq(version.as_i32()))
        .select((
            blind_indexes::case_id,
            blind_indexes::index_name,
            blind_indexes::value,
        ))
        .load(conn)?)
}

/// The encrypted index terms of a case with the version its indexes are computed under.
pub fn index_terms(conn: &mut DbConn, case: &CaseId) -> Result<Option<(i32, Vec<u8>)>, DbError> {
    Ok(case_index_terms::table
        .find(case)
        .select((
            case_index_terms::index_key_version,
            case_index_terms::ciphertext,
        ))
        .first(conn)
        .optional()?)
}

/// What shredding found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShredOutcome {
    /// The data key was destroyed now.
    Shredded,
    /// It had been destroyed before.
    AlreadyShredded,
    /// The case has no data key.
    NoSuchCase,
}

/// Destroys a case's data key and deletes everything computed from or encrypted under it.
pub fn shred(
    conn: &mut DbConn,
    case: &CaseId,
    now: NaiveDateTime,
) -> Result<ShredOutcome, DbError> {
    let destroyed = diesel::update(
        case_keys::table
            .find(case)
            .filter(case_keys::shredded_at.is_null()),
    )
    .set((
        case_keys::wrapped_key.eq(Vec::<u8>::new()),
        case_keys::shredded_at.eq(now),
    ))
    .execute(conn)?;
    diesel::delete(blind_indexes::table.filter(blind_indexes::case_id.eq(case))).execute(conn)?;
    diesel::delete(case_index_terms::table.find(case)).execute(conn)?;
    diesel::delete(case_field_groups::table.filter(case_field_groups::case_id.eq(case)))
        .execute(conn)?;
    diesel::delete(case_group_versions::table.filter(case_group_versions::case_id.eq(case)))
        .execute(conn)?;
    if destroyed == 1 {
        return Ok(ShredOutcome::Shredded);
    }
    Ok(match case_key(conn, case)? {
        Some(_) => ShredOutcome::AlreadyShredded,
        None => ShredOutcome::NoSuchCase,
    })
}

/// A `vault_keys` row.
#[derive(Debug, Clone, Queryable)]
pub struct VaultKeyRow {
    pub version: i32,
    pub kek_version: i32,
    pub wrapped_key: Vec<u8>,
}

/// The live (not retired) keys of a purpose, oldest first.
pub fn live_vault_keys(conn: &mut DbConn, purpose: &str) -> Result<Vec<VaultKeyRow>, DbError> {
    Ok(vault_keys::table
        .filter(vault_keys::purpose.eq(purpose))
        .filter(vault_keys::retired_at.is_null())
        .order(vault_keys::version)
        .select((
            vault_keys::version,
            vault_keys::kek_version,
            vault_keys::wrapped_key,
        ))
        .load(conn)?)
}

pub fn insert_vault_key(
    conn: &mut DbConn,
    purpose: &str,
    version: KeyVersion,
    wrapped: &WrappedKey,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::insert_into(vault_keys::table)
        .values((
            vault_keys::purpose.eq(purpose),
            vault_keys::version.eq(version.as_i32()),
            vault_keys::kek_version.eq(wrapped.kek_version.as_i32()),
            vault_keys::wrapped_key.eq(&wrapped.bytes),
            vault_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The highest version of a purpose ever created, retired ones included.
pub fn newest_vault_key_version(conn: &mut DbConn, purpose: &str) -> Result<Option<i32>, DbError> {
    Ok(vault_keys::table
        .filter(vault_keys::purpose.eq(purpose))
        .select(diesel::dsl::max(vault_keys::version))
        .first(conn)?)
}
