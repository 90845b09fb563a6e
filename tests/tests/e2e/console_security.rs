//! The web console's security and weight, over real HTTP on both engines: the session cookie's
//! flags and lifetime, the CSRF token every form needs, the Content-Security-Policy without
//! script, `no-store` on every page, signing out (here and everywhere) really ending the
//! session, the same sign-in refusal and lockout as the API, the language remembered per
//! person, and every page's weight against the budget (100 KB for a first load, 30 KB after).

use tumaini_db::vocabulary::{OrganisationKind, Role};
use tumaini_tests::console::{ConsoleBrowser, hidden_field};
use tumaini_tests::seed::{self, PASSWORD};
use tumaini_tests::{TestDb, TestServer, both_engines};

/// The budget of a first visit (the page and its stylesheet) and of each later page.
const FIRST_LOAD_BUDGET: usize = 100 * 1024;
const LATER_PAGE_BUDGET: usize = 30 * 1024;

fn case_worker(db: &TestDb) -> seed::Account {
    let shelter = seed::organisation_in(db, OrganisationKind::Shelter, "UG");
    seed::account_in(db, &shelter, Role::CaseWorker)
}

/// The stylesheet a page links to.
fn stylesheet_of(page: &str) -> String {
    let start = page.find("href=\"/console/static/").expect("a stylesheet") + "href=\"".len();
    let end = page[start..].find('"').expect("its end") + start;
    page[start..end].to_owned()
}

fn set_cookie<'a>(browser: &'a ConsoleBrowser<'_>, name: &str) -> &'a str {
    browser
        .set_cookies
        .iter()
        .rev()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie for {name}: {:?}", browser.set_cookies))
}

fn signed_in_as<'s>(server: &'s TestServer, account: &seed::Account) -> ConsoleBrowser<'s> {
    let mut browser = ConsoleBrowser::new(server);
    let landed = browser.sign_in(&account.email, PASSWORD, None);
    assert_eq!(landed.status, 200, "{}", landed.text());
    assert!(browser.cookies.contains_key("tumaini_session"));
    browser
}

fn the_session_cookie_is_http_only_strict_and_short(db: TestDb) {
    // A development server on plain HTTP.
    let server = TestServer::start_with(
        &db,
        &[("TUMAINI_PUBLIC_URL", "http://127.0.0.1:8080")],
        |_| {},
    );
    let worker = case_worker(&db);
    let browser = signed_in_as(&server, &worker);
    let cookie = set_cookie(&browser, "tumaini_session").to_ascii_lowercase();
    assert!(cookie.contains("httponly"), "{cookie}");
    assert!(cookie.contains("samesite=strict"), "{cookie}");
    assert!(cookie.contains("path=/console"), "{cookie}");
    // The idle timeout (15 minutes by default) is the cookie's life, renewed on every page.
    assert!(cookie.contains("max-age=900"), "{cookie}");
    // Plain HTTP in development: not `Secure`, or the browser would drop it.
    assert!(!cookie.contains("secure"), "{cookie}");
    let form = set_cookie(&browser, "tumaini_form").to_ascii_lowercase();
    assert!(form.contains("httponly") && form.contains("samesite=strict"));

    // Behind HTTPS (the public address says so) every cookie is `Secure`.
    let secure = TestServer::start_with(
        &db,
        &[("TUMAINI_PUBLIC_URL", "https://tumaini.example")],
        |_| {},
    );
    let browser = signed_in_as(&secure, &worker);
    for name in ["tumaini_session", "tumaini_form"] {
        let cookie = set_cookie(&browser, name).to_ascii_lowercase();
        assert!(cookie.contains("; secure"), "{name}: {cookie}");
    }
}
both_engines!(the_session_cookie_is_http_only_strict_and_short);

fn every_page_has_the_strict_policy_and_is_never_stored(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let mut browser = ConsoleBrowser::new(&server);
    let sign_in = browser.get("/console/sign-in");
    let mut pages = vec![("/console/sign-in", sign_in)];
    browser.sign_in(&worker.email, PASSWORD, None);
    for path in [
        "/console/work",
        "/console/account",
        "/console/password",
        "/console/mfa",
        "/console/no-such-page",
    ] {
        pages.push((path, browser.get(path)));
    }
    for (path, page) in &pages {
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("style-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("form-action 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("script-src"),
            "{path}: {csp}"
        );
        assert_eq!(page.header("cache-control"), Some("no-store"), "{path}");
        assert!(
            page.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{path}: an HTML page, errors included"
        );
        assert!(!page.text().contains("<script"), "{path}: no script at all");
    }
    assert_eq!(pages.last().map(|p| p.1.status), Some(404));
    // The stylesheet is the one thing cached, for a year, under a versioned name.
    let css = browser.get(&stylesheet_of(&browser.last_page));
    assert_eq!(css.status, 200);
    assert!(
        css.header("cache-control")
            .is_some_and(|c| c.contains("immutable"))
    );
}
both_engines!(every_page_has_the_strict_policy_and_is_never_stored);

fn a_form_without_its_csrf_token_is_refused_and_changes_nothing(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let mut browser = signed_in_as(&server, &worker);
    browser.get("/console/account");
    let token = hidden_field(&browser.last_page, "csrf").expect("a CSRF token on the page");
    // Missing, wrong, and another session's token: all refused, and the session lives on.
    let mut other = signed_in_as(&server, &worker);
    other.get("/console/account");
    let others = hidden_field(&other.last_page, "csrf").expect("the other session's token");
    assert_ne!(token, others);
    for fields in [
        vec![],
        vec![("csrf", "forged")],
        vec![("csrf", others.as_str())],
    ] {
        let refused = browser.post_raw("/console/sign-out", &fields);
        assert_eq!(refused.status, 403, "{}", refused.text());
        assert!(refused.text().contains("<h1>"), "an HTML page says why");
    }
    assert_eq!(browser.get("/console/work").status, 200, "still signed in");
    // Language changes too: a forged one is not remembered.
    let refused = browser.post_raw("/console/language", &[("lang", "sw")]);
    assert_eq!(refused.status, 403);
    let page = browser.get("/console/work");
    assert!(page.text().contains("lang=\"en\""));
    // Before sign-in, the form's token must match its cookie (no login CSRF).
    let mut stranger = ConsoleBrowser::new(&server);
    let refused = stranger.post_raw(
        "/console/sign-in",
        &[
            ("email", &worker.email),
            ("password", PASSWORD),
            ("form", "x"),
        ],
    );
    assert_eq!(refused.status, 403);
    assert!(!stranger.cookies.contains_key("tumaini_session"));
}
both_engines!(a_form_without_its_csrf_token_is_refused_and_changes_nothing);

fn signing_out_ends_the_session_here_and_everywhere(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let mut browser = signed_in_as(&server, &worker);
    let stolen = browser.cookies.clone();
    browser.get("/console/work");
    let out = browser.submit("/console/sign-out", &[]);
    assert_eq!(out.status, 200);
    assert!(out.text().contains("action=\"/console/sign-in\""));
    assert!(!browser.cookies.contains_key("tumaini_session"));
    assert!(
        browser
            .set_cookies
            .iter()
            .any(|c| c.starts_with("tumaini_session=;") || c.contains("Max-Age=0")),
    );
    // The old cookie, kept by someone at a shared computer, opens nothing any more.
    let mut thief = ConsoleBrowser::new(&server);
    thief.cookies = stolen;
    let refused = thief.get("/console/work");
    assert_eq!(refused.status, 303);
    assert_eq!(
        refused.header("location"),
        Some("/console/sign-in?next=/console/work")
    );

    // Everywhere: two sessions, both end.
    let mut first = signed_in_as(&server, &worker);
    let mut second = signed_in_as(&server, &worker);
    second.get("/console/account");
    assert!(second.last_page.contains("Web console"));
    let out = second.submit("/console/sign-out-everywhere", &[]);
    assert_eq!(out.status, 200);
    assert_eq!(first.get("/console/work").status, 303);
}
both_engines!(signing_out_ends_the_session_here_and_everywhere);

fn sign_in_refuses_alike_and_a_forged_cookie_is_nobody(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let mut browser = ConsoleBrowser::new(&server);
    let wrong = browser.sign_in(&worker.email, "not the password at all", None);
    let unknown = ConsoleBrowser::new(&server).sign_in("nobody@example.test", PASSWORD, None);
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    let message = |page: &str| {
        let start = page.find("role=\"alert\"").expect("an alert");
        page[start..start + 200].to_owned()
    };
    assert_eq!(message(&wrong.text()), message(&unknown.text()));
    assert!(!browser.cookies.contains_key("tumaini_session"));
    // The address typed is kept in the form, never anywhere else (not in the URL).
    assert!(wrong.text().contains(&worker.email));
    let mut forged = ConsoleBrowser::new(&server);
    forged
        .cookies
        .insert("tumaini_session".into(), "eyJhbGciOiJub25lIn0.e30.".into());
    assert_eq!(forged.get("/console/work").status, 303);
    // A bearer token of the API is no console cookie's substitute either way round: the cookie
    // is not accepted as a bearer token's header, and pages need the cookie.
    let page = forged.get("/console/account");
    assert_eq!(
        page.header("location"),
        Some("/console/sign-in?next=/console/account")
    );
}
both_engines!(sign_in_refuses_alike_and_a_forged_cookie_is_nobody);

fn the_language_is_remembered_per_person(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let mut browser = signed_in_as(&server, &worker);
    browser.get("/console/work");
    let swahili = browser.submit("/console/language", &[("lang", "sw")]);
    assert_eq!(swahili.status, 200);
    assert!(swahili.text().contains("<html lang=\"sw\" dir=\"ltr\">"));
    assert!(swahili.text().contains("Kazi yangu"));
    // Another browser, asking for English: the person's choice wins once signed in.
    let mut elsewhere = ConsoleBrowser::new(&server);
    let sign_in = elsewhere.get("/console/sign-in");
    assert!(sign_in.text().contains("lang=\"en\""));
    let landed = elsewhere.sign_in(&worker.email, PASSWORD, None);
    assert!(landed.text().contains("lang=\"sw\""), "{}", landed.text());
    // Arabic is prepared: right to left, untranslated messages in English.
    elsewhere.get("/console/work");
    let arabic = elsewhere.submit("/console/language", &[("lang", "ar")]);
    assert!(arabic.text().contains("<html lang=\"ar\" dir=\"rtl\">"));
    assert!(arabic.text().contains("عملي"));
}
both_engines!(the_language_is_remembered_per_person);

fn a_role_that_needs_a_second_factor_enrols_before_anything_else(db: TestDb) {
    let server = TestServer::start(&db);
    let shelter = seed::organisation_in(&db, OrganisationKind::Shelter, "UG");
    let supervisor = seed::account_in(&db, &shelter, Role::Supervisor);
    let mut browser = ConsoleBrowser::new(&server);
    let landed = browser.sign_in(&supervisor.email, PASSWORD, None);
    assert!(landed.text().contains("action=\"/console/mfa/start\""));
    // Every other page sends them back to enrolment.
    let work = browser.get("/console/work");
    assert_eq!(work.header("location"), Some("/console/mfa"));
    let enrolment = browser.submit("/console/mfa/start", &[]);
    assert_eq!(enrolment.status, 200);
    let page = enrolment.text();
    assert!(
        page.contains("src=\"data:image/svg+xml;base64,"),
        "a QR code drawn here"
    );
    let start = page.find("<code id=\"secret\">").expect("the key") + "<code id=\"secret\">".len();
    let secret = &page[start..start + page[start..].find('<').expect("end")];
    let secret = crate::auth::base32_decode(secret);
    let wrong = browser.submit("/console/mfa/confirm", &[("code", "000000")]);
    assert_eq!(wrong.status, 422);
    assert!(wrong.text().contains("aria-invalid=\"true\""));
    let now = u64::try_from(chrono::Utc::now().timestamp()).expect("time");
    let code = tumaini_api::auth::totp::code_at(&secret, now).expect("a code");
    let done = browser.submit("/console/mfa/confirm", &[("code", &code)]);
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(
        done.text().contains("class=\"codes\""),
        "recovery codes shown once"
    );
    assert_eq!(browser.get("/console/work").status, 200);
}
both_engines!(a_role_that_needs_a_second_factor_enrols_before_anything_else);

fn pages_stay_within_their_weight(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let mut browser = ConsoleBrowser::new(&server);
    let first = browser.get("/console/sign-in");
    let css = browser.get(&stylesheet_of(&browser.last_page));
    let first_load = first.body.len() + css.body.len();
    println!(
        "console first load: sign-in page {} B + stylesheet {} B = {} B (budget {} B)",
        first.body.len(),
        css.body.len(),
        first_load,
        FIRST_LOAD_BUDGET
    );
    assert!(first_load <= FIRST_LOAD_BUDGET);
    browser.sign_in(&worker.email, PASSWORD, None);
    // A case with the groups filled in, registered through the console.
    browser.visit("/console/cases/new");
    let story = "A long account of what happened. ".repeat(40);
    let registered = browser.submit(
        "/console/cases/new",
        &[
            ("sex", "female"),
            ("age_band", "27_29"),
            ("citizenship", "UG"),
            ("exploitation_country", "KE"),
            ("region", "UG-202"),
            ("encountered_on", "2026-11-21"),
            ("exploitation_types", "forced_labour"),
            ("given_names", "Atim Grace"),
            ("family_name", "Weighed"),
            ("narrative", &story),
        ],
    );
    assert_eq!(registered.status, 200, "{}", registered.text());
    let case = browser
        .urls
        .iter()
        .rev()
        .find_map(|u| u.strip_prefix("/console/cases/"))
        .map(|rest| rest.split(['?', '/']).next().unwrap_or_default().to_owned())
        .expect("the case page");
    let mut pages = vec![
        "/console/work".to_owned(),
        "/console/account".to_owned(),
        "/console/password".to_owned(),
        "/console/mfa".to_owned(),
        "/console/cases".to_owned(),
        "/console/cases/new".to_owned(),
        format!("/console/cases/{case}"),
        format!("/console/cases/{case}?purpose=assistance"),
        format!("/console/cases/{case}/consent?purpose=assistance"),
        format!("/console/cases/{case}/refer"),
        "/console/referrals".to_owned(),
    ];
    let mut heaviest = 0;
    for path in &pages {
        let page = browser.get(path);
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        println!(
            "console page {path}: {} B (budget {LATER_PAGE_BUDGET} B)",
            page.body.len()
        );
        heaviest = heaviest.max(page.body.len());
        assert!(
            page.body.len() <= LATER_PAGE_BUDGET,
            "{path} is over budget"
        );
    }
    // A coordinator's pages (tables of statistics) too.
    let office = seed::organisation_in(&db, OrganisationKind::CoordinationOffice, "UG");
    let coordinator = seed::account_in(&db, &office, Role::Coordinator);
    crate::auth::token(&server, &coordinator.email);
    let mut browser = ConsoleBrowser::new(&server);
    let code = crate::auth::next_code(&coordinator.email);
    browser.sign_in(&coordinator.email, PASSWORD, Some(&code));
    pages = vec![
        "/console/coordination".to_owned(),
        "/console/work".to_owned(),
    ];
    for path in &pages {
        let page = browser.get(path);
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        println!("console page {path} (coordinator): {} B", page.body.len());
        heaviest = heaviest.max(page.body.len());
        assert!(
            page.body.len() <= LATER_PAGE_BUDGET,
            "{path} is over budget"
        );
    }
    println!("console heaviest later page: {heaviest} B of {LATER_PAGE_BUDGET} B");
}
both_engines!(pages_stay_within_their_weight);

fn the_links_in_e_mails_open_console_pages(db: TestDb) {
    let server = TestServer::start(&db);
    let mut browser = ConsoleBrowser::new(&server);
    for (link, page) in [
        ("/reset-password", "/console/password/reset"),
        ("/accept-invitation", "/console/invitation"),
        ("/cases/%3Cscript%3E", "/console/work"),
    ] {
        let response = browser.get(link);
        assert_eq!(response.status, 303, "{link}");
        assert_eq!(response.header("location"), Some(page), "{link}");
    }
    // A case's or a referral's link answers a page with one link on: followed from a webmail,
    // the request carries no `SameSite=Strict` cookie, which the click then sends.
    let case = "019af1c2-0000-7000-8000-000000000000";
    for (link, page) in [
        (format!("/cases/{case}"), format!("/console/cases/{case}")),
        (
            "/referrals/abc-123".to_owned(),
            "/console/referrals/abc-123".to_owned(),
        ),
    ] {
        let response = browser.get(&link);
        assert_eq!(response.status, 200, "{link}");
        assert!(
            response.text().contains(&format!("href=\"{page}\"")),
            "{link}"
        );
    }
    // Not signed in: the sign-in page, and back to the page afterwards; no cookie is removed
    // (a cross-site request carries none, and the person may well be signed in).
    let worker = case_worker(&db);
    let mut stranger = ConsoleBrowser::new(&server);
    let refused = stranger.get("/console/referrals");
    assert_eq!(
        refused.header("location"),
        Some("/console/sign-in?next=/console/referrals")
    );
    assert!(refused.header("set-cookie").is_none());
    let form = stranger.visit("/console/sign-in?next=/console/referrals");
    assert!(
        form.text()
            .contains("name=\"next\" value=\"/console/referrals\"")
    );
    let landed = stranger.submit(
        "/console/sign-in",
        &[
            ("email", &worker.email),
            ("password", PASSWORD),
            ("otp", ""),
            ("next", "/console/referrals"),
        ],
    );
    assert_eq!(landed.status, 200);
    assert_eq!(
        stranger.urls.iter().rev().nth(1).map(String::as_str),
        Some("/console/referrals")
    );
    // Never elsewhere: another site, or a path with a query, is not followed.
    for next in [
        "https://evil.example/",
        "//evil.example",
        "/console/cases?x=1",
        "/api/v1/cases",
    ] {
        let mut visitor = ConsoleBrowser::new(&server);
        visitor.get(&format!("/console/sign-in?next={next}"));
        assert!(!visitor.last_page.contains("name=\"next\""), "{next}");
    }
    // The invitation's page sets a first password with the e-mailed token; a wrong one is
    // refused in plain words and sets nothing.
    let page = browser.visit("/accept-invitation");
    assert_eq!(page.status, 200);
    let refused = browser.submit(
        "/console/invitation",
        &[
            ("token", "token=not-a-real-token"),
            ("password", "a long and unusual passphrase 9"),
        ],
    );
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("role=\"alert\""));
}
both_engines!(the_links_in_e_mails_open_console_pages);

fn a_form_sent_twice_acts_once(db: TestDb) {
    use diesel::prelude::*;
    use tumaini_db::schema::{case_notes, cases};
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let mut browser = signed_in_as(&server, &worker);
    let count = |table: &str| -> i64 {
        match table {
            "cases" => cases::table.count().get_result(&mut db.conn()).unwrap(),
            _ => case_notes::table
                .count()
                .get_result(&mut db.conn())
                .unwrap(),
        }
    };
    browser.visit("/console/cases/new");
    let csrf = hidden_field(&browser.last_page, "csrf").expect("csrf");
    let once = hidden_field(&browser.last_page, "once").expect("a key for this form");
    let form = |family: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("once", once.clone()),
            ("sex", "female".to_owned()),
            ("age_band", "27_29".to_owned()),
            ("citizenship", "UG".to_owned()),
            ("region", "UG-202".to_owned()),
            ("encountered_on", "2026-11-21".to_owned()),
            ("family_name", family.to_owned()),
        ]
    };
    let send = |browser: &mut ConsoleBrowser<'_>, fields: &[(&str, String)]| {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        browser.post_raw("/console/cases/new", &borrowed)
    };
    // A double click, or a retry on a poor connection after the first was acted on: one case,
    // and the second answer is the first (on to the same case).
    let first = send(&mut browser, &form("Twice"));
    let second = send(&mut browser, &form("Twice"));
    assert_eq!(first.status, 303, "{}", first.text());
    assert_eq!(second.status, 303, "{}", second.text());
    assert_eq!(first.header("location"), second.header("location"));
    assert_eq!(count("cases"), 1);
    // The same form edited after going back: refused, never silently answered with the first.
    let edited = send(&mut browser, &form("Edited"));
    assert_eq!(edited.status, 422, "{}", edited.text());
    assert_eq!(count("cases"), 1);
    // A note sent twice is written once.
    let case = first
        .header("location")
        .and_then(|l| l.strip_prefix("/console/cases/"))
        .map(|rest| rest.split(['?', '/']).next().unwrap_or_default().to_owned())
        .expect("the case");
    browser.visit(&format!("/console/cases/{case}/notes"));
    let csrf = hidden_field(&browser.last_page, "csrf").expect("csrf");
    let once = hidden_field(&browser.last_page, "once").expect("a key for this form");
    let note = [
        ("csrf", csrf.as_str()),
        ("once", once.as_str()),
        ("text", "Met at the border."),
    ];
    let path = format!("/console/cases/{case}/notes");
    assert_eq!(browser.post_raw(&path, &note).status, 303);
    assert_eq!(browser.post_raw(&path, &note).status, 303);
    assert_eq!(count("notes"), 1);
}
both_engines!(a_form_sent_twice_acts_once);

fn a_forgotten_password_is_reset_through_the_console(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let mut browser = ConsoleBrowser::new(&server);
    browser.visit("/console/password/forgot");
    let sent = browser.submit("/console/password/forgot", &[("email", &worker.email)]);
    assert_eq!(sent.status, 200);
    let mail = server.wait_for_mail(1, std::time::Duration::from_secs(20));
    let token = tumaini_tests::smtp::token_in(&mail[0]);
    // The e-mail's link opens the reset page.
    let page = browser.visit("/reset-password");
    assert!(page.text().contains("action=\"/console/password/reset\""));
    let new_password = "another long and unusual passphrase 3";
    let weak = browser.submit(
        "/console/password/reset",
        &[("token", &token), ("password", "short")],
    );
    assert_eq!(weak.status, 422);
    let done = browser.submit(
        "/console/password/reset",
        &[
            ("token", &format!("token={token}")),
            ("password", new_password),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("role=\"status\""));
    // The old password opens nothing; the new one signs in; the token works once.
    let old = ConsoleBrowser::new(&server).sign_in(&worker.email, PASSWORD, None);
    assert_eq!(old.status, 401);
    let new = ConsoleBrowser::new(&server).sign_in(&worker.email, new_password, None);
    assert_eq!(new.status, 200);
    browser.visit("/console/password/reset");
    let again = browser.submit(
        "/console/password/reset",
        &[
            ("token", &token),
            ("password", "yet another long passphrase 44"),
        ],
    );
    assert_eq!(again.status, 422);
}
both_engines!(a_forgotten_password_is_reset_through_the_console);

fn no_link_carries_free_text_into_a_form(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let mut browser = signed_in_as(&server, &worker);
    browser.visit("/console/cases/new");
    let registered = browser.submit(
        "/console/cases/new",
        &[
            ("sex", "female"),
            ("age_band", "27_29"),
            ("region", "UG-202"),
            ("encountered_on", "2026-11-21"),
        ],
    );
    assert_eq!(registered.status, 200, "{}", registered.text());
    let case = browser
        .urls
        .iter()
        .rev()
        .find_map(|u| u.strip_prefix("/console/cases/"))
        .map(|rest| rest.split(['?', '/']).next().unwrap_or_default().to_owned())
        .expect("the case page");
    // A crafted link with a note, details or a name in it fills nothing in; the codes of a
    // visit (its purpose, consent's choices) are kept.
    for form in [
        "notes",
        "assistance",
        "risk",
        "screening",
        "plan",
        "consent",
    ] {
        let page = browser.get(&format!(
            "/console/cases/{case}/{form}?purpose=assistance&text=LINKTEXT1&details=LINKTEXT2\
             &notes=LINKTEXT3&action=LINKTEXT4&given_by=person&recipients=shelter"
        ));
        assert_eq!(page.status, 200, "{form}: {}", page.text());
        assert!(
            !page.text().contains("LINKTEXT"),
            "{form} took text from its address"
        );
        assert!(
            page.text()
                .contains("name=\"purpose\" value=\"assistance\""),
            "{form}"
        );
    }
}
both_engines!(no_link_carries_free_text_into_a_form);

fn the_case_list_pages_on_by_id(db: TestDb) {
    let server = TestServer::start(&db);
    let worker = case_worker(&db);
    let (access, _) = crate::auth::token(&server, &worker.email);
    for _ in 0..52 {
        let created = server.post(
            Some(&access),
            "/api/v1/cases",
            &serde_json::json!({"summary": {
                "sex": "male", "age_band": "30_38", "region": "UG-202",
                "encountered_on": "2026-11-21"
            }}),
        );
        assert_eq!(created.status, 201, "{}", created.text());
    }
    let mut browser = signed_in_as(&server, &worker);
    let rows = |page: &str| page.matches("<td><a href=\"/console/cases/").count();
    let first = browser.get("/console/cases");
    assert_eq!(rows(&first.text()), 50);
    let start = first
        .text()
        .find("/console/cases?after=")
        .expect("a next page");
    let text = first.text();
    let next = &text[start..start + text[start..].find('"').expect("its end")];
    let second = browser.get(next);
    assert_eq!(rows(&second.text()), 2);
    assert!(
        !second.text().contains("?after="),
        "the last page has no next"
    );
}
both_engines!(the_case_list_pages_on_by_id);
