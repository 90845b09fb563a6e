//! The application factory and the server loop.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use tumaini_db::vault::Vault;
use tumaini_db::{Pool, PoolOptions, build_pool, migrations};
use utoipa_actix_web::AppExt as _;

use crate::config::Config;
use crate::http::{
    ApiError, ProblemType, body_guard, extractor_configs, request_context, security_headers,
};
use crate::jobs::outbox::OutboxWorker;
use crate::metrics::{Metrics, track_requests};
use crate::routes;
use crate::state::AppState;

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
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(web::Data::new(state))
        .app_data(body_limit)
        .app_data(json)
        .app_data(payload)
        .app_data(query)
        .app_data(path)
        .configure(extra)
        .service(crate::console::scope())
        .configure(crate::console::links::register)
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(ApiError::bare(ProblemType::NotFound))
        }))
        .wrap(security_headers())
        .wrap(from_fn(body_guard))
        .wrap(from_fn(request_context))
        .wrap(from_fn(track_requests))
}

/// The application of the metrics listener (`TUMAINI_METRICS_BIND`): `GET /metrics` and
/// nothing else; its own requests are not counted.
pub fn build_metrics_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .route("/metrics", web::get().to(routes::metrics::metrics_listener))
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(ApiError::bare(ProblemType::NotFound))
        }))
        .wrap(security_headers())
        .wrap(from_fn(request_context))
}

/// Opens the pool (its waits timed into `metrics`) and, for the embedded engine, brings its
/// schema up to date. On PostgreSQL a pending migration is reported (readiness says so) but not
/// applied: `tumaini migrate` runs with the schema owner's role, the server with the
/// application's.
pub async fn open_database(config: &Config, metrics: &Metrics) -> anyhow::Result<Pool> {
    let pool = build_pool(
        &config.database_url,
        PoolOptions {
            observer: Some(metrics.pool_observer()),
            ..config.db_timeouts.pool_options(config.db_pool_size)
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
    let vault = Arc::new(Vault::new(crate::keyring::key_provider(config)?));
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

/// The metrics listener, when `TUMAINI_METRICS_BIND` asks for one: one worker, bound now.
fn metrics_listener(
    config: &Config,
    state: &AppState,
) -> anyhow::Result<Option<actix_web::dev::Server>> {
    let Some(bind) = &config.metrics.bind else {
        return Ok(None);
    };
    let state = state.clone();
    let server = HttpServer::new(move || build_metrics_app(state.clone()))
        .workers(1)
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .bind(bind)
        .with_context(|| format!("binding {bind} (TUMAINI_METRICS_BIND)"))?;
    for addr in server.addrs() {
        tracing::info!(addr = %addr, "metrics listening");
    }
    Ok(Some(server.run()))
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
    let metrics = Metrics::new(&config.metrics)?;
    let pool = open_database(&config, &metrics).await?;
    let vault = open_vault(&config, &pool).await?;
    let state = AppState::with_metrics(pool.clone(), &config, metrics.clone())?
        .with_vault(Arc::clone(&vault));
    // The API description is served from memory; a document that cannot be serialised stops
    // the server here rather than being answered as `{}`.
    routes::docs::description()
        .map_err(|_| anyhow::anyhow!("the OpenAPI document cannot be serialised"))?;
    let state_for_pruning = state.clone();
    let mut outbox = OutboxWorker::start(pool.clone(), config.mail.clone(), metrics.clone())?;
    let mut webhooks = crate::jobs::webhooks::WebhookWorker::start(
        pool.clone(),
        Arc::clone(vault.provider()),
        config.webhooks.clone(),
        config.public_url.clone(),
        state.audit_signer.event_key().clone(),
    )?;
    let mut scanner = crate::jobs::deadlines::DeadlineScanner::start(
        pool.clone(),
        config.cases.deadline_scan_interval,
        config.public_url.clone(),
        state.audit_signer.event_key().clone(),
        metrics.clone(),
    )?;
    let mut retention = match config.lifecycle.retention_interval {
        Some(interval) => Some(crate::jobs::retention::RetentionJob::start(
            pool.clone(),
            Arc::clone(&vault),
            config.lifecycle.retention.clone(),
            interval,
            config.public_url.clone(),
            state.audit_signer.event_key().clone(),
        )?),
        None => None,
    };
    let mut housekeeping = crate::jobs::housekeeping::Housekeeping::start(
        pool.clone(),
        vault,
        config.cases.idempotency_ttl,
        config.public_url.clone(),
        state.audit_signer.event_key().clone(),
        state.document_store.clone(),
        config.documents.abandoned_upload,
    )?;
    let mut sealer = crate::jobs::audit_sealer::AuditSealer::start(
        pool,
        Arc::clone(&state.audit_signer),
        &config.audit,
        config.public_url.clone(),
        metrics,
    )?;
    let metrics_server = metrics_listener(&config, &state)?;
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
    let served = match metrics_server {
        Some(metrics_server) => futures_util::future::try_join(server.run(), metrics_server)
            .await
            .map(|_| ()),
        None => server.run().await,
    };
    pruning.abort();
    outbox.stop();
    webhooks.stop();
    scanner.stop();
    housekeeping.stop();
    if let Some(retention) = retention.as_mut() {
        retention.stop();
    }
    sealer.stop();
    served?;
    tracing::info!("stopped");
    Ok(())
}
