//! Embedded migrations, one tree per engine (`migrations/sqlite`, `migrations/postgres`), with the
//! same folder names and the same tables and columns (a test holds them to it).
//!
//! SQLite databases are migrated when the server starts; PostgreSQL ones by `tumaini migrate`,
//! run by the role that owns the schema. On PostgreSQL the run holds an advisory lock, so
//! several replicas started at once apply each migration exactly once.

use diesel::migration::MigrationVersion;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{DbConn, DbError};

/// The SQLite migration tree.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
/// The PostgreSQL migration tree.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// An arbitrary, fixed key for `pg_advisory_lock`: "tumaini migrations".
const PG_MIGRATION_LOCK: i64 = 0x7475_6d61_696e_6901;

fn failed(err: impl std::fmt::Display) -> DbError {
    DbError::Migration(err.to_string())
}

fn versions(applied: Vec<MigrationVersion<'_>>) -> Vec<String> {
    applied.into_iter().map(|v| v.to_string()).collect()
}

/// Applies every pending migration and returns the versions applied, oldest first. Then the
/// regions stored before regions were a controlled list are brought onto the list
/// ([`crate::vocabulary::region::normalise_stored`]): on every run, not only the one that
/// applied that migration, so that an upgrade stopped between the two still finishes (it
/// changes nothing once done, and every region written since is checked against the list).
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConn::Sqlite(conn) => conn
            .run_pending_migrations(SQLITE)
            .map(versions)
            .map_err(failed),
        DbConn::Postgresql(conn) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))
                .execute(conn)?;
            let outcome = conn
                .run_pending_migrations(POSTGRES)
                .map(versions)
                .map_err(failed);
            diesel::sql_query(format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))
                .execute(conn)?;
            outcome
        }
    }?;
    let normalised = crate::vocabulary::region::normalise_stored(conn)?;
    if normalised > 0 {
        // A count only: the values themselves may be anything a person once typed.
        tracing::info!(
            records = normalised,
            "regions stored as free text brought onto the list"
        );
    }
    Ok(applied)
}

/// The versions not yet applied, oldest first. Empty means the schema is current.
pub fn pending(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    match conn {
        DbConn::Sqlite(conn) => conn.pending_migrations(SQLITE).map(|pending| {
            pending
                .iter()
                .map(|m| m.name().version().to_string())
                .collect()
        }),
        DbConn::Postgresql(conn) => conn.pending_migrations(POSTGRES).map(|pending| {
            pending
                .iter()
                .map(|m| m.name().version().to_string())
                .collect()
        }),
    }
    .map_err(failed)
}

/// Reverts the newest applied migration and returns its version. For tests (an upgrade from
/// the schema before it); the CLI does not offer it.
pub fn revert_last(conn: &mut DbConn) -> Result<String, DbError> {
    match conn {
        DbConn::Sqlite(conn) => conn.revert_last_migration(SQLITE),
        DbConn::Postgresql(conn) => conn.revert_last_migration(POSTGRES),
    }
    .map(|v| v.to_string())
    .map_err(failed)
}

/// Reverts every applied migration, newest first. For tests and for a developer's reset; the
/// CLI does not offer it.
pub fn revert_all(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    match conn {
        DbConn::Sqlite(conn) => conn.revert_all_migrations(SQLITE).map(versions),
        DbConn::Postgresql(conn) => conn.revert_all_migrations(POSTGRES).map(versions),
    }
    .map_err(failed)
}

/// Why an application role could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// Only PostgreSQL has roles.
    #[error("database roles exist on PostgreSQL only; SQLite relies on its triggers")]
    NotPostgres,
    /// The role name is not a plain identifier.
    #[error("a role name is letters, digits and underscores, starting with a letter")]
    BadName,
    /// The database refused.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Grants the server's own PostgreSQL role what it needs and no more: it reads and writes the
/// application's tables, but on the audit tables (`audit_events`, `audit_chain`,
/// `audit_checkpoints`) it may only SELECT and INSERT, never UPDATE, DELETE or TRUNCATE. Run by
/// the schema owner (the role that runs `tumaini migrate`) after every migration.
pub fn grant_app_role(conn: &mut DbConn, role: &str) -> Result<(), GrantError> {
    use diesel::connection::SimpleConnection as _;
    let plain = role.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && role.len() <= 63;
    if !plain {
        return Err(GrantError::BadName);
    }
    let DbConn::Postgresql(_) = conn else {
        return Err(GrantError::NotPostgres);
    };
    conn.batch_execute(&format!(
        "GRANT USAGE ON SCHEMA public TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
         REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_chain, audit_checkpoints FROM {role};
         REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON __diesel_schema_migrations FROM {role};"
    ))
    .map_err(|e| GrantError::Db(e.into()))?;
    Ok(())
}
