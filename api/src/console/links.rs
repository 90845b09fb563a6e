//! The addresses the e-mails link to (`{TUMAINI_PUBLIC_URL}/cases/{id}`, `/referrals/{id}`,
//! `/reset-password`, `/accept-invitation`), answered by the console's pages: a redirect keeps
//! the link's `#token=` fragment (the browser carries it over), and an invited person sets their
//! password on a console page like the reset's.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use super::PageResult;
use super::account::{TokenForm, TokenPage, token_page, token_submit};
use super::i18n::t;
use super::layout;
use super::session::Visitor;
use crate::accounts::invitations;
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
    let body = html! { p { a href=(to) { (t(locale, "link-open")) } } };
    let markup = layout::plain_page(locale, &title, body, None);
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

const INVITATION: TokenPage = TokenPage {
    action: "/console/invitation",
    title: "invitation-title",
    text: "invitation-text",
    submit: "invitation-submit",
    done: "invitation-done",
};

async fn invitation_page(visitor: Visitor) -> HttpResponse {
    token_page(&visitor, &INVITATION)
}

async fn invitation_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    visitor: Visitor,
    form: web::Form<TokenForm>,
) -> PageResult {
    token_submit(
        &state,
        &req,
        &visitor,
        form.into_inner(),
        &INVITATION,
        |state, context, input| async move { invitations::accept(&state, context, input).await },
    )
    .await
}
