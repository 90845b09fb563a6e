//! An upload, as it streams in: the policies are asked before the first byte is read; the bytes
//! go through the content checks (`content::Inspector`) and the optional malware scan, are cut
//! into chunks, sealed and stored one chunk at a time; the version becomes readable only when
//! everything passed, in the transaction that asks the policies again and writes the audit
//! event. Whatever fails on the way leaves nothing behind: the stored chunks are removed (and
//! an interrupted server's leftovers by housekeeping, from `document_orphans`).

use std::sync::Arc;

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use tumaini_db::ids::{CaseId, ConsentId, DocumentId, DocumentVersionId};
use tumaini_db::models::consent;
use tumaini_db::models::document::{Document, DocumentVersion, orphans};
use tumaini_db::time::now_utc;
use tumaini_db::vault::DocumentCipher;
use tumaini_db::vault::stream::CHUNK_SIZE;
use tumaini_db::vocabulary::{self as vocab, DocumentKind, OrphanReason};

use super::content::scan::{Scan, ScanCommand, ScanVerdict};
use super::content::{ContentError, Inspector, MediaType};
use super::store::{DocumentStore, fresh_deadline, per_step};
use super::{SealedMeta, hide_if_existing, refused_group, view};
use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup};
use crate::cases::Reply;
use crate::cases::{CaseRequest, act_on_case, check_case_action, vault_error};
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

/// What is being uploaded to.
#[derive(Debug, Clone)]
pub enum UploadTarget {
    /// A new document of `kind`, in `group` (the kind's default group when none is given); a
    /// consent form names the consent version it records.
    New {
        /// What it is.
        kind: DocumentKind,
        /// The group that will decide who may read it.
        group: Option<FieldGroup>,
        /// The consent version a consent form records.
        consent: Option<ConsentId>,
    },
    /// A new version of an existing document.
    Version(DocumentId),
}

/// What the uploader says about the file, from the request's headers. Its `Debug` leaves the
/// name and caption out.
#[derive(Clone)]
pub struct FileMeta {
    /// The declared media type (`Content-Type`).
    pub declared: MediaType,
    /// The file's name (`Tumaini-File-Name`).
    pub file_name: Option<String>,
    /// A caption (`Tumaini-Caption`).
    pub caption: Option<String>,
    /// The body's announced length (`Content-Length`), refused at once when over the limit.
    pub announced_length: Option<u64>,
}

impl std::fmt::Debug for FileMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileMeta")
            .field("declared", &self.declared)
            .field("announced_length", &self.announced_length)
            .finish_non_exhaustive()
    }
}

/// Uploads a document (or a new version of one) from `body`.
pub async fn upload<S>(
    state: &AppState,
    caller: &Caller,
    case: CaseId,
    target: UploadTarget,
    file: FileMeta,
    body: S,
) -> Result<Reply, ApiError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let vault = state.vault()?;
    // The group decides; for a new version it is the document's.
    let (group, replacing) = super::target_group(state, &case, &target).await?;
    let audited_as = if replacing {
        AuditAction::DocumentReplace
    } else {
        AuditAction::DocumentUpload
    };
    let request = |idempotency| CaseRequest {
        id: case.clone(),
        action: Action::UpdateCase,
        audited_as,
        purpose: "case_management",
        idempotency,
    };
    hide_if_existing(
        replacing,
        fresh_deadline(
            &state.pool,
            check_case_action(state, caller, request(None), Some(group)),
        )
        .await,
    )?;

    // How much this upload may hold: the document limit, and what the case has left.
    let settings = Arc::clone(&state.documents);
    let used = {
        let case = case.clone();
        per_step(&state.pool, move |conn| {
            Ok(Document::bytes_for_case(conn, &case)?)
        })
        .await?
    };
    let case_left = settings
        .max_case_bytes
        .saturating_sub(u64::try_from(used).unwrap_or(u64::MAX));
    let limit = settings.max_document_bytes.min(case_left);
    if file.announced_length.is_some_and(|length| length > limit) || limit == 0 {
        return Err(too_large(
            limit == case_left && case_left < settings.max_document_bytes,
        ));
    }

    let version_id = DocumentVersionId::generate();
    let store = state.document_store.clone();
    let cipher = {
        let (case, version, vault, storage) = (
            case.clone(),
            version_id.clone(),
            Arc::clone(&vault),
            store.kind(),
        );
        per_step(&state.pool, move |conn| {
            let cipher = vault
                .new_document_cipher(conn, &case, version.as_str())
                .map_err(vault_error)?;
            conn.write_transaction(|conn| {
                orphans::mark(
                    conn,
                    version.as_str(),
                    storage,
                    OrphanReason::Upload,
                    now_utc(),
                )
            })?;
            Ok(cipher)
        })
        .await?
    };
    let stored = Stored {
        store: store.clone(),
        version: version_id.clone(),
    };
    let streamed = match stream_in(&stored, &cipher, &file, limit, &settings, body).await {
        Ok(streamed) => streamed,
        Err(err) => {
            let err = err.into_api(limit == case_left && case_left < settings.max_document_bytes);
            stored.discard_after(&err, &state.pool).await;
            return Err(err);
        }
    };
    let meta = SealedMeta {
        file_name: file.file_name.clone(),
        media_type: streamed.media_type.mime().to_owned(),
        caption: file.caption.clone(),
        byte_size: streamed.byte_size,
        chunk_count: streamed.chunk_count,
    };
    let meta_plain = match serde_json::to_vec(&meta) {
        Ok(plain) => tumaini_db::vault::SecretBytes::new(plain),
        Err(err) => {
            let err = ApiError::Internal(err.into());
            stored.discard_after(&err, &state.pool).await;
            return Err(err);
        }
    };
    let (key_version, chunk_count, byte_size) = match (
        i32::try_from(cipher.key_version()),
        i32::try_from(streamed.chunk_count),
        i64::try_from(streamed.byte_size),
    ) {
        (Ok(key), Ok(chunks), Ok(bytes)) => (key, chunks, bytes),
        _ => {
            let err = ApiError::Internal(anyhow::anyhow!("a document's counts out of range"));
            stored.discard_after(&err, &state.pool).await;
            return Err(err);
        }
    };

    let now = now_utc();
    let user = caller.user.id.clone();
    let uploader = user.clone();
    // The metadata is sealed bound to the document, the version number and the group as well as
    // the version's id: a row moved to another document, version or group fails to open.
    let version_row = move |document_id: DocumentId,
                            number: i32,
                            group: vocab::FieldGroup|
          -> Result<DocumentVersion, ApiError> {
        let context = super::meta_context(&document_id, number, group);
        Ok(DocumentVersion {
            id: version_id.clone(),
            document_id,
            version: number,
            storage: store.kind(),
            key_version,
            nonce_prefix: cipher.nonce_prefix().to_vec(),
            chunk_size: i32::try_from(CHUNK_SIZE).unwrap_or(i32::MAX),
            chunk_count,
            byte_size,
            sealed_meta: cipher
                .seal_meta(&context, meta_plain.expose())
                .map_err(vault_error)?,
            created_by: uploader.clone(),
            created_at: now,
        })
    };
    let max_case_bytes = settings.max_case_bytes;
    // The request may rightly have taken minutes to stream: the completing transaction gets a
    // database bound of its own.
    let completed = fresh_deadline(
        &state.pool,
        act_on_case(state, caller, request(None), move |conn, access| {
            if !access.decide(group.read_action()).allowed {
                return Err(refused_group(group));
            }
            let used = u64::try_from(Document::bytes_for_case(conn, &access.case.id)?).unwrap_or(0);
            if used.saturating_add(streamed.byte_size) > max_case_bytes {
                return Err(too_large(true));
            }
            let (document, version) = match &target {
                UploadTarget::New { kind, consent, .. } => {
                    let consent_id = consent_of(conn, &access.case.id, *kind, consent.as_ref())?;
                    let document = Document {
                        id: DocumentId::generate(),
                        case_id: access.case.id.clone(),
                        field_group: stored_group(group)?,
                        kind: *kind,
                        consent_id,
                        current_version: 1,
                        created_by: user.clone(),
                        created_at: now,
                        updated_at: now,
                        deleted_at: None,
                        deleted_by: None,
                    };
                    let version = version_row(document.id.clone(), 1, document.field_group)?;
                    Document::create(conn, &document, &version)?;
                    (document, version)
                }
                UploadTarget::Version(id) => {
                    let mut document = Document::find_in_case(conn, &access.case.id, id)?;
                    let version = version_row(
                        document.id.clone(),
                        document.current_version + 1,
                        document.field_group,
                    )?;
                    Document::add_version(conn, &document.id, &version).map_err(|err| match err {
                    tumaini_db::DbError::Conflict { .. } => ApiError::problem(
                        ProblemType::Conflict,
                        "another version of this document was uploaded meanwhile; try again",
                    ),
                    other => other.into(),
                })?;
                    document.current_version = version.version;
                    (document, version)
                }
            };
            // Claim the upload: had housekeeping given it up as abandoned (and removed its chunks),
            // nothing may commit that names them.
            if orphans::clear(conn, version.id.as_str())? != 1 {
                return Err(ApiError::problem(
                    ProblemType::Conflict,
                    "the upload took too long and was discarded; send it again",
                ));
            }
            // The new content, where it is downloaded.
            let location = format!(
                "/api/v1/cases/{}/documents/{}/content",
                document.case_id, document.id
            );
            let mut reply =
                Reply::created(location, serde_json::json!(view(&document, &version, meta)));
            reply.touched = vec![group];
            Ok(reply)
        }),
    )
    .await;
    if let Err(err) = &completed {
        stored.discard_after(err, &state.pool).await;
    }
    hide_if_existing(replacing, completed)
}

fn stored_group(group: FieldGroup) -> Result<vocab::FieldGroup, ApiError> {
    crate::cases::group_reads::stored(group)
}

/// The consent version a consent form records: required for one, refused for any other kind,
/// and it must be a consent version of this case.
pub(super) fn consent_of(
    conn: &mut tumaini_db::DbConn,
    case: &CaseId,
    kind: DocumentKind,
    consent: Option<&ConsentId>,
) -> Result<Option<ConsentId>, ApiError> {
    match (kind, consent) {
        (DocumentKind::ConsentForm, None) => Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`consent`: a consent form names the consent version it records",
        )),
        (DocumentKind::ConsentForm, Some(id)) => {
            if consent::history(conn, case)?.iter().any(|c| &c.id == id) {
                Ok(Some(id.clone()))
            } else {
                Err(ApiError::problem(
                    ProblemType::InvalidBody,
                    "`consent`: no such consent version of this case",
                ))
            }
        }
        (_, Some(_)) => Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`consent` is given only with a consent form",
        )),
        (_, None) => Ok(None),
    }
}

/// The 413 of an upload over a limit.
pub(super) fn too_large(case_limit: bool) -> ApiError {
    ApiError::problem(
        ProblemType::PayloadTooLarge,
        if case_limit {
            "the case's documents would exceed their total limit (TUMAINI_DOCUMENT_CASE_MAX_MB); nothing was stored"
        } else {
            "the document is larger than the limit (TUMAINI_DOCUMENT_MAX_MB); nothing was stored"
        },
    )
}

/// The chunks of one version being stored.
struct Stored {
    store: DocumentStore,
    version: DocumentVersionId,
}

impl Stored {
    /// After `err`, removes what was stored, unless the outcome is unknown (a database that
    /// stopped answering may still commit the version): then housekeeping decides, a day later,
    /// from the orphan entry the commit would have removed.
    async fn discard_after(&self, err: &ApiError, pool: &tumaini_db::Pool) {
        if err.unavailability().is_some() {
            tracing::warn!(version = %self.version, "an interrupted upload's chunks are left to housekeeping");
            return;
        }
        // Claim the upload's orphan entry first: only its holder removes the chunks.
        let version = self.version.clone();
        let claimed = per_step(pool, move |conn| {
            Ok(conn.write_transaction(|conn| orphans::clear(conn, version.as_str()))?)
        })
        .await;
        if !matches!(claimed, Ok(1)) {
            return;
        }
        let removed = self
            .store
            .remove(self.store.kind(), self.version.as_str(), None)
            .await;
        if removed.is_err() {
            // Queued for housekeeping instead.
            let (version, storage) = (self.version.clone(), self.store.kind());
            let _ = per_step(pool, move |conn| {
                conn.write_transaction(|conn| {
                    orphans::mark(
                        conn,
                        version.as_str(),
                        storage,
                        OrphanReason::Discarded,
                        now_utc(),
                    )
                })?;
                Ok(())
            })
            .await;
        }
    }
}

/// What streaming in found.
struct Streamed {
    media_type: MediaType,
    byte_size: u64,
    chunk_count: u32,
}

/// Why streaming in stopped.
enum StreamError {
    TooLarge,
    Content(ContentError),
    Infected,
    ScanFailed,
    Body,
    Api(ApiError),
}

impl From<ApiError> for StreamError {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl StreamError {
    fn into_api(self, case_limit: bool) -> ApiError {
        match self {
            Self::TooLarge => too_large(case_limit),
            Self::Content(err) => {
                let kind = match err {
                    ContentError::Malformed(_) | ContentError::NotText => ProblemType::InvalidBody,
                    _ => ProblemType::UnsupportedMediaType,
                };
                ApiError::problem(kind, format!("{err}; nothing was stored"))
            }
            Self::Infected => ApiError::problem(
                ProblemType::InvalidBody,
                "the malware scan refused this document; nothing was stored",
            ),
            Self::ScanFailed => {
                ApiError::unavailable("the malware scan could not be run; nothing was stored")
            }
            Self::Body => ApiError::problem(
                ProblemType::BadRequest,
                "the upload was interrupted; nothing was stored",
            ),
            Self::Api(err) => err,
        }
    }
}

/// Reads `body` to its end through the checks and the scan, sealing and storing each chunk.
async fn stream_in<S>(
    stored: &Stored,
    cipher: &DocumentCipher,
    file: &FileMeta,
    limit: u64,
    settings: &crate::config::DocumentSettings,
    mut body: S,
) -> Result<Streamed, StreamError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let mut inspector = Inspector::new(file.declared, file.file_name.as_deref());
    let mut scan = match &settings.scan_command {
        Some(setting) => {
            let command = ScanCommand::parse(setting, settings.scan_timeout)
                .map_err(|_| StreamError::ScanFailed)?;
            Some(
                Scan::start(&command)
                    .await
                    .map_err(|_| StreamError::ScanFailed)?,
            )
        }
        None => None,
    };
    let mut chunker = Chunker {
        stored,
        cipher,
        pending: Vec::with_capacity(2 * CHUNK_SIZE),
        next: 0,
        size: 0,
    };
    let mut received: u64 = 0;
    let mut out = Vec::with_capacity(CHUNK_SIZE);
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|_| StreamError::Body)?;
        received = received.saturating_add(piece.len() as u64);
        if received > limit {
            return Err(StreamError::TooLarge);
        }
        out.clear();
        inspector
            .push(&piece, &mut out)
            .map_err(StreamError::Content)?;
        if let Some(scan) = scan.as_mut() {
            scan.feed(&out).await.map_err(|_| StreamError::ScanFailed)?;
        }
        chunker.take(&out).await?;
    }
    out.clear();
    let media_type = inspector.finish(&mut out).map_err(StreamError::Content)?;
    if let Some(mut scan) = scan {
        scan.feed(&out).await.map_err(|_| StreamError::ScanFailed)?;
        match scan.verdict().await.map_err(|_| StreamError::ScanFailed)? {
            ScanVerdict::Clean => {}
            ScanVerdict::Infected => return Err(StreamError::Infected),
        }
    }
    chunker.take(&out).await?;
    let (byte_size, chunk_count) = chunker.finish().await?;
    Ok(Streamed {
        media_type,
        byte_size,
        chunk_count,
    })
}

/// Cuts the checked plaintext into chunks, sealing and storing each as soon as it is known not
/// to be the last.
struct Chunker<'a> {
    stored: &'a Stored,
    cipher: &'a DocumentCipher,
    pending: Vec<u8>,
    next: u32,
    size: u64,
}

impl Chunker<'_> {
    async fn take(&mut self, plain: &[u8]) -> Result<(), StreamError> {
        self.pending.extend_from_slice(plain);
        self.size = self.size.saturating_add(plain.len() as u64);
        // A full chunk is sealed only once a byte after it is known: the last chunk is sealed
        // as the last.
        while self.pending.len() > CHUNK_SIZE {
            let rest = self.pending.split_off(CHUNK_SIZE);
            let chunk = std::mem::replace(&mut self.pending, rest);
            self.seal_and_store(&chunk, false).await?;
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<(u64, u32), StreamError> {
        let last = std::mem::take(&mut self.pending);
        self.seal_and_store(&last, true).await?;
        Ok((self.size, self.next))
    }

    async fn seal_and_store(&mut self, chunk: &[u8], last: bool) -> Result<(), StreamError> {
        let sealed = self
            .cipher
            .seal_chunk(self.next, last, chunk)
            .map_err(vault_error)?;
        self.stored
            .store
            .put(&self.stored.version, self.next, sealed)
            .await?;
        self.next += 1;
        Ok(())
    }
}
