//! The real application served over real HTTP on a loopback port, in this process, with its
//! background jobs (the mail outbox, webhook deliveries, the deadline scanner, the audit
//! sealer, housekeeping).

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::{HttpServer, web};
use base64::Engine as _;
use serde_json::Value;
use tumaini_api::auth::tokens::Keys;
use tumaini_api::config::{Config, SecretKey};
use tumaini_api::jobs::outbox::OutboxWorker;
use tumaini_api::metrics::Metrics;
use tumaini_api::state::AppState;

use crate::TestDb;

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where its metrics listener listens, when `TUMAINI_METRICS_BIND` asked for one.
    pub metrics_addr: Option<SocketAddr>,
    /// Its configuration.
    pub config: Config,
    /// The folder the development mail transport writes to (unless SMTP is configured).
    pub mail_dir: tempfile::TempDir,
    secret: SecretKey,
    handle: actix_web::dev::ServerHandle,
    metrics_handle: Option<actix_web::dev::ServerHandle>,
    thread: Option<JoinHandle<()>>,
    outbox: Option<OutboxWorker>,
    webhooks: Option<tumaini_api::jobs::webhooks::WebhookWorker>,
    scanner: Option<tumaini_api::jobs::deadlines::DeadlineScanner>,
    sealer: Option<tumaini_api::jobs::audit_sealer::AuditSealer>,
    housekeeping: Option<tumaini_api::jobs::housekeeping::Housekeeping>,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The configuration a test server runs with: `settings` over test defaults (a random server
/// secret, mail written to `mail_dir`, fast outbox polling).
pub fn test_config(db: &TestDb, mail_dir: &std::path::Path, settings: &[(&str, &str)]) -> Config {
    let mut secret = [0u8; 32];
    rand_bytes(&mut secret);
    let mut master = [0u8; 32];
    rand_bytes(&mut master);
    let mut audit_key = [0u8; 32];
    rand_bytes(&mut audit_key);
    let mut map: std::collections::HashMap<String, String> = [
        ("DATABASE_URL", db.url_string()),
        (
            "TUMAINI_SECRET_KEY",
            base64::engine::general_purpose::STANDARD.encode(secret),
        ),
        ("TUMAINI_MAIL_DIR", mail_dir.display().to_string()),
        ("TUMAINI_MAIL_POLL_MS", "100".to_owned()),
        ("TUMAINI_MAIL_RETRY_BASE_SECS", "1".to_owned()),
        ("TUMAINI_LOGIN_RATE_PER_MINUTE", "1000".to_owned()),
        ("TUMAINI_PUBLIC_URL", "https://tumaini.test".to_owned()),
        (
            "TUMAINI_MASTER_KEY",
            base64::engine::general_purpose::STANDARD.encode(master),
        ),
        (
            "TUMAINI_AUDIT_KEY",
            base64::engine::general_purpose::STANDARD.encode(audit_key),
        ),
        ("TUMAINI_AUDIT_SEAL_MS", "100".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (key, value) in settings {
        map.insert((*key).to_owned(), (*value).to_owned());
    }
    Config::from_sources(|k| map.get(k).cloned(), None).expect("test configuration")
}

fn rand_bytes(out: &mut [u8]) {
    use rand::RngCore as _;
    rand::rng().fill_bytes(out);
}

impl TestServer {
    /// Serves the application on `db` (which must be migrated for a ready server).
    pub fn start(db: &TestDb) -> TestServer {
        Self::start_with(db, &[], |_| {})
    }

    /// Serves the application with settings over the test defaults, and extra routes added
    /// after the API's own.
    pub fn start_with(
        db: &TestDb,
        settings: &[(&str, &str)],
        extra: fn(&mut web::ServiceConfig),
    ) -> TestServer {
        let mail_dir = tempfile::tempdir().expect("mail folder");
        let config = test_config(db, mail_dir.path(), settings);
        let secret = config.auth.load_secret().expect("secret");
        let metrics = Metrics::new(&config.metrics).expect("metrics");
        let pool = db.observed_pool(metrics.pool_observer());
        let vault = std::sync::Arc::new(tumaini_db::vault::Vault::new(
            tumaini_api::keyring::key_provider(&config).expect("test master key"),
        ));
        let state = AppState::with_metrics(pool.clone(), &config, metrics.clone())
            .expect("app state")
            .with_vault(vault);
        let outbox = OutboxWorker::start(pool.clone(), config.mail.clone(), metrics.clone())
            .expect("outbox worker");
        let webhooks = tumaini_api::jobs::webhooks::WebhookWorker::start(
            pool.clone(),
            std::sync::Arc::clone(state.vault().expect("vault").provider()),
            config.webhooks.clone(),
            config.public_url.clone(),
            state.audit_signer.event_key().clone(),
        )
        .expect("webhook worker");
        let scanner = tumaini_api::jobs::deadlines::DeadlineScanner::start(
            pool.clone(),
            config.cases.deadline_scan_interval,
            config.public_url.clone(),
            state.audit_signer.event_key().clone(),
            metrics.clone(),
        )
        .expect("deadline scanner");
        let sealer = tumaini_api::jobs::audit_sealer::AuditSealer::start(
            pool.clone(),
            std::sync::Arc::clone(&state.audit_signer),
            &config.audit,
            config.public_url.clone(),
            metrics,
        )
        .expect("audit sealer");
        let housekeeping = tumaini_api::jobs::housekeeping::Housekeeping::start(
            pool.clone(),
            state.vault().expect("vault"),
            config.cases.idempotency_ttl,
            config.public_url.clone(),
            state.audit_signer.event_key().clone(),
            state.document_store.clone(),
            config.documents.abandoned_upload,
        )
        .expect("housekeeping");
        let (tx, rx) = mpsc::channel();
        let metrics_bind = config.metrics.bind.clone();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let metrics_server = metrics_bind.map(|bind| {
                    let state = state.clone();
                    let server =
                        HttpServer::new(move || tumaini_api::build_metrics_app(state.clone()))
                            .workers(1)
                            .shutdown_timeout(5)
                            .bind(bind)
                            .expect("bind the metrics listener");
                    (server.addrs()[0], server.run())
                });
                let server = HttpServer::new(move || tumaini_api::build_app(state.clone(), extra))
                    .workers(2)
                    .shutdown_timeout(5)
                    .bind("127.0.0.1:0")
                    .expect("bind loopback");
                let addr = server.addrs()[0];
                let server = server.run();
                let (metrics_addr, metrics_server) = metrics_server.unzip();
                let handles = (server.handle(), metrics_server.as_ref().map(|s| s.handle()));
                tx.send((addr, metrics_addr, handles))
                    .expect("report address");
                match metrics_server {
                    Some(metrics_server) => {
                        futures_util::future::try_join(server, metrics_server)
                            .await
                            .expect("servers run");
                    }
                    None => server.await.expect("server runs"),
                }
            });
        });
        let (addr, metrics_addr, (handle, metrics_handle)) = rx.recv().expect("server started");
        TestServer {
            addr,
            metrics_addr,
            metrics_handle,
            config,
            mail_dir,
            secret,
            handle,
            thread: Some(thread),
            outbox: Some(outbox),
            webhooks: Some(webhooks),
            scanner: Some(scanner),
            sealer: Some(sealer),
            housekeeping: Some(housekeeping),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("client runtime"),
            client: reqwest::Client::builder()
                .no_proxy()
                // Below the server's keep-alive (actix's default, 5 s): a connection idle for
                // that long is closed by the server and must not be picked up again by a test
                // that waited on a background job.
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .build()
                .expect("HTTP client"),
        }
    }

    /// The server's token keys (to forge tokens the server must refuse).
    pub fn keys(&self) -> Keys {
        Keys::derive(&self.secret)
    }

    /// The key this server's audit events are authenticated with (for work a test does on
    /// its behalf, as another replica would).
    pub fn audit_events(&self) -> tumaini_db::audit_chain::EventKey {
        tumaini_api::keyring::audit_signer(&self.config.audit)
            .expect("the audit key")
            .event_key()
            .clone()
    }

    /// `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends a request built from the shared client.
    pub fn send(
        &self,
        build: impl FnOnce(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> TestResponse {
        let request = build(&self.client, &self.base_url());
        self.runtime.block_on(async {
            let response = request.send().await.expect("request sent");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().await.expect("body read").to_vec();
            TestResponse {
                status,
                headers,
                body,
            }
        })
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> TestResponse {
        self.send(|c, base| c.get(format!("{base}{path}")))
    }

    /// `GET path` with a bearer token.
    pub fn get_as(&self, token: &str, path: &str) -> TestResponse {
        self.send(|c, base| c.get(format!("{base}{path}")).bearer_auth(token))
    }

    /// `POST path` with a JSON body, optionally with a bearer token.
    pub fn post(&self, token: Option<&str>, path: &str, body: &Value) -> TestResponse {
        self.send(|c, base| {
            let request = c.post(format!("{base}{path}")).json(body);
            match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        })
    }

    /// A request with any method, JSON body and bearer token.
    pub fn call(
        &self,
        method: &str,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.send(|c, base| {
            let request = c
                .request(method, format!("{base}{path}"))
                .bearer_auth(token);
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        })
    }

    /// A request with a raw body and content type.
    pub fn raw(&self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> TestResponse {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.send(|c, base| {
            c.request(method, format!("{base}{path}"))
                .header("content-type", content_type)
                .body(body)
        })
    }

    /// The messages the development transport wrote, as text, oldest first.
    pub fn mail_files(&self) -> Vec<String> {
        crate::mail_dir::messages(self.mail_dir.path())
    }

    /// Waits until the development transport has written at least `count` messages, and
    /// returns them all, whole, oldest first (see [`crate::mail_dir::wait_for`]).
    pub fn wait_for_mail(&self, count: usize, timeout: std::time::Duration) -> Vec<String> {
        crate::mail_dir::wait_for(self.mail_dir.path(), count, timeout)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Sends the stop command at once; the server thread then finishes.
        drop(self.handle.stop(false));
        if let Some(metrics) = &self.metrics_handle {
            drop(metrics.stop(false));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(mut outbox) = self.outbox.take() {
            outbox.stop();
        }
        if let Some(mut webhooks) = self.webhooks.take() {
            webhooks.stop();
        }
        if let Some(mut scanner) = self.scanner.take() {
            scanner.stop();
        }
        if let Some(mut housekeeping) = self.housekeeping.take() {
            housekeeping.stop();
        }
        if let Some(mut sealer) = self.sealer.take() {
            sealer.stop();
        }
    }
}
