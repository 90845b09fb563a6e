//! The history of a case's personal groups (rectification, Uganda DPPA 2019 s.16, GDPR
//! art. 16). Every write of a group keeps the value it replaces (the vault seals it again for
//! its row of `case_group_versions`); the history lists who wrote each version, when and why
//! (`ReadHistory`), and shows earlier values only of the groups asked for that the caller may
//! read, each decided by its `ReadPersonalGroup` action exactly as a case read decides it
//! (`super::group_reads`). The read and the groups it touched are one audit event.

use serde::Serialize;
use tumaini_db::ids::{CaseId, OrgId, UserId};
use tumaini_db::vault::GroupRead;
use tumaini_db::vocabulary::{FieldGroup as StoredGroup, RectificationReason, Role};
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::auth::Caller;
use crate::authz::{Action, FieldGroup};
use crate::cases::documents::as_body;
use crate::cases::group_reads::{self, decide_groups};
use crate::cases::{self as service, CaseRequest, Reply, groups, vault_error};
use crate::http::ApiError;
use crate::state::AppState;

/// Who wrote a version, as the audit trail names an actor.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionAuthor {
    /// The user.
    pub user_id: UserId,
    /// Their role when they wrote it.
    pub role: Option<Role>,
    /// Their organisation when they wrote it.
    pub organisation_id: Option<OrgId>,
}

/// One version of a personal group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupVersionView {
    /// The group.
    pub group: StoredGroup,
    /// The version number, from 1 (the value registered, or the first one kept).
    pub version: i32,
    /// The version in force now.
    pub current: bool,
    /// Who wrote it; absent for versions written before history was kept.
    pub changed_by: Option<VersionAuthor>,
    /// When.
    pub changed_at: chrono::DateTime<chrono::Utc>,
    /// The rectification reason given with the change, if any.
    pub reason: Option<RectificationReason>,
    /// The group's value in this version: only for a group named in `groups` that you may
    /// read (`null` when nothing was stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub value: Option<serde_json::Value>,
}

/// A case's group history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseHistory {
    /// The case.
    pub case_id: CaseId,
    /// Every version of every personal group, by group then version.
    pub versions: Vec<GroupVersionView>,
    /// Groups named in `groups` whose values you may not read (this refusal is audited).
    pub withheld_groups: Vec<String>,
    /// Groups named in `groups` whose values were erased.
    pub erased_groups: Vec<String>,
}

/// Lists the versions of the case's personal groups and, for the groups of `wanted` the
/// policies allow, their values; audited as `case.history.read` with the groups touched.
pub async fn read(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    wanted: Vec<FieldGroup>,
    purpose: &'static str,
) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id,
        action: Action::ReadHistory,
        audited_as: AuditAction::CaseHistoryRead,
        purpose,
        idempotency: None,
    };
    let for_denials = caller.clone();
    service::act_on_case(state, &caller, request, move |conn, access| {
        let case = &access.case.id;
        let decided = decide_groups(conn, &for_denials, access, &wanted, purpose)?;
        let mut versions: Vec<GroupVersionView> = access
            .vault
            .group_versions(conn, case)
            .map_err(vault_error)?
            .into_iter()
            .map(|v| GroupVersionView {
                group: v.group,
                version: v.version,
                current: v.current,
                changed_by: v.changed_by.map(|user_id| VersionAuthor {
                    user_id,
                    role: v.changed_by_role,
                    organisation_id: v.changed_by_organisation_id,
                }),
                changed_at: v.changed_at.and_utc(),
                reason: v.reason,
                value: None,
            })
            .collect();
        let mut erased = Vec::new();
        for group in &decided.allowed {
            let stored = group_reads::stored(*group)?;
            for (number, read) in access
                .vault
                .read_group_versions(conn, case, stored)
                .map_err(vault_error)?
            {
                let value = match read {
                    GroupRead::Plain(plain) => groups::to_json(&plain)?,
                    GroupRead::Absent => serde_json::Value::Null,
                    GroupRead::Erased => {
                        if !erased.contains(&group.code().to_owned()) {
                            erased.push(group.code().to_owned());
                        }
                        continue;
                    }
                };
                if let Some(view) = versions
                    .iter_mut()
                    .find(|v| v.group == stored && v.version == number)
                {
                    view.value = Some(value);
                }
            }
        }
        let history = CaseHistory {
            case_id: case.clone(),
            versions,
            withheld_groups: decided.withheld.iter().map(|g| (*g).to_owned()).collect(),
            erased_groups: erased,
        };
        Ok(Reply::ok(as_body(&history))
            .with_version(access.case.version)
            .touching(decided.allowed))
    })
    .await
}
