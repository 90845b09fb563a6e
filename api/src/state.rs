//! The application's state: what every handler, service and job can reach. It depends on
//! configuration and the services' own types, never on `routes/` or the server.

use std::sync::Arc;

use anyhow::Context as _;
use tumaini_db::vault::Vault;
use tumaini_db::{Engine, Pool};

use crate::auth::AuthService;
use crate::authz::Authorizer;
use crate::config::Config;
use crate::http::ApiError;
use crate::metrics::Metrics;

/// What every handler can reach: the pool and the pre-rendered API description. Cheap to clone
/// (one per worker).
#[derive(Clone)]
pub struct AppState {
    /// Database connections.
    pub pool: Pool,
    /// The engine behind the pool.
    pub engine: Engine,
    /// Sign-in: keys, password hashing, throttling.
    pub auth: Arc<AuthService>,
    /// The validated access policies.
    pub authz: Arc<Authorizer>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Field-level encryption of personal data; `None` only in tests that store none.
    pub vault: Option<Arc<Vault>>,
    /// Case-work settings.
    pub cases: Arc<crate::config::CaseSettings>,
    /// Erasure approval and the retention schedule.
    pub lifecycle: Arc<crate::config::LifecycleSettings>,
    /// NRM decision deadlines.
    pub deadlines: Arc<crate::rules::deadlines::DeadlineRules>,
    /// Base of links in e-mails.
    pub public_url: Arc<str>,
    /// The Ed25519 audit key that signs the chain's checkpoints.
    pub audit_signer: Arc<tumaini_db::audit_chain::AuditSigner>,
    /// Signed webhooks: which destinations are allowed, retries.
    pub webhooks: Arc<crate::config::WebhookSettings>,
    /// This server's Prometheus metrics (which also know when the audit sealer last
    /// succeeded).
    pub metrics: Metrics,
    /// What `/readyz` checks besides the database answering.
    pub readiness: Arc<crate::config::ReadinessSettings>,
    /// Documents: limits and the scan.
    pub documents: Arc<crate::config::DocumentSettings>,
    /// Where documents' encrypted chunks are kept.
    pub document_store: crate::documents::store::DocumentStore,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("engine", &self.engine)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over an existing pool, configured by `config`, with metrics of its own.
    pub fn new(pool: Pool, config: &Config) -> anyhow::Result<Self> {
        Self::with_metrics(pool, config, Metrics::new(&config.metrics)?)
    }

    /// State over an existing pool, configured by `config`, counting into `metrics` (the ones
    /// the pool's observer and the jobs were given).
    pub fn with_metrics(pool: Pool, config: &Config, metrics: Metrics) -> anyhow::Result<Self> {
        let audit_signer = crate::keyring::audit_signer(&config.audit)
            .context("TUMAINI_AUDIT_KEY / TUMAINI_AUDIT_KEY_FILE")?;
        Ok(Self {
            engine: config.database_url.engine(),
            auth: Arc::new(AuthService::from_config(
                config,
                metrics.clone(),
                audit_signer.event_key().clone(),
            )?),
            authz: Arc::new(Authorizer::from_config(config)?),
            max_body_bytes: config.max_body_bytes,
            vault: None,
            cases: Arc::new(config.cases.clone()),
            lifecycle: Arc::new(config.lifecycle.clone()),
            deadlines: Arc::new(
                crate::rules::deadlines::DeadlineRules::new(
                    config.cases.reasonable_grounds_working_days,
                    config.cases.recovery_period_days,
                    &config.cases.public_holidays,
                )
                .context("TUMAINI_RECOVERY_PERIOD_DAYS / TUMAINI_PUBLIC_HOLIDAYS")?,
            ),
            public_url: config.public_url.clone().into(),
            audit_signer,
            webhooks: Arc::new(config.webhooks.clone()),
            metrics,
            readiness: Arc::new(config.readiness.clone()),
            documents: Arc::new(config.documents.clone()),
            document_store: crate::documents::store::DocumentStore::from_setting(
                &config.documents.store,
                &pool,
            )
            .context("TUMAINI_DOCUMENT_STORE")?,
            pool,
        })
    }

    /// The vault, or 503 when this server runs without one.
    pub fn vault(&self) -> Result<Arc<Vault>, ApiError> {
        self.vault
            .clone()
            .ok_or_else(|| ApiError::unavailable("personal data cannot be stored or read now"))
    }

    /// The same state with the vault that handlers storing personal data use.
    pub fn with_vault(mut self, vault: Arc<Vault>) -> Self {
        self.vault = Some(vault);
        self
    }
}
