//! Tumaini's storage layer: every SQL statement the system runs lives in this crate.
//!
//! One code base serves two engines: SQLite (the embedded default, for a single office or a
//! laptop at a border post) and PostgreSQL (production, N stateless API replicas). The engine is
//! chosen from the database URL's scheme ([`DatabaseUrl`]), never by trial. Column types are the
//! portable subset both engines share: ids are UUID v7 text, times are UTC timestamps truncated to
//! microseconds, vocabularies are text codes, ciphertext is binary.

/// Stores a type as TEXT on both engines: written through `$as_str`, read back (and checked)
/// through its `FromStr`, so a value that is not well-formed in the database fails to load
/// instead of entering the program.
macro_rules! text_column {
    ($ty:ty, $as_str:ident) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.$as_str().to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                Ok(String::from_sql(bytes)?.parse()?)
            }
        }
    };
}

pub mod audit_chain;
pub mod backup;
mod connection;
pub mod country;
mod error;
pub mod ids;
pub mod introspection;
pub mod migrations;
pub mod models;
pub mod schema;
pub mod time;
pub mod vault;
pub mod vocabulary;

pub use connection::{
    ClientToolTarget, DatabaseUrl, DbConn, Engine, Pool, PoolObserver, PoolOptions, PooledConn,
    UrlError, build_pool, discard, statements_run,
};
pub use error::{DbError, Unavailability};
