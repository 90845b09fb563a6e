//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock skew either way) and recovery codes.

use rand::{Rng as _, RngCore as _};
use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, Secret, TOTP};
use zeroize::Zeroizing;

const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;
const ISSUER: &str = "Tumaini";

/// A fresh 160-bit secret (RFC 4226's recommended length).
pub fn new_secret() -> Zeroizing<Vec<u8>> {
    let mut secret = Zeroizing::new(vec![0u8; 20]);
    rand::rng().fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], account: &str) -> anyhow::Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        account.to_owned(),
    )
    .map_err(|e| anyhow::anyhow!("TOTP parameters: {e}"))
}

/// The `otpauth://` URI an authenticator app scans, and the secret in base32 for typing in.
pub fn provisioning(
    secret: &[u8],
    account: &str,
) -> anyhow::Result<(Zeroizing<String>, Zeroizing<String>)> {
    let uri = Zeroizing::new(totp(secret, account)?.get_url());
    let base32 = Zeroizing::new(Secret::Raw(secret.to_vec()).to_encoded().to_string());
    Ok((uri, base32))
}

/// The time step whose code matches `code` (the current step or one either side), if any.
/// The caller then records the step so the same code cannot be used twice.
pub fn matching_step(secret: &[u8], code: &str, unix_now: u64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "check").ok()?;
    let current = unix_now / STEP_SECS;
    let mut found = None;
    for step in [current.saturating_sub(1), current, current + 1] {
        let expected = totp.generate(step * STEP_SECS);
        // Compare every candidate in constant time; do not stop early.
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = i64::try_from(step).ok();
        }
    }
    found
}

/// The code for a moment (tests and the benchmark act as the authenticator app).
pub fn code_at(secret: &[u8], unix_time: u64) -> anyhow::Result<String> {
    Ok(totp(secret, "code")?.generate(unix_time))
}

/// Ten recovery codes, `xxxx-xxxx-xxxx` from an unambiguous alphabet (about 60 bits each).
pub fn new_recovery_codes() -> Vec<Zeroizing<String>> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| {
            let raw: String = (0..12)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect();
            Zeroizing::new(format!("{}-{}-{}", &raw[..4], &raw[4..8], &raw[8..]))
        })
        .collect()
}

/// Recovery codes are compared after this normalisation (case and separators ignored).
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_neighbours_only() {
        let secret = new_secret();
        let now = 1_790_000_000;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(matching_step(&secret, &code, now), Some((now / 30) as i64));
        assert!(
            matching_step(&secret, &code, now + 30).is_some(),
            "one step of skew"
        );
        assert!(matching_step(&secret, &code, now + 95).is_none());
        assert!(matching_step(&secret, "12345", now).is_none());
        assert!(matching_step(&secret, "abcdef", now).is_none());
    }

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); the 6-digit code is 287082.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(normalise_recovery_code(" ABCD-efgh-2345 "), "abcdefgh2345");
    }
}
