//! Key rotation, online and resumable.
//!
//! KEK rotation re-wraps data keys (never the data) under the provider's newest KEK version.
//! It walks the keys still under an older version in case id order, a batch per write
//! transaction. Each row is updated only if it still holds the version that was read and is
//! not shredded, so a concurrent shred is never undone and readers always find a key that one
//! of the live KEK versions unwraps. A crash loses at most the open batch; a rerun finds the
//! remaining rows by their version and completes.
//!
//! Blind-index key rotation adds a blind-index key version, then recomputes each case's
//! indexes from its encrypted index terms the same way; look-ups search every live version
//! meanwhile, and older versions are retired (their wrapped key destroyed) once no case uses
//! them.
//!
//! On PostgreSQL a session advisory lock keeps two rotations from running at once; on SQLite
//! the write lock already serialises batches, and the conditional updates keep a second run
//! harmless.

use diesel::prelude::*;

use super::provider::{KeyVersion, WrappedKey};
use super::rotation_store;
use super::store::{self, BLIND_INDEX_PURPOSE};
use super::{
    IndexTerms, Vault, VaultError, data_key_context, envelope, index_key_context, terms_binding,
};
use crate::DbConn;
use crate::ids::CaseId;
use crate::time::now_utc;

/// `pg_try_advisory_lock` keys: "tumaini kek rotation", "tumaini index rotation".
const PG_KEK_ROTATION_LOCK: i64 = 0x7475_6d61_696e_6902;
const PG_INDEX_ROTATION_LOCK: i64 = 0x7475_6d61_696e_6903;

/// How a rotation runs.
#[derive(Debug, Clone, Copy)]
pub struct RotationOptions {
    /// Rows per write transaction.
    pub batch_size: usize,
    /// Stop after this many batches (tests simulate a crash with it; `None` runs to the end).
    pub max_batches: Option<usize>,
}

impl Default for RotationOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            max_batches: None,
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The version everything was moved to.
    pub target: KeyVersion,
    /// Rows moved by this run.
    pub rotated: u64,
    /// Rows that could not be moved (their key did not unwrap); they stay as they were.
    pub failed: u64,
    /// Rows still under an older version after this run (non-zero when stopped early).
    pub remaining: u64,
    /// Batches committed.
    pub batches: u64,
}

/// The batching both rotations share: from the start (or where a previous run stopped, since
/// done rows no longer qualify) in case-id order, `batch` handles up to `limit` rows after
/// `cursor` in its own write transaction and returns the last case it saw and how many rows it
/// moved and failed; an empty batch ends the run, and so does `max_batches`. `remaining` is
/// left for the caller to count.
fn run_batches(
    conn: &mut DbConn,
    target: KeyVersion,
    options: &RotationOptions,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
    mut batch: impl FnMut(
        &mut DbConn,
        Option<&CaseId>,
        i64,
    ) -> Result<(Option<CaseId>, u64, u64), VaultError>,
) -> Result<RotationReport, VaultError> {
    let limit = i64::try_from(options.batch_size.max(1)).unwrap_or(500);
    let mut report = RotationReport {
        target,
        rotated: 0,
        failed: 0,
        remaining: 0,
        batches: 0,
    };
    let mut cursor: Option<CaseId> = None;
    progress(0, total);
    loop {
        if options
            .max_batches
            .is_some_and(|max| report.batches >= max as u64)
        {
            break;
        }
        let (last, rotated, failed) =
            conn.write_transaction(|conn| batch(conn, cursor.as_ref(), limit))?;
        let Some(last) = last else { break };
        cursor = Some(last);
        report.batches += 1;
        report.rotated += rotated;
        report.failed += failed;
        progress(report.rotated + report.failed, total);
    }
    Ok(report)
}

impl Vault {
    /// Whether any stored key is still under a KEK older than the provider's newest.
    pub fn kek_rotation_unfinished(&self, conn: &mut DbConn) -> Result<bool, VaultError> {
        let target = self.provider.current_version();
        Ok(rotation_store::count_data_keys_below(conn, target)? > 0
            || !rotation_store::vault_keys_below(conn, target)?.is_empty())
    }

    /// Re-wraps every data key (and vault key) under the provider's newest KEK version.
    /// `progress(done, total)` is called after each batch.
    pub fn rotate_data_keys(
        &self,
        conn: &mut DbConn,
        options: RotationOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RotationReport, VaultError> {
        with_lock(conn, PG_KEK_ROTATION_LOCK, |conn| {
            self.rotate_data_keys_locked(conn, options, progress)
        })
    }

    fn rotate_data_keys_locked(
        &self,
        conn: &mut DbConn,
        options: RotationOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RotationReport, VaultError> {
        let target = self.provider.current_version();
        conn.write_transaction(|conn| -> Result<(), VaultError> {
            for (purpose, row) in rotation_store::vault_keys_below(conn, target)? {
                let wrapped = WrappedKey {
                    kek_version: KeyVersion::new(row.kek_version.into())
                        .ok_or(VaultError::Malformed)?,
                    bytes: row.wrapped_key,
                };
                let version = row.version.to_string();
                let context = index_key_context(&version);
                let key = self.provider.unwrap(&wrapped, &context)?;
                let rewrapped = self.provider.wrap(&key, &context)?;
                rotation_store::rewrap_vault_key(
                    conn,
                    &purpose,
                    row.version,
                    row.kek_version,
                    &rewrapped,
                )?;
            }
            Ok(())
        })?;
        let total =
            u64::try_from(rotation_store::count_data_keys_below(conn, target)?).unwrap_or(0);
        let mut report = run_batches(
            conn,
            target,
            &options,
            total,
            progress,
            |conn, cursor, limit| {
                let rows = rotation_store::data_keys_to_rewrap(conn, target, cursor, limit)?;
                let (mut rotated, mut failed) = (0u64, 0u64);
                let now = now_utc();
                for row in &rows {
                    let Some(old) = KeyVersion::new(row.kek_version.into()) else {
                        failed += 1;
                        continue;
                    };
                    let context = data_key_context(&row.case_id);
                    let wrapped = WrappedKey {
                        kek_version: old,
                        bytes: row.wrapped_key.clone(),
                    };
                    let Ok(key) = self.provider.unwrap(&wrapped, &context) else {
                        failed += 1;
                        continue;
                    };
                    let rewrapped = self.provider.wrap(&key, &context)?;
                    if rotation_store::store_rewrapped_data_key(
                        conn,
                        &row.case_id,
                        row.kek_version,
                        &rewrapped,
                        now,
                    )? {
                        rotated += 1;
                    }
                }
                Ok((rows.last().map(|row| row.case_id.clone()), rotated, failed))
            },
        )?;
        report.remaining =
            u64::try_from(rotation_store::count_data_keys_below(conn, target)?).unwrap_or(0);
        Ok(report)
    }

    /// Whether a blind-index key rotation was started and not finished.
    pub fn index_rotation_unfinished(&self, conn: &mut DbConn) -> Result<bool, VaultError> {
        Ok(store::live_vault_keys(conn, BLIND_INDEX_PURPOSE)?.len() > 1)
    }

    /// Rotates the blind-index key: adds a version (unless an earlier rotation is unfinished,
    /// which is then completed), recomputes every case's indexes under it, and retires the
    /// older versions.
    pub fn rotate_index_key(
        &self,
        conn: &mut DbConn,
        options: RotationOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RotationReport, VaultError> {
        with_lock(conn, PG_INDEX_ROTATION_LOCK, |conn| {
            if !self.index_rotation_unfinished(conn)? {
                self.live_index_keys(conn)?;
                let newest = store::newest_vault_key_version(conn, BLIND_INDEX_PURPOSE)?
                    .and_then(|v| KeyVersion::new(v.into()))
                    .unwrap_or(KeyVersion::FIRST);
                self.create_index_key(conn, newest.next().ok_or(VaultError::Malformed)?)?;
            }
            self.recompute_indexes(conn, options, progress)
        })
    }

    fn recompute_indexes(
        &self,
        conn: &mut DbConn,
        options: RotationOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RotationReport, VaultError> {
        let keys = self.newest_index_keys(conn)?;
        let target = keys.version();
        let total =
            u64::try_from(rotation_store::count_index_terms_below(conn, target)?).unwrap_or(0);
        let mut report = run_batches(
            conn,
            target,
            &options,
            total,
            progress,
            |conn, cursor, limit| {
                let rows = rotation_store::index_terms_to_recompute(conn, target, cursor, limit)?;
                let (mut rotated, mut failed) = (0u64, 0u64);
                for (case, old) in &rows {
                    let terms = match self.decrypt_terms(conn, case) {
                        Ok(terms) => terms,
                        Err(_) => {
                            failed += 1;
                            continue;
                        }
                    };
                    let entries = keys.entries(&terms);
                    if rotation_store::mark_index_terms(conn, case, *old, target)? {
                        store::replace_indexes(conn, case, target, &entries)?;
                        rotated += 1;
                    }
                }
                Ok((rows.last().map(|(case, _)| case.clone()), rotated, failed))
            },
        )?;
        report.remaining =
            u64::try_from(rotation_store::count_index_terms_below(conn, target)?).unwrap_or(0);
        if report.remaining == 0 {
            conn.write_transaction(|conn| {
                rotation_store::retire_vault_keys_before(
                    conn,
                    BLIND_INDEX_PURPOSE,
                    target,
                    now_utc(),
                )
            })?;
            if let Ok(mut cached) = self.index_keys.lock() {
                cached.retain(|version, _| *version >= target);
            }
        }
        Ok(report)
    }

    fn decrypt_terms(
        &self,
        conn: &mut DbConn,
        case: &crate::ids::CaseId,
    ) -> Result<IndexTerms, VaultError> {
        let (_, ciphertext) = store::index_terms(conn, case)?.ok_or(VaultError::Malformed)?;
        let (key, version) = self.live_key(conn, case)?;
        let plain = envelope::open(&key, &terms_binding(case, version), &ciphertext)?;
        IndexTerms::decode(&plain)
    }
}

/// Runs `work` holding a PostgreSQL session advisory lock (refusing when another session holds
/// it); on SQLite runs it directly.
fn with_lock<T>(
    conn: &mut DbConn,
    lock: i64,
    work: impl FnOnce(&mut DbConn) -> Result<T, VaultError>,
) -> Result<T, VaultError> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    if let DbConn::Postgresql(pg) = conn {
        let Locked { locked } =
            diesel::sql_query(format!("SELECT pg_try_advisory_lock({lock}) AS locked"))
                .get_result(pg)?;
        if !locked {
            return Err(VaultError::RotationRunning);
        }
    }
    let outcome = work(conn);
    if let DbConn::Postgresql(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_unlock({lock})")).execute(pg)?;
    }
    outcome
}
