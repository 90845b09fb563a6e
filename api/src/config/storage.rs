//! Settings of the database's failure behaviour: how long a request waits on the database
//! before it is answered 503, the timeouts each connection is opened with, and what readiness
//! (`/readyz`) checks besides the database answering.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tumaini_db::{DatabaseUrl, PoolOptions};

use super::{ConfigError, Sources};

/// How long a request, and each statement, may wait on the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseTimeouts {
    /// The longest a request waits on the database, for a connection and then for each piece
    /// of its work, before it is answered 503 (`TUMAINI_DB_TIMEOUT_MS`).
    pub request: Duration,
    /// PostgreSQL's `statement_timeout` (`TUMAINI_DB_STATEMENT_TIMEOUT_MS`).
    pub statement: Duration,
    /// PostgreSQL's `lock_timeout` (`TUMAINI_DB_LOCK_TIMEOUT_MS`).
    pub lock: Duration,
    /// PostgreSQL's `idle_in_transaction_session_timeout`
    /// (`TUMAINI_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS`).
    pub idle_in_transaction: Duration,
    /// libpq's `connect_timeout` (`TUMAINI_DB_CONNECT_TIMEOUT_SECS`, at least 2).
    pub connect: Duration,
    /// SQLite's busy timeout: how long a statement waits for another connection's lock
    /// (`TUMAINI_SQLITE_BUSY_TIMEOUT_MS`).
    pub sqlite_busy: Duration,
}

impl DatabaseTimeouts {
    pub(super) fn from_sources(sources: &Sources<'_>) -> Result<Self, ConfigError> {
        let millis = |setting: &'static str, default: u64| -> Result<Duration, ConfigError> {
            let value: u64 = sources.number(setting)?.unwrap_or(default);
            if value == 0 || value > 3_600_000 {
                return Err(ConfigError::Invalid {
                    setting,
                    reason: "must be between 1 and 3600000 (milliseconds)".to_owned(),
                });
            }
            Ok(Duration::from_millis(value))
        };
        let connect_secs: u64 = sources
            .number("TUMAINI_DB_CONNECT_TIMEOUT_SECS")?
            .unwrap_or(3);
        if !(2..=3600).contains(&connect_secs) {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_DB_CONNECT_TIMEOUT_SECS",
                reason: "must be between 2 and 3600 (libpq waits at least 2 s)".to_owned(),
            });
        }
        Ok(Self {
            request: millis("TUMAINI_DB_TIMEOUT_MS", 5_000)?,
            statement: millis("TUMAINI_DB_STATEMENT_TIMEOUT_MS", 4_000)?,
            lock: millis("TUMAINI_DB_LOCK_TIMEOUT_MS", 2_000)?,
            idle_in_transaction: millis("TUMAINI_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 10_000)?,
            connect: Duration::from_secs(connect_secs),
            sqlite_busy: millis("TUMAINI_SQLITE_BUSY_TIMEOUT_MS", 3_000)?,
        })
    }

    /// The pool's options for these timeouts and `max_size` connections.
    pub fn pool_options(&self, max_size: u32) -> PoolOptions {
        PoolOptions {
            max_size,
            connection_timeout: self.request,
            sqlite_busy_timeout: self.sqlite_busy,
            statement_timeout: self.statement,
            lock_timeout: self.lock,
            idle_in_transaction_timeout: self.idle_in_transaction,
            connect_timeout: self.connect,
            observer: None,
        }
    }
}

/// What `/readyz` checks besides the database answering within its bound and its schema being
/// current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessSettings {
    /// SQLite: the directory of the database file, whose file system's free space is checked.
    pub sqlite_dir: Option<PathBuf>,
    /// SQLite: not ready when the database's file system has less free space than this
    /// (`TUMAINI_READY_MIN_FREE_DISK_MB`; 0 checks nothing). Every request, reads too, writes
    /// an audit event, so a full disk stops the service.
    pub min_free_disk_bytes: u64,
    /// Not ready when the audit sealer has not finished a round for longer than this
    /// (`TUMAINI_READY_AUDIT_SEAL_LAG_SECS`).
    pub audit_seal_lag: Duration,
    /// Not ready when the oldest unsent e-mail was queued longer ago than this
    /// (`TUMAINI_READY_OUTBOX_MAX_AGE_SECS`).
    pub outbox_max_age: Duration,
}

impl ReadinessSettings {
    pub(super) fn from_sources(
        sources: &Sources<'_>,
        database_url: &DatabaseUrl,
    ) -> Result<Self, ConfigError> {
        let free_mb: u64 = sources
            .number("TUMAINI_READY_MIN_FREE_DISK_MB")?
            .unwrap_or(64);
        let lag: u64 = sources
            .number("TUMAINI_READY_AUDIT_SEAL_LAG_SECS")?
            .unwrap_or(120);
        let outbox: u64 = sources
            .number("TUMAINI_READY_OUTBOX_MAX_AGE_SECS")?
            .unwrap_or(3600);
        for (setting, value) in [
            ("TUMAINI_READY_AUDIT_SEAL_LAG_SECS", lag),
            ("TUMAINI_READY_OUTBOX_MAX_AGE_SECS", outbox),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    setting,
                    reason: "must be at least 1 (seconds)".to_owned(),
                });
            }
        }
        Ok(Self {
            sqlite_dir: database_url.sqlite_path().map(|file| match file.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => Path::new(".").to_path_buf(),
            }),
            min_free_disk_bytes: free_mb.saturating_mul(1024 * 1024),
            audit_seal_lag: Duration::from_secs(lag),
            outbox_max_age: Duration::from_secs(outbox),
        })
    }
}
