//! A real HTTP receiver of webhooks on loopback: an actix-web server on a thread of its own
//! that records every request whole (path, the three Standard Webhooks headers, body) and
//! answers with a status the test chooses. Stopping it and resuming it on the same port
//! simulates an endpoint that is down (connections refused); answering 503 one that is up but
//! failing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, HttpServer, web};

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path, e.g. `/shelter`.
    pub path: String,
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// Every header, as `name: value` lines (to search for what must not be there).
    pub headers: String,
    /// The body.
    pub body: Vec<u8>,
    /// The status the sink answered.
    pub answered: u16,
}

#[derive(Debug, Default)]
struct Shared {
    answer: AtomicU16,
    received: Mutex<Vec<Received>>,
}

/// A running (or stopped) receiver.
#[derive(Debug)]
pub struct WebhookSink {
    /// Where it listens (and listens again after [`WebhookSink::resume`]).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    running: Option<(actix_web::dev::ServerHandle, JoinHandle<()>)>,
}

fn header(request: &HttpRequest, name: &str) -> String {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Shared>>,
) -> HttpResponse {
    let answered = shared.answer.load(Ordering::SeqCst);
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    shared.received.lock().expect("sink lock").push(Received {
        path: request.path().to_owned(),
        id: header(&request, "webhook-id"),
        timestamp: header(&request, "webhook-timestamp"),
        signature: header(&request, "webhook-signature"),
        headers,
        body: body.to_vec(),
        answered,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).expect("a status")).finish()
}

impl WebhookSink {
    /// Starts a receiver on a free loopback port, answering 204.
    pub fn start() -> WebhookSink {
        let shared = Arc::new(Shared::default());
        shared.answer.store(204, Ordering::SeqCst);
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let mut sink = WebhookSink {
            addr,
            shared,
            running: None,
        };
        sink.resume();
        sink
    }

    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The status every request is answered with from now on.
    pub fn answer(&self, status: u16) {
        self.shared.answer.store(status, Ordering::SeqCst);
    }

    /// Stops listening: connections are refused until [`WebhookSink::resume`].
    pub fn stop(&mut self) {
        if let Some((handle, thread)) = self.running.take() {
            // Sends the stop command at once; the server thread then finishes, closing the
            // listening socket.
            drop(handle.stop(false));
            let _ = thread.join();
        }
    }

    /// Listens again on the same port.
    pub fn resume(&mut self) {
        if self.running.is_some() {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let addr = self.addr;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::new(shared);
                let deadline = Instant::now() + Duration::from_secs(10);
                let server = loop {
                    let data = data.clone();
                    let bound = HttpServer::new(move || {
                        actix_web::App::new()
                            .app_data(data.clone())
                            .default_service(web::to(receive))
                    })
                    .workers(1)
                    .shutdown_timeout(1)
                    .bind(addr);
                    match bound {
                        Ok(server) => break server,
                        Err(_) if Instant::now() < deadline => {
                            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
                        }
                        Err(err) => panic!("cannot listen on {addr} again: {err}"),
                    }
                };
                let server = server.run();
                tx.send(server.handle()).expect("report handle");
                server.await.expect("sink runs");
            });
        });
        let handle = rx.recv().expect("sink started");
        self.running = Some((handle, thread));
    }

    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("sink lock").clone()
    }

    /// Waits until `done` holds of what was received, or `timeout` passes; returns it all.
    pub fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if done(&received) || Instant::now() >= deadline {
                return received;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.stop();
    }
}
