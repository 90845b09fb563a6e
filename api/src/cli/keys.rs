//! `tumaini keys`: the status of the vault's keys and their rotation (the server loads them in
//! `crate::keyring`).
//!
//! How an operator rotates the KEK:
//! - **Key file** (the embedded default `./data/master.key`, or `TUMAINI_MASTER_KEY_FILE`):
//!   `tumaini keys rotate` appends a freshly generated version to the file (mode 0600, replaced
//!   atomically) and re-wraps every data key under it. Running servers re-read the file when
//!   they meet the new version, so nothing needs a restart.
//! - **`TUMAINI_MASTER_KEY`**: the operator first adds the new version to the variable
//!   (`1:OLD,2:NEW`) on every replica and restarts them (old versions keep decrypting, the
//!   newest encrypts), then runs `tumaini keys rotate`, which re-wraps to the newest. Once
//!   `tumaini keys status` shows no data key under version 1, `1:OLD` can be removed.
//!
//! A rotation that was interrupted is finished by running the same command again: while data
//! keys remain under an older version, `keys rotate` resumes instead of adding a version.

use std::path::Path;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use tumaini_db::DbConn;
use tumaini_db::vault::{RotationOptions, RotationReport, Vault, add_version_to_key_file};

use crate::config::{Config, MasterKeySource};
use crate::keyring::key_provider;

/// `tumaini keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show how many data keys sit under each key-encryption key version.
    Status,
    /// Add a key-encryption key version (key file only) and re-wrap every case's data key
    /// under the newest version, online, in batches; rerun to finish an interrupted run.
    Rotate {
        /// Data keys per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch_size: u32,
        /// Stop after this many batches (to spread a large rotation over several windows).
        #[arg(long, value_name = "N")]
        max_batches: Option<usize>,
    },
    /// Rotate the blind-index key and recompute every case's blind indexes.
    RotateIndex {
        /// Cases per transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        batch_size: u32,
        /// Stop after this many batches.
        #[arg(long, value_name = "N")]
        max_batches: Option<usize>,
    },
}

/// The key file `keys rotate` may add a version to, if the keys come from one.
fn key_file(config: &Config) -> Option<&Path> {
    match &config.master_key {
        MasterKeySource::File(path) | MasterKeySource::GeneratedDefault(path) => Some(path),
        MasterKeySource::Inline(_) => None,
    }
}

/// Runs a `tumaini keys` command on a migrated database.
pub fn run(config: &Config, conn: &mut DbConn, command: KeysCommand) -> anyhow::Result<()> {
    let vault = Vault::new(key_provider(config)?);
    vault
        .check(conn)
        .context("the master key does not fit this database")?;
    match command {
        KeysCommand::Status => status(&vault, conn),
        KeysCommand::Rotate {
            batch_size,
            max_batches,
        } => {
            let vault = if vault.kek_rotation_unfinished(conn)? {
                println!("Resuming: some keys are still under an older version.");
                vault
            } else if let Some(path) = key_file(config) {
                let added = add_version_to_key_file(path)
                    .with_context(|| format!("adding a key version to {}", path.display()))?;
                println!("Added key-encryption key {added} to {}.", path.display());
                Vault::new(key_provider(config)?)
            } else {
                bail!(
                    "every data key is already under {}, the newest version in TUMAINI_MASTER_KEY: \
                     add a new version (N:BASE64) there first, on every replica",
                    vault.provider().current_version()
                );
            };
            let options = options(batch_size, max_batches);
            let report = with_progress("re-wrapping data keys", |progress| {
                vault.rotate_data_keys(conn, options, progress)
            })?;
            finish(&report, "data keys re-wrapped under key-encryption key")
        }
        KeysCommand::RotateIndex {
            batch_size,
            max_batches,
        } => {
            let options = options(batch_size, max_batches);
            let report = with_progress("recomputing blind indexes", |progress| {
                vault.rotate_index_key(conn, options, progress)
            })?;
            finish(&report, "cases re-indexed under blind-index key")
        }
    }
}

fn options(batch_size: u32, max_batches: Option<usize>) -> RotationOptions {
    RotationOptions {
        batch_size: usize::try_from(batch_size).unwrap_or(500),
        max_batches,
    }
}

fn status(vault: &Vault, conn: &mut DbConn) -> anyhow::Result<()> {
    let status = vault.status(conn)?;
    let held: Vec<String> = status
        .provider_versions
        .iter()
        .map(ToString::to_string)
        .collect();
    println!(
        "Key-encryption keys held: {} (newest encrypts: {})",
        held.join(", "),
        status.current_kek
    );
    println!("Data keys per key-encryption key version:");
    if status.data_keys_by_kek.is_empty() {
        println!("  (none)");
    }
    for (version, count) in &status.data_keys_by_kek {
        println!("  v{version}: {count}");
    }
    println!("Shredded cases (data key destroyed): {}", status.shredded);
    let live: Vec<String> = status
        .index_key_versions
        .iter()
        .map(|v| format!("v{v}"))
        .collect();
    println!("Blind-index key versions live: {}", live.join(", "));
    for (version, count) in &status.indexed_cases_by_version {
        println!("  v{version}: {count} cases indexed");
    }
    Ok(())
}

fn with_progress(
    message: &'static str,
    work: impl FnOnce(&mut dyn FnMut(u64, u64)) -> Result<RotationReport, tumaini_db::vault::VaultError>,
) -> anyhow::Result<RotationReport> {
    let bar = ProgressBar::new(0).with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    let report = work(&mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    Ok(report?)
}

fn finish(report: &RotationReport, what: &str) -> anyhow::Result<()> {
    println!("{} {what} {}.", report.rotated, report.target);
    if report.failed > 0 {
        bail!(
            "{} could not be unwrapped and were left as they were; see `tumaini keys status`",
            report.failed
        );
    }
    if report.remaining > 0 {
        println!(
            "{} remain under older versions: run the command again to finish.",
            report.remaining
        );
    } else {
        println!("Done: nothing remains under an older version.");
    }
    Ok(())
}
