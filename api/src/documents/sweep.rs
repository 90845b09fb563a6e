//! Removing stored content nothing refers to: uploads that never completed (the client went
//! away, the server stopped, a resumable upload left alone) once a day has passed since their
//! last byte, and the content an erasure or retention discarded from an object store (no
//! database transaction can delete an object, so the transaction queues it and this removes
//! it). Run by housekeeping.
//!
//! An upload's orphan entry is claimed (deleted) before its content is removed, in the same way
//! a completing upload claims it before it commits: of the two, only one succeeds, so a version
//! that commits never loses its content.

use std::time::Duration;

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use tumaini_db::models::document::{chunks, orphans, uploads};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::{DocumentStorage, OrphanReason};
use tumaini_db::{DbConn, DbError};

use super::store::DocumentStore;

/// Entries handled per round.
const PER_ROUND: i64 = 100;

/// Removes what is due; returns how many versions' (or sessions') content was removed. A round
/// ends at the first object-store failure (the store is likely down: the next round tries
/// again) so that it never holds housekeeping's other work for long.
pub fn sweep(
    conn: &mut DbConn,
    store: &DocumentStore,
    runtime: &tokio::runtime::Runtime,
    abandoned_after: Duration,
) -> Result<usize, DbError> {
    let before = now_utc()
        - chrono::Duration::from_std(abandoned_after).unwrap_or(chrono::Duration::days(1));
    // A server reaches the database's chunks, and an object store only if it is configured
    // with one: entries it cannot reach are left to a server that can.
    let reachable: &[DocumentStorage] = match store {
        DocumentStore::Database(_) => &[DocumentStorage::Database],
        DocumentStore::Objects(_) => &[DocumentStorage::Database, DocumentStorage::ObjectStore],
    };
    let mut removed = 0;
    for orphan in orphans::due(conn, reachable, before, PER_ROUND)? {
        let version = orphan.version_id.as_str();
        match (orphan.storage, store) {
            (DocumentStorage::Database, _) => {
                // Claimed first: an upload that committed meanwhile took the entry, and its
                // chunks stay.
                let claimed = conn.write_transaction(|conn| {
                    let claimed = orphans::clear(conn, version)?;
                    if claimed == 1 {
                        chunks::delete_version(conn, version)?;
                        uploads::forget(conn, version)?;
                    }
                    Ok::<_, DbError>(claimed)
                })?;
                if claimed != 1 {
                    continue;
                }
            }
            (DocumentStorage::ObjectStore, DocumentStore::Objects(objects)) => {
                if orphan.reason == OrphanReason::Upload {
                    // Claim it first (a completing upload may take it at the same moment).
                    let claimed = conn.write_transaction(|conn| {
                        let claimed = orphans::clear(conn, version)?;
                        uploads::forget(conn, version)?;
                        Ok::<_, DbError>(claimed)
                    })?;
                    if claimed != 1 {
                        continue;
                    }
                }
                if let Err(err) = runtime.block_on(remove_objects(objects.as_ref(), version)) {
                    tracing::warn!(version, error = %err, "housekeeping: document content not removed yet");
                    if orphan.reason == OrphanReason::Upload {
                        conn.write_transaction(|conn| {
                            orphans::mark(
                                conn,
                                version,
                                DocumentStorage::ObjectStore,
                                OrphanReason::Discarded,
                                now_utc(),
                            )
                        })?;
                    }
                    break;
                }
                let _ = conn.write_transaction(|conn| orphans::clear(conn, version))?;
            }
            (DocumentStorage::ObjectStore, DocumentStore::Database(_)) => continue,
        }
        removed += 1;
    }
    Ok(removed)
}

/// Deletes every object of a version.
async fn remove_objects(store: &dyn ObjectStore, version: &str) -> object_store::Result<()> {
    use futures_util::TryStreamExt as _;
    let prefix = ObjectPath::from(format!("documents/{version}"));
    let locations: Vec<ObjectPath> = store
        .list(Some(&prefix))
        .map_ok(|meta| meta.location)
        .try_collect()
        .await?;
    for location in locations {
        match store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}
