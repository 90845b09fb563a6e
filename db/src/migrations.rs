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

/// Applies every pending migration and returns the versions applied, oldest first.
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    match conn {
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
    }
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

/// Reverts every applied migration, newest first. For tests and for a developer's reset; the
/// CLI does not offer it.
pub fn revert_all(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    match conn {
        DbConn::Sqlite(conn) => conn.revert_all_migrations(SQLITE).map(versions),
        DbConn::Postgresql(conn) => conn.revert_all_migrations(POSTGRES).map(versions),
    }
    .map_err(failed)
}
