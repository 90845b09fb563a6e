//! Documents are encrypted in fixed-size chunks with the STREAM construction (Hoang, Reyhanitabar,
//! Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance")
//! over XChaCha20-Poly1305, under the case's data key, so that neither an upload nor a download
//! ever holds a whole file in memory and crypto-shredding the case makes every document
//! unreadable with the rest of its data.
//!
//! ```text
//! nonce(i) = prefix (19 bytes, random per version) | i (4 bytes, big-endian) | last (1 byte, 0 or 1)
//! chunk(i) = XChaCha20-Poly1305(data key, nonce(i), plaintext chunk i, aad(i))   (ciphertext + tag)
//! aad(i)   = the vault's binding of `document_chunks | sealed | <version id>/<i>/<last>`
//! ```
//!
//! The index and the last-chunk flag are in both the nonce and the associated data, and the
//! version's id in the associated data: a flipped bit, chunks reordered, a chunk copied from
//! another document (or another version of the same one), and a stream cut after any chunk but
//! the last all fail authentication. The number of chunks is also sealed in the version's
//! metadata, so removing chunks at the end is found even before the cut chunk is read.

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::envelope::{self, Binding, NONCE_LEN, TAG_LEN};
use super::{KeyMaterial, SecretBytes, VaultError};

/// The plaintext bytes in every chunk but the last (which holds 1 to this many).
pub const CHUNK_SIZE: usize = 256 * 1024;
/// The random part of each chunk's nonce, fixed for one version of a document.
pub const PREFIX_LEN: usize = NONCE_LEN - 5;
/// The bytes a sealed chunk adds to its plaintext.
pub const CHUNK_OVERHEAD: usize = TAG_LEN;

/// The table whose chunks the associated data names, whatever the storage they sit in.
const CHUNKS_TABLE: &str = "document_chunks";
/// The table holding a version's sealed metadata.
const VERSIONS_TABLE: &str = "document_versions";

/// The key and nonce prefix of one version of one document: seals or opens its chunks and its
/// metadata. Held only while an upload or a download runs.
pub struct DocumentCipher {
    key: Arc<KeyMaterial>,
    key_version: u32,
    version_id: String,
    prefix: [u8; PREFIX_LEN],
}

impl std::fmt::Debug for DocumentCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentCipher")
            .field("version_id", &self.version_id)
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

impl DocumentCipher {
    /// A cipher for a new version, with a fresh random nonce prefix.
    pub(super) fn fresh(key: Arc<KeyMaterial>, key_version: u32, version_id: &str) -> Self {
        let nonce = envelope::random_nonce();
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&nonce[..PREFIX_LEN]);
        Self {
            key,
            key_version,
            version_id: version_id.to_owned(),
            prefix,
        }
    }

    /// The cipher of a stored version, from its key version and nonce prefix.
    pub(super) fn stored(
        key: Arc<KeyMaterial>,
        key_version: u32,
        version_id: &str,
        prefix: &[u8],
    ) -> Result<Self, VaultError> {
        let prefix: [u8; PREFIX_LEN] = prefix.try_into().map_err(|_| VaultError::Malformed)?;
        Ok(Self {
            key,
            key_version,
            version_id: version_id.to_owned(),
            prefix,
        })
    }

    /// The data key version, stored with the version.
    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The nonce prefix, stored with the version (it is not secret).
    pub fn nonce_prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Seals chunk `index` of the stream; `last` only for the final chunk.
    pub fn seal_chunk(
        &self,
        index: u32,
        last: bool,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let aad = self.chunk_binding(index, last)?;
        self.cipher()
            .encrypt(
                XNonce::from_slice(&self.nonce(index, last)),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Malformed)
    }

    /// Opens chunk `index`, which the reader expects to be the last or not; fails with
    /// [`VaultError::Integrity`] when it was altered, moved, or sealed with the other flag.
    pub fn open_chunk(
        &self,
        index: u32,
        last: bool,
        sealed: &[u8],
    ) -> Result<SecretBytes, VaultError> {
        let aad = self.chunk_binding(index, last)?;
        self.cipher()
            .decrypt(
                XNonce::from_slice(&self.nonce(index, last)),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map(SecretBytes::new)
            .map_err(|_| VaultError::Integrity)
    }

    /// Seals the version's metadata (file name, media type, caption, sizes), bound to its id
    /// and to `context` (what else it must stay attached to: its document, number and group).
    pub fn seal_meta(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let row_id = format!("{}/{context}", self.version_id);
        envelope::seal(&self.key, &self.meta_binding(&row_id), plaintext)
    }

    /// Opens what [`DocumentCipher::seal_meta`] sealed for this version and `context`.
    pub fn open_meta(&self, context: &str, sealed: &[u8]) -> Result<SecretBytes, VaultError> {
        let row_id = format!("{}/{context}", self.version_id);
        envelope::open(&self.key, &self.meta_binding(&row_id), sealed)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(self.key.expose()))
    }

    fn nonce(&self, index: u32, last: bool) -> [u8; NONCE_LEN] {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..PREFIX_LEN].copy_from_slice(&self.prefix);
        nonce[PREFIX_LEN..NONCE_LEN - 1].copy_from_slice(&index.to_be_bytes());
        nonce[NONCE_LEN - 1] = u8::from(last);
        nonce
    }

    fn chunk_binding(&self, index: u32, last: bool) -> Result<Vec<u8>, VaultError> {
        let row_id = format!("{}/{index}/{}", self.version_id, u8::from(last));
        Binding {
            table: CHUNKS_TABLE,
            column: "sealed",
            row_id: &row_id,
            key_version: self.key_version,
        }
        .associated_data()
    }

    fn meta_binding<'a>(&self, row_id: &'a str) -> Binding<'a> {
        Binding {
            table: VERSIONS_TABLE,
            column: "sealed_meta",
            row_id,
            key_version: self.key_version,
        }
    }
}

/// A case's live data key, for opening the stored versions of its documents.
pub struct DocumentKey {
    key: Arc<KeyMaterial>,
    version: u32,
}

impl std::fmt::Debug for DocumentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl DocumentKey {
    pub(super) fn new(key: Arc<KeyMaterial>, version: u32) -> Self {
        Self { key, version }
    }

    /// The cipher of a stored version, from the key version and nonce prefix stored with it;
    /// a version sealed under another key version is refused.
    pub fn cipher(
        &self,
        version_id: &str,
        key_version: i32,
        nonce_prefix: &[u8],
    ) -> Result<DocumentCipher, VaultError> {
        let stored = u32::try_from(key_version).map_err(|_| VaultError::Malformed)?;
        if stored != self.version {
            return Err(VaultError::UnknownKeyVersion(stored));
        }
        DocumentCipher::stored(
            Arc::clone(&self.key),
            self.version,
            version_id,
            nonce_prefix,
        )
    }
}

/// How many chunks a plaintext of `size` bytes takes (an empty file is one empty chunk).
pub fn chunk_count(size: u64) -> u64 {
    size.div_ceil(CHUNK_SIZE as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(version: &str) -> DocumentCipher {
        DocumentCipher::fresh(Arc::new(KeyMaterial::generate()), 1, version)
    }

    fn seal_all(cipher: &DocumentCipher, chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let last = chunks.len() - 1;
        chunks
            .iter()
            .enumerate()
            .map(|(i, c)| cipher.seal_chunk(i as u32, i == last, c).unwrap())
            .collect()
    }

    #[test]
    fn chunks_open_in_place_and_nowhere_else() {
        let version = "0190a0b0-0000-7000-8000-000000000001";
        let c = cipher(version);
        let sealed = seal_all(&c, &[b"first", b"second", b"third"]);
        assert_eq!(
            c.open_chunk(0, false, &sealed[0]).unwrap().expose(),
            b"first"
        );
        assert_eq!(
            c.open_chunk(2, true, &sealed[2]).unwrap().expose(),
            b"third"
        );
        assert_eq!(sealed[0].len(), 5 + CHUNK_OVERHEAD);

        // A flipped bit.
        let mut flipped = sealed[1].clone();
        flipped[3] ^= 0x01;
        assert!(matches!(
            c.open_chunk(1, false, &flipped),
            Err(VaultError::Integrity)
        ));
        // Reordered: chunk 1 read at index 0.
        assert!(c.open_chunk(0, false, &sealed[1]).is_err());
        // Truncated: the stream cut after chunk 1, which then claims to be the last.
        assert!(c.open_chunk(1, true, &sealed[1]).is_err());
        // The last chunk read as if more followed.
        assert!(c.open_chunk(2, false, &sealed[2]).is_err());
        // A chunk of another document under the same key and prefix.
        let other = DocumentCipher::stored(
            Arc::clone(&c.key),
            1,
            "0190a0b0-0000-7000-8000-000000000002",
            c.nonce_prefix(),
        )
        .unwrap();
        let foreign = other.seal_chunk(1, false, b"second").unwrap();
        assert!(c.open_chunk(1, false, &foreign).is_err());
        // The same key version but another key (another case).
        let stranger = DocumentCipher::stored(
            Arc::new(KeyMaterial::generate()),
            1,
            version,
            c.nonce_prefix(),
        )
        .unwrap();
        assert!(stranger.open_chunk(0, false, &sealed[0]).is_err());
    }

    #[test]
    fn metadata_is_bound_to_its_version() {
        let c = cipher("0190a0b0-0000-7000-8000-000000000003");
        let sealed = c
            .seal_meta("doc/1/identity", b"{\"name\":\"passport.jpg\"}")
            .unwrap();
        assert!(
            c.open_meta("doc/1/notes", &sealed).is_err(),
            "another group"
        );
        assert!(
            c.open_meta("doc/2/identity", &sealed).is_err(),
            "another version"
        );
        assert_eq!(
            c.open_meta("doc/1/identity", &sealed).unwrap().expose(),
            b"{\"name\":\"passport.jpg\"}"
        );
        let other = DocumentCipher::stored(
            Arc::clone(&c.key),
            1,
            "0190a0b0-0000-7000-8000-000000000004",
            c.nonce_prefix(),
        )
        .unwrap();
        assert!(other.open_meta("doc/1/identity", &sealed).is_err());
    }

    #[test]
    fn prefixes_are_fresh_per_version() {
        let key = Arc::new(KeyMaterial::generate());
        let a = DocumentCipher::fresh(Arc::clone(&key), 1, "a");
        let b = DocumentCipher::fresh(key, 1, "a");
        assert_ne!(a.nonce_prefix(), b.nonce_prefix());
        assert_eq!(chunk_count(0), 1);
        assert_eq!(chunk_count(CHUNK_SIZE as u64), 1);
        assert_eq!(chunk_count(CHUNK_SIZE as u64 + 1), 2);
    }
}
