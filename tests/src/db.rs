//! Fresh databases, one per test.

use std::sync::OnceLock;

use diesel::RunQueryDsl as _;
use tumaini_db::{DatabaseUrl, DbConn, Engine, Pool, PoolOptions, build_pool, migrations};

use crate::skip::{self, Prerequisite};

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("TUMAINI_TEST_PG_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Whether a missing PostgreSQL fails the run (`TUMAINI_REQUIRE_PG=1`, as CI sets it).
pub fn postgres_required() -> bool {
    Prerequisite::Postgres.required()
}

/// `Ok` when the PostgreSQL server answers; checked once per test process.
fn postgres_reachable() -> &'static Result<(), String> {
    static REACHABLE: OnceLock<Result<(), String>> = OnceLock::new();
    REACHABLE.get_or_init(|| {
        let url = DatabaseUrl::parse(&pg_admin_url()).map_err(|e| e.to_string())?;
        url.connect().map(drop).map_err(|e| e.to_string())
    })
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    /// Its URL.
    pub url: DatabaseUrl,
    /// For SQLite: the directory holding the file, removed on drop.
    dir: Option<tempfile::TempDir>,
    /// For PostgreSQL: the database's name, dropped on drop.
    pg_name: Option<String>,
}

impl TestDb {
    /// A fresh, empty database, or `None` for PostgreSQL when it is unreachable and not
    /// required (after reporting the skipped check: see [`crate::skip`]).
    pub fn empty(engine: Engine) -> Option<TestDb> {
        skip::begin();
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path = dir.path().join("tumaini.db");
                let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display()))
                    .expect("sqlite URL");
                Some(TestDb {
                    url,
                    dir: Some(dir),
                    pg_name: None,
                })
            }
            Engine::Postgres => {
                if let Err(reason) = postgres_reachable() {
                    let at = DatabaseUrl::parse(&pg_admin_url())
                        .map_or_else(|_| "an unparsable URL".into(), |u| u.redacted());
                    skip::skip(
                        Prerequisite::Postgres,
                        &format!("PostgreSQL not reachable at {at} ({})", reason.trim()),
                    );
                    return None;
                }
                let name = format!("tumaini_test_{}", uuid::Uuid::now_v7().simple());
                let admin_url = pg_admin_url();
                let mut admin = DatabaseUrl::parse(&admin_url)
                    .expect("admin URL")
                    .connect()
                    .expect("connect to PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .expect("create test database");
                let url = DatabaseUrl::parse(&with_database(&admin_url, &name)).expect("test URL");
                Some(TestDb {
                    url,
                    dir: None,
                    pg_name: Some(name),
                })
            }
        }
    }

    /// A fresh database with every migration applied.
    pub fn migrated(engine: Engine) -> Option<TestDb> {
        let db = Self::empty(engine)?;
        migrations::run_pending(&mut db.conn()).expect("migrations apply");
        Some(db)
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.url.engine()
    }

    /// The URL as text, with its password, for handing to a child process.
    pub fn url_string(&self) -> String {
        match self.url.sqlite_path() {
            Some(path) => format!("sqlite://{}", path.display()),
            None => with_database(&pg_admin_url(), self.pg_name.as_deref().unwrap_or_default()),
        }
    }

    /// One new connection.
    pub fn conn(&self) -> DbConn {
        self.url.connect().expect("connect to test database")
    }

    /// A small pool, as the server would have.
    pub fn pool(&self) -> Pool {
        build_pool(
            &self.url,
            PoolOptions {
                max_size: 4,
                ..PoolOptions::default()
            },
        )
        .expect("pool")
    }

    /// A pool like [`TestDb::pool`] whose waits for a connection are told to `observer`.
    pub fn observed_pool(&self, observer: std::sync::Arc<dyn tumaini_db::PoolObserver>) -> Pool {
        build_pool(
            &self.url,
            PoolOptions {
                max_size: 4,
                observer: Some(observer),
                ..PoolOptions::default()
            },
        )
        .expect("pool")
    }

    /// The SQLite file's directory (SQLite only).
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(tempfile::TempDir::path)
    }

    /// What someone with the storage reads: the SQLite file with its write-ahead log and
    /// shared-memory index, or a `pg_dump` of the PostgreSQL database (binary values written
    /// as lower-case hex), as bytes.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match self.engine() {
            Engine::Sqlite => {
                let file = self
                    .dir()
                    .expect("a SQLite database's directory")
                    .join("tumaini.db");
                ["", "-wal", "-shm"]
                    .iter()
                    .flat_map(|suffix| {
                        std::fs::read(format!("{}{suffix}", file.display())).unwrap_or_default()
                    })
                    .collect()
            }
            Engine::Postgres => {
                let dump = std::process::Command::new("pg_dump")
                    .arg("--no-owner")
                    .arg(self.url_string())
                    .output()
                    .expect("pg_dump");
                assert!(
                    dump.status.success(),
                    "{}",
                    String::from_utf8_lossy(&dump.stderr)
                );
                dump.stdout
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = &self.pg_name else { return };
        let Ok(mut admin) = DatabaseUrl::parse(&pg_admin_url()).map(|u| u.connect()) else {
            return;
        };
        if let Ok(admin) = admin.as_mut() {
            // FORCE ends connections a pool may still hold.
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(admin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
