//! Settings of case work: how long a first responder keeps access to what they entered, the
//! NRM's decision periods, and how often overdue decisions are looked for.

use std::time::Duration;

use super::{ConfigError, Sources};

/// Case-work settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSettings {
    /// How long a first responder sees and completes the cases they registered.
    pub first_responder_window: Duration,
    /// Working days from referral into the NRM to the reasonable-grounds decision.
    pub reasonable_grounds_working_days: u32,
    /// Days of recovery and reflection after a positive reasonable-grounds decision (at
    /// least 30, Council of Europe Convention art. 13).
    pub recovery_period_days: u32,
    /// Movable public holidays (`YYYY-MM-DD`, comma-separated) besides the fixed ones.
    pub public_holidays: String,
    /// How often the deadline scanner runs.
    pub deadline_scan_interval: Duration,
    /// The longest a break-glass opening may last.
    pub break_glass_max: Duration,
    /// How long a receiving organisation has to answer a referral, by urgency: emergency,
    /// high, normal.
    pub referral_response: [Duration; 3],
    /// Published statistics hide any figure of people below this count (at least 3).
    pub statistics_threshold: i64,
    /// The de-identified export's k: every published combination of quasi-identifiers is
    /// shared by at least this many records (at least 5; CTDC uses 11).
    pub export_k: usize,
    /// The k of the research export, lower than [`Self::export_k`] (at least 3), for a research
    /// agreement that needs finer records; none (the default) switches the research export off.
    /// Each research export is a high-severity audit event naming the agreement.
    pub research_export_k: Option<usize>,
    /// The references of the data-sharing agreements a research export may be made under
    /// (`TUMAINI_RESEARCH_AGREEMENTS`, comma-separated); required with a research k.
    pub research_agreements: Vec<String>,
    /// How long the first answer to a POST with an `Idempotency-Key` is kept for a retry (a
    /// first responder at a border post may be offline a day or two); older ones are pruned.
    pub idempotency_ttl: Duration,
}

impl CaseSettings {
    /// The time to answer a referral of this urgency.
    pub fn referral_response(&self, urgency: tumaini_db::vocabulary::ReferralUrgency) -> Duration {
        use tumaini_db::vocabulary::ReferralUrgency as U;
        self.referral_response[match urgency {
            U::Emergency => 0,
            U::High => 1,
            U::Normal => 2,
        }]
    }
}

impl CaseSettings {
    pub(super) fn from_sources(sources: &Sources<'_>) -> Result<Self, ConfigError> {
        let hours: u64 = sources
            .number("TUMAINI_FIRST_RESPONDER_WINDOW_HOURS")?
            .unwrap_or(72);
        if hours == 0 || hours > 24 * 30 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_FIRST_RESPONDER_WINDOW_HOURS",
                reason: "must be between 1 and 720 hours".to_owned(),
            });
        }
        let scan: u64 = sources.number("TUMAINI_DEADLINE_SCAN_SECS")?.unwrap_or(60);
        if scan == 0 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_DEADLINE_SCAN_SECS",
                reason: "must be at least 1".to_owned(),
            });
        }
        let break_glass: u64 = sources
            .number("TUMAINI_BREAK_GLASS_MAX_MINUTES")?
            .unwrap_or(240);
        if break_glass == 0 || break_glass > 24 * 60 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_BREAK_GLASS_MAX_MINUTES",
                reason: "must be between 1 and 1440 minutes".to_owned(),
            });
        }
        let mut referral_response = [Duration::ZERO; 3];
        for (slot, (setting, default)) in referral_response.iter_mut().zip([
            ("TUMAINI_REFERRAL_EMERGENCY_MINUTES", 4 * 60),
            ("TUMAINI_REFERRAL_HIGH_MINUTES", 24 * 60),
            ("TUMAINI_REFERRAL_NORMAL_MINUTES", 72 * 60),
        ]) {
            let minutes: u64 = sources.number(setting)?.unwrap_or(default);
            if minutes == 0 || minutes > 30 * 24 * 60 {
                return Err(ConfigError::Invalid {
                    setting,
                    reason: "must be between 1 and 43200 minutes (30 days)".to_owned(),
                });
            }
            *slot = Duration::from_secs(minutes * 60);
        }
        let statistics_threshold: i64 = sources
            .number("TUMAINI_STATISTICS_THRESHOLD")?
            .unwrap_or(10);
        if !(3..=1000).contains(&statistics_threshold) {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_STATISTICS_THRESHOLD",
                reason: "must be between 3 and 1000".to_owned(),
            });
        }
        let export_k: usize = sources.number("TUMAINI_EXPORT_K")?.unwrap_or(11);
        if !(5..=1000).contains(&export_k) {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_EXPORT_K",
                reason: "must be between 5 and 1000".to_owned(),
            });
        }
        let research_export_k: Option<usize> = sources.number("TUMAINI_RESEARCH_EXPORT_K")?;
        if let Some(k) = research_export_k
            && !(3..export_k).contains(&k)
        {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_RESEARCH_EXPORT_K",
                reason: format!("must be at least 3 and below TUMAINI_EXPORT_K ({export_k})"),
            });
        }
        let research_agreements: Vec<String> = sources
            .get("TUMAINI_RESEARCH_AGREEMENTS")
            .unwrap_or_default()
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        if let Some(bad) = research_agreements
            .iter()
            .find(|a| !is_agreement_reference(a))
        {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_RESEARCH_AGREEMENTS",
                reason: format!(
                    "`{}` is not a reference: 3 to 64 letters, digits and `-_./`",
                    bad.chars().take(64).collect::<String>()
                ),
            });
        }
        if research_export_k.is_some() && research_agreements.is_empty() {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_RESEARCH_AGREEMENTS",
                reason: "a research export needs the agreements it may be made under".to_owned(),
            });
        }
        let idempotency_hours: u64 = sources.number("TUMAINI_IDEMPOTENCY_HOURS")?.unwrap_or(72);
        if !(1..=24 * 30).contains(&idempotency_hours) {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_IDEMPOTENCY_HOURS",
                reason: "must be between 1 and 720 hours".to_owned(),
            });
        }
        Ok(Self {
            idempotency_ttl: Duration::from_secs(idempotency_hours * 3600),
            export_k,
            research_export_k,
            research_agreements,
            statistics_threshold,
            referral_response,
            break_glass_max: Duration::from_secs(break_glass * 60),
            first_responder_window: Duration::from_secs(hours * 3600),
            reasonable_grounds_working_days: sources
                .number("TUMAINI_REASONABLE_GROUNDS_WORKING_DAYS")?
                .unwrap_or(5),
            recovery_period_days: sources
                .number("TUMAINI_RECOVERY_PERIOD_DAYS")?
                .unwrap_or(30),
            public_holidays: sources.get("TUMAINI_PUBLIC_HOLIDAYS").unwrap_or_default(),
            deadline_scan_interval: Duration::from_secs(scan),
        })
    }
}

/// Whether `text` has the shape of a data-sharing agreement's reference: 3 to 64 ASCII letters,
/// digits and `-_./`.
pub fn is_agreement_reference(text: &str) -> bool {
    (3..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}
