//! Referral rules as plain functions: what consent a referral needs, which
//! field groups it may share, and its state machine. Each refusal names what is missing, so the
//! referring worker knows what to ask the person (or the guardian) for.

use tumaini_db::models::consent::Consent;
use tumaini_db::vocabulary::{
    ConsentGiver, ConsentPurpose, ConsentRecipient, FieldGroup, OrganisationKind, ReferralState,
    ServiceType,
};

/// Why a referral may not be sent with the consent in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentGap {
    /// No consent is in force (none recorded, withdrawn or expired).
    #[error(
        "no consent is in force: record the person's consent to `referral` (for a child, a guardian's consent or a best-interest basis) first"
    )]
    NoConsent,
    /// A child's referral rests on a guardian or a best-interest basis.
    #[error(
        "the person is treated as a child: a referral needs a guardian's consent or a recorded best-interest basis, not the child's own"
    )]
    ChildNeedsGuardian,
    /// The consent does not cover referral at all.
    #[error("the consent in force does not cover the purpose `referral`")]
    PurposeNotCovered,
    /// The consent does not name the receiving organisation's kind.
    #[error(
        "the consent in force does not cover sharing with `{0}` organisations (the receiving organisation's kind)"
    )]
    RecipientNotCovered(ConsentRecipient),
    /// The receiving organisation is in another country.
    #[error(
        "the receiving organisation is in another country ({0}): the consent in force does not cover transfer abroad (`abroad`)"
    )]
    AbroadNotCovered(String),
    /// Groups the consent does not cover.
    #[error("the consent in force does not cover sharing the field groups {}", codes(.0))]
    GroupsNotCovered(Vec<FieldGroup>),
}

/// Why the groups asked for are refused regardless of consent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupsRefusal {
    /// A referral shares personal groups only; the summary goes with every referral.
    #[error("`summary` is not a personal group; every referral carries the summary")]
    SummaryNamed,
    /// More than the services need.
    #[error("the services asked for do not need the field groups {}; a referral shares the minimum", codes(.0))]
    MoreThanNeeded(Vec<FieldGroup>),
}

fn codes(groups: &[FieldGroup]) -> String {
    groups
        .iter()
        .map(|g| format!("`{}`", g.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the groups against what the services need.
pub fn check_groups(services: &[ServiceType], groups: &[FieldGroup]) -> Result<(), GroupsRefusal> {
    if groups.contains(&FieldGroup::Summary) {
        return Err(GroupsRefusal::SummaryNamed);
    }
    let extra: Vec<FieldGroup> = groups
        .iter()
        .copied()
        .filter(|g| !services.iter().any(|s| s.needs().contains(g)))
        .collect();
    if extra.is_empty() {
        Ok(())
    } else {
        Err(GroupsRefusal::MoreThanNeeded(extra))
    }
}

/// What a referral is about to do, for the consent check.
#[derive(Debug, Clone, Copy)]
pub struct Sharing<'a> {
    /// The person is (or may be) a child.
    pub child: bool,
    /// The receiving organisation's kind.
    pub to_kind: OrganisationKind,
    /// The receiving organisation's country, when it differs from the referring one's.
    pub abroad: Option<&'a str>,
    /// The groups shared.
    pub groups: &'a [FieldGroup],
}

/// Checks the consent in force covers the referral; the first gap found is named.
pub fn check_consent<'c>(
    consent: Option<&'c Consent>,
    sharing: &Sharing<'_>,
) -> Result<&'c Consent, ConsentGap> {
    let consent = consent.ok_or(ConsentGap::NoConsent)?;
    if sharing.child && consent.given_by == ConsentGiver::Person {
        return Err(ConsentGap::ChildNeedsGuardian);
    }
    if !consent.purposes.contains(&ConsentPurpose::Referral) {
        return Err(ConsentGap::PurposeNotCovered);
    }
    let recipient = ConsentRecipient::for_kind(sharing.to_kind);
    if !consent.recipients.contains(&recipient) {
        return Err(ConsentGap::RecipientNotCovered(recipient));
    }
    if let Some(country) = sharing.abroad
        && !consent.recipients.contains(&ConsentRecipient::Abroad)
    {
        return Err(ConsentGap::AbroadNotCovered(country.to_owned()));
    }
    let missing: Vec<FieldGroup> = sharing
        .groups
        .iter()
        .copied()
        .filter(|g| !consent.groups.contains(g))
        .collect();
    if !missing.is_empty() {
        return Err(ConsentGap::GroupsNotCovered(missing));
    }
    Ok(consent)
}

/// A step of a referral's life, each its own endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The receiver accepts.
    Accept,
    /// The receiver declines.
    Decline,
    /// The receiver starts the service.
    Start,
    /// The receiver completes it.
    Complete,
    /// The sender withdraws it.
    Withdraw,
}

impl Step {
    /// The step's name in the API and the audit trail.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Decline => "decline",
            Self::Start => "start",
            Self::Complete => "complete",
            Self::Withdraw => "withdraw",
        }
    }
}

/// A step that does not follow from the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a referral that is `{from}` cannot {}", .step.code())]
pub struct OutOfOrder {
    /// The state.
    pub from: ReferralState,
    /// The step tried.
    pub step: Step,
}

/// The state a step leads to from `from`.
pub fn next(from: ReferralState, step: Step) -> Result<ReferralState, OutOfOrder> {
    use ReferralState as S;
    match (from, step) {
        (S::Sent, Step::Accept) => Ok(S::Accepted),
        (S::Sent, Step::Decline) => Ok(S::Declined),
        (S::Accepted, Step::Start) => Ok(S::InService),
        (S::InService, Step::Complete) => Ok(S::Completed),
        (S::Sent | S::Accepted | S::InService, Step::Withdraw) => Ok(S::Withdrawn),
        _ => Err(OutOfOrder { from, step }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use tumaini_db::ids::{ConsentId, UserId};
    use tumaini_db::vocabulary::ConsentMethod;

    fn consent(
        given_by: ConsentGiver,
        groups: &[FieldGroup],
        recipients: &[ConsentRecipient],
    ) -> Consent {
        let at = NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        Consent {
            id: ConsentId::generate(),
            version: 1,
            withdrawal: false,
            given_by,
            method: ConsentMethod::Written,
            purposes: vec![ConsentPurpose::Assistance, ConsentPurpose::Referral],
            groups: groups.to_vec(),
            recipients: recipients.to_vec(),
            given_at: at,
            valid_until: None,
            recorded_by: UserId::generate(),
            recorded_at: at,
            details: None,
        }
    }

    fn sharing(
        child: bool,
        abroad: Option<&'static str>,
        groups: &'static [FieldGroup],
    ) -> Sharing<'static> {
        Sharing {
            child,
            to_kind: OrganisationKind::Shelter,
            abroad,
            groups,
        }
    }

    #[test]
    fn each_gap_is_named() {
        use ConsentRecipient as R;
        use FieldGroup as G;
        let adult = consent(ConsentGiver::Person, &[G::Identity], &[R::Shelter]);
        assert!(check_consent(Some(&adult), &sharing(false, None, &[G::Identity])).is_ok());
        assert_eq!(
            check_consent(None, &sharing(false, None, &[])),
            Err(ConsentGap::NoConsent)
        );
        assert_eq!(
            check_consent(Some(&adult), &sharing(true, None, &[])),
            Err(ConsentGap::ChildNeedsGuardian)
        );
        let guardian = consent(ConsentGiver::Guardian, &[G::Identity], &[R::Shelter]);
        assert!(check_consent(Some(&guardian), &sharing(true, None, &[G::Identity])).is_ok());
        assert_eq!(
            check_consent(
                Some(&adult),
                &sharing(false, None, &[G::Identity, G::Health])
            ),
            Err(ConsentGap::GroupsNotCovered(vec![G::Health]))
        );
        assert_eq!(
            check_consent(Some(&adult), &sharing(false, Some("KE"), &[])),
            Err(ConsentGap::AbroadNotCovered("KE".into()))
        );
        let police = Sharing {
            to_kind: OrganisationKind::Police,
            ..sharing(false, None, &[])
        };
        assert_eq!(
            check_consent(Some(&adult), &police),
            Err(ConsentGap::RecipientNotCovered(R::LawEnforcement))
        );
        let mut no_referral = adult.clone();
        no_referral.purposes = vec![ConsentPurpose::Assistance];
        assert_eq!(
            check_consent(Some(&no_referral), &sharing(false, None, &[])),
            Err(ConsentGap::PurposeNotCovered)
        );
        assert!(
            ConsentGap::GroupsNotCovered(vec![G::Health])
                .to_string()
                .contains("`health`")
        );
    }

    #[test]
    fn a_referral_shares_no_more_than_its_services_need() {
        use FieldGroup as G;
        assert!(check_groups(&[ServiceType::Shelter], &[G::Identity, G::Contact]).is_ok());
        assert_eq!(
            check_groups(
                &[ServiceType::Interpretation],
                &[G::Identity, G::Exploitation]
            ),
            Err(GroupsRefusal::MoreThanNeeded(vec![G::Exploitation]))
        );
        assert!(
            check_groups(
                &[ServiceType::Interpretation, ServiceType::Legal],
                &[G::Identity, G::Exploitation]
            )
            .is_ok()
        );
        assert_eq!(
            check_groups(&[ServiceType::Shelter], &[G::Summary]),
            Err(GroupsRefusal::SummaryNamed)
        );
    }

    #[test]
    fn the_state_machine_allows_only_its_arrows() {
        use ReferralState as S;
        assert_eq!(next(S::Sent, Step::Accept), Ok(S::Accepted));
        assert_eq!(next(S::Sent, Step::Decline), Ok(S::Declined));
        assert_eq!(next(S::Accepted, Step::Start), Ok(S::InService));
        assert_eq!(next(S::InService, Step::Complete), Ok(S::Completed));
        for open in [S::Sent, S::Accepted, S::InService] {
            assert_eq!(next(open, Step::Withdraw), Ok(S::Withdrawn));
        }
        for closed in [S::Declined, S::Expired, S::Completed, S::Withdrawn] {
            for step in [
                Step::Accept,
                Step::Decline,
                Step::Start,
                Step::Complete,
                Step::Withdraw,
            ] {
                assert!(next(closed, step).is_err(), "{closed} {step:?}");
            }
        }
        assert!(next(S::Accepted, Step::Accept).is_err());
        assert!(next(S::Sent, Step::Complete).is_err());
    }
}
