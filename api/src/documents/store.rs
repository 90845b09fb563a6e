//! Where documents' encrypted chunks are kept, behind one interface: rows of the database (the
//! default) or objects in an object store (a local directory, an S3-compatible bucket). An
//! object's key is `documents/<version id>/<chunk index>`: nothing personal, nothing about the
//! case. Every chunk is sealed before it gets here and opened after it leaves.

use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use tumaini_db::ids::DocumentVersionId;
use tumaini_db::models::document::chunks;
use tumaini_db::vocabulary::DocumentStorage;

use crate::config::DocumentStoreSetting;
use crate::http::{ApiError, with_conn, with_database_deadline};

/// The store of document chunks.
#[derive(Clone)]
pub enum DocumentStore {
    /// `document_chunks` rows.
    Database(tumaini_db::Pool),
    /// One object per chunk.
    Objects(Arc<dyn ObjectStore>),
}

impl std::fmt::Debug for DocumentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Database(_) => "DocumentStore::Database",
            Self::Objects(_) => "DocumentStore::Objects",
        })
    }
}

impl DocumentStore {
    /// The store the setting names, over `pool` for the database.
    pub fn from_setting(
        setting: &DocumentStoreSetting,
        pool: &tumaini_db::Pool,
    ) -> anyhow::Result<Self> {
        Ok(match setting {
            DocumentStoreSetting::Database => Self::Database(pool.clone()),
            DocumentStoreSetting::Directory(dir) => {
                std::fs::create_dir_all(dir)?;
                Self::Objects(Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(dir)?
                        .with_automatic_cleanup(true),
                ))
            }
            DocumentStoreSetting::S3(url) => {
                // `with_url` keeps only the bucket: the prefix is applied here.
                let prefix = url
                    .trim_start_matches("s3://")
                    .split_once('/')
                    .map(|(_, prefix)| prefix.trim_matches('/'))
                    .unwrap_or_default()
                    .to_owned();
                let bucket = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url)
                    .build()?;
                if prefix.is_empty() {
                    Self::Objects(Arc::new(bucket))
                } else {
                    Self::Objects(Arc::new(object_store::prefix::PrefixStore::new(
                        bucket, prefix,
                    )))
                }
            }
        })
    }

    /// How the versions it stores are labelled.
    pub fn kind(&self) -> DocumentStorage {
        match self {
            Self::Database(_) => DocumentStorage::Database,
            Self::Objects(_) => DocumentStorage::ObjectStore,
        }
    }

    /// Stores sealed chunk `index` of `version`.
    pub async fn put(
        &self,
        version: &DocumentVersionId,
        index: u32,
        sealed: Vec<u8>,
    ) -> Result<(), ApiError> {
        match self {
            Self::Database(pool) => {
                let (version, index) = (version.clone(), to_i32(index)?);
                per_step(pool, move |conn| {
                    chunks::put(conn, &version, index, &sealed)?;
                    Ok(())
                })
                .await
            }
            Self::Objects(store) => {
                store
                    .put(
                        &object_path(version.as_str(), index),
                        Bytes::from(sealed).into(),
                    )
                    .await
                    .map_err(object_error)?;
                Ok(())
            }
        }
    }

    /// Sealed chunk `index` of a version stored in `storage`; `None` when it is missing.
    pub async fn get(
        &self,
        storage: DocumentStorage,
        version: &DocumentVersionId,
        index: u32,
    ) -> Result<Option<Bytes>, ApiError> {
        match (self, storage) {
            (Self::Database(pool), DocumentStorage::Database) => {
                let (version, index) = (version.clone(), to_i32(index)?);
                let found =
                    per_step(pool, move |conn| Ok(chunks::get(conn, &version, index)?)).await?;
                Ok(found.map(Bytes::from))
            }
            (Self::Objects(store), DocumentStorage::ObjectStore) => {
                match store.get(&object_path(version.as_str(), index)).await {
                    Ok(found) => Ok(Some(found.bytes().await.map_err(object_error)?)),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(other) => Err(object_error(other)),
                }
            }
            // Stored where this server does not look: the configuration changed since.
            _ => Err(ApiError::unavailable(
                "this document is stored where this server is not configured to read \
                 (TUMAINI_DOCUMENT_STORE)",
            )),
        }
    }

    /// Removes a version's stored chunks (`chunk_count` of them, or as many as are found when
    /// the count is unknown). Removing what is not there is not an error.
    pub async fn remove(
        &self,
        storage: DocumentStorage,
        version: &str,
        chunk_count: Option<u32>,
    ) -> Result<(), ApiError> {
        match (self, storage) {
            (Self::Database(pool), DocumentStorage::Database) => {
                let version = version.to_owned();
                per_step(pool, move |conn| {
                    conn.write_transaction(|conn| chunks::delete_version(conn, &version))?;
                    Ok(())
                })
                .await
            }
            (Self::Objects(store), DocumentStorage::ObjectStore) => {
                let prefix = ObjectPath::from(format!("documents/{version}"));
                let locations: Vec<ObjectPath> = match chunk_count {
                    Some(count) => (0..count).map(|i| object_path(version, i)).collect(),
                    None => {
                        use futures_util::TryStreamExt as _;
                        store
                            .list(Some(&prefix))
                            .map_ok(|meta| meta.location)
                            .try_collect()
                            .await
                            .map_err(object_error)?
                    }
                };
                for location in locations {
                    match store.delete(&location).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(other) => return Err(object_error(other)),
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Database work of one step of a long upload or download, with a bound of its own: the
/// request as a whole may rightly take minutes on a poor connection.
pub async fn per_step<T: Send + 'static>(
    pool: &tumaini_db::Pool,
    work: impl FnOnce(&mut tumaini_db::DbConn) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    fresh_deadline(pool, with_conn(pool, work)).await
}

/// `work` (a whole policy-decided step) with a database bound of its own, for a request that may
/// rightly have taken minutes before it (an upload on a poor connection).
pub async fn fresh_deadline<F: std::future::Future>(pool: &tumaini_db::Pool, work: F) -> F::Output {
    with_database_deadline(pool.connection_timeout(), work).await
}

fn object_path(version: &str, index: u32) -> ObjectPath {
    ObjectPath::from(format!("documents/{version}/{index:08}"))
}

fn to_i32(index: u32) -> Result<i32, ApiError> {
    i32::try_from(index).map_err(|_| ApiError::Internal(anyhow::anyhow!("chunk index overflow")))
}

/// An object store failure: its cause logged, a 503 sent (the store may come back).
fn object_error(err: object_store::Error) -> ApiError {
    tracing::error!(error = %err, "document store failed");
    ApiError::unavailable("the document store is not available")
}
