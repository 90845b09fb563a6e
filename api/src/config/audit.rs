//! Settings of the audit trail: the Ed25519 audit key (kept apart from the vault's keys), how
//! often events are sealed and checkpoints signed, and the insider-misuse alert.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, Sources};

/// Where the audit signing key comes from.
#[derive(Clone)]
pub enum AuditKeySource {
    /// `TUMAINI_AUDIT_KEY`: the 32-byte Ed25519 seed in base64.
    Inline(String),
    /// `TUMAINI_AUDIT_KEY_FILE`: a file holding the base64 seed.
    File(PathBuf),
    /// `./data/audit.key`, generated on first run with a warning. Refused in production.
    GeneratedDefault(PathBuf),
}

impl fmt::Debug for AuditKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline(_) => f.write_str("Inline([redacted])"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::GeneratedDefault(path) => f.debug_tuple("GeneratedDefault").field(path).finish(),
        }
    }
}

/// The development default of the audit key file.
pub const DEFAULT_AUDIT_KEY_FILE: &str = "./data/audit.key";

/// Audit-trail settings.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// The signing key.
    pub key: AuditKeySource,
    /// How often the sealer looks for new events.
    pub seal_interval: Duration,
    /// The longest a sealed event waits for a signed checkpoint to cover it (about).
    pub checkpoint_every: Duration,
    /// Where each new checkpoint is appended, outside the database (`None`: nowhere).
    pub witness_file: Option<PathBuf>,
    /// Reading personal groups of more cases than this within the window raises an alert.
    pub misuse_threshold: u32,
    /// The window of the misuse alert.
    pub misuse_window: Duration,
}

impl AuditSettings {
    pub(super) fn from_sources(sources: &Sources<'_>) -> Result<Self, ConfigError> {
        let key = match (
            sources.get("TUMAINI_AUDIT_KEY"),
            sources.get("TUMAINI_AUDIT_KEY_FILE"),
        ) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    setting: "TUMAINI_AUDIT_KEY",
                    reason: "set TUMAINI_AUDIT_KEY or TUMAINI_AUDIT_KEY_FILE, not both".to_owned(),
                });
            }
            (Some(inline), None) => AuditKeySource::Inline(inline),
            (None, Some(path)) => AuditKeySource::File(path.into()),
            (None, None) => AuditKeySource::GeneratedDefault(DEFAULT_AUDIT_KEY_FILE.into()),
        };
        let seal_ms: u64 = sources.number("TUMAINI_AUDIT_SEAL_MS")?.unwrap_or(500);
        let checkpoint_secs: u64 = sources
            .number("TUMAINI_AUDIT_CHECKPOINT_SECS")?
            .unwrap_or(5);
        if checkpoint_secs == 0 || checkpoint_secs > 3_600 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_AUDIT_CHECKPOINT_SECS",
                reason: "must be between 1 and 3600 (seconds an event may wait for a checkpoint)"
                    .to_owned(),
            });
        }
        let witness_file = sources
            .get("TUMAINI_AUDIT_WITNESS_FILE")
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from);
        let threshold: u32 = sources.number("TUMAINI_MISUSE_THRESHOLD")?.unwrap_or(50);
        let window: u64 = sources
            .number("TUMAINI_MISUSE_WINDOW_MINUTES")?
            .unwrap_or(60);
        if seal_ms == 0 || seal_ms > 60_000 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_AUDIT_SEAL_MS",
                reason: "must be between 1 and 60000".to_owned(),
            });
        }
        if threshold == 0 || window == 0 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_MISUSE_THRESHOLD",
                reason: "the threshold and TUMAINI_MISUSE_WINDOW_MINUTES must be at least 1"
                    .to_owned(),
            });
        }
        Ok(Self {
            key,
            seal_interval: Duration::from_millis(seal_ms),
            checkpoint_every: Duration::from_secs(checkpoint_secs),
            witness_file,
            misuse_threshold: threshold,
            misuse_window: Duration::from_secs(window * 60),
        })
    }
}
