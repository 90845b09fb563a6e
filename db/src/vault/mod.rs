//! The vault: field-level envelope encryption of personal data.
//!
//! ```text
//! KEK (TUMAINI_MASTER_KEY / key file / later a KMS), versioned  ── KeyProvider
//!  ├── wraps one random 256-bit data key per case            ── case_keys
//!  │     └── encrypts each personal field group of the case   ── case_field_groups
//!  │           its earlier versions                         ── case_group_versions
//!  │           and the case's index terms                     ── case_index_terms
//!  └── wraps the blind-index root key (versioned)             ── vault_keys
//!        └── HKDF → one HMAC key per index                    ── blind_indexes
//! ```
//!
//! Every ciphertext is XChaCha20-Poly1305 bound to its table, column, row and key version
//! (`envelope.rs`), so a stolen database, a leaked backup or a curious administrator sees only
//! random bytes, and a ciphertext moved elsewhere fails to decrypt. Destroying a case's data
//! key (crypto-shredding) makes all its groups unreadable forever, in every backup taken
//! afterwards; reads then answer [`GroupRead::Erased`], never an error.
//!
//! Plaintext only ever sits in [`SecretBytes`]/[`SecretString`], which redact `Debug` and wipe
//! themselves on drop. All methods block (SQL and crypto): call them off the async workers.

mod blind_index;
mod bulk;
mod cache;
pub mod envelope;
mod error;
mod key_file;
pub mod normalise;
mod provider;
mod rotation;
mod rotation_store;
mod secret;
mod store;
pub mod stream;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

pub use blind_index::{BlindIndexValue, IndexKeys, IndexName, IndexQuery, IndexTerms};
pub use bulk::{BulkSealer, NewCaseKey, VaultBatch};
pub use cache::CachePolicy;
pub use error::VaultError;
pub use key_file::{KeyFileProvider, add_version_to_key_file, generate_key_file, read_key_file};
pub use provider::{KeyContext, KeyProvider, KeyRing, KeySetError, KeyVersion, WrappedKey};
pub use rotation::{RotationOptions, RotationReport};
pub use secret::{KeyMaterial, SecretBytes, SecretString};
pub use store::ShredOutcome;
pub use stream::{DocumentCipher, DocumentKey};

use crate::ids::{CaseId, OrgId, UserId};
use crate::models::User;
use crate::time::now_utc;
use crate::vocabulary::{FieldGroup, RectificationReason, Role};
use crate::{DbConn, DbError};
use cache::KeyCache;
use envelope::Binding;

/// The plaintext of one personal field group, e.g. its JSON. Redacted `Debug`, wiped on drop.
pub type GroupPlaintext = SecretBytes;

/// What reading a field group found.
#[derive(Debug, PartialEq, Eq)]
pub enum GroupRead {
    /// The decrypted group.
    Plain(GroupPlaintext),
    /// The case's data key was destroyed: its personal data is gone for good. Show the summary
    /// with a marker saying so.
    Erased,
    /// Nothing was recorded for this group (or the case has no data key).
    Absent,
}

/// Where a record's ciphertext is stored: its table, column and row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPlace<'a> {
    /// The table, e.g. `case_notes`.
    pub table: &'a str,
    /// The column, e.g. `body`.
    pub column: &'a str,
    /// The row's id.
    pub row_id: &'a str,
}

impl RecordPlace<'_> {
    fn binding(&self, key_version: u32) -> Binding<'_> {
        Binding {
            table: self.table,
            column: self.column,
            row_id: self.row_id,
            key_version,
        }
    }
}

/// How many keys sit where; printed by `tumaini keys status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultStatus {
    /// The KEK version new data keys are wrapped with.
    pub current_kek: KeyVersion,
    /// Every KEK version the provider holds.
    pub provider_versions: Vec<KeyVersion>,
    /// Live data keys per KEK version.
    pub data_keys_by_kek: Vec<(i32, i64)>,
    /// Cases whose data key was destroyed.
    pub shredded: i64,
    /// Live blind-index key versions (more than one while a rotation is unfinished).
    pub index_key_versions: Vec<i32>,
    /// Cases with index terms, per blind-index key version.
    pub indexed_cases_by_version: Vec<(i32, i64)>,
}

const DATA_KEY_VERSION: KeyVersion = KeyVersion::FIRST;
const FIELD_GROUPS_TABLE: &str = "case_field_groups";
const INDEX_TERMS_TABLE: &str = "case_index_terms";
const GROUP_VERSIONS_TABLE: &str = "case_group_versions";

/// Who writes a personal field group, and why: kept with the version the write makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupChange {
    /// The user who wrote it (`None`: a write nobody is named for, e.g. demonstration data).
    pub by: Option<UserId>,
    /// Their role then.
    pub role: Option<Role>,
    /// Their organisation then.
    pub organisation: Option<OrgId>,
    /// Why (rectification), if a reason was given.
    pub reason: Option<RectificationReason>,
}

impl GroupChange {
    /// A change written by `user`, for `reason`.
    pub fn by(user: &User, reason: Option<RectificationReason>) -> Self {
        Self {
            by: Some(user.id.clone()),
            role: Some(user.role),
            organisation: Some(user.organisation_id.clone()),
            reason,
        }
    }

    fn author(&self) -> store::VersionAuthor {
        store::VersionAuthor {
            changed_by: self.by.clone(),
            changed_by_role: self.role,
            changed_by_organisation_id: self.organisation.clone(),
            reason: self.reason,
        }
    }
}

/// One version of a case's personal field group, as its history lists it: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVersion {
    /// The group.
    pub group: FieldGroup,
    /// Its version number, from 1.
    pub version: i32,
    /// The version in force now (its value is the group's value).
    pub current: bool,
    /// Who wrote it (`None` for versions written before history was kept).
    pub changed_by: Option<UserId>,
    /// Their role then.
    pub changed_by_role: Option<Role>,
    /// Their organisation then.
    pub changed_by_organisation_id: Option<OrgId>,
    /// When.
    pub changed_at: chrono::NaiveDateTime,
    /// The rectification reason given, if any.
    pub reason: Option<RectificationReason>,
}

/// The vault. Shared by every request handler (it is `Send + Sync`); holds the key provider,
/// a bounded cache of unwrapped data keys and the derived blind-index keys.
#[derive(Debug)]
pub struct Vault {
    provider: Arc<dyn KeyProvider>,
    data_keys: KeyCache,
    index_keys: Mutex<BTreeMap<KeyVersion, Arc<IndexKeys>>>,
}

/// A case's data key, or why there is none.
enum CaseKey {
    Live { key: Arc<KeyMaterial>, version: u32 },
    Shredded,
    Missing,
}

impl Vault {
    /// A vault over `provider`, with the default cache policy.
    pub fn new(provider: Arc<dyn KeyProvider>) -> Self {
        Self::with_cache(provider, CachePolicy::default())
    }

    /// A vault with an explicit cache policy (a zero capacity disables the cache).
    pub fn with_cache(provider: Arc<dyn KeyProvider>, policy: CachePolicy) -> Self {
        Self {
            provider,
            data_keys: KeyCache::new(policy),
            index_keys: Mutex::new(BTreeMap::new()),
        }
    }

    /// The key provider.
    pub fn provider(&self) -> &Arc<dyn KeyProvider> {
        &self.provider
    }

    /// Checks, at start, that the key set fits this database: every KEK version a stored key
    /// needs is held, and the blind-index key unwraps (a wrong master key fails here, not on
    /// the first request). Creates the first blind-index key on a fresh database.
    pub fn check(&self, conn: &mut DbConn) -> Result<(), VaultError> {
        let held: BTreeSet<KeyVersion> = self.provider.versions().into_iter().collect();
        for number in rotation_store::kek_versions_in_use(conn)? {
            let version = KeyVersion::new(number.into()).ok_or(VaultError::Malformed)?;
            if !held.contains(&version) {
                return Err(VaultError::KeyUnavailable(version));
            }
        }
        self.index_keys.lock().map(|mut keys| keys.clear()).ok();
        self.live_index_keys(conn).map(drop)
    }

    /// Creates the random data key of a new case, wrapped under the newest KEK.
    pub fn create_case_key(&self, conn: &mut DbConn, case: &CaseId) -> Result<(), VaultError> {
        let key = KeyMaterial::generate();
        let wrapped = self.provider.wrap(&key, &data_key_context(case))?;
        store::insert_case_key(conn, case, DATA_KEY_VERSION, &wrapped, now_utc())?;
        Ok(())
    }

    /// Encrypts and stores one personal field group of a case, keeping the earlier value in
    /// the group's history; the new version names nobody (see [`Vault::write_group_as`]).
    pub fn write_group(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        group: FieldGroup,
        plaintext: &GroupPlaintext,
    ) -> Result<(), VaultError> {
        self.write_group_as(conn, case, group, plaintext, &GroupChange::default())
    }

    /// Encrypts and stores one personal field group of a case as a new version written by
    /// `change.by` for `change.reason`. The value it replaces is decrypted and sealed again
    /// for its row of `case_group_versions` (under the same data key, bound to that table, the
    /// group and `case/version`), in the same transaction: every version stays readable by
    /// whoever may read the group, and goes with the data key when the case is shredded.
    pub fn write_group_as(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        group: FieldGroup,
        plaintext: &GroupPlaintext,
        change: &GroupChange,
    ) -> Result<(), VaultError> {
        if !group.is_encrypted() {
            return Err(VaultError::NotEncrypted(group));
        }
        let (key, version) = self.live_key(conn, case)?;
        let binding = group_binding(case, group, version);
        let ciphertext = envelope::seal(&key, &binding, plaintext.expose())?;
        let now = now_utc();
        conn.write_transaction(|conn| -> Result<(), VaultError> {
            let newest = store::newest_group_version(conn, case, group)?;
            let next = match store::group_ciphertext(conn, case, group)? {
                None => newest.unwrap_or(0) + 1,
                Some((earlier, written_at)) => {
                    let current = match newest {
                        Some(current) => current,
                        None => {
                            // Written before history was kept (and after the migration that
                            // recorded those): its version 1, by nobody known.
                            let unknown = store::VersionAuthor::default();
                            store::insert_group_version(
                                conn, case, group, 1, &unknown, written_at,
                            )?;
                            1
                        }
                    };
                    let plain = envelope::open(&key, &binding, &earlier)?;
                    let row = version_row_id(case, current);
                    let kept = envelope::seal(
                        &key,
                        &version_binding(&row, group, version),
                        plain.expose(),
                    )?;
                    store::keep_group_version(conn, case, group, current, &kept)?;
                    current + 1
                }
            };
            store::insert_group_version(conn, case, group, next, &change.author(), now)?;
            store::put_group(conn, case, group, &ciphertext, now)?;
            Ok(())
        })
    }

    /// The versions of every personal group of a case, by group then version: who wrote each,
    /// when and why, never a value.
    pub fn group_versions(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
    ) -> Result<Vec<GroupVersion>, VaultError> {
        let rows = store::group_versions(conn, case)?;
        let mut out: Vec<GroupVersion> = Vec::with_capacity(rows.len());
        for (group, version, by, role, organisation, at, reason) in rows {
            out.push(GroupVersion {
                group,
                version,
                current: false,
                changed_by: by,
                changed_by_role: role,
                changed_by_organisation_id: organisation,
                changed_at: at,
                reason,
            });
        }
        // Rows come by group then version: the last of each group is the current one.
        let count = out.len();
        for i in 0..count {
            let last_of_group = out.get(i + 1).is_none_or(|next| next.group != out[i].group);
            out[i].current = last_of_group;
        }
        Ok(out)
    }

    /// Decrypts every version of one personal group of a case, oldest first: earlier versions
    /// from the history, the current one from the group itself. `Erased` for each once the
    /// case was shredded.
    pub fn read_group_versions(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        group: FieldGroup,
    ) -> Result<Vec<(i32, GroupRead)>, VaultError> {
        if !group.is_encrypted() {
            return Err(VaultError::NotEncrypted(group));
        }
        let rows = store::group_version_ciphertexts(conn, case, group)?;
        let Some(newest) = rows.last().map(|(version, _)| *version) else {
            return Ok(Vec::new());
        };
        let (key, key_version) = match self.case_key(conn, case)? {
            CaseKey::Live { key, version } => (key, version),
            CaseKey::Shredded => {
                return Ok(rows
                    .into_iter()
                    .map(|(v, _)| (v, GroupRead::Erased))
                    .collect());
            }
            CaseKey::Missing => {
                return Ok(rows
                    .into_iter()
                    .map(|(v, _)| (v, GroupRead::Absent))
                    .collect());
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for (version, ciphertext) in rows {
            let read = match ciphertext {
                Some(ciphertext) => {
                    let row = version_row_id(case, version);
                    GroupRead::Plain(envelope::open(
                        &key,
                        &version_binding(&row, group, key_version),
                        &ciphertext,
                    )?)
                }
                None if version == newest => self.read_group(conn, case, group)?,
                None => GroupRead::Absent,
            };
            out.push((version, read));
        }
        Ok(out)
    }

    /// Reads and decrypts one personal field group of a case.
    pub fn read_group(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        group: FieldGroup,
    ) -> Result<GroupRead, VaultError> {
        if !group.is_encrypted() {
            return Err(VaultError::NotEncrypted(group));
        }
        let Some((row, ciphertext)) = store::case_key_and_group(conn, case, group)? else {
            return Ok(GroupRead::Absent);
        };
        let (key, version) = match self.unwrap_row(&row)? {
            CaseKey::Live { key, version } => (key, version),
            CaseKey::Shredded => return Ok(GroupRead::Erased),
            CaseKey::Missing => return Ok(GroupRead::Absent),
        };
        let Some(ciphertext) = ciphertext else {
            return Ok(GroupRead::Absent);
        };
        let plaintext = envelope::open(&key, &group_binding(case, group, version), &ciphertext)?;
        Ok(GroupRead::Plain(plaintext))
    }

    /// [`Vault::read_group`] for several groups of one case, with the key and every
    /// ciphertext read in one query; the reads in the order of `groups`, which names each
    /// group once (a group named twice reads as absent the second time).
    pub fn read_groups(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        groups: &[FieldGroup],
    ) -> Result<Vec<GroupRead>, VaultError> {
        if let Some(group) = groups.iter().find(|g| !g.is_encrypted()) {
            return Err(VaultError::NotEncrypted(*group));
        }
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let Some((row, mut found)) = store::case_key_and_groups(conn, case, groups)? else {
            return Ok(groups.iter().map(|_| GroupRead::Absent).collect());
        };
        let (key, version) = match self.unwrap_row(&row)? {
            CaseKey::Live { key, version } => (key, version),
            CaseKey::Shredded => return Ok(groups.iter().map(|_| GroupRead::Erased).collect()),
            CaseKey::Missing => return Ok(groups.iter().map(|_| GroupRead::Absent).collect()),
        };
        groups
            .iter()
            .map(|group| {
                let Some(at) = found.iter().position(|(g, _)| g == group) else {
                    return Ok(GroupRead::Absent);
                };
                let (_, ciphertext) = found.swap_remove(at);
                let plaintext =
                    envelope::open(&key, &group_binding(case, *group, version), &ciphertext)?;
                Ok(GroupRead::Plain(plaintext))
            })
            .collect()
    }

    /// Encrypts a value that lives in a row of its own (a note, a screening's answers, a
    /// decision's reasons) under the case's data key, bound to `table | column | row_id`: moved
    /// to another row or column it fails to decrypt. The caller stores the bytes.
    pub fn seal_record(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        place: RecordPlace<'_>,
        plaintext: &SecretBytes,
    ) -> Result<Vec<u8>, VaultError> {
        let (key, version) = self.live_key(conn, case)?;
        envelope::seal(&key, &place.binding(version), plaintext.expose())
    }

    /// Decrypts what [`Vault::seal_record`] sealed for the same place; `Erased` once the
    /// case was crypto-shredded.
    pub fn open_record(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        place: RecordPlace<'_>,
        ciphertext: &[u8],
    ) -> Result<GroupRead, VaultError> {
        let (key, version) = match self.case_key(conn, case)? {
            CaseKey::Live { key, version } => (key, version),
            CaseKey::Shredded => return Ok(GroupRead::Erased),
            CaseKey::Missing => return Ok(GroupRead::Absent),
        };
        envelope::open(&key, &place.binding(version), ciphertext).map(GroupRead::Plain)
    }

    /// [`Vault::open_record`] for several records, of one case or many, their cases' key rows
    /// read in one statement: what a list page shows costs one round trip, not one per row.
    /// The answers come in the order of `records`.
    pub fn open_records(
        &self,
        conn: &mut DbConn,
        records: &[(&CaseId, RecordPlace<'_>, &[u8])],
    ) -> Result<Vec<GroupRead>, VaultError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut cases: Vec<CaseId> = records.iter().map(|(case, ..)| (*case).clone()).collect();
        cases.sort();
        cases.dedup();
        let rows: HashMap<CaseId, store::CaseKeyRow> = store::case_keys(conn, &cases)?
            .into_iter()
            .map(|row| (row.case_id.clone(), row))
            .collect();
        records
            .iter()
            .map(|(case, place, ciphertext)| {
                let key = match rows.get(*case) {
                    Some(row) => self.unwrap_row(row)?,
                    None => CaseKey::Missing,
                };
                match key {
                    CaseKey::Live { key, version } => {
                        envelope::open(&key, &place.binding(version), ciphertext)
                            .map(GroupRead::Plain)
                    }
                    CaseKey::Shredded => Ok(GroupRead::Erased),
                    CaseKey::Missing => Ok(GroupRead::Absent),
                }
            })
            .collect()
    }

    /// The cipher for a new version of a document of `case`: the case's live data key and a
    /// fresh nonce prefix. Fails with [`VaultError::Erased`] once the case was shredded.
    pub fn new_document_cipher(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        version_id: &str,
    ) -> Result<DocumentCipher, VaultError> {
        let (key, version) = self.live_key(conn, case)?;
        Ok(DocumentCipher::fresh(key, version, version_id))
    }

    /// The key that opens the stored versions of `case`'s documents (its row read once, for as
    /// many versions as a request opens); [`VaultError::Erased`] once the case was shredded.
    pub fn document_key(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
    ) -> Result<DocumentKey, VaultError> {
        let (key, version) = self.live_key(conn, case)?;
        Ok(DocumentKey::new(key, version))
    }

    /// The cipher of one stored version of a document of `case` (see [`Vault::document_key`]
    /// for several).
    pub fn document_cipher(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        version_id: &str,
        key_version: i32,
        nonce_prefix: &[u8],
    ) -> Result<DocumentCipher, VaultError> {
        self.document_key(conn, case)?
            .cipher(version_id, key_version, nonce_prefix)
    }

    /// Stores the values a case's blind indexes are computed from (encrypted) and the indexes
    /// themselves (under the newest blind-index key), replacing earlier ones.
    pub fn set_index_terms(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
        terms: &IndexTerms,
    ) -> Result<(), VaultError> {
        let (key, version) = self.live_key(conn, case)?;
        let index_keys = self.newest_index_keys(conn)?;
        let encoded = terms.encode();
        let ciphertext = envelope::seal(&key, &terms_binding(case, version), encoded.expose())?;
        let entries = index_keys.entries(terms);
        conn.write_transaction(|conn| {
            store::put_index_terms(
                conn,
                case,
                index_keys.version(),
                &ciphertext,
                &entries,
                now_utc(),
            )
        })?;
        Ok(())
    }

    /// Decrypts a case's index terms, `None` when none were stored or the case was erased.
    pub fn read_index_terms(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
    ) -> Result<Option<IndexTerms>, VaultError> {
        let Some((_, ciphertext)) = store::index_terms(conn, case)? else {
            return Ok(None);
        };
        let (key, version) = match self.case_key(conn, case)? {
            CaseKey::Live { key, version } => (key, version),
            CaseKey::Shredded | CaseKey::Missing => return Ok(None),
        };
        let plain = envelope::open(&key, &terms_binding(case, version), &ciphertext)?;
        IndexTerms::decode(&plain).map(Some)
    }

    /// The blind index value of already normalised input under the newest index key.
    pub fn blind_index(
        &self,
        conn: &mut DbConn,
        name: IndexName,
        normalised: &str,
    ) -> Result<BlindIndexValue, VaultError> {
        Ok(self.newest_index_keys(conn)?.compute(name, normalised))
    }

    /// Cases whose blind indexes match the query, under any live index key version (during a
    /// blind-index key rotation both old and new are searched). Results are candidates: with
    /// truncated indexes unrelated cases match too, so confirm by decrypting.
    pub fn find_by_index(
        &self,
        conn: &mut DbConn,
        query: &IndexQuery,
    ) -> Result<Vec<CaseId>, VaultError> {
        self.find_by_indexes(conn, std::slice::from_ref(query))
    }

    /// Cases that match any of `queries` (each as [`Vault::find_by_index`] matches it), with
    /// the live keys read once and one statement per live key version for all of them.
    pub fn find_by_indexes(
        &self,
        conn: &mut DbConn,
        queries: &[IndexQuery],
    ) -> Result<Vec<CaseId>, VaultError> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = BTreeSet::new();
        for keys in self.live_index_keys(conn)? {
            let wanted: Vec<(IndexName, Vec<BlindIndexValue>)> = queries
                .iter()
                .map(|query| (query.index(), keys.query_values(query)))
                .filter(|(_, values)| !values.is_empty())
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let mut names: Vec<IndexName> = wanted.iter().map(|(name, _)| *name).collect();
            names.sort();
            names.dedup();
            let mut values: Vec<&[u8]> = wanted
                .iter()
                .flat_map(|(_, values)| values.iter().map(BlindIndexValue::as_bytes))
                .collect();
            values.sort_unstable();
            values.dedup();
            let hits: HashSet<(CaseId, IndexName, Vec<u8>)> =
                store::index_hits(conn, keys.version(), &names, &values)?
                    .into_iter()
                    .collect();
            let mut cases: BTreeSet<&CaseId> = hits.iter().map(|(case, _, _)| case).collect();
            // A case matches a query when it holds every one of the query's values.
            cases.retain(|case| {
                wanted.iter().any(|(name, values)| {
                    values.iter().all(|value| {
                        hits.contains(&((*case).clone(), *name, value.as_bytes().to_vec()))
                    })
                })
            });
            found.extend(cases.into_iter().cloned());
        }
        Ok(found.into_iter().collect())
    }

    /// Crypto-shredding: destroys the case's data key and deletes its ciphertexts (the
    /// groups' earlier versions included), index terms and blind indexes. The data is unrecoverable from this database and from every backup
    /// taken afterwards (older backups still hold the wrapped key: their retention bounds how
    /// long erasure takes to be complete).
    pub fn shred_case(&self, conn: &mut DbConn, case: &CaseId) -> Result<ShredOutcome, VaultError> {
        conn.write_transaction(|conn| self.shred_in(conn, case))
    }

    /// [`Vault::shred_case`] inside the caller's write transaction, so that an erasure's other
    /// deletions and its audit event commit with it or not at all.
    pub fn shred_in(&self, conn: &mut DbConn, case: &CaseId) -> Result<ShredOutcome, VaultError> {
        let outcome = store::shred(conn, case, now_utc())?;
        // Forgotten now: should the transaction roll back, the key is unwrapped again.
        self.data_keys.forget(case);
        Ok(outcome)
    }

    /// Counts for `tumaini keys status`.
    pub fn status(&self, conn: &mut DbConn) -> Result<VaultStatus, VaultError> {
        let (data_keys_by_kek, shredded) = rotation_store::data_key_counts(conn)?;
        Ok(VaultStatus {
            current_kek: self.provider.current_version(),
            provider_versions: self.provider.versions(),
            data_keys_by_kek,
            shredded,
            index_key_versions: store::live_vault_keys(conn, store::BLIND_INDEX_PURPOSE)?
                .into_iter()
                .map(|row| row.version)
                .collect(),
            indexed_cases_by_version: rotation_store::index_term_counts(conn)?,
        })
    }

    fn live_key(
        &self,
        conn: &mut DbConn,
        case: &CaseId,
    ) -> Result<(Arc<KeyMaterial>, u32), VaultError> {
        match self.case_key(conn, case)? {
            CaseKey::Live { key, version } => Ok((key, version)),
            CaseKey::Shredded => Err(VaultError::Erased),
            CaseKey::Missing => Err(VaultError::NoCaseKey),
        }
    }

    fn case_key(&self, conn: &mut DbConn, case: &CaseId) -> Result<CaseKey, VaultError> {
        match store::case_key(conn, case)? {
            Some(row) => self.unwrap_row(&row),
            None => Ok(CaseKey::Missing),
        }
    }

    /// The data key of a stored row, from the cache or unwrapped by the provider. The row is
    /// read on every call, so a shred is seen at once by every replica; the cache only saves
    /// the unwrap (a network call with a KMS).
    fn unwrap_row(&self, row: &store::CaseKeyRow) -> Result<CaseKey, VaultError> {
        if row.shredded_at.is_some() {
            return Ok(CaseKey::Shredded);
        }
        let version = u32::try_from(row.data_key_version).map_err(|_| VaultError::Malformed)?;
        let kek_version = KeyVersion::new(row.kek_version.into()).ok_or(VaultError::Malformed)?;
        if let Some(key) = self.data_keys.get(&row.case_id, kek_version) {
            return Ok(CaseKey::Live { key, version });
        }
        let wrapped = WrappedKey {
            kek_version,
            bytes: row.wrapped_key.clone(),
        };
        let key = Arc::new(
            self.provider
                .unwrap(&wrapped, &data_key_context(&row.case_id))?,
        );
        self.data_keys
            .put(&row.case_id, kek_version, Arc::clone(&key));
        Ok(CaseKey::Live { key, version })
    }

    /// The live blind-index keys, oldest first; creates version 1 on a fresh database.
    fn live_index_keys(&self, conn: &mut DbConn) -> Result<Vec<Arc<IndexKeys>>, VaultError> {
        let mut rows = store::live_vault_keys(conn, store::BLIND_INDEX_PURPOSE)?;
        if rows.is_empty() {
            self.create_index_key(conn, KeyVersion::FIRST)?;
            rows = store::live_vault_keys(conn, store::BLIND_INDEX_PURPOSE)?;
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let version = KeyVersion::new(row.version.into()).ok_or(VaultError::Malformed)?;
            if let Some(keys) = self
                .index_keys
                .lock()
                .ok()
                .and_then(|m| m.get(&version).cloned())
            {
                out.push(keys);
                continue;
            }
            let wrapped = WrappedKey {
                kek_version: KeyVersion::new(row.kek_version.into())
                    .ok_or(VaultError::Malformed)?,
                bytes: row.wrapped_key,
            };
            let root = self
                .provider
                .unwrap(&wrapped, &index_key_context(&version.get().to_string()))?;
            let keys = Arc::new(IndexKeys::derive(&root, version)?);
            if let Ok(mut cache) = self.index_keys.lock() {
                cache.insert(version, Arc::clone(&keys));
            }
            out.push(keys);
        }
        Ok(out)
    }

    fn newest_index_keys(&self, conn: &mut DbConn) -> Result<Arc<IndexKeys>, VaultError> {
        self.live_index_keys(conn)?
            .pop()
            .ok_or(VaultError::Malformed)
    }

    /// Adds a blind-index root key version. Another replica creating the same version at the
    /// same moment is not an error: its key wins and is used.
    fn create_index_key(&self, conn: &mut DbConn, version: KeyVersion) -> Result<(), VaultError> {
        let root = KeyMaterial::generate();
        let wrapped = self
            .provider
            .wrap(&root, &index_key_context(&version.get().to_string()))?;
        // In a savepoint: on PostgreSQL a unique violation would otherwise abort the whole
        // transaction of the request that happened to create the key.
        match diesel::Connection::transaction(conn, |conn| {
            store::insert_vault_key(
                conn,
                store::BLIND_INDEX_PURPOSE,
                version,
                &wrapped,
                now_utc(),
            )
        }) {
            Ok(()) | Err(DbError::Conflict { .. }) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}

fn data_key_context(case: &CaseId) -> KeyContext<'_> {
    KeyContext {
        table: "case_keys",
        column: "wrapped_key",
        row_id: case.as_str(),
    }
}

fn index_key_context(version: &str) -> KeyContext<'_> {
    KeyContext {
        table: "vault_keys",
        column: store::BLIND_INDEX_PURPOSE,
        row_id: version,
    }
}

fn group_binding(case: &CaseId, group: FieldGroup, key_version: u32) -> Binding<'_> {
    Binding {
        table: FIELD_GROUPS_TABLE,
        column: group.code(),
        row_id: case.as_str(),
        key_version,
    }
}

/// The row id a version's ciphertext is bound to: `case/version`.
fn version_row_id(case: &CaseId, version: i32) -> String {
    format!("{}/{version}", case.as_str())
}

fn version_binding(row_id: &str, group: FieldGroup, key_version: u32) -> Binding<'_> {
    Binding {
        table: GROUP_VERSIONS_TABLE,
        column: group.code(),
        row_id,
        key_version,
    }
}

fn terms_binding(case: &CaseId, key_version: u32) -> Binding<'_> {
    Binding {
        table: INDEX_TERMS_TABLE,
        column: "terms",
        row_id: case.as_str(),
        key_version,
    }
}
