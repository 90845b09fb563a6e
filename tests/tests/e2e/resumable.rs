//! Resumable uploads (the tus protocol) over real HTTP on both engines: a connection cut in the
//! middle of the bytes keeps what arrived, the upload resumes from where `HEAD` says and
//! completes into a document identical to the file; a wrong offset is a conflict; only the
//! uploader sees a session; a cancelled session and one whose content is refused at completion
//! leave nothing staged behind.

use std::io::Write as _;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine as _;
use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tumaini_db::schema::{document_chunks, document_uploads, document_versions, documents};
use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::{TestDb, TestResponse, TestServer, both_engines, seed};

use crate::auth::token;

const KIB: usize = 1024;

/// Plain text of `len` bytes, numbered lines so that any two pieces differ.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 80);
    let mut n = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!("line {n:010} of a statement recorded at a border post\n").as_bytes(),
        );
        n += 1;
    }
    out.truncate(len);
    out
}

fn metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn open(
    server: &TestServer,
    bearer: &str,
    case: &str,
    length: usize,
    filetype: &str,
) -> TestResponse {
    let meta = metadata(&[
        ("filename", "taarifa ya polisi.txt"),
        ("filetype", filetype),
    ]);
    server.send(|c, base| {
        c.post(format!(
            "{base}/api/v1/cases/{case}/uploads?kind=police_statement"
        ))
        .bearer_auth(bearer)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", meta)
    })
}

fn head(server: &TestServer, bearer: &str, session: &str) -> TestResponse {
    server.send(|c, base| {
        c.head(format!("{base}{session}"))
            .bearer_auth(bearer)
            .header("Tus-Resumable", "1.0.0")
    })
}

fn patch(
    server: &TestServer,
    bearer: &str,
    session: &str,
    offset: usize,
    bytes: &[u8],
) -> TestResponse {
    let body = bytes.to_vec();
    server.send(|c, base| {
        c.patch(format!("{base}{session}"))
            .bearer_auth(bearer)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .body(body)
    })
}

fn offset_of(response: &TestResponse) -> usize {
    response
        .header("upload-offset")
        .and_then(|v| v.parse().ok())
        .expect("Upload-Offset")
}

/// A PATCH that announces `announced` bytes, sends `sent` of them and drops the connection, as
/// a poor connection does.
fn cut_patch(server: &TestServer, bearer: &str, session: &str, announced: usize, sent: &[u8]) {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "PATCH {session} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {bearer}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: 0\r\nContent-Length: {announced}\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).unwrap();
    for piece in sent.chunks(16 * KIB) {
        stream.write_all(piece).unwrap();
    }
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(stream);
}

fn staged_sessions(db: &TestDb) -> i64 {
    document_uploads::table
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn chunk_rows(db: &TestDb) -> i64 {
    document_chunks::table
        .count()
        .get_result(&mut db.conn())
        .unwrap()
}

fn a_cut_upload_resumes_and_completes(db: TestDb) {
    let server = TestServer::start(&db);
    let org = seed::organisation(&db, OrganisationKind::Ngo);
    let worker = token(
        &server,
        &seed::account_in(&db, &org, Role::FirstResponder).email,
    )
    .0;
    let colleague = token(
        &server,
        &seed::account_in(&db, &org, Role::FirstResponder).email,
    )
    .0;
    let created = server.post(
        Some(&worker),
        "/api/v1/cases",
        &json!({"summary": {"sex": "female", "age_band": "18_20", "citizenship": "UG",
            "exploitation_country": "KE", "region": "UG-202", "encountered_on": "2026-12-01",
            "exploitation_types": ["forced_labour"]}}),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let case = created.json()["id"].as_str().unwrap().to_owned();
    let file = text(900 * KIB + 123);

    let opened = open(&server, &worker, &case, file.len(), "text/plain");
    assert_eq!(opened.status, 201, "{}", opened.text());
    assert_eq!(opened.header("tus-resumable"), Some("1.0.0"));
    let session = opened.header("location").unwrap().to_owned();
    assert!(session.starts_with(&format!("/api/v1/cases/{case}/uploads/")));
    assert_eq!(offset_of(&head(&server, &worker, &session)), 0);

    // Only the uploader sees or continues the session.
    assert_eq!(head(&server, &colleague, &session).status, 404);
    assert_eq!(patch(&server, &colleague, &session, 0, b"x").status, 404);

    // The connection drops after 600 KiB of the announced whole: what arrived is kept.
    cut_patch(&server, &worker, &session, file.len(), &file[..600 * KIB]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut offset = 0;
    while Instant::now() < deadline {
        offset = offset_of(&head(&server, &worker, &session));
        if offset == 600 * KIB {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("resumable: after a cut at 600 KiB the upload stands at {offset} bytes");
    assert_eq!(
        offset,
        600 * KIB,
        "every byte that arrived before the cut is kept"
    );

    // Resuming from anywhere else is a conflict, and changes nothing.
    let wrong = patch(&server, &worker, &session, 0, &file[..1024]);
    assert_eq!(wrong.status, 409, "{}", wrong.text());
    assert_eq!(offset_of(&head(&server, &worker, &session)), offset);

    // The rest, from where HEAD said: the document is complete and identical.
    let done = patch(&server, &worker, &session, offset, &file[offset..]);
    assert_eq!(done.status, 204, "{}", done.text());
    assert_eq!(offset_of(&done), file.len());
    let document = done.header("tumaini-document").unwrap().to_owned();
    let location = done.header("location").unwrap().to_owned();
    assert_eq!(
        location,
        format!("/api/v1/cases/{case}/documents/{document}/content")
    );
    let downloaded = server.get_as(&worker, &location);
    assert_eq!(downloaded.status, 200);
    assert_eq!(
        Sha256::digest(&downloaded.body),
        Sha256::digest(&file),
        "the document is the file, byte for byte"
    );
    let listed = server.get_as(&worker, &format!("/api/v1/cases/{case}/documents"));
    let listed = listed.json();
    assert_eq!(listed["documents"][0]["file_name"], "taarifa ya polisi.txt");
    assert_eq!(listed["documents"][0]["group"], "legal");

    // Nothing staged is left: the only chunks are the document's own.
    assert_eq!(staged_sessions(&db), 0);
    let count: i32 = document_versions::table
        .filter(document_versions::document_id.eq(&document))
        .select(document_versions::chunk_count)
        .first(&mut db.conn())
        .unwrap();
    assert_eq!(chunk_rows(&db), i64::from(count));
    assert_eq!(
        head(&server, &worker, &session).status,
        404,
        "the session is gone"
    );

    // A cancelled session leaves nothing.
    let second = open(&server, &worker, &case, 400 * KIB, "text/plain");
    let second = second.header("location").unwrap().to_owned();
    assert_eq!(
        patch(&server, &worker, &second, 0, &file[..300 * KIB]).status,
        204
    );
    assert!(chunk_rows(&db) > i64::from(count));
    let cancelled = server.send(|c, base| {
        c.delete(format!("{base}{second}"))
            .bearer_auth(&worker)
            .header("Tus-Resumable", "1.0.0")
    });
    assert_eq!(cancelled.status, 204, "{}", cancelled.text());
    assert_eq!(staged_sessions(&db), 0);
    assert_eq!(chunk_rows(&db), i64::from(count));

    // Content refused at completion (a PDF declared as text) leaves nothing either.
    let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n".to_vec();
    let third = open(&server, &worker, &case, pdf.len(), "text/plain");
    let third = third.header("location").unwrap().to_owned();
    let refused = patch(&server, &worker, &third, 0, &pdf);
    assert_eq!(refused.status, 415, "{}", refused.text());
    assert!(
        !refused.text().contains("taarifa"),
        "the answer never names the file"
    );
    assert_eq!(staged_sessions(&db), 0);
    assert_eq!(chunk_rows(&db), i64::from(count));
    let documents: i64 = documents::table.count().get_result(&mut db.conn()).unwrap();
    assert_eq!(documents, 1);

    // Not tus 1.0.0: refused.
    let old = server.send(|c, base| {
        c.post(format!("{base}/api/v1/cases/{case}/uploads?kind=other"))
            .bearer_auth(&worker)
            .header("Tus-Resumable", "0.2.2")
            .header("Upload-Length", "10")
    });
    assert_eq!(old.status, 412);
}
both_engines!(a_cut_upload_resumes_and_completes);
