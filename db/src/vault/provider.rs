//! The top of the key hierarchy: key-encryption keys (KEKs) and who holds them.
//!
//! A [`KeyProvider`] wraps and unwraps keys; it never hands a KEK out. That is the shape of a
//! KMS or an HSM (encrypt/decrypt with an encryption context), so one can stand in for the
//! [`KeyRing`] later without touching the rest of the vault. Several KEK versions are live at
//! once: every version in the ring unwraps, the newest wraps. Rotation (see `rotation.rs`)
//! re-wraps everything under the newest, after which the operator may drop older versions.
//!
//! Key files and the provider that reads them are in `key_file.rs`.
//!
//! Key sets are written `VERSION:BASE64` (32 bytes each), separated by commas or new lines; a
//! single bare base64 key is version 1. Lines starting with `#` are comments.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::VaultError;
use super::envelope::{self, Binding};
use super::secret::{KeyMaterial, SecretString};

/// The version number of a key-encryption key (or of a blind-index key): 1, 2, 3, ... Stored as
/// INTEGER, so at most `i32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyVersion(u32);

impl KeyVersion {
    /// The first version.
    pub const FIRST: Self = Self(1);

    /// A version from a stored or parsed number; zero, negative and oversized numbers are not
    /// versions.
    pub fn new(number: i64) -> Option<Self> {
        (1..=i64::from(i32::MAX))
            .contains(&number)
            .then(|| Self(u32::try_from(number).unwrap_or(1)))
    }

    /// The version after this one.
    pub fn next(self) -> Option<Self> {
        Self::new(i64::from(self.0) + 1)
    }

    /// As bound into associated data.
    pub fn get(self) -> u32 {
        self.0
    }

    /// As stored in an INTEGER column.
    pub fn as_i32(self) -> i32 {
        i32::try_from(self.0).unwrap_or(i32::MAX)
    }
}

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// What a wrapped key belongs to, bound into the wrap's associated data like a KMS encryption
/// context: a wrapped data key moved to another case does not unwrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyContext<'a> {
    /// Table holding the wrapped key.
    pub table: &'a str,
    /// Column (or purpose).
    pub column: &'a str,
    /// Row identity, e.g. the case id.
    pub row_id: &'a str,
}

/// A key wrapped by a KEK version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The KEK version that wrapped it.
    pub kek_version: KeyVersion,
    /// The stored form (see `envelope.rs`).
    pub bytes: Vec<u8>,
}

/// Holds the key-encryption keys. Implementations must be cheap to call from many threads.
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// The version new wraps use: the newest.
    fn current_version(&self) -> KeyVersion;

    /// Every version that can unwrap, oldest first.
    fn versions(&self) -> Vec<KeyVersion>;

    /// Wraps `key` under the current version, bound to `context`.
    fn wrap(&self, key: &KeyMaterial, context: &KeyContext<'_>) -> Result<WrappedKey, VaultError>;

    /// Unwraps a key wrapped by `wrapped.kek_version`, checking `context`.
    fn unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &KeyContext<'_>,
    ) -> Result<KeyMaterial, VaultError>;
}

/// Why a key set could not be read. Never quotes the key text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key set: {0}")]
pub struct KeySetError(pub String);

/// KEKs held in this process's memory, from `TUMAINI_MASTER_KEY` or a key file.
#[derive(Clone)]
pub struct KeyRing {
    keys: BTreeMap<KeyVersion, KeyMaterial>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A ring holding one version.
    pub fn single(version: KeyVersion, key: KeyMaterial) -> Self {
        Self {
            keys: BTreeMap::from([(version, key)]),
        }
    }

    /// Adds (or replaces) a version.
    pub fn with(mut self, version: KeyVersion, key: KeyMaterial) -> Self {
        self.keys.insert(version, key);
        self
    }

    /// Parses a key set (see the module documentation).
    pub fn parse(text: &SecretString) -> Result<Self, KeySetError> {
        let entries: Vec<&str> = text
            .expose()
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .flat_map(|line| line.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        let mut keys = BTreeMap::new();
        for (position, entry) in entries.iter().enumerate() {
            let (version, encoded) = match entry.split_once(':') {
                Some((version, encoded)) => {
                    let number: i64 = version.trim().parse().map_err(|_| {
                        KeySetError(format!("entry {} has no version number", position + 1))
                    })?;
                    let version = KeyVersion::new(number).ok_or_else(|| {
                        KeySetError(format!("entry {}: versions start at 1", position + 1))
                    })?;
                    (version, encoded.trim())
                }
                None if entries.len() == 1 => (KeyVersion::FIRST, *entry),
                None => {
                    return Err(KeySetError(
                        "with several keys, write each as VERSION:BASE64".to_owned(),
                    ));
                }
            };
            let bytes = zeroize::Zeroizing::new(
                BASE64
                    .decode(encoded)
                    .map_err(|_| KeySetError(format!("key {version} is not valid base64")))?,
            );
            let key = KeyMaterial::from_slice(&bytes)
                .ok_or_else(|| KeySetError(format!("key {version} must be 32 bytes")))?;
            if keys.insert(version, key).is_some() {
                return Err(KeySetError(format!("key {version} is given twice")));
            }
        }
        if keys.is_empty() {
            return Err(KeySetError("no key given".to_owned()));
        }
        Ok(Self { keys })
    }

    /// Serialises the ring in the key-file form (for writing the file only).
    pub(super) fn to_file_text(&self) -> SecretString {
        let mut text = String::from(
            "# Tumaini key-encryption keys: VERSION:BASE64, the newest encrypts.\n\
             # Losing this file loses every case's personal data. Back it up apart from the database.\n",
        );
        for (version, key) in &self.keys {
            text.push_str(&format!(
                "{}:{}\n",
                version.get(),
                BASE64.encode(key.expose())
            ));
        }
        SecretString::new(text)
    }

    pub(super) fn holds(&self, version: KeyVersion) -> bool {
        self.keys.contains_key(&version)
    }

    pub(super) fn key(&self, version: KeyVersion) -> Result<&KeyMaterial, VaultError> {
        self.keys
            .get(&version)
            .ok_or(VaultError::KeyUnavailable(version))
    }
}

impl KeyProvider for KeyRing {
    fn current_version(&self) -> KeyVersion {
        self.keys
            .keys()
            .next_back()
            .copied()
            .unwrap_or(KeyVersion::FIRST)
    }

    fn versions(&self) -> Vec<KeyVersion> {
        self.keys.keys().copied().collect()
    }

    fn wrap(&self, key: &KeyMaterial, context: &KeyContext<'_>) -> Result<WrappedKey, VaultError> {
        let kek_version = self.current_version();
        let bytes = envelope::seal(
            self.key(kek_version)?,
            &binding(context, kek_version),
            key.expose(),
        )?;
        Ok(WrappedKey { kek_version, bytes })
    }

    fn unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &KeyContext<'_>,
    ) -> Result<KeyMaterial, VaultError> {
        let kek = self.key(wrapped.kek_version)?;
        let plain = envelope::open(kek, &binding(context, wrapped.kek_version), &wrapped.bytes)?;
        KeyMaterial::from_slice(plain.expose()).ok_or(VaultError::Integrity)
    }
}

fn binding<'a>(context: &KeyContext<'a>, version: KeyVersion) -> Binding<'a> {
    Binding {
        table: context.table,
        column: context.column,
        row_id: context.row_id,
        key_version: version.get(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(byte: u8) -> String {
        BASE64.encode([byte; 32])
    }

    #[test]
    fn key_sets_parse_with_versions() {
        let single = KeyRing::parse(&SecretString::new(b64(1))).unwrap();
        assert_eq!(single.versions(), vec![KeyVersion::FIRST]);
        let text = format!("1:{}, 3:{}", b64(1), b64(3));
        let ring = KeyRing::parse(&SecretString::new(text)).unwrap();
        assert_eq!(ring.current_version(), KeyVersion::new(3).unwrap());
        assert_eq!(ring.versions().len(), 2);
        for bad in [
            String::new(),
            "0:abc".to_owned(),
            format!("{},{}", b64(1), b64(2)),
            format!("1:{},1:{}", b64(1), b64(2)),
            "1:c2hvcnQ=".to_owned(),
            "1:not base64!".to_owned(),
        ] {
            let err = KeyRing::parse(&SecretString::new(bad.clone())).unwrap_err();
            assert!(!err.to_string().contains("c2hvcnQ"), "{err}");
        }
        assert!(!format!("{ring:?}").contains(&b64(3)));
    }

    #[test]
    fn wraps_unwrap_only_in_their_context_and_with_their_version() {
        let ring = KeyRing::single(KeyVersion::FIRST, KeyMaterial::generate());
        let key = KeyMaterial::generate();
        let here = KeyContext {
            table: "case_keys",
            column: "wrapped_key",
            row_id: "a",
        };
        let wrapped = ring.wrap(&key, &here).unwrap();
        assert_eq!(ring.unwrap(&wrapped, &here).unwrap(), key);
        let elsewhere = KeyContext {
            row_id: "b",
            ..here
        };
        assert!(matches!(
            ring.unwrap(&wrapped, &elsewhere),
            Err(VaultError::Integrity)
        ));
        let newer = ring
            .clone()
            .with(KeyVersion::new(2).unwrap(), KeyMaterial::generate());
        assert_eq!(
            newer.unwrap(&wrapped, &here).unwrap(),
            key,
            "old versions still unwrap"
        );
        assert_eq!(
            newer.wrap(&key, &here).unwrap().kek_version.get(),
            2,
            "the newest wraps"
        );
        let relabelled = WrappedKey {
            kek_version: KeyVersion::new(2).unwrap(),
            ..wrapped
        };
        assert!(newer.unwrap(&relabelled, &here).is_err());
    }
}
