//! Sealing new cases: many at once for `tumaini seed` and the benchmarks, one at a time for a
//! registration (`cases::register` in the API).
//!
//! [`Vault::write_group_as`] writes a case's groups one by one, each reading the case's key row
//! back and the group's history (six statements a group). A new case has neither history nor
//! earlier values, and its data key was made a moment ago: a [`NewCaseKey`] keeps the key in
//! memory and seals every group, the index terms and any record under it with the same
//! bindings the vault's readers rebuild, while the rows go into a [`VaultBatch`] written one
//! statement per table (`COPY` on PostgreSQL for more than a few rows). Every case still has
//! its own random data key wrapped under the KEK (crypto-shredding works as for any case),
//! every value is encrypted, and the blind indexes are computed under the newest blind-index
//! key, so reads, duplicate detection and shredding cannot tell a seeded case from a
//! registered one.
//!
//! Sealing needs no connection, so callers seal on several threads and write on one.

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::blind_index::{IndexKeys, IndexName, IndexTerms};
use super::envelope;
use super::secret::{KeyMaterial, SecretBytes};
use super::{
    DATA_KEY_VERSION, GroupChange, GroupPlaintext, RecordPlace, Vault, VaultError,
    data_key_context, group_binding, terms_binding,
};
use crate::ids::{CaseId, OrgId, UserId};
use crate::models::bulk::copy_rows;
use crate::schema::{
    blind_indexes, case_field_groups, case_group_versions, case_index_terms, case_keys,
};
use crate::vocabulary::{FieldGroup, RectificationReason, Role};
use crate::{DbConn, DbError};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_keys, treat_none_as_default_value = false)]
struct CaseKeyRow {
    case_id: CaseId,
    data_key_version: i32,
    kek_version: i32,
    wrapped_key: Vec<u8>,
    created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_field_groups, treat_none_as_default_value = false)]
struct GroupRow {
    case_id: CaseId,
    field_group: FieldGroup,
    ciphertext: Vec<u8>,
    updated_at: NaiveDateTime,
}

/// A group's first version: the current one, so without a ciphertext of its own.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_group_versions, treat_none_as_default_value = false)]
struct VersionRow {
    case_id: CaseId,
    field_group: FieldGroup,
    version: i32,
    ciphertext: Option<Vec<u8>>,
    changed_by: Option<UserId>,
    changed_by_role: Option<Role>,
    changed_by_organisation_id: Option<OrgId>,
    changed_at: NaiveDateTime,
    reason: Option<RectificationReason>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = case_index_terms, treat_none_as_default_value = false)]
struct TermsRow {
    case_id: CaseId,
    index_key_version: i32,
    ciphertext: Vec<u8>,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = blind_indexes, treat_none_as_default_value = false)]
struct IndexRow {
    case_id: CaseId,
    index_name: IndexName,
    index_key_version: i32,
    value: Vec<u8>,
}

/// The vault's rows of a batch of new cases (keys, groups and their first versions, index
/// terms, blind indexes): ciphertexts and HMACs only, never a plaintext.
#[derive(Debug, Default)]
pub struct VaultBatch {
    keys: Vec<CaseKeyRow>,
    groups: Vec<GroupRow>,
    versions: Vec<VersionRow>,
    terms: Vec<TermsRow>,
    indexes: Vec<IndexRow>,
}

impl VaultBatch {
    /// Adds `other`'s rows after this batch's.
    pub fn append(&mut self, mut other: VaultBatch) {
        self.keys.append(&mut other.keys);
        self.groups.append(&mut other.groups);
        self.versions.append(&mut other.versions);
        self.terms.append(&mut other.terms);
        self.indexes.append(&mut other.indexes);
    }

    /// Writes every row, keys first. Call inside the write transaction that writes the cases
    /// (the keys refer to them), after them.
    pub fn insert(&self, conn: &mut DbConn) -> Result<(), DbError> {
        copy_rows!(conn, case_keys::table, self.keys)?;
        copy_rows!(conn, case_field_groups::table, self.groups)?;
        copy_rows!(conn, case_group_versions::table, self.versions)?;
        copy_rows!(conn, case_index_terms::table, self.terms)?;
        copy_rows!(conn, blind_indexes::table, self.indexes)?;
        Ok(())
    }
}

/// Makes the data keys of new cases: the vault and the newest blind-index keys, read once.
/// `Send + Sync`: share it between the threads that seal.
#[derive(Debug)]
pub struct BulkSealer<'v> {
    vault: &'v Vault,
    index_keys: Arc<IndexKeys>,
}

impl Vault {
    /// A sealer for new cases (see the module documentation); reads the blind-index keys.
    pub fn bulk_sealer(&self, conn: &mut DbConn) -> Result<BulkSealer<'_>, VaultError> {
        Ok(BulkSealer {
            vault: self,
            index_keys: self.newest_index_keys(conn)?,
        })
    }
}

impl BulkSealer<'_> {
    /// The random data key of a new case, wrapped under the newest KEK; its `case_keys` row
    /// goes into `batch`, stamped `now`.
    pub fn new_case(
        &self,
        case: &CaseId,
        now: NaiveDateTime,
        batch: &mut VaultBatch,
    ) -> Result<NewCaseKey<'_>, VaultError> {
        let key = KeyMaterial::generate();
        let wrapped = self.vault.provider.wrap(&key, &data_key_context(case))?;
        batch.keys.push(CaseKeyRow {
            case_id: case.clone(),
            data_key_version: DATA_KEY_VERSION.as_i32(),
            kek_version: wrapped.kek_version.as_i32(),
            wrapped_key: wrapped.bytes,
            created_at: now,
        });
        Ok(NewCaseKey {
            case: case.clone(),
            key,
            index_keys: &self.index_keys,
            now,
        })
    }
}

/// The data key of one new case, held in memory (wiped on drop) while its values are sealed.
#[derive(Debug)]
pub struct NewCaseKey<'s> {
    case: CaseId,
    key: KeyMaterial,
    index_keys: &'s IndexKeys,
    now: NaiveDateTime,
}

impl NewCaseKey<'_> {
    /// What [`Vault::seal_record`] returns for this case and place.
    pub fn seal_record(
        &self,
        place: RecordPlace<'_>,
        plaintext: &SecretBytes,
    ) -> Result<Vec<u8>, VaultError> {
        envelope::seal(
            &self.key,
            &place.binding(DATA_KEY_VERSION.get()),
            plaintext.expose(),
        )
    }

    /// The group's first value, as [`Vault::write_group_as`] stores it on a case without one:
    /// its ciphertext and its version 1 written by `change.by`.
    pub fn write_group(
        &self,
        group: FieldGroup,
        plaintext: &GroupPlaintext,
        change: &GroupChange,
        batch: &mut VaultBatch,
    ) -> Result<(), VaultError> {
        if !group.is_encrypted() {
            return Err(VaultError::NotEncrypted(group));
        }
        let binding = group_binding(&self.case, group, DATA_KEY_VERSION.get());
        let ciphertext = envelope::seal(&self.key, &binding, plaintext.expose())?;
        let author = change.author();
        batch.versions.push(VersionRow {
            case_id: self.case.clone(),
            field_group: group,
            version: 1,
            ciphertext: None,
            changed_by: author.changed_by,
            changed_by_role: author.changed_by_role,
            changed_by_organisation_id: author.changed_by_organisation_id,
            changed_at: self.now,
            reason: author.reason,
        });
        batch.groups.push(GroupRow {
            case_id: self.case.clone(),
            field_group: group,
            ciphertext,
            updated_at: self.now,
        });
        Ok(())
    }

    /// The case's index terms (sealed) and the blind indexes computed from them, as
    /// [`Vault::set_index_terms`] stores them.
    pub fn set_index_terms(
        &self,
        terms: &IndexTerms,
        batch: &mut VaultBatch,
    ) -> Result<(), VaultError> {
        let encoded = terms.encode();
        let ciphertext = envelope::seal(
            &self.key,
            &terms_binding(&self.case, DATA_KEY_VERSION.get()),
            encoded.expose(),
        )?;
        let version = self.index_keys.version().as_i32();
        batch.terms.push(TermsRow {
            case_id: self.case.clone(),
            index_key_version: version,
            ciphertext,
            updated_at: self.now,
        });
        batch.indexes.extend(
            self.index_keys
                .entries(terms)
                .into_iter()
                .map(|(name, value)| IndexRow {
                    case_id: self.case.clone(),
                    index_name: name,
                    index_key_version: version,
                    value: value.as_bytes().to_vec(),
                }),
        );
        Ok(())
    }
}
