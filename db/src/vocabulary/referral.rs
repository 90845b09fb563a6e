//! The vocabularies of referrals between organisations and of notifications. HTCDS 2.0 records
//! a referral's date, type and outcome; the states and decline reasons here
//! follow Primero's referral statuses and the ICMPD transnational referral mechanism.

use super::{FieldGroup, ServiceType};

vocabulary! {
    /// How soon the receiving organisation must answer.
    pub enum ReferralUrgency as "referral_urgency" {
        /// Immediate danger or need (default answer within 4 hours).
        Emergency = "emergency": "Emergency",
        /// Needed soon (default answer within 24 hours).
        High = "high": "High",
        /// Planned (default answer within 72 hours).
        Normal = "normal": "Normal",
    }
}

vocabulary! {
    /// Where a referral stands.
    pub enum ReferralState as "referral_state" {
        /// Waiting for the receiving organisation's answer.
        Sent = "sent": "Sent",
        /// Accepted: the receiving organisation sees the groups shared.
        Accepted = "accepted": "Accepted",
        /// Declined, with a reason.
        Declined = "declined": "Declined",
        /// Not answered by its deadline.
        Expired = "expired": "Expired",
        /// The service is being given.
        InService = "in_service": "In service",
        /// The service was given.
        Completed = "completed": "Completed",
        /// Withdrawn by the referring organisation.
        Withdrawn = "withdrawn": "Withdrawn",
    }
}

impl ReferralState {
    /// Whether the receiving organisation holds access through the referral in this state.
    pub const fn grants_access(self) -> bool {
        matches!(self, Self::Accepted | Self::InService)
    }

    /// Whether the referral is still open (not declined, expired, completed or withdrawn).
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Sent | Self::Accepted | Self::InService)
    }
}

vocabulary! {
    /// Why a receiving organisation declined a referral.
    pub enum DeclineReason as "decline_reason" {
        /// No place or no staff free now.
        NoCapacity = "no_capacity": "No capacity now",
        /// The organisation does not give the service asked for.
        ServiceNotOffered = "service_not_offered": "Service not offered",
        /// The person is outside the area the organisation serves.
        OutsideServiceArea = "outside_service_area": "Outside the service area",
        /// The organisation does not serve the person's age group or sex.
        NotEligible = "not_eligible": "Does not serve this person's age group or sex",
        /// Placing the person there would not be safe (a known trafficker nearby, say).
        SafetyConcern = "safety_concern": "Safety concern",
        /// The person did not want the service.
        PersonDeclined = "person_declined": "The person declined",
        /// Another reason, discussed directly with the referring organisation.
        Other = "other": "Other",
    }
}

vocabulary! {
    /// The notifications a user can choose to receive (each is on unless switched off).
    /// Security messages (break-glass, misuse alerts, account e-mail) and child-protection
    /// notices cannot be switched off and are not listed.
    pub enum NotificationKind as "notification_kind" {
        /// A referral arrived at your organisation.
        ReferralReceived = "referral_received": "A referral arrived for your organisation",
        /// A referral your organisation sent was answered, expired or changed state.
        ReferralAnswered = "referral_answered": "A referral your organisation sent was answered",
        /// A referral passed its response deadline unanswered (coordinators).
        ReferralOverdue = "referral_overdue": "A referral passed its deadline unanswered",
        /// An NRM identification decision is overdue (coordinators).
        DecisionOverdue = "decision_overdue": "An identification decision is overdue",
        /// A follow-up assigned to you is due tomorrow.
        FollowUpReminder = "follow_up_reminder": "A follow-up assigned to you is due tomorrow",
    }
}

impl ServiceType {
    /// The personal field groups a referral for this service may need: the most it may share.
    /// A referral names the groups it shares, within the union of its services' needs.
    pub const fn needs(self) -> &'static [FieldGroup] {
        use FieldGroup as G;
        match self {
            Self::Shelter => &[G::Identity, G::Contact, G::Health],
            Self::Health => &[G::Identity, G::Contact, G::Health],
            Self::Legal => &[G::Identity, G::Contact, G::Exploitation, G::Legal],
            Self::Interpretation => &[G::Identity],
            Self::ReturnAndReintegration => &[G::Identity, G::Contact, G::Legal, G::Health],
            Self::SocialCare => &[G::Identity, G::Contact, G::Health, G::Notes],
            Self::LabourExploitationRehabilitation | Self::SexualExploitationRehabilitation => {
                &[G::Identity, G::Contact, G::Exploitation, G::Health]
            }
            Self::Education | Self::Financial | Self::Livelihood | Self::RightsBasedTraining => {
                &[G::Identity, G::Contact]
            }
        }
    }
}
