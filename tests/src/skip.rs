//! Checks that did not run, said where a person reading the output sees them.
//!
//! Some checks need something a machine may lack: a PostgreSQL server, the aiosmtpd SMTP
//! server, openapi-spec-validator, openapi-python-client and schemathesis, a browser for the
//! web console's tests (Chromium, Node.js and `tests/console`'s npm packages). Without it the
//! check is skipped and its test passes, unless the matching `TUMAINI_REQUIRE_*` variable is
//! `1` (as CI sets them), when the test fails.
//! A skip is never silent: [`skip`] writes one line straight to the process's standard error,
//! which the test harness does not capture (it captures the `print!` and `eprint!` macros, not
//! writes through [`std::io::stderr`]), so it shows in the output of a passing run:
//!
//! ```text
//! SKIPPED referrals::a_referral_needs_consent_and_goes_through_every_step::postgres: PostgreSQL
//! not reachable at postgres://postgres@127.0.0.1:5432/postgres (...); `apt-get install ...
//! ```
//!
//! Each line is also appended to `<target dir>/tumaini-skipped-checks.txt`. The file belongs to
//! one run: its first line names the process that started the test executables (cargo, for
//! `cargo test`), and the first test of a new run to open a database or skip a check starts the
//! file afresh. A run that opened a database and skipped nothing leaves the header only.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Something a check needs that a machine may lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prerequisite {
    /// A PostgreSQL server at `TUMAINI_TEST_PG_URL`.
    Postgres,
    /// The aiosmtpd SMTP server (PyPI), for the tests of delivery to a real relay.
    SmtpSink,
    /// openapi-spec-validator (PyPI), for the validation of the OpenAPI document.
    OpenapiValidator,
    /// The API client tools (PyPI): openapi-python-client, which generates a client from the
    /// document, and schemathesis, which tests the server against it.
    ApiClientTools,
    /// A PostgreSQL cluster of the test's own (`initdb` and `pg_ctl`, run as the `postgres`
    /// user), for the fault tests that stop and freeze it. Required with PostgreSQL itself.
    PrivateCluster,
    /// A small tmpfs the test mounts (root, or a container allowed to mount), for the fault
    /// test that fills the disk under SQLite.
    Tmpfs,
    /// A headless browser for the web console's tests: Chromium, Node.js, and the npm packages
    /// of `tests/console` (playwright-core to drive Chromium, axe-core to check every page).
    Browser,
}

impl Prerequisite {
    /// The variable that makes a missing prerequisite fail the run instead.
    pub fn require_variable(self) -> &'static str {
        match self {
            Self::Postgres | Self::PrivateCluster => "TUMAINI_REQUIRE_PG",
            Self::Tmpfs => "TUMAINI_REQUIRE_TMPFS",
            Self::SmtpSink => "TUMAINI_REQUIRE_SMTP_SINK",
            Self::OpenapiValidator => "TUMAINI_REQUIRE_OPENAPI_VALIDATOR",
            Self::ApiClientTools => "TUMAINI_REQUIRE_API_CLIENT_TOOLS",
            Self::Browser => "TUMAINI_REQUIRE_BROWSER",
        }
    }

    /// Whether the run requires it (`1` or `true`).
    pub fn required(self) -> bool {
        std::env::var(self.require_variable())
            .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    }

    /// What to do to run the checks that need it.
    fn remedy(self) -> &'static str {
        match self {
            Self::Postgres => {
                "`apt-get install postgresql` and start it, or set TUMAINI_TEST_PG_URL to a \
                 server that accepts CREATE DATABASE"
            }
            Self::SmtpSink => "`pip install aiosmtpd`",
            Self::OpenapiValidator => "`pip install openapi-spec-validator`",
            Self::ApiClientTools => "`pip install openapi-python-client schemathesis`",
            Self::PrivateCluster => {
                "`apt-get install postgresql` (initdb and pg_ctl under /usr/lib/postgresql/<version>/bin, \
                 or set TUMAINI_PG_BIN), and run the tests as root or as the postgres user"
            }
            Self::Tmpfs => {
                "run the tests as root (or with CAP_SYS_ADMIN) so that they can mount a tmpfs"
            }
            Self::Browser => {
                "`apt-get install chromium nodejs npm`, then `npm ci` in tests/console (as .ci/run \
                 does), or set TUMAINI_CHROMIUM to a Chromium executable"
            }
        }
    }
}

/// Reports that the running test skips a check for lack of `missing` (`reason` says what was
/// found), or fails the test when the run requires `missing`. The caller then returns.
#[track_caller]
pub fn skip(missing: Prerequisite, reason: &str) {
    let reason = one_line(reason);
    assert!(
        !missing.required(),
        "{}=1 but {reason}",
        missing.require_variable()
    );
    let line = format!(
        "SKIPPED {}: {reason}; {} ({}=1 makes this a failure)\n",
        test_name(),
        missing.remedy(),
        missing.require_variable()
    );
    // Straight to the process's standard error: libtest captures `eprint!`, not this.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    if let Some(path) = run_file() {
        let _ = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
    }
}

/// Starts this run's record of skipped checks, if this process is the first of the run to get
/// here. Called when a test opens a database, so that a run that skips nothing still leaves an
/// empty record rather than the last run's.
pub(crate) fn begin() {
    let _ = run_file();
}

/// The name of the running test: libtest runs each test on a thread named after it. A program
/// with its own `main` (a benchmark) is named after its executable.
fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .map_or_else(
                || "this program".to_owned(),
                |stem| match stem.rsplit_once('-') {
                    // cargo names a test or benchmark executable `<name>-<hash>`.
                    Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => {
                        name.to_owned()
                    }
                    _ => stem,
                },
            ),
    }
}

/// Whitespace runs (a driver's error may span lines) as single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `<target dir>/tumaini-skipped-checks.txt`, ready for this run's lines, or `None` when the
/// target directory cannot be told (an executable outside `target/<profile>/deps/`).
fn run_file() -> Option<&'static Path> {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FILE.get_or_init(|| {
        let exe = std::env::current_exe().ok()?;
        let deps = exe.parent()?;
        if deps.file_name()? != "deps" {
            return None;
        }
        let path = deps.parent()?.parent()?.join("tumaini-skipped-checks.txt");
        let header = format!("{RUN_HEADER}{}\n", run_id()?);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current.lines().next() != Some(header.trim_end()) {
            // Another run wrote it: this run starts it afresh. A temporary file renamed over
            // it, so that a reader never sees half a header.
            let fresh = path.with_extension("txt.new");
            std::fs::write(&fresh, &header).ok()?;
            std::fs::rename(&fresh, &path).ok()?;
        }
        Some(path)
    })
    .as_deref()
}

const RUN_HEADER: &str = "# Checks skipped by the test run of process ";

/// What the test executables of one run share: the process that started them (cargo for
/// `cargo test`, one after another; nextest for `cargo nextest run`).
#[cfg(unix)]
fn run_id() -> Option<u32> {
    Some(std::os::unix::process::parent_id())
}

/// Not told on this platform: no record file is written.
#[cfg(not(unix))]
fn run_id() -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_reason_is_one_line() {
        assert_eq!(
            one_line("connection refused\n\tIs the server running?  "),
            "connection refused Is the server running?"
        );
    }
}
