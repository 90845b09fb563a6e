//! The storage error type. Messages here may reach logs, never an HTTP client: the API maps
//! each variant to a problem type and keeps the cause server-side.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

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
    /// Applying or inspecting migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Query(#[source] DieselError),
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
            other => Self::Query(other),
        }
    }
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
}

impl From<diesel::r2d2::PoolError> for DbError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(err.to_string())
    }
}
