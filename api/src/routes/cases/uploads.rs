//! Resumable uploads by the tus protocol 1.0 (core, `creation`, `termination`): parse the tus
//! headers, call `crate::documents::resumable`, answer with tus headers.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, head, patch, post, web};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tumaini_db::ids::{CaseId, ConsentId, DocumentId, DocumentVersionId};
use tumaini_db::vocabulary::{DocumentKind, FieldGroup as StoredGroup};
use utoipa::IntoParams;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::documents::UploadTarget;
use crate::documents::content::MediaType;
use crate::documents::resumable::{self, NewSession, Progress};
use crate::http::{ApiError, Problem, ProblemType};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(open_upload)
        .service(upload_offset)
        .service(continue_upload)
        .service(cancel_upload);
}

/// The tus version spoken.
const TUS_VERSION: &str = "1.0.0";

/// What a resumable upload will become.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NewUploadQuery {
    /// A new document's kind (as for a one-request upload); not with `document`.
    #[param(value_type = Option<String>)]
    pub kind: Option<DocumentKind>,
    /// A new document's group (the kind's by default).
    #[param(value_type = Option<String>)]
    pub group: Option<StoredGroup>,
    /// A consent form's consent version.
    #[param(value_type = Option<String>)]
    pub consent: Option<ConsentId>,
    /// A new version of this document instead of a new document.
    #[param(value_type = Option<String>)]
    pub document: Option<DocumentId>,
}

/// Open a resumable upload (tus `creation`): `Tus-Resumable: 1.0.0`, `Upload-Length` (the file's
/// size) and `Upload-Metadata` with `filetype` (the media type, required), `filename` and
/// `caption` (each base64, as tus specifies). The bytes follow by `PATCH` to the `Location`
/// answered. Decided like an upload; audited as `document.upload.open`.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path), NewUploadQuery),
    responses(
        (status = 201, description = "Opened: send the bytes to `Location`", body = UploadSessionView, headers(("Location" = String), ("Tus-Resumable" = String))),
        (status = 400, description = "A tus header or parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "You see the case but may not add a document to this group", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case or document, or none you may see", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Not tus 1.0.0", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over the document's or the case's limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`filetype` is not an allowed type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A consent form without its consent version", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/api/v1/cases/{id}/uploads")]
pub async fn open_upload(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    query: web::Query<NewUploadQuery>,
) -> Result<HttpResponse, ApiError> {
    tus_resumable(&req)?;
    let length: u64 = header_text(&req, "Upload-Length")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::problem(
                ProblemType::BadRequest,
                "`Upload-Length`: the file's size in bytes (deferred lengths are not supported)",
            )
        })?;
    let metadata = Metadata::parse(header_text(&req, "Upload-Metadata").as_deref())?;
    let declared = metadata
        .filetype
        .as_deref()
        .and_then(MediaType::from_mime)
        .ok_or_else(|| {
            ApiError::problem(
                ProblemType::UnsupportedMediaType,
                "`Upload-Metadata`: `filetype` names the file's media type, one of the allowed types",
            )
        })?;
    let query = query.into_inner();
    let target = match (query.document, query.kind) {
        (Some(document), None) if query.group.is_none() && query.consent.is_none() => {
            UploadTarget::Version(document)
        }
        (None, Some(kind)) => UploadTarget::New {
            kind,
            group: crate::documents::personal_group_param(query.group)?,
            consent: query.consent,
        },
        _ => {
            return Err(ApiError::problem(
                ProblemType::BadRequest,
                "give `kind` (with `group`, `consent`) for a new document, or `document` alone for a new version",
            ));
        }
    };
    let case = id.into_inner();
    let session = resumable::open(
        &state,
        &caller,
        case.clone(),
        NewSession {
            target,
            declared,
            file_name: metadata.filename,
            caption: metadata.caption,
            length,
        },
    )
    .await?;
    let location = format!("/api/v1/cases/{case}/uploads/{session}");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location.clone()))
        .insert_header(("Tus-Resumable", TUS_VERSION))
        .json(UploadSessionView {
            id: session,
            location,
            offset: 0,
            length,
        }))
}

/// A resumable upload just opened (tus clients read `Location`; others may read this).
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadSessionView {
    /// Its id.
    pub id: DocumentVersionId,
    /// Where its bytes are sent (`PATCH`) and its progress asked (`HEAD`).
    pub location: String,
    /// Bytes received so far.
    pub offset: u64,
    /// Bytes announced.
    pub length: u64,
}

/// Where your resumable upload stands (tus core `HEAD`): `Upload-Offset` is the next byte to
/// send after a cut. Only its uploader sees it.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path), ("upload" = String, Path)),
    responses(
        (status = 200, description = "Where it stands", headers(("Upload-Offset" = u64), ("Upload-Length" = u64), ("Tus-Resumable" = String))),
        (status = 404, description = "No such upload of yours"),
    ),
)]
#[head("/api/v1/cases/{id}/uploads/{upload}")]
pub async fn upload_offset(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(CaseId, DocumentVersionId)>,
) -> Result<HttpResponse, ApiError> {
    let (case, upload) = path.into_inner();
    let progress = resumable::progress(&state, &caller, case, upload).await?;
    Ok(with_progress(HttpResponse::Ok(), progress).finish())
}

/// Send bytes of your resumable upload (tus core `PATCH`): `Tus-Resumable: 1.0.0`,
/// `Content-Type: application/offset+octet-stream`, `Upload-Offset` where they start (where the
/// upload stands). Whatever arrives whole is kept, even if the connection is cut. With the last
/// byte the document is checked, encrypted and stored exactly as a one-request upload (and
/// audited as `document.upload` or `document.replace`); the answer's `Location` names it, and
/// `Tumaini-Document` is its id. Each request is audited as `document.upload.append`.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path), ("upload" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Received; `Upload-Offset` says how far", headers(("Upload-Offset" = u64), ("Tus-Resumable" = String), ("Location" = String, description = "Once complete: the document's content"))),
        (status = 400, description = "A tus header is invalid, or the bytes go past `Upload-Length`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such upload of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`Upload-Offset` is not where the upload stands", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Not tus 1.0.0", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Completed over the case's limit; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/offset+octet-stream`, or completed with content of a type not allowed; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Completed with malformed content, or refused by the malware scan; nothing was stored", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store or the scan is not available", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[patch("/api/v1/cases/{id}/uploads/{upload}")]
pub async fn continue_upload(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(CaseId, DocumentVersionId)>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    tus_resumable(&req)?;
    let offset_octets = header_text(&req, header::CONTENT_TYPE.as_str()).is_some_and(|v| {
        v.trim()
            .eq_ignore_ascii_case("application/offset+octet-stream")
    });
    if !offset_octets {
        return Err(ApiError::problem(
            ProblemType::UnsupportedMediaType,
            "`Content-Type`: application/offset+octet-stream",
        ));
    }
    let offset: u64 = header_text(&req, "Upload-Offset")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::problem(
                ProblemType::BadRequest,
                "`Upload-Offset`: a number of bytes",
            )
        })?;
    let (case, upload) = path.into_inner();
    let appended = resumable::append(&state, &caller, case, upload, offset, body).await?;
    let mut response = with_progress(HttpResponse::NoContent(), appended.progress);
    if let Some(done) = appended.completed {
        let field = |name: &str| done.body[name].as_str().unwrap_or_default().to_owned();
        response
            .insert_header((header::LOCATION, field("content")))
            .insert_header(("Tumaini-Document", field("id")));
    }
    Ok(response.finish())
}

/// Cancel your resumable upload (tus `termination`): what it received is removed. Audited as
/// `document.upload.cancel`.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = [])),
    params(("id" = String, Path), ("upload" = String, Path)),
    responses(
        (status = 204, description = "Cancelled", headers(("Tus-Resumable" = String))),
        (status = 404, description = "No such upload of yours", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Not tus 1.0.0", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[delete("/api/v1/cases/{id}/uploads/{upload}")]
pub async fn cancel_upload(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(CaseId, DocumentVersionId)>,
) -> Result<HttpResponse, ApiError> {
    tus_resumable(&req)?;
    let (case, upload) = path.into_inner();
    resumable::cancel(&state, &caller, case, upload).await?;
    Ok(HttpResponse::NoContent()
        .insert_header(("Tus-Resumable", TUS_VERSION))
        .finish())
}

fn with_progress(
    mut builder: actix_web::HttpResponseBuilder,
    progress: Progress,
) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header(("Upload-Offset", progress.offset.to_string()))
        .insert_header(("Upload-Length", progress.length.to_string()))
        .insert_header(("Tus-Resumable", TUS_VERSION))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

/// `Tus-Resumable: 1.0.0`, or 412 naming the version spoken.
fn tus_resumable(req: &HttpRequest) -> Result<(), ApiError> {
    if header_text(req, "Tus-Resumable").as_deref() == Some(TUS_VERSION) {
        return Ok(());
    }
    Err(ApiError::problem(
        ProblemType::PreconditionFailed,
        "`Tus-Resumable`: this server speaks tus 1.0.0",
    ))
}

fn header_text(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The tus `Upload-Metadata` pairs this server reads.
#[derive(Default)]
struct Metadata {
    filename: Option<String>,
    filetype: Option<String>,
    caption: Option<String>,
}

impl Metadata {
    /// `key base64value` pairs separated by commas; unknown keys are ignored, a value that is
    /// not base64 of UTF-8 text without control characters is refused (naming the key only).
    fn parse(header: Option<&str>) -> Result<Self, ApiError> {
        let mut metadata = Self::default();
        for pair in header.unwrap_or_default().split(',') {
            let mut parts = pair.trim().splitn(2, ' ');
            let (Some(key), value) = (parts.next(), parts.next()) else {
                continue;
            };
            let (slot, max) = match key {
                "filename" => (&mut metadata.filename, 255),
                "filetype" => (&mut metadata.filetype, 255),
                "caption" => (&mut metadata.caption, 1000),
                _ => continue,
            };
            let invalid = || {
                ApiError::problem(
                    ProblemType::BadRequest,
                    format!(
                        "`Upload-Metadata`: `{key}` is base64 of UTF-8 text of at most {max} characters, without control characters"
                    ),
                )
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value.unwrap_or_default().trim())
                .map_err(|_| invalid())?;
            let text = String::from_utf8(bytes).map_err(|_| invalid())?;
            if text.chars().count() > max || text.chars().any(char::is_control) {
                return Err(invalid());
            }
            *slot = Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        }
        Ok(metadata)
    }
}
