//! Consent rules. The current consent is the newest version if it grants
//! and has not expired; a withdrawal (a version that grants nothing) ends all sharing at once.
//! Children never consent alone: a guardian or a recorded best-interest basis does.

use chrono::NaiveDateTime;
use tumaini_db::models::consent::Consent;
use tumaini_db::vocabulary::{
    ConsentGiver, ConsentPurpose, ConsentRecipient, FieldGroup, OrganisationKind,
};

/// Why a consent record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentRefusal {
    /// A child's own consent is not enough.
    #[error(
        "the person is treated as a child: consent comes from a guardian or a best-interest basis"
    )]
    ChildNeedsGuardian,
    /// An adult consents for themself.
    #[error("an adult gives consent themself; a guardian or best-interest basis is for children")]
    AdultConsentsThemself,
    /// Nothing to withdraw.
    #[error("no consent is in force to withdraw")]
    NothingToWithdraw,
    /// The summary group is not shared by consent (it is coarse and not personal).
    #[error("`summary` is not a personal group; consent names personal groups only")]
    SummaryNotPersonal,
    /// Validity ends before it starts.
    #[error("`valid_until` must be after `given_at`")]
    EndsBeforeItStarts,
    /// Nothing granted.
    #[error("a consent names at least one purpose")]
    NoPurpose,
}

/// Checks who may give consent for this person.
pub fn check_giver(is_child: bool, giver: ConsentGiver) -> Result<(), ConsentRefusal> {
    match (is_child, giver) {
        (true, ConsentGiver::Person) => Err(ConsentRefusal::ChildNeedsGuardian),
        (false, ConsentGiver::Guardian | ConsentGiver::BestInterest) => {
            Err(ConsentRefusal::AdultConsentsThemself)
        }
        _ => Ok(()),
    }
}

/// Checks a grant's own consistency.
pub fn check_grant(
    purposes: &[ConsentPurpose],
    groups: &[FieldGroup],
    given_at: NaiveDateTime,
    valid_until: Option<NaiveDateTime>,
) -> Result<(), ConsentRefusal> {
    if purposes.is_empty() {
        return Err(ConsentRefusal::NoPurpose);
    }
    if groups.contains(&FieldGroup::Summary) {
        return Err(ConsentRefusal::SummaryNotPersonal);
    }
    if valid_until.is_some_and(|until| until <= given_at) {
        return Err(ConsentRefusal::EndsBeforeItStarts);
    }
    Ok(())
}

/// The consent in force at `now`, from the newest version.
pub fn in_force(newest: Option<&Consent>, now: NaiveDateTime) -> Option<&Consent> {
    newest.filter(|c| !c.withdrawal && c.valid_until.is_none_or(|until| now < until))
}

/// Whether the consent in force covers `purpose`.
pub fn covers_purpose(consent: Option<&Consent>, purpose: ConsentPurpose) -> bool {
    consent.is_some_and(|c| c.purposes.contains(&purpose))
}

/// The consent grants as the policies see them: (group, recipient kind) pairs. Law
/// enforcement expands to the kinds it stands for, so a police unit holding a referral needs
/// the person's law-enforcement consent; `law_enforcement` and `abroad` stay as themselves for
/// the rules that name them.
pub fn policy_grants(consent: Option<&Consent>) -> Vec<(crate::authz::FieldGroup, String)> {
    let Some(consent) = consent else {
        return Vec::new();
    };
    if !consent.purposes.iter().any(|p| {
        matches!(
            p,
            ConsentPurpose::Referral
                | ConsentPurpose::Identification
                | ConsentPurpose::Investigation
        )
    }) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for group in &consent.groups {
        let Some(group) = crate::authz::FieldGroup::from_code(group.code()) else {
            continue;
        };
        for recipient in &consent.recipients {
            out.push((group, recipient.code().to_owned()));
            if *recipient == ConsentRecipient::LawEnforcement {
                for kind in [
                    OrganisationKind::Police,
                    OrganisationKind::Immigration,
                    OrganisationKind::LabourInspectorate,
                ] {
                    out.push((group, kind.code().to_owned()));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tumaini_db::ids::{ConsentId, UserId};
    use tumaini_db::vocabulary::ConsentMethod;

    fn consent(withdrawal: bool, valid_until: Option<NaiveDateTime>) -> Consent {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        Consent {
            id: ConsentId::generate(),
            version: 1,
            withdrawal,
            given_by: ConsentGiver::Person,
            method: ConsentMethod::Written,
            purposes: vec![ConsentPurpose::Referral],
            groups: vec![FieldGroup::Identity],
            recipients: vec![ConsentRecipient::Shelter, ConsentRecipient::LawEnforcement],
            given_at: at,
            valid_until,
            recorded_by: UserId::generate(),
            recorded_at: at,
            details: None,
        }
    }

    #[test]
    fn children_never_consent_alone_and_adults_do() {
        assert_eq!(
            check_giver(true, ConsentGiver::Person),
            Err(ConsentRefusal::ChildNeedsGuardian)
        );
        assert!(check_giver(true, ConsentGiver::Guardian).is_ok());
        assert!(check_giver(true, ConsentGiver::BestInterest).is_ok());
        assert!(check_giver(false, ConsentGiver::Person).is_ok());
        assert_eq!(
            check_giver(false, ConsentGiver::Guardian),
            Err(ConsentRefusal::AdultConsentsThemself)
        );
    }

    #[test]
    fn withdrawal_and_expiry_end_the_grants() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 10)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let live = consent(false, None);
        let grants = policy_grants(in_force(Some(&live), now));
        assert!(grants.contains(&(crate::authz::FieldGroup::Identity, "shelter".to_owned())));
        assert!(grants.contains(&(
            crate::authz::FieldGroup::Identity,
            "law_enforcement".to_owned()
        )));
        assert!(grants.contains(&(crate::authz::FieldGroup::Identity, "police".to_owned())));
        assert!(in_force(Some(&consent(true, None)), now).is_none());
        assert!(
            in_force(Some(&consent(false, Some(now))), now).is_none(),
            "expired at now"
        );
        assert!(policy_grants(None).is_empty());
    }
}
