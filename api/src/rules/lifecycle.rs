//! The two dimensions of a case as pure state machines: identification
//! (only the competent authority decides) and the case status (closure needs a supervisor's
//! approval). They never depend on each other: assistance never waits for identification.

use chrono::NaiveDateTime;
use tumaini_db::vocabulary::{CaseStatus, IdentificationDecision, IdentificationStage};

/// Why a transition was refused. Each is answered as a 409 problem naming the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Screening is over once the case is in the NRM.
    #[error("the case is already in the NRM ({0}); it is not screened again")]
    AlreadyInNrm(IdentificationStage),
    /// Only a presumed victim is referred into the NRM.
    #[error("only a case presumed a victim is referred into the NRM (it is {0})")]
    NotPresumed(IdentificationStage),
    /// The decision does not follow from the stage.
    #[error("a {decision} decision does not follow a case at stage {stage}")]
    DecisionOutOfOrder {
        /// The stage.
        stage: IdentificationStage,
        /// The decision tried.
        decision: IdentificationDecision,
    },
    /// The recovery and reflection period is still running.
    #[error(
        "the recovery and reflection period runs until {0} UTC; the conclusive decision comes after it"
    )]
    RecoveryPeriodRunning(NaiveDateTime),
    /// The status change does not follow from the status.
    #[error("a case that is {from} cannot {change}")]
    StatusOutOfOrder {
        /// The status.
        from: CaseStatus,
        /// What was tried.
        change: &'static str,
    },
    /// Closure already requested.
    #[error("closure was already requested and awaits a supervisor")]
    ClosurePending,
    /// No closure to approve or reject.
    #[error("no closure was requested")]
    NoClosureRequested,
    /// Records are added only to a case in progress.
    #[error("the case is {0}; reopen it to record more")]
    CaseNotInProgress(CaseStatus),
}

/// The stage after a screening whose presumption is `presumed`.
pub fn after_screening(
    stage: IdentificationStage,
    presumed: bool,
) -> Result<IdentificationStage, Refusal> {
    use IdentificationStage as S;
    match stage {
        S::NotScreened | S::ScreenedNotPresumed | S::Presumed => Ok(if presumed {
            S::Presumed
        } else {
            S::ScreenedNotPresumed
        }),
        other => Err(Refusal::AlreadyInNrm(other)),
    }
}

/// The stage after a referral into the NRM.
pub fn refer_to_nrm(stage: IdentificationStage) -> Result<IdentificationStage, Refusal> {
    match stage {
        IdentificationStage::Presumed => Ok(IdentificationStage::ReferredToNrm),
        other => Err(Refusal::NotPresumed(other)),
    }
}

/// The stage after a decision of the competent authority at `now`. A conclusive decision comes
/// only after the recovery and reflection period (`recovery_ends`).
pub fn decide(
    stage: IdentificationStage,
    decision: IdentificationDecision,
    now: NaiveDateTime,
    recovery_ends: Option<NaiveDateTime>,
) -> Result<IdentificationStage, Refusal> {
    use IdentificationDecision as D;
    use IdentificationStage as S;
    let follows = match decision {
        D::ReasonableGroundsPositive | D::ReasonableGroundsNegative | D::NotAVictim => {
            stage == S::ReferredToNrm
        }
        D::ConclusiveGroundsPositive | D::ConclusiveGroundsNegative => {
            stage == S::ReasonableGroundsPositive
        }
    };
    if !follows {
        return Err(Refusal::DecisionOutOfOrder { stage, decision });
    }
    if matches!(
        decision,
        D::ConclusiveGroundsPositive | D::ConclusiveGroundsNegative
    ) && let Some(ends) = recovery_ends
        && now < ends
    {
        return Err(Refusal::RecoveryPeriodRunning(ends));
    }
    Ok(decision.stage())
}

/// A change of case status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Work on the case begins.
    Activate,
    /// The person moves on to reintegration.
    StartReintegration,
    /// The person withdraws from assistance.
    Withdraw,
    /// A case worker asks to close the case.
    RequestClosure,
    /// A supervisor approves the closure.
    ApproveClosure,
    /// A supervisor sends it back.
    RejectClosure,
    /// A closed or withdrawn case is taken up again.
    Reopen,
}

impl StatusChange {
    const fn verb(self) -> &'static str {
        match self {
            Self::Activate => "be activated",
            Self::StartReintegration => "move to reintegration",
            Self::Withdraw => "be withdrawn",
            Self::RequestClosure => "be put forward for closure",
            Self::ApproveClosure => "be closed",
            Self::RejectClosure => "have its closure rejected",
            Self::Reopen => "be reopened",
        }
    }
}

/// The outcome of a status change: the new status, and whether a closure request is pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusState {
    /// The status.
    pub status: CaseStatus,
    /// A closure request awaits a supervisor.
    pub closure_pending: bool,
}

/// Applies `change` to `state`.
pub fn change_status(state: StatusState, change: StatusChange) -> Result<StatusState, Refusal> {
    use CaseStatus as C;
    use StatusChange as X;
    let in_progress = matches!(state.status, C::Open | C::Active | C::Reintegration);
    let refused = || Refusal::StatusOutOfOrder {
        from: state.status,
        change: change.verb(),
    };
    let next = |status| StatusState {
        status,
        closure_pending: false,
    };
    match change {
        X::Activate if state.status == C::Open => Ok(next(C::Active)),
        X::StartReintegration if state.status == C::Active => Ok(StatusState {
            status: C::Reintegration,
            ..state
        }),
        X::Withdraw if in_progress => Ok(next(C::Withdrawn)),
        X::RequestClosure if in_progress && state.closure_pending => Err(Refusal::ClosurePending),
        X::RequestClosure if in_progress => Ok(StatusState {
            closure_pending: true,
            ..state
        }),
        X::ApproveClosure | X::RejectClosure if in_progress && !state.closure_pending => {
            Err(Refusal::NoClosureRequested)
        }
        X::ApproveClosure if in_progress => Ok(next(C::Closed)),
        X::RejectClosure if in_progress => Ok(StatusState {
            closure_pending: false,
            ..state
        }),
        X::Reopen if matches!(state.status, C::Closed | C::Withdrawn) => Ok(next(C::Active)),
        _ => Err(refused()),
    }
}

/// Whether records (assistance, notes, risk, plans, screening) may be added; an open case
/// becomes active with its first assistance record.
pub fn accepts_records(status: CaseStatus) -> Result<(), Refusal> {
    match status {
        CaseStatus::Open | CaseStatus::Active | CaseStatus::Reintegration => Ok(()),
        other => Err(Refusal::CaseNotInProgress(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseStatus as C;
    use IdentificationDecision as D;
    use IdentificationStage as S;
    use StatusChange as X;

    fn at(day: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, day)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
    }

    #[test]
    fn identification_follows_the_nrm() {
        assert_eq!(after_screening(S::NotScreened, true), Ok(S::Presumed));
        assert_eq!(
            after_screening(S::NotScreened, false),
            Ok(S::ScreenedNotPresumed)
        );
        assert_eq!(
            after_screening(S::ScreenedNotPresumed, true),
            Ok(S::Presumed)
        );
        assert_eq!(
            after_screening(S::ReferredToNrm, true),
            Err(Refusal::AlreadyInNrm(S::ReferredToNrm))
        );
        assert_eq!(refer_to_nrm(S::Presumed), Ok(S::ReferredToNrm));
        assert_eq!(
            refer_to_nrm(S::NotScreened),
            Err(Refusal::NotPresumed(S::NotScreened))
        );
        assert_eq!(
            decide(S::ReferredToNrm, D::ReasonableGroundsPositive, at(1), None),
            Ok(S::ReasonableGroundsPositive)
        );
        assert_eq!(
            decide(S::ReferredToNrm, D::NotAVictim, at(1), None),
            Ok(S::NotAVictim)
        );
        assert!(matches!(
            decide(S::Presumed, D::ReasonableGroundsPositive, at(1), None),
            Err(Refusal::DecisionOutOfOrder { .. })
        ));
        assert!(matches!(
            decide(S::ReferredToNrm, D::ConclusiveGroundsPositive, at(1), None),
            Err(Refusal::DecisionOutOfOrder { .. })
        ));
        assert_eq!(
            decide(
                S::ReasonableGroundsPositive,
                D::ConclusiveGroundsPositive,
                at(1),
                Some(at(20))
            ),
            Err(Refusal::RecoveryPeriodRunning(at(20)))
        );
        assert_eq!(
            decide(
                S::ReasonableGroundsPositive,
                D::ConclusiveGroundsNegative,
                at(21),
                Some(at(20))
            ),
            Ok(S::ConclusiveGroundsNegative)
        );
        assert!(
            decide(
                S::ReasonableGroundsNegative,
                D::ConclusiveGroundsPositive,
                at(21),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn every_status_change_from_every_status() {
        let allowed = [
            (C::Open, false, X::Activate, Some((C::Active, false))),
            (
                C::Active,
                false,
                X::StartReintegration,
                Some((C::Reintegration, false)),
            ),
            (C::Open, false, X::Withdraw, Some((C::Withdrawn, false))),
            (C::Active, true, X::Withdraw, Some((C::Withdrawn, false))),
            (
                C::Reintegration,
                false,
                X::RequestClosure,
                Some((C::Reintegration, true)),
            ),
            (
                C::Reintegration,
                true,
                X::ApproveClosure,
                Some((C::Closed, false)),
            ),
            (C::Active, true, X::RejectClosure, Some((C::Active, false))),
            (C::Closed, false, X::Reopen, Some((C::Active, false))),
            (C::Withdrawn, false, X::Reopen, Some((C::Active, false))),
        ];
        for (status, closure_pending, change, expected) in allowed {
            let got = change_status(
                StatusState {
                    status,
                    closure_pending,
                },
                change,
            );
            assert_eq!(
                got.ok().map(|s| (s.status, s.closure_pending)),
                expected,
                "{status} {change:?}"
            );
        }
        let state = |status, closure_pending| StatusState {
            status,
            closure_pending,
        };
        assert_eq!(
            change_status(state(C::Active, true), X::RequestClosure),
            Err(Refusal::ClosurePending)
        );
        assert_eq!(
            change_status(state(C::Active, false), X::ApproveClosure),
            Err(Refusal::NoClosureRequested)
        );
        for status in [C::Closed, C::Withdrawn] {
            for change in [
                X::Activate,
                X::StartReintegration,
                X::Withdraw,
                X::RequestClosure,
                X::ApproveClosure,
                X::RejectClosure,
            ] {
                assert!(
                    change_status(state(status, false), change).is_err(),
                    "{status} {change:?}"
                );
            }
        }
        for status in [C::Open, C::Active, C::Reintegration] {
            assert!(change_status(state(status, false), X::Reopen).is_err());
        }
        assert!(change_status(state(C::Open, false), X::StartReintegration).is_err());
        assert!(change_status(state(C::Reintegration, false), X::Activate).is_err());
        assert!(accepts_records(C::Open).is_ok());
        assert_eq!(
            accepts_records(C::Closed),
            Err(Refusal::CaseNotInProgress(C::Closed))
        );
    }
}
