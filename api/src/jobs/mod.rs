//! Background jobs: the mail outbox, webhook deliveries, the deadline scanner, the audit sealer,
//! housekeeping and retention
//! each run one round after another on a thread of their own, resting between rounds unless the last one
//! found a full batch, and stop promptly (between rounds) when asked or dropped. Each job is
//! safe with several replicas on its own terms (a lease, a conditional UPDATE, a lock).

pub mod audit_sealer;
pub mod deadlines;
pub mod housekeeping;
pub mod outbox;
pub mod retention;
pub mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a round reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Work may be waiting: run again at once.
    Again,
    /// Rest for the job's interval.
    Rest,
}

/// A running job; stops when dropped.
#[derive(Debug)]
pub struct Job {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Job {
    /// Runs `round` on a thread named `name` until stopped, resting `interval` after each round
    /// that says so.
    pub fn spawn(
        name: &str,
        interval: Duration,
        mut round: impl FnMut() -> Round + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    if round() == Round::Rest {
                        rest(&flag, interval);
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the job after its current round.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sleeps `total`, waking early when the job is stopped.
fn rest(flag: &AtomicBool, total: Duration) {
    let slice = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    while waited < total && !flag.load(Ordering::Relaxed) {
        std::thread::sleep(slice.min(total - waited));
        waited += slice;
    }
}
