//! What the live database holds: tables and columns, read from each engine's catalogue. Used to
//! prove that both migration trees build the same schema.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use crate::{DbConn, DbError};

/// One column of one table, with its type reduced to the portable vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, QueryableByName)]
pub struct ColumnInfo {
    /// Table name.
    #[diesel(sql_type = Text)]
    pub table_name: String,
    /// Column name.
    #[diesel(sql_type = Text)]
    pub column_name: String,
    /// The engine's own type name; see [`ColumnInfo::portable_type`].
    #[diesel(sql_type = Text)]
    pub data_type: String,
    /// Whether the column refuses NULL.
    #[diesel(sql_type = Bool)]
    pub not_null: bool,
}

impl ColumnInfo {
    /// The type as one of `text`, `boolean`, `timestamp`, `binary`, `integer`, `bigint`,
    /// whichever engine reported it; anything else is returned lower-cased as it came.
    pub fn portable_type(&self) -> String {
        let lowered = self.data_type.to_ascii_lowercase();
        match lowered.as_str() {
            "text" | "character varying" | "varchar" => "text",
            "boolean" | "bool" => "boolean",
            "timestamp" | "timestamp without time zone" => "timestamp",
            "blob" | "bytea" | "binary" => "binary",
            "integer" | "int" | "int4" => "integer",
            "bigint" | "int8" => "bigint",
            other => return other.to_owned(),
        }
        .to_owned()
    }
}

/// Every column of every application table (the migration bookkeeping table excluded), ordered
/// by table and position.
pub fn columns(conn: &mut DbConn) -> Result<Vec<ColumnInfo>, DbError> {
    let query = match conn {
        DbConn::Sqlite(_) => {
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type,
                    p.\"notnull\" AS not_null
               FROM sqlite_master m JOIN pragma_table_info(m.name) p
              WHERE m.type = 'table'
                AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                AND m.name <> '__diesel_schema_migrations'
              ORDER BY m.name, p.cid"
        }
        DbConn::Postgresql(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name,
                    data_type::text AS data_type, (is_nullable = 'NO') AS not_null
               FROM information_schema.columns
              WHERE table_schema = current_schema()
                AND table_name <> '__diesel_schema_migrations'
              ORDER BY table_name, ordinal_position"
        }
    };
    Ok(diesel::sql_query(query).load(conn)?)
}
