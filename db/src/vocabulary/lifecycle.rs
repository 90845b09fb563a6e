//! The data's lifetime and the person's rights: erasure, legal holds, restriction of
//! processing, rectification.

vocabulary! {
    /// What an erasure removes.
    pub enum ErasureScope as "erasure_scope" {
        /// Everything personal; the coarse summary stays, so the case is still counted.
        PersonalData = "personal_data": "Personal data (the coarse summary stays for statistics)",
        /// The whole record: the summary too. Only a tombstone (id, reference, owner) remains
        /// so the audit trail's events about it keep their meaning.
        WholeRecord = "whole_record": "The whole record",
    }
}

vocabulary! {
    /// Why a case is erased.
    pub enum ErasureReason as "erasure_reason" {
        /// The person asked for their data to be erased.
        PersonsRequest = "persons_request": "The person asked for erasure",
        /// The person withdrew consent and asked for erasure with it.
        ConsentWithdrawn = "consent_withdrawn": "Consent withdrawn, with erasure",
        /// The retention period ended.
        EndOfRetention = "end_of_retention": "End of the retention period",
        /// The case should never have been recorded.
        RecordedInError = "recorded_in_error": "Recorded in error",
    }
}

vocabulary! {
    /// Where an erasure request stands.
    pub enum ErasureState as "erasure_state" {
        /// Waiting for a second person.
        Pending = "pending": "Waiting for approval",
        /// Approved and carried out.
        Executed = "executed": "Executed",
        /// Refused by the second person.
        Refused = "refused": "Refused",
        /// Withdrawn by the requester's organisation.
        Cancelled = "cancelled": "Cancelled",
        /// Nobody approved it in time.
        Expired = "expired": "Expired unapproved",
    }
}

vocabulary! {
    /// Why a case is held from erasure.
    pub enum LegalHoldReason as "legal_hold_reason" {
        /// A prosecution in progress.
        Prosecution = "prosecution": "Prosecution in progress",
        /// A criminal investigation.
        Investigation = "investigation": "Investigation in progress",
        /// A court or tribunal ordered the records kept.
        CourtOrder = "court_order": "Court order",
        /// A civil claim (compensation, say).
        CivilClaim = "civil_claim": "Civil claim or compensation proceedings",
        /// A regulator's inquiry (the data protection authority, say).
        RegulatorInquiry = "regulator_inquiry": "Regulator's inquiry",
    }
}

vocabulary! {
    /// Why processing of a case is restricted.
    pub enum RestrictionReason as "restriction_reason" {
        /// The person contests the accuracy of the data.
        AccuracyContested = "accuracy_contested": "Accuracy contested",
        /// The person objects to the processing.
        Objection = "objection": "Objection to processing",
        /// The processing may be unlawful; the person asked for restriction, not erasure.
        UnlawfulProcessing = "unlawful_processing": "Processing possibly unlawful",
        /// The data is kept only for a legal claim.
        LegalClaim = "legal_claim": "Kept for a legal claim",
    }
}

vocabulary! {
    /// Why a personal field group was changed (rectification, Uganda DPPA 2019 s.16, GDPR
    /// art. 16): given, optionally, with a case update and kept with the group's new version.
    pub enum RectificationReason as "rectification_reason" {
        /// The earlier value was inaccurate.
        Correction = "correction": "Correction of inaccurate data",
        /// The earlier value was incomplete.
        Completion = "completion": "Completion of incomplete data",
        /// The person asked for the change.
        PersonRequest = "person_request": "At the person's request",
        /// The facts changed since (a new address, say).
        Update = "update": "Update: the facts changed",
    }
}
