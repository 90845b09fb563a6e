//! The account service: who signs in and how, and who administers whom. Each submodule is one
//! area, and the HTTP handlers (`routes/auth.rs`, `routes/admin.rs`, `routes/approvals.rs`)
//! call one of its functions per request:
//! - [`sign_in`]: sign-in with e-mail, password and second factor, its per-address limit, and
//!   the token pair a session is given;
//! - [`sessions`]: refreshing tokens (a reused refresh token ends its session), signing out,
//!   listing and ending one's own sessions;
//! - [`passwords`]: changing the password, resetting a forgotten one by e-mail, setting one with
//!   an e-mailed token;
//! - [`second_factor`]: TOTP enrolment and its recovery codes, and checking a code at sign-in;
//! - [`invitations`]: the invitation e-mail and its acceptance;
//! - [`organisations`] and [`administration`]: organisations, and the accounts administrators
//!   and supervisors manage (invitations, role changes, disabling);
//! - [`approvals`]: the second person who approves a role that reads cases.
//!
//! A failed attempt (a wrong password or code) is counted against the account in `failures`,
//! which delays and then locks it. This module itself holds the rules that need nothing else:
//! which roles an organisation can hold, which grants wait for a second person and who may
//! approve them, and the one-time passwords the command line issues.

pub mod administration;
pub mod approvals;
mod failures;
pub mod invitations;
pub mod organisations;
pub mod passwords;
pub mod second_factor;
pub mod sessions;
pub mod sign_in;

use rand::Rng as _;
use tumaini_db::vocabulary::{OrganisationKind, Role};
use zeroize::Zeroizing;

use crate::http::{ApiError, ProblemType};

pub use administration::UserView;
pub use invitations::{INVITATION_TTL, send_invitation};

/// The answer to an administrative action the caller's role may not take.
fn forbidden() -> ApiError {
    ApiError::problem(ProblemType::Forbidden, "your role may not do this")
}

/// Why a role cannot be given to a member of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {role} role belongs in a {required} organisation, not a {actual} one")]
pub struct RoleNotAllowed {
    /// The role asked for.
    pub role: Role,
    /// The kind the role needs.
    pub required: OrganisationKind,
    /// The organisation's kind.
    pub actual: OrganisationKind,
}

/// Checks that a role fits the organisation: national coordinators sit in the coordination
/// office, identification decisions are made by the competent authority; every other role may
/// be held in any organisation.
pub fn check_role_for(kind: OrganisationKind, role: Role) -> Result<(), RoleNotAllowed> {
    let required = match role {
        Role::Coordinator => OrganisationKind::CoordinationOffice,
        Role::CompetentAuthority => OrganisationKind::CompetentAuthority,
        _ => return Ok(()),
    };
    if kind == required {
        Ok(())
    } else {
        Err(RoleNotAllowed {
            role,
            required,
            actual: kind,
        })
    }
}

/// Whether a grant of `role` by someone holding `granter` waits for a second person's
/// approval: a role that reads cases (every role but the administrator's), granted by someone
/// who may not read cases (an administrator, `guard.admin-never-touches-cases`). Otherwise an
/// administrator could invite a case worker at an address they control and so reach the case
/// content the policies deny them.
pub const fn needs_approval(granter: Role, role: Role) -> bool {
    matches!(granter, Role::Admin) && !matches!(role, Role::Admin)
}

/// Whether someone holding `approver` may approve a grant of `role` (the policies decide first
/// that they may approve grants in the account's organisation at all): a coordinator any role,
/// a supervisor only the staff roles a supervisor could give (never a coordinator's or a
/// competent-authority officer's).
pub const fn may_approve(approver: Role, role: Role) -> bool {
    match approver {
        Role::Coordinator => true,
        Role::Supervisor => matches!(
            role,
            Role::CaseWorker | Role::FirstResponder | Role::Supervisor
        ),
        _ => false,
    }
}

/// Letters and digits that cannot be mistaken for one another when read aloud or copied from
/// paper (no 0/O, 1/l/I).
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Length of a one-time password: 20 symbols of a 56-symbol alphabet, about 116 bits.
const ONE_TIME_PASSWORD_LEN: usize = 20;

/// A fresh one-time password, wiped from memory when dropped.
pub fn one_time_password() -> Zeroizing<String> {
    let mut rng = rand::rng();
    let password: String = (0..ONE_TIME_PASSWORD_LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    Zeroizing::new(password)
}

/// Hashes a password with argon2id at OWASP's minimum parameters (the default), on the calling
/// thread. The parameters are kept in the PHC string, so they can be raised later and old
/// hashes still verify.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    crate::auth::password::hash_blocking(crate::config::Argon2Settings::MINIMUM, password)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{Argon2, PasswordHash, PasswordVerifier as _};

    #[test]
    fn roles_fit_their_organisations() {
        assert!(check_role_for(OrganisationKind::CoordinationOffice, Role::Coordinator).is_ok());
        assert!(check_role_for(OrganisationKind::Shelter, Role::Coordinator).is_err());
        assert!(check_role_for(OrganisationKind::Police, Role::CompetentAuthority).is_err());
        assert!(check_role_for(OrganisationKind::Police, Role::FirstResponder).is_ok());
        assert!(check_role_for(OrganisationKind::Shelter, Role::Admin).is_ok());
    }

    #[test]
    fn case_reading_roles_granted_by_an_administrator_need_a_second_person() {
        for role in Role::ALL {
            assert_eq!(
                needs_approval(Role::Admin, *role),
                *role != Role::Admin,
                "{role}"
            );
            assert!(!needs_approval(Role::Supervisor, *role), "{role}");
        }
        assert!(may_approve(Role::Coordinator, Role::Coordinator));
        assert!(may_approve(Role::Supervisor, Role::CaseWorker));
        assert!(!may_approve(Role::Supervisor, Role::Coordinator));
        assert!(!may_approve(Role::Supervisor, Role::CompetentAuthority));
        assert!(!may_approve(Role::Admin, Role::CaseWorker));
    }

    #[test]
    fn one_time_passwords_are_long_unambiguous_and_hash_as_argon2id() {
        let password = one_time_password();
        assert_eq!(password.len(), ONE_TIME_PASSWORD_LEN);
        assert!(password.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(*password, *one_time_password());
        let hash = hash_password(&password).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        );
    }
}
