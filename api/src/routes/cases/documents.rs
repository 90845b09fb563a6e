//! Documents of a case: parse, call `crate::documents`, answer. Uploads are the raw body with
//! the file's metadata in headers (streamed: never read whole into memory).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use tumaini_db::ids::{CaseId, ConsentId, DocumentId};
use tumaini_db::vocabulary::{DocumentKind, FieldGroup as StoredGroup};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::documents::content::MediaType;
use crate::documents::{self, DocumentList, DocumentView, FileMeta, UploadTarget};
use crate::http::{ApiError, Problem, ProblemType};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(upload_document)
        .service(upload_version)
        .service(list_documents)
        .service(download_document)
        .service(delete_document);
}

/// The header carrying the file's name, percent-encoded UTF-8.
const FILE_NAME: &str = "Tumaini-File-Name";
/// The header carrying a caption, percent-encoded UTF-8.
const CAPTION: &str = "Tumaini-Caption";

/// What a new document is.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NewDocumentQuery {
    /// consent_form, identity_document, medical_report, police_statement, court_document,
    /// photograph, evidence, audio_recording or other.
    #[param(value_type = String)]
    pub kind: DocumentKind,
    /// The personal group that decides who may read it (identity, contact, exploitation,
    /// health, legal or notes); by default the kind's: identity for consent forms and identity
    /// documents, health for medical reports, legal for statements and court papers,
    /// exploitation for evidence, notes for the rest.
    #[param(value_type = Option<String>)]
    pub group: Option<StoredGroup>,
    /// For a consent form: the consent version it records.
    #[param(value_type = Option<String>)]
    pub consent: Option<ConsentId>,
}

/// Which version to download.
#[derive(Debug, Deserialize, IntoParams)]
pub struct VersionQuery {
    /// A version number; the current version by default.
    pub version: Option<i32>,
}

/// Upload a document to a case: the body is the file itself, `Content-Type` its media type,
/// `Tumaini-File-Name` and `Tumaini-Caption` (optional) its name and a caption, percent-encoded
/// UTF-8. The type is detected from the content and must be on the allow-list (PDF, JPEG, PNG,
/// WebP, HEIC, plain text, common audio) and agree with `Content-Type` and the name's
/// extension; metadata (EXIF, GPS, XMP, text chunks) is stripped from images; the configured
/// malware scan runs before the document becomes readable. Encrypted under the case's key.
/// Allowed to whoever may update the case and read the document's group. Audited as
/// `document.upload` with the group.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path), NewDocumentQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes, with its real media type as Content-Type"),
    responses(
        (status = 201, description = "Stored", body = DocumentView),
        (status = 400, description = "A header or parameter is invalid, or the upload was interrupted", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "You see the case but may not add a document to this group", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the document's or the case's limit; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A type not allowed, or one the content contradicts; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed content, refused by the malware scan, or a consent form without its consent version; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The document store or the malware scan is not available; nothing was stored", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/documents")]
pub async fn upload_document(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    query: web::Query<NewDocumentQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let file = file_meta(&req)?;
    let query = query.into_inner();
    let group = crate::documents::personal_group_param(query.group)?;
    let target = UploadTarget::New {
        kind: query.kind,
        group,
        consent: query.consent,
    };
    let reply = documents::upload(&state, &caller, id.into_inner(), target, file, body).await?;
    Ok(reply.into_response())
}

/// Upload a new version of a document's content (same headers as an upload); earlier versions
/// are kept and stay downloadable. Audited as `document.replace`.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path), ("document" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes, with its real media type as Content-Type"),
    responses(
        (status = 201, description = "Stored as the new current version", body = DocumentView),
        (status = 400, description = "A header is invalid, or the upload was interrupted", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another version was uploaded meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the document's or the case's limit; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A type not allowed, or one the content contradicts; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed content, or refused by the malware scan; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The document store or the malware scan is not available; nothing was stored", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/documents/{document}/versions")]
pub async fn upload_version(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(CaseId, DocumentId)>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let file = file_meta(&req)?;
    let (case, document) = path.into_inner();
    let target = UploadTarget::Version(document);
    let reply = documents::upload(&state, &caller, case, target, file, body).await?;
    Ok(reply.into_response())
}

/// The documents of a case whose groups you may read (the others are not listed), with each
/// one's current version: name, media type, caption, size. Audited as `document.list` with
/// the groups shown.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The documents you may read", body = DocumentList),
        (status = 404, description = "No such case, or none you may see", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/api/v1/cases/{id}/documents")]
pub async fn list_documents(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<CaseId>,
) -> Result<HttpResponse, ApiError> {
    let reply = documents::list(&state, &caller, id.into_inner()).await?;
    Ok(reply.into_response())
}

/// Download a document's content (the current version, or `version`), as an attachment that a
/// browser never renders in place. Audited as `document.download` with the group; counted by
/// the misuse alert. A document in a group you may not read is not found.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path), ("document" = String, Path), VersionQuery),
    responses(
        (status = 200, description = "The content", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No such document or version, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The document store is not available", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[get("/api/v1/cases/{id}/documents/{document}/content")]
pub async fn download_document(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, DocumentId)>,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (case, document) = path.into_inner();
    documents::download(&state, &caller, case, document, query.version).await
}

/// Delete a document: gone from lists and downloads at once, its content erased by retention
/// after `TUMAINI_RETENTION_DELETED_DOCUMENT_DAYS`. Audited as `document.delete`.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path), ("document" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such document, or none you may see", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/api/v1/cases/{id}/documents/{document}")]
pub async fn delete_document(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, DocumentId)>,
) -> Result<HttpResponse, ApiError> {
    let (case, document) = path.into_inner();
    documents::delete(&state, &caller, case, document).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The file's metadata from the headers, validated: 400 naming the header, never its value.
fn file_meta(req: &HttpRequest) -> Result<FileMeta, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::problem(
                ProblemType::UnsupportedMediaType,
                "`Content-Type`: send the file's media type",
            )
        })?;
    let declared = MediaType::from_mime(declared).ok_or_else(|| {
        ApiError::problem(
            ProblemType::UnsupportedMediaType,
            "`Content-Type`: not an allowed type (PDF, JPEG, PNG, WebP, HEIC, plain text, common audio)",
        )
    })?;
    let announced_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    Ok(FileMeta {
        declared,
        file_name: text_header(req, FILE_NAME, 255)?,
        caption: text_header(req, CAPTION, 1000)?,
        announced_length,
    })
}

/// A percent-encoded UTF-8 header: at most `max` characters, no control characters.
fn text_header(req: &HttpRequest, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.headers().get(name) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::problem(
            ProblemType::BadRequest,
            format!(
                "`{name}`: percent-encoded UTF-8 text of at most {max} characters, without control characters"
            ),
        )
    };
    let text = raw.to_str().map_err(|_| invalid())?;
    let decoded = percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| invalid())?
        .trim()
        .to_owned();
    if decoded.chars().count() > max || decoded.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok(Some(decoded).filter(|t| !t.is_empty()))
}
