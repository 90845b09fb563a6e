//! Why a referral was not sent, in plain words in the reader's language: the referral service
//! answers a problem whose detail names the rule (the consent gap of
//! `crate::rules::referral::ConsentGap`, a reason of the wrong length, more groups than the
//! services need); this maps it to what the member of staff should do next. A consent gap is
//! recognised by rebuilding the service's own wording (so a change there shows in the unit
//! tests below, not as a wrong explanation).

use actix_web::http::StatusCode;
use tumaini_db::vocabulary::{ConsentRecipient, FieldGroup};

use super::super::i18n::{Arg, Locale, t, ta};
use super::labels;
use crate::http::{ApiError, ProblemType};
use crate::rules::referral::ConsentGap;

/// Which field of the form a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// The whole referral.
    Form,
    /// The groups ticked.
    Groups,
    /// The reason written.
    Reason,
}

/// A refusal explained.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    /// What happened and what to do, in plain words.
    pub text: String,
    /// Where it shows.
    pub place: Place,
    /// Whether recording consent is the way on (the page links to the consent form).
    pub consent: bool,
    /// The page's status.
    pub status: StatusCode,
}

/// The consent gap a problem's detail names, if it names one.
pub(super) fn consent_gap(detail: &str) -> Option<ConsentGap> {
    let mut candidates = vec![
        ConsentGap::NoConsent,
        ConsentGap::ChildNeedsGuardian,
        ConsentGap::PurposeNotCovered,
    ];
    candidates.extend(
        ConsentRecipient::ALL
            .iter()
            .map(|r| ConsentGap::RecipientNotCovered(*r)),
    );
    // The country abroad sits in the first parentheses.
    if let Some((_, rest)) = detail.split_once('(')
        && let Some((country, _)) = rest.split_once(')')
    {
        candidates.push(ConsentGap::AbroadNotCovered(country.to_owned()));
    }
    // The groups are the codes between backquotes.
    let groups: Vec<FieldGroup> = detail
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| code.parse().ok())
        .collect();
    if !groups.is_empty() {
        candidates.push(ConsentGap::GroupsNotCovered(groups));
    }
    candidates.into_iter().find(|gap| gap.to_string() == detail)
}

/// A consent gap in plain words.
pub(super) fn explain_gap(locale: Locale, gap: Option<&ConsentGap>) -> String {
    match gap {
        Some(ConsentGap::NoConsent) => t(locale, "refer-gap-none"),
        Some(ConsentGap::ChildNeedsGuardian) => t(locale, "refer-gap-child"),
        Some(ConsentGap::PurposeNotCovered) => t(locale, "refer-gap-purpose"),
        Some(ConsentGap::RecipientNotCovered(recipient)) => ta(
            locale,
            "refer-gap-recipient",
            &[("recipient", Arg::from(recipient.code()))],
        ),
        Some(ConsentGap::AbroadNotCovered(country)) => ta(
            locale,
            "refer-gap-abroad",
            &[("country", Arg::from(country.as_str()))],
        ),
        Some(ConsentGap::GroupsNotCovered(groups)) => ta(
            locale,
            "refer-gap-groups",
            &[("groups", Arg::from(labels(locale, groups)))],
        ),
        None => t(locale, "refer-gap-other"),
    }
}

/// The refusal of a referral the service answered with `error`, or the error itself when it is
/// not a refusal of the referral (a case the caller may not see stays a 404, say).
pub(super) fn explain(locale: Locale, error: ApiError) -> Result<Refusal, ApiError> {
    let ApiError::Problem { kind, detail } = &error else {
        return Err(error);
    };
    let detail = detail.as_deref().unwrap_or_default();
    let refusal = |key: &str, place: Place| Refusal {
        text: t(locale, key),
        place,
        consent: false,
        status: kind.status(),
    };
    Ok(match kind {
        ProblemType::ConsentRequired => Refusal {
            text: explain_gap(locale, consent_gap(detail).as_ref()),
            place: Place::Form,
            consent: true,
            status: kind.status(),
        },
        ProblemType::InvalidBody if detail.starts_with("`reason`") => {
            refusal("refer-reason-length", Place::Reason)
        }
        ProblemType::InvalidBody
            if detail.contains("do not need the field groups") || detail.contains("`summary`") =>
        {
            refusal("refer-groups-too-many", Place::Groups)
        }
        ProblemType::InvalidBody if detail.contains("organisation") => {
            refusal("refer-organisation-unavailable", Place::Form)
        }
        ProblemType::InvalidBody => refusal("refer-invalid", Place::Form),
        ProblemType::Conflict if detail.contains("already has an open referral") => {
            refusal("refer-already-open", Place::Form)
        }
        ProblemType::TransitionRefused => refusal("refer-case-closed", Place::Form),
        _ => return Err(error),
    })
}

/// The English and Swahili messages the refusals use exist (checked by a unit test).
#[cfg(test)]
pub(super) const MESSAGES: &[&str] = &[
    "refer-gap-none",
    "refer-gap-child",
    "refer-gap-purpose",
    "refer-gap-recipient",
    "refer-gap-abroad",
    "refer-gap-groups",
    "refer-gap-other",
    "refer-reason-length",
    "refer-groups-too-many",
    "refer-organisation-unavailable",
    "refer-invalid",
    "refer-already-open",
    "refer-case-closed",
];

#[cfg(test)]
mod tests {
    use tumaini_db::ids::OrgId;
    use tumaini_db::vocabulary::{ReferralUrgency, ServiceType};

    use super::*;
    use crate::console::i18n;
    use crate::referrals::{ReferralInput, checked};

    fn every_gap() -> Vec<ConsentGap> {
        let mut gaps = vec![
            ConsentGap::NoConsent,
            ConsentGap::ChildNeedsGuardian,
            ConsentGap::PurposeNotCovered,
            ConsentGap::AbroadNotCovered("KE".to_owned()),
            ConsentGap::GroupsNotCovered(vec![FieldGroup::Health]),
            ConsentGap::GroupsNotCovered(vec![FieldGroup::Identity, FieldGroup::Legal]),
        ];
        gaps.extend(
            ConsentRecipient::ALL
                .iter()
                .map(|r| ConsentGap::RecipientNotCovered(*r)),
        );
        gaps
    }

    #[test]
    fn every_consent_gap_the_service_names_is_recognised() {
        for gap in every_gap() {
            assert_eq!(consent_gap(&gap.to_string()), Some(gap.clone()), "{gap}");
        }
        assert_eq!(consent_gap("something else"), None);
    }

    #[test]
    fn every_consent_gap_reads_in_plain_words_in_both_languages() {
        for locale in [Locale::En, Locale::Sw] {
            for gap in every_gap() {
                let text = explain_gap(locale, Some(&gap));
                assert!(!text.contains('`') && !text.starts_with("refer-"), "{text}");
            }
        }
        let shelter = ConsentGap::RecipientNotCovered(ConsentRecipient::Shelter);
        assert_eq!(
            explain_gap(Locale::En, Some(&shelter)),
            "The person has not agreed to share their information with a shelter. Record their consent first."
        );
        let refusal = explain(
            Locale::Sw,
            ApiError::problem(ProblemType::ConsentRequired, shelter.to_string()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(refusal.consent);
        assert_eq!(refusal.status, StatusCode::CONFLICT);
        assert!(refusal.text.contains("makazi"), "{}", refusal.text);
        for id in MESSAGES {
            assert!(
                i18n::has(Locale::En, id) && i18n::has(Locale::Sw, id),
                "{id}"
            );
        }
    }

    fn input(services: Vec<ServiceType>, groups: Vec<FieldGroup>, reason: &str) -> ReferralInput {
        ReferralInput {
            to_organisation_id: OrgId::generate(),
            services,
            groups,
            urgency: ReferralUrgency::Normal,
            reason: reason.to_owned(),
            consent_form: None,
        }
    }

    #[test]
    fn the_services_own_refusals_land_on_their_fields() {
        let refused = |input| match checked(input) {
            Ok(_) => panic!("accepted"),
            Err(e) => explain(Locale::En, e).unwrap_or_else(|e| panic!("{e}")),
        };
        let empty = refused(input(vec![ServiceType::Shelter], vec![], "  "));
        assert_eq!(empty.place, Place::Reason);
        let long = refused(input(vec![ServiceType::Shelter], vec![], &"x".repeat(2001)));
        assert_eq!(long.place, Place::Reason);
        let extra = refused(input(
            vec![ServiceType::Interpretation],
            vec![FieldGroup::Identity, FieldGroup::Health],
            "needs an interpreter",
        ));
        assert_eq!(extra.place, Place::Groups);
        assert_eq!(extra.status, StatusCode::UNPROCESSABLE_ENTITY);
        // A case the caller may not see stays a 404.
        assert!(explain(Locale::En, ApiError::bare(ProblemType::NotFound)).is_err());
    }
}
