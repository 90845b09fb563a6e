//! Limits applied before a handler runs: body size, body media type, security headers, and the
//! error handling of actix's extractors.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{Method, header};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpRequest, mime, web};

use super::problem::{ApiError, ProblemType};

/// The largest body the server accepts, as application data for [`body_guard`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Refuses, before any handler reads it, a body whose declared length is over the limit (413)
/// or a body that is not JSON (415): the API speaks only JSON (but for the token endpoint's
/// form, and a document's upload, which streams the file itself under limits of its own).
pub async fn body_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if is_document_upload(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let limit = req.app_data::<BodyLimit>().map_or(usize::MAX, |l| l.0);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > limit as u64
    {
        let refusal = ApiError::problem(
            ProblemType::PayloadTooLarge,
            format!("the request body may be at most {limit} bytes"),
        );
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    let has_body =
        declared.is_some_and(|l| l > 0) || req.headers().contains_key(header::TRANSFER_ENCODING);
    let takes_body = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    let content_type = req.headers().get(header::CONTENT_TYPE);
    // The OAuth token endpoint, and the web console's forms (which are HTML forms).
    let form_allowed =
        (req.path() == TOKEN_PATH || req.path().starts_with("/console/")) && is_form(content_type);
    if has_body && takes_body && !is_json(content_type) && !form_allowed {
        let refusal = ApiError::problem(
            ProblemType::UnsupportedMediaType,
            "send the request body as application/json",
        );
        return Ok(req.error_response(refusal).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// A document's upload: `POST /api/v1/cases/{id}/documents`,
/// `POST /api/v1/cases/{id}/documents/{document}/versions`, or the bytes of a resumable upload,
/// `PATCH /api/v1/cases/{id}/uploads/{upload}`. Its body is the file, checked by the documents'
/// own limits and content checks as it streams.
fn is_document_upload(req: &ServiceRequest) -> bool {
    let Some(rest) = req.path().strip_prefix("/api/v1/cases/") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    if req.method() == Method::POST {
        matches!(
            parts.as_slice(),
            [_, "documents"] | [_, "documents", _, "versions"]
        )
    } else if req.method() == Method::PATCH {
        matches!(parts.as_slice(), [_, "uploads", _])
    } else {
        false
    }
}

/// The one endpoint that takes a form instead of JSON: the OAuth 2.0 token endpoint, whose
/// standard (RFC 6749 §4.4.2) says `application/x-www-form-urlencoded`.
pub const TOKEN_PATH: &str = "/api/v1/auth/token";

fn essence(content_type: Option<&header::HeaderValue>) -> Option<String> {
    let value = content_type.and_then(|v| v.to_str().ok())?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Whether the body is declared `application/x-www-form-urlencoded`.
pub fn is_form(content_type: Option<&header::HeaderValue>) -> bool {
    essence(content_type).is_some_and(|e| e == "application/x-www-form-urlencoded")
}

fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Headers every response carries unless its handler set its own: no sniffing, no framing, no
/// referrer, no caching (responses hold personal data), a deny-all content security policy.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ))
        .add((header::CACHE_CONTROL, "no-store"))
        .add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        ))
        .add(("cross-origin-opener-policy", "same-origin"))
        .add(("cross-origin-resource-policy", "same-origin"))
        .add((
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ))
}

/// Extractor settings for the whole application: body limits, and problems (not actix's plain
/// text) when a body, query or path cannot be read. Messages describe the position of a fault,
/// never echo the value: a value may be personal.
pub fn extractor_configs(
    max_body_bytes: usize,
) -> (
    BodyLimit,
    web::JsonConfig,
    web::PayloadConfig,
    web::QueryConfig,
    web::PathConfig,
) {
    let json = web::JsonConfig::default()
        .limit(max_body_bytes)
        .content_type_required(true)
        .content_type(|mime| mime.suffix() == Some(mime::JSON))
        .error_handler(json_error);
    let payload = web::PayloadConfig::new(max_body_bytes);
    let query = web::QueryConfig::default().error_handler(query_error);
    let path = web::PathConfig::default().error_handler(path_error);
    (BodyLimit(max_body_bytes), json, payload, query, path)
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> Error {
    match err {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::problem(
            ProblemType::PayloadTooLarge,
            format!("the request body may be at most {limit} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::problem(
            ProblemType::UnsupportedMediaType,
            "send the request body as application/json",
        ),
        // What serde expected, never the value it was given (see `json_body`).
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::problem(
            ProblemType::InvalidBody,
            format!(
                "{} (line {}, column {})",
                super::json_body::describe("", &e.to_string()),
                e.line(),
                e.column()
            ),
        ),
        JsonPayloadError::Deserialize(e) => ApiError::problem(
            ProblemType::MalformedJson,
            format!(
                "the body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        ),
        _ => ApiError::problem(
            ProblemType::BadRequest,
            "the request body could not be read",
        ),
    }
    .into()
}

fn query_error(_err: QueryPayloadError, _req: &HttpRequest) -> Error {
    ApiError::problem(
        ProblemType::BadRequest,
        "the query parameters are not valid",
    )
    .into()
}

fn path_error(_err: PathError, _req: &HttpRequest) -> Error {
    // A malformed id names nothing that exists.
    ApiError::bare(ProblemType::NotFound).into()
}
