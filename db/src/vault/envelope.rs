//! The stored format of every ciphertext the vault writes, and the associated data that binds
//! it to its place.
//!
//! ```text
//! stored  = format version (1 byte, 0x01) | key version (4 bytes, big-endian)
//!         | nonce (24 bytes, random) | ciphertext + Poly1305 tag (plaintext length + 16)
//! aad     = format version (1 byte) | len(table) (2 bytes BE) | table | len(column) | column
//!         | len(row id) | row id | key version (4 bytes BE)
//! ```
//!
//! XChaCha20-Poly1305's 192-bit nonce makes random nonces safe for any number of messages under
//! one key (the birthday bound is 2^96). The associated data is not stored: the reader rebuilds
//! it from where it found the ciphertext, so a ciphertext copied to another row, column, table
//! or case (or relabelled with another key version) fails authentication. Fields are
//! length-prefixed so that no two different bindings encode to the same bytes.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::VaultError;
use super::secret::{KeyMaterial, SecretBytes};

/// The only format written today. A reader meeting any other first byte refuses it.
pub const FORMAT_V1: u8 = 0x01;
/// XChaCha20 nonce length.
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Format byte, key version, nonce.
pub const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// Where a ciphertext belongs: rebuilt by the reader, never stored next to the ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The table holding the ciphertext, e.g. `case_field_groups`.
    pub table: &'a str,
    /// The column, or for field groups the group code, e.g. `identity`.
    pub column: &'a str,
    /// The row's identity, e.g. the case id.
    pub row_id: &'a str,
    /// The version of the key that encrypts (data key version, or KEK version for wraps).
    pub key_version: u32,
}

impl Binding<'_> {
    /// The associated data for this binding (see the module documentation).
    pub fn associated_data(&self) -> Result<Vec<u8>, VaultError> {
        let mut aad = Vec::with_capacity(
            1 + 6 + self.table.len() + self.column.len() + self.row_id.len() + 4,
        );
        aad.push(FORMAT_V1);
        for part in [self.table, self.column, self.row_id] {
            let len = u16::try_from(part.len()).map_err(|_| VaultError::Malformed)?;
            aad.extend_from_slice(&len.to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad.extend_from_slice(&self.key_version.to_be_bytes());
        Ok(aad)
    }
}

/// A fresh random nonce from a cryptographically secure generator.
pub fn random_nonce() -> [u8; NONCE_LEN] {
    use rand::RngCore as _;
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    nonce
}

/// Encrypts `plaintext` under `key` for the place `binding` names, with a random nonce.
pub fn seal(
    key: &KeyMaterial,
    binding: &Binding<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, VaultError> {
    seal_with_nonce(key, binding, plaintext, &random_nonce())
}

/// [`seal`] with a caller-chosen nonce. Only the known-answer tests and [`seal`] call it: a
/// nonce must never be reused under one key.
pub(crate) fn seal_with_nonce(
    key: &KeyMaterial,
    binding: &Binding<'_>,
    plaintext: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, VaultError> {
    let aad = binding.associated_data()?;
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key.expose()));
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| VaultError::Malformed)?;
    let mut stored = Vec::with_capacity(HEADER_LEN + sealed.len());
    stored.push(FORMAT_V1);
    stored.extend_from_slice(&binding.key_version.to_be_bytes());
    stored.extend_from_slice(nonce);
    stored.extend_from_slice(&sealed);
    Ok(stored)
}

/// The format and key version a stored value claims, checked before any decryption.
pub fn header(stored: &[u8]) -> Result<(u8, u32), VaultError> {
    let (&format, rest) = stored.split_first().ok_or(VaultError::Malformed)?;
    if format != FORMAT_V1 {
        return Err(VaultError::UnknownFormat(format));
    }
    if stored.len() < HEADER_LEN + TAG_LEN {
        return Err(VaultError::Malformed);
    }
    let version_bytes: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(VaultError::Malformed)?;
    Ok((format, u32::from_be_bytes(version_bytes)))
}

/// Decrypts a stored value found at the place `binding` names. Fails with
/// [`VaultError::UnknownFormat`] or [`VaultError::UnknownKeyVersion`] before trying the key,
/// and with [`VaultError::Integrity`] when the value was altered or moved.
pub fn open(
    key: &KeyMaterial,
    binding: &Binding<'_>,
    stored: &[u8],
) -> Result<SecretBytes, VaultError> {
    let (_, key_version) = header(stored)?;
    if key_version != binding.key_version {
        return Err(VaultError::UnknownKeyVersion(key_version));
    }
    let aad = binding.associated_data()?;
    let nonce = XNonce::from_slice(&stored[5..HEADER_LEN]);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key.expose()));
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: &stored[HEADER_LEN..],
                aad: &aad,
            },
        )
        .map(SecretBytes::new)
        .map_err(|_| VaultError::Integrity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    const BINDING: Binding<'static> = Binding {
        table: "case_field_groups",
        column: "identity",
        row_id: "0190f3a8-4c1b-7d2e-8f00-0123456789ab",
        key_version: 1,
    };

    #[test]
    fn the_primitive_matches_the_xchacha_draft_vector() {
        // draft-irtf-cfrg-xchacha-03, appendix A.3.1.
        let key = KeyMaterial::from_bytes(std::array::from_fn(|i| 0x80 + i as u8));
        let nonce: [u8; 24] = std::array::from_fn(|i| 0x40 + i as u8);
        let aad = [
            0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
        ];
        let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let sealed = XChaCha20Poly1305::new(Key::from_slice(key.expose()))
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .unwrap();
        assert!(hex(&sealed).starts_with("bd6d179d3e83d43b9576579493c0e939572a1700252bfacc"));
        assert!(hex(&sealed).ends_with("c0875924c1c7987947deafd8780acf49"));
    }

    #[test]
    fn associated_data_is_pinned() {
        assert_eq!(
            hex(&BINDING.associated_data().unwrap()),
            concat!(
                "01",
                "0011",
                "636173655f6669656c645f67726f757073", // case_field_groups
                "0008",
                "6964656e74697479", // identity
                "0024",
                "30313930663361382d346331622d376432652d386630302d303132333435363738396162",
                "00000001",
            )
        );
    }

    #[test]
    fn the_stored_format_is_pinned() {
        let key = KeyMaterial::from_bytes([0x42; 32]);
        let nonce = [0x24; NONCE_LEN];
        let stored = seal_with_nonce(&key, &BINDING, br#"{"name":"test"}"#, &nonce).unwrap();
        assert_eq!(
            &stored[..5],
            &[0x01, 0, 0, 0, 1],
            "format version, key version"
        );
        assert_eq!(&stored[5..HEADER_LEN], &nonce);
        assert_eq!(stored.len(), HEADER_LEN + 15 + TAG_LEN);
        assert_eq!(hex(&stored), KNOWN_ANSWER);
        assert_eq!(
            open(&key, &BINDING, &stored).unwrap().expose(),
            br#"{"name":"test"}"#
        );
    }

    /// Computed once with the code above and checked by hand against the layout; any change
    /// to the format, the associated data or the cipher changes these bytes.
    const KNOWN_ANSWER: &str = concat!(
        "01",
        "00000001",
        "242424242424242424242424242424242424242424242424",
        "de7cb90403416e9c805b5a497aaa70",
        "d0f8ccbdafce891f309424ad389450ed",
    );

    #[test]
    fn moved_or_altered_ciphertexts_fail() {
        let key = KeyMaterial::generate();
        let stored = seal(&key, &BINDING, b"secret").unwrap();
        for moved in [
            Binding {
                row_id: "0190f3a8-4c1b-7d2e-8f00-0123456789ac",
                ..BINDING
            },
            Binding {
                column: "contact",
                ..BINDING
            },
            Binding {
                table: "case_index_terms",
                ..BINDING
            },
        ] {
            assert!(matches!(
                open(&key, &moved, &stored),
                Err(VaultError::Integrity)
            ));
        }
        for bit in 0..stored.len() * 8 {
            let mut flipped = stored.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(open(&key, &BINDING, &flipped).is_err(), "bit {bit}");
        }
        assert!(matches!(
            open(&KeyMaterial::generate(), &BINDING, &stored),
            Err(VaultError::Integrity)
        ));
        let mut future = stored.clone();
        future[0] = 0x02;
        assert!(matches!(
            open(&key, &BINDING, &future),
            Err(VaultError::UnknownFormat(2))
        ));
        let mut other_version = stored.clone();
        other_version[4] = 9;
        assert!(matches!(
            open(&key, &BINDING, &other_version),
            Err(VaultError::UnknownKeyVersion(9))
        ));
        assert!(matches!(
            open(&key, &BINDING, &stored[..20]),
            Err(VaultError::Malformed)
        ));
        assert!(matches!(
            open(&key, &BINDING, &[]),
            Err(VaultError::Malformed)
        ));
    }

    #[test]
    fn nonces_never_repeat_over_a_million_encryptions() {
        let key = KeyMaterial::generate();
        let mut seen = HashSet::with_capacity(1_000_000);
        for _ in 0..1_000_000 {
            let stored = seal(&key, &BINDING, b"x").unwrap();
            let nonce: [u8; NONCE_LEN] = stored[5..HEADER_LEN].try_into().unwrap();
            assert!(seen.insert(nonce), "a nonce repeated");
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trips_any_plaintext(plaintext in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let key = KeyMaterial::generate();
            let stored = seal(&key, &BINDING, &plaintext).unwrap();
            proptest::prop_assert_eq!(stored.len(), HEADER_LEN + plaintext.len() + TAG_LEN);
            let opened = open(&key, &BINDING, &stored).unwrap();
            proptest::prop_assert_eq!(opened.expose(), &plaintext[..]);
        }
    }
}
