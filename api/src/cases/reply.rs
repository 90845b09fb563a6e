//! Answers of case endpoints, and the `Idempotency-Key` that lets a retried POST get the first
//! answer instead of acting twice, even across a server restart.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest as _, Sha256};
use tumaini_db::DbConn;
use tumaini_db::ids::UserId;
use tumaini_db::models::idempotency::{self, StoredResponse};

use crate::authz::FieldGroup;
use crate::http::{ApiError, ProblemType};

/// An answer: status, headers, JSON body, and the field groups it touched (for the audit
/// event; never sent).
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// `Location`.
    pub location: Option<String>,
    /// `ETag`.
    pub etag: Option<String>,
    /// Body.
    pub body: serde_json::Value,
    /// Field groups read or written.
    pub touched: Vec<FieldGroup>,
    /// The answer is the stored first answer to an earlier request with the same key.
    pub replayed: bool,
}

impl Reply {
    /// 200 with a body.
    pub fn ok(body: serde_json::Value) -> Self {
        Self {
            status: StatusCode::OK,
            location: None,
            etag: None,
            body,
            touched: Vec::new(),
            replayed: false,
        }
    }

    /// 201 with a body and a `Location`.
    pub fn created(location: String, body: serde_json::Value) -> Self {
        Self {
            status: StatusCode::CREATED,
            location: Some(location),
            ..Self::ok(body)
        }
    }

    /// With an `ETag` for a version.
    #[must_use]
    pub fn with_version(mut self, version: i32) -> Self {
        self.etag = Some(etag(version));
        self
    }

    /// Recording the groups touched.
    #[must_use]
    pub fn touching(mut self, groups: Vec<FieldGroup>) -> Self {
        self.touched = groups;
        self
    }

    /// The HTTP response.
    pub fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(location) = self.location {
            response.insert_header((LOCATION, location));
        }
        if let Some(etag) = self.etag {
            response.insert_header((ETAG, etag));
        }
        if self.replayed {
            response.insert_header(("Idempotent-Replayed", "true"));
        }
        response.json(self.body)
    }
}

/// The strong `ETag` of a version.
pub fn etag(version: i32) -> String {
    format!("\"v{version}\"")
}

/// The version an `If-Match` names: 428 without one, 412 when it names no version of ours.
pub fn if_match(req: &HttpRequest) -> Result<i32, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::IF_MATCH) else {
        return Err(ApiError::problem(
            ProblemType::PreconditionRequired,
            "send If-Match with the ETag of the version you are changing",
        ));
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .and_then(|v| v.strip_prefix("\"v"))
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::problem(
                ProblemType::PreconditionFailed,
                "If-Match does not name a version of this record",
            )
        })
}

/// The `Idempotency-Key` of a POST and a hash of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: String,
    hash: Vec<u8>,
}

impl Idempotency {
    /// Reads the key (1 to 200 visible ASCII characters) from a request whose body is `body`.
    pub fn of(req: &HttpRequest, body: &serde_json::Value) -> Result<Option<Self>, ApiError> {
        let Some(value) = req.headers().get("Idempotency-Key") else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .map(|k| k.trim().trim_matches('"'))
            .filter(|k| !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::problem(
                    ProblemType::BadRequest,
                    "Idempotency-Key must be 1 to 200 visible ASCII characters",
                )
            })?;
        let mut hasher = Sha256::new();
        hasher.update(req.method().as_str());
        hasher.update([0]);
        hasher.update(req.path());
        hasher.update([0]);
        hasher.update(body.to_string());
        Ok(Some(Self {
            key: key.to_owned(),
            hash: hasher.finalize().to_vec(),
        }))
    }

    /// The stored first answer for this key, if any; 422 if the key came with another request.
    pub fn replay(&self, conn: &mut DbConn, user: &UserId) -> Result<Option<Reply>, ApiError> {
        let Some(stored) = idempotency::find(conn, user, &self.key)? else {
            return Ok(None);
        };
        if stored.request_hash != self.hash {
            return Err(ApiError::problem(
                ProblemType::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request",
            ));
        }
        Ok(Some(Reply {
            status: StatusCode::from_u16(u16::try_from(stored.status_code).unwrap_or(200))
                .unwrap_or(StatusCode::OK),
            location: stored.location,
            etag: stored.etag,
            body: serde_json::from_str(&stored.body)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored answer: {e}")))?,
            touched: Vec::new(),
            replayed: true,
        }))
    }

    /// Stores the first answer, inside the action's transaction.
    pub fn store(&self, conn: &mut DbConn, user: &UserId, reply: &Reply) -> Result<(), ApiError> {
        idempotency::store(
            conn,
            user,
            &self.key,
            &StoredResponse {
                request_hash: self.hash.clone(),
                status_code: i32::from(reply.status.as_u16()),
                location: reply.location.clone(),
                etag: reply.etag.clone(),
                body: reply.body.to_string(),
            },
        )?;
        Ok(())
    }
}
