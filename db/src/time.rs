//! Time as the database stores it: UTC, truncated to microseconds, so that a value read back
//! from either engine compares equal to the value written.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// The current UTC time, truncated to whole microseconds (PostgreSQL's resolution).
pub fn now_utc() -> NaiveDateTime {
    truncate(Utc::now())
}

/// Truncates a UTC instant to whole microseconds, as stored.
pub fn truncate(at: DateTime<Utc>) -> NaiveDateTime {
    at.trunc_subsecs(6).naive_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn now_has_no_sub_microsecond_part() {
        let now = now_utc();
        assert_eq!(now.nanosecond() % 1_000, 0);
    }
}
