//! E-mail through a real SMTP server on loopback: invitations and password resets arrive,
//! carry only a link, and survive an outage of the relay.

use std::time::Duration;

use serde_json::json;
use tumaini_db::models::outbox;
use tumaini_db::vocabulary::Role;
use tumaini_tests::seed;
use tumaini_tests::smtp::{SmtpSink, body_of, token_in};
use tumaini_tests::{TestServer, both_engines};

both_engines! {
    fn invitations_and_resets_arrive_and_survive_an_outage(db) {
        let Some(mut sink) = SmtpSink::start() else { return };
        let server = TestServer::start_with(&db, &[("TUMAINI_SMTP_URL", &sink.url())], |_| {});
        let supervisor = seed::account(&db, Role::Supervisor);
        let token = crate::auth::token(&server, &supervisor.email).0;

        // An invitation arrives with a single-use link and nothing else about anyone.
        let invited = server.post(Some(&token), "/api/v1/users",
            &json!({"role": "case_worker", "email": "Nakato.Worker@Example.test", "display_name": "Nakato Worker"}));
        assert_eq!(invited.status, 201, "{}", invited.text());
        let messages = sink.wait_for(1, Duration::from_secs(15));
        let invitation = &messages[0];
        assert!(invitation.contains("To: nakato.worker@example.test"), "{invitation}");
        assert!(invitation.contains("Subject: Your Tumaini account"), "{invitation}");
        let body = body_of(invitation);
        assert!(body.contains("https://tumaini.test/accept-invitation#token="), "{body}");
        assert!(!body.contains("Nakato Worker"), "not even the invitee's name");
        let invitation_token = token_in(invitation);

        let accepted = server.post(None, "/api/v1/auth/invitation/accept",
            &json!({"token": invitation_token, "password": "my own long passphrase"}));
        assert_eq!(accepted.status, 204, "{}", accepted.text());
        let again = server.post(None, "/api/v1/auth/invitation/accept",
            &json!({"token": invitation_token, "password": "another long passphrase"}));
        assert_eq!(again.status, 401, "an invitation works once");
        let signed_in = server.post(None, "/api/v1/auth/login",
            &json!({"email": "nakato.worker@example.test", "password": "my own long passphrase"}));
        assert_eq!(signed_in.status, 200, "{}", signed_in.text());

        // The relay goes down: the reset e-mail waits in the outbox, retried with backoff.
        sink.pause();
        let asked = server.post(None, "/api/v1/auth/password-reset", &json!({"email": "nakato.worker@example.test"}));
        assert_eq!(asked.status, 202);
        let unknown = server.post(None, "/api/v1/auth/password-reset", &json!({"email": "nobody@example.test"}));
        assert_eq!(unknown.status, 202, "the same answer for an unknown address");
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(outbox::pending_count(&mut db.conn()).unwrap(), 1, "kept while the relay is down");
        assert_eq!(sink.messages().len(), 1);

        // It comes back: the message is delivered, once.
        sink.resume();
        let messages = sink.wait_for(2, Duration::from_secs(20));
        assert_eq!(messages.len(), 2);
        // The worker records the delivery just after the relay accepted it.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while outbox::pending_count(&mut db.conn()).unwrap() != 0 {
            assert!(std::time::Instant::now() < deadline, "the delivery was never recorded");
            std::thread::sleep(Duration::from_millis(50));
        }
        let reset = &messages[1];
        assert!(reset.contains("Subject: Reset your Tumaini password"), "{reset}");
        let reset_token = token_in(reset);
        let weak = server.post(None, "/api/v1/auth/password-reset/confirm",
            &json!({"token": reset_token, "password": "password123456"}));
        assert_eq!(weak.status, 422, "{}", weak.text());
        let reset_done = server.post(None, "/api/v1/auth/password-reset/confirm",
            &json!({"token": reset_token, "password": "a freshly chosen passphrase"}));
        assert_eq!(reset_done.status, 204, "the token survives a refused weak password: {}", reset_done.text());
        let old_session = signed_in.json()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(server.get_as(&old_session, "/api/v1/auth/me").status, 401, "a reset ends every session");
        let after = server.post(None, "/api/v1/auth/login",
            &json!({"email": "nakato.worker@example.test", "password": "a freshly chosen passphrase"}));
        assert_eq!(after.status, 200);
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(sink.messages().len(), 2, "nothing was sent twice");
    }
}

both_engines! {
    fn development_writes_messages_to_a_folder(db) {
        let server = TestServer::start(&db);
        let account = seed::account(&db, Role::CaseWorker);
        let asked = server.post(None, "/api/v1/auth/password-reset", &json!({"email": account.email}));
        assert_eq!(asked.status, 202);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while server.mail_files().is_empty() {
            assert!(std::time::Instant::now() < deadline, "no message written");
            std::thread::sleep(Duration::from_millis(50));
        }
        let message = &server.mail_files()[0];
        assert!(message.contains("#token="));
    }
}
