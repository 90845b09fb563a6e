//! The webhook delivery job. Deliveries are queued by `crate::webhooks` in the transaction of
//! the event that causes them; this worker claims due ones (a lease, so several replicas never
//! send one at once; a crashed worker's claim expires), signs each attempt per the Standard
//! Webhooks scheme with the endpoint's secret (unwrapped from the vault for the attempt), posts
//! it through the guarded client (`crate::webhooks::destination`: public addresses only, no
//! redirects, timeouts), and records the outcome: a 2xx delivers; anything else is retried
//! with exponential backoff, and an endpoint failing too long is switched off. Nothing is lost
//! while an endpoint is down: a delivery leaves the queue only once answered with a 2xx.
//!
//! Log lines name the delivery, the endpoint and the event by id; never the URL (it may carry
//! an integration's token) nor anything the endpoint answered.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use tumaini_db::Pool;
use tumaini_db::ids::WebhookId;
use tumaini_db::models::webhook::{self as store, WebhookDelivery, WebhookEndpoint};
use tumaini_db::time::now_utc;
use tumaini_db::vault::KeyProvider;

use crate::config::WebhookSettings;
use crate::jobs::{Job, Round};
use crate::webhooks::signing::SigningSecret;
use crate::webhooks::{self, Failure, destination};

/// Deliveries claimed per round.
const BATCH: i64 = 64;
/// How long a claim holds before another worker may take the delivery: well over one
/// attempt's timeout, as a round's attempts run at once.
const LEASE_SECS: i64 = 300;

/// A running worker; stopped (and joined) when dropped or by [`WebhookWorker::stop`].
#[derive(Debug)]
pub struct WebhookWorker {
    job: Job,
}

/// What the worker needs in each round.
struct Deliverer {
    pool: Pool,
    keys: Arc<dyn KeyProvider>,
    settings: WebhookSettings,
    public_url: String,
    audit_events: tumaini_db::audit_chain::EventKey,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

/// How one attempt ended.
enum Outcome {
    /// The endpoint answered 2xx.
    Delivered(u16),
    /// Anything else.
    Failed { status: Option<u16>, reason: String },
}

impl WebhookWorker {
    /// Starts the worker thread. `keys` unwrap the endpoints' signing secrets; `public_url` is
    /// the base of links in the e-mail sent when an endpoint is switched off.
    pub fn start(
        pool: Pool,
        keys: Arc<dyn KeyProvider>,
        settings: WebhookSettings,
        public_url: String,
        audit_events: tumaini_db::audit_chain::EventKey,
    ) -> anyhow::Result<Self> {
        let deliverer = Deliverer {
            client: destination::client(&settings)?,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            pool,
            keys,
            public_url,
            audit_events,
            settings: settings.clone(),
        };
        let job = Job::spawn("webhooks", settings.poll_interval, move || {
            if deliverer.round() == 0 {
                Round::Rest
            } else {
                Round::Again
            }
        })?;
        Ok(Self { job })
    }

    /// Stops the worker after its current round.
    pub fn stop(&mut self) {
        self.job.stop();
    }
}

impl Deliverer {
    /// One round: claims due deliveries and tries each once, all at once. Returns how many
    /// were delivered.
    fn round(&self) -> usize {
        let claimed = self
            .pool
            .get()
            .map_err(tumaini_db::DbError::from)
            .and_then(|mut conn| {
                let due =
                    store::claim_due(&mut conn, BATCH, chrono::Duration::seconds(LEASE_SECS))?;
                let ids: Vec<WebhookId> = due.iter().map(|d| d.endpoint_id.clone()).collect();
                let endpoints = WebhookEndpoint::find_many(&mut conn, &ids)?;
                Ok((due, endpoints))
            });
        let (due, endpoints) = match claimed {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "webhooks: cannot claim deliveries");
                return 0;
            }
        };
        if due.is_empty() {
            return 0;
        }
        let endpoints: HashMap<WebhookId, WebhookEndpoint> =
            endpoints.into_iter().map(|e| (e.id.clone(), e)).collect();
        let attempts = due.iter().map(|delivery| {
            let endpoint = endpoints.get(&delivery.endpoint_id);
            async move { (delivery, self.attempt(delivery, endpoint).await) }
        });
        let outcomes = self
            .runtime
            .block_on(futures_util::future::join_all(attempts));
        outcomes
            .into_iter()
            .filter(|(delivery, outcome)| self.record(delivery, outcome))
            .count()
    }

    /// Sends one signed attempt.
    async fn attempt(
        &self,
        delivery: &WebhookDelivery,
        endpoint: Option<&WebhookEndpoint>,
    ) -> Outcome {
        let failed = |reason: &str| Outcome::Failed {
            status: None,
            reason: reason.to_owned(),
        };
        let Some(endpoint) = endpoint.filter(|e| e.is_active()) else {
            return failed("endpoint not active");
        };
        // Checked again at every attempt: a setting changed since registration applies.
        let Ok(url) = destination::check_url(&endpoint.url, self.settings.allow_loopback) else {
            return failed("destination refused");
        };
        let Ok(secret) = SigningSecret::unwrap(
            &self.keys,
            &endpoint.id,
            endpoint.secret_kek_version,
            &endpoint.secret_wrapped,
        ) else {
            return failed("signing secret unavailable");
        };
        let timestamp = now_utc().and_utc().timestamp();
        let id = delivery.event_id.as_str();
        let body = delivery.payload.as_bytes();
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", secret.sign(id, timestamp, body))
            .body(delivery.payload.clone());
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                Outcome::Delivered(response.status().as_u16())
            }
            Ok(response) => Outcome::Failed {
                status: Some(response.status().as_u16()),
                reason: format!("answered {}", response.status().as_u16()),
            },
            Err(err) => failed(describe(&err)),
        }
    }

    /// Records an attempt's outcome; whether it was delivered.
    fn record(&self, delivery: &WebhookDelivery, outcome: &Outcome) -> bool {
        let Ok(mut conn) = self.pool.get() else {
            // The lease expires and a later round tries again.
            return false;
        };
        let (delivered, recorded) = match outcome {
            Outcome::Delivered(status) => {
                tracing::info!(
                    delivery_id = %delivery.id,
                    endpoint_id = %delivery.endpoint_id,
                    event_id = %delivery.event_id,
                    "webhooks: delivered"
                );
                (
                    true,
                    webhooks::record_delivery(&mut conn, delivery, *status).map(drop),
                )
            }
            Outcome::Failed { status, reason } => {
                let now = now_utc();
                let attempts = delivery.attempts.saturating_add(1);
                tracing::warn!(
                    delivery_id = %delivery.id,
                    endpoint_id = %delivery.endpoint_id,
                    event_id = %delivery.event_id,
                    attempts,
                    error = %reason,
                    "webhooks: delivery failed"
                );
                let failure = Failure {
                    status: *status,
                    reason: reason.clone(),
                    retry_at: self.retry_at(now, attempts),
                };
                let disable_after = chrono::Duration::from_std(self.settings.disable_after)
                    .unwrap_or(chrono::Duration::days(3));
                let recorded = webhooks::record_failure(
                    &mut conn,
                    delivery,
                    &failure,
                    now,
                    disable_after,
                    &self.public_url,
                    &self.audit_events,
                );
                if let Ok(true) = recorded {
                    tracing::warn!(
                        endpoint_id = %delivery.endpoint_id,
                        "webhooks: endpoint switched off after failing too long"
                    );
                }
                (false, recorded.map(drop))
            }
        };
        if let Err(err) = recorded {
            tracing::warn!(delivery_id = %delivery.id, error = %err, "webhooks: cannot record the attempt");
        }
        delivered
    }

    /// When to try again after the `attempts`-th failure: the base delay doubled per failure,
    /// capped.
    fn retry_at(&self, now: NaiveDateTime, attempts: i32) -> NaiveDateTime {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let delay = self
            .settings
            .retry_base
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.settings.retry_max);
        now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1))
    }
}

/// A transport failure in terms that name no URL (reqwest's own messages quote it).
fn describe(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        // Refused, unreachable, or a name the guarded resolver would not resolve.
        "connection failed"
    } else if err.is_redirect() {
        "redirect refused"
    } else {
        "request failed"
    }
}
