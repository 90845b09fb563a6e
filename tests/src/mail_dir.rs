//! The development mail transport's folder (`TUMAINI_MAIL_DIR`): the outbox worker writes each
//! message there as `<message id>.eml`, headers and body exactly as they would go to a relay.
//! Tests that are not about SMTP itself read their e-mail here, so they need no SMTP server.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The `.eml` files in `dir`, oldest first (message ids are time-ordered UUIDs).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    files.sort();
    files
}

/// Every message written to `dir` so far, whole (headers and body), oldest first.
pub fn messages(dir: &Path) -> Vec<String> {
    files(dir)
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

/// Waits until `dir` holds at least `count` messages, and returns them all. A file is written
/// in one go but not atomically, so the folder is read until two reads a moment apart agree.
pub fn wait_for(dir: &Path, count: usize, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut last: Option<Vec<String>> = None;
    loop {
        let now = messages(dir);
        if now.len() >= count && last.as_ref() == Some(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} message(s) in {}, got {} in {timeout:?}",
            dir.display(),
            now.len()
        );
        last = Some(now);
        std::thread::sleep(Duration::from_millis(100));
    }
}
