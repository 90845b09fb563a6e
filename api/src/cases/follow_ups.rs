//! Follow-ups: a case worker schedules a visit, a call, a court date, a medical appointment or
//! a review on a case, for a date, for themselves or a colleague assigned to the case, with an
//! optional note (sealed under the case's key, `notes` group) and an optional reminder e-mail
//! the day before. Scheduling, completing and cancelling are case work (`RecordAssistance`);
//! reading the list is `ReadSummary`, its notes `ReadNotes`. All run through the case service's
//! guarded path (`super::act_on_case`).
//!
//! The reminder goes out once, from the deadline scanner's round ([`send_due_reminders`]): a
//! conditional UPDATE claims it (`reminded_at IS NULL`), so with several replicas exactly one
//! queues the message, in the same transaction as the claim and its audit event. It carries the
//! case reference, the kind, the date and a link, never the note or a name.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tumaini_db::ids::{CaseId, FollowUpId, UserId};
use tumaini_db::models::User;
use tumaini_db::models::assignment;
use tumaini_db::models::case::Case;
use tumaini_db::models::follow_up::FollowUp;
use tumaini_db::models::referral as store;
use tumaini_db::time::now_utc;
use tumaini_db::vault::{GroupRead, RecordPlace, SecretBytes};
use tumaini_db::vocabulary::{FollowUpKind, FollowUpStatus, NotificationKind, UserStatus};
use tumaini_db::{DbConn, DbError};
use utoipa::ToSchema;

use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::{Caller, RequestContext};
use crate::authz::{Action, FieldGroup};
use crate::cases::documents::as_body;
use crate::cases::{self as service, CaseAccess, CaseRequest, Idempotency, Reply, vault_error};
use crate::http::{ApiError, ProblemType};
use crate::notifications::notify;
use crate::rules::deadlines::{end_of_day, local_date, start_of_day};
use crate::rules::lifecycle;
use crate::state::AppState;

/// The purpose recorded with follow-up reads and changes.
const PURPOSE: &str = "case_management";

/// Reminders claimed per query of a scanner round.
const BATCH: i64 = 100;

/// A follow-up to schedule.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"due_on": "2026-12-20", "kind": "visit", "note": "bring the school forms", "remind": true}))]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    /// The day it is due (today or later, East Africa Time).
    pub due_on: NaiveDate,
    /// What it is (vocabulary `follow_up_kind`).
    pub kind: FollowUpKind,
    /// A note (encrypted, `notes` group).
    pub note: Option<String>,
    /// E-mail the assignee a reminder (reference and link only) the day before. Default: yes.
    pub remind: Option<bool>,
    /// Who is to do it: a member of your organisation assigned to the case. Default: you.
    pub assigned_to: Option<UserId>,
}

/// A follow-up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FollowUpView {
    /// Identifier.
    pub id: FollowUpId,
    /// The case.
    pub case_id: CaseId,
    /// What it is.
    pub kind: FollowUpKind,
    /// The day it is due.
    pub due_on: NaiveDate,
    /// When it falls due: the end of that day, East Africa Time.
    pub due_at: DateTime<Utc>,
    /// Scheduled, done or cancelled.
    pub status: FollowUpStatus,
    /// Who is to do it.
    pub assigned_to: UserId,
    /// Who scheduled it.
    pub created_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it was done or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    /// By whom.
    pub closed_by: Option<UserId>,
    /// When the reminder is due (absent: no reminder).
    pub remind_at: Option<DateTime<Utc>>,
    /// When the reminder went out.
    pub reminded_at: Option<DateTime<Utc>>,
    /// It has a note.
    pub has_note: bool,
    /// The note (only for those who may read the `notes` group, and only in the list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl FollowUpView {
    fn of(row: &FollowUp, note: Option<String>) -> Self {
        Self {
            id: row.id.clone(),
            case_id: row.case_id.clone(),
            kind: row.kind,
            due_on: row.due_on,
            due_at: due_at(row.due_on).and_utc(),
            status: row.status,
            assigned_to: row.assigned_to.clone(),
            created_by: row.created_by.clone(),
            created_at: row.created_at.and_utc(),
            closed_at: row.closed_at.map(|t| t.and_utc()),
            closed_by: row.closed_by.clone(),
            remind_at: row.remind_at.map(|t| t.and_utc()),
            reminded_at: row.reminded_at.map(|t| t.and_utc()),
            has_note: row.note.is_some(),
            note,
        }
    }
}

/// A case's follow-ups.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpList {
    /// Soonest due first.
    pub items: Vec<FollowUpView>,
    /// The notes were left out: you may not read the case's `notes` group.
    pub notes_withheld: bool,
}

/// When a follow-up due on `day` falls due: the end of that day in East Africa Time.
pub fn due_at(day: NaiveDate) -> NaiveDateTime {
    end_of_day(day)
}

/// When the reminder of a follow-up due on `day` goes out: the start of the day before in East
/// Africa Time, or `now` if that has passed.
pub fn remind_at(day: NaiveDate, now: NaiveDateTime) -> NaiveDateTime {
    let eve = start_of_day(day.pred_opt().unwrap_or(day));
    eve.max(now)
}

fn note_place(id: &FollowUpId) -> RecordPlace<'_> {
    RecordPlace {
        table: "follow_ups",
        column: "note",
        row_id: id.as_str(),
    }
}

/// Checks who a follow-up is for: the caller, or an active colleague of their organisation
/// assigned to the case.
fn check_assignee(
    conn: &mut DbConn,
    access: &CaseAccess,
    caller: &User,
    assignee: &UserId,
) -> Result<(), ApiError> {
    if *assignee == caller.id {
        return Ok(());
    }
    let assigned = assignment::of_case(conn, &access.case.id, &caller.organisation_id)?
        .iter()
        .any(|a| a.assignment.user_id == *assignee);
    let active = match User::find(conn, assignee) {
        Ok(user) => user.status == UserStatus::Active,
        Err(DbError::NotFound) => false,
        Err(other) => return Err(other.into()),
    };
    if assigned && active {
        Ok(())
    } else {
        Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`assigned_to` is not an active member of your organisation assigned to this case",
        ))
    }
}

/// Schedule a follow-up on a case.
pub async fn schedule(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    idempotency: Option<Idempotency>,
    input: FollowUpInput,
) -> Result<Reply, ApiError> {
    if let Some(note) = &input.note {
        crate::cases::groups::check_text(&json!(note), "note")?;
        if note.trim().is_empty() {
            return Err(ApiError::problem(
                ProblemType::InvalidBody,
                "`note` is empty",
            ));
        }
    }
    let now = now_utc();
    if input.due_on < local_date(now) {
        return Err(ApiError::problem(
            ProblemType::InvalidBody,
            "`due_on` is in the past",
        ));
    }
    let user = caller.user.clone();
    let request = CaseRequest {
        id,
        action: Action::RecordAssistance,
        audited_as: AuditAction::CaseFollowUpSchedule,
        purpose: PURPOSE,
        idempotency,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        lifecycle::accepts_records(access.case.status)
            .map_err(|r| ApiError::problem(ProblemType::TransitionRefused, r.to_string()))?;
        let assignee = input.assigned_to.clone().unwrap_or_else(|| user.id.clone());
        check_assignee(conn, access, &user, &assignee)?;
        let follow_up_id = FollowUpId::generate();
        let note = input
            .note
            .as_ref()
            .map(|text| {
                access
                    .vault
                    .seal_record(
                        conn,
                        &access.case.id,
                        note_place(&follow_up_id),
                        &SecretBytes::new(text.clone().into_bytes()),
                    )
                    .map_err(vault_error)
            })
            .transpose()?;
        let row = FollowUp {
            id: follow_up_id,
            case_id: access.case.id.clone(),
            organisation_id: user.organisation_id.clone(),
            assigned_to: assignee,
            created_by: user.id.clone(),
            created_at: now,
            due_on: input.due_on,
            kind: input.kind,
            note,
            status: FollowUpStatus::Scheduled,
            closed_at: None,
            closed_by: None,
            remind_at: input
                .remind
                .unwrap_or(true)
                .then(|| remind_at(input.due_on, now)),
            reminded_at: None,
            version: 1,
        };
        row.insert(conn)?;
        let touched = if input.note.is_some() {
            vec![FieldGroup::Notes]
        } else {
            Vec::new()
        };
        Ok(Reply::created(
            format!("/api/v1/cases/{}/follow-ups", access.case.id),
            as_body(&FollowUpView::of(&row, None)),
        )
        .touching(touched))
    })
    .await
}

/// The case's follow-ups; their notes only for callers who may read the `notes` group.
pub async fn list(state: &AppState, caller: Caller, id: CaseId) -> Result<Reply, ApiError> {
    let request = CaseRequest {
        id,
        action: Action::ReadSummary,
        audited_as: AuditAction::CaseFollowUpRead,
        purpose: PURPOSE,
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let with_notes = access.decide(Action::ReadNotes).allowed;
        let mut items = Vec::new();
        let mut opened = false;
        for row in FollowUp::for_case(conn, &access.case.id)? {
            let note = match (&row.note, with_notes) {
                (Some(sealed), true) => {
                    opened = true;
                    match access
                        .vault
                        .open_record(conn, &access.case.id, note_place(&row.id), sealed)
                        .map_err(vault_error)?
                    {
                        GroupRead::Plain(plain) => {
                            Some(String::from_utf8_lossy(plain.expose()).into_owned())
                        }
                        GroupRead::Erased | GroupRead::Absent => None,
                    }
                }
                _ => None,
            };
            items.push(FollowUpView::of(&row, note));
        }
        let touched = if opened {
            vec![FieldGroup::Notes]
        } else {
            Vec::new()
        };
        let list = FollowUpList {
            items,
            notes_withheld: !with_notes,
        };
        Ok(Reply::ok(as_body(&list)).touching(touched))
    })
    .await
}

/// Mark a follow-up done, or call it off.
pub async fn close(
    state: &AppState,
    caller: Caller,
    id: CaseId,
    follow_up: FollowUpId,
    to: FollowUpStatus,
) -> Result<Reply, ApiError> {
    let user = caller.user.clone();
    let request = CaseRequest {
        id,
        action: Action::RecordAssistance,
        audited_as: if to == FollowUpStatus::Done {
            AuditAction::CaseFollowUpDone
        } else {
            AuditAction::CaseFollowUpCancel
        },
        purpose: PURPOSE,
        idempotency: None,
    };
    service::act_on_case(state, &caller, request, move |conn, access| {
        let row = match FollowUp::find_of_case(conn, &access.case.id, &follow_up) {
            Ok(row) => row,
            Err(DbError::NotFound) => return Err(ApiError::bare(ProblemType::NotFound)),
            Err(other) => return Err(other.into()),
        };
        if row.organisation_id != user.organisation_id {
            return Err(ApiError::problem(
                ProblemType::Forbidden,
                "this follow-up is another organisation's",
            ));
        }
        let now = now_utc();
        if !FollowUp::close(conn, &row.id, to, &user.id, now)? {
            return Err(ApiError::problem(
                ProblemType::Conflict,
                "the follow-up is no longer scheduled",
            ));
        }
        let closed = FollowUp::find_of_case(conn, &access.case.id, &row.id)?;
        Ok(Reply::ok(as_body(&FollowUpView::of(&closed, None))).with_version(closed.version))
    })
    .await
}

/// One round of reminders at `now` (called from the deadline scanner's round): every
/// follow-up whose reminder is due is claimed, and its assignee told, once. Returns how many
/// this call claimed.
pub fn send_due_reminders(
    conn: &mut DbConn,
    now: NaiveDateTime,
    public_url: &str,
    audit_events: &tumaini_db::audit_chain::EventKey,
) -> Result<usize, DbError> {
    let mut sent = 0;
    loop {
        let due = FollowUp::due_reminders(conn, now, BATCH)?;
        let found = due.len();
        for row in due {
            if remind(conn, &row, now, public_url, audit_events)? {
                sent += 1;
            }
        }
        if found < usize::try_from(BATCH).unwrap_or(usize::MAX) {
            break;
        }
    }
    Ok(sent)
}

/// Claims one reminder and, if this call claimed it, queues the e-mail to the assignee (unless
/// they switched reminders off, or their account is no longer active) and audits it, in one
/// transaction.
fn remind(
    conn: &mut DbConn,
    row: &FollowUp,
    now: NaiveDateTime,
    public_url: &str,
    audit_events: &tumaini_db::audit_chain::EventKey,
) -> Result<bool, DbError> {
    conn.write_transaction(|conn| {
        if !FollowUp::claim_reminder(conn, &row.id, now)? {
            return Ok(false); // closed meanwhile, or another replica claimed it first
        }
        let case = Case::find(conn, &row.case_id)?;
        if case.erased_at.is_none() {
            let assignee = User::find(conn, &row.assigned_to)?;
            let recipients = if assignee.status == UserStatus::Active {
                store::wanting(conn, vec![assignee], NotificationKind::FollowUpReminder)?
            } else {
                Vec::new()
            };
            notify(
                conn,
                &recipients,
                "A follow-up is due soon",
                &format!(
                    "A follow-up ({}) on case {} is due on {}.\n\nSign in to Tumaini to see it: {public_url}/cases/{}/follow-ups\n",
                    row.kind.label().to_lowercase(),
                    case.reference,
                    row.due_on.format("%Y-%m-%d"),
                    case.id
                ),
            )?;
        }
        audit::record(
            conn,
            &RequestContext::system(audit_events),
            None,
            Event {
                action: AuditAction::FollowUpRemind,
                outcome: Outcome::Success,
                resource: Some(("follow_up", row.id.to_string())),
            },
        )?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .unwrap_or_default()
    }

    #[test]
    fn the_reminder_goes_out_at_the_start_of_the_day_before_in_east_africa() {
        let due = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap_or_default();
        // 00:00 EAT on 9 December is 21:00 UTC on the 8th.
        assert_eq!(remind_at(due, at(2026, 12, 1, 9)), at(2026, 12, 8, 21));
        // Scheduled later than that: at once.
        assert_eq!(remind_at(due, at(2026, 12, 9, 12)), at(2026, 12, 9, 12));
        assert_eq!(
            due_at(due).format("%F %T").to_string(),
            "2026-12-10 20:59:59"
        );
    }
}
