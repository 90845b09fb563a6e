//! Documents of a case (issue 20) over real HTTP, on both engines and both stores (database
//! rows and a `file://` directory):
//!
//! - upload, new version, list, download (its headers) and deletion, as the API contract says;
//! - a 50 MiB file uploaded and downloaded through the real `tumaini` binary with the server's
//!   memory growth bounded (`VmHWM` / `VmRSS` from `/proc/<pid>/status`), byte for byte;
//! - tampered content refused: a flipped bit, the last chunk removed, two chunks swapped, a
//!   chunk copied from another document, in the database rows and in the directory's files;
//! - none of a document's bytes nor its name in the SQLite file, a `pg_dump` or the directory;
//! - a JPEG's EXIF, GPS, XMP and comment removed; a PDF named `.jpg` refused (415); a file over
//!   the limit, or over the case's limit, refused (413) with nothing stored; a refusing scan
//!   (422) with nothing stored;
//! - the erasure of a case removing its documents' rows, chunks and objects.
//!
//! The object-level matrix of documents is in `documents_matrix.rs`.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tumaini_db::schema::{document_chunks, document_versions, documents};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::seed;
use tumaini_tests::{Engine, TestDb, TestResponse, TestServer, both_engines};

use crate::auth::{mfa_enrolled_token, token};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
/// The chunk size of the contract (256 KiB).
const CHUNK: u64 = 256 * KIB;

// ---------------------------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------------------------

/// Plain UTF-8 text of any length, generated in blocks: numbered 80-byte lines, so that any two
/// chunks of it differ and a chunk out of place shows.
pub(crate) struct Text {
    total: u64,
    at: u64,
    tag: String,
}

impl Text {
    pub(crate) fn new(total: u64, tag: &str) -> Text {
        Text {
            total,
            at: 0,
            tag: tag.to_owned(),
        }
    }

    fn line(&self, n: u64) -> Vec<u8> {
        let mut line = format!(
            "{n:010} {} haba na haba hujaza kibaba; the quick brown fox",
            self.tag
        )
        .into_bytes();
        line.resize(79, b'.');
        line.push(b'\n');
        line
    }

    /// The next block of at most `max` bytes, or `None` at the end.
    fn block(&mut self, max: u64) -> Option<Vec<u8>> {
        if self.at >= self.total {
            return None;
        }
        let len = max.min(self.total - self.at);
        let mut out = Vec::with_capacity(usize::try_from(len).unwrap());
        while (out.len() as u64) < len {
            let position = self.at + out.len() as u64;
            let line = self.line(position / 80);
            let from = usize::try_from(position % 80).unwrap();
            let want = usize::try_from(len).unwrap() - out.len();
            let take = (line.len() - from).min(want);
            out.extend_from_slice(&line[from..from + take]);
        }
        self.at += len;
        Some(out)
    }

    /// All of it (for small texts).
    pub(crate) fn bytes(total: u64, tag: &str) -> Vec<u8> {
        let mut text = Text::new(total, tag);
        let mut out = Vec::new();
        while let Some(block) = text.block(MIB) {
            out.extend_from_slice(&block);
        }
        out
    }

    /// Its SHA-256, without holding it.
    fn sha256(total: u64, tag: &str) -> [u8; 32] {
        let mut text = Text::new(total, tag);
        let mut hash = Sha256::new();
        while let Some(block) = text.block(MIB) {
            hash.update(&block);
        }
        hash.finalize().into()
    }
}

impl Iterator for Text {
    type Item = Result<Vec<u8>, std::io::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.block(64 * KIB).map(Ok)
    }
}

/// What an upload sends.
pub(crate) enum Content {
    /// These bytes, with their `Content-Length`.
    Bytes(Vec<u8>),
    /// Generated text streamed in chunked transfer encoding (no `Content-Length`).
    Streamed(Text),
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encodes every byte but the unreserved ones (RFC 3986).
pub(crate) fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Decodes `%XX` escapes.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A unique marker of letters and digits.
fn marker(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    )
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// A download as the client saw it.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    /// The body received (up to [`Http::KEEP`] bytes of it).
    pub(crate) body: Vec<u8>,
    /// How many bytes came.
    pub(crate) len: u64,
    /// The SHA-256 of what came.
    pub(crate) sha256: [u8; 32],
    /// The error that ended the body early, if any.
    pub(crate) error: Option<String>,
}

impl Fetched {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The whole body came, as long as its `Content-Length` said, without an error.
    pub(crate) fn complete(&self) -> bool {
        self.error.is_none()
            && self
                .header("content-length")
                .and_then(|l| l.parse::<u64>().ok())
                .is_none_or(|l| l == self.len)
    }
}

/// A client of a server at `base`, with its own runtime: streams uploads and downloads.
pub(crate) struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
}

impl Http {
    /// Bodies kept whole up to this size (the rest is hashed and counted).
    const KEEP: usize = 16 * 1024 * 1024;

    pub(crate) fn new(addr: SocketAddr) -> Http {
        Http {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(300))
                .build()
                .unwrap(),
            base: format!("http://{addr}"),
        }
    }

    pub(crate) fn of(server: &TestServer) -> Http {
        Http::new(server.addr)
    }

    /// Sends a file: `POST path` with the raw body and the document headers.
    pub(crate) fn post_file(
        &self,
        token: &str,
        path: &str,
        media_type: &str,
        file_name: Option<&str>,
        caption: Option<&str>,
        content: Content,
    ) -> TestResponse {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", media_type);
        if let Some(name) = file_name {
            request = request.header("tumaini-file-name", percent(name));
        }
        if let Some(caption) = caption {
            request = request.header("tumaini-caption", percent(caption));
        }
        request = match content {
            Content::Bytes(bytes) => request.body(bytes),
            Content::Streamed(text) => {
                request.body(reqwest::Body::wrap_stream(futures_util::stream::iter(text)))
            }
        };
        self.runtime.block_on(async {
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let body = response
                        .bytes()
                        .await
                        .map(|b| b.to_vec())
                        .unwrap_or_default();
                    TestResponse {
                        status,
                        headers,
                        body,
                    }
                }
                // The server may answer (413) and close before the body is all sent.
                Err(error) => TestResponse {
                    status: 0,
                    headers: reqwest::header::HeaderMap::new(),
                    body: format!("no answer: {error}").into_bytes(),
                },
            }
        })
    }

    /// Uploads a new document to `case` with `query` (`kind=...&group=...`).
    pub(crate) fn upload(
        &self,
        token: &str,
        case: &str,
        query: &str,
        media_type: &str,
        file_name: Option<&str>,
        content: Content,
    ) -> TestResponse {
        self.post_file(
            token,
            &format!("/api/v1/cases/{case}/documents?{query}"),
            media_type,
            file_name,
            None,
            content,
        )
    }

    /// Uploads a small text document of `group`; its JSON (panics unless 201).
    pub(crate) fn text_document(&self, token: &str, case: &str, group: &str, text: &[u8]) -> Value {
        let answer = self.upload(
            token,
            case,
            &format!("kind=other&group={group}"),
            "text/plain",
            Some("note.txt"),
            Content::Bytes(text.to_vec()),
        );
        assert_eq!(answer.status, 201, "upload to {group}: {}", answer.text());
        answer.json()
    }

    /// `GET path`, streamed: hashed and counted, kept up to [`Http::KEEP`].
    pub(crate) fn download(&self, token: &str, path: &str) -> Fetched {
        let request = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token);
        self.runtime.block_on(async {
            let mut response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    return Fetched {
                        status: 0,
                        headers: reqwest::header::HeaderMap::new(),
                        body: Vec::new(),
                        len: 0,
                        sha256: sha256(b""),
                        error: Some(format!("no answer: {error}")),
                    };
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let (mut body, mut len, mut hash, mut error) = (Vec::new(), 0u64, Sha256::new(), None);
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        len += chunk.len() as u64;
                        hash.update(&chunk);
                        if body.len() < Self::KEEP {
                            body.extend_from_slice(&chunk);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(format!("{e:?}"));
                        break;
                    }
                }
            }
            Fetched {
                status,
                headers,
                body,
                len,
                sha256: hash.finalize().into(),
                error,
            }
        })
    }

    /// A JSON request.
    pub(crate) fn json(
        &self,
        method: &str,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let mut request = self
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", self.base),
            )
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.runtime.block_on(async {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap().to_vec();
            TestResponse {
                status,
                headers,
                body,
            }
        })
    }
}

/// `/api/v1/cases/{case}/documents{tail}`.
pub(crate) fn documents_path(case: &str, tail: &str) -> String {
    format!("/api/v1/cases/{case}/documents{tail}")
}

/// The content path of a document (optionally of one version).
pub(crate) fn content_path(case: &str, doc: &str, version: Option<i64>) -> String {
    match version {
        Some(v) => documents_path(case, &format!("/{doc}/content?version={v}")),
        None => documents_path(case, &format!("/{doc}/content")),
    }
}

/// The ids of the documents a list answer holds.
pub(crate) fn listed_ids(answer: &TestResponse) -> Vec<String> {
    answer.json()["documents"]
        .as_array()
        .map(|docs| {
            docs.iter()
                .map(|d| d["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A person with a marker in every personal value.
pub(crate) fn person(tag: &str) -> Value {
    json!({
        "summary": {
            "sex": "female", "age_band": "24_26", "citizenship": "UG",
            "exploitation_country": "UG", "region": "UG-102", "encountered_on": "2026-11-20",
            "exploitation_types": ["forced_labour"]
        },
        "groups": {
            "identity": {"given_names": format!("Given{tag}"), "family_name": format!("Family{tag}")},
            "contact": {"phones": ["+256 700 000 123"]}
        }
    })
}

/// Where a document store lives for a test: the database, or a directory.
pub(crate) enum Store {
    Database,
    Directory(tempfile::TempDir),
}

impl Store {
    pub(crate) fn directory() -> Store {
        Store::Directory(tempfile::tempdir().unwrap())
    }

    /// The `TUMAINI_DOCUMENT_STORE` value.
    pub(crate) fn setting(&self) -> String {
        match self {
            Store::Database => "database".to_owned(),
            Store::Directory(dir) => format!("file://{}", dir.path().display()),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            Store::Database => "database",
            Store::Directory(_) => "file://",
        }
    }

    pub(crate) fn dir(&self) -> Option<&Path> {
        match self {
            Store::Database => None,
            Store::Directory(dir) => Some(dir.path()),
        }
    }

    /// Every file under the directory (none for the database).
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        if let Some(dir) = self.dir() {
            walk(dir, &mut out);
        }
        out.sort();
        out
    }

    /// The object of chunk `index` of `version`.
    fn object(&self, version: &str, index: i32) -> PathBuf {
        self.dir()
            .unwrap()
            .join("documents")
            .join(version)
            .join(format!("{index:08}"))
    }
}

/// Runs `check` with the database store on `db`, then with a `file://` store on a fresh
/// database of the same engine (each server has a master key of its own: one database, one
/// key).
fn per_store<T>(db: &TestDb, check: impl Fn(&TestDb, &Store) -> T) -> Vec<T> {
    let mut out = vec![check(db, &Store::Database)];
    let second = TestDb::migrated(db.engine()).expect("the engine answered a moment ago");
    out.push(check(&second, &Store::directory()));
    out
}

/// A test server with documents stored in `store` and `settings` besides.
fn server_with(db: &TestDb, store: &Store, settings: &[(&str, &str)]) -> TestServer {
    let setting = store.setting();
    let mut all = vec![("TUMAINI_DOCUMENT_STORE", setting.as_str())];
    all.extend_from_slice(settings);
    TestServer::start_with(db, &all, |_| {})
}

/// The id of version `version` of a document.
pub(crate) fn version_id(db: &TestDb, doc: &str, version: i32) -> String {
    document_versions::table
        .filter(document_versions::document_id.eq(doc))
        .filter(document_versions::version.eq(version))
        .select(document_versions::id)
        .first(&mut db.conn())
        .unwrap()
}

/// The rows documents leave: documents, versions, chunks.
pub(crate) fn stored_rows(db: &TestDb) -> (i64, i64, i64) {
    let conn = &mut db.conn();
    (
        documents::table.count().get_result(conn).unwrap(),
        document_versions::table.count().get_result(conn).unwrap(),
        document_chunks::table.count().get_result(conn).unwrap(),
    )
}

/// The sealed chunks of a version, by index: from the database rows or the directory.
fn sealed_chunks(db: &TestDb, store: &Store, version: &str) -> Vec<Vec<u8>> {
    match store {
        Store::Database => {
            let rows: Vec<(i32, Vec<u8>)> = document_chunks::table
                .filter(document_chunks::version_id.eq(version))
                .order(document_chunks::idx)
                .select((document_chunks::idx, document_chunks::sealed))
                .load(&mut db.conn())
                .unwrap();
            rows.into_iter()
                .enumerate()
                .map(|(i, (idx, sealed))| {
                    assert_eq!(usize::try_from(idx).unwrap(), i, "chunks numbered from 0");
                    sealed
                })
                .collect()
        }
        Store::Directory(_) => {
            let mut out = Vec::new();
            loop {
                let path = store.object(version, i32::try_from(out.len()).unwrap());
                match std::fs::read(&path) {
                    Ok(bytes) => out.push(bytes),
                    Err(_) => break,
                }
            }
            out
        }
    }
}

/// Writes sealed chunk `index` of a version (`None` removes it).
fn write_chunk(db: &TestDb, store: &Store, version: &str, index: usize, sealed: Option<&[u8]>) {
    let idx = i32::try_from(index).unwrap();
    match (store, sealed) {
        (Store::Database, Some(bytes)) => {
            let changed = diesel::update(
                document_chunks::table
                    .filter(document_chunks::version_id.eq(version))
                    .filter(document_chunks::idx.eq(idx)),
            )
            .set(document_chunks::sealed.eq(bytes))
            .execute(&mut db.conn())
            .unwrap();
            if changed == 0 {
                diesel::insert_into(document_chunks::table)
                    .values((
                        document_chunks::version_id.eq(version),
                        document_chunks::idx.eq(idx),
                        document_chunks::sealed.eq(bytes),
                    ))
                    .execute(&mut db.conn())
                    .unwrap();
            }
        }
        (Store::Database, None) => {
            let removed = diesel::delete(
                document_chunks::table
                    .filter(document_chunks::version_id.eq(version))
                    .filter(document_chunks::idx.eq(idx)),
            )
            .execute(&mut db.conn())
            .unwrap();
            assert_eq!(removed, 1);
        }
        (Store::Directory(_), Some(bytes)) => {
            std::fs::write(store.object(version, idx), bytes).unwrap();
        }
        (Store::Directory(_), None) => std::fs::remove_file(store.object(version, idx)).unwrap(),
    }
}

/// A shelter with a case worker, a supervisor (second factor enrolled) and a case.
struct Shelter {
    worker: String,
    supervisor: String,
    case: String,
}

fn shelter(db: &TestDb, server: &TestServer, tag: &str) -> Shelter {
    let org = seed::organisation(db, OrganisationKind::Shelter);
    let worker = token(server, &seed::account_in(db, &org, Role::CaseWorker).email).0;
    let supervisor = token(server, &seed::account_in(db, &org, Role::Supervisor).email).0;
    let created = server.post(Some(&worker), "/api/v1/cases", &person(tag));
    assert_eq!(created.status, 201, "{}", created.text());
    Shelter {
        worker,
        supervisor,
        case: created.json()["id"].as_str().unwrap().to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// The contract: upload, versions, list, download, delete
// ---------------------------------------------------------------------------------------------

fn a_document_is_uploaded_replaced_listed_downloaded_and_deleted(db: TestDb) {
    let server = TestServer::start(&db);
    let http = Http::of(&server);
    let s = shelter(&db, &server, "Docs1");
    let stranger = token(&server, &seed::account(&db, Role::CaseWorker).email).0;
    let case = &s.case;

    // Version 1: 600 KiB of text (three chunks), a UTF-8 name and a caption.
    let first = Text::bytes(600 * KIB, "v1");
    let name = "Ripoti ya daktari – ß.txt";
    let answer = http.post_file(
        &s.worker,
        &documents_path(case, "?kind=medical_report"),
        "text/plain",
        Some(name),
        Some("Caption – ü"),
        Content::Bytes(first.clone()),
    );
    assert_eq!(answer.status, 201, "{}", answer.text());
    let doc = answer.json();
    let id = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(
        answer.header("location"),
        doc["content"].as_str(),
        "the 201 names the new content"
    );
    assert_eq!(doc["case_id"], case.as_str());
    assert_eq!(
        doc["group"], "health",
        "a medical report is health by default"
    );
    assert_eq!(doc["kind"], "medical_report");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["file_name"], name);
    assert_eq!(doc["caption"], "Caption – ü");
    assert_eq!(doc["byte_size"], 600 * KIB);
    assert!(
        doc["media_type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(doc["content"], content_path(case, &id, None));
    for field in ["created_at", "created_by", "updated_at"] {
        assert!(!doc[field].is_null(), "{field} missing: {doc}");
    }
    assert!(doc.get("consent_id").is_some(), "{doc}");

    // The defaults of the other kinds, and a group chosen by the uploader.
    for (query, group) in [
        ("kind=identity_document", "identity"),
        ("kind=police_statement", "legal"),
        ("kind=court_document", "legal"),
        ("kind=evidence", "exploitation"),
        ("kind=photograph", "notes"),
        ("kind=other", "notes"),
        ("kind=photograph&group=health", "health"),
    ] {
        let answer = http.upload(
            &s.worker,
            case,
            query,
            "text/plain",
            Some("x.txt"),
            Content::Bytes(b"a few words".to_vec()),
        );
        assert_eq!(answer.status, 201, "{query}: {}", answer.text());
        assert_eq!(answer.json()["group"], group, "{query}");
    }
    // A consent form needs the consent version it records.
    let no_consent = http.upload(
        &s.worker,
        case,
        "kind=consent_form",
        "text/plain",
        Some("consent.txt"),
        Content::Bytes(b"signed".to_vec()),
    );
    assert!(
        (400..500).contains(&no_consent.status),
        "a consent form without its consent: {} {}",
        no_consent.status,
        no_consent.text()
    );
    let consent = server.post(
        Some(&s.worker),
        &format!("/api/v1/cases/{case}/consents"),
        &json!({
            "given_by": "person", "method": "written", "purposes": ["assistance"],
            "groups": ["identity"], "recipients": ["shelter"]
        }),
    );
    assert_eq!(consent.status, 201, "{}", consent.text());
    let consent_id = consent.json()["id"].as_str().unwrap().to_owned();
    let form = http.upload(
        &s.worker,
        case,
        &format!("kind=consent_form&consent={consent_id}"),
        "text/plain",
        Some("consent.txt"),
        Content::Bytes(b"signed".to_vec()),
    );
    assert_eq!(form.status, 201, "{}", form.text());
    assert_eq!(form.json()["group"], "identity");
    assert_eq!(form.json()["consent_id"], consent_id.as_str());

    // The download: the bytes, and headers that make a browser save it, never render it.
    let fetched = http.download(&s.worker, &content_path(case, &id, None));
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    assert!(fetched.complete(), "{:?}", fetched.error);
    assert_eq!(fetched.sha256, sha256(&first), "the bytes uploaded");
    assert!(
        fetched
            .header("content-type")
            .unwrap()
            .starts_with("text/plain"),
        "{:?}",
        fetched.headers
    );
    assert_eq!(
        fetched.header("content-length"),
        Some((600 * KIB).to_string().as_str())
    );
    let disposition = fetched.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"document.txt\""),
        "{disposition}"
    );
    let encoded = disposition
        .split_once("filename*=UTF-8''")
        .map(|(_, rest)| rest.split(';').next().unwrap_or_default().trim())
        .unwrap_or_default();
    assert_eq!(
        percent_decode(encoded),
        name.as_bytes(),
        "the UTF-8 name: {disposition}"
    );
    assert_eq!(fetched.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(fetched.header("cache-control"), Some("no-store"));
    let csp = fetched
        .header("content-security-policy")
        .unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );

    // A new version; the first stays downloadable.
    let second = Text::bytes(300 * KIB, "v2");
    let replaced = http.post_file(
        &s.worker,
        &documents_path(case, &format!("/{id}/versions")),
        "text/plain",
        Some("ripoti-2.txt"),
        None,
        Content::Bytes(second.clone()),
    );
    assert_eq!(replaced.status, 201, "{}", replaced.text());
    assert_eq!(replaced.json()["version"], 2);
    assert_eq!(replaced.json()["id"], id.as_str());
    assert_eq!(replaced.json()["group"], "health", "the group stays");
    let current = http.download(&s.worker, &content_path(case, &id, None));
    assert_eq!(current.sha256, sha256(&second));
    let old = http.download(&s.worker, &content_path(case, &id, Some(1)));
    assert_eq!(old.status, 200);
    assert_eq!(old.sha256, sha256(&first));
    let v2 = http.download(&s.worker, &content_path(case, &id, Some(2)));
    assert_eq!(v2.sha256, sha256(&second));
    let none = http.download(&s.worker, &content_path(case, &id, Some(3)));
    assert_eq!(none.status, 404);

    // The list: every document, the replaced one at version 2; nothing for a stranger.
    let list = server.get_as(&s.worker, &documents_path(case, ""));
    assert_eq!(list.status, 200, "{}", list.text());
    let docs = list.json()["documents"].as_array().unwrap().clone();
    assert_eq!(docs.len(), 9, "{docs:?}");
    let listed = docs.iter().find(|d| d["id"] == id.as_str()).unwrap();
    assert_eq!(listed["version"], 2);
    assert_eq!(listed["byte_size"], 300 * KIB);
    let hidden = server.get_as(&stranger, &documents_path(case, ""));
    assert_eq!(hidden.status, 404, "{}", hidden.text());
    let foreign = http.download(&stranger, &content_path(case, &id, None));
    assert_eq!(foreign.status, 404);
    let missing = http.download(
        &s.worker,
        &content_path(case, &uuid::Uuid::now_v7().to_string(), None),
    );
    assert_eq!(missing.status, 404);
    assert_eq!(
        foreign.json()["type"],
        missing.json()["type"],
        "refused like a document that does not exist"
    );

    // Deleted: gone from the list and the downloads.
    let deleted = server.call(
        "DELETE",
        &s.worker,
        &documents_path(case, &format!("/{id}")),
        None,
    );
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    let list = server.get_as(&s.worker, &documents_path(case, ""));
    assert!(!listed_ids(&list).contains(&id), "{}", list.text());
    assert_eq!(listed_ids(&list).len(), 8);
    for version in [None, Some(1), Some(2)] {
        let gone = http.download(&s.worker, &content_path(case, &id, version));
        assert_eq!(gone.status, 404, "{version:?}");
    }
    let again = server.call(
        "DELETE",
        &s.worker,
        &documents_path(case, &format!("/{id}")),
        None,
    );
    assert_eq!(again.status, 404);

    // Audited: each action, with the document's group.
    for action in [
        "document.upload",
        "document.replace",
        "document.list",
        "document.download",
        "document.delete",
    ] {
        let events = tumaini_db::models::audit::with_action(&mut db.conn(), action).unwrap();
        assert!(!events.is_empty(), "{action} not audited");
        if action != "document.list" {
            assert!(
                events.iter().any(|e| e.field_groups.contains("health")),
                "{action}: {:?}",
                events
                    .iter()
                    .map(|e| e.field_groups.clone())
                    .collect::<Vec<_>>()
            );
        }
    }
    let denied = tumaini_db::models::audit::with_action(&mut db.conn(), "document.download")
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome == "denied")
        .count();
    assert!(denied >= 1, "the stranger's refused download is audited");
    println!(
        "documents ({}): 9 uploaded (3 chunks, then a second version), downloaded with the \
         contract's headers, listed, deleted; {denied} refused download(s) audited",
        db.engine()
    );
}

both_engines!(a_document_is_uploaded_replaced_listed_downloaded_and_deleted);

// ---------------------------------------------------------------------------------------------
// 50 MiB through the real binary, memory bounded
// ---------------------------------------------------------------------------------------------

/// A `tumaini serve` process on a loopback port with its log kept; killed when dropped.
pub(crate) struct Spawned {
    child: Child,
    pub(crate) addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _cwd: tempfile::TempDir,
}

impl Spawned {
    pub(crate) fn start(database_url: &str, settings: &[(&str, &str)]) -> Spawned {
        let cwd = tempfile::tempdir().unwrap();
        let mut command = Command::new(tumaini_tests::binary());
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .current_dir(cwd.path())
            .env_remove("TUMAINI_CONFIG")
            .env("DATABASE_URL", database_url)
            .env("TUMAINI_LOG_FORMAT", "json")
            .env("TUMAINI_LOG", "info")
            .env("TUMAINI_WORKERS", "1")
            .env("TUMAINI_LOGIN_RATE_PER_MINUTE", "1000")
            .env("TUMAINI_PUBLIC_URL", "https://tumaini.test")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("spawn tumaini");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let (log, tx) = (Arc::clone(&log), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no 'listening' line: {:#?}", log.lock().unwrap()));
            let parsed: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if parsed["message"] == "listening" {
                break parsed["addr"].as_str().unwrap().parse().unwrap();
            }
        };
        Spawned {
            child,
            addr,
            log,
            _cwd: cwd,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A line of `/proc/<pid>/status` in KiB (`VmHWM`, `VmRSS`).
    pub(crate) fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    /// Resets the peak resident set size (`VmHWM`) to the current one: writes 5 to
    /// `/proc/<pid>/clear_refs` (Linux 4.0 and later). False where that is not allowed.
    pub(crate) fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The figures of one 50 MiB round trip.
struct RoundTrip {
    rss_before: u64,
    hwm_before: u64,
    hwm_after_upload: u64,
    hwm_after: u64,
    rss_after: u64,
    upload: Duration,
    download: Duration,
}

fn fifty_mib_round_trip(db: &TestDb, store: &Store, worker_email: &str, tag: &str) -> RoundTrip {
    const SIZE: u64 = 50 * MIB;
    let setting = store.setting();
    let server = Spawned::start(
        &db.url_string(),
        &[("TUMAINI_DOCUMENT_STORE", setting.as_str())],
    );
    let worker = crate::plaintext::sign_in(server.addr, worker_email);
    let http = Http::new(server.addr);
    let created = http.json("POST", &worker, "/api/v1/cases", Some(&person(tag)));
    assert_eq!(created.status, 201, "{}", created.text());
    let case = created.json()["id"].as_str().unwrap().to_owned();
    // Warm the document paths with a small upload and download, then measure from here.
    let small = http.text_document(&worker, &case, "notes", b"warm up");
    let warm = http.download(
        &worker,
        &content_path(&case, small["id"].as_str().unwrap(), None),
    );
    assert_eq!(warm.status, 200);
    let expected = Text::sha256(SIZE, tag);
    let reset = server.reset_peak();
    assert!(
        reset,
        "cannot reset VmHWM of the server (/proc/<pid>/clear_refs)"
    );
    let rss_before = server.status_kib("VmRSS");
    let hwm_before = server.status_kib("VmHWM");

    let started = Instant::now();
    let answer = http.upload(
        &worker,
        &case,
        "kind=evidence",
        "text/plain",
        Some("ledger.txt"),
        Content::Streamed(Text::new(SIZE, tag)),
    );
    let upload = started.elapsed();
    assert_eq!(
        answer.status,
        201,
        "{}; server log: {:#?}",
        answer.text(),
        server.log().iter().rev().take(20).collect::<Vec<_>>()
    );
    assert_eq!(answer.json()["byte_size"], SIZE);
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    let hwm_after_upload = server.status_kib("VmHWM");

    let started = Instant::now();
    let fetched = http.download(&worker, &content_path(&case, &id, None));
    let download = started.elapsed();
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    assert!(fetched.complete(), "{:?}", fetched.error);
    assert_eq!(fetched.len, SIZE);
    assert_eq!(
        hex(&fetched.sha256),
        hex(&expected),
        "the download is the upload, byte for byte"
    );
    if let Store::Directory(_) = store {
        let objects = store.files().len() as u64;
        assert!(
            objects >= SIZE / CHUNK,
            "the content is in the directory: {objects} objects"
        );
    }
    RoundTrip {
        rss_before,
        hwm_before,
        hwm_after_upload,
        hwm_after: server.status_kib("VmHWM"),
        rss_after: server.status_kib("VmRSS"),
        upload,
        download,
    }
}

fn fifty_mib_go_through_in_bounded_memory(db: TestDb) {
    let rounds = per_store(&db, |db, store| {
        let worker = seed::account(db, Role::CaseWorker);
        let tag = format!("big-{}", store.name());
        fifty_mib_round_trip(db, store, &worker.email, &tag)
    });
    let mut failures = Vec::new();
    for (r, store) in rounds.iter().zip(["database", "file://"]) {
        let growth_kib = r.hwm_after.saturating_sub(r.rss_before);
        eprintln!(
            "50 MiB ({}, {} store): VmRSS before {} KiB, VmHWM before {} KiB, after upload {} \
             KiB, after download {} KiB, VmRSS after {} KiB; peak growth {:.1} MiB; upload \
             {:.2} s ({:.0} MiB/s), download {:.2} s ({:.0} MiB/s), SHA-256 equal",
            db.engine(),
            store,
            r.rss_before,
            r.hwm_before,
            r.hwm_after_upload,
            r.hwm_after,
            r.rss_after,
            growth_kib as f64 / 1024.0,
            r.upload.as_secs_f64(),
            50.0 / r.upload.as_secs_f64(),
            r.download.as_secs_f64(),
            50.0 / r.download.as_secs_f64(),
        );
        if growth_kib >= 32 * 1024 {
            failures.push(format!(
                "{store} store: the server's peak memory grew {growth_kib} KiB for a 50 MiB file"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

both_engines!(fifty_mib_go_through_in_bounded_memory);

// ---------------------------------------------------------------------------------------------
// Tampering
// ---------------------------------------------------------------------------------------------

/// What a tampered download must look like: refused before the answer (a 500 problem with
/// nothing of the content) or cut short, and never a byte that is not the document's own.
fn refused(fetched: &Fetched, original: &[u8]) -> Result<&'static str, String> {
    if fetched.status == 500 {
        let text = fetched.text();
        let problem = fetched
            .header("content-type")
            .is_some_and(|t| t.contains("problem+json"));
        if !problem {
            return Err(format!("500 without a problem: {text}"));
        }
        if contains(&fetched.body, &original[..64]) {
            return Err("a 500 carrying content".to_owned());
        }
        return Ok("500 before the answer");
    }
    if fetched.status != 200 {
        return Err(format!("{} {}", fetched.status, fetched.text()));
    }
    if !original.starts_with(&fetched.body) {
        return Err(format!(
            "bytes that are not the document's own came ({} bytes)",
            fetched.len
        ));
    }
    if fetched.complete() {
        return Err(format!(
            "the body ended as if complete after {} of {} bytes",
            fetched.len,
            original.len()
        ));
    }
    Ok("body cut short")
}

fn tampering(db: &TestDb, store: &Store) -> Vec<String> {
    let server = server_with(db, store, &[]);
    let http = Http::of(&server);
    let s = shelter(db, &server, "Tamper");
    let case = &s.case;
    // Five chunks (the last a short one), and another document of the same case.
    let original = Text::bytes(4 * CHUNK + 1000, "tamper-a");
    let other = Text::bytes(4 * CHUNK + 1000, "tamper-b");
    let upload = |text: &[u8]| -> String {
        let answer = http.upload(
            &s.worker,
            case,
            "kind=evidence",
            "text/plain",
            Some("t.txt"),
            Content::Bytes(text.to_vec()),
        );
        assert_eq!(answer.status, 201, "{}", answer.text());
        answer.json()["id"].as_str().unwrap().to_owned()
    };
    let (a, b) = (upload(&original), upload(&other));
    let (va, vb) = (version_id(db, &a, 1), version_id(db, &b, 1));
    let chunks = sealed_chunks(db, store, &va);
    let foreign = sealed_chunks(db, store, &vb);
    assert_eq!(chunks.len(), 5, "600 KiB in 256 KiB chunks");
    let path = content_path(case, &a, None);
    let intact = |what: &str| {
        let fetched = http.download(&s.worker, &path);
        assert!(
            fetched.status == 200 && fetched.complete() && fetched.sha256 == sha256(&original),
            "{what}: the restored document does not download: {} {:?}",
            fetched.status,
            fetched.error
        );
    };
    intact("before");
    let flip = |bytes: &[u8], at: usize| {
        let mut out = bytes.to_vec();
        out[at] ^= 0x01;
        out
    };
    let mut results = Vec::new();
    let mut failures = Vec::new();
    let mut check = |what: &str, tamper: &dyn Fn(), restore: &dyn Fn()| {
        tamper();
        let fetched = http.download(&s.worker, &path);
        match refused(&fetched, &original) {
            Ok(how) => results.push(format!("{what}: {how} ({} bytes came)", fetched.len)),
            Err(e) => failures.push(format!("{} store, {what}: {e}", store.name())),
        }
        restore();
        intact(what);
    };
    let put = |i: usize, bytes: &[u8]| write_chunk(db, store, &va, i, Some(bytes));
    let middle = chunks[0].len() / 2;
    check(
        "a bit flipped in the first chunk",
        &|| put(0, &flip(&chunks[0], middle)),
        &|| put(0, &chunks[0]),
    );
    check(
        "a bit flipped in the third chunk",
        &|| put(2, &flip(&chunks[2], middle)),
        &|| put(2, &chunks[2]),
    );
    check(
        "a bit flipped in the last byte of the last chunk",
        &|| put(4, &flip(&chunks[4], chunks[4].len() - 1)),
        &|| put(4, &chunks[4]),
    );
    check(
        "the last chunk removed",
        &|| write_chunk(db, store, &va, 4, None),
        &|| put(4, &chunks[4]),
    );
    if let Store::Database = store {
        // The stronger truncation: the version's row also says one chunk fewer.
        let set_count = |count: i32, size: i64| {
            diesel::update(document_versions::table.filter(document_versions::id.eq(&va)))
                .set((
                    document_versions::chunk_count.eq(count),
                    document_versions::byte_size.eq(size),
                ))
                .execute(&mut db.conn())
                .unwrap();
        };
        let size = i64::try_from(original.len()).unwrap();
        let four = i64::try_from(4 * CHUNK).unwrap();
        check(
            "the last chunk removed and the row made to agree",
            &|| {
                write_chunk(db, store, &va, 4, None);
                set_count(4, four);
            },
            &|| {
                put(4, &chunks[4]);
                set_count(5, size);
            },
        );
    }
    check(
        "the first two chunks swapped",
        &|| {
            put(0, &chunks[1]);
            put(1, &chunks[0]);
        },
        &|| {
            put(0, &chunks[0]);
            put(1, &chunks[1]);
        },
    );
    check(
        "the second and third chunks swapped",
        &|| {
            put(1, &chunks[2]);
            put(2, &chunks[1]);
        },
        &|| {
            put(1, &chunks[1]);
            put(2, &chunks[2]);
        },
    );
    check(
        "the first chunk copied from another document of the case",
        &|| put(0, &foreign[0]),
        &|| put(0, &chunks[0]),
    );
    check(
        "the third chunk copied from another document of the case",
        &|| put(2, &foreign[2]),
        &|| put(2, &chunks[2]),
    );
    check(
        "the last chunk copied from another document of the case",
        &|| put(4, &foreign[4]),
        &|| put(4, &chunks[4]),
    );
    for line in &results {
        println!("tamper ({}, {} store): {line}", db.engine(), store.name());
    }
    failures
}

fn tampered_content_is_refused(db: TestDb) {
    let failures: Vec<String> = per_store(&db, tampering).concat();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

both_engines!(tampered_content_is_refused);

// ---------------------------------------------------------------------------------------------
// Nothing in clear at rest
// ---------------------------------------------------------------------------------------------

/// `bytes` as they would appear in the storage: as they are, and as a dump's lower-case hex.
fn forms(bytes: &[u8]) -> [Vec<u8>; 2] {
    [bytes.to_vec(), hex(bytes).into_bytes()]
}

fn nothing_is_stored_in_clear(db: &TestDb, store: &Store) -> Vec<String> {
    let server = server_with(db, store, &[]);
    let http = Http::of(&server);
    let s = shelter(db, &server, "Clear");
    let content_marker = marker("DOCBODYQZ");
    let name_marker = marker("DOCNAMEQZ");
    let caption_marker = marker("DOCCAPQZ");
    // The marker in every chunk of a 1 MiB text, its name and caption markers of their own.
    let mut body = Vec::new();
    while body.len() < usize::try_from(MIB).unwrap() {
        body.extend_from_slice(
            format!("line {} of the statement: {content_marker}\n", body.len()).as_bytes(),
        );
    }
    let file_name = format!("{name_marker}.txt");
    let answer = http.post_file(
        &s.worker,
        &documents_path(&s.case, "?kind=police_statement"),
        "text/plain",
        Some(&file_name),
        Some(&caption_marker),
        Content::Bytes(body.clone()),
    );
    assert_eq!(answer.status, 201, "{}", answer.text());
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    let version = version_id(db, &id, 1);
    // And a second version, so that both are stored.
    let replaced = http.post_file(
        &s.worker,
        &documents_path(&s.case, &format!("/{id}/versions")),
        "text/plain",
        Some(&file_name),
        Some(&caption_marker),
        Content::Bytes(body.clone()),
    );
    assert_eq!(replaced.status, 201, "{}", replaced.text());
    let listed = server.get_as(&s.worker, &documents_path(&s.case, ""));
    assert!(listed.text().contains(&name_marker), "the list names it");
    let fetched = http.download(&s.worker, &content_path(&s.case, &id, None));
    assert_eq!(fetched.sha256, sha256(&body));
    drop(server);

    let _ = tumaini_db::models::lifecycle::truncate_log(&mut db.conn());
    let stored = db.stored_bytes();
    let mut objects = Vec::new();
    let mut object_names = String::new();
    for file in store.files() {
        object_names.push_str(&file.display().to_string());
        object_names.push('\n');
        objects.extend(std::fs::read(&file).unwrap());
    }
    let mut failures = Vec::new();
    // The scan finds what is there: the document's id and its version's id.
    for known in [&id, &version] {
        let seen = contains(&stored, known.as_bytes())
            || contains(&stored, hex(known.as_bytes()).as_bytes());
        if !seen {
            failures.push(format!("the scan does not find the document's id {known}"));
        }
    }
    if let Store::Directory(_) = store
        && !object_names.contains(&version)
    {
        failures.push("the scan of the directory finds no object of the version".to_owned());
    }
    // A piece of the content shorter than a line, so that no line boundary hides it.
    let piece = &body[100..140];
    for (what, needle) in [
        ("the content marker", content_marker.as_bytes()),
        ("a 40-byte piece of the content", piece),
        ("the file name", name_marker.as_bytes()),
        ("the caption", caption_marker.as_bytes()),
    ] {
        for form in forms(needle) {
            if contains(&stored, &form) {
                failures.push(format!("{what} is in the {} storage", db.engine()));
            }
            if contains(&objects, &form) {
                failures.push(format!("{what} is in the directory's objects"));
            }
        }
        if object_names.contains(&String::from_utf8_lossy(needle).into_owned()) {
            failures.push(format!("{what} names an object"));
        }
    }
    println!(
        "at rest ({}, {} store): {} bytes of storage and {} bytes in {} objects scanned; the \
         ids found, no content, file name or caption marker",
        db.engine(),
        store.name(),
        stored.len(),
        objects.len(),
        store.files().len(),
    );
    failures
}

fn no_document_byte_or_name_is_stored_in_clear(db: TestDb) {
    let failures: Vec<String> = per_store(&db, nothing_is_stored_in_clear).concat();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

both_engines!(no_document_byte_or_name_is_stored_in_clear);

// ---------------------------------------------------------------------------------------------
// Images, types, limits, the scan
// ---------------------------------------------------------------------------------------------

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The GPS latitude and longitude rationals the EXIF block carries (big-endian), to look for.
fn gps_rationals() -> (Vec<u8>, Vec<u8>) {
    let rationals = |values: [(u32, u32); 3]| -> Vec<u8> {
        values
            .iter()
            .flat_map(|(n, d)| n.to_be_bytes().into_iter().chain(d.to_be_bytes()))
            .collect()
    };
    (
        rationals([(0, 1), (20, 1), (4_738_291, 100_000)]),
        rationals([(32, 1), (34, 1), (8_127_364, 100_000)]),
    )
}

/// An APP1 Exif block: a TIFF header, IFD0 pointing at a GPS IFD with latitude and longitude.
fn exif_with_gps() -> Vec<u8> {
    let (lat, lon) = gps_rationals();
    let mut tiff = b"MM\x00\x2A\x00\x00\x00\x08".to_vec();
    let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| -> Vec<u8> {
        let mut e = tag.to_be_bytes().to_vec();
        e.extend_from_slice(&kind.to_be_bytes());
        e.extend_from_slice(&count.to_be_bytes());
        e.extend_from_slice(&value);
        e
    };
    // IFD0 at 8: one entry, the GPS IFD pointer (to 26).
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend(entry(0x8825, 4, 1, 26u32.to_be_bytes()));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    // The GPS IFD at 26: four entries; its rationals at 80 and 104.
    tiff.extend_from_slice(&4u16.to_be_bytes());
    tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
    tiff.extend(entry(0x0002, 5, 3, 80u32.to_be_bytes()));
    tiff.extend(entry(0x0003, 2, 2, *b"E\0\0\0"));
    tiff.extend(entry(0x0004, 5, 3, 104u32.to_be_bytes()));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(tiff.len(), 80);
    tiff.extend_from_slice(&lat);
    tiff.extend_from_slice(&lon);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    segment(0xE1, &payload)
}

/// A baseline JPEG of one 8x8 grey block (one component, all-ones quantisation, one-code
/// Huffman tables), with `metadata` segments after SOI: a valid image any decoder reads.
fn jpeg(metadata: &[Vec<u8>]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut dqt = vec![0x00];
    dqt.extend([1u8; 64]);
    let frame = [0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00];
    let huffman = |class: u8| {
        let mut table = vec![class];
        let mut counts = [0u8; 16];
        counts[0] = 1;
        table.extend(counts);
        table.push(0x00);
        table
    };
    let scan = [0x01, 0x01, 0x00, 0x00, 0x3F, 0x00];
    let image = vec![
        segment(0xDB, &dqt),
        segment(0xC0, &frame),
        segment(0xC4, &huffman(0x00)),
        segment(0xC4, &huffman(0x10)),
        segment(0xDA, &scan),
    ];
    let mut out = vec![0xFF, 0xD8];
    for m in metadata {
        out.extend_from_slice(m);
    }
    for s in &image {
        out.extend_from_slice(s);
    }
    // Entropy-coded data: DC difference 0 ("0"), end of block ("0"), padded with ones.
    out.push(0x3F);
    out.extend_from_slice(&[0xFF, 0xD9]);
    (out, image)
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n";

fn images_are_stripped_and_wrong_or_large_files_refused(db: TestDb) {
    let store = Store::directory();
    // A scan that refuses any file holding the test virus's marker.
    let scripts = tempfile::tempdir().unwrap();
    let scan = scripts.path().join("scan.sh");
    std::fs::write(
        &scan,
        "#!/bin/sh\nf=$(mktemp)\ncat > \"$f\"\nif grep -q QZ-EICAR-QZ \"$f\"; then rm -f \"$f\"; \
         exit 1; fi\nrm -f \"$f\"\nexit 0\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&scan, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let scan_command = scan.display().to_string();
    let server = server_with(
        &db,
        &store,
        &[
            ("TUMAINI_DOCUMENT_MAX_MB", "1"),
            ("TUMAINI_DOCUMENT_CASE_MAX_MB", "2"),
            ("TUMAINI_DOCUMENT_SCAN_COMMAND", scan_command.as_str()),
        ],
    );
    let http = Http::of(&server);
    let s = shelter(&db, &server, "Images");
    let case = &s.case;
    let mut refusals = Vec::new();

    // A JPEG with EXIF (a GPS IFD), XMP and a comment: none of it comes back; the image does.
    let place = marker("XMPPLACEQZ");
    let comment = marker("COMMENTQZ");
    let xmp = segment(
        0xE1,
        format!(
            "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
             <photoshop:City>{place}</photoshop:City></x:xmpmeta>"
        )
        .as_bytes(),
    );
    let (photo, image_segments) = jpeg(&[exif_with_gps(), xmp, segment(0xFE, comment.as_bytes())]);
    let (lat, lon) = gps_rationals();
    assert!(contains(&photo, b"Exif\0\0") && contains(&photo, &lat) && contains(&photo, &lon));
    let answer = http.upload(
        &s.worker,
        case,
        "kind=photograph",
        "image/jpeg",
        Some("photo.jpg"),
        Content::Bytes(photo.clone()),
    );
    assert_eq!(answer.status, 201, "{}", answer.text());
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    let fetched = http.download(&s.worker, &content_path(case, &id, None));
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    let out = &fetched.body;
    assert!(
        fetched
            .header("content-type")
            .unwrap()
            .starts_with("image/jpeg")
    );
    assert!(
        out.starts_with(&[0xFF, 0xD8]) && out.ends_with(&[0xFF, 0xD9]),
        "still a JPEG"
    );
    for (what, needle) in [
        ("Exif\\0\\0", b"Exif\0\0".as_slice()),
        ("the GPS latitude", lat.as_slice()),
        ("the GPS longitude", lon.as_slice()),
        (
            "the XMP namespace",
            b"http://ns.adobe.com/xap/1.0/".as_slice(),
        ),
        ("the XMP place", place.as_bytes()),
        ("the comment", comment.as_bytes()),
    ] {
        assert!(!contains(out, needle), "{what} survived the upload");
    }
    for s in &image_segments {
        assert!(contains(out, s), "the image itself must survive: {s:02x?}");
    }
    assert_eq!(
        answer.json()["byte_size"],
        out.len(),
        "the size is the stripped file's"
    );
    let stripped = photo.len() - out.len();

    // Types: a PDF named .jpg, or declared image/jpeg; random bytes; the PDF as itself passes.
    let (_, _, before_chunks) = stored_rows(&db);
    let name = marker("PDFNAMEQZ");
    let mut random = vec![0u8; 4096];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut random);
    for (what, media_type, file_name, body) in [
        (
            "a PDF declared image/jpeg",
            "image/jpeg",
            format!("{name}.jpg"),
            PDF.to_vec(),
        ),
        (
            "a PDF named .jpg",
            "application/pdf",
            format!("{name}.jpg"),
            PDF.to_vec(),
        ),
        (
            "a JPEG declared a PDF",
            "application/pdf",
            format!("{name}.pdf"),
            photo.clone(),
        ),
        (
            "random bytes",
            "application/octet-stream",
            format!("{name}.bin"),
            random.clone(),
        ),
    ] {
        let answer = http.upload(
            &s.worker,
            case,
            "kind=other",
            media_type,
            Some(&file_name),
            Content::Bytes(body),
        );
        assert_eq!(answer.status, 415, "{what}: {}", answer.text());
        assert!(
            answer
                .header("content-type")
                .is_some_and(|t| t.contains("problem+json")),
            "{what}: a problem"
        );
        assert!(
            !answer.text().contains(&name),
            "{what}: the refusal names the file"
        );
        refusals.push(format!("{what}: 415"));
    }
    let pdf = http.upload(
        &s.worker,
        case,
        "kind=court_document",
        "application/pdf",
        Some("order.pdf"),
        Content::Bytes(PDF.to_vec()),
    );
    assert_eq!(pdf.status, 201, "the PDF as itself: {}", pdf.text());

    // Limits: 1 MiB a document, 2 MiB a case. Nothing of a refused file stays anywhere.
    let files_before = store.files();
    let rows_before = stored_rows(&db);
    assert!(rows_before.2 >= before_chunks);
    let nothing_stored = |what: &str| {
        assert_eq!(stored_rows(&db), rows_before, "{what}: rows left behind");
        assert_eq!(store.files(), files_before, "{what}: objects left behind");
    };
    for (what, content) in [
        (
            "1 MiB + 1 byte with its length",
            Content::Bytes(Text::bytes(MIB + 1, "over")),
        ),
        (
            "1 MiB + 1 byte streamed without a length",
            Content::Streamed(Text::new(MIB + 1, "over")),
        ),
        (
            "3 MiB streamed without a length",
            Content::Streamed(Text::new(3 * MIB, "over")),
        ),
    ] {
        let answer = http.upload(
            &s.worker,
            case,
            "kind=other",
            "text/plain",
            Some("big.txt"),
            content,
        );
        assert!(
            answer.status == 413 || answer.status == 0,
            "{what}: {} {}",
            answer.status,
            answer.text()
        );
        // An answer is expected; a connection closed before it only when the body was still
        // being sent (reported).
        refusals.push(format!("{what}: {}", answer.status));
        nothing_stored(what);
    }
    assert!(
        refusals.iter().any(|r| r.ends_with("413")),
        "no 413 answer at all: {refusals:?}"
    );
    // The case's limit: two files of 0.9 MiB fit (with what is there), a third does not.
    let near = (MIB * 9) / 10;
    let mut accepted = 0;
    let mut case_refused = None;
    let mut part = String::new();
    for n in 0..3 {
        let answer = http.upload(
            &s.worker,
            case,
            "kind=other",
            "text/plain",
            Some("part.txt"),
            Content::Bytes(Text::bytes(near, &format!("part{n}"))),
        );
        match answer.status {
            201 => {
                accepted += 1;
                part = answer.json()["id"].as_str().unwrap().to_owned();
            }
            413 => {
                case_refused = Some(n);
                break;
            }
            other => panic!("part {n}: {other} {}", answer.text()),
        }
    }
    assert_eq!(accepted, 2, "two 0.9 MiB files fit in the case's 2 MiB");
    assert_eq!(case_refused, Some(2), "the third is over the case's limit");
    let rows_full = stored_rows(&db);
    let files_full = store.files();
    let third = http.upload(
        &s.worker,
        case,
        "kind=other",
        "text/plain",
        Some("part.txt"),
        Content::Bytes(Text::bytes(near, "again")),
    );
    assert_eq!(third.status, 413);
    assert_eq!(stored_rows(&db), rows_full, "nothing of the refused file");
    assert_eq!(store.files(), files_full);
    // A new version counts too.
    let version = http.post_file(
        &s.worker,
        &documents_path(case, &format!("/{part}/versions")),
        "text/plain",
        Some("part.txt"),
        None,
        Content::Bytes(Text::bytes(near, "version")),
    );
    assert_eq!(
        version.status,
        413,
        "a version over the case's limit: {}",
        version.text()
    );
    assert_eq!(stored_rows(&db), rows_full);

    // The scan: a file it refuses is 422, and nothing stays. (In a fresh case: room.)
    let other = server.post(Some(&s.worker), "/api/v1/cases", &person("Scan"));
    let other = other.json()["id"].as_str().unwrap().to_owned();
    let rows = stored_rows(&db);
    let files = store.files();
    let infected = http.upload(
        &s.worker,
        &other,
        "kind=other",
        "text/plain",
        Some("x.txt"),
        Content::Bytes(b"harmless words then QZ-EICAR-QZ and more".to_vec()),
    );
    assert_eq!(infected.status, 422, "{}", infected.text());
    assert_eq!(stored_rows(&db), rows, "nothing of the infected file");
    assert_eq!(store.files(), files);
    let clean = http.upload(
        &s.worker,
        &other,
        "kind=other",
        "text/plain",
        Some("x.txt"),
        Content::Bytes(b"harmless words".to_vec()),
    );
    assert_eq!(clean.status, 201, "{}", clean.text());
    println!(
        "images and limits ({}): JPEG of {} bytes stripped of {stripped} bytes (EXIF with GPS, \
         XMP, comment), image segments kept; refusals: {}; case limit: 2 accepted, the third \
         413; scan: 422 then 201",
        db.engine(),
        photo.len(),
        refusals.join("; ")
    );
}

both_engines!(images_are_stripped_and_wrong_or_large_files_refused);

// ---------------------------------------------------------------------------------------------
// Erasure
// ---------------------------------------------------------------------------------------------

fn erasure_removes(db: &TestDb, store: &Store) -> String {
    let server = server_with(db, store, &[]);
    let http = Http::of(&server);
    let s = shelter(db, &server, "Erase");
    let office = seed::organisation(db, OrganisationKind::CoordinationOffice);
    let coordinator = mfa_enrolled_token(
        &server,
        &seed::account_in(db, &office, Role::Coordinator).email,
    );
    let case = &s.case;
    let mut ids = Vec::new();
    for (n, query) in [
        "kind=identity_document",
        "kind=medical_report",
        "kind=evidence",
    ]
    .iter()
    .enumerate()
    {
        let answer = http.upload(
            &s.worker,
            case,
            query,
            "text/plain",
            Some("e.txt"),
            Content::Bytes(Text::bytes(300 * KIB, &format!("erase{n}"))),
        );
        assert_eq!(answer.status, 201, "{}", answer.text());
        ids.push(answer.json()["id"].as_str().unwrap().to_owned());
    }
    let replaced = http.post_file(
        &s.worker,
        &documents_path(case, &format!("/{}/versions", ids[0])),
        "text/plain",
        Some("e.txt"),
        None,
        Content::Bytes(Text::bytes(300 * KIB, "erase-v2")),
    );
    assert_eq!(replaced.status, 201);
    // Another case's document stays.
    let keep_case = server.post(Some(&s.worker), "/api/v1/cases", &person("Keep"));
    let keep_case = keep_case.json()["id"].as_str().unwrap().to_owned();
    let kept = http.text_document(&s.worker, &keep_case, "notes", b"kept");
    let kept = kept["id"].as_str().unwrap().to_owned();

    let versions: Vec<String> = document_versions::table
        .filter(document_versions::document_id.eq_any(&ids))
        .select(document_versions::id)
        .load(&mut db.conn())
        .unwrap();
    assert_eq!(versions.len(), 4);
    // 64-byte pieces of every sealed chunk, to look for afterwards.
    let pieces: Vec<Vec<u8>> = versions
        .iter()
        .flat_map(|v| sealed_chunks(db, store, v))
        .map(|sealed| sealed[sealed.len() / 2..sealed.len() / 2 + 64].to_vec())
        .collect();
    assert_eq!(pieces.len(), 8, "two chunks a version");
    let as_stored = |piece: &[u8]| match db.engine() {
        Engine::Sqlite => piece.to_vec(),
        Engine::Postgres => hex(piece).into_bytes(),
    };
    let _ = tumaini_db::models::lifecycle::truncate_log(&mut db.conn());
    let before = db.stored_bytes();
    let objects_before: Vec<u8> = store
        .files()
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect();
    let seen_before = pieces
        .iter()
        .filter(|p| contains(&before, &as_stored(p)) || contains(&objects_before, p))
        .count();
    // A piece may straddle two SQLite overflow pages (each starts with a page number).
    assert!(
        seen_before >= 6,
        "the scan finds the chunks before: {seen_before} of 8"
    );

    let asked = server.post(
        Some(&s.supervisor),
        &format!("/api/v1/cases/{case}/erasure-requests"),
        &json!({"reason": "persons_request"}),
    );
    assert_eq!(asked.status, 201, "{}", asked.text());
    let request = asked.json()["id"].as_str().unwrap().to_owned();
    let approved = server.post(
        Some(&coordinator),
        &format!("/api/v1/cases/{case}/erasure-requests/{request}/approve"),
        &json!({}),
    );
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(approved.json()["state"], "executed");

    let conn = &mut db.conn();
    let doc_rows: i64 = documents::table
        .filter(documents::case_id.eq(case))
        .count()
        .get_result(conn)
        .unwrap();
    let version_rows: i64 = document_versions::table
        .filter(document_versions::id.eq_any(&versions))
        .count()
        .get_result(conn)
        .unwrap();
    let chunk_rows: i64 = document_chunks::table
        .filter(document_chunks::version_id.eq_any(&versions))
        .count()
        .get_result(conn)
        .unwrap();
    assert_eq!(
        (doc_rows, version_rows, chunk_rows),
        (0, 0, 0),
        "documents, versions, chunks of the erased case"
    );
    for id in &ids {
        let gone = http.download(&s.worker, &content_path(case, id, None));
        assert_ne!(gone.status, 200, "an erased case's document downloads");
    }
    let listed = server.get_as(&s.worker, &documents_path(case, ""));
    assert!(listed_ids(&listed).is_empty(), "{}", listed.text());
    // Objects: removed by housekeeping, shortly.
    let started = Instant::now();
    let objects_left = |store: &Store| {
        store
            .files()
            .iter()
            .filter(|f| versions.iter().any(|v| f.display().to_string().contains(v)))
            .count()
    };
    let mut left = objects_left(store);
    while left > 0 && started.elapsed() < Duration::from_secs(90) {
        std::thread::sleep(Duration::from_millis(500));
        left = objects_left(store);
    }
    assert_eq!(
        left,
        0,
        "objects of the erased case still in the directory after {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let waited = started.elapsed();
    let _ = tumaini_db::models::lifecycle::truncate_log(&mut db.conn());
    let after = db.stored_bytes();
    let mut objects = Vec::new();
    for file in store.files() {
        objects.extend(std::fs::read(&file).unwrap());
    }
    let found = pieces
        .iter()
        .filter(|p| contains(&after, &as_stored(p)) || contains(&objects, p))
        .count();
    assert_eq!(
        found, 0,
        "pieces of sealed chunks still stored after erasure"
    );
    // The other case's document is untouched.
    let kept = http.download(&s.worker, &content_path(&keep_case, &kept, None));
    assert_eq!(kept.status, 200);
    assert_eq!(kept.body, b"kept");
    format!(
        "{} store: 3 documents (4 versions, 8 chunks; {seen_before} chunk pieces seen before) \
         erased: 0 rows, 0 chunks, 0 pieces in {} bytes of storage and {} bytes of objects; \
         objects gone after {:.1} s; another case's document kept",
        store.name(),
        after.len(),
        objects.len(),
        waited.as_secs_f64()
    )
}

fn erasure_removes_documents_rows_chunks_and_objects(db: TestDb) {
    for line in per_store(&db, erasure_removes) {
        println!("erasure ({}): {line}", db.engine());
    }
}

both_engines!(erasure_removes_documents_rows_chunks_and_objects);

// ---------------------------------------------------------------------------------------------
// Resumable uploads (tus 1.0: creation, termination)
// ---------------------------------------------------------------------------------------------

/// A tus request: `method` to `path` with `headers` and an optional body.
fn tus(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<Vec<u8>>,
) -> TestResponse {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let (path, token) = (path.to_owned(), token.to_owned());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    server.send(move |c, base| {
        let mut request = c
            .request(method, format!("{base}{path}"))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match body {
            Some(body) => request
                .header("Content-Type", "application/offset+octet-stream")
                .body(body),
            None => request,
        }
    })
}

fn a_resumable_upload_continues_where_it_stopped(db: TestDb) {
    use base64::Engine as _;
    let store = Store::directory();
    let server = server_with(&db, &store, &[]);
    let http = Http::of(&server);
    let s = shelter(&db, &server, "Resume");
    let other = token(&server, &seed::account(&db, Role::CaseWorker).email).0;
    let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    let file = Text::bytes(600 * KIB, "resume");
    let open = |length: usize| {
        let opened = tus(
            &server,
            &s.worker,
            "POST",
            &format!("/api/v1/cases/{}/uploads?kind=evidence", s.case),
            &[
                ("Upload-Length", length.to_string()),
                (
                    "Upload-Metadata",
                    format!("filetype {},filename {}", b64("text/plain"), b64("r.txt")),
                ),
            ],
            None,
        );
        assert_eq!(opened.status, 201, "{}", opened.text());
        opened.header("location").unwrap().to_owned()
    };
    let patch = |location: &str, offset: usize, bytes: &[u8]| {
        tus(
            &server,
            &s.worker,
            "PATCH",
            location,
            &[("Upload-Offset", offset.to_string())],
            Some(bytes.to_vec()),
        )
    };
    let offset = |token: &str, location: &str| {
        let head = tus(&server, token, "HEAD", location, &[], None);
        (head.status, head.header("upload-offset").map(str::to_owned))
    };

    // Half, then where it stands, then a wrong offset, then the rest.
    let location = open(file.len());
    let half = 300 * 1024;
    let first = patch(&location, 0, &file[..half]);
    assert_eq!(first.status, 204, "the first half: {}", first.text());
    assert_eq!(
        first.header("upload-offset"),
        Some(half.to_string().as_str())
    );
    assert_eq!(offset(&s.worker, &location), (200, Some(half.to_string())));
    assert_eq!(
        offset(&other, &location).0,
        404,
        "only its uploader sees it"
    );
    let wrong = patch(&location, 0, &file[..half]);
    assert_eq!(wrong.status, 409, "an offset that is not where it stands");
    let rest = patch(&location, half, &file[half..]);
    assert_eq!(rest.status, 204, "the rest: {}", rest.text());
    let id = rest.header("tumaini-document").unwrap().to_owned();
    assert_eq!(
        rest.header("location"),
        Some(content_path(&s.case, &id, None).as_str())
    );
    let fetched = http.download(&s.worker, &content_path(&s.case, &id, None));
    assert_eq!(fetched.status, 200);
    assert_eq!(
        fetched.sha256,
        sha256(&file),
        "the document is the file, byte for byte"
    );

    // Once complete, the directory holds the document's chunks and nothing staged (at once,
    // or after housekeeping).
    let version = version_id(&db, &id, 1);
    let settle = |what: &str| -> Duration {
        let started = Instant::now();
        loop {
            let files = store.files();
            if files
                .iter()
                .all(|f| f.display().to_string().contains(&version))
            {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{what}: objects other than the document's after 60 s: {files:#?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    let staged_gone = settle("the completed upload's staged pieces");
    assert_eq!(store.files().len(), 3, "600 KiB in three chunks");

    // A cancelled upload leaves nothing.
    let rows = stored_rows(&db);
    let location = open(file.len());
    let part = patch(&location, 0, &file[..half]);
    assert_eq!(part.status, 204, "{}", part.text());
    let cancelled = tus(&server, &s.worker, "DELETE", &location, &[], None);
    assert_eq!(cancelled.status, 204, "{}", cancelled.text());
    assert_eq!(offset(&s.worker, &location).0, 404);
    assert_eq!(stored_rows(&db), rows, "rows of the cancelled upload");
    let cancelled_gone = settle("the cancelled upload's pieces");
    println!(
        "resumable upload ({}): 600 KiB in two requests (offset {half} after the first, a \
         wrong offset 409), the document equal byte for byte, its staged pieces gone after \
         {:.1} s; a cancelled upload left no row, its pieces gone after {:.1} s",
        db.engine(),
        staged_gone.as_secs_f64(),
        cancelled_gone.as_secs_f64()
    );
}

both_engines!(a_resumable_upload_continues_where_it_stopped);
