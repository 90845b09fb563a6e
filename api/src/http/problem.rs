//! Errors as RFC 9457 `application/problem+json`.
//!
//! Every problem has a stable `type` (a URN clients may switch on), a short `title`, the
//! `status`, and the `request_id` to quote when asking for help. A `detail` is written for the
//! caller and never carries an internal message, a stack, SQL or a personal value: unknown
//! errors become a generic 500 whose cause is logged server-side with the request id.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use tumaini_db::Unavailability;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `Retry-After` of a 503 whose cause names no better wait, in seconds.
pub const DEFAULT_RETRY_AFTER_SECS: u32 = 5;

/// The problem types Tumaini answers with. The URN is a contract: once published it keeps its
/// meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    /// The request is not well-formed (bad syntax, bad parameter).
    BadRequest,
    /// The body is not valid JSON.
    MalformedJson,
    /// The body is JSON but not the shape or values the endpoint takes.
    InvalidBody,
    /// Sign-in is needed.
    Unauthenticated,
    /// The e-mail address or password (or second factor) is not correct. One answer for every
    /// cause, so that it does not tell whether an account exists.
    InvalidCredentials,
    /// The password was right; a second factor is needed (send `otp`).
    MfaRequired,
    /// The role requires a second factor and none is enrolled yet.
    MfaEnrolmentRequired,
    /// The caller's role may not do this.
    Forbidden,
    /// Nothing here, or nothing the caller may see.
    NotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The request conflicts with the current state.
    Conflict,
    /// A workflow rule refused the transition (the detail names the rule).
    TransitionRefused,
    /// The person's consent does not cover what was asked (the detail names the missing
    /// consent).
    ConsentRequired,
    /// `If-Match` named a version that is no longer current.
    PreconditionFailed,
    /// The update needs `If-Match` with the current `ETag`.
    PreconditionRequired,
    /// An `Idempotency-Key` was reused for a different request.
    IdempotencyKeyReused,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// Too many requests; try later.
    TooManyRequests,
    /// The server failed; the cause is in its logs under the request id.
    Internal,
    /// A dependency (the database) is not available.
    ServiceUnavailable,
    /// Token endpoint: the request is malformed (RFC 6749 §5.2 `invalid_request`).
    OAuthInvalidRequest,
    /// Token endpoint: the client did not authenticate (`invalid_client`).
    OAuthInvalidClient,
    /// Token endpoint: the grant is not valid for this client (`invalid_grant`).
    OAuthInvalidGrant,
    /// Token endpoint: a scope asked for is unknown or not granted (`invalid_scope`).
    OAuthInvalidScope,
    /// Token endpoint: only `client_credentials` is served (`unsupported_grant_type`).
    OAuthUnsupportedGrantType,
}

impl ProblemType {
    /// The stable `type` URN.
    pub const fn uri(self) -> &'static str {
        match self {
            Self::BadRequest => "urn:tumaini:problem:bad-request",
            Self::MalformedJson => "urn:tumaini:problem:malformed-json",
            Self::InvalidBody => "urn:tumaini:problem:invalid-body",
            Self::Unauthenticated => "urn:tumaini:problem:unauthenticated",
            Self::OAuthInvalidRequest => "urn:tumaini:problem:oauth-invalid-request",
            Self::OAuthInvalidClient => "urn:tumaini:problem:oauth-invalid-client",
            Self::OAuthInvalidGrant => "urn:tumaini:problem:oauth-invalid-grant",
            Self::OAuthInvalidScope => "urn:tumaini:problem:oauth-invalid-scope",
            Self::OAuthUnsupportedGrantType => "urn:tumaini:problem:oauth-unsupported-grant-type",
            Self::InvalidCredentials => "urn:tumaini:problem:invalid-credentials",
            Self::MfaRequired => "urn:tumaini:problem:mfa-required",
            Self::MfaEnrolmentRequired => "urn:tumaini:problem:mfa-enrolment-required",
            Self::Forbidden => "urn:tumaini:problem:forbidden",
            Self::NotFound => "urn:tumaini:problem:not-found",
            Self::MethodNotAllowed => "urn:tumaini:problem:method-not-allowed",
            Self::Conflict => "urn:tumaini:problem:conflict",
            Self::TransitionRefused => "urn:tumaini:problem:transition-refused",
            Self::ConsentRequired => "urn:tumaini:problem:consent-required",
            Self::PreconditionFailed => "urn:tumaini:problem:precondition-failed",
            Self::PreconditionRequired => "urn:tumaini:problem:precondition-required",
            Self::IdempotencyKeyReused => "urn:tumaini:problem:idempotency-key-reused",
            Self::PayloadTooLarge => "urn:tumaini:problem:payload-too-large",
            Self::UnsupportedMediaType => "urn:tumaini:problem:unsupported-media-type",
            Self::TooManyRequests => "urn:tumaini:problem:too-many-requests",
            Self::Internal => "urn:tumaini:problem:internal",
            Self::ServiceUnavailable => "urn:tumaini:problem:service-unavailable",
        }
    }

    /// The short, fixed title.
    pub const fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad request",
            Self::MalformedJson => "Malformed JSON",
            Self::InvalidBody => "Invalid request body",
            Self::Unauthenticated => "Authentication required",
            Self::InvalidCredentials => "Invalid credentials",
            Self::MfaRequired => "Second factor required",
            Self::MfaEnrolmentRequired => "Second factor enrolment required",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict",
            Self::TransitionRefused => "Transition refused",
            Self::ConsentRequired => "Consent required",
            Self::PreconditionFailed => "Precondition failed",
            Self::PreconditionRequired => "Precondition required",
            Self::IdempotencyKeyReused => "Idempotency key reused",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::TooManyRequests => "Too many requests",
            Self::Internal => "Internal server error",
            Self::ServiceUnavailable => "Service unavailable",
            Self::OAuthInvalidRequest => "Invalid token request",
            Self::OAuthInvalidClient => "Client authentication failed",
            Self::OAuthInvalidGrant => "Invalid grant",
            Self::OAuthInvalidScope => "Invalid scope",
            Self::OAuthUnsupportedGrantType => "Unsupported grant type",
        }
    }

    /// The HTTP status it is sent with.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::MalformedJson => StatusCode::BAD_REQUEST,
            Self::InvalidBody => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthenticated | Self::InvalidCredentials | Self::MfaRequired => {
                StatusCode::UNAUTHORIZED
            }
            Self::MfaEnrolmentRequired | Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict | Self::TransitionRefused | Self::ConsentRequired => {
                StatusCode::CONFLICT
            }
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::OAuthInvalidClient => StatusCode::UNAUTHORIZED,
            Self::OAuthInvalidRequest
            | Self::OAuthInvalidGrant
            | Self::OAuthInvalidScope
            | Self::OAuthUnsupportedGrantType => StatusCode::BAD_REQUEST,
        }
    }

    /// The OAuth 2.0 error code (RFC 6749 §5.2) a token endpoint problem carries in `error`.
    pub const fn oauth_error(self) -> Option<&'static str> {
        match self {
            Self::OAuthInvalidRequest => Some("invalid_request"),
            Self::OAuthInvalidClient => Some("invalid_client"),
            Self::OAuthInvalidGrant => Some("invalid_grant"),
            Self::OAuthInvalidScope => Some("invalid_scope"),
            Self::OAuthUnsupportedGrantType => Some("unsupported_grant_type"),
            _ => None,
        }
    }

    /// The problem type a bare status stands for, for responses produced without one (a
    /// framework 404 or 405): the request-context middleware rewrites them with it.
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => Self::Unauthenticated,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            409 => Self::Conflict,
            412 => Self::PreconditionFailed,
            428 => Self::PreconditionRequired,
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            422 => Self::InvalidBody,
            429 => Self::TooManyRequests,
            503 => Self::ServiceUnavailable,
            400..=499 => Self::BadRequest,
            _ => Self::Internal,
        }
    }
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:tumaini:problem:not-found",
    "title": "Not found",
    "status": 404,
    "request_id": "019a8f5e-6c1d-7b2a-9d3e-4f5a6b7c8d9e"
}))]
pub struct Problem {
    /// Stable URN identifying the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for the caller; never internal detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request id, also in the `X-Request-Id` header; quote it when asking for help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// On the token endpoint only: the OAuth 2.0 error code (RFC 6749 §5.2), e.g.
    /// `invalid_client`, so that OAuth client libraries understand the refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Problem {
    /// A problem of the given type.
    pub fn new(kind: ProblemType, detail: Option<String>) -> Self {
        Self {
            problem_type: kind.uri().to_owned(),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail,
            request_id: None,
            error: kind.oauth_error().map(str::to_owned),
        }
    }

    /// The response carrying this problem. A 503 always says when to try again
    /// (`Retry-After`, [`DEFAULT_RETRY_AFTER_SECS`] unless the cause knows better).
    pub fn into_response(self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = HttpResponse::build(status).json(&self);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(DEFAULT_RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// The error type every handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A problem to report as it is; `detail` is safe to show the caller.
    #[error("{}: {}", .kind.title(), .detail.as_deref().unwrap_or("-"))]
    Problem {
        /// Which problem.
        kind: ProblemType,
        /// Caller-facing explanation.
        detail: Option<String>,
    },
    /// The database cannot serve now (down, cut off, full, too slow, or the transaction lost
    /// a race): answered 503 with a `Retry-After` that suits the reason.
    #[error("database unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: Unavailability,
    },
    /// Anything unexpected: logged in full, answered as a bare 500 (or 503, when the cause
    /// turns out to be a database that cannot serve now).
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A problem with a caller-facing detail.
    pub fn problem(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::Problem {
            kind,
            detail: Some(detail.into()),
        }
    }

    /// A problem with no detail.
    pub fn bare(kind: ProblemType) -> Self {
        Self::Problem { kind, detail: None }
    }

    /// The database is not reachable or not ready.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::problem(ProblemType::ServiceUnavailable, detail)
    }

    /// Why the database could not serve, when that is what this error is (directly, or as the
    /// cause of an unexpected error that wrapped a [`DbError`](tumaini_db::DbError)).
    pub fn unavailability(&self) -> Option<Unavailability> {
        match self {
            Self::Unavailable { reason } => Some(*reason),
            Self::Internal(cause) => cause
                .chain()
                .find_map(|c| c.downcast_ref::<tumaini_db::DbError>())
                .and_then(tumaini_db::DbError::unavailability),
            Self::Problem { .. } => None,
        }
    }
}

/// A 503 for `reason`, with its `Retry-After`.
fn unavailable_response(reason: Unavailability) -> HttpResponse {
    let mut response = Problem::new(
        ProblemType::ServiceUnavailable,
        Some(reason.explanation().to_owned()),
    )
    .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(reason.retry_after_secs()),
    );
    response
}

impl From<tumaini_db::DbError> for ApiError {
    fn from(err: tumaini_db::DbError) -> Self {
        use tumaini_db::DbError;
        match err {
            DbError::NotFound => Self::bare(ProblemType::NotFound),
            DbError::Conflict { .. } => Self::problem(
                ProblemType::Conflict,
                "the request conflicts with existing data",
            ),
            other => match other.unavailability() {
                Some(reason) => {
                    tracing::warn!(error = %other, "database unavailable");
                    Self::Unavailable { reason }
                }
                None => Self::Internal(other.into()),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Problem { kind, .. } => kind.status(),
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) if self.unavailability().is_some() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Problem { kind, detail } => {
                let mut response = Problem::new(*kind, detail.clone()).into_response();
                if *kind == ProblemType::OAuthInvalidClient {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"tumaini\""),
                    );
                } else if kind.status() == StatusCode::UNAUTHORIZED {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"tumaini\""),
                    );
                }
                response
            }
            Self::Unavailable { reason } => unavailable_response(*reason),
            Self::Internal(cause) => {
                // Runs inside the request's span, so the log line carries the request id.
                if let Some(reason) = self.unavailability() {
                    tracing::warn!(error = format!("{cause:#}"), "database unavailable");
                    return unavailable_response(reason);
                }
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Problem::new(ProblemType::Internal, None).into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::Internal(anyhow::anyhow!("relation \"users\" does not exist"));
        let response = err.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
    }

    #[test]
    fn a_database_that_cannot_serve_is_a_503_with_retry_after_never_a_500() {
        let lost = tumaini_db::DbError::Interrupted {
            reason: Unavailability::ConnectionLost,
            message: "terminating connection due to administrator command".to_owned(),
        };
        let full = tumaini_db::DbError::Interrupted {
            reason: Unavailability::DiskFull,
            message: "database or disk is full".to_owned(),
        };
        let full_detail = Unavailability::DiskFull.explanation();
        let wrapped = ApiError::Internal(anyhow::Error::new(full).context("storing a note"));
        for (err, retry_after) in [
            (ApiError::from(lost), "5"),
            (wrapped, "30"),
            (
                ApiError::unavailable("personal data cannot be stored or read now"),
                "5",
            ),
        ] {
            let response = err.error_response();
            assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE, "{err}");
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{err}");
            assert_eq!(
                response.headers().get(header::RETRY_AFTER).unwrap(),
                retry_after,
                "{err}"
            );
        }
        assert!(full_detail.contains("disk is full"));
    }

    #[test]
    fn every_status_maps_to_a_problem_with_that_status_family() {
        for code in [
            400u16, 401, 403, 404, 405, 409, 412, 413, 415, 422, 428, 429, 500, 503,
        ] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(ProblemType::for_status(status).status(), status, "{code}");
        }
    }
}
