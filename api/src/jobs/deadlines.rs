//! The deadline scanner: a background thread that finds NRM decisions past their deadline,
//! marks them overdue and e-mails the coordinators of the case's country through the outbox,
//! once per deadline; and referrals left unanswered past their response deadline, which it
//! marks expired, escalating to the coordinators of the country that owns the case (once) and
//! telling the referring organisation.
//!
//! Safe with several replicas: each case is marked by a conditional UPDATE (`... WHERE
//! overdue_at IS NULL`) in the same transaction as its messages and its audit event, so when
//! two scanners find the same case only the one whose UPDATE changed the row notifies; the
//! other's transaction sees zero rows changed and does nothing.

use std::time::Duration;

use chrono::NaiveDateTime;
use tumaini_db::models::case::{Case, Deadline};
use tumaini_db::models::referral::{self as store, Referral};
use tumaini_db::models::{Organisation, User};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::{NotificationKind, ReferralState, Role};
use tumaini_db::{DbConn, DbError, Pool};

use crate::audit::AuditAction;
use crate::audit::{self, Event, Outcome};
use crate::auth::RequestContext;
use crate::jobs::{Job, Round};
use crate::notifications::notify;

const BATCH: i64 = 100;

/// The running scanner; stops when dropped.
#[derive(Debug)]
pub struct DeadlineScanner {
    job: Job,
}

impl DeadlineScanner {
    /// Starts the scanner thread, scanning every `interval`.
    pub fn start(pool: Pool, interval: Duration, public_url: String) -> anyhow::Result<Self> {
        let job = Job::spawn("deadline-scan", interval, move || {
            match pool.get() {
                Ok(mut conn) => match scan(&mut conn, now_utc(), &public_url) {
                    Ok(0) => {}
                    Ok(marked) => tracing::info!(marked, "deadline scan: decisions overdue"),
                    Err(err) => tracing::warn!(error = %err, "deadline scan failed"),
                },
                Err(err) => tracing::warn!(error = %err, "deadline scan: no connection"),
            }
            Round::Rest
        })?;
        Ok(Self { job })
    }

    /// Stops the scanner after its current round.
    pub fn stop(&mut self) {
        self.job.stop();
    }
}

/// One round at `now`: marks every newly overdue decision and notifies once. Returns how many
/// this call marked.
pub fn scan(conn: &mut DbConn, now: NaiveDateTime, public_url: &str) -> Result<usize, DbError> {
    let mut marked = 0;
    for deadline in Deadline::ALL {
        loop {
            let due = deadline.newly_overdue(conn, now, BATCH)?;
            let found = due.len();
            for case in due {
                if mark_one(conn, deadline, &case, now, public_url)? {
                    marked += 1;
                }
            }
            if found < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                break;
            }
        }
    }
    loop {
        let due = Referral::newly_overdue(conn, now, BATCH)?;
        let found = due.len();
        for referral in due {
            if expire_one(conn, &referral, now, public_url)? {
                marked += 1;
            }
        }
        if found < usize::try_from(BATCH).unwrap_or(usize::MAX) {
            break;
        }
    }
    Ok(marked)
}

/// Expires one unanswered referral and escalates it, unless another replica did first.
fn expire_one(
    conn: &mut DbConn,
    referral: &Referral,
    now: NaiveDateTime,
    public_url: &str,
) -> Result<bool, DbError> {
    conn.write_transaction(|conn| {
        if !Referral::transition(
            conn,
            &referral.id,
            ReferralState::Sent,
            ReferralState::Expired,
            now,
            None,
            None,
        )? {
            return Ok(false); // answered at the last moment, or another replica expired it
        }
        // The coordinators of the country that owns the case: theirs is the jurisdiction (a
        // coordinator abroad does not follow another country's cases, even one referred to an
        // organisation of theirs).
        let case = Case::find(conn, &referral.case_id)?;
        let owner = Organisation::find(conn, &case.owner_organisation_id)?;
        let coordinators =
            User::notification_recipients(conn, &[Role::Coordinator], None, Some(&owner.country))?;
        let coordinators = store::wanting(conn, coordinators, NotificationKind::ReferralOverdue)?;
        notify(
            conn,
            &coordinators,
            "A referral went unanswered",
            &format!(
                "Referral {} was not answered by its deadline and has expired.\n\nSign in to Tumaini to follow it up: {public_url}/referrals/{}\n",
                referral.reference, referral.id
            ),
        )?;
        let expired = Referral::find(conn, &referral.id)?;
        crate::notifications::tell_sender(conn, &expired, public_url)?;
        audit::record(
            conn,
            &RequestContext::system(),
            None,
            Event {
                action: AuditAction::ReferralExpired,
                outcome: Outcome::Success,
                resource: Some(("referral", referral.id.to_string())),
            },
        )?;
        Ok(true)
    })
}

fn mark_one(
    conn: &mut DbConn,
    deadline: Deadline,
    case: &Case,
    now: NaiveDateTime,
    public_url: &str,
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
        audit::record(
            conn,
            &RequestContext::system(),
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
