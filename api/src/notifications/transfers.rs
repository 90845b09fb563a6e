//! Who is told about a transfer of a case: the receiving organisation's case workers and
//! supervisors when it is asked for or withdrawn, the sender and the sending organisation's
//! supervisors when it is answered. A message carries the transfer's reference and a link,
//! never the case's reference, a name or the sender's note. Transfers are requests between
//! organisations like referrals: the same notification choices apply (`referral_received`,
//! `referral_answered`).

use tumaini_db::models::User;
use tumaini_db::models::referral as store;
use tumaini_db::models::transfer::Transfer;
use tumaini_db::vocabulary::{NotificationKind, Role, UserStatus};
use tumaini_db::{DbConn, DbError};

use super::{notify, staff_wanting};
use crate::rules::transfer::reference;

/// Tells the receiving organisation's case workers and supervisors about a transfer.
pub fn tell_receiver(
    conn: &mut DbConn,
    transfer: &Transfer,
    subject: &str,
    public_url: &str,
) -> Result<(), DbError> {
    let recipients = staff_wanting(
        conn,
        &transfer.to_organisation_id,
        &[Role::Supervisor, Role::CaseWorker],
        NotificationKind::ReferralReceived,
    )?;
    notify(
        conn,
        &recipients,
        subject,
        &format!(
            "Case transfer {} concerns your organisation.\n\nSign in to Tumaini to see it: {public_url}/transfers/{}\n",
            reference(&transfer.id),
            transfer.id
        ),
    )?;
    Ok(())
}

/// Tells the sender and the sending organisation's supervisors that a transfer was answered.
pub fn tell_sender(
    conn: &mut DbConn,
    transfer: &Transfer,
    public_url: &str,
) -> Result<(), DbError> {
    let mut recipients = staff_wanting(
        conn,
        &transfer.from_organisation_id,
        &[Role::Supervisor],
        NotificationKind::ReferralAnswered,
    )?;
    if let Ok(sender) = User::find(conn, &transfer.requested_by)
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
        "A case transfer your organisation asked for was answered",
        &format!(
            "Case transfer {} is now {}.\n\nSign in to Tumaini to see it: {public_url}/transfers/{}\n",
            reference(&transfer.id),
            transfer.state.label().to_lowercase(),
            transfer.id
        ),
    )?;
    Ok(())
}
