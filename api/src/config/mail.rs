//! Settings for outgoing e-mail.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ConfigError, Environment, Sources};

/// How messages leave the outbox.
#[derive(Clone)]
pub enum MailTransport {
    /// An SMTP relay: `smtp://host:port` (plain, for a relay on loopback), `smtp://host:587?tls=required`
    /// (STARTTLS), or `smtps://host:465` (implicit TLS); credentials may sit in the URL.
    Smtp(String),
    /// Development only: each message written as a file in this folder.
    Directory(PathBuf),
}

impl fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The URL may carry credentials.
            Self::Smtp(_) => f.write_str("Smtp([redacted])"),
            Self::Directory(dir) => f.debug_tuple("Directory").field(dir).finish(),
        }
    }
}

/// E-mail settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Where messages go.
    pub transport: MailTransport,
    /// The `From:` address.
    pub from: String,
    /// First retry delay; each failure doubles it, up to an hour.
    pub retry_base: Duration,
    /// How often the worker looks for due messages.
    pub poll_interval: Duration,
}

impl MailSettings {
    pub(super) fn from_sources(
        sources: &Sources<'_>,
        env: Environment,
        data_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let transport = match (
            sources.get("TUMAINI_SMTP_URL"),
            sources.get("TUMAINI_MAIL_DIR"),
        ) {
            (Some(url), _) => {
                if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                    return Err(ConfigError::Invalid {
                        setting: "TUMAINI_SMTP_URL",
                        reason: "expected smtp://host:port or smtps://host:port".to_owned(),
                    });
                }
                MailTransport::Smtp(url)
            }
            (None, _) if env == Environment::Production => {
                return Err(ConfigError::ProductionDefault {
                    setting: "TUMAINI_SMTP_URL",
                    remedy: "set TUMAINI_SMTP_URL to the organisation's mail relay",
                });
            }
            (None, Some(dir)) => MailTransport::Directory(dir.into()),
            (None, None) => MailTransport::Directory(data_dir.join("outbox")),
        };
        Ok(Self {
            transport,
            from: sources
                .get("TUMAINI_MAIL_FROM")
                .unwrap_or_else(|| "Tumaini <no-reply@tumaini.invalid>".to_owned()),
            retry_base: Duration::from_secs(
                sources
                    .number("TUMAINI_MAIL_RETRY_BASE_SECS")?
                    .unwrap_or(30),
            ),
            poll_interval: Duration::from_millis(
                sources.number("TUMAINI_MAIL_POLL_MS")?.unwrap_or(1000),
            ),
        })
    }
}
