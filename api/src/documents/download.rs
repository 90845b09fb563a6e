//! A download, as it streams out: the policies decide (the document's group, like any read of
//! that group) and the audit event is written before the first byte; then each chunk is
//! fetched, authenticated and sent, one at a time. The first chunk is opened before the answer
//! starts, so most tampering is a clean error; a later chunk that fails authentication ends the
//! answer short (the client sees an incomplete body), never sends unauthenticated bytes, and is
//! logged by the version's id.

use std::sync::{Arc, Mutex};

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderValue};
use bytes::Bytes;
use futures_util::StreamExt as _;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tumaini_db::ids::{CaseId, DocumentId};
use tumaini_db::models::document::{Document, DocumentVersion};
use tumaini_db::vault::DocumentCipher;

use super::content::MediaType;
use super::store::DocumentStore;
use super::{SealedMeta, hide_refused_group, policy_group, refused_group};
use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::Action;
use crate::cases::Reply;
use crate::cases::{CaseRequest, act_on_case};
use crate::http::ApiError;
use crate::state::AppState;

/// What the decision let through: the version and the means to open it.
struct Plan {
    cipher: DocumentCipher,
    version: DocumentVersion,
    meta: SealedMeta,
}

/// Downloads version `version` (the current one by default) of a document.
pub async fn download(
    state: &AppState,
    caller: &Caller,
    case: CaseId,
    id: DocumentId,
    version: Option<i32>,
) -> Result<HttpResponse, ApiError> {
    let slot: Arc<Mutex<Option<Plan>>> = Arc::new(Mutex::new(None));
    let filled = Arc::clone(&slot);
    let request = CaseRequest {
        id: case,
        action: Action::ReadSummary,
        audited_as: AuditAction::DocumentDownload,
        purpose: "case_management",
        idempotency: None,
    };
    hide_refused_group(
        act_on_case(state, caller, request, move |conn, access| {
            let document = Document::find_in_case(conn, &access.case.id, &id)?;
            let group = policy_group(document.field_group)?;
            if !access.decide(group.read_action()).allowed {
                return Err(refused_group(group));
            }
            let row = DocumentVersion::find(
                conn,
                &document.id,
                version.unwrap_or(document.current_version),
            )?;
            let (cipher, meta) = super::open_version(
                &access
                    .vault
                    .document_key(conn, &access.case.id)
                    .map_err(crate::cases::vault_error)?,
                &document,
                &row,
            )?;
            if let Ok(mut slot) = filled.lock() {
                *slot = Some(Plan {
                    cipher,
                    version: row,
                    meta,
                });
            }
            let mut reply = Reply::ok(serde_json::Value::Null);
            reply.touched = vec![group];
            Ok(reply)
        })
        .await,
    )?;
    let plan = slot
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("download decided without a plan")))?;
    respond(state.document_store.clone(), plan).await
}

/// The answer: headers, the first chunk checked, the rest streamed.
async fn respond(store: DocumentStore, plan: Plan) -> Result<HttpResponse, ApiError> {
    let Plan {
        cipher,
        version,
        meta,
    } = plan;
    let count = u32::try_from(version.chunk_count)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("chunk count out of range")))?;
    let first = open_chunk(&store, &cipher, &version, 0, count).await?;
    let media_type = MediaType::from_mime(&meta.media_type);
    let disposition = disposition(meta.file_name.as_deref(), media_type);
    let state = Arc::new((store, cipher, version));
    let rest = futures_util::stream::unfold(1u32, move |index| {
        let state = Arc::clone(&state);
        async move {
            if index >= count {
                return None;
            }
            let (store, cipher, version) = &*state;
            let next = open_chunk(store, cipher, version, index, count)
                .await
                .map_err(|_| actix_web::error::ErrorInternalServerError("document chunk refused"));
            Some((next, index + 1))
        }
    });
    let body =
        futures_util::stream::once(async move { Ok::<_, actix_web::Error>(first) }).chain(rest);
    let content_type = media_type.map_or("application/octet-stream", MediaType::mime);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .no_chunking(meta.byte_size)
        .streaming(body))
}

/// Fetches and opens chunk `index` of `count`; a missing or unauthentic chunk is an internal
/// error logged by the version's id (never by anything in it).
async fn open_chunk(
    store: &DocumentStore,
    cipher: &DocumentCipher,
    version: &DocumentVersion,
    index: u32,
    count: u32,
) -> Result<Bytes, ApiError> {
    let refused = |why: &'static str| {
        tracing::error!(version = %version.id, chunk = index, why, "a document chunk was refused");
        ApiError::Internal(anyhow::anyhow!("document chunk refused: {why}"))
    };
    let Some(sealed) = store.get(version.storage, &version.id, index).await? else {
        return Err(refused("missing"));
    };
    let plain = cipher
        .open_chunk(index, index + 1 == count, &sealed)
        .map_err(|_| refused("failed authentication"))?;
    Ok(Bytes::copy_from_slice(plain.expose()))
}

/// `attachment`, with a safe ASCII name and the real one percent-encoded (RFC 6266, RFC 8187):
/// the name never appears in a URL, and is never interpreted by the browser as a page.
fn disposition(file_name: Option<&str>, media_type: Option<MediaType>) -> HeaderValue {
    let extension = media_type.map_or("bin", MediaType::extension);
    let mut value = format!("attachment; filename=\"document.{extension}\"");
    if let Some(name) = file_name.filter(|n| !n.is_empty()) {
        value.push_str("; filename*=UTF-8''");
        value.push_str(&utf8_percent_encode(name, NON_ALPHANUMERIC).to_string());
    }
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}
