//! The witness file: every signed checkpoint, appended as it appears, outside the database.
//!
//! Someone with the database owner's rights can delete the newest checkpoints together with
//! the events after the last one left: the database then holds a shorter trail that verifies.
//! A copy of the checkpoints kept elsewhere defeats that. With `TUMAINI_AUDIT_WITNESS_FILE`
//! set, the sealer appends each new checkpoint to that file as one JSON line (the document of
//! `GET /api/v1/audit/checkpoints`), flushed to disk before it moves on, and checks on every
//! round that the database still holds the last checkpoint it wrote: if not, the trail was cut
//! or rolled back, and it says so in the log (once) and appends nothing more, keeping the file
//! as the evidence. `tumaini audit verify --against FILE` holds the database to the file.
//!
//! Beside it, in `<file>.head`, the sealer keeps the head of the chain it last saw (position
//! and chain hash, replaced on every round the head moves): events sealed after the last
//! checkpoint are not signed yet, and cutting them is found only against that record.
//!
//! [`read_witness`] reads both; the file itself may also be the document of
//! `tumaini audit export-checkpoints` or saved pages of the checkpoints endpoint.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use tumaini_db::audit_chain::{self, Checkpoint, Head, Witness};
use tumaini_db::{DbConn, DbError};

use super::views::CheckpointView;

/// Checkpoints are appended in pages of this many.
const PAGE: i64 = 1_000;

/// The witness file of this server.
#[derive(Debug)]
pub struct WitnessFile {
    path: PathBuf,
    file: File,
    /// The last checkpoint in the file.
    last: Option<Checkpoint>,
    /// The database no longer holds the last checkpoint written: nothing more is appended.
    diverged: bool,
    /// Whether that was already reported.
    reported: bool,
    /// The head last written to `<file>.head`.
    head: Option<Head>,
}

/// The head record, as `<file>.head` holds it.
#[derive(Debug, Serialize, Deserialize)]
struct HeadRecord {
    /// The last sealed position.
    position: i64,
    /// The chain hash there (base64).
    chain_hash: String,
    /// When the sealer saw it.
    seen_at: chrono::DateTime<chrono::Utc>,
}

/// `<file>.head`.
pub fn head_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// What one round of [`WitnessFile::catch_up`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// This many checkpoints were appended (possibly none).
    Appended(usize),
    /// The database no longer holds the file's last checkpoint (or holds another in its
    /// place): the trail was cut or rolled back.
    Diverged,
}

impl WitnessFile {
    /// Opens (creating it and its directory if need be) the witness file at `path`, reading
    /// the checkpoints already in it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the directory of {}", path.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .with_context(|| format!("opening the audit witness file {}", path.display()))?;
        let mut last = None;
        for (number, line) in BufReader::new(&file).lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            last = Some(parse_line(&line).with_context(|| {
                format!(
                    "line {} of the audit witness file {} is not a checkpoint",
                    number + 1,
                    path.display()
                )
            })?);
        }
        let head = read_head(&head_path(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            last,
            diverged: false,
            reported: false,
            head,
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True once, the first time it is asked after the file and the database diverged.
    pub fn newly_diverged(&mut self) -> bool {
        let newly = self.diverged && !self.reported;
        self.reported |= self.diverged;
        newly
    }

    /// Appends every checkpoint the database has after the file's last, after checking that
    /// the database still holds that one as written.
    pub fn catch_up(&mut self, conn: &mut DbConn) -> Result<CatchUp, WitnessError> {
        if self.diverged {
            return Ok(CatchUp::Diverged);
        }
        let mut appended = 0;
        loop {
            // From the file's last checkpoint on, that one included: it must still be there.
            let after = self.last.as_ref().map_or(0, |c| c.position - 1);
            let page = Checkpoint::after(conn, after, PAGE + 1)?;
            let mut fresh = page.as_slice();
            if let Some(last) = &self.last {
                match fresh.split_first() {
                    Some((first, rest)) if first.body() == last.body() => fresh = rest,
                    _ => {
                        self.diverged = true;
                        return Ok(CatchUp::Diverged);
                    }
                }
            }
            if fresh.is_empty() {
                return self.keep_head(conn, appended);
            }
            let mut text = String::new();
            for checkpoint in fresh {
                text.push_str(&serde_json::to_string(&CheckpointView::from(checkpoint))?);
                text.push('\n');
            }
            self.file.write_all(text.as_bytes())?;
            self.file.sync_data()?;
            appended += fresh.len();
            self.last = fresh.last().cloned();
            if i64::try_from(page.len()).unwrap_or(i64::MAX) <= PAGE {
                return self.keep_head(conn, appended);
            }
        }
    }

    /// Replaces `<file>.head` when the head moved, after checking that the chain still holds
    /// the head written last (the same hash at the same position).
    fn keep_head(&mut self, conn: &mut DbConn, appended: usize) -> Result<CatchUp, WitnessError> {
        let now = audit_chain::head(conn)?;
        if now == self.head {
            return Ok(CatchUp::Appended(appended));
        }
        if let Some(seen) = &self.head {
            let still = audit_chain::chain_hash_at(conn, seen.position)?;
            if still.as_deref() != Some(seen.chain_hash.as_slice()) {
                self.diverged = true;
                return Ok(CatchUp::Diverged);
            }
        }
        if let Some(head) = &now {
            let record = HeadRecord {
                position: head.position,
                chain_hash: BASE64.encode(&head.chain_hash),
                seen_at: chrono::Utc::now(),
            };
            let target = head_path(&self.path);
            let mut staging = target.clone().into_os_string();
            staging.push(".tmp");
            let staging = PathBuf::from(staging);
            std::fs::write(&staging, serde_json::to_vec(&record)?)?;
            std::fs::rename(&staging, &target)?;
        }
        self.head = now;
        Ok(CatchUp::Appended(appended))
    }
}

fn read_head(path: &Path) -> anyhow::Result<Option<Head>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let record: HeadRecord = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a chain head record", path.display()))?;
    Ok(Some(Head {
        position: record.position,
        chain_hash: BASE64
            .decode(&record.chain_hash)
            .with_context(|| format!("{} holds a malformed hash", path.display()))?,
    }))
}

/// A witness's copy at `path`: its checkpoints ([`parse_checkpoints`]) and, when
/// `<path>.head` exists beside it, the head of the chain it last saw.
pub fn read_witness(path: &Path) -> anyhow::Result<Witness> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Witness {
        checkpoints: parse_checkpoints(&text)
            .with_context(|| format!("{} holds no checkpoints Tumaini can read", path.display()))?,
        head: read_head(&head_path(path))?,
    })
}

/// Why the witness could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// Reading the checkpoints failed.
    #[error("reading the checkpoints: {0}")]
    Database(#[from] DbError),
    /// Writing the file failed.
    #[error("writing the witness file: {0}")]
    File(#[from] std::io::Error),
    /// A checkpoint could not be written as JSON.
    #[error("encoding a checkpoint: {0}")]
    Encoding(#[from] serde_json::Error),
}

fn parse_line(line: &str) -> anyhow::Result<Checkpoint> {
    let view: CheckpointView = serde_json::from_str(line)?;
    Ok(view.to_checkpoint()?)
}

/// The checkpoints of a witness's copy: a witness file (one checkpoint per line), the document
/// of `tumaini audit export-checkpoints` (`{"checkpoints": [...]}`) or a saved page of
/// `GET /api/v1/audit/checkpoints` (`{"items": [...]}`).
pub fn parse_checkpoints(text: &str) -> anyhow::Result<Vec<Checkpoint>> {
    if let Ok(document) = serde_json::from_str::<serde_json::Value>(text)
        && let Some(list) = document
            .get("checkpoints")
            .or_else(|| document.get("items"))
            .and_then(serde_json::Value::as_array)
    {
        return list
            .iter()
            .enumerate()
            .map(|(n, item)| {
                let view: CheckpointView = serde_json::from_value(item.clone())
                    .with_context(|| format!("checkpoint {} is malformed", n + 1))?;
                Ok(view.to_checkpoint()?)
            })
            .collect();
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            parse_line(line).with_context(|| format!("line {} is not a checkpoint", n + 1))
        })
        .collect()
}
