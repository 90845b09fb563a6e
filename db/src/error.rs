//! The storage error type. Messages here may reach logs, never an HTTP client: the API maps
//! each variant to a problem type and keeps the cause server-side.
//!
//! A failure of the database itself (a lost connection, a server shutting down, a full disk, a
//! timeout, a transaction that lost a race) is told apart from a failure of the query: the first
//! kind passes and is answered 503 with `Retry-After`, the second is a bug and answered 500.

use std::fmt;

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};

/// What went wrong talking to the database, in the terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row asked for does not exist (or is not visible to the query).
    #[error("record not found")]
    NotFound,
    /// A uniqueness or foreign-key rule refused the write; `constraint` names the rule when the
    /// engine reports it.
    #[error("conflict with existing data ({constraint})")]
    Conflict {
        /// The constraint the engine named, or "unknown".
        constraint: String,
    },
    /// No connection could be had from the pool in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database could not do the work now, for a reason that passes (see
    /// [`Unavailability`]); the work was not done, or its transaction rolled back.
    #[error("database temporarily unavailable ({reason}): {message}")]
    Interrupted {
        /// Why.
        reason: Unavailability,
        /// The engine's primary message (never its detail, which may quote values).
        message: String,
    },
    /// Applying or inspecting migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Query(#[source] DieselError),
}

/// Why the database cannot serve now though it may shortly: every one is answered 503 with a
/// `Retry-After` of [`Unavailability::retry_after_secs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unavailability {
    /// No connection could be had in time (the pool's wait, or the server refusing new ones).
    NoConnection,
    /// The connection broke: the server stopped, restarted, crashed or cut it (PostgreSQL
    /// SQLSTATE class 08, 57P01, 57P02, 57P03, 25P03, 57P05; libpq's "server closed the
    /// connection unexpectedly").
    ConnectionLost,
    /// The transaction lost a race with another (40001 serialization failure, 40P01 deadlock)
    /// and was rolled back whole: running it again may succeed.
    Contention,
    /// A statement or a lock wait took longer than allowed (57014, 55P03; SQLite's "database
    /// is locked" after its busy timeout), or the request's bound on database work passed.
    Timeout,
    /// The disk holding the database is full (53100; SQLITE_FULL).
    DiskFull,
    /// The database takes no writes: a read-only standby (25006) or a read-only file
    /// (SQLITE_READONLY).
    ReadOnly,
    /// The engine ran out of memory or connections, or its storage failed to read or write
    /// (53200, 53300; SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_NOMEM).
    Resources,
}

impl Unavailability {
    /// A short name for logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NoConnection => "no_connection",
            Self::ConnectionLost => "connection_lost",
            Self::Contention => "contention",
            Self::Timeout => "timeout",
            Self::DiskFull => "disk_full",
            Self::ReadOnly => "read_only",
            Self::Resources => "resources",
        }
    }

    /// How long a client should wait before trying again: short for a race or a timeout,
    /// longer for what needs an operator (a full disk).
    pub const fn retry_after_secs(self) -> u32 {
        match self {
            Self::Contention => 1,
            Self::NoConnection | Self::Timeout => 2,
            Self::ConnectionLost => 5,
            Self::Resources => 10,
            Self::DiskFull | Self::ReadOnly => 30,
        }
    }

    /// What the caller is told: what is wrong, never an engine's message.
    pub const fn explanation(self) -> &'static str {
        match self {
            Self::NoConnection | Self::ConnectionLost => {
                "the database is not reachable; try again shortly"
            }
            Self::Contention => "the request collided with another; try again",
            Self::Timeout => "the database did not answer in time; try again shortly",
            Self::DiskFull => "the database cannot write: its disk is full",
            Self::ReadOnly => "the database takes no changes now (it is read-only)",
            Self::Resources => "the database is short of resources or failing to read or write",
        }
    }

    /// Reads an engine's error. diesel names a few kinds itself; the rest arrive as
    /// `Unknown` and are told apart by the primary message, which PostgreSQL and SQLite word
    /// in fixed English (SQLSTATEs are not exposed by diesel 2.3 beyond its kinds).
    pub fn of_database_error(
        kind: &DatabaseErrorKind,
        info: &dyn DatabaseErrorInformation,
    ) -> Option<Self> {
        match kind {
            DatabaseErrorKind::SerializationFailure => Some(Self::Contention),
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                Some(Self::ConnectionLost)
            }
            DatabaseErrorKind::ReadOnlyTransaction => Some(Self::ReadOnly),
            _ => Self::of_message(info.message()),
        }
    }

    /// Classifies an engine's primary message (see [`Unavailability::of_database_error`]).
    pub fn of_message(message: &str) -> Option<Self> {
        let message = message.to_ascii_lowercase();
        let has = |needle: &str| message.contains(needle);
        if has("deadlock detected") || has("could not serialize access") {
            Some(Self::Contention)
        } else if has("statement timeout")
            || has("lock timeout")
            || has("could not obtain lock")
            || has("canceling statement due to user request")
            || has("database is locked")
            || has("database table is locked")
        {
            Some(Self::Timeout)
        } else if has("database or disk is full")
            || has("no space left on device")
            || has("could not extend file")
        {
            Some(Self::DiskFull)
        } else if has("readonly database")
            || has("read-only database")
            || has("read-only transaction")
            || has("read-only file system")
        {
            Some(Self::ReadOnly)
        } else if has("terminating connection")
            || has("server closed the connection")
            || has("no connection to the server")
            || has("could not receive data from server")
            || has("could not send data to server")
            || has("connection to server")
            || has("ssl syscall error")
            || has("ssl connection has been closed")
            || has("the database system is starting up")
            || has("the database system is shutting down")
            || has("the database system is in recovery mode")
            || has("the database system is not yet accepting connections")
            || has("the database system is not accepting connections")
            || has("canceling statement due to conflict with recovery")
        {
            Some(Self::ConnectionLost)
        } else if has("disk i/o error")
            || has("unable to open database file")
            || has("out of memory")
            || has("too many clients")
            || has("too many connections")
            || has("remaining connection slots are reserved")
        {
            Some(Self::Resources)
        } else {
            None
        }
    }
}

impl fmt::Display for Unavailability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<DieselError> for DbError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(
                kind
                @ (DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation),
                info,
            ) => Self::Conflict {
                constraint: info.constraint_name().map(str::to_owned).unwrap_or_else(
                    || match kind {
                        DatabaseErrorKind::UniqueViolation => "unique".to_owned(),
                        _ => "foreign_key".to_owned(),
                    },
                ),
            },
            DieselError::DatabaseError(kind, info) => {
                match Unavailability::of_database_error(&kind, info.as_ref()) {
                    Some(reason) => Self::Interrupted {
                        reason,
                        message: first_line(info.message()),
                    },
                    None => Self::Query(DieselError::DatabaseError(kind, info)),
                }
            }
            // A COMMIT that failed and whose ROLLBACK failed too: the COMMIT's error says why.
            DieselError::RollbackErrorOnCommit { commit_error, .. } => Self::from(*commit_error),
            // A rollback that failed (on a connection the server cut, say): the connection is
            // unusable and the pool discards it.
            DieselError::BrokenTransactionManager => Self::Interrupted {
                reason: Unavailability::ConnectionLost,
                message: "the transaction could not be closed".to_owned(),
            },
            other => Self::Query(other),
        }
    }
}

/// libpq's messages run over several lines (a hint follows); the first says what happened.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim().to_owned()
}

impl DbError {
    /// The cause, when a stored value could not be read as its type (a code no vocabulary
    /// knows, written into the database by hand, say).
    pub fn undecodable(&self) -> Option<&(dyn std::error::Error + Send + Sync)> {
        match self {
            Self::Query(DieselError::DeserializationError(cause)) => Some(cause.as_ref()),
            _ => None,
        }
    }

    /// Why the database cannot serve now, when that is what went wrong: the caller answers
    /// 503 and may try again; `None` for errors of the request or the code.
    pub fn unavailability(&self) -> Option<Unavailability> {
        match self {
            Self::Unavailable(_) => Some(Unavailability::NoConnection),
            Self::Interrupted { reason, .. } => Some(*reason),
            _ => None,
        }
    }

    /// Whether the transaction lost a race and was rolled back whole, so that running it once
    /// more may succeed.
    pub fn is_contention(&self) -> bool {
        self.unavailability() == Some(Unavailability::Contention)
    }

    /// The request's bound on database work passed (see `TUMAINI_DB_TIMEOUT_MS`).
    pub fn deadline_passed(bound: std::time::Duration) -> Self {
        Self::Interrupted {
            reason: Unavailability::Timeout,
            message: format!("no answer within {} ms", bound.as_millis()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An engine's error as diesel hands it over: a kind and a primary message.
    fn engine_error(kind: DatabaseErrorKind, message: &str) -> DbError {
        DbError::from(DieselError::DatabaseError(
            kind,
            Box::new(message.to_owned()),
        ))
    }

    fn reason(kind: DatabaseErrorKind, message: &str) -> Option<Unavailability> {
        engine_error(kind, message).unavailability()
    }

    #[test]
    fn failures_of_the_database_are_told_from_failures_of_the_query() {
        use DatabaseErrorKind::{
            ClosedConnection, ReadOnlyTransaction, SerializationFailure, UnableToSendCommand,
            Unknown,
        };
        use Unavailability::*;
        let cases: &[(DatabaseErrorKind, &str, Option<Unavailability>)] = &[
            // PostgreSQL, by SQLSTATE.
            (
                Unknown,
                "terminating connection due to administrator command",
                Some(ConnectionLost),
            ), // 57P01
            (
                Unknown,
                "terminating connection due to crash of another server process",
                Some(ConnectionLost),
            ), // 57P02
            (
                Unknown,
                "the database system is shutting down",
                Some(ConnectionLost),
            ), // 57P03
            (
                Unknown,
                "the database system is starting up",
                Some(ConnectionLost),
            ), // 57P03
            (
                Unknown,
                "canceling statement due to statement timeout",
                Some(Timeout),
            ), // 57014
            (
                Unknown,
                "canceling statement due to lock timeout",
                Some(Timeout),
            ), // 55P03
            (
                Unknown,
                "could not obtain lock on row in relation \"cases\"",
                Some(Timeout),
            ), // 55P03
            (Unknown, "deadlock detected", Some(Contention)), // 40P01
            (
                SerializationFailure,
                "could not serialize access due to concurrent update",
                Some(Contention),
            ), // 40001
            (
                Unknown,
                "could not extend file \"base/16384/16385\": No space left on device",
                Some(DiskFull),
            ), // 53100
            (Unknown, "sorry, too many clients already", Some(Resources)), // 53300
            (
                Unknown,
                "terminating connection due to idle-in-transaction timeout",
                Some(ConnectionLost),
            ), // 25P03
            (
                ReadOnlyTransaction,
                "cannot execute INSERT in a read-only transaction",
                Some(ReadOnly),
            ), // 25006
            (
                ClosedConnection,
                "server closed the connection unexpectedly\n\tThis probably means the server \
                 terminated abnormally",
                Some(ConnectionLost),
            ), // 08006
            (
                UnableToSendCommand,
                "no connection to the server",
                Some(ConnectionLost),
            ),
            // SQLite, by result code.
            (Unknown, "database or disk is full", Some(DiskFull)), // SQLITE_FULL
            (
                Unknown,
                "attempt to write a readonly database",
                Some(ReadOnly),
            ), // SQLITE_READONLY
            (Unknown, "database is locked", Some(Timeout)),        // SQLITE_BUSY
            (Unknown, "database table is locked", Some(Timeout)),  // SQLITE_LOCKED
            (Unknown, "disk I/O error", Some(Resources)),          // SQLITE_IOERR
            (Unknown, "unable to open database file", Some(Resources)), // SQLITE_CANTOPEN
            // Failures of the query stay failures of the query.
            (Unknown, "relation \"cases\" does not exist", None),
            (Unknown, "syntax error at or near \"SELEC\"", None),
            (Unknown, "no such table: cases", None),
            (Unknown, "datatype mismatch", None),
        ];
        for (kind, message, expected) in cases {
            let kind_name = format!("{kind:?}");
            assert_eq!(reason(*kind, message), *expected, "{kind_name}: {message}");
        }
    }

    #[test]
    fn an_interrupted_error_keeps_only_the_first_line_of_the_message() {
        let err = engine_error(
            DatabaseErrorKind::ClosedConnection,
            "server closed the connection unexpectedly\n\tThis probably means...",
        );
        assert_eq!(
            err.to_string(),
            "database temporarily unavailable (connection_lost): server closed the connection \
             unexpectedly"
        );
    }

    #[test]
    fn constraint_violations_stay_conflicts_and_other_errors_stay_queries() {
        assert!(matches!(
            engine_error(DatabaseErrorKind::UniqueViolation, "duplicate key"),
            DbError::Conflict { .. }
        ));
        assert!(matches!(
            engine_error(DatabaseErrorKind::CheckViolation, "violates check"),
            DbError::Query(_)
        ));
        assert_eq!(DbError::NotFound.unavailability(), None);
        assert!(engine_error(DatabaseErrorKind::Unknown, "deadlock detected").is_contention());
        let commit = DieselError::RollbackErrorOnCommit {
            rollback_error: Box::new(DieselError::BrokenTransactionManager),
            commit_error: Box::new(DieselError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new("database or disk is full".to_owned()),
            )),
        };
        assert_eq!(
            DbError::from(commit).unavailability(),
            Some(Unavailability::DiskFull),
            "a failed commit is judged by the commit's error"
        );
    }

    #[test]
    fn every_unavailability_asks_for_a_short_wait() {
        use Unavailability::*;
        for reason in [
            NoConnection,
            ConnectionLost,
            Contention,
            Timeout,
            DiskFull,
            ReadOnly,
            Resources,
        ] {
            assert!((1..=30).contains(&reason.retry_after_secs()), "{reason}");
        }
    }
}
