//! The server's keys, loaded from configuration at start: the vault's key-encryption keys
//! (from `TUMAINI_MASTER_KEY` or a key file) and the Ed25519 key that signs the audit trail's
//! checkpoints. In development either key file is generated on first use, with a warning;
//! configuration refuses those defaults in production.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tumaini_db::audit_chain::AuditSigner;
use tumaini_db::vault::{KeyFileProvider, KeyProvider, KeyRing, generate_key_file};
use zeroize::Zeroizing;

use crate::config::{AuditKeySource, AuditSettings, Config, MasterKeySource};

/// The key provider the configuration names. A missing embedded-default key file is generated
/// (mode 0600) with a loud warning; configuration already refused that in production.
pub fn key_provider(config: &Config) -> anyhow::Result<Arc<dyn KeyProvider>> {
    match &config.master_key {
        MasterKeySource::Inline(text) => Ok(Arc::new(
            KeyRing::parse(text).context("reading TUMAINI_MASTER_KEY")?,
        )),
        MasterKeySource::File(path) => Ok(Arc::new(
            KeyFileProvider::open(path).context("reading TUMAINI_MASTER_KEY_FILE")?,
        )),
        MasterKeySource::GeneratedDefault(path) => {
            if !path.exists() {
                generate_key_file(path).context("generating the development master key")?;
                tracing::warn!(
                    path = %path.display(),
                    "generated a development master key; production must supply its own \
                     (TUMAINI_MASTER_KEY or TUMAINI_MASTER_KEY_FILE) and back it up apart from \
                     the database"
                );
            }
            Ok(Arc::new(
                KeyFileProvider::open(path).context("reading the master key file")?,
            ))
        }
    }
}

/// Loads the audit signing key (generating the development default on first use).
pub fn audit_signer(settings: &AuditSettings) -> anyhow::Result<Arc<AuditSigner>> {
    let text = match &settings.key {
        AuditKeySource::Inline(text) => Zeroizing::new(text.clone()),
        AuditKeySource::File(path) => read_key(path)?,
        AuditKeySource::GeneratedDefault(path) => {
            if !path.exists() {
                generate_key(path)?;
                tracing::warn!(
                    path = %path.display(),
                    "generated a development audit key; production must supply its own \
                     (TUMAINI_AUDIT_KEY or TUMAINI_AUDIT_KEY_FILE), kept apart from the data keys"
                );
            }
            read_key(path)?
        }
    };
    let bytes = Zeroizing::new(
        BASE64
            .decode(text.trim())
            .context("the audit key is not base64")?,
    );
    let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        bail!("the audit key must be 32 bytes (base64 of 32 random bytes)");
    };
    Ok(Arc::new(AuditSigner::from_seed(&seed)))
}

fn read_key(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    Ok(Zeroizing::new(std::fs::read_to_string(path).with_context(
        || format!("reading the audit key {}", path.display()),
    )?))
}

fn generate_key(path: &Path) -> anyhow::Result<()> {
    use rand::RngCore as _;
    use std::io::Write as _;
    let mut seed = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(seed.as_mut());
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(format!("{}\n", BASE64.encode(seed.as_ref())).as_bytes())?;
    Ok(())
}
