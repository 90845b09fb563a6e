//! The subject access endpoint: parses the purpose and the form asked for, calls
//! `crate::cases::subject_access::export`, and answers the JSON document or the printable page.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use tumaini_db::ids::CaseId;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::cases::subject_access::{self, ExportFormat, SubjectAccessExport, SubjectAccessPurpose};
use crate::http::{ApiError, Problem};
use crate::state::AppState;

pub(super) fn register(cfg: &mut ServiceConfig) {
    cfg.service(subject_access_export);
}

/// What to export, and in which form.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SubjectAccessQuery {
    /// Why: `subject_access`, the person's right of access (the only purpose an export is
    /// made for; it is recorded on the audit event).
    #[param(inline)]
    pub purpose: SubjectAccessPurpose,
    /// `json` or `html`. Without it the `Accept` header decides: the page when it prefers
    /// `text/html` to `application/json`, else JSON.
    #[param(inline)]
    pub format: Option<ExportFormat>,
}

/// The quality (`q`) `accept` gives `media` (`type/subtype`), through its exact type or a
/// wildcard; 0 when it does not accept it.
fn quality(accept: &str, media: &str) -> f32 {
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let specificity = if name == media {
            2
        } else if name == format!("{kind}/*") {
            1
        } else if name == "*/*" {
            0
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// The form wanted: `format`, else the page when `Accept` prefers HTML to JSON.
fn wanted(format: Option<ExportFormat>, req: &HttpRequest) -> ExportFormat {
    if let Some(format) = format {
        return format;
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if quality(accept, "text/html") > quality(accept, "application/json") {
        ExportFormat::Html
    } else {
        ExportFormat::Json
    }
}

/// Export everything held about the person of a case, for the person (their right of access:
/// Uganda DPPA 2019 s.24, GDPR art. 15): the case summary; every personal group, decrypted
/// (or marked withheld or erased); every consent version; screenings with their answers;
/// identification decisions with their reasons; assistance, notes, risk assessments and the
/// plan; break-glass openings; the possible duplicates you may see (by reference only);
/// referrals with what each receiving organisation was sent and when; and the disclosure log
/// of who accessed the data, when and for which purpose, from the audit trail. As JSON, or as a
/// self-contained printable HTML page (`format=html`, or `Accept: text/html`) sent as an
/// attachment named after the case reference. Only a supervisor of the organisation that owns
/// the case may export it; it is a high-severity audit event listing the groups read. Neither
/// answer is cached.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), SubjectAccessQuery),
    responses(
        (
            status = 200,
            description = "Everything held about the person (the page with `format=html` or `Accept: text/html`)",
            content((SubjectAccessExport = "application/json"), (String = "text/html")),
            headers(
                ("Cache-Control" = String, description = "`no-store`"),
                ("Content-Disposition" = String, description = "The page only: `attachment; filename=\"subject-access-<case reference>.html\"`"),
            ),
        ),
        (
            status = 400,
            description = "No `purpose=subject_access`, or an unknown `format`",
            body = Problem,
            content_type = "application/problem+json",
        ),
        (
            status = 404,
            description = "No such case, or none you may export (only a supervisor of the owning organisation may)",
            body = Problem,
            content_type = "application/problem+json",
        ),
    ),
)]
#[get("/api/v1/cases/{id}/subject-access")]
pub async fn subject_access_export(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<CaseId>,
    query: web::Query<SubjectAccessQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = wanted(query.format, &req);
    let export = subject_access::export(&state, caller, id.into_inner(), query.purpose).await?;
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    Ok(match format {
        ExportFormat::Json => response.json(&export),
        ExportFormat::Html => response
            .content_type("text/html; charset=utf-8")
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                subject_access::html::CONTENT_SECURITY_POLICY,
            ))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"subject-access-{}.html\"",
                    export.case.reference
                ),
            ))
            .body(subject_access::html::render(&export)),
    })
}

#[cfg(test)]
mod tests {
    use super::quality;

    #[test]
    fn accept_is_weighed() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(quality(browser, "text/html") > quality(browser, "application/json"));
        assert!(quality("*/*", "text/html") <= quality("*/*", "application/json"));
        assert!(quality("application/json", "text/html") <= 0.0);
        assert!(quality("", "application/json") <= 0.0);
        assert!(quality("text/*;q=0.5, application/json", "application/json") > 0.9);
    }
}
