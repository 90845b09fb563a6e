//! Passwords: the rules a new one must meet (OWASP ASVS 4.0.3 V2.1) and argon2id hashing
//! (RFC 9106, OWASP's parameters), run off the async workers behind a bound on concurrent
//! hashes.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::config::Argon2Settings;

/// Shortest password accepted (ASVS 2.1.1).
pub const MIN_CHARS: usize = 12;
/// Longest password accepted: well above ASVS's floor of 128, and a bound on hashing input.
pub const MAX_CHARS: usize = 256;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

/// Why a new password was refused. The messages are shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejected {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("the password must have at least {MIN_CHARS} characters")]
    TooShort,
    /// More than [`MAX_CHARS`] characters.
    #[error("the password may have at most {MAX_CHARS} characters")]
    TooLong,
    /// On the list of common and breached passwords, or a simple variant of one.
    #[error("the password is too common: it appears in lists of breached passwords")]
    Common,
    /// Built from the account's own e-mail address or name.
    #[error("the password must not contain your e-mail address or name")]
    Personal,
}

/// Checks a new password against the rules. `personal` holds the account's e-mail and name.
pub fn check_new_password(password: &str, personal: &[&str]) -> Result<(), PasswordRejected> {
    let length = password.chars().count();
    if length < MIN_CHARS {
        return Err(PasswordRejected::TooShort);
    }
    if length > MAX_CHARS {
        return Err(PasswordRejected::TooLong);
    }
    let lowered = password.to_lowercase();
    let stem = lowered.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let all_same = lowered.chars().all(|c| lowered.starts_with(c));
    if COMMON.contains(lowered.as_str()) || (stem.len() >= 6 && COMMON.contains(stem)) || all_same {
        return Err(PasswordRejected::Common);
    }
    let personal_hit = personal.iter().any(|p| {
        let p = p.to_lowercase();
        let local = p.split('@').next().unwrap_or_default();
        local.chars().count() >= 4 && lowered.contains(local)
    });
    if personal_hit {
        return Err(PasswordRejected::Personal);
    }
    Ok(())
}

/// How a presented password compared with the stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// It matches; `rehash` holds a new hash when the stored one used older parameters.
    Match {
        /// Replacement hash under the current parameters.
        rehash: Option<String>,
    },
    /// It does not (or there was no account).
    Mismatch,
}

/// Hashes and verifies passwords with argon2id on the blocking pool, at most `permits` at a
/// time.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password under the current parameters: verifying against it makes an
    /// unknown account cost what a known one costs.
    decoy: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .field("available_permits", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

fn params_of(settings: Argon2Settings) -> anyhow::Result<Params> {
    Params::new(
        settings.memory_kib,
        settings.iterations,
        settings.parallelism,
        None,
    )
    .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))
}

/// Hashes a password right here, on the calling thread (the command line, tests); the server
/// uses [`PasswordHasher`], which keeps hashing off the async workers.
pub fn hash_blocking(settings: Argon2Settings, password: &str) -> anyhow::Result<String> {
    hash_with(&params_of(settings)?, password)
}

impl PasswordHasher {
    /// A hasher with these costs and this bound on concurrent hashes.
    pub fn new(settings: Argon2Settings, max_concurrent: usize) -> anyhow::Result<Self> {
        let params = params_of(settings)?;
        let mut random = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut *random);
        let decoy = hash_with(&params, &hex::encode(*random))?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            decoy: decoy.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Params) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        // The permit travels with the hashing work, not with the request: a client that hangs
        // up does not free a slot while its hash still runs.
        let permit = self.permits.clone().acquire_owned().await?;
        let params = self.params.clone();
        Ok(actix_web::rt::task::spawn_blocking(move || {
            let outcome = work(&params);
            drop(permit);
            outcome
        })
        .await?)
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: Zeroizing<String>) -> anyhow::Result<String> {
        self.run(move |params| hash_with(params, &password)).await?
    }

    /// Compares a password with a stored hash, or with the decoy when there is none.
    pub async fn verify(
        &self,
        password: Zeroizing<String>,
        stored: Option<String>,
    ) -> anyhow::Result<Verified> {
        let decoy = self.decoy.clone();
        self.run(move |params| {
            let known = stored.is_some();
            let stored = stored.unwrap_or_else(|| decoy.to_string());
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Ok(Verified::Mismatch);
            };
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            if !(matches && known) {
                return Ok(Verified::Mismatch);
            }
            let current = Params::try_from(&parsed).ok();
            let outdated = parsed.algorithm != argon2::ARGON2ID_IDENT
                || current.is_none_or(|p| {
                    p.m_cost() != params.m_cost()
                        || p.t_cost() != params.t_cost()
                        || p.p_cost() != params.p_cost()
                });
            let rehash = if outdated {
                Some(hash_with(params, &password)?)
            } else {
                None
            };
            Ok(Verified::Match { rehash })
        })
        .await?
    }
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(hasher
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(
            check_new_password("short", &[]),
            Err(PasswordRejected::TooShort)
        );
        assert_eq!(
            check_new_password(&"x".repeat(257), &[]),
            Err(PasswordRejected::TooLong)
        );
        assert_eq!(
            check_new_password("password1234", &[]),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check_new_password("Password2024!", &[]),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check_new_password("aaaaaaaaaaaaaa", &[]),
            Err(PasswordRejected::Common)
        );
        assert_eq!(
            check_new_password("amina.okello-2024", &["amina.okello@example.ug"]),
            Err(PasswordRejected::Personal)
        );
        assert!(check_new_password("correct horse battery staple", &[]).is_ok());
        assert!(COMMON.len() > 20_000);
    }

    #[actix_web::test]
    async fn verify_matches_rehashes_and_treats_unknown_accounts_alike() {
        let minimum = Argon2Settings {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        };
        let hasher = PasswordHasher::new(minimum, 1).unwrap();
        let hash = hasher
            .hash(Zeroizing::new("a long passphrase".into()))
            .await
            .unwrap();
        assert_eq!(
            hasher
                .verify(
                    Zeroizing::new("a long passphrase".into()),
                    Some(hash.clone())
                )
                .await
                .unwrap(),
            Verified::Match { rehash: None }
        );
        assert_eq!(
            hasher
                .verify(Zeroizing::new("wrong".into()), Some(hash.clone()))
                .await
                .unwrap(),
            Verified::Mismatch
        );
        assert_eq!(
            hasher
                .verify(Zeroizing::new("anything".into()), None)
                .await
                .unwrap(),
            Verified::Mismatch
        );
        let stronger = PasswordHasher::new(
            Argon2Settings {
                iterations: 3,
                ..minimum
            },
            1,
        )
        .unwrap();
        let Verified::Match {
            rehash: Some(new_hash),
        } = stronger
            .verify(Zeroizing::new("a long passphrase".into()), Some(hash))
            .await
            .unwrap()
        else {
            panic!("raised parameters must produce a rehash");
        };
        assert!(new_hash.contains("t=3"), "{new_hash}");
    }
}
