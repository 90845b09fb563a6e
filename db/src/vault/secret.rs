//! Types that hold plaintext or key material. Their `Debug` never shows the bytes, and their
//! memory is wiped when they are dropped, so a stray `{:?}` in a log line or a freed buffer
//! cannot leak a victim's data or a key.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Bytes that must never be shown or left behind in memory: the plaintext of a field group,
/// a serialised set of index terms.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`; they are wiped when this value is dropped.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes, for the code that serialises or parses them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// How many bytes are held (not secret: the ciphertext shows it anyway).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no bytes are held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([redacted; {} bytes])", self.0.len())
    }
}

/// Text that must never be shown or left behind in memory: a name, a document number.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Takes ownership of `text`; it is wiped when this value is dropped.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text, for the code that normalises or serialises it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SecretString {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SecretString {}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

/// A 256-bit symmetric key: a data key, a KEK, an index key. Never printed, wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyMaterial([u8; 32]);

impl KeyMaterial {
    /// Length of every key in the vault, in bytes.
    pub const LEN: usize = 32;

    /// A fresh key from the operating system's CSPRNG (via `rand`'s thread RNG, which is seeded
    /// from it and is cryptographically secure).
    pub fn generate() -> Self {
        use rand::RngCore as _;
        let mut bytes = [0u8; Self::LEN];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps existing key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Copies a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(array))
    }

    /// The key bytes, for the cipher that uses them.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for KeyMaterial {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for KeyMaterial {}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyMaterial([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let bytes = SecretBytes::new(b"Nakato Namubiru".to_vec());
        let text = SecretString::new("Nakato Namubiru");
        let key = KeyMaterial::from_bytes([0x41; 32]);
        let shown = format!("{bytes:?} {text:?} {key:?}");
        assert!(!shown.contains("Nakato"), "{shown}");
        assert!(!shown.contains("AAAA") && !shown.contains("65"), "{shown}");
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(KeyMaterial::generate(), KeyMaterial::generate());
    }
}
