//! Settings of documents: their size limits, where their encrypted content is stored, the
//! optional malware scan, and how long an unfinished upload may wait.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, Sources};

/// Where documents' encrypted chunks are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentStoreSetting {
    /// Chunk rows in the database (the default): one backup holds everything, and every
    /// replica of the server shares them.
    Database,
    /// A local directory (`file:///path`): development, tests, a single server with its own
    /// backups of that directory.
    Directory(PathBuf),
    /// An S3-compatible bucket (`s3://bucket/prefix`), credentials and endpoint from the
    /// standard `AWS_*` environment variables.
    S3(String),
}

/// Document settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSettings {
    /// The largest document accepted, in bytes (`TUMAINI_DOCUMENT_MAX_MB`, default 64).
    pub max_document_bytes: u64,
    /// The most all of a case's documents may hold, every version counted, in bytes
    /// (`TUMAINI_DOCUMENT_CASE_MAX_MB`, default 1024).
    pub max_case_bytes: u64,
    /// Where the encrypted content goes (`TUMAINI_DOCUMENT_STORE`: `database`, `file:///path`
    /// or `s3://bucket/prefix`).
    pub store: DocumentStoreSetting,
    /// A command that reads a document's content on standard input and exits 0 when it is
    /// clean, 1 when it is infected (`TUMAINI_DOCUMENT_SCAN_COMMAND`, e.g. `clamdscan
    /// --no-summary -`); none scans nothing.
    pub scan_command: Option<String>,
    /// How long a scan may take (`TUMAINI_DOCUMENT_SCAN_TIMEOUT_SECS`, default 120).
    pub scan_timeout: Duration,
    /// How long an upload may stay unfinished before its chunks are removed (one day).
    pub abandoned_upload: Duration,
}

impl DocumentSettings {
    pub(super) fn from_sources(sources: &Sources<'_>) -> Result<Self, ConfigError> {
        const MB: u64 = 1024 * 1024;
        let max_mb: u64 = sources.number("TUMAINI_DOCUMENT_MAX_MB")?.unwrap_or(64);
        let case_mb: u64 = sources
            .number("TUMAINI_DOCUMENT_CASE_MAX_MB")?
            .unwrap_or(1024);
        if max_mb == 0 || max_mb > 4096 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_DOCUMENT_MAX_MB",
                reason: "must be between 1 and 4096".to_owned(),
            });
        }
        if case_mb < max_mb {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_DOCUMENT_CASE_MAX_MB",
                reason: "must be at least TUMAINI_DOCUMENT_MAX_MB".to_owned(),
            });
        }
        let scan_secs: u64 = sources
            .number("TUMAINI_DOCUMENT_SCAN_TIMEOUT_SECS")?
            .unwrap_or(120);
        if scan_secs == 0 {
            return Err(ConfigError::Invalid {
                setting: "TUMAINI_DOCUMENT_SCAN_TIMEOUT_SECS",
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(Self {
            max_document_bytes: max_mb * MB,
            max_case_bytes: case_mb * MB,
            store: parse_store(sources.get("TUMAINI_DOCUMENT_STORE").as_deref())?,
            scan_command: sources.get("TUMAINI_DOCUMENT_SCAN_COMMAND"),
            scan_timeout: Duration::from_secs(scan_secs),
            abandoned_upload: Duration::from_secs(24 * 3600),
        })
    }
}

fn parse_store(value: Option<&str>) -> Result<DocumentStoreSetting, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        setting: "TUMAINI_DOCUMENT_STORE",
        reason: reason.to_owned(),
    };
    match value.map(str::trim) {
        None | Some("database") => Ok(DocumentStoreSetting::Database),
        Some(url) if url.starts_with("file://") => {
            let path = PathBuf::from(&url["file://".len()..]);
            if !path.is_absolute() {
                return Err(invalid(
                    "a file:// store needs an absolute path, e.g. file:///var/lib/tumaini/documents",
                ));
            }
            Ok(DocumentStoreSetting::Directory(path))
        }
        Some(url) if url.starts_with("s3://") && url.len() > "s3://".len() => {
            Ok(DocumentStoreSetting::S3(url.to_owned()))
        }
        Some(_) => Err(invalid(
            "expected `database`, `file:///absolute/path` or `s3://bucket/prefix`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_parse_and_garbage_is_refused() {
        assert_eq!(parse_store(None).unwrap(), DocumentStoreSetting::Database);
        assert_eq!(
            parse_store(Some("file:///srv/docs")).unwrap(),
            DocumentStoreSetting::Directory(PathBuf::from("/srv/docs"))
        );
        assert!(matches!(
            parse_store(Some("s3://bucket/tumaini")).unwrap(),
            DocumentStoreSetting::S3(_)
        ));
        assert!(parse_store(Some("file://relative")).is_err());
        assert!(parse_store(Some("ftp://x")).is_err());
        assert!(parse_store(Some("s3://")).is_err());
    }
}
