//! Reading a case: its summary, and the personal groups asked for that the caller may read
//! under a stated purpose. Groups refused are listed as withheld (and audited as one denial),
//! an erased case's groups as erased. The JSON API's `GET /api/v1/cases/{id}` and the web
//! console's case page both read through here, so one read is one audited event either way.

use serde_json::json;
use tumaini_db::ids::CaseId;
use tumaini_db::vault::GroupRead;

use super::views::{AccessPurpose, CaseSummaryView};
use super::{CaseRequest, Reply, act_on_case, group_reads, groups, vault_error};
use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup};
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

/// Reads the case `id` with the personal groups of `wanted` the caller may read, for `purpose`
/// (required when groups are asked for; the summary alone is read for case management). The
/// body is the summary view with `groups`, `withheld_groups` and `erased_groups`.
pub async fn read_case(
    state: &AppState,
    caller: &Caller,
    id: CaseId,
    wanted: Vec<FieldGroup>,
    purpose: Option<AccessPurpose>,
) -> Result<Reply, ApiError> {
    if !wanted.is_empty() && purpose.is_none() {
        return Err(ApiError::problem(
            ProblemType::BadRequest,
            "reading personal groups needs a `purpose`",
        ));
    }
    let purpose = purpose.map_or("case_management", AccessPurpose::code);
    let request = CaseRequest {
        id,
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseRead,
        purpose,
        idempotency: None,
    };
    let caller_for_denials = caller.clone();
    act_on_case(state, caller, request, move |conn, access| {
        let (kinds, means) = access.lists.clone();
        let mut view = serde_json::to_value(CaseSummaryView::of(&access.case, kinds, means))
            .map_err(|e| ApiError::Internal(e.into()))?;
        let mut read = serde_json::Map::new();
        let decided =
            group_reads::decide_groups(conn, &caller_for_denials, access, &wanted, purpose)?;
        let (withheld, mut erased, touched) = (decided.withheld, Vec::new(), decided.allowed);
        let stored = touched
            .iter()
            .map(|g| group_reads::stored(*g))
            .collect::<Result<Vec<_>, _>>()?;
        // The key and every group in one query.
        let reads = access
            .vault
            .read_groups(conn, &access.case.id, &stored)
            .map_err(vault_error)?;
        for (group, read_now) in touched.iter().zip(reads) {
            match read_now {
                GroupRead::Plain(plain) => {
                    read.insert(group.code().to_owned(), groups::to_json(&plain)?);
                }
                GroupRead::Absent => {
                    read.insert(group.code().to_owned(), serde_json::Value::Null);
                }
                GroupRead::Erased => erased.push(group.code()),
            }
        }
        view["groups"] = serde_json::Value::Object(read);
        view["withheld_groups"] = json!(withheld);
        view["erased_groups"] = json!(erased);
        Ok(Reply::ok(view)
            .with_version(access.case.version)
            .touching(touched))
    })
    .await
}
