//! Referrals between organisations, their timelines, and the
//! notifications each user chose not to receive.
//!
//! A state change is a conditional UPDATE (`... WHERE state = <the state it leaves>`), so of two
//! concurrent answers (an accept and a withdrawal, or two replicas' deadline scanners) exactly
//! one changes the row; the other sees zero rows changed and reports a conflict.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::ids::{CaseId, ConsentId, DocumentId, OrgId, RecordId, ReferralId, UserId};
use crate::models::{Organisation, User};
use crate::schema::{notification_opt_outs, organisations, referral_events, referrals};
use crate::vocabulary::{
    DeclineReason, FieldGroup, NotificationKind, ReferralState, ReferralUrgency, ServiceType,
};
use crate::{DbConn, DbError};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = referrals)]
struct ReferralRow {
    id: ReferralId,
    reference: String,
    case_id: CaseId,
    from_organisation_id: OrgId,
    to_organisation_id: OrgId,
    created_by: UserId,
    services: String,
    field_groups: String,
    urgency: ReferralUrgency,
    reason: Vec<u8>,
    consent_id: ConsentId,
    cross_border: bool,
    state: ReferralState,
    decline_reason: Option<DeclineReason>,
    created_at: NaiveDateTime,
    respond_by: NaiveDateTime,
    answered_at: Option<NaiveDateTime>,
    answered_by: Option<UserId>,
    started_at: Option<NaiveDateTime>,
    ended_at: Option<NaiveDateTime>,
    escalated_at: Option<NaiveDateTime>,
    consent_form_id: Option<DocumentId>,
}

/// A referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// Identifier.
    pub id: ReferralId,
    /// Short reference for e-mail and the telephone, e.g. `R-K7QM-4XHD-R`.
    pub reference: String,
    /// The case referred.
    pub case_id: CaseId,
    /// The referring organisation.
    pub from_organisation_id: OrgId,
    /// The receiving organisation.
    pub to_organisation_id: OrgId,
    /// Who sent it.
    pub created_by: UserId,
    /// The services asked for (at least one).
    pub services: Vec<ServiceType>,
    /// The personal groups shared once accepted.
    pub groups: Vec<FieldGroup>,
    /// How soon an answer is needed.
    pub urgency: ReferralUrgency,
    /// Why, sealed under the case's data key.
    pub reason: Vec<u8>,
    /// The consent version it relied on.
    pub consent_id: ConsentId,
    /// The receiving organisation is in another country than the one that owns the case.
    pub cross_border: bool,
    /// Where it stands.
    pub state: ReferralState,
    /// Why it was declined.
    pub decline_reason: Option<DeclineReason>,
    /// When it was sent.
    pub created_at: NaiveDateTime,
    /// The answer is due by then.
    pub respond_by: NaiveDateTime,
    /// When it was accepted or declined.
    pub answered_at: Option<NaiveDateTime>,
    /// Who answered.
    pub answered_by: Option<UserId>,
    /// When the service started.
    pub started_at: Option<NaiveDateTime>,
    /// When it ended (declined, expired, completed, withdrawn).
    pub ended_at: Option<NaiveDateTime>,
    /// When coordinators were told it went unanswered.
    pub escalated_at: Option<NaiveDateTime>,
    /// The consent form (a document of the case) that records the person's agreement to it.
    pub consent_form_id: Option<DocumentId>,
}

fn join<T: std::fmt::Display>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn split<T: std::str::FromStr>(text: &str) -> Result<Vec<T>, DbError> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse().map_err(|_| {
                DbError::Query(diesel::result::Error::DeserializationError(
                    "unknown code in a referral".into(),
                ))
            })
        })
        .collect()
}

impl TryFrom<ReferralRow> for Referral {
    type Error = DbError;
    fn try_from(row: ReferralRow) -> Result<Self, DbError> {
        Ok(Self {
            id: row.id,
            reference: row.reference,
            case_id: row.case_id,
            from_organisation_id: row.from_organisation_id,
            to_organisation_id: row.to_organisation_id,
            created_by: row.created_by,
            services: split(&row.services)?,
            groups: split(&row.field_groups)?,
            urgency: row.urgency,
            reason: row.reason,
            consent_id: row.consent_id,
            cross_border: row.cross_border,
            state: row.state,
            decline_reason: row.decline_reason,
            created_at: row.created_at,
            respond_by: row.respond_by,
            answered_at: row.answered_at,
            answered_by: row.answered_by,
            started_at: row.started_at,
            ended_at: row.ended_at,
            escalated_at: row.escalated_at,
            consent_form_id: row.consent_form_id,
        })
    }
}

fn parse_all(rows: Vec<ReferralRow>) -> Result<Vec<Referral>, DbError> {
    rows.into_iter().map(Referral::try_from).collect()
}

/// A referral to record.
#[derive(Debug, Clone)]
pub struct NewReferral<'a> {
    /// Identifier (made first: the reason is sealed bound to it).
    pub id: &'a ReferralId,
    /// Reference.
    pub reference: &'a str,
    /// The case.
    pub case_id: &'a CaseId,
    /// Referring organisation.
    pub from: &'a OrgId,
    /// Receiving organisation.
    pub to: &'a OrgId,
    /// Sender.
    pub created_by: &'a UserId,
    /// Services.
    pub services: &'a [ServiceType],
    /// Groups shared.
    pub groups: &'a [FieldGroup],
    /// Urgency.
    pub urgency: ReferralUrgency,
    /// Sealed reason.
    pub reason: &'a [u8],
    /// The consent relied on.
    pub consent_id: &'a ConsentId,
    /// Another country.
    pub cross_border: bool,
    /// Sent at.
    pub created_at: NaiveDateTime,
    /// Answer due by.
    pub respond_by: NaiveDateTime,
    /// The consent form it carries.
    pub consent_form: Option<&'a DocumentId>,
}

/// Who moved a referral to a state (none: the deadline scanner).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The user.
    pub user: &'a UserId,
    /// Their organisation.
    pub organisation: &'a OrgId,
}

/// One step of a referral's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = referral_events)]
pub struct ReferralEvent {
    /// Identifier.
    pub id: String,
    /// The referral.
    pub referral_id: ReferralId,
    /// The state it entered.
    pub state: ReferralState,
    /// When.
    pub at: NaiveDateTime,
    /// By whom (none: the deadline scanner).
    pub user_id: Option<UserId>,
    /// Their organisation.
    pub organisation_id: Option<OrgId>,
}

/// Which side of an organisation's referrals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailbox {
    /// Referrals to the organisation.
    Inbox,
    /// Referrals from the organisation.
    Outbox,
}

/// One receiving organisation's figures (no personal data).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrganisationFigures {
    /// Referrals received, in each state.
    pub by_state: HashMap<ReferralState, i64>,
    /// Waiting for an answer past the deadline (not yet marked expired).
    pub overdue: i64,
    /// Answered (accepted or declined).
    pub answered: i64,
    /// Accepted, whatever happened after.
    pub accepted: i64,
    /// Mean seconds from sending to the answer, over the answered ones.
    pub mean_answer_seconds: Option<f64>,
}

fn event(
    conn: &mut DbConn,
    referral: &ReferralId,
    state: ReferralState,
    at: NaiveDateTime,
    actor: Option<Actor<'_>>,
) -> Result<(), DbError> {
    diesel::insert_into(referral_events::table)
        .values((
            referral_events::id.eq(RecordId::generate().as_str()),
            referral_events::referral_id.eq(referral),
            referral_events::state.eq(state),
            referral_events::at.eq(at),
            referral_events::user_id.eq(actor.map(|a| a.user)),
            referral_events::organisation_id.eq(actor.map(|a| a.organisation)),
        ))
        .execute(conn)?;
    Ok(())
}

impl Referral {
    /// Records a sent referral and the first step of its timeline. Call inside the case's write
    /// transaction.
    pub fn insert(conn: &mut DbConn, new: &NewReferral<'_>) -> Result<Referral, DbError> {
        diesel::insert_into(referrals::table)
            .values((
                referrals::id.eq(new.id),
                referrals::reference.eq(new.reference),
                referrals::case_id.eq(new.case_id),
                referrals::from_organisation_id.eq(new.from),
                referrals::to_organisation_id.eq(new.to),
                referrals::created_by.eq(new.created_by),
                referrals::services.eq(join(new.services)),
                referrals::field_groups.eq(join(new.groups)),
                referrals::urgency.eq(new.urgency),
                referrals::reason.eq(new.reason),
                referrals::consent_id.eq(new.consent_id),
                referrals::cross_border.eq(new.cross_border),
                referrals::state.eq(ReferralState::Sent),
                referrals::created_at.eq(new.created_at),
                referrals::respond_by.eq(new.respond_by),
                referrals::consent_form_id.eq(new.consent_form),
            ))
            .execute(conn)?;
        event(
            conn,
            new.id,
            ReferralState::Sent,
            new.created_at,
            Some(Actor {
                user: new.created_by,
                organisation: new.from,
            }),
        )?;
        Self::find(conn, new.id)
    }

    /// The referral with this id.
    pub fn find(conn: &mut DbConn, id: &ReferralId) -> Result<Referral, DbError> {
        referrals::table
            .find(id)
            .select(ReferralRow::as_select())
            .first(conn)?
            .try_into()
    }

    /// Moves a referral from `from` to `to` at `at`, with its timestamps and a timeline step.
    /// `Ok(false)`: it was no longer in `from` (a concurrent answer won), nothing changed.
    pub fn transition(
        conn: &mut DbConn,
        id: &ReferralId,
        from: ReferralState,
        to: ReferralState,
        at: NaiveDateTime,
        actor: Option<Actor<'_>>,
        decline_reason: Option<DeclineReason>,
    ) -> Result<bool, DbError> {
        let target = referrals::table
            .filter(referrals::id.eq(id))
            .filter(referrals::state.eq(from));
        let answered_by = actor.map(|a| a.user.clone());
        let changed = match to {
            ReferralState::Accepted => diesel::update(target)
                .set((
                    referrals::state.eq(to),
                    referrals::answered_at.eq(at),
                    referrals::answered_by.eq(answered_by),
                ))
                .execute(conn)?,
            ReferralState::Declined => diesel::update(target)
                .set((
                    referrals::state.eq(to),
                    referrals::answered_at.eq(at),
                    referrals::answered_by.eq(answered_by),
                    referrals::decline_reason.eq(decline_reason),
                    referrals::ended_at.eq(at),
                ))
                .execute(conn)?,
            ReferralState::InService => diesel::update(target)
                .set((referrals::state.eq(to), referrals::started_at.eq(at)))
                .execute(conn)?,
            ReferralState::Expired => diesel::update(target)
                .set((
                    referrals::state.eq(to),
                    referrals::ended_at.eq(at),
                    referrals::escalated_at.eq(at),
                ))
                .execute(conn)?,
            ReferralState::Completed | ReferralState::Withdrawn => diesel::update(target)
                .set((referrals::state.eq(to), referrals::ended_at.eq(at)))
                .execute(conn)?,
            ReferralState::Sent => 0,
        };
        if changed == 1 {
            event(conn, id, to, at, actor)?;
        }
        Ok(changed == 1)
    }

    /// Every referral of a case, oldest first.
    pub fn of_case(conn: &mut DbConn, case: &CaseId) -> Result<Vec<Referral>, DbError> {
        parse_all(
            referrals::table
                .filter(referrals::case_id.eq(case))
                .order((referrals::created_at, referrals::id))
                .select(ReferralRow::as_select())
                .load(conn)?,
        )
    }

    /// The timelines of these referrals, oldest step first.
    pub fn events(
        conn: &mut DbConn,
        ids: &[ReferralId],
    ) -> Result<HashMap<ReferralId, Vec<ReferralEvent>>, DbError> {
        let mut out: HashMap<ReferralId, Vec<ReferralEvent>> = HashMap::new();
        for step in referral_events::table
            .filter(referral_events::referral_id.eq_any(ids))
            .order((referral_events::at, referral_events::id))
            .select(ReferralEvent::as_select())
            .load(conn)?
        {
            out.entry(step.referral_id.clone()).or_default().push(step);
        }
        Ok(out)
    }

    /// The organisations taking part in these referrals (each sender and receiver), by id, in
    /// one statement: a page of referrals names its parties without a query per row.
    pub fn parties(
        conn: &mut DbConn,
        referrals: &[Referral],
    ) -> Result<HashMap<OrgId, Organisation>, DbError> {
        let mut ids: Vec<&OrgId> = referrals
            .iter()
            .flat_map(|r| [&r.from_organisation_id, &r.to_organisation_id])
            .collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(organisations::table
            .filter(organisations::id.eq_any(ids))
            .select(Organisation::as_select())
            .load::<Organisation>(conn)?
            .into_iter()
            .map(|org| (org.id.clone(), org))
            .collect())
    }

    /// The organisations holding access to a case through an accepted or in-service referral,
    /// with the groups each was shared (one entry per referral).
    pub fn access_to_case(
        conn: &mut DbConn,
        case: &CaseId,
    ) -> Result<Vec<(Organisation, Vec<FieldGroup>)>, DbError> {
        referrals::table
            .inner_join(
                organisations::table.on(organisations::id.eq(referrals::to_organisation_id)),
            )
            .filter(referrals::case_id.eq(case))
            .filter(referrals::state.eq_any([ReferralState::Accepted, ReferralState::InService]))
            .select((Organisation::as_select(), referrals::field_groups))
            .load::<(Organisation, String)>(conn)?
            .into_iter()
            .map(|(org, groups)| Ok((org, split(&groups)?)))
            .collect()
    }

    /// The cases an organisation holds through an accepted or in-service referral.
    pub fn held_cases(conn: &mut DbConn, organisation: &OrgId) -> Result<Vec<CaseId>, DbError> {
        Ok(referrals::table
            .filter(referrals::to_organisation_id.eq(organisation))
            .filter(referrals::state.eq_any([ReferralState::Accepted, ReferralState::InService]))
            .select(referrals::case_id)
            .distinct()
            .load(conn)?)
    }

    /// An organisation's inbox or outbox, newest first, optionally in one state, before the
    /// cursor (a referral id: ids are time-ordered).
    pub fn mailbox(
        conn: &mut DbConn,
        organisation: &OrgId,
        side: Mailbox,
        state: Option<ReferralState>,
        before: Option<&ReferralId>,
        limit: i64,
    ) -> Result<Vec<Referral>, DbError> {
        let mut query = referrals::table
            .select(ReferralRow::as_select())
            .into_boxed();
        query = match side {
            Mailbox::Inbox => query.filter(referrals::to_organisation_id.eq(organisation.clone())),
            Mailbox::Outbox => {
                query.filter(referrals::from_organisation_id.eq(organisation.clone()))
            }
        };
        if let Some(state) = state {
            query = query.filter(referrals::state.eq(state));
        }
        if let Some(before) = before {
            query = query.filter(referrals::id.lt(before.clone()));
        }
        parse_all(query.order(referrals::id.desc()).limit(limit).load(conn)?)
    }

    /// The referrals waiting for an answer (sent, not yet accepted, declined, withdrawn or
    /// expired): the one definition the deadline scanner and the work lists build on.
    fn awaiting_answer() -> diesel::dsl::Eq<referrals::state, ReferralState> {
        referrals::state.eq(ReferralState::Sent)
    }

    /// The SQL form of [`Referral::is_overdue`].
    fn past_due(now: NaiveDateTime) -> diesel::dsl::LtEq<referrals::respond_by, NaiveDateTime> {
        referrals::respond_by.le(now)
    }

    /// Whether a referral waiting for an answer by `respond_by` is overdue at `now`: its
    /// deadline has come. The scanner's query ([`Referral::newly_overdue`]) asks the same in
    /// SQL, and expires it.
    pub fn is_overdue(respond_by: NaiveDateTime, now: NaiveDateTime) -> bool {
        respond_by <= now
    }

    /// Referrals still waiting for an answer at `now` past their deadline, oldest due first.
    pub fn newly_overdue(
        conn: &mut DbConn,
        now: NaiveDateTime,
        limit: i64,
    ) -> Result<Vec<Referral>, DbError> {
        parse_all(
            referrals::table
                .filter(Self::awaiting_answer())
                .filter(Self::past_due(now))
                .order(referrals::respond_by)
                .limit(limit)
                .select(ReferralRow::as_select())
                .load(conn)?,
        )
    }

    /// Referrals waiting for an answer ([`Referral::awaiting_answer`]) on one side of
    /// `organisation`'s mailbox; of the outbox, only those `sent_by` sent when given.
    pub fn awaiting_answer_in(
        conn: &mut DbConn,
        organisation: &OrgId,
        side: Mailbox,
        sent_by: Option<&UserId>,
    ) -> Result<Vec<Referral>, DbError> {
        let mut query = referrals::table
            .filter(Self::awaiting_answer())
            .select(ReferralRow::as_select())
            .into_boxed();
        query = match side {
            Mailbox::Inbox => query.filter(referrals::to_organisation_id.eq(organisation.clone())),
            Mailbox::Outbox => {
                query.filter(referrals::from_organisation_id.eq(organisation.clone()))
            }
        };
        if let Some(user) = sent_by {
            query = query.filter(referrals::created_by.eq(user.clone()));
        }
        parse_all(
            query
                .order((referrals::respond_by, referrals::id))
                .load(conn)?,
        )
    }

    /// The national picture at `now`: per receiving organisation, referrals by state, those
    /// overdue, and the mean time to answer; of every referral, or (`country`) of the referrals
    /// of cases owned in one country (a coordinator's jurisdiction). Computed from states and
    /// timestamps only.
    pub fn figures(
        conn: &mut DbConn,
        now: NaiveDateTime,
        country: Option<&crate::country::CountryCode>,
    ) -> Result<HashMap<OrgId, OrganisationFigures>, DbError> {
        use crate::schema::{cases, organisations};
        // The cases in scope: every case, or those owned in `country`.
        let everywhere = country.is_none();
        let country = country.map(|c| c.as_str().to_owned()).unwrap_or_default();
        let in_scope = || {
            referrals::table.filter(
                referrals::case_id.eq_any(
                    cases::table
                        .inner_join(organisations::table)
                        .filter(
                            organisations::country
                                .eq(country.clone())
                                .or(everywhere.into_sql::<diesel::sql_types::Bool>()),
                        )
                        .select(cases::id),
                ),
            )
        };
        let mut out: HashMap<OrgId, OrganisationFigures> = HashMap::new();
        for (org, state, count) in in_scope()
            .group_by((referrals::to_organisation_id, referrals::state))
            .select((
                referrals::to_organisation_id,
                referrals::state,
                diesel::dsl::count_star(),
            ))
            .load::<(OrgId, ReferralState, i64)>(conn)?
        {
            out.entry(org).or_default().by_state.insert(state, count);
        }
        for (org, count) in in_scope()
            .filter(Self::awaiting_answer())
            .filter(Self::past_due(now))
            .group_by(referrals::to_organisation_id)
            .select((referrals::to_organisation_id, diesel::dsl::count_star()))
            .load::<(OrgId, i64)>(conn)?
        {
            out.entry(org).or_default().overdue = count;
        }
        // Timestamp arithmetic differs between the engines; the answered referrals' two times
        // are read and averaged here (a national mechanism sees thousands a year, not millions).
        let mut sums: HashMap<OrgId, (f64, i64)> = HashMap::new();
        for (org, sent, answered, state) in in_scope()
            .filter(referrals::answered_at.is_not_null())
            .select((
                referrals::to_organisation_id,
                referrals::created_at,
                referrals::answered_at,
                referrals::state,
            ))
            .load::<(OrgId, NaiveDateTime, Option<NaiveDateTime>, ReferralState)>(conn)?
        {
            let Some(answered) = answered else { continue };
            if state != ReferralState::Declined {
                out.entry(org.clone()).or_default().accepted += 1;
            }
            let entry = sums.entry(org).or_default();
            #[expect(clippy::cast_precision_loss, reason = "seconds of an answer time")]
            {
                entry.0 += (answered - sent).num_seconds() as f64;
            }
            entry.1 += 1;
        }
        for (org, (total, count)) in sums {
            let figures = out.entry(org).or_default();
            figures.answered = count;
            #[expect(clippy::cast_precision_loss, reason = "a count of referrals")]
            {
                figures.mean_answer_seconds = (count > 0).then(|| total / count as f64);
            }
        }
        Ok(out)
    }
}

/// The notifications `user` switched off.
pub fn opted_out(conn: &mut DbConn, user: &UserId) -> Result<Vec<NotificationKind>, DbError> {
    Ok(notification_opt_outs::table
        .filter(notification_opt_outs::user_id.eq(user))
        .select(notification_opt_outs::kind)
        .order(notification_opt_outs::kind)
        .load(conn)?)
}

/// Switches one notification on or off for `user`.
pub fn set_notification(
    conn: &mut DbConn,
    user: &UserId,
    kind: NotificationKind,
    on: bool,
) -> Result<(), DbError> {
    let existing = notification_opt_outs::table
        .filter(notification_opt_outs::user_id.eq(user))
        .filter(notification_opt_outs::kind.eq(kind));
    if on {
        diesel::delete(existing).execute(conn)?;
    } else if existing.count().get_result::<i64>(conn)? == 0 {
        diesel::insert_into(notification_opt_outs::table)
            .values((
                notification_opt_outs::user_id.eq(user),
                notification_opt_outs::kind.eq(kind),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// `users` without those who switched `kind` off.
pub fn wanting(
    conn: &mut DbConn,
    users: Vec<User>,
    kind: NotificationKind,
) -> Result<Vec<User>, DbError> {
    if users.is_empty() {
        return Ok(users);
    }
    let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
    let off: Vec<UserId> = notification_opt_outs::table
        .filter(notification_opt_outs::kind.eq(kind))
        .filter(notification_opt_outs::user_id.eq_any(ids))
        .select(notification_opt_outs::user_id)
        .load(conn)?;
    Ok(users.into_iter().filter(|u| !off.contains(&u.id)).collect())
}
