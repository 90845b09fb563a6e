//! Resumable uploads for poor connections, by the tus protocol 1.0 (core, `creation`,
//! `termination`): a first responder at a border post opens an upload with its length, sends the
//! bytes in as many requests as the connection allows, and asks where it stands after a cut.
//!
//! The bytes received are staged as sealed pieces (under the case's data key, bound to the
//! session's id, in the configured store), each counted in the session only once stored, so a
//! request cut short keeps every whole piece it delivered. When the last byte arrives, the staged
//! bytes go through exactly what a one-request upload goes through ([`super::upload`]: the
//! policies again, the content checks, the scan, the encryption of the final chunks, the audit
//! event), and the staging is removed, whatever the outcome. Only the uploader sees their
//! session; one abandoned for a day is removed by housekeeping.

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use serde::{Deserialize, Serialize};
use tumaini_db::ids::{CaseId, DocumentVersionId};
use tumaini_db::models::document::uploads::{self, UploadSession};
use tumaini_db::models::document::{Document, chunks, orphans};
use tumaini_db::time::now_utc;
use tumaini_db::vault::DocumentCipher;
use tumaini_db::vault::stream::CHUNK_SIZE;
use tumaini_db::vocabulary::{DocumentStorage, OrphanReason};

use super::content::MediaType;
use super::store::{DocumentStore, per_step};
use super::upload::{FileMeta, UploadTarget, consent_of, too_large, upload};
use super::{hide_if_existing, policy_group, refused_group};
use crate::audit::{AuditAction, Outcome};
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup};
use crate::cases::{
    CaseRequest, Reply, act_on_case, check_case_action, record_case_event, vault_error,
};
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

/// What a session will become, and the file's declared type and names (left out of `Debug`).
#[derive(Clone)]
pub struct NewSession {
    /// A new document, or a new version of one.
    pub target: UploadTarget,
    /// The declared media type.
    pub declared: MediaType,
    /// The file's name, if given.
    pub file_name: Option<String>,
    /// A caption, if given.
    pub caption: Option<String>,
    /// The length the uploader announced (`Upload-Length`).
    pub length: u64,
}

/// What a session's sealed names are bound to besides its id.
const SESSION_NAMES: &str = "upload_names";

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("target", &self.target)
            .field("declared", &self.declared)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

/// The names sealed with a session.
#[derive(Serialize, Deserialize)]
struct SealedNames {
    file_name: Option<String>,
    caption: Option<String>,
}

/// Where a session stands.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Bytes received (`Upload-Offset`).
    pub offset: u64,
    /// Bytes announced (`Upload-Length`).
    pub length: u64,
}

/// What a request that sent bytes achieved.
#[derive(Debug)]
pub struct Appended {
    /// Where the session stands now.
    pub progress: Progress,
    /// Once complete: the document's answer (its view and location).
    pub completed: Option<Reply>,
}

fn request(case: &CaseId, audited_as: AuditAction) -> CaseRequest {
    CaseRequest {
        id: case.clone(),
        action: Action::UpdateCase,
        audited_as,
        purpose: "case_management",
        idempotency: None,
    }
}

/// Opens a session; returns its id. Decided like an upload (update the case and read the
/// group), refused at once over the limits, audited as `document.upload.open`.
pub async fn open(
    state: &AppState,
    caller: &Caller,
    case: CaseId,
    new: NewSession,
) -> Result<DocumentVersionId, ApiError> {
    let (group, replacing) = super::target_group(state, &case, &new.target).await?;
    let settings = std::sync::Arc::clone(&state.documents);
    if new.length > settings.max_document_bytes {
        return Err(too_large(false));
    }
    if new.length == 0 {
        return Err(ApiError::problem(
            ProblemType::BadRequest,
            "`Upload-Length`: an empty document is not accepted",
        ));
    }
    let storage = state.document_store.kind();
    let user = caller.user.id.clone();
    let id = DocumentVersionId::generate();
    let session_id = id.clone();
    let opened = act_on_case(
        state,
        caller,
        request(&case, AuditAction::DocumentUploadOpen),
        move |conn, access| {
            if !access.decide(group.read_action()).allowed {
                return Err(refused_group(group));
            }
            let used = u64::try_from(Document::bytes_for_case(conn, &access.case.id)?).unwrap_or(0);
            if used.saturating_add(new.length) > settings.max_case_bytes {
                return Err(too_large(true));
            }
            let (document_id, kind, consent_id) = match &new.target {
                UploadTarget::New { kind, consent, .. } => (
                    None,
                    Some(*kind),
                    consent_of(conn, &access.case.id, *kind, consent.as_ref())?,
                ),
                UploadTarget::Version(id) => (
                    Some(Document::find_in_case(conn, &access.case.id, id)?.id),
                    None,
                    None,
                ),
            };
            let cipher = access
                .vault
                .new_document_cipher(conn, &access.case.id, id.as_str())
                .map_err(vault_error)?;
            let names = serde_json::to_vec(&SealedNames {
                file_name: new.file_name.clone(),
                caption: new.caption.clone(),
            })
            .map_err(|err| ApiError::Internal(err.into()))?;
            let now = now_utc();
            uploads::open(
                conn,
                &UploadSession {
                    id: id.clone(),
                    case_id: access.case.id.clone(),
                    created_by: user.clone(),
                    document_id,
                    kind,
                    field_group: crate::cases::group_reads::stored(group)?,
                    consent_id,
                    declared: new.declared.mime().to_owned(),
                    sealed_names: cipher
                        .seal_meta(SESSION_NAMES, &names)
                        .map_err(vault_error)?,
                    key_version: i32::try_from(cipher.key_version()).unwrap_or(i32::MAX),
                    nonce_prefix: cipher.nonce_prefix().to_vec(),
                    length: i64::try_from(new.length).unwrap_or(i64::MAX),
                    received: 0,
                    pieces: 0,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            orphans::mark(conn, id.as_str(), storage, OrphanReason::Upload, now)?;
            let mut reply = Reply::created(
                format!("/api/v1/cases/{}/uploads/{id}", access.case.id),
                serde_json::Value::Null,
            );
            reply.touched = vec![group];
            Ok(reply)
        },
    )
    .await;
    hide_if_existing(replacing, opened).map(|_| session_id)
}

/// Where the caller's session stands; 404 for anyone else's.
pub async fn progress(
    state: &AppState,
    caller: &Caller,
    case: CaseId,
    id: DocumentVersionId,
) -> Result<Progress, ApiError> {
    let session = own_session(state, caller, &case, &id).await?;
    // Asking where it stands is the first step of resuming it: decided (and a refusal audited)
    // as continuing it is.
    hide_if_existing(
        session.document_id.is_some(),
        check_case_action(
            state,
            caller,
            request(&case, AuditAction::DocumentUploadAppend),
            Some(policy_group(session.field_group)?),
        )
        .await,
    )?;
    Ok(progress_of(&session))
}

/// The caller's session `id` of `case`; 404 for anyone else's.
async fn own_session(
    state: &AppState,
    caller: &Caller,
    case: &CaseId,
    id: &DocumentVersionId,
) -> Result<UploadSession, ApiError> {
    let (case, id, user) = (case.clone(), id.clone(), caller.user.id.clone());
    per_step(&state.pool, move |conn| {
        Ok(uploads::find_for(conn, &case, &id, &user)?)
    })
    .await
}

fn progress_of(session: &UploadSession) -> Progress {
    Progress {
        offset: u64::try_from(session.received).unwrap_or(0),
        length: u64::try_from(session.length).unwrap_or(0),
    }
}

/// Appends the bytes of `body`, sent from `offset` (which must be where the session stands:
/// 409 otherwise), and completes the upload when the last byte is in.
pub async fn append<S>(
    state: &AppState,
    caller: &Caller,
    case: CaseId,
    id: DocumentVersionId,
    offset: u64,
    mut body: S,
) -> Result<Appended, ApiError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let session = own_session(state, caller, &case, &id).await?;
    let group = policy_group(session.field_group)?;
    let replacing = session.document_id.is_some();
    hide_if_existing(
        replacing,
        check_case_action(
            state,
            caller,
            request(&case, AuditAction::DocumentUploadAppend),
            Some(group),
        )
        .await,
    )?;
    let mut progress = progress_of(&session);
    if offset != progress.offset {
        return Err(ApiError::problem(
            ProblemType::Conflict,
            "`Upload-Offset` is not where the upload stands: ask with HEAD and resume from there",
        ));
    }
    let cipher = session_cipher(state, &session).await?;
    let store = state.document_store.clone();
    let mut pending: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
    let mut pieces = u32::try_from(session.pieces).unwrap_or(u32::MAX);
    let mut cut_short = false;
    let mut failure: Option<ApiError> = None;
    loop {
        let piece = match body.next().await {
            Some(Ok(piece)) => piece,
            Some(Err(_)) => {
                cut_short = true;
                break;
            }
            None => break,
        };
        if progress.offset + (pending.len() + piece.len()) as u64 > progress.length {
            failure = Some(ApiError::problem(
                ProblemType::BadRequest,
                "the bytes sent go past `Upload-Length`",
            ));
            break;
        }
        pending.extend_from_slice(&piece);
        while pending.len() >= CHUNK_SIZE {
            let rest = pending.split_off(CHUNK_SIZE);
            let full = std::mem::replace(&mut pending, rest);
            if let Err(err) = stage(
                state,
                &store,
                &cipher,
                &session.id,
                pieces,
                &full,
                progress.offset,
            )
            .await
            {
                failure = Some(err);
                break;
            }
            pieces += 1;
            progress.offset += full.len() as u64;
        }
        if failure.is_some() {
            break;
        }
    }
    // What arrived whole is kept, even from a request cut short: that is what resuming needs.
    if failure.is_none() && !pending.is_empty() {
        match stage(
            state,
            &store,
            &cipher,
            &session.id,
            pieces,
            &pending,
            progress.offset,
        )
        .await
        {
            Ok(()) => {
                pieces += 1;
                progress.offset += pending.len() as u64;
            }
            Err(err) => failure = Some(err),
        }
    }
    audit_append(state, caller, &case, group, failure.is_none() && !cut_short).await?;
    if let Some(err) = failure {
        return Err(err);
    }
    if cut_short || progress.offset < progress.length {
        return Ok(Appended {
            progress,
            completed: None,
        });
    }
    let completed = complete(state, caller, case, session, cipher, pieces).await?;
    Ok(Appended {
        progress,
        completed: Some(completed),
    })
}

/// Cancels the caller's session and removes what it received (`document.upload.cancel`).
pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    case: CaseId,
    id: DocumentVersionId,
) -> Result<(), ApiError> {
    let session = own_session(state, caller, &case, &id).await?;
    let group = policy_group(session.field_group)?;
    let replacing = session.document_id.is_some();
    let storage = state.document_store.kind();
    let cancelled = act_on_case(
        state,
        caller,
        request(&case, AuditAction::DocumentUploadCancel),
        move |conn, access| {
            if !access.decide(group.read_action()).allowed {
                return Err(refused_group(group));
            }
            discard_in(conn, session.id.as_str(), storage)?;
            let mut reply = Reply::ok(serde_json::Value::Null);
            reply.touched = vec![group];
            Ok(reply)
        },
    )
    .await;
    if cancelled.is_ok() {
        remove_discarded_now(state, id.as_str()).await;
    }
    hide_if_existing(replacing, cancelled).map(|_| ())
}

/// Removes a discarded session's pieces from an object store at once rather than at
/// housekeeping's next round (its entry stays queued if this fails). Nothing else can claim
/// them: a discarded session never commits.
async fn remove_discarded_now(state: &AppState, session: &str) {
    let store = &state.document_store;
    if store.kind() != DocumentStorage::ObjectStore
        || store.remove(store.kind(), session, None).await.is_err()
    {
        return;
    }
    let session = session.to_owned();
    let _ = per_step(&state.pool, move |conn| {
        conn.write_transaction(|conn| orphans::clear(conn, &session))?;
        Ok(())
    })
    .await;
}

/// Forgets a session in the caller's transaction: database pieces deleted at once, pieces in an
/// object store queued for housekeeping.
fn discard_in(
    conn: &mut tumaini_db::DbConn,
    session: &str,
    storage: DocumentStorage,
) -> Result<(), ApiError> {
    uploads::forget(conn, session)?;
    match storage {
        DocumentStorage::Database => {
            chunks::delete_version(conn, session)?;
        }
        DocumentStorage::ObjectStore => {
            orphans::mark(conn, session, storage, OrphanReason::Discarded, now_utc())?;
        }
    }
    Ok(())
}

/// The staged bytes through the whole upload; the staging removed whatever the outcome.
async fn complete(
    state: &AppState,
    caller: &Caller,
    case: CaseId,
    session: UploadSession,
    cipher: DocumentCipher,
    pieces: u32,
) -> Result<Reply, ApiError> {
    let names: SealedNames = cipher
        .open_meta(SESSION_NAMES, &session.sealed_names)
        .map_err(vault_error)
        .and_then(|plain| {
            serde_json::from_slice(plain.expose())
                .map_err(|_| ApiError::Internal(anyhow::anyhow!("upload names unreadable")))
        })?;
    let declared = MediaType::from_mime(&session.declared)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a session's declared type")))?;
    let target = match (&session.document_id, session.kind) {
        (Some(document), _) => UploadTarget::Version(document.clone()),
        (None, Some(kind)) => UploadTarget::New {
            kind,
            group: Some(policy_group(session.field_group)?),
            consent: session.consent_id.clone(),
        },
        (None, None) => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "a session without a kind"
            )));
        }
    };
    let file = FileMeta {
        declared,
        file_name: names.file_name,
        caption: names.caption,
        announced_length: u64::try_from(session.length).ok(),
    };
    let store = state.document_store.clone();
    let staged = staged_bytes(store.clone(), cipher, session.id.clone(), pieces);
    let done = upload(state, caller, case, target, file, staged).await;
    let (id, storage) = (session.id.clone(), store.kind());
    let removed = per_step(&state.pool, move |conn| {
        conn.write_transaction(|conn| discard_in(conn, id.as_str(), storage))
    })
    .await;
    match removed {
        Ok(()) => remove_discarded_now(state, session.id.as_str()).await,
        Err(err) => {
            tracing::warn!(error = %err, "a completed upload's staging is left to housekeeping");
        }
    }
    done
}

/// The staged pieces, opened one at a time, as the body of an upload.
fn staged_bytes(
    store: DocumentStore,
    cipher: DocumentCipher,
    session: DocumentVersionId,
    pieces: u32,
) -> std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> {
    let shared = std::sync::Arc::new((store, cipher, session));
    Box::pin(futures_util::stream::unfold(0u32, move |index| {
        let shared = std::sync::Arc::clone(&shared);
        async move {
            if index >= pieces {
                return None;
            }
            let (store, cipher, session) = &*shared;
            let opened = match store.get(store.kind(), session, index).await {
                Ok(Some(sealed)) => cipher
                    .open_chunk(index, false, &sealed)
                    .map(|plain| Bytes::copy_from_slice(plain.expose()))
                    .map_err(|_| staging_failed(session, index)),
                _ => Err(staging_failed(session, index)),
            };
            Some((opened, index + 1))
        }
    }))
}

fn staging_failed(session: &DocumentVersionId, index: u32) -> PayloadError {
    tracing::error!(session = %session, piece = index, "a staged upload piece was refused");
    PayloadError::Io(std::io::Error::other("staged piece refused"))
}

/// Seals and stores piece `index`, then counts it in the session (409 when another request
/// moved the session meanwhile: this piece is then not counted and is overwritten or removed).
async fn stage(
    state: &AppState,
    store: &DocumentStore,
    cipher: &DocumentCipher,
    session: &DocumentVersionId,
    index: u32,
    plain: &[u8],
    offset: u64,
) -> Result<(), ApiError> {
    let sealed = cipher
        .seal_chunk(index, false, plain)
        .map_err(vault_error)?;
    // A piece left by a request that stored it but was cut before counting it is replaced.
    if let DocumentStore::Database(_) = store {
        let (id, at) = (
            session.as_str().to_owned(),
            i32::try_from(index).unwrap_or(i32::MAX),
        );
        per_step(&state.pool, move |conn| {
            conn.write_transaction(|conn| chunks::delete_one(conn, &id, at))?;
            Ok(())
        })
        .await?;
    }
    store.put(session, index, sealed).await?;
    let (id, len, at) = (
        session.clone(),
        i64::try_from(plain.len()).unwrap_or(i64::MAX),
        i64::try_from(offset).unwrap_or(i64::MAX),
    );
    let moved = per_step(&state.pool, move |conn| {
        Ok(conn.write_transaction(|conn| uploads::advance(conn, &id, at, len, now_utc()))?)
    })
    .await?;
    if moved {
        Ok(())
    } else {
        Err(ApiError::problem(
            ProblemType::Conflict,
            "another request continued this upload meanwhile: ask with HEAD and resume from there",
        ))
    }
}

/// The session's cipher (the case's data key; `Erased` once the case was erased).
async fn session_cipher(
    state: &AppState,
    session: &UploadSession,
) -> Result<DocumentCipher, ApiError> {
    let vault = state.vault()?;
    let (case, id, version, prefix) = (
        session.case_id.clone(),
        session.id.clone(),
        session.key_version,
        session.nonce_prefix.clone(),
    );
    per_step(&state.pool, move |conn| {
        vault
            .document_cipher(conn, &case, id.as_str(), version, &prefix)
            .map_err(vault_error)
    })
    .await
}

/// One `document.upload.append` event for a request that sent bytes, with its outcome.
async fn audit_append(
    state: &AppState,
    caller: &Caller,
    case: &CaseId,
    group: FieldGroup,
    whole: bool,
) -> Result<(), ApiError> {
    let (context, user, case) = (caller.context.clone(), caller.user.clone(), case.clone());
    let outcome = if whole {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    per_step(&state.pool, move |conn| {
        conn.write_transaction(|conn| {
            record_case_event(
                conn,
                &context,
                &user,
                AuditAction::DocumentUploadAppend,
                outcome,
                &case,
                None,
                &[group.code()],
                "case_management",
                false,
            )
        })?;
        Ok(())
    })
    .await
}
