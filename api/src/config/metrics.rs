//! Settings for the Prometheus metrics endpoint: where it is served and the scrape token.

use std::fmt;

use tumaini_db::vault::SecretString;

use super::{ConfigError, Sources};

/// Shortest scrape token accepted, in characters.
pub const MIN_METRICS_TOKEN_CHARS: usize = 32;

/// Where `/metrics` is served, and whether a scrape must present a token. Neither set: not
/// served at all.
#[derive(Clone, Default)]
pub struct MetricsSettings {
    /// `TUMAINI_METRICS_BIND`: a listener of its own (`host:port`) that serves only `/metrics`;
    /// the main listener then answers 404 there.
    pub bind: Option<String>,
    /// `TUMAINI_METRICS_TOKEN`: a scrape must send `Authorization: Bearer <token>`. Without a
    /// listener of its own, this serves `/metrics` on the main listener.
    pub token: Option<SecretString>,
}

impl fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("bind", &self.bind)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl MetricsSettings {
    pub(super) fn from_sources(sources: &Sources<'_>) -> Result<Self, ConfigError> {
        let bind = sources.get("TUMAINI_METRICS_BIND");
        if let Some(bind) = &bind
            && !super::is_host_port(bind)
        {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_METRICS_BIND",
                reason: "expected host:port, e.g. 127.0.0.1:9464".to_owned(),
            });
        }
        let token = sources.get("TUMAINI_METRICS_TOKEN");
        if let Some(token) = &token
            && (token.trim().chars().count() < MIN_METRICS_TOKEN_CHARS
                || token.trim() != token.as_str())
        {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_METRICS_TOKEN",
                reason: format!(
                    "expected at least {MIN_METRICS_TOKEN_CHARS} characters without surrounding \
                     spaces, e.g. from `openssl rand -hex 32`"
                ),
            });
        }
        Ok(Self {
            bind,
            token: token.map(SecretString::new),
        })
    }

    /// Whether the main listener serves `/metrics`: a token is set and no listener of its own.
    pub fn on_main_listener(&self) -> bool {
        self.bind.is_none() && self.token.is_some()
    }
}
