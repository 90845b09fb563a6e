//! Closed vocabularies stored as stable text codes.
//!
//! A code, once shipped, never changes meaning: it is what the database stores, what the API
//! speaks and what statistics group by. Labels are English and for people; codes are for
//! machines. Where a list derives from the Human Trafficking Case Data Standard 2.0 (IOM, CC BY
//! 4.0) it says so; see the project's NOTICE.

/// The text is not a code of the named vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} code")]
pub struct UnknownCode {
    /// The vocabulary's name, e.g. `role`.
    pub vocabulary: &'static str,
}

/// Declares a vocabulary enum with its codes and labels, its text storage on both engines, its
/// serde form (the code) and its OpenAPI schema (an enum of the codes).
/// A vocabulary seen from outside: its name, each value's code and English label, and every
/// value (the web console labels and lists any vocabulary through it).
pub trait Coded: Copy + 'static {
    /// The vocabulary's name.
    const VOCABULARY: &'static str;
    /// The stable code.
    fn code(self) -> &'static str;
    /// The English label.
    fn label(self) -> &'static str;
    /// Every value, in declaration order.
    fn all() -> &'static [Self];
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident as $vocab:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal : $label:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $code)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            /// The vocabulary's name as the API and error messages use it.
            pub const VOCABULARY: &'static str = $vocab;

            /// The stable code stored and exchanged.
            pub const fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            /// The English label for people.
            pub const fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }
        }

        impl $crate::vocabulary::Coded for $name {
            const VOCABULARY: &'static str = $vocab;

            fn code(self) -> &'static str {
                $name::code(self)
            }

            fn label(self) -> &'static str {
                $name::label(self)
            }

            fn all() -> &'static [Self] {
                $name::ALL
            }
        }

        // By hand: the derive cannot see through the macro's `serde(rename = $code)` and would
        // document the Rust variant names instead of the codes the API speaks.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($code),+]))
                    .description(Some(concat!("Vocabulary `", $vocab, "` (codes; labels at /api/v1/vocabularies).")))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocabulary::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok(Self::$variant),)+
                    _ => Err($crate::vocabulary::UnknownCode { vocabulary: $vocab }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }

        text_column!($name, code);
    };
}

pub(crate) use vocabulary;

mod audit;
mod case;
mod casework;
mod client;
mod document;
mod lifecycle;
mod referral;
pub mod region;
mod webhook;
pub use audit::AuditAction;
pub use case::*;
pub use casework::{
    CaseAccessMode, FollowUpKind, FollowUpStatus, SenderKeeps, TransferDeclineReason,
    TransferReason, TransferState,
};
pub use client::{ClientScope, LegalBasis};
pub use document::{DocumentKind, DocumentStorage, OrphanReason};
pub use lifecycle::*;
pub use referral::*;
pub use webhook::WebhookEventType;

vocabulary! {
    /// What a user may do, by the job they hold. Every user has exactly one.
    pub enum Role as "role" {
        /// Police, immigration and border officials, labour inspectors, CSO outreach.
        FirstResponder = "first_responder": "First responder",
        /// Shelter, CSO, health or legal service staff.
        CaseWorker = "case_worker": "Case worker",
        /// Head of a service organisation.
        Supervisor = "supervisor": "Supervisor",
        /// Officers who decide identification (reasonable and conclusive grounds).
        CompetentAuthority = "competent_authority": "Competent authority",
        /// The national coordination office (in Uganda, COPTIP).
        Coordinator = "coordinator": "National coordinator",
        /// System administrator: organisations, users and keys, never case content.
        Admin = "admin": "System administrator",
    }
}

vocabulary! {
    /// The kind of an organisation; policies and consent name recipients by kind (a victim may
    /// consent to share with a shelter but not with the police). Extends HTCDS 2.0 `org_Type`
    /// with the kinds the NRM distinguishes.
    pub enum OrganisationKind as "organisation_kind" {
        Shelter = "shelter": "Shelter",
        Ngo = "ngo": "Non-governmental organisation",
        Police = "police": "Police",
        Immigration = "immigration": "Immigration or border service",
        LabourInspectorate = "labour_inspectorate": "Labour inspectorate",
        Health = "health": "Health service",
        LegalAid = "legal_aid": "Legal aid",
        ChildProtection = "child_protection": "Child protection",
        CompetentAuthority = "competent_authority": "Competent authority",
        CoordinationOffice = "coordination_office": "National coordination office",
        Other = "other": "Other",
    }
}

impl OrganisationKind {
    /// Law enforcement never sees a personal field group without the victim's explicit
    /// law-enforcement consent; these are the kinds that rule names.
    pub const fn is_law_enforcement(self) -> bool {
        matches!(
            self,
            Self::Police | Self::Immigration | Self::LabourInspectorate
        )
    }
}

vocabulary! {
    /// Whether a user account can be used.
    pub enum UserStatus as "user_status" {
        /// Created; the one-time password or invitation has not been used yet.
        Invited = "invited": "Invited",
        /// In use.
        Active = "active": "Active",
        /// Switched off by an administrator; every session ends.
        Disabled = "disabled": "Disabled",
        /// Invited by someone who may not read cases, to a role that reads them: the
        /// invitation is sent once a second person approves.
        AwaitingApproval = "awaiting_approval": "Awaiting approval",
    }
}

vocabulary! {
    /// Services an organisation offers and a referral asks for: HTCDS 2.0 support plan types
    /// (`spl_Type`) plus the NRM's shelter, interpretation, and return and reintegration.
    pub enum ServiceType as "service_type" {
        Education = "education": "Education",
        Financial = "financial": "Financial",
        Health = "health": "Health",
        LabourExploitationRehabilitation = "labour_exploitation_rehabilitation": "Labour exploitation rehabilitation",
        Legal = "legal": "Legal",
        Livelihood = "livelihood": "Livelihood",
        RightsBasedTraining = "rights_based_training": "Rights-based training",
        SexualExploitationRehabilitation = "sexual_exploitation_rehabilitation": "Sexual exploitation rehabilitation",
        SocialCare = "social_care": "Social care",
        Shelter = "shelter": "Shelter",
        Interpretation = "interpretation": "Interpretation",
        ReturnAndReintegration = "return_and_reintegration": "Return and reintegration",
    }
}

vocabulary! {
    /// Whether a listed service can take someone now (the service directory).
    pub enum Capacity as "capacity" {
        /// Taking new people.
        Available = "available": "Available",
        /// A few places left, or a waiting time: ask first.
        Limited = "limited": "Limited",
        /// Not taking anyone now.
        Full = "full": "Full",
    }
}

vocabulary! {
    /// Whom a listed service serves, by sex.
    pub enum ServesSex as "serves_sex" {
        /// Anyone.
        Any = "any": "Anyone",
        /// Women and girls only.
        Female = "female": "Women and girls",
        /// Men and boys only.
        Male = "male": "Men and boys",
    }
}

vocabulary! {
    /// The unit of consent, access and encryption: what a victim agrees to
    /// share, what a policy grants, and what the vault encrypts as one ciphertext.
    pub enum FieldGroup as "field_group" {
        /// Coarse, plaintext fields safe for statistics; never encrypted.
        Summary = "summary": "Summary",
        /// Names, aliases, date of birth, identity documents, photographs.
        Identity = "identity": "Identity",
        /// Phones, addresses, current location, emergency contact.
        Contact = "contact": "Contact",
        /// Narrative, recruitment and perpetrator details, places.
        Exploitation = "exploitation": "Exploitation",
        /// Physical and mental health, disability, pregnancy.
        Health = "health": "Health",
        /// Immigration status, proceedings, witness status, compensation.
        Legal = "legal": "Legal",
        /// Case notes, screening answers, risk assessments, assistance plan details.
        Notes = "notes": "Notes",
    }
}

impl FieldGroup {
    /// Whether the group holds personal data and is therefore stored encrypted.
    pub const fn is_encrypted(self) -> bool {
        !matches!(self, Self::Summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;
    use std::str::FromStr;

    fn round_trips<T>(all: &[T])
    where
        T: Copy + fmt::Display + FromStr + PartialEq + fmt::Debug + serde::Serialize,
        <T as FromStr>::Err: fmt::Debug,
    {
        for value in all {
            let code = value.to_string();
            assert_eq!(code.parse::<T>().unwrap(), *value);
            assert_eq!(
                serde_json::to_value(value).unwrap(),
                serde_json::json!(code)
            );
        }
    }

    #[test]
    fn codes_round_trip_through_text_and_json() {
        round_trips(Role::ALL);
        round_trips(OrganisationKind::ALL);
        round_trips(UserStatus::ALL);
        round_trips(ServiceType::ALL);
        round_trips(FieldGroup::ALL);
        round_trips(ReferralState::ALL);
        round_trips(DeclineReason::ALL);
        round_trips(NotificationKind::ALL);
    }

    #[test]
    fn unknown_codes_are_refused() {
        assert_eq!(
            "root".parse::<Role>(),
            Err(UnknownCode { vocabulary: "role" })
        );
        assert!("Admin".parse::<Role>().is_err(), "codes are case-sensitive");
    }
}
