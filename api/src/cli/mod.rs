//! The `tumaini` command line: the server, migrations and first-time administration; the key
//! commands in `keys`, backups and restores in `backup` (PostgreSQL's own tools in
//! `pg_tools`), the demonstration data in `seed`.

pub mod backup;
mod demo_transfer;
pub mod keys;
mod pg_tools;
pub mod seed;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Parser, Subcommand};
use tumaini_db::country::CountryCode;
use tumaini_db::ids::OrgId;
use tumaini_db::models::{EmailAddress, NewOrganisation, NewUser, Organisation, User};
use tumaini_db::vocabulary::{OrganisationKind, Role, ServiceType, UserStatus};
use tumaini_db::{DbConn, DbError, migrations};

use crate::accounts::{check_role_for, one_time_password};
use crate::audit::AuditAction;
use crate::audit::{self, Event, Outcome};
use crate::auth::RequestContext;
use crate::auth::password::hash_blocking;
use crate::config::Argon2Settings;
use crate::config::{Config, LogFormat};
use crate::keyring;
use crate::{server, telemetry};
use keys::KeysCommand;

/// Tumaini: case management for victims of trafficking and the National Referral Mechanism.
///
/// With no command, `tumaini` serves the API (as `tumaini serve`). Settings come from
/// environment variables (DATABASE_URL, TUMAINI_BIND, TUMAINI_ENV, ...; see the README) and an
/// optional TOML file. With no DATABASE_URL it uses the embedded SQLite database at
/// ./data/tumaini.db, created and migrated on first start.
#[derive(Debug, Parser)]
#[command(name = "tumaini", version, about, long_about)]
struct Cli {
    /// Read settings from this TOML file (also TUMAINI_CONFIG); environment variables win.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default command).
    Serve {
        /// Listen on this address, host:port (default 127.0.0.1:8080; also TUMAINI_BIND).
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Apply pending database migrations (PostgreSQL: run as the schema owner before serving).
    Migrate {
        /// PostgreSQL: then grant the server's own role what it needs, and on the audit tables
        /// only SELECT and INSERT (never UPDATE, DELETE or TRUNCATE).
        #[arg(long, value_name = "ROLE")]
        grant_app_role: Option<String>,
    },
    /// Print the OpenAPI 3.1 document to standard output.
    Openapi,
    /// Create organisations and users, e.g. the first system administrator.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Key management: rotate the key-encryption key or the blind-index key, show status.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The audit trail: verify the chain, export checkpoints for a witness, seal now.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Copy the database to a file while the server serves (SQLite: VACUUM INTO; PostgreSQL:
    /// pg_dump), check the copy, and give it its name. Keys are never in the backup.
    Backup(backup::BackupArgs),
    /// Fill an empty database from a backup (refusing one that holds tables unless --force),
    /// then check the schema, the master key and the audit chain.
    Restore(backup::RestoreArgs),
    /// The retention schedule: show what a run would erase (counts by kind), or run it now.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Fill an empty database with a fictional demonstration data set (never in production).
    Seed {
        /// Write the demonstration data set (required: seeding is never implicit).
        #[arg(long)]
        demo: bool,
        /// How many cases (default 300; the benchmark uses 100000).
        #[arg(long, default_value_t = 300)]
        cases: usize,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Count, by kind, what a run now would erase or delete, and the cases a legal hold keeps.
    /// Changes nothing (the showing is audited).
    Plan,
    /// Erase the cases whose retention period ended (their personal data: they are still
    /// counted) and delete the other records whose period ended, with a progress bar.
    Run,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain from the events, check every event's MAC and every signed
    /// checkpoint (and their sequence); report every break, and how much of the trail a
    /// signed checkpoint proves. Exits non-zero when anything is wrong.
    Verify {
        /// Also hold the database to a witness's copy of the checkpoints: the witness file
        /// (TUMAINI_AUDIT_WITNESS_FILE), an export-checkpoints file or saved checkpoint pages.
        #[arg(long, value_name = "FILE")]
        against: Option<PathBuf>,
        /// Verify with this audit public key (base64) and load no secret key: for an outside
        /// auditor's copy. Event MACs are then not checked.
        #[arg(long, value_name = "BASE64")]
        public_key: Option<String>,
    },
    /// Seal every pending event, sign a checkpoint at the head, and write every signed
    /// checkpoint (JSON, each with its C2SP signed note) for an outside witness.
    ExportCheckpoints {
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Seal every pending event and sign a checkpoint at the head now.
    Seal,
    /// Print the audit key's public half (base64) and key id, for witnesses.
    PublicKey,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Register an organisation.
    CreateOrg {
        /// Public name, e.g. "Kampala Women's Shelter".
        #[arg(long)]
        name: String,
        /// Kind of organisation.
        #[arg(long, value_parser = vocabulary_parser(OrganisationKind::ALL, OrganisationKind::code))]
        kind: OrganisationKind,
        /// ISO 3166-1 alpha-2 country code, e.g. UG.
        #[arg(long, value_parser = |s: &str| s.parse::<CountryCode>().map_err(|e| e.to_string()))]
        country: CountryCode,
        /// Region or district, e.g. Central.
        #[arg(long)]
        region: String,
        /// A service the organisation offers; repeat for several.
        #[arg(long = "service", value_parser = vocabulary_parser(ServiceType::ALL, ServiceType::code))]
        services: Vec<ServiceType>,
    },
    /// Create a user and print a one-time password for the first sign-in.
    CreateUser {
        /// The organisation's id (printed by create-org).
        #[arg(long = "org", value_name = "ORG_ID", value_parser = |s: &str| s.parse::<OrgId>().map_err(|e| e.to_string()))]
        organisation: OrgId,
        /// The user's role.
        #[arg(long, value_parser = vocabulary_parser(Role::ALL, Role::code))]
        role: Role,
        /// Sign-in e-mail address.
        #[arg(long, value_parser = |s: &str| s.parse::<EmailAddress>().map_err(|e| e.to_string()))]
        email: EmailAddress,
        /// Name shown to colleagues.
        #[arg(long)]
        display_name: String,
    },
}

/// A clap parser accepting exactly a vocabulary's codes (and listing them in `--help`).
fn vocabulary_parser<T>(
    all: &'static [T],
    code: fn(T) -> &'static str,
) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + 'static + std::str::FromStr,
    <T as std::str::FromStr>::Err: std::error::Error + Send + Sync + 'static,
{
    PossibleValuesParser::new(all.iter().map(move |v| code(*v))).try_map(|s| s.parse::<T>())
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "tumaini: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve { bind: None }) {
        Command::Serve { bind } => {
            let config = match bind {
                Some(bind) => config.with_bind(bind)?,
                None => config,
            };
            telemetry::init(config.log_format, &config.log_filter);
            actix_web::rt::System::new().block_on(server::serve(config))
        }
        Command::Migrate { grant_app_role } => {
            telemetry::init(LogFormat::Pretty, "warn");
            let mut conn = config.database_url.connect()?;
            let applied = migrations::run_pending(&mut conn)?;
            if applied.is_empty() {
                println!("{}: schema is current.", config.database_url);
            } else {
                println!("{}: applied {}.", config.database_url, applied.join(", "));
            }
            if let Some(role) = grant_app_role {
                migrations::grant_app_role(&mut conn, &role)?;
                println!(
                    "granted {role} the server's rights; audit tables: SELECT and INSERT only."
                );
            }
            Ok(())
        }
        Command::Openapi => {
            println!("{}", crate::routes::openapi().to_pretty_json()?);
            Ok(())
        }
        Command::Admin(command) => {
            telemetry::init(LogFormat::Pretty, "warn");
            let mut conn = open_for_admin(&config)?;
            admin(
                &mut conn,
                config.auth.argon2,
                &cli_context(&config)?,
                command,
            )
        }
        Command::Keys(command) => {
            telemetry::init(LogFormat::Pretty, "warn");
            let mut conn = open_for_admin(&config)?;
            keys::run(&config, &mut conn, command)
        }
        Command::Audit(command) => {
            telemetry::init(LogFormat::Pretty, "warn");
            let mut conn = open_for_admin(&config)?;
            audit_command(&config, &mut conn, command)
        }
        Command::Backup(args) => {
            telemetry::init(LogFormat::Pretty, "warn");
            backup::backup(&config, args)
        }
        Command::Retention(command) => {
            telemetry::init(LogFormat::Pretty, "warn");
            let mut conn = open_for_admin(&config)?;
            retention_command(&config, &mut conn, command)
        }
        Command::Restore(args) => {
            telemetry::init(LogFormat::Pretty, "warn");
            backup::restore(&config, args)
        }
        Command::Seed { demo, cases } => {
            if !demo {
                bail!("say what to seed: `tumaini seed --demo`");
            }
            crate::cli::seed::check_allowed(config.env, cases)?;
            telemetry::init(LogFormat::Pretty, "warn");
            let mut conn = open_for_admin(&config)?;
            seed(&config, &mut conn, cases)
        }
    }
}

/// A connection whose schema is current: the embedded database is migrated on the spot, a
/// PostgreSQL one must have been migrated with `tumaini migrate`.
fn open_for_admin(config: &Config) -> anyhow::Result<DbConn> {
    let mut conn = config
        .database_url
        .connect()
        .with_context(|| format!("connecting to {}", config.database_url))?;
    if config.is_embedded() {
        migrations::run_pending(&mut conn)?;
    } else if !migrations::pending(&mut conn)?.is_empty() {
        bail!("the database has pending migrations: run `tumaini migrate` first");
    }
    Ok(conn)
}

/// `argon2` is the configured cost, so a one-time password is hashed as the server would.
fn admin(
    conn: &mut DbConn,
    argon2: Argon2Settings,
    context: &RequestContext,
    command: AdminCommand,
) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateOrg {
            name,
            kind,
            country,
            region,
            services,
        } => {
            let name = required_text("--name", &name, 200)?;
            let region = required_text("--region", &region, 100)?;
            let new = NewOrganisation {
                name,
                kind,
                country,
                region,
                services,
            };
            let org = conn
                .write_transaction(|conn| {
                    let org = Organisation::create(conn, &new)?;
                    audit::record(
                        conn,
                        context,
                        None,
                        Event {
                            action: AuditAction::OrganisationCreate,
                            outcome: Outcome::Success,
                            resource: Some(("organisation", org.id.to_string())),
                        },
                    )?;
                    Ok(org)
                })
                .map_err(|err| match err {
                    DbError::Conflict { .. } => anyhow::anyhow!(
                        "an organisation with that name is already registered in {country}"
                    ),
                    other => other.into(),
                })?;
            println!(
                "Created organisation \"{}\" ({}, {}, {}).",
                org.name, org.kind, org.country, org.region
            );
            println!("id: {}", org.id);
            Ok(())
        }
        AdminCommand::CreateUser {
            organisation,
            role,
            email,
            display_name,
        } => {
            let display_name = required_text("--display-name", &display_name, 200)?;
            let org = Organisation::find(conn, &organisation).map_err(|err| match err {
                DbError::NotFound => anyhow::anyhow!("no organisation has id {organisation}"),
                other => other.into(),
            })?;
            if !org.active {
                bail!("organisation \"{}\" is inactive", org.name);
            }
            check_role_for(org.kind, role)?;
            let password = one_time_password();
            let new = NewUser {
                organisation_id: org.id.clone(),
                role,
                email,
                display_name,
                status: UserStatus::Invited,
                password_hash: Some(hash_blocking(argon2, &password)?),
                password_must_change: true,
            };
            let user = conn
                .write_transaction(|conn| {
                    let user = User::create(conn, &new)?;
                    audit::record(
                        conn,
                        context,
                        None,
                        Event {
                            action: AuditAction::UserCreate,
                            outcome: Outcome::Success,
                            resource: Some(("user", user.id.to_string())),
                        },
                    )?;
                    Ok(user)
                })
                .map_err(|err| match err {
                    DbError::Conflict { .. } => {
                        anyhow::anyhow!("a user with that e-mail address already exists")
                    }
                    other => other.into(),
                })?;
            println!(
                "Created user {} ({}) in \"{}\".",
                user.email, user.role, org.name
            );
            println!("id: {}", user.id);
            println!("one-time password: {}", password.as_str());
            println!(
                "Hand the password over by a separate channel; it must be changed at first sign-in."
            );
            Ok(())
        }
    }
}

fn audit_command(config: &Config, conn: &mut DbConn, command: AuditCommand) -> anyhow::Result<()> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use tumaini_db::audit_chain::{self, Checkpoint};
    if let AuditCommand::Verify {
        against,
        public_key,
    } = command
    {
        return verify_audit(config, conn, against.as_deref(), public_key.as_deref());
    }
    let signer = crate::keyring::audit_signer(&config.audit)?;
    let key = signer.verifying_key();
    match command {
        AuditCommand::PublicKey => {
            println!("public key: {}", BASE64.encode(key.as_bytes()));
            println!("key id: {}", audit_chain::key_id(&key));
            Ok(())
        }
        AuditCommand::Seal => {
            let (total, head) = seal_all(conn, &signer)?;
            println!(
                "sealed {total} events; checkpoint at position {}",
                head.unwrap_or(0)
            );
            Ok(())
        }
        AuditCommand::ExportCheckpoints { out } => {
            // A witness copy covers everything recorded until now, not only until the last
            // checkpoint the sealer signed.
            seal_all(conn, &signer)?;
            let checkpoints: Vec<crate::audit::views::CheckpointView> = Checkpoint::all(conn)?
                .iter()
                .map(crate::audit::views::CheckpointView::from)
                .collect();
            let document = serde_json::json!({
                "origin": audit_chain::ORIGIN,
                "public_key": BASE64.encode(key.as_bytes()),
                "key_id": audit_chain::key_id(&key),
                "checkpoints": checkpoints,
            });
            let text = serde_json::to_string_pretty(&document)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text + "\n")
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!(
                        "wrote {} checkpoints to {}",
                        checkpoints.len(),
                        path.display()
                    );
                }
                None => println!("{text}"),
            }
            Ok(())
        }
        AuditCommand::Verify { .. } => unreachable!("handled above"),
    }
}

/// Seals every pending event and signs a checkpoint at the head: how many were sealed, and the
/// head's position.
fn seal_all(
    conn: &mut DbConn,
    signer: &tumaini_db::audit_chain::AuditSigner,
) -> anyhow::Result<(usize, Option<i64>)> {
    use tumaini_db::audit_chain;
    let mut total = 0;
    loop {
        let round = audit_chain::seal(
            conn,
            signer,
            audit_chain::SealOptions {
                full_sweep: true,
                ..Default::default()
            },
        )?;
        if round.busy {
            std::thread::sleep(std::time::Duration::from_millis(200));
            continue;
        }
        total += round.events.len();
        if round.events.is_empty() {
            break;
        }
    }
    Ok((total, audit_chain::checkpoint_now(conn, signer)?))
}

/// `tumaini audit verify`: with `--public-key` nothing secret is loaded (an outside auditor's
/// run: every check but the events' MACs); otherwise the configured audit key gives both the
/// public key and the event key.
fn verify_audit(
    config: &Config,
    conn: &mut DbConn,
    against: Option<&std::path::Path>,
    public_key: Option<&str>,
) -> anyhow::Result<()> {
    use tumaini_db::audit_chain;
    let (key, event_key) = match public_key {
        Some(text) => (
            audit_chain::parse_verifying_key(text)
                .context("--public-key is not an Ed25519 public key in base64")?,
            None,
        ),
        None => {
            if let crate::config::AuditKeySource::GeneratedDefault(path) = &config.audit.key
                && !path.exists()
            {
                bail!(
                    "no audit key is configured here: pass the audit public key with \
                     --public-key (`tumaini audit public-key` prints it where the key is)"
                );
            }
            let signer = crate::keyring::audit_signer(&config.audit)?;
            (signer.verifying_key(), Some(signer.event_key().clone()))
        }
    };
    let witness = match against {
        Some(path) => crate::audit::witness::read_witness(path)?,
        None => audit_chain::Witness::default(),
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "verifying {bar:40} {pos}/{len} events ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let keys = audit_chain::Keys {
        checkpoints: &[key],
        events: event_key.as_ref(),
    };
    let report = audit_chain::verify(conn, keys, &witness, |done, total| {
        bar.set_length(u64::try_from(total).unwrap_or(0));
        bar.set_position(u64::try_from(done).unwrap_or(0));
    })?;
    bar.finish_and_clear();
    print!("{}", describe_report(&report, started.elapsed()));
    if report.intact() {
        Ok(())
    } else {
        bail!("the audit trail does not verify")
    }
}

/// The verification report as the command prints it.
fn describe_report(report: &tumaini_db::audit_chain::Report, took: std::time::Duration) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} events and {} checkpoints ({} from the witness) checked in {:.2} s",
        report.events,
        report.checkpoints,
        report.witness_checkpoints,
        took.as_secs_f64()
    );
    if !report.macs_checked {
        let _ = writeln!(
            out,
            "event MACs not checked: verifying with the public key only (a server's audit key checks them)"
        );
    }
    if report.without_mac > 0 {
        let _ = writeln!(
            out,
            "{} events were recorded before events carried MACs (proven by checkpoints only)",
            report.without_mac
        );
    }
    let _ = writeln!(
        out,
        "proven by a signed checkpoint: positions 1 to {}",
        report.proven
    );
    if report.unprovable > 0 {
        let _ = writeln!(
            out,
            "after the last valid checkpoint, unprovable yet: {} events{}",
            report.unprovable,
            if report.macs_checked {
                " (their MACs checked)"
            } else {
                ""
            }
        );
    }
    if report.unsealed > 0 {
        let _ = writeln!(
            out,
            "{} events are older than ten minutes and not sealed yet",
            report.unsealed
        );
    }
    for broken in &report.breaks {
        let _ = writeln!(
            out,
            "BROKEN at position {}: {}",
            broken.position, broken.reason
        );
    }
    if report.breaks_total > report.breaks.len() {
        let _ = writeln!(
            out,
            "... and {} more breaks",
            report.breaks_total - report.breaks.len()
        );
    }
    for bad in &report.bad_checkpoints {
        let _ = writeln!(
            out,
            "BAD CHECKPOINT at position {}: {}",
            bad.position, bad.reason
        );
    }
    if report.intact() {
        let _ = writeln!(out, "the audit trail is intact");
    }
    out
}

fn seed(config: &Config, conn: &mut DbConn, cases: usize) -> anyhow::Result<()> {
    let vault = tumaini_db::vault::Vault::new(keyring::key_provider(config)?);
    vault
        .check(conn)
        .context("the master key does not fit this database")?;
    let rules = crate::rules::deadlines::DeadlineRules::new(
        config.cases.reasonable_grounds_working_days,
        config.cases.recovery_period_days,
        &config.cases.public_holidays,
    )?;
    let password = one_time_password();
    let hash = hash_blocking(config.auth.argon2, &password)?;
    let started = std::time::Instant::now();
    let context = cli_context(config)?;
    let seeded = crate::cli::seed::seed_demo(conn, &vault, &hash, cases, &rules, &context)?;
    println!(
        "Seeded {} fictional cases and {} anonymous notifications in {:.1} s.",
        seeded.cases,
        seeded.anonymous,
        started.elapsed().as_secs_f64()
    );
    println!("Demo users (every one signs in with the same password):");
    for (email, role, org) in &seeded.users {
        println!("  {email:<45} {:<20} {org}", role.code());
    }
    println!("demo password: {}", password.as_str());
    println!(
        "Coordinators, competent-authority officers and administrators enrol a second factor at first sign-in."
    );
    Ok(())
}

/// `tumaini retention plan` and `tumaini retention run`.
fn retention_command(
    config: &Config,
    conn: &mut DbConn,
    command: RetentionCommand,
) -> anyhow::Result<()> {
    use crate::retention::{self, Tally};
    let context = cli_context(config)?;
    let schedule = &config.lifecycle.retention;
    let now = tumaini_db::time::now_utc();
    let print = |verb: &str, tally: &Tally| {
        for (kind, count) in &tally.by_kind {
            println!("{:<24} {count:>8}", kind.code());
        }
        println!("{:<24} {:>8}", verb, tally.total());
        println!("{:<24} {:>8}", "held (legal hold)", tally.held);
        println!("{:<24} {:>8}", "failed", tally.failed);
    };
    match command {
        RetentionCommand::Plan => {
            let tally = retention::plan(conn, schedule, now, &context)
                .map_err(|e| anyhow::anyhow!("retention plan: {e}"))?;
            print("would erase", &tally);
        }
        RetentionCommand::Run => {
            let vault = tumaini_db::vault::Vault::new(keyring::key_provider(config)?);
            vault
                .check(conn)
                .context("the master key does not open this database's keys")?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "retention {bar:40} {pos}/{len} ({eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let tally = retention::run(
                conn,
                &vault,
                schedule,
                now,
                &config.public_url,
                &context,
                true,
                &mut |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                },
            )
            .map_err(|e| anyhow::anyhow!("retention run: {e}"))?;
            bar.finish_and_clear();
            print("erased", &tally);
            if tally.failed > 0 {
                bail!(
                    "{} cases could not be erased (see the warnings above); the next run tries again",
                    tally.failed
                );
            }
        }
    }
    Ok(())
}

/// The audit context of a command-line action: no client, a request id marking the CLI, and
/// the event key of the configured audit key (the events it writes must verify).
fn cli_context(config: &Config) -> anyhow::Result<RequestContext> {
    let signer = keyring::audit_signer(&config.audit)
        .context("TUMAINI_AUDIT_KEY / TUMAINI_AUDIT_KEY_FILE: command-line actions are audited")?;
    Ok(RequestContext::command_line(signer.event_key()))
}

fn required_text(flag: &str, value: &str, max_chars: usize) -> anyhow::Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        bail!("{flag} must not be empty");
    }
    if trimmed.chars().count() > max_chars {
        bail!("{flag} may be at most {max_chars} characters");
    }
    if trimmed.chars().any(char::is_control) {
        bail!("{flag} must not contain control characters");
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_serve() {
        let cli = Cli::try_parse_from(["tumaini"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["tumaini", "serve", "--bind", "0.0.0.0:9000"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Serve { bind: Some(_) })
        ));
    }

    #[test]
    fn vocabulary_flags_take_codes_only() {
        let ok = Cli::try_parse_from([
            "tumaini",
            "admin",
            "create-org",
            "--name",
            "COPTIP",
            "--kind",
            "coordination_office",
            "--country",
            "UG",
            "--region",
            "Central",
        ]);
        assert!(ok.is_ok());
        let bad = Cli::try_parse_from([
            "tumaini",
            "admin",
            "create-org",
            "--name",
            "X",
            "--kind",
            "ministry",
            "--country",
            "UG",
            "--region",
            "Central",
        ]);
        assert!(bad.is_err());
    }
}
