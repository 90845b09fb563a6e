//! The audit trail's moving parts in the server: the Ed25519 audit key, the sealer thread that
//! seals new events into the hash chain within about a second of their commit (one sealer at a
//! time across replicas), and the insider-misuse alert it raises on the events it seals.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tumaini_db::audit_chain::{self, AuditSigner, SealOptions};
use tumaini_db::models::audit::{self, AuditEvent, AuditRecord};
use tumaini_db::models::{Organisation, User, outbox};
use tumaini_db::time::now_utc;
use tumaini_db::vocabulary::Role;
use tumaini_db::{DbConn, DbError, Pool};
use zeroize::Zeroizing;

use crate::config::{AuditKeySource, AuditSettings};
use crate::jobs::{Job, Round};

/// Loads the audit signing key (generating the development default on first use).
pub fn signer(settings: &AuditSettings) -> anyhow::Result<Arc<AuditSigner>> {
    let text = match &settings.key {
        AuditKeySource::Inline(text) => Zeroizing::new(text.clone()),
        AuditKeySource::File(path) => read_key(path)?,
        AuditKeySource::GeneratedDefault(path) => {
            if !path.exists() {
                generate_key(path)?;
                tracing::warn!(
                    path = %path.display(),
                    "generated a development audit key; production must supply its own \
                     (TUMAINI_AUDIT_KEY or TUMAINI_AUDIT_KEY_FILE), kept apart from the data keys"
                );
            }
            read_key(path)?
        }
    };
    let bytes = Zeroizing::new(
        BASE64
            .decode(text.trim())
            .context("the audit key is not base64")?,
    );
    let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        bail!("the audit key must be 32 bytes (base64 of 32 random bytes)");
    };
    Ok(Arc::new(AuditSigner::from_seed(&seed)))
}

fn read_key(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    Ok(Zeroizing::new(std::fs::read_to_string(path).with_context(
        || format!("reading the audit key {}", path.display()),
    )?))
}

fn generate_key(path: &Path) -> anyhow::Result<()> {
    use rand::RngCore as _;
    use std::io::Write as _;
    let mut seed = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(seed.as_mut());
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(format!("{}\n", BASE64.encode(seed.as_ref())).as_bytes())?;
    Ok(())
}

/// The running sealer; stops when dropped.
#[derive(Debug)]
pub struct AuditSealer {
    job: Job,
}

/// What the misuse alert needs.
#[derive(Debug, Clone)]
struct Misuse {
    threshold: i64,
    window: chrono::Duration,
    public_url: String,
    /// When each reader was last counted: a busy reader is counted at most every
    /// [`RECOUNT_EVERY`], not on every round (the count is a query over the whole window).
    counted: std::collections::HashMap<String, Instant>,
    /// Readers who read again since they were last counted: counted on a later round.
    pending: std::collections::BTreeSet<String>,
}

/// How often one reader's reads are counted at most.
const RECOUNT_EVERY: Duration = Duration::from_secs(5);

/// Every so often the sealer looks at every unsealed event, not only recent ones.
const FULL_SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Every this many rounds it looks back a little for events whose transactions committed late.
const STRAGGLER_ROUNDS: u32 = 20;
/// How far back that look goes, before the last sealed event's time.
const STRAGGLER_WINDOW_SECS: i64 = 120;

impl AuditSealer {
    /// Starts sealing in a background thread.
    pub fn start(
        pool: Pool,
        signer: Arc<AuditSigner>,
        settings: &AuditSettings,
        public_url: String,
    ) -> anyhow::Result<Self> {
        let interval = settings.seal_interval;
        let options = SealOptions {
            checkpoint_every: chrono::Duration::from_std(settings.checkpoint_every)
                .unwrap_or(chrono::Duration::seconds(60)),
            ..SealOptions::default()
        };
        let mut misuse = Misuse {
            threshold: i64::from(settings.misuse_threshold),
            window: chrono::Duration::from_std(settings.misuse_window)
                .unwrap_or(chrono::Duration::hours(1)),
            public_url,
            counted: std::collections::HashMap::new(),
            pending: std::collections::BTreeSet::new(),
        };
        // The first round sweeps everything (events left from before a restart).
        let mut last_sweep: Option<Instant> = None;
        let mut rounds = 0u32;
        let job = Job::spawn("audit-sealer", interval, move || {
            let full_sweep = last_sweep.is_none_or(|at| at.elapsed() >= FULL_SWEEP_EVERY);
            rounds = rounds.wrapping_add(1);
            let round = SealOptions {
                full_sweep,
                straggler_window: rounds
                    .is_multiple_of(STRAGGLER_ROUNDS)
                    .then(|| chrono::Duration::seconds(STRAGGLER_WINDOW_SECS)),
                ..options
            };
            let sealed = pool
                .get()
                .map_err(DbError::from)
                .and_then(|mut conn| seal_round(&mut conn, &signer, round, &mut misuse));
            match sealed {
                Ok(sealed) => {
                    if full_sweep && !sealed.busy {
                        last_sweep = Some(Instant::now());
                    }
                    if i64::try_from(sealed.events.len()).unwrap_or(0) >= round.batch {
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

fn seal_round(
    conn: &mut DbConn,
    signer: &AuditSigner,
    options: SealOptions,
    misuse: &mut Misuse,
) -> Result<audit_chain::Sealed, DbError> {
    audit_chain::seal_with(conn, signer, options, |conn, sealed| {
        check_misuse(conn, sealed, misuse)
    })
}

/// The insider-misuse alert: a user who read personal groups of more cases than the threshold
/// within the window is flagged once per window, by a high-severity audit event and an e-mail
/// to the coordinators of their organisation's country (the user and a link; no case data).
fn check_misuse(
    conn: &mut DbConn,
    sealed: &[(i64, AuditEvent)],
    misuse: &mut Misuse,
) -> Result<(), DbError> {
    let fresh = sealed
        .iter()
        .map(|(_, e)| e)
        .filter(|e| {
            e.outcome == "success"
                && e.resource_type.as_deref() == Some("case")
                && e.action.ends_with(".read")
                && !e.field_groups.is_empty()
        })
        .filter_map(|e| e.actor_user_id.clone());
    misuse.pending.extend(fresh);
    let since = now_utc() - misuse.window;
    let now = Instant::now();
    misuse
        .counted
        .retain(|_, at| now.duration_since(*at) < RECOUNT_EVERY);
    let due: Vec<String> = misuse
        .pending
        .iter()
        .filter(|r| !misuse.counted.contains_key(*r))
        .cloned()
        .collect();
    for reader in &due {
        misuse.pending.remove(reader);
        misuse.counted.insert(reader.clone(), now);
        let reader = reader.as_str();
        let cases = audit::cases_read_with_groups(conn, reader, since)?;
        if cases <= misuse.threshold
            || audit::recorded_since(conn, "audit.misuse_alert", reader, since)?
        {
            continue;
        }
        let Ok(user_id) = reader.parse() else {
            continue;
        };
        let user = User::find(conn, &user_id)?;
        let organisation = Organisation::find(conn, &user.organisation_id)?;
        audit::record(
            conn,
            &AuditRecord {
                action: "audit.misuse_alert".to_owned(),
                outcome: "flagged".to_owned(),
                resource_type: Some("user".to_owned()),
                resource_id: Some(reader.to_owned()),
                actor_organisation_id: Some(organisation.id.to_string()),
                purpose: Some(format!(
                    "{cases} cases read with personal groups within {} minutes",
                    misuse.window.num_minutes()
                )),
                high_severity: true,
                ..AuditRecord::default()
            },
        )?;
        let coordinators = User::notification_recipients(
            conn,
            &[Role::Coordinator],
            None,
            Some(&organisation.country),
        )?;
        for coordinator in &coordinators {
            outbox::enqueue(
                conn,
                &coordinator.email,
                "Possible misuse of case records in Tumaini",
                &format!(
                    "A {} of {} read personal details of {cases} cases within {} minutes, more than the {} allowed before an alert.\n\nReview their access in the audit trail: {}/audit?user_id={}\n",
                    user.role,
                    organisation.name,
                    misuse.window.num_minutes(),
                    misuse.threshold,
                    misuse.public_url,
                    user.id
                ),
            )?;
        }
        tracing::warn!(user_id = %user.id, cases, "audit: possible insider misuse flagged");
    }
    Ok(())
}
