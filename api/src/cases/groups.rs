//! The personal field groups as typed values. A group is validated at the
//! edge, serialised to JSON, and encrypted by the vault as one ciphertext; its plaintext only
//! ever sits in the vault's zeroising buffers and in the response that delivers it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tumaini_db::country::CountryCode;
use tumaini_db::vault::{IndexTerms, SecretBytes, SecretString};
use tumaini_db::vocabulary::FieldGroup;
use utoipa::ToSchema;

use crate::http::{ApiError, ProblemType};

/// An identity document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDocument {
    /// `passport`, `national_id`, `refugee_id`, `birth_certificate`, `other`.
    #[schema(example = "passport")]
    pub kind: String,
    /// The document number.
    pub number: String,
    /// Issuing country.
    pub issuing_country: Option<CountryCode>,
}

/// A parent or guardian of a child.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Guardian {
    /// Name.
    pub name: String,
    /// Relationship to the child.
    pub relationship: String,
    /// Phone.
    pub phone: Option<String>,
}

/// `identity`: names, aliases, date of birth, documents, the guardian of a child.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityGroup {
    /// Given names.
    pub given_names: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Other names the person is known by.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Identity documents.
    #[serde(default)]
    pub documents: Vec<IdentityDocument>,
    /// Guardian (children).
    pub guardian: Option<Guardian>,
    /// Languages spoken (ISO 639 codes).
    #[serde(default)]
    pub languages: Vec<String>,
}

/// An emergency contact.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    /// Name.
    pub name: String,
    /// Relationship.
    pub relationship: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// `contact`: phones, addresses, current location, emergency contact.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactGroup {
    /// Phone numbers.
    #[serde(default)]
    pub phones: Vec<String>,
    /// Postal or physical address.
    pub address: Option<String>,
    /// Where the person is now.
    pub current_location: Option<String>,
    /// Emergency contact.
    pub emergency_contact: Option<EmergencyContact>,
}

/// `exploitation`: the person's account.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExploitationGroup {
    /// The account in the person's words, as recorded.
    pub narrative: Option<String>,
    /// How they were recruited.
    pub recruitment_details: Option<String>,
    /// What is known of the perpetrators.
    pub perpetrator_details: Option<String>,
    /// Places of recruitment, transit and exploitation.
    #[serde(default)]
    pub places: Vec<String>,
}

/// `health`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthGroup {
    /// Physical health.
    pub physical_health: Option<String>,
    /// Mental health.
    pub mental_health: Option<String>,
    /// Disability.
    pub disability: Option<String>,
    /// Pregnant.
    pub pregnant: Option<bool>,
}

/// `legal`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalGroup {
    /// Immigration status.
    pub immigration_status: Option<String>,
    /// Legal proceedings.
    pub legal_proceedings: Option<String>,
    /// Witness status.
    pub witness_status: Option<String>,
    /// Compensation claims.
    pub compensation: Option<String>,
}

/// `notes`: the case's running summary note (case notes, screenings, risk and plans are
/// records of their own, in the same group).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotesGroup {
    /// A summary note.
    pub summary_note: Option<String>,
}

/// Personal groups written with a case or an update: only those present are written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalGroups {
    /// Identity.
    pub identity: Option<IdentityGroup>,
    /// Contact.
    pub contact: Option<ContactGroup>,
    /// Exploitation.
    pub exploitation: Option<ExploitationGroup>,
    /// Health.
    pub health: Option<HealthGroup>,
    /// Legal.
    pub legal: Option<LegalGroup>,
    /// Notes.
    pub notes: Option<NotesGroup>,
}

/// Longest text a field may hold.
const MAX_TEXT: usize = 20_000;
/// Most items a list may hold.
const MAX_ITEMS: usize = 50;

/// Checks every string and list of a JSON value: bounded, and no control characters but line
/// breaks and tabs. The message names the field, never its value.
pub fn check_text(value: &serde_json::Value, path: &str) -> Result<(), ApiError> {
    use serde_json::Value;
    let bad = |what: &str| ApiError::problem(ProblemType::InvalidBody, format!("`{path}` {what}"));
    match value {
        Value::String(text) => {
            if text.chars().count() > MAX_TEXT {
                return Err(bad(&format!("is longer than {MAX_TEXT} characters")));
            }
            if text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                return Err(bad("holds control characters"));
            }
            Ok(())
        }
        Value::Array(items) => {
            if items.len() > MAX_ITEMS {
                return Err(bad(&format!("holds more than {MAX_ITEMS} items")));
            }
            items.iter().try_for_each(|item| check_text(item, path))
        }
        Value::Object(fields) => fields
            .iter()
            .try_for_each(|(name, item)| check_text(item, &format!("{path}.{name}"))),
        _ => Ok(()),
    }
}

impl PersonalGroups {
    /// Each present group with its JSON plaintext.
    pub fn plaintexts(&self) -> Result<Vec<(FieldGroup, SecretBytes)>, ApiError> {
        fn seal<T: Serialize>(
            out: &mut Vec<(FieldGroup, SecretBytes)>,
            group: FieldGroup,
            value: Option<&T>,
        ) -> Result<(), ApiError> {
            if let Some(value) = value {
                let json = serde_json::to_value(value)
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("serialising a group: {e}")))?;
                check_text(&json, group.code())?;
                let bytes = serde_json::to_vec(&json)
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("serialising a group: {e}")))?;
                out.push((group, SecretBytes::new(bytes)));
            }
            Ok(())
        }
        let mut out = Vec::new();
        seal(&mut out, FieldGroup::Identity, self.identity.as_ref())?;
        seal(&mut out, FieldGroup::Contact, self.contact.as_ref())?;
        seal(
            &mut out,
            FieldGroup::Exploitation,
            self.exploitation.as_ref(),
        )?;
        seal(&mut out, FieldGroup::Health, self.health.as_ref())?;
        seal(&mut out, FieldGroup::Legal, self.legal.as_ref())?;
        seal(&mut out, FieldGroup::Notes, self.notes.as_ref())?;
        Ok(out)
    }
}

impl IdentityGroup {
    /// What the blind indexes are computed from: full names, date of birth, document numbers.
    pub fn index_terms(&self) -> IndexTerms {
        let full = [self.given_names.as_deref(), self.family_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let mut names: Vec<SecretString> = Vec::new();
        if !full.is_empty() {
            names.push(SecretString::new(full));
        }
        names.extend(
            self.aliases
                .iter()
                .filter(|a| !a.trim().is_empty())
                .map(|a| SecretString::new(a.trim())),
        );
        IndexTerms {
            names,
            date_of_birth: self.date_of_birth,
            document_numbers: self
                .documents
                .iter()
                .map(|d| SecretString::new(d.number.trim()))
                .collect(),
        }
    }
}

/// Parses a decrypted group for the response (it was validated when written).
pub fn to_json(plain: &SecretBytes) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(plain.expose())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a stored group is not JSON: {e}")))
}
