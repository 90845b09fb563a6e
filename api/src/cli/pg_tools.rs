//! PostgreSQL's own client programs, `pg_dump` and `pg_restore`, run as child processes for
//! `tumaini backup` and `tumaini restore`.
//!
//! The password never reaches a command line (where `ps` shows it to every local user) or a
//! message: the child gets the URL without it, and the password through its environment
//! (`PGPASSWORD`). A URL with no password leaves libpq to find one as it always does (a
//! `~/.pgpass` file, `PGPASSFILE`, a service file). What the tools print on failure is passed
//! on without the lines that can quote stored values (`DETAIL`, `CONTEXT`, the failing
//! command).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context as _, bail};
use tumaini_db::{ClientToolTarget, DatabaseUrl};

/// Where to find the tools: a directory, or the `PATH`.
#[derive(Debug, Clone)]
pub struct PgTools {
    bin_dir: Option<PathBuf>,
}

/// One of the tools.
#[derive(Debug, Clone, Copy)]
pub enum Tool {
    /// `pg_dump`.
    Dump,
    /// `pg_restore`.
    Restore,
}

impl Tool {
    fn program(self) -> &'static str {
        match self {
            Self::Dump => "pg_dump",
            Self::Restore => "pg_restore",
        }
    }
}

impl PgTools {
    /// The tools in `bin_dir`, or on the `PATH` when `None`.
    pub fn new(bin_dir: Option<PathBuf>) -> Self {
        Self { bin_dir }
    }

    fn command(&self, tool: Tool) -> Command {
        match &self.bin_dir {
            Some(dir) => Command::new(dir.join(tool.program())),
            None => Command::new(tool.program()),
        }
    }

    /// Checks that `tool` exists and that its major version is not older than the server's
    /// (an older `pg_dump` refuses a newer server, or worse, misses what it does not know).
    /// Returns the tool's major version.
    pub fn check_version(&self, tool: Tool, server_major: u32) -> anyhow::Result<u32> {
        let output = self
            .command(tool)
            .arg("--version")
            .output()
            .with_context(|| {
                format!(
                    "{} was not found: install PostgreSQL's client programs (version {server_major} \
                     or newer) or name their directory with --pg-bin-dir",
                    tool.program()
                )
            })?;
        let text = String::from_utf8_lossy(&output.stdout);
        let Some(major) = major_version(&text) else {
            bail!(
                "could not read {}'s version from {:?}",
                tool.program(),
                text.trim()
            );
        };
        if major < server_major {
            bail!(
                "{} is version {major}, older than the PostgreSQL {server_major} server: use the \
                 client programs of version {server_major} or newer (--pg-bin-dir)",
                tool.program()
            );
        }
        Ok(major)
    }

    /// Runs `tool` with `args` against the database at `url`, the password handed over in the
    /// environment only. Fails with the tool's filtered complaint when it exits non-zero.
    pub fn run(&self, tool: Tool, url: &DatabaseUrl, args: &[&str]) -> anyhow::Result<Output> {
        let ClientToolTarget { url, password } = url
            .client_tool_target()
            .context("pg_dump and pg_restore are for PostgreSQL")?;
        let mut command = self.command(tool);
        command.arg(format!("--dbname={url}")).args(args);
        if let Some(password) = &password {
            command.env("PGPASSWORD", password.as_str());
        }
        let output = command
            .output()
            .with_context(|| format!("running {}", tool.program()))?;
        if !output.status.success() {
            bail!(
                "{} failed ({}):\n{}",
                tool.program(),
                output.status,
                safe_lines(&output.stderr)
            );
        }
        Ok(output)
    }

    /// `pg_restore --list FILE`: the archive's table of contents, which also proves the file is
    /// a readable custom-format archive.
    pub fn list(&self, archive: &Path) -> anyhow::Result<String> {
        let output = self
            .command(Tool::Restore)
            .arg("--list")
            .arg(archive)
            .output()
            .context("running pg_restore --list")?;
        if !output.status.success() {
            bail!(
                "{} is not a readable pg_dump archive:\n{}",
                archive.display(),
                safe_lines(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// The major version in `pg_dump (PostgreSQL) 15.10 (Debian 15.10-1)`: the first number after
/// the program's name.
fn major_version(text: &str) -> Option<u32> {
    let after = text.split_once(')').map_or(text, |(_, rest)| rest);
    let token = after
        .split_whitespace()
        .find(|t| t.starts_with(|c: char| c.is_ascii_digit()))?;
    let digits: String = token.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// What a tool wrote to standard error, without the lines that can quote stored values, and
/// with the value cut from an "invalid input" error, at most twenty lines.
fn safe_lines(stderr: &[u8]) -> String {
    const QUOTING: [&str; 4] = ["DETAIL", "CONTEXT", "LINE ", "Command was"];
    let text = String::from_utf8_lossy(stderr);
    let kept: Vec<String> = text
        .lines()
        .filter(|line| {
            let bare = line
                .trim_start()
                .trim_start_matches("pg_dump: ")
                .trim_start_matches("pg_restore: ")
                .trim_start_matches("error: ")
                .trim_start_matches("warning: ");
            !QUOTING.iter().any(|prefix| bare.starts_with(prefix)) && !line.starts_with(' ')
        })
        .map(|line| match line.rsplit_once(": \"") {
            Some((before, _)) if line.contains("invalid input") => {
                format!("{before}: [value withheld]")
            }
            _ => line.to_owned(),
        })
        .take(20)
        .collect();
    if kept.is_empty() {
        "(no message)".to_owned()
    } else {
        kept.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_version_is_read_from_the_banner() {
        assert_eq!(
            major_version("pg_dump (PostgreSQL) 15.10 (Debian 15.10-1.pgdg120+1)\n"),
            Some(15)
        );
        assert_eq!(major_version("pg_restore (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(major_version("nonsense"), None);
    }

    #[test]
    fn lines_that_quote_values_are_dropped() {
        let stderr = b"pg_restore: error: could not execute query: ERROR:  duplicate key\n\
            DETAIL:  Key (email)=(amina@example.org) already exists.\n\
            CONTEXT:  COPY users, line 1\n\
            Command was: COPY public.users FROM stdin;\n\
            pg_restore: error: could not execute query: ERROR:  invalid input syntax for type uuid: \"Amina\"\n\
            pg_restore: warning: errors ignored on restore: 1\n";
        let kept = safe_lines(stderr);
        assert!(!kept.contains("amina"), "{kept}");
        assert!(!kept.contains("COPY"), "{kept}");
        assert!(kept.contains("duplicate key"), "{kept}");
        assert!(kept.contains("errors ignored"), "{kept}");
        assert!(!kept.contains("Amina"), "{kept}");
        assert!(kept.contains("type uuid: [value withheld]"), "{kept}");
    }
}
