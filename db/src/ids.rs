//! Typed identifiers. Every id is a UUID v7 made by the application before insert (time-ordered,
//! so indexes stay compact) and stored as its canonical lower-case hyphenated text on both
//! engines. A value of these types is always a well-formed UUID: parsing is the only way in from
//! outside.

use std::fmt;
use std::str::FromStr;

/// The text did not hold a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid identifier")]
pub struct InvalidId;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered identifier.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().hyphenated().to_string())
            }

            /// The canonical text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let parsed = uuid::Uuid::try_parse(s).map_err(|_| InvalidId)?;
                Ok(Self(parsed.hyphenated().to_string()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Uuid,
                    )))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        text_column!($name, as_str);
    };
}

uuid_id!(
    /// An organisation taking part in the referral mechanism.
    OrgId
);
uuid_id!(
    /// A person who signs in to Tumaini (staff of an organisation), never a victim.
    UserId
);
uuid_id!(
    /// A case: one person's record in the referral mechanism. Its personal field groups are
    /// encrypted under a data key of its own (the vault).
    CaseId
);

uuid_id!(
    /// A version of a case's consent (or its withdrawal).
    ConsentId
);
uuid_id!(
    /// A record attached to a case: a screening, a decision, an assistance record, a note, a
    /// risk assessment.
    RecordId
);
uuid_id!(
    /// A referral from one organisation to another for named services.
    ReferralId
);
uuid_id!(
    /// An anonymous notification (an adult who did not consent to entering the NRM).
    NotificationId
);

uuid_id!(
    /// A signed-in session (the `sid` of an access token).
    SessionId
);
uuid_id!(
    /// A message in the mail outbox.
    MessageId
);
uuid_id!(
    /// An audit event.
    AuditEventId
);
uuid_id!(
    /// A webhook endpoint an organisation registered.
    WebhookId
);
uuid_id!(
    /// One queued delivery of a webhook event to one endpoint.
    WebhookDeliveryId
);
uuid_id!(
    /// A webhook event: the `webhook-id` every delivery of it carries, on every attempt.
    WebhookEventId
);
uuid_id!(
    /// A machine client (OAuth 2.0 client credentials) of an organisation.
    ClientId
);
uuid_id!(
    /// One secret of a machine client: its lookup id, written into the secret itself.
    ClientSecretId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_v7_and_round_trip() {
        let id = OrgId::generate();
        let parsed = uuid::Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(id.as_str().parse::<OrgId>().unwrap(), id);
    }

    #[test]
    fn parsing_canonicalises_and_rejects_garbage() {
        let upper = "0190F3A8-4C1B-7D2E-8F00-0123456789AB";
        assert_eq!(
            upper.parse::<UserId>().unwrap().as_str(),
            upper.to_lowercase()
        );
        assert_eq!("1 OR 1=1".parse::<UserId>(), Err(InvalidId));
        assert!(serde_json::from_str::<UserId>("\"nope\"").is_err());
    }
}
uuid_id!(
    /// A request to erase a case, waiting for (or decided by) a second person.
    ErasureRequestId
);
uuid_id!(
    /// A legal hold on a case.
    LegalHoldId
);
uuid_id!(
    /// A document of a case.
    DocumentId
);
uuid_id!(
    /// One version of a document's content (the id its encrypted chunks are bound to).
    DocumentVersionId
);
uuid_id!(
    /// A follow-up scheduled on a case.
    FollowUpId
);
uuid_id!(
    /// A transfer of a case to another organisation.
    TransferId
);
