//! The malware scan hook: an optional command (`clamdscan --no-summary -`, or any script) that
//! reads a document's plaintext on its standard input as it streams and answers with its exit
//! status: 0 clean, 1 infected, anything else (or no answer in time) a failed scan.
//!
//! The command runs without a shell, with a cleared environment except `PATH` (so no secret in
//! the service's environment reaches it), and its standard output and error are discarded,
//! never logged: a scanner may echo what it read.

use std::fmt;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

/// The configured scan command, parsed once from its setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanCommand {
    /// The program, found on `PATH` unless it has a slash.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// How long any one wait on the scanner may last: for it to take the next bytes, or for
    /// its verdict once the input has ended.
    pub timeout: Duration,
}

impl ScanCommand {
    /// Parses a setting like `clamdscan --no-summary -`: words split on whitespace, with
    /// shell-style single quotes, double quotes and backslash escapes, and no shell involved.
    ///
    /// # Errors
    /// A message (naming no part of the setting) for an empty setting or an unclosed quote.
    pub fn parse(setting: &str, timeout: Duration) -> Result<ScanCommand, String> {
        let mut words = split_words(setting)?.into_iter();
        let program = words
            .next()
            .filter(|program| !program.is_empty())
            .ok_or_else(|| "the scan command is empty".to_owned())?;
        Ok(ScanCommand {
            program,
            args: words.collect(),
            timeout,
        })
    }
}

/// Splits like a POSIX shell would, without expansions.
fn split_words(setting: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = setting.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err("the scan command has an unclosed quote".to_owned()),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => current.push(c),
                            Some(c) => {
                                current.push('\\');
                                current.push(c);
                            }
                            None => {
                                return Err("the scan command has an unclosed quote".to_owned());
                            }
                        },
                        Some(c) => current.push(c),
                        None => return Err("the scan command has an unclosed quote".to_owned()),
                    }
                }
            }
            '\\' => {
                let current = word.get_or_insert_with(String::new);
                match chars.next() {
                    Some(c) => current.push(c),
                    None => return Err("the scan command ends with a lone backslash".to_owned()),
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

/// What a finished scan said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanVerdict {
    /// Exit status 0.
    Clean,
    /// Exit status 1.
    Infected,
}

/// Why a scan gave no verdict. The texts name no content and no scanner output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// The command could not be started (not found, not executable).
    #[error("the malware scan command could not be started")]
    Start,
    /// The scanner failed: an exit status other than 0 or 1, or killed by a signal.
    #[error("the malware scan failed")]
    Failed,
    /// The scanner took longer than its timeout, and was killed.
    #[error("the malware scan timed out")]
    TimedOut,
}

/// One running scan of one document.
pub struct Scan {
    child: Child,
    /// `None` once closed, by us or because the scanner stopped reading.
    stdin: Option<ChildStdin>,
    timeout: Duration,
}

impl fmt::Debug for Scan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("pid", &self.child.id())
            .field("stdin_open", &self.stdin.is_some())
            .finish_non_exhaustive()
    }
}

impl Scan {
    /// Starts the scanner for one document.
    ///
    /// # Errors
    /// [`ScanError::Start`] when the program cannot be started.
    pub async fn start(command: &ScanCommand) -> Result<Scan, ScanError> {
        let mut process = Command::new(&command.program);
        process
            .args(&command.args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some(path) = std::env::var_os("PATH") {
            process.env("PATH", path);
        }
        let mut child = process.spawn().map_err(|_| ScanError::Start)?;
        let stdin = child.stdin.take();
        Ok(Scan {
            child,
            stdin,
            timeout: command.timeout,
        })
    }

    /// Passes the next bytes of the plaintext to the scanner. A scanner that stopped reading
    /// (it may have seen enough) is not an error by itself: its verdict says.
    ///
    /// # Errors
    /// [`ScanError::TimedOut`] (and the scanner killed) when it takes no bytes for the timeout.
    pub async fn feed(&mut self, bytes: &[u8]) -> Result<(), ScanError> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Ok(());
        };
        match tokio::time::timeout(self.timeout, stdin.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => {
                // A broken pipe: the scanner closed its input. Nothing more is sent.
                self.stdin = None;
                Ok(())
            }
            Err(_) => {
                self.stdin = None;
                let _ = self.child.kill().await;
                Err(ScanError::TimedOut)
            }
        }
    }

    /// Ends the input and waits for the verdict, at most the timeout (then kills the scanner).
    ///
    /// # Errors
    /// [`ScanError::Failed`] for an exit status other than 0 or 1, [`ScanError::TimedOut`].
    pub async fn verdict(mut self) -> Result<ScanVerdict, ScanError> {
        if let Some(mut stdin) = self.stdin.take() {
            // Closing fails only if the scanner already stopped reading, which is fine.
            let _ = tokio::time::timeout(self.timeout, stdin.shutdown()).await;
        }
        match tokio::time::timeout(self.timeout, self.child.wait()).await {
            Ok(Ok(status)) => match status.code() {
                Some(0) => Ok(ScanVerdict::Clean),
                Some(1) => Ok(ScanVerdict::Infected),
                _ => Err(ScanError::Failed),
            },
            Ok(Err(_)) => Err(ScanError::Failed),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(ScanError::TimedOut)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    /// Reads all of its input (so it never stops early) and exits 1 if it holds the EICAR
    /// test string.
    fn eicar_scanner() -> ScanCommand {
        ScanCommand {
            program: "sh".to_owned(),
            args: vec![
                "-c".to_owned(),
                "if grep -qF 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE'; then exit 1; else exit 0; fi"
                    .to_owned(),
            ],
            timeout: Duration::from_secs(10),
        }
    }

    async fn scan(command: &ScanCommand, pieces: &[&[u8]]) -> Result<ScanVerdict, ScanError> {
        let mut scan = Scan::start(command).await?;
        for piece in pieces {
            scan.feed(piece).await?;
        }
        scan.verdict().await
    }

    #[tokio::test]
    async fn the_eicar_string_split_across_pieces_is_found() {
        let (a, b) = EICAR.split_at(30);
        let filler = vec![b'.'; 100_000];
        let verdict = scan(&eicar_scanner(), &[b"%PDF-1.7\n", &filler, a, b, &filler]).await;
        assert_eq!(verdict, Ok(ScanVerdict::Infected));
        let verdict = scan(&eicar_scanner(), &[b"%PDF-1.7\n", &filler, a, &filler, b]).await;
        assert_eq!(verdict, Ok(ScanVerdict::Clean));
    }

    #[tokio::test]
    async fn a_scanner_that_stops_reading_early_still_gives_its_verdict() {
        let command = ScanCommand::parse(
            "sh -c 'head -c 1 >/dev/null; exit 1'",
            Duration::from_secs(10),
        )
        .unwrap();
        let big = vec![0_u8; 1 << 20];
        assert_eq!(
            scan(&command, &[&big, &big, &big]).await,
            Ok(ScanVerdict::Infected)
        );
    }

    #[tokio::test]
    async fn other_exit_statuses_are_failures() {
        let command =
            ScanCommand::parse("sh -c 'cat >/dev/null; exit 3'", Duration::from_secs(10)).unwrap();
        assert_eq!(scan(&command, &[b"bytes"]).await, Err(ScanError::Failed));
    }

    #[tokio::test]
    async fn a_slow_scanner_times_out_and_is_killed() {
        let command = ScanCommand::parse("sleep 5", Duration::from_millis(200)).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(scan(&command, &[b"bytes"]).await, Err(ScanError::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn a_missing_program_cannot_start() {
        let command = ScanCommand::parse("/nonexistent/scanner -", Duration::from_secs(1)).unwrap();
        assert_eq!(scan(&command, &[]).await, Err(ScanError::Start));
    }

    #[tokio::test]
    async fn the_environment_is_cleared_but_for_path() {
        // Cargo runs tests with HOME and CARGO set: the scanner must see neither.
        let command = ScanCommand::parse(
            r#"sh -c 'test -z "$HOME$USER$CARGO" && test -n "$PATH"'"#,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(scan(&command, &[]).await, Ok(ScanVerdict::Clean));
    }

    #[test]
    fn settings_are_split_like_a_shell_would_without_one() {
        let parsed = ScanCommand::parse(
            r#"  clamdscan --no-summary '--config-file=/etc/clam av.conf' "a \"b\"" c\ d - "#,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(parsed.program, "clamdscan");
        assert_eq!(
            parsed.args,
            [
                "--no-summary",
                "--config-file=/etc/clam av.conf",
                r#"a "b""#,
                "c d",
                "-"
            ]
        );
        assert!(ScanCommand::parse("''", Duration::ZERO).is_err());
        assert!(ScanCommand::parse("   ", Duration::ZERO).is_err());
        assert!(ScanCommand::parse("scan 'open", Duration::ZERO).is_err());
        assert!(ScanCommand::parse("scan \"open", Duration::ZERO).is_err());
        assert!(ScanCommand::parse("scan \\", Duration::ZERO).is_err());
    }
}
