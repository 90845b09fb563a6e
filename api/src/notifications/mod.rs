//! Notifications: who is told what, by e-mail through the outbox. A message is queued in the
//! transaction of the event that causes it (so it is sent if and only if the event happened)
//! and carries only a reference and a link, never a personal value; each member of staff
//! chooses the kinds they receive. The outbox job (`crate::jobs::outbox`) delivers it.

pub mod transfers;

use tumaini_db::ids::OrgId;
use tumaini_db::models::case::Case;
use tumaini_db::models::referral::{self as store, Referral};
use tumaini_db::models::{Organisation, User, outbox};
use tumaini_db::vocabulary::{NotificationKind, OrganisationKind, Role, UserStatus};
use tumaini_db::{DbConn, DbError};

/// Queues one message to each recipient, in the caller's transaction. A message carries only
/// references and a link, never a personal value. Returns how many were queued.
pub fn notify(
    conn: &mut DbConn,
    recipients: &[User],
    subject: &str,
    body: &str,
) -> Result<usize, DbError> {
    for user in recipients {
        outbox::enqueue(conn, &user.email, subject, body)?;
    }
    Ok(recipients.len())
}

/// Tells child protection in the case's country that a child was registered (reference and
/// link only). Returns whether anyone was told.
pub fn notify_child_protection(
    conn: &mut DbConn,
    case: &Case,
    public_url: &str,
) -> Result<bool, DbError> {
    let owner = Organisation::find(conn, &case.owner_organisation_id)?;
    let recipients = User::notification_recipients(
        conn,
        &[Role::Supervisor, Role::CaseWorker],
        Some(OrganisationKind::ChildProtection),
        Some(&owner.country),
    )?;
    let sent = notify(
        conn,
        &recipients,
        "A child was registered in Tumaini",
        &format!(
            "A case concerning a child was registered: reference {}.\n\nSign in to Tumaini to see what you may: {public_url}/cases/{}\n",
            case.reference, case.id
        ),
    )?;
    Ok(sent > 0)
}

/// Active staff of `organisation` holding one of `roles`, less those who switched `kind` off.
pub(crate) fn staff_wanting(
    conn: &mut DbConn,
    organisation: &OrgId,
    roles: &[Role],
    kind: NotificationKind,
) -> Result<Vec<User>, DbError> {
    let staff = User::list(conn, Some(organisation))?
        .into_iter()
        .filter(|u| u.status == UserStatus::Active && roles.contains(&u.role))
        .collect();
    store::wanting(conn, staff, kind)
}

/// Tells the referring organisation (the sender and its supervisors) that a referral moved on.
pub fn tell_sender(
    conn: &mut DbConn,
    referral: &Referral,
    public_url: &str,
) -> Result<(), DbError> {
    let mut recipients = staff_wanting(
        conn,
        &referral.from_organisation_id,
        &[Role::Supervisor],
        NotificationKind::ReferralAnswered,
    )?;
    if let Ok(sender) = User::find(conn, &referral.created_by)
        && sender.status == UserStatus::Active
        && !recipients.iter().any(|u| u.id == sender.id)
    {
        recipients.extend(store::wanting(
            conn,
            vec![sender],
            NotificationKind::ReferralAnswered,
        )?);
    }
    notify(
        conn,
        &recipients,
        "A referral you sent has moved on",
        &format!(
            "Referral {} is now {}.\n\nSign in to Tumaini to see it: {public_url}/referrals/{}\n",
            referral.reference,
            referral.state.label().to_lowercase(),
            referral.id
        ),
    )?;
    Ok(())
}

/// Tells the receiving organisation's case workers and supervisors about a referral.
pub fn tell_receiver(
    conn: &mut DbConn,
    referral: &Referral,
    subject: &str,
    public_url: &str,
) -> Result<(), DbError> {
    let recipients = staff_wanting(
        conn,
        &referral.to_organisation_id,
        &[Role::Supervisor, Role::CaseWorker],
        NotificationKind::ReferralReceived,
    )?;
    notify(
        conn,
        &recipients,
        subject,
        &format!(
            "Referral {} concerns your organisation.\n\nSign in to Tumaini to see it: {public_url}/referrals/{}\n",
            referral.reference, referral.id
        ),
    )?;
    Ok(())
}

/// Tells the coordinators of a machine client's country that it read about more cases than
/// the threshold within the window: the client's id and organisation and a link, no case data.
pub fn tell_of_client_misuse(
    conn: &mut DbConn,
    client: &tumaini_db::models::ApiClient,
    organisation: &Organisation,
    cases: i64,
    window_minutes: i64,
    public_url: &str,
) -> Result<usize, DbError> {
    let coordinators = User::notification_recipients(
        conn,
        &[Role::Coordinator],
        None,
        Some(&organisation.country),
    )?;
    notify(
        conn,
        &coordinators,
        "Possible misuse of case records in Tumaini",
        &format!(
            "A machine client of {} read about {cases} cases within {window_minutes} minutes, more than allowed before an alert.\n\nReview its access in the audit trail, and revoke it if need be: {public_url}/audit?client_id={}\n",
            organisation.name, client.id
        ),
    )
}

/// Tells the coordinators of `organisation`'s country that `user` read personal details of
/// more cases than the misuse threshold allows within the window (the reader's role and
/// organisation, and a link to their access in the audit trail; no case data).
pub fn tell_of_misuse(
    conn: &mut DbConn,
    user: &User,
    organisation: &Organisation,
    cases: i64,
    window_minutes: i64,
    threshold: i64,
    public_url: &str,
) -> Result<usize, DbError> {
    let coordinators = User::notification_recipients(
        conn,
        &[Role::Coordinator],
        None,
        Some(&organisation.country),
    )?;
    notify(
        conn,
        &coordinators,
        "Possible misuse of case records in Tumaini",
        &format!(
            "A {} of {} read personal details of {cases} cases within {window_minutes} minutes, more than the {threshold} allowed before an alert.\n\nReview their access in the audit trail: {public_url}/audit?user_id={}\n",
            user.role, organisation.name, user.id
        ),
    )
}
