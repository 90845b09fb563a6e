//! The addresses the e-mails link to (`{TUMAINI_PUBLIC_URL}/cases/{id}`, `/referrals/{id}`,
//! `/reset-password`, `/accept-invitation`), answered by the console's pages: a redirect keeps
//! the link's `#token=` fragment (the browser carries it over), and an invited person sets their
//! password on a console page like the reset's.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;

use super::PageResult;
use super::i18n::t;
use super::layout::{self, Field, form_alert};
use super::session::Visitor;
use crate::accounts::{invitations, passwords::TokenPassword};
use crate::auth::RequestContext;
use crate::http::{ApiError, ProblemType};
use crate::state::AppState;

/// The e-mails' links, outside `/console`.
pub fn register(cfg: &mut web::ServiceConfig) {
    cfg.route("/reset-password", web::get().to(to_reset))
        .route("/accept-invitation", web::get().to(to_invitation))
        .route("/cases/{id}", web::get().to(to_case))
        .route("/referrals/{id}", web::get().to(to_referral));
}

fn see_other(to: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// An id in a link: letters, digits and dashes only, or the link goes nowhere.
fn id_of(text: &str) -> Option<&str> {
    (!text.is_empty()
        && text.len() <= 64
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    .then_some(text)
}

async fn to_reset() -> HttpResponse {
    see_other("/console/password/reset".to_owned())
}

async fn to_invitation() -> HttpResponse {
    see_other("/console/invitation".to_owned())
}

/// A page with one link to the console's page: followed from an e-mail (another site), the
/// request comes without the `SameSite=Strict` session cookie, which the click on this page
/// (a navigation inside the site) then sends.
fn onward(req: &HttpRequest, to: &str) -> HttpResponse {
    let locale = super::session::request_locale(req);
    let title = t(locale, "link-title");
    let markup = html! {
        (maud::DOCTYPE)
        html lang=(locale.code()) dir=(locale.direction()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tumaini" }
                link rel="stylesheet" href=(super::STYLESHEET.as_str());
            }
            body {
                main #main {
                    h1 { (title) }
                    p { a.button href=(to) { (t(locale, "link-open")) } }
                }
            }
        }
    };
    layout::respond(None, StatusCode::OK, markup)
}

async fn to_case(req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    match id_of(&id) {
        Some(id) => onward(&req, &format!("/console/cases/{id}")),
        None => see_other("/console/work".to_owned()),
    }
}

async fn to_referral(req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    match id_of(&id) {
        Some(id) => onward(&req, &format!("/console/referrals/{id}")),
        None => see_other("/console/work".to_owned()),
    }
}

/// The invitation's page, under `/console`.
pub(super) fn register_pages(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/invitation", web::get().to(invitation_page))
        .route("/invitation", web::post().to(invitation_submit))
}

#[derive(Deserialize)]
struct InvitationForm {
    #[serde(default)]
    form: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

fn invitation_body(visitor: &Visitor, error: Option<&str>) -> Markup {
    let l = visitor.locale;
    html! {
        p { (t(l, "invitation-text")) }
        (form_alert(error))
        form method="post" action="/console/invitation" novalidate {
            input type="hidden" name="form" value=(visitor.form_token);
            (Field::new("token", &t(l, "field-reset-token")).hint(&t(l, "field-reset-token-hint")).required().input_with("text", "", Some("off")))
            (Field::new("password", &t(l, "field-new-password")).hint(&t(l, "field-new-password-hint")).required().input_with("password", "", Some("new-password")))
            button type="submit" { (t(l, "invitation-submit")) }
        }
    }
}

async fn invitation_page(visitor: Visitor) -> HttpResponse {
    let title = t(visitor.locale, "invitation-title");
    let body = invitation_body(&visitor, None);
    layout::visitor_respond(
        &visitor,
        StatusCode::OK,
        layout::visitor_page(&visitor, &title, body),
    )
}

async fn invitation_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<InvitationForm>,
) -> PageResult {
    let form = form.into_inner();
    visitor.check(&form.form)?;
    let l = visitor.locale;
    let context = RequestContext::of(&req, &state.auth.keys, &state.auth.settings.proxies);
    let input = TokenPassword {
        token: form.token.trim().trim_start_matches("token=").to_owned(),
        password: form.password,
    };
    let title = t(l, "invitation-title");
    let error = match invitations::accept(&state, context, input).await {
        Ok(_) => {
            let body = html! {
                p role="status" { (t(l, "invitation-done")) }
                p { a href="/console/sign-in" { (t(l, "sign-in")) } }
            };
            return Ok(layout::visitor_respond(
                &visitor,
                StatusCode::OK,
                layout::visitor_page(&visitor, &title, body),
            ));
        }
        Err(ApiError::Problem {
            kind: ProblemType::InvalidBody,
            ..
        }) => t(l, "password-weak"),
        Err(ApiError::Problem { kind, .. }) if kind.status().is_client_error() => {
            t(l, "reset-refused")
        }
        Err(other) => return Err(other.into()),
    };
    let body = invitation_body(&visitor, Some(&error));
    Ok(layout::visitor_respond(
        &visitor,
        StatusCode::UNPROCESSABLE_ENTITY,
        layout::visitor_page(&visitor, &title, body),
    ))
}
