//! The outbox job: delivery of queued e-mail. Messages are queued by `tumaini_db::models::outbox::enqueue`
//! in the transaction of the event that causes them; this worker claims due messages (a lease,
//! so several replicas never send one at once), sends them over SMTP (or, in development,
//! writes them to a folder), and reschedules failures with exponential backoff. Nothing is
//! lost while the relay is down: a message leaves the outbox only once it was accepted.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport as _};
use tumaini_db::Pool;
use tumaini_db::models::outbox::{self, OutboxMessage};
use tumaini_db::time::now_utc;

use crate::config::{MailSettings, MailTransport};
use crate::jobs::{Job, Round};
use crate::metrics::{Metrics, Outcome};

/// Messages claimed per round.
const BATCH: i64 = 64;
/// Messages sent at once in a round, each over its own connection. lettre writes a message's
/// body and its closing dot in two writes, so over one connection each message waits out the
/// relay's delayed acknowledgement (about 40 ms on Linux): one at a time, a worker delivered
/// 20 messages a second to a relay on loopback. Eight at once keep a relay busy without
/// flooding it.
const PARALLEL: usize = 8;
/// How long a claim holds before another worker may take the message.
const LEASE_SECS: i64 = 120;
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// A running worker; stopped (and joined) when dropped or by [`OutboxWorker::stop`].
#[derive(Debug)]
pub struct OutboxWorker {
    job: Job,
}

enum Sender {
    Smtp(SmtpTransport),
    Directory(std::path::PathBuf),
}

impl Sender {
    fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        Ok(match &settings.transport {
            MailTransport::Smtp(url) => Self::Smtp(
                SmtpTransport::from_url(url)
                    .map_err(|e| anyhow::anyhow!("TUMAINI_SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build(),
            ),
            MailTransport::Directory(dir) => {
                std::fs::create_dir_all(dir)?;
                Self::Directory(dir.clone())
            }
        })
    }

    fn send(&self, from: &str, message: &OutboxMessage) -> Result<(), String> {
        self.try_send(from, message).map_err(|err| describe(&err))
    }

    fn try_send(&self, from: &str, message: &OutboxMessage) -> anyhow::Result<()> {
        let email = Message::builder()
            .from(from.parse()?)
            .to(message.recipient.parse()?)
            .subject(message.subject.clone())
            .message_id(Some(format!("<{}@tumaini>", message.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())?;
        match self {
            Self::Smtp(transport) => {
                transport.send(&email)?;
            }
            Self::Directory(dir) => {
                std::fs::write(dir.join(format!("{}.eml", message.id)), email.formatted())?;
            }
        }
        Ok(())
    }
}

/// A delivery failure in terms that carry no address or content: an SMTP server's reply text
/// may quote the recipient, so only its kind and code are kept.
fn describe(err: &anyhow::Error) -> String {
    match err.downcast_ref::<lettre::transport::smtp::Error>() {
        Some(smtp) => {
            let kind = if smtp.is_transient() {
                "transient"
            } else if smtp.is_permanent() {
                "permanent"
            } else if smtp.is_timeout() {
                "timeout"
            } else {
                "connection"
            };
            match smtp.status() {
                Some(code) => format!("smtp {kind} failure, code {code}"),
                None => format!("smtp {kind} failure"),
            }
        }
        None => "message could not be built or written".to_owned(),
    }
}

impl OutboxWorker {
    /// Starts the worker thread; delivery attempts are counted in `metrics`.
    pub fn start(pool: Pool, settings: MailSettings, metrics: Metrics) -> anyhow::Result<Self> {
        let sender = Sender::new(&settings)?;
        let interval = settings.poll_interval;
        let job = Job::spawn("outbox", interval, move || {
            let worker = Worker {
                pool: &pool,
                sender: &sender,
                settings: &settings,
                metrics: &metrics,
            };
            if deliver_due(worker) == 0 {
                Round::Rest
            } else {
                Round::Again
            }
        })?;
        Ok(Self { job })
    }

    /// Stops the worker after its current message.
    pub fn stop(&mut self) {
        self.job.stop();
    }
}

/// What a round works with.
#[derive(Clone, Copy)]
struct Worker<'a> {
    pool: &'a Pool,
    sender: &'a Sender,
    settings: &'a MailSettings,
    metrics: &'a Metrics,
}

/// One round: claims due messages and tries each once. Returns how many were delivered.
fn deliver_due(worker: Worker<'_>) -> usize {
    let claimed = worker
        .pool
        .get()
        .map_err(tumaini_db::DbError::from)
        .and_then(|mut conn| {
            outbox::claim_due(&mut conn, BATCH, chrono::Duration::seconds(LEASE_SECS))
        });
    let messages = match claimed {
        Ok(messages) => messages,
        Err(err) => {
            tracing::warn!(error = %err, "outbox: cannot claim messages");
            return 0;
        }
    };
    if messages.is_empty() {
        return 0;
    }
    let share = messages.len().div_ceil(PARALLEL);
    std::thread::scope(|scope| {
        let senders: Vec<_> = messages
            .chunks(share)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter(|message| deliver(worker, message))
                        .count()
                })
            })
            .collect();
        senders
            .into_iter()
            .map(|sender| sender.join().unwrap_or(0))
            .sum()
    })
}

/// Tries one claimed message once and records the outcome; whether it was delivered.
fn deliver(worker: Worker<'_>, message: &OutboxMessage) -> bool {
    let Worker {
        pool,
        sender,
        settings,
        metrics,
    } = worker;
    let outcome = sender.send(&settings.from, message);
    metrics.outbox_attempt(Outcome::of(&outcome));
    let Ok(mut conn) = pool.get() else {
        // The lease expires and another round retries.
        return false;
    };
    let delivered = outcome.is_ok();
    let recorded = match outcome {
        Ok(()) => {
            tracing::info!(message_id = %message.id, "outbox: delivered");
            outbox::mark_sent(&mut conn, &message.id)
        }
        Err(err) => {
            let attempts = message.attempts.saturating_add(1);
            let factor = 2u32.saturating_pow(u32::try_from(attempts - 1).unwrap_or(0).min(16));
            let delay = settings.retry_base.saturating_mul(factor).min(MAX_BACKOFF);
            let retry_at = now_utc()
                + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(3600));
            // The error names the transport's complaint (refused, timed out); it carries
            // no message content.
            tracing::warn!(message_id = %message.id, attempts, error = %err, "outbox: delivery failed");
            outbox::mark_failed(&mut conn, &message.id, attempts, retry_at, &err)
        }
    };
    if let Err(err) = recorded {
        tracing::warn!(message_id = %message.id, error = %err, "outbox: cannot record the attempt");
    }
    delivered
}
