//! Configuration, read once at start: defaults, then an optional TOML file, then environment
//! variables, then command-line flags. Production refuses development defaults.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tumaini_db::vault::SecretString;
use tumaini_db::{DatabaseUrl, Engine, UrlError};

mod audit;
mod auth;
mod cases;
mod documents;
mod mail;
mod metrics;
mod retention;
mod storage;
mod webhooks;

pub use audit::{AuditKeySource, AuditSettings, DEFAULT_AUDIT_KEY_FILE};
pub use auth::{Argon2Settings, AuthSettings, SecretKey, SecretSource};
pub use cases::{CaseSettings, is_agreement_reference};
pub use documents::{DocumentSettings, DocumentStoreSetting};
pub use mail::{MailSettings, MailTransport};
pub use metrics::{MIN_METRICS_TOKEN_CHARS, MetricsSettings};
pub use retention::{LifecycleSettings, RecordKind, RetentionSchedule, reason_setting};
pub use storage::{DatabaseTimeouts, ReadinessSettings};
pub use webhooks::WebhookSettings;

/// Where the embedded default keeps its database.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/tumaini.db";
/// Where the server listens unless told otherwise: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Where the embedded default keeps (and, on first run, generates) its master key.
pub const DEFAULT_MASTER_KEY_FILE: &str = "./data/master.key";

/// Where the vault's key-encryption keys come from (see `tumaini_db::vault`).
#[derive(Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// `TUMAINI_MASTER_KEY`: `BASE64` or `1:BASE64,2:BASE64`; the newest version encrypts.
    Inline(SecretString),
    /// A key file the operator named (`TUMAINI_MASTER_KEY_FILE`).
    File(PathBuf),
    /// The embedded default: [`DEFAULT_MASTER_KEY_FILE`], generated on first run with a
    /// warning. Refused in production.
    GeneratedDefault(PathBuf),
}

impl fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline(_) => f.write_str("Inline([redacted])"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::GeneratedDefault(path) => f.debug_tuple("GeneratedDefault").field(path).finish(),
        }
    }
}

/// Development (the default) or production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A developer's machine or a demonstration: generated defaults are allowed, loudly.
    Development,
    /// Real data: every setting that protects it must be given explicitly.
    Production,
}

/// How log lines are written to standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors (the default).
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

/// A setting that could not be used; the message names the setting, never its secret value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read or parsed.
    #[error("cannot read configuration file {path}: {reason}")]
    File {
        /// The file named by `--config` or `TUMAINI_CONFIG`.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A value had the wrong form.
    #[error("invalid value for {setting}: {reason}")]
    Invalid {
        /// The environment variable or TOML key.
        setting: &'static str,
        /// What form was expected.
        reason: String,
    },
    /// Production was asked to run on a development default.
    #[error("TUMAINI_ENV=production refuses the development default for {setting}: {remedy}")]
    ProductionDefault {
        /// The setting left at its default.
        setting: &'static str,
        /// What to set instead.
        remedy: &'static str,
    },
}

/// The settings a TOML file may hold: each environment variable's name without the
/// `TUMAINI_` prefix, in lower case (`DATABASE_URL` is `database_url`).
const KNOWN_SETTINGS: &[&str] = &[
    "TUMAINI_ENV",
    "TUMAINI_BIND",
    "DATABASE_URL",
    "TUMAINI_LOG_FORMAT",
    "TUMAINI_LOG",
    "TUMAINI_MAX_BODY_BYTES",
    "TUMAINI_DB_POOL_SIZE",
    "TUMAINI_SHUTDOWN_TIMEOUT_SECS",
    "TUMAINI_WORKERS",
    "TUMAINI_PUBLIC_URL",
    "TUMAINI_POLICY_DIR",
    "TUMAINI_SECRET_KEY",
    "TUMAINI_SECRET_KEY_FILE",
    "TUMAINI_ACCESS_TOKEN_SECS",
    "TUMAINI_SESSION_HOURS",
    "TUMAINI_ARGON2_MEMORY_KIB",
    "TUMAINI_ARGON2_ITERATIONS",
    "TUMAINI_ARGON2_PARALLELISM",
    "TUMAINI_MAX_CONCURRENT_HASHES",
    "TUMAINI_LOCKOUT_THRESHOLD",
    "TUMAINI_LOCKOUT_SECS",
    "TUMAINI_LOCKOUT_WINDOW_SECS",
    "TUMAINI_LOGIN_RATE_PER_MINUTE",
    "TUMAINI_TRUSTED_PROXIES",
    "TUMAINI_FORWARDED_HEADER",
    "TUMAINI_IDEMPOTENCY_HOURS",
    "TUMAINI_SMTP_URL",
    "TUMAINI_MAIL_FROM",
    "TUMAINI_MAIL_DIR",
    "TUMAINI_MAIL_RETRY_BASE_SECS",
    "TUMAINI_MAIL_POLL_MS",
    "TUMAINI_MASTER_KEY",
    "TUMAINI_MASTER_KEY_FILE",
    "TUMAINI_FIRST_RESPONDER_WINDOW_HOURS",
    "TUMAINI_REASONABLE_GROUNDS_WORKING_DAYS",
    "TUMAINI_RECOVERY_PERIOD_DAYS",
    "TUMAINI_PUBLIC_HOLIDAYS",
    "TUMAINI_DEADLINE_SCAN_SECS",
    "TUMAINI_BREAK_GLASS_MAX_MINUTES",
    "TUMAINI_REFERRAL_EMERGENCY_MINUTES",
    "TUMAINI_REFERRAL_HIGH_MINUTES",
    "TUMAINI_REFERRAL_NORMAL_MINUTES",
    "TUMAINI_STATISTICS_THRESHOLD",
    "TUMAINI_EXPORT_K",
    "TUMAINI_RESEARCH_EXPORT_K",
    "TUMAINI_RESEARCH_AGREEMENTS",
    "TUMAINI_AUDIT_KEY",
    "TUMAINI_AUDIT_KEY_FILE",
    "TUMAINI_AUDIT_SEAL_MS",
    "TUMAINI_AUDIT_CHECKPOINT_SECS",
    "TUMAINI_AUDIT_WITNESS_FILE",
    "TUMAINI_MISUSE_THRESHOLD",
    "TUMAINI_MISUSE_WINDOW_MINUTES",
    "TUMAINI_WEBHOOK_ALLOW_LOOPBACK",
    "TUMAINI_WEBHOOK_POLL_MS",
    "TUMAINI_WEBHOOK_RETRY_BASE_SECS",
    "TUMAINI_WEBHOOK_RETRY_MAX_SECS",
    "TUMAINI_WEBHOOK_DISABLE_AFTER_SECS",
    "TUMAINI_WEBHOOK_TIMEOUT_SECS",
    "TUMAINI_METRICS_BIND",
    "TUMAINI_METRICS_TOKEN",
    "TUMAINI_DB_TIMEOUT_MS",
    "TUMAINI_DB_STATEMENT_TIMEOUT_MS",
    "TUMAINI_DB_LOCK_TIMEOUT_MS",
    "TUMAINI_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
    "TUMAINI_DB_CONNECT_TIMEOUT_SECS",
    "TUMAINI_SQLITE_BUSY_TIMEOUT_MS",
    "TUMAINI_READY_MIN_FREE_DISK_MB",
    "TUMAINI_READY_AUDIT_SEAL_LAG_SECS",
    "TUMAINI_READY_OUTBOX_MAX_AGE_SECS",
    "TUMAINI_DOCUMENT_MAX_MB",
    "TUMAINI_DOCUMENT_CASE_MAX_MB",
    "TUMAINI_DOCUMENT_STORE",
    "TUMAINI_DOCUMENT_SCAN_COMMAND",
    "TUMAINI_DOCUMENT_SCAN_TIMEOUT_SECS",
    "TUMAINI_ERASURE_APPROVAL_DAYS",
    "TUMAINI_ERASURE_SUPERVISOR_APPROVAL",
    "TUMAINI_RETENTION_INTERVAL_MINUTES",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS_SERVICES_COMPLETED",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS_REINTEGRATED",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS_RETURNED",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS_TRANSFERRED",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS_LOST_CONTACT",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS_DECEASED",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS_DUPLICATE",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS_NOT_A_VICTIM",
    "TUMAINI_RETENTION_CLOSED_CASE_DAYS_OTHER",
    "TUMAINI_RETENTION_WITHDRAWN_CASE_DAYS",
    "TUMAINI_RETENTION_NOT_IDENTIFIED_DAYS",
    "TUMAINI_RETENTION_ANONYMOUS_NOTIFICATION_DAYS",
    "TUMAINI_RETENTION_OUTBOX_DAYS",
    "TUMAINI_RETENTION_SESSION_DAYS",
    "TUMAINI_RETENTION_SIGN_IN_DAYS",
    "TUMAINI_RETENTION_DELETED_DOCUMENT_DAYS",
];

fn file_key(setting: &str) -> String {
    setting.trim_start_matches("TUMAINI_").to_ascii_lowercase()
}

/// Where settings come from: the environment first, then the TOML file.
pub(crate) struct Sources<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: toml::Table,
}

impl Sources<'_> {
    /// The raw text of a setting, if given (blank counts as not given).
    pub(crate) fn get(&self, setting: &str) -> Option<String> {
        (self.env)(setting)
            .filter(|v| !v.trim().is_empty())
            .or_else(|| {
                self.file
                    .get(&file_key(setting))
                    .and_then(|value| match value {
                        toml::Value::String(s) => Some(s.clone()),
                        toml::Value::Integer(i) => Some(i.to_string()),
                        toml::Value::Boolean(b) => Some(b.to_string()),
                        toml::Value::Float(f) => Some(f.to_string()),
                        _ => None,
                    })
            })
    }

    /// A number, if given.
    pub(crate) fn number<T: std::str::FromStr>(
        &self,
        setting: &'static str,
    ) -> Result<Option<T>, ConfigError> {
        self.get(setting)
            .map(|v| {
                v.trim().parse().map_err(|_| ConfigError::Invalid {
                    setting,
                    reason: "expected a whole number".to_owned(),
                })
            })
            .transpose()
    }

    /// An enumerated value, if given.
    fn choice<T: for<'de> Deserialize<'de>>(
        &self,
        setting: &'static str,
    ) -> Result<Option<T>, ConfigError> {
        self.get(setting)
            .map(|v| parse_enum(setting, &v))
            .transpose()
    }
}

/// The server's settings.
#[derive(Clone)]
pub struct Config {
    /// Development or production.
    pub env: Environment,
    /// Address to listen on, `host:port`.
    pub bind: String,
    /// The database; its engine follows from the scheme.
    pub database_url: DatabaseUrl,
    /// True when no database URL was given and the embedded default is in use.
    pub database_url_is_default: bool,
    /// Log line format.
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info` or `info,tumaini_api=debug`.
    pub log_filter: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Database connections per server process.
    pub db_pool_size: u32,
    /// How long a request and each statement may wait on the database.
    pub db_timeouts: DatabaseTimeouts,
    /// What readiness checks besides the database answering.
    pub readiness: ReadinessSettings,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_timeout: Duration,
    /// HTTP worker threads; default one per core.
    pub workers: Option<usize>,
    /// The address users reach the service at, for links in e-mails.
    pub public_url: String,
    /// A directory of Cedar policies replacing the embedded set.
    pub policy_dir: Option<PathBuf>,
    /// Sign-in, tokens, password hashing and throttling.
    pub auth: AuthSettings,
    /// Outgoing e-mail.
    pub mail: MailSettings,
    /// The vault's key-encryption keys.
    pub master_key: MasterKeySource,
    /// Case work: the first responder's window, NRM periods, the deadline scanner.
    pub cases: CaseSettings,
    /// The data's lifetime: erasure approval, the retention schedule and its job.
    pub lifecycle: LifecycleSettings,
    /// Documents: size limits, where their content is stored, the malware scan.
    pub documents: DocumentSettings,
    /// The audit trail: its signing key, sealing, the misuse alert.
    pub audit: AuditSettings,
    /// Signed webhooks: retries, switching off failing endpoints, loopback for tests.
    pub webhooks: WebhookSettings,
    /// The Prometheus metrics endpoint.
    pub metrics: MetricsSettings,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("env", &self.env)
            .field("bind", &self.bind)
            .field("database_url", &self.database_url) // redacts any password
            .field("log_format", &self.log_format)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("db_pool_size", &self.db_pool_size)
            .field("db_timeouts", &self.db_timeouts)
            .field("readiness", &self.readiness)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("workers", &self.workers)
            .field("public_url", &self.public_url)
            .field("auth", &self.auth)
            .field("mail", &self.mail)
            .field("master_key", &self.master_key)
            .field("metrics", &self.metrics)
            .field("lifecycle", &self.lifecycle)
            .field("documents", &self.documents)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the process environment (and the TOML file it or `file` names).
    pub fn from_env(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_sources(|name| std::env::var(name).ok(), file)
    }

    /// Reads settings from `env` (a lookup, so tests need not touch the process environment)
    /// and an optional TOML file, then checks them.
    pub fn from_sources(
        env: impl Fn(&str) -> Option<String>,
        file: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        let file_path = file.map(Path::to_path_buf).or_else(|| {
            env("TUMAINI_CONFIG")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        });
        let file_table = match &file_path {
            Some(path) => read_file(path)?,
            None => toml::Table::new(),
        };
        let sources = Sources {
            env: &env,
            file: file_table,
        };
        let database_url_text = sources.get("DATABASE_URL");
        let database_url_is_default = database_url_text.is_none();
        let database_url =
            DatabaseUrl::parse(database_url_text.as_deref().unwrap_or(DEFAULT_DATABASE_URL))
                .map_err(|e: UrlError| ConfigError::Invalid {
                    setting: "DATABASE_URL",
                    reason: e.to_string(),
                })?;
        let env_mode = sources
            .choice("TUMAINI_ENV")?
            .unwrap_or(Environment::Development);
        if env_mode == Environment::Production && database_url_is_default {
            return Err(ConfigError::ProductionDefault {
                setting: "DATABASE_URL",
                remedy: "set DATABASE_URL explicitly (postgres://... for a national deployment)",
            });
        }
        let data_dir = database_url
            .sqlite_path()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("./data"), Path::to_path_buf);
        let cases = CaseSettings::from_sources(&sources)?;
        let lifecycle = LifecycleSettings::from_sources(&sources, cases.idempotency_ttl)?;
        let config = Self {
            env: env_mode,
            bind: sources
                .get("TUMAINI_BIND")
                .unwrap_or_else(|| DEFAULT_BIND.to_owned()),
            log_format: sources
                .choice("TUMAINI_LOG_FORMAT")?
                .unwrap_or(LogFormat::Json),
            log_filter: sources
                .get("TUMAINI_LOG")
                .or_else(|| env("RUST_LOG").filter(|v| !v.is_empty()))
                .unwrap_or_else(|| "info".to_owned()),
            max_body_bytes: sources
                .number("TUMAINI_MAX_BODY_BYTES")?
                .unwrap_or(1024 * 1024),
            db_pool_size: sources.number("TUMAINI_DB_POOL_SIZE")?.unwrap_or(10),
            db_timeouts: DatabaseTimeouts::from_sources(&sources)?,
            readiness: ReadinessSettings::from_sources(&sources, &database_url)?,
            shutdown_timeout: Duration::from_secs(
                sources
                    .number("TUMAINI_SHUTDOWN_TIMEOUT_SECS")?
                    .unwrap_or(30),
            ),
            workers: sources.number("TUMAINI_WORKERS")?,
            public_url: sources
                .get("TUMAINI_PUBLIC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            policy_dir: sources.get("TUMAINI_POLICY_DIR").map(PathBuf::from),
            auth: AuthSettings::from_sources(&sources, env_mode, &data_dir)?,
            mail: MailSettings::from_sources(&sources, env_mode, &data_dir)?,
            cases,
            lifecycle,
            documents: DocumentSettings::from_sources(&sources)?,
            audit: AuditSettings::from_sources(&sources)?,
            webhooks: WebhookSettings::from_sources(&sources, env_mode)?,
            metrics: MetricsSettings::from_sources(&sources)?,
            database_url,
            database_url_is_default,
            master_key: match (
                sources.get("TUMAINI_MASTER_KEY"),
                sources.get("TUMAINI_MASTER_KEY_FILE"),
            ) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::Invalid {
                        setting: "TUMAINI_MASTER_KEY",
                        reason: "set TUMAINI_MASTER_KEY or TUMAINI_MASTER_KEY_FILE, not both"
                            .to_owned(),
                    });
                }
                (Some(inline), None) => MasterKeySource::Inline(SecretString::new(inline)),
                (None, Some(path)) => MasterKeySource::File(path.into()),
                (None, None) => MasterKeySource::GeneratedDefault(DEFAULT_MASTER_KEY_FILE.into()),
            },
        };
        config.check()?;
        Ok(config)
    }

    /// Replaces the listen address (the `--bind` flag), re-checking it.
    pub fn with_bind(mut self, bind: String) -> Result<Self, ConfigError> {
        self.bind = bind;
        self.check()?;
        Ok(self)
    }

    /// Whether the database is the embedded engine, migrated at start.
    pub fn is_embedded(&self) -> bool {
        self.database_url.engine() == Engine::Sqlite
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !is_host_port(&self.bind) {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_BIND",
                reason: "expected host:port, e.g. 127.0.0.1:8080".to_owned(),
            });
        }
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_MAX_BODY_BYTES",
                reason: "must be at least 1024".to_owned(),
            });
        }
        if self.db_pool_size == 0 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_DB_POOL_SIZE",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.env == Environment::Production && self.database_url_is_default {
            return Err(ConfigError::ProductionDefault {
                setting: "DATABASE_URL",
                remedy: "set DATABASE_URL explicitly (postgres://... for a national deployment)",
            });
        }
        if self.env == Environment::Production
            && matches!(self.master_key, MasterKeySource::GeneratedDefault(_))
        {
            return Err(ConfigError::ProductionDefault {
                setting: "TUMAINI_MASTER_KEY",
                remedy: "supply the key-encryption key: TUMAINI_MASTER_KEY (base64, or \
                         VERSION:BASE64,...) or TUMAINI_MASTER_KEY_FILE",
            });
        }
        if self.env == Environment::Production
            && matches!(self.audit.key, AuditKeySource::GeneratedDefault(_))
        {
            return Err(ConfigError::ProductionDefault {
                setting: "TUMAINI_AUDIT_KEY",
                remedy: "supply the Ed25519 audit key, apart from the data keys: TUMAINI_AUDIT_KEY \
                         (base64 of 32 random bytes) or TUMAINI_AUDIT_KEY_FILE",
            });
        }
        Ok(())
    }
}

/// Whether `bind` reads as `host:port` (an address, or a host name and a port).
fn is_host_port(bind: &str) -> bool {
    bind.parse::<std::net::SocketAddr>().is_ok()
        || bind
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let failed = |reason: String| ConfigError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| failed(e.message().to_owned()))?;
    let known: Vec<String> = KNOWN_SETTINGS.iter().map(|s| file_key(s)).collect();
    if let Some(unknown) = table.keys().find(|k| !known.contains(k)) {
        return Err(failed(format!("unknown setting `{unknown}`")));
    }
    Ok(table)
}

fn parse_enum<T: for<'de> Deserialize<'de>>(
    setting: &'static str,
    value: &str,
) -> Result<T, ConfigError> {
    T::deserialize(
        serde::de::value::StrDeserializer::<serde::de::value::Error>::new(
            value.trim().to_ascii_lowercase().as_str(),
        ),
    )
    .map_err(|e| ConfigError::Invalid {
        setting,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_sources(|k| map.get(k).cloned(), None)
    }

    #[test]
    fn defaults_serve_the_embedded_database_on_loopback() {
        let config = from(&[]).unwrap();
        assert_eq!(config.bind, DEFAULT_BIND);
        assert!(config.is_embedded());
        assert!(config.database_url_is_default);
        assert_eq!(config.env, Environment::Development);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn production_refuses_a_generated_master_key() {
        let err = from(&[
            ("TUMAINI_ENV", "production"),
            ("DATABASE_URL", "postgres://db/t"),
            (
                "TUMAINI_SECRET_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
            ("TUMAINI_SMTP_URL", "smtp://mail.internal:587?tls=required"),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::ProductionDefault {
                setting: "TUMAINI_MASTER_KEY",
                ..
            }
        ));
        let ok = from(&[
            ("TUMAINI_ENV", "production"),
            ("DATABASE_URL", "postgres://db/t"),
            (
                "TUMAINI_SECRET_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
            ("TUMAINI_SMTP_URL", "smtp://mail.internal:587?tls=required"),
            ("TUMAINI_MASTER_KEY", "1:c2VjcmV0LWtleS1tYXRlcmlhbA=="),
            (
                "TUMAINI_AUDIT_KEY",
                "YXVkaXQta2V5LW1hdGVyaWFsLTMyLWJ5dGVzLWxvbmc=",
            ),
        ])
        .unwrap();
        assert!(!format!("{ok:?}").contains("c2VjcmV0"), "{ok:?}");
        let file = from(&[("TUMAINI_MASTER_KEY_FILE", "/etc/tumaini/master.key")]).unwrap();
        assert_eq!(
            file.master_key,
            MasterKeySource::File("/etc/tumaini/master.key".into())
        );
        assert!(
            from(&[
                ("TUMAINI_MASTER_KEY", "x"),
                ("TUMAINI_MASTER_KEY_FILE", "y")
            ])
            .is_err()
        );
    }

    #[test]
    fn production_refuses_the_default_database() {
        let err = from(&[
            ("TUMAINI_ENV", "production"),
            ("TUMAINI_MASTER_KEY_FILE", "/etc/tumaini/master.key"),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::ProductionDefault {
                setting: "DATABASE_URL",
                ..
            }
        ));
        let err = from(&[
            ("TUMAINI_ENV", "production"),
            ("DATABASE_URL", "postgres://app:pw@db/tumaini"),
            ("TUMAINI_MASTER_KEY_FILE", "/etc/tumaini/master.key"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("TUMAINI_SECRET_KEY"), "{err}");
        let err = from(&[
            ("TUMAINI_ENV", "production"),
            ("DATABASE_URL", "postgres://app:pw@db/tumaini"),
            (
                "TUMAINI_SECRET_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
            ("TUMAINI_MASTER_KEY", "1:c2VjcmV0LWtleS1tYXRlcmlhbA=="),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("TUMAINI_SMTP_URL"), "{err}");
        let err = from(&[
            ("TUMAINI_ENV", "production"),
            ("DATABASE_URL", "postgres://app:pw@db/tumaini"),
            (
                "TUMAINI_SECRET_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
            ("TUMAINI_SMTP_URL", "smtp://mail.internal:587?tls=required"),
            ("TUMAINI_MASTER_KEY", "1:c2VjcmV0LWtleS1tYXRlcmlhbA=="),
        ])
        .unwrap_err();
        assert!(
            err.to_string().contains("TUMAINI_AUDIT_KEY"),
            "the audit key is never generated in production: {err}"
        );
        let ok = from(&[
            ("TUMAINI_ENV", "production"),
            ("DATABASE_URL", "postgres://app:pw@db/tumaini"),
            (
                "TUMAINI_SECRET_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
            (
                "TUMAINI_SMTP_URL",
                "smtp://relay:pw@mail.internal:587?tls=required",
            ),
            ("TUMAINI_MASTER_KEY", "1:c2VjcmV0LWtleS1tYXRlcmlhbA=="),
            (
                "TUMAINI_AUDIT_KEY",
                "YXVkaXQta2V5LW1hdGVyaWFsLTMyLWJ5dGVzLWxvbmc=",
            ),
        ])
        .unwrap();
        let shown = format!("{ok:?}");
        assert!(
            !shown.contains("relay:pw") && !shown.contains("MDEy"),
            "{shown}"
        );
        assert!(!ok.is_embedded());
        assert!(!format!("{ok:?}").contains(":pw@"));
    }

    #[test]
    fn bad_values_name_the_setting() {
        let err = from(&[("TUMAINI_MAX_BODY_BYTES", "lots")]).unwrap_err();
        assert!(err.to_string().contains("TUMAINI_MAX_BODY_BYTES"));
        let err = from(&[("TUMAINI_BIND", "8080")]).unwrap_err();
        assert!(err.to_string().contains("TUMAINI_BIND"));
        let err = from(&[("TUMAINI_ENV", "staging")]).unwrap_err();
        assert!(err.to_string().contains("TUMAINI_ENV"));
        let err = from(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"));
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tumaini.toml");
        std::fs::write(&path, "bind = \"0.0.0.0:9000\"\nlog_format = \"pretty\"\n").unwrap();
        let map: HashMap<&str, &str> = [("TUMAINI_LOG_FORMAT", "json")].into();
        let config =
            Config::from_sources(|k| map.get(k).map(|v| (*v).to_owned()), Some(&path)).unwrap();
        assert_eq!(config.bind, "0.0.0.0:9000");
        assert_eq!(
            config.log_format,
            LogFormat::Json,
            "environment wins over the file"
        );
        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        let err = Config::from_sources(|_| None, Some(&path)).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        std::fs::write(
            &path,
            "max_body_bytes = 4096\ndatabase_url = \"sqlite://x.db\"\n",
        )
        .unwrap();
        let config = Config::from_sources(|_| None, Some(&path)).unwrap();
        assert_eq!(config.max_body_bytes, 4096, "numbers may be TOML integers");
        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        let err = Config::from_sources(|_| None, Some(&path)).unwrap_err();
        assert!(matches!(err, ConfigError::File { .. }));
    }

    #[test]
    fn the_lifetime_and_document_settings_can_be_set_in_the_file() {
        for reason in tumaini_db::vocabulary::ClosureReason::ALL {
            assert!(
                KNOWN_SETTINGS.contains(&reason_setting(*reason)),
                "{} is a setting of the file too",
                reason_setting(*reason)
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tumaini.toml");
        std::fs::write(
            &path,
            "retention_closed_case_days = 1000\nretention_closed_case_days_duplicate = 10\n\
             retention_deleted_document_days = 7\nerasure_approval_days = 5\n\
             erasure_supervisor_approval = true\nretention_interval_minutes = 0\n\
             document_max_mb = 10\ndocument_store = \"file:///srv/documents\"\n",
        )
        .unwrap();
        let config = Config::from_sources(|_| None, Some(&path)).unwrap();
        let retention = &config.lifecycle.retention;
        assert_eq!(retention.closed_case_days, 1000);
        assert_eq!(
            retention.closed_case_days(Some(tumaini_db::vocabulary::ClosureReason::Duplicate)),
            10
        );
        assert_eq!(retention.deleted_document_days, 7);
        assert!(config.lifecycle.erasure_supervisor_approval);
        assert_eq!(config.lifecycle.retention_interval, None);
        assert_eq!(config.documents.max_document_bytes, 10 * 1024 * 1024);
        assert_eq!(
            config.documents.store,
            DocumentStoreSetting::Directory(PathBuf::from("/srv/documents"))
        );
    }
}
