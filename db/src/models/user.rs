//! User accounts: staff of an organisation who sign in.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{OrgId, UserId};
use crate::schema::users;
use crate::time::now_utc;
use crate::vocabulary::{Role, UserStatus};
use crate::{DbConn, DbError};

/// The text is not a usable e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid e-mail address")]
pub struct InvalidEmail;

/// A user's e-mail address, trimmed and lower-cased so that one mailbox is one account.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EmailAddress {
    type Err = InvalidEmail;
    /// Accepts `local@domain` with a dotted domain, at most 254 characters, no spaces or
    /// control characters. Deliverability is proven by the invitation e-mail, not here.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalised = s.trim().to_lowercase();
        let (local, domain) = normalised.rsplit_once('@').ok_or(InvalidEmail)?;
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && normalised.len() <= 254
            && !normalised
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ':'));
        if well_formed {
            Ok(Self(normalised))
        } else {
            Err(InvalidEmail)
        }
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmail;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<EmailAddress> for String {
    fn from(email: EmailAddress) -> String {
        email.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text_column!(EmailAddress, as_str);

/// A user as stored, without the password hash (which only the authentication code reads).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    /// Identifier.
    pub id: UserId,
    /// The one organisation the user belongs to.
    pub organisation_id: OrgId,
    /// The user's single role.
    pub role: Role,
    /// Sign-in address.
    pub email: EmailAddress,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Whether the account can be used.
    pub status: UserStatus,
    /// The password was issued by someone else and must be replaced at first sign-in.
    pub password_must_change: bool,
    /// When the account was created (UTC).
    pub created_at: NaiveDateTime,
    /// When it last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// Whether a second factor (TOTP) is enrolled.
    pub mfa_enabled: bool,
    /// A role asked for by someone who may not read cases (an administrator), waiting for a
    /// second person's approval; until then the account keeps its role (or, invited, waits).
    pub requested_role: Option<Role>,
    /// Who asked for it.
    pub requested_by: Option<UserId>,
    /// When.
    pub requested_at: Option<NaiveDateTime>,
}

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The user's organisation, which must exist.
    pub organisation_id: OrgId,
    /// Role.
    pub role: Role,
    /// Sign-in address, unique across the system.
    pub email: EmailAddress,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Initial status.
    pub status: UserStatus,
    /// An argon2id PHC string, or none for an invitation still to be accepted.
    pub password_hash: Option<String>,
    /// Whether the first sign-in must replace the password.
    pub password_must_change: bool,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct UserRow<'a> {
    id: &'a UserId,
    organisation_id: &'a OrgId,
    role: Role,
    email: &'a EmailAddress,
    display_name: &'a str,
    status: UserStatus,
    password_hash: Option<&'a str>,
    password_must_change: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl User {
    /// Creates a user. A duplicate e-mail or an unknown organisation is a
    /// [`DbError::Conflict`].
    pub fn create(conn: &mut DbConn, new: &NewUser) -> Result<User, DbError> {
        let id = UserId::generate();
        let now = now_utc();
        conn.write_transaction(|conn| {
            diesel::insert_into(users::table)
                .values(UserRow {
                    id: &id,
                    organisation_id: &new.organisation_id,
                    role: new.role,
                    email: &new.email,
                    display_name: &new.display_name,
                    status: new.status,
                    password_hash: new.password_hash.as_deref(),
                    password_must_change: new.password_must_change,
                    created_at: now,
                    updated_at: now,
                })
                .execute(conn)?;
            Self::find(conn, &id)
        })
    }

    /// The user with this id.
    pub fn find(conn: &mut DbConn, id: &UserId) -> Result<User, DbError> {
        Ok(users::table
            .find(id)
            .select(User::as_select())
            .first(conn)?)
    }

    /// The user with this (normalised) e-mail address.
    pub fn find_by_email(conn: &mut DbConn, email: &EmailAddress) -> Result<User, DbError> {
        Ok(users::table
            .filter(users::email.eq(email))
            .select(User::as_select())
            .first(conn)?)
    }

    /// How many users hold a role; the CLI uses it to say whether an administrator exists.
    pub fn count_with_role(conn: &mut DbConn, role: Role) -> Result<i64, DbError> {
        Ok(users::table
            .filter(users::role.eq(role))
            .count()
            .get_result(conn)?)
    }
}

/// What sign-in needs to know about an account. Only the authentication code reads it.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct Credentials {
    /// The account.
    pub id: UserId,
    /// Whether it can be used.
    pub status: UserStatus,
    /// The argon2id PHC string, if a password is set.
    pub password_hash: Option<String>,
    /// Failed sign-ins since the last success.
    pub failed_logins: i32,
    /// Locked until then (the threshold was reached).
    pub locked_until: Option<NaiveDateTime>,
    /// The next attempt is refused until then (the growing delay between failures).
    pub login_delay_until: Option<NaiveDateTime>,
    /// Whether TOTP is enrolled and required.
    pub mfa_enabled: bool,
    /// The TOTP secret, sealed (never plaintext at rest).
    pub totp_secret: Option<Vec<u8>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .field("login_delay_until", &self.login_delay_until)
            .field("mfa_enabled", &self.mfa_enabled)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Whether an attempt at `now` is refused without looking at the password: the account is
    /// locked, or the delay after the last failure has not run out.
    pub fn throttled(&self, now: NaiveDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
            || self.login_delay_until.is_some_and(|until| until > now)
    }
}

/// A failed sign-in as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLogin {
    /// Failures counted together, this one included when it counted.
    pub failures: i32,
    /// It counted: no lock was in force when it was recorded (a guess checked while the lock
    /// was being imposed, and recorded after, does not count again).
    pub counted: bool,
    /// This failure imposed a new lock (at most one per lock: the alert it raises is sent
    /// once).
    pub locked: bool,
}

/// How failed sign-ins are throttled (NIST SP 800-63B section 5.2.2): failures count together
/// until a whole `window` passes without one; from `delay_from` failures each further one
/// delays the next attempt (1 s, 2 s, 4 s ..., doubling up to the threshold); at `threshold`
/// the account is locked for `lock`, and each failure after that locks it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failures in a window that lock the account.
    pub threshold: i32,
    /// How long failures are counted together.
    pub window: chrono::Duration,
    /// How long a lock lasts.
    pub lock: chrono::Duration,
    /// From how many failures a delay applies.
    pub delay_from: i32,
}

impl Throttle {
    /// The lock and the delay after the `failures`-th failure in the window, at `now`.
    pub fn after(
        &self,
        failures: i32,
        now: NaiveDateTime,
    ) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
        if failures >= self.threshold {
            return (Some(now + self.lock), None);
        }
        let delay = (failures >= self.delay_from)
            .then(|| now + chrono::Duration::seconds(1i64 << (failures - self.delay_from).min(10)));
        (None, delay)
    }
}

/// Changes to an account made by an administrator or by the account holder.
impl User {
    /// Every user, or the users of one organisation, by e-mail.
    pub fn list(conn: &mut DbConn, organisation: Option<&OrgId>) -> Result<Vec<User>, DbError> {
        let mut query = users::table.select(User::as_select()).into_boxed();
        if let Some(organisation) = organisation {
            query = query.filter(users::organisation_id.eq(organisation));
        }
        Ok(query.order(users::email).load(conn)?)
    }

    /// Active users holding one of `roles` in active organisations, optionally only of one
    /// kind and country: who a notification goes to (coordinators, child protection).
    pub fn notification_recipients(
        conn: &mut DbConn,
        roles: &[Role],
        kind: Option<crate::vocabulary::OrganisationKind>,
        country: Option<&crate::country::CountryCode>,
    ) -> Result<Vec<User>, DbError> {
        use crate::schema::organisations;
        let mut query = users::table
            .inner_join(organisations::table)
            .filter(users::role.eq_any(roles.to_vec()))
            .filter(users::status.eq(UserStatus::Active))
            .filter(organisations::active.eq(true))
            .select(User::as_select())
            .into_boxed();
        if let Some(kind) = kind {
            query = query.filter(organisations::kind.eq(kind));
        }
        if let Some(country) = country {
            query = query.filter(organisations::country.eq(*country));
        }
        Ok(query.order(users::email).load(conn)?)
    }

    /// The sign-in facts for an e-mail address.
    pub fn credentials_by_email(
        conn: &mut DbConn,
        email: &EmailAddress,
    ) -> Result<Option<Credentials>, DbError> {
        Ok(users::table
            .filter(users::email.eq(email))
            .select(Credentials::as_select())
            .first(conn)
            .optional()?)
    }

    /// The sign-in facts for an account.
    pub fn credentials(conn: &mut DbConn, id: &UserId) -> Result<Credentials, DbError> {
        Ok(users::table
            .find(id)
            .select(Credentials::as_select())
            .first(conn)?)
    }

    /// Records a failed sign-in (a wrong password, a wrong second factor, a wrong current
    /// password) at `now` and applies `throttle`: failures count together until a whole window
    /// passes without one (so a burst cannot straddle a boundary, and a slow trickle adds up);
    /// from [`Throttle::delay_from`] failures a growing delay refuses the next attempts for a
    /// moment; at the threshold the account is locked, and every failure after a lock, until a
    /// quiet window, locks it again. The delay and the lock are kept apart, so a delay that runs
    /// out never restarts the count.
    pub fn record_failed_login(
        conn: &mut DbConn,
        id: &UserId,
        throttle: &Throttle,
        now: NaiveDateTime,
    ) -> Result<FailedLogin, DbError> {
        conn.write_transaction(|conn| {
            // A whole window without a failure (and no lock in force) starts the count afresh.
            let quiet_since = now - throttle.window;
            diesel::update(
                users::table.find(id).filter(
                    users::last_failed_login_at
                        .is_null()
                        .or(users::last_failed_login_at.le(quiet_since)),
                ),
            )
            .filter(
                users::locked_until
                    .is_null()
                    .or(users::locked_until.le(now)),
            )
            .set((
                users::failed_logins.eq(0),
                users::locked_until.eq(None::<NaiveDateTime>),
                users::login_delay_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
            // An atomic increment: concurrent failures (several replicas) each count, where a
            // read-then-write under READ COMMITTED could lose some. The row stays locked until
            // commit, so the value read back is this failure's. Only while no lock is in force:
            // guesses checked at once (behind the hashing limit) and recorded after one of them
            // locked the account neither extend the lock nor raise its alert again.
            let counted = diesel::update(
                users::table.find(id).filter(
                    users::locked_until
                        .is_null()
                        .or(users::locked_until.le(now)),
                ),
            )
            .set((
                users::failed_logins.eq(users::failed_logins + 1),
                users::last_failed_login_at.eq(now),
            ))
            .execute(conn)?
                == 1;
            let failures: i32 = users::table
                .find(id)
                .select(users::failed_logins)
                .first(conn)?;
            if !counted {
                return Ok(FailedLogin {
                    failures,
                    counted,
                    locked: false,
                });
            }
            let (locked, delayed) = throttle.after(failures, now);
            if let Some(until) = locked {
                diesel::update(users::table.find(id))
                    .set(users::locked_until.eq(until))
                    .execute(conn)?;
            }
            diesel::update(users::table.find(id))
                .set(users::login_delay_until.eq(delayed))
                .execute(conn)?;
            Ok(FailedLogin {
                failures,
                counted,
                locked: locked.is_some(),
            })
        })
    }

    /// Clears the failure count, the delay and the lock after a successful sign-in (or a
    /// password reset).
    pub fn clear_failed_logins(conn: &mut DbConn, id: &UserId) -> Result<(), DbError> {
        diesel::update(users::table.find(id))
            .set((
                users::failed_logins.eq(0),
                users::locked_until.eq(None::<NaiveDateTime>),
                users::login_delay_until.eq(None::<NaiveDateTime>),
                users::last_failed_login_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// The language the user chose for the web console (a code), if any.
    pub fn language(conn: &mut DbConn, id: &UserId) -> Result<Option<String>, DbError> {
        Ok(users::table
            .find(id)
            .select(users::language)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten())
    }

    /// Remembers the language the user chose for the web console.
    pub fn set_language(conn: &mut DbConn, id: &UserId, code: &str) -> Result<(), DbError> {
        diesel::update(users::table.find(id))
            .set(users::language.eq(code))
            .execute(conn)?;
        Ok(())
    }

    /// Replaces the password hash (a rehash with new parameters, a change or a reset) and
    /// activates an invited account.
    pub fn set_password(
        conn: &mut DbConn,
        id: &UserId,
        password_hash: &str,
        must_change: bool,
    ) -> Result<(), DbError> {
        let now = now_utc();
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(password_hash),
                users::password_must_change.eq(must_change),
                users::password_changed_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(
            users::table
                .find(id)
                .filter(users::status.eq(UserStatus::Invited)),
        )
        .set(users::status.eq(UserStatus::Active))
        .execute(conn)?;
        Ok(())
    }

    /// Replaces only the hash, keeping every other fact (rehash on sign-in), and only if the
    /// stored hash is still `previous`: a password changed meanwhile is never overwritten.
    pub fn rehash_password(
        conn: &mut DbConn,
        id: &UserId,
        previous: &str,
        password_hash: &str,
    ) -> Result<(), DbError> {
        diesel::update(
            users::table
                .find(id)
                .filter(users::password_hash.eq(previous)),
        )
        .set(users::password_hash.eq(password_hash))
        .execute(conn)?;
        Ok(())
    }

    /// The sign-in facts, read again inside a write transaction and, on PostgreSQL, locked
    /// until it ends (SQLite's write transaction already excludes other writers): a sign-in
    /// checks that nothing changed while its password was being hashed.
    pub fn credentials_for_update(conn: &mut DbConn, id: &UserId) -> Result<Credentials, DbError> {
        match conn {
            DbConn::Postgresql(pg) => Ok(users::table
                .find(id)
                .select(Credentials::as_select())
                .for_update()
                .first(pg)?),
            DbConn::Sqlite(_) => Self::credentials(conn, id),
        }
    }

    /// Changes the role.
    pub fn set_role(conn: &mut DbConn, id: &UserId, role: Role) -> Result<(), DbError> {
        // A role set directly supersedes any role asked for before: that request was made of
        // an account that no longer is what its approver would see.
        diesel::update(users::table.find(id))
            .set((
                users::role.eq(role),
                users::requested_role.eq(None::<Role>),
                users::requested_by.eq(None::<UserId>),
                users::requested_at.eq(None::<NaiveDateTime>),
                users::updated_at.eq(now_utc()),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Changes the status (e.g. disables the account).
    pub fn set_status(conn: &mut DbConn, id: &UserId, status: UserStatus) -> Result<(), DbError> {
        diesel::update(users::table.find(id))
            .set((users::status.eq(status), users::updated_at.eq(now_utc())))
            .execute(conn)?;
        Ok(())
    }

    /// Stores a sealed TOTP secret awaiting confirmation (MFA stays off until confirmed).
    pub fn set_pending_totp(conn: &mut DbConn, id: &UserId, sealed: &[u8]) -> Result<(), DbError> {
        // Never over an enrolment confirmed meanwhile.
        diesel::update(users::table.find(id).filter(users::mfa_enabled.eq(false)))
            .set((
                users::totp_secret.eq(sealed),
                users::mfa_enabled.eq(false),
                users::totp_last_step.eq(None::<i64>),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Turns MFA on once the first code has been confirmed.
    pub fn enable_mfa(conn: &mut DbConn, id: &UserId) -> Result<(), DbError> {
        diesel::update(users::table.find(id))
            .set((users::mfa_enabled.eq(true), users::updated_at.eq(now_utc())))
            .execute(conn)?;
        Ok(())
    }

    /// Accepts a TOTP time step only if it is later than every step accepted before: a code is
    /// good once. Atomic, so two concurrent sign-ins cannot both use one code.
    pub fn accept_totp_step(conn: &mut DbConn, id: &UserId, step: i64) -> Result<bool, DbError> {
        let updated = diesel::update(
            users::table.find(id).filter(
                users::totp_last_step
                    .is_null()
                    .or(users::totp_last_step.lt(step)),
            ),
        )
        .set(users::totp_last_step.eq(step))
        .execute(conn)?;
        Ok(updated == 1)
    }
}

/// The row of an account that still holds the request, role and status it was read with.
type SameRequest<'a> = diesel::dsl::Filter<
    diesel::dsl::Find<users::table, &'a UserId>,
    diesel::dsl::And<
        diesel::dsl::And<
            diesel::dsl::And<
                diesel::dsl::Eq<users::requested_role, Option<Role>>,
                diesel::dsl::Eq<users::requested_by, Option<&'a UserId>>,
            >,
            diesel::dsl::Eq<users::requested_at, Option<NaiveDateTime>>,
        >,
        diesel::dsl::And<
            diesel::dsl::Eq<users::status, UserStatus>,
            diesel::dsl::Eq<users::role, Role>,
        >,
    >,
>;

/// Roles granted by someone who may not read cases wait for a second person's approval.
impl User {
    /// Records that `by` asked for `role` for this account (an invitation awaiting approval
    /// carries the role it was invited to).
    /// Only while the account still holds the role and status `seen` (what the asker's checks
    /// were made on); returns whether the request was recorded.
    pub fn request_role(
        conn: &mut DbConn,
        seen: &User,
        role: Role,
        by: &UserId,
    ) -> Result<bool, DbError> {
        let now = now_utc();
        let recorded = diesel::update(
            users::table
                .find(&seen.id)
                .filter(users::role.eq(seen.role))
                .filter(users::status.eq(seen.status)),
        )
        .set((
            users::requested_role.eq(Some(role)),
            users::requested_by.eq(Some(by)),
            users::requested_at.eq(Some(now)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
        Ok(recorded == 1)
    }

    /// Grants the request `seen` (an account as the approver read it), if that very request
    /// still waits: same role, same asker, same moment. An account awaiting approval becomes
    /// invited. Returns whether it was granted: `false` when the request changed or went
    /// meanwhile (the update is conditional, so two approvals, or an approval racing a new
    /// request, cannot grant what nobody saw).
    pub fn grant_requested_role(conn: &mut DbConn, seen: &User) -> Result<bool, DbError> {
        Self::settle_request(conn, seen, true)
    }

    /// Drops the request `seen` (a rejection), if that very request still waits; an account
    /// that was only awaiting approval is disabled. Returns whether it was dropped.
    pub fn drop_requested_role(conn: &mut DbConn, seen: &User) -> Result<bool, DbError> {
        Self::settle_request(conn, seen, false)
    }

    fn settle_request(conn: &mut DbConn, seen: &User, grant: bool) -> Result<bool, DbError> {
        let Some(requested) = seen.requested_role else {
            return Ok(false);
        };
        let waiting = seen.status == UserStatus::AwaitingApproval;
        let (role, status) = match (grant, waiting) {
            (true, true) => (requested, UserStatus::Invited),
            (true, false) => (requested, seen.status),
            (false, true) => (seen.role, UserStatus::Disabled),
            (false, false) => (seen.role, seen.status),
        };
        let settled = diesel::update(Self::same_request(seen))
            .set((
                users::role.eq(role),
                users::status.eq(status),
                users::requested_role.eq(None::<Role>),
                users::requested_by.eq(None::<UserId>),
                users::requested_at.eq(None::<NaiveDateTime>),
                users::updated_at.eq(now_utc()),
            ))
            .execute(conn)?;
        Ok(settled == 1)
    }

    /// The row of `seen`, if it still holds the request (and the status and role) it was read
    /// with.
    fn same_request(seen: &User) -> SameRequest<'_> {
        users::table.find(&seen.id).filter(
            users::requested_role
                .eq(seen.requested_role)
                .and(users::requested_by.eq(seen.requested_by.as_ref()))
                .and(users::requested_at.eq(seen.requested_at))
                .and(users::status.eq(seen.status).and(users::role.eq(seen.role))),
        )
    }

    /// Accounts with a role waiting for approval, oldest request first; of one organisation,
    /// or of the organisations of one country.
    pub fn awaiting_approval(
        conn: &mut DbConn,
        organisation: Option<&OrgId>,
        country: Option<&crate::country::CountryCode>,
    ) -> Result<Vec<User>, DbError> {
        use crate::schema::organisations;
        let mut query = users::table
            .inner_join(organisations::table)
            .filter(users::requested_role.is_not_null())
            .select(User::as_select())
            .into_boxed();
        if let Some(organisation) = organisation {
            query = query.filter(users::organisation_id.eq(organisation));
        }
        if let Some(country) = country {
            query = query.filter(organisations::country.eq(*country));
        }
        Ok(query.order((users::requested_at, users::id)).load(conn)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        let email: EmailAddress = "  Amina.Okello@Example.UG ".parse().unwrap();
        assert_eq!(email.as_str(), "amina.okello@example.ug");
        for bad in [
            "",
            "no-at-sign",
            "@example.ug",
            "a@nodot",
            "a b@example.ug",
            "a@.ug",
        ] {
            assert!(bad.parse::<EmailAddress>().is_err(), "{bad}");
        }
    }
}
