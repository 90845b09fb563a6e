//! `tumaini backup` and `tumaini restore`: a copy of the database taken while the server
//! serves, and that copy put back, checked, on a fresh machine.
//!
//! - SQLite: `VACUUM INTO` (one consistent snapshot; see `tumaini_db::backup`), then the copy
//!   is checked (`PRAGMA integrity_check`, the migrations it holds) before it gets its name.
//! - PostgreSQL: `pg_dump --format=custom` (one consistent snapshot), then `pg_restore --list`
//!   reads it back; `pg_restore --no-owner --no-acl --single-transaction` into an empty
//!   database (see `pg_tools`).
//!
//! A backup is written under a temporary name beside its destination and renamed into place,
//! never over an existing file unless `--overwrite`. A restore refuses a database that already
//! holds tables unless `--force`, and then checks what it restored: the schema, the master key
//! against the vault, the audit chain. Keys are never in a backup.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Args;
use tumaini_db::backup::{
    holds_tables, integrity_problems, postgres_major_version, sqlite_copy_into,
};
use tumaini_db::vault::Vault;
use tumaini_db::{DatabaseUrl, DbConn, Engine, audit_chain, migrations};

use super::pg_tools::{PgTools, Tool};
use crate::audit::{self, AuditAction, Event, Outcome};
use crate::config::{AuditKeySource, Config, MasterKeySource};

/// Copy the database to a file while the server serves, check the copy, and give it its name.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Write the backup to this file (a SQLite database, or a pg_dump custom-format archive).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace FILE if it exists (by default an existing file is never overwritten).
    #[arg(long)]
    overwrite: bool,
    /// PostgreSQL: the directory holding pg_dump and pg_restore (default: the PATH).
    #[arg(long, value_name = "DIR")]
    pg_bin_dir: Option<PathBuf>,
}

/// Fill an empty database from a backup, then check the schema, the master key and the audit
/// chain.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore, as written by `tumaini backup`.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Replace a database that already holds tables (stop every server using it first).
    #[arg(long)]
    force: bool,
    /// Apply migrations the restored database lacks (by default they are only reported).
    #[arg(long)]
    migrate: bool,
    /// PostgreSQL: the directory holding pg_dump and pg_restore (default: the PATH).
    #[arg(long, value_name = "DIR")]
    pg_bin_dir: Option<PathBuf>,
}

/// Takes a backup of the configured database while it may be serving.
pub fn backup(config: &Config, args: BackupArgs) -> anyhow::Result<()> {
    if !args.overwrite && args.out.exists() {
        bail!(
            "{} exists: choose a new name, or pass --overwrite to replace it",
            args.out.display()
        );
    }
    let url = &config.database_url;
    let started = Instant::now();
    let mut source = match url.sqlite_path() {
        Some(path) if !path.exists() => bail!("there is no database at {url} to back up"),
        _ => url
            .connect()
            .with_context(|| format!("connecting to {url}"))?,
    };
    let partial = Partial::beside(&args.out)?;
    let described = match url.engine() {
        Engine::Sqlite => copy_sqlite(&mut source, partial.path())?,
        Engine::Postgres => dump_postgres(&mut source, url, &args, partial.path())?,
    };
    partial.publish(&args.out, args.overwrite)?;
    record(
        &mut source,
        config,
        AuditAction::DatabaseBackup,
        Outcome::Success,
    )?;
    println!(
        "backed up {url} to {} in {:.2} s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    for line in described {
        println!("  {line}");
    }
    println!(
        "  keys: not in the backup; keep the master, audit and secret keys' backups apart from it"
    );
    Ok(())
}

/// The SQLite copy, checked: integrity, and the migrations it holds.
fn copy_sqlite(source: &mut DbConn, partial: &Path) -> anyhow::Result<Vec<String>> {
    sqlite_copy_into(source, partial).context("copying the database")?;
    let url = sqlite_url(partial)?;
    let described = {
        let mut copy = url.connect().context("opening the copy to check it")?;
        let problems = integrity_problems(&mut copy)?;
        if !problems.is_empty() {
            bail!(
                "the copy fails SQLite's integrity check: {}",
                problems.join("; ")
            );
        }
        vec![
            "integrity: ok (PRAGMA integrity_check)".to_owned(),
            format!("schema: {}", schema_state(&mut copy)?),
        ]
    };
    remove_side_files(partial);
    Ok(described)
}

/// The PostgreSQL dump, read back with `pg_restore --list`.
fn dump_postgres(
    source: &mut DbConn,
    url: &DatabaseUrl,
    args: &BackupArgs,
    partial: &Path,
) -> anyhow::Result<Vec<String>> {
    let server = postgres_major_version(source)?.context("no PostgreSQL version")?;
    let tools = PgTools::new(args.pg_bin_dir.clone());
    let dump_major = tools.check_version(Tool::Dump, server)?;
    tools.check_version(Tool::Restore, server)?;
    let file = path_text(partial)?;
    tools.run(Tool::Dump, url, &["--format=custom", "--file", file])?;
    let contents = tools.list(partial)?;
    let tables = contents
        .lines()
        .filter(|l| l.contains(" TABLE DATA "))
        .count();
    if !contents.contains("__diesel_schema_migrations") {
        bail!("the dump holds no Tumaini schema (no migration table)");
    }
    Ok(vec![
        format!(
            "pg_dump {dump_major} against PostgreSQL {server}: {tables} tables, archive readable"
        ),
        format!("schema: {}", schema_state(source)?),
    ])
}

/// Restores a backup into the configured database and checks it.
pub fn restore(config: &Config, args: RestoreArgs) -> anyhow::Result<()> {
    if !args.from.is_file() {
        bail!("{} is not a file", args.from.display());
    }
    let url = &config.database_url;
    let started = Instant::now();
    let mut conn = match url.engine() {
        Engine::Sqlite => restore_sqlite(url, &args)?,
        Engine::Postgres => restore_postgres(url, &args)?,
    };
    println!(
        "restored {} into {url} in {:.2} s",
        args.from.display(),
        started.elapsed().as_secs_f64()
    );
    let checks = check_restored(config, &mut conn, args.migrate);
    let failed = checks.iter().filter(|c| !c.passed).count();
    for check in &checks {
        let mark = if check.passed { "ok  " } else { "FAIL" };
        println!("  {mark} {:<12} {}", check.name, check.detail);
    }
    if migrations::pending(&mut conn)?.is_empty() {
        let outcome = if failed == 0 {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        record(&mut conn, config, AuditAction::DatabaseRestore, outcome)?;
    }
    if failed > 0 {
        bail!(
            "the data was restored, but {failed} of {} checks failed",
            checks.len()
        );
    }
    println!("restore complete: every check passed");
    if url.engine() == Engine::Postgres {
        println!(
            "next: grant the server's role its rights again (`tumaini migrate --grant-app-role ROLE`)"
        );
    }
    Ok(())
}

fn restore_sqlite(url: &DatabaseUrl, args: &RestoreArgs) -> anyhow::Result<DbConn> {
    let target = url.sqlite_path().context("no SQLite path")?;
    if target.exists() && std::fs::metadata(target)?.len() > 0 {
        let holds = {
            let mut live = url.connect()?;
            holds_tables(&mut live)?
        };
        if holds && !args.force {
            bail!(
                "{url} already holds a database: stop every server using it and pass --force \
                 to replace it"
            );
        }
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let partial = Partial::beside(target)?;
    std::fs::copy(&args.from, partial.path())
        .with_context(|| format!("copying {}", args.from.display()))?;
    {
        let not_sqlite = || format!("{} is not a SQLite backup", args.from.display());
        let mut copy = sqlite_url(partial.path())?
            .connect()
            .with_context(not_sqlite)?;
        let problems = integrity_problems(&mut copy).with_context(not_sqlite)?;
        if !problems.is_empty() {
            bail!(
                "the backup fails SQLite's integrity check: {}",
                problems.join("; ")
            );
        }
        if !holds_tables(&mut copy)? {
            bail!("{} holds no Tumaini database", args.from.display());
        }
    }
    remove_side_files(partial.path());
    // A write-ahead log left by the replaced database would be replayed onto the restored one.
    remove_side_files(target);
    partial.publish(target, true)?;
    Ok(url.connect()?)
}

fn restore_postgres(url: &DatabaseUrl, args: &RestoreArgs) -> anyhow::Result<DbConn> {
    let mut conn = url.connect().with_context(|| {
        format!("connecting to {url} (create the empty database and its roles first)")
    })?;
    let replacing = holds_tables(&mut conn)?;
    if replacing && !args.force {
        bail!(
            "{url} already holds tables: restore into an empty database, or stop every server \
             using this one and pass --force to replace what the backup holds"
        );
    }
    let server = postgres_major_version(&mut conn)?.context("no PostgreSQL version")?;
    let tools = PgTools::new(args.pg_bin_dir.clone());
    tools.check_version(Tool::Restore, server)?;
    tools.list(&args.from)?;
    let file = path_text(&args.from)?;
    let mut options = vec![
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
        "--single-transaction",
    ];
    if replacing {
        options.extend(["--clean", "--if-exists"]);
    }
    options.push(file);
    tools.run(Tool::Restore, url, &options)?;
    Ok(conn)
}

/// One check of a restored database.
#[derive(Debug)]
struct Check {
    name: &'static str,
    passed: bool,
    detail: String,
}

impl Check {
    fn new(name: &'static str, outcome: anyhow::Result<String>) -> Self {
        match outcome {
            Ok(detail) => Self {
                name,
                passed: true,
                detail,
            },
            Err(err) => Self {
                name,
                passed: false,
                detail: format!("{err:#}"),
            },
        }
    }
}

/// The schema (migrating only if asked), the master key, the audit chain.
fn check_restored(config: &Config, conn: &mut DbConn, migrate: bool) -> Vec<Check> {
    let schema = Check::new(
        "schema",
        (|| -> anyhow::Result<String> {
            let pending = migrations::pending(conn)?;
            if pending.is_empty() {
                Ok("current".to_owned())
            } else if migrate {
                let applied = migrations::run_pending(conn)?;
                Ok(format!("migrated: applied {}", applied.join(", ")))
            } else {
                bail!(
                    "{} migrations pending ({}): rerun with --migrate, or run `tumaini migrate`",
                    pending.len(),
                    pending.join(", ")
                )
            }
        })(),
    );
    let master_key = Check::new("master key", master_key_fits(config, conn));
    let audit_trail = Check::new("audit trail", audit_trail_intact(config, conn));
    vec![schema, master_key, audit_trail]
}

fn master_key_fits(config: &Config, conn: &mut DbConn) -> anyhow::Result<String> {
    if let MasterKeySource::GeneratedDefault(path) = &config.master_key
        && !path.exists()
    {
        bail!(
            "no master key: put the backed-up key in place (TUMAINI_MASTER_KEY_FILE or \
             TUMAINI_MASTER_KEY); a new one cannot read the restored data"
        );
    }
    let vault = Vault::new(crate::keyring::key_provider(config)?);
    vault
        .check(conn)
        .context("the master key does not fit this database")?;
    let status = vault.status(conn)?;
    let keys: i64 = status.data_keys_by_kek.iter().map(|(_, n)| *n).sum();
    Ok(format!("fits ({keys} case data keys)"))
}

fn audit_trail_intact(config: &Config, conn: &mut DbConn) -> anyhow::Result<String> {
    if let AuditKeySource::GeneratedDefault(path) = &config.audit.key
        && !path.exists()
    {
        bail!("no audit key: put the backed-up key in place (TUMAINI_AUDIT_KEY_FILE)");
    }
    let signer = crate::keyring::audit_signer(&config.audit)?;
    let keys = audit_chain::Keys {
        checkpoints: &[signer.verifying_key()],
        events: Some(signer.event_key()),
    };
    let report = audit_chain::verify(conn, keys, &audit_chain::Witness::default(), |_, _| {})?;
    if let Some(broken) = &report.first_break {
        bail!("BROKEN at position {}: {}", broken.position, broken.reason);
    }
    if let Some(bad) = report.bad_checkpoints.first() {
        bail!(
            "{} bad checkpoints, the first at position {}: {}",
            report.bad_checkpoints.len(),
            bad.position,
            bad.reason
        );
    }
    Ok(format!(
        "intact ({} events, {} checkpoints; proven through position {})",
        report.events, report.checkpoints, report.proven
    ))
}

/// Records a backup or restore as the command line's event, under the configured audit key.
fn record(
    conn: &mut DbConn,
    config: &Config,
    action: AuditAction,
    outcome: Outcome,
) -> anyhow::Result<()> {
    let context = super::cli_context(config)?;
    conn.write_transaction(|conn| {
        audit::record(
            conn,
            &context,
            None,
            Event {
                action,
                outcome,
                resource: None,
            },
        )
    })?;
    Ok(())
}

/// `current`, or how many migrations the database lacks.
fn schema_state(conn: &mut DbConn) -> anyhow::Result<String> {
    let pending = migrations::pending(conn)?;
    Ok(if pending.is_empty() {
        "current".to_owned()
    } else {
        format!(
            "{} migrations older than this tumaini ({} pending)",
            pending.len(),
            pending.join(", ")
        )
    })
}

fn sqlite_url(path: &Path) -> anyhow::Result<DatabaseUrl> {
    Ok(DatabaseUrl::parse(&format!(
        "sqlite://{}",
        path_text(path)?
    ))?)
}

fn path_text(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

/// Removes the `-wal` and `-shm` files SQLite keeps beside a database, if any.
fn remove_side_files(path: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
}

/// A file being written under a temporary name beside its destination; removed on drop
/// unless published.
#[derive(Debug)]
struct Partial {
    path: Option<PathBuf>,
}

impl Partial {
    fn beside(destination: &Path) -> anyhow::Result<Self> {
        let name = destination
            .file_name()
            .with_context(|| format!("{} names no file", destination.display()))?;
        let mut partial = std::ffi::OsString::from(".");
        partial.push(name);
        partial.push(format!(".partial-{}", uuid::Uuid::now_v7().simple()));
        Ok(Self {
            path: Some(destination.with_file_name(partial)),
        })
    }

    fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Makes the file private to its owner, flushes it to disk and gives it its name: with
    /// `replace`, over whatever is there; otherwise only if nothing is.
    fn publish(mut self, destination: &Path, replace: bool) -> anyhow::Result<()> {
        let Some(path) = self.path.take() else {
            bail!("nothing to publish");
        };
        let outcome = (|| -> anyhow::Result<()> {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            std::fs::File::open(&path)?.sync_all()?;
            if replace {
                std::fs::rename(&path, destination)?;
            } else {
                // A hard link fails if the name is taken: no check-then-rename race.
                std::fs::hard_link(&path, destination).with_context(|| {
                    format!("{} exists: not overwritten", destination.display())
                })?;
                std::fs::remove_file(&path)?;
            }
            if let Some(dir) = destination.parent().filter(|d| !d.as_os_str().is_empty()) {
                // The rename itself survives a crash once the directory is on disk.
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(())
        })();
        if outcome.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        outcome
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(&path);
            remove_side_files(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_never_replaced_unless_asked_and_no_partial_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("tumaini.backup");
        std::fs::write(&out, b"older").unwrap();
        let partial = Partial::beside(&out).unwrap();
        std::fs::write(partial.path(), b"newer").unwrap();
        assert!(partial.publish(&out, false).is_err());
        assert_eq!(std::fs::read(&out).unwrap(), b"older");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let partial = Partial::beside(&out).unwrap();
        std::fs::write(partial.path(), b"newer").unwrap();
        partial.publish(&out, true).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"newer");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let abandoned = Partial::beside(&out).unwrap();
        std::fs::write(abandoned.path(), b"half").unwrap();
        drop(abandoned);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
