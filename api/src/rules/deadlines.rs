//! NRM decision deadlines. The reasonable-grounds decision is due at the end of the n-th
//! working day (Monday to Friday, not a public holiday, in East Africa Time) after referral into
//! the NRM; the recovery and reflection period runs at least 30 days after a positive
//! reasonable-grounds decision (Council of Europe Convention art. 13), and the conclusive
//! decision is due at its end.

use std::collections::BTreeSet;

use chrono::{Datelike as _, Duration, NaiveDate, NaiveDateTime, Weekday};

/// Uganda's fixed-date public holidays (month, day), every year.
const FIXED_HOLIDAYS: [(u32, u32); 10] = [
    (1, 1),
    (1, 26),
    (2, 16),
    (3, 8),
    (5, 1),
    (6, 3),
    (6, 9),
    (10, 9),
    (12, 25),
    (12, 26),
];

/// East Africa Time is UTC+3 all year.
const EAT_OFFSET_HOURS: i64 = 3;

/// The end of `day` in East Africa Time (23:59:59.999999 EAT), as UTC: when something due on
/// a date (an NRM decision's working day, a review, a follow-up) falls due.
pub fn end_of_day(day: NaiveDate) -> NaiveDateTime {
    start_of_day(day.succ_opt().unwrap_or(day)) - Duration::microseconds(1)
}

/// The start of `day` in East Africa Time (00:00 EAT), as UTC.
pub fn start_of_day(day: NaiveDate) -> NaiveDateTime {
    day.and_time(chrono::NaiveTime::MIN) - Duration::hours(EAT_OFFSET_HOURS)
}

/// The date it is in East Africa Time at `utc`.
pub fn local_date(utc: NaiveDateTime) -> NaiveDate {
    (utc + Duration::hours(EAT_OFFSET_HOURS)).date()
}

/// Why the deadline settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineRulesError {
    /// Fewer than the minimum 30 days of recovery.
    #[error("the recovery and reflection period is at least {0} days")]
    RecoveryTooShort(u32),
    /// No working days for the first decision.
    #[error("the reasonable-grounds decision needs at least one working day")]
    NoWorkingDays,
    /// A holiday is not a date.
    #[error("`{0}` is not a YYYY-MM-DD date")]
    BadHoliday(String),
}

/// The deadline rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineRules {
    /// Working days to the reasonable-grounds decision.
    pub reasonable_grounds_working_days: u32,
    /// Days of recovery and reflection.
    pub recovery_period_days: u32,
    holidays: BTreeSet<NaiveDate>,
}

impl Default for DeadlineRules {
    fn default() -> Self {
        Self {
            reasonable_grounds_working_days: 5,
            recovery_period_days: Self::MINIMUM_RECOVERY_DAYS,
            holidays: BTreeSet::new(),
        }
    }
}

impl DeadlineRules {
    /// The Convention's minimum recovery and reflection period.
    pub const MINIMUM_RECOVERY_DAYS: u32 = 30;

    /// Rules from configuration; `holidays` lists movable feasts (`YYYY-MM-DD`, comma-separated)
    /// besides the fixed ones.
    pub fn new(
        reasonable_grounds_working_days: u32,
        recovery_period_days: u32,
        holidays: &str,
    ) -> Result<Self, DeadlineRulesError> {
        if recovery_period_days < Self::MINIMUM_RECOVERY_DAYS {
            return Err(DeadlineRulesError::RecoveryTooShort(
                Self::MINIMUM_RECOVERY_DAYS,
            ));
        }
        if reasonable_grounds_working_days == 0 {
            return Err(DeadlineRulesError::NoWorkingDays);
        }
        let holidays = holidays
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| DeadlineRulesError::BadHoliday(d.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            reasonable_grounds_working_days,
            recovery_period_days,
            holidays,
        })
    }

    /// Monday to Friday and not a public holiday.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
            && !FIXED_HOLIDAYS.contains(&(day.month(), day.day()))
            && !self.holidays.contains(&day)
    }

    /// The n-th working day after `from`.
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut day = from;
        let mut left = n;
        while left > 0 {
            day = day.succ_opt().unwrap_or(day);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// The end (23:59:59.999999 East Africa Time, as UTC) of the n-th working day after the
    /// day of referral in East Africa Time.
    pub fn reasonable_grounds_due(&self, referred_at_utc: NaiveDateTime) -> NaiveDateTime {
        let local_day = local_date(referred_at_utc);
        let due_day = self.add_working_days(local_day, self.reasonable_grounds_working_days);
        end_of_day(due_day)
    }

    /// When the recovery and reflection period after a positive reasonable-grounds decision
    /// ends; the conclusive decision is due then.
    pub fn recovery_period_end(&self, reasonable_grounds_at_utc: NaiveDateTime) -> NaiveDateTime {
        reasonable_grounds_at_utc + Duration::days(i64::from(self.recovery_period_days))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn five_working_days_skip_weekends_and_holidays() {
        let rules = DeadlineRules::default();
        // Monday 23 Nov 2026, 09:00 UTC: due end of Monday 30 Nov EAT (20:59:59.999999 UTC).
        let due = rules.reasonable_grounds_due(utc(2026, 11, 23, 9));
        assert_eq!(due.date(), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(due.format("%H:%M:%S").to_string(), "20:59:59");
        // Friday 20 Nov 2026, 21:00 EAT: counting starts Monday; due Friday 27 Nov.
        assert_eq!(
            rules.reasonable_grounds_due(utc(2026, 11, 20, 18)).date(),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
        // Sunday 22:30 UTC is already Monday in EAT.
        let monday_eat = NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_opt(22, 30, 0)
            .unwrap();
        assert_eq!(
            rules.reasonable_grounds_due(monday_eat).date(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        // Independence Day, Friday 9 Oct 2026, pushes the deadline a day.
        assert_eq!(
            rules.add_working_days(NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(), 5),
            NaiveDate::from_ymd_opt(2026, 10, 13).unwrap()
        );
        let with_easter = DeadlineRules::new(5, 30, "2026-11-24").unwrap();
        assert_eq!(
            with_easter.add_working_days(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(), 5),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
    }

    #[test]
    fn a_date_falls_due_at_the_end_of_its_day_in_east_africa() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 10).unwrap();
        assert_eq!(
            end_of_day(day).format("%F %T%.6f").to_string(),
            "2026-12-10 20:59:59.999999"
        );
        assert_eq!(start_of_day(day), utc(2026, 12, 9, 21));
        assert_eq!(local_date(utc(2026, 12, 9, 21)), day);
        assert_eq!(
            local_date(utc(2026, 12, 9, 20)),
            NaiveDate::from_ymd_opt(2026, 12, 9).unwrap()
        );
    }

    #[test]
    fn the_recovery_period_is_at_least_thirty_days() {
        assert_eq!(
            DeadlineRules::new(5, 29, ""),
            Err(DeadlineRulesError::RecoveryTooShort(30))
        );
        assert_eq!(
            DeadlineRules::new(0, 30, ""),
            Err(DeadlineRulesError::NoWorkingDays)
        );
        assert!(matches!(
            DeadlineRules::new(5, 30, "2026-13-01"),
            Err(DeadlineRulesError::BadHoliday(_))
        ));
        let rules = DeadlineRules::new(5, 45, "").unwrap();
        assert_eq!(
            rules.recovery_period_end(utc(2026, 11, 1, 9)),
            utc(2026, 12, 16, 9)
        );
    }
}
