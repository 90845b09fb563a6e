//! Settings of the data's lifetime: who approves an erasure and how long a request waits, and
//! the retention schedule (how long each kind of record is kept after the event that ends its
//! use), with the job that applies it.

use std::collections::BTreeMap;
use std::time::Duration;

use tumaini_db::vocabulary::ClosureReason;

use super::{ConfigError, Sources};

/// The longest any retention period may be: 100 years.
const MAX_DAYS: u32 = 36_500;

/// What a retention period applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    /// Closed cases, counted from closure (per closure reason).
    ClosedCase,
    /// Cases withdrawn by the person, counted from the withdrawal.
    WithdrawnCase,
    /// Cases of people screened and not identified (no indicators found, or decided not a
    /// victim), counted from the case's last change.
    NotIdentified,
    /// Anonymous notifications, counted from the report.
    AnonymousNotification,
    /// E-mails in the outbox, counted from their delivery (or from their queueing).
    Outbox,
    /// Sessions and their refresh tokens, counted from their end.
    Session,
    /// Stored first answers of idempotent requests (`TUMAINI_IDEMPOTENCY_HOURS`).
    IdempotencyResponse,
    /// Single-use account links (invitations, resets) used or expired, and the record of an
    /// account's last failed sign-in.
    SignInRecord,
    /// Documents deleted by their users, counted from the deletion: their content and rows.
    DeletedDocument,
}

impl RecordKind {
    /// Every kind, in the order plans list them.
    pub const ALL: [RecordKind; 9] = [
        Self::ClosedCase,
        Self::WithdrawnCase,
        Self::NotIdentified,
        Self::AnonymousNotification,
        Self::Outbox,
        Self::Session,
        Self::IdempotencyResponse,
        Self::SignInRecord,
        Self::DeletedDocument,
    ];

    /// The code plans and logs use.
    pub const fn code(self) -> &'static str {
        match self {
            Self::ClosedCase => "closed_case",
            Self::WithdrawnCase => "withdrawn_case",
            Self::NotIdentified => "not_identified",
            Self::AnonymousNotification => "anonymous_notification",
            Self::Outbox => "outbox",
            Self::Session => "session",
            Self::IdempotencyResponse => "idempotency_response",
            Self::SignInRecord => "sign_in_record",
            Self::DeletedDocument => "deleted_document",
        }
    }

    /// Whether the kind is a case, erased by crypto-shredding (rather than deleted).
    pub const fn is_case(self) -> bool {
        matches!(
            self,
            Self::ClosedCase | Self::WithdrawnCase | Self::NotIdentified
        )
    }
}

/// How long each kind of record is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSchedule {
    /// Closed cases: days after closure (`TUMAINI_RETENTION_CLOSED_CASE_DAYS`, default 2555,
    /// about seven years: long enough for a prosecution and an appeal).
    pub closed_case_days: u32,
    /// Per closure reason, replacing `closed_case_days`
    /// (`TUMAINI_RETENTION_CLOSED_CASE_DAYS_<REASON>`, e.g. `..._DUPLICATE`; defaults: a
    /// duplicate 90 days, not a victim 730 days).
    pub closed_case_days_by_reason: BTreeMap<ClosureReason, u32>,
    /// Withdrawn cases: days after the withdrawal (default 365).
    pub withdrawn_case_days: u32,
    /// People screened and not identified: days after the case last changed (default 730).
    pub not_identified_days: u32,
    /// Anonymous notifications: days after the report (default 3650; they hold only coarse,
    /// non-identifying facts and feed the national figures).
    pub anonymous_notification_days: u32,
    /// Outbox messages: days after delivery or, undelivered, after queueing (default 30).
    pub outbox_days: u32,
    /// Sessions: days after they ended (default 90).
    pub session_days: u32,
    /// Sign-in records: days (default 180).
    pub sign_in_days: u32,
    /// Deleted documents: days from the deletion (default 30).
    pub deleted_document_days: u32,
    /// Idempotent answers: kept this long (the `TUMAINI_IDEMPOTENCY_HOURS` setting).
    pub idempotency: Duration,
}

impl RetentionSchedule {
    /// The days a closed case with this closure reason is kept.
    pub fn closed_case_days(&self, reason: Option<ClosureReason>) -> u32 {
        reason
            .and_then(|r| self.closed_case_days_by_reason.get(&r).copied())
            .unwrap_or(self.closed_case_days)
    }
}

/// The settings of the data's lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// How long an erasure request waits for its second person before it expires
    /// (`TUMAINI_ERASURE_APPROVAL_DAYS`, default 14).
    pub erasure_approval_window: Duration,
    /// Whether another supervisor of the owning organisation may approve an erasure, besides a
    /// coordinator of the case's country (`TUMAINI_ERASURE_SUPERVISOR_APPROVAL`, default off).
    pub erasure_supervisor_approval: bool,
    /// The retention schedule.
    pub retention: RetentionSchedule,
    /// How often the retention job runs (`TUMAINI_RETENTION_INTERVAL_MINUTES`, default 60;
    /// 0 switches the job off, for a deployment that runs `tumaini retention run` itself).
    pub retention_interval: Option<Duration>,
}

impl LifecycleSettings {
    pub(super) fn from_sources(
        sources: &Sources<'_>,
        idempotency: Duration,
    ) -> Result<Self, ConfigError> {
        let approval_days = days(sources, "TUMAINI_ERASURE_APPROVAL_DAYS", 14, 90)?;
        let supervisor = match sources.get("TUMAINI_ERASURE_SUPERVISOR_APPROVAL") {
            None => false,
            Some(v) => match v.trim() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        setting: "TUMAINI_ERASURE_SUPERVISOR_APPROVAL",
                        reason: "expected true or false".to_owned(),
                    });
                }
            },
        };
        let mut by_reason = BTreeMap::from([
            (ClosureReason::Duplicate, 90),
            (ClosureReason::NotAVictim, 730),
        ]);
        for reason in ClosureReason::ALL {
            let setting = reason_setting(*reason);
            if let Some(value) = sources.number::<i64>(setting)? {
                by_reason.insert(*reason, checked(setting, value, MAX_DAYS)?);
            }
        }
        let retention = RetentionSchedule {
            closed_case_days: days(
                sources,
                "TUMAINI_RETENTION_CLOSED_CASE_DAYS",
                2555,
                MAX_DAYS,
            )?,
            closed_case_days_by_reason: by_reason,
            withdrawn_case_days: days(
                sources,
                "TUMAINI_RETENTION_WITHDRAWN_CASE_DAYS",
                365,
                MAX_DAYS,
            )?,
            not_identified_days: days(
                sources,
                "TUMAINI_RETENTION_NOT_IDENTIFIED_DAYS",
                730,
                MAX_DAYS,
            )?,
            anonymous_notification_days: days(
                sources,
                "TUMAINI_RETENTION_ANONYMOUS_NOTIFICATION_DAYS",
                3650,
                MAX_DAYS,
            )?,
            outbox_days: days(sources, "TUMAINI_RETENTION_OUTBOX_DAYS", 30, MAX_DAYS)?,
            session_days: days(sources, "TUMAINI_RETENTION_SESSION_DAYS", 90, MAX_DAYS)?,
            sign_in_days: days(sources, "TUMAINI_RETENTION_SIGN_IN_DAYS", 180, MAX_DAYS)?,
            deleted_document_days: days(
                sources,
                "TUMAINI_RETENTION_DELETED_DOCUMENT_DAYS",
                30,
                MAX_DAYS,
            )?,
            idempotency,
        };
        let interval: i64 = sources
            .number("TUMAINI_RETENTION_INTERVAL_MINUTES")?
            .unwrap_or(60);
        if !(0..=7 * 24 * 60).contains(&interval) {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_RETENTION_INTERVAL_MINUTES",
                reason: "must be between 0 (off) and 10080 minutes (a week)".to_owned(),
            });
        }
        Ok(Self {
            erasure_approval_window: Duration::from_secs(u64::from(approval_days) * 86_400),
            erasure_supervisor_approval: supervisor,
            retention,
            retention_interval: u64::try_from(interval)
                .ok()
                .filter(|m| *m > 0)
                .map(|m| Duration::from_secs(m * 60)),
        })
    }
}

/// The setting of a closure reason's retention, e.g.
/// `TUMAINI_RETENTION_CLOSED_CASE_DAYS_DUPLICATE`.
pub fn reason_setting(reason: ClosureReason) -> &'static str {
    match reason {
        ClosureReason::ServicesCompleted => "TUMAINI_RETENTION_CLOSED_CASE_DAYS_SERVICES_COMPLETED",
        ClosureReason::Reintegrated => "TUMAINI_RETENTION_CLOSED_CASE_DAYS_REINTEGRATED",
        ClosureReason::Transferred => "TUMAINI_RETENTION_CLOSED_CASE_DAYS_TRANSFERRED",
        ClosureReason::Returned => "TUMAINI_RETENTION_CLOSED_CASE_DAYS_RETURNED",
        ClosureReason::LostContact => "TUMAINI_RETENTION_CLOSED_CASE_DAYS_LOST_CONTACT",
        ClosureReason::Deceased => "TUMAINI_RETENTION_CLOSED_CASE_DAYS_DECEASED",
        ClosureReason::Duplicate => "TUMAINI_RETENTION_CLOSED_CASE_DAYS_DUPLICATE",
        ClosureReason::NotAVictim => "TUMAINI_RETENTION_CLOSED_CASE_DAYS_NOT_A_VICTIM",
        ClosureReason::Other => "TUMAINI_RETENTION_CLOSED_CASE_DAYS_OTHER",
    }
}

fn days(
    sources: &Sources<'_>,
    setting: &'static str,
    default: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    match sources.number::<i64>(setting)? {
        None => Ok(default),
        Some(value) => checked(setting, value, max),
    }
}

/// A period of whole days: at least one (a period of none would erase what was just written),
/// at most `max`.
fn checked(setting: &'static str, value: i64, max: u32) -> Result<u32, ConfigError> {
    u32::try_from(value)
        .ok()
        .filter(|d| (1..=max).contains(d))
        .ok_or_else(|| ConfigError::Invalid {
            setting,
            reason: format!("must be a whole number of days from 1 to {max}"),
        })
}
