//! Deadlines of the NRM decisions on a case: marking one overdue, once, and telling the
//! coordinators of the case's country. The deadline scanner (`crate::jobs::deadlines`) finds
//! them; the working-day arithmetic is in `crate::rules::deadlines`.

use chrono::NaiveDateTime;
use tumaini_db::models::case::{Case, Deadline};
use tumaini_db::models::referral as store;
use tumaini_db::models::{Organisation, User};
use tumaini_db::vocabulary::{NotificationKind, Role};
use tumaini_db::{DbConn, DbError};

use crate::audit::{self, AuditAction, Event, Outcome};
use crate::auth::RequestContext;
use crate::notifications::notify;

/// Marks an NRM decision overdue and tells the coordinators of the case's country, unless
/// another replica did first (a conditional update). Returns whether this call marked it.
pub fn mark_decision_overdue(
    conn: &mut DbConn,
    deadline: Deadline,
    case: &Case,
    now: NaiveDateTime,
    public_url: &str,
    audit_events: &tumaini_db::audit_chain::EventKey,
) -> Result<bool, DbError> {
    conn.write_transaction(|conn| {
        if !deadline.mark_overdue(conn, &case.id, now)? {
            return Ok(false); // another replica marked it first
        }
        let owner = Organisation::find(conn, &case.owner_organisation_id)?;
        let coordinators =
            User::notification_recipients(conn, &[Role::Coordinator], None, Some(&owner.country))?;
        let coordinators = store::wanting(conn, coordinators, NotificationKind::DecisionOverdue)?;
        let what = match deadline {
            Deadline::ReasonableGrounds => "reasonable-grounds",
            Deadline::ConclusiveGrounds => "conclusive-grounds",
        };
        notify(
            conn,
            &coordinators,
            "An NRM decision is overdue",
            &format!(
                "The {what} decision on case {} is overdue.\n\nSign in to Tumaini to follow it up: {public_url}/cases/{}\n",
                case.reference, case.id
            ),
        )?;
        crate::webhooks::decision_overdue(conn, case, deadline, now)?;
        audit::record(
            conn,
            &RequestContext::system(audit_events),
            None,
            Event {
                action: match deadline {
                    Deadline::ReasonableGrounds => AuditAction::CaseDeadlineReasonableGroundsOverdue,
                    Deadline::ConclusiveGrounds => AuditAction::CaseDeadlineConclusiveGroundsOverdue,
                },
                outcome: Outcome::Success,
                resource: Some(("case", case.id.to_string())),
            },
        )?;
        Ok(true)
    })
}
