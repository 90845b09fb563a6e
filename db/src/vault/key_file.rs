//! Key files: the embedded default's generated master key and operator-supplied files, one
//! `VERSION:BASE64` line per KEK version, readable by their owner only.

use std::io::Write as _;
use std::path::Path;

use super::VaultError;
use super::provider::{KeyContext, KeyProvider, KeyRing, KeySetError, KeyVersion, WrappedKey};
use super::secret::{KeyMaterial, SecretString};

/// A key ring read from a key file, re-read when a stored key names a version the ring does
/// not hold yet: after `tumaini keys rotate` adds a version to the file, running servers unwrap
/// the re-wrapped keys without a restart.
#[derive(Debug)]
pub struct KeyFileProvider {
    path: std::path::PathBuf,
    ring: std::sync::RwLock<KeyRing>,
}

impl KeyFileProvider {
    /// Reads the file once; fails now if it cannot be used.
    pub fn open(path: &Path) -> Result<Self, KeySetError> {
        Ok(Self {
            path: path.to_path_buf(),
            ring: std::sync::RwLock::new(read_key_file(path)?),
        })
    }

    fn ring(&self) -> Result<KeyRing, VaultError> {
        self.ring
            .read()
            .map(|ring| ring.clone())
            .map_err(|_| VaultError::KeyUnavailable(KeyVersion::FIRST))
    }
}

impl KeyProvider for KeyFileProvider {
    fn current_version(&self) -> KeyVersion {
        self.ring()
            .map_or(KeyVersion::FIRST, |ring| ring.current_version())
    }

    fn versions(&self) -> Vec<KeyVersion> {
        self.ring().map(|ring| ring.versions()).unwrap_or_default()
    }

    fn wrap(&self, key: &KeyMaterial, context: &KeyContext<'_>) -> Result<WrappedKey, VaultError> {
        self.ring()?.wrap(key, context)
    }

    fn unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &KeyContext<'_>,
    ) -> Result<KeyMaterial, VaultError> {
        let ring = self.ring()?;
        if ring.holds(wrapped.kek_version) {
            return ring.unwrap(wrapped, context);
        }
        let reread = read_key_file(&self.path)
            .map_err(|_| VaultError::KeyUnavailable(wrapped.kek_version))?;
        let outcome = reread.unwrap(wrapped, context);
        if let Ok(mut held) = self.ring.write() {
            *held = reread;
        }
        outcome
    }
}

/// Reads a key file. The file's permissions are checked on Unix: a key readable by other users
/// is refused.
pub fn read_key_file(path: &Path) -> Result<KeyRing, KeySetError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(path)
            .map_err(|e| KeySetError(format!("cannot read {}: {e}", path.display())))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KeySetError(format!(
                "{} is readable by other users: chmod 600 it",
                path.display()
            )));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| KeySetError(format!("cannot read {}: {e}", path.display())))?;
    KeyRing::parse(&SecretString::new(text))
}

/// Creates a key file holding one fresh version-1 KEK, with mode 0600. Fails if the file
/// exists: a key is never overwritten.
pub fn generate_key_file(path: &Path) -> Result<KeyRing, KeySetError> {
    let ring = KeyRing::single(KeyVersion::FIRST, KeyMaterial::generate());
    write_key_file(path, &ring)?;
    Ok(ring)
}

/// Adds a freshly generated version to a key file (the newest, so it encrypts from now on)
/// and returns it. The file is replaced atomically, keeping mode 0600.
pub fn add_version_to_key_file(path: &Path) -> Result<KeyVersion, KeySetError> {
    let ring = read_key_file(path)?;
    let version = ring
        .current_version()
        .next()
        .ok_or_else(|| KeySetError("no more versions".to_owned()))?;
    let ring = ring.with(version, KeyMaterial::generate());
    let temporary = path.with_extension("key.new");
    let _ = std::fs::remove_file(&temporary);
    write_key_file(&temporary, &ring)?;
    std::fs::rename(&temporary, path)
        .map_err(|e| KeySetError(format!("cannot replace {}: {e}", path.display())))?;
    Ok(version)
}

/// Writes a new key file (never overwriting one), readable by its owner only.
fn write_key_file(path: &Path, ring: &KeyRing) -> Result<(), KeySetError> {
    let failed = |e: std::io::Error| KeySetError(format!("cannot write {}: {e}", path.display()));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(failed)?;
    file.write_all(ring.to_file_text().expose().as_bytes())
        .map_err(failed)?;
    file.sync_all().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_private_and_grow_by_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/master.key");
        let ring = generate_key_file(&path).unwrap();
        assert!(generate_key_file(&path).is_err(), "never overwritten");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(read_key_file(&path).unwrap().versions(), ring.versions());
        let added = add_version_to_key_file(&path).unwrap();
        assert_eq!(added.get(), 2);
        let reread = read_key_file(&path).unwrap();
        assert_eq!(reread.versions().len(), 2);
        assert_eq!(
            reread.key(KeyVersion::FIRST).unwrap(),
            ring.key(KeyVersion::FIRST).unwrap()
        );
    }
}
