//! The vocabularies of machine clients: the scopes a client may hold and the legal bases an
//! organisation declares for it.

vocabulary! {
    /// What a machine client may read. A fixed list, each mapped to policy actions; none
    /// reaches a personal field group.
    pub enum ClientScope as "client_scope" {
        /// Audit events, who accessed a case, the chain's verification.
        AuditRead = "audit:read": "Read the audit trail",
        /// Statistics tables and reports (with disclosure control).
        StatisticsRead = "statistics:read": "Read statistics",
        /// The national referral overview.
        ReferralsOverview = "referrals:overview": "Read the referral overview",
        /// The case list: summary columns and deadlines, never a personal group.
        CasesSummary = "cases:summary": "Read case summaries",
        /// The service directory.
        DirectoryRead = "directory:read": "Read the service directory",
    }
}

vocabulary! {
    /// The lawful basis an organisation declares for a machine client's processing (after
    /// Article 6 of the GDPR and section 7 of Uganda's Data Protection and Privacy Act).
    pub enum LegalBasis as "legal_basis" {
        /// A duty the law places on the organisation (e.g. national reporting on trafficking).
        LegalObligation = "legal_obligation": "Legal obligation",
        /// A task carried out in the public interest or in official authority.
        PublicTask = "public_task": "Public task or official authority",
        /// A data-sharing agreement between the parties.
        DataSharingAgreement = "data_sharing_agreement": "Data-sharing agreement",
        /// The vital interests of the people concerned.
        VitalInterests = "vital_interests": "Vital interests",
        /// Research or statistics with safeguards.
        ResearchStatistics = "research_statistics": "Research or statistics with safeguards",
    }
}
