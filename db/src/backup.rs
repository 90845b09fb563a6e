//! The statements behind `tumaini backup` and `tumaini restore`: a consistent online copy of a
//! SQLite database, the checks a copy must pass, and what a restore needs to know about the
//! database it is about to fill. Driving `pg_dump` and `pg_restore` is the command line's work;
//! the SQL is here, with every other statement.
//!
//! The SQLite copy is `VACUUM INTO`, not SQLite's online backup API: diesel 2.3 does not expose
//! the raw `sqlite3` handle the backup API needs, and the workspace forbids `unsafe`. `VACUUM
//! INTO` reads the database in one read transaction, so the copy is one consistent snapshot;
//! in WAL mode it blocks no writer while it runs, and the copy comes out compacted.

use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::{DbConn, DbError};

/// Why a copy could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Only a SQLite database is copied with SQL; PostgreSQL's copy is `pg_dump`'s.
    #[error("an SQL copy is for SQLite only; PostgreSQL is copied with pg_dump")]
    NotSqlite,
    /// SQLite takes the destination as text.
    #[error("the destination path is not valid UTF-8")]
    PathNotUtf8,
    /// The database refused.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Writes a consistent copy of the SQLite database `conn` is open on to `destination`, which
/// must not exist yet (SQLite refuses to write into an existing non-empty file). Writers carry
/// on meanwhile; what they commit after the copy's read transaction began is not in it.
pub fn sqlite_copy_into(conn: &mut DbConn, destination: &Path) -> Result<(), CopyError> {
    let DbConn::Sqlite(conn) = conn else {
        return Err(CopyError::NotSqlite);
    };
    let target = destination.to_str().ok_or(CopyError::PathNotUtf8)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(conn)
        .map_err(|err| CopyError::Db(err.into()))?;
    Ok(())
}

#[derive(QueryableByName)]
struct IntegrityLine {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// SQLite's `PRAGMA integrity_check` on the database `conn` is open on: an empty list when
/// the file is sound, otherwise what SQLite found (page and index numbers, never row values).
/// PostgreSQL has no equivalent; there the list is always empty.
pub fn integrity_problems(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let DbConn::Sqlite(conn) = conn else {
        return Ok(Vec::new());
    };
    let lines: Vec<IntegrityLine> = diesel::sql_query("PRAGMA integrity_check").load(conn)?;
    Ok(lines
        .into_iter()
        .map(|line| line.integrity_check)
        .filter(|line| line != "ok")
        .collect())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Whether the database already holds Tumaini's tables (the migration bookkeeping table, or
/// any table of the application's): a restore into it would overwrite someone's data.
pub fn holds_tables(conn: &mut DbConn) -> Result<bool, DbError> {
    let query = match conn {
        DbConn::Sqlite(_) => {
            "SELECT COUNT(*) AS n FROM sqlite_master
              WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        }
        DbConn::Postgresql(_) => {
            "SELECT COUNT(*) AS n FROM information_schema.tables
              WHERE table_schema = current_schema()"
        }
    };
    let counted: Count = diesel::sql_query(query).get_result(conn)?;
    Ok(counted.n > 0)
}

#[derive(QueryableByName)]
struct ServerVersion {
    #[diesel(sql_type = Text)]
    server_version_num: String,
}

/// The PostgreSQL server's major version (15 for 15.10), which `pg_dump` and `pg_restore` must
/// not be older than. `None` on SQLite.
pub fn postgres_major_version(conn: &mut DbConn) -> Result<Option<u32>, DbError> {
    let DbConn::Postgresql(conn) = conn else {
        return Ok(None);
    };
    let row: ServerVersion = diesel::sql_query("SHOW server_version_num").get_result(conn)?;
    Ok(row
        .server_version_num
        .trim()
        .parse::<u32>()
        .ok()
        .map(|number| number / 10_000))
}
