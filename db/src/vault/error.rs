//! The vault's error type. Messages never carry plaintext, key material or ciphertext.

use super::provider::KeyVersion;
use crate::DbError;
use crate::vocabulary::FieldGroup;

/// Why a vault operation failed. Messages never contain plaintext or key material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// A stored key names a KEK version the provider does not hold.
    #[error("key-encryption key {0} is not available")]
    KeyUnavailable(KeyVersion),
    /// Authentication failed: the value was altered, moved to another place, or the key is
    /// wrong.
    #[error("a stored ciphertext failed authentication")]
    Integrity,
    /// The stored value's first byte names a format this version does not read.
    #[error("unknown ciphertext format {0}")]
    UnknownFormat(u8),
    /// The stored value names a key version other than the one its case holds.
    #[error("unknown key version {0}")]
    UnknownKeyVersion(u32),
    /// A stored value is too short or otherwise not in the vault's format.
    #[error("malformed vault value")]
    Malformed,
    /// The case has no data key (`create_case_key` was not called).
    #[error("the case has no data key")]
    NoCaseKey,
    /// The case's personal data was erased; nothing can be written for it any more.
    #[error("the case's personal data has been erased")]
    Erased,
    /// The summary group is plaintext by design and never goes through the vault.
    #[error("the {0} group is not encrypted")]
    NotEncrypted(FieldGroup),
    /// Another rotation holds the lock (PostgreSQL).
    #[error("another key rotation is running")]
    RotationRunning,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] DbError),
}

impl From<diesel::result::Error> for VaultError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Storage(err.into())
    }
}
