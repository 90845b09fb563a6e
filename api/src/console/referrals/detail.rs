//! One referral: its services, the two organisations, where it stands and its timeline, the
//! reason when the caller may read it (`crate::referrals::act` decides and audits), and the
//! steps the policies let the caller take now: accept or decline (with a reason from its
//! vocabulary), start and complete for the receiving organisation, withdraw for the sender.
//! Accepting assigns the accepter to the case (the service does it).

use actix_web::http::StatusCode;
use actix_web::web;
use maud::{Markup, html};
use serde::Deserialize;
use tumaini_db::ids::ReferralId;
use tumaini_db::vocabulary::DeclineReason;

use super::super::i18n::{self, Locale, t};
use super::super::layout::{self, Field, Section, csrf_field, form_alert, vocabulary_options};
use super::super::session::Staff;
use super::super::{ConsoleError, PageResult};
use super::{labels, when};
use crate::http::{ApiError, ProblemType};
use crate::referrals::{self, ReferralView};
use crate::rules::referral::Step;
use crate::state::AppState;

/// What went wrong with the last step, shown on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    /// A decline without a reason from the vocabulary.
    NoReason,
    /// The step no longer follows (answered, withdrawn or expired meanwhile).
    NoLonger,
}

/// A step's path segment.
fn step_of(segment: &str) -> Option<Step> {
    [
        Step::Accept,
        Step::Decline,
        Step::Start,
        Step::Complete,
        Step::Withdraw,
    ]
    .into_iter()
    .find(|s| s.code() == segment)
}

fn page_of(id: &ReferralId) -> String {
    format!("/console/referrals/{id}")
}

/// `GET /console/referrals/{id}`.
pub(super) async fn page(
    state: web::Data<AppState>,
    staff: Staff,
    id: web::Path<ReferralId>,
) -> PageResult {
    render(&state, &staff, id.into_inner(), None).await
}

/// The form of a step: the CSRF token, and a decline's reason.
#[derive(Debug, Deserialize)]
pub(super) struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/referrals/{id}/{accept|decline|start|complete|withdraw}`, then back to the
/// referral's page.
pub(super) async fn step(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(ReferralId, String)>,
    form: web::Form<StepForm>,
) -> PageResult {
    let form = form.into_inner();
    staff.check(&form.csrf)?;
    let (id, segment) = path.into_inner();
    let step = step_of(&segment).ok_or_else(|| ApiError::bare(ProblemType::NotFound))?;
    let decline_reason = match step {
        Step::Decline => match form.reason.parse::<DeclineReason>() {
            Ok(reason) => Some(reason),
            Err(_) => return render(&state, &staff, id, Some(Trouble::NoReason)).await,
        },
        _ => None,
    };
    let taken = referrals::act(
        &state,
        staff.caller.clone(),
        id.clone(),
        Some(step),
        decline_reason,
    )
    .await;
    match taken {
        Ok(_) => Ok(layout::see_other(&staff, &page_of(&id))),
        Err(ApiError::Problem {
            kind: ProblemType::TransitionRefused | ProblemType::Conflict,
            ..
        }) => render(&state, &staff, id, Some(Trouble::NoLonger)).await,
        Err(other) => Err(ConsoleError::from(other)),
    }
}

async fn render(
    state: &AppState,
    staff: &Staff,
    id: ReferralId,
    trouble: Option<Trouble>,
) -> PageResult {
    let l = staff.locale;
    let view = referrals::act(state, staff.caller.clone(), id.clone(), None, None).await?;
    let steps = referrals::allowed_steps(state, &staff.caller, id).await?;
    let title = format!("{} {}", t(l, "referral-title"), view.reference);
    let status = match trouble {
        None => StatusCode::OK,
        Some(Trouble::NoReason) => StatusCode::UNPROCESSABLE_ENTITY,
        Some(Trouble::NoLonger) => StatusCode::CONFLICT,
    };
    let body = html! {
        @if trouble == Some(Trouble::NoLonger) {
            (form_alert(Some(&t(l, "referral-no-longer"))))
        }
        (facts(l, &view))
        (timeline(l, &view))
        (actions(staff, &view, &steps, trouble))
    };
    Ok(layout::respond(
        Some(staff),
        status,
        layout::page(staff, Section::Referrals, &title, body),
    ))
}

fn facts(l: Locale, view: &ReferralView) -> Markup {
    let party = |p: &referrals::PartyView| format!("{} ({})", p.name, i18n::vocab(l, p.kind));
    html! {
        dl.facts {
            dt { (t(l, "referral-case")) }
            dd { a href=(format!("/console/cases/{}", view.case_id)) { (view.case_reference) } }
            dt { (t(l, "referral-from")) } dd { (party(&view.from)) }
            dt { (t(l, "referral-to")) } dd { (party(&view.to)) }
            dt { (t(l, "referral-services")) } dd { (labels(l, &view.services)) }
            dt { (t(l, "referral-groups")) }
            dd {
                @if view.groups.is_empty() { (t(l, "refer-summary-only")) }
                @else { (labels(l, &view.groups)) }
            }
            dt { (t(l, "referral-person")) }
            dd {
                (t(l, if view.person.child { "referral-person-child" } else { "referral-person-adult" }))
                ", " (i18n::vocab(l, view.person.sex)) ", " (i18n::vocab(l, view.person.age_band))
            }
            dt { (t(l, "referral-urgency")) } dd { (i18n::vocab(l, view.urgency)) }
            dt { (t(l, "referral-state")) }
            dd {
                strong { (i18n::vocab(l, view.state)) }
                @if view.overdue { " " strong.badge { (t(l, "referral-overdue")) } }
            }
            @if let Some(reason) = view.decline_reason {
                dt { (t(l, "referral-decline-reason")) } dd { (i18n::vocab(l, reason)) }
            }
            dt { (t(l, "referral-sent")) } dd { (when(l, view.created_at)) }
            dt { (t(l, "referral-respond-by")) } dd { (when(l, view.respond_by)) }
            @if let Some(at) = view.answered_at {
                dt { (t(l, "referral-answered")) } dd { (when(l, at)) }
            }
            @if let Some(at) = view.started_at {
                dt { (t(l, "referral-started")) } dd { (when(l, at)) }
            }
            @if let Some(at) = view.ended_at {
                dt { (t(l, "referral-ended")) } dd { (when(l, at)) }
            }
            @if view.cross_border {
                dt { (t(l, "referral-cross-border")) } dd { (t(l, "yes")) }
            }
            @if view.consent_form_id.is_some() {
                dt { (t(l, "referral-consent-form")) } dd { (t(l, "referral-consent-form-attached")) }
            }
        }
        @if let Some(reason) = &view.reason {
            h2 { (t(l, "referral-reason")) }
            p.read-aloud { (reason) }
        }
    }
}

fn timeline(l: Locale, view: &ReferralView) -> Markup {
    let by = |org: Option<&tumaini_db::ids::OrgId>| match org {
        Some(id) if *id == view.from.id => Some(view.from.name.clone()),
        Some(id) if *id == view.to.id => Some(view.to.name.clone()),
        Some(_) => None,
        None => Some(t(l, "referral-by-deadline")),
    };
    html! {
        h2 { (t(l, "referral-timeline")) }
        ol.timeline {
            @for step in &view.timeline {
                li {
                    strong { (i18n::vocab(l, step.state)) }
                    " · " (when(l, step.at))
                    @if let Some(name) = by(step.organisation_id.as_ref()) { " · " (name) }
                }
            }
        }
    }
}

fn step_form(
    staff: &Staff,
    view: &ReferralView,
    step: Step,
    label: &str,
    class: Option<&str>,
) -> Markup {
    html! {
        form method="post" action=(format!("{}/{}", page_of(&view.id), step.code())) {
            (csrf_field(&staff.csrf))
            button type="submit" class=[class] { (label) }
        }
    }
}

fn actions(staff: &Staff, view: &ReferralView, steps: &[Step], trouble: Option<Trouble>) -> Markup {
    let l = staff.locale;
    let reason_error =
        (trouble == Some(Trouble::NoReason)).then(|| t(l, "referral-decline-choose"));
    html! {
        @if !steps.is_empty() {
            h2 { (t(l, "referral-actions")) }
            @if steps.contains(&Step::Accept) {
                p.hint { (t(l, "referral-accept-hint")) }
            }
            div.actions {
                @if steps.contains(&Step::Accept) {
                    (step_form(staff, view, Step::Accept, &t(l, "referral-accept"), None))
                }
                @if steps.contains(&Step::Start) {
                    (step_form(staff, view, Step::Start, &t(l, "referral-start"), None))
                }
                @if steps.contains(&Step::Complete) {
                    (step_form(staff, view, Step::Complete, &t(l, "referral-complete"), None))
                }
                @if steps.contains(&Step::Withdraw) {
                    (step_form(staff, view, Step::Withdraw, &t(l, "referral-withdraw"), Some("warning")))
                }
            }
            @if steps.contains(&Step::Decline) {
                h3 #decline-heading { (t(l, "referral-decline-heading")) }
                form method="post" action=(format!("{}/decline", page_of(&view.id))) aria-labelledby="decline-heading" novalidate {
                    (csrf_field(&staff.csrf))
                    (Field::new("reason", &t(l, "referral-decline-reason")).required().error(reason_error.as_deref()).select(&decline_options(l), ""))
                    button.secondary type="submit" { (t(l, "referral-decline")) }
                }
            }
        }
    }
}

/// The decline reasons, with an empty first choice so that a reason is chosen, not defaulted.
fn decline_options(l: Locale) -> Vec<(String, String)> {
    let mut options = vec![(String::new(), t(l, "referral-decline-pick"))];
    options.extend(vocabulary_options::<DeclineReason>(l));
    options
}
