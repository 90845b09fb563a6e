//! Removing stored content nothing refers to: uploads that never completed (the client went
//! away, the server stopped) once they are older than a day, and the content an erasure or
//! retention discarded from an object store (no database transaction can delete an object, so
//! the transaction queues it and this removes it). Run by housekeeping.

use std::time::Duration;

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use tumaini_db::models::document::{chunks, orphans};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::DocumentStorage;
use tumaini_db::{DbConn, DbError};

use super::store::DocumentStore;

/// Entries handled per round.
const PER_ROUND: i64 = 100;

/// Removes what is due; returns how many versions' content was removed. Content in an object
/// store this server is not configured for is left queued (and logged).
pub fn sweep(
    conn: &mut DbConn,
    store: &DocumentStore,
    runtime: &tokio::runtime::Runtime,
    abandoned_after: Duration,
) -> Result<usize, DbError> {
    let before = now_utc()
        - chrono::Duration::from_std(abandoned_after).unwrap_or(chrono::Duration::days(1));
    let mut removed = 0;
    for orphan in orphans::due(conn, before, PER_ROUND)? {
        let version = orphan.version_id.as_str();
        match (orphan.storage, store) {
            (DocumentStorage::Database, _) => {
                conn.write_transaction(|conn| {
                    chunks::delete_version(conn, version)?;
                    orphans::clear(conn, version)
                })?;
            }
            (DocumentStorage::ObjectStore, DocumentStore::Objects(objects)) => {
                if let Err(err) = runtime.block_on(remove_objects(objects.as_ref(), version)) {
                    tracing::warn!(version, error = %err, "housekeeping: document content not removed yet");
                    continue;
                }
                conn.write_transaction(|conn| orphans::clear(conn, version))?;
            }
            (DocumentStorage::ObjectStore, DocumentStore::Database(_)) => {
                tracing::warn!(
                    version,
                    "housekeeping: document content waits in an object store this server is not configured for"
                );
                continue;
            }
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
