//! Transfer rules as plain functions: which organisations may take a case over, which field
//! groups a transfer hands to the new owner, and the transfer's state machine. The consent a
//! transfer needs is the consent a referral to the same organisation would need
//! (`crate::rules::referral::check_consent`): the receiver's kind, every group handed over,
//! `abroad` across a border, and for a child a guardian's consent or a best-interest basis.

use tumaini_db::ids::TransferId;
use tumaini_db::models::consent::Consent;
use tumaini_db::vocabulary::{ConsentRecipient, FieldGroup, OrganisationKind, TransferState};

/// Whether an organisation of `kind` may own a case, and so receive one by transfer: the
/// organisations that assist people (shelters, NGOs, health, legal aid, child protection and
/// other service providers). Law enforcement, the competent authority and the coordination
/// office do not take over case work: assistance never depends on cooperation with law
/// enforcement, and identification and oversight are not ownership.
pub const fn can_own_cases(kind: OrganisationKind) -> bool {
    use OrganisationKind as K;
    match kind {
        K::Shelter | K::Ngo | K::Health | K::LegalAid | K::ChildProtection | K::Other => true,
        K::Police
        | K::Immigration
        | K::LabourInspectorate
        | K::CompetentAuthority
        | K::CoordinationOffice => false,
    }
}

/// A transfer's reference for e-mail and the telephone, `T-XXXX-XXXX`: the last eight hex
/// digits of its id (the random part of a UUIDv7), so that it needs no column of its own and
/// tells nothing about the case.
pub fn reference(id: &TransferId) -> String {
    let hex: Vec<char> = id
        .as_str()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let tail = &hex[hex.len().saturating_sub(8)..];
    let (left, right) = tail.split_at(tail.len().min(4));
    format!(
        "T-{}-{}",
        left.iter().collect::<String>(),
        right.iter().collect::<String>()
    )
}

/// Why the groups asked for are refused regardless of consent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupsRefusal {
    /// The summary always goes with the case.
    #[error("`summary` is not a personal group; the new owner always reads the summary")]
    SummaryNamed,
}

/// The personal groups the new owner is to receive: those asked for, sorted and deduplicated,
/// or by default every group the consent in force lets be shared with the receiver's kind (none
/// without a consent covering that kind: the consent check then names the gap).
pub fn groups_to_hand_over(
    asked: Option<Vec<FieldGroup>>,
    consent: Option<&Consent>,
    to_kind: OrganisationKind,
) -> Result<Vec<FieldGroup>, GroupsRefusal> {
    let mut groups = match asked {
        Some(groups) => groups,
        None => consent
            .filter(|c| c.recipients.contains(&ConsentRecipient::for_kind(to_kind)))
            .map(|c| c.groups.clone())
            .unwrap_or_default(),
    };
    if groups.contains(&FieldGroup::Summary) {
        return Err(GroupsRefusal::SummaryNamed);
    }
    groups.sort();
    groups.dedup();
    Ok(groups)
}

/// A step of a transfer's life, each its own endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The receiver takes the case over.
    Accept,
    /// The receiver declines.
    Decline,
    /// The sender takes the request back.
    Withdraw,
}

impl Step {
    /// The step's name in the API and the audit trail.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Decline => "decline",
            Self::Withdraw => "withdraw",
        }
    }
}

/// A step that does not follow from the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a transfer that is `{from}` cannot {}", .step.code())]
pub struct OutOfOrder {
    /// The state.
    pub from: TransferState,
    /// The step tried.
    pub step: Step,
}

/// The state a step leads to from `from`: every step answers a request, and a request is
/// answered once.
pub fn next(from: TransferState, step: Step) -> Result<TransferState, OutOfOrder> {
    use TransferState as S;
    match (from, step) {
        (S::Requested, Step::Accept) => Ok(S::Accepted),
        (S::Requested, Step::Decline) => Ok(S::Declined),
        (S::Requested, Step::Withdraw) => Ok(S::Withdrawn),
        _ => Err(OutOfOrder { from, step }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use tumaini_db::ids::{ConsentId, UserId};
    use tumaini_db::vocabulary::{ConsentGiver, ConsentMethod, ConsentPurpose};

    fn consent(groups: &[FieldGroup], recipients: &[ConsentRecipient]) -> Consent {
        let at = NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        Consent {
            id: ConsentId::generate(),
            version: 1,
            withdrawal: false,
            given_by: ConsentGiver::Person,
            method: ConsentMethod::Written,
            purposes: vec![ConsentPurpose::Referral],
            groups: groups.to_vec(),
            recipients: recipients.to_vec(),
            given_at: at,
            valid_until: None,
            recorded_by: UserId::generate(),
            recorded_at: at,
            details: None,
        }
    }

    #[test]
    fn only_organisations_that_assist_take_a_case_over() {
        assert!(can_own_cases(OrganisationKind::Shelter));
        assert!(can_own_cases(OrganisationKind::ChildProtection));
        for kind in [
            OrganisationKind::Police,
            OrganisationKind::Immigration,
            OrganisationKind::LabourInspectorate,
            OrganisationKind::CompetentAuthority,
            OrganisationKind::CoordinationOffice,
        ] {
            assert!(!can_own_cases(kind), "{kind:?}");
        }
    }

    #[test]
    fn the_default_groups_are_what_the_consent_covers_for_the_receiver() {
        use ConsentRecipient as R;
        use FieldGroup as G;
        let given = consent(&[G::Identity, G::Health], &[R::Shelter, R::Abroad]);
        assert_eq!(
            groups_to_hand_over(None, Some(&given), OrganisationKind::Shelter),
            Ok(vec![G::Identity, G::Health])
        );
        assert_eq!(
            groups_to_hand_over(None, Some(&given), OrganisationKind::Ngo),
            Ok(vec![])
        );
        assert_eq!(
            groups_to_hand_over(None, None, OrganisationKind::Shelter),
            Ok(vec![])
        );
        assert_eq!(
            groups_to_hand_over(
                Some(vec![G::Health, G::Identity, G::Health]),
                Some(&given),
                OrganisationKind::Shelter
            ),
            Ok(vec![G::Identity, G::Health])
        );
        assert_eq!(
            groups_to_hand_over(Some(vec![G::Summary]), None, OrganisationKind::Shelter),
            Err(GroupsRefusal::SummaryNamed)
        );
    }

    #[test]
    fn a_reference_is_the_tail_of_the_id() {
        let id: TransferId = "019aee52-7c1d-7b2a-9d3e-4f5a6b7c8d9e".parse().unwrap();
        assert_eq!(reference(&id), "T-6B7C-8D9E");
    }

    #[test]
    fn a_request_is_answered_once() {
        use TransferState as S;
        assert_eq!(next(S::Requested, Step::Accept), Ok(S::Accepted));
        assert_eq!(next(S::Requested, Step::Decline), Ok(S::Declined));
        assert_eq!(next(S::Requested, Step::Withdraw), Ok(S::Withdrawn));
        for done in [S::Accepted, S::Declined, S::Withdrawn] {
            for step in [Step::Accept, Step::Decline, Step::Withdraw] {
                assert!(next(done, step).is_err(), "{done} {step:?}");
            }
        }
        assert!(
            next(S::Accepted, Step::Withdraw)
                .unwrap_err()
                .to_string()
                .contains("`accepted`")
        );
    }
}
