//! Documents of a case: signed consent forms, identity papers, medical and legal records,
//! photographs. Each belongs to one personal field group, which decides who may read it exactly
//! as it decides the group's fields (referrals, consent, break-glass, every `forbid`, the first
//! responder's window). Content is checked (type from the bytes, an allow-list, metadata
//! stripped from images, an optional malware scan), then encrypted in chunks under the case's
//! data key as it streams in (`upload`), and decrypted as it streams out (`download`); no whole
//! file is ever held in memory.

pub mod content;
mod download;
pub mod resumable;
pub mod store;
pub mod sweep;
mod upload;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use tumaini_db::ids::{CaseId, ConsentId, DocumentId, UserId};
use tumaini_db::models::document::{Document, DocumentVersion};
use tumaini_db::vault::{DocumentCipher, DocumentKey};
use tumaini_db::vocabulary::{self as vocab, DocumentKind};
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup};
use crate::cases::Reply;
use crate::cases::{CaseRequest, act_on_case, vault_error};
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

pub use download::download;
pub use upload::{FileMeta, UploadTarget, upload};

/// What is sealed with each version: everything about the file that could name someone. No
/// `Debug`: nothing of it is ever printed.
#[derive(Clone, Serialize, Deserialize)]
struct SealedMeta {
    file_name: Option<String>,
    media_type: String,
    caption: Option<String>,
    byte_size: u64,
    chunk_count: u32,
}

/// What a version's metadata is bound to besides its id: its document, its number and the
/// document's group, none of which can then be changed in the database unnoticed.
fn meta_context(document: &DocumentId, version: i32, group: vocab::FieldGroup) -> String {
    format!("{document}/{version}/{}", group.code())
}

impl SealedMeta {
    fn open(
        cipher: &DocumentCipher,
        document: &Document,
        version: &DocumentVersion,
    ) -> Result<Self, ApiError> {
        let context = meta_context(&document.id, version.version, document.field_group);
        let plain = cipher
            .open_meta(&context, &version.sealed_meta)
            .map_err(vault_error)?;
        let meta: Self = serde_json::from_slice(plain.expose())
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("document metadata unreadable")))?;
        // The counts stored in clear must agree with the sealed ones: a row edited to cut
        // chunks off is found before any chunk is read.
        if i64::from(meta.chunk_count) != i64::from(version.chunk_count)
            || i64::try_from(meta.byte_size).ok() != Some(version.byte_size)
        {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "document version {} does not match its sealed metadata",
                version.id
            )));
        }
        Ok(meta)
    }
}

/// A document as its readers see it (only ever sent to a caller who may read its group).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentView {
    /// Its id.
    pub id: DocumentId,
    /// The case.
    pub case_id: CaseId,
    /// The personal group that decides who may read it.
    #[schema(value_type = String, example = "health")]
    pub group: &'static str,
    /// What it is.
    #[schema(value_type = String, example = "medical_report")]
    pub kind: &'static str,
    /// The consent version a consent form records.
    pub consent_id: Option<ConsentId>,
    /// The version described (the current one in a list).
    pub version: i32,
    /// The file's name as uploaded, if one was given.
    pub file_name: Option<String>,
    /// The media type detected from the content.
    pub media_type: String,
    /// A caption, if one was given.
    pub caption: Option<String>,
    /// The content's size in bytes (after metadata was stripped from an image).
    pub byte_size: u64,
    /// When the document was first uploaded.
    pub created_at: DateTime<Utc>,
    /// Who uploaded this version.
    pub created_by: UserId,
    /// When this version was uploaded.
    pub updated_at: DateTime<Utc>,
    /// Where its content is downloaded.
    pub content: String,
}

/// A case's documents the caller may read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentList {
    /// Oldest first.
    pub documents: Vec<DocumentView>,
}

fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

fn view(document: &Document, version: &DocumentVersion, meta: SealedMeta) -> DocumentView {
    DocumentView {
        id: document.id.clone(),
        case_id: document.case_id.clone(),
        group: document.field_group.code(),
        kind: document.kind.code(),
        consent_id: document.consent_id.clone(),
        version: version.version,
        file_name: meta.file_name,
        media_type: meta.media_type,
        caption: meta.caption,
        byte_size: meta.byte_size,
        created_at: utc(document.created_at),
        created_by: version.created_by.clone(),
        updated_at: utc(version.created_at),
        content: format!(
            "/api/v1/cases/{}/documents/{}/content",
            document.case_id, document.id
        ),
    }
}

/// The cipher of a stored version and its metadata, opened (and checked against the row).
fn open_version(
    key: &DocumentKey,
    document: &Document,
    version: &DocumentVersion,
) -> Result<(DocumentCipher, SealedMeta), ApiError> {
    let cipher = key
        .cipher(
            version.id.as_str(),
            version.key_version,
            &version.nonce_prefix,
        )
        .map_err(vault_error)?;
    let meta = SealedMeta::open(&cipher, document, version)?;
    Ok((cipher, meta))
}

/// The case's document key, read at the first version a request opens and reused for the rest.
#[derive(Default)]
struct LazyKey(Option<DocumentKey>);

impl LazyKey {
    fn get(
        &mut self,
        conn: &mut tumaini_db::DbConn,
        access: &crate::cases::CaseAccess,
    ) -> Result<&DocumentKey, ApiError> {
        if self.0.is_none() {
            self.0 = Some(
                access
                    .vault
                    .document_key(conn, &access.case.id)
                    .map_err(vault_error)?,
            );
        }
        self.0
            .as_ref()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("document key not read")))
    }
}

/// A refused group hides an existing document (404), not a new one's group: the groups are a
/// public vocabulary, as a PATCH of the group says.
fn hide_if_existing<T>(existing: bool, result: Result<T, ApiError>) -> Result<T, ApiError> {
    if existing {
        hide_refused_group(result)
    } else {
        result
    }
}

/// The group a new document or a new version goes to: the target's, or the document's (which
/// is loaded: `NotFound` for one not in the case); and whether it is an existing document.
async fn target_group(
    state: &AppState,
    case: &CaseId,
    target: &UploadTarget,
) -> Result<(FieldGroup, bool), ApiError> {
    match target {
        UploadTarget::New { kind, group, .. } => {
            Ok((group.map_or_else(|| default_group(*kind), Ok)?, false))
        }
        UploadTarget::Version(id) => {
            let (case, id) = (case.clone(), id.clone());
            let document = store::per_step(&state.pool, move |conn| {
                Ok(Document::find_in_case(conn, &case, &id)?)
            })
            .await?;
            Ok((policy_group(document.field_group)?, true))
        }
    }
}

/// A `group` parameter: a personal group (the summary holds no document).
pub fn personal_group_param(
    group: Option<vocab::FieldGroup>,
) -> Result<Option<FieldGroup>, ApiError> {
    group
        .map(|g| {
            FieldGroup::from_code(g.code()).ok_or_else(|| {
                ApiError::problem(
                    ProblemType::BadRequest,
                    "`group`: a document belongs to a personal group, not the summary",
                )
            })
        })
        .transpose()
}

/// The policy group of a stored document's group.
fn policy_group(group: vocab::FieldGroup) -> Result<FieldGroup, ApiError> {
    FieldGroup::from_code(group.code())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a document in the summary group")))
}

/// The case's documents whose group the caller may read, each with its current version's
/// metadata. Documents of other groups are left out without a word: their existence is
/// itself something the caller may not know.
pub async fn list(state: &AppState, caller: &Caller, case: CaseId) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id: case,
        action: Action::ReadSummary,
        audited_as: AuditAction::DocumentList,
        purpose: "case_management",
        idempotency: None,
    };
    act_on_case(state, caller, request, move |conn, access| {
        let mut documents = Vec::new();
        let mut touched: Vec<FieldGroup> = Vec::new();
        let mut key = LazyKey::default();
        for (document, version) in Document::list_for_case(conn, &access.case.id)? {
            let group = policy_group(document.field_group)?;
            let allowed = touched.contains(&group) || access.decide(group.read_action()).allowed;
            if !allowed {
                continue;
            }
            let (_, meta) = open_version(key.get(conn, access)?, &document, &version)?;
            if !touched.contains(&group) {
                touched.push(group);
            }
            documents.push(view(&document, &version, meta));
        }
        let mut reply = Reply::ok(serde_json::json!(DocumentList { documents }));
        reply.touched = touched;
        Ok(reply)
    })
    .await
}

/// Deletes a document: hidden at once, its content erased by retention after
/// `TUMAINI_RETENTION_DELETED_DOCUMENT_DAYS`. Allowed to whoever may add one to its group.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    case: CaseId,
    id: DocumentId,
) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id: case,
        action: Action::UpdateCase,
        audited_as: AuditAction::DocumentDelete,
        purpose: "case_management",
        idempotency: None,
    };
    let by = caller.user.id.clone();
    hide_refused_group(
        act_on_case(state, caller, request, move |conn, access| {
            let document = Document::find_in_case(conn, &access.case.id, &id)?;
            let group = policy_group(document.field_group)?;
            if !access.decide(group.read_action()).allowed {
                return Err(refused_group(group));
            }
            if !Document::soft_delete(conn, &document.id, &by, tumaini_db::time::now_utc())? {
                return Err(ApiError::bare(ProblemType::NotFound));
            }
            let mut reply = Reply::ok(serde_json::Value::Null);
            reply.status = actix_web::http::StatusCode::NO_CONTENT;
            reply.touched = vec![group];
            Ok(reply)
        })
        .await,
    )
}

/// The refusal of a document's group inside an allowed case action: a 403 (so the denial is
/// audited), answered as 404 by [`hide_refused_group`].
fn refused_group(group: FieldGroup) -> ApiError {
    ApiError::problem(
        ProblemType::Forbidden,
        format!("you may not read the `{}` group of this case", group.code()),
    )
}

/// A document in a group the caller may not read does not exist for them: the refusal was
/// audited as a denial; the answer is the same 404 as for no such document.
fn hide_refused_group<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    match result {
        Err(ApiError::Problem {
            kind: ProblemType::Forbidden,
            ..
        }) => Err(ApiError::bare(ProblemType::NotFound)),
        other => other,
    }
}

/// The default group of a kind, as a policy group.
fn default_group(kind: DocumentKind) -> Result<FieldGroup, ApiError> {
    policy_group(kind.default_group())
}

/// Every version of every document of the case in the groups `readable`, oldest first, for a
/// subject access export (in its transaction; its audit event lists the groups).
pub fn for_subject_access(
    conn: &mut tumaini_db::DbConn,
    access: &crate::cases::CaseAccess,
    readable: &[FieldGroup],
) -> Result<Vec<DocumentView>, ApiError> {
    let mut views = Vec::new();
    let mut key = LazyKey::default();
    for (document, _) in Document::list_for_case(conn, &access.case.id)? {
        if !readable.contains(&policy_group(document.field_group)?) {
            continue;
        }
        for version in DocumentVersion::all_of(conn, &document.id)? {
            let (_, meta) = open_version(key.get(conn, access)?, &document, &version)?;
            let mut seen = view(&document, &version, meta);
            seen.content = format!("{}?version={}", seen.content, version.version);
            views.push(seen);
        }
    }
    Ok(views)
}
