//! Blind indexes: exact look-up and duplicate detection without plaintext in the database.
//!
//! A blind index value is HMAC-SHA256 over a normalised value (see `normalise.rs`), under a key
//! derived for that index alone with HKDF-SHA256 from the blind-index root key, truncated to a
//! few bits. Truncation is deliberate (CipherSweet's advice): with `b` bits among `N` cases a
//! look-up returns about `N / 2^b` unrelated candidates, so an index value shared by two cases
//! does not prove they are the same person, and a hit is only a candidate the caller confirms
//! by decrypting.
//!
//! | index | input | bits | false candidates per look-up at 10^5 / 10^6 cases |
//! |---|---|---|---|
//! | `name_dob` | sorted normalised name tokens, `|`, ISO date of birth | 20 | 0.1 / 1 |
//! | `document` | normalised document number, separators removed | 20 | 0.1 / 1 |
//! | `name_token` | phonetic key of each name token (one row per token) | 16 | 1.5 / 15 |
//!
//! 20 bits keep a look-up cheap (one or two decryptions to confirm) while every case in a
//! national registry of a million has, on average, another case sharing its value by chance.

use chrono::NaiveDate;
use hkdf::Hkdf;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::VaultError;
use super::normalise::{normalise_document, normalise_name, phonetic_keys};
use super::provider::KeyVersion;
use super::secret::{KeyMaterial, SecretBytes, SecretString};

crate::vocabulary::vocabulary! {
    /// The blind indexes the vault keeps.
    pub enum IndexName as "blind_index" {
        /// Full name and date of birth: duplicate registration of one person.
        NameDob = "name_dob": "Full name and date of birth",
        /// An identity document's number.
        Document = "document": "Identity-document number",
        /// Phonetic key of each name token: spelling variants of a name.
        NameToken = "name_token": "Phonetic name token",
    }
}

impl IndexName {
    /// How many leading bits of the HMAC are kept (see the module documentation).
    pub const fn bits(self) -> usize {
        match self {
            Self::NameDob | Self::Document => 20,
            Self::NameToken => 16,
        }
    }
}

/// A truncated HMAC as stored in `blind_indexes.value`. Not plaintext, but a linkage token, so
/// its `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlindIndexValue(Vec<u8>);

impl BlindIndexValue {
    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Wraps stored bytes.
    pub fn from_stored(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for BlindIndexValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlindIndexValue({} bytes)", self.0.len())
    }
}

/// The per-index HMAC keys of one blind-index key version.
#[derive(Debug)]
pub struct IndexKeys {
    version: KeyVersion,
    name_dob: KeyMaterial,
    document: KeyMaterial,
    name_token: KeyMaterial,
}

impl IndexKeys {
    /// Derives one key per index from the root key with HKDF-SHA256: salt names the scheme,
    /// info names the index and the version, so the keys are independent of one another.
    pub fn derive(root: &KeyMaterial, version: KeyVersion) -> Result<Self, VaultError> {
        let hkdf = Hkdf::<Sha256>::new(Some(b"tumaini blind index v1"), root.expose());
        let derive = |name: IndexName| -> Result<KeyMaterial, VaultError> {
            let info = format!("tumaini/blind-index/{}/v{}", name.code(), version.get());
            let mut okm = [0u8; 32];
            hkdf.expand(info.as_bytes(), &mut okm)
                .map_err(|_| VaultError::Malformed)?;
            Ok(KeyMaterial::from_bytes(okm))
        };
        Ok(Self {
            version,
            name_dob: derive(IndexName::NameDob)?,
            document: derive(IndexName::Document)?,
            name_token: derive(IndexName::NameToken)?,
        })
    }

    /// The blind-index key version these keys belong to.
    pub fn version(&self) -> KeyVersion {
        self.version
    }

    /// The truncated HMAC of an already normalised value.
    pub fn compute(&self, name: IndexName, normalised: &str) -> BlindIndexValue {
        let key = match name {
            IndexName::NameDob => &self.name_dob,
            IndexName::Document => &self.document,
            IndexName::NameToken => &self.name_token,
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.expose()) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(normalised.as_bytes());
        let digest = mac.finalize().into_bytes();
        let bits = name.bits();
        let mut value = digest[..bits.div_ceil(8)].to_vec();
        if let Some(last) = value.last_mut().filter(|_| !bits.is_multiple_of(8)) {
            *last &= 0xffu8 << (8 - bits % 8);
        }
        BlindIndexValue(value)
    }

    /// Every (index, value) pair for a case's terms.
    pub fn entries(&self, terms: &IndexTerms) -> Vec<(IndexName, BlindIndexValue)> {
        let mut out = Vec::new();
        for name in &terms.names {
            if let Some(dob) = terms.date_of_birth {
                let input = SecretString::new(format!("{}|{dob}", normalise_name(name.expose())));
                out.push((
                    IndexName::NameDob,
                    self.compute(IndexName::NameDob, input.expose()),
                ));
            }
            for key in phonetic_keys(name.expose()) {
                let key = SecretString::new(key);
                out.push((
                    IndexName::NameToken,
                    self.compute(IndexName::NameToken, key.expose()),
                ));
            }
        }
        for number in &terms.document_numbers {
            let normalised = SecretString::new(normalise_document(number.expose()));
            if !normalised.expose().is_empty() {
                out.push((
                    IndexName::Document,
                    self.compute(IndexName::Document, normalised.expose()),
                ));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The values a look-up searches for.
    pub fn query_values(&self, query: &IndexQuery) -> Vec<BlindIndexValue> {
        let mut values = match query {
            IndexQuery::NameAndBirthDate {
                name,
                date_of_birth,
            } => {
                let input =
                    SecretString::new(format!("{}|{date_of_birth}", normalise_name(name.expose())));
                vec![self.compute(IndexName::NameDob, input.expose())]
            }
            IndexQuery::DocumentNumber(number) => {
                let normalised = SecretString::new(normalise_document(number.expose()));
                vec![self.compute(IndexName::Document, normalised.expose())]
            }
            IndexQuery::NameSoundsLike(name) => phonetic_keys(name.expose())
                .into_iter()
                .map(|key| {
                    let key = SecretString::new(key);
                    self.compute(IndexName::NameToken, key.expose())
                })
                .collect(),
        };
        values.sort();
        values.dedup();
        values
    }
}

/// A look-up by blind index. Results are candidates: confirm by decrypting.
#[derive(Debug, Clone)]
pub enum IndexQuery {
    /// Cases with this full name (any token order) and date of birth.
    NameAndBirthDate {
        /// The full name.
        name: SecretString,
        /// The date of birth.
        date_of_birth: NaiveDate,
    },
    /// Cases holding an identity document with this number.
    DocumentNumber(SecretString),
    /// Cases with a name whose every token sounds like one of this name's tokens.
    NameSoundsLike(SecretString),
}

impl IndexQuery {
    /// Which index the query searches.
    pub fn index(&self) -> IndexName {
        match self {
            Self::NameAndBirthDate { .. } => IndexName::NameDob,
            Self::DocumentNumber(_) => IndexName::Document,
            Self::NameSoundsLike(_) => IndexName::NameToken,
        }
    }
}

/// The identifying values of a case that its blind indexes are computed from. Stored encrypted
/// (under the case's data key) so that a blind-index key rotation can recompute the indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexTerms {
    /// Full names: the name and every alias.
    pub names: Vec<SecretString>,
    /// Date of birth, when known.
    pub date_of_birth: Option<NaiveDate>,
    /// Identity-document numbers.
    pub document_numbers: Vec<SecretString>,
}

const TERM_NAME: u8 = 1;
const TERM_BIRTH_DATE: u8 = 2;
const TERM_DOCUMENT: u8 = 3;

impl IndexTerms {
    /// Serialises the terms (tag byte, 4-byte big-endian length, UTF-8) for encryption.
    pub fn encode(&self) -> SecretBytes {
        let mut out = Vec::new();
        let mut push = |tag: u8, text: &str| {
            out.push(tag);
            out.extend_from_slice(&u32::try_from(text.len()).unwrap_or(0).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        };
        for name in &self.names {
            push(TERM_NAME, name.expose());
        }
        if let Some(dob) = self.date_of_birth {
            push(TERM_BIRTH_DATE, &dob.to_string());
        }
        for number in &self.document_numbers {
            push(TERM_DOCUMENT, number.expose());
        }
        SecretBytes::new(out)
    }

    /// Parses what [`IndexTerms::encode`] wrote.
    pub fn decode(bytes: &SecretBytes) -> Result<Self, VaultError> {
        let mut terms = Self::default();
        let mut rest = bytes.expose();
        while let Some((&tag, tail)) = rest.split_first() {
            let len_bytes: [u8; 4] = tail
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(VaultError::Malformed)?;
            let len = usize::try_from(u32::from_be_bytes(len_bytes))
                .map_err(|_| VaultError::Malformed)?;
            let text = tail.get(4..4 + len).ok_or(VaultError::Malformed)?;
            let text =
                SecretString::new(std::str::from_utf8(text).map_err(|_| VaultError::Malformed)?);
            match tag {
                TERM_NAME => terms.names.push(text),
                TERM_BIRTH_DATE => {
                    terms.date_of_birth =
                        Some(text.expose().parse().map_err(|_| VaultError::Malformed)?);
                }
                TERM_DOCUMENT => terms.document_numbers.push(text),
                _ => return Err(VaultError::Malformed),
            }
            rest = &tail[4 + len..];
        }
        Ok(terms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> IndexKeys {
        IndexKeys::derive(&KeyMaterial::from_bytes([7; 32]), KeyVersion::FIRST).unwrap()
    }

    #[test]
    fn values_are_truncated_to_the_documented_bits() {
        let keys = keys();
        let value = keys.compute(IndexName::NameDob, "nakato namubiru|1999-04-02");
        assert_eq!(value.as_bytes().len(), 3);
        assert_eq!(
            value.as_bytes()[2] & 0x0f,
            0,
            "20 bits: the low nibble is cleared"
        );
        assert_eq!(
            keys.compute(IndexName::NameToken, "nkt").as_bytes().len(),
            2
        );
    }

    #[test]
    fn indexes_and_versions_use_independent_keys() {
        let keys = keys();
        let v2 = IndexKeys::derive(
            &KeyMaterial::from_bytes([7; 32]),
            KeyVersion::new(2).unwrap(),
        )
        .unwrap();
        let a = keys.compute(IndexName::Document, "b1234567");
        assert_ne!(
            a.as_bytes(),
            keys.compute(IndexName::NameDob, "b1234567").as_bytes()
        );
        assert_ne!(a, v2.compute(IndexName::Document, "b1234567"));
    }

    #[test]
    fn known_answer_pins_derivation_and_truncation() {
        let value = keys().compute(IndexName::Document, "b1234567");
        let hex: String = value
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "bca750");
    }

    #[test]
    fn spelling_variants_meet_in_the_indexes() {
        let keys = keys();
        let dob = NaiveDate::from_ymd_opt(1999, 4, 2).unwrap();
        let terms = IndexTerms {
            names: vec!["Nakato NAMUBIRU".into()],
            date_of_birth: Some(dob),
            document_numbers: vec!["B 1234-567".into()],
        };
        let entries = keys.entries(&terms);
        let by = |q: IndexQuery| {
            let values = keys.query_values(&q);
            values
                .iter()
                .all(|v| entries.contains(&(q.index(), v.clone())))
        };
        assert!(by(IndexQuery::NameAndBirthDate {
            name: "namubiru nakato".into(),
            date_of_birth: dob
        }));
        assert!(by(IndexQuery::DocumentNumber("b1234567".into())));
        assert!(by(IndexQuery::NameSoundsLike("Nakkato Namubilu".into())));
        assert!(!by(IndexQuery::DocumentNumber("b1234568".into())));
    }

    #[test]
    fn terms_round_trip() {
        let terms = IndexTerms {
            names: vec!["Nakato Namubiru".into(), "Kato".into()],
            date_of_birth: NaiveDate::from_ymd_opt(2001, 1, 31),
            document_numbers: vec!["B1234567".into()],
        };
        assert_eq!(IndexTerms::decode(&terms.encode()).unwrap(), terms);
        assert!(IndexTerms::decode(&SecretBytes::new(vec![9, 0, 0, 0, 0])).is_err());
        assert!(IndexTerms::decode(&SecretBytes::new(vec![1, 0, 0, 0, 9, b'a'])).is_err());
    }
}
