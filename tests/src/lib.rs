//! Test harness for Tumaini: every storage and HTTP test runs against both engines.
//!
//! - [`TestDb`] is a fresh database per test: a new SQLite file in a temporary directory, or a
//!   new PostgreSQL database created from `TUMAINI_TEST_PG_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`) and dropped when the test ends.
//! - [`both_engines!`] turns one test function into a `sqlite` and a `postgres` test. When
//!   PostgreSQL is unreachable the `postgres` half reports the skipped check (see [`skip`]) and
//!   passes, unless `TUMAINI_REQUIRE_PG=1`, when it fails.
//! - [`TestServer`] serves the real application over real HTTP on a loopback port.
//! - [`binary`] finds the real `tumaini` executable for process-level tests.

#![expect(
    clippy::expect_used,
    reason = "test harness: a failed set-up must stop the test loudly"
)]

pub mod bench;
pub mod console;
mod db;
pub mod mail_dir;
pub mod seed;
mod server;
pub mod skip;
pub mod smtp;
pub mod webhook_sink;

pub use db::{TestDb, pg_admin_url, postgres_required};
pub use server::{TestResponse, TestServer, test_config};
pub use tumaini_db::Engine;

/// The real `tumaini` binary built by `cargo test --workspace` (or `TUMAINI_BIN`).
pub fn binary() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("TUMAINI_BIN") {
        return path.into();
    }
    // This test executable lives in target/<profile>/deps/; the binary in target/<profile>/.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/<profile> directory");
    let path = profile_dir.join(format!("tumaini{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace` (it builds the binary) or set TUMAINI_BIN",
        path.display()
    );
    path
}

/// Declares a test that runs once on SQLite and once on PostgreSQL, each on a fresh, migrated
/// database. The test is an ordinary function taking the database, which rustfmt formats like
/// any other; the macro call after it, `both_engines!(name);`, makes `name::sqlite` and
/// `name::postgres` (a module may share its name with a function):
///
/// ```text
/// fn a_case_is_registered(db: TestDb) {
///     let server = TestServer::start(&db);
///     // ...
/// }
///
/// both_engines!(a_case_is_registered);
/// ```
///
/// Attributes before the name (`both_engines!(#[cfg(unix)] name);`) apply to the module.
#[macro_export]
macro_rules! both_engines {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(
                    $crate::TestDb::migrated($crate::Engine::Sqlite).expect("SQLite is embedded"),
                );
            }

            #[test]
            fn postgres() {
                if let Some(db) = $crate::TestDb::migrated($crate::Engine::Postgres) {
                    super::$name(db);
                }
            }
        }
    };
}
