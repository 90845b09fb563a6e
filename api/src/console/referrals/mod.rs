//! The console's referral pages: finding a service in the directory and referring a case to it
//! (a refusal for want of consent explained in plain words), the organisation's inbox and
//! outbox, and one referral with the steps the caller may take. Each page calls the referral
//! service (`crate::referrals`) as the JSON API does; the policies and rules decide there.
//!
//! Forms (action, method: field names; `csrf` in every POST):
//! - `/console/cases/{id}/refer`, GET (search): `service`, `country`, `region`, `for`
//!   (`adult` | `child`), `sex`, `with_room` (`true`). Without any of them, a first visit
//!   searches for the person's age group and sex.
//! - `/console/cases/{id}/refer`, POST (one "Refer here" form per result, the n-th result's
//!   fields with ids `groups-{n}-{j}`, `urgency-{n}`, `reason-{n}`): `csrf`,
//!   `to_organisation_id` (hidden), `services` (hidden), `groups` (checkboxes, repeated, one
//!   per ticked group), `urgency`, `reason`. 303 to `/console/cases/{id}`; a refusal is a 409
//!   or 422 page with the explanation (`role="alert"`) next to the form sent.
//! - `/console/referrals`, GET (filter): `box` (`both` | `inbox` | `outbox`; absent: both),
//!   `state`, `cursor` (in the "next page" link).
//! - `/console/referrals/{id}/accept`, POST: `csrf`.
//! - `/console/referrals/{id}/decline`, POST: `csrf`, `reason` (a `decline_reason` code).
//! - `/console/referrals/{id}/start`, POST: `csrf`.
//! - `/console/referrals/{id}/complete`, POST: `csrf`.
//! - `/console/referrals/{id}/withdraw`, POST: `csrf`.
//!
//! Each step answers 303 to `/console/referrals/{id}`; a step no longer possible is a 409 page
//! saying so; a decline without a reason a 422 page with the error next to the field.

mod detail;
mod mailbox;
mod refer;
mod refusal;

use actix_web::web;
use tumaini_db::vocabulary::Coded;

use super::ConsoleError;
use super::i18n::{self, Locale};
use crate::http::{ApiError, ProblemType};

/// Registers the pages of this module.
pub(super) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .route("/cases/{id}/refer", web::get().to(refer::page))
        .route("/cases/{id}/refer", web::post().to(refer::submit))
        .route("/referrals", web::get().to(mailbox::page))
        .route("/referrals/{id}", web::get().to(detail::page))
        .route("/referrals/{id}/{step}", web::post().to(detail::step))
}

/// A moment as the reader's language writes it, in East Africa Time.
fn when(locale: Locale, at: chrono::DateTime<chrono::Utc>) -> String {
    i18n::date_time(locale, at.naive_utc())
}

/// The labels of several values of a vocabulary, in the reader's language.
fn labels<V: Coded>(locale: Locale, values: &[V]) -> String {
    values
        .iter()
        .map(|v| i18n::vocab(locale, *v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fields of a posted form, in order, a name repeated for each ticked checkbox (the
/// `Form` extractor keeps only one value per name).
fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ConsoleError> {
    if body.len() > 64 * 1024 {
        return Err(ApiError::problem(ProblemType::InvalidBody, "the form is too long").into());
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).map_err(|_| {
        ApiError::problem(ProblemType::InvalidBody, "the form could not be read").into()
    })
}

/// The first value of field `name` (empty when absent).
fn first<'p>(pairs: &'p [(String, String)], name: &str) -> &'p str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Every value of field `name`.
fn every<'p>(pairs: &'p [(String, String)], name: &str) -> Vec<&'p str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}
