//! Settings for sign-in: the server secret, token lifetimes, password hashing, throttling.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use super::{ConfigError, Environment, Sources};
use crate::http::{ForwardedHeader, ProxySettings};

/// The server's own secret (at least 32 random bytes): signing keys for access tokens and the
/// key that hashes client addresses are derived from it. Every replica must share it.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<Vec<u8>>);

impl SecretKey {
    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Wraps bytes, refusing short keys.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < 32 {
            return Err("the secret key must be at least 32 bytes".to_owned());
        }
        Ok(Self(Zeroizing::new(bytes)))
    }

    fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|_| "the secret key must be base64".to_owned())?;
        Self::from_bytes(bytes)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// Where the server secret comes from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// `TUMAINI_SECRET_KEY`, base64.
    Inline(SecretKey),
    /// A file holding the key in base64; `generate` creates it (mode 0600) when missing, which
    /// only the development default allows.
    File {
        /// The file.
        path: PathBuf,
        /// Whether a missing file may be created.
        generate: bool,
    },
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory in KiB (at least 19456, OWASP's minimum).
    pub memory_kib: u32,
    /// Passes (at least 2).
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Settings {
    /// OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane): the default.
    pub const MINIMUM: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
}

/// Sign-in settings.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The server secret.
    pub secret: SecretSource,
    /// Lifetime of an access token.
    pub access_token_ttl: Duration,
    /// Absolute lifetime of a session (and of its refresh tokens).
    pub session_ttl: Duration,
    /// How long a web console session may sit unused before it must sign in again.
    pub console_idle: Duration,
    /// Password hashing cost.
    pub argon2: Argon2Settings,
    /// Password hashes computed at once; the rest wait, so a login flood cannot take every
    /// core from the other requests.
    pub max_concurrent_hashes: usize,
    /// Failed sign-ins (or wrong second factors, or wrong current passwords) within
    /// `lockout_window` that lock an account; also the wrong current passwords that end the
    /// session they were given on.
    pub lockout_threshold: i32,
    /// How long a lock lasts.
    pub lockout: Duration,
    /// How long failures are counted together: a whole window without a failure starts the
    /// count afresh.
    pub lockout_window: Duration,
    /// Sign-in attempts per minute from one client address (an IPv6 client: its /64).
    pub login_rate_per_minute: u32,
    /// Reverse proxies whose header names the client, and which header that is.
    pub proxies: ProxySettings,
}

impl AuthSettings {
    pub(super) fn from_sources(
        sources: &Sources<'_>,
        env: Environment,
        data_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let secret = match (
            sources.get("TUMAINI_SECRET_KEY"),
            sources.get("TUMAINI_SECRET_KEY_FILE"),
        ) {
            (Some(inline), _) => {
                SecretSource::Inline(SecretKey::from_base64(&inline).map_err(|reason| {
                    ConfigError::Invalid {
                        setting: "TUMAINI_SECRET_KEY",
                        reason,
                    }
                })?)
            }
            (None, Some(path)) => SecretSource::File {
                path: path.into(),
                generate: false,
            },
            (None, None) if env == Environment::Production => {
                return Err(ConfigError::ProductionDefault {
                    setting: "TUMAINI_SECRET_KEY",
                    remedy: "set TUMAINI_SECRET_KEY (base64 of 32 random bytes, the same on every replica) or TUMAINI_SECRET_KEY_FILE",
                });
            }
            (None, None) => SecretSource::File {
                path: data_dir.join("secret.key"),
                generate: true,
            },
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let settings = Self {
            secret,
            access_token_ttl: Duration::from_secs(
                sources.number("TUMAINI_ACCESS_TOKEN_SECS")?.unwrap_or(600),
            ),
            session_ttl: Duration::from_secs(
                3600 * sources
                    .number::<u64>("TUMAINI_SESSION_HOURS")?
                    .unwrap_or(12),
            ),
            console_idle: Duration::from_secs(
                60 * sources
                    .number::<u64>("TUMAINI_CONSOLE_IDLE_MINUTES")?
                    .unwrap_or(15),
            ),
            argon2: Argon2Settings {
                memory_kib: sources
                    .number("TUMAINI_ARGON2_MEMORY_KIB")?
                    .unwrap_or(19 * 1024),
                iterations: sources.number("TUMAINI_ARGON2_ITERATIONS")?.unwrap_or(2),
                parallelism: sources.number("TUMAINI_ARGON2_PARALLELISM")?.unwrap_or(1),
            },
            max_concurrent_hashes: sources
                .number("TUMAINI_MAX_CONCURRENT_HASHES")?
                .unwrap_or_else(|| cores.saturating_sub(1).max(1)),
            lockout_threshold: sources.number("TUMAINI_LOCKOUT_THRESHOLD")?.unwrap_or(5),
            lockout: Duration::from_secs(sources.number("TUMAINI_LOCKOUT_SECS")?.unwrap_or(900)),
            lockout_window: Duration::from_secs(
                sources
                    .number("TUMAINI_LOCKOUT_WINDOW_SECS")?
                    .unwrap_or(900),
            ),
            login_rate_per_minute: sources
                .number("TUMAINI_LOGIN_RATE_PER_MINUTE")?
                .unwrap_or(30),
            proxies: ProxySettings {
                trusted: match sources.get("TUMAINI_TRUSTED_PROXIES") {
                    None => Vec::new(),
                    Some(list) => list
                        .split(',')
                        .filter(|part| !part.trim().is_empty())
                        .map(|part| {
                            part.parse().map_err(|e: crate::http::InvalidNetwork| {
                                ConfigError::Invalid {
                                    setting: "TUMAINI_TRUSTED_PROXIES",
                                    reason: e.to_string(),
                                }
                            })
                        })
                        .collect::<Result<_, _>>()?,
                },
                header: match sources.get("TUMAINI_FORWARDED_HEADER") {
                    None => ForwardedHeader::XForwardedFor,
                    Some(name) => name.parse().map_err(|_| ConfigError::Invalid {
                        setting: "TUMAINI_FORWARDED_HEADER",
                        reason: "`x-forwarded-for` or `forwarded`".to_owned(),
                    })?,
                },
            },
        };
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |setting, reason: &str| {
            Err(ConfigError::Invalid {
                setting,
                reason: reason.to_owned(),
            })
        };
        if self.argon2.memory_kib < 19 * 1024 {
            return invalid(
                "TUMAINI_ARGON2_MEMORY_KIB",
                "must be at least 19456 (19 MiB)",
            );
        }
        if self.argon2.iterations < 2 {
            return invalid("TUMAINI_ARGON2_ITERATIONS", "must be at least 2");
        }
        if self.argon2.parallelism == 0 {
            return invalid("TUMAINI_ARGON2_PARALLELISM", "must be at least 1");
        }
        if self.max_concurrent_hashes == 0 {
            return invalid("TUMAINI_MAX_CONCURRENT_HASHES", "must be at least 1");
        }
        if self.access_token_ttl < Duration::from_secs(10)
            || self.access_token_ttl > Duration::from_secs(3600)
        {
            return invalid("TUMAINI_ACCESS_TOKEN_SECS", "must be between 10 and 3600");
        }
        if self.console_idle < Duration::from_secs(60)
            || self.console_idle > Duration::from_secs(8 * 3600)
        {
            return invalid("TUMAINI_CONSOLE_IDLE_MINUTES", "must be between 1 and 480");
        }
        if self.lockout_threshold < 1 {
            return invalid("TUMAINI_LOCKOUT_THRESHOLD", "must be at least 1");
        }
        if self.lockout_window < Duration::from_secs(60) {
            return invalid("TUMAINI_LOCKOUT_WINDOW_SECS", "must be at least 60");
        }
        if self.login_rate_per_minute == 0 {
            return invalid("TUMAINI_LOGIN_RATE_PER_MINUTE", "must be at least 1");
        }
        Ok(())
    }

    /// How failed sign-ins are throttled.
    pub fn throttle(&self) -> tumaini_db::models::Throttle {
        let seconds = |d: Duration| {
            chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::seconds(900))
        };
        tumaini_db::models::Throttle {
            threshold: self.lockout_threshold,
            window: seconds(self.lockout_window),
            lock: seconds(self.lockout),
            delay_from: 3,
        }
    }

    /// Reads (or, for the development default, creates) the server secret.
    pub fn load_secret(&self) -> anyhow::Result<SecretKey> {
        match &self.secret {
            SecretSource::Inline(key) => Ok(key.clone()),
            SecretSource::File { path, generate } => {
                if !path.exists() && *generate {
                    create_secret_file(path)?;
                    tracing::warn!(
                        path = %path.display(),
                        "generated a development secret key; production must set TUMAINI_SECRET_KEY"
                    );
                }
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("cannot read the secret key file {}: {e}", path.display())
                })?);
                SecretKey::from_base64(&text)
                    .map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()))
            }
        }
    }
}

fn create_secret_file(path: &Path) -> anyhow::Result<()> {
    use rand::RngCore as _;
    use std::io::Write as _;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut bytes = Zeroizing::new(vec![0u8; 32]);
    rand::rng().fill_bytes(&mut bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(Zeroizing::new(BASE64.encode(&*bytes)).as_bytes())?;
    Ok(())
}
