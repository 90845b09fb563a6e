//! Settings for signed webhooks: how deliveries are retried, when a failing endpoint is
//! switched off, and whether endpoints on loopback are allowed (development and tests only).

use std::time::Duration;

use super::{ConfigError, Environment, Sources};

/// Webhook delivery settings.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Endpoints on loopback (`http://127.0.0.1:...`, `https://localhost/...`) may be
    /// registered and delivered to. Development and tests only: refused in production.
    pub allow_loopback: bool,
    /// How often the worker looks for due deliveries.
    pub poll_interval: Duration,
    /// First retry delay; each failure doubles it, up to `retry_max`.
    pub retry_base: Duration,
    /// Longest wait between two attempts.
    pub retry_max: Duration,
    /// An endpoint that has answered no attempt with success for this long is switched off
    /// and its organisation's supervisors are told.
    pub disable_after: Duration,
    /// How long one attempt may take, connection included.
    pub timeout: Duration,
}

impl WebhookSettings {
    pub(super) fn from_sources(
        sources: &Sources<'_>,
        env: Environment,
    ) -> Result<Self, ConfigError> {
        let allow_loopback = match sources.get("TUMAINI_WEBHOOK_ALLOW_LOOPBACK") {
            None => false,
            Some(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        setting: "TUMAINI_WEBHOOK_ALLOW_LOOPBACK",
                        reason: "expected true or false".to_owned(),
                    });
                }
            },
        };
        if allow_loopback && env == Environment::Production {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_WEBHOOK_ALLOW_LOOPBACK",
                reason: "webhooks to loopback are for development and tests, never production"
                    .to_owned(),
            });
        }
        let secs = |setting: &'static str, default: u64| -> Result<Duration, ConfigError> {
            let value: u64 = sources.number(setting)?.unwrap_or(default);
            if value == 0 {
                return Err(ConfigError::Invalid {
                    setting,
                    reason: "must be at least 1".to_owned(),
                });
            }
            Ok(Duration::from_secs(value))
        };
        Ok(Self {
            allow_loopback,
            poll_interval: Duration::from_millis(
                sources.number("TUMAINI_WEBHOOK_POLL_MS")?.unwrap_or(1000),
            ),
            retry_base: secs("TUMAINI_WEBHOOK_RETRY_BASE_SECS", 30)?,
            retry_max: secs("TUMAINI_WEBHOOK_RETRY_MAX_SECS", 3600)?,
            disable_after: secs("TUMAINI_WEBHOOK_DISABLE_AFTER_SECS", 3 * 24 * 3600)?,
            timeout: secs("TUMAINI_WEBHOOK_TIMEOUT_SECS", 10)?,
        })
    }
}
