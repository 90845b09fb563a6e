//! E-mail: invitations and password resets arrive, carry only a link, which works once and for
//! a reset ends every session. Read from the development transport's folder, which needs
//! nothing installed; and delivered to a real SMTP server on loopback (aiosmtpd), where they
//! survive an outage of the relay.

use std::time::Duration;

use serde_json::json;
use tumaini_db::models::outbox;
use tumaini_db::vocabulary::Role;
use tumaini_tests::seed;
use tumaini_tests::smtp::{SmtpSink, body_of, token_in};
use tumaini_tests::{TestDb, TestServer, both_engines};

/// A supervisor invites a case worker, the address typed in mixed case.
fn invite(server: &TestServer, db: &TestDb) {
    let supervisor = seed::account(db, Role::Supervisor);
    let token = crate::auth::token(server, &supervisor.email).0;
    let invited = server.post(
        Some(&token),
        "/api/v1/users",
        &json!({
            "role": "case_worker", "email": "Nakato.Worker@Example.test",
            "display_name": "Nakato Worker"
        }),
    );
    assert_eq!(invited.status, 201, "{}", invited.text());
}

/// The invitation carries a single-use link and nothing else about anyone; accepted, the
/// invitee signs in. Returns that session's access token.
fn accept_invitation(server: &TestServer, invitation: &str) -> String {
    assert!(
        invitation.contains("To: nakato.worker@example.test"),
        "{invitation}"
    );
    assert!(
        invitation.contains("Subject: Your Tumaini account"),
        "{invitation}"
    );
    let body = body_of(invitation);
    assert!(
        body.contains("https://tumaini.test/accept-invitation#token="),
        "{body}"
    );
    assert!(
        !body.contains("Nakato Worker"),
        "not even the invitee's name"
    );
    let invitation_token = token_in(invitation);

    let accepted = server.post(
        None,
        "/api/v1/auth/invitation/accept",
        &json!({"token": invitation_token, "password": "my own long passphrase"}),
    );
    assert_eq!(accepted.status, 204, "{}", accepted.text());
    let again = server.post(
        None,
        "/api/v1/auth/invitation/accept",
        &json!({"token": invitation_token, "password": "another long passphrase"}),
    );
    assert_eq!(again.status, 401, "an invitation works once");
    let signed_in = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": "nakato.worker@example.test", "password": "my own long passphrase"}),
    );
    assert_eq!(signed_in.status, 200, "{}", signed_in.text());
    signed_in.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Resets asked for the invitee and for an unknown address get the same answer.
fn ask_for_resets(server: &TestServer) {
    let asked = server.post(
        None,
        "/api/v1/auth/password-reset",
        &json!({"email": "nakato.worker@example.test"}),
    );
    assert_eq!(asked.status, 202);
    let unknown = server.post(
        None,
        "/api/v1/auth/password-reset",
        &json!({"email": "nobody@example.test"}),
    );
    assert_eq!(
        unknown.status, 202,
        "the same answer for an unknown address"
    );
}

/// The reset link survives a refused weak password, sets a new one, and ends `old_session`
/// with every other session.
fn complete_reset(server: &TestServer, reset: &str, old_session: &str) {
    assert!(
        reset.contains("Subject: Reset your Tumaini password"),
        "{reset}"
    );
    let reset_token = token_in(reset);
    let weak = server.post(
        None,
        "/api/v1/auth/password-reset/confirm",
        &json!({"token": reset_token, "password": "password123456"}),
    );
    assert_eq!(weak.status, 422, "{}", weak.text());
    let reset_done = server.post(
        None,
        "/api/v1/auth/password-reset/confirm",
        &json!({"token": reset_token, "password": "a freshly chosen passphrase"}),
    );
    assert_eq!(
        reset_done.status,
        204,
        "the token survives a refused weak password: {}",
        reset_done.text()
    );
    assert_eq!(
        server.get_as(old_session, "/api/v1/auth/me").status,
        401,
        "a reset ends every session"
    );
    let after = server.post(
        None,
        "/api/v1/auth/login",
        &json!({"email": "nakato.worker@example.test", "password": "a freshly chosen passphrase"}),
    );
    assert_eq!(after.status, 200);
}

fn invitations_and_resets_carry_a_single_use_link(db: TestDb) {
    let server = TestServer::start(&db);
    invite(&server, &db);
    let messages = server.wait_for_mail(1, Duration::from_secs(15));
    let session = accept_invitation(&server, &messages[0]);
    ask_for_resets(&server);
    let messages = server.wait_for_mail(2, Duration::from_secs(20));
    assert_eq!(messages.len(), 2);
    complete_reset(&server, &messages[1], &session);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        server.mail_files().len(),
        2,
        "nothing was sent twice, nor to the unknown address"
    );
}

both_engines!(invitations_and_resets_carry_a_single_use_link);

fn invitations_and_resets_arrive_and_survive_an_outage(db: TestDb) {
    let Some(mut sink) = SmtpSink::start() else {
        return;
    };
    let server = TestServer::start_with(&db, &[("TUMAINI_SMTP_URL", &sink.url())], |_| {});
    invite(&server, &db);
    let messages = sink.wait_for(1, Duration::from_secs(15));
    let session = accept_invitation(&server, &messages[0]);

    // The relay goes down: the reset e-mail waits in the outbox, retried with backoff.
    sink.pause();
    ask_for_resets(&server);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        outbox::pending_count(&mut db.conn()).unwrap(),
        1,
        "kept while the relay is down"
    );
    assert_eq!(sink.messages().len(), 1);

    // It comes back: the message is delivered, once.
    sink.resume();
    let messages = sink.wait_for(2, Duration::from_secs(20));
    assert_eq!(messages.len(), 2);
    // The worker records the delivery just after the relay accepted it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while outbox::pending_count(&mut db.conn()).unwrap() != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the delivery was never recorded"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    complete_reset(&server, &messages[1], &session);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.messages().len(), 2, "nothing was sent twice");
}

both_engines!(invitations_and_resets_arrive_and_survive_an_outage);

fn development_writes_messages_to_a_folder(db: TestDb) {
    let server = TestServer::start(&db);
    let account = seed::account(&db, Role::CaseWorker);
    let asked = server.post(
        None,
        "/api/v1/auth/password-reset",
        &json!({"email": account.email}),
    );
    assert_eq!(asked.status, 202);
    // Waits for the whole file: one read as soon as it appears may catch it half written.
    let messages = server.wait_for_mail(1, Duration::from_secs(20));
    assert!(messages[0].contains("#token="));
}

both_engines!(development_writes_messages_to_a_folder);
