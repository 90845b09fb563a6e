//! Referring a case: the consent in force and the case's referrals so far, a search of the
//! service directory (the search `GET /api/v1/directory/services` makes), and for each result a
//! "Refer here" form that creates the referral (`crate::referrals::create`). A refusal is shown
//! in plain words next to the form it answers, with a link to record consent when consent is
//! what is missing; nothing is created then.

use actix_web::http::StatusCode;
use actix_web::web;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use tumaini_db::country::CountryCode;
use tumaini_db::ids::{CaseId, OrgId, ReferralId};
use tumaini_db::models::DirectorySearch;
use tumaini_db::vocabulary::{
    ConsentPurpose, ConsentRecipient, FieldGroup, ReferralState, ReferralUrgency, ServesSex,
    ServiceType,
};

use super::super::i18n::{self, Arg, Locale, t, ta};
use super::super::layout::{self, Field, Section, csrf_field, form_alert, vocabulary_options};
use super::super::session::Staff;
use super::super::{ConsoleError, PageResult};
use super::refusal::{self, Place, Refusal};
use super::{every, first, form_pairs, labels};
use crate::auth::Principal;
use crate::http::{ApiError, ProblemType};
use crate::referrals::directory::{self, ListingView};
use crate::referrals::{self, ReferralInput};
use crate::state::AppState;

/// The most results a page shows.
const SHOWN: usize = 50;

/// The search form's fields, as the directory's API names them (each empty when not given).
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    service: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    region: String,
    #[serde(default, rename = "for")]
    for_whom: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    with_room: String,
}

impl SearchQuery {
    /// The directory search it asks for, or the message of a country that is not a code.
    fn criteria(&self, limit: i64) -> Result<DirectorySearch, &'static str> {
        let country = match self.country.trim() {
            "" => None,
            code => Some(
                code.to_ascii_uppercase()
                    .parse::<CountryCode>()
                    .map_err(|_| "refer-country-invalid")?,
            ),
        };
        Ok(DirectorySearch {
            service: self.service.parse().ok(),
            country,
            region: Some(self.region.clone()).filter(|r| !r.trim().is_empty()),
            for_child: match self.for_whom.as_str() {
                "child" => Some(true),
                "adult" => Some(false),
                _ => None,
            },
            sex: self.sex.parse::<ServesSex>().ok(),
            with_room: self.with_room == "true",
            limit,
        })
    }
}

/// The consent in force, as far as a referral needs it.
#[derive(Debug)]
struct ConsentInForce {
    referral: bool,
    groups: Vec<FieldGroup>,
    recipients: Vec<ConsentRecipient>,
}

/// A referral of the case, as its list shows it.
#[derive(Debug, Deserialize)]
struct Sent {
    id: ReferralId,
    reference: String,
    to: Party,
    services: Vec<ServiceType>,
    state: ReferralState,
}

/// An organisation taking part in a referral.
#[derive(Debug, Deserialize)]
struct Party {
    name: String,
}

/// What the page shows about the case: its reference, its consent and its referrals (each read
/// through the services, audited; a case the caller may not see is a 404 here), and whom a
/// first search looks for (a child; a woman or a man).
#[derive(Debug)]
struct Situation {
    reference: String,
    child: bool,
    sex: Option<ServesSex>,
    consent: Option<ConsentInForce>,
    referrals: Vec<Sent>,
}

fn vocab_list<V: for<'de> Deserialize<'de>>(value: &Value) -> Vec<V> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

async fn situation(state: &AppState, staff: &Staff, case: &CaseId) -> Result<Situation, ApiError> {
    let summary = crate::cases::read_case(state, &staff.caller, case.clone(), Vec::new(), None)
        .await?
        .body;
    let history =
        crate::cases::nrm::consent_history(state, staff.caller.clone(), case.clone()).await?;
    let in_force = history.body["in_force_version"].as_i64();
    let consent = history.body["items"].as_array().and_then(|items| {
        items
            .iter()
            .find(|c| in_force.is_some() && c["version"].as_i64() == in_force)
            .map(|c| ConsentInForce {
                referral: vocab_list::<ConsentPurpose>(&c["purposes"])
                    .contains(&ConsentPurpose::Referral),
                groups: vocab_list(&c["groups"]),
                recipients: vocab_list(&c["recipients"]),
            })
    });
    let of_case = referrals::of_case(state, staff.caller.clone(), case.clone()).await?;
    let referrals = serde_json::from_value(of_case.body["items"].clone())
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Situation {
        reference: summary["reference"].as_str().unwrap_or_default().to_owned(),
        child: summary["child"].as_bool().unwrap_or(false),
        sex: summary["sex"].as_str().and_then(|code| code.parse().ok()),
        consent,
        referrals,
    })
}

/// A "Refer here" form as it was sent.
#[derive(Debug, Clone)]
struct Attempt {
    to: OrgId,
    services: Vec<ServiceType>,
    groups: Vec<FieldGroup>,
    urgency: ReferralUrgency,
    reason: String,
}

fn unreadable() -> ConsoleError {
    ApiError::problem(
        ProblemType::InvalidBody,
        "the referral form could not be read",
    )
    .into()
}

/// Every value of field `name`, each a code of a vocabulary.
fn codes<V: std::str::FromStr>(
    pairs: &[(String, String)],
    name: &str,
) -> Result<Vec<V>, ConsoleError> {
    every(pairs, name)
        .into_iter()
        .map(|code| code.parse().map_err(|_| unreadable()))
        .collect()
}

impl Attempt {
    fn read(pairs: &[(String, String)]) -> Result<Self, ConsoleError> {
        Ok(Self {
            to: first(pairs, "to_organisation_id")
                .parse()
                .map_err(|_| unreadable())?,
            services: codes(pairs, "services")?,
            groups: codes(pairs, "groups")?,
            urgency: first(pairs, "urgency").parse().map_err(|_| unreadable())?,
            reason: first(pairs, "reason").to_owned(),
        })
    }
}

/// The case's page.
fn case_link(case: &CaseId) -> String {
    format!("/console/cases/{case}")
}

fn consent_link(case: &CaseId) -> String {
    format!("/console/cases/{case}/consent")
}

/// The refer page: search with `query`'s criteria and show the results, with `refused` (the
/// form just sent and why it was refused) first.
async fn render(
    state: &AppState,
    staff: &Staff,
    case: &CaseId,
    query: &SearchQuery,
    first_visit: bool,
    refused: Option<(&Attempt, &Refusal)>,
) -> PageResult {
    let l = staff.locale;
    let situation = situation(state, staff, case).await?;
    // A first visit looks for services for this person: a child or an adult, of their sex.
    let query = &if first_visit {
        SearchQuery {
            for_whom: (if situation.child { "child" } else { "adult" }).to_owned(),
            sex: situation
                .sex
                .map(|s| s.code().to_owned())
                .unwrap_or_default(),
            ..SearchQuery::default()
        }
    } else {
        query.clone()
    };
    let principal = || Principal::Person(staff.caller.clone());
    // Looking again for the organisation of a refused form: all of them, that one first.
    let limit = if refused.is_some() {
        directory::MAX_RESULTS
    } else {
        i64::try_from(SHOWN).unwrap_or(50)
    };
    let (mut results, country_error) = match query.criteria(limit) {
        Ok(criteria) => (directory::search(state, principal(), criteria).await?, None),
        Err(message) => (Vec::new(), Some(t(l, message))),
    };
    let mine = refused.and_then(|(attempt, _)| {
        results
            .iter()
            .position(|r| r.organisation_id == attempt.to && attempt.services.contains(&r.service))
            .map(|at| results.remove(at))
    });
    results.truncate(SHOWN);
    let title = ta(
        l,
        "refer-title",
        &[("reference", Arg::from(situation.reference.as_str()))],
    );
    let status = refused.map_or(StatusCode::OK, |(_, r)| r.status);
    let body = html! {
        p { a href=(case_link(case)) { (t(l, "refer-back-to-case")) } }
        @if let Some((attempt, refusal)) = refused {
            @if mine.is_none() {
                (form_alert(Some(&refusal.text)))
                @if refusal.consent {
                    p { a href=(consent_link(case)) { (t(l, "refer-record-consent")) } }
                }
            }
            @if let Some(listing) = &mine {
                h2 { (t(l, "refer-your-referral")) }
                (result(staff, case, &situation, listing, 0, Some((attempt, refusal))))
            }
        }
        (consent_section(l, case, situation.consent.as_ref()))
        (referrals_section(l, &situation.referrals))
        h2 #search-heading { (t(l, "refer-search")) }
        (search_form(l, case, query, country_error.as_deref()))
        h2 #results-heading { (t(l, "refer-results")) }
        @if results.is_empty() {
            p { (t(l, "refer-no-results")) }
        } @else {
            p { (ta(l, "refer-result-count", &[("count", Arg::from(results.len()))])) }
            @if results.len() == SHOWN {
                p.hint { (ta(l, "refer-results-capped", &[("count", Arg::from(SHOWN))])) }
            }
            @for (i, listing) in results.iter().enumerate() {
                (result(staff, case, &situation, listing, i + 1, None))
            }
        }
    };
    Ok(layout::respond(
        Some(staff),
        status,
        layout::page(staff, Section::Cases, &title, body),
    ))
}

fn consent_section(l: Locale, case: &CaseId, consent: Option<&ConsentInForce>) -> Markup {
    html! {
        h2 { (t(l, "refer-consent")) }
        @match consent {
            Some(consent) => {
                dl.facts {
                    dt { (t(l, "refer-consent-referral")) }
                    dd { (t(l, if consent.referral { "yes" } else { "no" })) }
                    dt { (t(l, "refer-consent-recipients")) }
                    dd {
                        @if consent.recipients.is_empty() { (t(l, "refer-consent-nobody")) }
                        @else { (labels(l, &consent.recipients)) }
                    }
                    dt { (t(l, "refer-consent-groups")) }
                    dd {
                        @if consent.groups.is_empty() { (t(l, "refer-summary-only")) }
                        @else { (labels(l, &consent.groups)) }
                    }
                }
                p { a href=(consent_link(case)) { (t(l, "refer-change-consent")) } }
            }
            None => {
                p.caution { (t(l, "refer-no-consent")) }
                p { a href=(consent_link(case)) { (t(l, "refer-record-consent")) } }
            }
        }
    }
}

fn referrals_section(l: Locale, sent: &[Sent]) -> Markup {
    html! {
        @if !sent.is_empty() {
            h2 #so-far { (t(l, "refer-so-far")) }
            table aria-labelledby="so-far" {
                thead { tr {
                    th scope="col" { (t(l, "referral-reference")) }
                    th scope="col" { (t(l, "referral-to")) }
                    th scope="col" { (t(l, "referral-services")) }
                    th scope="col" { (t(l, "referral-state")) }
                } }
                tbody {
                    @for r in sent {
                        tr {
                            td { a href=(format!("/console/referrals/{}", r.id)) { (r.reference) } }
                            td { (r.to.name) }
                            td { (labels(l, &r.services)) }
                            td { (i18n::vocab(l, r.state)) }
                        }
                    }
                }
            }
        }
    }
}

fn search_form(
    l: Locale,
    case: &CaseId,
    query: &SearchQuery,
    country_error: Option<&str>,
) -> Markup {
    let whom = vec![
        ("adult".to_owned(), t(l, "refer-for-adult")),
        ("child".to_owned(), t(l, "refer-for-child")),
    ];
    html! {
        form method="get" action=(format!("/console/cases/{case}/refer")) aria-labelledby="search-heading" {
            (Field::new("service", &t(l, "refer-field-service")).select(&vocabulary_options::<ServiceType>(l), &query.service))
            (Field::new("country", &t(l, "refer-field-country")).hint(&t(l, "refer-field-country-hint")).error(country_error).input_with("text", &query.country, Some("off")))
            (Field::new("region", &t(l, "refer-field-region")).hint(&t(l, "refer-field-region-hint")).input_with("text", &query.region, Some("off")))
            (Field::new("for", &t(l, "refer-field-for")).select(&whom, &query.for_whom))
            (Field::new("sex", &t(l, "refer-field-sex")).select(&vocabulary_options::<ServesSex>(l), &query.sex))
            div.field {
                div.choice {
                    input type="checkbox" id="with_room" name="with_room" value="true" checked[query.with_room == "true"];
                    label for="with_room" { (t(l, "refer-field-with-room")) }
                }
            }
            button type="submit" { (t(l, "refer-search-button")) }
        }
    }
}

/// Who a listing serves, in words.
fn serves(l: Locale, listing: &ListingView) -> String {
    let ages = match (listing.serves_adults, listing.serves_children) {
        (true, true) => t(l, "refer-serves-all-ages"),
        (true, false) => t(l, "refer-serves-adults"),
        _ => t(l, "refer-serves-children"),
    };
    format!("{ages}; {}", i18n::vocab(l, listing.serves_sex))
}

/// One result: the listing, and its "Refer here" form (`n` numbers its fields on the page),
/// with the attempt refused through it, if any.
fn result(
    staff: &Staff,
    case: &CaseId,
    situation: &Situation,
    listing: &ListingView,
    n: usize,
    refused: Option<(&Attempt, &Refusal)>,
) -> Markup {
    let l = staff.locale;
    let heading = format!("result-{n}");
    let area = if listing.region.is_empty() {
        listing.country.as_str().to_owned()
    } else {
        format!("{}, {}", listing.region, listing.country.as_str())
    };
    let place = refused.map(|(_, r)| r.place);
    let message = |at: Place| {
        refused
            .filter(|(_, r)| r.place == at)
            .map(|(_, r)| r.text.clone())
    };
    let covered = |g: &FieldGroup| {
        situation
            .consent
            .as_ref()
            .is_some_and(|c| c.groups.contains(g))
    };
    let own = listing.organisation_id == staff.caller.organisation.id;
    let urgency = refused.map_or(ReferralUrgency::Normal, |(a, _)| a.urgency);
    let reason = refused.map_or("", |(a, _)| a.reason.as_str());
    html! {
        section.result aria-labelledby=(heading) {
            h3 id=(heading) { (listing.organisation_name) " · " (i18n::vocab(l, listing.service)) }
            dl.facts {
                dt { (t(l, "refer-kind")) } dd { (i18n::vocab(l, listing.organisation_kind)) }
                dt { (t(l, "refer-area")) } dd { (area) }
                dt { (t(l, "refer-serves")) } dd { (serves(l, listing)) }
                dt { (t(l, "refer-capacity")) } dd { (i18n::vocab(l, listing.capacity)) }
            }
            @if own {
                p { (t(l, "refer-own-organisation")) }
            } @else {
                form method="post" action=(format!("/console/cases/{case}/refer"))
                    aria-describedby=[place.map(|_| format!("refusal-{n}"))] {
                    (csrf_field(&staff.csrf))
                    input type="hidden" name="to_organisation_id" value=(listing.organisation_id.to_string());
                    input type="hidden" name="services" value=(listing.service.code());
                    @if let Some(text) = message(Place::Form) {
                        div.alert role="alert" id=(format!("refusal-{n}")) {
                            p { (text) }
                            @if refused.is_some_and(|(_, r)| r.consent) {
                                p { a href=(consent_link(case)) { (t(l, "refer-record-consent")) } }
                            }
                        }
                    }
                    @let group_error = message(Place::Groups);
                    fieldset.field aria-describedby=[group_error.as_ref().map(|_| format!("refusal-{n}"))] {
                        legend { (t(l, "refer-field-groups")) }
                        span.hint { (t(l, "refer-field-groups-hint")) }
                        @if let Some(text) = &group_error {
                            span.error id=(format!("refusal-{n}")) role="alert" { (text) }
                        }
                        @for (j, group) in listing.service.needs().iter().enumerate() {
                            div.choice {
                                input type="checkbox" id=(format!("groups-{n}-{j}")) name="groups" value=(group.code())
                                    checked[refused.is_some_and(|(a, _)| a.groups.contains(group))];
                                label for=(format!("groups-{n}-{j}")) {
                                    (i18n::vocab(l, *group))
                                    @if !covered(group) { " " span.hint { (t(l, "refer-not-covered")) } }
                                }
                            }
                        }
                    }
                    div.field {
                        label for=(format!("urgency-{n}")) { (t(l, "refer-field-urgency")) }
                        select id=(format!("urgency-{n}")) name="urgency" required {
                            @for value in ReferralUrgency::ALL {
                                option value=(value.code()) selected[*value == urgency] { (i18n::vocab(l, *value)) }
                            }
                        }
                    }
                    @let reason_error = message(Place::Reason);
                    div.field {
                        label for=(format!("reason-{n}")) { (t(l, "refer-field-reason")) }
                        span.hint id=(format!("reason-{n}-hint")) { (t(l, "refer-field-reason-hint")) }
                        @if let Some(text) = &reason_error {
                            span.error id=(format!("refusal-{n}")) role="alert" { (text) }
                        }
                        textarea id=(format!("reason-{n}")) name="reason" rows="4" required
                            aria-invalid=[reason_error.as_ref().map(|_| "true")]
                            aria-describedby=(match reason_error { Some(_) => format!("reason-{n}-hint refusal-{n}"), None => format!("reason-{n}-hint") }) { (reason) }
                    }
                    button type="submit" {
                        (t(l, "refer-submit"))
                        span.visually-hidden { ": " (listing.organisation_name) }
                    }
                }
            }
        }
    }
}

/// `GET /console/cases/{id}/refer`: the consent, the referrals so far, and the directory.
pub(super) async fn page(
    state: web::Data<AppState>,
    staff: Staff,
    req: actix_web::HttpRequest,
    id: web::Path<CaseId>,
    query: web::Query<SearchQuery>,
) -> PageResult {
    let first_visit = req.query_string().is_empty();
    let (case, query) = (id.into_inner(), query.into_inner());
    render(&state, &staff, &case, &query, first_visit, None).await
}

/// `POST /console/cases/{id}/refer`: sends the referral, then the case's page; a refusal shows
/// the page again with its explanation next to the form (nothing is created).
pub(super) async fn submit(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<CaseId>,
    body: web::Bytes,
) -> PageResult {
    let pairs = form_pairs(&body)?;
    staff.check(first(&pairs, "csrf"))?;
    let case = id.into_inner();
    let attempt = Attempt::read(&pairs)?;
    let input = ReferralInput {
        to_organisation_id: attempt.to.clone(),
        services: attempt.services.clone(),
        groups: attempt.groups.clone(),
        urgency: attempt.urgency,
        reason: attempt.reason.clone(),
        consent_form: None,
    };
    // The form's key: the same form sent twice (a double click, a retry on a poor
    // connection) refers once.
    let once = crate::cases::Idempotency::for_console_form(
        &state.auth.keys,
        &format!("/console/cases/{case}/refer"),
        first(&pairs, "once"),
        &body,
    );
    match referrals::create(&state, staff.caller.clone(), case.clone(), input, once).await {
        Ok(_) => Ok(layout::see_other(&staff, &case_link(&case))),
        Err(error) => {
            let refusal = refusal::explain(staff.locale, error)?;
            let query = SearchQuery {
                service: attempt
                    .services
                    .first()
                    .map(|s| s.code().to_owned())
                    .unwrap_or_default(),
                ..SearchQuery::default()
            };
            render(
                &state,
                &staff,
                &case,
                &query,
                false,
                Some((&attempt, &refusal)),
            )
            .await
        }
    }
}
