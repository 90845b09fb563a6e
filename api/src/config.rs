//! Configuration, read once at start: defaults, then an optional TOML file, then environment
//! variables, then command-line flags. Production refuses development defaults.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tumaini_db::vault::SecretString;
use tumaini_db::{DatabaseUrl, Engine, UrlError};

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

/// The optional TOML file: every key is optional and named like its environment variable
/// without the `TUMAINI_` prefix, in lower case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    env: Option<Environment>,
    bind: Option<String>,
    database_url: Option<String>,
    log_format: Option<LogFormat>,
    log_filter: Option<String>,
    max_body_bytes: Option<usize>,
    db_pool_size: Option<u32>,
    shutdown_timeout_secs: Option<u64>,
    workers: Option<usize>,
    master_key_file: Option<PathBuf>,
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
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_timeout: Duration,
    /// HTTP worker threads; default one per core.
    pub workers: Option<usize>,
    /// The vault's key-encryption keys.
    pub master_key: MasterKeySource,
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
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("workers", &self.workers)
            .field("master_key", &self.master_key)
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
        let from_file = match &file_path {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());

        let env_mode = match var("TUMAINI_ENV") {
            Some(v) => parse_enum("TUMAINI_ENV", &v)?,
            None => from_file.env.unwrap_or(Environment::Development),
        };
        let url_text = var("DATABASE_URL").or(from_file.database_url);
        let database_url_is_default = url_text.is_none();
        let database_url = DatabaseUrl::parse(url_text.as_deref().unwrap_or(DEFAULT_DATABASE_URL))
            .map_err(|e: UrlError| ConfigError::Invalid {
                setting: "DATABASE_URL",
                reason: e.to_string(),
            })?;
        let log_format = match var("TUMAINI_LOG_FORMAT") {
            Some(v) => parse_enum("TUMAINI_LOG_FORMAT", &v)?,
            None => from_file.log_format.unwrap_or(LogFormat::Json),
        };
        let config = Self {
            env: env_mode,
            bind: var("TUMAINI_BIND")
                .or(from_file.bind)
                .unwrap_or_else(|| DEFAULT_BIND.to_owned()),
            database_url,
            database_url_is_default,
            log_format,
            log_filter: var("TUMAINI_LOG")
                .or_else(|| var("RUST_LOG"))
                .or(from_file.log_filter)
                .unwrap_or_else(|| "info".to_owned()),
            max_body_bytes: number(&var, "TUMAINI_MAX_BODY_BYTES")?
                .or(from_file.max_body_bytes)
                .unwrap_or(1024 * 1024),
            db_pool_size: number(&var, "TUMAINI_DB_POOL_SIZE")?
                .or(from_file.db_pool_size)
                .unwrap_or(10),
            shutdown_timeout: Duration::from_secs(
                number(&var, "TUMAINI_SHUTDOWN_TIMEOUT_SECS")?
                    .or(from_file.shutdown_timeout_secs)
                    .unwrap_or(30),
            ),
            workers: number(&var, "TUMAINI_WORKERS")?.or(from_file.workers),
            master_key: match (var("TUMAINI_MASTER_KEY"), var("TUMAINI_MASTER_KEY_FILE")) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::Invalid {
                        setting: "TUMAINI_MASTER_KEY",
                        reason: "set TUMAINI_MASTER_KEY or TUMAINI_MASTER_KEY_FILE, not both"
                            .to_owned(),
                    });
                }
                (Some(inline), None) => MasterKeySource::Inline(SecretString::new(inline)),
                (None, Some(path)) => MasterKeySource::File(path.into()),
                (None, None) => match from_file.master_key_file {
                    Some(path) => MasterKeySource::File(path),
                    None => MasterKeySource::GeneratedDefault(DEFAULT_MASTER_KEY_FILE.into()),
                },
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
        if self.bind.parse::<std::net::SocketAddr>().is_err()
            && !self
                .bind
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
        {
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
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        reason: e.message().to_owned(),
    })
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

fn number<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    setting: &'static str,
) -> Result<Option<T>, ConfigError> {
    var(setting)
        .map(|v| {
            v.trim().parse().map_err(|_| ConfigError::Invalid {
                setting,
                reason: "expected a whole number".to_owned(),
            })
        })
        .transpose()
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
            ("TUMAINI_MASTER_KEY", "1:c2VjcmV0LWtleS1tYXRlcmlhbA=="),
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
        let ok = from(&[
            ("TUMAINI_ENV", "production"),
            ("DATABASE_URL", "postgres://app:pw@db/tumaini"),
            ("TUMAINI_MASTER_KEY_FILE", "/etc/tumaini/master.key"),
        ])
        .unwrap();
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
        assert!(matches!(err, ConfigError::File { .. }));
    }
}
