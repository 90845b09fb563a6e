//! Tumaini's storage layer: every SQL statement the system runs lives in this crate.
//!
//! One code base serves two engines: SQLite (the embedded default, for a single office or a
//! laptop at a border post) and PostgreSQL (production, N stateless API replicas). The engine is
//! chosen from the database URL's scheme ([`DatabaseUrl`]), never by trial. Column types are the
//! portable subset both engines share: ids are UUID v7 text, times are UTC timestamps truncated to
//! microseconds, vocabularies are text codes, ciphertext is binary.

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
    DatabaseUrl, DbConn, Engine, Pool, PoolOptions, PooledConn, UrlError, build_pool,
};
pub use error::DbError;
