//! The audit sealer: a background job that seals new audit events into the hash chain within
//! about a second of their commit (one sealer at a time across replicas, under the chain's
//! lock), signs a checkpoint within seconds of events arriving, hands each sealed batch to the
//! insider-misuse watch (`crate::audit::misuse`), and appends new checkpoints to the witness
//! file when one is configured (`crate::audit::witness`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tumaini_db::audit_chain::{self, AuditSigner, SealOptions};
use tumaini_db::{DbConn, DbError, Pool};

use crate::audit::misuse::MisuseWatch;
use crate::audit::witness::WitnessFile;
use crate::config::AuditSettings;
use crate::jobs::{Job, Round};
use crate::metrics::{self, Metrics};

/// The running sealer; stops when dropped.
#[derive(Debug)]
pub struct AuditSealer {
    job: Job,
}

/// Every so often the sealer looks further back than its straggler look-back.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// How far back that sweep looks, before the last sealed event's time: as far as an event may
/// trail the one sealed before it without `verify` calling it out of order. What it reads is
/// the events of that window (a range of the time index), whatever the length of the trail;
/// an event committed later still (a transaction held open longer, or a row written behind
/// the servers' back) is found by the sweep's count and sealed by a full sweep (or at once by
/// `tumaini audit seal`).
const SWEEP_WINDOW: chrono::Duration = audit_chain::BACKDATING_TOLERANCE;
/// Every this many rounds it looks back a little for events whose transactions committed late.
const STRAGGLER_ROUNDS: u32 = 20;
/// How far back that look goes, before the last sealed event's time.
const STRAGGLER_WINDOW_SECS: i64 = 120;

impl AuditSealer {
    /// Starts sealing in a background thread; rounds and misuse alerts are counted in
    /// `metrics`.
    pub fn start(
        pool: Pool,
        signer: Arc<AuditSigner>,
        settings: &AuditSettings,
        public_url: String,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let interval = settings.seal_interval;
        let options = SealOptions {
            checkpoint_every: chrono::Duration::from_std(settings.checkpoint_every)
                .unwrap_or(chrono::Duration::seconds(60)),
            ..SealOptions::default()
        };
        let mut witness = settings
            .witness_file
            .as_deref()
            .map(WitnessFile::open)
            .transpose()?;
        let mut misuse = MisuseWatch::new(
            settings,
            public_url,
            metrics.clone(),
            signer.event_key().clone(),
        );
        // Each sweep (the first round, then hourly) seals what a restart or a transaction
        // held open for minutes left behind: it sweeps the whole trail (a hash anti-join of
        // the events and the chain, 2 s at 1,000,000 events, 24 s at 10,000,000) only when
        // counting shows events older than `SWEEP_WINDOW` still unsealed (two index counts,
        // 0.2 s and 2 s); otherwise it looks back `SWEEP_WINDOW` only. So no event stays out
        // of the chain for more than an hour.
        let mut last_sweep: Option<Instant> = None;
        let mut rounds = 0u32;
        let job = Job::spawn("audit-sealer", interval, move || {
            let sweep = last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_EVERY);
            rounds = rounds.wrapping_add(1);
            let straggler_window = if sweep {
                Some(SWEEP_WINDOW)
            } else {
                rounds
                    .is_multiple_of(STRAGGLER_ROUNDS)
                    .then(|| chrono::Duration::seconds(STRAGGLER_WINDOW_SECS))
            };
            let sealed = pool.get().map_err(DbError::from).and_then(|mut conn| {
                let full_sweep = sweep && audit_chain::left_behind(&mut conn, SWEEP_WINDOW)?;
                let round = SealOptions {
                    full_sweep,
                    straggler_window,
                    ..options
                };
                let sealed = seal_round(&mut conn, &signer, round, &mut misuse)?;
                if let Some(witness) = witness.as_mut() {
                    keep_witness(witness, &mut conn);
                }
                Ok(sealed)
            });
            metrics.seal_round(metrics::Outcome::of(&sealed));
            match sealed {
                Ok(sealed) => {
                    if sweep && !sealed.busy {
                        last_sweep = Some(Instant::now());
                    }
                    if i64::try_from(sealed.events.len()).unwrap_or(0) >= options.batch {
                        Round::Again
                    } else {
                        Round::Rest
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "audit sealing failed");
                    Round::Rest
                }
            }
        })?;
        Ok(Self { job })
    }

    /// Stops the sealer after its current round.
    pub fn stop(&mut self) {
        self.job.stop();
    }
}

/// Appends new checkpoints to the witness file; says once, loudly, when the database no longer
/// holds the last one the file has.
fn keep_witness(witness: &mut WitnessFile, conn: &mut DbConn) {
    if let Err(err) = witness.catch_up(conn) {
        tracing::warn!(error = %err, "audit witness file not brought up to date");
    }
    if witness.newly_diverged() {
        tracing::error!(
            path = %witness.path().display(),
            "the database no longer holds the last checkpoint in the audit witness file: the \
             audit trail was cut or rolled back; nothing more is appended to the file (run \
             `tumaini audit verify --against` it)"
        );
    }
}

fn seal_round(
    conn: &mut DbConn,
    signer: &AuditSigner,
    options: SealOptions,
    misuse: &mut MisuseWatch,
) -> Result<audit_chain::Sealed, DbError> {
    audit_chain::seal_with(conn, signer, options, |conn, sealed| {
        let forged: Vec<i64> = sealed
            .iter()
            .filter(|(_, event)| !signer.event_key().authenticates(event))
            .map(|(position, _)| *position)
            .collect();
        if let (Some(first), Some(last)) = (forged.first(), forged.last()) {
            // Found as it happens, not only at the next `verify`: someone wrote into the audit
            // table without the servers' key (or a server of another audit key shares it).
            tracing::error!(
                events = forged.len(),
                first_position = first,
                last_position = last,
                "audit events sealed without a valid MAC: written without the audit key; run \
                 `tumaini audit verify`"
            );
        }
        misuse.check(conn, sealed)
    })
}
