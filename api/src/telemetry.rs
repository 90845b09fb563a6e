//! Structured logs through `tracing`. Log lines carry request ids, routes, statuses and
//! timings; never a request body, a query string or a personal value.
//!
//! Logging never costs an answer: a line that cannot be written (standard output full,
//! closed or gone) is dropped and counted (`tumaini_log_lines_dropped_total`), and nothing
//! on the way panics or writes to standard error instead.

use std::sync::LazyLock;

use prometheus::IntCounter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogFormat;

/// Installs the global subscriber, writing to standard output. A second call (tests starting
/// several servers in one process) keeps the first.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        // On a failed write the subscriber would report it with `eprint!`, which panics when
        // standard error is broken too; `Stdout` below counts the loss instead.
        .log_internal_errors(false)
        .with_writer(|| Stdout);
    let _already_set = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.with_target(false).try_init(),
    };
}

/// Log lines that could not be written, for `/metrics`: one counter for the process (the log
/// destination is the process's), registered in every server's registry. `None` only if the
/// counter could not be made, which its fixed, valid name rules out.
pub fn dropped_lines() -> Option<&'static IntCounter> {
    static DROPPED: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
        IntCounter::new(
            "tumaini_log_lines_dropped_total",
            "Log lines dropped because the log destination (standard output) refused them.",
        )
        .ok()
    });
    DROPPED.as_ref()
}

/// Standard output for the subscriber: each event is one `write` of one whole line, and a
/// line that fails is counted and dropped, never an error (which would be reported on
/// standard error) and never a panic.
#[derive(Debug, Clone, Copy)]
struct Stdout;

impl std::io::Write for Stdout {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut out = std::io::stdout().lock();
        if out.write_all(line).and_then(|()| out.flush()).is_err()
            && let Some(dropped) = dropped_lines()
        {
            dropped.inc();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dropped_line_counter_is_one_for_the_process() {
        let counter = dropped_lines().unwrap();
        let before = counter.get();
        dropped_lines().unwrap().inc();
        assert!(counter.get() > before);
    }
}
