//! The real application served over real HTTP on a loopback port, in this process.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::{HttpServer, web};
use tumaini_api::server::AppState;

use crate::TestDb;

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
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
    pub fn json(&self) -> serde_json::Value {
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

impl TestServer {
    /// Serves the application on `db` (which must be migrated for a ready server).
    pub fn start(db: &TestDb) -> TestServer {
        Self::start_with(db, 1024 * 1024, |_| {})
    }

    /// Serves the application with a body limit and extra routes added after the API's own.
    pub fn start_with(
        db: &TestDb,
        max_body_bytes: usize,
        extra: fn(&mut web::ServiceConfig),
    ) -> TestServer {
        let state = AppState::new(db.pool(), db.engine(), max_body_bytes).expect("app state");
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || tumaini_api::build_app(state.clone(), extra))
                    .workers(2)
                    .shutdown_timeout(5)
                    .bind("127.0.0.1:0")
                    .expect("bind loopback");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle())).expect("report address");
                server.await.expect("server runs");
            });
        });
        let (addr, handle) = rx.recv().expect("server started");
        TestServer {
            addr,
            handle,
            thread: Some(thread),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("client runtime"),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("HTTP client"),
        }
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

    /// A request with a raw body and content type.
    pub fn raw(&self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> TestResponse {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.send(|c, base| {
            c.request(method, format!("{base}{path}"))
                .header("content-type", content_type)
                .body(body)
        })
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Sends the stop command at once; the server thread then finishes.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
