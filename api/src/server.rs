//! The application factory and the server loop.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use tumaini_db::vault::Vault;
use tumaini_db::{Engine, Pool, PoolOptions, build_pool, migrations};
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa_actix_web::AppExt as _;

use crate::auth::AuthService;
use crate::authz::Authorizer;
use crate::config::Config;
use crate::http::{
    ApiError, ProblemType, body_guard, extractor_configs, request_context, security_headers,
};
use crate::mail::OutboxWorker;
use crate::routes::{self, ApiDoc, docs::render_docs_page};

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
    /// The OpenAPI document, serialised once.
    pub openapi_json: Arc<str>,
    /// The docs page, rendered once.
    pub docs_html: Arc<str>,
    /// Field-level encryption of personal data; `None` only in tests that store none.
    pub vault: Option<Arc<Vault>>,
    /// Case-work settings.
    pub cases: Arc<crate::config::CaseSettings>,
    /// NRM decision deadlines.
    pub deadlines: Arc<crate::workflow::deadlines::DeadlineRules>,
    /// Base of links in e-mails.
    pub public_url: Arc<str>,
    /// The Ed25519 audit key that signs the chain's checkpoints.
    pub audit_signer: Arc<tumaini_db::audit_chain::AuditSigner>,
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
    /// State over an existing pool, configured by `config`.
    pub fn new(pool: Pool, config: &Config) -> anyhow::Result<Self> {
        let doc = openapi();
        Ok(Self {
            pool,
            engine: config.database_url.engine(),
            auth: Arc::new(AuthService::from_config(config)?),
            authz: Arc::new(load_policies(config)?),
            max_body_bytes: config.max_body_bytes,
            openapi_json: doc
                .to_pretty_json()
                .context("serialising the OpenAPI document")?
                .into(),
            docs_html: render_docs_page(&doc).into(),
            vault: None,
            cases: Arc::new(config.cases.clone()),
            deadlines: Arc::new(
                crate::workflow::deadlines::DeadlineRules::new(
                    config.cases.reasonable_grounds_working_days,
                    config.cases.recovery_period_days,
                    &config.cases.public_holidays,
                )
                .context("TUMAINI_RECOVERY_PERIOD_DAYS / TUMAINI_PUBLIC_HOLIDAYS")?,
            ),
            public_url: config.public_url.clone().into(),
            audit_signer: crate::audit_trail::signer(&config.audit)
                .context("TUMAINI_AUDIT_KEY / TUMAINI_AUDIT_KEY_FILE")?,
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

/// The policy set: from `TUMAINI_POLICY_DIR` when set, else the embedded one; either way
/// validated in strict mode, so an invalid policy stops the server with a clear message.
pub fn load_policies(config: &Config) -> anyhow::Result<Authorizer> {
    let authorizer = match &config.policy_dir {
        Some(dir) => Authorizer::from_dir(dir)
            .with_context(|| format!("loading the policies in {}", dir.display()))?,
        None => Authorizer::embedded().context("loading the embedded policies")?,
    };
    tracing::info!(
        policies = authorizer.policy_ids().len(),
        "access policies validated"
    );
    Ok(authorizer)
}

/// The OpenAPI document, generated from the same route table the application serves.
pub fn openapi() -> OpenApi {
    App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::register)
        .split_for_parts()
        .1
}

/// The application: routes, extractor limits and middleware. `extra` adds services after the
/// API's own (tests use it to exercise the shared plumbing).
pub fn build_app(
    state: AppState,
    extra: impl FnOnce(&mut web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (body_limit, json, payload, query, path) = extractor_configs(state.max_body_bytes);
    App::new()
        .into_utoipa_app()
        .configure(routes::register)
        .into_app()
        .app_data(web::Data::new(state))
        .app_data(body_limit)
        .app_data(json)
        .app_data(payload)
        .app_data(query)
        .app_data(path)
        .configure(extra)
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(ApiError::bare(ProblemType::NotFound))
        }))
        .wrap(security_headers())
        .wrap(from_fn(body_guard))
        .wrap(from_fn(request_context))
}

/// Opens the pool and, for the embedded engine, brings its schema up to date. On PostgreSQL a
/// pending migration is reported (readiness says so) but not applied: `tumaini migrate` runs
/// with the schema owner's role, the server with the application's.
pub async fn open_database(config: &Config) -> anyhow::Result<Pool> {
    let pool = build_pool(
        &config.database_url,
        PoolOptions {
            max_size: config.db_pool_size,
            ..PoolOptions::default()
        },
    )?;
    let embedded = config.is_embedded();
    let check_pool = pool.clone();
    let result = web::block(move || -> Result<Vec<String>, tumaini_db::DbError> {
        let mut conn = check_pool.get()?;
        if embedded {
            migrations::run_pending(&mut conn)
        } else {
            migrations::pending(&mut conn)
        }
    })
    .await?;
    match (embedded, result) {
        (true, Ok(applied)) => {
            if !applied.is_empty() {
                tracing::info!(count = applied.len(), "applied database migrations");
            }
        }
        (true, Err(err)) => return Err(err).context("migrating the embedded database"),
        (false, Ok(pending)) if !pending.is_empty() => tracing::warn!(
            count = pending.len(),
            "database migrations pending: run `tumaini migrate`; not ready until then"
        ),
        (false, Ok(_)) => {}
        (false, Err(err)) => {
            tracing::warn!(error = %err, "database not reachable at start; not ready until it is");
        }
    }
    Ok(pool)
}

/// Loads the key-encryption keys and checks them against the database, so that a missing,
/// malformed or wrong master key stops the server at start rather than failing requests. A
/// database that is unreachable or not yet migrated is checked later, by the first request.
pub async fn open_vault(config: &Config, pool: &Pool) -> anyhow::Result<Arc<Vault>> {
    let vault = Arc::new(Vault::new(crate::keys::key_provider(config)?));
    let check_vault = Arc::clone(&vault);
    let check_pool = pool.clone();
    let checked = web::block(
        move || -> Option<Result<(), tumaini_db::vault::VaultError>> {
            let mut conn = check_pool.get().ok()?;
            if !migrations::pending(&mut conn).ok()?.is_empty() {
                return None;
            }
            Some(check_vault.check(&mut conn))
        },
    )
    .await?;
    match checked {
        Some(Ok(())) => {}
        Some(Err(err)) => {
            return Err(err).context("the master key does not fit this database");
        }
        None => tracing::warn!("vault keys not checked: database unreachable or not migrated"),
    }
    Ok(vault)
}

/// Runs the HTTP server until SIGINT or SIGTERM, then lets in-flight requests finish (up to
/// the configured shutdown timeout).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    if config.database_url_is_default {
        tracing::warn!(
            database = %config.database_url,
            "using the embedded development database; set DATABASE_URL for real data"
        );
    }
    let pool = open_database(&config).await?;
    let vault = open_vault(&config, &pool).await?;
    let state = AppState::new(pool.clone(), &config)?.with_vault(Arc::clone(&vault));
    let state_for_pruning = state.clone();
    let mut outbox = OutboxWorker::start(pool.clone(), config.mail.clone())?;
    let mut scanner = crate::deadline_scan::DeadlineScanner::start(
        pool.clone(),
        config.cases.deadline_scan_interval,
        config.public_url.clone(),
    )?;
    let mut housekeeping = crate::housekeeping::Housekeeping::start(
        pool.clone(),
        vault,
        config.cases.idempotency_ttl,
        config.public_url.clone(),
    )?;
    let mut sealer = crate::audit_trail::AuditSealer::start(
        pool,
        Arc::clone(&state.audit_signer),
        &config.audit,
        config.public_url.clone(),
    )?;
    let mut server = HttpServer::new(move || build_app(state.clone(), |_| {}))
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .bind(&config.bind)
        .with_context(|| format!("binding {}", config.bind))?;
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    for addr in server.addrs() {
        tracing::info!(addr = %addr, database = %config.database_url.engine(), "listening");
    }
    // The per-address sign-in limiter keeps a cell per client address; forget the idle ones
    // every minute so that a scan from many addresses cannot grow memory without bound.
    let limiter_state = state_for_pruning.clone();
    let pruning = actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter_state.auth.login_limiter.retain_recent();
            limiter_state.auth.login_limiter.shrink_to_fit();
        }
    });
    let served = server.run().await;
    pruning.abort();
    outbox.stop();
    scanner.stop();
    housekeeping.stop();
    sealer.stop();
    served?;
    tracing::info!("stopped");
    Ok(())
}
