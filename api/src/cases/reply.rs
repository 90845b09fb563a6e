//! Answers of case endpoints, and the `Idempotency-Key` that lets a retried POST get the first
//! answer instead of acting twice, even across a server restart.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{HttpRequest, HttpResponse};
use subtle::ConstantTimeEq as _;
use tumaini_db::DbConn;
use tumaini_db::ids::{CaseId, UserId};
use tumaini_db::models::idempotency::{self, StoredResponse};
use tumaini_db::vault::{GroupRead, RecordPlace, SecretBytes, Vault};

use crate::auth::tokens::Keys;
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
    /// Reasons given for referrals of the case were decrypted for the answer.
    pub reasons_read: bool,
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
            reasons_read: false,
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

    /// Recording that reasons given for referrals were decrypted.
    #[must_use]
    pub fn reading_reasons(mut self, read: bool) -> Self {
        self.reasons_read = read;
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

/// The `Idempotency-Key` of a POST and a keyed hash of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: String,
    hash: Vec<u8>,
}

impl Idempotency {
    /// Reads the key (1 to 200 visible ASCII characters) from a request whose body is `body`.
    pub fn of(
        req: &HttpRequest,
        body: &serde_json::Value,
        keys: &Keys,
    ) -> Result<Option<Self>, ApiError> {
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
        let body = body.to_string();
        let hash = keys.request_hash(&[
            req.method().as_str().as_bytes(),
            req.path().as_bytes(),
            body.as_bytes(),
        ]);
        Ok(Some(Self {
            key: key.to_owned(),
            hash,
        }))
    }

    /// The key of a web console form: a random value the page put in the form (`once`), so
    /// that a form sent twice (a double click, a retry on a poor connection after the first
    /// was acted on) acts once and answers the first answer again; the same key with other
    /// content (the form edited after going back) is refused, never silently answered with the
    /// first. `None` for a form without one, or one not of the expected shape.
    pub fn for_console_form(keys: &Keys, path: &str, once: &str, body: &[u8]) -> Option<Self> {
        let once = once.trim();
        let well_formed = (16..=64).contains(&once.len())
            && once.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        well_formed.then(|| Self {
            key: format!("console:{once}"),
            hash: keys.request_hash(&[b"POST", path.as_bytes(), body]),
        })
    }

    /// The row a stored answer is sealed to (its associated data): this user's key.
    fn row_id(&self, user: &UserId) -> String {
        format!("{user}:{}", self.key)
    }

    /// The stored first answer for this key, if any; 422 if the key came with another request,
    /// 404 if the case it concerns has been erased since.
    pub fn replay(
        &self,
        conn: &mut DbConn,
        user: &UserId,
        vault: &Vault,
    ) -> Result<Option<Reply>, ApiError> {
        let Some(stored) = idempotency::find(conn, user, &self.key)? else {
            return Ok(None);
        };
        if !bool::from(stored.request_hash.as_slice().ct_eq(self.hash.as_slice())) {
            return Err(ApiError::problem(
                ProblemType::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request",
            ));
        }
        let stored_answer = |bytes: &[u8]| {
            serde_json::from_slice(bytes)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored answer: {e}")))
        };
        let body = match &stored.case_id {
            None => stored_answer(&stored.body)?,
            Some(case) => {
                let row_id = self.row_id(user);
                match vault
                    .open_record(conn, case, sealed_body_place(&row_id), &stored.body)
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("vault: {e}")))?
                {
                    GroupRead::Plain(plain) => stored_answer(plain.expose())?,
                    GroupRead::Erased => return Err(ApiError::bare(ProblemType::NotFound)),
                    GroupRead::Absent => {
                        return Err(ApiError::Internal(anyhow::anyhow!(
                            "a stored answer's case has no key"
                        )));
                    }
                }
            }
        };
        Ok(Some(Reply {
            status: StatusCode::from_u16(u16::try_from(stored.status_code).unwrap_or(200))
                .unwrap_or(StatusCode::OK),
            location: stored.location,
            etag: stored.etag,
            body,
            touched: Vec::new(),
            reasons_read: false,
            replayed: true,
        }))
    }

    /// Stores the first answer about `case`, sealed under the case's data key, inside the
    /// action's transaction.
    pub fn store(
        &self,
        conn: &mut DbConn,
        user: &UserId,
        case: &CaseId,
        vault: &Vault,
        reply: &Reply,
    ) -> Result<(), ApiError> {
        let body = SecretBytes::new(
            serde_json::to_vec(&reply.body).map_err(|e| ApiError::Internal(e.into()))?,
        );
        let row_id = self.row_id(user);
        let sealed = vault
            .seal_record(conn, case, sealed_body_place(&row_id), &body)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("vault: {e}")))?;
        self.keep(conn, user, Some(case), reply, sealed)
    }

    /// Stores a first answer that concerns no case and holds ids only (an anonymous
    /// notification's id and reference), inside the action's transaction.
    pub fn store_ids_only(
        &self,
        conn: &mut DbConn,
        user: &UserId,
        reply: &Reply,
    ) -> Result<(), ApiError> {
        let body = serde_json::to_vec(&reply.body).map_err(|e| ApiError::Internal(e.into()))?;
        self.keep(conn, user, None, reply, body)
    }

    fn keep(
        &self,
        conn: &mut DbConn,
        user: &UserId,
        case: Option<&CaseId>,
        reply: &Reply,
        body: Vec<u8>,
    ) -> Result<(), ApiError> {
        idempotency::store(
            conn,
            user,
            &self.key,
            &StoredResponse {
                request_hash: self.hash.clone(),
                case_id: case.cloned(),
                status_code: i32::from(reply.status.as_u16()),
                location: reply.location.clone(),
                etag: reply.etag.clone(),
                body,
            },
        )?;
        Ok(())
    }
}

fn sealed_body_place(row_id: &str) -> RecordPlace<'_> {
    RecordPlace {
        table: "idempotency_keys",
        column: "sealed_body",
        row_id,
    }
}
