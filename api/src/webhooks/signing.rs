//! Signing per the Standard Webhooks scheme: a secret `whsec_<base64 of 32 random bytes>`,
//! and on every attempt the headers `webhook-id` (the event id), `webhook-timestamp` (Unix
//! seconds) and `webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`,
//! where the key is the secret's decoded bytes.
//!
//! The secret must sign, so it cannot be stored as a hash: it is wrapped by the vault's
//! key-encryption key (like a case's data key), bound to the endpoint's id, and shown once.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use tumaini_db::ids::WebhookId;
use tumaini_db::vault::{KeyContext, KeyMaterial, KeyProvider, KeyVersion, VaultError, WrappedKey};
use zeroize::Zeroizing;

/// The prefix of every secret shown, so that a leaked one is recognisable.
pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret. Never printed; wiped on drop.
pub struct SigningSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

/// Where a wrapped secret belongs: bound into the wrap, so it does not unwrap elsewhere.
fn context(endpoint: &WebhookId) -> KeyContext<'_> {
    KeyContext {
        table: "webhook_endpoints",
        column: "secret",
        row_id: endpoint.as_str(),
    }
}

impl SigningSecret {
    /// A fresh secret of 32 random bytes.
    pub fn generate() -> Self {
        Self(Zeroizing::new(KeyMaterial::generate().expose().to_vec()))
    }

    /// A secret as shown (`whsec_...`), e.g. as a receiver configures it.
    pub fn parse(text: &str) -> Option<Self> {
        let encoded = text.strip_prefix(SECRET_PREFIX)?;
        let bytes = Zeroizing::new(BASE64.decode(encoded).ok()?);
        (24..=64).contains(&bytes.len()).then(|| Self(bytes))
    }

    /// The secret as shown, once, to whoever registers the endpoint.
    pub fn reveal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{SECRET_PREFIX}{}",
            BASE64.encode(self.0.as_slice())
        ))
    }

    /// The `webhook-signature` header's value for one attempt.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", BASE64.encode(self.mac(id, timestamp, body)))
    }

    /// Whether `header` (space-separated `v1,<base64>` signatures) holds a valid signature of
    /// the attempt; compared in constant time.
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        header.split(' ').any(|candidate| {
            candidate
                .strip_prefix("v1,")
                .and_then(|b64| BASE64.decode(b64).ok())
                .is_some_and(|given| {
                    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
                        return false;
                    };
                    mac.update(format!("{id}.{timestamp}.").as_bytes());
                    mac.update(body);
                    mac.verify_slice(&given).is_ok()
                })
        })
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        // HMAC takes a key of any length; this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return Vec::new(),
        };
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    /// Wraps the secret under the newest key-encryption key, bound to `endpoint`.
    pub fn wrap(
        &self,
        keys: &Arc<dyn KeyProvider>,
        endpoint: &WebhookId,
    ) -> Result<WrappedKey, VaultError> {
        let material = KeyMaterial::from_slice(&self.0).ok_or(VaultError::Malformed)?;
        keys.wrap(&material, &context(endpoint))
    }

    /// Unwraps the secret stored for `endpoint`.
    pub fn unwrap(
        keys: &Arc<dyn KeyProvider>,
        endpoint: &WebhookId,
        kek_version: i32,
        wrapped: &[u8],
    ) -> Result<Self, VaultError> {
        let version = KeyVersion::new(kek_version.into()).ok_or(VaultError::Malformed)?;
        let material = keys.unwrap(
            &WrappedKey {
                kek_version: version,
                bytes: wrapped.to_vec(),
            },
            &context(endpoint),
        )?;
        Ok(Self(Zeroizing::new(material.expose().to_vec())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        // From the Standard Webhooks specification's reference libraries.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(secret.verify(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
            &format!("v1,bm90IGl0 {signature}")
        ));
        assert!(!secret.verify(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_331,
            body,
            &signature
        ));
    }

    #[test]
    fn a_fresh_secret_round_trips_and_is_never_printed() {
        let secret = SigningSecret::generate();
        let shown = secret.reveal();
        assert!(shown.starts_with(SECRET_PREFIX));
        let again = SigningSecret::parse(&shown).unwrap();
        assert_eq!(again.sign("a", 1, b"x"), secret.sign("a", 1, b"x"));
        assert!(!format!("{secret:?}").contains(&shown[SECRET_PREFIX.len()..]));
    }

    #[test]
    fn a_wrapped_secret_unwraps_only_for_its_endpoint() {
        let keys: Arc<dyn KeyProvider> = Arc::new(tumaini_db::vault::KeyRing::single(
            KeyVersion::FIRST,
            KeyMaterial::generate(),
        ));
        let secret = SigningSecret::generate();
        let endpoint = WebhookId::generate();
        let wrapped = secret.wrap(&keys, &endpoint).unwrap();
        assert!(
            !wrapped
                .bytes
                .windows(secret.0.len())
                .any(|w| w == secret.0.as_slice())
        );
        let version = wrapped.kek_version.as_i32();
        let back = SigningSecret::unwrap(&keys, &endpoint, version, &wrapped.bytes).unwrap();
        assert_eq!(back.reveal(), secret.reveal());
        let elsewhere = WebhookId::generate();
        assert!(SigningSecret::unwrap(&keys, &elsewhere, version, &wrapped.bytes).is_err());
    }
}
