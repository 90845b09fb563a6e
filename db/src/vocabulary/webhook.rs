//! The events an organisation's webhook endpoints may subscribe to. A payload of any of them
//! holds ids, references, types and times, never a personal value.

vocabulary! {
    /// What a webhook event reports.
    pub enum WebhookEventType as "webhook_event_type" {
        /// A referral arrived (told to the receiving organisation).
        ReferralReceived = "referral.received": "Referral received",
        /// A referral was accepted (told to the referring organisation).
        ReferralAccepted = "referral.accepted": "Referral accepted",
        /// A referral was declined (told to the referring organisation).
        ReferralDeclined = "referral.declined": "Referral declined",
        /// A referral went unanswered past its deadline (told to the referring organisation).
        ReferralExpired = "referral.expired": "Referral expired",
        /// An NRM decision on a case is overdue (told to the case's owning organisation).
        NrmDecisionOverdue = "nrm.decision_overdue": "NRM decision overdue",
        /// A possible insider misuse was flagged (told to the coordination offices of the
        /// reader's country).
        AuditMisuseAlert = "audit.misuse_alert": "Possible misuse flagged",
    }
}
