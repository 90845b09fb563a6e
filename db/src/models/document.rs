//! Documents of a case and the versions of their content. The content itself is encrypted in
//! chunks (`crate::vault::stream`), stored as `document_chunks` rows or as objects in an object
//! store; what is here names neither the person nor the file.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, ConsentId, DocumentId, DocumentVersionId, UserId};
use crate::schema::{
    document_chunks, document_orphans, document_uploads, document_versions, documents, legal_holds,
    referrals,
};
use crate::vocabulary::{DocumentKind, DocumentStorage, FieldGroup, OrphanReason};
use crate::{DbConn, DbError};

/// A document of a case.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = documents)]
pub struct Document {
    /// Identifier.
    pub id: DocumentId,
    /// The case it belongs to.
    pub case_id: CaseId,
    /// The personal group that decides who may read it.
    pub field_group: FieldGroup,
    /// What it is.
    pub kind: DocumentKind,
    /// The consent version a consent form records.
    pub consent_id: Option<ConsentId>,
    /// The version a download gets unless it names another.
    pub current_version: i32,
    /// Who uploaded its first version.
    pub created_by: UserId,
    /// When.
    pub created_at: NaiveDateTime,
    /// When a version was last added.
    pub updated_at: NaiveDateTime,
    /// When it was deleted (hidden at once; its content erased by retention).
    pub deleted_at: Option<NaiveDateTime>,
    /// Who deleted it.
    pub deleted_by: Option<UserId>,
}

/// One version of a document's content.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = document_versions)]
pub struct DocumentVersion {
    /// Identifier: the id its chunks are bound to and stored under.
    pub id: DocumentVersionId,
    /// The document.
    pub document_id: DocumentId,
    /// 1, 2, ...
    pub version: i32,
    /// Where its chunks are.
    pub storage: DocumentStorage,
    /// The case data key version that encrypts it.
    pub key_version: i32,
    /// The random part of its chunks' nonces.
    pub nonce_prefix: Vec<u8>,
    /// The plaintext bytes in every chunk but the last.
    pub chunk_size: i32,
    /// How many chunks.
    pub chunk_count: i32,
    /// The plaintext's size in bytes.
    pub byte_size: i64,
    /// File name, media type, caption and sizes, encrypted and bound to this row.
    pub sealed_meta: Vec<u8>,
    /// Who uploaded it.
    pub created_by: UserId,
    /// When.
    pub created_at: NaiveDateTime,
}

impl Document {
    /// Stores a new document with its first version.
    pub fn create(
        conn: &mut DbConn,
        document: &Document,
        first: &DocumentVersion,
    ) -> Result<(), DbError> {
        diesel::insert_into(documents::table)
            .values(document)
            .execute(conn)?;
        diesel::insert_into(document_versions::table)
            .values(first)
            .execute(conn)?;
        Ok(())
    }

    /// Adds `next` as the document's newest version and makes it current. `next.version` must
    /// be one more than the current version: a concurrent replacement that got there first
    /// makes this a `Conflict`.
    pub fn add_version(
        conn: &mut DbConn,
        document: &DocumentId,
        next: &DocumentVersion,
    ) -> Result<(), DbError> {
        let moved = diesel::update(
            documents::table
                .find(document)
                .filter(documents::current_version.eq(next.version - 1))
                .filter(documents::deleted_at.is_null()),
        )
        .set((
            documents::current_version.eq(next.version),
            documents::updated_at.eq(next.created_at),
        ))
        .execute(conn)?;
        if moved != 1 {
            return Err(DbError::Conflict {
                constraint: "documents_current_version".to_owned(),
            });
        }
        diesel::insert_into(document_versions::table)
            .values(next)
            .execute(conn)?;
        Ok(())
    }

    /// A document of `case` that is not deleted; `NotFound` otherwise (another case's
    /// document is not found either).
    pub fn find_in_case(
        conn: &mut DbConn,
        case: &CaseId,
        id: &DocumentId,
    ) -> Result<Self, DbError> {
        Ok(documents::table
            .find(id)
            .filter(documents::case_id.eq(case))
            .filter(documents::deleted_at.is_null())
            .select(Self::as_select())
            .first(conn)?)
    }

    /// The case's documents that are not deleted, each with its current version, oldest
    /// first.
    pub fn list_for_case(
        conn: &mut DbConn,
        case: &CaseId,
    ) -> Result<Vec<(Self, DocumentVersion)>, DbError> {
        Ok(documents::table
            .inner_join(
                document_versions::table.on(document_versions::document_id
                    .eq(documents::id)
                    .and(document_versions::version.eq(documents::current_version))),
            )
            .filter(documents::case_id.eq(case))
            .filter(documents::deleted_at.is_null())
            .order((documents::created_at.asc(), documents::id.asc()))
            .select((Self::as_select(), DocumentVersion::as_select()))
            .load(conn)?)
    }

    /// Hides the document; its content stays until retention erases it. `false` when it was
    /// already deleted.
    pub fn soft_delete(
        conn: &mut DbConn,
        id: &DocumentId,
        by: &UserId,
        now: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let changed = diesel::update(
            documents::table
                .find(id)
                .filter(documents::deleted_at.is_null()),
        )
        .set((
            documents::deleted_at.eq(now),
            documents::deleted_by.eq(by),
            documents::updated_at.eq(now),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// The plaintext bytes stored for `case`'s documents, every version counted, deleted ones
    /// too until retention removes them: what the per-case limit measures (uploading and
    /// deleting does not make room).
    pub fn bytes_for_case(conn: &mut DbConn, case: &CaseId) -> Result<i64, DbError> {
        let sizes: Vec<i64> = document_versions::table
            .inner_join(documents::table)
            .filter(documents::case_id.eq(case))
            .select(document_versions::byte_size)
            .load(conn)?;
        Ok(sizes.iter().sum())
    }
}

impl DocumentVersion {
    /// Version `version` of a document.
    pub fn find(conn: &mut DbConn, document: &DocumentId, version: i32) -> Result<Self, DbError> {
        Ok(document_versions::table
            .filter(document_versions::document_id.eq(document))
            .filter(document_versions::version.eq(version))
            .select(Self::as_select())
            .first(conn)?)
    }

    /// Every version of a document, oldest first.
    pub fn all_of(conn: &mut DbConn, document: &DocumentId) -> Result<Vec<Self>, DbError> {
        Ok(document_versions::table
            .filter(document_versions::document_id.eq(document))
            .order(document_versions::version.asc())
            .select(Self::as_select())
            .load(conn)?)
    }
}

/// The encrypted chunks of versions stored in the database.
pub mod chunks {
    use super::*;

    /// Stores one sealed chunk (in its own short transaction: an upload never holds the write
    /// lock while the client sends).
    pub fn put(
        conn: &mut DbConn,
        version: &DocumentVersionId,
        index: i32,
        sealed: &[u8],
    ) -> Result<(), DbError> {
        diesel::insert_into(document_chunks::table)
            .values((
                document_chunks::version_id.eq(version.as_str()),
                document_chunks::idx.eq(index),
                document_chunks::sealed.eq(sealed),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// One sealed chunk; `None` when it is missing.
    pub fn get(
        conn: &mut DbConn,
        version: &DocumentVersionId,
        index: i32,
    ) -> Result<Option<Vec<u8>>, DbError> {
        Ok(document_chunks::table
            .find((version.as_str(), index))
            .select(document_chunks::sealed)
            .first(conn)
            .optional()?)
    }

    /// Deletes one chunk (a piece of a resumable upload stored but never counted).
    pub fn delete_one(conn: &mut DbConn, version: &str, index: i32) -> Result<usize, DbError> {
        Ok(diesel::delete(document_chunks::table.find((version, index))).execute(conn)?)
    }

    /// Deletes a version's chunks; how many there were.
    pub fn delete_version(conn: &mut DbConn, version: &str) -> Result<usize, DbError> {
        Ok(
            diesel::delete(document_chunks::table.filter(document_chunks::version_id.eq(version)))
                .execute(conn)?,
        )
    }
}

/// Stored content waiting to be removed: uploads under way, and content discarded from an
/// object store (which no database transaction can delete).
pub mod orphans {
    use super::*;

    /// One entry.
    #[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
    #[diesel(table_name = document_orphans)]
    pub struct Orphan {
        /// The version whose content it is.
        pub version_id: String,
        /// Where the content is.
        pub storage: DocumentStorage,
        /// Why it waits.
        pub reason: OrphanReason,
        /// Since when.
        pub since: NaiveDateTime,
    }

    /// Notes content that must be removed unless `clear` is called for it in time (an upload),
    /// or removed as soon as housekeeping runs (discarded content).
    pub fn mark(
        conn: &mut DbConn,
        version: &str,
        storage: DocumentStorage,
        reason: OrphanReason,
        now: NaiveDateTime,
    ) -> Result<(), DbError> {
        diesel::insert_into(document_orphans::table)
            .values((
                document_orphans::version_id.eq(version),
                document_orphans::storage.eq(storage),
                document_orphans::reason.eq(reason),
                document_orphans::since.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// The upload of `version` completed (or its content was removed): nothing to remove.
    /// Returns how many entries it removed (0 or 1): deleting the entry is how one party claims
    /// the content, the upload that commits or the cleaner that removes.
    pub fn clear(conn: &mut DbConn, version: &str) -> Result<usize, DbError> {
        Ok(diesel::delete(document_orphans::table.find(version)).execute(conn)?)
    }

    /// What housekeeping should remove now, of the storage kinds it can reach: discarded
    /// content, and uploads last active before `uploads_before` (abandoned), at most `limit`.
    pub fn due(
        conn: &mut DbConn,
        storages: &[DocumentStorage],
        uploads_before: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<Orphan>, DbError> {
        Ok(document_orphans::table
            .filter(document_orphans::storage.eq_any(storages))
            .filter(
                document_orphans::reason
                    .eq(OrphanReason::Discarded)
                    .or(document_orphans::since.lt(uploads_before)),
            )
            .order(document_orphans::since.asc())
            .limit(limit)
            .select(Orphan::as_select())
            .load(conn)?)
    }
}

/// Resumable uploads under way (the tus protocol): what each will become, and how many bytes
/// (and staged pieces) it has received.
pub mod uploads {
    use super::*;

    /// One resumable upload.
    #[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
    #[diesel(table_name = document_uploads)]
    pub struct UploadSession {
        /// Identifier: also the id its staged pieces are sealed to and stored under.
        pub id: DocumentVersionId,
        /// The case.
        pub case_id: CaseId,
        /// Who opened it (only they may go on with it).
        pub created_by: UserId,
        /// A new version of this document, or a new document.
        pub document_id: Option<DocumentId>,
        /// A new document's kind.
        pub kind: Option<DocumentKind>,
        /// The group that will decide who may read it.
        pub field_group: FieldGroup,
        /// A consent form's consent version.
        pub consent_id: Option<ConsentId>,
        /// The declared media type.
        pub declared: String,
        /// File name and caption, sealed.
        pub sealed_names: Vec<u8>,
        /// The case data key version of the staged pieces.
        pub key_version: i32,
        /// Their nonce prefix.
        pub nonce_prefix: Vec<u8>,
        /// The length announced.
        pub length: i64,
        /// Bytes received and staged.
        pub received: i64,
        /// Staged pieces.
        pub pieces: i32,
        /// When it was opened.
        pub created_at: NaiveDateTime,
        /// When bytes last arrived.
        pub updated_at: NaiveDateTime,
    }

    /// Stores a new session.
    pub fn open(conn: &mut DbConn, session: &UploadSession) -> Result<(), DbError> {
        diesel::insert_into(document_uploads::table)
            .values(session)
            .execute(conn)?;
        Ok(())
    }

    /// The session `id` of `case`, opened by `user`; `NotFound` for anyone else's.
    pub fn find_for(
        conn: &mut DbConn,
        case: &CaseId,
        id: &DocumentVersionId,
        user: &UserId,
    ) -> Result<UploadSession, DbError> {
        Ok(document_uploads::table
            .find(id)
            .filter(document_uploads::case_id.eq(case))
            .filter(document_uploads::created_by.eq(user))
            .select(UploadSession::as_select())
            .first(conn)?)
    }

    /// Counts one more staged piece of `len` bytes, if the session still stands at `offset`
    /// (a concurrent request that moved it makes this `false`), and keeps its content from
    /// housekeeping for another day.
    pub fn advance(
        conn: &mut DbConn,
        id: &DocumentVersionId,
        offset: i64,
        len: i64,
        now: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let moved = diesel::update(
            document_uploads::table
                .find(id)
                .filter(document_uploads::received.eq(offset)),
        )
        .set((
            document_uploads::received.eq(offset + len),
            document_uploads::pieces.eq(document_uploads::pieces + 1),
            document_uploads::updated_at.eq(now),
        ))
        .execute(conn)?;
        diesel::update(document_orphans::table.find(id.as_str()))
            .set(document_orphans::since.eq(now))
            .execute(conn)?;
        Ok(moved == 1)
    }

    /// Forgets a session (completed, cancelled, abandoned): its row and its orphan entry. Its
    /// staged pieces are the caller's to remove.
    pub fn forget(conn: &mut DbConn, id: &str) -> Result<(), DbError> {
        diesel::delete(document_uploads::table.find(id)).execute(conn)?;
        orphans::clear(conn, id)?;
        Ok(())
    }
}

/// What removing documents took away: counts only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocumentsPurged {
    /// Documents deleted.
    pub documents: usize,
    /// Versions deleted.
    pub versions: usize,
    /// Chunk rows deleted from the database.
    pub chunks: usize,
    /// Versions whose objects were queued for removal from the object store.
    pub queued_objects: usize,
}

/// Deletes documents (their rows, their versions, their database chunks), queueing the objects
/// of versions in an object store for housekeeping, in the caller's transaction. A referral
/// that carried one as its consent form keeps nothing of it.
fn purge(
    conn: &mut DbConn,
    ids: &[DocumentId],
    now: NaiveDateTime,
) -> Result<DocumentsPurged, DbError> {
    let mut purged = DocumentsPurged::default();
    if ids.is_empty() {
        return Ok(purged);
    }
    let versions: Vec<(DocumentVersionId, DocumentStorage)> = document_versions::table
        .filter(document_versions::document_id.eq_any(ids))
        .select((document_versions::id, document_versions::storage))
        .load(conn)?;
    for (version, storage) in &versions {
        match storage {
            DocumentStorage::Database => {
                purged.chunks += chunks::delete_version(conn, version.as_str())?;
            }
            DocumentStorage::ObjectStore => {
                let _ = orphans::clear(conn, version.as_str())?;
                orphans::mark(
                    conn,
                    version.as_str(),
                    *storage,
                    OrphanReason::Discarded,
                    now,
                )?;
                purged.queued_objects += 1;
            }
        }
    }
    purged.versions =
        diesel::delete(document_versions::table.filter(document_versions::document_id.eq_any(ids)))
            .execute(conn)?;
    diesel::update(referrals::table.filter(referrals::consent_form_id.eq_any(ids)))
        .set(referrals::consent_form_id.eq(None::<String>))
        .execute(conn)?;
    purged.documents =
        diesel::delete(documents::table.filter(documents::id.eq_any(ids))).execute(conn)?;
    Ok(purged)
}

/// Removes every document of an erased case (after its data key was destroyed), in the
/// erasure's transaction.
pub fn purge_case(
    conn: &mut DbConn,
    case: &CaseId,
    now: NaiveDateTime,
) -> Result<DocumentsPurged, DbError> {
    // Resumable uploads under way: their staged pieces go as a version's content would.
    let sessions: Vec<DocumentVersionId> = document_uploads::table
        .filter(document_uploads::case_id.eq(case))
        .select(document_uploads::id)
        .load(conn)?;
    let mut staged = 0;
    for session in &sessions {
        let storage: Option<DocumentStorage> = document_orphans::table
            .find(session.as_str())
            .select(document_orphans::storage)
            .first(conn)
            .optional()?;
        staged += chunks::delete_version(conn, session.as_str())?;
        diesel::delete(document_uploads::table.find(session)).execute(conn)?;
        let _ = orphans::clear(conn, session.as_str())?;
        if storage == Some(DocumentStorage::ObjectStore) {
            orphans::mark(
                conn,
                session.as_str(),
                DocumentStorage::ObjectStore,
                OrphanReason::Discarded,
                now,
            )?;
        }
    }
    let ids: Vec<DocumentId> = documents::table
        .filter(documents::case_id.eq(case))
        .select(documents::id)
        .load(conn)?;
    let mut purged = purge(conn, &ids, now)?;
    purged.chunks += staged;
    Ok(purged)
}

/// The documents deleted before `deleted_before`, at most `limit`: due for retention.
pub fn deleted_before(
    conn: &mut DbConn,
    deleted_before: NaiveDateTime,
    limit: i64,
) -> Result<Vec<DocumentId>, DbError> {
    // A deleted document of a case under a legal hold may be evidence: kept while it lasts.
    let held = legal_holds::table
        .filter(legal_holds::lifted_at.is_null())
        .select(legal_holds::case_id);
    Ok(documents::table
        .filter(documents::deleted_at.lt(deleted_before))
        .filter(documents::case_id.ne_all(held))
        .order(documents::deleted_at.asc())
        .limit(limit)
        .select(documents::id)
        .load(conn)?)
}

/// How many documents [`deleted_before`] would name, without a limit.
pub fn count_deleted_before(conn: &mut DbConn, cutoff: NaiveDateTime) -> Result<i64, DbError> {
    let held = legal_holds::table
        .filter(legal_holds::lifted_at.is_null())
        .select(legal_holds::case_id);
    Ok(documents::table
        .filter(documents::deleted_at.lt(cutoff))
        .filter(documents::case_id.ne_all(held))
        .count()
        .get_result(conn)?)
}

/// Removes documents deleted long enough ago (see [`deleted_before`]), in the caller's
/// transaction.
pub fn purge_deleted(
    conn: &mut DbConn,
    ids: &[DocumentId],
    now: NaiveDateTime,
) -> Result<DocumentsPurged, DbError> {
    let deleted: Vec<DocumentId> = documents::table
        .filter(documents::id.eq_any(ids))
        .filter(documents::deleted_at.is_not_null())
        .select(documents::id)
        .load(conn)?;
    purge(conn, &deleted, now)
}
