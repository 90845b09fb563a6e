//! Daily case work: who inside an organisation reads its cases, follow-ups, and transfers of a
//! case between organisations.

vocabulary! {
    /// Who inside an organisation reads the personal groups of the cases it owns or serves.
    pub enum CaseAccessMode as "case_access" {
        /// The staff assigned to a case and the organisation's supervisors (the default).
        NeedToKnow = "need_to_know": "Assigned staff and supervisors",
        /// Every case worker and supervisor of the organisation (for a small organisation).
        AllStaff = "all_staff": "Every case worker and supervisor",
    }
}

vocabulary! {
    /// What a follow-up is.
    pub enum FollowUpKind as "follow_up_kind" {
        /// A home or shelter visit.
        Visit = "visit": "Visit",
        /// A telephone call.
        Call = "call": "Call",
        /// A hearing or other court date.
        CourtDate = "court_date": "Court date",
        /// A medical appointment.
        MedicalAppointment = "medical_appointment": "Medical appointment",
        /// A review of the case, the plan or the risk.
        Review = "review": "Review",
    }
}

vocabulary! {
    /// Where a follow-up stands.
    pub enum FollowUpStatus as "follow_up_status" {
        /// Still to do.
        Scheduled = "scheduled": "Scheduled",
        /// Done.
        Done = "done": "Done",
        /// Called off.
        Cancelled = "cancelled": "Cancelled",
    }
}

vocabulary! {
    /// Why a case is transferred to another organisation.
    pub enum TransferReason as "transfer_reason" {
        /// The person moved to another shelter or place.
        PersonMoved = "person_moved": "The person moved",
        /// The person returns to their home country for reintegration.
        ReturnHome = "return_home": "Return home for reintegration",
        /// Another organisation offers the specialised care the person needs.
        SpecialisedCare = "specialised_care": "Specialised care elsewhere",
        /// The organisation has no capacity to continue.
        Capacity = "capacity": "No capacity to continue",
        /// Another reason.
        Other = "other": "Other",
    }
}

vocabulary! {
    /// What the sending organisation keeps of a case it transferred.
    pub enum SenderKeeps as "sender_keeps" {
        /// Its coarse summary, read-only.
        Summary = "summary": "The summary, read-only",
        /// Nothing.
        Nothing = "nothing": "Nothing",
    }
}

vocabulary! {
    /// Where a transfer stands.
    pub enum TransferState as "transfer_state" {
        /// Waiting for the receiving organisation's answer.
        Requested = "requested": "Requested",
        /// Accepted: the receiver owns the case.
        Accepted = "accepted": "Accepted",
        /// Declined by the receiver.
        Declined = "declined": "Declined",
        /// Withdrawn by the sender.
        Withdrawn = "withdrawn": "Withdrawn",
    }
}

vocabulary! {
    /// Why a receiving organisation declined a transfer.
    pub enum TransferDeclineReason as "transfer_decline_reason" {
        /// No room or staff.
        NoCapacity = "no_capacity": "No capacity",
        /// The organisation does not offer what the person needs.
        NotOurService = "not_our_service": "Not a service we offer",
        /// The person is not in the organisation's area.
        PersonNotHere = "person_not_here": "The person is not in our area",
        /// Another reason.
        Other = "other": "Other",
    }
}
